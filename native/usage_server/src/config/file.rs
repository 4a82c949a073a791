//! The TOML configuration file, as a layer of settings still unchecked. Its values are
//! read key by key, so that a message names the key and never echoes a value, which may
//! be a secret.

use std::path::Path;

use toml::{Table, Value};

use super::{ConfigError, Given, Layer, StreamSpec};

/// A configuration file is a few lines; anything this large is a wrong path.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads the file named by `--config` or `MONGOOSE_USAGE_CONFIG`.
pub(super) fn read(path: &Path) -> Result<Layer, ConfigError> {
    let shown = path.display();
    let fail = |problem: String| ConfigError(format!("config file {shown}: {problem}"));
    let metadata =
        std::fs::metadata(path).map_err(|e| fail(format!("cannot read it ({})", io_reason(&e))))?;
    if !metadata.is_file() {
        return Err(fail("not a regular file".to_owned()));
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(fail(format!("larger than {MAX_FILE_BYTES} bytes")));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it ({})", io_reason(&e))))?;
    parse(&text, &shown.to_string()).map_err(fail)
}

/// The layer a file's text gives; `name` is the file as messages show it.
fn parse(text: &str, name: &str) -> Result<Layer, String> {
    let table: Table = text.parse().map_err(|e: toml::de::Error| match e.span() {
        Some(span) => format!("not valid TOML at line {}", line_of(text, span.start)),
        None => "not valid TOML".to_owned(),
    })?;
    let origin = |key: &str| format!("{key} in {name}");
    let mut layer = Layer::default();
    for (key, value) in &table {
        match key.as_str() {
            "listen" => layer.listen = Some(Given { value: string(key, value)?, origin: origin(key) }),
            "database" => layer.database = Some(Given { value: string(key, value)?, origin: origin(key) }),
            "read_token" => {
                layer.read_token = Some(Given { value: string(key, value)?, origin: origin(key) })
            }
            "retention_days" => match value {
                Value::Integer(days) => {
                    layer.retention_days = Some(Given { value: days.to_string(), origin: origin(key) })
                }
                _ => return Err(format!("{key} must be an integer")),
            },
            "streams" => layer.streams = Some(Given { value: streams(value)?, origin: origin(key) }),
            other => return Err(format!("unknown key {}", shown_key(other))),
        }
    }
    Ok(layer)
}

fn string(key: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        _ => Err(format!("{key} must be a string")),
    }
}

/// `[streams]`: `"G-XXXX" = "secret"`, `"UA-1-1" = ""`.
fn streams(value: &Value) -> Result<Vec<StreamSpec>, String> {
    let Value::Table(table) = value else {
        return Err("streams must be a table: [streams] with \"G-XXXX\" = \"secret\" lines".to_owned());
    };
    table
        .iter()
        .map(|(id, secret)| match secret {
            Value::String(secret) if secret.is_empty() => Ok((id.clone(), None)),
            Value::String(secret) => Ok((id.clone(), Some(secret.clone()))),
            _ => {
                Err("each stream's value must be a string: its API secret, or \"\" for a UA property"
                    .to_owned())
            }
        })
        .collect()
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |before| before.matches('\n').count() + 1)
}

/// A key as a message may show it; keys are names, but a mistyped line may hold anything.
fn shown_key(key: &str) -> String {
    if key.len() <= 40 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        key.to_owned()
    } else {
        "(not shown)".to_owned()
    }
}

/// The reason of an I/O error, without the OS's numbering.
fn io_reason(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_read() {
        let text = r#"
listen = "127.0.0.1:9000"
database = "sqlite:/tmp/x.db"
read_token = "t0ken"
retention_days = 30

[streams]
"G-ABC" = "s3cret"
"UA-1-1" = ""
"#;
        let layer = parse(text, "f.toml").unwrap();
        assert_eq!(layer.listen.unwrap().value, "127.0.0.1:9000");
        assert_eq!(layer.database.unwrap().value, "sqlite:/tmp/x.db");
        assert_eq!(layer.read_token.unwrap().value, "t0ken");
        let days = layer.retention_days.unwrap();
        assert_eq!((days.value.as_str(), days.origin.as_str()), ("30", "retention_days in f.toml"));
        let streams = layer.streams.unwrap().value;
        assert_eq!(streams, [("G-ABC".to_owned(), Some("s3cret".to_owned())), ("UA-1-1".to_owned(), None)]);
    }

    #[test]
    fn mistakes_name_the_key_or_line_and_never_the_value() {
        let cases = [
            ("listen = 5", "listen must be a string"),
            ("retention_days = \"30\"", "retention_days must be an integer"),
            ("read_token = \"s3cret", "not valid TOML at line 1"),
            ("\nread_token = s3cret", "not valid TOML at line 2"),
            ("colour = \"s3cret\"", "unknown key colour"),
            ("streams = \"s3cret\"", "streams must be a table"),
            ("[streams]\n\"G-1\" = 5", "value must be a string"),
        ];
        for (text, expected) in cases {
            let message = parse(text, "f.toml").err().unwrap_or_default();
            assert!(message.contains(expected), "{text:?}: {message}");
            assert!(!message.contains("s3cret"), "{message}");
        }
    }
}
