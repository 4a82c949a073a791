//! The modules enabled per host type, and of each module's options the few that events
//! may name, read once from the map or proplist the facts give.

use crate::value::Value;

/// A host type, kept only to match it across the nodes of a cluster: its name may be
/// private, so nothing ever reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostType(Value);

impl From<Value> for HostType {
    fn from(value: Value) -> HostType {
        HostType(value)
    }
}

/// The modules enabled for one host type.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTypeModules {
    /// The host type, as given.
    pub host_type: HostType,
    /// The modules, in the order given.
    pub modules: Vec<Module>,
}

/// One enabled module.
#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    /// Its name, e.g. `mod_vcard`; a custom module's name is private.
    pub name: String,
    /// What its options tell.
    pub options: ModuleOptions,
}

/// The options of a module that events may tell of, each with every name it was given,
/// in order: a proplist repeats `backend` for each backend of mod_event_pusher. The names
/// are as given, possibly private; only those on an allowlist are ever reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleOptions {
    /// `backend`.
    pub backend: Vec<String>,
    /// `online_backend`.
    pub online_backend: Vec<String>,
    /// `api_version` (mod_push_service_mongoosepush).
    pub api_version: Vec<String>,
}

impl ModuleOptions {
    /// Reads the options from a map or a proplist (as `config_metrics/1` gives them).
    /// Options never refuse the facts: any other shape, a key that is not an atom or a
    /// value that is not a name (an atom or a text) reads as absent.
    pub fn parse(opts: &Value) -> ModuleOptions {
        let mut options = ModuleOptions::default();
        match opts {
            Value::Map(pairs) => pairs.iter().for_each(|(key, value)| options.add(key, value)),
            Value::List(items) => {
                for item in items {
                    if let Value::Tuple(pair) = item {
                        if let [key, value] = pair.as_slice() {
                            options.add(key, value);
                        }
                    }
                }
            }
            _ => {}
        }
        options
    }

    fn add(&mut self, key: &Value, value: &Value) {
        let Value::Atom(key) = key else { return };
        let names = match key.as_str() {
            "backend" => &mut self.backend,
            "online_backend" => &mut self.online_backend,
            "api_version" => &mut self.api_version,
            _ => return,
        };
        names.extend(value.name());
    }
}

