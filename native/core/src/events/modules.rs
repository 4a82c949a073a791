//! `module_with_opt` and `custom_module_count`: the open-source modules in use, each with
//! the options that are safe to name, and how many custom ones.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::Event;
use crate::facts::{HostTypeModules, ModuleOptions};
use crate::known;

/// The events of each known module on each host type, then the count of distinct custom
/// modules, whose names stay here.
pub(super) fn events(host_types: &[HostTypeModules]) -> Vec<Event> {
    let mut custom = BTreeSet::new();
    // By module name, so the order reads naturally; the events of one module keep the
    // facts' order of host types, which leave no other trace.
    let mut by_module: BTreeMap<&str, Vec<Event>> = BTreeMap::new();
    for host_type in host_types {
        for module in &host_type.modules {
            if let Some(name) = known::find(known::MODULES, &module.name) {
                by_module.entry(name).or_default().extend(module_events(name, &module.options));
            } else {
                custom.insert(module.name.as_str());
            }
        }
    }
    let mut events: Vec<Event> = by_module.into_values().flatten().collect();
    events.push(Event::new("custom_module_count", [("value", (custom.len() as u64).into())]));
    events
}

/// The events of one module on one host type: one, or one per backend when the module
/// has several (mod_event_pusher), so that none is lost. `module` is a known module.
fn module_events(module: &'static str, options: &ModuleOptions) -> Vec<Event> {
    let mut single = Event::new("module_with_opt", [("module", module.into())]);
    let mut backends = Vec::new();
    for (key, given, allowed) in [
        ("backend", &options.backend, known::BACKENDS),
        ("online_backend", &options.online_backend, known::BACKENDS),
        ("api_version", &options.api_version, known::API_VERSIONS),
    ] {
        let mut values: Vec<&'static str> = Vec::new();
        for value in given.iter().filter_map(|v| known::find(allowed, v)) {
            if !values.contains(&value) {
                values.push(value);
            }
        }
        match (key, values.len()) {
            (_, 0) => {}
            ("backend", n) if n > 1 => {
                values.sort();
                backends = values;
            }
            _ => {
                single.params.insert(Cow::Borrowed(key), values[0].into());
            }
        }
    }
    if backends.is_empty() {
        return vec![single];
    }
    backends
        .into_iter()
        .map(|backend| {
            let mut event = single.clone();
            event.params.insert(Cow::Borrowed("backend"), backend.into());
            event
        })
        .collect()
}
