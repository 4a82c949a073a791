//! The names that may leave a node: modules, HTTP APIs, backends and pool types that ship
//! with open-source MongooseIM. Anything not listed here is counted, never named.
//!
//! The module list is MongooseIM 6.x's `gen_mod` implementations (`src/**/mod_*.erl`),
//! including those that do not declare the `mongoose_module_metrics` behaviour, which the
//! original service wrongly counted as custom.

/// Open-source MongooseIM modules (`gen_mod` implementations), sorted.
pub const MODULES: &[&str] = &[
    "mod_adhoc",
    "mod_amp",
    "mod_auth_token",
    "mod_bind2",
    "mod_blocking",
    "mod_blocklist",
    "mod_bosh",
    "mod_broadcast",
    "mod_cache_users",
    "mod_caps",
    "mod_carboncopy",
    "mod_csi",
    "mod_disco",
    "mod_domain_isolation",
    "mod_event_pusher",
    "mod_event_pusher_http",
    "mod_event_pusher_push",
    "mod_event_pusher_rabbit",
    "mod_event_pusher_sns",
    "mod_extdisco",
    "mod_external_filter",
    "mod_fast_auth_token",
    "mod_global_distrib",
    "mod_global_distrib_bounce",
    "mod_global_distrib_disco",
    "mod_global_distrib_hosts_refresher",
    "mod_global_distrib_mapping",
    "mod_global_distrib_receiver",
    "mod_global_distrib_utils",
    "mod_http_upload",
    "mod_inbox",
    "mod_jingle_sip",
    "mod_keystore",
    "mod_last",
    "mod_mam",
    "mod_mam_cache_user",
    "mod_mam_cassandra_arch",
    "mod_mam_cassandra_prefs",
    "mod_mam_elasticsearch_arch",
    "mod_mam_mnesia_prefs",
    "mod_mam_muc",
    "mod_mam_muc_cassandra_arch",
    "mod_mam_muc_elasticsearch_arch",
    "mod_mam_muc_rdbms_arch",
    "mod_mam_muc_rdbms_arch_async",
    "mod_mam_pm",
    "mod_mam_rdbms_arch",
    "mod_mam_rdbms_arch_async",
    "mod_mam_rdbms_prefs",
    "mod_mam_rdbms_user",
    "mod_mam_riak_timed_arch_yz",
    "mod_muc",
    "mod_muc_light",
    "mod_muc_light_cache",
    "mod_muc_log",
    "mod_offline",
    "mod_offline_chatmarkers",
    "mod_offline_stub",
    "mod_ping",
    "mod_presence",
    "mod_privacy",
    "mod_private",
    "mod_pubsub",
    "mod_pubsub_old",
    "mod_push_service_mongoosepush",
    "mod_register",
    "mod_roster",
    "mod_sasl2",
    "mod_shared_roster_ldap",
    "mod_sic",
    "mod_smart_markers",
    "mod_stanzaid",
    "mod_stream_management",
    "mod_time",
    "mod_vcard",
    "mod_version",
    "mod_websockets",
];

/// HTTP handlers that MongooseIM up to 6.5 reports in `http_api`, as its collector
/// allows them (`mongoose_system_metrics_collector:filter_unknown_api/1`).
pub const HTTP_APIS_UP_TO_6_5: &[&str] =
    &["mod_bosh", "mod_websockets", "mongoose_admin_api", "mongoose_client_api"];

/// HTTP handlers that MongooseIM 6.6 and later reports in `http_api`: its REST APIs were
/// gone and BOSH and WebSockets had new handler modules.
pub const HTTP_APIS_FROM_6_6: &[&str] =
    &["mongoose_bosh_handler", "mongoose_graphql_handler", "mongoose_websocket_handler"];

/// HTTP handlers that are client transports, reported in `transport_mechanism` under
/// their own names (the first two up to 6.5, the others from 6.6).
pub const HTTP_TRANSPORTS: &[&str] =
    &["mod_bosh", "mod_websockets", "mongoose_bosh_handler", "mongoose_websocket_handler"];

/// Values of `backend`, `online_backend` and similar options that may be reported.
pub const BACKENDS: &[&str] = &[
    "cassandra",
    "cets",
    "elasticsearch",
    "http",
    "ldap",
    "mnesia",
    "push",
    "rabbit",
    "rdbms",
    "rdbms_async",
    "redis",
    "riak",
    "s3",
    "sns",
];

/// Values of `api_version` (mod_push_service_mongoosepush).
pub const API_VERSIONS: &[&str] = &["v2", "v3"];

/// Outgoing pool types of the open-source product.
pub const POOL_TYPES: &[&str] = &["cassandra", "elastic", "http", "ldap", "rabbit", "rdbms", "redis"];

/// Stanza counters, in the order their events are sent: "Sent" counts what clients
/// send to the server, "Received" what the server delivers to them.
pub const STANZA_TYPES: [&str; 6] = [
    "xmppMessageSent",
    "xmppMessageReceived",
    "xmppIqSent",
    "xmppIqReceived",
    "xmppPresenceSent",
    "xmppPresenceReceived",
];

/// Whether `name` appears in the sorted list `list`.
pub fn contains(list: &[&str], name: &str) -> bool {
    list.binary_search(&name).is_ok()
}

