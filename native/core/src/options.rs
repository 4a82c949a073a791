//! The service options (the README's table), validated from a map (MongooseIM's parsed
//! TOML) or a legacy proplist (`mongooseim.cfg`).
//!
//! Like OTP's logger handlers: normalise to key/value pairs, check every key with one
//! rule, refuse the rest. Each error names the option, the value and what was expected.
//!
//! Errors are logged and kept in `status()`, and a value may be a misplaced secret: a value
//! or an unknown name is shown only when it is a number or a short plain name, a URL only
//! as scheme, host, port and path; anything else is described by its shape and length.

use std::path::{Component, PathBuf};

use thiserror::Error;
use url::Url;

use crate::delivery::endpoint::{self, url_for_messages};
use crate::destination::{self, Destination};
use crate::mode::Report;
use crate::shown::{path_shown, plain_name, shape, shown};
use crate::value::Value;

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

/// The options an operator can set, in the order errors are reported for them.
pub const OPTION_NAMES: [&str; 7] = [
    "report",
    "initial_report",
    "periodic_report",
    "tracking_id",
    "google_analytics_url",
    "report_file",
    "ca_bundle",
];

/// The misspelling of the original documentation's example, accepted as an alias.
const MISSPELT_INITIAL_REPORT: &str = "intial_report";

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

