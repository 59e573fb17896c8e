//! The loops every job worker shares, so a new job kind only writes what one job does.
//!
//! - [`next_of`]: claim the oldest due job of one kind (leased with `FOR UPDATE SKIP LOCKED`,
//!   see [`super::claim`]) and run it; safe with any number of processes.
//! - [`drain`]: run jobs until none is due (tests call it to run a queue to the end).
//! - [`poll`]: the worker loop: run jobs while there are any, then sleep [`POLL_INTERVAL`].
//! - [`every`]: a schedule loop: every `interval`, claim the due ids and work on each.

use super::{claim, Job, POLL_INTERVAL};
use crate::app::AppState;
use crate::error::AppResult;
use diesel::PgConnection;
use std::future::Future;

/// Claims the oldest due job of `kind` for `lease_seconds` (seconds) and hands it to `run`.
/// Returns `Ok(false)` when none was due, `Ok(true)` after `run` finished (its own result is
/// the job's business: it completes, fails or postpones the job). Errors: the database.
pub async fn next_of<F, Fut, T>(
    state: &AppState,
    kind: &'static str,
    lease_seconds: i64,
    run: F,
) -> AppResult<bool>
where
    F: FnOnce(Job) -> Fut,
    Fut: Future<Output = AppResult<T>>,
{
    let job = state
        .db(move |conn| claim(conn, kind, lease_seconds))
        .await?;
    match job {
        None => Ok(false),
        Some(job) => {
            run(job).await?;
            Ok(true)
        }
    }
}

/// Calls `next` until it answers `false` (nothing due). Returns how many ran.
pub async fn drain<F, Fut>(mut next: F) -> AppResult<usize>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = AppResult<bool>>,
{
    let mut n = 0;
    while next().await? {
        n += 1;
    }
    Ok(n)
}

/// Runs forever: calls `next` while it finds work, then sleeps [`POLL_INTERVAL`]. A database
/// error is logged (naming the worker `what`) and retried after the sleep.
pub async fn poll<F, Fut>(what: &'static str, mut next: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = AppResult<bool>>,
{
    loop {
        match next().await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(worker = what, error = %e, "job worker could not reach the database")
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// How soon [`every`] tries again after its claim could not reach the database.
const RETRY_AFTER_DB_ERROR: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs forever: every `interval`, `claim` picks the due ids (in one statement that also
/// moves their next run, so two processes never pick the same id) and `work` handles each;
/// a failed `work` is the callee's to record. A database error is logged, naming `what` and
/// retried after at most [`RETRY_AFTER_DB_ERROR`].
pub async fn every<W, Fut>(
    state: AppState,
    what: &'static str,
    interval: std::time::Duration,
    claim: fn(&mut PgConnection) -> AppResult<Vec<i64>>,
    work: W,
) where
    W: Fn(AppState, i64) -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        // A draining process (SIGTERM) claims nothing more (`super::leases`).
        if super::leases::draining() {
            tokio::time::sleep(interval).await;
            continue;
        }
        match state.db(move |conn| claim(conn)).await {
            Ok(ids) => {
                for id in ids {
                    work(state.clone(), id).await;
                }
            }
            Err(e) => {
                tracing::warn!(worker = what, error = %e, "scheduled job could not reach the database");
                // Retry soon: a busy pool at startup must not delay the first round by a whole
                // interval (a new demo inbox waited a minute for its templates).
                tokio::time::sleep(interval.min(RETRY_AFTER_DB_ERROR)).await;
                continue;
            }
        }
        tokio::time::sleep(interval).await;
    }
}

/// [`poll`] that also wakes as soon as `wake` is notified (e.g. by an event that queued
/// work), instead of only after [`POLL_INTERVAL`]: for workers with a latency target.
pub async fn poll_woken<F, Fut>(
    what: &'static str,
    wake: std::sync::Arc<tokio::sync::Notify>,
    mut next: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = AppResult<bool>>,
{
    loop {
        match next().await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(worker = what, error = %e, "job worker could not reach the database")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = wake.notified() => {}
        }
    }
}
