//! Logs: one JSON object a line on stderr, `{"time", "level", "event", ...}`, so that any
//! log collector can read them. Callers pass only what may be shown: never a secret, a
//! client address or a user agent, which this server does not even look at.

use std::io::Write;

use serde_json::Value;

use crate::dates;

/// How much a log line matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Normal operation.
    Info,
    /// Something refused or degraded, that the server survives.
    Warn,
    /// Something failed.
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Writes one `info` line.
pub fn info(event: &str, fields: &[(&str, Value)]) {
    write(Level::Info, event, fields);
}

/// Writes one `warn` line.
pub fn warn(event: &str, fields: &[(&str, Value)]) {
    write(Level::Warn, event, fields);
}

/// Writes one `error` line.
pub fn error(event: &str, fields: &[(&str, Value)]) {
    write(Level::Error, event, fields);
}

/// Writes one line; a failing stderr is ignored, as there is nowhere else to say so.
pub fn write(level: Level, event: &str, fields: &[(&str, Value)]) {
    let line = render(dates::now_ms(), level, event, fields);
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(line.as_bytes());
    let _ = stderr.flush();
}

/// The line, its keys in the order given (time, level and event first), newline included.
fn render(now_ms: i64, level: Level, event: &str, fields: &[(&str, Value)]) -> String {
    let mut line = String::with_capacity(128);
    let mut push = |key: &str, value: &Value| {
        line.push(if line.is_empty() { '{' } else { ',' });
        line.push_str(&Value::from(key).to_string());
        line.push(':');
        line.push_str(&value.to_string());
    };
    push("time", &Value::from(dates::format_rfc3339(now_ms)));
    push("level", &Value::from(level.name()));
    push("event", &Value::from(event));
    for (key, value) in fields {
        push(key, value);
    }
    line.push_str("}\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_one_json_object_with_time_level_and_event_first() {
        let line =
            render(0, Level::Warn, "rejected", &[("reason", "wrong_secret".into()), ("status", 204.into())]);
        assert_eq!(
            line,
            "{\"time\":\"1970-01-01T00:00:00.000Z\",\"level\":\"warn\",\"event\":\"rejected\",\"reason\":\"wrong_secret\",\"status\":204}\n"
        );
        let parsed: Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(parsed["reason"], "wrong_secret");
    }

    #[test]
    fn text_with_quotes_and_newlines_stays_on_one_line() {
        let line = render(0, Level::Info, "request", &[("route", "/a\"b\nc".into())]);
        assert_eq!(line.matches('\n').count(), 1);
        assert!(line.contains(r#""route":"/a\"b\nc""#), "{line}");
    }
}
