//! The server's life: a graceful stop that lets a request in flight finish, and retention
//! at start.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use mongoose_usage_server::dates::{self, MS_PER_DAY};
use mongoose_usage_server::store::{NewEvent, NewReport, Protocol, Store};
use serde_json::json;

use crate::support::{http, report, Database, Server};

fn sigterm_lets_the_request_in_flight_finish(database: &Database) {
    let mut server = Server::start(database, &[]);
    let body = json!({"client_id": "in-flight", "events": [{"name": "host_count", "params": {"value": 5}}]})
        .to_string();
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    let head = http::request("POST", &report::collect_path(), &[("content-type", "application/json")], b"");
    let head = String::from_utf8(head)
        .expect("text")
        .replace("content-length: 0", &format!("content-length: {}", body.len()));
    let mut stream = TcpStream::connect(&server.address).expect("connect");
    stream.write_all(head.as_bytes()).expect("send the head");
    stream.write_all(first).expect("send half the body");
    std::thread::sleep(Duration::from_millis(300));

    server.terminate();
    std::thread::sleep(Duration::from_millis(500));
    assert!(TcpStream::connect(&server.address).is_err(), "no new connection once stopping");
    assert!(server.wait(Duration::from_millis(1)).is_none(), "still serving the request in flight");
    stream.write_all(rest).expect("send the rest");
    let answer = http::read_response(&mut stream).expect("an answer");
    assert_eq!(answer.status, 204);

    let status = server.wait(Duration::from_secs(20)).expect("the server stops");
    assert_eq!(status.code(), Some(0));
    let events: Vec<String> =
        server.log_events().iter().filter_map(|l| l["event"].as_str().map(str::to_owned)).collect();
    let tail: Vec<&str> = events.iter().map(String::as_str).filter(|e| *e != "request").collect();
    assert_eq!(tail, ["start", "retention", "ready", "stopping", "shutdown"]);
    assert_eq!(server.stdout().len(), 1, "exactly one line on stdout");

    let restarted = Server::start(database, &[]);
    let history = restarted.get("/api/deployments/in-flight").json();
    assert_eq!(history["reports"][0]["events"], json!([{"name": "host_count", "params": {"value": 5}}]));
}
on_both_databases!(sigterm_lets_the_request_in_flight_finish);

fn sigint_stops_an_idle_server(database: &Database) {
    let mut server = Server::start(database, &[]);
    let sent =
        std::process::Command::new("kill").args(["-INT", &server.pid().to_string()]).status().expect("kill");
    assert!(sent.success());
    assert_eq!(server.wait(Duration::from_secs(20)).and_then(|s| s.code()), Some(0));
}
on_both_databases!(sigint_stops_an_idle_server);

fn report_at(client_id: &str, received_ms: i64) -> NewReport {
    NewReport {
        received_ms,
        stream: "G-TEST1".to_owned(),
        client_id: client_id.to_owned(),
        protocol: Protocol::Ga4,
        events: vec![NewEvent {
            name: "cluster".to_owned(),
            params_json: r#"{"version":"6.0.0"}"#.to_owned(),
            params: vec![("version".to_owned(), "6.0.0".to_owned())],
        }],
    }
}

fn old_reports_are_deleted_at_start(database: &Database) {
    let now = dates::now_ms();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let store = Store::open(&database.store_url()).await.expect("the store opens");
        let reports =
            vec![report_at("old", now - 40 * MS_PER_DAY), report_at("recent", now - 10 * MS_PER_DAY)];
        store.insert(reports).await.expect("stored");
        store.close().await;
    });
    drop(runtime);

    let server = Server::start(database, &["--retention-days", "30"]);
    let from = dates::format_day(dates::day_of(now) - 60);
    let list = server.get(&format!("/api/deployments?from={from}")).json();
    let clients: Vec<&str> =
        list.as_array().expect("an array").iter().filter_map(|d| d["client_id"].as_str()).collect();
    assert_eq!(clients, ["recent"]);
    assert_eq!(server.get("/api/deployments/old").status, 404, "its events and parameters went with it");
    let retention =
        server.settled_events().into_iter().find(|l| l["event"] == "retention").expect("a retention line");
    assert_eq!(
        (retention["deleted_reports"].as_u64(), retention["retention_days"].as_u64()),
        (Some(1), Some(30))
    );
}
on_both_databases!(old_reports_are_deleted_at_start);
