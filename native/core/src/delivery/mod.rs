//! HTTP delivery of a report to every destination at once: GA4 requests to `/mp/collect`
//! and legacy Universal Analytics batches to `/batch`, over rustls with certificate
//! verification always on (the system's roots, plus an operator's CA bundle if given),
//! with a connect timeout, a per-request timeout, retries with backoff (see [`retry`]),
//! and a deadline per destination. One [`Transport`] per configuration holds the HTTP
//! client: it is built the first time a cycle or a validation needs it, and its pool
//! keeps connections alive from one request, and one cycle, to the next. Answers are
//! read only up to a small cap, so a hostile or broken server cannot grow our memory.
//! Destinations are independent: one failing never stops the others, and each gets an
//! [`Outcome`]. `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` are honoured, except for
//! loopback destinations; like the system's CA roots, they are read when the client is
//! built, once per configuration.

mod errors;
mod policy;
pub mod retry;

use reqwest::{Certificate, Client};
use serde::Serialize;
use tokio::task::JoinSet;
use tokio::time::Instant;
use url::Url;

pub use policy::Policy;

use crate::destination::{Destination, Secret};
use crate::encoded::EncodedEvents;
use crate::report::{Delivery, Outcome, PlannedRequest};
use crate::{ga4, options, ua};
use retry::{Attempt, Decision};
use sha2::{Digest, Sha256};

const USER_AGENT: &str = concat!("mongoose_system_metrics/", env!("CARGO_PKG_VERSION"));

/// The most of an answer to `/mp/collect` or `/batch` that is read: Google answers them
/// with an empty body, and a server that sends more must not grow our memory.
pub const MAX_DELIVERY_ANSWER: usize = 8 * 1024;
/// The most of a validation answer that is read: Google's `validationMessages` for one
/// request of at most 25 events stay well below it.
pub const MAX_VALIDATION_ANSWER: usize = 64 * 1024;

/// Where delivery goes and how it connects: the base URL and the extra CA certificates.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Base URL of both protocols.
    pub base: Url,
    /// PEM certificates trusted besides the system's roots.
    pub extra_roots_pem: Option<Vec<u8>>,
}

/// Where one configuration delivers, with what limits, and the HTTP client that does it.
///
/// The client (its CA roots, the `ca_bundle`, the timeouts, no redirects, no proxy for a
/// loopback base) is built once, on the core's runtime, the first time it is needed, and
/// then shared by every cycle and validation of this configuration; it goes when the
/// transport does, with its pooled connections. A build that fails is not kept: the next
/// cycle tries again.
#[derive(Debug)]
pub struct Transport {
    endpoint: Endpoint,
    policy: Policy,
    client: tokio::sync::OnceCell<Client>,
}

impl Transport {
    /// A transport whose client is not built yet.
    pub fn new(endpoint: Endpoint, policy: Policy) -> Transport {
        Transport { endpoint, policy, client: tokio::sync::OnceCell::new() }
    }

    /// Whether its client has been built.
    pub fn is_built(&self) -> bool {
        self.client.initialized()
    }

    /// The client, built on first use. The build reads the system's CA roots (files) for
    /// an `https` base, so it runs on the runtime's blocking thread; concurrent callers
    /// wait for the one build. A clone shares the client's connection pool.
    ///
    /// # Errors
    /// Why the client cannot be built (no CA roots, a CA bundle without a certificate);
    /// in fixed words, never the URL.
    pub async fn client(&self) -> Result<Client, String> {
        self.client
            .get_or_try_init(|| async {
                let (endpoint, policy) = (self.endpoint.clone(), self.policy);
                tokio::task::spawn_blocking(move || build_client(&endpoint, policy))
                    .await
                    .map_err(|_| "cannot set up HTTPS: the task that sets it up failed".to_owned())?
            })
            .await
            .cloned()
    }
}

/// What a destination is sent: where, as what, and the bodies in order.
struct Payloads {
    url: Url,
    content_type: &'static str,
    bodies: Vec<Vec<u8>>,
}

fn payloads(
    base: &Url,
    destination: &Destination,
    client_id: &str,
    events: &EncodedEvents,
    path: &str,
) -> Payloads {
    match destination {
        Destination::Ga4 { measurement_id, secret } => Payloads {
            url: ga4_url(base, path, measurement_id, secret),
            content_type: "application/json",
            bodies: ga4::request_bodies(client_id, events.json()),
        },
        Destination::UniversalAnalytics { tracking_id } => {
            // Values are at most 100 characters by now, so no hit comes near 8 KB.
            let (bodies, _too_big) = ua::batches(&ua::hits(tracking_id, client_id, events));
            Payloads { url: with_path(base, "/batch"), content_type: "text/plain", bodies }
        }
    }
}

/// The outcome each destination would have before anything is sent, and the request
/// bodies it would get: for a preview, and for the local mode.
pub fn planned(
    destinations: &[Destination],
    client_id: &str,
    events: &EncodedEvents,
) -> (Vec<Outcome>, Vec<PlannedRequest>) {
    let base = Url::parse(options::DEFAULT_GOOGLE_ANALYTICS_URL).expect("the default URL parses");
    let mut requests = Vec::new();
    let outcomes = destinations
        .iter()
        .map(|d| {
            let payloads = payloads(&base, d, client_id, events, "/mp/collect");
            let mut planned = outcome(d, &payloads, Delivery::NotSent, None);
            planned.sha256 = payloads.bodies.iter().map(|b| sha256_hex(b)).collect();
            for (body, sha256) in payloads.bodies.iter().zip(&planned.sha256) {
                requests.push(PlannedRequest {
                    destination: d.id().to_owned(),
                    body: String::from_utf8_lossy(body).into_owned(),
                    sha256: sha256.clone(),
                });
            }
            planned
        })
        .collect();
    (outcomes, requests)
}

