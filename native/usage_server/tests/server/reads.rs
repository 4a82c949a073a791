//! Reports as the service sends them, then every read of the API, value by value.

use std::collections::BTreeMap;
use std::time::Duration;

use mongoose_usage_server::dates;
use serde_json::{json, Value};

use crate::support::{metric, report, Database, Server};

fn today() -> i64 {
    dates::day_of(dates::now_ms())
}

/// Cluster A twice (its second report in two requests), then B, then C by UA: each later
/// than the one before, so that the newest-first order is known.
fn ingest_three_deployments(server: &Server) {
    let pause = || std::thread::sleep(Duration::from_millis(20));
    report::post(server, "cluster-a", &report::cluster_a_first());
    pause();
    report::post(server, "cluster-a", &report::cluster_a_second());
    pause();
    report::post(server, "cluster-b", &report::cluster_b());
    pause();
    let answer = server.post("/batch", "text/plain", report::CLUSTER_C_BATCH.as_bytes());
    assert_eq!(answer.status, 200, "{}", answer.text());
}

/// The deployments without their timestamps, which are checked for shape and order.
fn without_times(list: &Value) -> Value {
    let today = dates::format_day(today());
    let entries = list.as_array().expect("an array");
    Value::Array(
        entries
            .iter()
            .map(|entry| {
                let mut entry = entry.clone();
                let fields = entry.as_object_mut().expect("an object");
                let first = fields.remove("first_report").expect("first_report");
                let last = fields.remove("last_report").expect("last_report");
                for time in [&first, &last] {
                    let time = time.as_str().expect("a string");
                    assert!(
                        time.starts_with(&format!("{today}T")) && time.ends_with('Z') && time.len() == 24,
                        "{time}"
                    );
                }
                assert!(first.as_str() <= last.as_str());
                entry
            })
            .collect(),
    )
}

fn a_realistic_report_reads_back_exactly(database: &Database) {
    let server = Server::start(database, &[]);
    ingest_three_deployments(&server);

    let list = server.get("/api/deployments").json();
    assert_eq!(
        without_times(&list),
        json!([
            {"client_id": "cluster-c", "stream": "UA-1-1", "reports": 1, "version": null, "node_count": null},
            {"client_id": "cluster-b", "stream": "G-TEST1", "reports": 1, "version": "6.8.0", "node_count": 1},
            {"client_id": "cluster-a", "stream": "G-TEST1", "reports": 2, "version": "6.8.0", "node_count": 3},
        ])
    );
    assert_ne!(list[2]["first_report"], list[2]["last_report"], "cluster A reported twice");

    let charts = |name: &str| server.get(&format!("/api/charts/{name}")).json();
    assert_eq!(charts("versions"), json!([{"version": "6.8.0", "deployments": 2}]));
    assert_eq!(
        charts("cluster_sizes"),
        json!([{"nodes": 1, "deployments": 1}, {"nodes": 3, "deployments": 1}])
    );
    assert_eq!(
        charts("transports"),
        json!([
            {"transport": "tcp", "deployments": 2},
            {"transport": "mod_bosh", "deployments": 1},
            {"transport": "mod_websockets", "deployments": 1},
        ])
    );
    assert_eq!(
        charts("http_apis"),
        json!([{"api": "mongoose_admin_api", "deployments": 1}, {"api": "mongoose_graphql_handler", "deployments": 1}])
    );
    let day = dates::format_day(today());
    assert_eq!(
        charts("traffic"),
        json!([
            {"day": day, "stanza_type": "iq", "increment": 20},
            {"day": day, "stanza_type": "message", "increment": 52},
            {"day": day, "stanza_type": "presence", "increment": 10},
        ])
    );
    let per_day = charts("deployments_per_day");
    let per_day = per_day.as_array().expect("an array");
    assert_eq!(per_day.len(), 30);
    assert_eq!(per_day[29], json!({"day": day, "deployments": 3}));
    assert_eq!(per_day[0], json!({"day": dates::format_day(today() - 29), "deployments": 0}));
    assert!(per_day[..29].iter().all(|d| d["deployments"] == 0));

    let modules = charts("modules");
    assert_eq!(
        modules.as_array().expect("an array")[..4],
        [
            json!({"module": "mod_mam", "backend": "rdbms", "deployments": 2}),
            json!({"module": "mod_ping", "backend": "", "deployments": 2}),
            json!({"module": "mod_roster", "backend": "rdbms", "deployments": 2}),
            json!({"module": "mod_adhoc", "backend": "", "deployments": 1}),
        ]
    );
    assert_eq!(modules, expected_modules());

    check_histories(&server);
    check_csv(&server);

    let metrics = server.get("/metrics").text();
    assert_eq!(metric(&metrics, "mongoose_usage_reports_stored_total"), 5.0, "{metrics}");
    assert_eq!(metric(&metrics, "mongoose_usage_events_stored_total"), 62.0);
    assert_eq!(metric(&metrics, "mongoose_usage_requests_total{route=\"/mp/collect\",status=\"204\"}"), 4.0);
}
on_both_databases!(a_realistic_report_reads_back_exactly);

