//! What the tests of delivery share: events, destinations, endpoints and a quick policy.

use std::time::Duration;

use url::Url;

use super::{Endpoint, Policy, Transport};
use crate::destination::Destination;
use crate::encoded::EncodedEvents;
use crate::events::{Event, Param};
use crate::value::Value;

pub(super) fn events(n: u64) -> EncodedEvents {
    EncodedEvents::new(
        (0..n)
            .map(|i| Event {
                name: "host_count".into(),
                params: [("value".into(), Param::Int(i))].into_iter().collect(),
            })
            .collect(),
    )
}

pub(super) fn ga4(id: &str, secret: &str) -> Destination {
    let value = Value::Map(vec![
        (Value::atom("id"), Value::binary(id)),
        (Value::atom("secret"), Value::binary(secret)),
    ]);
    crate::destination::parse(&value).unwrap().destinations.remove(0)
}

pub(super) fn ua(id: &str) -> Destination {
    Destination::UniversalAnalytics { tracking_id: id.to_owned() }
}

pub(super) fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

pub(super) fn quick() -> Policy {
    Policy {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_secs(2),
        deadline: Duration::from_secs(5),
        base_delay: Duration::from_millis(20),
        ..Policy::default()
    }
}

pub(super) fn at(url: &str) -> Endpoint {
    Endpoint { base: Url::parse(url).unwrap(), extra_roots_pem: None }
}

pub(super) fn via(endpoint: Endpoint, policy: Policy) -> Transport {
    Transport::new(endpoint, policy)
}
