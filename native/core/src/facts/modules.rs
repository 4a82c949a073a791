//! The modules enabled per host type, as the facts give them.

use crate::value::Value;

/// The modules enabled for one host type.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTypeModules {
    /// The host type, as given: only to match it across the nodes of a cluster.
    pub host_type: Value,
    /// Module name and its options, as given (a map or a proplist, possibly odd).
    pub modules: Vec<(String, Value)>,
}

/// `#{HostType => #{Module => Opts}}`, module names atoms; `None` for any other shape.
pub(super) fn modules(value: &Value) -> Option<Vec<HostTypeModules>> {
    let Value::Map(host_types) = value else { return None };
    host_types
        .iter()
        .map(|(host_type, modules)| match modules {
            Value::Map(pairs) => pairs
                .iter()
                .map(|(module, opts)| match module {
                    Value::Atom(name) => Some((name.clone(), opts.clone())),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(|modules| HostTypeModules { host_type: host_type.clone(), modules }),
            _ => None,
        })
        .collect()
}
