//! Ingest: the endpoints the reporting service posts to, answered as Google answers them.
//! A request is stored whole, in one transaction, and acknowledged only once committed;
//! anything refused is counted and logged with its reason, and stored nowhere.

pub mod ga4;
pub mod ua;

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::Value;

use crate::app::App;
use crate::metrics::Rejection;
use crate::store::NewReport;
use crate::{log, respond};

/// How many events a request stored; the request log reads it from the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredEvents(pub u64);

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyError {
    /// Larger than the protocol allows.
    TooLarge,
    /// The connection failed mid-body.
    Unreadable,
    /// The body came too slowly.
    TimedOut,
}

/// How long a body may take to arrive: the service sends a few kilobytes at once, and a
/// client that dribbles must not hold a connection for ever.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of a body too large is still read (and dropped) before the 413, so that the
/// connection closes cleanly and the client reads the answer; beyond that it is cut.
const MAX_DRAINED: usize = 1024 * 1024;

/// The body, when it is at most `limit` bytes and arrives within [`BODY_TIMEOUT`].
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, BodyError> {
    tokio::time::timeout(BODY_TIMEOUT, read_capped(headers, body, limit))
        .await
        .unwrap_or(Err(BodyError::TimedOut))
}

async fn read_capped(headers: &HeaderMap, mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_DRAINED) {
        return Err(BodyError::TooLarge);
    }
    let mut bytes = Vec::new();
    let mut seen: usize = 0;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| BodyError::Unreadable)?.into_data() else { continue };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            bytes.extend_from_slice(&data);
        } else if seen > MAX_DRAINED {
            break;
        }
    }
    if seen > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(Bytes::from(bytes))
}

/// The answer to a body that could not be read: 413 when too large, 408 when too slow;
/// counted.
fn refuse_body(app: &App, route: &str, error: BodyError) -> Response {
    match error {
        BodyError::TooLarge => reject(app, route, Rejection::TooLarge, StatusCode::PAYLOAD_TOO_LARGE, &[]),
        BodyError::Unreadable => reject(app, route, Rejection::Invalid, StatusCode::BAD_REQUEST, &[]),
        BodyError::TimedOut => reject(app, route, Rejection::Invalid, StatusCode::REQUEST_TIMEOUT, &[]),
    }
}

/// Counts and logs a request that stores nothing, and answers it with `status`.
fn reject(
    app: &App,
    route: &str,
    reason: Rejection,
    status: StatusCode,
    details: &[(&str, Value)],
) -> Response {
    app.metrics.rejected(reason);
    let mut fields = vec![("route", Value::from(route)), ("reason", Value::from(reason.as_str()))];
    fields.extend(details.iter().cloned());
    log::warn("rejected", &fields);
    respond::empty(status)
}

/// Stores the reports in one transaction, then answers `status`; 503 when the database
/// fails, so that the service retries.
async fn store(app: &App, route: &str, reports: Vec<NewReport>, status: StatusCode) -> Response {
    let events: usize = reports.iter().map(|r| r.events.len()).sum();
    let count = reports.len();
    match app.store.insert(reports).await {
        Ok(()) => {
            app.metrics.stored(count as u64, events as u64);
            let mut response = respond::empty(status);
            response.extensions_mut().insert(StoredEvents(events as u64));
            response
        }
        Err(error) => reject(
            app,
            route,
            Rejection::StorageError,
            StatusCode::SERVICE_UNAVAILABLE,
            &[("error", Value::from(error.0))],
        ),
    }
}

/// The first query parameter of this name, decoded.
fn query_param(uri: &Uri, name: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// A JSON parameter value as the `params` table keeps it: text as is, numbers in decimal.
fn param_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}
