//! Where reports are kept: an SQLite file or a PostgreSQL database behind one interface.
//! Both run the same SQL, written once (here, in [`sql`], and in the read modules) with
//! `$1, $2, ...` placeholders used once each and in order, which both databases bind by
//! position.

mod migrations;
mod postgres;
pub mod sql;
mod sqlite;
#[cfg(test)]
mod tests;

use std::fmt;

use crate::config::DatabaseUrl;
use crate::dates;

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// A `BIGINT`.
    Int(i64),
    /// A `TEXT`.
    Text(String),
}

/// A value read from a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// SQL `NULL`.
    Null,
    /// An integer of any width.
    Int(i64),
    /// Text.
    Text(String),
}

impl Cell {
    /// The integer, when it is one.
    pub fn int(&self) -> Option<i64> {
        match self {
            Cell::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The text, when it is text.
    pub fn text(&self) -> Option<&str> {
        match self {
            Cell::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The text, or `""` when it is not text.
    pub fn into_text(self) -> String {
        match self {
            Cell::Text(text) => text,
            _ => String::new(),
        }
    }
}

/// The protocol a report arrived by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// GA4 Measurement Protocol (`/mp/collect`).
    Ga4,
    /// Universal Analytics (`/collect`, `/batch`).
    Ua,
}

impl Protocol {
    /// As stored in `reports.protocol`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Ga4 => "ga4",
            Protocol::Ua => "ua",
        }
    }
}

/// A report to store: one GA4 request, or a UA request's hits of one client.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    /// When it arrived, in milliseconds since the epoch.
    pub received_ms: i64,
    /// The measurement id or tracking id it was sent to.
    pub stream: String,
    /// The reporting deployment's client id.
    pub client_id: String,
    /// How it arrived.
    pub protocol: Protocol,
    /// Its events, in order.
    pub events: Vec<NewEvent>,
}

/// An event to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The event name.
    pub name: String,
    /// The parameters as the JSON object received.
    pub params_json: String,
    /// Each parameter's name and value (numbers as decimal text), for the charts' queries.
    pub params: Vec<(String, String)>,
}

/// A database failure, described without the connection's secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError(format!("SQLite: {error}"))
    }
}

/// A row: its cells in the order of the query's columns.
pub type Row = Vec<Cell>;

/// The database, open and migrated.
pub enum Store {
    /// An SQLite file.
    Sqlite(sqlite::SqliteStore),
    /// A PostgreSQL database, through a small pool of connections.
    Postgres(postgres::PostgresStore),
}

impl Store {
    /// Opens the database and brings its schema up to date.
    ///
    /// # Errors
    /// When it cannot be opened or migrated.
    pub async fn open(url: &DatabaseUrl) -> Result<Store, StoreError> {
        match url {
            DatabaseUrl::Sqlite(path) => sqlite::SqliteStore::open(path).await.map(Store::Sqlite),
            DatabaseUrl::Postgres(url) => postgres::PostgresStore::open(url).await.map(Store::Postgres),
        }
    }

    /// Stores reports, all or none, in one transaction; returns once it is committed.
    ///
    /// # Errors
    /// When the transaction fails; then nothing is stored.
    pub async fn insert(&self, reports: Vec<NewReport>) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(store) => store.insert(reports).await,
            Store::Postgres(store) => store.insert(reports).await,
        }
    }

    /// Runs a query and returns its rows.
    ///
    /// # Errors
    /// When the query fails.
    pub async fn rows(&self, sql: &'static str, args: Vec<Arg>) -> Result<Vec<Row>, StoreError> {
        match self {
            Store::Sqlite(store) => store.rows(sql, args).await,
            Store::Postgres(store) => store.rows(sql, args).await,
        }
    }

    /// Deletes the reports received before `cutoff_ms`, with their events and parameters;
    /// returns how many reports went.
    ///
    /// # Errors
    /// When the deletion fails; then nothing is deleted.
    pub async fn delete_received_before(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(store) => store.delete_received_before(cutoff_ms).await,
            Store::Postgres(store) => store.delete_received_before(cutoff_ms).await,
        }
    }

    /// Whether the database answers.
    ///
    /// # Errors
    /// When it does not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.rows(sql::PING, Vec::new()).await.map(drop)
    }

    /// The database's size in bytes, when it can be had cheaply.
    pub async fn size_bytes(&self) -> Option<u64> {
        let query = match self {
            Store::Sqlite(_) => sqlite::SIZE_BYTES,
            Store::Postgres(_) => postgres::SIZE_BYTES,
        };
        let rows = self.rows(query, Vec::new()).await.ok()?;
        rows.first()?.first()?.int().and_then(|n| u64::try_from(n).ok())
    }

    /// Closes the database: checkpoints an SQLite file, closes PostgreSQL connections.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(store) => store.close().await,
            Store::Postgres(store) => store.close(),
        }
    }

    /// Which database this is, for logs: never a password.
    pub fn describe(&self) -> String {
        match self {
            Store::Sqlite(store) => store.describe(),
            Store::Postgres(store) => store.describe(),
        }
    }
}