/// Every (module, backend) of the newest reports of A and B, counted, most used first.
fn expected_modules() -> Value {
    let mut counts: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for (module, backend) in report::MODULES_A.iter().chain(&report::MODULES_B) {
        *counts.entry((module, backend.unwrap_or(""))).or_default() += 1;
    }
    let mut rows: Vec<_> = counts.into_iter().collect();
    rows.sort_by(|(a, a_count), (b, b_count)| b_count.cmp(a_count).then(a.cmp(b)));
    assert_eq!(rows.len(), 31);
    rows.into_iter()
        .map(|((module, backend), n)| json!({"module": module, "backend": backend, "deployments": n}))
        .collect()
}

fn check_histories(server: &Server) {
    let history = server.get("/api/deployments/cluster-a").json();
    assert_eq!(history["client_id"], "cluster-a");
    let reports = history["reports"].as_array().expect("reports");
    assert_eq!(reports.len(), 2);
    let events = |report: &Value| report["events"].clone();
    assert_eq!(
        events(&reports[0]),
        Value::Array(report::cluster_a_second()),
        "the newest report, whole and in order"
    );
    assert_eq!(events(&reports[1]), Value::Array(report::cluster_a_first()));
    for report in reports {
        assert_eq!((report["stream"].as_str(), report["protocol"].as_str()), (Some("G-TEST1"), Some("ga4")));
    }
    assert!(reports[0]["received_at"].as_str() > reports[1]["received_at"].as_str());

    let newest = server.get("/api/deployments/cluster-a?limit=1").json();
    assert_eq!(newest["reports"].as_array().map(Vec::len), Some(1));
    assert_eq!(events(&newest["reports"][0]), Value::Array(report::cluster_a_second()));

    let ua = server.get("/api/deployments/cluster-c").json();
    assert_eq!(ua["reports"][0]["protocol"], "ua");
    assert_eq!(
        events(&ua["reports"][0]),
        json!([
            {"name": "hosts", "params": {"action": "count", "label": "1"}},
            {"name": "cluster", "params": {"action": "mim_version", "label": "5.1.0"}},
        ])
    );

    let unknown = server.get("/api/deployments/nobody");
    assert_eq!((unknown.status, unknown.json()), (404, json!({"error": "no report from this client id"})));
    let long_ago = server.get("/api/deployments/cluster-a?from=2001-01-01&to=2001-01-31").json();
    assert_eq!(long_ago, json!({"client_id": "cluster-a", "reports": []}));
}

