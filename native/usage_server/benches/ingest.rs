//! Ingest into the real binary, over HTTP, as many deployments report: 10,000 deployments
//! (distinct UUID v4 client ids) each send one 30-event report shaped like the
//! service's, in two requests (25 + 5 events) one after the other, from a bounded number
//! of concurrent clients. On SQLite, then on PostgreSQL when
//! `MONGOOSE_USAGE_TEST_POSTGRES` is set (`scripts/with-postgres.sh`). Measures events
//! ingested per second over the wall time of all requests, the p50 and p99 latency of a
//! request (each answered 204 only once committed), and the database's size per million
//! events. Prints Markdown table rows; `make bench` gathers them.

// A benchmark stops at the first thing that goes wrong, as a test does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The tests' support: starting the binary, fresh databases. Not all of it is used here.
#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../tests/server/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use support::{Database, Server};

/// The file the tests' support names in a database's directory.
const SQLITE_FILE: &str = "usage.sqlite3";
const DEPLOYMENTS: usize = 10_000;
const EVENTS_PER_REPORT: usize = 30;
/// Concurrent clients: each sends its deployments' reports one after another.
const CLIENTS: usize = 32;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let reports: Arc<Vec<Report>> = Arc::new((0..DEPLOYMENTS).map(report).collect());
    let rows = run(&runtime, "SQLite", Database::sqlite("bench_ingest"), &reports);
    print!("{rows}");
    match Database::postgres("the ingest benchmark") {
        Some(database) => print!("{}", run(&runtime, "PostgreSQL", database, &reports)),
        None => println!("| usage server, PostgreSQL | skipped: {} not set | |", support::postgres::ENV),
    }
}

/// One deployment's report: its client id and the bodies of its two requests.
struct Report {
    client_id: String,
    bodies: Vec<String>,
}

/// What one run measured.
struct Ingest {
    wall: Duration,
    latencies: Vec<Duration>,
}

/// Starts the server on `database`, sends every report, checks what was stored, and
/// measures; the table rows.
fn run(
    runtime: &tokio::runtime::Runtime,
    name: &str,
    database: Database,
    reports: &Arc<Vec<Report>>,
) -> String {
    let mut server = Server::start(&database, &[]);
    let empty = runtime.block_on(size(&database));
    let ingest = runtime.block_on(ingest(&server.url, reports));
    let stored_metric = support::metric(&server.get("/metrics").text(), "mongoose_usage_events_stored_total");
    // A graceful stop checkpoints SQLite's write-ahead log into the file.
    server.terminate();
    let status = server.wait(Duration::from_secs(60)).expect("the server stops within 60 s");
    assert!(status.success(), "the server ended with {status}");
    let full = runtime.block_on(size(&database));
    let stored = runtime.block_on(counts(&database));
    let expected_events = (DEPLOYMENTS * EVENTS_PER_REPORT) as i64;
    assert_eq!(stored_metric as i64, expected_events, "mongoose_usage_events_stored_total");
    assert_eq!(stored.events, expected_events, "events stored");
    assert_eq!(stored.reports, DEPLOYMENTS as i64, "reports stored (each of its two requests)");
    assert_eq!(stored.whole_reports, DEPLOYMENTS as i64, "reports of {EVENTS_PER_REPORT} events");
    assert_eq!(stored.clients, DEPLOYMENTS as i64, "distinct client ids");

    let events = stored.events as f64;
    let requests = ingest.latencies.len();
    let mut latencies = ingest.latencies;
    latencies.sort_unstable();
    let [p50, p99] = [0.50, 0.99].map(|p| percentile(&latencies, p));
    let per_second = events / ingest.wall.as_secs_f64();
    let growth = full.bytes.saturating_sub(empty.bytes) as f64;
    let target = "(informative)";
    let mut rows = String::new();
    rows += &format!(
        "| usage server, {name}: events ingested per second ({} deployments x {EVENTS_PER_REPORT} events, \
         {CLIENTS} clients) | {} ({} requests in {:.1} s) | {target} |\n",
        thousands(DEPLOYMENTS as u64),
        thousands(per_second.round() as u64),
        thousands(requests as u64),
        ingest.wall.as_secs_f64(),
    );
    rows += &format!(
        "| usage server, {name}: request latency p50 / p99 (each answered 204 once committed) | {} / {} | {target} |\n",
        ms(p50),
        ms(p99),
    );
    rows += &format!(
        "| usage server, {name}: database size per million events, above the empty database ({}, no VACUUM) | {} ({} holding {} events, \
         {} empty) | {target} |\n",
        full.what,
        mb(growth * 1e6 / events),
        mb(full.bytes as f64),
        thousands(stored.events as u64),
        mb(empty.bytes as f64),
    );
    rows
}

