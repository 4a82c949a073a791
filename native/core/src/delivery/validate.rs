//! Validation of a report against Google's validation server, `/debug/mp/collect`: what
//! it says of the events, without anything reaching reports.

use reqwest::Client;
use serde::Serialize;

use super::payloads::{payloads, Payloads};
use super::transport::{post_body, read_capped, Transport};
use super::{errors, Policy};
use crate::destination::Destination;
use crate::encoded::EncodedEvents;

/// The most of a validation answer that is read: Google's `validationMessages` for one
/// request of at most 25 events stay well below it.
pub const MAX_VALIDATION_ANSWER: usize = 64 * 1024;

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
        let response = post_body(client, payloads, body).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::hostile_server::{
        assert_hung_up_early, hostile, hung_up, patient, ENDLESS_200, HUGE_200,
    };
    use crate::delivery::test_support::{at, events, ga4, quick, run, ua, via};
    use crate::events::Event;
    use ga4_collector::Collector;
    use std::time::Duration;

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
}
