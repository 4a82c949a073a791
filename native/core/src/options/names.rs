//! The names of the options: which an operator can set, the alias accepted for an old
//! misspelling, and a "did you mean" for a name that is close to one of them.

use super::OptionsError;
use crate::shown::{plain_name, shape};
use crate::value::Value;

/// The options an operator can set, in the order errors are reported for them.
pub const OPTION_NAMES: &[&str] = &[
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

/// The option `key` names, given as an atom or a binary: its own name, or the one its
/// alias stands for (with a warning); an unknown name is refused with a "did you mean".
pub(super) fn canonical_name(key: &Value, warnings: &mut Vec<String>) -> Result<&'static str, OptionsError> {
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
    use std::collections::BTreeSet;

    use super::*;
    use crate::options::parse;
    use crate::options::tests::{assert_hidden, map, refused};

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
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("report", "report"), 0);
    }

    /// MongooseIM's adapter, whose `config_spec/0` is the TOML spec of the service's
    /// section: MongooseIM's parser refuses any key it does not list, before the core
    /// sees the options.
    const MONGOOSEIM_ADAPTER: &str =
        include_str!("../../../../erlang/src/mongoose_system_metrics_mongooseim.erl");

    /// The keys of the first level of the section that `config_spec/0` builds: each
    /// `<<"name">>` directly in its map, not those of a nested section or a comment.
    fn toml_spec_keys(erlang: &str) -> BTreeSet<String> {
        let start = erlang.find("\nconfig_spec() ->").expect("the adapter defines config_spec/0");
        let code: String = erlang[start..]
            .lines()
            .map(|line| line.split('%').next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        let opening = "section(#{";
        let map = &code[code.find(opening).expect("config_spec/0 builds a section") + opening.len()..];
        let mut keys = BTreeSet::new();
        let (mut depth, mut at) = (1, 0);
        while depth > 0 && at < map.len() {
            match map.as_bytes()[at] {
                b'{' | b'(' | b'[' => depth += 1,
                b'}' | b')' | b']' => depth -= 1,
                b'<' if depth == 1 && map[at..].starts_with("<<\"") => {
                    let name = &map[at + 3..];
                    let end = name.find('"').expect("a key's binary ends");
                    keys.insert(name[..end].to_owned());
                    at += 3 + end;
                }
                _ => {}
            }
            at += 1;
        }
        keys
    }

    #[test]
    fn mongooseims_toml_spec_lists_exactly_the_options_and_their_alias() {
        let accepted: BTreeSet<String> =
            OPTION_NAMES.iter().chain([&MISSPELT_INITIAL_REPORT]).map(|name| name.to_string()).collect();
        assert_eq!(
            toml_spec_keys(MONGOOSEIM_ADAPTER),
            accepted,
            "config_spec/0 of mongoose_system_metrics_mongooseim.erl and OPTION_NAMES, with the alias, \
             must name the same options"
        );
    }

    #[test]
    fn the_toml_spec_reader_sees_only_the_first_level_of_the_section() {
        let erlang = r#"other() -> ok.

config_spec() ->
    section(#{<<"a">> => option(string, any),
              %% <<"commented">> => x.
              <<"b">> => section(#{<<"nested">> => x}, []),
              <<"c">> => y}, []).

next() -> #{<<"later">> => z}.
"#;
        assert_eq!(toml_spec_keys(erlang), ["a", "b", "c"].map(String::from).into_iter().collect());
    }
}
