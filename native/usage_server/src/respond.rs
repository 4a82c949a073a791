//! Building responses: JSON, CSV, plain text and empty ones.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// A JSON body.
pub fn json(status: StatusCode, body: String) -> Response {
    with_type(status, "application/json", body)
}

/// `{"error": message}`.
pub fn error(status: StatusCode, message: &str) -> Response {
    json(status, serde_json::json!({ "error": message }).to_string())
}

/// A CSV body.
pub fn csv(body: String) -> Response {
    with_type(StatusCode::OK, "text/csv; charset=utf-8", body)
}

/// A plain-text body.
pub fn text(status: StatusCode, body: impl Into<String>) -> Response {
    with_type(status, "text/plain; charset=utf-8", body.into())
}

/// A body of a given type.
pub fn with_type(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// No body at all.
pub fn empty(status: StatusCode) -> Response {
    status.into_response()
}
