//! The service options (the README's table), validated from a map (MongooseIM's parsed
//! TOML) or a legacy proplist (`mongooseim.cfg`).
//!
//! Like OTP's logger handlers: normalise to key/value pairs, check every key with one
//! rule, refuse the rest. Each error names the option, the value and what was expected.
//!
//! Errors are logged and kept in `status()`, and a value may be a misplaced secret: a value
//! or an unknown name is shown only when it is a number or a short plain name, a URL only
//! as scheme, host, port and path; anything else is described by its shape and length.

mod names;

use std::path::{Component, PathBuf};

use thiserror::Error;
use url::Url;

use crate::delivery::endpoint::{self, url_for_messages};
use crate::destination::{self, Destination};
use crate::mode::Report;
use crate::shown::{path_shown, plain_name, shape, shown};
use crate::value::Value;
use names::canonical_name;
pub use names::OPTION_NAMES;

/// Default delay before the first report: 5 minutes.
pub const DEFAULT_INITIAL_REPORT_MS: u64 = 5 * 60 * 1000;
/// Default interval between reports: 3 hours.
pub const DEFAULT_PERIODIC_REPORT_MS: u64 = 3 * 60 * 60 * 1000;
/// The longest delay `erlang:send_after/3` accepts.
pub const MAX_TIMER_MS: u64 = u32::MAX as u64;
/// The shortest `periodic_report` accepted: at most one report a minute, so that a slip
/// of the pen (`periodic_report = 1`) cannot flood the collector.
pub const MIN_PERIODIC_REPORT_MS: u64 = 60_000;
/// The start argument that lowers [`MIN_PERIODIC_REPORT_MS`], for tests only; see
/// [`min_periodic_report`].
pub const MIN_PERIODIC_REPORT_KEY: &str = "min_periodic_report";

/// Validated options.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The `report` option: absent, `true`, `local` or `false`.
    pub report: Report,
    /// Delay before the first report, in milliseconds.
    pub initial_report_ms: u64,
    /// Interval between reports, in milliseconds.
    pub periodic_report_ms: u64,
    /// Extra destinations, in the order given.
    pub tracking_ids: Vec<Destination>,
    /// Base URL of both protocols, without a trailing slash.
    pub google_analytics_url: Url,
    /// Where the report file goes, if the operator chose.
    pub report_file: Option<PathBuf>,
    /// A PEM file of CA certificates trusted besides the system's roots.
    pub ca_bundle: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            report: Report::Absent,
            initial_report_ms: DEFAULT_INITIAL_REPORT_MS,
            periodic_report_ms: DEFAULT_PERIODIC_REPORT_MS,
            tracking_ids: Vec::new(),
            google_analytics_url: endpoint::default_base(),
            report_file: None,
            ca_bundle: None,
        }
    }
}

/// Options together with remarks worth one warning each.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The validated options.
    pub options: Options,
    /// E.g. the `intial_report` alias, or an id that does not look like GA4.
    pub warnings: Vec<String>,
}

/// Why a set of options was refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OptionsError {
    /// A known option with a wrong type or value.
    #[error("{message}")]
    Invalid {
        /// The option's key, as given.
        option: Value,
        /// Names the option, the value (when it is safe to show) and what was expected.
        message: String,
    },
    /// A key that is not an option.
    #[error("{message}")]
    Unknown {
        /// The key as given when it is a short plain name; else a binary describing it
        /// ("an unknown option of 120 characters"), since the key is logged too.
        option: Value,
        /// Names the key (under the same rule), with a "did you mean" for near misses.
        message: String,
    },
    /// The options term itself is not a map or a list of options.
    #[error("{0}")]
    Malformed(String),
}

/// Validates options given as a map or a proplist, with `periodic_report` at least
/// [`MIN_PERIODIC_REPORT_MS`].
///
/// # Errors
/// The first problem found, in the order the options were given.
pub fn parse(options: &Value) -> Result<Parsed, OptionsError> {
    parse_with_floor(options, MIN_PERIODIC_REPORT_MS)
}

