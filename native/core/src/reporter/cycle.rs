//! One cycle, from facts to the report file: a cluster's facts merged, events built and
//! fitted to Google's limits, sent (or, in the local mode, only planned), the send log
//! appended and the report file replaced; and the watch that turns a panic or a
//! cancellation into a result.

use std::any::Any;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::task::AbortHandle;

use super::Baseline;
use crate::client_id::{self, HandOver, Identity};
use crate::config::{Fault, ServiceConfig};
use crate::delivery::{self, Transport};
use crate::encoded::EncodedEvents;
use crate::error::CoreError;
use crate::events::{self, StanzaBaseline, StanzaTotals};
use crate::facts::Facts;
use crate::limits::{self, Adjustment};
use crate::mode::Mode;
use crate::report::{FileOutcome, Files, Report};
use crate::sync::lock;
use crate::{aggregate, atomic_file, runtime, send_log};

/// Time a cycle may take beyond its delivery deadline, for writing the report file.
const FILE_WRITE_ALLOWANCE: Duration = Duration::from_secs(20);
/// Events from which a report counts as large: once it is dropped, the memory it freed
/// goes back to the OS (see [`runtime::release_freed_memory`]); a small one leaves the
/// allocator be.
const LARGE_REPORT_EVENTS: usize = 1_000;

/// A finished cycle: the report was built and delivery attempted.
#[derive(Debug)]
pub struct Done {
    /// The report, with each destination's outcome and what became of its files.
    pub report: Arc<Report>,
    /// Why the report file, the send log or the client id file could not be written,
    /// naming the paths, for the log.
    pub file_error: Option<String>,
    /// What the other members of the cluster take on from this report.
    pub hand_over: HandOver,
}

/// What a cycle runs with, taken from the reporter when it starts.
pub(super) struct Run {
    pub config: Arc<ServiceConfig>,
    pub transport: Arc<Transport>,
    /// The id the report is sent with.
    pub client_id: String,
    /// The identity handed over to the other members; `None` under the host's id.
    pub identity: Option<Identity>,
    /// The cluster's identity this node has just taken on, to save beside the report.
    pub adopted: Option<Identity>,
    pub baseline: Baseline,
}

impl Run {
    /// The cycle, bounded: delivery has its own deadline, and writing the files a little
    /// more on top, so the result always comes in time.
    pub fn within_time(self, facts: Facts) -> impl Future<Output = Result<Done, CoreError>> + Send + 'static {
        let limit = self.config.policy.deadline + FILE_WRITE_ALLOWANCE;
        async move { tokio::time::timeout(limit, self.run(facts)).await.map_err(|_| CoreError::Timeout(limit)) }
    }

    async fn run(self, facts: Facts) -> Done {
        let config = &self.config;
        if config.fault == Some(Fault::PanicInCycle) {
            panic!("fault injected: a panic in the cycle");
        }
        let previous = lock(&self.baseline).clone();
        let (events, adjustments, totals) = sendable_events(facts, &previous);
        let outcomes = match config.mode {
            // The local mode builds and keeps the report, and sends not a byte.
            Mode::Local | Mode::Off => delivery::planned(&config.destinations, &self.client_id, &events).0,
            Mode::On => {
                delivery::deliver(&self.transport, &config.destinations, &self.client_id, &events).await
            }
        };
        let report = Report::new(config.mode, &self.client_id, events, adjustments, outcomes);
        // What to tell if the writing task itself fails: the report was built and sent.
        let (sent_with, sent) = (report.client_id.clone(), report.destinations.clone());
        let (path, adopted) = (config.report_file.clone(), self.adopted);
        let written = tokio::task::spawn_blocking(move || write_files(report, &path, adopted.as_ref())).await;
        let stanza_totals = {
            let mut baseline = lock(&self.baseline);
            baseline.extend(totals);
            baseline.clone()
        };
        let (report, file_error) = written.unwrap_or_else(|e| {
            let why = format!("the report file task failed: {e}");
            let mut report = Report::new(config.mode, &sent_with, Vec::new(), Vec::new(), sent);
            report.files =
                Some(Files { report_file: FileOutcome::failed(&why), send_log: FileOutcome::failed(&why) });
            (report, Some(why))
        });
        let hand_over = HandOver { identity: self.identity, stanza_totals: Some(stanza_totals) };
        Done { report: Arc::new(report), file_error, hand_over }
    }
}

