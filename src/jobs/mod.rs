//! The PostgreSQL job queue and its workers.
//!
//! Jobs are rows in `jobs`, claimed with `FOR UPDATE SKIP LOCKED` and leased, so any number of processes can
//! share one queue and a crash only delays a job until its lease ends.
//! Ingest workers wake on PostgreSQL NOTIFY (any process's new journal events) and otherwise
//! poll every [`POLL_INTERVAL`]; the media worker polls.
//! The webhook journal (`whatsapp_events`) is drained the same way by [`ingest`].

/// Issue 13 (rules): automation rules' jobs and time-based sweep.
pub mod automation;
pub mod contact_import;
/// Issue 12: Dualhook lifecycle events.
pub mod dualhook;
pub mod email;
pub mod ingest;
pub mod journal_writer;
/// Issue 15 (limits): draining and the leases this process holds (graceful shutdown).
pub mod leases;
/// Issue 15 (limits): pruning of idle shared rate-limit buckets.
pub mod limits;
pub mod media;
pub mod number_health;
pub mod send;
pub mod template_sync;
pub mod webhook_delivery;
pub mod worker;

// Issue 13 (avail): auto-assignment drains and the presence sweep.
pub mod assignment;
// Issue 13 (hours): greeting, out of office and CSAT.
pub mod hours;
// Issue 13 (SLA): missed deadlines.
pub mod sla;
// Issue 15 (retention): the pruning job.
pub mod retention;
// Issue 15 (ingest): backlog, lag and the backlog alarm.
pub mod ingest_lag;
// Issue 14 (reports): customer service windows closed unanswered.
pub mod reports;

use crate::db::prepared::Prepare;
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

/// Job kind: send one outgoing message, or a read receipt, to Graph (see [`send`]).
pub const WHATSAPP_SEND: &str = "whatsapp_send";

/// LISTEN/NOTIFY channel announcing new send jobs to every process.
pub const SEND_CHANNEL: &str = "switchboard_send";

/// A claimed job.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
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

/// The pending jobs, as SQL text. Every index that finds due jobs is partial
/// (`… WHERE status = 'pending'`), and PostgreSQL uses a partial index only when the query
/// itself implies its predicate: with `status = $1` (a bind), the generic plan a prepared
/// statement switches to after five calls cannot, and scans the whole table. Under the rules
/// benchmark (`scripts/bench-rules`: 10,000 automation jobs queued in 10 s) the claim took
/// 10.8 ms on average that way (`pg_stat_statements`).
pub const PENDING: &str = "jobs.status = 'pending'";

/// Claims the oldest due job of `kind` by leasing it for `lease_seconds`: its `run_at` moves
/// past the lease, so other workers skip it while this one works outside any transaction.
/// A worker that crashes simply lets the lease run out and the job runs again.
pub fn claim(conn: &mut PgConnection, kind: &str, lease_seconds: i64) -> AppResult<Option<Job>> {
    if leases::draining() {
        return Ok(None);
    }
    conn.transaction(|conn| {
        // `'pending'` is in the SQL text, not a bind: the cached generic plan must see it to
        // use the partial index `jobs_kind_due` (see [`PENDING`]).
        let job: Option<Job> = jobs::table
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(PENDING))
            .filter(jobs::kind.eq(kind))
            .filter(jobs::run_at.le(diesel::dsl::now))
            .order((jobs::run_at, jobs::id))
            .limit(1)
            .for_update()
            .skip_locked()
            .select(Job::as_select())
            .prepared()
            .get_result(conn)
            .optional()?;
        if let Some(j) = &job {
            let end = leases::lease_end(lease_seconds);
            diesel::update(jobs::table.find(j.id))
                .set(jobs::run_at.eq(end))
                .execute(conn)?;
            leases::hold(j.id, end);
        }
        Ok(job)
    })
}

