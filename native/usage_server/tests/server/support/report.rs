//! Reports as the reporting service sends them: the events of a MongooseIM cluster, in
//! its order, posted as GA4 requests of at most 25 events one after another.

use serde_json::{json, Value};

use super::{Server, GA4_ID, GA4_SECRET};

/// The path the service posts to, with the test stream's id and secret.
pub fn collect_path() -> String {
    format!("/mp/collect?measurement_id={GA4_ID}&api_secret={GA4_SECRET}")
}

/// `{"client_id", "events"}` bodies of at most 25 events each, as the service splits them.
pub fn bodies(client_id: &str, events: &[Value]) -> Vec<String> {
    events.chunks(25).map(|chunk| json!({"client_id": client_id, "events": chunk}).to_string()).collect()
}

/// Posts a report request by request, each acknowledged with 204 before the next.
pub fn post(server: &Server, client_id: &str, events: &[Value]) {
    for body in bodies(client_id, events) {
        let answer = server.post(&collect_path(), "application/json", body.as_bytes());
        assert_eq!(answer.status, 204, "{}", answer.text());
    }
}

fn event(name: &str, params: Value) -> Value {
    json!({"name": name, "params": params})
}

/// The modules of cluster A: module and backend, with the options some send.
pub const MODULES_A: [(&str, Option<&str>); 31] = [
    ("mod_adhoc", None),
    ("mod_amp", None),
    ("mod_auth_token", Some("rdbms")),
    ("mod_bind2", None),
    ("mod_blocking", None),
    ("mod_bosh", Some("mnesia")),
    ("mod_caps", None),
    ("mod_carboncopy", None),
    ("mod_csi", None),
    ("mod_disco", None),
    ("mod_event_pusher", Some("push")),
    ("mod_event_pusher", Some("sns")),
    ("mod_extdisco", None),
    ("mod_http_upload", Some("s3")),
    ("mod_inbox", Some("rdbms")),
    ("mod_last", Some("rdbms")),
    ("mod_mam", Some("rdbms")),
    ("mod_muc", Some("rdbms")),
    ("mod_muc_light", Some("rdbms")),
    ("mod_offline", Some("rdbms")),
    ("mod_ping", None),
    ("mod_privacy", Some("rdbms")),
    ("mod_private", Some("rdbms")),
    ("mod_pubsub", Some("rdbms")),
    ("mod_push_service_mongoosepush", None),
    ("mod_register", None),
    ("mod_roster", Some("rdbms")),
    ("mod_sic", None),
    ("mod_smart_markers", Some("rdbms")),
    ("mod_stream_management", Some("cets")),
    ("mod_vcard", Some("rdbms")),
];

/// The modules of cluster B.
pub const MODULES_B: [(&str, Option<&str>); 3] =
    [("mod_mam", Some("rdbms")), ("mod_ping", None), ("mod_roster", Some("rdbms"))];

fn module_event(module: &str, backend: Option<&str>) -> Value {
    let mut params = json!({"module": module});
    if let Some(backend) = backend {
        params["backend"] = json!(backend);
    }
    match module {
        "mod_muc" => params["online_backend"] = json!("cets"),
        "mod_push_service_mongoosepush" => params["api_version"] = json!("v3"),
        _ => {}
    }
    event("module_with_opt", params)
}

fn stanzas(counts: &[(&str, u64, u64)]) -> Vec<Value> {
    counts
        .iter()
        .map(|(kind, total, increment)| {
            event("xmpp_stanza_count", json!({"stanza_type": kind, "total": total, "increment": increment}))
        })
        .collect()
}

/// Cluster A's first report: 8 events, release 6.2.0 on two nodes.
pub fn cluster_a_first() -> Vec<Value> {
    let mut events = vec![
        event("host_count", json!({"value": 1})),
        event("domain_count", json!({"value": 1})),
        module_event("mod_ping", None),
        event("custom_module_count", json!({"value": 0})),
        event(
            "cluster",
            json!({"uptime": "0000-01:00:00", "version": "6.2.0", "component": 0, "node_number": 2, "config_type": "toml"}),
        ),
        event("http_api", json!({})),
        event("transport_mechanism", json!({"tcp": "enabled"})),
    ];
    events.extend(stanzas(&[("message", 7, 7)]));
    events
}

/// Cluster A's report after its upgrade: 42 events (two requests), 6.8.0 on three nodes.
pub fn cluster_a_second() -> Vec<Value> {
    let mut events =
        vec![event("host_count", json!({"value": 2})), event("domain_count", json!({"value": 3}))];
    events.extend(MODULES_A.iter().map(|(module, backend)| module_event(module, *backend)));
    events.extend([
        event("custom_module_count", json!({"value": 1})),
        event(
            "cluster",
            json!({"uptime": "0000-05:00:00", "version": "6.8.0", "component": 0, "node_number": 3, "config_type": "toml"}),
        ),
        event("http_api", json!({"mongoose_admin_api": "enabled", "mongoose_graphql_handler": "enabled"})),
        event("transport_mechanism", json!({"mod_bosh": "enabled", "mod_websockets": "enabled", "tcp": "enabled"})),
        event("tls_option", json!({"mode": "starttls", "module": "just_tls"})),
        event("outgoing_pool", json!({"value": "rdbms"})),
    ]);
    events.extend(stanzas(&[("message", 107, 40), ("iq", 50, 20), ("presence", 30, 10)]));
    events
}

/// Cluster B's one report: 10 events, 6.8.0 on one node.
pub fn cluster_b() -> Vec<Value> {
    let mut events =
        vec![event("host_count", json!({"value": 1})), event("domain_count", json!({"value": 1}))];
    events.extend(MODULES_B.iter().map(|(module, backend)| module_event(module, *backend)));
    events.extend([
        event("custom_module_count", json!({"value": 0})),
        event(
            "cluster",
            json!({"uptime": "0002-00:00:00", "version": "6.8.0", "component": 1, "node_number": 1}),
        ),
        event("http_api", json!({})),
        event("transport_mechanism", json!({"tcp": "enabled"})),
    ]);
    events.extend(stanzas(&[("message", 5, 5)]));
    events
}

/// Cluster C, on an old release: UA hits to `/batch`.
pub const CLUSTER_C_BATCH: &str = "v=1&tid=UA-1-1&cid=cluster-c&t=event&ec=hosts&ea=count&el=1\n\
     v=1&tid=UA-1-1&cid=cluster-c&t=event&ec=cluster&ea=mim_version&el=5.1.0";
