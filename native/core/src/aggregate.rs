//! One cluster's facts from its members': the node that reports gathers every member's
//! facts (see [`crate::facts::Cluster`]) and they are merged here, so one report speaks
//! for the whole cluster.
//!
//! Counters that each node holds for itself add up (components, stanzas); what the
//! configuration or the shared databases say alike on every node is taken once (host
//! types, domains, pools, cluster size); uptime is the longest; modules are merged per
//! host type; differing versions (a rolling upgrade) are all listed.

use std::collections::BTreeMap;

use crate::facts::{Facts, HostTypeModules, Listener, StanzaTotals};

/// What one report tells of a whole cluster: its nodes' [`Facts`] merged (see [`merge`]),
/// and what only the merge knows. Events are built from this.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterFacts {
    /// The longest uptime, in milliseconds.
    pub uptime_ms: Option<u64>,
    /// Every distinct version, comma-separated, in order of first appearance.
    pub version: Option<String>,
    /// Number of nodes, the ones that did not answer included.
    pub node_count: Option<u64>,
    /// Number of host types.
    pub host_type_count: Option<u64>,
    /// Number of domains.
    pub domain_count: Option<u64>,
    /// Modules in use, per host type.
    pub modules: Option<Vec<HostTypeModules>>,
    /// Listeners of every node.
    pub listeners: Option<Vec<Listener>>,
    /// Types of the outgoing connection pools, one entry per pool.
    pub outgoing_pools: Option<Vec<String>>,
    /// Number of connected external XMPP components, on all nodes.
    pub components: Option<u64>,
    /// Path of the reporting node's configuration file.
    pub config_file: Option<String>,
    /// The cluster's stanza counter totals, by stanza type.
    pub stanza_counts: Option<StanzaTotals>,
    /// Members that did not answer.
    pub unreachable_nodes: u64,
    /// Each node's own stanza totals, by its name ("" for a node that gives none): a
    /// node's increments count from its own last totals.
    pub stanza_by_node: Vec<(String, StanzaTotals)>,
}

/// The facts of the whole cluster, or `facts` as they are when they hold no cluster.
pub fn merge(mut facts: Facts) -> ClusterFacts {
    let Some(cluster) = facts.cluster.take() else {
        return one_node(facts);
    };
    let members = cluster.members.len() as u64;
    let mut all = vec![facts];
    all.extend(cluster.members);
    let max = |get: fn(&Facts) -> Option<u64>| all.iter().filter_map(get).max();
    let sum = |get: fn(&Facts) -> Option<u64>| all.iter().filter_map(get).reduce(|a, b| a + b);
    ClusterFacts {
        uptime_ms: max(|f| f.uptime_ms),
        version: versions(&all),
        node_count: Some(max(|f| f.node_count).unwrap_or(0).max(1 + members + cluster.unreachable)),
        host_type_count: max(|f| f.host_type_count),
        domain_count: max(|f| f.domain_count),
        modules: modules(&all),
        listeners: all.iter().filter_map(|f| f.listeners.clone()).reduce(|mut a, b| {
            a.extend(b);
            a
        }),
        outgoing_pools: pools(&all),
        components: sum(|f| f.components),
        config_file: all[0].config_file.clone(),
        stanza_counts: stanzas(&all),
        unreachable_nodes: cluster.unreachable,
        stanza_by_node: by_node(&all),
    }
}

/// A node that reports for itself alone: its facts as they are.
fn one_node(facts: Facts) -> ClusterFacts {
    let stanza_by_node = by_node(std::slice::from_ref(&facts));
    let Facts {
        uptime_ms,
        version,
        node_count,
        host_type_count,
        domain_count,
        modules,
        listeners,
        outgoing_pools,
        components,
        config_file,
        stanza_counts,
        client_id: _,
        cluster: _,
        node: _,
    } = facts;
    ClusterFacts {
        uptime_ms,
        version,
        node_count,
        host_type_count,
        domain_count,
        modules,
        listeners,
        outgoing_pools,
        components,
        config_file,
        stanza_counts,
        unreachable_nodes: 0,
        stanza_by_node,
    }
}

/// Each node's stanza totals, by its name ("" for a node that gives none).
fn by_node(all: &[Facts]) -> Vec<(String, StanzaTotals)> {
    all.iter().filter_map(|f| Some((f.node.clone().unwrap_or_default(), f.stanza_counts.clone()?))).collect()
}

/// Every distinct version, comma-separated, in order of first appearance.
fn versions(all: &[Facts]) -> Option<String> {
    let mut seen: Vec<&str> = Vec::new();
    for version in all.iter().filter_map(|f| f.version.as_deref()) {
        if !seen.contains(&version) {
            seen.push(version);
        }
    }
    (!seen.is_empty()).then(|| seen.join(","))
}

/// Host types matched across nodes; a module enabled on a host type anywhere is enabled
/// there once.
fn modules(all: &[Facts]) -> Option<Vec<HostTypeModules>> {
    let mut merged: Vec<HostTypeModules> = Vec::new();
    for host_type in all.iter().filter_map(|f| f.modules.as_ref()).flatten() {
        match merged.iter_mut().find(|m| m.host_type == host_type.host_type) {
            None => merged.push(host_type.clone()),
            Some(existing) => {
                for module in &host_type.modules {
                    if !existing.modules.iter().any(|m| m.name == module.name) {
                        existing.modules.push(module.clone());
                    }
                }
            }
        }
    }
    all.iter().any(|f| f.modules.is_some()).then_some(merged)
}

