//! The server's shared state, and the routes that use it.

use std::sync::Arc;

use axum::middleware;
use axum::routing::{get, post};
use axum::Router;

use crate::auth::{self, ReadAccess};
use crate::config::{Secret, Stream};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::{api, dashboard, ingest, observe, service};

/// What every handler shares.
pub struct App {
    /// The database.
    pub store: Store,
    /// The counters of `/metrics`.
    pub metrics: Metrics,
    /// The configured GA4 streams and UA properties.
    pub streams: Vec<Stream>,
    /// Who may read.
    pub access: ReadAccess,
}

impl App {
    /// The API secret of a configured GA4 stream.
    pub fn ga4_secret(&self, measurement_id: &str) -> Option<&Secret> {
        self.streams.iter().find_map(|stream| match stream {
            Stream::Ga4 { id, secret } if id == measurement_id => Some(secret),
            _ => None,
        })
    }

    /// Whether a UA property is configured.
    pub fn is_ua_property(&self, tracking_id: &str) -> bool {
        self.streams.iter().any(|stream| matches!(stream, Stream::Ua { id } if id == tracking_id))
    }
}

/// Every route: ingest, health and login open to all; reads behind the read token.
pub fn router(app: Arc<App>) -> Router {
    let reads = Router::new()
        .route("/", get(dashboard::overview))
        .route("/deployments/{client_id}", get(dashboard::deployment))
        .route("/api/deployments", get(api::deployments))
        .route("/api/deployments/{client_id}", get(api::deployment))
        .route("/api/charts/{chart}", get(api::chart))
        .route("/metrics", get(service::metrics))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&app), auth::require));
    Router::new()
        .route("/mp/collect", post(ingest::ga4::collect))
        .route("/debug/mp/collect", post(ingest::ga4::validate))
        .route("/collect", post(ingest::ua::collect))
        .route("/batch", post(ingest::ua::batch))
        .route("/healthz", get(service::healthz))
        .route("/login", get(auth::login))
        .route("/assets/app.js", get(dashboard::app_js))
        .route("/assets/style.css", get(dashboard::style_css))
        .route("/favicon.ico", get(dashboard::no_icon))
        .merge(reads)
        .fallback(service::not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&app), observe::observe))
        .with_state(app)
}
