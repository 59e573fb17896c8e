//! Graceful shutdown of a node's job work (issue 15): draining, and the leases this process
//! holds.
//!
//! A node is one process, so both are process-wide:
//! - [`start_draining`] (called on SIGTERM by `serve`) makes every claim of this process
//!   ([`super::claim`], [`super::claim_batch`], [`super::worker::every`], the ingest loops)
//!   answer "nothing due", and `/ready` answer 503. Jobs already running finish; a send that is
//!   still waiting for its rate-limit slot gives its job back at once (`jobs::send`).
//! - Every lease taken by [`super::claim`] / [`super::claim_batch`] is recorded with the
//!   `run_at` the claim set (the lease's end) and forgotten when the job is completed, failed,
//!   retried or postponed. [`release_held`] makes the leases still held due now, so another
//!   node takes them without waiting for expiry: only rows whose `run_at` is still exactly the
//!   lease's end (nobody moved them since) and whose `started_at` is unset (no
//!   irreversible call began: a send whose Graph call began keeps its lease and is reconciled,
//!   see `jobs::send`).

use crate::db::prepared::Prepare;
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Timestamptz};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex};

static DRAINING: AtomicBool = AtomicBool::new(false);
static HELD: LazyLock<Mutex<HashMap<i64, DateTime<Utc>>>> = LazyLock::new(Default::default);

/// True once this process started draining (SIGTERM).
pub fn draining() -> bool {
    DRAINING.load(Ordering::Relaxed)
}

/// Starts draining this process: no new claims, `/ready` answers 503. There is no way back.
pub fn start_draining() {
    DRAINING.store(true, Ordering::SeqCst);
}

/// Resolves once this process is draining (checked every 50 ms).
pub async fn until_draining() {
    while !draining() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Records that this process leased job `id` until `lease_end` (the `run_at` its claim set).
pub fn hold(id: i64, lease_end: DateTime<Utc>) {
    HELD.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, lease_end);
}

/// Forgets the lease of job `id` (it was completed, failed, retried or postponed).
pub fn let_go(id: i64) {
    HELD.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
}

/// How many leases this process holds.
pub fn held_count() -> usize {
    HELD.lock().unwrap_or_else(|e| e.into_inner()).len()
}

/// Makes every lease this process still holds due now (see the module doc for which rows
/// qualify) and forgets them all. Returns how many jobs were handed back. Call it last,
/// when the process no longer works on them. Errors: the database.
pub fn release_held(conn: &mut PgConnection) -> AppResult<usize> {
    let held: Vec<(i64, DateTime<Utc>)> = HELD
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain()
        .collect();
    if held.is_empty() {
        return Ok(0);
    }
    let (ids, ends): (Vec<i64>, Vec<DateTime<Utc>>) = held.into_iter().unzip();
    Ok(diesel::sql_query(
        "UPDATE jobs SET run_at = now(), updated_at = now() \
         FROM unnest($1::bigint[], $2::timestamptz[]) AS h(id, lease_end) \
         WHERE jobs.id = h.id AND jobs.status = 'pending' AND jobs.run_at = h.lease_end \
           AND jobs.started_at IS NULL",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Array<Timestamptz>, _>(&ends)
    .prepared()
    .execute(conn)?)
}

/// The end of a lease of `seconds` from now, at PostgreSQL's precision (microseconds), so
/// [`release_held`] can compare it with the stored `run_at` exactly.
pub fn lease_end(seconds: i64) -> DateTime<Utc> {
    let end = Utc::now() + chrono::Duration::seconds(seconds);
    DateTime::from_timestamp_micros(end.timestamp_micros()).unwrap_or(end)
}
