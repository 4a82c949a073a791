//! Counters and the request-duration histogram, shown at `/metrics` in Prometheus' text
//! format. Labels take only values this server chose (route templates, status codes,
//! reasons), so their number stays bounded whatever clients send.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Upper bounds of the duration buckets, in seconds.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Why an ingest request stored nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rejection {
    /// The measurement id or UA property is not configured.
    UnknownStream,
    /// The API secret does not match the stream's.
    WrongSecret,
    /// The body breaks the protocol's documented limits, or is not what it must be.
    Invalid,
    /// The body is larger than the protocol allows.
    TooLarge,
    /// The database failed; the client is told to retry.
    StorageError,
}

impl Rejection {
    /// Every reason, so that each shows in `/metrics` from the start.
    pub const ALL: [Rejection; 5] = [
        Rejection::UnknownStream,
        Rejection::WrongSecret,
        Rejection::Invalid,
        Rejection::TooLarge,
        Rejection::StorageError,
    ];

    /// The reason as logged and labelled.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::UnknownStream => "unknown_stream",
            Rejection::WrongSecret => "wrong_secret",
            Rejection::Invalid => "invalid",
            Rejection::TooLarge => "too_large",
            Rejection::StorageError => "storage_error",
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Counts per bucket, not cumulative; the last one is `+Inf`.
    buckets: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

/// Everything `/metrics` shows, updated by the request handlers.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    durations: Mutex<BTreeMap<String, Histogram>>,
    rejected: Mutex<BTreeMap<Rejection, u64>>,
    reports_stored: AtomicU64,
    events_stored: AtomicU64,
}

/// A poisoned lock only means a handler panicked mid-update; counts are still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Metrics {
    /// Counts one answered request and its duration.
    pub fn observe_request(&self, route: &str, status: u16, seconds: f64) {
        *lock(&self.requests).entry((route.to_owned(), status)).or_default() += 1;
        let mut durations = lock(&self.durations);
        let histogram = durations.entry(route.to_owned()).or_default();
        let bucket = BUCKETS.iter().position(|bound| seconds <= *bound).unwrap_or(BUCKETS.len());
        histogram.buckets[bucket] += 1;
        histogram.sum += seconds;
        histogram.count += 1;
    }

    /// Counts reports and events committed to the database.
    pub fn stored(&self, reports: u64, events: u64) {
        self.reports_stored.fetch_add(reports, Ordering::Relaxed);
        self.events_stored.fetch_add(events, Ordering::Relaxed);
    }

    /// Counts an ingest request that stored nothing.
    pub fn rejected(&self, reason: Rejection) {
        *lock(&self.rejected).entry(reason).or_default() += 1;
    }

    /// The Prometheus text exposition; the database size only when known.
    pub fn render(&self, database_bytes: Option<u64>) -> String {
        let mut out = String::new();
        header(
            &mut out,
            "mongoose_usage_requests_total",
            "counter",
            "HTTP requests answered, by route and status.",
        );
        for ((route, status), count) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "mongoose_usage_requests_total{{route=\"{}\",status=\"{status}\"}} {count}",
                escape(route)
            );
        }
        header(
            &mut out,
            "mongoose_usage_reports_stored_total",
            "counter",
            "Reports (GA4 requests, UA reports) committed.",
        );
        let _ = writeln!(
            out,
            "mongoose_usage_reports_stored_total {}",
            self.reports_stored.load(Ordering::Relaxed)
        );
        header(&mut out, "mongoose_usage_events_stored_total", "counter", "Events committed.");
        let _ = writeln!(
            out,
            "mongoose_usage_events_stored_total {}",
            self.events_stored.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "mongoose_usage_rejected_total",
            "counter",
            "Ingest requests that stored nothing, by reason.",
        );
        let rejected = lock(&self.rejected);
        for reason in Rejection::ALL {
            let count = rejected.get(&reason).copied().unwrap_or(0);
            let _ = writeln!(out, "mongoose_usage_rejected_total{{reason=\"{}\"}} {count}", reason.as_str());
        }
        drop(rejected);
        self.render_durations(&mut out);
        if let Some(bytes) = database_bytes {
            header(&mut out, "mongoose_usage_database_bytes", "gauge", "Size of the database.");
            let _ = writeln!(out, "mongoose_usage_database_bytes {bytes}");
        }
        out
    }

    fn render_durations(&self, out: &mut String) {
        const NAME: &str = "mongoose_usage_request_duration_seconds";
        header(out, NAME, "histogram", "Time to answer a request, by route.");
        for (route, histogram) in lock(&self.durations).iter() {
            let route = escape(route);
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(&histogram.buckets) {
                cumulative += count;
                let _ = writeln!(out, "{NAME}_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}");
            }
            let _ = writeln!(out, "{NAME}_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", histogram.count);
            let _ = writeln!(out, "{NAME}_sum{{route=\"{route}\"}} {}", histogram.sum);
            let _ = writeln!(out, "{NAME}_count{{route=\"{route}\"}} {}", histogram.count);
        }
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as the text format wants it: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_in_text_format() {
        let metrics = Metrics::default();
        metrics.observe_request("/mp/collect", 204, 0.003);
        metrics.observe_request("/mp/collect", 204, 0.2);
        metrics.observe_request("/mp/collect", 503, 20.0);
        metrics.stored(2, 45);
        metrics.rejected(Rejection::WrongSecret);
        let text = metrics.render(Some(4096));
        for line in [
            "mongoose_usage_requests_total{route=\"/mp/collect\",status=\"204\"} 2",
            "mongoose_usage_requests_total{route=\"/mp/collect\",status=\"503\"} 1",
            "mongoose_usage_reports_stored_total 2",
            "mongoose_usage_events_stored_total 45",
            "mongoose_usage_rejected_total{reason=\"wrong_secret\"} 1",
            "mongoose_usage_rejected_total{reason=\"unknown_stream\"} 0",
            "mongoose_usage_request_duration_seconds_bucket{route=\"/mp/collect\",le=\"0.005\"} 1",
            "mongoose_usage_request_duration_seconds_bucket{route=\"/mp/collect\",le=\"0.25\"} 2",
            "mongoose_usage_request_duration_seconds_bucket{route=\"/mp/collect\",le=\"10\"} 2",
            "mongoose_usage_request_duration_seconds_bucket{route=\"/mp/collect\",le=\"+Inf\"} 3",
            "mongoose_usage_request_duration_seconds_count{route=\"/mp/collect\"} 3",
            "# TYPE mongoose_usage_request_duration_seconds histogram",
            "mongoose_usage_database_bytes 4096",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        assert!(!Metrics::default().render(None).contains("database_bytes"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
