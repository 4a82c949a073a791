//! GA4 Measurement Protocol: `POST /mp/collect` stores a valid request of a configured
//! stream, and answers 204 whether it stored it or not, as Google does (but 413 to a body
//! too large, and 503 when the database fails, so that the service retries);
//! `POST /debug/mp/collect` answers Google's validation messages and stores nothing. The
//! limits are `ga4_collector`'s, shared.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use ga4_collector::rules;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{param_text, query_param, read_body, refuse_body, reject, store};
use crate::app::App;
use crate::dates;
use crate::metrics::Rejection;
use crate::store::{NewEvent, NewReport, Protocol};
use crate::{respond, secret};

const ROUTE: &str = "/mp/collect";

/// A request body, once `rules::check` has found it valid.
#[derive(Deserialize)]
struct Ga4Body<'a> {
    client_id: String,
    #[serde(borrow)]
    events: Vec<Ga4Event<'a>>,
}

#[derive(Deserialize)]
struct Ga4Event<'a> {
    name: String,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

/// `POST /mp/collect?measurement_id=..&api_secret=..`.
pub async fn collect(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let body = match read_body(&headers, body, rules::MAX_BODY).await {
        Ok(body) => body,
        Err(error) => return refuse_body(&app, ROUTE, error),
    };
    let measurement_id = query_param(&uri, "measurement_id").unwrap_or_default();
    let Some(expected) = app.ga4_secret(&measurement_id) else {
        return reject(&app, ROUTE, Rejection::UnknownStream, StatusCode::NO_CONTENT, &[]);
    };
    let api_secret = query_param(&uri, "api_secret").unwrap_or_default();
    if !secret::same(api_secret.as_bytes(), expected.expose().as_bytes()) {
        let stream = [("stream", Value::from(measurement_id))];
        return reject(&app, ROUTE, Rejection::WrongSecret, StatusCode::NO_CONTENT, &stream);
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let problems = rules::check(Some(&measurement_id), Some(&api_secret), content_type, &body);
    let report = if problems.is_empty() { report(&measurement_id, &body, dates::now_ms()) } else { None };
    let Some(report) = report else {
        let details = [("stream", Value::from(measurement_id)), ("problems", Value::from(problems.len()))];
        return reject(&app, ROUTE, Rejection::Invalid, StatusCode::NO_CONTENT, &details);
    };
    store(&app, ROUTE, vec![report], StatusCode::NO_CONTENT).await
}

/// `POST /debug/mp/collect`: `{"validationMessages": [...]}`, as `ga4_collector` builds it.
pub async fn validate(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let body = match read_body(&headers, body, rules::MAX_BODY).await {
        Ok(body) => body,
        Err(error) => return refuse_body(&app, "/debug/mp/collect", error),
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let problems = rules::check(
        query_param(&uri, "measurement_id").as_deref(),
        query_param(&uri, "api_secret").as_deref(),
        content_type,
        &body,
    );
    respond::json(StatusCode::OK, rules::validation_messages(&problems).to_string())
}

/// The report of a valid body, received at `received_ms`.
fn report(stream: &str, body: &[u8], received_ms: i64) -> Option<NewReport> {
    let parsed: Ga4Body<'_> = serde_json::from_slice(body).ok()?;
    let events = parsed
        .events
        .into_iter()
        .map(|event| {
            let params_json = event.params.map_or("{}", RawValue::get).to_owned();
            let params: Map<String, Value> = serde_json::from_str(&params_json).ok()?;
            let params =
                params.iter().filter_map(|(name, value)| Some((name.clone(), param_text(value)?))).collect();
            Some(NewEvent { name: event.name, params_json, params })
        })
        .collect::<Option<Vec<NewEvent>>>()?;
    Some(NewReport {
        received_ms,
        stream: stream.to_owned(),
        client_id: parsed.client_id,
        protocol: Protocol::Ga4,
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_becomes_a_report_with_params_as_text() {
        let body = br#"{"client_id":"c-1","events":[{"name":"cluster","params":{"node_number":3,"version":"6.8.0"}},{"name":"bare"}]}"#;
        let report = report("G-1", body, 86_400_001).unwrap();
        assert_eq!(
            (report.client_id.as_str(), report.stream.as_str(), report.protocol),
            ("c-1", "G-1", Protocol::Ga4)
        );
        assert_eq!(report.events[0].params_json, r#"{"node_number":3,"version":"6.8.0"}"#);
        assert_eq!(
            report.events[0].params,
            [("node_number".to_owned(), "3".to_owned()), ("version".to_owned(), "6.8.0".to_owned())]
        );
        assert_eq!((report.events[1].name.as_str(), report.events[1].params_json.as_str()), ("bare", "{}"));
        assert!(report.events[1].params.is_empty());
        assert!(super::report("G-1", b"{\"events\":[]}", 0).is_none());
    }
}
