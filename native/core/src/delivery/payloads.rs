//! What each destination is sent: its URL, its content type and its request bodies, built
//! the same way for a delivery, a validation and a preview.

use url::Url;

use super::endpoint::{ga4_url, with_path};
use crate::destination::Destination;
use crate::encoded::EncodedEvents;
use crate::report::{Delivery, Outcome};
use crate::{ga4, ua};

/// What a destination is sent: where, as what, and the bodies in order.
pub(super) struct Payloads {
    pub(super) url: Url,
    pub(super) content_type: &'static str,
    pub(super) bodies: Vec<Vec<u8>>,
}

/// The payloads of `destination` for `events`, to `path` for GA4 (`/mp/collect`, or
/// `/debug/mp/collect` to validate) and to `/batch` for Universal Analytics.
pub(super) fn payloads(
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

/// An outcome that counts the destination's requests and no attempt at them: a plan's, or
/// that of a delivery that could not run.
pub(super) fn outcome(
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
