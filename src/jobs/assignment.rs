//! The auto-assignment worker (issue 13): runs [`auto_assignment::JOB`] jobs (drain one
//! inbox's queue, see `domain::auto_assignment`) and the presence sweep that marks agents
//! offline after `AUTO_OFFLINE_AFTER_SECONDS` without a realtime stream
//! (`domain::availability`).
//!
//! Drain jobs are claimed with `FOR UPDATE SKIP LOCKED` ([`super::worker::next_of`]) and
//! the decision itself holds the inbox's row lock, so any number of workers in any number of
//! processes assign each conversation exactly once. The worker wakes on the realtime hub's
//! events that queue drains (`conversation.created`, `conversation.status_changed`,
//! `assignee.changed`, `presence.update`, from every process through LISTEN/NOTIFY), so a
//! decision follows its event within milliseconds rather than a poll interval.

use super::{complete, fail, worker, Job};
use crate::app::AppState;
use crate::domain::{auto_assignment, availability, events, profile};
use crate::error::AppResult;

/// Seconds a worker holds a drain job (a drain of 1,000 conversations takes well under it).
pub const LEASE_SECONDS: i64 = 60;

/// First retry delay after a failed drain, in seconds (doubled per attempt).
pub const RETRY_BASE_SECONDS: u64 = 2;

/// Runs one claimed drain job. Returns what the drain did (`None` for a malformed payload,
/// completed without work, or a failed attempt recorded for a retry).
pub async fn run_job(state: &AppState, job: Job) -> AppResult<Option<auto_assignment::Drained>> {
    let id = job.id;
    let Some(inbox_id) = job.payload["inbox_id"].as_i64() else {
        state.db(move |conn| complete(conn, id)).await?;
        return Ok(None);
    };
    match state
        .db(move |conn| auto_assignment::drain(conn, inbox_id))
        .await
    {
        Ok(done) => {
            state.db(move |conn| complete(conn, id)).await?;
            Ok(Some(done))
        }
        Err(e) => {
            tracing::warn!(inbox_id, error = %e, "auto-assignment drain failed; retrying");
            let message = e.to_string();
            state
                .db(move |conn| fail(conn, &job, &message, false, RETRY_BASE_SECONDS))
                .await?;
            Ok(None)
        }
    }
}

/// Claims and runs the oldest due drain job; false when none was due.
pub async fn run_next(state: &AppState) -> AppResult<bool> {
    worker::next_of(state, auto_assignment::JOB, LEASE_SECONDS, |job| {
        run_job(state, job)
    })
    .await
}

/// True for the events after which a drain job may be waiting.
fn wakes(name: &str) -> bool {
    matches!(
        name,
        events::CONVERSATION_CREATED
            | events::CONVERSATION_STATUS_CHANGED
            | events::ASSIGNEE_CHANGED
            | profile::PRESENCE_UPDATE
    )
}

/// The drain worker: runs due jobs, woken by the hub's events (see the module
/// documentation) or every [`super::POLL_INTERVAL`].
pub async fn run(state: AppState) {
    // This process's ingest workers wake it directly too (`AppState::assignment_wakeup`).
    let wake = state.assignment_wakeup.clone();
    let mut events = state.realtime.subscribe();
    let notify = wake.clone();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(e) if wakes(&e.name) => notify.notify_one(),
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => notify.notify_one(),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    worker::poll_woken("auto assignment", wake, || run_next(&state)).await
}

/// The presence sweep: every [`availability::sweep_interval`] of the configured delay,
/// marks agents without a realtime stream offline ([`availability::sweep_due`]).
pub async fn run_presence_sweep(state: AppState) {
    let after = std::time::Duration::from_secs(state.config.auto_offline_after_seconds);
    worker::every(
        state,
        "presence sweep",
        availability::sweep_interval(after),
        availability::sweep_due,
        |_, _| async {},
    )
    .await
}
