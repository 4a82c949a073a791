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
//! | `GET /_collector/connections` | connections accepted (control ones included) |
//! | `DELETE /_collector/requests` | forget it, and the count of connections |
//! | `PUT /_collector/mode` | a [`Mode`]: `normal`, `status N`, `status_for ID N`, `delay MS`, `sequence 503,429:2,204`, `hang`, `reset`, `garbage`, `dribble MS` |

#![deny(missing_docs)]

pub mod http;
pub mod mode;
pub mod rules;
pub mod tls;

pub use mode::{Mode, Reply};

use std::io::{self, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde::Serialize;

use crate::http::Request;

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
    /// The status the collector answered with; 0 when it answered with a fault.
    pub status: u16,
    /// When the request arrived, in milliseconds since the Unix epoch.
    pub received_ms: u64,
    /// The GA4 rules the request breaks; empty when valid.
    pub problems: Vec<String>,
}

#[derive(Debug)]
struct Shared {
    recorded: Mutex<Vec<Recorded>>,
    mode: Mutex<Mode>,
    stopping: AtomicBool,
    connections: AtomicU64,
}

/// A running collector; it stops when dropped.
#[derive(Debug)]
pub struct Collector {
    address: SocketAddr,
    shared: Arc<Shared>,
    ca_pem: Option<String>,
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
        Collector::listen(address, None)
    }

    /// Starts a collector that speaks HTTPS, with a certificate from a CA of its own
    /// (see [`Collector::ca_pem`]).
    ///
    /// # Errors
    /// When the address cannot be bound or the certificates cannot be made.
    pub fn bind_tls(address: &str) -> io::Result<Collector> {
        Collector::listen(address, Some(tls::generate()?))
    }

    fn listen(address: &str, tls: Option<tls::Tls>) -> io::Result<Collector> {
        let listener = TcpListener::bind(address)?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            recorded: Mutex::new(Vec::new()),
            mode: Mutex::new(Mode::Normal),
            stopping: AtomicBool::new(false),
            connections: AtomicU64::new(0),
        });
        let accepting = Arc::clone(&shared);
        let (config, ca_pem) = match tls {
            Some(tls) => (Some(tls.config), Some(tls.ca_pem)),
            None => (None, None),
        };
        thread::Builder::new()
            .name("ga4-collector".into())
            .spawn(move || accept_loop(&listener, &accepting, config.as_ref()))?;
        Ok(Collector { address, shared, ca_pem })
    }

    /// The base URL to give the service as `google_analytics_url`.
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.address)
    }

    /// The PEM certificate of the CA behind an HTTPS collector.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Every request recorded so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.recorded).clone()
    }

    /// Forgets the recorded requests (and the count of connections).
    pub fn clear(&self) {
        lock(&self.shared.recorded).clear();
        self.shared.connections.store(0, Ordering::SeqCst);
    }

    /// Connections accepted since start (or the last clear), control requests included.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
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

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, tls: Option<&Arc<ServerConfig>>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let shared = Arc::clone(shared);
        let tls = tls.cloned();
        let _ = thread::Builder::new().name("ga4-collector-conn".into()).spawn(move || match tls {
            None => serve(stream, &shared),
            Some(config) => {
                if let Ok(connection) = ServerConnection::new(config) {
                    serve(StreamOwned::new(connection, stream), &shared);
                }
            }
        });
    }
}

/// A connection, plain or TLS, and the socket under it (for faults at the TCP level).
trait Connection: Read + Write {
    fn socket(&self) -> &TcpStream;
}

impl Connection for TcpStream {
    fn socket(&self) -> &TcpStream {
        self
    }
}

impl Connection for StreamOwned<ServerConnection, TcpStream> {
    fn socket(&self) -> &TcpStream {
        &self.sock
    }
}

