//! A local stand-in for Google's GA4 Measurement Protocol endpoint.
//!
//! It listens on 127.0.0.1, answers `/mp/collect` as Google does (204, whatever the
//! payload), records every request with the rules it breaks ([`rules`]), and lets tests
//! read what it recorded and switch how it answers:
//!
//! | request | meaning |
//! |---|---|
//! | `POST /mp/collect?measurement_id=..&api_secret=..` | a GA4 hit; recorded, answered 204 |
//! | `POST /debug/mp/collect` | GA4 validation; answered with `validationMessages` |
//! | `POST /batch`, `POST /collect` | legacy Universal Analytics; recorded, answered 200 |
//! | `GET /_collector/requests` | what was recorded, as a JSON array |
//! | `DELETE /_collector/requests` | forget it |
//! | `PUT /_collector/mode` | body `normal`, `status N`, `status_for ID N` or `delay MS` |

#![deny(missing_docs)]

pub mod http;
pub mod rules;

use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;

use serde::Serialize;

use crate::http::Request;

/// How the collector answers hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// As Google does: 204.
    Normal,
    /// Every hit gets this status.
    Status(u16),
    /// Hits for this measurement id get this status; others are normal.
    StatusFor(String, u16),
    /// Hits are answered normally, but only after this many milliseconds.
    Delay(u64),
}

impl Mode {
    /// Parses the body of `PUT /_collector/mode`.
    pub fn parse(text: &str) -> Option<Mode> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["normal"] => Some(Mode::Normal),
            ["status", code] => code.parse().ok().map(Mode::Status),
            ["status_for", id, code] => code.parse().ok().map(|c| Mode::StatusFor((*id).to_owned(), c)),
            ["delay", ms] => ms.parse().ok().map(Mode::Delay),
            _ => None,
        }
    }

    fn status_for(&self, measurement_id: Option<&str>, normal: u16) -> u16 {
        match self {
            Mode::Normal | Mode::Delay(_) => normal,
            Mode::Status(code) => *code,
            Mode::StatusFor(id, code) if measurement_id == Some(id.as_str()) => *code,
            Mode::StatusFor(..) => normal,
        }
    }
}

/// One recorded request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recorded {
    /// The request path, e.g. `/mp/collect`.
    pub path: String,
    /// The `measurement_id` query parameter.
    pub measurement_id: Option<String>,
    /// The `api_secret` query parameter.
    pub api_secret: Option<String>,
    /// The body, as text.
    pub body: String,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<serde_json::Value>,
    /// The status the collector answered with.
    pub status: u16,
    /// The GA4 rules the request breaks; empty when valid.
    pub problems: Vec<String>,
}

#[derive(Debug)]
struct Shared {
    recorded: Mutex<Vec<Recorded>>,
    mode: Mutex<Mode>,
    stopping: AtomicBool,
}

/// A running collector; it stops when dropped.
#[derive(Debug)]
pub struct Collector {
    address: SocketAddr,
    shared: Arc<Shared>,
}

impl Collector {
    /// Starts a collector on a free port of 127.0.0.1.
    ///
    /// # Errors
    /// When no socket can be bound.
    pub fn start() -> io::Result<Collector> {
        Collector::bind("127.0.0.1:0")
    }

    /// Starts a collector on the given address.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub fn bind(address: &str) -> io::Result<Collector> {
        let listener = TcpListener::bind(address)?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            recorded: Mutex::new(Vec::new()),
            mode: Mutex::new(Mode::Normal),
            stopping: AtomicBool::new(false),
        });
        let accepting = Arc::clone(&shared);
        thread::Builder::new()
            .name("ga4-collector".into())
            .spawn(move || accept_loop(&listener, &accepting))?;
        Ok(Collector { address, shared })
    }

    /// The base URL to give the service as `google_analytics_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Every request recorded so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.recorded).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear(&self) {
        lock(&self.shared.recorded).clear();
    }

    /// Changes how hits are answered.
    pub fn set_mode(&self, mode: Mode) {
        *lock(&self.shared.mode) = mode;
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.address);
    }
}

/// A poisoned lock only means a handler thread panicked; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(shared);
        let _ =
            thread::Builder::new().name("ga4-collector-conn".into()).spawn(move || serve(stream, &shared));
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    while let Ok(Some(request)) = http::read_request(&mut reader) {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let (status, content_type, body) = answer(&request, shared);
        if http::write_response(&mut writer, status, content_type, &body).is_err() || request.wants_close() {
            return;
        }
    }
}

fn answer(request: &Request, shared: &Shared) -> (u16, &'static str, Vec<u8>) {
    const JSON: &str = "application/json";
    const TEXT: &str = "text/plain";
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/mp/collect") => (record(request, shared, 204), TEXT, Vec::new()),
        ("POST", "/debug/mp/collect") => {
            let problems = problems_of(request);
            let messages: Vec<_> = problems
                .iter()
                .map(|p| serde_json::json!({"fieldPath": "", "description": p, "validationCode": "VALUE_INVALID"}))
                .collect();
            let body = serde_json::json!({ "validationMessages": messages }).to_string().into_bytes();
            (record(request, shared, 200), JSON, body)
        }
        ("POST", "/batch" | "/collect") => (record(request, shared, 200), TEXT, Vec::new()),
        ("GET", "/_collector/requests") => {
            let body = serde_json::to_vec(&*lock(&shared.recorded)).unwrap_or_default();
            (200, JSON, body)
        }
        ("DELETE", "/_collector/requests") => {
            lock(&shared.recorded).clear();
            (204, TEXT, Vec::new())
        }
        ("PUT", "/_collector/mode") => match Mode::parse(&String::from_utf8_lossy(&request.body)) {
            Some(mode) => {
                *lock(&shared.mode) = mode;
                (204, TEXT, Vec::new())
            }
            None => (400, TEXT, b"expected: normal | status N | status_for ID N | delay MS".to_vec()),
        },
        _ => (404, TEXT, b"not found".to_vec()),
    }
}

