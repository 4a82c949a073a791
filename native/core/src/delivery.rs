//! HTTP delivery of a report to every destination: GA4 requests over rustls with
//! certificate verification, a connect and a per-request timeout, and a deadline for the
//! whole cycle. Destinations are independent: one failing never stops the others, and
//! each gets an [`Outcome`]. Error texts are built here, never from a URL, so the API
//! secret cannot leak into them.

use std::error::Error as _;
use std::time::Duration;

use reqwest::Client;
use tokio::task::JoinSet;
use tokio::time::Instant;
use url::Url;

use crate::destination::{Destination, Secret};
use crate::events::Event;
use crate::ga4;
use crate::options;
use crate::report::{Delivery, Outcome};

/// Time limits of delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Limit on opening a connection.
    pub connect_timeout: Duration,
    /// Limit on one request, from sending to the end of the answer.
    pub request_timeout: Duration,
    /// Limit on all the requests of one destination in one cycle.
    pub deadline: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            deadline: Duration::from_secs(60),
        }
    }
}

const USER_AGENT: &str = concat!("mongoose_system_metrics/", env!("CARGO_PKG_VERSION"));

/// The outcome each destination would have before anything is sent: for a preview.
pub fn planned(destinations: &[Destination], client_id: &str, events: &[Event]) -> Vec<Outcome> {
    let requests = ga4::request_bodies(client_id, events).len();
    destinations
        .iter()
        .map(|d| match d {
            Destination::Ga4 { .. } => outcome(d, requests, Delivery::NotSent, None),
            Destination::UniversalAnalytics { .. } => skipped_ua(d),
        })
        .collect()
}

/// Sends `events` to every destination at once and waits for all outcomes, in the
/// order of `destinations`.
pub async fn deliver(
    base: &Url,
    destinations: &[Destination],
    client_id: &str,
    events: &[Event],
    policy: Policy,
) -> Vec<Outcome> {
    let bodies = ga4::request_bodies(client_id, events);
    let client = match client(base, policy) {
        Ok(client) => client,
        Err(why) => {
            return destinations
                .iter()
                .map(|d| outcome(d, bodies.len(), Delivery::Failed, Some(why.clone())))
                .collect()
        }
    };
    // A JoinSet aborts its tasks when dropped, so cancelling the cycle stops every send.
    let mut sends = JoinSet::new();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; destinations.len()];
    for (index, destination) in destinations.iter().enumerate() {
        match destination {
            Destination::Ga4 { measurement_id, secret } => {
                let url = collect_url(base, measurement_id, secret);
                let (client, bodies) = (client.clone(), bodies.clone());
                let (destination, secret) = (destination.clone(), secret.clone());
                sends.spawn(async move {
                    let mut outcome = send_all(&client, url, &bodies, policy).await;
                    outcome.error = outcome.error.map(|e| redact(&e, &secret));
                    (
                        index,
                        Outcome {
                            id: destination.id().to_owned(),
                            protocol: destination.protocol(),
                            ..outcome
                        },
                    )
                });
            }
            Destination::UniversalAnalytics { .. } => outcomes[index] = Some(skipped_ua(destination)),
        }
    }
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
                let why = "the delivery task failed".to_owned();
                self::outcome(destination, bodies.len(), Delivery::Failed, Some(why))
            })
        })
        .collect()
}

fn client(base: &Url, policy: Policy) -> Result<Client, String> {
    let mut builder = Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(policy.connect_timeout)
        .timeout(policy.request_timeout)
        // A redirect would carry the secret somewhere Google did not say.
        .redirect(reqwest::redirect::Policy::none());
    if options::is_loopback(base) {
        // A proxy cannot reach this machine's loopback on our behalf.
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| format!("cannot set up HTTPS: {}", describe(&e)))
}

/// `<base>/mp/collect?measurement_id=..&api_secret=..`
fn collect_url(base: &Url, measurement_id: &str, secret: &Secret) -> Url {
    let mut url = base.clone();
    url.set_path(&format!("{}/mp/collect", base.path().trim_end_matches('/')));
    url.query_pairs_mut()
        .append_pair("measurement_id", measurement_id)
        .append_pair("api_secret", secret.expose());
    url
}

