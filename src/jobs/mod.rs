//! The PostgreSQL job queue and its workers.
//!
//! Jobs are rows in `jobs`, claimed with `FOR UPDATE SKIP LOCKED` and leased, so any number of processes can
//! share one queue and a crash only delays a job until its lease ends.
//! Ingest workers wake on PostgreSQL NOTIFY (any process's new journal events) and otherwise
//! poll every [`POLL_INTERVAL`]; the media worker polls.
//! The webhook journal (`whatsapp_events`) is drained the same way by [`ingest`].

pub mod ingest;
pub mod journal_writer;
pub mod media;

use crate::db::schema::jobs;
use crate::error::AppResult;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde_json::Value;

/// How often idle workers look for work they were not woken for (e.g. retries coming due).
pub const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// LISTEN/NOTIFY channel announcing new journal events to every process.
pub const INGEST_CHANNEL: &str = "switchboard_ingest";

/// Job kind: download one attachment's media from Graph. Payload `{"attachment_id": i64}`.
pub const MEDIA_DOWNLOAD: &str = "media_download";

/// A claimed job.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: Value,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Jobs with the same key run one at a time, in id order.
    pub ordering_key: Option<String>,
    /// Set while an attempt runs; found set on a claim, the previous attempt crashed.
    pub started_at: Option<DateTime<Utc>>,
}

/// Queues a job to run now. Call it inside the transaction that creates what it works on, so
/// both commit together.
pub fn enqueue(
    conn: &mut PgConnection,
    kind: &str,
    payload: Value,
    max_attempts: i32,
) -> AppResult<i64> {
    Ok(diesel::insert_into(jobs::table)
        .values((
            jobs::kind.eq(kind),
            jobs::payload.eq(payload),
            jobs::max_attempts.eq(max_attempts),
        ))
        .returning(jobs::id)
        .get_result(conn)?)
}

/// Claims the oldest due job of `kind` by leasing it for `lease_seconds`: its `run_at` moves
/// past the lease, so other workers skip it while this one works outside any transaction.
/// A worker that crashes simply lets the lease run out and the job runs again.
pub fn claim(conn: &mut PgConnection, kind: &str, lease_seconds: i64) -> AppResult<Option<Job>> {
    conn.transaction(|conn| {
        let job: Option<Job> = jobs::table
            .filter(jobs::status.eq("pending"))
            .filter(jobs::kind.eq(kind))
            .filter(jobs::run_at.le(diesel::dsl::now))
            .order((jobs::run_at, jobs::id))
            .for_update()
            .skip_locked()
            .select(Job::as_select())
            .first(conn)
            .optional()?;
        if let Some(j) = &job {
            diesel::update(jobs::table.find(j.id))
                .set(jobs::run_at.eq(Utc::now() + Duration::seconds(lease_seconds)))
                .execute(conn)?;
        }
        Ok(job)
    })
}

/// Marks a job done.
pub fn complete(conn: &mut PgConnection, job_id: i64) -> AppResult<()> {
    diesel::update(jobs::table.find(job_id))
        .set((
            jobs::status.eq("done"),
            jobs::attempts.eq(jobs::attempts + 1),
            jobs::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Exponential backoff: `base_seconds * 2^(attempt-1)`, capped at 6 hours.
pub fn backoff(base_seconds: u64, attempt: i32) -> Duration {
    let exp = (attempt.max(1) - 1).min(20) as u32;
    let secs = base_seconds
        .saturating_mul(2u64.saturating_pow(exp))
        .min(6 * 3600);
    Duration::seconds(secs as i64)
}

/// Records a failed attempt. A `permanent` failure, or the last allowed attempt, marks the
/// job `failed`; otherwise it is retried after [`backoff`]. Returns true when it will retry.
pub fn fail(
    conn: &mut PgConnection,
    job: &Job,
    error: &str,
    permanent: bool,
    base_seconds: u64,
) -> AppResult<bool> {
    let attempts = job.attempts + 1;
    let retry = !permanent && attempts < job.max_attempts;
    diesel::update(jobs::table.find(job.id))
        .set((
            jobs::status.eq(if retry { "pending" } else { "failed" }),
            jobs::attempts.eq(attempts),
            jobs::last_error.eq(error),
            jobs::run_at.eq(Utc::now() + backoff(base_seconds, attempts)),
            jobs::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(retry)
}

/// Number of jobs waiting to run, by kind.
pub fn pending_count(conn: &mut PgConnection, kind: &str) -> AppResult<i64> {
    Ok(jobs::table
        .filter(jobs::status.eq("pending"))
        .filter(jobs::kind.eq(kind))
        .count()
        .get_result(conn)?)
}