/// The report a cycle would send for these facts, with its planned requests.
pub(super) fn preview(
    config: &ServiceConfig,
    client_id: &str,
    facts: Facts,
    previous: &StanzaBaseline,
) -> Report {
    let (events, adjustments, _) = sendable_events(facts, previous);
    let (planned, requests) = delivery::planned(&config.destinations, client_id, &events);
    let mut report = Report::new(config.mode, client_id, events, adjustments, planned);
    report.requests = Some(requests);
    report
}

/// The events of a report as they will be sent: a cluster's facts merged, events built,
/// fitted to Google's limits and encoded. Also the stanza totals they count from.
pub(super) fn sendable_events(
    facts: Facts,
    previous: &StanzaBaseline,
) -> (EncodedEvents, Vec<Adjustment>, Vec<(String, StanzaTotals)>) {
    let facts = aggregate::merge(facts);
    let (events, adjustments) = limits::enforce(events::build(&facts, previous));
    (EncodedEvents::new(events), adjustments, facts.stanza_by_node)
}

pub(super) fn is_large(report: &Report) -> bool {
    report.events.len() >= LARGE_REPORT_EVENTS
}

/// Runs `work` and calls `done` with its result, or with a panic's or a cancellation's
/// error; then, if the result was large, gives the memory it freed back.
pub(super) fn spawn_watched<T: Send + 'static>(
    runtime: &Runtime,
    work: impl Future<Output = Result<T, CoreError>> + Send + 'static,
    done: impl FnOnce(Result<T, CoreError>) + Send + 'static,
    is_large: impl FnOnce(&T) -> bool + Send + 'static,
) -> AbortHandle {
    let work = runtime.spawn(work);
    let abort = work.abort_handle();
    runtime.spawn(async move {
        let result = match work.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => Err(CoreError::Panicked(panic_text(e.into_panic()))),
            Err(_) => Err(CoreError::Cancelled),
        };
        let large = result.as_ref().is_ok_and(is_large);
        done(result);
        // `done` has dropped the result and all that was built for it.
        if large {
            runtime::release_freed_memory();
        }
    });
    abort
}

/// Saves the identity just taken on, appends the report's send-log lines, then writes the
/// report file, which can so tell whether the lines were written. The report's `files`
/// says how each went, without paths; the second value, for the log, names the paths.
fn write_files(mut report: Report, path: &Path, adopted: Option<&Identity>) -> (Report, Option<String>) {
    let mut errors = Vec::new();
    if let Some(identity) = adopted {
        if let Err(why) = client_id::save(&client_id::path_beside(path), identity) {
            errors.push(why);
        }
    }
    let log = send_log::path_beside(path);
    let send_log = match send_log::append(&log, &report) {
        Ok(0) => FileOutcome::nothing_sent(),
        Ok(_) => FileOutcome::written(),
        Err(e) => {
            errors.push(format!("cannot append to send log {}: {e}", log.display()));
            FileOutcome::failed(e)
        }
    };
    report.files = Some(Files { report_file: FileOutcome::written(), send_log });
    if let Err(e) = atomic_file::replace(path, &report.file_bytes()) {
        errors.push(format!("cannot write report file {}: {e}", path.display()));
        if let Some(files) = report.files.as_mut() {
            files.report_file = FileOutcome::failed(e);
        }
    }
    (report, if errors.is_empty() { None } else { Some(errors.join("; ")) })
}

fn panic_text(payload: Box<dyn Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}