/// Posts the bodies one after another; stops at the first failure.
async fn send_all(client: &Client, url: Url, bodies: &[Vec<u8>], policy: Policy) -> Outcome {
    let started = Instant::now();
    let mut result = Outcome {
        id: String::new(),
        protocol: "ga4",
        result: Delivery::Delivered,
        requests: bodies.len(),
        delivered: 0,
        status: None,
        error: None,
    };
    for body in bodies {
        let left = policy.deadline.saturating_sub(started.elapsed());
        let request = client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send();
        let answer = match tokio::time::timeout(left, request).await {
            Err(_) => Err("the cycle's delivery deadline passed".to_owned()),
            Ok(Err(e)) => Err(describe(&e)),
            Ok(Ok(response)) => {
                let status = response.status();
                result.status = Some(status.as_u16());
                // Read the (short) answer so the connection can be reused.
                let _ = tokio::time::timeout(left, response.bytes()).await;
                if status.is_success() {
                    Ok(())
                } else {
                    Err(format!("HTTP status {}", status.as_u16()))
                }
            }
        };
        match answer {
            Ok(()) => result.delivered += 1,
            Err(why) => {
                result.result = Delivery::Failed;
                result.error = Some(why);
                break;
            }
        }
    }
    result
}

/// A short description of a reqwest error, in fixed words only: library messages can
/// name the URL (with the secret) or a host, and this text goes into the report file.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "bad answer"
    } else if error.is_builder() {
        "bad request"
    } else {
        "request failed"
    };
    let mut io_kind = None;
    let mut tls = None;
    let mut source = error.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("certificate") {
            tls = Some("TLS certificate rejected");
        } else if tls.is_none() && (text.contains("tls") || text.contains("handshake")) {
            tls = Some("TLS handshake failed");
        }
        source = e.source();
    }
    match (tls, io_kind) {
        (Some(tls), _) => format!("{kind}: {tls}"),
        (None, Some(io)) => format!("{kind}: {io}"),
        (None, None) => kind.to_owned(),
    }
}