/// Every report sent by [`CLIENTS`] clients, each taking the next deployment when done
/// with one; every answer must be 204.
async fn ingest(url: &str, reports: &Arc<Vec<Report>>) -> Ingest {
    let client = reqwest::Client::builder().pool_max_idle_per_host(CLIENTS).build().expect("an HTTP client");
    let endpoint = format!("{}{}", url.trim_end_matches('/'), support::report::collect_path());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, endpoint, next, reports) =
                (client.clone(), endpoint.clone(), Arc::clone(&next), Arc::clone(reports));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while let Some(report) = reports.get(next.fetch_add(1, Ordering::Relaxed)) {
                    for body in &report.bodies {
                        let sent = Instant::now();
                        let answer = client
                            .post(&endpoint)
                            .header("content-type", "application/json")
                            .body(body.clone())
                            .send()
                            .await
                            .expect("the server answers");
                        let status = answer.status().as_u16();
                        let text = answer.text().await.expect("the answer's body");
                        latencies.push(sent.elapsed());
                        assert_eq!(status, 204, "a request of {} was answered {text}", report.client_id);
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(DEPLOYMENTS * 2);
    for client in clients {
        latencies.extend(client.await.expect("a client ran to its end"));
    }
    Ingest { wall: started.elapsed(), latencies }
}

/// A database's size in bytes, and how it was measured.
struct Size {
    bytes: u64,
    what: &'static str,
}

async fn size(database: &Database) -> Size {
    match database {
        Database::Sqlite(dir) => {
            let len = |name: &str| std::fs::metadata(dir.0.join(name)).map_or(0, |m| m.len());
            Size {
                bytes: len(SQLITE_FILE) + len(&format!("{SQLITE_FILE}-wal")),
                what: "the file and its -wal after the server's closing checkpoint",
            }
        }
        Database::Postgres(fresh) => {
            let bytes: i64 =
                postgres_rows(&fresh.url, "SELECT pg_database_size(current_database())").await[0].get(0);
            Size { bytes: u64::try_from(bytes).expect("a size"), what: "pg_database_size" }
        }
    }
}

/// What the database holds.
struct Stored {
    events: i64,
    reports: i64,
    whole_reports: i64,
    clients: i64,
}

/// Reports, those of a whole report's events, and distinct client ids.
fn count_reports() -> String {
    format!(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN event_count = {EVENTS_PER_REPORT} THEN 1 ELSE 0 END), 0), \
         COUNT(DISTINCT client_id) FROM reports"
    )
}
const COUNT_EVENTS: &str = "SELECT COUNT(*) FROM events";

async fn counts(database: &Database) -> Stored {
    match database {
        Database::Sqlite(dir) => {
            let connection = rusqlite::Connection::open(dir.0.join(SQLITE_FILE)).expect("the SQLite file");
            let (reports, whole_reports, clients) = connection
                .query_row(&count_reports(), [], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .expect("the reports");
            let events = connection.query_row(COUNT_EVENTS, [], |row| row.get(0)).expect("the events");
            Stored { events, reports, whole_reports, clients }
        }
        Database::Postgres(fresh) => {
            let row = &postgres_rows(&fresh.url, &count_reports()).await[0];
            let events = postgres_rows(&fresh.url, COUNT_EVENTS).await[0].get(0);
            Stored { events, reports: row.get(0), whole_reports: row.get(1), clients: row.get(2) }
        }
    }
}

async fn postgres_rows(url: &str, sql: &str) -> Vec<tokio_postgres::Row> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("PostgreSQL");
    let driver = tokio::spawn(connection);
    let rows = client.query(sql, &[]).await.expect("a query on PostgreSQL");
    drop(client);
    let _ = driver.await;
    rows
}

/// A small deterministic generator (SplitMix64), so that every run sends the same reports.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[self.below(choices.len())]
    }
}

/// Modules every deployment runs, with the backends it may choose among.
const COMMON_MODULES: [(&str, &[&str]); 8] = [
    ("mod_disco", &[]),
    ("mod_mam", &["rdbms", "rdbms", "cassandra", "elasticsearch"]),
    ("mod_muc", &["rdbms", "mnesia"]),
    ("mod_offline", &["rdbms", "mnesia"]),
    ("mod_ping", &[]),
    ("mod_roster", &["rdbms", "mnesia"]),
    ("mod_stream_management", &["cets", "mnesia"]),
    ("mod_vcard", &["rdbms", "ldap", "mnesia"]),
];

