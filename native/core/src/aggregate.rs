//! One cluster's facts from its members': the node that reports gathers every member's
//! facts (see [`crate::facts::Cluster`]) and they are merged here, so one report speaks
//! for the whole cluster.
//!
//! Counters that each node holds for itself add up (components, stanzas); what the
//! configuration or the shared databases say alike on every node is taken once (host
//! types, domains, pools, cluster size); uptime is the longest; modules are merged per
//! host type; differing versions (a rolling upgrade) are all listed.

use std::collections::BTreeMap;

use crate::facts::{Deployment, Facts, HostTypeModules, StanzaTotals};

/// What one report tells of a whole cluster: its nodes' [`Facts`] merged (see [`merge`]),
/// and what only the merge knows. Events are built from this.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterFacts {
    /// What the cluster runs and counts, merged as above: its node count includes the
    /// members that did not answer, and its configuration file is the reporting node's.
    pub deployment: Deployment,
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
    let mut nodes = vec![facts];
    nodes.extend(cluster.members);
    let stanza_by_node = by_node(&nodes);
    let all: Vec<Deployment> = nodes.into_iter().map(|f| f.deployment).collect();
    let max = |get: fn(&Deployment) -> Option<u64>| all.iter().filter_map(get).max();
    let sum = |get: fn(&Deployment) -> Option<u64>| all.iter().filter_map(get).reduce(|a, b| a + b);
    let deployment = Deployment {
        uptime_ms: max(|d| d.uptime_ms),
        version: versions(&all),
        node_count: Some(max(|d| d.node_count).unwrap_or(0).max(1 + members + cluster.unreachable)),
        host_type_count: max(|d| d.host_type_count),
        domain_count: max(|d| d.domain_count),
        modules: modules(&all),
        listeners: all.iter().filter_map(|d| d.listeners.clone()).reduce(|mut a, b| {
            a.extend(b);
            a
        }),
        outgoing_pools: pools(&all),
        components: sum(|d| d.components),
        config_file: all[0].config_file.clone(),
        stanza_counts: stanzas(&all),
    };
    ClusterFacts { deployment, unreachable_nodes: cluster.unreachable, stanza_by_node }
}

/// A node that reports for itself alone: its facts as they are.
fn one_node(facts: Facts) -> ClusterFacts {
    let stanza_by_node = by_node(std::slice::from_ref(&facts));
    ClusterFacts { deployment: facts.deployment, unreachable_nodes: 0, stanza_by_node }
}

/// Each node's stanza totals, by its name ("" for a node that gives none).
fn by_node(nodes: &[Facts]) -> Vec<(String, StanzaTotals)> {
    nodes
        .iter()
        .filter_map(|f| Some((f.node.clone().unwrap_or_default(), f.deployment.stanza_counts.clone()?)))
        .collect()
}

/// Every distinct version, comma-separated, in order of first appearance.
fn versions(all: &[Deployment]) -> Option<String> {
    let mut seen: Vec<&str> = Vec::new();
    for version in all.iter().filter_map(|d| d.version.as_deref()) {
        if !seen.contains(&version) {
            seen.push(version);
        }
    }
    (!seen.is_empty()).then(|| seen.join(","))
}

