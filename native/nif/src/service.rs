//! The NIFs. One reporter per VM, like the registered service it serves.
//!
//! `start/1` runs on a dirty I/O scheduler (it reads the client id file); `check/1` is
//! `start/1` without effects, for validating before anything changes; `report_now/1`,
//! `preview/1` and `last_report/0` on dirty CPU schedulers, since facts and reports grow
//! with the deployment. `report_now/1` returns a reference at once; the cycle runs on the
//! core's runtime and its result arrives as
//! `{mongoose_system_metrics_report, Ref, Result}`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use mongoose_system_metrics_core::config::{self, Consent};
use mongoose_system_metrics_core::facts;
use mongoose_system_metrics_core::report::Report;
use mongoose_system_metrics_core::reporter::{Cycle, Reporter};
use rustler::env::OwnedEnv;
use rustler::{Encoder, Env, Term};

use crate::{atoms, decode, encode};

static REPORTER: Mutex<Option<Reporter>> = Mutex::new(None);
/// Kept apart from the reporter so the last report outlives a restart of the service.
static LAST_REPORT: Mutex<Option<Arc<Report>>> = Mutex::new(None);

/// A panic elsewhere must not make these unusable: the data is still consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Validates the configuration and installs it, replacing any running reporter.
/// A bad configuration changes nothing.
#[rustler::nif(schedule = "DirtyIo")]
fn start<'a>(env: Env<'a>, argument: Term<'a>) -> Term<'a> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let config = match config::from_start_argument(&decode::value(argument), &cwd) {
        Ok(config) => config,
        Err(e) => return encode::options_error(env, &e),
    };
    let mut warnings = config.warnings.clone();
    if config.consent == Consent::Refused {
        *lock(&REPORTER) = None;
        return (atoms::ok(), encode::started(env, &config, None, &warnings)).encode(env);
    }
    let (reporter, more) = Reporter::start(config);
    warnings.extend(more);
    let info = encode::started(env, reporter.config(), Some(reporter.client_id()), &warnings);
    *lock(&REPORTER) = Some(reporter);
    (atoms::ok(), info).encode(env)
}

/// Validates a start argument like `start/1`, without installing anything or touching
/// a file: `{ok, Started}` (with `client_id => null`) or the same errors.
#[rustler::nif]
fn check<'a>(env: Env<'a>, argument: Term<'a>) -> Term<'a> {
    let cwd = std::env::current_dir().unwrap_or_default();
    match config::from_start_argument(&decode::value(argument), &cwd) {
        Ok(config) => (atoms::ok(), encode::started(env, &config, None, &config.warnings)).encode(env),
        Err(e) => encode::options_error(env, &e),
    }
}

/// Stops the reporter and cancels its cycles in flight.
#[rustler::nif]
fn stop() -> rustler::Atom {
    let stopped = lock(&REPORTER).take();
    drop(stopped);
    atoms::ok()
}

/// Starts a cycle with these facts; `{ok, Ref}` at once, the result later as a message.
#[rustler::nif(schedule = "DirtyCpu")]
fn report_now<'a>(env: Env<'a>, facts: Term<'a>) -> Term<'a> {
    let facts = match facts::parse(&decode::value(facts)) {
        Ok(facts) => facts,
        Err(e) => return encode::facts_error(env, &e),
    };
    let guard = lock(&REPORTER);
    let Some(reporter) = guard.as_ref() else {
        return (atoms::error(), atoms::not_started()).encode(env);
    };
    let pid = env.pid();
    let reference = env.make_ref();
    let message_env = OwnedEnv::new();
    let saved_reference = message_env.save(reference);
    let spawned = reporter.spawn_cycle(facts, move |cycle| {
        if let Cycle::Done { report, .. } = &cycle {
            *lock(&LAST_REPORT) = Some(Arc::clone(report));
        }
        let mut message_env = message_env;
        // The caller may be gone (the service stopped); nothing to do then.
        let _ = message_env.send_and_clear(&pid, |e| {
            (atoms::mongoose_system_metrics_report(), saved_reference.load(e), encode::cycle(e, &cycle))
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
    let facts = match facts::parse(&decode::value(facts)) {
        Ok(facts) => facts,
        Err(e) => return encode::facts_error(env, &e),
    };
    match lock(&REPORTER).as_ref() {
        Some(reporter) => (atoms::ok(), encode::report(env, &reporter.preview(&facts))).encode(env),
        None => (atoms::error(), atoms::not_started()).encode(env),
    }
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
