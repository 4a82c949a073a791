//! The HTTP client: one per reporter, shared by its cycles and validations.

use super::*;

fn two_requests() -> Facts {
    // 30 host types: two requests a cycle.
    Facts {
        deployment: Deployment {
            host_type_count: Some(1),
            modules: Some(vec![module_host(); 30]),
            ..Deployment::default()
        },
        ..Facts::default()
    }
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
