//! What a report would send, without sending it: each destination's outcome and request
//! bodies with their SHA-256, for a preview and for the local mode.

use sha2::{Digest, Sha256};

use super::endpoint;
use super::payloads::{outcome, payloads};
use crate::destination::Destination;
use crate::encoded::EncodedEvents;
use crate::report::{Delivery, Outcome, PlannedRequest};

/// The outcome each destination would have before anything is sent, and the request
/// bodies it would get: for a preview, and for the local mode.
pub fn planned(
    destinations: &[Destination],
    client_id: &str,
    events: &EncodedEvents,
) -> (Vec<Outcome>, Vec<PlannedRequest>) {
    let base = endpoint::default_base();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::test_support::{events, ga4, ua};

    #[test]
    fn planned_counts_requests_without_sending() {
        let (outcomes, requests) = planned(&[ga4("G-1", "s"), ua("UA-1-1")], "cid", &events(26));
        assert_eq!((outcomes[0].result, outcomes[0].requests), (Delivery::NotSent, 2));
        assert_eq!((outcomes[1].result, outcomes[1].requests), (Delivery::NotSent, 2));
        assert_eq!(requests.len(), 4);
        assert_eq!(requests[0].sha256, sha256_hex(requests[0].body.as_bytes()));
        assert_eq!(outcomes[0].sha256, [requests[0].sha256.clone(), requests[1].sha256.clone()]);
    }
}
