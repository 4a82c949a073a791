//! The raw facts the Erlang side collects from the VM and MongooseIM, checked and typed.
//!
//! Facts may hold private things (host names, custom module names, file paths); they
//! never leave this crate as such. [`crate::events`] turns them into anonymous events.
//! Every fact is optional: a fact the node cannot show is left out, and so is its event.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::value::Value;
use crate::{client_id, known};

mod listeners;
mod modules;
#[cfg(test)]
mod tests;

pub use listeners::Listener;
pub use modules::{HostType, HostTypeModules, Module, ModuleOptions};

/// The facts of one node, as typed data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// What the node runs and counts.
    pub deployment: Deployment,
    /// The cluster's own id, when the host has one (MongooseIM's persistent cluster id):
    /// the report's client id then.
    pub client_id: Option<String>,
    /// The other members of the cluster, when this node reports for all of them.
    pub cluster: Option<Cluster>,
    /// The node the facts are of (its name, to match it from one report to the next;
    /// never reported).
    pub node: Option<String>,
}

/// What a node runs and counts; for a whole cluster, its nodes' merged by
/// [`crate::aggregate`]. Events are made of this.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deployment {
    /// Wall-clock uptime, in milliseconds.
    pub uptime_ms: Option<u64>,
    /// Version of the product application; a cluster's lists each distinct one.
    pub version: Option<String>,
    /// Number of nodes in the cluster, this one included.
    pub node_count: Option<u64>,
    /// Number of host types (their names are counted, never kept).
    pub host_type_count: Option<u64>,
    /// Number of domains, static and dynamic.
    pub domain_count: Option<u64>,
    /// Modules in use, per host type.
    pub modules: Option<Vec<HostTypeModules>>,
    /// Listeners of the node, or of every node of a cluster.
    pub listeners: Option<Vec<Listener>>,
    /// Types of the outgoing connection pools, one entry per pool.
    pub outgoing_pools: Option<Vec<String>>,
    /// Number of connected external XMPP components.
    pub components: Option<u64>,
    /// Path of the configuration file (only its type is reported).
    pub config_file: Option<String>,
    /// Stanza counter totals, by stanza type (see [`known::STANZA_TYPES`]).
    pub stanza_counts: Option<StanzaTotals>,
}

/// Stanza counter totals, by stanza type.
pub type StanzaTotals = BTreeMap<String, u64>;

/// The facts of the other members of a cluster, gathered by the node that reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cluster {
    /// The facts of each member that answered.
    pub members: Vec<Facts>,
    /// Members that did not answer in time.
    pub unreachable: u64,
}

/// A fact with a wrong shape.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct FactsError {
    /// The fact's key, as text.
    pub fact: String,
    /// Names the fact, the value and what was expected.
    pub message: String,
}

/// The fact keys, in the order facts are documented.
pub const FACT_NAMES: [&str; 14] = [
    "uptime_ms",
    "version",
    "node_count",
    "host_types",
    "domain_count",
    "modules",
    "listeners",
    "outgoing_pools",
    "components",
    "config_file",
    "stanza_counts",
    "cluster",
    "client_id",
    "node",
];

/// Checks and types a facts map, refusing it at the first bad fact (for callers that
/// want to know at once, like tests with hand-made facts).
///
/// # Errors
/// [`FactsError`] for the first fact that is unknown or has the wrong shape.
pub fn parse(value: &Value) -> Result<Facts, FactsError> {
    parse_with(value, false).map(|(facts, _)| facts)
}

/// Checks and types a facts map, leaving out each bad fact (and each bad fact of a
/// cluster member) and naming it: one odd value never costs the whole report.
///
/// # Errors
/// When the facts are not a map at all.
pub fn parse_lenient(value: &Value) -> Result<(Facts, Vec<FactsError>), FactsError> {
    parse_with(value, true)
}

fn parse_with(value: &Value, lenient: bool) -> Result<(Facts, Vec<FactsError>), FactsError> {
    let Value::Map(pairs) = value else {
        return Err(error("facts", format!("facts must be a map, got {}", value.kind())));
    };
    let mut facts = Facts::default();
    let mut dropped = Vec::new();
    for (key, val) in pairs {
        match apply(&mut facts, key, val, lenient) {
            Ok(more) => dropped.extend(more),
            Err(e) if lenient => dropped.push(e),
            Err(e) => return Err(e),
        }
    }
    Ok((facts, dropped))
}

