//! GA4 Measurement Protocol request bodies: `{"client_id": .., "events": [..]}`, split into
//! as few requests as Google's limits allow (25 events, a body under 130 kB; see
//! [`crate::limits::GA4`]).

use serde_json::value::RawValue;

use crate::limits::GA4;

/// The request bodies that carry the events (each as encoded, see
/// [`crate::encoded::EncodedEvents`]), in order; none when there are no events.
pub fn request_bodies(client_id: &str, events: &[Box<RawValue>]) -> Vec<Vec<u8>> {
    let prefix = format!(r#"{{"client_id":{},"events":["#, json_string(client_id));
    const SUFFIX: &[u8] = b"]}";
    let mut bodies = Vec::new();
    let mut body = Vec::new();
    let mut count = 0;
    for event in events {
        let encoded = event.get().as_bytes();
        let full = count == GA4.events_per_request
            || count > 0 && body.len() + 1 + encoded.len() + SUFFIX.len() >= GA4.body_bytes;
        if full {
            body.extend_from_slice(SUFFIX);
            bodies.push(std::mem::take(&mut body));
            count = 0;
        }
        if count == 0 {
            body.extend_from_slice(prefix.as_bytes());
        } else {
            body.push(b',');
        }
        body.extend_from_slice(encoded);
        count += 1;
    }
    if count > 0 {
        body.extend_from_slice(SUFFIX);
        bodies.push(body);
    }
    bodies
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string always encodes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoded::EncodedEvents;
    use crate::events::{Event, Param, Params};

    fn event(i: usize, filler: usize) -> Event {
        let mut params = Params::default();
        params.insert("value".into(), Param::Int(i as u64));
        if filler > 0 {
            params.insert("filler".into(), Param::from("x".repeat(filler)));
        }
        Event { name: "host_count".into(), params }
    }

    fn events(n: usize, filler: usize) -> EncodedEvents {
        EncodedEvents::new((0..n).map(|i| event(i, filler)).collect())
    }

    fn decoded(body: &[u8]) -> serde_json::Value {
        serde_json::from_slice(body).expect("valid JSON")
    }

    #[test]
    fn a_body_is_plain_ga4_json() {
        let bodies = request_bodies("c-1", events(2, 0).json());
        assert_eq!(bodies.len(), 1);
        let expected = serde_json::json!({
            "client_id": "c-1",
            "events": [
                {"name": "host_count", "params": {"value": 0}},
                {"name": "host_count", "params": {"value": 1}},
            ]
        });
        assert_eq!(decoded(&bodies[0]), expected);
        assert_eq!(bodies[0], serde_json::to_vec(&expected).unwrap(), "compact, sorted keys");
    }

    #[test]
    fn chunks_hold_at_most_25_events_at_the_limit_and_past_it() {
        for (n, sizes) in [
            (0, vec![]),
            (1, vec![1]),
            (25, vec![25]),
            (26, vec![25, 1]),
            (50, vec![25, 25]),
            (51, vec![25, 25, 1]),
        ] {
            let bodies = request_bodies("c", events(n, 0).json());
            let got: Vec<usize> =
                bodies.iter().map(|b| decoded(b)["events"].as_array().unwrap().len()).collect();
            assert_eq!(got, sizes, "{n} events");
        }
    }

    #[test]
    fn events_keep_their_order_across_chunks() {
        let bodies = request_bodies("c", events(60, 0).json());
        let values: Vec<u64> = bodies
            .iter()
            .flat_map(|b| decoded(b)["events"].as_array().unwrap().clone())
            .map(|e| e["params"]["value"].as_u64().unwrap())
            .collect();
        assert_eq!(values, (0..60).collect::<Vec<u64>>());
    }

    #[test]
    fn bodies_stay_under_130_kb() {
        // 20 events of about 10 kB each: 25 would not fit in one body.
        let bodies = request_bodies("c", events(20, 10_000).json());
        assert!(bodies.len() > 1);
        assert!(bodies.iter().all(|b| b.len() < GA4.body_bytes));
        let total: usize = bodies.iter().map(|b| decoded(b)["events"].as_array().unwrap().len()).sum();
        assert_eq!(total, 20);
    }

    #[test]
    fn client_id_is_escaped() {
        let bodies = request_bodies("a\"b", events(1, 0).json());
        assert_eq!(decoded(&bodies[0])["client_id"], "a\"b");
    }
}
