//! The service's whole configuration: the operator's options plus what the Erlang side
//! knows about the node (the built-in destination from the application environment, the
//! host's cluster id and the log directory), resolved into one immutable [`ServiceConfig`].

mod report_path;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::client_id;
use crate::delivery::endpoint::read_ca_bundle;
use crate::delivery::{Endpoint, Policy};
use crate::destination::{self, Destination};
use crate::mode::{self, Environment, Mode};
use crate::options::{self, OptionsError};
use crate::value::Value;
pub use report_path::{FALLBACK_REPORT_DIR, REPORT_FILE_NAME};

/// Everything a running service needs, resolved once at start.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceConfig {
    /// Whether to report: `on`, `local` or `off`.
    pub mode: Mode,
    /// Which option or environment variable decided the mode.
    pub mode_reason: String,
    /// Whether to log the consent notice (the README's consent table).
    pub notice: bool,
    /// Delay before the first report, in milliseconds.
    pub initial_report_ms: u64,
    /// Interval between reports, in milliseconds.
    pub periodic_report_ms: u64,
    /// The built-in destination first, then the operator's, without duplicates. Never
    /// empty in mode `on`: without a destination the mode is `local`.
    pub destinations: Vec<Destination>,
    /// Where delivery goes and which extra CA certificates it trusts.
    pub endpoint: Endpoint,
    /// Delivery's time limits and retries, bounded by the reporting period.
    pub policy: Policy,
    /// Absolute path of the report file.
    pub report_file: PathBuf,
    /// The host's own cluster id (MongooseIM's `mongoose_cluster_id`), when it has one:
    /// the reporter's identity then, and no client id file of its own is kept.
    pub host_client_id: Option<String>,
    /// Remarks the Erlang side logs once at start.
    pub warnings: Vec<String>,
    /// A fault to inject, for the reliability tests only (start argument `fault`).
    pub fault: Option<Fault>,
}

/// Faults the reliability tests inject, to prove that a panic in Rust is reported and
/// never takes the node or the service down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `report_now/1` panics inside the NIF call.
    PanicInNif,
    /// The cycle panics on the core's runtime.
    PanicInCycle,
}

/// The `mode_reason` when the mode would be `on` but no destination is configured.
pub const NO_DESTINATION_REASON: &str =
    "no destination: default_tracking_id is none and no tracking_id is set, so the report is only written locally";

