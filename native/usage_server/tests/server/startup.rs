//! Start-up: bad flags, variables, files and databases end the process with status 2 and
//! one line on stderr that names the problem and never a secret.

use std::net::TcpListener;

use crate::support::{postgres, Server, TempDir};

const SECRET: &str = "s3cret-Value";

/// Runs the binary; it must refuse to start, and say why in one line.
fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let exit = match Server::spawn(&args, env) {
        Ok(_) => panic!("started with {args:?}"),
        Err(exit) => exit,
    };
    assert_eq!(exit.status.code(), Some(2), "{exit:?}");
    assert!(exit.stdout.is_empty(), "{exit:?}");
    assert_eq!(exit.stderr.len(), 1, "one line: {exit:?}");
    let line = exit.stderr[0].clone();
    assert!(line.starts_with("mongoose_usage_server: "), "{line}");
    assert!(!line.contains(SECRET), "the secret shows in {line}");
    line
}

fn assert_says(line: &str, expected: &str) {
    assert!(line.contains(expected), "expected {expected:?} in {line:?}");
}

#[test]
fn bad_flags_and_variables_exit_2_naming_the_problem() {
    let stream = format!("G-1={SECRET}");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--colour", "red"], "unknown flag --colour"),
        (vec!["--read-tokn", SECRET], "unknown flag --read-tokn"),
        (vec![SECRET], "unexpected argument"),
        (
            vec!["--stream", stream.as_str(), "--listen", "nowhere"],
            "--listen: \"nowhere\" is not an address IP:PORT",
        ),
        (
            vec!["--stream", stream.as_str(), "--retention-days", "-3"],
            "--retention-days: \"-3\" is not a number of days",
        ),
        (vec![], "no stream configured"),
        (vec!["--stream", "G-1"], "stream G-1 needs its API secret"),
        (vec!["--stream", "G-1=has space s3cret-Value"], "the API secret of stream G-1 must be"),
        (vec!["--stream", "X-1=s3cret-Value"], "this one is neither"),
    ];
    for (args, expected) in &cases {
        assert_says(&refused(args, &[]), expected);
    }
    let secret_url = format!("mysql://user:{SECRET}@db/usage");
    assert_says(
        &refused(&["--stream", "UA-1-1", "--database", &secret_url], &[]),
        "--database: unsupported database URL",
    );
    let line = refused(&[], &[("MONGOOSE_USAGE_STREAMS", "UA-1-1"), ("MONGOOSE_USAGE_LISTEN", "127.0.0.1")]);
    assert_says(&line, "MONGOOSE_USAGE_LISTEN: \"127.0.0.1\" is not an address");
    let line = refused(&[], &[("MONGOOSE_USAGE_STREAMS", "G-2"), ("MONGOOSE_USAGE_READ_TOKEN", "a b")]);
    assert_says(&line, "MONGOOSE_USAGE_STREAMS: stream G-2 needs its API secret");
}

#[test]
fn bad_files_and_databases_exit_2_naming_the_problem() {
    let dir = TempDir::new("startup");
    let missing = dir.0.join("missing.toml");
    let line = refused(&["--config", missing.to_str().expect("a path")], &[]);
    assert_says(&line, &format!("config file {}: cannot read it (no such file)", missing.display()));

    let broken = dir.0.join("broken.toml");
    std::fs::write(&broken, format!("listen = \"127.0.0.1:0\"\nread_token = \"{SECRET}\n")).expect("written");
    assert_says(&refused(&["--config", broken.to_str().expect("a path")], &[]), "not valid TOML at line 2");

    let unknown = dir.0.join("unknown.toml");
    std::fs::write(&unknown, format!("colour = \"red\"\n[streams]\n\"G-1\" = \"{SECRET}\"\n"))
        .expect("written");
    let line = refused(&[], &[("MONGOOSE_USAGE_CONFIG", unknown.to_str().expect("a path"))]);
    assert_says(&line, "unknown key colour");

    let no_dir = dir.0.join("no-such-dir").join("usage.sqlite3");
    let url = format!("sqlite:{}", no_dir.display());
    let line = refused(&["--stream", "UA-1-1", "--database", &url], &[]);
    assert_says(&line, &format!("--database: cannot open SQLite file {}: ", no_dir.display()));

    let closed_port =
        TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("its address").port();
    let url = format!("postgres://user:{SECRET}@127.0.0.1:{closed_port}/usage");
    let line = refused(&["--stream", "UA-1-1", "--database", &url], &[]);
    assert_says(&line, &format!("--database: cannot open postgres://127.0.0.1:{closed_port}/usage: "));

    let taken = TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = taken.local_addr().expect("its address").to_string();
    let database = format!("sqlite:{}", dir.0.join("ok.sqlite3").display());
    let line = refused(&["--stream", "UA-1-1", "--database", &database, "--listen", &address], &[]);
    assert_says(&line, &format!("--listen: cannot listen on {address}: "));
}

#[test]
fn a_configuration_file_and_the_environment_are_enough() {
    let dir = TempDir::new("config_file");
    let file = dir.0.join("usage.toml");
    let database = dir.0.join("usage.sqlite3");
    let text = format!(
        "listen = \"127.0.0.1:9\"\ndatabase = \"sqlite:{}\"\nretention_days = 30\n[streams]\n\"G-FILE\" = \"{SECRET}\"\n",
        database.display()
    );
    std::fs::write(&file, text).expect("written");
    let env =
        [("MONGOOSE_USAGE_CONFIG", file.to_str().expect("a path")), ("MONGOOSE_USAGE_LISTEN", "127.0.0.1:0")];
    let server = Server::spawn(&[], &env).unwrap_or_else(|exit| panic!("did not start: {exit:?}"));
    let body = r#"{"client_id":"from-file","events":[{"name":"host_count","params":{"value":1}}]}"#;
    let path = format!("/mp/collect?measurement_id=G-FILE&api_secret={SECRET}");
    assert_eq!(server.post(&path, "application/json", body.as_bytes()).status, 204);
    assert_eq!(server.get("/api/deployments/from-file").status, 200);
    let start = server.settled_events().into_iter().find(|l| l["event"] == "start").expect("a start line");
    assert_eq!(start["retention_days"], 30);
    assert_eq!(start["streams"], serde_json::json!(["G-FILE"]));
    assert!(!server.settled_logs().join("\n").contains(SECRET));
    assert!(database.exists());
}

#[test]
fn help_prints_the_usage() {
    let output = std::process::Command::new(crate::support::BIN).arg("--help").output().expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with("usage: mongoose_usage_server [--listen ADDR]")
    );
}

#[test]
fn a_postgres_database_that_exists_opens() {
    let Some(database) = postgres::fresh_database("startup::a_postgres_database_that_exists_opens") else {
        return;
    };
    let args: Vec<String> = ["--listen", "127.0.0.1:0", "--stream", "UA-1-1", "--database", &database.url]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
    let server = Server::spawn(&args, &[]).unwrap_or_else(|exit| panic!("did not start: {exit:?}"));
    let start = server.settled_events().into_iter().find(|l| l["event"] == "start").expect("a start line");
    assert!(start["database"].as_str().is_some_and(|d| d.starts_with("postgres://127.0.0.1:")), "{start}");
}
