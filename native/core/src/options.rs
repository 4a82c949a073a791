//! The service options (the README's table), validated from a map (MongooseIM's parsed
//! TOML) or a legacy proplist (`mongooseim.cfg`).
//!
//! Like OTP's logger handlers: normalise to key/value pairs, check every key with one
//! rule, refuse the rest. Each error names the option, the value and what was expected.

use std::path::{Component, PathBuf};

use thiserror::Error;
use url::{Host, Url};

use crate::destination::{self, Destination};
use crate::mode::Report;
use crate::value::Value;

/// Default delay before the first report: 5 minutes.
pub const DEFAULT_INITIAL_REPORT_MS: u64 = 5 * 60 * 1000;
/// Default interval between reports: 3 hours.
pub const DEFAULT_PERIODIC_REPORT_MS: u64 = 3 * 60 * 60 * 1000;
/// The longest delay `erlang:send_after/3` accepts.
pub const MAX_TIMER_MS: u64 = u32::MAX as u64;
/// Where both protocols go unless `google_analytics_url` says otherwise.
pub const DEFAULT_GOOGLE_ANALYTICS_URL: &str = "https://www.google-analytics.com";

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
            google_analytics_url: default_url(),
            report_file: None,
            ca_bundle: None,
        }
    }
}

fn default_url() -> Url {
    Url::parse(DEFAULT_GOOGLE_ANALYTICS_URL).expect("the default URL parses")
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
        /// Names the option, the value and what was expected.
        message: String,
    },
    /// A key that is not an option.
    #[error("{message}")]
    Unknown {
        /// The key, as given.
        option: Value,
        /// Names the key, with a "did you mean" for near misses.
        message: String,
    },
    /// The options term itself is not a map or a list of options.
    #[error("{0}")]
    Malformed(String),
}

/// Validates options given as a map or a proplist.
///
/// # Errors
/// The first problem found, in the order the options were given.
pub fn parse(options: &Value) -> Result<Parsed, OptionsError> {
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
        apply(name, &key, &value, &mut parsed)?;
    }
    Ok(parsed)
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
        other => Err(OptionsError::Malformed(format!(
            "options must be a map or a list, got {}",
            other.kind()
        ))),
    }
}

/// A bad list element, named by its first atom but never shown: it may hold a secret.
fn describe_element(element: &Value) -> String {
    match element {
        Value::Atom(_) => format!("the atom {}", element.render()),
        Value::Tuple(items) if matches!(items.first(), Some(Value::Atom(_))) => {
            format!("a tuple of {} elements starting with {}", items.len(), items[0].render())
        }
        other => other.kind(),
    }
}