fn problems_of(request: &Request) -> Vec<String> {
    if request.path.ends_with("mp/collect") {
        rules::check(
            request.query_param("measurement_id").as_deref(),
            request.query_param("api_secret").as_deref(),
            request.header("content-type"),
            &request.body,
        )
    } else {
        Vec::new()
    }
}

/// Records a hit and returns the status to answer it with, after any delay the mode asks.
fn record(request: &Request, shared: &Shared, normal: u16) -> u16 {
    let measurement_id = request.query_param("measurement_id");
    let mode = lock(&shared.mode).clone();
    let status = mode.status_for(measurement_id.as_deref(), normal);
    let recorded = Recorded {
        path: request.path.clone(),
        measurement_id,
        api_secret: request.query_param("api_secret"),
        body: String::from_utf8_lossy(&request.body).into_owned(),
        json: serde_json::from_slice(&request.body).ok(),
        status,
        problems: problems_of(request),
    };
    lock(&shared.recorded).push(recorded);
    if let Mode::Delay(ms) = mode {
        thread::sleep(std::time::Duration::from_millis(ms));
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn exchange(collector: &Collector, raw: &str) -> String {
        let mut stream = TcpStream::connect(collector.address()).unwrap();
        stream.write_all(raw.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    fn post(path: &str, body: &str) -> String {
        format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    #[test]
    fn records_a_valid_hit_and_answers_204() {
        let collector = Collector::start().unwrap();
        let body = r#"{"client_id":"c","events":[{"name":"cluster","params":{"node_number":1}}]}"#;
        let answer = exchange(&collector, &post("/mp/collect?measurement_id=G-1&api_secret=s%26t", body));
        assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
        let seen = collector.requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].measurement_id.as_deref(), Some("G-1"));
        assert_eq!(seen[0].api_secret.as_deref(), Some("s&t"));
        assert_eq!(seen[0].json.as_ref().unwrap()["events"][0]["name"], "cluster");
        assert!(seen[0].problems.is_empty());
    }

    #[test]
    fn records_problems_of_an_invalid_hit() {
        let collector = Collector::start().unwrap();
        exchange(&collector, &post("/mp/collect", r#"{"client_id":"c","events":[{"name":"page_view"}]}"#));
        let problems = &collector.requests()[0].problems;
        assert!(problems.iter().any(|p| p.contains("measurement_id")));
        assert!(problems.iter().any(|p| p.contains("reserved")));
    }

    #[test]
    fn debug_endpoint_answers_validation_messages() {
        let collector = Collector::start().unwrap();
        let answer = exchange(&collector, &post("/debug/mp/collect?measurement_id=G-1&api_secret=s", "{}"));
        assert!(answer.starts_with("HTTP/1.1 200"));
        assert!(answer.contains("validationMessages") && answer.contains("client_id"), "{answer}");
    }

    #[test]
    fn modes_change_the_status() {
        let collector = Collector::start().unwrap();
        let answer = exchange(
            &collector,
            "PUT /_collector/mode HTTP/1.1\r\ncontent-length: 10\r\nconnection: close\r\n\r\nstatus 500",
        );
        assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
        let answer = exchange(&collector, &post("/mp/collect?measurement_id=G-1&api_secret=s", "{}"));
        assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
        collector.set_mode(Mode::StatusFor("G-2".into(), 503));
        assert!(exchange(&collector, &post("/mp/collect?measurement_id=G-1&api_secret=s", "{}"))
            .starts_with("HTTP/1.1 204"));
        assert!(exchange(&collector, &post("/mp/collect?measurement_id=G-2&api_secret=s", "{}"))
            .starts_with("HTTP/1.1 503"));
        assert_eq!(Mode::parse("nonsense"), None);
        assert_eq!(Mode::parse("delay 250"), Some(Mode::Delay(250)));
    }

    #[test]
    fn control_endpoints_list_and_clear() {
        let collector = Collector::start().unwrap();
        exchange(&collector, &post("/mp/collect?measurement_id=G-1&api_secret=s", "{}"));
        let listed = exchange(&collector, "GET /_collector/requests HTTP/1.1\r\nconnection: close\r\n\r\n");
        let body = listed.split("\r\n\r\n").nth(1).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(parsed[0]["measurement_id"], "G-1");
        exchange(&collector, "DELETE /_collector/requests HTTP/1.1\r\nconnection: close\r\n\r\n");
        assert!(collector.requests().is_empty());
    }

    #[test]
    fn keep_alive_serves_several_requests_on_one_connection() {
        let collector = Collector::start().unwrap();
        let keep =
            post("/mp/collect?measurement_id=G-1&api_secret=s", "{}").replace("connection: close\r\n", "");
        let raw = format!("{keep}{}", post("/mp/collect?measurement_id=G-1&api_secret=s", "{}"));
        let answer = exchange(&collector, &raw);
        assert_eq!(answer.matches("HTTP/1.1 204").count(), 2, "{answer}");
        assert_eq!(collector.requests().len(), 2);
    }
}