/// Queues a job that runs after every earlier pending job with the same `ordering_key`
/// (see [`claim_batch`]). Call it inside the transaction that creates what it works on.
pub fn enqueue_ordered(
    conn: &mut PgConnection,
    kind: &str,
    payload: Value,
    max_attempts: i32,
    ordering_key: &str,
) -> AppResult<i64> {
    Ok(diesel::insert_into(jobs::table)
        .values((
            jobs::kind.eq(kind),
            jobs::payload.eq(payload),
            jobs::max_attempts.eq(max_attempts),
            jobs::ordering_key.eq(ordering_key),
        ))
        .returning(jobs::id)
        .get_result(conn)?)
}

/// Claims up to `limit` due jobs of `kind`, leasing each for `lease_seconds` (see [`claim`]).
/// A job with an `ordering_key` is only claimed when no earlier job with that key is still
/// pending (running, waiting for a retry or due), so such jobs run one at a time, in order.
pub fn claim_batch(
    conn: &mut PgConnection,
    kind: &str,
    limit: i64,
    lease_seconds: i64,
) -> AppResult<Vec<Job>> {
    use diesel::sql_types::{BigInt, Text};
    if leases::draining() {
        return Ok(Vec::new());
    }
    let claimed: Vec<Job> = diesel::sql_query(
        "WITH picked AS (            SELECT j.id FROM jobs j            WHERE j.status = 'pending' AND j.kind = $1 AND j.run_at <= now()              AND (j.ordering_key IS NULL OR NOT EXISTS (                SELECT 1 FROM jobs e WHERE e.status = 'pending'                  AND e.ordering_key = j.ordering_key AND e.id < j.id))            ORDER BY j.run_at, j.id LIMIT $2 FOR UPDATE SKIP LOCKED)          UPDATE jobs SET run_at = now() + make_interval(secs => $3)          FROM picked WHERE jobs.id = picked.id          RETURNING jobs.id, jobs.kind, jobs.payload, jobs.status, jobs.attempts,            jobs.max_attempts, jobs.run_at, jobs.last_error, jobs.created_at, jobs.updated_at,            jobs.ordering_key, jobs.started_at",
    )
    .bind::<Text, _>(kind)
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(lease_seconds)
    .prepared()
    .load(conn)?;
    for job in &claimed {
        // RETURNING gives the new `run_at`: the lease's end.
        leases::hold(job.id, job.run_at);
    }
    Ok(claimed)
}

/// Records that an attempt of the job is about to do something that cannot be undone (e.g. a
/// Graph send). Found still set on a later claim, it means that attempt crashed.
pub fn mark_started(conn: &mut PgConnection, job_id: i64) -> AppResult<()> {
    diesel::update(jobs::table.find(job_id))
        .set(jobs::started_at.eq(diesel::dsl::now))
        .execute(conn)?;
    Ok(())
}