/// Belt and braces: no message may carry the secret, whatever a library put in it. A URL
/// would carry it as a query parameter; a long enough secret is also removed wherever it
/// stands (a very short one would match ordinary words).
fn redact(message: &str, secret: &Secret) -> String {
    const PARAM: &str = "api_secret=";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(PARAM) {
        out.push_str(&rest[..at + PARAM.len()]);
        out.push_str("<redacted>");
        rest = &rest[at + PARAM.len()..];
        let end = rest.find(|c: char| c == '&' || c == ')' || c.is_whitespace()).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    if secret.expose().len() >= 8 {
        out = out.replace(secret.expose(), "<redacted>");
    }
    out
}

fn skipped_ua(destination: &Destination) -> Outcome {
    outcome(
        destination,
        0,
        Delivery::Skipped,
        Some(
            "Universal Analytics is not sent: Google stopped processing UA data in July 2023; use a GA4 id"
                .into(),
        ),
    )
}

fn outcome(destination: &Destination, requests: usize, result: Delivery, error: Option<String>) -> Outcome {
    Outcome {
        id: destination.id().to_owned(),
        protocol: destination.protocol(),
        result,
        requests,
        delivered: 0,
        status: None,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Param;
    use crate::value::Value;
    use ga4_collector::{Collector, Mode};

    fn events(n: u64) -> Vec<Event> {
        (0..n)
            .map(|i| Event {
                name: "host_count".into(),
                params: [("value".to_owned(), Param::Int(i))].into_iter().collect(),
            })
            .collect()
    }

    fn ga4(id: &str, secret: &str) -> Destination {
        let value = Value::Map(vec![
            (Value::atom("id"), Value::binary(id)),
            (Value::atom("secret"), Value::binary(secret)),
        ]);
        crate::destination::parse(&value).unwrap().destinations.remove(0)
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    fn quick() -> Policy {
        Policy {
            connect_timeout: Duration::from_millis(500),
            request_timeout: Duration::from_secs(2),
            deadline: Duration::from_secs(5),
        }
    }

    #[test]
    fn chunks_reach_every_destination_with_id_and_secret() {
        let collector = Collector::start().unwrap();
        let base = Url::parse(&collector.url()).unwrap();
        let dests = [ga4("G-ONE", "s1"), ga4("G-TWO", "s2")];
        let outcomes = run(deliver(&base, &dests, "cid", &events(30), quick()));
        for (o, id) in outcomes.iter().zip(["G-ONE", "G-TWO"]) {
            assert_eq!(
                (o.id.as_str(), o.result, o.requests, o.delivered, o.status),
                (id, Delivery::Delivered, 2, 2, Some(204))
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
    fn a_500_is_a_failure_that_names_the_status() {
        let collector = Collector::start().unwrap();
        collector.set_mode(Mode::Status(500));
        let base = Url::parse(&collector.url()).unwrap();
        let outcomes = run(deliver(&base, &[ga4("G-1", "s")], "cid", &events(30), quick()));
        assert_eq!(outcomes[0].result, Delivery::Failed);
        assert_eq!(outcomes[0].status, Some(500));
        assert_eq!(outcomes[0].delivered, 0);
        assert_eq!(outcomes[0].error.as_deref(), Some("HTTP status 500"));
        assert_eq!(collector.requests().len(), 1, "the second chunk is not sent after a failure");
    }

    #[test]
    fn a_collector_that_is_down_fails_cleanly_without_the_secret() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let base = Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let outcomes =
            run(deliver(&base, &[ga4("G-1", "VERYSECRET"), ga4("G-2", "s")], "cid", &events(1), quick()));
        for o in &outcomes {
            assert_eq!(o.result, Delivery::Failed);
            let error = o.error.as_deref().unwrap();
            assert_eq!(error, "connection failed: connection refused");
            assert!(!error.contains("VERYSECRET") && !error.contains("api_secret"), "{error}");
        }
    }

    #[test]
    fn one_failing_destination_does_not_stop_another() {
        let collector = Collector::start().unwrap();
        collector.set_mode(Mode::StatusFor("G-BAD".into(), 503));
        let base = Url::parse(&collector.url()).unwrap();
        let outcomes =
            run(deliver(&base, &[ga4("G-BAD", "s"), ga4("G-GOOD", "s")], "cid", &events(3), quick()));
        assert_eq!((outcomes[0].result, outcomes[0].status), (Delivery::Failed, Some(503)));
        assert_eq!((outcomes[1].result, outcomes[1].delivered), (Delivery::Delivered, 1));
    }

    #[test]
    fn universal_analytics_is_skipped_with_a_reason() {
        let ua = Destination::UniversalAnalytics { tracking_id: "UA-1-1".into() };
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        let outcomes = run(deliver(&base, &[ua], "cid", &events(1), quick()));
        assert_eq!(outcomes[0].result, Delivery::Skipped);
        assert!(outcomes[0].error.as_deref().unwrap().contains("July 2023"));
    }

    #[test]
    fn redact_removes_secrets_from_urls_and_text() {
        let long = match ga4("G-1", "0123456789abcdef") {
            Destination::Ga4 { secret, .. } => secret,
            _ => unreachable!(),
        };
        assert_eq!(
            redact(
                "error for url (http://x/mp/collect?measurement_id=G-1&api_secret=0123456789abcdef) here",
                &long
            ),
            "error for url (http://x/mp/collect?measurement_id=G-1&api_secret=<redacted>) here"
        );
        assert_eq!(redact("saw 0123456789abcdef", &long), "saw <redacted>");
        let short = match ga4("G-1", "s") {
            Destination::Ga4 { secret, .. } => secret,
            _ => unreachable!(),
        };
        assert_eq!(redact("HTTP status 500", &short), "HTTP status 500");
    }

    #[test]
    fn the_collect_url_keeps_a_base_path() {
        let secret = match ga4("G-1", "a&b") {
            Destination::Ga4 { secret, .. } => secret,
            _ => unreachable!(),
        };
        let url = collect_url(&Url::parse("https://example.com/prefix").unwrap(), "G-1", &secret);
        assert_eq!(url.as_str(), "https://example.com/prefix/mp/collect?measurement_id=G-1&api_secret=a%26b");
    }

    #[test]
    fn planned_counts_requests_without_sending() {
        let outcomes = planned(&[ga4("G-1", "s")], "cid", &events(26));
        assert_eq!((outcomes[0].result, outcomes[0].requests), (Delivery::NotSent, 2));
    }
}
