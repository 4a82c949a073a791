//! `http_api`, `transport_mechanism` and `tls_option`: the HTTP APIs and client
//! transports in use, and how client connections are encrypted.

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::version::release;
use super::{Event, Param};
use crate::facts::Listener;
use crate::known;

const ENABLED: &str = "enabled";
/// Client listeners: MongooseIM 6.1 and later, and 6.0.
const C2S_LISTENERS: [&str; 2] = ["mongoose_c2s_listener", "ejabberd_c2s"];

/// The HTTP APIs and the transports, both sent even when empty, as MongooseIM sends them,
/// then the TLS options.
pub(super) fn events(listeners: &[Listener], version: Option<&str>) -> Vec<Event> {
    let mut events = vec![
        enabled_set("http_api", http_apis(listeners, version)),
        enabled_set("transport_mechanism", transports(listeners)),
    ];
    events.extend(tls_options(listeners));
    events
}

/// The HTTP handlers in use that MongooseIM's collector of the running release reports:
/// its allowlist changed in 6.6 (a cluster in a rolling upgrade reports as the newest).
fn http_apis(listeners: &[Listener], version: Option<&str>) -> BTreeSet<&'static str> {
    let allowed = match version {
        Some(versions) if versions.split(',').all(|v| release(v).is_some_and(|r| r < (6, 6))) => {
            known::HTTP_APIS_UP_TO_6_5
        }
        _ => known::HTTP_APIS_FROM_6_6,
    };
    listeners.iter().flat_map(|l| &l.handlers).filter_map(|h| known::find(allowed, h)).collect()
}

/// As MongooseIM names them: the BOSH and WebSocket handlers by their module names, and
/// `tcp` for a client listener over TCP.
fn transports(listeners: &[Listener]) -> BTreeSet<&'static str> {
    let mut found: BTreeSet<&'static str> = listeners
        .iter()
        .flat_map(|l| &l.handlers)
        .filter_map(|h| known::find(known::HTTP_TRANSPORTS, h))
        .collect();
    if listeners.iter().any(is_client_listener) {
        found.insert("tcp");
    }
    found
}

/// A TCP listener that serves clients: a c2s listener, or one the VM cannot name.
fn is_client_listener(listener: &Listener) -> bool {
    listener.proto == "tcp" && listener.module.as_deref().is_none_or(|m| C2S_LISTENERS.contains(&m))
}

/// A set as MongooseIM sends one: each member a parameter, `enabled`.
fn enabled_set(name: &'static str, keys: BTreeSet<&'static str>) -> Event {
    Event {
        name: Cow::Borrowed(name),
        params: keys.into_iter().map(|k| (Cow::Borrowed(k), Param::from(ENABLED))).collect(),
    }
}

/// Each distinct TLS mode of the client listeners with its library (`just_tls` when
/// none or an unknown one is named).
fn tls_options(listeners: &[Listener]) -> Vec<Event> {
    const MODES: [&str; 3] = ["starttls", "starttls_required", "tls"];
    const TLS_MODULES: [&str; 2] = ["fast_tls", "just_tls"];
    let pairs: BTreeSet<(&'static str, &'static str)> = listeners
        .iter()
        .filter(|l| is_client_listener(l))
        .filter_map(|l| {
            let mode = known::find(&MODES, l.tls_mode.as_deref()?)?;
            let module =
                l.tls_module.as_deref().and_then(|m| known::find(&TLS_MODULES, m)).unwrap_or("just_tls");
            Some((mode, module))
        })
        .collect();
    pairs
        .into_iter()
        .map(|(mode, module)| Event::new("tls_option", [("mode", mode.into()), ("module", module.into())]))
        .collect()
}
