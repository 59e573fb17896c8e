//! The SLA breach worker (issue 13): every [`INTERVAL`] it runs `domain::sla::process_due`,
//! which claims the applied SLAs whose next deadline passed (`FOR UPDATE SKIP LOCKED`) and
//! records each miss once (a unique key), emitting `sla.missed`. Safe with any number of
//! processes (the loop is `jobs::worker::poll`'s, with its own interval): a row is held by one of them at a time, and a miss is only recorded once.

use crate::app::AppState;
use crate::domain::sla;
use crate::error::AppResult;

/// How often the worker looks for passed deadlines (a breach shows within this).
pub const INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Records the misses due now; true when some were recorded (the loop runs again at once).
pub async fn run_once(state: &AppState) -> AppResult<bool> {
    let n = state
        .db(|conn| sla::process_due(conn, chrono::Utc::now()))
        .await?;
    Ok(n > 0)
}

/// The worker loop.
pub async fn run(state: AppState) {
    loop {
        match run_once(&state).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(worker = "sla breaches", error = %e, "SLA worker could not reach the database")
            }
        }
        tokio::time::sleep(INTERVAL).await;
    }
}
