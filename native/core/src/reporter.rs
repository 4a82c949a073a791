//! One running reporter: the resolved configuration, the client id (the host's cluster
//! id when it has one, else an id of its own kept beside the report file), and the
//! cycles in flight. A cycle builds the events from the facts, delivers them to every destination,
//! writes the report file and hands the result to a callback; it runs on the core's
//! [`runtime`](crate::runtime), never on the caller's thread.

use std::any::Any;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::task::AbortHandle;

use crate::client_id::{self, Identity};
use crate::config::{Fault, ServiceConfig};
use crate::delivery::{self, Policy, Transport, Validation};
use crate::encoded::EncodedEvents;
use crate::events::{self, StanzaBaseline};
use crate::facts::Facts;
use crate::limits::{self, Adjustment};
use crate::mode::Mode;
use crate::report::{FileOutcome, Files, Report};
use crate::{aggregate, atomic_file, runtime, send_log};

/// Time a cycle may take beyond its delivery deadline, for writing the report file.
const FILE_WRITE_ALLOWANCE: Duration = Duration::from_secs(20);
/// Events from which a report counts as large: its cycle gives back the memory it freed
/// (see [`runtime::release_freed_memory`]); a small one leaves the allocator be.
const LARGE_REPORT_EVENTS: usize = 1_000;

/// The result of one cycle, as handed to the callback.
#[derive(Debug)]
pub enum Cycle {
    /// The report was built and delivery attempted; the report's `files` and
    /// `file_error` tell whether the report file and the send log could be written.
    Done {
        /// The report, with each destination's outcome and what became of its files.
        report: Arc<Report>,
        /// Why the report file or the send log could not be written, naming the paths,
        /// for the log.
        file_error: Option<String>,
    },
    /// The cycle did not finish: it panicked, overran its time, or was cancelled by
    /// [`Reporter::stop`].
    Failed(String),
}

/// A started reporter.
#[derive(Debug)]
pub struct Reporter {
    config: Arc<ServiceConfig>,
    /// The configuration's HTTP client, built by the first cycle or validation that needs
    /// it and shared by all after; it goes with the reporter (a new start makes a new one).
    transport: Arc<Transport>,
    identity: Mutex<Identity>,
    in_flight: Mutex<Vec<AbortHandle>>,
    baseline: Baseline,
}

/// Each node's stanza totals at the last finished cycle, shared so that they outlive a
/// restart of the reporter (the counters themselves live as long as their node).
pub type Baseline = Arc<Mutex<StanzaBaseline>>;

impl Reporter {
    /// Starts a reporter. Its identity is the host's cluster id when the configuration
    /// has one (no client id file is read or written then); otherwise it loads or makes
    /// its own, kept beside the report file (blocking file I/O).
    /// Returns remarks for the log, such as a client id file that cannot be saved.
    pub fn start(config: ServiceConfig, baseline: Baseline) -> (Reporter, Vec<String>) {
        atomic_file::remove_leftovers(&config.report_file);
        atomic_file::remove_leftovers(&client_id::path_beside(&config.report_file));
        let (identity, warning) = match &config.host_client_id {
            // The host's id was made before we were: no creation time to compare.
            Some(id) => (Identity { created_ms: 0, id: id.clone() }, None),
            None => {
                let loaded = client_id::load_or_create(&client_id::path_beside(&config.report_file));
                (loaded.identity, loaded.warning)
            }
        };
        let reporter = Reporter {
            transport: Arc::new(Transport::new(config.endpoint.clone(), config.policy)),
            config: Arc::new(config),
            identity: Mutex::new(identity),
            in_flight: Mutex::new(Vec::new()),
            baseline,
        };
        (reporter, warning.into_iter().collect())
    }