/// The SHA-256 of `bytes`, in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // A report of a large deployment hashes over a thousand bodies: no formatter per byte.
    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(bytes) {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    hex
}

/// Sends `events` to every destination at once, through the transport's client, and
/// waits for all outcomes, in the order of `destinations`.
pub async fn deliver(
    transport: &Transport,
    destinations: &[Destination],
    client_id: &str,
    events: &EncodedEvents,
) -> Vec<Outcome> {
    let (endpoint, policy) = (&transport.endpoint, transport.policy);
    let client = match transport.client().await {
        Ok(client) => client,
        Err(why) => {
            return destinations
                .iter()
                .map(|d| {
                    let payloads = payloads(&endpoint.base, d, client_id, events, "/mp/collect");
                    outcome(d, &payloads, Delivery::Failed, Some(why.clone()))
                })
                .collect()
        }
    };
    // A JoinSet aborts its tasks when dropped, so cancelling the cycle stops every send.
    let mut sends = JoinSet::new();
    for (index, destination) in destinations.iter().enumerate() {
        let payloads = payloads(&endpoint.base, destination, client_id, events, "/mp/collect");
        let (client, destination) = (client.clone(), destination.clone());
        sends.spawn(async move {
            let mut outcome = send_all(&client, &payloads, policy).await;
            if let Destination::Ga4 { secret, .. } = &destination {
                outcome.error = outcome.error.map(|e| errors::redact(&e, secret));
            }
            (index, Outcome { id: destination.id().to_owned(), protocol: destination.protocol(), ..outcome })
        });
    }
    let mut outcomes: Vec<Option<Outcome>> = vec![None; destinations.len()];
    while let Some(joined) = sends.join_next().await {
        // A send that panicked leaves its slot empty; it is reported below.
        if let Ok((index, outcome)) = joined {
            outcomes[index] = Some(outcome);
        }
    }
    outcomes
        .into_iter()
        .zip(destinations)
        .map(|(outcome, destination)| {
            outcome.unwrap_or_else(|| {
                let payloads = payloads(&endpoint.base, destination, client_id, events, "/mp/collect");
                self::outcome(
                    destination,
                    &payloads,
                    Delivery::Failed,
                    Some("the delivery task failed".to_owned()),
                )
            })
        })
        .collect()
}

/// What Google's validation server said of the report at one GA4 destination.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validation {
    /// The measurement id.
    pub id: String,
    /// `validationMessages` of every request, in order; empty when all is well.
    pub messages: Vec<serde_json::Value>,
    /// Why validation could not be done, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Sends the report to `/debug/mp/collect` of every GA4 destination (Google's validation
/// server: nothing reaches reports, and the API secret is not checked there) and gathers
/// its `validationMessages`, through the transport's client. Universal Analytics
/// destinations are not validated.
pub async fn validate(
    transport: &Transport,
    destinations: &[Destination],
    client_id: &str,
    events: &EncodedEvents,
) -> Vec<Validation> {
    let (endpoint, policy) = (&transport.endpoint, transport.policy);
    let client = transport.client().await;
    let mut results = Vec::new();
    for destination in destinations.iter().filter(|d| matches!(d, Destination::Ga4 { .. })) {
        let payloads = payloads(&endpoint.base, destination, client_id, events, "/debug/mp/collect");
        let mut validation =
            Validation { id: destination.id().to_owned(), messages: Vec::new(), error: None };
        match &client {
            Err(why) => validation.error = Some(why.clone()),
            Ok(client) => {
                for body in &payloads.bodies {
                    match validate_one(client, &payloads, body, policy).await {
                        Ok(messages) => validation.messages.extend(messages),
                        Err(why) => {
                            validation.error = Some(why);
                            break;
                        }
                    }
                }
            }
        }
        if let (Some(e), Destination::Ga4 { secret, .. }) = (&validation.error, destination) {
            validation.error = Some(errors::redact(e, secret));
        }
        results.push(validation);
    }
    results
}

async fn validate_one(
    client: &Client,
    payloads: &Payloads,
    body: &[u8],
    policy: Policy,
) -> Result<Vec<serde_json::Value>, String> {
    let exchange = async {
        let response = send(client, payloads, body).await?;
        if !response.status().is_success() {
            return Err(format!("HTTP status {}", response.status().as_u16()));
        }
        let answer = read_capped(response, MAX_VALIDATION_ANSWER).await.map_err(|e| errors::describe(&e))?;
        if !answer.complete {
            return Err(format!("validation answer over {MAX_VALIDATION_ANSWER} bytes; it was not read"));
        }
        Ok(answer.bytes)
    };
    // The deadline covers the answer's body too: a server may send it as slowly as it likes.
    let bytes = tokio::time::timeout(policy.deadline, exchange)
        .await
        .map_err(|_| "the delivery deadline passed".to_owned())??;
    let answer: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| "the validation server's answer is not JSON".to_owned())?;
    match answer.get("validationMessages") {
        Some(serde_json::Value::Array(messages)) => Ok(messages.clone()),
        _ => Err("the validation server's answer has no validationMessages".to_owned()),
    }
}

