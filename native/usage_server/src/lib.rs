//! `mongoose_usage_server`: a self-hosted receiver for the reports of
//! `service_mongoose_system_metrics` (GA4 Measurement Protocol, and the legacy Universal
//! Analytics hits of older MongooseIM releases). It keeps them in SQLite or PostgreSQL
//! and shows them in a dashboard served by the same binary. See `API.md`.

pub mod config;
pub mod dates;
pub mod store;
