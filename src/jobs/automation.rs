//! The automation worker: runs the `automation` jobs `domain::automation` queues (one per
//! ingest unit or change, listing a trigger per domain event an active rule listens to, and
//! one per time-based fire), and the sweep that finds time-based rules' conversations every
//! [`SWEEP_INTERVAL`].
//!
//! A job's triggers run in order ([`run_triggers`]), each in one transaction:
//! `automation::run_trigger_in` (conditions, actions, run log) and the job's `progress`
//! moved past it, so a retried, re-leased or handed-back job resumes after the last trigger
//! done and no trigger runs twice, whatever the number of processes. A trigger whose
//! transaction fails (a database error) is split off into a job of its own, which retries
//! with backoff, and the rest of the list goes on; a job of one trigger that fails is retried
//! with backoff. A failing action is recorded on its run and not retried. A
//! `send_webhook_event` action queues its POST on the durable `webhook_delivery` queue in
//! the trigger's transaction (see `jobs::webhook_delivery`).

use super::{leases, worker, Job};
use crate::app::AppState;
use crate::db::schema::jobs;
use crate::domain::automation::{self, actions::RunSettings, JobPayload, Trigger};
use crate::error::AppResult;
use chrono::{Duration, Utc};
use diesel::prelude::*;

/// Seconds a claimed job is leased.
pub const LEASE_SECONDS: i64 = 60;
/// How often the time-based sweep runs.
pub const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

fn settings(state: &AppState) -> RunSettings {
    RunSettings {
        send_max_attempts: state.config.send_max_attempts,
    }
}

/// How [`run_triggers`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchEnd {
    /// Every trigger of the job is done.
    Done,
    /// This process started draining (SIGTERM) between two triggers: the job should be
    /// handed back as it is, to resume elsewhere.
    Draining,
    /// Another worker moved the job's progress first (this worker's lease ran out and the
    /// job was claimed again): that worker goes on, this one stops without touching the job.
    TakenOver,
}

/// Moves job `job_id`'s progress from `from` to `from + 1`, taking its row lock until the
/// transaction ends. False when the progress is no longer `from` (another worker ran that
/// trigger).
fn advance(conn: &mut PgConnection, job_id: i64, from: i32) -> AppResult<bool> {
    Ok(
        diesel::update(jobs::table.find(job_id).filter(jobs::progress.eq(from)))
            .set(jobs::progress.eq(from + 1))
            .execute(conn)?
            == 1,
    )
}

/// Runs `triggers` (the payload of claimed job `job_id`) in order from the job's recorded
/// progress, one transaction each that also advances the progress (taken first, so a second
/// worker on the same job waits and then stops: [`BatchEnd::TakenOver`]). A trigger whose
/// transaction fails, in a job of more than one, is queued as a job of its own (retried
/// with backoff) in a transaction that advances past it; the list goes on. Errors: the
/// database, when even that fails, or the one trigger of a single-trigger job; the caller
/// fails the job (a retry resumes at the progress).
pub fn run_triggers(
    conn: &mut PgConnection,
    job_id: i64,
    triggers: &[Trigger],
    settings: RunSettings,
) -> AppResult<BatchEnd> {
    let mut done: i32 = jobs::table
        .find(job_id)
        .select(jobs::progress)
        .first(conn)?;
    while let Some(t) = triggers.get(done as usize) {
        if leases::draining() {
            return Ok(BatchEnd::Draining);
        }
        let ran = conn.transaction::<bool, crate::error::AppError, _>(|conn| {
            if !advance(conn, job_id, done)? {
                return Ok(false);
            }
            automation::run_trigger_in(conn, t, settings)?;
            Ok(true)
        });
        let advanced = match ran {
            Ok(advanced) => advanced,
            Err(e) if triggers.len() > 1 => {
                tracing::warn!(
                    job_id,
                    conversation_id = t.conversation_id,
                    error = %e.detail(),
                    "automation trigger failed; queued on its own to retry"
                );
                conn.transaction(|conn| {
                    if !advance(conn, job_id, done)? {
                        return Ok(false);
                    }
                    let own = serde_json::to_value(JobPayload::Batch {
                        triggers: vec![t.clone()],
                    })
                    .map_err(|e| crate::error::AppError::Internal(e.to_string()))?;
                    super::enqueue(conn, automation::JOB_KIND, own, automation::MAX_ATTEMPTS)?;
                    Ok::<_, crate::error::AppError>(true)
                })?
            }
            Err(e) => return Err(e),
        };
        if !advanced {
            return Ok(BatchEnd::TakenOver);
        }
        done += 1;
    }
    Ok(BatchEnd::Done)
}

/// Claims and runs one due automation job. Returns false when none was due.
pub async fn run_next(state: &AppState) -> AppResult<bool> {
    worker::next_of(
        state,
        automation::JOB_KIND,
        LEASE_SECONDS,
        |job| async move { run_job(state, job).await },
    )
    .await
}

async fn run_job(state: &AppState, job: Job) -> AppResult<()> {
    let payload: Result<JobPayload, _> = serde_json::from_value(job.payload.clone());
    let Ok(payload) = payload else {
        return state
            .db(move |conn| {
                super::fail_after(
                    conn,
                    &job,
                    "unreadable automation payload",
                    false,
                    Duration::zero(),
                    false,
                )
                .map(|_| ())
            })
            .await;
    };
    let triggers = payload.into_triggers();
    let s = settings(state);
    let job_id = job.id;
    let ran = state
        .db(move |conn| {
            let end = run_triggers(conn, job_id, &triggers, s)?;
            match end {
                BatchEnd::Done => super::complete(conn, job_id)?,
                BatchEnd::Draining => super::postpone(conn, job_id, Utc::now())?,
                BatchEnd::TakenOver => leases::let_go(job_id),
            }
            Ok(end)
        })
        .await;
    match ran {
        Ok(_) => Ok(()),
        Err(e) => {
            let text = e.detail();
            state
                .db(move |conn| super::fail(conn, &job, &text, false, 5).map(|_| ()))
                .await
        }
    }
}

/// Runs every due automation job (tests call it). Returns how many ran.
pub async fn drain(state: &AppState) -> AppResult<usize> {
    worker::drain(|| run_next(state)).await
}

/// Runs forever: the job loop, and the time-based sweep beside it.
pub async fn run(state: AppState) {
    let st = state.clone();
    tokio::spawn(async move {
        worker::every(
            st,
            "automation sweep",
            SWEEP_INTERVAL,
            automation::sweep,
            |_, _| async {},
        )
        .await
    });
    worker::poll("automation", || run_next(&state)).await
}
