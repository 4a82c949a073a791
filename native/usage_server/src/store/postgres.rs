//! The PostgreSQL store, through a small pool of connections. A report is committed
//! before its request is answered; PostgreSQL's own durability keeps it.

use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::NoTls;

use super::migrations::{self, Dialect};
use super::{sql, Arg, Cell, NewReport, Row, StoreError};
use crate::config::Secret;

/// The database's size.
pub const SIZE_BYTES: &str = "SELECT pg_database_size(current_database())";

/// Connections kept: ingest is short transactions, reads are a few queries a page.
const POOL_SIZE: usize = 8;
/// How long opening a connection, or waiting for a free one, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Serialises migrations of servers that start together on one database.
const MIGRATION_LOCK: i64 = 0x6d75_7361_6765;

/// An open PostgreSQL database.
pub struct PostgresStore {
    pool: Pool,
    described: String,
}

impl PostgresStore {
    /// Connects, and migrates the schema.
    pub async fn open(url: &Secret) -> Result<PostgresStore, StoreError> {
        let mut config: tokio_postgres::Config = url.expose().parse().map_err(|_| {
            StoreError("not a valid PostgreSQL URL (not shown: it may hold a password)".to_owned())
        })?;
        config.connect_timeout(CONNECT_TIMEOUT).application_name("mongoose_usage_server");
        let described = describe(&config);
        let manager =
            Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError(format!("cannot set up the PostgreSQL pool: {e}")))?;
        let store = PostgresStore { pool, described };
        store.migrate().await.map_err(|e| StoreError(format!("cannot open {}: {e}", store.described)))?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(failed)?;
        transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(failed)?;
        transaction.batch_execute(migrations::CREATE_VERSION_TABLE).await.map_err(failed)?;
        let current: Option<i64> =
            transaction.query_one(migrations::CURRENT_VERSION, &[]).await.map_err(failed)?.get(0);
        for (version, statements) in migrations::pending(Dialect::Postgres, current.unwrap_or(0))? {
            transaction.batch_execute(&statements).await.map_err(failed)?;
            transaction.execute(migrations::RECORD_VERSION, &[&version]).await.map_err(failed)?;
        }
        transaction.commit().await.map_err(failed)
    }

    pub(super) async fn insert(&self, reports: Vec<NewReport>) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(failed)?;
        for report in &reports {
            insert_report(&transaction, report).await?;
        }
        transaction.commit().await.map_err(failed)
    }

    pub(super) async fn rows(&self, sql: &'static str, args: Vec<Arg>) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        query(&client, sql, &args).await
    }

    pub(super) async fn delete_received_before(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(failed)?;
        let mut deleted = 0;
        for statement in sql::DELETE_BEFORE {
            deleted = transaction.execute(statement, &[&cutoff_ms]).await.map_err(failed)?;
        }
        transaction.commit().await.map_err(failed)?;
        Ok(deleted)
    }

    pub(super) fn close(&self) {
        self.pool.close();
    }

    pub(super) fn describe(&self) -> String {
        self.described.clone()
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError(format!("no PostgreSQL connection: {}", pool_reason(&e))))
    }
}

/// One report, in the caller's transaction: a new one, or the rest of the one it continues.
async fn insert_report(client: &impl GenericClient, report: &NewReport) -> Result<(), StoreError> {
    let latest = query(client, sql::LATEST_REPORT, &super::latest_report_args(report)).await?;
    let continued = match super::continued_report(latest.first(), report) {
        Some((id, count)) => {
            let args = super::extend_args(id, count, report);
            let statement = client.prepare_cached(sql::EXTEND_REPORT).await.map_err(failed)?;
            (client.execute(&statement, &params(&args)).await.map_err(failed)? == 1).then_some((id, count))
        }
        None => None,
    };
    let (report_id, first_position) = match continued {
        Some(found) => found,
        None => {
            let args = super::report_args(report);
            let statement = client.prepare_cached(sql::INSERT_REPORT).await.map_err(failed)?;
            (client.query_one(&statement, &params(&args)).await.map_err(failed)?.get::<_, i64>(0), 0)
        }
    };
    let insert_event = client.prepare_cached(sql::INSERT_EVENT).await.map_err(failed)?;
    let insert_param = client.prepare_cached(sql::INSERT_PARAM).await.map_err(failed)?;
    for (position, event) in (first_position..).zip(&report.events) {
        let args = super::event_args(report_id, position, event);
        let event_id: i64 = client.query_one(&insert_event, &params(&args)).await.map_err(failed)?.get(0);
        for (name, value) in &event.params {
            let args = super::param_args(event_id, report_id, event, name, value);
            client.execute(&insert_param, &params(&args)).await.map_err(failed)?;
        }
    }
    Ok(())
}

async fn query(client: &impl GenericClient, sql: &str, args: &[Arg]) -> Result<Vec<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(failed)?;
    let rows = client.query(&statement, &params(args)).await.map_err(failed)?;
    rows.iter().map(cells).collect()
}

fn params(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|arg| match arg {
            Arg::Int(n) => n as &(dyn ToSql + Sync),
            Arg::Text(text) => text as &(dyn ToSql + Sync),
        })
        .collect()
}

fn cells(row: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let cell = |i: usize| -> Result<Cell, tokio_postgres::Error> {
        let type_ = row.columns()[i].type_();
        Ok(if *type_ == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map_or(Cell::Null, Cell::Int)
        } else if *type_ == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?.map_or(Cell::Null, |n| Cell::Int(n.into()))
        } else {
            row.try_get::<_, Option<String>>(i)?.map_or(Cell::Null, Cell::Text)
        })
    };
    (0..row.len()).map(|i| cell(i).map_err(failed)).collect()
}

/// A PostgreSQL error in words: the server's message when it sent one.
fn failed(error: tokio_postgres::Error) -> StoreError {
    match error.as_db_error() {
        Some(db) => StoreError(format!("PostgreSQL: {}", db.message())),
        None => StoreError(format!("PostgreSQL: {error}")),
    }
}

fn pool_reason(error: &deadpool_postgres::PoolError) -> String {
    match error {
        deadpool_postgres::PoolError::Backend(e) => match e.as_db_error() {
            Some(db) => db.message().to_owned(),
            None => match std::error::Error::source(e) {
                Some(source) => format!("{e}: {source}"),
                None => e.to_string(),
            },
        },
        other => other.to_string(),
    }
}

/// `postgres://HOST:PORT/DATABASE`, without the user or password.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("postgres://{host}:{port}/{}", config.get_dbname().unwrap_or("(default)"))
}
