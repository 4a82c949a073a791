//! The core of `service_mongoose_system_metrics`: everything that decides what is
//! reported and how, as plain Rust that `cargo test` checks without a BEAM.
//!
//! Data flows one way: [`options`] and [`config`] validate the service options, with
//! [`destination`] for where reports go and [`delivery::endpoint`] for the URL rules;
//! [`facts`] types the raw facts the Erlang side collects, once, and [`aggregate`] merges
//! a cluster's into one [`aggregate::ClusterFacts`]; [`events`] turns that into
//! anonymous GA4 events using the allowlists of [`known`]; [`limits`] makes them fit
//! Google's limits; [`ga4`] encodes the requests;
//! [`delivery`] sends them; [`report`] and [`atomic_file`] write the report file; and
//! [`reporter`] runs the whole cycle on the small [`runtime`], with the identity of
//! [`client_id`], and ends it with what the other members of a cluster take on
//! ([`client_id::HandOver`]). What fails after configuration is a [`error::CoreError`].

pub mod aggregate;
pub mod atomic_file;
pub mod client_id;
pub mod config;
pub mod delivery;
pub mod destination;
pub mod encoded;
pub mod error;
pub mod events;
pub mod facts;
pub mod ga4;
pub mod known;
pub mod limits;
pub mod mode;
pub mod options;
pub mod params;
pub mod report;
pub mod reporter;
pub mod runtime;
pub mod send_log;
mod shown;
pub mod sync;
pub mod ua;
pub mod value;
