//! The dashboard: two pages and their script and styles, embedded in the binary so that
//! nothing is fetched from elsewhere. The pages read everything from `/api/*`.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use crate::respond;

const INDEX_HTML: &str = include_str!("../assets/index.html");
const DEPLOYMENT_HTML: &str = include_str!("../assets/deployment.html");
const APP_JS: &str = include_str!("../assets/app.js");
const STYLE_CSS: &str = include_str!("../assets/style.css");

/// `GET /`: the overview.
pub async fn overview() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// `GET /deployments/{client_id}`: a deployment's page; its script reads the id from the URL.
pub async fn deployment(Path(_client_id): Path<String>) -> Response {
    asset("text/html; charset=utf-8", DEPLOYMENT_HTML)
}

/// `GET /assets/app.js`.
pub async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

/// `GET /assets/style.css`.
pub async fn style_css() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

/// `GET /favicon.ico`, which browsers ask for on their own: there is none, and saying so
/// with 204 keeps a 404 out of the browser's console.
pub async fn no_icon() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// An embedded file, revalidated on each use so that an upgraded server is seen at once.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = respond::with_type(StatusCode::OK, content_type, body.to_owned());
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
