use std::collections::HashMap;

use super::*;

fn load_with(args: &[&str], env: &[(&str, &str)]) -> Result<Command, ConfigError> {
    let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    load(args.iter().map(|a| (*a).to_owned()), &|name| env.get(name).cloned())
}

fn config(args: &[&str], env: &[(&str, &str)]) -> Config {
    match load_with(args, env) {
        Ok(Command::Run(config)) => *config,
        other => panic!("expected a configuration, got {other:?}"),
    }
}

fn problem(args: &[&str], env: &[(&str, &str)]) -> String {
    match load_with(args, env) {
        Err(ConfigError(message)) => message,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn defaults_apply_when_nothing_else_is_given() {
    let c = config(&["--stream", "UA-1-1"], &[]);
    assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
    assert_eq!(c.database, DatabaseUrl::Sqlite("mongoose_usage.sqlite3".into()));
    assert_eq!(c.streams, [Stream::Ua { id: "UA-1-1".into() }]);
    assert_eq!((c.read_token, c.retention_days), (None, DEFAULT_RETENTION_DAYS));
}

#[test]
fn flags_in_both_spellings() {
    let c = config(
        &[
            "--listen=127.0.0.1:0",
            "--database",
            "sqlite:///tmp/u.db",
            "--stream=G-AB12=s3cret",
            "--stream",
            "UA-9-2",
        ],
        &[],
    );
    assert_eq!(c.listen.port(), 0);
    assert_eq!(c.database, DatabaseUrl::Sqlite("/tmp/u.db".into()));
    assert_eq!(c.streams.len(), 2);
    assert!(
        matches!(&c.streams[0], Stream::Ga4 { id, secret } if id == "G-AB12" && secret.expose() == "s3cret")
    );
    assert!(matches!(load_with(&["--help"], &[]), Ok(Command::Help)));
}

#[test]
fn flags_win_over_environment_which_wins_over_the_file() {
    let dir = std::env::temp_dir().join(format!("usage_config_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:1\"\nretention_days = 7\nread_token = \"from-file\"\n[streams]\n\"G-F\" = \"f\"\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let env = [
        ("MONGOOSE_USAGE_CONFIG", path),
        ("MONGOOSE_USAGE_LISTEN", "127.0.0.1:2"),
        ("MONGOOSE_USAGE_STREAMS", "G-E=e, UA-1-1"),
        ("MONGOOSE_USAGE_READ_TOKEN", ""),
    ];
    let c = config(&["--listen", "127.0.0.1:3"], &env);
    assert_eq!(c.listen.port(), 3);
    assert_eq!(c.streams.iter().map(Stream::id).collect::<Vec<_>>(), ["G-E", "UA-1-1"]);
    assert_eq!(c.read_token.as_ref().map(Secret::expose), Some("from-file"), "an empty variable is absent");
    assert_eq!(c.retention_days, 7);
    let c = config(&[], &env[..1]);
    assert_eq!((c.listen.port(), c.streams[0].id()), (1, "G-F"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mistakes_are_named_in_one_line_without_the_secret() {
    let cases: [(&[&str], &str); 16] = [
        (&["--colour", "red"], "unknown flag --colour"),
        (&["--read-tokn=s3cret"], "unknown flag --read-tokn"),
        (&["s3cret"], "unexpected argument"),
        (&["--listen"], "--listen needs a value"),
        (&["--listen", "localhost", "--stream", "UA-1-1"], "\"localhost\" is not an address"),
        (&["--listen", "127.0.0.1:1", "--listen", "127.0.0.1:2"], "--listen is given twice"),
        (&["--database", "mysql://u:s3cret@h/d", "--stream", "UA-1-1"], "unsupported database URL"),
        (
            &["--database", "postgres://u:s3cret@h:notaport/d", "--stream", "UA-1-1"],
            "not a valid PostgreSQL URL",
        ),
        (&["--database", "sqlite:", "--stream", "UA-1-1"], "needs a file path"),
        (&[], "no stream configured"),
        (&["--stream", "G-1"], "stream G-1 needs its API secret"),
        (&["--stream", "G-1=s3cret s3cret"], "the API secret of stream G-1 must be"),
        (&["--stream", "X-1=s3cret"], "this one is neither"),
        (&["--stream", "UA-1-1=s3cret"], "takes no secret"),
        (&["--stream", "G-1=a", "--stream", "G-1=b"], "stream G-1 is given twice"),
        (&["--stream", "UA-1-1", "--read-token", "s3cret s3cret"], "the read token must be"),
    ];
    for (args, expected) in cases {
        let message = problem(args, &[]);
        assert!(message.contains(expected), "{args:?}: {message}");
        assert!(!message.contains("s3cret") && !message.contains('\n'), "{args:?}: {message}");
    }
    let message = problem(&["--stream", "UA-1-1", "--retention-days", "0"], &[]);
    assert!(message.starts_with("--retention-days: \"0\" is not a number of days"), "{message}");
    let message =
        problem(&[], &[("MONGOOSE_USAGE_RETENTION_DAYS", "x"), ("MONGOOSE_USAGE_STREAMS", "UA-1-1")]);
    assert!(message.starts_with("MONGOOSE_USAGE_RETENTION_DAYS: "), "{message}");
    let message = problem(&["--config", "/nonexistent/usage.toml"], &[]);
    assert_eq!(message, "config file /nonexistent/usage.toml: cannot read it (no such file)");
}

#[test]
fn secrets_do_not_show_in_debug_output() {
    let c = config(
        &["--stream", "G-1=s3cret", "--read-token", "t0ken", "--database", "postgres://u:pw@h/d"],
        &[],
    );
    let shown = format!("{c:?}");
    assert!(!shown.contains("s3cret") && !shown.contains("t0ken") && !shown.contains("pw@"), "{shown}");
}