/// Like [`parse`], with `periodic_report` at least `min_periodic_report_ms` (taken as 1 when
/// 0, and as [`MAX_TIMER_MS`] when above it), as the start argument
/// [`MIN_PERIODIC_REPORT_KEY`] asks.
///
/// # Errors
/// The first problem found, in the order the options were given.
pub fn parse_with_floor(options: &Value, min_periodic_report_ms: u64) -> Result<Parsed, OptionsError> {
    let floor = min_periodic_report_ms.clamp(1, MAX_TIMER_MS);
    let mut parsed = Parsed { options: Options::default(), warnings: Vec::new() };
    let mut seen: Vec<&'static str> = Vec::new();
    for (key, value) in entries(options)? {
        let name = canonical_name(&key, &mut parsed.warnings)?;
        if seen.contains(&name) {
            let alias = if key.name().as_deref() == Some(name) {
                String::new()
            } else {
                format!(" ({} is an alias of it)", key.render())
            };
            return Err(invalid(&key, format!("{name} is given more than once{alias}")));
        }
        seen.push(name);
        apply(name, &key, &value, floor, &mut parsed)?;
    }
    Ok(parsed)
}

/// The floor of `periodic_report` that the start argument [`MIN_PERIODIC_REPORT_KEY`]
/// sets: an integer number of milliseconds from 1 to [`MAX_TIMER_MS`], or `undefined` for
/// [`MIN_PERIODIC_REPORT_MS`]. Pass the result to [`parse_with_floor`].
///
/// # Errors
/// [`OptionsError::Malformed`] naming the start argument, for any other value.
pub fn min_periodic_report(value: &Value) -> Result<u64, OptionsError> {
    match value {
        Value::Atom(a) if a == "undefined" => Ok(MIN_PERIODIC_REPORT_MS),
        Value::Integer(ms) if *ms >= 1 && (*ms as u64) <= MAX_TIMER_MS => Ok(*ms as u64),
        other => Err(OptionsError::Malformed(format!(
            "{MIN_PERIODIC_REPORT_KEY} = {}: expected a positive integer number of milliseconds, \
             at most {MAX_TIMER_MS}, or undefined",
            shown(other)
        ))),
    }
}

/// Normalises a map or a proplist into key/value pairs; bare `report` and `no_report`
/// atoms are the legacy flags.
fn entries(options: &Value) -> Result<Vec<(Value, Value)>, OptionsError> {
    match options {
        Value::Map(pairs) => Ok(pairs.clone()),
        Value::List(items) => items
            .iter()
            .map(|item| match item {
                Value::Atom(a) if a == "report" => Ok((item.clone(), Value::atom("true"))),
                Value::Atom(a) if a == "no_report" => {
                    Ok((Value::atom("report"), Value::atom("false")))
                }
                Value::Tuple(kv) if kv.len() == 2 => Ok((kv[0].clone(), kv[1].clone())),
                other => Err(OptionsError::Malformed(format!(
                    "each option must be a {{Key, Value}} tuple or one of the atoms report, no_report; got {}",
                    describe_element(other)
                ))),
            })
            .collect(),
        other => Err(OptionsError::Malformed(format!("options must be a map or a list, got {}", shape(other)))),
    }
}

/// A bad list element, named by its first atom when that is a plain name, but never shown
/// whole: it may hold a secret.
fn describe_element(element: &Value) -> String {
    match element {
        Value::Atom(_) => match plain_name(element) {
            Some(name) => format!("the atom {name}"),
            None => shape(element),
        },
        Value::Tuple(items) if matches!(items.first(), Some(Value::Atom(_))) => {
            let first = match plain_name(&items[0]) {
                Some(name) => name,
                None => shape(&items[0]),
            };
            format!("a tuple of {} elements starting with {first}", items.len())
        }
        other => shape(other),
    }
}

