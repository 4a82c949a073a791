use super::*;
use crate::aggregate::merge;
use crate::facts::{Deployment, Facts, HostTypeModules, Listener, Module, ModuleOptions};
use crate::value::Value;

/// A first report: no stanza totals before it.
fn build(facts: &Facts) -> Vec<Event> {
    super::build(&merge(facts.clone()), &StanzaBaseline::new())
}

fn names(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| &*e.name).collect()
}

fn param<'a>(event: &'a Event, key: &str) -> Option<&'a Param> {
    event.params.get(key)
}

fn opts(pairs: &[(&str, Value)]) -> Value {
    Value::Map(pairs.iter().map(|(k, v)| (Value::atom(k), v.clone())).collect())
}

/// A module with its options as the facts would give them.
fn module(name: &str, opts: Value) -> Module {
    Module { name: name.into(), options: ModuleOptions::parse(&opts) }
}

#[test]
fn uptime_is_days_hours_minutes_seconds() {
    assert_eq!(format_uptime(0), "0000-00:00:00");
    assert_eq!(format_uptime(300_000), "0000-00:05:00");
    assert_eq!(format_uptime(((2 * 86_400) + (3 * 3600) + (4 * 60) + 5) * 1000 + 999), "0002-03:04:05");
    assert_eq!(format_uptime(10_000 * 86_400_000), "10000-00:00:00");
}

#[test]
fn config_type_comes_from_the_extension() {
    assert_eq!(config_type("/etc/mongooseim/mongooseim.toml"), "toml");
    assert_eq!(config_type("mongooseim.cfg"), "cfg");
    assert_eq!(config_type("/etc/secret-host.example.com/conf"), "unknown_config_type");
}

#[test]
fn no_facts_no_events() {
    assert!(build(&Facts::default()).is_empty());
}

#[test]
fn cluster_event_merges_what_is_known() {
    let facts = Facts {
        deployment: Deployment {
            uptime_ms: Some(61_000),
            version: Some("6.8.0".into()),
            node_count: Some(2),
            components: Some(1),
            config_file: Some("/etc/mongooseim.toml".into()),
            ..Deployment::default()
        },
        ..Facts::default()
    };
    let events = build(&facts);
    assert_eq!(names(&events), ["cluster"]);
    let c = &events[0];
    assert_eq!(param(c, "uptime"), Some(&Param::from("0000-00:01:01")));
    assert_eq!(param(c, "version"), Some(&Param::from("6.8.0")));
    assert_eq!(param(c, "node_number"), Some(&Param::Int(2)));
    assert_eq!(param(c, "component"), Some(&Param::Int(1)));
    assert_eq!(param(c, "config_type"), Some(&Param::from("toml")));
}

#[test]
fn only_the_release_number_of_a_version_is_sent() {
    let sent = |v: &str| {
        let events = build(&Facts {
            deployment: Deployment { version: Some(v.into()), ..Deployment::default() },
            ..Facts::default()
        });
        events.first().and_then(|e| e.params.get("version").cloned())
    };
    assert_eq!(sent("6.8.0"), Some(Param::from("6.8.0")));
    assert_eq!(sent("6.8.0-12-gabc1234"), Some(Param::from("6.8.0")));
    assert_eq!(sent("6.3.0-acme-prod.host.example.com"), Some(Param::from("6.3.0")));
    assert_eq!(sent("v6.1"), Some(Param::from("6.1")));
    assert_eq!(sent("6.7.0-3-gabc,6.8.0,6.7.0"), Some(Param::from("6.7.0,6.8.0")));
    for odd in ["", "acme-6.8", "6..8", "1.2.3.4.5", &"9".repeat(41), "host.example.com"] {
        assert_eq!(sent(odd), None, "{odd:?}");
    }
}

#[test]
fn known_modules_are_named_with_safe_options_and_custom_ones_only_counted() {
    let host_a = HostTypeModules {
        host_type: Value::binary("a.example.com").into(),
        modules: vec![
            module(
                "mod_vcard",
                opts(&[("backend", Value::atom("rdbms")), ("host", Value::binary("vjud.example.com"))]),
            ),
            module(
                "mod_muc",
                opts(&[("backend", Value::atom("mnesia")), ("online_backend", Value::atom("cets"))]),
            ),
            module("mod_secret_sauce", opts(&[])),
            module("mod_mam", opts(&[("backend", Value::atom("my_custom_backend"))])),
        ],
    };
    let host_b = HostTypeModules {
        host_type: Value::binary("b.example.com").into(),
        modules: vec![
            module(
                "mod_push_service_mongoosepush",
                Value::List(vec![Value::Tuple(vec![Value::atom("api_version"), Value::binary("v3")])]),
            ),
            module("mod_secret_sauce", Value::Other("pid")),
            module("mod_other_custom", Value::Other("reference")),
            module("mod_ping", Value::Tuple(vec![Value::Other("pid")])),
        ],
    };
    let facts = Facts {
        deployment: Deployment { modules: Some(vec![host_a, host_b]), ..Deployment::default() },
        ..Facts::default()
    };
    let events = build(&facts);
    let json = serde_json::to_string(&events).unwrap();
    for private in ["mod_secret_sauce", "mod_other_custom", "vjud.example.com", "my_custom_backend"] {
        assert!(!json.contains(private), "{private} leaked: {json}");
    }
    let modules: Vec<_> = events.iter().filter(|e| e.name == "module_with_opt").collect();
    assert_eq!(modules.len(), 5);
    let muc = modules.iter().find(|e| param(e, "module") == Some(&Param::from("mod_muc"))).unwrap();
    assert_eq!(param(muc, "online_backend"), Some(&Param::from("cets")));
    let push = modules
        .iter()
        .find(|e| param(e, "module") == Some(&Param::from("mod_push_service_mongoosepush")))
        .unwrap();
    assert_eq!(param(push, "api_version"), Some(&Param::from("v3")));
    let mam = modules.iter().find(|e| param(e, "module") == Some(&Param::from("mod_mam"))).unwrap();
    assert_eq!(mam.params.len(), 1, "an unknown backend is not reported");
    let custom = events.iter().find(|e| e.name == "custom_module_count").unwrap();
    assert_eq!(param(custom, "value"), Some(&Param::Int(2)), "distinct custom modules");
}