/// Builds the configuration from the start argument of the NIF, a map with the keys
///
/// - `options` (required): the service options, a map or a proplist;
/// - `built_in_tracking_id`: the application environment's `default_tracking_id`:
///   `mongooseim` for MongooseIM's own GA4 property (its CI property when
///   `environment.ci` is `"true"`), `none` or `undefined` (or no key) for no built-in
///   destination, or a tracking id of the packager's own, which replaces MongooseIM's;
/// - `host_client_id`: the host's cluster id (`binary() | undefined`), the client id
///   then, with no client id file of the service's own;
/// - `report_dir`: the log directory (`undefined` when there is none);
/// - `environment`: `#{do_not_track, mongooseim_system_metrics, ci}`, each a string or
///   `false`, as `os:getenv/1` answers;
/// - `delivery`: tunes [`Policy`] (tests use short limits);
/// - `fault`: `panic_in_nif` or `panic_in_cycle`, for the reliability tests;
/// - `min_periodic_report`: the floor of `periodic_report` in milliseconds (`undefined`:
///   a minute); the application environment lowers it for tests only.
///
/// When the mode would be `on` and there is no destination at all, it is `local`, with
/// [`NO_DESTINATION_REASON`] and a warning: a configuration that sends nowhere never
/// claims to report.
///
/// Reads the CA bundle named by `ca_bundle`, so it runs off the BEAM's schedulers.
///
/// # Errors
/// [`OptionsError`] naming the option (or start argument) that is wrong.
pub fn from_start_argument(argument: &Value, cwd: &Path) -> Result<ServiceConfig, OptionsError> {
    let Value::Map(pairs) = argument else {
        return Err(OptionsError::Malformed(format!(
            "start/1 expects #{{options => Options}}, got {}",
            argument.kind()
        )));
    };
    let mut opts = None;
    let mut built_in = None;
    let mut host_client_id = None;
    let mut min_periodic_report_ms = options::MIN_PERIODIC_REPORT_MS;
    let mut report_dir = None;
    let mut tuning = None;
    let mut environment = Environment::default();
    let mut fault = None;
    for (key, value) in pairs {
        match key.name().as_deref() {
            Some("fault") => {
                fault = match value.name().as_deref() {
                    Some("panic_in_nif") => Some(Fault::PanicInNif),
                    Some("panic_in_cycle") => Some(Fault::PanicInCycle),
                    _ => return Err(OptionsError::Malformed("fault: panic_in_nif or panic_in_cycle".into())),
                }
            }
            Some("options") => opts = Some(value),
            Some("delivery") => tuning = Some(value),
            Some("environment") => environment = environment_of(value)?,
            Some("built_in_tracking_id") => built_in = Some(value),
            Some("host_client_id") => host_client_id = host_client_id_of(value)?,
            Some("report_dir") => report_dir = Some(value).filter(|v| !v.is_atom("undefined")),
            Some(options::MIN_PERIODIC_REPORT_KEY) => min_periodic_report_ms = options::min_periodic_report(value)?,
            _ => {
                return Err(OptionsError::Malformed(format!(
                    "unknown start/1 key {}; expected options, built_in_tracking_id, host_client_id, report_dir, environment, delivery, fault, min_periodic_report",
                    if matches!(key, Value::Atom(_)) { key.render() } else { key.kind() }
                )))
            }
        }
    }
    let opts = opts.ok_or_else(|| OptionsError::Malformed("start/1 needs the key options".into()))?;
    let parsed = options::parse_with_floor(opts, min_periodic_report_ms)?;
    let mut warnings = parsed.warnings;
    let built_in = built_in_destinations(built_in, &environment, &mut warnings)?;
    let report_dir = match report_dir {
        None => None,
        Some(value) => Some(value.text().map(PathBuf::from).ok_or_else(|| {
            OptionsError::Malformed(format!("report_dir must be a path, got {}", value.render()))
        })?),
    };
    let opts = parsed.options;
    let policy = match tuning {
        None => Policy::default(),
        Some(value) => tuned(value)?,
    }
    .within_period(Duration::from_millis(opts.periodic_report_ms));
    let extra_roots_pem = match &opts.ca_bundle {
        None => None,
        Some(path) => Some(read_ca_bundle(&cwd.join(path)).map_err(|why| OptionsError::Invalid {
            option: Value::atom("ca_bundle"),
            message: format!("ca_bundle = {:?}: {why}", path.display().to_string()),
        })?),
    };
    let report_file = report_path::resolve(opts.report_file, report_dir.as_deref(), cwd)?;
    let destinations = without_duplicates(built_in.into_iter().chain(opts.tracking_ids), &mut warnings);
    let mut decision = mode::decide(opts.report, &environment);
    warnings.extend(decision.warnings);
    if decision.mode == Mode::On && destinations.is_empty() {
        decision.mode = Mode::Local;
        decision.reason = NO_DESTINATION_REASON.to_owned();
        warnings.push(format!(
            "no destination: default_tracking_id is none and no tracking_id is set, so reports are \
             built and written to {} but sent nowhere (mode local); set tracking_id to send them \
             to a GA4 property",
            report_file.display()
        ));
    }
    Ok(ServiceConfig {
        mode: decision.mode,
        mode_reason: decision.reason,
        notice: decision.notice,
        initial_report_ms: opts.initial_report_ms,
        periodic_report_ms: opts.periodic_report_ms,
        destinations,
        endpoint: Endpoint { base: opts.google_analytics_url, extra_roots_pem },
        policy,
        report_file,
        host_client_id,
        warnings,
        fault,
    })
}

