//! Ingest answered as Google answers: what is stored, what is refused and counted.

use ga4_collector::rules;
use mongoose_usage_server::store::Store;
use serde_json::{json, Value};

use crate::support::{metric, report, Database, Server, GA4_ID, GA4_SECRET};

const WRONG_SECRET: &str = "guessed-Secret-42";

fn one_event(client_id: &str) -> String {
    json!({"client_id": client_id, "events": [{"name": "host_count", "params": {"value": 1}}]}).to_string()
}

fn stored_clients(server: &Server) -> Value {
    let list = server.get("/api/deployments").json();
    list.as_array().expect("an array").iter().map(|d| d["client_id"].clone()).collect()
}

fn rejected(server: &Server, reason: &str) -> f64 {
    metric(&server.get("/metrics").text(), &format!("mongoose_usage_rejected_total{{reason=\"{reason}\"}}"))
}

fn unknown_streams_and_wrong_secrets_store_nothing(database: &Database) {
    let server = Server::start(database, &[]);
    let body = one_event("intruder");
    for path in [
        format!("/mp/collect?measurement_id=G-OTHER&api_secret={GA4_SECRET}"),
        "/mp/collect".to_owned(),
        format!("/mp/collect?measurement_id={GA4_ID}&api_secret={WRONG_SECRET}"),
        format!("/mp/collect?measurement_id={GA4_ID}"),
    ] {
        let answer = server.post(&path, "application/json", body.as_bytes());
        assert_eq!((answer.status, answer.body.len()), (204, 0), "{path}");
    }
    assert_eq!(stored_clients(&server), json!([]));
    assert_eq!(rejected(&server, "unknown_stream"), 2.0);
    assert_eq!(rejected(&server, "wrong_secret"), 2.0);
    let metrics = server.get("/metrics").text();
    assert_eq!(metric(&metrics, "mongoose_usage_reports_stored_total"), 0.0);
    let logs = server.settled_events();
    let reasons: Vec<&str> =
        logs.iter().filter(|l| l["event"] == "rejected").filter_map(|l| l["reason"].as_str()).collect();
    assert_eq!(reasons, ["unknown_stream", "unknown_stream", "wrong_secret", "wrong_secret"]);
    let all = server.settled_logs().join("\n");
    assert!(!all.contains(WRONG_SECRET) && !all.contains(GA4_SECRET) && !all.contains("api_secret"), "{all}");
    let ingest_routes =
        logs.iter().filter(|l| l["event"] == "request" && l["method"] == "POST").map(|l| &l["route"]);
    assert!(ingest_routes.clone().count() == 4 && ingest_routes.into_iter().all(|r| r == "/mp/collect"));
}
on_both_databases!(unknown_streams_and_wrong_secrets_store_nothing);

fn invalid_and_oversized_bodies_store_nothing(database: &Database) {
    let server = Server::start(database, &[]);
    let path = report::collect_path();
    let events = |n: usize| json!({"client_id": "c", "events": vec![json!({"name": "a"}); n]}).to_string();
    let invalid = [
        (events(26), "application/json"),
        (events(0), "application/json"),
        (json!({"client_id": "c", "events": [{"name": "page_view"}]}).to_string(), "application/json"),
        (
            json!({"client_id": "c", "events": [{"name": "a", "params": {"v": "x".repeat(101)}}]})
                .to_string(),
            "application/json",
        ),
        (json!({"events": [{"name": "a"}]}).to_string(), "application/json"),
        (events(1), "text/plain"),
    ];
    for (body, content_type) in &invalid {
        let answer = server.post(&path, content_type, body.as_bytes());
        assert_eq!(answer.status, 204, "{body}");
    }
    let oversized =
        json!({"client_id": "c", "events": [{"name": "a", "params": {"v": "x".repeat(rules::MAX_BODY)}}]});
    let answer = server.post(&path, "application/json", oversized.to_string().as_bytes());
    assert_eq!(answer.status, 413);
    // A declared length far too large is refused before the body is read.
    let head = format!("POST {path} HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 3145728\r\n\r\n");
    let answer = crate::support::http::exchange(&server.address, head.as_bytes()).expect("an answer");
    assert_eq!(answer.status, 413);
    assert_eq!(stored_clients(&server), json!([]));
    assert_eq!(rejected(&server, "invalid"), invalid.len() as f64);
    assert_eq!(rejected(&server, "too_large"), 2.0);
    // The server still takes a valid report.
    assert_eq!(server.post(&path, "application/json", events(25).as_bytes()).status, 204);
    assert_eq!(stored_clients(&server), json!(["c"]));
}
on_both_databases!(invalid_and_oversized_bodies_store_nothing);

