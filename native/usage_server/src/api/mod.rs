//! The read API: `/api/deployments`, `/api/deployments/{client_id}` and
//! `/api/charts/{chart}`, as JSON or, with `format=csv`, as CSV.

pub mod params;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;

use self::params::{BadParam, Format, ReadParams};
use crate::app::App;
use crate::reads::charts::{self, Chart};
use crate::reads::deployments;
use crate::store::StoreError;
use crate::table::Table;
use crate::{dates, log, respond};

/// The longest client id looked up; GA4 client ids are far shorter.
const MAX_CLIENT_ID_LEN: usize = 256;

/// `GET /api/deployments`.
pub async fn deployments(State(app): State<Arc<App>>, uri: Uri) -> Response {
    let params = match read_params(&uri, false) {
        Ok(params) => params,
        Err(bad) => return bad_request(bad),
    };
    match deployments::list(&app.store, params.range).await {
        Ok(table) => encode(&table, params.format),
        Err(error) => unavailable(&error),
    }
}

/// `GET /api/deployments/{client_id}`.
pub async fn deployment(State(app): State<Arc<App>>, Path(client_id): Path<String>, uri: Uri) -> Response {
    if client_id.len() > MAX_CLIENT_ID_LEN {
        let message = format!("client_id is longer than {MAX_CLIENT_ID_LEN} bytes");
        return respond::error(StatusCode::BAD_REQUEST, &message);
    }
    let params = match read_params(&uri, true) {
        Ok(params) => params,
        Err(bad) => return bad_request(bad),
    };
    match deployments::history(&app.store, &client_id, params.range, params.limit).await {
        Ok(None) => respond::error(StatusCode::NOT_FOUND, "no report from this client id"),
        Ok(Some(reports)) => match params.format {
            Format::Json => {
                respond::json(StatusCode::OK, deployments::history_json(&client_id, &reports).to_string())
            }
            Format::Csv => respond::csv(deployments::history_table(&reports).to_csv()),
        },
        Err(error) => unavailable(&error),
    }
}

/// `GET /api/charts/{chart}`.
pub async fn chart(State(app): State<Arc<App>>, Path(name): Path<String>, uri: Uri) -> Response {
    let Some(chart) = Chart::named(&name) else {
        let names: Vec<&str> = Chart::ALL.iter().map(|c| c.name()).collect();
        return respond::error(
            StatusCode::NOT_FOUND,
            &format!("no such chart; charts are {}", names.join(", ")),
        );
    };
    let params = match read_params(&uri, false) {
        Ok(params) => params,
        Err(bad) => return bad_request(bad),
    };
    match charts::chart(&app.store, chart, params.range).await {
        Ok(table) => encode(&table, params.format),
        Err(error) => unavailable(&error),
    }
}

/// The checked query parameters, or why not.
fn read_params(uri: &Uri, with_limit: bool) -> Result<ReadParams, BadParam> {
    params::parse(uri.query(), with_limit, dates::day_of(dates::now_ms()))
}

/// 400, naming the parameter.
fn bad_request(BadParam(message): BadParam) -> Response {
    respond::error(StatusCode::BAD_REQUEST, &message)
}

fn encode(table: &Table, format: Format) -> Response {
    match format {
        Format::Json => respond::json(StatusCode::OK, table.to_json()),
        Format::Csv => respond::csv(table.to_csv()),
    }
}

/// 503, with the cause in the log rather than the answer.
fn unavailable(error: &StoreError) -> Response {
    log::error("database_error", &[("error", Value::from(error.0.as_str()))]);
    respond::error(StatusCode::SERVICE_UNAVAILABLE, "the database is unavailable")
}
