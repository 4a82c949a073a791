use super::*;

fn facts(pairs: Vec<(&str, Value)>) -> Result<Facts, FactsError> {
    parse(&Value::Map(pairs.into_iter().map(|(k, v)| (Value::atom(k), v)).collect()))
}

#[test]
fn empty_facts_are_fine() {
    assert_eq!(facts(vec![]).unwrap(), Facts::default());
}

#[test]
fn typed_facts_are_read() {
    let modules = Value::Map(vec![(
        Value::binary("localhost"),
        Value::Map(vec![(
            Value::atom("mod_vcard"),
            Value::Map(vec![(Value::atom("backend"), Value::atom("rdbms"))]),
        )]),
    )]);
    let listener = Value::Map(vec![
        (Value::atom("module"), Value::atom("mongoose_c2s_listener")),
        (Value::atom("proto"), Value::atom("tcp")),
        (Value::atom("tls_mode"), Value::atom("starttls")),
    ]);
    let f = facts(vec![
        ("uptime_ms", Value::Integer(1000)),
        ("version", Value::charlist("6.8.0")),
        ("node_count", Value::Integer(3)),
        ("host_types", Value::List(vec![Value::binary("a"), Value::binary("b")])),
        ("modules", modules),
        ("listeners", Value::List(vec![listener])),
        ("outgoing_pools", Value::List(vec![Value::atom("rdbms")])),
        ("config_file", Value::charlist("/etc/mongooseim.toml")),
    ])
    .unwrap();
    assert_eq!(f.deployment.uptime_ms, Some(1000));
    assert_eq!(f.deployment.version.as_deref(), Some("6.8.0"));
    assert_eq!(f.deployment.host_type_count, Some(2));
    let vcard = &f.deployment.modules.unwrap()[0].modules[0];
    assert_eq!(vcard.name, "mod_vcard");
    assert_eq!(vcard.options.backend, ["rdbms"]);
    let l = &f.deployment.listeners.unwrap()[0];
    assert_eq!((l.proto.as_str(), l.tls_mode.as_deref()), ("tcp", Some("starttls")));
    assert_eq!(f.deployment.outgoing_pools.unwrap(), ["rdbms"]);
}

#[test]
fn leniently_a_bad_fact_is_left_out_and_named_and_the_rest_kept() {
    let value = Value::Map(vec![
        (Value::atom("uptime_ms"), Value::Integer(5)),
        (Value::atom("node_count"), Value::Integer(0)),
        (Value::atom("colour"), Value::atom("blue")),
        (
            Value::atom("cluster"),
            Value::Map(vec![
                (
                    Value::atom("members"),
                    Value::List(vec![Value::Map(vec![
                        (Value::atom("components"), Value::Integer(2)),
                        (Value::atom("version"), Value::Integer(7)),
                    ])]),
                ),
                (Value::atom("unreachable"), Value::Integer(0)),
            ]),
        ),
    ]);
    let (facts, dropped) = parse_lenient(&value).unwrap();
    assert_eq!((facts.deployment.uptime_ms, facts.deployment.node_count), (Some(5), None));
    assert_eq!(facts.cluster.unwrap().members[0].deployment.components, Some(2));
    let names: Vec<&str> = dropped.iter().map(|e| e.fact.as_str()).collect();
    assert_eq!(names, ["node_count", "colour", "version"]);
    assert!(dropped[2].message.starts_with("member 0: fact version = 7"));
    assert!(parse(&value).is_err(), "the strict reading refuses the same facts");
    assert!(parse_lenient(&Value::List(vec![])).is_err());
}

#[test]
fn bad_facts_are_named() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("uptime_ms", Value::Integer(-5), "fact uptime_ms = -5: expected a non-negative integer"),
        (
            "modules",
            Value::List(vec![Value::binary("password=hunter2")]),
            "fact modules = a list of 1 elements",
        ),
        ("node_count", Value::Integer(0), "fact node_count = 0: expected a positive integer"),
        ("host_types", Value::Integer(1), "expected a list of host types"),
        ("modules", Value::List(vec![]), "expected #{HostType => #{Module => Opts}}"),
        ("listeners", Value::List(vec![Value::Map(vec![])]), "proto is missing"),
        ("outgoing_pools", Value::List(vec![Value::Integer(1)]), "pool types"),
        ("config_file", Value::Integer(1), "file path"),
        ("stanza_counts", Value::Map(vec![(Value::atom("xmppChatter"), Value::Integer(1))]), "stanza types"),
        ("stanza_counts", Value::Map(vec![(Value::atom("xmppIqSent"), Value::Integer(-1))]), "Total"),
        ("colour", Value::Integer(1), "unknown fact colour"),
    ];
    for (name, value, words) in cases {
        let err = facts(vec![(name, value)]).unwrap_err();
        assert_eq!(err.fact, name);
        assert!(err.message.contains(words), "{}", err.message);
    }
    assert!(parse(&Value::List(vec![])).is_err());
}

#[test]
fn odd_module_options_never_cost_the_modules_fact() {
    let mut deep = Value::atom("rdbms");
    for _ in 0..200 {
        deep = Value::List(vec![Value::Tuple(vec![Value::atom("backend"), deep])]);
    }
    let modules = Value::Map(vec![(
        Value::binary("localhost"),
        Value::Map(vec![
            (Value::atom("mod_ping"), Value::Other(crate::value::IMPROPER_LIST)),
            (Value::atom("mod_mam"), Value::Map(vec![(Value::binary("backend"), Value::atom("rdbms"))])),
            (Value::atom("mod_muc"), deep),
            (
                Value::atom("mod_vcard"),
                Value::List(vec![
                    Value::Other(crate::value::TOO_DEEP),
                    Value::Tuple(vec![Value::atom("backend"), Value::charlist("ldap")]),
                ]),
            ),
        ]),
    )]);
    let host_type = facts(vec![("modules", modules)]).unwrap().deployment.modules.unwrap().remove(0);
    let options: Vec<(&str, &ModuleOptions)> =
        host_type.modules.iter().map(|m| (m.name.as_str(), &m.options)).collect();
    let ldap = ModuleOptions { backend: vec!["ldap".into()], ..ModuleOptions::default() };
    let none = ModuleOptions::default();
    assert_eq!(options, [("mod_ping", &none), ("mod_mam", &none), ("mod_muc", &none), ("mod_vcard", &ldap)]);
}