/// The built-in destination that `built_in_tracking_id` (the application environment's
/// `default_tracking_id`) names: `mongooseim` for MongooseIM's own property, `none` or
/// `undefined` for none, anything else a tracking id that replaces MongooseIM's.
fn built_in_destinations(
    value: Option<&Value>,
    environment: &Environment,
    warnings: &mut Vec<String>,
) -> Result<Vec<Destination>, OptionsError> {
    let invalid = |why: String| OptionsError::Invalid {
        option: Value::atom("default_tracking_id"),
        message: format!("default_tracking_id (application environment): {why}"),
    };
    match value {
        None => Ok(Vec::new()),
        Some(atom @ Value::Atom(name)) => match name.as_str() {
            "mongooseim" => Ok(vec![destination::mongooseim(environment.ci.as_deref())]),
            "none" | "undefined" => Ok(Vec::new()),
            _ => Err(invalid(format!(
                "expected mongooseim (MongooseIM's own GA4 property), none, or a tracking id of your own \
                 (#{{id => \"G-XXXXXXXXXX\", secret => \"...\"}}), got the atom {}",
                atom.render()
            ))),
        },
        Some(value) => {
            let parsed = destination::parse(value).map_err(|e| invalid(e.0))?;
            warnings.extend(parsed.warnings);
            Ok(parsed.destinations)
        }
    }
}

/// `host_client_id`: the host's cluster id, or `undefined`.
fn host_client_id_of(value: &Value) -> Result<Option<String>, OptionsError> {
    if value.is_atom("undefined") {
        return Ok(None);
    }
    match value.text().filter(|t| client_id::is_well_formed(t)) {
        Some(id) => Ok(Some(id)),
        None => Err(OptionsError::Malformed(format!(
            "host_client_id must be the host's cluster id, 1 to {} letters, digits and '-', or undefined; got {}",
            client_id::MAX_LEN,
            value.render()
        ))),
    }
}

/// `#{do_not_track => Value, mongooseim_system_metrics => Value, ci => Value}`, each a
/// string, or `false` (as `os:getenv/1` answers for an unset variable).
fn environment_of(value: &Value) -> Result<Environment, OptionsError> {
    let bad = |why: String| OptionsError::Malformed(format!("environment: {why}"));
    let Value::Map(pairs) = value else { return Err(bad(format!("expected a map, got {}", value.kind()))) };
    let mut environment = Environment::default();
    for (key, value) in pairs {
        let text = match value {
            Value::Atom(a) if a == "false" => None,
            other => Some(other.text().unwrap_or_default()),
        };
        match key.name().as_deref() {
            Some("do_not_track") => environment.do_not_track = text,
            Some("mongooseim_system_metrics") => environment.mongooseim_system_metrics = text,
            Some("ci") => environment.ci = text,
            _ => return Err(bad(format!("unknown key {}", key.render()))),
        }
    }
    Ok(environment)
}

/// `delivery => #{connect_timeout_ms, request_timeout_ms, deadline_ms, max_attempts,
/// base_delay_ms, max_delay_ms, max_retry_after_ms}`, each optional.
fn tuned(value: &Value) -> Result<Policy, OptionsError> {
    let bad = |why: String| OptionsError::Malformed(format!("delivery: {why}"));
    let Value::Map(pairs) = value else { return Err(bad(format!("expected a map, got {}", value.kind()))) };
    let mut policy = Policy::default();
    for (key, value) in pairs {
        let name = key.name().unwrap_or_default();
        let n = match value {
            Value::Integer(n) if *n > 0 => *n as u64,
            other => return Err(bad(format!("{name} must be a positive integer, got {}", other.render()))),
        };
        let ms = Duration::from_millis(n);
        match name.as_str() {
            "connect_timeout_ms" => policy.connect_timeout = ms,
            "request_timeout_ms" => policy.request_timeout = ms,
            "deadline_ms" => policy.deadline = ms,
            "max_attempts" => policy.max_attempts = u32::try_from(n).unwrap_or(u32::MAX),
            "base_delay_ms" => policy.base_delay = ms,
            "max_delay_ms" => policy.max_delay = ms,
            "max_retry_after_ms" => policy.max_retry_after = ms,
            other => return Err(bad(format!("unknown key {other}"))),
        }
    }
    Ok(policy)
}

fn without_duplicates(
    all: impl Iterator<Item = Destination>,
    warnings: &mut Vec<String>,
) -> Vec<Destination> {
    let mut kept: Vec<Destination> = Vec::new();
    for destination in all {
        if kept.iter().any(|d| d.id() == destination.id()) {
            warnings.push(format!(
                "tracking id {} is configured more than once; reports go to it once",
                destination.id()
            ));
        } else {
            kept.push(destination);
        }
    }
    kept
}

#[cfg(test)]
mod tests;
