use super::*;
use crate::atomic_file::tests::temp_dir;
use crate::client_id::HandOver;
use crate::config::from_start_argument;
use crate::report::Delivery;
use crate::value::Value;
use ga4_collector::{Collector, Mode};
use std::sync::mpsc;
use std::time::Duration;

fn config(url: &str, dir: &std::path::Path) -> ServiceConfig {
    let tracking = Value::Map(vec![
        (Value::atom("id"), Value::binary("G-TEST")),
        (Value::atom("secret"), Value::binary("sekrit")),
    ]);
    let options = Value::Map(vec![
        (Value::atom("google_analytics_url"), Value::binary(url)),
        (Value::atom("tracking_id"), tracking),
    ]);
    let argument = Value::Map(vec![
        (Value::atom("options"), options),
        (Value::atom("report_dir"), Value::binary(dir.to_str().unwrap())),
    ]);
    from_start_argument(&argument, dir).unwrap()
}

impl Reporter {
    fn start_fresh(config: ServiceConfig) -> (Reporter, Vec<String>) {
        Reporter::start(config, Baseline::default())
    }
}

fn module_host() -> crate::facts::HostTypeModules {
    crate::facts::HostTypeModules {
        host_type: Value::atom("ht").into(),
        modules: vec![crate::facts::Module { name: "mod_vcard".to_owned(), options: Default::default() }],
    }
}

fn facts() -> Facts {
    Facts { uptime_ms: Some(1000), node_count: Some(1), host_type_count: Some(2), ..Facts::default() }
}

fn cycle(reporter: &Reporter) -> Result<Done, CoreError> {
    let (tx, rx) = mpsc::channel();
    reporter.spawn_cycle(facts(), None, move |c| tx.send(c).unwrap()).unwrap();
    rx.recv_timeout(Duration::from_secs(20)).expect("a cycle reports back")
}