fn check_csv(server: &Server) {
    let csv = |path: &str| {
        let answer = server.get(path);
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.header("content-type"), Some("text/csv; charset=utf-8"));
        answer.text()
    };
    let day = dates::format_day(today());
    assert_eq!(csv("/api/charts/versions?format=csv"), "version,deployments\r\n6.8.0,2\r\n");
    assert_eq!(csv("/api/charts/cluster_sizes?format=csv"), "nodes,deployments\r\n1,1\r\n3,1\r\n");
    assert_eq!(
        csv("/api/charts/traffic?format=csv"),
        format!("day,stanza_type,increment\r\n{day},iq,20\r\n{day},message,52\r\n{day},presence,10\r\n")
    );
    let yesterday = dates::format_day(today() - 1);
    assert_eq!(
        csv(&format!("/api/charts/deployments_per_day?format=csv&from={yesterday}&to={day}")),
        format!("day,deployments\r\n{yesterday},0\r\n{day},3\r\n")
    );
    let modules = csv("/api/charts/modules?format=csv");
    assert!(
        modules.starts_with("module,backend,deployments\r\nmod_mam,rdbms,2\r\nmod_ping,,2\r\n"),
        "{modules}"
    );
    assert_eq!(modules.lines().count(), 32);
    assert!(csv("/api/charts/transports?format=csv").starts_with("transport,deployments\r\ntcp,2\r\n"));
    assert!(csv("/api/charts/http_apis?format=csv").starts_with("api,deployments\r\n"));
    let list = csv("/api/deployments?format=csv");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[0], "client_id,stream,first_report,last_report,reports,version,node_count");
    assert!(lines[1].starts_with("cluster-c,UA-1-1,") && lines[1].ends_with(",1,,"), "{}", lines[1]);
    assert!(lines[3].starts_with("cluster-a,G-TEST1,") && lines[3].ends_with(",2,6.8.0,3"), "{}", lines[3]);
    let history = csv("/api/deployments/cluster-b?format=csv");
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines[0], "received_at,stream,protocol,event,params");
    assert_eq!(lines.len(), 11);
    assert!(lines[7].ends_with(r#",G-TEST1,ga4,cluster,"{""component"":1,""node_number"":1,""uptime"":""0002-00:00:00"",""version"":""6.8.0""}""#), "{}", lines[7]);
}

fn bad_query_parameters_are_named(database: &Database) {
    let server = Server::start(database, &[]);
    let cases = [
        ("/api/deployments?from=yesterday", "from must be a date YYYY-MM-DD from 1970 to 9999"),
        ("/api/charts/versions?to=2024-02-30", "to must be a date YYYY-MM-DD from 1970 to 9999"),
        ("/api/charts/traffic?from=2024-02-01&to=2024-01-01", "from must not be after to"),
        (
            "/api/charts/modules?from=2000-01-01&to=2024-01-01",
            "from: the range from..to spans at most 3660 days",
        ),
        ("/api/deployments/x?limit=0", "limit must be a whole number from 1 to 1000"),
        ("/api/deployments/x?limit=many", "limit must be a whole number from 1 to 1000"),
        ("/api/deployments?limit=5", "unknown parameter limit"),
        ("/api/charts/versions?format=xml", "format must be json or csv"),
        ("/api/charts/versions?format=csv&format=json", "parameter format is given twice"),
        ("/api/charts/versions?colour=red", "unknown parameter colour"),
    ];
    for (path, message) in cases {
        let answer = server.get(path);
        assert_eq!((answer.status, answer.json()), (400, json!({"error": message})), "{path}");
    }
    let long_id = format!("/api/deployments/{}", "x".repeat(300));
    assert_eq!(server.get(&long_id).json(), json!({"error": "client_id is longer than 256 bytes"}));
    let unknown = server.get("/api/charts/colours");
    assert_eq!(unknown.status, 404);
    assert!(unknown.json()["error"].as_str().is_some_and(|e| e.contains("deployments_per_day")));
}
on_both_databases!(bad_query_parameters_are_named);
