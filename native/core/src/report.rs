//! The report: the events exactly as sent, with the metadata an operator needs to trust
//! it (schema version, time, client id, each destination's outcome). It is the content of
//! `system_metrics_report.json` and, as an Erlang map, the answer of `last_report/0`.
//! It never holds a secret, a host name or a path (a file's error says why, not where).

use std::time::SystemTime;

use serde::Serialize;

use crate::encoded::EncodedEvents;
use crate::limits::Adjustment;
use crate::mode::Mode;

/// Version of the report's layout; bumped whenever a field is added or changed.
/// 2: `adjustments`, and `attempts` per destination. 3: `mode`, and `sha256` of each
/// request body per destination. 4: `files`, whether the report file and the send log
/// were written.
pub const SCHEMA_VERSION: u32 = 4;

/// One report, as built by a cycle or a preview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When the report was built, RFC 3339 in UTC.
    pub generated_at: String,
    /// The anonymous client id the events were sent with.
    pub client_id: String,
    /// `on` (sent) or `local` (built and kept here only).
    pub mode: Mode,
    /// The events, in the order sent.
    pub events: EncodedEvents,
    /// What was changed or left out to fit Google's limits.
    pub adjustments: Vec<Adjustment>,
    /// What happened at each destination.
    pub destinations: Vec<Outcome>,
    /// A preview's request bodies, exactly as they would be sent; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<Vec<PlannedRequest>>,
    /// Whether a cycle wrote the report file and its send-log lines; absent from a
    /// preview, which writes nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Files>,
}

/// A report as `last_report/0` and `preview/0` give it: the summary (the report without
/// its events and planned requests, which it counts) and those as one compact JSON array
/// each. A large deployment's report so costs its reader one binary, not a term per
/// event, and costs no more memory than its text while it waits to be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    /// [`Report::summary_json`].
    pub summary: serde_json::Value,
    /// The events, a JSON array.
    pub events_json: Vec<u8>,
    /// A preview's planned requests, a JSON array.
    pub requests_json: Option<Vec<u8>>,
}

/// What became of a cycle's local files.
///
/// The report file itself always says `written` for itself: whoever reads it reads what
/// was written. `last_report/0` and the cycle's summary say `failed` when it was not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Files {
    /// The report file.
    pub report_file: FileOutcome,
    /// The report's lines in the send log.
    pub send_log: FileOutcome,
}

/// The outcome of writing one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileOutcome {
    /// The result.
    pub result: FileResult,
    /// Why it failed: the reason only, never the path (the log's warning names it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The result of writing one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileResult {
    /// Written.
    Written,
    /// Nothing was due: no destination was sent to, so the send log has no line for it.
    NothingSent,
    /// Not written; see `error`.
    Failed,
}

impl FileOutcome {
    /// Written.
    pub fn written() -> FileOutcome {
        FileOutcome { result: FileResult::Written, error: None }
    }

    /// Nothing was due.
    pub fn nothing_sent() -> FileOutcome {
        FileOutcome { result: FileResult::NothingSent, error: None }
    }

    /// Not written, because of `why`.
    pub fn failed(why: impl ToString) -> FileOutcome {
        FileOutcome { result: FileResult::Failed, error: Some(why.to_string()) }
    }
}

/// One request a preview would send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedRequest {
    /// The destination's public id.
    pub destination: String,
    /// The body, byte for byte (it holds no secret: the API secret goes in the URL).
    pub body: String,
    /// The SHA-256 of the body, hex.
    pub sha256: String,
}

/// What happened to a report at one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The public id (measurement or tracking id), never the secret.
    pub id: String,
    /// `ga4` or `universal_analytics`.
    pub protocol: &'static str,
    /// The result.
    pub result: Delivery,
    /// Requests the report needs at this destination.
    pub requests: usize,
    /// Requests answered with a 2xx status.
    pub delivered: usize,
    /// HTTP requests made, retries included.
    pub attempts: usize,
    /// The SHA-256 of each request body, hex, in order: what the send log proves.
    pub sha256: Vec<String>,
    /// The last HTTP status received, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why delivery failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The result at one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Every request was answered with a 2xx status.
    Delivered,
    /// A request failed; the ones after it were not sent.
    Failed,
    /// Nothing was sent, on purpose (see `error`).
    Skipped,
    /// A preview: nothing was sent.
    NotSent,
}

