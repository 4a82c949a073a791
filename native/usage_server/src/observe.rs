//! Around every request: its log line and metrics, and the security headers of every
//! response. The log shows the path without its query string (which carries the API
//! secret or the token), and nothing about the client.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

use crate::app::App;
use crate::ingest::StoredEvents;
use crate::log;

/// The longest path a log line repeats.
const MAX_LOGGED_PATH: usize = 200;

/// Logs and counts the request, and sets the response's security headers.
pub async fn observe(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let path = shown_path(request.uri().path());
    // Metrics are labelled by route template, so that client ids do not multiply series.
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let mut response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    app.metrics.observe_request(&route, status, elapsed.as_secs_f64());
    let mut fields = vec![
        ("method", Value::from(method)),
        ("route", Value::from(path)),
        ("status", Value::from(status)),
        ("duration_ms", Value::from(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))),
    ];
    if let Some(StoredEvents(events)) = response.extensions().get::<StoredEvents>() {
        fields.push(("events", Value::from(*events)));
    }
    log::info("request", &fields);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'self'"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The path, cut when very long.
fn shown_path(path: &str) -> String {
    if path.len() <= MAX_LOGGED_PATH {
        return path.to_owned();
    }
    let mut end = MAX_LOGGED_PATH;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &path[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_are_cut_on_a_character_boundary() {
        assert_eq!(shown_path("/mp/collect"), "/mp/collect");
        let long = format!("/{}", "é".repeat(150));
        let shown = shown_path(&long);
        assert!(shown.ends_with("...") && shown.len() <= MAX_LOGGED_PATH + 3, "{shown}");
    }
}
