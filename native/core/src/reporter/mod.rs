//! One running reporter: the resolved configuration, the client id (the host's cluster
//! id when it has one, else an id of its own kept beside the report file, or the
//! cluster's, taken on), each node's stanza totals at the last report, and the work in
//! flight. Cycles, previews and validations run on the core's [`runtime`], never on the
//! caller's thread, and hand their result to a callback exactly once.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::task::AbortHandle;

use crate::client_id::{self, HandOver, Identity};
use crate::config::ServiceConfig;
use crate::delivery::{self, Policy, Transport, Validation};
use crate::error::CoreError;
use crate::events::StanzaBaseline;
use crate::facts::Facts;
use crate::report::Report;
use crate::sync::lock;
use crate::{atomic_file, runtime};

mod cycle;

pub use cycle::Done;

/// Each node's stanza totals at the last finished cycle, shared so that they outlive a
/// restart of the reporter (the counters themselves live as long as their node).
pub type Baseline = Arc<Mutex<StanzaBaseline>>;

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

    /// Takes on what the member that reported last handed over: increments after a
    /// fail-over then count from the cluster's last report, and the cluster's identity is
    /// saved beside the report file (so it survives a restart of the whole cluster). With
    /// the host's cluster id the identity is ignored: the host gives every node the same.
    ///
    /// # Errors
    /// [`CoreError::ClientIdNotSaved`]; the identity is used all the same.
    pub fn follow(&self, hand_over: HandOver) -> Result<(), CoreError> {
        if let Some(totals) = hand_over.stanza_totals {
            *lock(&self.baseline) = totals;
        }
        match self.adopt(hand_over.identity) {
            Some(adopted) => self.save_identity(&adopted),
            None => Ok(()),
        }
    }

    /// Makes `elected` this node's identity when it is another: `Some` of it, to be saved.
    fn adopt(&self, elected: Option<Identity>) -> Option<Identity> {
        if self.config.host_client_id.is_some() {
            return None;
        }
        let mut current = lock(&self.identity);
        let elected = elected.filter(|e| *e != *current)?;
        *current = elected.clone();
        Some(elected)
    }

    fn save_identity(&self, identity: &Identity) -> Result<(), CoreError> {
        client_id::save(&client_id::path_beside(&self.config.report_file), identity)
            .map_err(CoreError::ClientIdNotSaved)
    }

    /// The client id a report of these facts goes out with: the host's, when its facts
    /// give it; else the identity elected for the cluster; else this node's.
    fn sending_id(&self, facts: &Facts, elected: Option<&Identity>) -> String {
        facts.client_id.clone().or_else(|| elected.map(|e| e.id.clone())).unwrap_or_else(|| self.client_id())
    }

    /// The report a cycle would send for these facts; nothing is sent or written.
    pub fn preview(&self, facts: Facts, elected: Option<&Identity>) -> Report {
        let client_id = self.sending_id(&facts, elected);
        cycle::preview(&self.config, &client_id, facts, &lock(&self.baseline))
    }

    /// [`Reporter::preview`] on the runtime; `done` gets the report.
    ///
    /// # Errors
    /// When the runtime cannot be started; `done` is then not called.
    pub fn spawn_preview(
        &self,
        facts: Facts,
        elected: Option<Identity>,
        done: impl FnOnce(Result<Report, CoreError>) + Send + 'static,
    ) -> Result<(), CoreError> {
        let (config, baseline) = (Arc::clone(&self.config), Arc::clone(&self.baseline));
        let client_id = self.sending_id(&facts, elected.as_ref());
        let work = async move { Ok(cycle::preview(&config, &client_id, facts, &lock(&baseline))) };
        self.spawn(work, done, cycle::is_large)
    }

    /// Sends what a cycle would send to Google's validation server and calls `done` with
    /// its `validationMessages` per GA4 destination; sends nothing to reports.
    ///
    /// # Errors
    /// When the runtime cannot be started; `done` is then not called.
    pub fn spawn_validation(
        &self,
        facts: Facts,
        elected: Option<Identity>,
        done: impl FnOnce(Result<Vec<Validation>, CoreError>) + Send + 'static,
    ) -> Result<(), CoreError> {
        let (config, transport) = (Arc::clone(&self.config), Arc::clone(&self.transport));
        let client_id = self.sending_id(&facts, elected.as_ref());
        let (events, _, _) = cycle::sendable_events(facts, &lock(&self.baseline));
        let work = async move {
            Ok(delivery::validate(&transport, &config.destinations, &client_id, &events).await)
        };
        self.spawn(work, done, |_| false)
    }

    /// Runs a cycle: takes on the identity elected for the cluster (if another), builds,
    /// sends and writes the report, and calls `done` with it and what to hand over to the
    /// other members.
    ///
    /// # Errors
    /// When the runtime cannot be started; `done` is then not called.
    pub fn spawn_cycle(
        &self,
        facts: Facts,
        elected: Option<Identity>,
        done: impl FnOnce(Result<Done, CoreError>) + Send + 'static,
    ) -> Result<(), CoreError> {
        let adopted = self.adopt(elected);
        let run = cycle::Run {
            config: Arc::clone(&self.config),
            transport: Arc::clone(&self.transport),
            client_id: self.sending_id(&facts, None),
            identity: self.config.host_client_id.is_none().then(|| self.identity()),
            adopted,
            baseline: Arc::clone(&self.baseline),
        };
        self.spawn(run.within_time(facts), done, |done| cycle::is_large(&done.report))
    }

    /// Runs `work` on the runtime and calls `done` with its result, or with
    /// [`CoreError::Panicked`] or [`CoreError::Cancelled`]: a panic on the runtime never
    /// goes unreported. After a large result is dropped, the memory it freed goes back.
    fn spawn<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, CoreError>> + Send + 'static,
        done: impl FnOnce(Result<T, CoreError>) + Send + 'static,
        is_large: impl FnOnce(&T) -> bool + Send + 'static,
    ) -> Result<(), CoreError> {
        let runtime = runtime::get().map_err(CoreError::RuntimeUnavailable)?;
        let abort = cycle::spawn_watched(runtime, work, done, is_large);
        let mut in_flight = lock(&self.in_flight);
        in_flight.retain(|h| !h.is_finished());
        in_flight.push(abort);
        Ok(())
    }

    /// Cancels all work in flight; the callbacks get [`CoreError::Cancelled`].
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

#[cfg(test)]
mod tests;
