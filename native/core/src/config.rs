//! The service's whole configuration: the operator's options plus what the Erlang side
//! knows about the node (the built-in destination from the application environment, the
//! host's cluster id and the log directory), resolved into one immutable [`ServiceConfig`].

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::atomic_file;
use crate::client_id;
use crate::delivery::endpoint::read_ca_bundle;
use crate::delivery::{Endpoint, Policy};
use crate::destination::{self, Destination};
use crate::mode::{self, Environment, Mode};
use crate::options::{self, OptionsError};
use crate::value::Value;

/// The report file's name, in the log directory unless `report_file` says otherwise.
pub const REPORT_FILE_NAME: &str = "system_metrics_report.json";
/// Used when the node has no file log handler, or only the filesystem root.
pub const FALLBACK_REPORT_DIR: &str = "log";

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
    let chosen = opts.report_file.is_some();
    let report_file = cwd.join(
        opts.report_file.unwrap_or_else(|| default_report_dir(report_dir.as_deref()).join(REPORT_FILE_NAME)),
    );
    check_report_file(&report_file).map_err(|message| {
        if chosen {
            OptionsError::Invalid { option: Value::atom("report_file"), message }
        } else {
            OptionsError::Malformed(message)
        }
    })?;
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

/// The report file must be a regular file or absent, in a directory that is, once every
/// link is resolved, neither the filesystem root nor a system directory (see
/// [`system_directory`]). The client id file and the send log go beside it, so the same
/// holds for them; `..` would hide where any of them really lands.
///
/// The error is the whole message: the resolved path, and why it is refused.
fn check_report_file(path: &Path) -> Result<(), String> {
    let refused =
        |at: &Path, why: &dyn std::fmt::Display| format!("report_file resolves to {}: {why}", at.display());
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(refused(path, &"'..' is not allowed in the path"));
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(refused(path, &"expected the path of a file"));
    };
    let dir = resolve_dir(dir).map_err(|why| refused(path, &why))?;
    let resolved = dir.join(name);
    if let Some(what) = system_directory(&dir) {
        return Err(refused(&resolved, &format!("refusing to write into {what}")));
    }
    atomic_file::check_absent_or_regular(&resolved).map_err(|e| refused(&resolved, &e))
}

/// `dir` with every link resolved (`/proc/self/root` is `/`). The part that does not
/// exist yet, which the service creates, is kept as written: it holds no `..`.
fn resolve_dir(dir: &Path) -> Result<PathBuf, String> {
    let mut existing = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let mut missing = Vec::new();
    loop {
        match std::fs::canonicalize(existing) {
            Ok(real) if real.is_dir() => return Ok(missing.iter().rev().fold(real, |p, name| p.join(name))),
            Ok(_) => return Err(format!("{} is not a directory", existing.display())),
            Err(e)
                if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) =>
            {
                if std::fs::symlink_metadata(existing).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(format!("{} is a symbolic link to nothing", existing.display()));
                }
                match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        missing.push(name);
                        existing = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
                    }
                    _ => return Err(format!("cannot resolve its directory: {e}")),
                }
            }
            Err(e) => return Err(format!("cannot resolve its directory {}: {e}", existing.display())),
        }
    }
}

/// Directories whose whole tree holds the system's configuration, devices, kernel
/// interfaces, boot files or programs.
const SYSTEM_TREES: &[&[&str]] = &[
    &["etc"],
    &["dev"],
    &["proc"],
    &["sys"],
    &["boot"],
    &["bin"],
    &["sbin"],
    &["usr", "bin"],
    &["usr", "sbin"],
    &["usr", "local", "bin"],
    &["usr", "local", "sbin"],
];

