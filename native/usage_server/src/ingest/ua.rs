//! Legacy Universal Analytics, as older MongooseIM releases send it: `POST /collect` (one
//! hit) and `POST /batch` (up to 20, one a line). Answered 200 as Google did, once stored;
//! hits are kept as one report per request and client id, one event a hit:
//! `ec` as its name, `{"action": ea, "label": el, "value": ev}` as its parameters.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use ga4_collector::rules;
use serde_json::{Map, Value};

use super::{param_text, read_body, refuse_body, reject, store};
use crate::app::App;
use crate::dates;
use crate::metrics::Rejection;
use crate::store::{NewEvent, NewReport, Protocol};

/// `POST /collect`: one hit.
pub async fn collect(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    ingest(&app, "/collect", &headers, body, true).await
}

/// `POST /batch`: hits, one a line.
pub async fn batch(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    ingest(&app, "/batch", &headers, body, false).await
}

async fn ingest(app: &App, route: &str, headers: &HeaderMap, body: Body, single: bool) -> Response {
    let body = match read_body(headers, body, rules::UA_MAX_BATCH_BYTES).await {
        Ok(body) => body,
        Err(error) => return refuse_body(app, route, error),
    };
    let hits = hits(&body);
    let mut problems = rules::check_ua_batch(&body);
    if single && hits.len() > 1 {
        problems.push(format!("/collect takes one hit, this request has {}", hits.len()));
    }
    if !problems.is_empty() {
        return reject(
            app,
            route,
            Rejection::Invalid,
            StatusCode::OK,
            &[("problems", Value::from(problems.len()))],
        );
    }
    if !hits.iter().all(|hit| app.is_ua_property(field(hit, "tid"))) {
        return reject(app, route, Rejection::UnknownStream, StatusCode::OK, &[]);
    }
    store(app, route, reports(&hits, dates::now_ms()), StatusCode::OK).await
}

/// A hit's fields, decoded, in order.
type Hit = Vec<(String, String)>;

fn hits(body: &[u8]) -> Vec<Hit> {
    body.split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| url::form_urlencoded::parse(line).into_owned().collect())
        .collect()
}

/// The first value of a field, or `""`.
fn field<'a>(hit: &'a Hit, name: &str) -> &'a str {
    hit.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.as_str())
}

/// One report per property and client id, in the order they first appear.
fn reports(hits: &[Hit], received_ms: i64) -> Vec<NewReport> {
    let mut reports: Vec<NewReport> = Vec::new();
    for hit in hits {
        let (stream, client_id) = (field(hit, "tid"), field(hit, "cid"));
        let position = reports.iter().position(|r| r.stream == stream && r.client_id == client_id);
        let index = position.unwrap_or_else(|| {
            reports.push(NewReport {
                received_ms,
                stream: stream.to_owned(),
                client_id: client_id.to_owned(),
                protocol: Protocol::Ua,
                events: Vec::new(),
            });
            reports.len() - 1
        });
        reports[index].events.push(event(hit));
    }
    reports
}

fn event(hit: &Hit) -> NewEvent {
    let mut params = Map::new();
    params.insert("action".to_owned(), Value::from(field(hit, "ea")));
    if hit.iter().any(|(key, _)| key == "el") {
        params.insert("label".to_owned(), Value::from(field(hit, "el")));
    }
    if hit.iter().any(|(key, _)| key == "ev") {
        let value = field(hit, "ev");
        params.insert(
            "value".to_owned(),
            value.parse::<i64>().map_or_else(|_| Value::from(value), Value::from),
        );
    }
    NewEvent {
        name: field(hit, "ec").to_owned(),
        params_json: Value::Object(params.clone()).to_string(),
        params: params.iter().filter_map(|(name, value)| Some((name.clone(), param_text(value)?))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_group_by_client_into_reports_of_events() {
        let body = b"v=1&tid=UA-1-1&cid=a&t=event&ec=hosts&ea=count&el=2\n\
                     v=1&tid=UA-1-1&cid=b&t=event&ec=cluster&ea=mim_version&el=6.1.0&ev=7\n\
                     v=1&tid=UA-1-1&cid=a&t=event&ec=mod_muc&ea=backend&el=rdbms%20x";
        let reports = reports(&hits(body), 5);
        assert_eq!(reports.len(), 2);
        assert_eq!((reports[0].client_id.as_str(), reports[0].events.len()), ("a", 2));
        assert_eq!(reports[0].events[1].name, "mod_muc");
        assert_eq!(reports[0].events[1].params_json, r#"{"action":"backend","label":"rdbms x"}"#);
        assert_eq!(reports[1].events[0].params_json, r#"{"action":"mim_version","label":"6.1.0","value":7}"#);
        assert_eq!(
            reports[1].events[0].params,
            [
                ("action".into(), "mim_version".into()),
                ("label".into(), "6.1.0".into()),
                ("value".into(), "7".into())
            ]
        );
        assert_eq!((reports[1].protocol, reports[1].received_ms), (Protocol::Ua, 5));
    }
}