fn malformed_json_is_refused_and_counted(database: &Database) {
    let server = Server::start(database, &[]);
    for body in [&b"{\"client_id\": \"c\", \"events\": ["[..], b"not json", b"", &[0xff, 0xfe, b'{'][..]] {
        let answer = server.post(&report::collect_path(), "application/json", body);
        assert_eq!(answer.status, 204);
    }
    assert_eq!(stored_clients(&server), json!([]));
    assert_eq!(rejected(&server, "invalid"), 4.0);
}
on_both_databases!(malformed_json_is_refused_and_counted);

fn universal_analytics_hits_are_kept_by_client(database: &Database) {
    let server = Server::start(database, &[]);
    let hit = |tid: &str, cid: &str, rest: &str| format!("v=1&tid={tid}&cid={cid}&t=event&{rest}");
    let single = hit("UA-1-1", "x", "ec=hosts&ea=count&el=2");
    assert_eq!(server.post("/collect", "application/x-www-form-urlencoded", single.as_bytes()).status, 200);
    let batch = [
        hit("UA-1-1", "y", "ec=cluster&ea=mim_version&el=5.1.0&ev=3"),
        hit("UA-1-1", "z", "ec=mod_mam&ea=backend&el=rdbms"),
        hit("UA-1-1", "y", "ec=hosts&ea=count&el=4"),
    ]
    .join("\n");
    assert_eq!(server.post("/batch", "text/plain", batch.as_bytes()).status, 200);
    let refused = [
        ("/batch", hit("UA-9-9", "w", "ec=hosts&ea=count&el=1")),
        ("/batch", "v=2&tid=UA-1-1&cid=w&t=event&ec=hosts&ea=count".to_owned()),
        ("/collect", format!("{single}\n{single}")),
        ("/batch", String::new()),
    ];
    for (path, body) in &refused {
        assert_eq!(server.post(path, "text/plain", body.as_bytes()).status, 200, "{body}");
    }
    let huge = vec![hit("UA-1-1", "w", &format!("ec=a&ea=b&el={}", "z".repeat(1000))); 18].join("\n");
    assert_eq!(server.post("/batch", "text/plain", huge.as_bytes()).status, 413);

    let history = |cid: &str| server.get(&format!("/api/deployments/{cid}")).json()["reports"].clone();
    let y = history("y");
    assert_eq!(y.as_array().map(Vec::len), Some(1), "one report per request and client");
    assert_eq!(
        y[0]["events"],
        json!([
            {"name": "cluster", "params": {"action": "mim_version", "label": "5.1.0", "value": 3}},
            {"name": "hosts", "params": {"action": "count", "label": "4"}},
        ])
    );
    assert_eq!((y[0]["stream"].as_str(), y[0]["protocol"].as_str()), (Some("UA-1-1"), Some("ua")));
    assert_eq!(
        history("x")[0]["events"],
        json!([{"name": "hosts", "params": {"action": "count", "label": "2"}}])
    );
    assert_eq!(history("z")[0]["events"][0]["name"], "mod_mam");
    assert_eq!(server.get("/api/deployments/w").status, 404);
    assert_eq!(rejected(&server, "unknown_stream"), 1.0);
    assert_eq!(rejected(&server, "invalid"), 3.0);
    assert_eq!(rejected(&server, "too_large"), 1.0);
    // UA reports never count in the charts, which read GA4 reports.
    assert_eq!(server.get("/api/charts/versions").json(), json!([]));
}
on_both_databases!(universal_analytics_hits_are_kept_by_client);

