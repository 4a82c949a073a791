//! The `tracking_id` value, and the built-in one: a GA4 map of measurement id and API
//! secret, a legacy Universal Analytics id, or a list of them. Nothing that may be a
//! secret is ever shown in an error; it is described by its shape.

use super::{Destination, Secret};
use crate::shown::{plain_name, shape};
use crate::value::Value;

/// What is wrong with a tracking id value, in words that fit after "tracking_id: ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingIdError(pub String);

/// A tracking id value accepted with a remark for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The destinations, in the order given.
    pub destinations: Vec<Destination>,
    /// Remarks worth a warning, e.g. an id that does not look like a GA4 id.
    pub warnings: Vec<String>,
}

const MAX_ID_LEN: usize = 64;
const MAX_SECRET_LEN: usize = 128;
const EXPECTED: &str =
    "#{id => \"G-XXXXXXXXXX\", secret => \"...\"}, a legacy \"UA-XXXX-Y\" string, or a list of these";

/// Parses a `tracking_id` value: a GA4 map, a legacy UA string, or a list of them.
///
/// # Errors
/// Names what is wrong; the secret itself is never part of the message.
pub fn parse(value: &Value) -> Result<Parsed, TrackingIdError> {
    let mut parsed = Parsed { destinations: Vec::new(), warnings: Vec::new() };
    match value {
        Value::List(items) if value.text().is_none() && !is_proplist_form(items) => {
            for item in items {
                parse_one(item, &mut parsed)?;
            }
        }
        single => parse_one(single, &mut parsed)?,
    }
    Ok(parsed)
}

fn parse_one(value: &Value, into: &mut Parsed) -> Result<(), TrackingIdError> {
    if let Some(text) = value.text() {
        let destination = parse_text(&text, value)?;
        into.warnings.push(format!(
            "tracking id {text} is a Universal Analytics property: Google stopped processing UA data in \
             July 2023. Reports are still sent to it, but to see them create a GA4 property and give its \
             measurement id and API secret: #{{id => \"G-XXXXXXXXXX\", secret => \"...\"}}"
        ));
        into.destinations.push(destination);
        return Ok(());
    }
    let pairs: Vec<(&Value, &Value)> = match value {
        Value::Map(pairs) => pairs.iter().map(|(k, v)| (k, v)).collect(),
        Value::List(items) if is_proplist_form(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::Tuple(kv) => Some((&kv[0], &kv[1])),
                _ => None,
            })
            .collect(),
        other => return Err(TrackingIdError(format!("expected {EXPECTED}, got {}", shape(other)))),
    };
    let mut id = None;
    let mut secret = None;
    for (key, val) in pairs {
        match key.name().as_deref() {
            Some("id") if id.is_none() => id = Some(val),
            Some("secret") if secret.is_none() => secret = Some(val),
            Some(name @ ("id" | "secret")) => return Err(TrackingIdError(format!("{name} is given twice"))),
            _ => {
                // Neither the value nor a key that may be a secret is shown.
                let key = match plain_name(key) {
                    Some(_) => format!("unknown key {}", key.render()),
                    None => format!("an unknown key ({})", shape(key)),
                };
                return Err(TrackingIdError(format!(
                    "{key} in a GA4 tracking id; expected only id and secret"
                )));
            }
        }
    }
    let (Some(id), Some(secret)) = (id, secret) else {
        let missing = if id.is_none() { "id" } else { "secret" };
        return Err(TrackingIdError(format!(
            "a GA4 tracking id needs both id and secret; {missing} is missing"
        )));
    };
    let measurement_id = id.text().filter(|t| is_safe_id(t)).ok_or_else(|| {
        TrackingIdError(format!(
            "id must be a non-empty string of letters, digits, '-' and '_' (at most {MAX_ID_LEN}), got {}",
            shape(id)
        ))
    })?;
    // Never render the secret: say only what kind of value it was.
    let secret = secret
        .text()
        .filter(|t| is_safe_secret(t))
        .ok_or_else(|| {
            TrackingIdError(format!(
                "secret must be a non-empty string of printable ASCII without spaces (at most {MAX_SECRET_LEN}); the value given is not shown"
            ))
        })?;
    if looks_like_ga4(&secret) && !looks_like_ga4(&measurement_id) {
        return Err(TrackingIdError(
            "id and secret look swapped: the id is the G-XXXXXXXXXX measurement id".to_owned(),
        ));
    }
    if !looks_like_ga4(&measurement_id) {
        into.warnings.push(format!(
            "tracking_id id {measurement_id:?} does not look like a GA4 measurement id (G-XXXXXXXXXX); reports are sent to it as GA4 anyway"
        ));
    }
    into.destinations.push(Destination::Ga4 { measurement_id, secret: Secret(secret) });
    Ok(())
}

fn parse_text(text: &str, value: &Value) -> Result<Destination, TrackingIdError> {
    if is_universal_analytics(text) {
        return Ok(Destination::UniversalAnalytics { tracking_id: text.to_owned() });
    }
    if looks_like_ga4(text) && text.len() <= MAX_ID_LEN {
        return Err(TrackingIdError(format!(
            "the GA4 measurement id {text:?} needs its API secret: #{{id => {text:?}, secret => \"...\"}}"
        )));
    }
    // Any other text might be a misplaced secret: describe it, never show it.
    Err(TrackingIdError(format!("expected {EXPECTED}, got {} that is neither", shape(value))))
}