fn apply(
    name: &'static str,
    key: &Value,
    value: &Value,
    floor: u64,
    into: &mut Parsed,
) -> Result<(), OptionsError> {
    let options = &mut into.options;
    match name {
        "report" => {
            options.report = match value.name().as_deref() {
                Some("true") if matches!(value, Value::Atom(_)) => Report::On,
                Some("false") if matches!(value, Value::Atom(_)) => Report::Off,
                Some("local") => Report::Local,
                _ => return Err(expected(key, value, "a boolean (true or false), or local")),
            }
        }
        "initial_report" => {
            options.initial_report_ms = milliseconds(key, value, 0)?;
        }
        "periodic_report" => {
            options.periodic_report_ms = milliseconds(key, value, floor)?;
        }
        "tracking_id" => {
            let parsed =
                destination::parse(value).map_err(|e| invalid(key, format!("tracking_id: {}", e.0)))?;
            options.tracking_ids = parsed.destinations;
            into.warnings.extend(parsed.warnings);
        }
        "google_analytics_url" => {
            let url = value.text().ok_or_else(|| "expected a URL string".to_owned());
            options.google_analytics_url = url
                .and_then(|text| endpoint::base_url(&text))
                .map_err(|why| invalid(key, format!("google_analytics_url = {}: {why}", url_shown(value))))?;
        }
        "report_file" => {
            options.report_file = Some(
                report_file(value)
                    .map_err(|why| invalid(key, format!("report_file = {}: {why}", path_shown(value))))?,
            );
        }
        "ca_bundle" => {
            let path = value.text().filter(|t| !t.is_empty() && !t.contains('\0'));
            options.ca_bundle =
                Some(PathBuf::from(path.ok_or_else(|| expected(key, value, "the path of a PEM file"))?));
        }
        _ => unreachable!("every name in OPTION_NAMES has a rule"),
    }
    Ok(())
}

/// An integer number of milliseconds from `min` to [`MAX_TIMER_MS`].
fn milliseconds(key: &Value, value: &Value, min: u64) -> Result<u64, OptionsError> {
    let what = if min == 0 {
        format!("a non-negative integer number of milliseconds, at most {MAX_TIMER_MS}")
    } else {
        format!("a positive integer number of milliseconds, at least {min} and at most {MAX_TIMER_MS}")
    };
    match value {
        Value::Integer(ms) if *ms >= min as i64 && (*ms as u64) <= MAX_TIMER_MS => Ok(*ms as u64),
        Value::Integer(ms) if *ms >= 1 && (*ms as u64) < min => {
            let name = key.name().unwrap_or_default();
            Err(invalid(
                key,
                format!("{name} = {ms}: below the floor of {min} milliseconds; expected {what}"),
            ))
        }
        _ => Err(expected(key, value, &what)),
    }
}

/// The `google_analytics_url` value as a message may show it: an http(s) URL through
/// [`url_for_messages`]; any other text, which may be a misplaced secret, by its length.
fn url_shown(value: &Value) -> String {
    let Some(text) = value.text() else { return shown(value) };
    match Url::parse(&text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
            format!("{:?}", url_for_messages(&url))
        }
        _ => format!("a string of {} characters", text.chars().count()),
    }
}

fn report_file(value: &Value) -> Result<PathBuf, String> {
    let text = value.text().ok_or("expected a file path string")?;
    if text.contains('\0') || text.ends_with('/') {
        return Err("expected the path of a file".into());
    }
    let path = PathBuf::from(&text);
    if !matches!(path.components().next_back(), Some(Component::Normal(_))) {
        return Err("expected the path of a file".into());
    }
    Ok(path)
}

fn expected(key: &Value, value: &Value, what: &str) -> OptionsError {
    let name = key.name().unwrap_or_default();
    invalid(key, format!("{name} = {}: expected {what}", shown(value)))
}

fn invalid(key: &Value, message: String) -> OptionsError {
    OptionsError::Invalid { option: key.clone(), message }
}

#[cfg(test)]
mod tests;
