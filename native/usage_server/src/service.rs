//! The service endpoints: health for load balancers, metrics for Prometheus, and the
//! answer to any other path.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::app::App;
use crate::respond;

/// How long the health check waits for the database.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

/// `GET /healthz`: 200 `ok` when the database answers, 503 otherwise.
pub async fn healthz(State(app): State<Arc<App>>) -> Response {
    match tokio::time::timeout(HEALTH_TIMEOUT, app.store.ping()).await {
        Ok(Ok(())) => respond::text(StatusCode::OK, "ok"),
        _ => respond::text(StatusCode::SERVICE_UNAVAILABLE, "the database does not answer\n"),
    }
}

/// `GET /metrics`: Prometheus' text format.
pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    let database_bytes = app.store.size_bytes().await;
    respond::with_type(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        app.metrics.render(database_bytes),
    )
}

/// Any path that is not served.
pub async fn not_found() -> Response {
    respond::text(StatusCode::NOT_FOUND, "not found\n")
}