/// `[{id, _}, {secret, _}]`: the proplist spelling of one GA4 map.
fn is_proplist_form(items: &[Value]) -> bool {
    !items.is_empty()
        && items.iter().all(|item| {
            matches!(item, Value::Tuple(kv) if kv.len() == 2
                && matches!(kv[0].name().as_deref(), Some("id" | "secret")))
        })
}

fn is_safe_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_ID_LEN
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn is_safe_secret(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_SECRET_LEN && text.chars().all(|c| c.is_ascii_graphic())
}

fn looks_like_ga4(text: &str) -> bool {
    text.strip_prefix("G-")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// `UA-<account>-<property>`, both parts digits.
fn is_universal_analytics(text: &str) -> bool {
    let mut parts = text.split('-');
    parts.next() == Some("UA")
        && parts.next().is_some_and(all_digits)
        && parts.next().is_some_and(all_digits)
        && parts.next().is_none()
}

fn all_digits(part: &str) -> bool {
    !part.is_empty() && part.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ga4_map(id: Value, secret: Value) -> Value {
        Value::Map(vec![(Value::atom("id"), id), (Value::atom("secret"), secret)])
    }

    fn err(value: &Value) -> String {
        parse(value).expect_err("should be refused").0
    }

    #[test]
    fn accepts_ga4_maps_with_charlists_or_binaries() {
        let parsed = parse(&ga4_map(Value::charlist("G-12345678"), Value::binary("s3cr3t"))).unwrap();
        assert_eq!(
            parsed.destinations,
            vec![Destination::Ga4 { measurement_id: "G-12345678".into(), secret: Secret("s3cr3t".into()) }]
        );
        assert!(parsed.warnings.is_empty());
    }

    #[test]
    fn accepts_binary_keys_and_proplist_form() {
        let binary_keys = Value::Map(vec![
            (Value::binary("secret"), Value::binary("x")),
            (Value::binary("id"), Value::binary("G-1")),
        ]);
        assert_eq!(parse(&binary_keys).unwrap().destinations[0].id(), "G-1");
        let proplist = Value::List(vec![
            Value::Tuple(vec![Value::atom("id"), Value::charlist("G-2")]),
            Value::Tuple(vec![Value::atom("secret"), Value::charlist("y")]),
        ]);
        assert_eq!(parse(&proplist).unwrap().destinations[0].id(), "G-2");
    }

    #[test]
    fn accepts_legacy_ua_and_lists() {
        let list = Value::List(vec![
            Value::charlist("UA-151671255-3"),
            ga4_map(Value::binary("G-ABC"), Value::binary("s")),
        ]);
        let parsed = parse(&list).unwrap();
        assert_eq!(parsed.destinations.len(), 2);
        assert_eq!(parsed.warnings.len(), 1);
        assert!(parsed.warnings[0].contains("UA-151671255-3 is a Universal Analytics property"));
        assert!(parsed.warnings[0].contains("July 2023"));
        assert_eq!(parsed.destinations[0].protocol(), "universal_analytics");
        assert_eq!(parsed.destinations[1].protocol(), "ga4");
        assert!(parse(&Value::List(vec![])).unwrap().destinations.is_empty());
    }

    #[test]
    fn odd_ga4_id_is_accepted_with_a_warning() {
        // MongooseIM's own test suite configures an id that is not G-shaped.
        let parsed = parse(&ga4_map(Value::charlist("UA-EXTRA-TRACKING-ID"), Value::charlist("s"))).unwrap();
        assert_eq!(parsed.destinations[0].id(), "UA-EXTRA-TRACKING-ID");
        assert!(parsed.warnings[0].contains("does not look like a GA4 measurement id"));
    }

    #[test]
    fn refuses_incomplete_or_malformed_ids() {
        let only_id = Value::Map(vec![(Value::atom("id"), Value::charlist("G-1"))]);
        assert!(err(&only_id).contains("secret is missing"));
        let only_secret = Value::Map(vec![(Value::atom("secret"), Value::charlist("s"))]);
        assert!(err(&only_secret).contains("id is missing"));
        assert!(err(&ga4_map(Value::Integer(1), Value::charlist("s"))).contains("got an integer"));
        assert!(err(&Value::charlist("G-123")).contains("needs its API secret"));
        assert!(err(&Value::charlist("hello")).contains("got a string of 5 characters that is neither"));
        assert!(err(&Value::charlist("UA-12-x")).contains("expected"));
        let extra = Value::Map(vec![
            (Value::atom("id"), Value::charlist("G-1")),
            (Value::atom("secret"), Value::charlist("s")),
            (Value::atom("name"), Value::charlist("n")),
        ]);
        assert!(err(&extra).contains("unknown key name"));
    }

    #[test]
    fn a_bad_secret_is_never_echoed() {
        let message = err(&ga4_map(Value::charlist("G-1"), Value::charlist("has space")));
        assert!(message.contains("secret must be"));
        assert!(!message.contains("has space"));
        let message = err(&ga4_map(Value::charlist("G-1"), Value::Integer(42)));
        assert!(!message.contains("42"));
    }

    #[test]
    fn no_malformed_shape_shows_a_secret() {
        let s = || Value::charlist("S3CRET-LEAK-1");
        let shapes = [
            Value::List(vec![
                Value::Tuple(vec![Value::atom("secret"), s()]),
                Value::Tuple(vec![Value::atom("id"), Value::charlist("G-1")]),
                Value::Tuple(vec![Value::atom("name"), Value::atom("x")]),
            ]),
            Value::List(vec![
                Value::Tuple(vec![Value::atom("secret"), s()]),
                Value::Tuple(vec![Value::atom("idd"), s()]),
            ]),
            Value::Tuple(vec![Value::charlist("G-1"), s()]),
            Value::List(vec![Value::Tuple(vec![Value::charlist("G-2"), s()])]),
            Value::Map(vec![(s(), Value::charlist("G-1"))]),
            s(),
            ga4_map(s(), Value::charlist("G-12345")),
        ];
        for shape in shapes {
            let message = err(&shape);
            assert!(!message.contains("S3CRET"), "{message}");
        }
        assert!(err(&ga4_map(Value::charlist("abcdef"), Value::charlist("G-12345"))).contains("look swapped"));
    }

    #[test]
    fn unknown_keys_and_their_values_are_never_shown() {
        let with = |key: Value, value: Value| {
            Value::Map(vec![
                (Value::atom("id"), Value::charlist("G-1")),
                (Value::atom("secret"), Value::charlist("s")),
                (key, value),
            ])
        };
        let named = err(&with(Value::atom("name"), Value::charlist("SUPERSECRET")));
        assert_eq!(named, "unknown key name in a GA4 tracking id; expected only id and secret");
        let named = err(&with(Value::binary("name"), Value::charlist("SUPERSECRET")));
        assert_eq!(named, "unknown key <<\"name\">> in a GA4 tracking id; expected only id and secret");
        for (key, described) in [
            (Value::atom("SUPERSECRET"), "an unknown key (an atom of 11 characters)"),
            (Value::binary("api_secret=SUPERSECRET"), "an unknown key (a string of 22 characters)"),
            (Value::charlist(&"k".repeat(500)), "an unknown key (a string of 500 characters)"),
            (
                Value::Map(vec![(Value::atom("SUPERSECRET"), Value::Integer(1))]),
                "an unknown key (a map of 1 pairs)",
            ),
            (Value::Tuple(vec![Value::charlist("SUPERSECRET")]), "an unknown key (a tuple of 1 elements)"),
        ] {
            let message = err(&with(key, Value::charlist("SUPERSECRET")));
            assert!(message.starts_with(described), "{message}");
            assert!(
                !message.to_lowercase().contains("supersecret") && !message.contains("kkkk"),
                "{message}"
            );
        }
        let proplist = Value::List(vec![
            Value::Tuple(vec![Value::atom("id"), Value::charlist("G-1")]),
            Value::Tuple(vec![Value::atom("secret"), Value::charlist("s")]),
            Value::Tuple(vec![Value::atom("name"), Value::charlist("SUPERSECRET")]),
        ]);
        assert!(!err(&proplist).contains("SUPERSECRET"));
        let through_options = crate::options::parse(&Value::Map(vec![(
            Value::atom("tracking_id"),
            with(Value::atom("API_SECRET"), Value::charlist("SUPERSECRET")),
        )]))
        .unwrap_err()
        .to_string();
        assert_eq!(
            through_options,
            "tracking_id: an unknown key (an atom of 10 characters) in a GA4 tracking id; expected only id and secret"
        );
    }

    #[test]
    fn shapes_of_ids_never_show_their_content() {
        let id_map = Value::Map(vec![(Value::atom("SUPERSECRET"), Value::Integer(1))]);
        let message = err(&ga4_map(id_map, Value::charlist("s")));
        assert!(message.ends_with("got a map of 1 pairs"), "{message}");
        let message = err(&ga4_map(Value::charlist("G 1 SUPERSECRET"), Value::charlist("s")));
        assert!(message.ends_with("got a string of 15 characters"), "{message}");
        let long_ga4 = format!("G-{}", "SUPERSECRET".repeat(10));
        let message = err(&Value::charlist(&long_ga4));
        assert!(message.ends_with("got a string of 112 characters that is neither"), "{message}");
        let message =
            err(&Value::Tuple(vec![Value::Map(vec![(Value::atom("SUPERSECRET"), Value::Integer(1))])]));
        assert!(message.ends_with("got a tuple of 1 elements"), "{message}");
        for message in [
            err(&Value::List(vec![Value::Map(vec![(Value::atom("SUPERSECRET"), Value::Integer(1))])])),
            err(&Value::atom("SUPERSECRET")),
        ] {
            assert!(!message.contains("SUPERSECRET"), "{message}");
        }
    }
}