/// `name` as it is spelt in the sorted list `list`, when it appears there.
pub fn find(list: &[&'static str], name: &str) -> Option<&'static str> {
    list.binary_search(&name).ok().map(|i| list[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_and_unique_so_binary_search_works() {
        for list in [
            MODULES,
            HTTP_APIS_UP_TO_6_5,
            HTTP_APIS_FROM_6_6,
            HTTP_TRANSPORTS,
            BACKENDS,
            API_VERSIONS,
            POOL_TYPES,
        ] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
        }
    }

    /// The `gen_mod` modules of MongooseIM 6.8.0's `src/` tree (`-behaviour(gen_mod)`),
    /// less the test helper `mod_dynamic_domains_test`. Update with each release.
    const MONGOOSEIM_6_8_GEN_MODS: &[&str] = &[
        "mod_adhoc",
        "mod_amp",
        "mod_auth_token",
        "mod_bind2",
        "mod_blocking",
        "mod_blocklist",
        "mod_broadcast",
        "mod_cache_users",
        "mod_caps",
        "mod_carboncopy",
        "mod_csi",
        "mod_disco",
        "mod_domain_isolation",
        "mod_event_pusher",
        "mod_event_pusher_http",
        "mod_event_pusher_push",
        "mod_event_pusher_rabbit",
        "mod_event_pusher_sns",
        "mod_extdisco",
        "mod_external_filter",
        "mod_fast_auth_token",
        "mod_global_distrib",
        "mod_global_distrib_bounce",
        "mod_global_distrib_disco",
        "mod_global_distrib_hosts_refresher",
        "mod_global_distrib_mapping",
        "mod_global_distrib_receiver",
        "mod_global_distrib_utils",
        "mod_http_upload",
        "mod_inbox",
        "mod_keystore",
        "mod_last",
        "mod_mam",
        "mod_mam_cache_user",
        "mod_mam_cassandra_arch",
        "mod_mam_cassandra_prefs",
        "mod_mam_elasticsearch_arch",
        "mod_mam_mnesia_prefs",
        "mod_mam_muc",
        "mod_mam_muc_cassandra_arch",
        "mod_mam_muc_elasticsearch_arch",
        "mod_mam_muc_rdbms_arch",
        "mod_mam_muc_rdbms_arch_async",
        "mod_mam_pm",
        "mod_mam_rdbms_arch",
        "mod_mam_rdbms_arch_async",
        "mod_mam_rdbms_prefs",
        "mod_mam_rdbms_user",
        "mod_mam_riak_timed_arch_yz",
        "mod_muc",
        "mod_muc_light",
        "mod_muc_light_cache",
        "mod_offline",
        "mod_offline_chatmarkers",
        "mod_offline_stub",
        "mod_ping",
        "mod_presence",
        "mod_privacy",
        "mod_private",
        "mod_pubsub",
        "mod_pubsub_old",
        "mod_push_service_mongoosepush",
        "mod_register",
        "mod_roster",
        "mod_sasl2",
        "mod_shared_roster_ldap",
        "mod_sic",
        "mod_smart_markers",
        "mod_stanzaid",
        "mod_stream_management",
        "mod_time",
        "mod_vcard",
        "mod_version",
    ];

    /// Open-source modules of earlier MongooseIM releases, kept for nodes that still run them.
    const EARLIER_MODULES: &[&str] =
        &["mod_bosh", "mod_jingle_sip", "mod_mam_riak_timed_arch_yz", "mod_muc_log", "mod_websockets"];

    #[test]
    fn modules_cover_mongooseim_6_8_and_nothing_else() {
        for module in MONGOOSEIM_6_8_GEN_MODS {
            assert!(contains(MODULES, module), "{module} of MongooseIM 6.8 is missing");
        }
        for module in MODULES {
            assert!(
                MONGOOSEIM_6_8_GEN_MODS.contains(module) || EARLIER_MODULES.contains(module),
                "{module} is not an open-source MongooseIM module"
            );
        }
        assert!(!contains(MODULES, "mod_dynamic_domains_test"), "a test helper is not a feature");
    }

    /// The allowlists of MongooseIM's collector, as its source has them:
    /// `src/system_metrics/mongoose_system_metrics_collector.erl`, `filter_unknown_api/1`
    /// (the same in 6.0.0 to 6.5.0, and in 6.6.0 to 6.8.0) and `get_transport_mechanisms/0`.
    #[test]
    fn http_lists_are_mongooseims() {
        assert_eq!(
            HTTP_APIS_UP_TO_6_5,
            ["mod_bosh", "mod_websockets", "mongoose_admin_api", "mongoose_client_api"]
        );
        assert_eq!(
            HTTP_APIS_FROM_6_6,
            ["mongoose_bosh_handler", "mongoose_graphql_handler", "mongoose_websocket_handler"]
        );
        for transport in HTTP_TRANSPORTS {
            assert!(contains(HTTP_APIS_UP_TO_6_5, transport) || contains(HTTP_APIS_FROM_6_6, transport));
        }
    }

    #[test]
    fn lookup_is_exact() {
        assert!(contains(MODULES, "mod_vcard"));
        assert!(!contains(MODULES, "mod_vcard_custom"));
        assert!(!contains(MODULES, "MOD_VCARD"));
        assert!(contains(HTTP_APIS_FROM_6_6, "mongoose_graphql_handler"));
    }
}