/// Where a resolved directory is a system location: the root, anything under
/// [`SYSTEM_TREES`], or one of the top directories of the system's libraries
/// themselves (`/lib*`, `/usr`, `/usr/lib*`, `/usr/libexec`, `/usr/share`,
/// `/usr/include`, `/usr/local`, `/usr/local/lib*`). Directories below the library
/// ones are allowed: MongooseIM's packages live in `/usr/lib/mongooseim` and log to
/// `/usr/lib/mongooseim/log` or `/var/log/mongooseim`.
fn system_directory(dir: &Path) -> Option<String> {
    let parts: Vec<&str> = dir
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_str().unwrap_or("")),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        return Some("the filesystem root".to_owned());
    }
    if let Some(tree) = SYSTEM_TREES.iter().find(|tree| parts.starts_with(tree)) {
        let top = format!("/{}", tree.join("/"));
        return Some(if tree.len() == parts.len() {
            format!("{top}, a system directory")
        } else {
            format!("{}, a system directory (under {top})", dir.display())
        });
    }
    let library = |name: &str| name.starts_with("lib");
    let top_of_system = match parts.as_slice() {
        [top] => *top == "usr" || library(top),
        ["usr", sub] => library(sub) || ["share", "include", "local"].contains(sub),
        ["usr", "local", sub] => library(sub),
        _ => false,
    };
    top_of_system.then(|| format!("{}, a system directory", dir.display()))
}

