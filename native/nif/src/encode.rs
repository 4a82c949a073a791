//! Core results -> Erlang terms. Reports travel as JSON values and become maps with
//! binary keys, so the Erlang map mirrors the report file by construction.

use std::sync::Arc;

use mongoose_system_metrics_core::client_id::{HandOver, Identity};
use mongoose_system_metrics_core::config::ServiceConfig;
use mongoose_system_metrics_core::delivery::Validation;
use mongoose_system_metrics_core::error::CoreError;
use mongoose_system_metrics_core::facts::FactsError;
use mongoose_system_metrics_core::options::OptionsError;
use mongoose_system_metrics_core::report::Kept;
use mongoose_system_metrics_core::value::Value;
use rustler::types::atom::Atom;
use rustler::{Encoder, Env, NewBinary, Term};

use crate::atoms;

/// A JSON value as a term: objects become maps with binary keys, strings binaries,
/// `null` the atom `null`.
pub fn json<'a>(env: Env<'a>, value: &serde_json::Value) -> Term<'a> {
    use serde_json::Value as J;
    match value {
        J::Null => atoms::null().encode(env),
        J::Bool(b) => b.encode(env),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.encode(env),
            (None, Some(u)) => u.encode(env),
            _ => n.as_f64().unwrap_or(0.0).encode(env),
        },
        J::String(s) => s.as_str().encode(env),
        J::Array(items) => items.iter().map(|item| json(env, item)).collect::<Vec<_>>().encode(env),
        J::Object(fields) => {
            let keys: Vec<Term> = fields.keys().map(|k| k.as_str().encode(env)).collect();
            let values: Vec<Term> = fields.values().map(|v| json(env, v)).collect();
            Term::map_from_term_arrays(env, &keys, &values).unwrap_or_else(|_| atoms::error().encode(env))
        }
    }
}

/// A kept report as a map with binary keys: the summary's fields, with `events` (and a
/// preview's `requests`) as one binary of JSON text each. A term per event would reach a
/// message's receiver as many small heap fragments, costing its scheduler far more than
/// the one reference-counted binary does.
pub fn report<'a>(env: Env<'a>, report: &Kept) -> Term<'a> {
    let mut keys = Vec::new();
    let mut values = Vec::new();
    if let serde_json::Value::Object(fields) = &report.summary {
        for (key, value) in fields {
            keys.push(key.as_str().encode(env));
            values.push(json(env, value));
        }
    }
    let texts = [("events", Some(&report.events_json)), ("requests", report.requests_json.as_ref())];
    for (key, text) in texts {
        if let Some(text) = text {
            keys.push(key.encode(env));
            values.push(binary(env, text));
        }
    }
    Term::map_from_term_arrays(env, &keys, &values).unwrap_or_else(|_| atoms::error().encode(env))
}

/// Bytes as a binary (enif_make_new_binary: a large one is reference-counted, off the
/// caller's heap).
fn binary<'a>(env: Env<'a>, bytes: &[u8]) -> Term<'a> {
    NewBinary::from_slice(env, bytes).into()
}

/// `{ok, Report, ok | {error, Why}, HandOver}` or `{error, Reason}`: the result of a
/// cycle, from the report as kept, what became of its files and what the other members
/// take on.
pub fn cycle<'a>(env: Env<'a>, cycle: &Result<(Arc<Kept>, Option<String>, HandOver), CoreError>) -> Term<'a> {
    match cycle {
        Ok((kept, file_error, hand_over)) => {
            let file = match file_error {
                None => atoms::ok().encode(env),
                Some(why) => (atoms::error(), why.as_str()).encode(env),
            };
            (atoms::ok(), report(env, kept), file, hand_over_term(env, hand_over)).encode(env)
        }
        Err(e) => error(env, e),
    }
}

/// `{ok, Report}` or `{error, Reason}`: a preview, with its planned requests.
pub fn preview<'a>(env: Env<'a>, preview: &Result<Kept, CoreError>) -> Term<'a> {
    match preview {
        Ok(kept) => (atoms::ok(), report(env, kept)).encode(env),
        Err(e) => error(env, e),
    }
}

/// `{ok, [Validation]}` or `{error, Reason}`: what Google's validation server said.
pub fn validations<'a>(env: Env<'a>, validations: &Result<Vec<Validation>, CoreError>) -> Term<'a> {
    match validations {
        Ok(validations) => (atoms::ok(), json(env, &serde_json::json!(validations))).encode(env),
        Err(e) => error(env, e),
    }
}

/// `#{identity => #{client_id => Id, created_ms => Ms} | undefined,
/// stanza_totals => #{Node => #{Type => Total}}}`, as `follow/1` takes it back.
fn hand_over_term<'a>(env: Env<'a>, hand_over: &HandOver) -> Term<'a> {
    let totals = json(env, &serde_json::json!(hand_over.stanza_totals.clone().unwrap_or_default()));
    let pairs = [
        (atoms::identity().encode(env), identity(env, hand_over.identity.as_ref())),
        (atoms::stanza_totals().encode(env), totals),
    ];
    let (keys, values): (Vec<Term>, Vec<Term>) = pairs.into_iter().unzip();
    Term::map_from_term_arrays(env, &keys, &values).unwrap_or_else(|_| atoms::error().encode(env))
}