    /// Replaces the delivery time limits (tests use short ones), and so the client.
    pub fn with_policy(mut self, policy: Policy) -> Reporter {
        Arc::make_mut(&mut self.config).policy = policy;
        self.transport = Arc::new(Transport::new(self.config.endpoint.clone(), policy));
        self
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The anonymous client id: the host's cluster id, or the reporter's own.
    pub fn client_id(&self) -> String {
        lock(&self.identity).id.clone()
    }

    /// The client id and when it was made.
    pub fn identity(&self) -> Identity {
        lock(&self.identity).clone()
    }

    /// Each node's stanza totals at the last report, as [`Reporter::follow`] takes them.
    pub fn baseline(&self) -> StanzaBaseline {
        lock(&self.baseline).clone()
    }

    /// Takes on the cluster's identity and stanza totals, as the node that reported last
    /// announced them: the id is saved beside the report file (so it survives a restart
    /// of the whole cluster) and increments after a fail-over count from the cluster's
    /// last report. With the host's cluster id, the identity given is ignored: the host
    /// already gives every node the same one.
    ///
    /// # Errors
    /// Why the id could not be saved; it is used all the same.
    pub fn follow(&self, identity: Option<Identity>, totals: Option<StanzaBaseline>) -> Result<(), String> {
        if let Some(totals) = totals {
            *lock(&self.baseline) = totals;
        }
        if self.config.host_client_id.is_some() {
            return Ok(());
        }
        let mut current = lock(&self.identity);
        let Some(identity) = identity.filter(|i| *i != *current) else { return Ok(()) };
        *current = identity;
        client_id::save(&client_id::path_beside(&self.config.report_file), &current)
    }

    /// The report a cycle would send for these facts; nothing is sent or written.
    pub fn preview(&self, facts: &Facts) -> Report {
        let (events, adjustments, _) = sendable_events(facts.clone(), &lock(&self.baseline));
        let client_id = facts.client_id.clone().unwrap_or_else(|| self.client_id());
        let (planned, requests) = delivery::planned(&self.config.destinations, &client_id, &events);
        let mut report = Report::new(&client_id, events, adjustments, planned);
        report.mode = self.config.mode.as_str();
        report.requests = Some(requests);
        report
    }

    /// Sends what a cycle would send to Google's validation server and calls `done` with
    /// its `validationMessages` per GA4 destination; sends nothing to reports.
    ///
    /// # Errors
    /// When the runtime cannot be started; `done` is then not called.
    pub fn spawn_validation(
        &self,
        facts: Facts,
        done: impl FnOnce(Result<Vec<Validation>, String>) + Send + 'static,
    ) -> Result<(), String> {
        let runtime = runtime::get()?;
        let (config, transport) = (Arc::clone(&self.config), Arc::clone(&self.transport));
        let client_id = facts.client_id.clone().unwrap_or_else(|| self.client_id());
        let (events, _, _) = sendable_events(facts, &lock(&self.baseline));
        let work = runtime.spawn(async move {
            delivery::validate(&transport, &config.destinations, &client_id, &events).await
        });
        runtime
            .spawn(async move { done(work.await.map_err(|e| format!("the validation task failed: {e}"))) });
        Ok(())
    }

    /// Runs a cycle on the core's runtime and calls `done` with its result, exactly once.
    ///
    /// # Errors
    /// When the runtime cannot be started; `done` is then not called.
    pub fn spawn_cycle(&self, facts: Facts, done: impl FnOnce(Cycle) + Send + 'static) -> Result<(), String> {
        let runtime = runtime::get()?;
        let (config, transport) = (Arc::clone(&self.config), Arc::clone(&self.transport));
        let client_id = facts.client_id.clone().unwrap_or_else(|| self.client_id());
        let baseline = Arc::clone(&self.baseline);
        // The core bounds its own cycles: delivery has its deadline, and the file write
        // gets a little more on top, so `done` is always called in time.
        let limit = config.policy.deadline + FILE_WRITE_ALLOWANCE;
        let work = async move {
            tokio::time::timeout(limit, run_cycle(config, transport, client_id, facts, baseline))
                .await
                .map_err(|_| format!("the cycle did not finish within {} s", limit.as_secs()))
        };
        let abort = spawn_watched(runtime, work, done);
        let mut in_flight = lock(&self.in_flight);
        in_flight.retain(|h| !h.is_finished());
        in_flight.push(abort);
        Ok(())
    }

    /// Cancels every cycle in flight; their callbacks get [`Cycle::Failed`].
    pub fn stop(&self) {
        for handle in lock(&self.in_flight).drain(..) {
            handle.abort();
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `work` and calls `done` with its result, or with [`Cycle::Failed`] when it
/// panics or is aborted: a panic on the runtime never goes unreported.
fn spawn_watched<W>(runtime: &Runtime, work: W, done: impl FnOnce(Cycle) + Send + 'static) -> AbortHandle
where
    W: Future<Output = Result<(Report, Option<String>), String>> + Send + 'static,
{
    let work = runtime.spawn(work);
    let abort = work.abort_handle();
    runtime.spawn(async move {
        let result = work.await;
        let large = matches!(&result, Ok(Ok((report, _))) if report.events.len() >= LARGE_REPORT_EVENTS);
        done(match result {
            Ok(Ok((report, file_error))) => Cycle::Done { report: Arc::new(report), file_error },
            Ok(Err(why)) => Cycle::Failed(why),
            Err(e) if e.is_panic() => {
                Cycle::Failed(format!("the cycle panicked: {}", panic_text(e.into_panic())))
            }
            Err(_) => Cycle::Failed("the cycle was cancelled".to_owned()),
        });
        // `done` has dropped the report and all the cycle built for it.
        if large {
            runtime::release_freed_memory();
        }
    });
    abort
}

/// The events of a report as they will be sent: a cluster's facts merged, events built,
/// fitted to Google's limits and encoded. Also the stanza totals they count from.
fn sendable_events(
    facts: Facts,
    previous: &StanzaBaseline,
) -> (EncodedEvents, Vec<Adjustment>, Vec<(String, events::StanzaTotals)>) {
    let facts = aggregate::merge(facts);
    let (events, adjustments) = limits::enforce(events::build(&facts, previous));
    (EncodedEvents::new(events), adjustments, facts.stanza_by_node)
}

async fn run_cycle(
    config: Arc<ServiceConfig>,
    transport: Arc<Transport>,
    client_id: String,
    facts: Facts,
    baseline: Baseline,
) -> (Report, Option<String>) {
    if config.fault == Some(Fault::PanicInCycle) {
        panic!("fault injected: a panic in the cycle");
    }
    let previous = lock(&baseline).clone();
    let (events, adjustments, totals) = sendable_events(facts, &previous);
    let outcomes = match config.mode {
        // The local mode builds and keeps the report, and sends not a byte.
        Mode::Local | Mode::Off => delivery::planned(&config.destinations, &client_id, &events).0,
        Mode::On => delivery::deliver(&transport, &config.destinations, &client_id, &events).await,
    };
    let mut report = Report::new(&client_id, events, adjustments, outcomes);
    report.mode = config.mode.as_str();
    let (path, log) = (config.report_file.clone(), send_log::path_beside(&config.report_file));
    // What to tell if the writing task itself fails: the report was built and sent.
    let (sent_with, outcomes) = (report.client_id.clone(), report.destinations.clone());
    let written = tokio::task::spawn_blocking(move || write_files(report, &path, &log)).await;
    lock(&baseline).extend(totals);
    written.unwrap_or_else(|e| {
        let why = format!("the report file task failed: {e}");
        let mut report = Report::new(&sent_with, Vec::new(), Vec::new(), outcomes);
        report.mode = config.mode.as_str();
        report.files =
            Some(Files { report_file: FileOutcome::failed(&why), send_log: FileOutcome::failed(&why) });
        (report, Some(why))
    })
}

/// Appends the report's send-log lines, then writes the report file, which can so tell
/// whether the lines were written. The report's `files` says how each went, without
/// paths; the second value, for the log, names the paths.
fn write_files(
    mut report: Report,
    path: &std::path::Path,
    log: &std::path::Path,
) -> (Report, Option<String>) {
    let mut errors = Vec::new();
    let send_log = match send_log::append(log, &report) {
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

/// A poisoned lock only means a panic elsewhere; the data is still consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn panic_text(payload: Box<dyn Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atomic_file::tests::temp_dir;
    use crate::config::from_start_argument;
    use crate::report::Delivery;
    use crate::value::Value;
    use ga4_collector::{Collector, Mode};
    use std::sync::mpsc;
    use std::time::Duration;

    fn config(url: &str, dir: &std::path::Path) -> ServiceConfig {
        let tracking = Value::Map(vec![
            (Value::atom("id"), Value::binary("G-TEST")),
            (Value::atom("secret"), Value::binary("sekrit")),
        ]);
        let options = Value::Map(vec![
            (Value::atom("google_analytics_url"), Value::binary(url)),
            (Value::atom("tracking_id"), tracking),
        ]);
        let argument = Value::Map(vec![
            (Value::atom("options"), options),
            (Value::atom("report_dir"), Value::binary(dir.to_str().unwrap())),
        ]);
        from_start_argument(&argument, dir).unwrap()
    }

    impl Reporter {
        fn start_fresh(config: ServiceConfig) -> (Reporter, Vec<String>) {
            Reporter::start(config, Baseline::default())
        }
    }

    fn module_host() -> crate::facts::HostTypeModules {
        crate::facts::HostTypeModules {
            host_type: Value::atom("ht").into(),
            modules: vec![crate::facts::Module { name: "mod_vcard".to_owned(), options: Default::default() }],
        }
    }

    fn facts() -> Facts {
        Facts { uptime_ms: Some(1000), node_count: Some(1), host_type_count: Some(2), ..Facts::default() }
    }

    fn cycle(reporter: &Reporter) -> Cycle {
        let (tx, rx) = mpsc::channel();
        reporter.spawn_cycle(facts(), move |c| tx.send(c).unwrap()).unwrap();
        rx.recv_timeout(Duration::from_secs(20)).expect("a cycle reports back")
    }

    #[test]
    fn a_cycle_sends_writes_the_file_and_reports_back() {
        let collector = Collector::start().unwrap();
        let dir = temp_dir("cycle");
        let (reporter, warnings) = Reporter::start_fresh(config(&collector.url(), &dir));
        assert!(warnings.is_empty());
        let Cycle::Done { report, file_error } = cycle(&reporter) else { panic!("cycle failed") };
        assert_eq!(file_error, None);
        assert_eq!(report.destinations[0].result, Delivery::Delivered);
        assert_eq!(report.client_id, reporter.client_id());
        let file = std::fs::read(dir.join("system_metrics_report.json")).unwrap();
        let written: serde_json::Value = serde_json::from_slice(&file).unwrap();
        assert_eq!(written, report.to_json());
        let sent = &collector.requests()[0];
        assert_eq!(
            sent.json.as_ref().unwrap()["events"],
            written["events"],
            "the file holds the events as sent"
        );
        assert!(!String::from_utf8_lossy(&file).contains("sekrit"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_client_id_survives_a_restart() {
        let dir = temp_dir("restart");
        let first = Reporter::start_fresh(config("http://127.0.0.1:9", &dir)).0.client_id();
        let second = Reporter::start_fresh(config("http://127.0.0.1:9", &dir)).0.client_id();
        assert_eq!(first, second);
        std::fs::remove_dir_all(dir).unwrap();
    }

    const HOST_ID: &str = "ephemeral-802c323a-525d-497d-bb33-d00cbc2bef8e";

    fn hosted(url: &str, dir: &std::path::Path) -> ServiceConfig {
        ServiceConfig { host_client_id: Some(HOST_ID.to_owned()), ..config(url, dir) }
    }

    fn uuid_v4(created_ms: u64) -> Identity {
        Identity::checked(&uuid::Uuid::new_v4().to_string(), created_ms).unwrap()
    }

    fn totals(node: &str, n: u64) -> StanzaBaseline {
        [(node.to_owned(), [("xmppMessageSent".to_owned(), n)].into_iter().collect())].into_iter().collect()
    }

    #[test]
    fn the_hosts_cluster_id_is_the_identity_and_what_is_sent() {
        let collector = Collector::start().unwrap();
        let dir = temp_dir("host-id");
        let (reporter, warnings) = Reporter::start_fresh(hosted(&collector.url(), &dir));
        assert!(warnings.is_empty());
        assert_eq!(reporter.client_id(), HOST_ID);
        assert_eq!(reporter.identity(), Identity { created_ms: 0, id: HOST_ID.to_owned() });
        let Cycle::Done { report, file_error } = cycle(&reporter) else { panic!("cycle failed") };
        assert_eq!(file_error, None);
        assert_eq!(report.client_id, HOST_ID);
        assert_eq!(collector.requests()[0].json.as_ref().unwrap()["client_id"], HOST_ID);
        assert_eq!(reporter.preview(&facts()).client_id, HOST_ID);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn with_the_hosts_id_no_client_id_file_is_read_or_made() {
        let dir = temp_dir("host-id-file");
        let (reporter, _) = Reporter::start_fresh(hosted("http://127.0.0.1:9", &dir));
        let file = client_id::path_beside(&reporter.config().report_file);
        assert!(!file.exists(), "no file at start");
        reporter.follow(Some(uuid_v4(1)), None).unwrap();
        assert!(!file.exists(), "nor after following");
        drop(reporter);
        // A file left by an earlier install without the host's id is neither read nor touched.
        let own = uuid_v4(5);
        client_id::save(&file, &own).unwrap();
        let before = std::fs::read(&file).unwrap();
        let (reporter, _) = Reporter::start_fresh(hosted("http://127.0.0.1:9", &dir));
        assert_eq!(reporter.client_id(), HOST_ID);
        reporter.follow(Some(uuid_v4(1)), None).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), before);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn follow_keeps_the_hosts_id_and_takes_the_totals() {
        let dir = temp_dir("host-id-follow");
        let (reporter, _) = Reporter::start_fresh(hosted("http://127.0.0.1:9", &dir));
        reporter.follow(Some(uuid_v4(1)), Some(totals("a@h", 7))).unwrap();
        assert_eq!(reporter.client_id(), HOST_ID);
        assert_eq!(reporter.baseline(), totals("a@h", 7));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn without_the_hosts_id_follow_adopts_and_keeps_the_clusters() {
        let dir = temp_dir("own-id-follow");
        let (reporter, _) = Reporter::start_fresh(config("http://127.0.0.1:9", &dir));
        let file = client_id::path_beside(&reporter.config().report_file);
        let own = client_id::load_or_create(&file).identity;
        assert_eq!(reporter.identity(), own, "its own id, kept in the file");
        let cluster = uuid_v4(1);
        reporter.follow(Some(cluster.clone()), Some(totals("b@h", 3))).unwrap();
        assert_eq!(reporter.identity(), cluster);
        assert_eq!(reporter.baseline(), totals("b@h", 3));
        drop(reporter);
        let (restarted, _) = Reporter::start_fresh(config("http://127.0.0.1:9", &dir));
        assert_eq!(restarted.identity(), cluster, "the adopted id survives a restart");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unwritable_report_file_is_reported_and_delivery_still_happens() {
        let collector = Collector::start().unwrap();
        let dir = temp_dir("unwritable");
        let mut config = config(&collector.url(), &dir);
        std::fs::write(dir.join("blocker"), "").unwrap();
        config.report_file = dir.join("blocker").join("report.json");
        let (reporter, warnings) = Reporter::start_fresh(config);
        assert_eq!(warnings.len(), 1, "the client id cannot be saved either");
        let Cycle::Done { report, file_error } = cycle(&reporter) else { panic!("cycle failed") };
        assert!(file_error.unwrap().contains("cannot write report file"));
        assert_eq!(report.destinations[0].result, Delivery::Delivered);
        let not_a_directory =
            serde_json::json!({"result": "failed", "error": "Not a directory (os error 20)"});
        let files = serde_json::json!({"report_file": not_a_directory, "send_log": not_a_directory});
        assert_eq!(report.to_json()["files"], files);
        assert_eq!(report.summary_json()["files"], files);
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn files(report: &Report) -> serde_json::Value {
        report.to_json()["files"].clone()
    }

    #[test]
    fn the_report_says_that_its_file_and_send_log_lines_were_written() {
        let collector = Collector::start().unwrap();
        let dir = temp_dir("files-written");
        let (reporter, _) = Reporter::start_fresh(config(&collector.url(), &dir));
        let Cycle::Done { report, file_error } = cycle(&reporter) else { panic!("cycle failed") };
        assert_eq!(file_error, None);
        let written =
            serde_json::json!({"report_file": {"result": "written"}, "send_log": {"result": "written"}});
        assert_eq!(files(&report), written);
        assert_eq!(report.summary_json()["files"], written);
        let file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("system_metrics_report.json")).unwrap()).unwrap();
        assert_eq!(file["files"], written, "the file holds the same");
        // Sent nowhere, so no send-log line was due.
        let local = ServiceConfig { mode: crate::mode::Mode::Local, ..config(&collector.url(), &dir) };
        let (reporter, _) = Reporter::start_fresh(local);
        let Cycle::Done { report, file_error } = cycle(&reporter) else { panic!("cycle failed") };
        assert_eq!(file_error, None);
        assert_eq!(
            files(&report),
            serde_json::json!({"report_file": {"result": "written"}, "send_log": {"result": "nothing_sent"}})
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn files_that_cannot_be_written_are_in_the_report_not_only_delivery() {
        let collector = Collector::start().unwrap();
        let dir = temp_dir("files-failed");
        let logs = dir.join("logs");
        let argument = |report_dir: &std::path::Path| {
            let options = Value::Map(vec![
                (Value::atom("google_analytics_url"), Value::binary(&collector.url())),
                (
                    Value::atom("tracking_id"),
                    Value::Map(vec![
                        (Value::atom("id"), Value::binary("G-TEST")),
                        (Value::atom("secret"), Value::binary("sekrit")),
                    ]),
                ),
            ]);
            Value::Map(vec![
                (Value::atom("options"), options),
                (Value::atom("report_dir"), Value::binary(report_dir.to_str().unwrap())),
            ])
        };
        let (reporter, warnings) =
            Reporter::start_fresh(from_start_argument(&argument(&logs), &dir).unwrap());
        assert!(warnings.is_empty(), "{warnings:?}");
        // The directory is taken away after the start and a file put in its place: the
        // filesystem itself refuses both writes.
        std::fs::remove_dir_all(&logs).unwrap();
        std::fs::write(&logs, "").unwrap();
        let Cycle::Done { report, file_error } = cycle(&reporter) else { panic!("cycle failed") };
        assert_eq!(report.destinations[0].result, Delivery::Delivered);
        let not_a_directory =
            serde_json::json!({"result": "failed", "error": "Not a directory (os error 20)"});
        assert_eq!(
            files(&report),
            serde_json::json!({"report_file": not_a_directory, "send_log": not_a_directory})
        );
        let file_error = file_error.unwrap();
        for path in ["logs/system_metrics_send_log.jsonl", "logs/system_metrics_report.json"] {
            assert!(file_error.contains(&dir.join(path).display().to_string()), "{file_error}");
        }
        // A directory in the report file's place, a link in the send log's.
        std::fs::remove_file(&logs).unwrap();
        std::fs::create_dir_all(logs.join("system_metrics_report.json")).unwrap();
        std::fs::write(dir.join("victim"), "precious").unwrap();
        std::os::unix::fs::symlink(dir.join("victim"), logs.join("system_metrics_send_log.jsonl")).unwrap();
        let Cycle::Done { report, file_error } = cycle(&reporter) else { panic!("cycle failed") };
        assert_eq!(
            files(&report),
            serde_json::json!({
                "report_file": {"result": "failed", "error": "it is a directory, not a regular file"},
                "send_log": {"result": "failed", "error": "it is a symbolic link, which is never followed"}
            })
        );
        assert_eq!(
            file_error.unwrap(),
            format!(
                "cannot append to send log {}: it is a symbolic link, which is never followed; cannot write report \
                 file {}: it is a directory, not a regular file",
                logs.join("system_metrics_send_log.jsonl").display(),
                logs.join("system_metrics_report.json").display()
            )
        );
        assert_eq!(std::fs::read_to_string(dir.join("victim")).unwrap(), "precious");
        // The report file alone failing: its send-log line is written, and the report says so.
        std::fs::remove_file(logs.join("system_metrics_send_log.jsonl")).unwrap();
        let Cycle::Done { report, .. } = cycle(&reporter) else { panic!("cycle failed") };
        assert_eq!(files(&report)["send_log"], serde_json::json!({"result": "written"}));
        assert_eq!(files(&report)["report_file"]["result"], "failed");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stop_cancels_a_cycle_and_every_send_in_flight() {
        let collector = Collector::start().unwrap();
        collector.set_mode(Mode::Delay(500));
        let dir = temp_dir("stop");
        let (reporter, _) = Reporter::start_fresh(config(&collector.url(), &dir));
        // 30 host types: two requests, the second due only after the first's slow answer.
        let facts =
            Facts { host_type_count: Some(1), modules: Some(vec![module_host(); 30]), ..Facts::default() };
        let (tx, rx) = mpsc::channel();
        reporter.spawn_cycle(facts, move |c| tx.send(c).unwrap()).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        reporter.stop();
        match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
            Cycle::Failed(why) => assert!(why.contains("cancelled")),
            other => panic!("expected a cancelled cycle, got {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(1000));
        assert_eq!(collector.requests().len(), 1, "the second request is never sent");
        assert!(!dir.join("system_metrics_report.json").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn two_requests() -> Facts {
        // 30 host types: two requests a cycle.
        Facts { host_type_count: Some(1), modules: Some(vec![module_host(); 30]), ..Facts::default() }
    }

    fn cycle_with(reporter: &Reporter, facts: Facts) -> Arc<Report> {
        let (tx, rx) = mpsc::channel();
        reporter.spawn_cycle(facts, move |c| tx.send(c).unwrap()).unwrap();
        match rx.recv_timeout(Duration::from_secs(20)).expect("a cycle reports back") {
            Cycle::Done { report, .. } => report,
            other => panic!("cycle failed: {other:?}"),
        }
    }

    #[test]
    fn cycles_and_validation_share_one_client_and_its_connections() {
        let collector = Collector::start().unwrap();
        let dir = temp_dir("one-client");
        let (reporter, _) = Reporter::start_fresh(config(&collector.url(), &dir));
        assert!(!reporter.transport.is_built(), "nothing is built at start");
        for _ in 0..2 {
            let report = cycle_with(&reporter, two_requests());
            let d = &report.destinations[0];
            assert_eq!((d.result, d.requests, d.delivered), (Delivery::Delivered, 2, 2));
        }
        assert!(reporter.transport.is_built());
        assert_eq!(collector.requests().len(), 4);
        assert_eq!(collector.connections(), 1, "keep-alive across requests and cycles, not one per request");
        let (tx, rx) = mpsc::channel();
        reporter.spawn_validation(two_requests(), move |v| tx.send(v).unwrap()).unwrap();
        let validations = rx.recv_timeout(Duration::from_secs(20)).unwrap().unwrap();
        assert_eq!((validations[0].messages.len(), validations[0].error.as_deref()), (0, None));
        assert_eq!(collector.requests().len(), 6);
        assert_eq!(collector.connections(), 1, "validation goes through the same client");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_local_mode_builds_no_client() {
        let collector = Collector::start().unwrap();
        let dir = temp_dir("local-no-client");
        let local = ServiceConfig { mode: crate::mode::Mode::Local, ..config(&collector.url(), &dir) };
        let (reporter, _) = Reporter::start_fresh(local);
        cycle_with(&reporter, two_requests());
        assert!(!reporter.transport.is_built());
        assert_eq!(collector.connections(), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A keep-alive HTTP server on 127.0.0.1 that answers every request 204 and says, for
    /// each connection, when it was opened and when the client closed it.
    fn watched_server() -> (String, mpsc::Receiver<&'static str>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let tx = tx.clone();
                let _ = tx.send("opened");
                std::thread::spawn(move || {
                    let mut writer = stream.try_clone().unwrap();
                    let mut reader = std::io::BufReader::new(stream);
                    while let Ok(Some(_)) = ga4_collector::http::read_request(&mut reader) {
                        if ga4_collector::http::write_response(&mut writer, 204, "text/plain", &[], b"")
                            .is_err()
                        {
                            break;
                        }
                    }
                    let _ = tx.send("closed");
                });
            }
        });
        (url, rx)
    }

    #[test]
    fn the_client_goes_with_its_reporter_and_a_new_start_makes_a_new_one() {
        let (url, events) = watched_server();
        let dir = temp_dir("client-lifetime");
        let (first, _) = Reporter::start_fresh(config(&url, &dir));
        for _ in 0..2 {
            assert_eq!(cycle_with(&first, two_requests()).destinations[0].result, Delivery::Delivered);
        }
        assert_eq!(events.recv_timeout(Duration::from_secs(5)), Ok("opened"));
        assert!(events.recv_timeout(Duration::from_millis(300)).is_err(), "kept alive between cycles");
        drop(first);
        assert_eq!(
            events.recv_timeout(Duration::from_secs(5)),
            Ok("closed"),
            "the pool goes with the reporter"
        );
        let (second, _) = Reporter::start_fresh(config(&url, &dir));
        assert_eq!(cycle_with(&second, two_requests()).destinations[0].result, Delivery::Delivered);
        assert_eq!(events.recv_timeout(Duration::from_secs(5)), Ok("opened"), "a new start, a new client");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_destination_that_never_answers_fails_at_the_deadline() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dir = temp_dir("overrun");
        let (reporter, _) =
            Reporter::start_fresh(config(&format!("http://{}", silent.local_addr().unwrap()), &dir));
        let policy = Policy {
            connect_timeout: Duration::from_millis(200),
            request_timeout: Duration::from_secs(30),
            deadline: Duration::from_millis(300),
            ..Policy::default()
        };
        let reporter = reporter.with_policy(policy);
        // The deadline bounds delivery itself, so the cycle still completes, with the
        // destination failed for lack of time.
        let Cycle::Done { report, .. } = cycle(&reporter) else { panic!("cycle failed") };
        assert_eq!(report.destinations[0].result, Delivery::Failed);
        assert!(report.destinations[0].error.as_deref().unwrap().contains("deadline"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stanza_increments_count_from_the_last_finished_cycle_across_restarts() {
        let collector = Collector::start().unwrap();
        let dir = temp_dir("stanzas");
        let baseline = Baseline::default();
        let with_total = |n: i64| {
            let counts = Value::Map(vec![(Value::atom("xmppMessageSent"), Value::Integer(n))]);
            crate::facts::parse(&Value::Map(vec![(Value::atom("stanza_counts"), counts)])).unwrap()
        };
        let increment = |reporter: &Reporter, n: i64, send: bool| -> serde_json::Value {
            let report = if send {
                let (tx, rx) = mpsc::channel();
                reporter.spawn_cycle(with_total(n), move |c| tx.send(c).unwrap()).unwrap();
                match rx.recv_timeout(Duration::from_secs(20)).unwrap() {
                    Cycle::Done { report, .. } => (*report).clone(),
                    other => panic!("{other:?}"),
                }
            } else {
                reporter.preview(&with_total(n))
            };
            report.to_json()["events"][0]["params"]["increment"].clone()
        };
        let (first, _) = Reporter::start(config(&collector.url(), &dir), Arc::clone(&baseline));
        assert_eq!(increment(&first, 10, true), 10);
        assert_eq!(increment(&first, 15, false), 5, "a preview counts from the last cycle");
        assert_eq!(increment(&first, 16, false), 6, "and does not move the base");
        drop(first);
        let (second, _) = Reporter::start(config(&collector.url(), &dir), baseline);
        assert_eq!(increment(&second, 25, true), 15, "a restarted reporter keeps the base");
        assert_eq!(increment(&second, 4, true), 4, "a reset counter never gives a negative increment");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_panic_in_a_cycle_is_reported_not_lost() {
        let (tx, rx) = mpsc::channel();
        spawn_watched(runtime::get().unwrap(), async { panic!("deliberate test panic") }, move |c| {
            tx.send(c).unwrap()
        });
        match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
            Cycle::Failed(why) => assert_eq!(why, "the cycle panicked: deliberate test panic"),
            other => panic!("expected a failed cycle, got {other:?}"),
        }
    }

    #[test]
    fn preview_sends_and_writes_nothing() {
        let collector = Collector::start().unwrap();
        let dir = temp_dir("preview");
        let (reporter, _) = Reporter::start_fresh(config(&collector.url(), &dir));
        let report = reporter.preview(&facts());
        assert_eq!(report.destinations[0].result, Delivery::NotSent);
        assert_eq!(report.destinations[0].requests, 1);
        assert!(collector.requests().is_empty());
        assert!(!dir.join("system_metrics_report.json").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
