//! The deployments that reported in a range, and one deployment's report history.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{integer, latest_ga4_reports, Range};
use crate::dates;
use crate::store::{Arg, Cell, Store, StoreError};
use crate::table::{Field, Table};

const SUMMARY: &str = "SELECT client_id, MIN(received_ms), MAX(received_ms), COUNT(*) FROM reports \
     WHERE received_ms >= $1 AND received_ms < $2 GROUP BY client_id";

/// Each client's newest report of any protocol: its stream.
const NEWEST_STREAM: &str = "SELECT r.client_id, r.stream FROM reports r \
     WHERE r.received_ms >= $1 AND r.received_ms < $2 \
     AND NOT EXISTS (SELECT 1 FROM reports n WHERE n.client_id = r.client_id \
         AND n.received_ms >= $3 AND n.received_ms < $4 \
         AND (n.received_ms > r.received_ms OR (n.received_ms = r.received_ms AND n.id > r.id)))";

const CLUSTER_FACTS: &str = concat!(
    "SELECT l.client_id, p.name, p.value FROM (",
    latest_ga4_reports!(),
    ") l JOIN params p ON p.report_id = l.id \
     WHERE p.event_name = 'cluster' AND (p.name = 'version' OR p.name = 'node_number')"
);

const KNOWN: &str = "SELECT COUNT(*) FROM reports WHERE client_id = $1";

const HISTORY: &str = "SELECT id, received_ms, stream, protocol FROM reports \
     WHERE client_id = $1 AND received_ms >= $2 AND received_ms < $3 \
     ORDER BY received_ms DESC, id DESC LIMIT $4";

const HISTORY_EVENTS: &str = "SELECT e.report_id, e.name, e.params FROM events e \
     JOIN (SELECT id FROM reports WHERE client_id = $1 AND received_ms >= $2 AND received_ms < $3 \
         ORDER BY received_ms DESC, id DESC LIMIT $4) r ON r.id = e.report_id \
     ORDER BY e.report_id, e.position";

/// The columns of `/api/deployments`.
pub const COLUMNS: &[&str] =
    &["client_id", "stream", "first_report", "last_report", "reports", "version", "node_count"];

/// The deployments that reported in the range, the most recent first.
///
/// # Errors
/// When the database fails.
pub async fn list(store: &Store, range: Range) -> Result<Table, StoreError> {
    let summaries = store.rows(SUMMARY, range.args()).await?;
    let streams: BTreeMap<String, String> =
        store.rows(NEWEST_STREAM, range.latest_args()).await?.into_iter().filter_map(pair).collect();
    let mut versions = BTreeMap::new();
    let mut nodes = BTreeMap::new();
    for row in store.rows(CLUSTER_FACTS, range.latest_args()).await? {
        let mut cells = row.into_iter();
        let (Some(client), Some(name), Some(value)) = (cells.next(), cells.next(), cells.next()) else {
            continue;
        };
        match name.text() {
            Some("version") => versions.insert(client.into_text(), value.into_text()),
            _ => nodes.insert(client.into_text(), value.into_text()),
        };
    }
    let mut rows: Vec<(i64, String, Vec<Field>)> = summaries
        .into_iter()
        .filter_map(|row| {
            let (first, last, count) = (row.get(1)?.int()?, row.get(2)?.int()?, row.get(3)?.int()?);
            let client = row.into_iter().next()?.into_text();
            let fields = vec![
                client.as_str().into(),
                streams.get(&client).cloned().into(),
                dates::format_rfc3339(first).into(),
                dates::format_rfc3339(last).into(),
                count.into(),
                versions.get(&client).cloned().into(),
                nodes.get(&client).and_then(|n| integer(n)).into(),
            ];
            Some((last, client, fields))
        })
        .collect();
    rows.sort_by(|(a_last, a_client, _), (b_last, b_client, _)| {
        b_last.cmp(a_last).then_with(|| a_client.cmp(b_client))
    });
    Ok(Table { columns: COLUMNS, rows: rows.into_iter().map(|(_, _, fields)| fields).collect() })
}

/// One report of a deployment's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// When it arrived, in milliseconds since the epoch.
    pub received_ms: i64,
    /// The stream it was sent to.
    pub stream: String,
    /// `ga4` or `ua`.
    pub protocol: String,
    /// Its events: name and parameters.
    pub events: Vec<(String, Value)>,
}

/// A deployment's newest reports in the range, at most `limit`, newest first; `None` when
/// the client id never reported.
///
/// # Errors
/// When the database fails.
pub async fn history(
    store: &Store,
    client_id: &str,
    range: Range,
    limit: i64,
) -> Result<Option<Vec<Report>>, StoreError> {
    let known = store.rows(KNOWN, vec![Arg::Text(client_id.to_owned())]).await?;
    if known.first().and_then(|row| row.first()).and_then(Cell::int).unwrap_or(0) == 0 {
        return Ok(None);
    }
    let args = vec![
        Arg::Text(client_id.to_owned()),
        Arg::Int(range.start_ms()),
        Arg::Int(range.end_ms()),
        Arg::Int(limit),
    ];
    let mut events: BTreeMap<i64, Vec<(String, Value)>> = BTreeMap::new();
    for row in store.rows(HISTORY_EVENTS, args.clone()).await? {
        let mut cells = row.into_iter();
        let (Some(Cell::Int(report)), Some(name), Some(params)) = (cells.next(), cells.next(), cells.next())
        else {
            continue;
        };
        let params = serde_json::from_str(params.text().unwrap_or("{}")).unwrap_or_else(|_| json!({}));
        events.entry(report).or_default().push((name.into_text(), params));
    }
    let reports = store
        .rows(HISTORY, args)
        .await?
        .into_iter()
        .filter_map(|row| {
            let mut cells = row.into_iter();
            let (id, received_ms) = (cells.next()?.int()?, cells.next()?.int()?);
            let (stream, protocol) = (cells.next()?.into_text(), cells.next()?.into_text());
            Some(Report { received_ms, stream, protocol, events: events.remove(&id).unwrap_or_default() })
        })
        .collect();
    Ok(Some(reports))
}

/// `{"client_id", "reports": [{"received_at", "stream", "protocol", "events": [{"name", "params"}]}]}`.
pub fn history_json(client_id: &str, reports: &[Report]) -> Value {
    let reports: Vec<Value> = reports
        .iter()
        .map(|report| {
            let events: Vec<Value> =
                report.events.iter().map(|(name, params)| json!({"name": name, "params": params})).collect();
            json!({
                "received_at": dates::format_rfc3339(report.received_ms),
                "stream": report.stream,
                "protocol": report.protocol,
                "events": events,
            })
        })
        .collect();
    json!({"client_id": client_id, "reports": reports})
}

/// The history as a table: one row an event, its parameters as a JSON object.
pub fn history_table(reports: &[Report]) -> Table {
    let mut table = Table::new(&["received_at", "stream", "protocol", "event", "params"]);
    for report in reports {
        for (name, params) in &report.events {
            table.rows.push(vec![
                dates::format_rfc3339(report.received_ms).into(),
                report.stream.as_str().into(),
                report.protocol.as_str().into(),
                name.as_str().into(),
                params.to_string().into(),
            ]);
        }
    }
    table
}

fn pair(row: Vec<Cell>) -> Option<(String, String)> {
    let mut cells = row.into_iter();
    Some((cells.next()?.into_text(), cells.next()?.into_text()))
}
