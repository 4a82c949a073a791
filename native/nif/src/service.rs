//! The NIFs. One reporter per VM, like the registered service it serves.
//!
//! `configure/1` validates options into an opaque configuration, so the API secret never
//! travels as an Erlang term after that; `start/1` installs one (on a dirty I/O
//! scheduler: it reads the client id file, unless the host gave its cluster id);
//! `report_now/1`
//! (unless its facts are small), `preview/1` and `last_report/0` on dirty CPU schedulers,
//! since facts and reports grow with the deployment. `report_now/1` returns a reference at once; the cycle runs on the
//! core's runtime and its result arrives as
//! `{mongoose_system_metrics_report, Ref, Result}`; `validate/1` likewise, with
//! `{mongoose_system_metrics_validation, Ref, Result}`.

use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

use mongoose_system_metrics_core::client_id;
use mongoose_system_metrics_core::config::{self, Fault, ServiceConfig};
use mongoose_system_metrics_core::facts;
use mongoose_system_metrics_core::mode::Mode;
use mongoose_system_metrics_core::options::OptionsError;
use mongoose_system_metrics_core::report::Kept;
use mongoose_system_metrics_core::reporter::{Baseline, Cycle, Reporter};
use rustler::env::OwnedEnv;
use rustler::{Encoder, Env, ResourceArc, Term};

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

/// A panic elsewhere must not make these unusable: the data is still consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn configuration(argument: Term) -> Result<ServiceConfig, OptionsError> {
    let cwd = std::env::current_dir().unwrap_or_default();
    config::from_start_argument(&decode::value(argument), &cwd)
}

fn current() -> Option<Arc<Reporter>> {
    lock(&REPORTER).clone()
}

/// Validates a start argument and changes nothing: `{ok, Configuration, Started}`, where
/// `Started` describes it (`client_id` is the host's cluster id when one was given and
/// the mode is not `off`, else `null`), or the error naming the bad option.
/// Dirty I/O: it reads the CA bundle, if one is named.
#[rustler::nif(schedule = "DirtyIo")]
fn configure<'a>(env: Env<'a>, argument: Term<'a>) -> Term<'a> {
    match configuration(argument) {
        Ok(config) => {
            let client_id = config.host_client_id.as_deref().filter(|_| config.mode != Mode::Off);
            let started = encode::started(env, &config, client_id, &config.warnings);
            (atoms::ok(), ResourceArc::new(Configuration(config)), started).encode(env)
        }
        Err(e) => encode::options_error(env, &e),
    }
}

/// Installs a configuration (from `configure/1`, or a start argument to validate first),
/// replacing any running reporter. With `report = false` nothing runs. A bad argument
/// changes nothing.
#[rustler::nif(schedule = "DirtyIo")]
fn start<'a>(env: Env<'a>, argument: Term<'a>) -> Term<'a> {
    let config = match argument.decode::<ResourceArc<Configuration>>() {
        Ok(resource) => resource.0.clone(),
        Err(_) => match configuration(argument) {
            Ok(config) => config,
            Err(e) => return encode::options_error(env, &e),
        },
    };
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
    let info = encode::started(env, reporter.config(), Some(&reporter.client_id()), &warnings);
    install(Some(Arc::new(reporter)));
    (atoms::ok(), info).encode(env)
}

fn install(reporter: Option<Arc<Reporter>>) {
    let previous = std::mem::replace(&mut *lock(&REPORTER), reporter);
    if let Some(previous) = previous {
        previous.stop();
    }
}

/// Stops the reporter and cancels its cycles in flight.
#[rustler::nif]
fn stop() -> rustler::Atom {
    install(None);
    atoms::ok()
}

/// Starts a cycle with these facts; `{ok, Ref}` at once, the result later as a message.
/// Bad facts are left out, and named: `{ok, Ref, [{Fact, Why}]}`. A large deployment's
/// facts take tens of milliseconds to decode, so this runs on a dirty scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn report_now_dirty<'a>(env: Env<'a>, facts: Term<'a>) -> Term<'a> {
    start_cycle(env, facts)
}

/// [`report_now_dirty`] on the caller's scheduler, for facts the Erlang side found small
/// enough to decode in a few microseconds: waking a dirty scheduler would cost more.
#[rustler::nif]
fn report_now_inline<'a>(env: Env<'a>, facts: Term<'a>) -> Term<'a> {
    start_cycle(env, facts)
}

