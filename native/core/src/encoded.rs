//! A report's events with the JSON of each, encoded once: the GA4 request bodies, the
//! report file and the report kept for `last_report/0` are all made of the same bytes,
//! instead of each encoding 40,000 events of a large deployment again.

use std::ops::Deref;

use serde::ser::{Serialize, SerializeSeq, Serializer};
use serde_json::value::RawValue;

use crate::events::Event;

/// The events, in order, and the compact JSON of each.
#[derive(Debug, Clone)]
pub struct EncodedEvents {
    events: Vec<Event>,
    json: Vec<Box<RawValue>>,
}

impl EncodedEvents {
    /// Encodes each event.
    pub fn new(events: Vec<Event>) -> EncodedEvents {
        let json = events
            .iter()
            .map(|event| serde_json::value::to_raw_value(event).expect("an event always encodes"))
            .collect();
        EncodedEvents { events, json }
    }

    /// The compact JSON of each event, in order.
    pub fn json(&self) -> &[Box<RawValue>] {
        &self.json
    }

    /// The events as one compact JSON array.
    pub fn array_text(&self) -> Vec<u8> {
        let mut text = Vec::with_capacity(2 + self.json.iter().map(|j| j.get().len() + 1).sum::<usize>());
        text.push(b'[');
        for (i, json) in self.json.iter().enumerate() {
            if i > 0 {
                text.push(b',');
            }
            text.extend_from_slice(json.get().as_bytes());
        }
        text.push(b']');
        text
    }
}

impl From<Vec<Event>> for EncodedEvents {
    fn from(events: Vec<Event>) -> EncodedEvents {
        EncodedEvents::new(events)
    }
}

impl Deref for EncodedEvents {
    type Target = [Event];

    fn deref(&self) -> &[Event] {
        &self.events
    }
}

/// The same events encode the same: comparing the events compares their JSON.
impl PartialEq for EncodedEvents {
    fn eq(&self, other: &EncodedEvents) -> bool {
        self.events == other.events
    }
}

/// As the JSON array of the events, each written as it was encoded.
impl Serialize for EncodedEvents {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.json.len()))?;
        for json in &self.json {
            seq.serialize_element(json)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Param;

    fn event(name: &'static str, value: u64) -> Event {
        Event { name: name.into(), params: [("value".into(), Param::Int(value))].into_iter().collect() }
    }

    #[test]
    fn every_encoding_is_the_one_serde_makes() {
        let events = vec![event("host_count", 2), event("domain_count", 3)];
        let encoded = EncodedEvents::new(events.clone());
        assert_eq!(encoded.array_text(), serde_json::to_vec(&events).unwrap());
        assert_eq!(serde_json::to_vec(&encoded).unwrap(), serde_json::to_vec(&events).unwrap());
        let pretty: serde_json::Value =
            serde_json::from_slice(&serde_json::to_vec_pretty(&encoded).unwrap()).unwrap();
        assert_eq!(pretty, serde_json::to_value(&events).unwrap());
        assert_eq!(encoded.json()[1].get(), r#"{"name":"domain_count","params":{"value":3}}"#);
        assert_eq!(&*encoded, &events[..]);
    }

    #[test]
    fn no_events_are_an_empty_array() {
        assert_eq!(EncodedEvents::new(Vec::new()).array_text(), b"[]");
    }
}
