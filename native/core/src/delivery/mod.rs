//! HTTP delivery of a report to every destination at once: GA4 requests to `/mp/collect`
//! and legacy Universal Analytics batches to `/batch`, over rustls with certificate
//! verification always on (the system's roots, plus an operator's CA bundle if given),
//! with a connect timeout, a per-request timeout, retries with backoff (see [`retry`]),
//! and a deadline per destination. One [`Transport`] per configuration holds the HTTP
//! client: it is built the first time a cycle or a validation needs it, and its pool
//! keeps connections alive from one request, and one cycle, to the next. Answers are
//! read only up to a small cap, so a hostile or broken server cannot grow our memory.
//! Destinations are independent: one failing never stops the others, and each gets an
//! [`Outcome`](crate::report::Outcome). `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` are
//! honoured, except for loopback destinations; like the system's CA roots, they are read
//! when the client is built, once per configuration.
//!
//! [`endpoint`] says where requests go and how the client connects, `payloads` what each
//! destination is sent, `plan` what would be sent without sending it, `transport` holds
//! the client and reads answers, `send` delivers with retries and `validate` asks
//! Google's validation server.

pub mod endpoint;
mod errors;
mod payloads;
mod plan;
mod policy;
pub mod retry;
mod send;
mod transport;
mod validate;

#[cfg(test)]
mod hostile_server;
#[cfg(test)]
mod test_support;

pub use endpoint::Endpoint;
pub use plan::{planned, sha256_hex};
pub use policy::Policy;
pub use send::{deliver, MAX_DELIVERY_ANSWER};
pub use transport::Transport;
pub use validate::{validate, Validation, MAX_VALIDATION_ANSWER};