/// The id and event count of the report that a GA4 request continues, if any.
///
/// The reporting service splits a report into requests of at most 25 events (Google's
/// limit), sent one after another within its delivery deadline (at most a minute). Every
/// request but the last is full, so a request continues its client's latest report on
/// the same stream when that report's event count is a whole number of full requests and
/// it began less than [`CHUNK_WINDOW_MS`] earlier; otherwise it starts a new report.
pub fn continued_report(latest: Option<&Row>, report: &NewReport) -> Option<(i64, i64)> {
    let full = i64::try_from(ga4_collector::rules::MAX_EVENTS).ok()?;
    let row = latest?;
    let (id, received_ms, count) = (row.first()?.int()?, row.get(1)?.int()?, row.get(2)?.int()?);
    let age = report.received_ms - received_ms;
    let open = report.protocol == Protocol::Ga4 && count > 0 && count % full == 0;
    (open && (0..CHUNK_WINDOW_MS).contains(&age)).then_some((id, count))
}

/// How long after a report began a request may still continue it.
pub const CHUNK_WINDOW_MS: i64 = 60_000;

/// The arguments of [`sql::LATEST_REPORT`].
pub(crate) fn latest_report_args(report: &NewReport) -> Vec<Arg> {
    vec![
        Arg::Text(report.client_id.clone()),
        Arg::Text(report.stream.clone()),
        Arg::Text(report.protocol.as_str().to_owned()),
    ]
}

/// The arguments of [`sql::INSERT_REPORT`].
pub(crate) fn report_args(report: &NewReport) -> Vec<Arg> {
    vec![
        Arg::Int(report.received_ms),
        Arg::Int(dates::day_of(report.received_ms)),
        Arg::Text(report.stream.clone()),
        Arg::Text(report.client_id.clone()),
        Arg::Text(report.protocol.as_str().to_owned()),
        Arg::Int(event_count(report)),
    ]
}

/// The arguments of [`sql::EXTEND_REPORT`]: the new count, the report, the count it had.
pub(crate) fn extend_args(id: i64, count: i64, report: &NewReport) -> Vec<Arg> {
    vec![Arg::Int(count + event_count(report)), Arg::Int(id), Arg::Int(count)]
}

/// The arguments of [`sql::INSERT_EVENT`].
pub(crate) fn event_args(report_id: i64, position: i64, event: &NewEvent) -> Vec<Arg> {
    vec![
        Arg::Int(report_id),
        Arg::Int(position),
        Arg::Text(event.name.clone()),
        Arg::Text(event.params_json.clone()),
    ]
}

/// The arguments of [`sql::INSERT_PARAM`].
pub(crate) fn param_args(
    event_id: i64,
    report_id: i64,
    event: &NewEvent,
    name: &str,
    value: &str,
) -> Vec<Arg> {
    vec![
        Arg::Int(event_id),
        Arg::Int(report_id),
        Arg::Text(event.name.clone()),
        Arg::Text(name.to_owned()),
        Arg::Text(value.to_owned()),
    ]
}

fn event_count(report: &NewReport) -> i64 {
    i64::try_from(report.events.len()).unwrap_or(i64::MAX)
}
