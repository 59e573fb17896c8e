//! The automation worker: runs the `automation` jobs `domain::automation` queues (one per
//! domain event an active rule listens to, and one per time-based fire), and the sweep that
//! finds time-based rules' conversations every [`SWEEP_INTERVAL`].
//!
//! A job runs `automation::run_trigger` (conditions, actions, run log, in one transaction),
//! then makes the `send_webhook_event` POSTs (unsigned body, through the same SSRF-guarded
//! client as integration webhooks; one attempt, the outcome logged). A database error
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
                Ok((_, posts)) => {
                    post_all(state, posts).await;
                    Ok(())
                }
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

/// Makes the webhook POSTs of a run or a macro (one attempt each, outcome logged).
pub async fn post_all(state: &AppState, posts: Vec<automation::actions::PendingPost>) {
    for p in posts {
        let body = serde_json::to_vec(&p.body).unwrap_or_default();
        let id = crate::crypto::random_hex(16);
        let r = super::webhook_delivery::post(
            &p.url,
            "",
            &id,
            &body,
            state.config.webhooks_allow_private_targets,
        )
        .await;
        match r.error {
            None => tracing::info!(url = %p.url, "automation webhook delivered"),
            Some(e) => tracing::warn!(url = %p.url, error = %e, "automation webhook failed"),
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