#[test]
fn listeners_give_apis_transports_and_tls_options() {
    let c2s = |tls: Option<&str>| Listener {
        module: Some("mongoose_c2s_listener".into()),
        proto: "tcp".into(),
        tls_mode: tls.map(Into::into),
        ..Listener::default()
    };
    let http = Listener {
        module: Some("ejabberd_cowboy".into()),
        proto: "tcp".into(),
        handlers: vec![
            "mongoose_bosh_handler".into(),
            "mongoose_graphql_handler".into(),
            "mongoose_prometheus_handler".into(),
            "my_private_api".into(),
        ],
        ..Listener::default()
    };
    let s2s = Listener {
        module: Some("mongoose_s2s_listener".into()),
        proto: "tcp".into(),
        tls_mode: Some("tls".into()),
        ..Listener::default()
    };
    let facts = Facts {
        deployment: Deployment {
            version: Some("6.8.0".into()),
            listeners: Some(vec![c2s(Some("starttls")), c2s(Some("tls")), c2s(Some("tls")), http, s2s]),
            ..Deployment::default()
        },
        ..Facts::default()
    };
    let events: Vec<Event> = build(&facts).into_iter().filter(|e| e.name != "cluster").collect();
    assert_eq!(names(&events), ["http_api", "transport_mechanism", "tls_option", "tls_option"]);
    let keys = |e: &Event| e.params.keys().cloned().collect::<Vec<_>>();
    // MongooseIM 6.8.0's collector: the allowlist of filter_unknown_api/1 (no
    // Prometheus handler), the handler modules and `tcp` as transports.
    assert_eq!(keys(&events[0]), ["mongoose_bosh_handler", "mongoose_graphql_handler"]);
    assert_eq!(keys(&events[1]), ["mongoose_bosh_handler", "tcp"]);
    assert_eq!(param(&events[2], "mode"), Some(&Param::from("starttls")));
    assert_eq!(param(&events[3], "mode"), Some(&Param::from("tls")));
    assert_eq!(param(&events[3], "module"), Some(&Param::from("just_tls")));
}

/// MongooseIM 6.3.3, as on a real node of it: `mod_bosh` and `mod_websockets` are the
/// handler modules and its `http_api` allowlist has no GraphQL handler.
#[test]
fn releases_up_to_6_5_have_their_own_handler_names() {
    let http = Listener {
        module: Some("ejabberd_cowboy".into()),
        proto: "tcp".into(),
        handlers: vec!["mod_bosh".into(), "mod_websockets".into(), "mongoose_graphql_handler".into()],
        ..Listener::default()
    };
    let c2s =
        Listener { module: Some("mongoose_c2s_listener".into()), proto: "tcp".into(), ..Listener::default() };
    for version in ["6.3.3", "6.5.0-4-gabc", "6.4.0,6.5.0"] {
        let facts = Facts {
            deployment: Deployment {
                version: Some(version.into()),
                listeners: Some(vec![c2s.clone(), http.clone()]),
                ..Deployment::default()
            },
            ..Facts::default()
        };
        let events = build(&facts);
        let keys = |name: &str| {
            events.iter().find(|e| e.name == name).map(|e| e.params.keys().cloned().collect::<Vec<_>>())
        };
        assert_eq!(keys("http_api").unwrap(), ["mod_bosh", "mod_websockets"], "{version}");
        assert_eq!(keys("transport_mechanism").unwrap(), ["mod_bosh", "mod_websockets", "tcp"], "{version}");
    }
}