/// Pools are configured alike on every node: per type, the most any node has.
fn pools(all: &[Facts]) -> Option<Vec<String>> {
    let mut most: BTreeMap<&str, usize> = BTreeMap::new();
    for pools in all.iter().filter_map(|f| f.outgoing_pools.as_ref()) {
        let mut here: BTreeMap<&str, usize> = BTreeMap::new();
        for pool in pools {
            *here.entry(pool.as_str()).or_default() += 1;
        }
        for (kind, n) in here {
            let entry = most.entry(kind).or_default();
            *entry = (*entry).max(n);
        }
    }
    all.iter()
        .any(|f| f.outgoing_pools.is_some())
        .then(|| most.into_iter().flat_map(|(kind, n)| std::iter::repeat_n(kind.to_owned(), n)).collect())
}

fn stanzas(all: &[Facts]) -> Option<StanzaTotals> {
    let mut totals = StanzaTotals::new();
    for counts in all.iter().filter_map(|f| f.stanza_counts.as_ref()) {
        for (kind, n) in counts {
            *totals.entry(kind.clone()).or_default() += n;
        }
    }
    all.iter().any(|f| f.stanza_counts.is_some()).then_some(totals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Cluster, Module, ModuleOptions};
    use crate::value::Value;

    fn node(uptime: u64, version: &str, components: u64, messages: u64) -> Facts {
        Facts {
            uptime_ms: Some(uptime),
            version: Some(version.to_owned()),
            node_count: Some(1),
            host_type_count: Some(2),
            domain_count: Some(5),
            components: Some(components),
            outgoing_pools: Some(vec!["rdbms".into(), "rdbms".into(), "http".into()]),
            stanza_counts: Some([("xmppMessageSent".to_owned(), messages)].into()),
            listeners: Some(vec![Listener { proto: "tcp".into(), ..Listener::default() }]),
            ..Facts::default()
        }
    }

    fn with_members(local: Facts, members: Vec<Facts>, unreachable: u64) -> Facts {
        Facts { cluster: Some(Cluster { members, unreachable }), ..local }
    }

    #[test]
    fn facts_without_a_cluster_are_unchanged_but_for_the_stanzas_by_node() {
        let facts = node(1, "6.8.0", 1, 1);
        let merged = merge(facts.clone());
        assert_eq!(merged.stanza_by_node, [(String::new(), facts.stanza_counts.clone().unwrap())]);
        let unchanged = ClusterFacts {
            uptime_ms: facts.uptime_ms,
            version: facts.version,
            node_count: facts.node_count,
            host_type_count: facts.host_type_count,
            domain_count: facts.domain_count,
            modules: facts.modules,
            listeners: facts.listeners,
            outgoing_pools: facts.outgoing_pools,
            components: facts.components,
            config_file: facts.config_file,
            stanza_counts: facts.stanza_counts,
            unreachable_nodes: 0,
            stanza_by_node: vec![],
        };
        assert_eq!(ClusterFacts { stanza_by_node: vec![], ..merged }, unchanged);
    }

    #[test]
    fn counters_add_up_shared_facts_count_once_uptime_is_the_longest() {
        let merged = merge(with_members(
            node(1000, "6.8.0", 1, 10),
            vec![node(5000, "6.8.0", 2, 20), node(3000, "6.8.0", 0, 5)],
            1,
        ));
        assert_eq!(merged.uptime_ms, Some(5000));
        assert_eq!(merged.components, Some(3));
        assert_eq!(merged.stanza_counts.unwrap()["xmppMessageSent"], 35);
        assert_eq!((merged.host_type_count, merged.domain_count), (Some(2), Some(5)));
        assert_eq!(
            merged.outgoing_pools.unwrap(),
            ["http", "rdbms", "rdbms"],
            "pools per type, not per node"
        );
        assert_eq!(merged.node_count, Some(4), "three that answered and one that did not");
        assert_eq!(merged.unreachable_nodes, 1);
        assert_eq!(merged.version.as_deref(), Some("6.8.0"));
        assert_eq!(merged.listeners.unwrap().len(), 3);
    }

    #[test]
    fn a_rolling_upgrade_lists_both_versions() {
        let merged = merge(with_members(
            node(1, "6.7.0", 0, 0),
            vec![node(1, "6.8.0", 0, 0), node(1, "6.7.0", 0, 0)],
            0,
        ));
        assert_eq!(merged.version.as_deref(), Some("6.7.0,6.8.0"));
    }

    #[test]
    fn modules_are_merged_per_host_type() {
        let host = |ht: &str, modules: &[&str]| HostTypeModules {
            host_type: Value::binary(ht).into(),
            modules: modules
                .iter()
                .map(|m| Module { name: (*m).to_owned(), options: ModuleOptions::default() })
                .collect(),
        };
        let a = Facts { modules: Some(vec![host("h1", &["mod_ping", "mod_vcard"])]), ..Facts::default() };
        let b = Facts {
            modules: Some(vec![host("h1", &["mod_vcard", "mod_mam"]), host("h2", &["mod_ping"])]),
            ..Facts::default()
        };
        let merged = merge(with_members(a, vec![b], 0)).modules.unwrap();
        let names = |h: &HostTypeModules| h.modules.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
        assert_eq!(merged.len(), 2);
        assert_eq!(names(&merged[0]), ["mod_ping", "mod_vcard", "mod_mam"]);
        assert_eq!(names(&merged[1]), ["mod_ping"]);
    }
}