/// Builds the client of an endpoint. Blocking: for an `https` base it reads the system's
/// CA roots from disk.
fn build_client(endpoint: &Endpoint, policy: Policy) -> Result<Client, String> {
    let mut builder = Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(policy.connect_timeout)
        .timeout(policy.request_timeout)
        // A redirect would carry the secret somewhere Google did not say.
        .redirect(reqwest::redirect::Policy::none());
    if options::is_loopback(&endpoint.base) {
        // A proxy cannot reach this machine's loopback on our behalf.
        builder = builder.no_proxy();
    }
    let extra_roots = match &endpoint.extra_roots_pem {
        Some(pem) => Certificate::from_pem_bundle(pem)
            .map_err(|_| "the CA bundle holds no valid certificate".to_owned())?,
        None => Vec::new(),
    };
    builder = if endpoint.base.scheme() == "http" {
        // Plain http (the options allow it only for a loopback host, with no redirects and
        // no proxy) makes no TLS connection: the system's roots are not loaded at all. Were
        // TLS ever attempted, it would be verified against the CA bundle alone, and with
        // none it fails: closed, never open.
        builder.tls_certs_only(extra_roots)
    } else {
        builder.tls_certs_merge(extra_roots)
    };
    builder.build().map_err(|e| format!("cannot set up HTTPS: {}", errors::describe(&e)))
}

/// `<base><path>?measurement_id=..&api_secret=..`
fn ga4_url(base: &Url, path: &str, measurement_id: &str, secret: &Secret) -> Url {
    let mut url = with_path(base, path);
    url.query_pairs_mut()
        .append_pair("measurement_id", measurement_id)
        .append_pair("api_secret", secret.expose());
    url
}

fn with_path(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    url.set_path(&format!("{}{path}", base.path().trim_end_matches('/')));
    url
}

/// Posts the bodies one after another, each retried as [`retry::decide`] says; stops at
/// the first body that cannot be delivered.
async fn send_all(client: &Client, payloads: &Payloads, policy: Policy) -> Outcome {
    let started = Instant::now();
    let mut result = Outcome {
        id: String::new(),
        protocol: "",
        result: Delivery::Delivered,
        requests: payloads.bodies.len(),
        delivered: 0,
        attempts: 0,
        sha256: payloads.bodies.iter().map(|b| sha256_hex(b)).collect(),
        status: None,
        error: None,
    };
    'bodies: for body in &payloads.bodies {
        for attempt in 1.. {
            result.attempts += 1;
            let left = policy.deadline.saturating_sub(started.elapsed());
            let (attempted, error) = match tokio::time::timeout(left, post(client, payloads, body)).await {
                Err(_) => (Attempt::Failed, "the delivery deadline passed".to_owned()),
                Ok(Err(why)) => (Attempt::Failed, why),
                Ok(Ok(answer)) => {
                    let status = answer.status;
                    result.status = Some(status);
                    let error = if answer.complete {
                        format!("HTTP status {status}")
                    } else {
                        format!(
                            "HTTP status {status} with an answer over {MAX_DELIVERY_ANSWER} bytes, not read"
                        )
                    };
                    // The status alone decides: a 2xx stays delivered however long its answer.
                    (Attempt::Answered { status, retry_after: answer.retry_after }, error)
                }
            };
            let left = policy.deadline.saturating_sub(started.elapsed());
            match retry::decide(attempt, &attempted, left, &policy, retry::jitter()) {
                Decision::Delivered => {
                    result.delivered += 1;
                    continue 'bodies;
                }
                Decision::RetryAfter(wait) => tokio::time::sleep(wait).await,
                Decision::GiveUp => {
                    result.result = Delivery::Failed;
                    result.error =
                        Some(if attempt > 1 { format!("{error} (after {attempt} attempts)") } else { error });
                    break 'bodies;
                }
            }
        }
    }
    result
}

/// What one POST was answered.
struct Answer {
    status: u16,
    retry_after: Option<std::time::Duration>,
    /// Whether the answer's body was read to its end, within [`MAX_DELIVERY_ANSWER`].
    complete: bool,
}

/// Posts one body to where the payloads go; the error is described without the URL's
/// secret.
async fn send(client: &Client, payloads: &Payloads, body: &[u8]) -> Result<reqwest::Response, String> {
    client
        .post(payloads.url.clone())
        .header(reqwest::header::CONTENT_TYPE, payloads.content_type)
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| errors::describe(&e))
}

/// One POST: the status and any `Retry-After`, once at most [`MAX_DELIVERY_ANSWER`] bytes
/// of the answer are read.
async fn post(client: &Client, payloads: &Payloads, body: &[u8]) -> Result<Answer, String> {
    let response = send(client, payloads, body).await?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry::parse_retry_after(v, std::time::SystemTime::now()));
    // Read a short answer so the connection can be reused; a broken one is a failed attempt.
    let answer = read_capped(response, MAX_DELIVERY_ANSWER).await.map_err(|e| errors::describe(&e))?;
    Ok(Answer { status, retry_after, complete: answer.complete })
}

