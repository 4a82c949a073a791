//! Google's GA4 Measurement Protocol limits, in one table, and their enforcement before
//! anything is sent ("Sending events", section Limitations; GA help 9267744 and 13316687).
//!
//! A value that is too long is shortened deterministically (a prefix, `~`, and a hash of
//! the whole value, so different long values stay different). An event that cannot be
//! made valid (a bad or reserved name, too many parameters) is left out. Every change is
//! recorded as an [`Adjustment`] and lands in the report.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::events::{Event, Param, Text};

/// The limits of one GA4 request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ga4Limits {
    /// Events in one request.
    pub events_per_request: usize,
    /// Parameters of one event.
    pub params_per_event: usize,
    /// Characters of an event or parameter name.
    pub name_chars: usize,
    /// Characters of a string parameter value.
    pub value_chars: usize,
    /// A body must be smaller than this many bytes.
    pub body_bytes: usize,
}

/// The limits Google documents.
pub const GA4: Ga4Limits = Ga4Limits {
    events_per_request: 25,
    params_per_event: 25,
    name_chars: 40,
    value_chars: 100,
    body_bytes: 130_000,
};

/// Event names Google reserves (web and app lists).
pub const RESERVED_EVENT_NAMES: &[&str] = &[
    "ad_activeview",
    "ad_click",
    "ad_exposure",
    "ad_impression",
    "ad_query",
    "ad_reward",
    "adunit_exposure",
    "app_background",
    "app_clear_data",
    "app_exception",
    "app_install",
    "app_remove",
    "app_store_refund",
    "app_store_subscription_cancel",
    "app_store_subscription_convert",
    "app_store_subscription_renew",
    "app_update",
    "app_upgrade",
    "click",
    "dynamic_link_app_open",
    "dynamic_link_app_update",
    "dynamic_link_first_open",
    "error",
    "file_download",
    "firebase_campaign",
    "firebase_in_app_message_action",
    "firebase_in_app_message_dismiss",
    "firebase_in_app_message_impression",
    "first_open",
    "first_visit",
    "form_start",
    "form_submit",
    "in_app_purchase",
    "notification_dismiss",
    "notification_foreground",
    "notification_open",
    "notification_receive",
    "os_update",
    "page_view",
    "screen_view",
    "scroll",
    "session_start",
    "user_engagement",
    "video_complete",
    "video_progress",
    "video_start",
    "view_search_results",
];

/// Parameter name prefixes Google reserves.
pub const RESERVED_PARAM_PREFIXES: &[&str] = &["_", "firebase_", "ga_", "google_", "gtag."];

/// One change made to fit the limits, as recorded in the report. Names are ours (event
/// and parameter names); values are never copied here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Adjustment {
    /// The event's name.
    pub event: String,
    /// The parameter concerned, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// `shortened` or `left_out`.
    pub action: &'static str,
    /// Why.
    pub reason: String,
}

/// Makes `events` fit [`GA4`]: shortens long values, leaves out what cannot be valid.
pub fn enforce(events: Vec<Event>) -> (Vec<Event>, Vec<Adjustment>) {
    let mut adjustments = Vec::new();
    let mut kept = Vec::with_capacity(events.len());
    // Events come in runs of one shape (a module's event on each host type): the names of
    // a shape found valid are not checked again.
    let mut valid_shape: Option<(Text, Vec<Text>)> = None;
    for mut event in events {
        let known = valid_shape
            .as_ref()
            .is_some_and(|(name, keys)| *name == event.name && keys.iter().eq(event.params.keys()));
        if !known {
            if let Some(reason) = invalid_event(&event) {
                adjustments.push(Adjustment {
                    event: safe_name(&event.name),
                    param: None,
                    action: "left_out",
                    reason,
                });
                continue;
            }
            valid_shape = Some((event.name.clone(), event.params.keys().cloned().collect()));
        }
        for (name, value) in event.params.iter_mut() {
            if let Param::Str(text) = value {
                // A text no longer in bytes than the limit in characters is within it.
                if text.len() > GA4.value_chars && text.chars().count() > GA4.value_chars {
                    let length = text.chars().count();
                    *text = shorten(text).into();
                    adjustments.push(Adjustment {
                        event: event.name.to_string(),
                        param: Some(name.to_string()),
                        action: "shortened",
                        reason: format!("value of {length} characters; at most {}", GA4.value_chars),
                    });
                }
            }
        }
        kept.push(event);
    }
    (kept, adjustments)
}

fn invalid_event(event: &Event) -> Option<String> {
    if let Some(why) = bad_name(&event.name) {
        return Some(format!("event name: {why}"));
    }
    if RESERVED_EVENT_NAMES.contains(&&*event.name) {
        return Some("the event name is reserved by Google".to_owned());
    }
    if event.params.len() > GA4.params_per_event {
        return Some(format!("{} parameters; at most {}", event.params.len(), GA4.params_per_event));
    }
    for name in event.params.keys() {
        if let Some(why) = bad_name(name) {
            return Some(format!("parameter name {}: {why}", safe_name(name)));
        }
        if RESERVED_PARAM_PREFIXES.iter().any(|prefix| name.starts_with(prefix)) {
            return Some(format!("parameter name {} uses a prefix reserved by Google", safe_name(name)));
        }
    }
    None
}

/// Names: 1 to 40 characters, letters, digits and underscores, starting with a letter.
fn bad_name(name: &str) -> Option<String> {
    if name.is_empty() || (name.len() > GA4.name_chars && name.chars().count() > GA4.name_chars) {
        return Some(format!("names are 1 to {} characters", GA4.name_chars));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Some("names start with a letter".to_owned());
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Some("names hold only letters, digits and underscores".to_owned());
    }
    None
}

