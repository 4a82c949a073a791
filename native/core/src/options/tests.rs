use super::*;

pub(super) fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (Value::atom(k), v)).collect())
}

pub(super) fn refused(options: Value) -> String {
    parse(&options).expect_err("should be refused").to_string()
}

#[test]
fn empty_options_give_the_defaults() {
    for empty in [Value::Map(vec![]), Value::List(vec![])] {
        let parsed = parse(&empty).unwrap();
        assert_eq!(parsed.options, Options::default());
        assert!(parsed.warnings.is_empty());
    }
    assert_eq!(DEFAULT_INITIAL_REPORT_MS, 300_000);
    assert_eq!(DEFAULT_PERIODIC_REPORT_MS, 10_800_000);
}

#[test]
fn map_and_proplist_give_the_same_options() {
    let as_map = map(vec![
        ("report", Value::atom("true")),
        ("initial_report", Value::Integer(5000)),
        ("periodic_report", Value::Integer(60_000)),
        ("report_file", Value::charlist("/var/log/mim/r.json")),
    ]);
    let as_list = Value::List(vec![
        Value::atom("report"),
        Value::Tuple(vec![Value::atom("initial_report"), Value::Integer(5000)]),
        Value::Tuple(vec![Value::atom("periodic_report"), Value::Integer(60_000)]),
        Value::Tuple(vec![Value::atom("report_file"), Value::binary("/var/log/mim/r.json")]),
    ]);
    let a = parse(&as_map).unwrap().options;
    assert_eq!(a, parse(&as_list).unwrap().options);
    assert_eq!(a.report, Report::On);
    assert_eq!((a.initial_report_ms, a.periodic_report_ms), (5000, 60_000));
}

#[test]
fn legacy_no_report_flag_turns_reporting_off() {
    let parsed = parse(&Value::List(vec![Value::atom("no_report")])).unwrap();
    assert_eq!(parsed.options.report, Report::Off);
    let local =
        parse(&Value::List(vec![Value::Tuple(vec![Value::atom("report"), Value::binary("local")])])).unwrap();
    assert_eq!(local.options.report, Report::Local);
}

/// One row per refused value: (option, value, words the message must hold).
#[test]
fn bad_values_name_option_value_and_expectation() {
    let rows: Vec<(&str, Value, &[&str])> = vec![
        ("report", Value::charlist("maybe"), &["report = \"maybe\"", "boolean"]),
        ("report", Value::Integer(1), &["report = 1", "boolean"]),
        ("initial_report", Value::Integer(-1), &["initial_report = -1", "non-negative integer"]),
        ("initial_report", Value::charlist("forever"), &["\"forever\"", "milliseconds"]),
        ("initial_report", Value::Float(1.5), &["1.5", "integer"]),
        ("initial_report", Value::Integer(1 << 40), &["1099511627776", "at most 4294967295"]),
        ("periodic_report", Value::Integer(0), &["periodic_report = 0", "positive integer"]),
        ("periodic_report", Value::Integer(-1), &["-1", "positive"]),
        ("tracking_id", Value::Integer(5), &["tracking_id", "got an integer"]),
        ("google_analytics_url", Value::charlist("ftp://x"), &["ftp", "https"]),
        ("google_analytics_url", Value::charlist("http://example.com"), &["loopback"]),
        ("google_analytics_url", Value::charlist("https://x/mp/collect"), &["base URL only"]),
        ("google_analytics_url", Value::charlist("https://x/?a=1"), &["query"]),
        ("google_analytics_url", Value::charlist("https://u:PASSWORD@x"), &["credentials", "\"https://x/\""]),
        ("google_analytics_url", Value::charlist("not a url"), &["not a URL"]),
        ("report_file", Value::charlist("/var/log/"), &["path of a file"]),
        ("report_file", Value::Integer(3), &["report_file = 3", "file path"]),
    ];
    for (option, value, words) in rows {
        let message = refused(map(vec![(option, value.clone())]));
        for word in words {
            assert!(message.contains(word), "{option} = {value:?}: {message:?} lacks {word:?}");
        }
        match parse(&map(vec![(option, value)])) {
            Err(OptionsError::Invalid { option: key, .. }) => assert!(key.is_atom(option)),
            other => panic!("expected Invalid for {option}, got {other:?}"),
        }
    }
}

#[test]
fn limits_are_inclusive() {
    let ok = |k: &str, v: i64| parse(&map(vec![(k, Value::Integer(v))])).is_ok();
    assert!(ok("initial_report", 0));
    assert!(ok("initial_report", MAX_TIMER_MS as i64));
    assert!(!ok("initial_report", MAX_TIMER_MS as i64 + 1));
    assert!(ok("periodic_report", MIN_PERIODIC_REPORT_MS as i64));
    assert!(!ok("periodic_report", MIN_PERIODIC_REPORT_MS as i64 - 1));
    assert!(ok("periodic_report", MAX_TIMER_MS as i64));
    assert!(!ok("periodic_report", MAX_TIMER_MS as i64 + 1));
}