/// Modules some deployments run: each takes [`OPTIONAL_MODULES_TAKEN`] of them.
const OPTIONAL_MODULES: [(&str, &[&str]); 18] = [
    ("mod_adhoc", &[]),
    ("mod_amp", &[]),
    ("mod_auth_token", &["rdbms"]),
    ("mod_blocking", &[]),
    ("mod_bosh", &["mnesia", "cets"]),
    ("mod_caps", &[]),
    ("mod_carboncopy", &[]),
    ("mod_csi", &[]),
    ("mod_event_pusher", &["push", "sns", "rabbit", "http"]),
    ("mod_http_upload", &["s3"]),
    ("mod_inbox", &["rdbms"]),
    ("mod_last", &["rdbms", "mnesia"]),
    ("mod_muc_light", &["rdbms", "mnesia"]),
    ("mod_privacy", &["rdbms", "mnesia"]),
    ("mod_private", &["rdbms", "mnesia"]),
    ("mod_push_service_mongoosepush", &[]),
    ("mod_register", &[]),
    ("mod_smart_markers", &["rdbms"]),
];
const OPTIONAL_MODULES_TAKEN: usize = 8;

fn event(name: &str, params: Value) -> Value {
    json!({"name": name, "params": params})
}

/// Deployment `n`'s report, its events in the service's order (counts, modules by name,
/// the cluster, listeners, pools, stanza counters) and split as the service splits them.
fn report(n: usize) -> Report {
    let mut random = Random(n as u64);
    let mut optional: Vec<_> = OPTIONAL_MODULES.to_vec();
    for i in 0..OPTIONAL_MODULES_TAKEN {
        let j = i + random.below(optional.len() - i);
        optional.swap(i, j);
    }
    let mut modules: Vec<_> =
        COMMON_MODULES.iter().chain(&optional[..OPTIONAL_MODULES_TAKEN]).copied().collect();
    modules.sort_unstable_by_key(|(module, _)| *module);

    let mut events = vec![
        event("host_count", json!({"value": 1 + random.below(4)})),
        event("domain_count", json!({"value": 1 + random.below(20)})),
    ];
    for (module, backends) in modules {
        let mut params = json!({"module": module});
        if !backends.is_empty() {
            params["backend"] = json!(random.pick(backends));
        }
        match module {
            "mod_muc" => params["online_backend"] = json!(random.pick(&["cets", "mnesia"])),
            "mod_push_service_mongoosepush" => params["api_version"] = json!(random.pick(&["v2", "v3"])),
            _ => {}
        }
        events.push(event("module_with_opt", params));
    }
    let uptime_s = random.below(400 * 86_400);
    events.extend([
        event("custom_module_count", json!({"value": random.below(3)})),
        event(
            "cluster",
            json!({
                "uptime": format!("{:04}-{:02}:{:02}:{:02}", uptime_s / 86_400, uptime_s / 3600 % 24,
                                  uptime_s / 60 % 60, uptime_s % 60),
                "version": random.pick(&["6.6.0", "6.7.0", "6.8.0", "6.8.0"]),
                "component": random.below(2),
                "node_number": 1 + random.below(6),
                "config_type": "toml",
            }),
        ),
    ]);
    let mut http_api = json!({"mongoose_graphql_handler": "enabled"});
    let mut transports = json!({"tcp": "enabled"});
    for handler in ["mongoose_bosh_handler", "mongoose_websocket_handler"] {
        if random.below(2) == 0 {
            http_api[handler] = json!("enabled");
            transports[handler] = json!("enabled");
        }
    }
    events.extend([
        event("http_api", http_api),
        event("transport_mechanism", transports),
        event(
            "tls_option",
            json!({"mode": random.pick(&["starttls", "starttls_required", "tls"]),
                   "module": random.pick(&["just_tls", "fast_tls"])}),
        ),
        event("outgoing_pool", json!({"value": random.pick(&["rdbms", "rdbms", "redis"])})),
    ]);
    for stanza_type in mongoose_system_metrics_core::known::STANZA_TYPES {
        let total = random.below(10_000_000);
        events.push(event(
            "xmpp_stanza_count",
            json!({"stanza_type": stanza_type, "total": total, "increment": random.below(total + 1)}),
        ));
    }
    assert_eq!(events.len(), EVENTS_PER_REPORT);
    let client_id = uuid::Uuid::new_v4().to_string();
    Report { bodies: support::report::bodies(&client_id, &events), client_id }
}

/// The sample at `p` of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[at - 1]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn mb(bytes: f64) -> String {
    if bytes < 1e6 {
        format!("{:.0} kB", bytes / 1e3)
    } else {
        format!("{:.1} MB", bytes / 1e6)
    }
}

/// `41200` as `41,200`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