/// Host types matched across nodes; a module enabled on a host type anywhere is enabled
/// there once.
fn modules(all: &[Deployment]) -> Option<Vec<HostTypeModules>> {
    let mut merged: Vec<HostTypeModules> = Vec::new();
    for host_type in all.iter().filter_map(|d| d.modules.as_ref()).flatten() {
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
    all.iter().any(|d| d.modules.is_some()).then_some(merged)
}

/// Pools are configured alike on every node: per type, the most any node has.
fn pools(all: &[Deployment]) -> Option<Vec<String>> {
    let mut most: BTreeMap<&str, usize> = BTreeMap::new();
    for pools in all.iter().filter_map(|d| d.outgoing_pools.as_ref()) {
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
        .any(|d| d.outgoing_pools.is_some())
        .then(|| most.into_iter().flat_map(|(kind, n)| std::iter::repeat_n(kind.to_owned(), n)).collect())
}

fn stanzas(all: &[Deployment]) -> Option<StanzaTotals> {
    let mut totals = StanzaTotals::new();
    for counts in all.iter().filter_map(|d| d.stanza_counts.as_ref()) {
        for (kind, n) in counts {
            *totals.entry(kind.clone()).or_default() += n;
        }
    }
    all.iter().any(|d| d.stanza_counts.is_some()).then_some(totals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Cluster, Listener, Module, ModuleOptions};
    use crate::value::Value;

    fn node(uptime: u64, version: &str, components: u64, messages: u64) -> Facts {
        let deployment = Deployment {
            uptime_ms: Some(uptime),
            version: Some(version.to_owned()),
            node_count: Some(1),
            host_type_count: Some(2),
            domain_count: Some(5),
            components: Some(components),
            outgoing_pools: Some(vec!["rdbms".into(), "rdbms".into(), "http".into()]),
            stanza_counts: Some([("xmppMessageSent".to_owned(), messages)].into()),
            listeners: Some(vec![Listener { proto: "tcp".into(), ..Listener::default() }]),
            ..Deployment::default()
        };
        Facts { deployment, ..Facts::default() }
    }

    fn with_members(local: Facts, members: Vec<Facts>, unreachable: u64) -> Facts {
        Facts { cluster: Some(Cluster { members, unreachable }), ..local }
    }

    #[test]
    fn facts_without_a_cluster_are_unchanged_but_for_the_stanzas_by_node() {
        let facts = node(1, "6.8.0", 1, 1);
        let merged = merge(facts.clone());
        assert_eq!(merged.stanza_by_node, [(String::new(), facts.deployment.stanza_counts.clone().unwrap())]);
        let unchanged =
            ClusterFacts { deployment: facts.deployment, unreachable_nodes: 0, stanza_by_node: vec![] };
        assert_eq!(ClusterFacts { stanza_by_node: vec![], ..merged }, unchanged);
    }

    #[test]
    fn counters_add_up_shared_facts_count_once_uptime_is_the_longest() {
        let merged = merge(with_members(
            node(1000, "6.8.0", 1, 10),
            vec![node(5000, "6.8.0", 2, 20), node(3000, "6.8.0", 0, 5)],
            1,
        ));
        assert_eq!(merged.deployment.uptime_ms, Some(5000));
        assert_eq!(merged.deployment.components, Some(3));
        assert_eq!(merged.deployment.stanza_counts.unwrap()["xmppMessageSent"], 35);
        assert_eq!((merged.deployment.host_type_count, merged.deployment.domain_count), (Some(2), Some(5)));
        assert_eq!(
            merged.deployment.outgoing_pools.unwrap(),
            ["http", "rdbms", "rdbms"],
            "pools per type, not per node"
        );
        assert_eq!(merged.deployment.node_count, Some(4), "three that answered and one that did not");
        assert_eq!(merged.unreachable_nodes, 1);
        assert_eq!(merged.deployment.version.as_deref(), Some("6.8.0"));
        assert_eq!(merged.deployment.listeners.unwrap().len(), 3);
    }

    #[test]
    fn a_rolling_upgrade_lists_both_versions() {
        let merged = merge(with_members(
            node(1, "6.7.0", 0, 0),
            vec![node(1, "6.8.0", 0, 0), node(1, "6.7.0", 0, 0)],
            0,
        ));
        assert_eq!(merged.deployment.version.as_deref(), Some("6.7.0,6.8.0"));
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
        let facts = |modules| Facts {
            deployment: Deployment { modules: Some(modules), ..Deployment::default() },
            ..Facts::default()
        };
        let a = facts(vec![host("h1", &["mod_ping", "mod_vcard"])]);
        let b = facts(vec![host("h1", &["mod_vcard", "mod_mam"]), host("h2", &["mod_ping"])]);
        let merged = merge(with_members(a, vec![b], 0)).deployment.modules.unwrap();
        let names = |h: &HostTypeModules| h.modules.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
        assert_eq!(merged.len(), 2);
        assert_eq!(names(&merged[0]), ["mod_ping", "mod_vcard", "mod_mam"]);
        assert_eq!(names(&merged[1]), ["mod_ping"]);
    }
}