#[test]
fn a_cycle_sends_writes_the_file_and_reports_back() {
    let collector = Collector::start().unwrap();
    let dir = temp_dir("cycle");
    let (reporter, warnings) = Reporter::start_fresh(config(&collector.url(), &dir));
    assert!(warnings.is_empty());
    let Ok(Done { report, file_error, .. }) = cycle(&reporter) else { panic!("cycle failed") };
    assert_eq!(file_error, None);
    assert_eq!(report.destinations[0].result, Delivery::Delivered);
    assert_eq!(report.client_id, reporter.client_id());
    let file = std::fs::read(dir.join("system_metrics_report.json")).unwrap();
    let written: serde_json::Value = serde_json::from_slice(&file).unwrap();
    assert_eq!(written, report.to_json());
    let sent = &collector.requests()[0];
    assert_eq!(sent.json.as_ref().unwrap()["events"], written["events"], "the file holds the events as sent");
    assert!(!String::from_utf8_lossy(&file).contains("sekrit"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_client_id_survives_a_restart() {
    let dir = temp_dir("restart");
    let first = Reporter::start_fresh(config("http://127.0.0.1:9", &dir)).0.client_id();
    let second = Reporter::start_fresh(config("http://127.0.0.1:9", &dir)).0.client_id();
    assert_eq!(first, second);
    std::fs::remove_dir_all(dir).unwrap();
}

const HOST_ID: &str = "ephemeral-802c323a-525d-497d-bb33-d00cbc2bef8e";

fn hosted(url: &str, dir: &std::path::Path) -> ServiceConfig {
    ServiceConfig { host_client_id: Some(HOST_ID.to_owned()), ..config(url, dir) }
}

fn uuid_v4(created_ms: u64) -> Identity {
    Identity::checked(&uuid::Uuid::new_v4().to_string(), created_ms).unwrap()
}

fn totals(node: &str, n: u64) -> StanzaBaseline {
    [(node.to_owned(), [("xmppMessageSent".to_owned(), n)].into_iter().collect())].into_iter().collect()
}

#[test]
fn the_hosts_cluster_id_is_the_identity_and_what_is_sent() {
    let collector = Collector::start().unwrap();
    let dir = temp_dir("host-id");
    let (reporter, warnings) = Reporter::start_fresh(hosted(&collector.url(), &dir));
    assert!(warnings.is_empty());
    assert_eq!(reporter.client_id(), HOST_ID);
    assert_eq!(reporter.identity(), Identity { created_ms: 0, id: HOST_ID.to_owned() });
    let Ok(Done { report, file_error, .. }) = cycle(&reporter) else { panic!("cycle failed") };
    assert_eq!(file_error, None);
    assert_eq!(report.client_id, HOST_ID);
    assert_eq!(collector.requests()[0].json.as_ref().unwrap()["client_id"], HOST_ID);
    assert_eq!(reporter.preview(facts(), None).client_id, HOST_ID);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn with_the_hosts_id_no_client_id_file_is_read_or_made() {
    let dir = temp_dir("host-id-file");
    let (reporter, _) = Reporter::start_fresh(hosted("http://127.0.0.1:9", &dir));
    let file = client_id::path_beside(&reporter.config().report_file);
    assert!(!file.exists(), "no file at start");
    reporter.follow(HandOver { identity: Some(uuid_v4(1)), stanza_totals: None }).unwrap();
    assert!(!file.exists(), "nor after following");
    drop(reporter);
    // A file left by an earlier install without the host's id is neither read nor touched.
    let own = uuid_v4(5);
    client_id::save(&file, &own).unwrap();
    let before = std::fs::read(&file).unwrap();
    let (reporter, _) = Reporter::start_fresh(hosted("http://127.0.0.1:9", &dir));
    assert_eq!(reporter.client_id(), HOST_ID);
    reporter.follow(HandOver { identity: Some(uuid_v4(1)), stanza_totals: None }).unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), before);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn follow_keeps_the_hosts_id_and_takes_the_totals() {
    let dir = temp_dir("host-id-follow");
    let (reporter, _) = Reporter::start_fresh(hosted("http://127.0.0.1:9", &dir));
    reporter.follow(HandOver { identity: Some(uuid_v4(1)), stanza_totals: Some(totals("a@h", 7)) }).unwrap();
    assert_eq!(reporter.client_id(), HOST_ID);
    assert_eq!(lock(&reporter.baseline).clone(), totals("a@h", 7));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn without_the_hosts_id_follow_adopts_and_keeps_the_clusters() {
    let dir = temp_dir("own-id-follow");
    let (reporter, _) = Reporter::start_fresh(config("http://127.0.0.1:9", &dir));
    let file = client_id::path_beside(&reporter.config().report_file);
    let own = client_id::load_or_create(&file).identity;
    assert_eq!(reporter.identity(), own, "its own id, kept in the file");
    let cluster = uuid_v4(1);
    reporter
        .follow(HandOver { identity: Some(cluster.clone()), stanza_totals: Some(totals("b@h", 3)) })
        .unwrap();
    assert_eq!(reporter.identity(), cluster);
    assert_eq!(lock(&reporter.baseline).clone(), totals("b@h", 3));
    drop(reporter);
    let (restarted, _) = Reporter::start_fresh(config("http://127.0.0.1:9", &dir));
    assert_eq!(restarted.identity(), cluster, "the adopted id survives a restart");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unwritable_report_file_is_reported_and_delivery_still_happens() {
    let collector = Collector::start().unwrap();
    let dir = temp_dir("unwritable");
    let mut config = config(&collector.url(), &dir);
    std::fs::write(dir.join("blocker"), "").unwrap();
    config.report_file = dir.join("blocker").join("report.json");
    let (reporter, warnings) = Reporter::start_fresh(config);
    assert_eq!(warnings.len(), 1, "the client id cannot be saved either");
    let Ok(Done { report, file_error, .. }) = cycle(&reporter) else { panic!("cycle failed") };
    assert!(file_error.unwrap().contains("cannot write report file"));
    assert_eq!(report.destinations[0].result, Delivery::Delivered);
    let not_a_directory = serde_json::json!({"result": "failed", "error": "Not a directory (os error 20)"});
    let files = serde_json::json!({"report_file": not_a_directory, "send_log": not_a_directory});
    assert_eq!(report.to_json()["files"], files);
    assert_eq!(report.summary_json()["files"], files);
    std::fs::remove_dir_all(dir).unwrap();
}

fn files(report: &Report) -> serde_json::Value {
    report.to_json()["files"].clone()
}

#[test]
fn the_report_says_that_its_file_and_send_log_lines_were_written() {
    let collector = Collector::start().unwrap();
    let dir = temp_dir("files-written");
    let (reporter, _) = Reporter::start_fresh(config(&collector.url(), &dir));
    let Ok(Done { report, file_error, .. }) = cycle(&reporter) else { panic!("cycle failed") };
    assert_eq!(file_error, None);
    let written =
        serde_json::json!({"report_file": {"result": "written"}, "send_log": {"result": "written"}});
    assert_eq!(files(&report), written);
    assert_eq!(report.summary_json()["files"], written);
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("system_metrics_report.json")).unwrap()).unwrap();
    assert_eq!(file["files"], written, "the file holds the same");
    // Sent nowhere, so no send-log line was due.
    let local = ServiceConfig { mode: crate::mode::Mode::Local, ..config(&collector.url(), &dir) };
    let (reporter, _) = Reporter::start_fresh(local);
    let Ok(Done { report, file_error, .. }) = cycle(&reporter) else { panic!("cycle failed") };
    assert_eq!(file_error, None);
    assert_eq!(
        files(&report),
        serde_json::json!({"report_file": {"result": "written"}, "send_log": {"result": "nothing_sent"}})
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn files_that_cannot_be_written_are_in_the_report_not_only_delivery() {
    let collector = Collector::start().unwrap();
    let dir = temp_dir("files-failed");
    let logs = dir.join("logs");
    let argument = |report_dir: &std::path::Path| {
        let options = Value::Map(vec![
            (Value::atom("google_analytics_url"), Value::binary(&collector.url())),
            (
                Value::atom("tracking_id"),
                Value::Map(vec![
                    (Value::atom("id"), Value::binary("G-TEST")),
                    (Value::atom("secret"), Value::binary("sekrit")),
                ]),
            ),
        ]);
        Value::Map(vec![
            (Value::atom("options"), options),
            (Value::atom("report_dir"), Value::binary(report_dir.to_str().unwrap())),
        ])
    };
    let (reporter, warnings) = Reporter::start_fresh(from_start_argument(&argument(&logs), &dir).unwrap());
    assert!(warnings.is_empty(), "{warnings:?}");
    // The directory is taken away after the start and a file put in its place: the
    // filesystem itself refuses both writes.
    std::fs::remove_dir_all(&logs).unwrap();
    std::fs::write(&logs, "").unwrap();
    let Ok(Done { report, file_error, .. }) = cycle(&reporter) else { panic!("cycle failed") };
    assert_eq!(report.destinations[0].result, Delivery::Delivered);
    let not_a_directory = serde_json::json!({"result": "failed", "error": "Not a directory (os error 20)"});
    assert_eq!(
        files(&report),
        serde_json::json!({"report_file": not_a_directory, "send_log": not_a_directory})
    );
    let file_error = file_error.unwrap();
    for path in ["logs/system_metrics_send_log.jsonl", "logs/system_metrics_report.json"] {
        assert!(file_error.contains(&dir.join(path).display().to_string()), "{file_error}");
    }
    // A directory in the report file's place, a link in the send log's.
    std::fs::remove_file(&logs).unwrap();
    std::fs::create_dir_all(logs.join("system_metrics_report.json")).unwrap();
    std::fs::write(dir.join("victim"), "precious").unwrap();
    std::os::unix::fs::symlink(dir.join("victim"), logs.join("system_metrics_send_log.jsonl")).unwrap();
    let Ok(Done { report, file_error, .. }) = cycle(&reporter) else { panic!("cycle failed") };
    assert_eq!(
        files(&report),
        serde_json::json!({
            "report_file": {"result": "failed", "error": "it is a directory, not a regular file"},
            "send_log": {"result": "failed", "error": "it is a symbolic link, which is never followed"}
        })
    );
    assert_eq!(
        file_error.unwrap(),
        format!(
            "cannot append to send log {}: it is a symbolic link, which is never followed; cannot write report \
             file {}: it is a directory, not a regular file",
            logs.join("system_metrics_send_log.jsonl").display(),
            logs.join("system_metrics_report.json").display()
        )
    );
    assert_eq!(std::fs::read_to_string(dir.join("victim")).unwrap(), "precious");
    // The report file alone failing: its send-log line is written, and the report says so.
    std::fs::remove_file(logs.join("system_metrics_send_log.jsonl")).unwrap();
    let Ok(Done { report, .. }) = cycle(&reporter) else { panic!("cycle failed") };
    assert_eq!(files(&report)["send_log"], serde_json::json!({"result": "written"}));
    assert_eq!(files(&report)["report_file"]["result"], "failed");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn stop_cancels_a_cycle_and_every_send_in_flight() {
    let collector = Collector::start().unwrap();
    collector.set_mode(Mode::Delay(500));
    let dir = temp_dir("stop");
    let (reporter, _) = Reporter::start_fresh(config(&collector.url(), &dir));
    // 30 host types: two requests, the second due only after the first's slow answer.
    let facts =
        Facts { host_type_count: Some(1), modules: Some(vec![module_host(); 30]), ..Facts::default() };
    let (tx, rx) = mpsc::channel();
    reporter.spawn_cycle(facts, None, move |c| tx.send(c).unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    reporter.stop();
    match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
        Err(why) => assert_eq!(why, CoreError::Cancelled),
        other => panic!("expected a cancelled cycle, got {other:?}"),
    }
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(collector.requests().len(), 1, "the second request is never sent");
    assert!(!dir.join("system_metrics_report.json").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

fn two_requests() -> Facts {
    // 30 host types: two requests a cycle.
    Facts { host_type_count: Some(1), modules: Some(vec![module_host(); 30]), ..Facts::default() }
}

fn cycle_with(reporter: &Reporter, facts: Facts) -> Arc<Report> {
    let (tx, rx) = mpsc::channel();
    reporter.spawn_cycle(facts, None, move |c| tx.send(c).unwrap()).unwrap();
    match rx.recv_timeout(Duration::from_secs(20)).expect("a cycle reports back") {
        Ok(Done { report, .. }) => report,
        other => panic!("cycle failed: {other:?}"),
    }
}

#[test]
fn cycles_and_validation_share_one_client_and_its_connections() {
    let collector = Collector::start().unwrap();
    let dir = temp_dir("one-client");
    let (reporter, _) = Reporter::start_fresh(config(&collector.url(), &dir));
    assert!(!reporter.transport.is_built(), "nothing is built at start");
    for _ in 0..2 {
        let report = cycle_with(&reporter, two_requests());
        let d = &report.destinations[0];
        assert_eq!((d.result, d.requests, d.delivered), (Delivery::Delivered, 2, 2));
    }
    assert!(reporter.transport.is_built());
    assert_eq!(collector.requests().len(), 4);
    assert_eq!(collector.connections(), 1, "keep-alive across requests and cycles, not one per request");
    let (tx, rx) = mpsc::channel();
    reporter.spawn_validation(two_requests(), None, move |v| tx.send(v).unwrap()).unwrap();
    let validations = rx.recv_timeout(Duration::from_secs(20)).unwrap().unwrap();
    assert_eq!((validations[0].messages.len(), validations[0].error.as_deref()), (0, None));
    assert_eq!(collector.requests().len(), 6);
    assert_eq!(collector.connections(), 1, "validation goes through the same client");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_local_mode_builds_no_client() {
    let collector = Collector::start().unwrap();
    let dir = temp_dir("local-no-client");
    let local = ServiceConfig { mode: crate::mode::Mode::Local, ..config(&collector.url(), &dir) };
    let (reporter, _) = Reporter::start_fresh(local);
    cycle_with(&reporter, two_requests());
    assert!(!reporter.transport.is_built());
    assert_eq!(collector.connections(), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A keep-alive HTTP server on 127.0.0.1 that answers every request 204 and says, for
/// each connection, when it was opened and when the client closed it.
fn watched_server() -> (String, mpsc::Receiver<&'static str>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let tx = tx.clone();
            let _ = tx.send("opened");
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = std::io::BufReader::new(stream);
                while let Ok(Some(_)) = ga4_collector::http::read_request(&mut reader) {
                    if ga4_collector::http::write_response(&mut writer, 204, "text/plain", &[], b"").is_err()
                    {
                        break;
                    }
                }
                let _ = tx.send("closed");
            });
        }
    });
    (url, rx)
}

#[test]
fn the_client_goes_with_its_reporter_and_a_new_start_makes_a_new_one() {
    let (url, events) = watched_server();
    let dir = temp_dir("client-lifetime");
    let (first, _) = Reporter::start_fresh(config(&url, &dir));
    for _ in 0..2 {
        assert_eq!(cycle_with(&first, two_requests()).destinations[0].result, Delivery::Delivered);
    }
    assert_eq!(events.recv_timeout(Duration::from_secs(5)), Ok("opened"));
    assert!(events.recv_timeout(Duration::from_millis(300)).is_err(), "kept alive between cycles");
    drop(first);
    assert_eq!(events.recv_timeout(Duration::from_secs(5)), Ok("closed"), "the pool goes with the reporter");
    let (second, _) = Reporter::start_fresh(config(&url, &dir));
    assert_eq!(cycle_with(&second, two_requests()).destinations[0].result, Delivery::Delivered);
    assert_eq!(events.recv_timeout(Duration::from_secs(5)), Ok("opened"), "a new start, a new client");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_destination_that_never_answers_fails_at_the_deadline() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = temp_dir("overrun");
    let (reporter, _) =
        Reporter::start_fresh(config(&format!("http://{}", silent.local_addr().unwrap()), &dir));
    let policy = Policy {
        connect_timeout: Duration::from_millis(200),
        request_timeout: Duration::from_secs(30),
        deadline: Duration::from_millis(300),
        ..Policy::default()
    };
    let reporter = reporter.with_policy(policy);
    // The deadline bounds delivery itself, so the cycle still completes, with the
    // destination failed for lack of time.
    let Ok(Done { report, .. }) = cycle(&reporter) else { panic!("cycle failed") };
    assert_eq!(report.destinations[0].result, Delivery::Failed);
    assert!(report.destinations[0].error.as_deref().unwrap().contains("deadline"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn stanza_increments_count_from_the_last_finished_cycle_across_restarts() {
    let collector = Collector::start().unwrap();
    let dir = temp_dir("stanzas");
    let baseline = Baseline::default();
    let with_total = |n: i64| {
        let counts = Value::Map(vec![(Value::atom("xmppMessageSent"), Value::Integer(n))]);
        crate::facts::parse(&Value::Map(vec![(Value::atom("stanza_counts"), counts)])).unwrap()
    };
    let increment = |reporter: &Reporter, n: i64, send: bool| -> serde_json::Value {
        let report = if send {
            let (tx, rx) = mpsc::channel();
            reporter.spawn_cycle(with_total(n), None, move |c| tx.send(c).unwrap()).unwrap();
            match rx.recv_timeout(Duration::from_secs(20)).unwrap() {
                Ok(Done { report, .. }) => (*report).clone(),
                other => panic!("{other:?}"),
            }
        } else {
            reporter.preview(with_total(n), None)
        };
        report.to_json()["events"][0]["params"]["increment"].clone()
    };
    let (first, _) = Reporter::start(config(&collector.url(), &dir), Arc::clone(&baseline));
    assert_eq!(increment(&first, 10, true), 10);
    assert_eq!(increment(&first, 15, false), 5, "a preview counts from the last cycle");
    assert_eq!(increment(&first, 16, false), 6, "and does not move the base");
    drop(first);
    let (second, _) = Reporter::start(config(&collector.url(), &dir), baseline);
    assert_eq!(increment(&second, 25, true), 15, "a restarted reporter keeps the base");
    assert_eq!(increment(&second, 4, true), 4, "a reset counter never gives a negative increment");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_panic_in_a_cycle_is_reported_not_lost() {
    let (tx, rx) = mpsc::channel();
    let work = async { panic!("deliberate test panic") };
    cycle::spawn_watched::<()>(runtime::get().unwrap(), work, move |c| tx.send(c).unwrap(), |_| false);
    match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
        Err(why) => assert_eq!(why, CoreError::Panicked("deliberate test panic".to_owned())),
        other => panic!("expected a failed cycle, got {other:?}"),
    }
}

#[test]
fn preview_sends_and_writes_nothing() {
    let collector = Collector::start().unwrap();
    let dir = temp_dir("preview");
    let (reporter, _) = Reporter::start_fresh(config(&collector.url(), &dir));
    let report = reporter.preview(facts(), None);
    assert_eq!(report.destinations[0].result, Delivery::NotSent);
    assert_eq!(report.destinations[0].requests, 1);
    assert!(collector.requests().is_empty());
    assert!(!dir.join("system_metrics_report.json").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_cycle_takes_on_the_elected_identity_keeps_it_and_hands_it_over() {
    let collector = Collector::start().unwrap();
    let dir = temp_dir("elected");
    let (reporter, _) = Reporter::start_fresh(config(&collector.url(), &dir));
    let own = reporter.identity();
    let cluster = uuid_v4(1);
    let (tx, rx) = mpsc::channel();
    reporter.spawn_cycle(facts(), Some(cluster.clone()), move |c| tx.send(c).unwrap()).unwrap();
    let Ok(done) = rx.recv_timeout(Duration::from_secs(20)).unwrap() else { panic!("cycle failed") };
    assert_ne!(own, cluster);
    assert_eq!(done.report.client_id, cluster.id, "sent with the cluster's id");
    assert_eq!(done.hand_over.identity, Some(cluster.clone()));
    assert_eq!(done.hand_over.stanza_totals, Some(StanzaBaseline::new()));
    assert_eq!(done.file_error, None);
    drop(reporter);
    let (restarted, _) = Reporter::start_fresh(config(&collector.url(), &dir));
    assert_eq!(restarted.identity(), cluster, "saved beside the report file");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn under_the_hosts_id_a_cycle_hands_over_no_identity() {
    let collector = Collector::start().unwrap();
    let dir = temp_dir("hosted-hand-over");
    let (reporter, _) = Reporter::start_fresh(hosted(&collector.url(), &dir));
    let (tx, rx) = mpsc::channel();
    reporter.spawn_cycle(facts(), Some(uuid_v4(1)), move |c| tx.send(c).unwrap()).unwrap();
    let Ok(done) = rx.recv_timeout(Duration::from_secs(20)).unwrap() else { panic!("cycle failed") };
    assert_eq!(done.report.client_id, HOST_ID);
    assert_eq!(done.hand_over.identity, None);
    assert!(!client_id::path_beside(&reporter.config().report_file).exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_preview_sends_with_the_elected_identity_but_keeps_its_own() {
    let dir = temp_dir("preview-elected");
    let (reporter, _) = Reporter::start_fresh(config("http://127.0.0.1:9", &dir));
    let own = reporter.identity();
    let cluster = uuid_v4(1);
    assert_eq!(reporter.preview(facts(), Some(&cluster)).client_id, cluster.id);
    assert_eq!(reporter.identity(), own);
    std::fs::remove_dir_all(dir).unwrap();
}