fn validation_answers_as_the_collector_does(database: &Database) {
    let server = Server::start(database, &[]);
    let collector = ga4_collector::Collector::start().expect("a collector");
    let bodies = [
        json!({"client_id": "c", "events": [{"name": "a"}]}).to_string(),
        json!({"client_id": "c", "events": vec![json!({"name": "page_view", "params": {"_x": [1]}}); 26]})
            .to_string(),
        "not json".to_owned(),
    ];
    for body in &bodies {
        for path in [
            format!("/debug/mp/collect?measurement_id={GA4_ID}&api_secret=anything"),
            "/debug/mp/collect".to_owned(),
        ] {
            let ours = server.post(&path, "application/json", body.as_bytes());
            let raw = crate::support::http::request(
                "POST",
                &path,
                &[("content-type", "application/json")],
                body.as_bytes(),
            );
            let theirs = crate::support::http::exchange(&collector.address().to_string(), &raw)
                .expect("the collector answers");
            assert_eq!((ours.status, ours.header("content-type")), (200, Some("application/json")));
            assert_eq!(ours.json(), theirs.json(), "{path} {body}");
        }
    }
    let valid = server.post(
        "/debug/mp/collect?measurement_id=G-1&api_secret=s",
        "application/json",
        bodies[0].as_bytes(),
    );
    assert_eq!(valid.json(), json!({"validationMessages": []}));
    assert_eq!(stored_clients(&server), json!([]), "validation stores nothing");
}
on_both_databases!(validation_answers_as_the_collector_does);

fn unknown_paths_and_methods(database: &Database) {
    let server = Server::start(database, &[]);
    assert_eq!(server.get("/nope").status, 404);
    assert_eq!(server.post("/api/deployments", "application/json", b"{}").status, 405);
    assert_eq!(server.get("/mp/collect").status, 405);
    assert_eq!(server.get("/batch").status, 405);
    let health = server.get("/healthz");
    assert_eq!((health.status, health.text().as_str()), (200, "ok"));
    for path in ["/", "/deployments/cluster-a", "/api/deployments", "/healthz", "/nope"] {
        assert_eq!(server.get(path).header("content-security-policy"), Some("default-src 'self'"), "{path}");
    }
    let page = server.get("/");
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(page.text().contains("/assets/app.js") && page.text().contains("/assets/style.css"));
    assert!(server.get("/deployments/x").text().contains("/assets/app.js"));
    assert_eq!(server.get("/assets/app.js").header("content-type"), Some("text/javascript; charset=utf-8"));
    assert_eq!(server.get("/assets/style.css").header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(server.get("/assets/other.js").status, 404);
}
on_both_databases!(unknown_paths_and_methods);

/// Makes every insert of a parameter fail, or stop failing, from a connection of its own.
fn refuse_params(database: &Database, refuse: bool) {
    let statements: &[&'static str] = match (database, refuse) {
        (Database::Sqlite(_), true) => {
            &["CREATE TRIGGER refuse BEFORE INSERT ON params BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"]
        }
        (Database::Sqlite(_), false) => &["DROP TRIGGER refuse"],
        (Database::Postgres(_), true) => &[
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
            "CREATE TRIGGER refuse BEFORE INSERT ON params FOR EACH ROW EXECUTE FUNCTION refuse()",
        ],
        (Database::Postgres(_), false) => &["DROP TRIGGER refuse ON params"],
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let store = Store::open(&database.store_url()).await.expect("a second connection");
        for statement in statements {
            store.rows(statement, Vec::new()).await.expect("the statement runs");
        }
        store.close().await;
    });
}

fn a_failing_database_answers_503_and_stores_nothing(database: &Database) {
    let server = Server::start(database, &[]);
    let body = json!({"client_id": "retried", "events": [{"name": "host_count", "params": {"value": 1}}, {"name": "domain_count", "params": {"value": 2}}]}).to_string();
    refuse_params(database, true);
    let answer = server.post(&report::collect_path(), "application/json", body.as_bytes());
    assert_eq!(answer.status, 503, "the service retries on 503");
    assert_eq!(rejected(&server, "storage_error"), 1.0);
    let logged = server
        .settled_events()
        .into_iter()
        .find(|l| l["reason"] == "storage_error")
        .expect("a rejected line");
    assert!(logged["error"].as_str().is_some_and(|e| e.contains("refused by the test")), "{logged}");

    refuse_params(database, false);
    assert_eq!(server.post(&report::collect_path(), "application/json", body.as_bytes()).status, 204);
    let history = server.get("/api/deployments/retried").json();
    let reports = history["reports"].as_array().expect("reports");
    assert_eq!(reports.len(), 1, "the failed attempt left nothing behind");
    assert_eq!(reports[0]["events"].as_array().map(Vec::len), Some(2));
}
on_both_databases!(a_failing_database_answers_503_and_stores_nothing);
