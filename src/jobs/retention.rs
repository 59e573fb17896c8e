//! The pruning job (issue 15, see [`crate::domain::retention`] for what is pruned and why).
//!
//! It is **one row** of `jobs` (kind [`RETENTION_PRUNE`], made by the migration and remade by
//! [`ensure_job`] if it is missing), claimed with the queue's lease ([`super::claim`],
//! `FOR UPDATE SKIP LOCKED`): however many processes poll it, one runs a round while the
//! others find nothing due. After a round the job's `run_at` moves `RETENTION_INTERVAL_SECONDS`
//! ahead ([`super::postpone`]); a process that dies mid-round lets its lease ([`LEASE_SECONDS`])
//! run out and another takes over. Each table is pruned in batches of `RETENTION_BATCH_SIZE`
//! rows, one transaction per batch; files are deleted from storage after their rows' commit.

use crate::app::AppState;
use crate::domain::retention::{self, PruneReport};
use crate::error::AppResult;
use chrono::Utc;
use diesel::prelude::*;
use prometheus::{IntCounterVec, Opts};
use std::sync::LazyLock;

/// Job kind of the pruning round.
pub const RETENTION_PRUNE: &str = "retention_prune";

/// How long a round may hold the job before another process may take it: 30 minutes.
pub const LEASE_SECONDS: i64 = 1800;

/// How often each process looks whether the round is due.
pub const CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Most batches per table in one round, so one round ends even on a huge backlog (the next
/// round goes on).
pub const MAX_BATCHES: u32 = 1000;

static PRUNED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    let c = IntCounterVec::new(
        Opts::new(
            "switchboard_retention_pruned_total",
            "Rows (or partitions, files) removed by the retention job, by table.",
        ),
        &["table"],
    )
    .expect("metric");
    crate::metrics::register(Box::new(c.clone()));
    c
});

/// Adds a round's figures to `switchboard_retention_pruned_total{table}`.
pub fn record(report: &PruneReport) {
    for (table, n) in report.rows() {
        PRUNED.with_label_values(&[table]).inc_by(n);
    }
}

/// Makes the job row if there is none pending (it is never completed, only postponed, so this
/// only matters after someone deleted it). Safe with several processes (an advisory lock).
pub fn ensure_job(conn: &mut PgConnection) -> AppResult<()> {
    conn.transaction(|conn| {
        crate::domain::xact_lock(conn, "jobs:retention_prune")?;
        if super::pending_count(conn, RETENTION_PRUNE)? == 0 {
            super::enqueue(conn, RETENTION_PRUNE, serde_json::json!({}), 1_000_000)?;
        }
        Ok(())
    })
}

/// Runs `batch` until it returns fewer than `limit` (or [`MAX_BATCHES`] ran); sums them.
async fn batches<F>(state: &AppState, limit: i64, batch: F) -> AppResult<u64>
where
    F: Fn(&mut PgConnection) -> AppResult<u64> + Send + Sync + Clone + 'static,
{
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        let b = batch.clone();
        let n = state.db(move |conn| b(conn)).await?;
        total += n;
        if n < limit as u64 {
            break;
        }
    }
    Ok(total)
}

/// Runs `take` (which returns storage keys) until it returns none, deleting those files after
/// each commit; returns (rows `take` reported, files deleted).
async fn file_batches<F>(state: &AppState, take: F) -> AppResult<(u64, u64)>
where
    F: Fn(&mut PgConnection) -> AppResult<(u64, Vec<String>)> + Send + Sync + Clone + 'static,
{
    let (mut rows, mut files) = (0, 0);
    for _ in 0..MAX_BATCHES {
        let t = take.clone();
        let (n, keys) = state.db(move |conn| t(conn)).await?;
        state.storage.delete_all(&keys).await;
        rows += n;
        files += keys.len() as u64;
        if n == 0 {
            break;
        }
    }
    Ok((rows, files))
}

/// One pruning round with `state.config.retention`, now. Does not claim anything: see
/// [`run_once`]. Errors: the database (what was pruned before stays pruned).
pub async fn prune_round(state: &AppState) -> AppResult<PruneReport> {
    let cfg = state.config.retention.clone();
    let now = Utc::now();
    let limit = cfg.batch_size as i64;
    let mut report = PruneReport::default();
    let ahead = cfg.partitions_ahead_days;
    report.partitions_created = state
        .db(move |conn| retention::ensure_partitions(conn, now.date_naive(), ahead))
        .await?;
    if let Some(cut) = retention::cutoff(now, cfg.webhook_events_days) {
        let (dropped, first) = state
            .db(move |conn| retention::prune_journal(conn, cut, limit))
            .await?;
        report.whatsapp_event_partitions = dropped;
        report.whatsapp_events = first;
        if first >= limit as u64 {
            report.whatsapp_events += batches(state, limit, move |conn| {
                Ok(retention::prune_journal(conn, cut, limit)?.1)
            })
            .await?;
        }
    }
    if let Some(cut) = retention::cutoff(now, cfg.webhook_deliveries_days) {
        report.webhook_deliveries = batches(state, limit, move |conn| {
            retention::prune_webhook_deliveries(conn, cut, limit)
        })
        .await?;
    }
    if let Some(cut) = retention::cutoff(now, cfg.pending_updates_days) {
        report.pending_message_updates = batches(state, limit, move |conn| {
            retention::prune_pending_updates(conn, cut, limit)
        })
        .await?;
    }
    if let Some(cut) = retention::cutoff(now, cfg.notifications_days) {
        report.notifications = batches(state, limit, move |conn| {
            retention::prune_notifications(conn, cut, limit)
        })
        .await?;
    }
    if let Some(cut) = retention::cutoff(now, cfg.failed_send_files_days) {
        let (taken, _) = file_batches(state, move |conn| {
            retention::take_failed_send_files(conn, cut, limit)
        })
        .await?;
        report.failed_send_files = taken;
    }
    let conv_limit = (limit / 10).max(1);
    let (conversations, _) = file_batches(state, move |conn| {
        retention::prune_conversations(conn, now, conv_limit)
    })
    .await?;
    report.conversations = conversations;
    record(&report);
    Ok(report)
}

/// Claims the round if it is due (on any process: the job's lease), runs it, and moves the
/// job to the next round. `None` when another process holds it or it is not due.
/// Errors: the database (the job is then left to its lease and retried).
pub async fn run_once(state: &AppState) -> AppResult<Option<PruneReport>> {
    let Some(job) = state
        .db(|conn| super::claim(conn, RETENTION_PRUNE, LEASE_SECONDS))
        .await?
    else {
        return Ok(None);
    };
    let result = prune_round(state).await;
    let next =
        Utc::now() + chrono::Duration::seconds(state.config.retention.interval_seconds as i64);
    let id = job.id;
    state
        .db(move |conn| super::postpone(conn, id, next))
        .await?;
    let report = result?;
    if report.rows().iter().any(|(_, n)| *n > 0) {
        tracing::info!(?report, "retention: pruned");
    }
    Ok(Some(report))
}

/// The loop every process runs: makes sure the job exists, then every [`CHECK_INTERVAL`]
/// runs the round if due. A draining process claims nothing ([`super::claim`]).
pub async fn run(state: AppState) {
    if let Err(e) = state.db(|conn| ensure_job(conn)).await {
        tracing::warn!(error = %e, "retention: could not make the pruning job");
    }
    loop {
        if let Err(e) = run_once(&state).await {
            tracing::warn!(error = %e, "retention: pruning round failed");
        }
        tokio::time::sleep(CHECK_INTERVAL).await;
    }
}
