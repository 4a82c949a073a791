//! The SQLite store: one file in WAL mode, fully synchronous so that a committed report
//! survives a crash. One connection writes and one reads (WAL lets them run side by
//! side); SQLite's calls block, so they run on Tokio's blocking threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql, Transaction, TransactionBehavior};

use super::migrations::{self, Dialect};
use super::{sql, Arg, Cell, NewReport, Row, StoreError};

/// The database's size: pages times page size.
pub const SIZE_BYTES: &str = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()";

/// How long a statement waits for a lock held by another connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// An open SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
}

impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Arg::Int(n) => ToSqlOutput::from(*n),
            Arg::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
        })
    }
}

impl SqliteStore {
    /// Opens (or creates) the file and migrates it.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let path = path.to_owned();
        let opened = tokio::task::spawn_blocking(move || {
            let mut writer = connect(&path)?;
            migrate(&mut writer)?;
            let reader = connect(&path)?;
            Ok::<_, StoreError>(SqliteStore {
                path,
                writer: Arc::new(Mutex::new(writer)),
                reader: Arc::new(Mutex::new(reader)),
            })
        });
        opened.await.map_err(|_| StoreError("the task opening SQLite failed".to_owned()))?
    }

    pub(super) async fn insert(&self, reports: Vec<NewReport>) -> Result<(), StoreError> {
        blocking(&self.writer, move |connection| {
            let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for report in &reports {
                insert_report(&transaction, report)?;
            }
            transaction.commit()?;
            Ok(())
        })
        .await
    }

    pub(super) async fn rows(&self, sql: &'static str, args: Vec<Arg>) -> Result<Vec<Row>, StoreError> {
        blocking(&self.reader, move |connection| query(connection, sql, &args)).await
    }

    pub(super) async fn delete_received_before(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        blocking(&self.writer, move |connection| {
            let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut deleted = 0;
            for statement in sql::DELETE_BEFORE {
                deleted = transaction.execute(statement, [cutoff_ms])?;
            }
            transaction.commit()?;
            Ok(deleted as u64)
        })
        .await
    }

    pub(super) async fn close(&self) {
        // Folds the write-ahead log into the file, so that a copy of the file alone is whole.
        let _ = blocking(&self.writer, |connection| {
            connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA optimize;")?;
            Ok(())
        })
        .await;
    }

    pub(super) fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }
}

/// A connection in WAL mode, fully synchronous, waiting for locks rather than failing.
fn connect(path: &Path) -> Result<Connection, StoreError> {
    let fail = |problem: String| StoreError(format!("cannot open SQLite file {}: {problem}", path.display()));
    let flags =
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags).map_err(|e| fail(e.to_string()))?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(|e| fail(e.to_string()))?;
    let mode: String = connection
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(|e| fail(e.to_string()))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(fail(format!("journal mode {mode} instead of WAL")));
    }
    connection.pragma_update(None, "synchronous", "FULL").map_err(|e| fail(e.to_string()))?;
    Ok(connection)
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute_batch(migrations::CREATE_VERSION_TABLE)?;
    let current: Option<i64> = transaction.query_row(migrations::CURRENT_VERSION, [], |row| row.get(0))?;
    for (version, statements) in migrations::pending(Dialect::Sqlite, current.unwrap_or(0))? {
        transaction.execute_batch(&statements)?;
        transaction.execute(migrations::RECORD_VERSION, [version])?;
    }
    transaction.commit()?;
    Ok(())
}

/// One report, in the caller's transaction: a new one, or the rest of the one it continues.
fn insert_report(transaction: &Transaction<'_>, report: &NewReport) -> Result<(), StoreError> {
    let latest = query(transaction, sql::LATEST_REPORT, &super::latest_report_args(report))?;
    let extend = |(id, count)| super::extend_args(id, count, report);
    let (report_id, first_position) = match super::continued_report(latest.first(), report) {
        Some(found)
            if transaction.execute(sql::EXTEND_REPORT, rusqlite::params_from_iter(extend(found)))? == 1 =>
        {
            found
        }
        _ => {
            let args = super::report_args(report);
            let id = transaction
                .query_row(sql::INSERT_REPORT, rusqlite::params_from_iter(args), |row| row.get(0))?;
            (id, 0)
        }
    };
    let mut insert_event = transaction.prepare_cached(sql::INSERT_EVENT)?;
    let mut insert_param = transaction.prepare_cached(sql::INSERT_PARAM)?;
    for (position, event) in (first_position..).zip(&report.events) {
        let args = super::event_args(report_id, position, event);
        let event_id: i64 = insert_event.query_row(rusqlite::params_from_iter(args), |row| row.get(0))?;
        for (name, value) in &event.params {
            insert_param.execute(rusqlite::params_from_iter(super::param_args(
                event_id, report_id, event, name, value,
            )))?;
        }
    }
    Ok(())
}

fn query(connection: &Connection, sql: &str, args: &[Arg]) -> Result<Vec<Row>, StoreError> {
    let mut statement = connection.prepare_cached(sql)?;
    let width = statement.column_count();
    let mut rows = statement.query(rusqlite::params_from_iter(args))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let cells = (0..width)
            .map(|i| match row.get_ref(i)? {
                ValueRef::Null => Ok(Cell::Null),
                ValueRef::Integer(n) => Ok(Cell::Int(n)),
                ValueRef::Real(x) => Ok(Cell::Text(x.to_string())),
                ValueRef::Text(bytes) => Ok(Cell::Text(String::from_utf8_lossy(bytes).into_owned())),
                ValueRef::Blob(_) => Err(StoreError("unexpected BLOB column".to_owned())),
            })
            .collect::<Result<Row, StoreError>>()?;
        out.push(cells);
    }
    Ok(out)
}

/// Runs `work` with the connection on a blocking thread.
async fn blocking<T: Send + 'static>(
    connection: &Arc<Mutex<Connection>>,
    work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let connection = Arc::clone(connection);
    tokio::task::spawn_blocking(move || work(&mut lock(&connection)))
        .await
        .map_err(|_| StoreError("an SQLite task failed".to_owned()))?
}

/// A poisoned lock means a task panicked mid-statement; SQLite rolled its transaction
/// back when it was dropped, so the connection is usable.
fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    connection.lock().unwrap_or_else(PoisonError::into_inner)
}
