//! The command line and the environment variables, as layers of settings still unchecked.

use std::path::PathBuf;

use super::{ConfigError, Given, Layer, StreamSpec, USAGE};

/// Environment variables, each read when its flag is absent.
pub const ENV_LISTEN: &str = "MONGOOSE_USAGE_LISTEN";
/// See [`ENV_LISTEN`].
pub const ENV_DATABASE: &str = "MONGOOSE_USAGE_DATABASE";
/// Comma-separated `ID=SECRET` and `UA-XXXX-Y`.
pub const ENV_STREAMS: &str = "MONGOOSE_USAGE_STREAMS";
/// See [`ENV_LISTEN`].
pub const ENV_READ_TOKEN: &str = "MONGOOSE_USAGE_READ_TOKEN";
/// See [`ENV_LISTEN`].
pub const ENV_RETENTION_DAYS: &str = "MONGOOSE_USAGE_RETENTION_DAYS";
/// See [`ENV_LISTEN`].
pub const ENV_CONFIG: &str = "MONGOOSE_USAGE_CONFIG";

/// The flags as a layer, or `None` when `--help` is asked for.
pub(super) fn flags(args: impl IntoIterator<Item = String>) -> Result<Option<Layer>, ConfigError> {
    let mut layer = Layer::default();
    let mut streams: Vec<StreamSpec> = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(None);
        }
        let Some(flag_text) = arg.strip_prefix("--") else {
            // Not echoed: a stray word may be a secret that lost its flag.
            return Err(ConfigError(format!("unexpected argument (not a --flag); {USAGE}")));
        };
        let (name, inline_value) = match flag_text.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (flag_text, None),
        };
        let flag = format!("--{name}");
        if !matches!(name, "listen" | "database" | "stream" | "read-token" | "retention-days" | "config") {
            return Err(ConfigError(format!("unknown flag {}; {USAGE}", shown_flag(&flag))));
        }
        let value = match inline_value.or_else(|| args.next()) {
            Some(value) => value,
            None => return Err(ConfigError(format!("{flag} needs a value"))),
        };
        let given = |value: String| Some(Given { value, origin: flag.clone() });
        let slot = match name {
            "listen" => &mut layer.listen,
            "database" => &mut layer.database,
            "read-token" => &mut layer.read_token,
            "retention-days" => &mut layer.retention_days,
            "config" => {
                if layer.config.is_some() {
                    return Err(ConfigError(format!("{flag} is given twice")));
                }
                layer.config = Some(Given { value: PathBuf::from(value), origin: flag.clone() });
                continue;
            }
            _ => {
                streams.push(stream_spec(&value));
                continue;
            }
        };
        if slot.is_some() {
            return Err(ConfigError(format!("{flag} is given twice")));
        }
        *slot = given(value);
    }
    if !streams.is_empty() {
        layer.streams = Some(Given { value: streams, origin: "--stream".to_owned() });
    }
    Ok(Some(layer))
}

/// The environment variables as a layer; an empty variable counts as absent.
pub(super) fn environment(env: &dyn Fn(&str) -> Option<String>) -> Layer {
    let get = |name: &str| {
        env(name).filter(|v| !v.is_empty()).map(|value| Given { value, origin: name.to_owned() })
    };
    let streams = get(ENV_STREAMS).map(|g| Given {
        value: g.value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(stream_spec).collect(),
        origin: g.origin,
    });
    Layer {
        listen: get(ENV_LISTEN),
        database: get(ENV_DATABASE),
        streams,
        read_token: get(ENV_READ_TOKEN),
        retention_days: get(ENV_RETENTION_DAYS),
        config: get(ENV_CONFIG).map(|g| Given { value: PathBuf::from(g.value), origin: g.origin }),
    }
}

/// `ID=SECRET` as the id and the secret; `UA-XXXX-Y` as the id alone.
fn stream_spec(text: &str) -> StreamSpec {
    match text.split_once('=') {
        Some((id, secret)) => (id.to_owned(), Some(secret.to_owned())),
        None => (text.to_owned(), None),
    }
}

/// A flag name as a message may repeat it: short, and only of the characters flags use.
fn shown_flag(flag: &str) -> String {
    let clean = flag.len() <= 40 && flag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if clean {
        flag.to_owned()
    } else {
        "(not shown)".to_owned()
    }
}
