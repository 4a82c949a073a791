//! A fresh PostgreSQL database for each test, on the server `MONGOOSE_USAGE_TEST_POSTGRES`
//! names (`scripts/with-postgres.sh` starts one and sets it). Shared by the unit tests of
//! the store and the tests of the binary.

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming the PostgreSQL server of the tests.
pub const ENV: &str = "MONGOOSE_USAGE_TEST_POSTGRES";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A database of its own for one test, dropped with it.
pub struct FreshDatabase {
    /// Its URL.
    pub url: String,
    admin_url: String,
    name: String,
}

/// A new empty database; `None` when no server is configured, after saying on stderr
/// (past the test harness' capture) that the PostgreSQL half of `test` is skipped.
pub fn fresh_database(test: &str) -> Option<FreshDatabase> {
    let Ok(admin_url) = std::env::var(ENV) else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED on PostgreSQL: {test} ({ENV} is not set; run under scripts/with-postgres.sh)"
        );
        return None;
    };
    let name = format!("usage_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    run_sql(&admin_url, format!("CREATE DATABASE {name}"));
    let mut url = url::Url::parse(&admin_url).expect("MONGOOSE_USAGE_TEST_POSTGRES is a URL");
    url.set_path(&format!("/{name}"));
    Some(FreshDatabase { url: url.to_string(), admin_url, name })
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        run_sql(&self.admin_url, format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// Runs SQL on the server's default database, on a thread and runtime of its own so that
/// it works from synchronous and asynchronous tests alike.
fn run_sql(admin_url: &str, sql: String) {
    let admin_url = admin_url.to_owned();
    let ran = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
                .await
                .expect("connect to PostgreSQL");
            let driver = tokio::spawn(connection);
            client.batch_execute(&sql).await.expect("run SQL on PostgreSQL");
            drop(client);
            let _ = driver.await;
        });
    })
    .join();
    if ran.is_err() && !std::thread::panicking() {
        panic!("could not prepare the PostgreSQL test database");
    }
}
