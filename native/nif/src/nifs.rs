//! The NIFs, seven in all. One reporter per VM, like the registered service it serves.
//!
//! - `configure/1` validates a start argument into an opaque configuration, so the API
//!   secret never travels as an Erlang term after that; `start/1` installs one (on a dirty
//!   I/O scheduler: it reads the client id file, unless the host gave its cluster id);
//!   `stop/0` removes it.
//! - `run_inline/3` and `run_dirty/3` start a job (`report`, `preview` or `validate`) on
//!   some facts with the identity elected for the cluster, and return a reference at once;
//!   the result comes later through [`Reply`]. The Erlang side picks `run_inline` for facts
//!   small enough to decode in microseconds, `run_dirty` for a large deployment's.
//! - `last_report/0` gives the last finished cycle's report; `follow/1` takes on what the
//!   member that reported handed over.

use std::sync::{Arc, LazyLock, Mutex};

use mongoose_system_metrics_core::client_id::{self, HandOver};
use mongoose_system_metrics_core::config::{self, Fault, ServiceConfig};
use mongoose_system_metrics_core::error::CoreError;
use mongoose_system_metrics_core::facts;
use mongoose_system_metrics_core::mode::Mode;
use mongoose_system_metrics_core::report::Kept;
use mongoose_system_metrics_core::reporter::{Baseline, Reporter};
use mongoose_system_metrics_core::sync::lock;
use rustler::{Atom, Encoder, Env, NifResult, ResourceArc, Term};

use crate::reply::Reply;
use crate::{atoms, decode, encode};

/// Shared out under a short lock, so no NIF waits for another's work.
static REPORTER: Mutex<Option<Arc<Reporter>>> = Mutex::new(None);
/// Kept apart from the reporter so the last report outlives a restart of the service.
static LAST_REPORT: Mutex<Option<Arc<Kept>>> = Mutex::new(None);
/// Stanza totals of the last cycle, for increments; they outlive a restart of the service.
static BASELINE: LazyLock<Baseline> = LazyLock::new(Baseline::default);

/// A validated configuration. The BEAM sees only an opaque reference to it, so the API
/// secret inside cannot appear in a process state, a child spec or a crash report.
struct Configuration(ServiceConfig);

#[rustler::resource_impl]
impl rustler::Resource for Configuration {}

fn current() -> Result<Arc<Reporter>, CoreError> {
    lock(&REPORTER).clone().ok_or(CoreError::NotStarted)
}

fn install(reporter: Option<Arc<Reporter>>) {
    let previous = std::mem::replace(&mut *lock(&REPORTER), reporter);
    if let Some(previous) = previous {
        previous.stop();
    }
}

/// Validates a start argument and changes nothing: `{ok, Configuration, Started}`, where
/// `Started` describes it (`client_id` is the host's cluster id when one was given and
/// the mode is not `off`, else `null`), or the error naming the bad option.
/// Dirty I/O: it reads the CA bundle, if one is named.
#[rustler::nif(schedule = "DirtyIo")]
fn configure<'a>(env: Env<'a>, argument: Term<'a>) -> Term<'a> {
    let cwd = std::env::current_dir().unwrap_or_default();
    match config::from_start_argument(&decode::value(argument), &cwd) {
        Ok(config) => {
            let host_id = config.host_client_id.as_deref().filter(|_| config.mode != Mode::Off);
            let identity = host_id.map(|id| client_id::Identity { created_ms: 0, id: id.to_owned() });
            let started = encode::started(env, &config, identity.as_ref(), &config.warnings);
            (atoms::ok(), ResourceArc::new(Configuration(config)), started).encode(env)
        }
        Err(e) => encode::options_error(env, &e),
    }
}

/// Installs a configuration from `configure/1`, replacing any running reporter:
/// `{ok, Started}`. In the `off` mode nothing runs, and the client id is forgotten.
#[rustler::nif(schedule = "DirtyIo")]
fn start(env: Env, configuration: ResourceArc<Configuration>) -> Term {
    let config = configuration.0.clone();
    let mut warnings = config.warnings.clone();
    if config.mode == Mode::Off {
        install(None);
        // Reporting turned off forgets the identity: a later opt-in starts a new one.
        if let Err(why) = client_id::forget(&client_id::path_beside(&config.report_file)) {
            warnings.push(why);
        }
        return (atoms::ok(), encode::started(env, &config, None, &warnings)).encode(env);
    }
    let (reporter, more) = Reporter::start(config, Arc::clone(&BASELINE));
    warnings.extend(more);
    let started = encode::started(env, reporter.config(), Some(&reporter.identity()), &warnings);
    install(Some(Arc::new(reporter)));
    (atoms::ok(), started).encode(env)
}

