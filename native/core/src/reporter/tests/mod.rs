use super::*;
use crate::atomic_file::tests::temp_dir;
use crate::client_id::HandOver;
use crate::config::from_start_argument;
use crate::facts::Deployment;
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
    Facts {
        deployment: Deployment {
            uptime_ms: Some(1000),
            node_count: Some(1),
            host_type_count: Some(2),
            ..Deployment::default()
        },
        ..Facts::default()
    }
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
fn stop_cancels_a_cycle_and_every_send_in_flight() {
    let collector = Collector::start().unwrap();
    collector.set_mode(Mode::Delay(500));
    let dir = temp_dir("stop");
    let (reporter, _) = Reporter::start_fresh(config(&collector.url(), &dir));
    // 30 host types: two requests, the second due only after the first's slow answer.
    let facts = Facts {
        deployment: Deployment {
            host_type_count: Some(1),
            modules: Some(vec![module_host(); 30]),
            ..Deployment::default()
        },
        ..Facts::default()
    };
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

mod client;
mod files;
mod identity;
