//! The `dualhook_event` job: processes one journaled Dualhook lifecycle event
//! ([`crate::dualhook::events::process`]). Network failures towards Dualhook or Graph are
//! retried with backoff; after [`events::MAX_ATTEMPTS`] (or at once for a permanent error)
//! the event is marked `failed` with its error, which the audit list shows.

use super::{complete, fail, worker, Job};
use crate::app::AppState;
use crate::dualhook::events::{self, ProcessError, JOB_KIND, RETRY_BASE_SECONDS};
use crate::error::AppResult;

/// Seconds a worker holds an event (reveal-secrets and Graph calls time out after 30 s).
pub const LEASE_SECONDS: i64 = 120;

/// Runs one claimed job to its outcome.
pub async fn run_job(state: &AppState, job: Job) -> AppResult<()> {
    let Some(row_id) = job.payload["event_row_id"].as_i64() else {
        let id = job.id;
        return state.db(move |conn| complete(conn, id)).await;
    };
    match events::process(state, row_id).await {
        Ok(()) => {
            let id = job.id;
            state.db(move |conn| complete(conn, id)).await
        }
        Err(e) => {
            let (message, permanent) = match e {
                ProcessError::Retry(m) => (m, false),
                ProcessError::Permanent(m) => (m, true),
            };
            tracing::warn!(row_id, permanent, error = %message, "Dualhook event processing failed");
            state
                .db(move |conn| {
                    let retry = fail(conn, &job, &message, permanent, RETRY_BASE_SECONDS)?;
                    events::record_error(conn, row_id, &message, !retry)
                })
                .await
        }
    }
}

/// Claims and runs the oldest due event job. Returns false when none was due.
pub async fn run_next(state: &AppState) -> AppResult<bool> {
    worker::next_of(state, JOB_KIND, LEASE_SECONDS, |job| run_job(state, job)).await
}

/// Runs every due event job (for tests and the worker). Returns how many ran.
pub async fn run_due(state: &AppState) -> AppResult<usize> {
    worker::drain(|| run_next(state)).await
}

/// The worker: runs due events one after another, polling every [`super::POLL_INTERVAL`].
pub async fn run(state: AppState) {
    worker::poll("dualhook events", || run_next(&state)).await
}