/// Stops the reporter and cancels its work in flight.
#[rustler::nif]
fn stop() -> Atom {
    install(None);
    atoms::ok()
}

/// `run_dirty/3` on the caller's scheduler, for facts the Erlang side found small
/// enough to decode in a few microseconds: waking a dirty scheduler would cost more.
#[rustler::nif]
fn run_inline<'a>(env: Env<'a>, job: Atom, facts: Term<'a>, identity: Term<'a>) -> NifResult<Term<'a>> {
    run(env, job, facts, identity)
}

/// Starts a job on these facts: `{ok, Ref}` at once, or `{ok, Ref, [{Fact, Why}]}`
/// naming the facts left out. A large deployment's facts take tens of milliseconds to
/// decode, so this runs on a dirty scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn run_dirty<'a>(env: Env<'a>, job: Atom, facts: Term<'a>, identity: Term<'a>) -> NifResult<Term<'a>> {
    run(env, job, facts, identity)
}

fn run<'a>(env: Env<'a>, job: Atom, facts: Term<'a>, identity: Term<'a>) -> NifResult<Term<'a>> {
    if ![atoms::report(), atoms::preview(), atoms::validate()].contains(&job) {
        return Err(rustler::Error::BadArg);
    }
    let (facts, dropped) = match facts::parse_lenient(&decode::value(facts)) {
        Ok(parsed) => parsed,
        Err(e) => return Ok(encode::facts_error(env, &e)),
    };
    let started = client_id::elected(&decode::value(identity)).and_then(|elected| {
        let reporter = current()?;
        let (reply, reference) = Reply::to_caller(env);
        if job == atoms::report() {
            if reporter.config().fault == Some(Fault::PanicInNif) {
                // rustler turns this into erlang:error(nif_panicked); the VM carries on.
                panic!("fault injected: a panic in report_now");
            }
            reporter.spawn_cycle(facts, elected, move |result| {
                let result = result.map(|done| {
                    let kept = Arc::new(done.report.kept());
                    *lock(&LAST_REPORT) = Some(Arc::clone(&kept));
                    (kept, done.file_error, done.hand_over)
                });
                reply.send(|e| encode::cycle(e, &result));
            })?;
        } else if job == atoms::preview() {
            reporter.spawn_preview(facts, elected, move |result| {
                let kept = result.map(|report| report.kept());
                reply.send(|e| encode::preview(e, &kept));
            })?;
        } else {
            reporter.spawn_validation(facts, elected, move |result| {
                reply.send(|e| encode::validations(e, &result));
            })?;
        }
        Ok(reference)
    });
    Ok(match (started, dropped.is_empty()) {
        (Ok(reference), true) => (atoms::ok(), reference).encode(env),
        (Ok(reference), false) => (atoms::ok(), reference, encode::dropped_facts(env, &dropped)).encode(env),
        (Err(e), _) => encode::error(env, &e),
    })
}

/// The last report a cycle finished on this node.
#[rustler::nif(schedule = "DirtyCpu")]
fn last_report(env: Env) -> Term {
    let last = lock(&LAST_REPORT).clone();
    match last {
        Some(report) => (atoms::ok(), encode::report(env, &report)).encode(env),
        None => (atoms::error(), atoms::no_report()).encode(env),
    }
}

/// Takes on what the member that reported handed over (see `client_id::HandOver`).
/// Dirty I/O: the cluster's identity is saved beside the report file.
#[rustler::nif(schedule = "DirtyIo")]
fn follow<'a>(env: Env<'a>, hand_over: Term<'a>) -> Term<'a> {
    let followed = current().and_then(|reporter| {
        let with_identity = reporter.config().host_client_id.is_none();
        reporter.follow(HandOver::parse(&decode::value(hand_over), with_identity)?)
    });
    match followed {
        Ok(()) => atoms::ok().encode(env),
        Err(e) => encode::error(env, &e),
    }
}
