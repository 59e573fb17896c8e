//! The `hours_auto_reply` worker (issue 13): greeting, out-of-office replies and CSAT
//! surveys and answers, one job per incoming message or resolve of an inbox that uses them
//! (queued by `domain::auto_replies::enqueue_for_event`). Each job runs
//! `auto_replies::process` in one transaction; a failure is retried with backoff, and the
//! once-only keys make a retry or a second process send nothing twice.

use super::{complete, fail, worker, Job};
use crate::app::AppState;
use crate::domain::auto_replies::{self, Outcome, JOB_KIND};
use crate::error::AppResult;

/// Seconds a worker holds a job (one takes milliseconds).
pub const LEASE_SECONDS: i64 = 60;
/// First retry delay in seconds (doubled per attempt).
pub const RETRY_BASE_SECONDS: u64 = 2;

/// Runs one claimed job: processes it and completes it, or records the failure.
pub async fn run_job(state: &AppState, job: Job) -> AppResult<Outcome> {
    let payload = job.payload.clone();
    let id = job.id;
    let result = state
        .db(move |conn| {
            let out = auto_replies::process(conn, &payload, chrono::Utc::now())?;
            complete(conn, id)?;
            Ok(out)
        })
        .await;
    match result {
        Ok(out) => Ok(out),
        Err(e) => {
            let message = e.to_string();
            tracing::warn!(job = id, error = %message, "automatic reply failed");
            state
                .db(move |conn| fail(conn, &job, &message, false, RETRY_BASE_SECONDS))
                .await?;
            Ok(Outcome::default())
        }
    }
}

/// Claims and runs the oldest due job; false when none was due.
pub async fn run_next(state: &AppState) -> AppResult<bool> {
    worker::next_of(state, JOB_KIND, LEASE_SECONDS, |job| run_job(state, job)).await
}

/// The worker loop (see `jobs::worker::poll`).
pub async fn run(state: AppState) {
    worker::poll("hours auto reply", || run_next(&state)).await
}