/// An answer's body, read up to a cap.
struct Capped {
    /// What was read: never more than the cap.
    bytes: Vec<u8>,
    /// Whether that is the whole body.
    complete: bool,
}

/// Reads at most `cap` bytes of the answer's body. A longer body, by its Content-Length or
/// by what arrives, is left unread: the response is dropped here, which closes the
/// connection instead of returning it to the pool, so the server cannot make us read on.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Capped, reqwest::Error> {
    if response.content_length().is_some_and(|announced| announced > cap as u64) {
        return Ok(Capped { bytes: Vec::new(), complete: false });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if chunk.len() > cap - bytes.len() {
            return Ok(Capped { bytes, complete: false });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Capped { bytes, complete: true })
}

fn outcome(
    destination: &Destination,
    payloads: &Payloads,
    result: Delivery,
    error: Option<String>,
) -> Outcome {
    Outcome {
        id: destination.id().to_owned(),
        protocol: destination.protocol(),
        result,
        requests: payloads.bodies.len(),
        delivered: 0,
        attempts: 0,
        sha256: Vec::new(),
        status: None,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Event, Param};
    use crate::value::Value;
    use ga4_collector::{Collector, Mode};
    use std::time::Duration;

    fn events(n: u64) -> EncodedEvents {
        EncodedEvents::new(
            (0..n)
                .map(|i| Event {
                    name: "host_count".into(),
                    params: [("value".into(), Param::Int(i))].into_iter().collect(),
                })
                .collect(),
        )
    }

    fn ga4(id: &str, secret: &str) -> Destination {
        let value = Value::Map(vec![
            (Value::atom("id"), Value::binary(id)),
            (Value::atom("secret"), Value::binary(secret)),
        ]);
        crate::destination::parse(&value).unwrap().destinations.remove(0)
    }

    fn ua(id: &str) -> Destination {
        Destination::UniversalAnalytics { tracking_id: id.to_owned() }
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    fn quick() -> Policy {
        Policy {
            connect_timeout: Duration::from_millis(500),
            request_timeout: Duration::from_secs(2),
            deadline: Duration::from_secs(5),
            base_delay: Duration::from_millis(20),
            ..Policy::default()
        }
    }

    fn at(url: &str) -> Endpoint {
        Endpoint { base: Url::parse(url).unwrap(), extra_roots_pem: None }
    }

    fn via(endpoint: Endpoint, policy: Policy) -> Transport {
        Transport::new(endpoint, policy)
    }

    /// What a hostile server wrote on one connection after its answer's head.
    #[derive(Debug)]
    struct Written {
        body_bytes: u64,
        closed_by_client: bool,
    }

    /// Stops a hostile server that the client never hangs up on.
    const HOSTILE_LIMIT: u64 = 1 << 30;

    /// A real HTTP server on 127.0.0.1 that answers every request with `head` and then
    /// writes body without end (as chunks when `chunked`, else raw bytes after a
    /// Content-Length of its own) until the client hangs up; each connection reports
    /// what it wrote on the returned channel.
    fn hostile(head: &'static str, chunked: bool) -> (String, std::sync::mpsc::Receiver<Written>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (report, written) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let report = report.clone();
                std::thread::spawn(move || {
                    stream.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
                    // The request: its head, then as much body as it announced.
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 4096];
                    let head_end = loop {
                        let n = stream.read(&mut buffer).unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        request.extend_from_slice(&buffer[..n]);
                        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                            break at + 4;
                        }
                    };
                    let announced = String::from_utf8_lossy(&request[..head_end])
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
                        })
                        .unwrap_or(0usize);
                    let mut left = announced.saturating_sub(request.len() - head_end);
                    while left > 0 {
                        match stream.read(&mut buffer) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => left = left.saturating_sub(n),
                        }
                    }
                    if stream.write_all(head.as_bytes()).is_err() {
                        let _ = report.send(Written { body_bytes: 0, closed_by_client: true });
                        return;
                    }
                    let block = vec![b'x'; 16 * 1024];
                    let mut framed = format!("{:x}\r\n", block.len()).into_bytes();
                    framed.extend_from_slice(&block);
                    framed.extend_from_slice(b"\r\n");
                    let piece = if chunked { &framed } else { &block };
                    let mut body_bytes = 0;
                    let closed_by_client = loop {
                        if body_bytes >= HOSTILE_LIMIT {
                            break false;
                        }
                        match stream.write_all(piece) {
                            Ok(()) => body_bytes += piece.len() as u64,
                            Err(e) => {
                                break e.kind() != std::io::ErrorKind::WouldBlock
                                    && e.kind() != std::io::ErrorKind::TimedOut
                            }
                        }
                    };
                    let _ = report.send(Written { body_bytes, closed_by_client });
                });
            }
        });
        (url, written)
    }

    /// Waits, on the runtime the client's connections live on, for `n` connections of a
    /// hostile server to end: an answer left unread must close its connection, not park it.
    async fn hung_up(written: &std::sync::mpsc::Receiver<Written>, n: usize) -> Vec<Written> {
        let mut ended = Vec::new();
        let give_up = Instant::now() + Duration::from_secs(10);
        while ended.len() < n && Instant::now() < give_up {
            match written.try_recv() {
                Ok(w) => ended.push(w),
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        ended
    }

    /// Far more than the kernel's socket buffers hold, far less than a reader that never
    /// stops takes in the test's time limits.
    const WRITTEN_BOUND: u64 = 128 << 20;

    fn patient() -> Policy {
        Policy { request_timeout: Duration::from_secs(20), deadline: Duration::from_secs(30), ..quick() }
    }

    const ENDLESS_200: &str =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    const HUGE_200: &str =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2147483648\r\n\r\n";
    const ENDLESS_500: &str = "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n";

    fn assert_hung_up_early(ended: &[Written], n: usize) {
        assert_eq!(ended.len(), n, "every connection ends while the client runs: {ended:?}");
        for w in ended {
            assert!(w.closed_by_client, "the client hung up: {w:?}");
            assert!(w.body_bytes < WRITTEN_BOUND, "the client stopped reading early: {w:?}");
        }
    }

    #[test]
    fn an_endless_or_huge_answer_to_a_delivery_is_not_read_and_the_2xx_stands() {
        for (head, chunked) in [(ENDLESS_200, true), (HUGE_200, false)] {
            let (url, written) = hostile(head, chunked);
            let started = std::time::Instant::now();
            let (outcome, ended) = run(async {
                let outcome = deliver(&via(at(&url), patient()), &[ga4("G-1", "s")], "cid", &events(1)).await;
                (outcome, hung_up(&written, 1).await)
            });
            let o = &outcome[0];
            assert_eq!((o.result, o.status, o.attempts, o.delivered), (Delivery::Delivered, Some(200), 1, 1));
            assert_eq!(o.error, None);
            assert!(started.elapsed() < Duration::from_secs(5), "{head:?} took {:?}", started.elapsed());
            assert_hung_up_early(&ended, 1);
        }
    }

    #[test]
    fn an_endless_answer_to_a_failed_delivery_says_so_and_is_retried_by_its_status() {
        let (url, written) = hostile(ENDLESS_500, true);
        let started = std::time::Instant::now();
        let (outcome, ended) = run(async {
            let outcome = deliver(&via(at(&url), patient()), &[ga4("G-1", "s")], "cid", &events(1)).await;
            (outcome, hung_up(&written, 4).await)
        });
        let o = &outcome[0];
        assert_eq!((o.result, o.status, o.attempts), (Delivery::Failed, Some(500), 4));
        assert_eq!(
            o.error.as_deref(),
            Some("HTTP status 500 with an answer over 8192 bytes, not read (after 4 attempts)")
        );
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
        assert_hung_up_early(&ended, 4);
    }

    #[test]
    fn an_endless_or_huge_validation_answer_is_refused_by_its_size() {
        for (head, chunked) in [(ENDLESS_200, true), (HUGE_200, false)] {
            let (url, written) = hostile(head, chunked);
            let started = std::time::Instant::now();
            let (results, ended) = run(async {
                let results =
                    validate(&via(at(&url), patient()), &[ga4("G-1", "s")], "cid", &events(1)).await;
                (results, hung_up(&written, 1).await)
            });
            assert_eq!(
                results[0].error.as_deref(),
                Some("validation answer over 65536 bytes; it was not read"),
                "{head:?}"
            );
            assert!(results[0].messages.is_empty());
            assert!(started.elapsed() < Duration::from_secs(5), "{head:?} took {:?}", started.elapsed());
            assert_hung_up_early(&ended, 1);
        }
    }

    #[test]
    fn at_most_the_cap_of_an_endless_answer_is_held() {
        let (url, written) = hostile(ENDLESS_200, true);
        let client = build_client(&at(&url), patient()).unwrap();
        let (held, ended) = run(async {
            let response = client.get(&url).send().await.unwrap();
            let held = read_capped(response, 1000).await.unwrap();
            (held, hung_up(&written, 1).await)
        });
        assert!(!held.complete);
        assert!(held.bytes.len() <= 1000, "{}", held.bytes.len());
        assert_hung_up_early(&ended, 1);
        let collector = Collector::start().unwrap();
        let whole = run(async {
            let url = format!("{}/debug/mp/collect?measurement_id=G-1&api_secret=s", collector.url());
            read_capped(client.post(url).body("{}").send().await.unwrap(), MAX_VALIDATION_ANSWER)
                .await
                .unwrap()
        });
        assert!(whole.complete && !whole.bytes.is_empty());
    }

    #[test]
    fn chunks_reach_every_destination_with_id_and_secret() {
        let collector = Collector::start().unwrap();
        let dests = [ga4("G-ONE", "s1"), ga4("G-TWO", "s2")];
        let outcomes = run(deliver(&via(at(&collector.url()), quick()), &dests, "cid", &events(30)));
        for (o, id) in outcomes.iter().zip(["G-ONE", "G-TWO"]) {
            assert_eq!(
                (o.id.as_str(), o.result, o.requests, o.delivered, o.attempts, o.status),
                (id, Delivery::Delivered, 2, 2, 2, Some(204))
            );
        }
        let seen = collector.requests();
        assert_eq!(seen.len(), 4);
        for r in &seen {
            assert!(r.problems.is_empty(), "{:?}", r.problems);
            assert_eq!(r.path, "/mp/collect");
        }
        let secrets: Vec<_> = seen.iter().map(|r| (r.measurement_id.clone(), r.api_secret.clone())).collect();
        assert!(secrets.contains(&(Some("G-ONE".into()), Some("s1".into()))));
        assert!(secrets.contains(&(Some("G-TWO".into()), Some("s2".into()))));
    }

    #[test]
    fn one_connection_per_destination_and_the_fewest_requests() {
        let collector = Collector::start().unwrap();
        let dests = [ga4("G-ONE", "s"), ga4("G-TWO", "s")];
        let outcomes = run(deliver(&via(at(&collector.url()), quick()), &dests, "cid", &events(1000)));
        assert!(outcomes.iter().all(|o| o.requests == 40 && o.delivered == 40), "ceil(1000 / 25) each");
        assert_eq!(collector.requests().len(), 80);
        assert_eq!(collector.connections(), 2, "keep-alive: one connection per destination");
    }

    #[test]
    fn one_transport_reuses_its_client_and_connection_across_deliveries_and_validation() {
        let collector = Collector::start().unwrap();
        let transport = via(at(&collector.url()), quick());
        assert!(!transport.is_built(), "the client is built when first needed, not before");
        // One runtime for all, as in the service: pooled connections live on it.
        let (first, second, validation) = run(async {
            let first = deliver(&transport, &[ga4("G-1", "s")], "cid", &events(30)).await;
            let second = deliver(&transport, &[ga4("G-1", "s")], "cid", &events(30)).await;
            let validation = validate(&transport, &[ga4("G-1", "s")], "cid", &events(30)).await;
            (first, second, validation)
        });
        assert!(transport.is_built());
        for o in first.iter().chain(&second) {
            assert_eq!((o.result, o.requests, o.delivered), (Delivery::Delivered, 2, 2));
        }
        assert_eq!((validation[0].messages.len(), validation[0].error.as_deref()), (0, None));
        assert_eq!(collector.requests().len(), 6, "2 + 2 requests delivered, 2 validated");
        assert_eq!(
            collector.connections(),
            1,
            "keep-alive: the one client's one connection, not one per request"
        );
    }

    /// Marks the process that [`a_plain_http_client_is_built_without_the_systems_ca_roots`]
    /// starts, whose environment names no CA certificate at all.
    const NO_SYSTEM_ROOTS: &str = "MSM_TEST_NO_SYSTEM_ROOTS";

    #[test]
    fn a_plain_http_client_is_built_without_the_systems_ca_roots() {
        // rustls-native-certs reads SSL_CERT_FILE and SSL_CERT_DIR, when set, instead of the
        // system's store: here an absent file and an empty directory. The environment is
        // the process's, so the check runs in a child process of this test binary.
        let dir = crate::atomic_file::tests::temp_dir("no-ca-roots");
        std::fs::create_dir(dir.join("certs")).unwrap();
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["delivery::tests::in_a_child_without_system_roots", "--exact", "--ignored", "--nocapture"])
            .env("SSL_CERT_FILE", dir.join("absent.pem"))
            .env("SSL_CERT_DIR", dir.join("certs"))
            .env(NO_SYSTEM_ROOTS, "1")
            .output()
            .unwrap();
        let output =
            format!("{}{}", String::from_utf8_lossy(&child.stdout), String::from_utf8_lossy(&child.stderr));
        assert!(child.status.success(), "{output}");
        assert!(output.contains("test result: ok. 1 passed"), "the child ran the check: {output}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    #[ignore = "run by a_plain_http_client_is_built_without_the_systems_ca_roots, in a child process"]
    fn in_a_child_without_system_roots() {
        if std::env::var_os(NO_SYSTEM_ROOTS).is_none() {
            return;
        }
        // The control: here an https client, which loads the system's roots, cannot be built.
        let https = build_client(&at("https://127.0.0.1:9"), quick());
        assert!(https.as_ref().is_err_and(|e| e.starts_with("cannot set up HTTPS")), "{https:?}");
        let tls = Collector::bind_tls("127.0.0.1:0").unwrap();
        let bundle = Some(tls.ca_pem().unwrap().as_bytes().to_vec());
        // A plain http one needs no roots, with or without a CA bundle, and delivers.
        let collector = Collector::start().unwrap();
        for extra_roots_pem in [None, bundle.clone()] {
            let transport =
                via(Endpoint { base: Url::parse(&collector.url()).unwrap(), extra_roots_pem }, quick());
            let outcome = run(deliver(&transport, &[ga4("G-1", "s")], "cid", &events(30))).remove(0);
            assert_eq!((outcome.result, outcome.delivered), (Delivery::Delivered, 2), "{outcome:?}");
        }
        // An https one with a CA bundle still works: the bundle is trusted beside no roots.
        let trusted =
            via(Endpoint { base: Url::parse(&tls.url()).unwrap(), extra_roots_pem: bundle }, quick());
        let outcome = run(deliver(&trusted, &[ga4("G-1", "s")], "cid", &events(1))).remove(0);
        assert_eq!((outcome.result, outcome.status), (Delivery::Delivered, Some(204)), "{outcome:?}");
    }

    #[test]
    fn a_plain_http_client_makes_no_tls_connection_even_if_asked() {
        // Not a case delivery meets (the base decides the scheme, and redirects are off),
        // but were a plain-http client ever pointed at TLS, it verifies against nothing
        // and refuses: it fails closed.
        let tls = Collector::bind_tls("127.0.0.1:0").unwrap();
        let client = build_client(&at("http://127.0.0.1:9"), quick()).unwrap();
        let refused = run(async { client.post(format!("{}/mp/collect", tls.url())).body("{}").send().await });
        assert!(errors::describe(&refused.unwrap_err()).contains("TLS certificate rejected"));
        assert!(tls.requests().is_empty());
    }

    #[test]
    fn a_lasting_500_is_retried_then_fails_naming_status_and_attempts() {
        let collector = Collector::start().unwrap();
        collector.set_mode(Mode::Status(500));
        let outcomes =
            run(deliver(&via(at(&collector.url()), quick()), &[ga4("G-1", "s")], "cid", &events(30)));
        let o = &outcomes[0];
        assert_eq!((o.result, o.status, o.delivered, o.attempts), (Delivery::Failed, Some(500), 0, 4));
        assert_eq!(o.error.as_deref(), Some("HTTP status 500 (after 4 attempts)"));
        assert_eq!(collector.requests().len(), 4, "the second chunk is not sent after a failure");
    }

    fn one_outcome(collector: &Collector, mode: &str, policy: Policy) -> Outcome {
        collector.set_mode(Mode::parse(mode).unwrap());
        run(deliver(&via(at(&collector.url()), policy), &[ga4("G-1", "s")], "cid", &events(1))).remove(0)
    }

    #[test]
    fn a_503_then_200_is_delivered_on_the_retry() {
        let collector = Collector::start().unwrap();
        let o = one_outcome(&collector, "sequence 503,503", quick());
        assert_eq!((o.result, o.delivered, o.attempts, o.status), (Delivery::Delivered, 1, 3, Some(204)));
    }

    #[test]
    fn retry_after_is_waited_for() {
        let collector = Collector::start().unwrap();
        let started = std::time::Instant::now();
        let o = one_outcome(&collector, "sequence 429:1", quick());
        assert_eq!((o.result, o.attempts), (Delivery::Delivered, 2));
        assert!(started.elapsed() >= Duration::from_secs(1), "the server asked for a second");
        let o = one_outcome(&collector, "sequence 429:3600", quick());
        assert_eq!((o.result, o.attempts), (Delivery::Failed, 1), "an hour is more than we wait");
    }

    #[test]
    fn faults_end_in_a_failed_outcome_within_the_deadline() {
        let collector = Collector::start().unwrap();
        let policy = Policy {
            request_timeout: Duration::from_millis(300),
            deadline: Duration::from_secs(2),
            ..quick()
        };
        for (mode, error) in [
            ("hang", "timed out"),
            ("dribble 100", "timed out"),
            ("reset", "request failed"),
            ("garbage", "request failed"),
        ] {
            let started = std::time::Instant::now();
            let o = one_outcome(&collector, mode, policy);
            assert_eq!(o.result, Delivery::Failed, "{mode}");
            assert!(o.error.as_deref().unwrap().starts_with(error), "{mode}: {:?}", o.error);
            assert!(o.attempts > 1, "{mode}: network failures are retried");
            assert!(started.elapsed() < Duration::from_secs(3), "{mode} held delivery past the deadline");
        }
    }

    #[test]
    fn certificates_are_verified_and_a_private_ca_can_be_trusted() {
        let collector = Collector::bind_tls("127.0.0.1:0").unwrap();
        let untrusted =
            run(deliver(&via(at(&collector.url()), quick()), &[ga4("G-1", "s")], "cid", &events(1)));
        assert_eq!(untrusted[0].result, Delivery::Failed);
        assert!(
            untrusted[0].error.as_deref().unwrap().contains("TLS certificate rejected"),
            "{:?}",
            untrusted[0]
        );
        assert!(collector.requests().is_empty(), "nothing was sent over an unverified connection");
        let trusted = Endpoint {
            base: Url::parse(&collector.url()).unwrap(),
            extra_roots_pem: Some(collector.ca_pem().unwrap().as_bytes().to_vec()),
        };
        let outcome = run(deliver(&via(trusted, quick()), &[ga4("G-1", "s")], "cid", &events(1)));
        assert_eq!((outcome[0].result, outcome[0].status), (Delivery::Delivered, Some(204)));
        assert_eq!(collector.requests().len(), 1);
    }

    #[test]
    fn a_404_is_not_retried() {
        let collector = Collector::start().unwrap();
        collector.set_mode(Mode::Status(404));
        let outcomes =
            run(deliver(&via(at(&collector.url()), quick()), &[ga4("G-1", "s")], "cid", &events(1)));
        assert_eq!((outcomes[0].attempts, outcomes[0].error.as_deref()), (1, Some("HTTP status 404")));
    }

    #[test]
    fn a_collector_that_is_down_fails_cleanly_without_the_secret() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let endpoint = at(&format!("http://127.0.0.1:{port}"));
        let outcomes = run(deliver(
            &via(endpoint, quick()),
            &[ga4("G-1", "VERYSECRET"), ga4("G-2", "s")],
            "cid",
            &events(1),
        ));
        for o in &outcomes {
            assert_eq!(o.result, Delivery::Failed);
            assert_eq!(o.attempts, 4);
            assert_eq!(o.error.as_deref(), Some("connection failed: connection refused (after 4 attempts)"));
        }
    }

    #[test]
    fn one_failing_destination_does_not_stop_another() {
        let collector = Collector::start().unwrap();
        collector.set_mode(Mode::StatusFor("G-BAD".into(), 403));
        let dests = [ga4("G-BAD", "s"), ga4("G-GOOD", "s")];
        let outcomes = run(deliver(&via(at(&collector.url()), quick()), &dests, "cid", &events(3)));
        assert_eq!((outcomes[0].result, outcomes[0].status), (Delivery::Failed, Some(403)));
        assert_eq!((outcomes[1].result, outcomes[1].delivered), (Delivery::Delivered, 1));
    }

    #[test]
    fn universal_analytics_goes_to_batch_in_groups_of_20() {
        let collector = Collector::start().unwrap();
        let outcomes =
            run(deliver(&via(at(&collector.url()), quick()), &[ua("UA-151671255-3")], "cid-1", &events(25)));
        assert_eq!(
            (outcomes[0].result, outcomes[0].requests, outcomes[0].protocol),
            (Delivery::Delivered, 2, "universal_analytics")
        );
        let seen = collector.requests();
        assert!(seen.iter().all(|r| r.path == "/batch" && r.problems.is_empty()), "{seen:?}");
        let first_hit = seen[0].body.lines().next().unwrap();
        assert_eq!(first_hit, "v=1&tid=UA-151671255-3&cid=cid-1&t=event&ec=hosts&ea=count&el=0");
        assert_eq!(seen.iter().map(|r| r.body.lines().count()).collect::<Vec<_>>(), [20, 5]);
    }

    #[test]
    fn validation_gathers_googles_messages() {
        let collector = Collector::start().unwrap();
        let bad = Event { name: "page_view".into(), params: Default::default() };
        let results = run(validate(
            &via(at(&collector.url()), quick()),
            &[ga4("G-1", "s"), ua("UA-1-1")],
            "cid",
            &EncodedEvents::new(vec![bad]),
        ));
        assert_eq!(results.len(), 1, "only GA4 destinations are validated");
        assert_eq!(results[0].id, "G-1");
        assert!(
            results[0].messages[0]["description"].as_str().unwrap().contains("reserved"),
            "{:?}",
            results[0]
        );
        let good = run(validate(&via(at(&collector.url()), quick()), &[ga4("G-1", "s")], "cid", &events(2)));
        assert_eq!((good[0].messages.len(), good[0].error.as_deref()), (0, None));
        assert!(collector.requests().iter().all(|r| r.path == "/debug/mp/collect"));
    }

    #[test]
    fn redact_removes_secrets_from_urls_and_text() {
        let long = match ga4("G-1", "0123456789abcdef") {
            Destination::Ga4 { secret, .. } => secret,
            _ => unreachable!(),
        };
        assert_eq!(
            errors::redact(
                "error for url (http://x/mp/collect?measurement_id=G-1&api_secret=0123456789abcdef) here",
                &long
            ),
            "error for url (http://x/mp/collect?measurement_id=G-1&api_secret=<redacted>) here"
        );
        assert_eq!(errors::redact("saw 0123456789abcdef", &long), "saw <redacted>");
        let short = match ga4("G-1", "s") {
            Destination::Ga4 { secret, .. } => secret,
            _ => unreachable!(),
        };
        assert_eq!(errors::redact("HTTP status 500", &short), "HTTP status 500");
    }

    #[test]
    fn urls_keep_a_base_path_and_the_eu_host() {
        let secret = match ga4("G-1", "a&b") {
            Destination::Ga4 { secret, .. } => secret,
            _ => unreachable!(),
        };
        let url = ga4_url(&Url::parse("https://example.com/prefix").unwrap(), "/mp/collect", "G-1", &secret);
        assert_eq!(url.as_str(), "https://example.com/prefix/mp/collect?measurement_id=G-1&api_secret=a%26b");
        let eu = ga4_url(
            &Url::parse("https://region1.google-analytics.com").unwrap(),
            "/mp/collect",
            "G-1",
            &secret,
        );
        assert_eq!(
            eu.as_str(),
            "https://region1.google-analytics.com/mp/collect?measurement_id=G-1&api_secret=a%26b"
        );
        assert_eq!(
            with_path(&Url::parse("https://region1.google-analytics.com/").unwrap(), "/batch").as_str(),
            "https://region1.google-analytics.com/batch"
        );
    }

    #[test]
    fn planned_counts_requests_without_sending() {
        let (outcomes, requests) = planned(&[ga4("G-1", "s"), ua("UA-1-1")], "cid", &events(26));
        assert_eq!((outcomes[0].result, outcomes[0].requests), (Delivery::NotSent, 2));
        assert_eq!((outcomes[1].result, outcomes[1].requests), (Delivery::NotSent, 2));
        assert_eq!(requests.len(), 4);
        assert_eq!(requests[0].sha256, sha256_hex(requests[0].body.as_bytes()));
        assert_eq!(outcomes[0].sha256, [requests[0].sha256.clone(), requests[1].sha256.clone()]);
    }

    #[test]
    fn the_hashes_are_of_the_bytes_sent() {
        let collector = Collector::start().unwrap();
        let outcome =
            run(deliver(&via(at(&collector.url()), quick()), &[ga4("G-1", "s")], "cid", &events(30)))
                .remove(0);
        let sent: Vec<String> = collector.requests().iter().map(|r| sha256_hex(r.body.as_bytes())).collect();
        assert_eq!(outcome.sha256, sent);
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