#[test]
fn malformed_terms_never_show_their_content() {
    let secret = || Value::charlist("S3CRET-LEAK-2");
    let three =
        Value::List(vec![Value::Tuple(vec![Value::atom("tracking_id"), Value::charlist("G-1"), secret()])]);
    let message = refused(three);
    assert!(message.contains("a tuple of 3 elements starting with tracking_id"), "{message}");
    for options in [Value::Tuple(vec![secret()]), Value::List(vec![secret(), Value::Integer(1)])] {
        let message = refused(options);
        assert!(!message.contains("S3CRET"), "{message}");
    }
    let url = map(vec![("google_analytics_url", Value::charlist("https://user:S3CRET@h.example/?q"))]);
    let message = refused(url);
    assert!(!message.contains("S3CRET") && message.contains("h.example"), "{message}");
}

#[test]
fn malformed_option_terms_are_refused() {
    assert!(refused(Value::Integer(1)).contains("map or a list"));
    assert!(refused(Value::List(vec![Value::Integer(1)])).contains("{Key, Value}"));
    assert!(refused(Value::List(vec![Value::atom("verbose")])).contains("report, no_report"));
    assert!(refused(Value::Map(vec![(Value::Integer(1), Value::Integer(1))])).contains("atoms or binaries"));
    let twice = Value::List(vec![Value::atom("report"), Value::atom("no_report")]);
    assert!(refused(twice).contains("more than once"));
}

#[test]
fn binary_keys_are_accepted() {
    let options = Value::Map(vec![(Value::binary("periodic_report"), Value::Integer(70_000))]);
    assert_eq!(parse(&options).unwrap().options.periodic_report_ms, 70_000);
}

