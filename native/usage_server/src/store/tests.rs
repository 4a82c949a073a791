//! The store on SQLite, and again on PostgreSQL when `MONGOOSE_USAGE_TEST_POSTGRES` is set.

use std::path::PathBuf;

use super::*;
use crate::config::Secret;

#[path = "../../tests/server/support/postgres.rs"]
mod postgres_support;

/// A directory of its own for one SQLite test, removed afterwards.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("usage_store_{test}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a scenario on a fresh SQLite file, and on a fresh PostgreSQL database.
macro_rules! on_both_databases {
    ($scenario:ident) => {
        mod $scenario {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let dir = TempDir::new(stringify!($scenario));
                $scenario(&DatabaseUrl::Sqlite(dir.0.join("usage.sqlite3"))).await;
            }

            #[tokio::test]
            async fn postgres() {
                let test = concat!("store::tests::", stringify!($scenario));
                let Some(database) = postgres_support::fresh_database(test) else { return };
                $scenario(&DatabaseUrl::Postgres(Secret::new(database.url.clone()))).await;
            }
        }
    };
}

const T: i64 = 1_700_000_000_000;

fn event(name: &str, i: usize) -> NewEvent {
    NewEvent {
        name: name.to_owned(),
        params_json: format!(r#"{{"n":{i},"kind":"k{i}"}}"#),
        params: vec![("n".to_owned(), i.to_string()), ("kind".to_owned(), format!("k{i}"))],
    }
}

fn report(client: &str, received_ms: i64, events: usize, protocol: Protocol) -> NewReport {
    NewReport {
        received_ms,
        stream: "G-1".to_owned(),
        client_id: client.to_owned(),
        protocol,
        events: (0..events).map(|i| event("e", i)).collect(),
    }
}

async fn ints(store: &Store, sql: &'static str) -> Vec<Vec<i64>> {
    let rows = store.rows(sql, Vec::new()).await.unwrap();
    rows.into_iter().map(|row| row.iter().map(|cell| cell.int().unwrap_or(-1)).collect()).collect()
}

async fn open(url: &DatabaseUrl) -> Store {
    Store::open(url).await.unwrap_or_else(|e| panic!("open: {e}"))
}

async fn stores_a_report_with_its_events_and_params(url: &DatabaseUrl) {
    let store = open(url).await;
    store.insert(vec![report("c", T, 2, Protocol::Ga4)]).await.unwrap();
    assert_eq!(
        ints(&store, "SELECT received_ms, day, event_count FROM reports").await,
        [[T, T / 86_400_000, 2]]
    );
    let events =
        store.rows("SELECT position, name, params FROM events ORDER BY position", Vec::new()).await.unwrap();
    assert_eq!(
        events[1],
        [Cell::Int(1), Cell::Text("e".into()), Cell::Text(r#"{"n":1,"kind":"k1"}"#.into())]
    );
    let params = store
        .rows(
            "SELECT p.event_name, p.name, p.value FROM params p JOIN events e ON e.id = p.event_id \
             WHERE e.position = $1 ORDER BY p.name",
            vec![Arg::Int(1)],
        )
        .await
        .unwrap();
    let text = |s: &str| Cell::Text(s.to_owned());
    assert_eq!(params, [[text("e"), text("kind"), text("k1")], [text("e"), text("n"), text("1")]]);
    assert!(store.size_bytes().await.unwrap_or(0) > 0);
    store.ping().await.unwrap();
    store.close().await;
}
on_both_databases!(stores_a_report_with_its_events_and_params);

async fn a_chunked_report_is_kept_whole(url: &DatabaseUrl) {
    let store = open(url).await;
    let requests = [
        report("c", T, 25, Protocol::Ga4),
        report("c", T + 1_000, 5, Protocol::Ga4),
        // The report above ended with a request that was not full: this one starts anew.
        report("c", T + 2_000, 25, Protocol::Ga4),
        // A minute after the report began: a new one, although the last request was full.
        report("c", T + 2_000 + CHUNK_WINDOW_MS, 3, Protocol::Ga4),
        report("other", T + 3_000, 1, Protocol::Ga4),
        report("u", T, 25, Protocol::Ua),
        report("u", T + 1, 1, Protocol::Ua),
    ];
    for request in requests {
        store.insert(vec![request]).await.unwrap();
    }
    let reports =
        ints(&store, "SELECT received_ms, event_count FROM reports ORDER BY client_id, received_ms").await;
    assert_eq!(
        reports,
        [[T, 30], [T + 2_000, 25], [T + 2_000 + CHUNK_WINDOW_MS, 3], [T + 3_000, 1], [T, 25], [T + 1, 1]]
    );
    let positions = ints(
        &store,
        "SELECT e.position FROM events e JOIN reports r ON r.id = e.report_id \
         WHERE r.received_ms = 1700000000000 AND r.protocol = 'ga4' ORDER BY e.position",
    )
    .await;
    assert_eq!(positions, (0..30).map(|p| vec![p]).collect::<Vec<_>>());
    store.close().await;
}
on_both_databases!(a_chunked_report_is_kept_whole);

async fn retention_deletes_old_reports_with_their_events_and_params(url: &DatabaseUrl) {
    let store = open(url).await;
    let day = crate::dates::MS_PER_DAY;
    store
        .insert(vec![report("old", T - 40 * day, 3, Protocol::Ga4), report("new", T - day, 2, Protocol::Ua)])
        .await
        .unwrap();
    assert_eq!(store.delete_received_before(T - 30 * day).await.unwrap(), 1);
    let counts = ints(
        &store,
        "SELECT (SELECT COUNT(*) FROM reports), (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM params)",
    )
    .await;
    assert_eq!(counts, [[1, 2, 4]]);
    let left = store.rows("SELECT client_id FROM reports", Vec::new()).await.unwrap();
    assert_eq!(left, [[Cell::Text("new".into())]]);
    assert_eq!(store.delete_received_before(T - 30 * day).await.unwrap(), 0);
    store.close().await;
}
on_both_databases!(retention_deletes_old_reports_with_their_events_and_params);

async fn reopening_keeps_the_data_and_migrates_once(url: &DatabaseUrl) {
    let store = open(url).await;
    store.insert(vec![report("c", T, 1, Protocol::Ga4)]).await.unwrap();
    store.close().await;
    drop(store);
    let store = open(url).await;
    assert_eq!(ints(&store, "SELECT COUNT(*) FROM reports").await, [[1]]);
    assert_eq!(ints(&store, "SELECT version FROM schema_version").await, [[1]]);
    store.close().await;
}
on_both_databases!(reopening_keeps_the_data_and_migrates_once);

#[tokio::test]
async fn an_sqlite_file_that_cannot_be_created_is_named() {
    let url = DatabaseUrl::Sqlite(PathBuf::from("/nonexistent-dir/usage.sqlite3"));
    let Err(error) = Store::open(&url).await else { panic!("opened a file in a missing directory") };
    assert!(error.0.starts_with("cannot open SQLite file /nonexistent-dir/usage.sqlite3: "), "{error}");
}

#[test]
fn only_a_full_recent_ga4_request_is_continued() {
    let latest = |count: i64| vec![Cell::Int(7), Cell::Int(T), Cell::Int(count)];
    let at = |ms: i64, protocol| NewReport { received_ms: ms, ..report("c", 0, 1, protocol) };
    assert_eq!(continued_report(Some(&latest(25)), &at(T + 59_999, Protocol::Ga4)), Some((7, 25)));
    assert_eq!(continued_report(Some(&latest(50)), &at(T, Protocol::Ga4)), Some((7, 50)));
    assert_eq!(continued_report(Some(&latest(25)), &at(T + 60_000, Protocol::Ga4)), None);
    assert_eq!(continued_report(Some(&latest(24)), &at(T + 1, Protocol::Ga4)), None);
    assert_eq!(continued_report(Some(&latest(25)), &at(T - 1, Protocol::Ga4)), None);
    assert_eq!(continued_report(Some(&latest(25)), &at(T + 1, Protocol::Ua)), None);
    assert_eq!(continued_report(None, &at(T, Protocol::Ga4)), None);
}
