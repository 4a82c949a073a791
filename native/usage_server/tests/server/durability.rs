//! Durability: many requests at once, the server killed (SIGKILL) among them, then
//! restarted on the same database: every request that was acknowledged is there, whole.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{http, report, Database, Server};

const SENDERS: usize = 8;
const EVENTS_PER_REQUEST: usize = 3;
/// Acknowledgements to wait for before the kill.
const ACKNOWLEDGED_BEFORE_KILL: usize = 120;

/// One request's events: distinct for each request, so that a mix-up would show.
fn events(sender: usize, n: usize) -> Value {
    let events: Vec<Value> = (0..EVENTS_PER_REQUEST)
        .map(|i| json!({"name": "xmpp_stanza_count", "params": {"stanza_type": format!("s{sender}_{n}_{i}"), "total": n, "increment": i}}))
        .collect();
    Value::Array(events)
}

/// Sends requests one after another until the server goes; returns the client ids whose
/// request was acknowledged and those that were not.
fn send_until_gone(
    address: String,
    sender: usize,
    acknowledged: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> (Vec<String>, Vec<String>) {
    let (mut acked, mut unknown) = (Vec::new(), Vec::new());
    for n in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let client_id = format!("durable-{sender}-{n}");
        let body = json!({"client_id": client_id, "events": events(sender, n)}).to_string();
        let raw = http::request(
            "POST",
            &report::collect_path(),
            &[("content-type", "application/json")],
            body.as_bytes(),
        );
        match http::exchange(&address, &raw) {
            Ok(answer) if answer.status == 204 => {
                acked.push(client_id);
                acknowledged.fetch_add(1, Ordering::SeqCst);
            }
            Ok(answer) => panic!("unexpected status {}", answer.status),
            Err(_) => {
                unknown.push(client_id);
                break;
            }
        }
    }
    (acked, unknown)
}

fn every_acknowledged_request_survives_a_kill(database: &Database) {
    let mut server = Server::start(database, &[]);
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let (address, acknowledged, stop) =
                (server.address.clone(), Arc::clone(&acknowledged), Arc::clone(&stop));
            thread::spawn(move || send_until_gone(address, sender, acknowledged, stop))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.load(Ordering::SeqCst) < ACKNOWLEDGED_BEFORE_KILL && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    server.kill();
    stop.store(true, Ordering::SeqCst);
    let results: Vec<(Vec<String>, Vec<String>)> =
        senders.into_iter().map(|s| s.join().expect("a sender")).collect();
    let acked: Vec<(usize, String)> = results
        .iter()
        .enumerate()
        .flat_map(|(sender, (acked, _))| acked.iter().map(move |c| (sender, c.clone())))
        .collect();
    let in_flight: Vec<(usize, String)> = results
        .iter()
        .enumerate()
        .flat_map(|(sender, (_, unknown))| unknown.iter().map(move |c| (sender, c.clone())))
        .collect();
    assert!(acked.len() >= ACKNOWLEDGED_BEFORE_KILL, "only {} acknowledged", acked.len());

    let restarted = Server::start(database, &[]);
    let listed = restarted.get("/api/deployments").json();
    let listed = listed.as_array().expect("an array");
    for (sender, client_id) in &acked {
        let history = restarted.get(&format!("/api/deployments/{client_id}"));
        assert_eq!(history.status, 200, "acknowledged {client_id} was lost");
        let n: usize = client_id.rsplit('-').next().and_then(|n| n.parse().ok()).expect("a number");
        assert_eq!(history.json()["reports"][0]["events"], events(*sender, n), "{client_id} is whole");
    }
    // A request cut by the kill is either stored whole or not at all.
    for (sender, client_id) in &in_flight {
        let history = restarted.get(&format!("/api/deployments/{client_id}"));
        if history.status == 200 {
            let n: usize = client_id.rsplit('-').next().and_then(|n| n.parse().ok()).expect("a number");
            assert_eq!(history.json()["reports"][0]["events"], events(*sender, n), "{client_id} is whole");
        }
    }
    assert!(listed.len() >= acked.len() && listed.len() <= acked.len() + in_flight.len());
}
on_both_databases!(every_acknowledged_request_survives_a_kill);