/// `#{HostType => #{Module => Opts}}`, module names atoms; `None` for any other shape.
pub(super) fn parse(value: &Value) -> Option<Vec<HostTypeModules>> {
    let Value::Map(host_types) = value else { return None };
    host_types
        .iter()
        .map(|(host_type, modules)| {
            let Value::Map(pairs) = modules else { return None };
            let modules = pairs
                .iter()
                .map(|(module, opts)| match module {
                    Value::Atom(name) => {
                        Some(Module { name: name.clone(), options: ModuleOptions::parse(opts) })
                    }
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some(HostTypeModules { host_type: HostType(host_type.clone()), modules })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{BIG_INTEGER, IMPROPER_LIST, TOO_DEEP};

    fn pair(key: &str, value: Value) -> (Value, Value) {
        (Value::atom(key), value)
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn a_map_and_a_proplist_read_alike_every_value_kept_in_order() {
        let pairs = vec![
            pair("backend", Value::atom("rdbms")),
            pair("host", Value::binary("vjud.example.com")),
            pair("online_backend", Value::binary("cets")),
            pair("backend", Value::charlist("mnesia")),
            pair("api_version", Value::atom("v3")),
            pair("backend", Value::atom("rdbms")),
        ];
        let expected = ModuleOptions {
            backend: names(&["rdbms", "mnesia", "rdbms"]),
            online_backend: names(&["cets"]),
            api_version: names(&["v3"]),
        };
        let list = Value::List(pairs.iter().map(|(k, v)| Value::Tuple(vec![k.clone(), v.clone()])).collect());
        assert_eq!(ModuleOptions::parse(&Value::Map(pairs)), expected);
        assert_eq!(ModuleOptions::parse(&list), expected);
    }

    #[test]
    fn odd_options_read_as_absent_and_never_panic() {
        let mut deep = Value::atom("rdbms");
        for _ in 0..1000 {
            deep = Value::Map(vec![pair("backend", deep)]);
        }
        let shapes = [
            Value::Other(IMPROPER_LIST),
            Value::Other(TOO_DEEP),
            Value::Other("pid"),
            Value::Integer(7),
            Value::Float(f64::NAN),
            Value::atom("backend"),
            Value::binary("backend=rdbms"),
            Value::Binary(vec![0xff]),
            Value::List(vec![]),
            Value::Tuple(vec![Value::atom("backend"), Value::atom("rdbms")]),
            deep.clone(),
            Value::List(vec![
                Value::atom("backend"),
                Value::Other(IMPROPER_LIST),
                Value::List(vec![Value::atom("backend"), Value::atom("rdbms")]),
                Value::Tuple(vec![Value::atom("backend")]),
                Value::Tuple(vec![Value::atom("backend"), Value::atom("rdbms"), Value::atom("cets")]),
                Value::Tuple(vec![Value::binary("backend"), Value::atom("rdbms")]),
                Value::Tuple(vec![Value::charlist("backend"), Value::atom("rdbms")]),
                Value::Tuple(vec![Value::Integer(1), Value::atom("rdbms")]),
                Value::Tuple(vec![Value::Other(TOO_DEEP), Value::atom("rdbms")]),
            ]),
            Value::Map(vec![
                (Value::binary("backend"), Value::atom("rdbms")),
                (Value::Other(BIG_INTEGER), Value::atom("rdbms")),
                (Value::Tuple(vec![Value::atom("backend")]), Value::atom("rdbms")),
                pair("backend", deep),
                pair("backend", Value::Map(vec![pair("name", Value::atom("rdbms"))])),
                pair("backend", Value::List(vec![Value::atom("rdbms"), Value::atom("cets")])),
                pair("backend", Value::Other(IMPROPER_LIST)),
                pair("backend", Value::Other(TOO_DEEP)),
                pair("backend", Value::Binary(vec![0xff, 0xfe])),
                pair("backend", Value::List(vec![])),
                pair("online_backend", Value::Integer(1)),
                pair("api_version", Value::Float(3.0)),
            ]),
        ];
        for shape in shapes {
            assert_eq!(ModuleOptions::parse(&shape), ModuleOptions::default(), "{}", shape.render());
        }
    }

    #[test]
    fn modules_are_typed_per_host_type_and_any_other_shape_refused() {
        let host_types = Value::Map(vec![
            (
                Value::binary("a.example.com"),
                Value::Map(vec![
                    pair("mod_vcard", Value::Map(vec![pair("backend", Value::atom("rdbms"))])),
                    pair("mod_secret", Value::Other(IMPROPER_LIST)),
                ]),
            ),
            (Value::Other(TOO_DEEP), Value::Map(vec![])),
        ]);
        let typed = parse(&host_types).unwrap();
        assert_eq!(typed.len(), 2);
        assert_eq!(typed[0].host_type, HostType::from(Value::binary("a.example.com")));
        assert_eq!(
            typed[0].modules,
            [
                Module {
                    name: "mod_vcard".into(),
                    options: ModuleOptions { backend: names(&["rdbms"]), ..ModuleOptions::default() }
                },
                Module { name: "mod_secret".into(), options: ModuleOptions::default() },
            ]
        );
        assert!(typed[1].modules.is_empty());
        for refused in [
            Value::List(vec![]),
            Value::Other(IMPROPER_LIST),
            Value::Map(vec![(Value::binary("h"), Value::List(vec![]))]),
            Value::Map(vec![(
                Value::binary("h"),
                Value::Map(vec![(Value::binary("mod_vcard"), Value::List(vec![]))]),
            )]),
            Value::Map(vec![(
                Value::binary("h"),
                Value::Map(vec![(Value::Other(TOO_DEEP), Value::List(vec![]))]),
            )]),
        ] {
            assert_eq!(parse(&refused), None, "{}", refused.render());
        }
    }
}
