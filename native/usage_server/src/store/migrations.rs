//! The schema, by version. Each version's SQL is written once; only the type of the
//! generated ids differs between the databases.

use super::StoreError;

/// The database the SQL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.35 or later (`RETURNING`).
    Sqlite,
    /// PostgreSQL 10 or later (identity columns).
    Postgres,
}

impl Dialect {
    /// A generated 64-bit primary key.
    fn id_column(self) -> &'static str {
        match self {
            Dialect::Sqlite => "INTEGER PRIMARY KEY",
            Dialect::Postgres => "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        }
    }
}

/// Made before anything else, so the current version can be read.
pub const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)";
/// The current version; `NULL` for a new database.
pub const CURRENT_VERSION: &str = "SELECT MAX(version) FROM schema_version";
/// Records a version as applied.
pub const RECORD_VERSION: &str = "INSERT INTO schema_version (version) VALUES ($1)";

/// Version 1: reports, their events, and each event's parameters one a row, so that the
/// charts are plain SQL on both databases (no JSON functions). Every count is a BIGINT.
const V1: &str = "
CREATE TABLE reports (
    id {ID},
    received_ms BIGINT NOT NULL,
    day BIGINT NOT NULL,
    stream TEXT NOT NULL,
    client_id TEXT NOT NULL,
    protocol TEXT NOT NULL,
    event_count BIGINT NOT NULL
);
CREATE TABLE events (
    id {ID},
    report_id BIGINT NOT NULL,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    params TEXT NOT NULL
);
CREATE TABLE params (
    event_id BIGINT NOT NULL,
    report_id BIGINT NOT NULL,
    event_name TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX reports_client_received ON reports (client_id, received_ms);
CREATE INDEX reports_day ON reports (day);
CREATE INDEX events_report ON events (report_id);
CREATE INDEX params_report ON params (report_id);
CREATE INDEX params_event_name ON params (event_name, name);
";

/// Every version, oldest first.
const VERSIONS: [(i64, &str); 1] = [(1, V1)];

/// The versions a database at `current` still needs, with their SQL for `dialect`.
///
/// # Errors
/// When the database is newer than this server: it would misread it.
pub fn pending(dialect: Dialect, current: i64) -> Result<Vec<(i64, String)>, StoreError> {
    let latest = VERSIONS.last().map_or(0, |(version, _)| *version);
    if current > latest {
        return Err(StoreError(format!(
            "the database's schema is version {current}, newer than this server's {latest}: upgrade the server"
        )));
    }
    Ok(VERSIONS
        .iter()
        .filter(|(version, _)| *version > current)
        .map(|(version, sql)| (*version, sql.replace("{ID}", dialect.id_column())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_id_type_differs_between_dialects() {
        let sqlite = pending(Dialect::Sqlite, 0).unwrap();
        let postgres = pending(Dialect::Postgres, 0).unwrap();
        assert_eq!(sqlite[0].0, 1);
        assert!(sqlite[0].1.contains("id INTEGER PRIMARY KEY,"));
        assert!(postgres[0].1.contains("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"));
        let normalise = |sql: &str| sql.replace(Dialect::Postgres.id_column(), Dialect::Sqlite.id_column());
        assert_eq!(normalise(&postgres[0].1), sqlite[0].1);
        assert!(pending(Dialect::Sqlite, 1).unwrap().is_empty());
        assert!(pending(Dialect::Sqlite, 2).unwrap_err().0.contains("newer than this server's 1"));
    }
}
