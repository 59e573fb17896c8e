//! The automation worker: runs the `automation` jobs `domain::automation` queues (one per
//! domain event an active rule listens to, and one per time-based fire), and the sweep that
//! finds time-based rules' conversations every [`SWEEP_INTERVAL`].
//!
//! A job runs `automation::run_trigger` (conditions, actions, run log, in one transaction);
//! a `send_webhook_event` action queues its POST on the durable `webhook_delivery` queue
//! in that transaction (retried, see `jobs::webhook_delivery`). A database error
//! retries the job with backoff; a failing action is recorded on its run and not retried.

use super::worker;
use crate::app::AppState;
use crate::domain::automation::{self, actions::RunSettings, Trigger};
use crate::error::AppResult;
use chrono::Duration;

/// Seconds a claimed job is leased.
pub const LEASE_SECONDS: i64 = 60;
/// How often the time-based sweep runs.
pub const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

fn settings(state: &AppState) -> RunSettings {
    RunSettings {
        send_max_attempts: state.config.send_max_attempts,
    }
}

/// Claims and runs one due automation job. Returns false when none was due.
pub async fn run_next(state: &AppState) -> AppResult<bool> {
    worker::next_of(
        state,
        automation::JOB_KIND,
        LEASE_SECONDS,
        |job| async move {
            let trigger: Result<Trigger, _> = serde_json::from_value(job.payload.clone());
            let Ok(trigger) = trigger else {
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
            let s = settings(state);
            let job_id = job.id;
            let ran = state
                .db(move |conn| {
                    let out = automation::run_trigger(conn, &trigger, s)?;
                    super::complete(conn, job_id)?;
                    Ok(out)
                })
                .await;
            match ran {
                Ok(_) => Ok(()),
                Err(e) => {
                    let text = e.to_string();
                    state
                        .db(move |conn| super::fail(conn, &job, &text, false, 5).map(|_| ()))
                        .await
                }
            }
        },
    )
    .await
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
