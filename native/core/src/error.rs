//! What can go wrong once the service is configured, as one type: the binding turns it
//! into Erlang terms in one place, so the Erlang side can tell a timeout from a
//! cancellation or a bug. Option errors ([`crate::options::OptionsError`]) and bad facts
//! ([`crate::facts::FactsError`]) have their own types, since they name what was wrong.

use std::time::Duration;

/// A failure of a call or a cycle of a started reporter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// No reporter is installed.
    #[error("the reporter is not started")]
    NotStarted,
    /// The core's runtime could not be started.
    #[error("{0}")]
    RuntimeUnavailable(String),
    /// A cycle or a validation overran the time the core gives it.
    #[error("it did not finish within {} s", .0.as_secs())]
    Timeout(Duration),
    /// Stopped before it finished, by a stop or a new start.
    #[error("it was cancelled")]
    Cancelled,
    /// A bug: a panic on the core's runtime, with its message.
    #[error("the core panicked: {0}")]
    Panicked(String),
    /// A hand-over or an identity from another member that does not hold together.
    #[error("{0}")]
    InvalidHandOver(String),
    /// The cluster's identity was taken on but could not be saved beside the report file.
    #[error("{0}")]
    ClientIdNotSaved(String),
}
