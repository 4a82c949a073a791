//! The listeners of a node, as the facts give them.

use super::{error, names, FactsError};
use crate::value::Value;

/// One listener.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listener {
    /// The listener module, e.g. `mongoose_c2s_listener`; `None` when the VM cannot tell.
    pub module: Option<String>,
    /// `tcp` or `udp`.
    pub proto: String,
    /// `tls`, `starttls` or `starttls_required` when TLS is configured.
    pub tls_mode: Option<String>,
    /// The TLS library, e.g. `just_tls`.
    pub tls_module: Option<String>,
    /// HTTP handler modules of an HTTP listener.
    pub handlers: Vec<String>,
}

const LISTENER_KEYS: [&str; 5] = ["module", "proto", "tls_mode", "tls_module", "handlers"];

/// A list of listener maps; the first bad listener refuses the fact, naming it.
pub(super) fn parse(name: &str, value: &Value) -> Result<Vec<Listener>, FactsError> {
    let Value::List(items) = value else {
        return Err(error(
            name,
            format!("fact {name} = {}: expected a list of listener maps", value.render()),
        ));
    };
    items.iter().map(|item| listener(name, item)).collect()
}

fn listener(name: &str, value: &Value) -> Result<Listener, FactsError> {
    let bad = |what: String| error(name, format!("fact {name}: {what} in listener {}", value.render()));
    let Value::Map(pairs) = value else {
        return Err(bad("expected a map".into()));
    };
    let mut listener = Listener::default();
    let mut proto = None;
    for (key, val) in pairs {
        let atom = || match val {
            Value::Atom(a) if a != "undefined" => Ok(Some(a.clone())),
            Value::Atom(_) => Ok(None),
            _ => Err(bad(format!("{} must be an atom", key.render()))),
        };
        match key.name().as_deref() {
            Some("module") => listener.module = atom()?,
            Some("proto") => proto = atom()?,
            Some("tls_mode") => listener.tls_mode = atom()?,
            Some("tls_module") => listener.tls_module = atom()?,
            Some("handlers") => {
                listener.handlers =
                    names(val).ok_or_else(|| bad("handlers must be a list of atoms".into()))?
            }
            _ => {
                return Err(bad(format!(
                    "unknown key {}; listener keys are {}",
                    key.render(),
                    LISTENER_KEYS.join(", ")
                )))
            }
        }
    }
    listener.proto = proto.ok_or_else(|| bad("proto is missing".into()))?;
    Ok(listener)
}
