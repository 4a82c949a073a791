//! The privacy property: whatever private strings a node's facts hold (custom module
//! names, host types, option values such as hosts, passwords and secrets, listener and
//! handler names, pool types, paths, version suffixes, API secrets), none of them
//! appears in any byte of a request body, the report or the report file.

use mongoose_system_metrics_core::aggregate;
use mongoose_system_metrics_core::config::from_start_argument;
use mongoose_system_metrics_core::delivery;
use mongoose_system_metrics_core::encoded::EncodedEvents;
use mongoose_system_metrics_core::events::{self, StanzaBaseline};
use mongoose_system_metrics_core::facts;
use mongoose_system_metrics_core::ga4;
use mongoose_system_metrics_core::known;
use mongoose_system_metrics_core::report::Report;
use mongoose_system_metrics_core::value::Value;
use proptest::prelude::*;
use std::path::Path;

/// A private token: the marker "xq" (in no name the report may carry) and ten letters.
fn token() -> impl Strategy<Value = String> {
    "[a-z]{10}".prop_map(|t| format!("xq{t}"))
}

fn atom(name: &str) -> Value {
    Value::atom(name)
}

fn pair(key: &str, value: Value) -> (Value, Value) {
    (atom(key), value)
}

/// Options of a module holding private values, as a map or a proplist.
fn module_opts(t: Vec<String>, as_list: bool) -> Value {
    let pairs = vec![
        pair("backend", atom(&t[0])),
        pair("host", Value::binary(&format!("{}.example.com", t[1]))),
        pair("password", Value::charlist(&t[2])),
        pair("online_backend", Value::binary(&t[3])),
        pair("api_version", atom(&t[4])),
        pair("nested", Value::Map(vec![pair("secret", Value::binary(&t[5]))])),
    ];
    if as_list {
        Value::List(pairs.into_iter().map(|(k, v)| Value::Tuple(vec![k, v])).collect())
    } else {
        Value::Map(pairs)
    }
}

prop_compose! {
    fn private_facts()(
        tokens in proptest::collection::vec(token(), 24),
        known_index in 0..known::MODULES.len(),
        as_list in any::<bool>(),
        host_types in 1usize..5,
    ) -> (Value, Vec<String>) {
        let t = |i: usize| tokens[i].clone();
        let known_module = known::MODULES[known_index];
        let modules: Vec<(Value, Value)> = (0..host_types)
            .map(|h| {
                let host_type = Value::binary(&format!("{}{h}", t(6)));
                let mods = Value::Map(vec![
                    (atom(known_module), module_opts(tokens[0..6].to_vec(), as_list)),
                    (atom(&format!("mod_{}", t(7))), module_opts(tokens[8..14].to_vec(), !as_list)),
                    (atom(&t(14)), Value::List(vec![])),
                ]);
                (host_type, mods)
            })
            .collect();
        let listener = Value::Map(vec![
            pair("module", atom(&t(15))),
            pair("proto", atom("tcp")),
            pair("tls_mode", atom(&t(16))),
            pair("tls_module", atom(&t(17))),
            pair("handlers", Value::List(vec![atom(&t(18)), atom("mongoose_graphql_handler")])),
        ]);
        let facts = Value::Map(vec![
            pair("uptime_ms", Value::Integer(123_456)),
            pair("version", Value::charlist(&format!("6.8.0-{}", t(19)))),
            pair("node_count", Value::Integer(2)),
            pair("host_types", Value::List((0..host_types).map(|h| Value::binary(&format!("{}{h}", t(6)))).collect())),
            pair("domain_count", Value::Integer(3)),
            pair("modules", Value::Map(modules)),
            pair("listeners", Value::List(vec![listener])),
            pair("outgoing_pools", Value::List(vec![atom(&t(20)), atom("rdbms")])),
            pair("components", Value::Integer(1)),
            pair("config_file", Value::binary(&format!("/etc/{}/mongooseim.toml", t(21)))),
            pair("node", Value::binary(&format!("mongooseim@{}", t(22)))),
            pair("stanza_counts", Value::Map(vec![pair("xmppMessageSent", Value::Integer(4))])),
        ]);
        (facts, tokens)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn no_private_value_leaves_the_node((facts_value, tokens) in private_facts(), secret in token()) {
        let facts = facts::parse(&facts_value).expect("well-formed facts");
        let facts = aggregate::merge(facts);
        let built = EncodedEvents::new(events::build(&facts, &StanzaBaseline::new()));
        let bodies = ga4::request_bodies("0b4c4c55-8f5a-4e0e-9d6c-1f0f4a6c9b3e", built.json());
        let tracking = Value::Map(vec![pair("id", Value::binary("G-PROPERTY1")), pair("secret", Value::binary(&secret))]);
        let argument = Value::Map(vec![pair("options", Value::Map(vec![pair("tracking_id", tracking)]))]);
        let config = from_start_argument(&argument, Path::new("/srv")).expect("valid options");
        let (outcomes, requests) = delivery::planned(&config.destinations, "cid", &built);
        let mut report = Report::new(mongoose_system_metrics_core::mode::Mode::On, "cid", built.clone(), vec![], outcomes);
        report.requests = Some(requests);
        let mut everything = report.file_bytes();
        for body in &bodies {
            everything.extend_from_slice(body);
        }
        let text = String::from_utf8(everything).expect("UTF-8 output");
        prop_assert!(!text.contains("xq"), "a private token leaked: {}", text);
        for token in tokens.iter().chain([&secret]) {
            prop_assert!(!text.contains(token.as_str()));
        }
        // The known module is still reported, with nothing but its name.
        prop_assert!(text.contains("module_with_opt"));
    }
}