/// Puts a claimed job back to run at `run_at` without counting an attempt.
pub fn postpone(conn: &mut PgConnection, job_id: i64, run_at: DateTime<Utc>) -> AppResult<()> {
    leases::let_go(job_id);
    diesel::update(jobs::table.find(job_id))
        .set((
            jobs::run_at.eq(run_at),
            jobs::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt that is retried after `delay` when `retry` is true and attempts
/// remain; otherwise the job is `failed`. `keep_started` leaves `started_at` set (the
/// attempt's outcome is unknown). Returns true when it will retry.
pub fn fail_after(
    conn: &mut PgConnection,
    job: &Job,
    error: &str,
    retry: bool,
    delay: Duration,
    keep_started: bool,
) -> AppResult<bool> {
    leases::let_go(job.id);
    let attempts = job.attempts + 1;
    let retry = retry && attempts < job.max_attempts;
    let started_at: Option<DateTime<Utc>> = if keep_started {
        Some(job.started_at.unwrap_or_else(Utc::now))
    } else {
        None
    };
    diesel::update(jobs::table.find(job.id))
        .set((
            jobs::status.eq(if retry { "pending" } else { "failed" }),
            jobs::attempts.eq(attempts),
            jobs::last_error.eq(error),
            jobs::run_at.eq(Utc::now() + delay),
            jobs::started_at.eq(started_at),
            jobs::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(retry)
}

/// Exponential backoff in milliseconds: `base_ms * 2^(attempt-1)`, capped at 1 hour.
pub fn backoff_ms(base_ms: u64, attempt: i32) -> Duration {
    let exp = (attempt.max(1) - 1).min(20) as u32;
    let ms = base_ms
        .saturating_mul(2u64.saturating_pow(exp))
        .min(3600 * 1000);
    Duration::milliseconds(ms as i64)
}

/// Marks a job done.
pub fn complete(conn: &mut PgConnection, job_id: i64) -> AppResult<()> {
    leases::let_go(job_id);
    diesel::update(jobs::table.find(job_id))
        .set((
            jobs::status.eq("done"),
            jobs::started_at.eq(None::<DateTime<Utc>>),
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
    leases::let_go(job.id);
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
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(PENDING))
        .filter(jobs::kind.eq(kind))
        .count()
        .prepared()
        .get_result(conn)?)
}

/// Blocks the calling thread for good: LISTENs on `channels` with a connection of its own
/// and calls `wake(channel)` whenever any process NOTIFYs one of them (new journal events,
/// new send jobs), so workers in every process start at once instead of at their next poll.
/// Reconnects after errors (see [`listen`]).
pub fn listen_for_work(database_url: &str, channels: &[&str], wake: impl Fn(&str)) -> ! {
    listen(
        database_url,
        channels,
        || false,
        |_| Ok(()),
        |_, notes| {
            let mut woke: Vec<&str> = Vec::new();
            for note in notes {
                if !woke.contains(&note.channel.as_str()) {
                    woke.push(&note.channel);
                }
            }
            for channel in woke {
                wake(channel);
            }
            Ok(())
        },
    );
    unreachable!("listen only returns when asked to stop")
}

/// How often [`listen`] drains its connection's notifications.
pub const LISTEN_INTERVAL: std::time::Duration = std::time::Duration::from_millis(25);

/// Blocks the calling thread: LISTENs on `channels` with a connection of its own, then every
/// [`LISTEN_INTERVAL`] hands the notifications received since the last round (in arrival
/// order, possibly none skipped) to `on_notes` together with that connection, which it may
/// use for queries. `on_connect` runs after each (re)connection has LISTENed, before any
/// notification is handed on: notifications sent while disconnected are lost, so that is
/// where a caller catches up. An error from either callback, or a lost connection, drops the
/// connection and reconnects after 1 s. Returns once `stop()` is true (checked every round).
pub fn listen(
    database_url: &str,
    channels: &[&str],
    stop: impl Fn() -> bool,
    mut on_connect: impl FnMut(&mut PgConnection) -> AppResult<()>,
    mut on_notes: impl FnMut(&mut PgConnection, &[diesel::pg::PgNotification]) -> AppResult<()>,
) {
    use diesel::Connection;
    while !stop() {
        let listened: Result<(), String> = PgConnection::establish(database_url)
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                for channel in channels {
                    diesel::sql_query(format!("LISTEN {channel}"))
                        .execute(&mut conn)
                        .map_err(|e| e.to_string())?;
                }
                on_connect(&mut conn).map_err(|e| e.to_string())?;
                while !stop() {
                    let notes = conn
                        .notifications_iter()
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| e.to_string())?;
                    if !notes.is_empty() {
                        on_notes(&mut conn, &notes).map_err(|e| e.to_string())?;
                    }
                    std::thread::sleep(LISTEN_INTERVAL);
                }
                Ok(())
            });
        if let Err(e) = listened {
            if stop() {
                return;
            }
            tracing::warn!(error = %e, channels = ?channels, "listener lost its connection; reconnecting");
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}