/// A name fit for the report: ours are, but a bad one is shown only in part.
fn safe_name(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(GA4.name_chars).collect()
}

/// The first characters of `text`, `~`, and 8 hex digits of its SHA-256: exactly
/// [`Ga4Limits::value_chars`] characters, the same every time for the same text.
pub fn shorten(text: &str) -> String {
    const HASH_HEX: usize = 8;
    let digest = Sha256::digest(text.as_bytes());
    let hash: String = digest.iter().take(HASH_HEX / 2).map(|b| format!("{b:02x}")).collect();
    let prefix: String = text.chars().take(GA4.value_chars - HASH_HEX - 1).collect();
    format!("{prefix}~{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Params, Text};

    fn event(name: &str, params: &[(&str, Param)]) -> Event {
        Event {
            name: name.to_owned().into(),
            params: params.iter().map(|(k, v)| ((*k).to_owned().into(), v.clone())).collect::<Params>(),
        }
    }

    #[test]
    fn a_bad_event_between_runs_of_good_ones_is_still_left_out() {
        let good = event("module_with_opt", &[("module", Param::from("mod_vcard"))]);
        let reserved = event("page_view", &[("module", Param::from("mod_vcard"))]);
        let bad_param = event("module_with_opt", &[("firebase_x", Param::from("mod_vcard"))]);
        let events = vec![good.clone(), good.clone(), reserved, good.clone(), bad_param, good.clone()];
        let (kept, adjustments) = enforce(events);
        assert_eq!(kept, vec![good.clone(), good.clone(), good.clone(), good]);
        assert_eq!(adjustments.iter().map(|a| a.action).collect::<Vec<_>>(), ["left_out", "left_out"]);
    }

    #[test]
    fn valid_events_pass_unchanged() {
        let events = vec![event(
            "cluster",
            &[("uptime", Param::from("0000-00:00:01")), ("node_number", Param::Int(1))],
        )];
        assert_eq!(enforce(events.clone()), (events, vec![]));
    }

    #[test]
    fn values_of_100_characters_pass_and_101_are_shortened_deterministically() {
        let at_limit = "v".repeat(100);
        let (kept, adjustments) =
            enforce(vec![event("cluster", &[("version", Param::from(at_limit.clone()))])]);
        assert_eq!(kept[0].params["version"], Param::from(at_limit));
        assert!(adjustments.is_empty());
        let long = "w".repeat(101);
        let (kept, adjustments) = enforce(vec![event("cluster", &[("version", Param::from(long.clone()))])]);
        let Param::Str(short) = &kept[0].params["version"] else { panic!() };
        assert_eq!(short.chars().count(), 100);
        assert_eq!(short, &shorten(&long), "the same value always gives the same text");
        assert_ne!(shorten(&long), shorten(&format!("{long}x")), "different values stay different");
        assert_eq!(
            adjustments,
            [Adjustment {
                event: "cluster".into(),
                param: Some("version".into()),
                action: "shortened",
                reason: "value of 101 characters; at most 100".into()
            }]
        );
    }

    #[test]
    fn shortening_counts_characters_not_bytes() {
        let long = "é".repeat(150);
        assert_eq!(shorten(&long).chars().count(), 100);
    }

    #[test]
    fn params_at_25_pass_and_26_leave_the_event_out() {
        let params = |n: usize| -> Vec<(Text, Param)> {
            (0..n).map(|i| (format!("p{i}").into(), Param::Int(1))).collect()
        };
        let make = |n: usize| Event { name: "many".into(), params: params(n).into_iter().collect() };
        let (kept, adjustments) =
            enforce(vec![make(25), make(26), event("host_count", &[("value", Param::Int(1))])]);
        assert_eq!(kept.len(), 2, "the rest is sent");
        assert_eq!(adjustments[0].action, "left_out");
        assert_eq!(adjustments[0].reason, "26 parameters; at most 25");
    }

    #[test]
    fn names_are_checked_at_40_and_41_and_reserved_ones_left_out() {
        let forty = "a".repeat(40);
        let forty_one = "a".repeat(41);
        let cases = [
            (event(&forty, &[]), None),
            (event(&forty_one, &[]), Some("event name: names are 1 to 40 characters")),
            (event("", &[]), Some("event name: names are 1 to 40 characters")),
            (event("9lives", &[]), Some("event name: names start with a letter")),
            (event("a-b", &[]), Some("event name: names hold only letters, digits and underscores")),
            (event("page_view", &[]), Some("the event name is reserved by Google")),
            (
                event("a", &[("google_x", Param::Int(1))]),
                Some("parameter name google_x uses a prefix reserved by Google"),
            ),
            (event("a", &[("_x", Param::Int(1))]), Some("parameter name _x: names start with a letter")),
            (event("a", &[(forty.as_str(), Param::Int(1))]), None),
            (event("a", &[(forty_one.as_str(), Param::Int(1))]), Some("names are 1 to 40 characters")),
        ];
        for (e, why) in cases {
            let (kept, adjustments) = enforce(vec![e.clone()]);
            match why {
                None => assert_eq!((kept.len(), adjustments.len()), (1, 0), "{}", e.name),
                Some(why) => {
                    assert!(kept.is_empty(), "{}", e.name);
                    assert!(adjustments[0].reason.contains(why), "{:?}", adjustments[0]);
                }
            }
        }
    }
}
