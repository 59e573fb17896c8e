//! The reports worker (issue 14): every [`INTERVAL`] it folds the pending reporting facts
//! into the rollups (`domain::reporting::fold`), and every [`WINDOWS_EVERY`] rounds it
//! records the WhatsApp customer service windows that closed unanswered
//! (`domain::reporting::close_windows`), so the figure shows within a minute of the close
//! even when the customer never writes again. Safe with several processes (rows are claimed
//! with `SKIP LOCKED`, each window counted once by a unique index).

use crate::app::AppState;
use crate::domain::reporting;
use crate::error::AppResult;

/// How often the worker folds pending facts.
pub const INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Rounds between two looks for closed windows (a minute).
pub const WINDOWS_EVERY: u32 = 60;

/// Windows recorded per round (the loop runs again at once while rounds are full).
pub const BATCH: i64 = 500;

/// Folds pending facts and, with `windows`, records the windows closed by now; true when a
/// full batch of windows was recorded.
pub async fn run_once(state: &AppState, windows: bool) -> AppResult<bool> {
    state.db(|conn| reporting::fold(conn)).await?;
    if !windows {
        return Ok(false);
    }
    let n = state
        .db(|conn| reporting::close_windows(conn, chrono::Utc::now(), BATCH))
        .await?;
    Ok(n as i64 >= BATCH)
}

/// The worker loop.
pub async fn run(state: AppState) {
    let mut round = 0u32;
    loop {
        round = round.wrapping_add(1);
        match run_once(&state, round % WINDOWS_EVERY == 1).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(worker = "reports", error = %e, "reports worker could not reach the database")
            }
        }
        tokio::time::sleep(INTERVAL).await;
    }
}
