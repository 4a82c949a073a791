//! The `cluster` event: uptime, release numbers, sizes, and the configuration file's type.

use std::borrow::Cow;

use super::version::clean_versions;
use super::{Event, Param, Params};
use crate::aggregate::ClusterFacts;

/// What is known of the cluster as a whole, in one event; none when nothing is.
pub(super) fn event(facts: &ClusterFacts) -> Option<Event> {
    let deployment = &facts.deployment;
    let mut params = Params::default();
    if let Some(ms) = deployment.uptime_ms {
        params.insert(Cow::Borrowed("uptime"), format_uptime(ms).into());
    }
    if let Some(version) = deployment.version.as_deref().and_then(clean_versions) {
        params.insert(Cow::Borrowed("version"), version.into());
    }
    if let Some(n) = deployment.components {
        params.insert(Cow::Borrowed("component"), Param::Int(n));
    }
    if let Some(n) = deployment.node_count {
        params.insert(Cow::Borrowed("node_number"), Param::Int(n));
    }
    if facts.unreachable_nodes > 0 {
        params.insert(Cow::Borrowed("unreachable_nodes"), Param::Int(facts.unreachable_nodes));
    }
    if let Some(path) = &deployment.config_file {
        params.insert(Cow::Borrowed("config_type"), config_type(path).into());
    }
    (!params.is_empty()).then_some(Event { name: Cow::Borrowed("cluster"), params })
}

/// `DDDD-HH:MM:SS`, days zero-padded to four digits, as MongooseIM formats uptime.
pub fn format_uptime(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:04}-{:02}:{:02}:{:02}", s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60)
}

/// `toml`, `cfg` or `unknown_config_type`, from the file's extension; the path stays here.
pub fn config_type(path: &str) -> &'static str {
    match std::path::Path::new(path).extension().and_then(|e| e.to_str()) {
        Some("toml") => "toml",
        Some("cfg") => "cfg",
        _ => "unknown_config_type",
    }
}
