//! Retention: reports older than the configured number of days are deleted at start and
//! then every hour.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::app::App;
use crate::dates::{self, MS_PER_DAY};
use crate::log;
use crate::store::Store;

/// How often retention runs after the start.
pub const PERIOD: Duration = Duration::from_secs(3600);

/// Deletes the reports received more than `days` days before `now_ms`, and logs it.
pub async fn run_once(store: &Store, days: u32, now_ms: i64) {
    let cutoff_ms = now_ms - i64::from(days) * MS_PER_DAY;
    match store.delete_received_before(cutoff_ms).await {
        Ok(deleted) => log::info(
            "retention",
            &[
                ("retention_days", Value::from(days)),
                ("deleted_before", Value::from(dates::format_rfc3339(cutoff_ms))),
                ("deleted_reports", Value::from(deleted)),
            ],
        ),
        Err(error) => log::error("retention_failed", &[("error", Value::from(error.0))]),
    }
}

/// Runs retention every [`PERIOD`], the first time one period from now.
pub async fn hourly(app: Arc<App>, days: u32) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + PERIOD, PERIOD);
    loop {
        ticks.tick().await;
        run_once(&app.store, days, dates::now_ms()).await;
    }
}