#[test]
fn periodic_report_has_a_floor_of_a_minute() {
    let message = refused(map(vec![("periodic_report", Value::Integer(1))]));
    assert_eq!(
        message,
        "periodic_report = 1: below the floor of 60000 milliseconds; expected a positive integer number \
         of milliseconds, at least 60000 and at most 4294967295"
    );
    let message = refused(map(vec![("periodic_report", Value::Integer(59_999))]));
    assert!(message.starts_with("periodic_report = 59999: below the floor of 60000"), "{message}");
    let message = refused(map(vec![("periodic_report", Value::Integer(0))]));
    assert!(message.starts_with("periodic_report = 0: expected a positive integer"), "{message}");
    assert!(message.contains("at least 60000"), "{message}");
    match parse(&map(vec![("periodic_report", Value::Integer(1))])) {
        Err(OptionsError::Invalid { option, .. }) => assert!(option.is_atom("periodic_report")),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(parse(&Value::Map(vec![])).unwrap().options.periodic_report_ms, DEFAULT_PERIODIC_REPORT_MS);
}

#[test]
fn only_the_start_argument_lowers_the_floor() {
    let every = |ms: i64| map(vec![("periodic_report", Value::Integer(ms))]);
    assert_eq!(parse_with_floor(&every(1), 1).unwrap().options.periodic_report_ms, 1);
    assert_eq!(parse_with_floor(&every(5000), 5000).unwrap().options.periodic_report_ms, 5000);
    let message = parse_with_floor(&every(4999), 5000).unwrap_err().to_string();
    assert!(message.starts_with("periodic_report = 4999: below the floor of 5000 milliseconds"), "{message}");
    assert!(parse_with_floor(&every(0), 0).is_err(), "a floor of 0 still refuses 0");
    assert!(parse_with_floor(&every(1), 0).is_ok());
    let over = parse_with_floor(&every(MAX_TIMER_MS as i64), u64::MAX);
    assert!(over.is_ok(), "a floor above the timer's limit is the limit");
    assert_eq!(min_periodic_report(&Value::Integer(1)), Ok(1));
    assert_eq!(min_periodic_report(&Value::Integer(250)), Ok(250));
    assert_eq!(min_periodic_report(&Value::atom("undefined")), Ok(MIN_PERIODIC_REPORT_MS));
    for bad in [
        Value::Integer(0),
        Value::Integer(-5),
        Value::Integer(1 << 40),
        Value::Float(1.0),
        Value::charlist("api_secret=SUPERSECRET"),
    ] {
        match min_periodic_report(&bad) {
            Err(OptionsError::Malformed(message)) => {
                assert!(message.starts_with("min_periodic_report = "), "{message}");
                assert!(message.contains("positive integer number of milliseconds"), "{message}");
                assert!(!message.contains("SUPERSECRET"), "{message}");
            }
            other => panic!("{bad:?}: expected Malformed, got {other:?}"),
        }
    }
    assert_eq!(MIN_PERIODIC_REPORT_KEY, "min_periodic_report");
}

pub(super) fn assert_hidden(message: &str, secret: &str) {
    assert!(!message.to_lowercase().contains(&secret.to_lowercase()), "{secret:?} shown in {message:?}");
}

#[test]
fn no_message_shows_a_urls_query_fragment_or_credentials() {
    let collect =
        "https://www.google-analytics.com/mp/collect?measurement_id=G-ABC123&api_secret=SUPERSECRET";
    let message = refused(map(vec![("google_analytics_url", Value::charlist(collect))]));
    assert_eq!(
        message,
        "google_analytics_url = \"https://www.google-analytics.com/mp/collect\": a query string is not \
         allowed in a base URL; it is not shown"
    );
    for (url, words) in [
        ("https://x.example/?api_secret=SUPERSECRET", &["\"https://x.example/\"", "query string"][..]),
        ("https://x.example/#api_secret=SUPERSECRET", &["\"https://x.example/\"", "fragment"]),
        ("https://me:SUPERSECRET@x.example:8443/p", &["\"https://x.example:8443/p\"", "credentials"]),
        ("https://SUPERSECRET@x.example/", &["\"https://x.example/\"", "credentials"]),
        ("http://x.example/?api_secret=SUPERSECRET", &["\"http://x.example/\"", "loopback"]),
        ("ftp://u:SUPERSECRET@x.example/?api_secret=SUPERSECRET", &["a string of", "scheme ftp"]),
        ("SUPERSECRET:opaque", &["a string of 18 characters", "unsupported scheme; use https"]),
        ("api_secret=SUPERSECRET", &["a string of 22 characters", "not a URL"]),
        ("https://x.example:99999/?api_secret=SUPERSECRET", &["a string of", "not a URL (invalid port"]),
    ] {
        for value in [Value::charlist(url), Value::binary(url)] {
            let message = refused(map(vec![("google_analytics_url", value)]));
            assert_hidden(&message, "SUPERSECRET");
            assert!(!message.contains("api_secret") && !message.contains("opaque"), "{message}");
            for word in words {
                assert!(message.contains(word), "{url}: {message:?} lacks {word:?}");
            }
        }
    }
    let atom = refused(map(vec![("google_analytics_url", Value::atom("https://x/?api_secret=SUPERSECRET"))]));
    assert_hidden(&atom, "SUPERSECRET");
    let url = Url::parse("https://u:p@h.example:8080/a/b?c=d#e").unwrap();
    assert_eq!(url_for_messages(&url), "https://h.example:8080/a/b");
}

#[test]
fn report_and_other_values_are_shown_only_when_plain() {
    assert_eq!(
        refused(map(vec![("report", Value::atom("maybe"))])),
        "report = maybe: expected a boolean (true or false), or local"
    );
    let hostile = [
        Value::charlist("api_secret=SUPERSECRET"),
        Value::binary("SUPERSECRET"),
        Value::atom("SUPERSECRET"),
        Value::charlist(&format!("supersecret{}", "x".repeat(40))),
        Value::Map(vec![(Value::atom("SUPERSECRET"), Value::Integer(1))]),
        Value::Map(vec![(Value::binary("k"), Value::charlist("SUPERSECRET"))]),
        Value::Tuple(vec![Value::charlist("SUPERSECRET")]),
        Value::List(vec![Value::atom("SUPERSECRET"), Value::Integer(1)]),
    ];
    for value in &hostile {
        let message = refused(map(vec![("report", value.clone())]));
        assert!(message.starts_with("report = ") && message.contains("boolean"), "{message}");
        assert_hidden(&message, "SUPERSECRET");
    }
    assert_eq!(
        refused(map(vec![("report", Value::binary("SUPERSECRET"))])),
        "report = a string of 11 characters: expected a boolean (true or false), or local"
    );
    assert_eq!(
        refused(map(vec![("report", Value::atom("SUPERSECRET"))])),
        "report = an atom of 11 characters: expected a boolean (true or false), or local"
    );
    // Every option, and every shape an options term can take, with the same values.
    for name in OPTION_NAMES {
        for value in &hostile {
            if let Err(e) = parse(&map(vec![(name, value.clone())])) {
                assert_hidden(&e.to_string(), "SUPERSECRET");
            }
        }
    }
    let shapes = [
        Value::List(vec![Value::atom("SUPERSECRET")]),
        Value::List(vec![Value::Tuple(vec![
            Value::atom("SUPERSECRET"),
            Value::Integer(1),
            Value::Integer(2),
        ])]),
        Value::List(vec![Value::Map(vec![(Value::atom("SUPERSECRET"), Value::Integer(1))])]),
        Value::Tuple(vec![Value::atom("SUPERSECRET")]),
        Value::Map(vec![(
            Value::Map(vec![(Value::atom("SUPERSECRET"), Value::Integer(1))]),
            Value::Integer(1),
        )]),
        Value::Map(vec![(Value::charlist("SUPERSECRET"), Value::Integer(1))]),
    ];
    for options in shapes {
        assert_hidden(&refused(options), "SUPERSECRET");
    }
    assert_eq!(
        refused(Value::List(vec![Value::atom("verbose")])),
        "each option must be a {Key, Value} tuple or one of the atoms report, no_report; got the atom verbose"
    );
    let path = refused(map(vec![("report_file", Value::charlist("/var/log/api_secret=SUPERSECRET/"))]));
    assert_eq!(path, "report_file = a path of 32 characters: expected the path of a file");
    let path = refused(map(vec![("report_file", Value::charlist("/var/log/"))]));
    assert_eq!(path, "report_file = \"/var/log/\": expected the path of a file");
}
