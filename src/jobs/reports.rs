//! The reports worker (issue 14): every [`INTERVAL`] it records the WhatsApp customer
//! service windows that closed unanswered (`domain::reporting::close_windows`), so the
//! figure shows within a minute of the close even when the customer never writes again.
//! Safe with several processes (rows are claimed with `SKIP LOCKED`, each window counted
//! once by a unique index).

use crate::app::AppState;
use crate::domain::reporting;
use crate::error::AppResult;

/// How often the worker looks for closed windows.
pub const INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Windows recorded per round (the loop runs again at once while rounds are full).
pub const BATCH: i64 = 500;

/// Records the windows closed by now; true when a full batch was recorded.
pub async fn run_once(state: &AppState) -> AppResult<bool> {
    let n = state
        .db(|conn| reporting::close_windows(conn, chrono::Utc::now(), BATCH))
        .await?;
    Ok(n as i64 >= BATCH)
}

/// The worker loop.
pub async fn run(state: AppState) {
    loop {
        match run_once(&state).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(worker = "reports", error = %e, "reports worker could not reach the database")
            }
        }
        tokio::time::sleep(INTERVAL).await;
    }
}