fn serve(connection: impl Connection, shared: &Shared) {
    let mut reader = BufReader::new(connection);
    while let Ok(Some(request)) = http::read_request(&mut reader) {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let writer = reader.get_mut();
        let answered = match answer(&request, shared) {
            Answer::Plain { status, content_type, body } => {
                http::write_response(writer, status, content_type, &[], &body)
            }
            Answer::Hit(reply) => match reply {
                Reply::Answer { status, retry_after, delay_ms } => {
                    thread::sleep(Duration::from_millis(delay_ms));
                    let headers: Vec<(&str, String)> =
                        retry_after.iter().map(|s| ("retry-after", s.to_string())).collect();
                    // Google answers hits with an empty body.
                    http::write_response(writer, status, TEXT, &headers, b"")
                }
                Reply::Hang => {
                    // Hold the connection until the client gives up or the collector stops.
                    while !shared.stopping.load(Ordering::SeqCst) && http::peer_open(writer.socket()) {
                        thread::sleep(Duration::from_millis(50));
                    }
                    return;
                }
                Reply::Reset => {
                    http::reset(writer.socket());
                    return;
                }
                Reply::Garbage => {
                    let _ = writer.write_all(b"this is not HTTP\r\n\r\n");
                    return;
                }
                Reply::Dribble(ms) => http::write_slowly(writer, 204, Duration::from_millis(ms)),
                Reply::Endless(status) => {
                    // Until the client hangs up: only a client that caps what it reads
                    // gets away with bounded memory.
                    let _ = http::write_endless(writer, status, || shared.stopping.load(Ordering::SeqCst));
                    return;
                }
            },
        };
        if answered.is_err() || request.wants_close() {
            return;
        }
    }
}

const JSON: &str = "application/json";
const TEXT: &str = "text/plain";

/// The answer to a request: a control or validation answer, or a hit's reply.
enum Answer {
    Plain { status: u16, content_type: &'static str, body: Vec<u8> },
    Hit(Reply),
}

fn plain(status: u16, content_type: &'static str, body: Vec<u8>) -> Answer {
    Answer::Plain { status, content_type, body }
}

fn answer(request: &Request, shared: &Shared) -> Answer {
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/mp/collect") => Answer::Hit(record(request, shared, 204)),
        ("POST", "/batch" | "/collect") => Answer::Hit(record(request, shared, 200)),
        ("POST", "/debug/mp/collect") => {
            let mut problems = problems_of(request);
            if let Mode::ValidationMessage(extra) = &*lock(&shared.mode) {
                problems.push(extra.clone());
            }
            match record(request, shared, 200) {
                Reply::Answer { status: 200, .. } => {
                    plain(200, JSON, rules::validation_messages(&problems).to_string().into_bytes())
                }
                other => Answer::Hit(other),
            }
        }
        ("GET", "/_collector/requests") => {
            plain(200, JSON, serde_json::to_vec(&*lock(&shared.recorded)).unwrap_or_default())
        }
        ("GET", "/_collector/connections") => {
            plain(200, TEXT, shared.connections.load(Ordering::SeqCst).to_string().into_bytes())
        }
        ("DELETE", "/_collector/requests") => {
            lock(&shared.recorded).clear();
            shared.connections.store(0, Ordering::SeqCst);
            plain(204, TEXT, Vec::new())
        }
        ("PUT", "/_collector/mode") => match Mode::parse(&String::from_utf8_lossy(&request.body)) {
            Some(mode) => {
                *lock(&shared.mode) = mode;
                plain(204, TEXT, Vec::new())
            }
            None => plain(400, TEXT, b"unknown mode; see the collector's documentation".to_vec()),
        },
        _ => plain(404, TEXT, b"not found".to_vec()),
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
        rules::check_ua_batch(&request.body)
    }
}

/// Records a hit and returns how to reply to it.
fn record(request: &Request, shared: &Shared, normal: u16) -> Reply {
    let measurement_id = request.query_param("measurement_id");
    let reply = lock(&shared.mode).reply(measurement_id.as_deref(), normal);
    let status = match reply {
        Reply::Answer { status, .. } => status,
        Reply::Dribble(_) => normal,
        Reply::Endless(status) => status,
        Reply::Hang | Reply::Reset | Reply::Garbage => 0,
    };
    let recorded = Recorded {
        path: request.path.clone(),
        measurement_id,
        api_secret: request.query_param("api_secret"),
        body: String::from_utf8_lossy(&request.body).into_owned(),
        json: serde_json::from_slice(&request.body).ok(),
        status,
        received_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        problems: problems_of(request),
    };
    lock(&shared.recorded).push(recorded);
    reply
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