#[test]
fn a_plain_tcp_listener_is_the_tcp_transport_and_empty_sets_are_sent_empty() {
    let raw = Listener { proto: "tcp".into(), ..Listener::default() };
    let events = build(&Facts {
        deployment: Deployment { listeners: Some(vec![raw]), ..Deployment::default() },
        ..Facts::default()
    });
    assert_eq!(names(&events), ["http_api", "transport_mechanism"]);
    assert!(events[0].params.is_empty());
    assert_eq!(events[1].params.keys().collect::<Vec<_>>(), ["tcp"]);
    let none = build(&Facts {
        deployment: Deployment { listeners: Some(vec![]), ..Deployment::default() },
        ..Facts::default()
    });
    assert_eq!(names(&none), ["http_api", "transport_mechanism"]);
    assert!(none.iter().all(|e| e.params.is_empty()));
}

#[test]
fn one_event_per_pool_and_unknown_types_are_other() {
    let pools = ["rdbms", "http", "rdbms", "my_pool_type"].map(String::from).to_vec();
    let events = build(&Facts {
        deployment: Deployment { outgoing_pools: Some(pools), ..Deployment::default() },
        ..Facts::default()
    });
    let values: Vec<_> = events.iter().map(|e| e.params.clone()).collect();
    let value = |v: &'static str| Params::from_iter([(Cow::Borrowed("value"), Param::from(v))]);
    assert_eq!(values, [value("rdbms"), value("http"), value("rdbms"), value("other")]);
}

#[test]
fn stanza_counts_have_totals_and_increments_that_never_go_negative() {
    let totals =
        |pairs: &[(&str, u64)]| -> StanzaTotals { pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect() };
    let facts = |pairs: &[(&str, u64)]| Facts {
        deployment: Deployment { stanza_counts: Some(totals(pairs)), ..Deployment::default() },
        ..Facts::default()
    };
    let rows = |events: Vec<Event>| -> Vec<(Param, Param, Param)> {
        events
            .into_iter()
            .map(|e| {
                (e.params["stanza_type"].clone(), e.params["total"].clone(), e.params["increment"].clone())
            })
            .collect()
    };
    let first = build(&facts(&[("xmppIqSent", 5), ("xmppMessageSent", 10)]));
    assert_eq!(
        rows(first),
        [
            (Param::from("xmppMessageSent"), Param::Int(10), Param::Int(10)),
            (Param::from("xmppIqSent"), Param::Int(5), Param::Int(5)),
        ],
        "sent in the fixed order; the first increment is the total"
    );
    let previous: StanzaBaseline =
        [(String::new(), totals(&[("xmppIqSent", 5), ("xmppMessageSent", 10)]))].into();
    let next = super::build(&merge(facts(&[("xmppIqSent", 7), ("xmppMessageSent", 3)])), &previous);
    assert_eq!(
        rows(next),
        [
            (Param::from("xmppMessageSent"), Param::Int(3), Param::Int(3)),
            (Param::from("xmppIqSent"), Param::Int(7), Param::Int(2)),
        ],
        "a reset counter counts from zero"
    );
}

#[test]
fn increments_are_counted_node_by_node() {
    let totals = |n: u64| -> StanzaTotals { [("xmppMessageSent".to_owned(), n)].into() };
    let node = |name: &str, n: u64| Facts {
        node: Some(name.into()),
        deployment: Deployment { stanza_counts: Some(totals(n)), ..Deployment::default() },
        ..Facts::default()
    };
    let previous: StanzaBaseline = [("a".to_owned(), totals(100)), ("b".to_owned(), totals(50))].into();
    // b restarted (its counter fell to 3), c joined with 7, a grew by 10.
    let cluster = Facts {
        cluster: Some(crate::facts::Cluster { members: vec![node("b", 3), node("c", 7)], unreachable: 0 }),
        ..node("a", 110)
    };
    let events = super::build(&merge(cluster), &previous);
    let stanza = events.iter().find(|e| e.name == "xmpp_stanza_count").unwrap();
    assert_eq!(stanza.params["total"], Param::Int(120));
    assert_eq!(stanza.params["increment"], Param::Int(10 + 3 + 7), "never the cluster's whole total");
}

#[test]
fn every_event_pusher_backend_is_kept() {
    let metrics = Value::List(
        ["push", "http", "rabbit", "my_backend"]
            .iter()
            .map(|b| Value::Tuple(vec![Value::atom("backend"), Value::atom(b)]))
            .collect(),
    );
    let facts = Facts {
        deployment: Deployment {
            modules: Some(vec![HostTypeModules {
                host_type: Value::atom("ht").into(),
                modules: vec![module("mod_event_pusher", metrics)],
            }]),
            ..Deployment::default()
        },
        ..Facts::default()
    };
    let backends: Vec<_> = build(&facts)
        .into_iter()
        .filter(|e| e.name == "module_with_opt")
        .map(|e| e.params["backend"].clone())
        .collect();
    assert_eq!(backends, [Param::from("http"), Param::from("push"), Param::from("rabbit")]);
}

#[test]
fn host_and_domain_counts() {
    let events = build(&Facts {
        deployment: Deployment { host_type_count: Some(3), domain_count: Some(7), ..Deployment::default() },
        ..Facts::default()
    });
    assert_eq!(names(&events), ["host_count", "domain_count"]);
    assert_eq!(param(&events[1], "value"), Some(&Param::Int(7)));
}