impl Report {
    /// A report built now.
    pub fn new(
        mode: Mode,
        client_id: &str,
        events: impl Into<EncodedEvents>,
        adjustments: Vec<Adjustment>,
        destinations: Vec<Outcome>,
    ) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            generated_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            client_id: client_id.to_owned(),
            mode,
            events: events.into(),
            adjustments,
            destinations,
            requests: None,
            files: None,
        }
    }

    /// The report as a JSON value (objects with sorted keys).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a report always encodes")
    }

    /// The report without its events and planned requests, which it counts instead; the
    /// events are never encoded for it.
    pub fn summary_json(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct Summary<'a> {
            schema_version: u32,
            generated_at: &'a str,
            client_id: &'a str,
            mode: Mode,
            event_count: usize,
            adjustments: &'a [Adjustment],
            destinations: &'a [Outcome],
            #[serde(skip_serializing_if = "Option::is_none")]
            files: Option<&'a Files>,
        }
        serde_json::to_value(Summary {
            schema_version: self.schema_version,
            generated_at: &self.generated_at,
            client_id: &self.client_id,
            mode: self.mode,
            event_count: self.events.len(),
            adjustments: &self.adjustments,
            destinations: &self.destinations,
            files: self.files.as_ref(),
        })
        .expect("a summary always encodes")
    }

    /// The report as kept for whoever asks for it later: [`Kept`].
    pub fn kept(&self) -> Kept {
        Kept {
            summary: self.summary_json(),
            events_json: self.events.array_text(),
            requests_json: self
                .requests
                .as_ref()
                .map(|r| serde_json::to_vec(r).expect("planned requests always encode")),
        }
    }

    /// The bytes of the report file: pretty JSON and a final newline.
    pub fn file_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a report always encodes");
        bytes.push(b'\n');
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Event;
    use crate::events::Param;

    fn sample() -> Report {
        let event = Event {
            name: "host_count".into(),
            params: [("value".into(), Param::Int(2))].into_iter().collect(),
        };
        let outcome = Outcome {
            id: "G-1".into(),
            protocol: "ga4",
            result: Delivery::Failed,
            requests: 1,
            delivered: 0,
            attempts: 1,
            sha256: vec![],
            status: Some(500),
            error: Some("HTTP status 500".into()),
        };
        Report::new(Mode::On, "cid", vec![event], vec![], vec![outcome])
    }

    #[test]
    fn the_summary_is_the_report_with_its_events_counted() {
        let mut report = sample();
        report.requests = Some(vec![]);
        report.files =
            Some(Files { report_file: FileOutcome::written(), send_log: FileOutcome::failed("disk full") });
        let mut expected = report.to_json();
        let fields = expected.as_object_mut().unwrap();
        fields.remove("events");
        fields.remove("requests");
        fields.insert("event_count".to_owned(), 1.into());
        assert_eq!(report.summary_json(), expected);
    }

    #[test]
    fn kept_is_the_summary_and_the_events_as_one_json_array() {
        let report = sample();
        let kept = report.kept();
        assert_eq!(kept.summary, report.summary_json());
        let events: serde_json::Value = serde_json::from_slice(&kept.events_json).unwrap();
        assert_eq!(events, report.to_json()["events"]);
        assert_eq!(kept.requests_json, None);
    }

    #[test]
    fn json_mirrors_the_fields() {
        let json = sample().to_json();
        assert_eq!(json["schema_version"], 4);
        assert_eq!(json["mode"], "on");
        assert_eq!(json["adjustments"], serde_json::json!([]));
        assert_eq!(json["client_id"], "cid");
        assert_eq!(json["events"][0], serde_json::json!({"name": "host_count", "params": {"value": 2}}));
        assert_eq!(json["destinations"][0]["result"], "failed");
        assert_eq!(json["destinations"][0]["status"], 500);
        let time = json["generated_at"].as_str().unwrap();
        assert!(humantime::parse_rfc3339(time).is_ok(), "{time}");
    }

    #[test]
    fn file_bytes_parse_back_to_the_same_json() {
        let report = sample();
        let bytes = report.file_bytes();
        assert!(bytes.ends_with(b"}\n"));
        let parsed: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed, report.to_json());
    }

    #[test]
    fn absent_status_and_error_are_left_out() {
        let mut report = sample();
        report.destinations[0].status = None;
        report.destinations[0].error = None;
        let json = report.to_json();
        let keys: Vec<_> = json["destinations"][0].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["attempts", "delivered", "id", "protocol", "requests", "result", "sha256"]);
    }

    #[test]
    fn files_say_what_was_written_and_why_not() {
        let mut report = sample();
        assert!(report.to_json().get("files").is_none(), "absent until a cycle writes");
        assert!(report.summary_json().get("files").is_none());
        report.files = Some(Files {
            report_file: FileOutcome::failed("it is a symbolic link, which is never followed"),
            send_log: FileOutcome::nothing_sent(),
        });
        let expected = serde_json::json!({
            "report_file": {"result": "failed", "error": "it is a symbolic link, which is never followed"},
            "send_log": {"result": "nothing_sent"}
        });
        assert_eq!(report.to_json()["files"], expected);
        assert_eq!(report.summary_json()["files"], expected);
        report.files = Some(Files { report_file: FileOutcome::written(), send_log: FileOutcome::written() });
        assert_eq!(
            report.to_json()["files"],
            serde_json::json!({"report_file": {"result": "written"}, "send_log": {"result": "written"}})
        );
    }
}