fn canonical_name(key: &Value, warnings: &mut Vec<String>) -> Result<&'static str, OptionsError> {
    let given = match key {
        Value::Atom(_) | Value::Binary(_) => key.name(),
        _ => None,
    }
    .ok_or_else(|| {
        OptionsError::Malformed(format!("option names must be atoms or binaries, got {}", shape(key)))
    })?;
    if let Some(name) = OPTION_NAMES.iter().find(|n| **n == given) {
        return Ok(name);
    }
    if given == MISSPELT_INITIAL_REPORT {
        warnings.push(format!(
            "option {MISSPELT_INITIAL_REPORT} is a misspelling of initial_report; it is accepted, but please rename it"
        ));
        return Ok("initial_report");
    }
    let hint = OPTION_NAMES
        .iter()
        .filter(|n| edit_distance(n, &given) <= 2)
        .min_by_key(|n| edit_distance(n, &given))
        .map(|n| format!("; did you mean {n}?"))
        .unwrap_or_else(|| format!("; the options are {}", OPTION_NAMES.join(", ")));
    // The key goes back to the caller, who logs it: a name that may be a secret is
    // replaced by its description there too.
    let (option, named) = match plain_name(key) {
        Some(_) => (key.clone(), format!("unknown option {}", key.render())),
        None => {
            let described = format!("an unknown option of {} characters", given.chars().count());
            (Value::binary(&described), described)
        }
    };
    Err(OptionsError::Unknown { option, message: format!("{named}{hint}") })
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

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: Vec<(&str, Value)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (Value::atom(k), v)).collect())
    }

    fn refused(options: Value) -> String {
        parse(&options).expect_err("should be refused").to_string()
    }

    #[test]
    fn empty_options_give_the_defaults() {
        for empty in [Value::Map(vec![]), Value::List(vec![])] {
            let parsed = parse(&empty).unwrap();
            assert_eq!(parsed.options, Options::default());
            assert!(parsed.warnings.is_empty());
        }
        assert_eq!(DEFAULT_INITIAL_REPORT_MS, 300_000);
        assert_eq!(DEFAULT_PERIODIC_REPORT_MS, 10_800_000);
    }

    #[test]
    fn map_and_proplist_give_the_same_options() {
        let as_map = map(vec![
            ("report", Value::atom("true")),
            ("initial_report", Value::Integer(5000)),
            ("periodic_report", Value::Integer(60_000)),
            ("report_file", Value::charlist("/var/log/mim/r.json")),
        ]);
        let as_list = Value::List(vec![
            Value::atom("report"),
            Value::Tuple(vec![Value::atom("initial_report"), Value::Integer(5000)]),
            Value::Tuple(vec![Value::atom("periodic_report"), Value::Integer(60_000)]),
            Value::Tuple(vec![Value::atom("report_file"), Value::binary("/var/log/mim/r.json")]),
        ]);
        let a = parse(&as_map).unwrap().options;
        assert_eq!(a, parse(&as_list).unwrap().options);
        assert_eq!(a.report, Report::On);
        assert_eq!((a.initial_report_ms, a.periodic_report_ms), (5000, 60_000));
    }

    #[test]
    fn legacy_no_report_flag_turns_reporting_off() {
        let parsed = parse(&Value::List(vec![Value::atom("no_report")])).unwrap();
        assert_eq!(parsed.options.report, Report::Off);
        let local =
            parse(&Value::List(vec![Value::Tuple(vec![Value::atom("report"), Value::binary("local")])]))
                .unwrap();
        assert_eq!(local.options.report, Report::Local);
    }

    /// One row per refused value: (option, value, words the message must hold).
    #[test]
    fn bad_values_name_option_value_and_expectation() {
        let rows: Vec<(&str, Value, &[&str])> = vec![
            ("report", Value::charlist("maybe"), &["report = \"maybe\"", "boolean"]),
            ("report", Value::Integer(1), &["report = 1", "boolean"]),
            ("initial_report", Value::Integer(-1), &["initial_report = -1", "non-negative integer"]),
            ("initial_report", Value::charlist("forever"), &["\"forever\"", "milliseconds"]),
            ("initial_report", Value::Float(1.5), &["1.5", "integer"]),
            ("initial_report", Value::Integer(1 << 40), &["1099511627776", "at most 4294967295"]),
            ("periodic_report", Value::Integer(0), &["periodic_report = 0", "positive integer"]),
            ("periodic_report", Value::Integer(-1), &["-1", "positive"]),
            ("tracking_id", Value::Integer(5), &["tracking_id", "got an integer"]),
            ("google_analytics_url", Value::charlist("ftp://x"), &["ftp", "https"]),
            ("google_analytics_url", Value::charlist("http://example.com"), &["loopback"]),
            ("google_analytics_url", Value::charlist("https://x/mp/collect"), &["base URL only"]),
            ("google_analytics_url", Value::charlist("https://x/?a=1"), &["query"]),
            (
                "google_analytics_url",
                Value::charlist("https://u:PASSWORD@x"),
                &["credentials", "\"https://x/\""],
            ),
            ("google_analytics_url", Value::charlist("not a url"), &["not a URL"]),
            ("report_file", Value::charlist("/var/log/"), &["path of a file"]),
            ("report_file", Value::Integer(3), &["report_file = 3", "file path"]),
        ];
        for (option, value, words) in rows {
            let message = refused(map(vec![(option, value.clone())]));
            for word in words {
                assert!(message.contains(word), "{option} = {value:?}: {message:?} lacks {word:?}");
            }
            match parse(&map(vec![(option, value)])) {
                Err(OptionsError::Invalid { option: key, .. }) => assert!(key.is_atom(option)),
                other => panic!("expected Invalid for {option}, got {other:?}"),
            }
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let ok = |k: &str, v: i64| parse(&map(vec![(k, Value::Integer(v))])).is_ok();
        assert!(ok("initial_report", 0));
        assert!(ok("initial_report", MAX_TIMER_MS as i64));
        assert!(!ok("initial_report", MAX_TIMER_MS as i64 + 1));
        assert!(ok("periodic_report", MIN_PERIODIC_REPORT_MS as i64));
        assert!(!ok("periodic_report", MIN_PERIODIC_REPORT_MS as i64 - 1));
        assert!(ok("periodic_report", MAX_TIMER_MS as i64));
        assert!(!ok("periodic_report", MAX_TIMER_MS as i64 + 1));
    }

    #[test]
    fn unknown_options_suggest_near_misses() {
        let message = refused(map(vec![("periodic_reports", Value::Integer(1))]));
        assert_eq!(message, "unknown option periodic_reports; did you mean periodic_report?");
        let message = refused(map(vec![("trackingid", Value::Integer(1))]));
        assert!(message.contains("did you mean tracking_id?"), "{message}");
        let message = refused(map(vec![("colour", Value::Integer(1))]));
        assert!(message.contains("the options are report, initial_report"), "{message}");
        assert!(matches!(
            parse(&map(vec![("colour", Value::Integer(1))])),
            Err(OptionsError::Unknown { .. })
        ));
    }

    #[test]
    fn misspelt_initial_report_is_an_alias_with_one_warning() {
        let parsed = parse(&map(vec![("intial_report", Value::Integer(42))])).unwrap();
        assert_eq!(parsed.options.initial_report_ms, 42);
        assert_eq!(parsed.warnings.len(), 1);
        assert!(parsed.warnings[0].contains("initial_report"));
        let both = map(vec![("intial_report", Value::Integer(1)), ("initial_report", Value::Integer(2))]);
        assert!(refused(both).contains("more than once"));
    }

    #[test]
    fn malformed_terms_never_show_their_content() {
        let secret = || Value::charlist("S3CRET-LEAK-2");
        let three = Value::List(vec![Value::Tuple(vec![
            Value::atom("tracking_id"),
            Value::charlist("G-1"),
            secret(),
        ])]);
        let message = refused(three);
        assert!(message.contains("a tuple of 3 elements starting with tracking_id"), "{message}");
        for options in [Value::Tuple(vec![secret()]), Value::List(vec![secret(), Value::Integer(1)])] {
            let message = refused(options);
            assert!(!message.contains("S3CRET"), "{message}");
        }
        let url = map(vec![("google_analytics_url", Value::charlist("https://user:S3CRET@h.example/?q"))]);
        let message = refused(url);
        assert!(!message.contains("S3CRET") && message.contains("h.example"), "{message}");
    }

    #[test]
    fn malformed_option_terms_are_refused() {
        assert!(refused(Value::Integer(1)).contains("map or a list"));
        assert!(refused(Value::List(vec![Value::Integer(1)])).contains("{Key, Value}"));
        assert!(refused(Value::List(vec![Value::atom("verbose")])).contains("report, no_report"));
        assert!(
            refused(Value::Map(vec![(Value::Integer(1), Value::Integer(1))])).contains("atoms or binaries")
        );
        let twice = Value::List(vec![Value::atom("report"), Value::atom("no_report")]);
        assert!(refused(twice).contains("more than once"));
    }

    #[test]
    fn binary_keys_are_accepted() {
        let options = Value::Map(vec![(Value::binary("periodic_report"), Value::Integer(70_000))]);
        assert_eq!(parse(&options).unwrap().options.periodic_report_ms, 70_000);
    }

    #[test]
    fn periodic_report_has_a_floor_of_a_minute() {
        let message = refused(map(vec![("periodic_report", Value::Integer(1))]));
        assert_eq!(
            message,
            "periodic_report = 1: below the floor of 60000 milliseconds; expected a positive integer number \
             of milliseconds, at least 60000 and at most 4294967295"
        );
        let message = refused(map(vec![("periodic_report", Value::Integer(59_999))]));
        assert!(message.starts_with("periodic_report = 59999: below the floor of 60000"), "{message}");
        let message = refused(map(vec![("periodic_report", Value::Integer(0))]));
        assert!(message.starts_with("periodic_report = 0: expected a positive integer"), "{message}");
        assert!(message.contains("at least 60000"), "{message}");
        match parse(&map(vec![("periodic_report", Value::Integer(1))])) {
            Err(OptionsError::Invalid { option, .. }) => assert!(option.is_atom("periodic_report")),
            other => panic!("expected Invalid, got {other:?}"),
        }
        assert_eq!(
            parse(&Value::Map(vec![])).unwrap().options.periodic_report_ms,
            DEFAULT_PERIODIC_REPORT_MS
        );
    }

    #[test]
    fn only_the_start_argument_lowers_the_floor() {
        let every = |ms: i64| map(vec![("periodic_report", Value::Integer(ms))]);
        assert_eq!(parse_with_floor(&every(1), 1).unwrap().options.periodic_report_ms, 1);
        assert_eq!(parse_with_floor(&every(5000), 5000).unwrap().options.periodic_report_ms, 5000);
        let message = parse_with_floor(&every(4999), 5000).unwrap_err().to_string();
        assert!(
            message.starts_with("periodic_report = 4999: below the floor of 5000 milliseconds"),
            "{message}"
        );
        assert!(parse_with_floor(&every(0), 0).is_err(), "a floor of 0 still refuses 0");
        assert!(parse_with_floor(&every(1), 0).is_ok());
        let over = parse_with_floor(&every(MAX_TIMER_MS as i64), u64::MAX);
        assert!(over.is_ok(), "a floor above the timer's limit is the limit");
        assert_eq!(min_periodic_report(&Value::Integer(1)), Ok(1));
        assert_eq!(min_periodic_report(&Value::Integer(250)), Ok(250));
        assert_eq!(min_periodic_report(&Value::atom("undefined")), Ok(MIN_PERIODIC_REPORT_MS));
        for bad in [
            Value::Integer(0),
            Value::Integer(-5),
            Value::Integer(1 << 40),
            Value::Float(1.0),
            Value::charlist("api_secret=SUPERSECRET"),
        ] {
            match min_periodic_report(&bad) {
                Err(OptionsError::Malformed(message)) => {
                    assert!(message.starts_with("min_periodic_report = "), "{message}");
                    assert!(message.contains("positive integer number of milliseconds"), "{message}");
                    assert!(!message.contains("SUPERSECRET"), "{message}");
                }
                other => panic!("{bad:?}: expected Malformed, got {other:?}"),
            }
        }
        assert_eq!(MIN_PERIODIC_REPORT_KEY, "min_periodic_report");
    }

    fn assert_hidden(message: &str, secret: &str) {
        assert!(!message.to_lowercase().contains(&secret.to_lowercase()), "{secret:?} shown in {message:?}");
    }

    #[test]
    fn no_message_shows_a_urls_query_fragment_or_credentials() {
        let collect =
            "https://www.google-analytics.com/mp/collect?measurement_id=G-ABC123&api_secret=SUPERSECRET";
        let message = refused(map(vec![("google_analytics_url", Value::charlist(collect))]));
        assert_eq!(
            message,
            "google_analytics_url = \"https://www.google-analytics.com/mp/collect\": a query string is not \
             allowed in a base URL; it is not shown"
        );
        for (url, words) in [
            ("https://x.example/?api_secret=SUPERSECRET", &["\"https://x.example/\"", "query string"][..]),
            ("https://x.example/#api_secret=SUPERSECRET", &["\"https://x.example/\"", "fragment"]),
            ("https://me:SUPERSECRET@x.example:8443/p", &["\"https://x.example:8443/p\"", "credentials"]),
            ("https://SUPERSECRET@x.example/", &["\"https://x.example/\"", "credentials"]),
            ("http://x.example/?api_secret=SUPERSECRET", &["\"http://x.example/\"", "loopback"]),
            ("ftp://u:SUPERSECRET@x.example/?api_secret=SUPERSECRET", &["a string of", "scheme ftp"]),
            ("SUPERSECRET:opaque", &["a string of 18 characters", "unsupported scheme; use https"]),
            ("api_secret=SUPERSECRET", &["a string of 22 characters", "not a URL"]),
            ("https://x.example:99999/?api_secret=SUPERSECRET", &["a string of", "not a URL (invalid port"]),
        ] {
            for value in [Value::charlist(url), Value::binary(url)] {
                let message = refused(map(vec![("google_analytics_url", value)]));
                assert_hidden(&message, "SUPERSECRET");
                assert!(!message.contains("api_secret") && !message.contains("opaque"), "{message}");
                for word in words {
                    assert!(message.contains(word), "{url}: {message:?} lacks {word:?}");
                }
            }
        }
        let atom =
            refused(map(vec![("google_analytics_url", Value::atom("https://x/?api_secret=SUPERSECRET"))]));
        assert_hidden(&atom, "SUPERSECRET");
        let url = Url::parse("https://u:p@h.example:8080/a/b?c=d#e").unwrap();
        assert_eq!(url_for_messages(&url), "https://h.example:8080/a/b");
    }

    #[test]
    fn unknown_option_names_are_shown_only_when_plain() {
        let long = "a".repeat(500);
        let secret_key = "api_secret=SUPERSECRET";
        for (key, described) in [
            (Value::atom(&long), "an unknown option of 500 characters; the options are report, "),
            (Value::binary(&long), "an unknown option of 500 characters; the options are report, "),
            (Value::atom(secret_key), "an unknown option of 22 characters; the options are report, "),
            (Value::binary("SUPERSECRET"), "an unknown option of 11 characters; the options are report, "),
            (
                Value::atom("Periodic_Report"),
                "an unknown option of 15 characters; did you mean periodic_report?",
            ),
            (Value::atom(&"x".repeat(41)), "an unknown option of 41 characters; the options are report, "),
        ] {
            match parse(&Value::Map(vec![(key.clone(), Value::charlist("SUPERSECRET"))])) {
                Err(OptionsError::Unknown { option, message }) => {
                    assert!(message.starts_with(described), "{message}");
                    assert_hidden(&message, "SUPERSECRET");
                    assert!(
                        !message.contains(&"a".repeat(41)) && !message.contains("api_secret"),
                        "{message}"
                    );
                    // The key itself goes back to the caller, who logs it.
                    assert_eq!(option, Value::binary(&message[..message.find(';').unwrap()]));
                }
                other => panic!("{key:?}: expected Unknown, got {other:?}"),
            }
        }
        let plain = "x".repeat(40);
        match parse(&map(vec![(plain.as_str(), Value::Integer(1))])) {
            Err(OptionsError::Unknown { option, message }) => {
                assert!(message.starts_with(&format!("unknown option {plain};")), "{message}");
                assert!(option.is_atom(&plain));
            }
            other => panic!("expected Unknown, got {other:?}"),
        }
        let binary = refused(Value::Map(vec![(Value::binary("reprot"), Value::atom("true"))]));
        assert_eq!(binary, "unknown option <<\"reprot\">>; did you mean report?");
    }

    #[test]
    fn report_and_other_values_are_shown_only_when_plain() {
        assert_eq!(
            refused(map(vec![("report", Value::atom("maybe"))])),
            "report = maybe: expected a boolean (true or false), or local"
        );
        let hostile = [
            Value::charlist("api_secret=SUPERSECRET"),
            Value::binary("SUPERSECRET"),
            Value::atom("SUPERSECRET"),
            Value::charlist(&format!("supersecret{}", "x".repeat(40))),
            Value::Map(vec![(Value::atom("SUPERSECRET"), Value::Integer(1))]),
            Value::Map(vec![(Value::binary("k"), Value::charlist("SUPERSECRET"))]),
            Value::Tuple(vec![Value::charlist("SUPERSECRET")]),
            Value::List(vec![Value::atom("SUPERSECRET"), Value::Integer(1)]),
        ];
        for value in &hostile {
            let message = refused(map(vec![("report", value.clone())]));
            assert!(message.starts_with("report = ") && message.contains("boolean"), "{message}");
            assert_hidden(&message, "SUPERSECRET");
        }
        assert_eq!(
            refused(map(vec![("report", Value::binary("SUPERSECRET"))])),
            "report = a string of 11 characters: expected a boolean (true or false), or local"
        );
        assert_eq!(
            refused(map(vec![("report", Value::atom("SUPERSECRET"))])),
            "report = an atom of 11 characters: expected a boolean (true or false), or local"
        );
        // Every option, and every shape an options term can take, with the same values.
        for name in OPTION_NAMES {
            for value in &hostile {
                if let Err(e) = parse(&map(vec![(name, value.clone())])) {
                    assert_hidden(&e.to_string(), "SUPERSECRET");
                }
            }
        }
        let shapes = [
            Value::List(vec![Value::atom("SUPERSECRET")]),
            Value::List(vec![Value::Tuple(vec![
                Value::atom("SUPERSECRET"),
                Value::Integer(1),
                Value::Integer(2),
            ])]),
            Value::List(vec![Value::Map(vec![(Value::atom("SUPERSECRET"), Value::Integer(1))])]),
            Value::Tuple(vec![Value::atom("SUPERSECRET")]),
            Value::Map(vec![(
                Value::Map(vec![(Value::atom("SUPERSECRET"), Value::Integer(1))]),
                Value::Integer(1),
            )]),
            Value::Map(vec![(Value::charlist("SUPERSECRET"), Value::Integer(1))]),
        ];
        for options in shapes {
            assert_hidden(&refused(options), "SUPERSECRET");
        }
        assert_eq!(
            refused(Value::List(vec![Value::atom("verbose")])),
            "each option must be a {Key, Value} tuple or one of the atoms report, no_report; got the atom verbose"
        );
        let path = refused(map(vec![("report_file", Value::charlist("/var/log/api_secret=SUPERSECRET/"))]));
        assert_eq!(path, "report_file = a path of 32 characters: expected the path of a file");
        let path = refused(map(vec![("report_file", Value::charlist("/var/log/"))]));
        assert_eq!(path, "report_file = \"/var/log/\": expected the path of a file");
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("report", "report"), 0);
    }
}
