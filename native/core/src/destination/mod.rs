//! Where reports go: GA4 properties (measurement id + API secret) and legacy Universal
//! Analytics tracking ids, parsed from the `tracking_id` option and the built-in default.
//!
//! The API secret lives in [`Secret`], which cannot be printed, serialised or compared
//! by accident: it leaves this crate only inside a request URL.

mod tracking_id;

use std::fmt;

pub use tracking_id::{parse, Parsed, TrackingIdError};

/// A GA4 Measurement Protocol API secret. Its `Debug` output is redacted and it has no
/// `Display`, so it cannot end up in a log line, an error or the report.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for building a request URL and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// One place a report is sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A GA4 property, reached over the Measurement Protocol.
    Ga4 {
        /// The measurement id, e.g. `G-B4S18X6KY5`.
        measurement_id: String,
        /// The Measurement Protocol API secret.
        secret: Secret,
    },
    /// A Universal Analytics property (`UA-XXXX-Y`), as in old configuration files.
    UniversalAnalytics {
        /// The tracking id.
        tracking_id: String,
    },
}

impl Destination {
    /// The public id of the destination: safe to log, show and write to the report.
    pub fn id(&self) -> &str {
        match self {
            Destination::Ga4 { measurement_id, .. } => measurement_id,
            Destination::UniversalAnalytics { tracking_id } => tracking_id,
        }
    }

    /// The protocol name used in the report: `ga4` or `universal_analytics`.
    pub fn protocol(&self) -> &'static str {
        match self {
            Destination::Ga4 { .. } => "ga4",
            Destination::UniversalAnalytics { .. } => "universal_analytics",
        }
    }
}

/// MongooseIM's own GA4 properties, the built-in destination of MongooseIM's
/// `service_mongoose_system_metrics`: `(measurement id, API secret)` of its production
/// property, and of the property its CI runs report to (when the variable `CI` is `true`).
/// They belong to MongooseIM's maintainers (Erlang Solutions) and are published in
/// MongooseIM's public source, `src/system_metrics/service_mongoose_system_metrics.erl`
/// (macros `TRACKING_ID` under `PROD_NODE` and `TRACKING_ID_CI`). The secrets are kept
/// in [`Secret`] like any other, so they are never rendered either.
const MONGOOSEIM_PRODUCTION: (&str, &str) = ("G-B4S18X6KY5", "Rj6lopOLQZ2HPLj50QtYeQ");
const MONGOOSEIM_CI: (&str, &str) = ("G-VB91V60SKT", "LFxdCgDsSa-OAPtBnLDqpQ");

/// MongooseIM's own GA4 property, as MongooseIM chooses it: the CI property when the
/// environment variable `CI` is exactly `true`, else the production one.
pub fn mongooseim(ci: Option<&str>) -> Destination {
    let (id, secret) = if ci == Some("true") { MONGOOSEIM_CI } else { MONGOOSEIM_PRODUCTION };
    Destination::Ga4 { measurement_id: id.to_owned(), secret: Secret(secret.to_owned()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let d = Destination::Ga4 { measurement_id: "G-1".into(), secret: Secret("topsecret".into()) };
        assert!(!format!("{d:?}").contains("topsecret"));
    }

    #[test]
    fn mongooseim_property_is_production_unless_ci_is_exactly_true() {
        let secret = |d: &Destination| match d {
            Destination::Ga4 { secret, .. } => secret.expose().to_owned(),
            Destination::UniversalAnalytics { .. } => panic!("a GA4 property"),
        };
        let production = mongooseim(None);
        assert_eq!((production.id(), production.protocol()), ("G-B4S18X6KY5", "ga4"));
        assert_eq!(secret(&production), "Rj6lopOLQZ2HPLj50QtYeQ");
        let ci = mongooseim(Some("true"));
        assert_eq!(ci.id(), "G-VB91V60SKT");
        assert_eq!(secret(&ci), "LFxdCgDsSa-OAPtBnLDqpQ");
        for other in ["false", "TRUE", "1", "", " true"] {
            assert_eq!(mongooseim(Some(other)), production, "CI={other:?}");
        }
        for d in [production, ci] {
            assert!(!format!("{d:?}").contains(&secret(&d)), "{d:?}");
        }
    }
}
