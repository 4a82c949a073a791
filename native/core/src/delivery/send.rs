//! Delivery proper: every destination at once, its bodies one after another, each retried
//! as [`retry::decide`] says within the destination's deadline.

use reqwest::Client;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::payloads::{outcome, payloads, Payloads};
use super::plan::sha256_hex;
use super::retry::{self, Attempt, Decision};
use super::transport::{post_body, read_capped, Transport};
use super::{errors, Policy};
use crate::destination::Destination;
use crate::encoded::EncodedEvents;
use crate::report::{Delivery, Outcome};

/// The most of an answer to `/mp/collect` or `/batch` that is read: Google answers them
/// with an empty body, and a server that sends more must not grow our memory.
pub const MAX_DELIVERY_ANSWER: usize = 8 * 1024;

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

/// One POST: the status and any `Retry-After`, once at most [`MAX_DELIVERY_ANSWER`] bytes
/// of the answer are read.
async fn post(client: &Client, payloads: &Payloads, body: &[u8]) -> Result<Answer, String> {
    let response = post_body(client, payloads, body).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::hostile_server::{
        assert_hung_up_early, hostile, hung_up, patient, ENDLESS_200, ENDLESS_500, HUGE_200,
    };
    use crate::delivery::test_support::{at, events, ga4, quick, run, ua, via};
    use ga4_collector::{Collector, Mode};
    use std::time::Duration;

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
