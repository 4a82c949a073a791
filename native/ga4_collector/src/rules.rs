//! Google's documented GA4 Measurement Protocol rules, checked on every request the
//! collector receives ("Sending events", section Limitations; GA help 9267744 and 13316687).
//!
//! These rules are written here on their own, not shared with the core that builds the
//! requests: the collector stands in for Google, so a mistake in the core's limits must
//! show up here instead of being repeated.

use serde_json::Value;

/// At most this many events in one request.
pub const MAX_EVENTS: usize = 25;
/// At most this many parameters in one event.
pub const MAX_PARAMS: usize = 25;
/// Event and parameter names are at most this long.
pub const MAX_NAME_LEN: usize = 40;
/// String parameter values are at most this long (in characters).
pub const MAX_VALUE_LEN: usize = 100;
/// The body must be smaller than this many bytes.
pub const MAX_BODY: usize = 130_000;

/// Event names Google reserves for its own use.
pub const RESERVED_EVENTS: &[&str] = &[
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

/// Keys a request body may hold.
const BODY_KEYS: &[&str] = &[
    "app_instance_id",
    "client_id",
    "consent",
    "events",
    "non_personalized_ads",
    "timestamp_micros",
    "user_data",
    "user_id",
    "user_location",
    "user_properties",
    "validation_behavior",
];

/// Every rule the request breaks, in words; empty when it is valid.
pub fn check(
    measurement_id: Option<&str>,
    api_secret: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<String> {
    let mut problems = Vec::new();
    if measurement_id.is_none_or(str::is_empty) {
        problems.push("query parameter measurement_id is missing".to_owned());
    }
    if api_secret.is_none_or(str::is_empty) {
        problems.push("query parameter api_secret is missing".to_owned());
    }
    if !content_type.is_some_and(|t| t.starts_with("application/json")) {
        problems.push(format!("content type must be application/json, got {content_type:?}"));
    }
    if body.len() >= MAX_BODY {
        problems.push(format!("body is {} bytes; it must be smaller than {MAX_BODY}", body.len()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => {
            for key in fields.keys().filter(|k| !BODY_KEYS.contains(&k.as_str())) {
                problems.push(format!("unknown body field {key:?}"));
            }
            match fields.get("client_id") {
                Some(Value::String(id)) if !id.is_empty() => {}
                other => problems.push(format!("client_id must be a non-empty string, got {other:?}")),
            }
            match fields.get("events") {
                Some(Value::Array(events)) => check_events(events, &mut problems),
                other => problems.push(format!("events must be an array, got {other:?}")),
            }
        }
        Ok(_) => problems.push("body must be a JSON object".to_owned()),
        Err(e) => problems.push(format!("body is not JSON: {e}")),
    }
    problems
}

/// The answer of Google's validation server (`/debug/mp/collect`) for these problems:
/// `{"validationMessages": [{"fieldPath", "description", "validationCode"}]}`, empty when
/// the request is valid.
pub fn validation_messages(problems: &[String]) -> Value {
    let messages: Vec<Value> = problems
        .iter()
        .map(|p| serde_json::json!({"fieldPath": "", "description": p, "validationCode": "VALUE_INVALID"}))
        .collect();
    serde_json::json!({ "validationMessages": messages })
}

/// Universal Analytics (Measurement Protocol v1) batch limits: 20 hits, 16 KB, 8 KB a hit.
pub const UA_MAX_HITS: usize = 20;
/// Bytes of a batch body.
pub const UA_MAX_BATCH_BYTES: usize = 16 * 1024;
/// Bytes of one hit.
pub const UA_MAX_HIT_BYTES: usize = 8 * 1024;

/// Every rule a Universal Analytics `/batch` body breaks: one URL-encoded event hit a line
/// with `v=1`, `tid`, `cid`, `t=event`, a non-empty `ec` (150 bytes at most) and `ea` (500),
/// and `el` of 500 bytes at most.
pub fn check_ua_batch(body: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    if body.len() > UA_MAX_BATCH_BYTES {
        problems.push(format!("batch is {} bytes; at most {UA_MAX_BATCH_BYTES}", body.len()));
    }
    let lines: Vec<&[u8]> = body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    if lines.is_empty() || lines.len() > UA_MAX_HITS {
        problems.push(format!("a batch holds 1 to {UA_MAX_HITS} hits, this one {}", lines.len()));
    }
    for (i, line) in lines.iter().enumerate() {
        if line.len() > UA_MAX_HIT_BYTES {
            problems.push(format!("hit {i} is {} bytes; at most {UA_MAX_HIT_BYTES}", line.len()));
        }
        let fields: Vec<(String, String)> = url::form_urlencoded::parse(line).into_owned().collect();
        let get = |k: &str| fields.iter().find(|(name, _)| name == k).map(|(_, v)| v.as_str());
        for (key, want) in [("v", Some("1")), ("t", Some("event")), ("tid", None), ("cid", None)] {
            match (get(key), want) {
                (None, _) | (Some(""), _) => problems.push(format!("hit {i} lacks {key}")),
                (Some(v), Some(w)) if v != w => problems.push(format!("hit {i} has {key}={v}, expected {w}")),
                _ => {}
            }
        }
        for (key, max, required) in [("ec", 150, true), ("ea", 500, true), ("el", 500, false)] {
            match get(key) {
                None | Some("") if required => problems.push(format!("hit {i} lacks {key}")),
                Some(v) if v.len() > max => {
                    problems.push(format!("hit {i} {key} is {} bytes; at most {max}", v.len()))
                }
                _ => {}
            }
        }
    }
    problems
}

fn check_events(events: &[Value], problems: &mut Vec<String>) {
    if events.is_empty() || events.len() > MAX_EVENTS {
        problems.push(format!("a request holds 1 to {MAX_EVENTS} events, this one {}", events.len()));
    }
    for (i, event) in events.iter().enumerate() {
        let Value::Object(fields) = event else {
            problems.push(format!("event {i} is not an object"));
            continue;
        };
        for key in fields.keys().filter(|k| !["name", "params"].contains(&k.as_str())) {
            problems.push(format!("event {i} has unknown field {key:?}"));
        }
        match fields.get("name") {
            Some(Value::String(name)) => {
                if let Some(why) = bad_name(name) {
                    problems.push(format!("event {i} name {name:?}: {why}"));
                }
                if RESERVED_EVENTS.contains(&name.as_str()) {
                    problems.push(format!("event {i} name {name:?} is reserved"));
                }
            }
            other => problems.push(format!("event {i} name must be a string, got {other:?}")),
        }
        match fields.get("params") {
            None => {}
            Some(Value::Object(params)) => {
                if params.len() > MAX_PARAMS {
                    problems.push(format!("event {i} has {} params; at most {MAX_PARAMS}", params.len()));
                }
                for (key, value) in params {
                    check_param(i, key, value, problems);
                }
            }
            Some(other) => problems.push(format!("event {i} params must be an object, got {other}")),
        }
    }
}

fn check_param(i: usize, key: &str, value: &Value, problems: &mut Vec<String>) {
    if let Some(why) = bad_name(key) {
        problems.push(format!("event {i} param {key:?}: {why}"));
    }
    if RESERVED_PARAM_PREFIXES.iter().any(|p| key.starts_with(p)) {
        problems.push(format!("event {i} param {key:?} uses a reserved prefix"));
    }
    match value {
        Value::String(text) if text.chars().count() > MAX_VALUE_LEN => problems.push(format!(
            "event {i} param {key:?} value is {} characters; at most {MAX_VALUE_LEN}",
            text.chars().count()
        )),
        Value::String(_) | Value::Number(_) => {}
        other => problems.push(format!("event {i} param {key:?} must be a string or a number, got {other}")),
    }
}

/// Names: 1 to 40 characters, letters, digits and underscores, starting with a letter.
fn bad_name(name: &str) -> Option<String> {
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Some(format!("names are 1 to {MAX_NAME_LEN} characters"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Some("names start with a letter".to_owned());
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Some("names hold only letters, digits and underscores".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(body: &Value) -> Vec<String> {
        check(Some("G-1"), Some("s"), Some("application/json"), body.to_string().as_bytes())
    }

    fn one_event(event: Value) -> Value {
        json!({"client_id": "c", "events": [event]})
    }

    #[test]
    fn a_valid_request_has_no_problems() {
        let body =
            one_event(json!({"name": "cluster", "params": {"uptime": "0000-00:00:01", "node_number": 1}}));
        assert_eq!(problems(&body), Vec::<String>::new());
    }

    #[test]
    fn query_and_content_type_are_checked() {
        let p = check(None, Some(""), None, b"{}");
        assert!(p.iter().any(|m| m.contains("measurement_id")));
        assert!(p.iter().any(|m| m.contains("api_secret")));
        assert!(p.iter().any(|m| m.contains("content type")));
    }

    #[test]
    fn event_count_limit_at_25_and_26() {
        let events = |n| json!({"client_id": "c", "events": vec![json!({"name": "a"}); n]});
        assert!(problems(&events(25)).is_empty());
        assert!(problems(&events(26))[0].contains("1 to 25 events"));
        assert!(problems(&events(0))[0].contains("1 to 25 events"));
    }

    #[test]
    fn param_count_limit_at_25_and_26() {
        let params = |n: usize| {
            let map: serde_json::Map<String, Value> = (0..n).map(|i| (format!("p{i}"), json!(1))).collect();
            one_event(json!({"name": "a", "params": map}))
        };
        assert!(problems(&params(25)).is_empty());
        assert!(problems(&params(26))[0].contains("26 params"));
    }

    #[test]
    fn names_values_and_reserved_words() {
        let forty = "a".repeat(40);
        assert!(problems(&one_event(json!({"name": forty}))).is_empty());
        let cases = [
            (json!({"name": "a".repeat(41)}), "1 to 40"),
            (json!({"name": "1abc"}), "start with a letter"),
            (json!({"name": "a-b"}), "letters, digits"),
            (json!({"name": "page_view"}), "reserved"),
            (json!({"name": "a", "params": {"_x": 1}}), "start with a letter"),
            (json!({"name": "a", "params": {"google_x": 1}}), "reserved prefix"),
            (json!({"name": "a", "params": {"v": "x".repeat(101)}}), "101 characters"),
            (json!({"name": "a", "params": {"v": {"nested": 1}}}), "string or a number"),
            (json!({"name": "a", "params": {"v": true}}), "string or a number"),
            (json!({"name": "a", "extra": 1}), "unknown field"),
        ];
        for (event, words) in cases {
            let found = problems(&one_event(event.clone()));
            assert!(found.iter().any(|m| m.contains(words)), "{event}: {found:?}");
        }
        assert!(problems(&one_event(json!({"name": "a", "params": {"v": "x".repeat(100)}}))).is_empty());
    }

    #[test]
    fn universal_analytics_batches() {
        let hit = |i: usize| format!("v=1&tid=UA-1-1&cid=c&t=event&ec=hosts&ea=count&el={i}");
        let batch = |n: usize| (0..n).map(hit).collect::<Vec<_>>().join("\n");
        assert_eq!(check_ua_batch(batch(20).as_bytes()), Vec::<String>::new());
        assert!(check_ua_batch(batch(21).as_bytes())[0].contains("1 to 20 hits"));
        let found = check_ua_batch(b"v=2&tid=UA-1-1&t=event&ea=x");
        for words in ["v=2", "lacks cid", "lacks ec"] {
            assert!(found.iter().any(|p| p.contains(words)), "{found:?}");
        }
        let long = format!("v=1&tid=UA-1-1&cid=c&t=event&ec=x&ea=y&el={}", "z".repeat(8200));
        assert!(check_ua_batch(long.as_bytes()).iter().any(|p| p.contains("at most 8192")));
    }

    #[test]
    fn body_shape_and_size() {
        assert!(check(Some("G"), Some("s"), Some("application/json"), b"nope")[0].contains("not JSON"));
        assert!(problems(&json!([]))[0].contains("JSON object"));
        assert!(problems(&json!({"events": []})).iter().any(|m| m.contains("client_id")));
        assert!(problems(&json!({"client_id": "c", "events": [], "colour": 1}))
            .iter()
            .any(|m| m.contains("colour")));
        let big = one_event(json!({"name": "a", "params": {"v": "x".repeat(MAX_BODY)}}));
        assert!(problems(&big).iter().any(|m| m.contains("smaller than 130000")));
    }
}
