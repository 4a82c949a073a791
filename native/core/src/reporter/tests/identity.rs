//! The reporter's identity: the host's, its own, or the cluster's taken on.

use super::*;

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