fn identity<'a>(env: Env<'a>, identity: Option<&Identity>) -> Term<'a> {
    let Some(identity) = identity else { return atoms::undefined().encode(env) };
    let keys = [atoms::client_id().encode(env), atoms::created_ms().encode(env)];
    let values = [identity.id.as_str().encode(env), identity.created_ms.encode(env)];
    Term::map_from_term_arrays(env, &keys, &values).unwrap_or_else(|_| atoms::error().encode(env))
}

/// `{error, Reason}` for every failure after configuration, the one place they become
/// terms: `not_started`, `cancelled`, or `{Kind, Why}` with `Kind` one of
/// `runtime_unavailable`, `timeout`, `panicked`, `invalid_hand_over`, `client_id_not_saved`.
pub fn error<'a>(env: Env<'a>, error: &CoreError) -> Term<'a> {
    let reason = match error {
        CoreError::NotStarted => atoms::not_started().encode(env),
        CoreError::Cancelled => atoms::cancelled().encode(env),
        CoreError::RuntimeUnavailable(why) => (atoms::runtime_unavailable(), why).encode(env),
        CoreError::Timeout(_) => (atoms::timeout(), error.to_string()).encode(env),
        CoreError::Panicked(why) => (atoms::panicked(), why).encode(env),
        CoreError::InvalidHandOver(why) => (atoms::invalid_hand_over(), why).encode(env),
        CoreError::ClientIdNotSaved(why) => (atoms::client_id_not_saved(), why).encode(env),
    };
    (atoms::error(), reason).encode(env)
}

/// What `start/1` tells the Erlang side about the configuration it installed.
pub fn started<'a>(
    env: Env<'a>,
    config: &ServiceConfig,
    identity: Option<&Identity>,
    warnings: &[String],
) -> Term<'a> {
    let mode = atom(env, config.mode.as_str());
    let destinations: Vec<&str> = config.destinations.iter().map(|d| d.id()).collect();
    let warnings: Vec<&str> = warnings.iter().map(String::as_str).collect();
    let pairs: Vec<(Term, Term)> = vec![
        (atom(env, "mode"), mode.encode(env)),
        (atom(env, "mode_reason"), config.mode_reason.as_str().encode(env)),
        (atom(env, "notice"), config.notice.encode(env)),
        (atom(env, "initial_report"), config.initial_report_ms.encode(env)),
        (atom(env, "periodic_report"), config.periodic_report_ms.encode(env)),
        (atom(env, "report_file"), config.report_file.to_string_lossy().as_ref().encode(env)),
        (atom(env, "client_id"), identity.map_or(atoms::null().encode(env), |i| i.id.as_str().encode(env))),
        (atom(env, "created_ms"), identity.map_or(0, |i| i.created_ms).encode(env)),
        (atom(env, "destinations"), destinations.encode(env)),
        (atom(env, "warnings"), warnings.encode(env)),
    ];
    let (keys, values): (Vec<Term>, Vec<Term>) = pairs.into_iter().unzip();
    Term::map_from_term_arrays(env, &keys, &values).unwrap_or_else(|_| atoms::error().encode(env))
}

/// `{error, {invalid_option, Key, Why}}`, `{error, {unknown_option, Key, Why}}` or
/// `{error, {invalid_options, Why}}`.
pub fn options_error<'a>(env: Env<'a>, error: &OptionsError) -> Term<'a> {
    let reason = match error {
        OptionsError::Invalid { option, message } => {
            (atoms::invalid_option(), key(env, option), message.as_str()).encode(env)
        }
        OptionsError::Unknown { option, message } => {
            (atoms::unknown_option(), key(env, option), message.as_str()).encode(env)
        }
        OptionsError::Malformed(message) => (atoms::invalid_options(), message.as_str()).encode(env),
    };
    (atoms::error(), reason).encode(env)
}

/// `{error, {invalid_fact, Key, Why}}`.
pub fn facts_error<'a>(env: Env<'a>, error: &FactsError) -> Term<'a> {
    let fact = existing_atom_or_binary(env, &error.fact);
    (atoms::error(), (atoms::invalid_fact(), fact, error.message.as_str())).encode(env)
}

/// `[{Fact, Why}]`: the facts left out.
pub fn dropped_facts<'a>(env: Env<'a>, dropped: &[FactsError]) -> Term<'a> {
    dropped
        .iter()
        .map(|e| (existing_atom_or_binary(env, &e.fact), e.message.as_str()).encode(env))
        .collect::<Vec<Term>>()
        .encode(env)
}

/// An option key as it was given: an atom stays an atom, anything else a binary.
fn key<'a>(env: Env<'a>, key: &Value) -> Term<'a> {
    match key {
        Value::Atom(name) => existing_atom_or_binary(env, name),
        other => other.name().unwrap_or_else(|| other.render()).encode(env),
    }
}

/// Input never grows the atom table: names that are not atoms already stay binaries.
fn existing_atom_or_binary<'a>(env: Env<'a>, name: &str) -> Term<'a> {
    match Atom::existing_from_str(env, name) {
        Ok(atom) => atom.encode(env),
        Err(_) => name.encode(env),
    }
}

/// One of our own fixed key names.
fn atom<'a>(env: Env<'a>, name: &str) -> Term<'a> {
    Atom::from_str(env, name).map_or_else(|_| name.encode(env), |a| a.encode(env))
}
