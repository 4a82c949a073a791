//! Turns a cluster's facts ([`ClusterFacts`]) into GA4 events (the README's "What is
//! sent"), applying the anonymisation rules: only names from [`crate::known`] leave the
//! node; everything else is counted. Host names, domains, paths and option values never
//! reach an event. Each kind of event is made in a module of its own.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::aggregate::ClusterFacts;
pub use crate::facts::StanzaTotals;
pub use crate::params::Params;

mod cluster;
mod listeners;
mod modules;
mod pools;
mod stanzas;
#[cfg(test)]
mod tests;
mod version;

pub use cluster::{config_type, format_uptime};

/// A name or value of an event: nearly always one of the fixed names of this crate,
/// borrowed, so that a report of tens of thousands of events allocates little.
pub type Text = Cow<'static, str>;

/// A parameter value: GA4 takes strings and numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum Param {
    /// A count.
    Int(u64),
    /// A name or a formatted value.
    Str(Text),
}

impl From<&'static str> for Param {
    fn from(text: &'static str) -> Self {
        Param::Str(Cow::Borrowed(text))
    }
}

impl From<String> for Param {
    fn from(text: String) -> Self {
        Param::Str(Cow::Owned(text))
    }
}

impl From<u64> for Param {
    fn from(n: u64) -> Self {
        Param::Int(n)
    }
}

/// One GA4 event. Parameters are kept sorted, so every encoding of an event (request
/// body, report file, preview) has the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Event {
    /// The event name, e.g. `cluster`.
    pub name: Text,
    /// The parameters.
    pub params: Params,
}

impl Event {
    fn new<const N: usize>(name: &'static str, params: [(&'static str, Param); N]) -> Event {
        Event {
            name: Cow::Borrowed(name),
            params: params.into_iter().map(|(k, v)| (Cow::Borrowed(k), v)).collect(),
        }
    }
}

/// Each node's stanza totals at the last report, by node name: the base of increments.
pub type StanzaBaseline = BTreeMap<String, StanzaTotals>;

/// Builds the events of one report, in a fixed order; `previous` holds each node's
/// stanza totals at the last report.
pub fn build(facts: &ClusterFacts, previous: &StanzaBaseline) -> Vec<Event> {
    let deployment = &facts.deployment;
    let mut events = Vec::new();
    if let Some(n) = deployment.host_type_count {
        events.push(Event::new("host_count", [("value", n.into())]));
    }
    if let Some(n) = deployment.domain_count {
        events.push(Event::new("domain_count", [("value", n.into())]));
    }
    if let Some(host_types) = &deployment.modules {
        events.extend(modules::events(host_types));
    }
    events.extend(cluster::event(facts));
    if let Some(listeners) = &deployment.listeners {
        events.extend(listeners::events(listeners, deployment.version.as_deref()));
    }
    if let Some(pools) = &deployment.outgoing_pools {
        events.extend(pools::events(pools));
    }
    if let Some(totals) = &deployment.stanza_counts {
        events.extend(stanzas::events(totals, &stanzas::increments(&facts.stanza_by_node, previous)));
    }
    events
}