/// Reads one fact into `facts`; a cluster's member facts may drop some of their own.
fn apply(facts: &mut Facts, key: &Value, val: &Value, lenient: bool) -> Result<Vec<FactsError>, FactsError> {
    let name = key.name().unwrap_or_else(|| key.kind());
    let bad = |expected: &str| error(&name, format!("fact {name} = {}: expected {expected}", describe(val)));
    let deployment = &mut facts.deployment;
    match name.as_str() {
        "uptime_ms" => deployment.uptime_ms = Some(count(val).ok_or_else(|| bad("a non-negative integer"))?),
        "version" => deployment.version = Some(val.name().ok_or_else(|| bad("a string"))?),
        "node" => facts.node = Some(val.name().ok_or_else(|| bad("a node name"))?),
        "node_count" => {
            deployment.node_count =
                Some(count(val).filter(|n| *n > 0).ok_or_else(|| bad("a positive integer"))?)
        }
        "host_types" => match val {
            Value::List(items) => deployment.host_type_count = Some(items.len() as u64),
            _ => return Err(bad("a list of host types")),
        },
        "domain_count" => {
            deployment.domain_count = Some(count(val).ok_or_else(|| bad("a non-negative integer"))?)
        }
        "modules" => {
            deployment.modules =
                Some(modules::parse(val).ok_or_else(|| bad("#{HostType => #{Module => Opts}}"))?)
        }
        "listeners" => deployment.listeners = Some(listeners::parse(&name, val)?),
        "outgoing_pools" => {
            deployment.outgoing_pools = Some(names(val).ok_or_else(|| bad("a list of pool types (atoms)"))?)
        }
        "components" => {
            deployment.components = Some(count(val).ok_or_else(|| bad("a non-negative integer"))?)
        }
        "config_file" => deployment.config_file = Some(val.name().ok_or_else(|| bad("a file path string"))?),
        "cluster" => {
            let (cluster, dropped) = cluster(&name, val, lenient)?;
            facts.cluster = Some(cluster);
            return Ok(dropped);
        }
        "client_id" => {
            facts.client_id = Some(
                val.text()
                    .filter(|t| client_id::is_well_formed(t))
                    .ok_or_else(|| bad("an id of at most 64 letters, digits and '-'"))?,
            )
        }
        "stanza_counts" => {
            let expected =
                format!("#{{StanzaType => Total}} with stanza types {}", known::STANZA_TYPES.join(", "));
            deployment.stanza_counts = Some(stanza_counts(val).ok_or_else(|| bad(&expected))?)
        }
        _ => {
            return Err(error(
                &name,
                format!("unknown fact {}; the facts are {}", describe(key), FACT_NAMES.join(", ")),
            ))
        }
    }
    Ok(Vec::new())
}

/// A value for an error message: scalars as they are, anything else by its shape only,
/// since facts can hold private values (module options may hold passwords).
fn describe(value: &Value) -> String {
    match value {
        Value::Atom(_) | Value::Integer(_) | Value::Float(_) => value.render(),
        other => other.kind(),
    }
}

fn count(value: &Value) -> Option<u64> {
    match value {
        Value::Integer(n) => u64::try_from(*n).ok(),
        _ => None,
    }
}

fn stanza_counts(value: &Value) -> Option<StanzaTotals> {
    let Value::Map(pairs) = value else { return None };
    pairs
        .iter()
        .map(|(k, v)| match k {
            Value::Atom(name) if known::STANZA_TYPES.contains(&name.as_str()) => {
                Some((name.clone(), count(v)?))
            }
            _ => None,
        })
        .collect()
}

fn names(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::List(items) => items
            .iter()
            .map(|item| match item {
                Value::Atom(name) => Some(name.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// `#{members := [Facts], unreachable := N}`; a member's facts hold no cluster of their own.
fn cluster(name: &str, value: &Value, lenient: bool) -> Result<(Cluster, Vec<FactsError>), FactsError> {
    let bad = |what: &str| error(name, format!("fact {name}: {what}"));
    let Value::Map(pairs) = value else {
        return Err(bad("expected #{members => [Facts], unreachable => N}"));
    };
    let mut cluster = Cluster::default();
    let mut dropped = Vec::new();
    for (key, val) in pairs {
        match (key.name().as_deref(), val) {
            (Some("members"), Value::List(members)) => {
                for (i, member) in members.iter().enumerate() {
                    let (mut facts, more) = parse_with(member, lenient)
                        .map_err(|e| bad(&format!("member {i}: {}", e.message)))?;
                    if facts.cluster.take().is_some() && !lenient {
                        return Err(bad("a member's facts cannot hold a cluster"));
                    }
                    dropped.extend(
                        more.into_iter()
                            .map(|e| FactsError { message: format!("member {i}: {}", e.message), ..e }),
                    );
                    cluster.members.push(facts);
                }
            }
            (Some("members"), other) => {
                return Err(bad(&format!("members must be a list of facts maps, got {}", other.kind())))
            }
            (Some("unreachable"), val) => {
                cluster.unreachable =
                    count(val).ok_or_else(|| bad("unreachable must be a non-negative integer"))?
            }
            _ => return Err(bad("expected the keys members and unreachable")),
        }
    }
    Ok((cluster, dropped))
}

fn error(fact: &str, message: String) -> FactsError {
    FactsError { fact: fact.to_owned(), message }
}