fn canonical_name(key: &Value, warnings: &mut Vec<String>) -> Result<&'static str, OptionsError> {
    let given = match key {
        Value::Atom(_) | Value::Binary(_) => key.name(),
        _ => None,
    }
    .ok_or_else(|| {
        OptionsError::Malformed(format!("option names must be atoms or binaries, got {}", key.kind()))
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
    Err(OptionsError::Unknown {
        option: key.clone(),
        message: format!("unknown option {}{hint}", key.render()),
    })
}

fn apply(name: &'static str, key: &Value, value: &Value, into: &mut Parsed) -> Result<(), OptionsError> {
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
            options.periodic_report_ms = milliseconds(key, value, 1)?;
        }
        "tracking_id" => {
            let parsed =
                destination::parse(value).map_err(|e| invalid(key, format!("tracking_id: {}", e.0)))?;
            options.tracking_ids = parsed.destinations;
            into.warnings.extend(parsed.warnings);
        }
        "google_analytics_url" => {
            options.google_analytics_url = base_url(value).map_err(|why| {
                invalid(key, format!("google_analytics_url = {}: {why}", without_credentials(value)))
            })?;
        }
        "report_file" => {
            options.report_file = Some(
                report_file(value)
                    .map_err(|why| invalid(key, format!("report_file = {}: {why}", value.render())))?,
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

fn milliseconds(key: &Value, value: &Value, min: u64) -> Result<u64, OptionsError> {
    let what = if min == 0 { "a non-negative" } else { "a positive" };
    match value {
        Value::Integer(ms) if *ms >= min as i64 && (*ms as u64) <= MAX_TIMER_MS => Ok(*ms as u64),
        _ => Err(expected(
            key,
            value,
            &format!("{what} integer number of milliseconds, at most {MAX_TIMER_MS}"),
        )),
    }
}

/// An `https` base URL, or `http` for a loopback host (a local collector); no query,
/// fragment or credentials, since the protocol paths are appended to it.
pub fn base_url(value: &Value) -> Result<Url, String> {
    let text = value.text().ok_or("expected a URL string")?;
    let mut url = Url::parse(&text).map_err(|e| format!("not a URL ({e})"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(url.host()) => {}
        "http" => return Err("plain http is allowed only for a loopback host; use https".into()),
        other => return Err(format!("unsupported scheme {other}; use https")),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("a base URL takes no query or fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a base URL takes no credentials".into());
    }
    let path = url.path().trim_end_matches('/').to_owned();
    if path.ends_with("/mp/collect") || path.ends_with("/batch") || path.ends_with("/collect") {
        return Err(format!("give the base URL only, without {path}: the protocol paths are added to it"));
    }
    url.set_path(&path);
    Ok(url)
}

/// A URL value as text, with any `user:password@` replaced, for error messages.
fn without_credentials(value: &Value) -> String {
    let Some(text) = value.text() else {
        return match value {
            Value::Atom(_) | Value::Integer(_) | Value::Float(_) => value.render(),
            other => other.kind(),
        };
    };
    let rendered = match (text.find("://"), text.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}<credentials>{}", &text[..scheme_end + 3], &text[at..])
        }
        _ => text,
    };
    format!("{rendered:?}")
}

/// Whether a URL's host is this machine's loopback.
pub fn is_loopback(url: &Url) -> bool {
    is_loopback_host(url.host())
}

fn is_loopback_host(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Domain(name)) => name == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
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
    invalid(key, format!("{name} = {}: expected {what}", value.render()))
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
            ("periodic_report", Value::Integer(6000)),
            ("report_file", Value::charlist("/var/log/mim/r.json")),
        ]);
        let as_list = Value::List(vec![
            Value::atom("report"),
            Value::Tuple(vec![Value::atom("initial_report"), Value::Integer(5000)]),
            Value::Tuple(vec![Value::atom("periodic_report"), Value::Integer(6000)]),
            Value::Tuple(vec![Value::atom("report_file"), Value::binary("/var/log/mim/r.json")]),
        ]);
        let a = parse(&as_map).unwrap().options;
        assert_eq!(a, parse(&as_list).unwrap().options);
        assert_eq!(a.report, Report::On);
        assert_eq!((a.initial_report_ms, a.periodic_report_ms), (5000, 6000));
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
                &["credentials", "<credentials>@x"],
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
        assert!(ok("periodic_report", 1));
        assert!(!ok("periodic_report", 0));
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
        let options = Value::Map(vec![(Value::binary("periodic_report"), Value::Integer(7))]);
        assert_eq!(parse(&options).unwrap().options.periodic_report_ms, 7);
    }

    #[test]
    fn base_url_accepts_https_eu_and_local_http() {
        for (given, wanted) in [
            ("https://region1.google-analytics.com", "https://region1.google-analytics.com/"),
            ("https://www.google-analytics.com/", "https://www.google-analytics.com/"),
            ("http://127.0.0.1:8765", "http://127.0.0.1:8765/"),
            ("http://localhost:1/prefix/", "http://localhost:1/prefix"),
            ("http://[::1]:9", "http://[::1]:9/"),
        ] {
            assert_eq!(base_url(&Value::charlist(given)).unwrap().as_str(), wanted);
        }
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("report", "report"), 0);
    }
}
