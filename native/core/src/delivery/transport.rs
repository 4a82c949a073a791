//! The HTTP client of one configuration, built when first needed and kept with its
//! connection pool, and the two things every exchange does with it: post a body, and
//! read at most a capped part of the answer.

use reqwest::Client;

use super::endpoint::{build_client, Endpoint};
use super::errors;
use super::payloads::Payloads;
use super::Policy;

/// Where one configuration delivers, with what limits, and the HTTP client that does it.
///
/// The client (its CA roots, the `ca_bundle`, the timeouts, no redirects, no proxy for a
/// loopback base) is built once, on the core's runtime, the first time it is needed, and
/// then shared by every cycle and validation of this configuration; it goes when the
/// transport does, with its pooled connections. A build that fails is not kept: the next
/// cycle tries again.
#[derive(Debug)]
pub struct Transport {
    pub(super) endpoint: Endpoint,
    pub(super) policy: Policy,
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

/// Posts one body to where the payloads go; the error is described without the URL's
/// secret.
pub(super) async fn post_body(
    client: &Client,
    payloads: &Payloads,
    body: &[u8],
) -> Result<reqwest::Response, String> {
    client
        .post(payloads.url.clone())
        .header(reqwest::header::CONTENT_TYPE, payloads.content_type)
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| errors::describe(&e))
}

/// An answer's body, read up to a cap.
pub(super) struct Capped {
    /// What was read: never more than the cap.
    pub(super) bytes: Vec<u8>,
    /// Whether that is the whole body.
    pub(super) complete: bool,
}

/// Reads at most `cap` bytes of the answer's body. A longer body, by its Content-Length or
/// by what arrives, is left unread: the response is dropped here, which closes the
/// connection instead of returning it to the pool, so the server cannot make us read on.
pub(super) async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Capped, reqwest::Error> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::hostile_server::{assert_hung_up_early, hostile, hung_up, patient, ENDLESS_200};
    use crate::delivery::test_support::{at, events, ga4, quick, run, via};
    use crate::delivery::{deliver, validate, MAX_VALIDATION_ANSWER};
    use crate::report::Delivery;
    use ga4_collector::Collector;

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
}