/// The log directory, unless it is missing or the filesystem root.
fn default_report_dir(log_dir: Option<&Path>) -> PathBuf {
    match log_dir {
        Some(dir) if !dir.as_os_str().is_empty() && dir.parent().is_some() => dir.to_path_buf(),
        _ => PathBuf::from(FALLBACK_REPORT_DIR),
    }
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
mod tests {
    use super::*;
    use crate::delivery::endpoint::CA_BUNDLE_MAX_BYTES;

    fn start(pairs: Vec<(&str, Value)>) -> Result<ServiceConfig, OptionsError> {
        let argument = Value::Map(pairs.into_iter().map(|(k, v)| (Value::atom(k), v)).collect());
        from_start_argument(&argument, Path::new("/srv/mim"))
    }

    fn ga4(id: &str) -> Value {
        Value::Map(vec![
            (Value::atom("id"), Value::charlist(id)),
            (Value::atom("secret"), Value::charlist("s")),
        ])
    }

    #[test]
    fn the_mode_follows_the_report_option_and_the_environment() {
        let with = |opts: Value| {
            let c =
                start(vec![("options", opts), ("built_in_tracking_id", Value::atom("mongooseim"))]).unwrap();
            (c.mode, c.notice)
        };
        assert_eq!(with(Value::List(vec![])), (Mode::On, true));
        assert_eq!(with(Value::List(vec![Value::atom("report")])), (Mode::On, false));
        assert_eq!(with(Value::List(vec![Value::atom("no_report")])), (Mode::Off, false));
        let env = Value::Map(vec![
            (Value::atom("do_not_track"), Value::atom("false")),
            (Value::atom("mongooseim_system_metrics"), Value::charlist("local")),
        ]);
        let c = start(vec![("options", Value::List(vec![])), ("environment", env)]).unwrap();
        assert_eq!(
            (c.mode, c.mode_reason.as_str()),
            (Mode::Local, "environment MONGOOSEIM_SYSTEM_METRICS=local")
        );
    }

    #[test]
    fn report_file_defaults_to_the_log_dir_and_never_the_root() {
        let file = |dir: Option<Value>| {
            let mut pairs = vec![("options", Value::List(vec![]))];
            pairs.extend(dir.map(|d| ("report_dir", d)));
            start(pairs).unwrap().report_file
        };
        assert_eq!(
            file(Some(Value::charlist("/var/log/mongooseim"))),
            PathBuf::from("/var/log/mongooseim/system_metrics_report.json")
        );
        assert_eq!(
            file(Some(Value::charlist("/"))),
            PathBuf::from("/srv/mim/log/system_metrics_report.json")
        );
        assert_eq!(file(None), PathBuf::from("/srv/mim/log/system_metrics_report.json"));
        assert_eq!(
            file(Some(Value::atom("undefined"))),
            PathBuf::from("/srv/mim/log/system_metrics_report.json")
        );
        let explicit = start(vec![(
            "options",
            Value::List(vec![Value::Tuple(vec![Value::atom("report_file"), Value::charlist("r.json")])]),
        )])
        .unwrap();
        assert_eq!(explicit.report_file, PathBuf::from("/srv/mim/r.json"));
    }

    #[test]
    fn the_root_check_applies_to_the_resolved_path() {
        let in_root = |file: &str| {
            let options =
                Value::List(vec![Value::Tuple(vec![Value::atom("report_file"), Value::charlist(file)])]);
            let argument = Value::Map(vec![(Value::atom("options"), options)]);
            from_start_argument(&argument, Path::new("/")).map(|c| c.report_file)
        };
        for bad in ["r.json", "/r.json", "/tmp/../r.json", "logs/../../r.json"] {
            match in_root(bad) {
                Err(OptionsError::Invalid { option, message }) => {
                    assert!(option.is_atom("report_file"));
                    assert!(message.contains("root") || message.contains("'..'"), "{message}");
                }
                other => panic!("{bad}: expected a refusal, got {other:?}"),
            }
        }
        assert_eq!(in_root("log/r.json").unwrap(), PathBuf::from("/log/r.json"));
        let default = from_start_argument(
            &Value::Map(vec![(Value::atom("options"), Value::List(vec![]))]),
            Path::new("/"),
        );
        assert_eq!(default.unwrap().report_file, PathBuf::from("/log/system_metrics_report.json"));
    }

    #[test]
    fn built_in_destination_comes_first_and_duplicates_go() {
        let options = Value::Map(vec![(
            Value::atom("tracking_id"),
            Value::List(vec![ga4("G-USER"), ga4("G-BUILTIN")]),
        )]);
        let config = start(vec![("options", options), ("built_in_tracking_id", ga4("G-BUILTIN"))]).unwrap();
        let ids: Vec<&str> = config.destinations.iter().map(Destination::id).collect();
        assert_eq!(ids, ["G-BUILTIN", "G-USER"]);
        assert!(config.warnings[0].contains("G-BUILTIN is configured more than once"));
    }

    fn environment(ci: Value) -> Value {
        Value::Map(vec![
            (Value::atom("do_not_track"), Value::atom("false")),
            (Value::atom("mongooseim_system_metrics"), Value::atom("false")),
            (Value::atom("ci"), ci),
        ])
    }

    fn with_tracking_id(id: &str) -> Value {
        Value::Map(vec![(Value::atom("tracking_id"), ga4(id))])
    }

    fn ids(config: &ServiceConfig) -> Vec<&str> {
        config.destinations.iter().map(Destination::id).collect()
    }

    #[test]
    fn mongooseim_is_its_own_production_property() {
        let config = start(vec![
            ("options", Value::List(vec![])),
            ("built_in_tracking_id", Value::atom("mongooseim")),
            ("environment", environment(Value::atom("false"))),
        ])
        .unwrap();
        assert_eq!(ids(&config), ["G-B4S18X6KY5"]);
        assert_eq!((config.mode, config.notice), (Mode::On, true));
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        // Without an environment map at all, CI is unset too.
        let config = start(vec![
            ("options", with_tracking_id("G-USER")),
            ("built_in_tracking_id", Value::atom("mongooseim")),
        ])
        .unwrap();
        assert_eq!(ids(&config), ["G-B4S18X6KY5", "G-USER"]);
    }

    #[test]
    fn ci_true_picks_mongooseims_ci_property_and_nothing_else_does() {
        let with_ci = |ci: Value| {
            let config = start(vec![
                ("options", Value::List(vec![])),
                ("built_in_tracking_id", Value::atom("mongooseim")),
                ("environment", environment(ci)),
            ])
            .unwrap();
            ids(&config).concat()
        };
        assert_eq!(with_ci(Value::charlist("true")), "G-VB91V60SKT");
        assert_eq!(with_ci(Value::binary("true")), "G-VB91V60SKT");
        for other in
            [Value::charlist("TRUE"), Value::charlist("1"), Value::charlist("yes"), Value::atom("false")]
        {
            assert_eq!(with_ci(other.clone()), "G-B4S18X6KY5", "CI={other:?}");
        }
        // CI picks the property only: it never changes a packager's own.
        let packaged = start(vec![
            ("options", Value::List(vec![])),
            ("built_in_tracking_id", ga4("G-PACKAGER")),
            ("environment", environment(Value::charlist("true"))),
        ])
        .unwrap();
        assert_eq!(ids(&packaged), ["G-PACKAGER"]);
    }

    #[test]
    fn none_undefined_or_no_key_means_no_built_in_destination() {
        for built_in in [Some(Value::atom("none")), Some(Value::atom("undefined")), None] {
            let mut pairs = vec![("options", with_tracking_id("G-USER"))];
            pairs.extend(built_in.clone().map(|b| ("built_in_tracking_id", b)));
            let config = start(pairs).unwrap();
            assert_eq!(ids(&config), ["G-USER"], "{built_in:?}");
            assert_eq!(config.mode, Mode::On);
            assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        }
    }

    #[test]
    fn a_packagers_own_property_replaces_mongooseims() {
        let config =
            start(vec![("options", with_tracking_id("G-USER")), ("built_in_tracking_id", ga4("G-PACKAGER"))])
                .unwrap();
        assert_eq!(ids(&config), ["G-PACKAGER", "G-USER"]);
        let legacy = start(vec![
            ("options", Value::List(vec![])),
            ("built_in_tracking_id", Value::charlist("UA-151671255-3")),
        ])
        .unwrap();
        assert_eq!(ids(&legacy), ["UA-151671255-3"]);
        assert!(legacy.warnings[0].contains("Universal Analytics"));
    }

    #[test]
    fn no_destination_means_local_and_says_so() {
        let report = |value: Option<bool>| {
            let opts = value.map(|v| {
                Value::List(vec![Value::Tuple(vec![Value::atom("report"), Value::atom(&v.to_string())])])
            });
            start(vec![
                ("options", opts.unwrap_or(Value::List(vec![]))),
                ("built_in_tracking_id", Value::atom("none")),
            ])
            .unwrap()
        };
        for (config, notice) in [(report(None), true), (report(Some(true)), false)] {
            assert_eq!((config.mode, config.notice), (Mode::Local, notice));
            assert_eq!(config.mode_reason, NO_DESTINATION_REASON);
            assert_eq!(
                config.mode_reason,
                "no destination: default_tracking_id is none and no tracking_id is set, so the report is only \
                 written locally"
            );
            assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
            assert!(config.warnings[0].starts_with("no destination:"), "{}", config.warnings[0]);
            assert!(config.warnings[0].contains("/srv/mim/log/system_metrics_report.json"));
            assert!(config.destinations.is_empty());
        }
        // Off and local stay as they are, without a word about destinations.
        let off = report(Some(false));
        assert_eq!((off.mode, off.mode_reason.as_str()), (Mode::Off, "option report = false"));
        assert!(off.warnings.is_empty());
        let env = Value::Map(vec![(Value::atom("mongooseim_system_metrics"), Value::charlist("local"))]);
        let local = start(vec![("options", Value::List(vec![])), ("environment", env)]).unwrap();
        assert_eq!(
            (local.mode, local.mode_reason.as_str()),
            (Mode::Local, "environment MONGOOSEIM_SYSTEM_METRICS=local")
        );
        assert!(local.warnings.is_empty());
    }

    #[test]
    fn the_built_in_secrets_are_never_shown() {
        for ci in [Value::atom("false"), Value::charlist("true")] {
            let config = start(vec![
                ("options", Value::List(vec![])),
                ("built_in_tracking_id", Value::atom("mongooseim")),
                ("environment", environment(ci)),
            ])
            .unwrap();
            let shown = format!("{config:?}");
            for secret in ["Rj6lopOLQZ2HPLj50QtYeQ", "LFxdCgDsSa-OAPtBnLDqpQ"] {
                assert!(!shown.contains(secret));
                assert!(!config.warnings.iter().any(|w| w.contains(secret)));
                assert!(!config.mode_reason.contains(secret));
            }
        }
    }

    #[test]
    fn bad_built_in_destination_is_named() {
        let err = start(vec![("options", Value::List(vec![])), ("built_in_tracking_id", Value::Integer(1))])
            .unwrap_err();
        assert!(err.to_string().starts_with("default_tracking_id (application environment):"), "{err}");
        let err =
            start(vec![("options", Value::List(vec![])), ("built_in_tracking_id", Value::atom("mongoose"))])
                .unwrap_err();
        match err {
            OptionsError::Invalid { option, message } => {
                assert!(option.is_atom("default_tracking_id"));
                assert!(message.starts_with("default_tracking_id (application environment):"), "{message}");
                assert!(message.contains("expected mongooseim"), "{message}");
                assert!(message.contains("got the atom mongoose"), "{message}");
            }
            other => panic!("expected an invalid default_tracking_id, got {other:?}"),
        }
        let err = start(vec![
            ("options", Value::List(vec![])),
            ("built_in_tracking_id", Value::charlist("G-NOSECRET")),
        ])
        .unwrap_err();
        assert!(err.to_string().starts_with("default_tracking_id (application environment):"), "{err}");
    }

    #[test]
    fn host_client_id_is_taken_when_well_formed() {
        let host = |value: Value| start(vec![("options", Value::List(vec![])), ("host_client_id", value)]);
        let id = "802c323a-525d-497d-bb33-d00cbc2bef8e";
        assert_eq!(host(Value::binary(id)).unwrap().host_client_id.as_deref(), Some(id));
        let ephemeral = format!("ephemeral-{id}");
        assert_eq!(host(Value::charlist(&ephemeral)).unwrap().host_client_id, Some(ephemeral));
        assert_eq!(host(Value::atom("undefined")).unwrap().host_client_id, None);
        assert_eq!(start(vec![("options", Value::List(vec![]))]).unwrap().host_client_id, None);
        for bad in [
            Value::binary(""),
            Value::List(vec![]),
            Value::binary("has space"),
            Value::binary("a.b"),
            Value::binary(&"a".repeat(65)),
            Value::Integer(7),
            Value::atom("ephemeral"),
        ] {
            match host(bad.clone()) {
                Err(OptionsError::Malformed(message)) => {
                    assert!(message.starts_with("host_client_id must be"), "{message}")
                }
                other => panic!("{bad:?}: expected a refusal, got {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_start_arguments_are_refused() {
        assert!(from_start_argument(&Value::List(vec![]), Path::new("/")).is_err());
        assert!(start(vec![]).unwrap_err().to_string().contains("needs the key options"));
        assert!(start(vec![("options", Value::List(vec![])), ("colour", Value::Integer(1))])
            .unwrap_err()
            .to_string()
            .contains("unknown start/1 key colour"));
        let unknown =
            start(vec![("options", Value::List(vec![])), ("colour", Value::Integer(1))]).unwrap_err();
        assert!(unknown.to_string().contains("host_client_id"), "{unknown}");
        let env = Value::Map(vec![(Value::atom("home"), Value::charlist("/root"))]);
        assert!(start(vec![("options", Value::List(vec![])), ("environment", env)])
            .unwrap_err()
            .to_string()
            .contains("environment: unknown key home"));
    }

    fn with_option(name: &str, value: &str, cwd: &Path) -> Result<ServiceConfig, OptionsError> {
        let options = Value::List(vec![Value::Tuple(vec![Value::atom(name), Value::charlist(value)])]);
        from_start_argument(&Value::Map(vec![(Value::atom("options"), options)]), cwd)
    }

    /// The message of a refused `name`, which must be the option named.
    fn refusal_of(name: &str, result: Result<ServiceConfig, OptionsError>) -> String {
        match result {
            Err(OptionsError::Invalid { option, message }) if option.is_atom(name) => message,
            other => panic!("expected {name} refused, got {other:?}"),
        }
    }

    fn refused_report_file(path: &str) -> String {
        refusal_of("report_file", with_option("report_file", path, Path::new("/srv/mim")))
    }

    #[test]
    fn report_file_is_never_in_a_system_location_once_resolved() {
        for (path, message) in [
            ("/etc/passwd", "report_file resolves to /etc/passwd: refusing to write into /etc, a system directory"),
            (
                "/etc/mongooseim/usage.json",
                "report_file resolves to /etc/mongooseim/usage.json: refusing to write into /etc/mongooseim, a \
                 system directory (under /etc)",
            ),
            ("/dev/null", "report_file resolves to /dev/null: refusing to write into /dev, a system directory"),
            (
                "/proc/self/root/usage.json",
                "report_file resolves to /usage.json: refusing to write into the filesystem root",
            ),
            (
                "/proc/self/root/etc/usage.json",
                "report_file resolves to /etc/usage.json: refusing to write into /etc, a system directory",
            ),
            (
                "/proc/self/usage.json",
                "refusing to write into /proc/", // the pid's directory: under /proc
            ),
            ("/sys/usage.json", "report_file resolves to /sys/usage.json: refusing to write into /sys, a system directory"),
            ("/boot/usage.json", "refusing to write into /boot, a system directory"),
            ("/usr/usage.json", "report_file resolves to /usr/usage.json: refusing to write into /usr, a system directory"),
            ("/usr/lib/usage.json", "refusing to write into /usr/lib, a system directory"),
            ("/usr/local/usage.json", "refusing to write into /usr/local, a system directory"),
            ("/usr/share/usage.json", "refusing to write into /usr/share, a system directory"),
            ("/usr/bin/mongooseim/usage.json", "(under /usr/bin)"),
        ] {
            let refused = refused_report_file(path);
            assert!(refused.contains(message), "{path}: {refused}");
        }
        // /bin and /lib are links to /usr/bin and /usr/lib on merged-/usr systems: refused
        // either way, under the name they resolve to.
        for path in ["/bin/usage.json", "/sbin/usage.json", "/lib/usage.json", "/lib64/usage.json"] {
            if Path::new(path).parent().is_some_and(Path::exists) {
                let refused = refused_report_file(path);
                assert!(refused.contains(", a system directory"), "{path}: {refused}");
            }
        }
        // MongooseIM's own places, even under /usr/lib, are fine.
        for path in [
            "/usr/lib/mongooseim/log/usage.json",
            "/usr/lib/mongooseim/usage.json",
            "/usr/local/lib/mongooseim/log/usage.json",
            "/var/log/mongooseim/usage.json",
            "/var/log/usage.json",
        ] {
            let config = with_option("report_file", path, Path::new("/srv/mim")).unwrap();
            assert_eq!(config.report_file, PathBuf::from(path));
        }
        // The default, from the node's log directory, is checked just as well.
        let argument = Value::Map(vec![
            (Value::atom("options"), Value::List(vec![])),
            (Value::atom("report_dir"), Value::charlist("/etc/mongooseim")),
        ]);
        match from_start_argument(&argument, Path::new("/srv/mim")) {
            Err(OptionsError::Malformed(message)) => assert_eq!(
                message,
                "report_file resolves to /etc/mongooseim/system_metrics_report.json: refusing to write into \
                 /etc/mongooseim, a system directory (under /etc)"
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn report_file_must_be_a_regular_file_in_a_real_directory() {
        let dir = std::fs::canonicalize(crate::atomic_file::tests::temp_dir("config-report-file")).unwrap();
        let at = |name: &str| dir.join(name).to_str().unwrap().to_owned();
        std::fs::write(dir.join("victim"), "precious").unwrap();
        std::os::unix::fs::symlink(dir.join("victim"), dir.join("link.json")).unwrap();
        std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("dangling.json")).unwrap();
        std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("dangling-dir")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("etc-link")).unwrap();
        std::fs::create_dir(dir.join("a-dir")).unwrap();
        crate::atomic_file::tests::fifo(&dir.join("fifo.json"));
        std::fs::write(dir.join("blocker"), "").unwrap();
        for (name, why) in [
            ("link.json", "it is a symbolic link, which is never followed".to_owned()),
            ("dangling.json", "it is a symbolic link, which is never followed".to_owned()),
            ("a-dir", "it is a directory, not a regular file".to_owned()),
            ("fifo.json", "it is a FIFO, not a regular file".to_owned()),
            ("blocker/usage.json", format!("{} is not a directory", at("blocker"))),
            ("blocker/deeper/usage.json", format!("{} is not a directory", at("blocker"))),
            ("dangling-dir/usage.json", format!("{} is a symbolic link to nothing", at("dangling-dir"))),
        ] {
            assert_eq!(
                refused_report_file(&at(name)),
                format!("report_file resolves to {}: {why}", at(name))
            );
        }
        // A link among the directories is resolved, and the checks apply where it leads.
        assert_eq!(
            refused_report_file(&at("etc-link/usage.json")),
            "report_file resolves to /etc/usage.json: refusing to write into /etc, a system directory"
        );
        std::os::unix::fs::symlink(dir.join("a-dir"), dir.join("dir-link")).unwrap();
        let config = with_option("report_file", &at("dir-link/new/usage.json"), Path::new("/")).unwrap();
        assert_eq!(config.report_file, dir.join("dir-link/new/usage.json"));
        std::fs::write(dir.join("existing.json"), "{}").unwrap();
        assert!(with_option("report_file", &at("existing.json"), Path::new("/")).is_ok());
        assert_eq!(std::fs::read_to_string(dir.join("victim")).unwrap(), "precious");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn ca_bundle_is_read_only_as_a_small_regular_file() {
        use crate::atomic_file::tests::{fifo, temp_dir, within_5s};
        let dir = std::fs::canonicalize(temp_dir("config-ca")).unwrap();
        let refused = |path: PathBuf| {
            within_5s(move || {
                refusal_of("ca_bundle", with_option("ca_bundle", path.to_str().unwrap(), Path::new("/")))
            })
        };
        // /dev/zero never ends: it used to be read until memory ran out.
        assert_eq!(
            refused("/dev/zero".into()),
            "ca_bundle = \"/dev/zero\": cannot read it: it is a character device, not a regular file"
        );
        // A FIFO used to block start/1 until someone wrote to it.
        fifo(&dir.join("fifo.pem"));
        std::os::unix::fs::symlink(dir.join("fifo.pem"), dir.join("to-fifo.pem")).unwrap();
        for name in ["fifo.pem", "to-fifo.pem"] {
            assert_eq!(
                refused(dir.join(name)),
                format!(
                    "ca_bundle = {:?}: cannot read it: it is a FIFO, not a regular file",
                    dir.join(name).display().to_string()
                )
            );
        }
        assert!(refused(dir.clone()).ends_with("cannot read it: it is a directory, not a regular file"));
        let collector = ga4_collector::Collector::bind_tls("127.0.0.1:0").unwrap();
        let pem = collector.ca_pem().unwrap().as_bytes().to_vec();
        let big = dir.join("big.pem");
        std::fs::write(&big, &pem).unwrap();
        std::fs::OpenOptions::new().write(true).open(&big).unwrap().set_len(CA_BUNDLE_MAX_BYTES + 1).unwrap();
        assert_eq!(
            refused(big.clone()),
            format!(
                "ca_bundle = {:?}: cannot read it: it is larger than 4 MiB, the most that is read of it",
                big.display().to_string()
            )
        );
        // A real bundle, reached through a link as system bundles often are, is read.
        std::fs::write(dir.join("ca.pem"), &pem).unwrap();
        std::os::unix::fs::symlink(dir.join("ca.pem"), dir.join("link.pem")).unwrap();
        let config =
            with_option("ca_bundle", dir.join("link.pem").to_str().unwrap(), Path::new("/")).unwrap();
        assert_eq!(config.endpoint.extra_roots_pem, Some(pem));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
