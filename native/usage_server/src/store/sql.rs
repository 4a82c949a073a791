//! The SQL of writes and retention, run as written on both databases.

/// Whether the database answers.
pub const PING: &str = "SELECT 1";

/// A client's newest report on a stream by a protocol: id, received_ms, event_count.
pub const LATEST_REPORT: &str = "SELECT id, received_ms, event_count FROM reports \
     WHERE client_id = $1 AND stream = $2 AND protocol = $3 \
     ORDER BY received_ms DESC, id DESC LIMIT 1";

/// Counts a request's events into the report it continues; no row changes when another
/// request got there first, and the request then starts a report of its own.
pub const EXTEND_REPORT: &str = "UPDATE reports SET event_count = $1 WHERE id = $2 AND event_count = $3";

/// A new report; gives its id.
pub const INSERT_REPORT: &str =
    "INSERT INTO reports (received_ms, day, stream, client_id, protocol, event_count) \
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";

/// An event of a report; gives its id.
pub const INSERT_EVENT: &str =
    "INSERT INTO events (report_id, position, name, params) VALUES ($1, $2, $3, $4) RETURNING id";

/// A parameter of an event.
pub const INSERT_PARAM: &str =
    "INSERT INTO params (event_id, report_id, event_name, name, value) VALUES ($1, $2, $3, $4, $5)";

/// Retention, in this order and in one transaction: parameters, events, then reports
/// received before `$1`.
pub const DELETE_BEFORE: [&str; 3] = [
    "DELETE FROM params WHERE report_id IN (SELECT id FROM reports WHERE received_ms < $1)",
    "DELETE FROM events WHERE report_id IN (SELECT id FROM reports WHERE received_ms < $1)",
    "DELETE FROM reports WHERE received_ms < $1",
];