fn start_cycle<'a>(env: Env<'a>, facts: Term<'a>) -> Term<'a> {
    let (facts, dropped) = match facts::parse_lenient(&decode::value(facts)) {
        Ok(parsed) => parsed,
        Err(e) => return encode::facts_error(env, &e),
    };
    let Some(reporter) = current() else {
        return (atoms::error(), atoms::not_started()).encode(env);
    };
    if reporter.config().fault == Some(Fault::PanicInNif) {
        // rustler turns this into erlang:error(nif_panicked); the VM carries on.
        panic!("fault injected: a panic in report_now/1");
    }
    let pid = env.pid();
    let reference = env.make_ref();
    let message_env = OwnedEnv::new();
    let saved_reference = message_env.save(reference);
    let spawned = reporter.spawn_cycle(facts, move |cycle| {
        let cycle = match cycle {
            Cycle::Done { report, file_error } => {
                let kept = Arc::new(report.kept());
                *lock(&LAST_REPORT) = Some(Arc::clone(&kept));
                Ok((kept, file_error))
            }
            Cycle::Failed(why) => Err(why),
        };
        let mut message_env = message_env;
        // The caller may be gone (the service stopped); nothing to do then.
        let _ = message_env.send_and_clear(&pid, |e| {
            (atoms::mongoose_system_metrics_report(), saved_reference.load(e), encode::cycle(e, &cycle))
        });
    });
    match (spawned, dropped.is_empty()) {
        (Ok(()), true) => (atoms::ok(), reference).encode(env),
        (Ok(()), false) => (atoms::ok(), reference, encode::dropped_facts(env, &dropped)).encode(env),
        (Err(why), _) => (atoms::error(), (atoms::runtime_unavailable(), why)).encode(env),
    }
}

/// Sends what a cycle would send to Google's validation server; `{ok, Ref}` at once, then
/// `{mongoose_system_metrics_validation, Ref, {ok, [Validation]} | {error, Why}}`.
#[rustler::nif(schedule = "DirtyCpu")]
fn validate<'a>(env: Env<'a>, facts: Term<'a>) -> Term<'a> {
    let facts = match facts::parse_lenient(&decode::value(facts)) {
        Ok((facts, _dropped)) => facts,
        Err(e) => return encode::facts_error(env, &e),
    };
    let Some(reporter) = current() else {
        return (atoms::error(), atoms::not_started()).encode(env);
    };
    let pid = env.pid();
    let reference = env.make_ref();
    let message_env = OwnedEnv::new();
    let saved_reference = message_env.save(reference);
    let spawned = reporter.spawn_validation(facts, move |result| {
        let mut message_env = message_env;
        let _ = message_env.send_and_clear(&pid, |e| {
            let result = match &result {
                Ok(validations) => (atoms::ok(), encode::json(e, &serde_json::json!(validations))).encode(e),
                Err(why) => (atoms::error(), why.as_str()).encode(e),
            };
            (atoms::mongoose_system_metrics_validation(), saved_reference.load(e), result)
        });
    });
    match spawned {
        Ok(()) => (atoms::ok(), reference).encode(env),
        Err(why) => (atoms::error(), (atoms::runtime_unavailable(), why)).encode(env),
    }
}

/// The report a cycle would send now for these facts; sends and writes nothing.
#[rustler::nif(schedule = "DirtyCpu")]
fn preview<'a>(env: Env<'a>, facts: Term<'a>) -> Term<'a> {
    let facts = match facts::parse_lenient(&decode::value(facts)) {
        Ok((facts, _dropped)) => facts,
        Err(e) => return encode::facts_error(env, &e),
    };
    match current() {
        Some(reporter) => (atoms::ok(), encode::report(env, &reporter.preview(&facts).kept())).encode(env),
        None => (atoms::error(), atoms::not_started()).encode(env),
    }
}

/// This node's client id and when it was made: `{ok, #{client_id, created_ms}}`; the
/// host's cluster id, with `created_ms` 0, when it gave one.
#[rustler::nif]
fn identity(env: Env) -> Term {
    match current() {
        Some(reporter) => {
            let identity = reporter.identity();
            let map = serde_json::json!({"client_id": identity.id, "created_ms": identity.created_ms});
            (atoms::ok(), encode::json(env, &map)).encode(env)
        }
        None => (atoms::error(), atoms::not_started()).encode(env),
    }
}

/// Each node's stanza totals at the last report: `{ok, #{Node => #{Type => Total}}}`,
/// what the reporting node hands on to the others.
#[rustler::nif]
fn baseline(env: Env) -> Term {
    match current() {
        Some(reporter) => {
            (atoms::ok(), encode::json(env, &serde_json::json!(reporter.baseline()))).encode(env)
        }
        None => (atoms::error(), atoms::not_started()).encode(env),
    }
}

/// Takes on the cluster's identity and stanza totals:
/// `#{client_id => Id, created_ms => Ms, stanza_totals => #{Node => #{Type => Total}}}`.
/// Dirty I/O: the id is saved beside the report file. With the host's cluster id the
/// identity is ignored (only the totals are taken) and nothing is saved.
#[rustler::nif(schedule = "DirtyIo")]
fn follow<'a>(env: Env<'a>, state: Term<'a>) -> Term<'a> {
    let Some(reporter) = current() else {
        return (atoms::error(), atoms::not_started()).encode(env);
    };
    let with_identity = reporter.config().host_client_id.is_none();
    match decode::cluster_state(&decode::value(state), with_identity) {
        Err(why) => (atoms::error(), why).encode(env),
        Ok((identity, totals)) => match reporter.follow(identity, totals) {
            Ok(()) => atoms::ok().encode(env),
            Err(why) => (atoms::error(), why).encode(env),
        },
    }
}

/// Does nothing: the baseline of the benchmarks, which time every other call beside it.
#[rustler::nif]
fn ping() -> rustler::Atom {
    atoms::ok()
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
