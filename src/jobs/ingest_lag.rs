//! How far ingest is behind, and the alarm when it falls too far (issue 15, "Ingest that
//! keeps up").
//!
//! - [`read`]: the *backlog* (journal events with `status = 'pending'`, due or waiting for a
//!   retry) and the *lag* (age in seconds of the oldest of them, 0 when none), in one
//!   statement. `/health` shows both (`ingest_backlog`, `ingest_lag_seconds`); the metrics
//!   show them as `switchboard_ingest_backlog` and `switchboard_ingest_oldest_pending_age_seconds`.
//! - [`BacklogAlarm`]: raised when the backlog passes `INGEST_BACKLOG_ALERT`
//!   (`Config::ingest_backlog_alert`, default 10000; 0 = off), cleared when it falls back to
//!   the bound or below. Each crossing logs one line (warn when raised, info when cleared),
//!   never one per event; while raised, `switchboard_ingest_backlog_alarm` is 1 and
//!   administrators see a banner at the top of the workspace. Webhooks are still
//!   acknowledged durably: the alarm only tells, it never refuses.
//!
//! Every process checks on its own every [`CHECK_INTERVAL`] ([`run`]), so with N nodes each
//! logs its own crossing; the state is per process because it only decides what to *say*.

use crate::app::AppState;
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double};
use std::sync::Mutex;

/// How often [`run`] reads the backlog: every 5 seconds.
pub const CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// The ingest backlog and lag at one moment.
#[derive(Debug, Clone, Copy, PartialEq, QueryableByName)]
pub struct Lag {
    /// Journal events not processed yet (`status = 'pending'`).
    #[diesel(sql_type = BigInt)]
    pub backlog: i64,
    /// Seconds since the oldest of them was received; 0 when there is none.
    #[diesel(sql_type = Double)]
    pub oldest_age_seconds: f64,
}

/// Reads the backlog and the lag in one statement (the `whatsapp_events_due` partial index
/// keeps it to the pending rows). Errors: database errors only.
pub fn read(conn: &mut PgConnection) -> AppResult<Lag> {
    let mut lag: Lag = diesel::sql_query(
        "SELECT count(*) AS backlog, \
                COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(received_at))::float8, 0) \
                    AS oldest_age_seconds \
         FROM whatsapp_events WHERE status = 'pending'",
    )
    .get_result(conn)?;
    lag.oldest_age_seconds = lag.oldest_age_seconds.max(0.0);
    Ok(lag)
}

/// A raised alarm: since when, and the backlog and lag at the last check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Raised {
    /// When the backlog passed the bound.
    pub since: DateTime<Utc>,
    /// The bound it passed (`INGEST_BACKLOG_ALERT`).
    pub bound: i64,
    /// The last reading.
    pub lag: Lag,
}

impl Raised {
    /// The administrators' banner sentence, without a final full stop.
    pub fn banner(&self) -> String {
        format!(
            "Incoming WhatsApp messages are arriving faster than they can be shown: {} deliveries are waiting (the alert bound is {}) and the oldest arrived {} ago. Nothing is lost; they appear as soon as ingest catches up",
            self.lag.backlog,
            self.bound,
            human_seconds(self.lag.oldest_age_seconds)
        )
    }
}

fn human_seconds(s: f64) -> String {
    let s = s.max(0.0).round() as i64;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}

/// What an [`BacklogAlarm::observe`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The backlog just passed the bound (one warn line was logged).
    Raised,
    /// The backlog just fell back to the bound or below (one info line was logged).
    Cleared,
    /// No crossing.
    Unchanged,
}

/// One process's backlog alarm (in [`AppState`]); see the module docs.
#[derive(Debug, Default)]
pub struct BacklogAlarm {
    state: Mutex<Option<Raised>>,
}

impl BacklogAlarm {
    /// A cleared alarm.
    pub fn new() -> Self {
        Self::default()
    }

    /// The raised alarm, if any.
    pub fn raised(&self) -> Option<Raised> {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies one reading against `bound` (0 = the alarm is off): raises the alarm when the
    /// backlog is above the bound, clears it when it is not, logs once per crossing and sets
    /// the `switchboard_ingest_backlog_alarm` gauge.
    pub fn observe(&self, lag: Lag, bound: i64) -> Transition {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let above = bound > 0 && lag.backlog > bound;
        let transition = match (state.as_mut(), above) {
            (None, true) => {
                tracing::warn!(
                    backlog = lag.backlog,
                    bound,
                    lag_seconds = lag.oldest_age_seconds,
                    "ingest backlog passed INGEST_BACKLOG_ALERT: webhooks are still acknowledged, but messages appear late"
                );
                *state = Some(Raised {
                    since: Utc::now(),
                    bound,
                    lag,
                });
                Transition::Raised
            }
            (Some(raised), true) => {
                raised.lag = lag;
                raised.bound = bound;
                Transition::Unchanged
            }
            (Some(raised), false) => {
                tracing::info!(
                    backlog = lag.backlog,
                    bound,
                    raised_for_seconds = (Utc::now() - raised.since).num_seconds(),
                    "ingest backlog back within INGEST_BACKLOG_ALERT"
                );
                *state = None;
                Transition::Cleared
            }
            (None, false) => Transition::Unchanged,
        };
        crate::metrics::set_ingest_backlog_alarm(state.is_some());
        transition
    }

    /// Reads the backlog ([`read`]) and applies it ([`BacklogAlarm::observe`]).
    /// Errors: database errors only (the alarm is left as it was).
    pub fn check(&self, conn: &mut PgConnection, bound: i64) -> AppResult<(Lag, Transition)> {
        let lag = read(conn)?;
        Ok((lag, self.observe(lag, bound)))
    }
}

/// The process's backlog check: every [`CHECK_INTERVAL`], [`BacklogAlarm::check`] with
/// `INGEST_BACKLOG_ALERT`. Spawned by `app::spawn_workers`.
pub async fn run(state: AppState) {
    loop {
        let alarm = state.ingest_alarm.clone();
        let bound = state.config.ingest_backlog_alert;
        if let Err(e) = state.db(move |conn| alarm.check(conn, bound)).await {
            tracing::warn!(error = %e, "could not read the ingest backlog");
        }
        tokio::time::sleep(CHECK_INTERVAL).await;
    }
}
