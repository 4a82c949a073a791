//! `mongoose_usage_server`: a self-hosted receiver for the reports of
//! `service_mongoose_system_metrics` (GA4 Measurement Protocol, and the legacy Universal
//! Analytics hits of older MongooseIM releases). It keeps them in SQLite or PostgreSQL
//! and shows them in a dashboard served by the same binary. See `API.md`.

mod api;
mod app;
mod auth;
pub mod config;
mod dashboard;
pub mod dates;
mod ingest;
mod log;
mod metrics;
mod observe;
mod reads;
mod respond;
mod retention;
mod secret;
pub mod server;
mod service;
mod shutdown;
pub mod store;
mod table;
