//! The server's life: open the database, apply retention, listen, serve until SIGTERM or
//! SIGINT, let requests in flight finish (within [`GRACE`]), close the database.

use std::future::IntoFuture;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use crate::app::{self, App};
use crate::auth::ReadAccess;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::shutdown::StopSignals;
use crate::store::Store;
use crate::{dates, log, retention};

/// How long requests in flight may take to finish once a stop is asked for.
pub const GRACE: Duration = Duration::from_secs(10);

/// Why the server stopped without being asked to.
#[derive(Debug)]
pub enum Failure {
    /// It could not start: a bad setting, or a database it cannot open. Exit status 2.
    Startup(String),
    /// It failed while serving. Exit status 1.
    Serving(String),
}

/// Runs the server until a stop signal.
///
/// # Errors
/// When it cannot start, or fails while serving.
pub async fn run(config: Config) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| Failure::Startup(format!("--listen: cannot listen on {}: {e}", config.listen)))?;
    let address = listener.local_addr().map_err(|e| Failure::Startup(format!("--listen: {e}")))?;
    let signals = StopSignals::catch().map_err(|e| Failure::Startup(format!("cannot catch SIGTERM: {e}")))?;
    let store =
        Store::open(&config.database).await.map_err(|e| Failure::Startup(format!("--database: {e}")))?;
    let stream_ids: Vec<Value> = config.streams.iter().map(|s| Value::from(s.id())).collect();
    log::info(
        "start",
        &[
            ("version", Value::from(env!("CARGO_PKG_VERSION"))),
            ("database", Value::from(store.describe())),
            ("streams", Value::from(stream_ids)),
            ("retention_days", Value::from(config.retention_days)),
            ("read_token", Value::from(config.read_token.is_some())),
        ],
    );
    let app = Arc::new(App {
        store,
        metrics: Metrics::default(),
        streams: config.streams.clone(),
        access: ReadAccess::new(config.read_token.clone()),
    });
    retention::run_once(&app.store, config.retention_days, dates::now_ms()).await;
    let retention = tokio::spawn(retention::hourly(Arc::clone(&app), config.retention_days));

    let url = format!("http://{address}/");
    announce(&url).map_err(|e| Failure::Startup(format!("cannot write to stdout: {e}")))?;
    log::info("ready", &[("url", Value::from(url))]);

    let (stopping, mut stopped) = watch::channel(false);
    let stop = async move {
        let signal = signals.received().await;
        log::info(
            "stopping",
            &[("signal", Value::from(signal)), ("grace_seconds", Value::from(GRACE.as_secs()))],
        );
        let _ = stopping.send(true);
    };
    let serving =
        axum::serve(listener, app::router(Arc::clone(&app))).with_graceful_shutdown(stop).into_future();
    let grace_over = async move {
        let _ = stopped.wait_for(|stopped| *stopped).await;
        tokio::time::sleep(GRACE).await;
    };
    let served = tokio::select! {
        served = serving => served.map_err(|e| Failure::Serving(format!("serving failed: {e}"))),
        () = grace_over => {
            log::warn("grace_over", &[("grace_seconds", Value::from(GRACE.as_secs()))]);
            Ok(())
        }
    };
    retention.abort();
    app.store.close().await;
    log::info("shutdown", &[]);
    served
}

/// The one line on stdout that says where the server listens.
fn announce(url: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "mongoose_usage_server listening on {url}")?;
    stdout.flush()
}
