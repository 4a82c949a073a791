use super::*;
use crate::delivery::endpoint::CA_BUNDLE_MAX_BYTES;

pub(super) fn start(pairs: Vec<(&str, Value)>) -> Result<ServiceConfig, OptionsError> {
    let argument = Value::Map(pairs.into_iter().map(|(k, v)| (Value::atom(k), v)).collect());
    from_start_argument(&argument, Path::new("/srv/mim"))
}

fn ga4(id: &str) -> Value {
    Value::Map(vec![(Value::atom("id"), Value::charlist(id)), (Value::atom("secret"), Value::charlist("s"))])
}

#[test]
fn the_mode_follows_the_report_option_and_the_environment() {
    let with = |opts: Value| {
        let c = start(vec![("options", opts), ("built_in_tracking_id", Value::atom("mongooseim"))]).unwrap();
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
fn built_in_destination_comes_first_and_duplicates_go() {
    let options =
        Value::Map(vec![(Value::atom("tracking_id"), Value::List(vec![ga4("G-USER"), ga4("G-BUILTIN")]))]);
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
    for other in [Value::charlist("TRUE"), Value::charlist("1"), Value::charlist("yes"), Value::atom("false")]
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
    let unknown = start(vec![("options", Value::List(vec![])), ("colour", Value::Integer(1))]).unwrap_err();
    assert!(unknown.to_string().contains("host_client_id"), "{unknown}");
    let env = Value::Map(vec![(Value::atom("home"), Value::charlist("/root"))]);
    assert!(start(vec![("options", Value::List(vec![])), ("environment", env)])
        .unwrap_err()
        .to_string()
        .contains("environment: unknown key home"));
}

pub(super) fn with_option(name: &str, value: &str, cwd: &Path) -> Result<ServiceConfig, OptionsError> {
    let options = Value::List(vec![Value::Tuple(vec![Value::atom(name), Value::charlist(value)])]);
    from_start_argument(&Value::Map(vec![(Value::atom("options"), options)]), cwd)
}

/// The message of a refused `name`, which must be the option named.
pub(super) fn refusal_of(name: &str, result: Result<ServiceConfig, OptionsError>) -> String {
    match result {
        Err(OptionsError::Invalid { option, message }) if option.is_atom(name) => message,
        other => panic!("expected {name} refused, got {other:?}"),
    }
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
    let config = with_option("ca_bundle", dir.join("link.pem").to_str().unwrap(), Path::new("/")).unwrap();
    assert_eq!(config.endpoint.extra_roots_pem, Some(pem));
    std::fs::remove_dir_all(dir).unwrap();
}
