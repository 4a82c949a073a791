//! What becomes of a cycle's files, and how the report says so.

use super::*;

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
