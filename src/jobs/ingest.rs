//! The ingest worker: drains the `whatsapp_events` journal into conversations.
//!
//! Each event is claimed with `FOR UPDATE SKIP LOCKED` and processed in the same transaction,
//! so a crash leaves it pending and another worker or process picks it up. A failure rolls
//! back to a savepoint, records the error and retries with backoff; after
//! [`MAX_ATTEMPTS`] the event is marked `failed` and kept for inspection.

use crate::db::schema::{inboxes, whatsapp_events};
use crate::domain::inboxes::{self as inbox_domain, InboxWithChannel};
use crate::error::{AppError, AppResult};
use crate::whatsapp::ingest::{self, IngestReport};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// Attempts before an event is marked `failed`.
pub const MAX_ATTEMPTS: i32 = 10;

/// Retry delay base for a failed event, in seconds (doubled per attempt).
pub const RETRY_BASE_SECONDS: u64 = 5;

/// A journal row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = whatsapp_events)]
pub struct WhatsappEvent {
    pub id: i64,
    pub inbox_id: Option<i64>,
    pub phone_number: String,
    pub raw_body: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub unhandled_fields: Option<Vec<String>>,
    pub run_after: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

/// Events claimed per transaction by [`process_batch`]. Each event runs in a savepoint, and
/// PostgreSQL caches at most 64 subtransactions per backend before snapshots get slower for
/// everyone, so this stays below 64.
pub const BATCH_SIZE: usize = 50;

/// What happened to one event: its report, or the error it will be retried for.
pub type EventOutcome = (i64, Result<IngestReport, String>);

/// Claims up to `limit` due events (oldest first, `FOR UPDATE SKIP LOCKED`) and processes
/// them in one transaction, each in a savepoint of its own: a failing body rolls back alone,
/// its failure is recorded and it is retried with backoff. One commit per batch keeps the
/// per-event cost low. Errors: only when the database itself fails (nothing is committed).
pub fn process_batch(conn: &mut PgConnection, limit: usize) -> AppResult<Vec<EventOutcome>> {
    let (outcomes, last_seen) = conn.transaction(|conn| {
        let events: Vec<WhatsappEvent> = whatsapp_events::table
            .filter(whatsapp_events::status.eq("pending"))
            .filter(whatsapp_events::run_after.le(diesel::dsl::now))
            .order(whatsapp_events::id)
            .limit(limit as i64)
            .for_update()
            .skip_locked()
            .select(WhatsappEvent::as_select())
            .load(conn)?;
        let mut inbox_cache: HashMap<i64, InboxWithChannel> = HashMap::new();
        let mut last_seen: HashMap<i64, DateTime<Utc>> = HashMap::new();
        let mut outcomes = Vec::with_capacity(events.len());
        for event in events {
            let outcome = match event.inbox_id {
                None => Err(AppError::NotFound(
                    "the inbox of this event was deleted".into(),
                )),
                Some(inbox_id) => {
                    let cached = match inbox_cache.entry(inbox_id) {
                        Entry::Occupied(e) => Ok(&*e.into_mut()),
                        Entry::Vacant(v) => {
                            inbox_domain::find_by_id(conn, inbox_id).map(|found| &*v.insert(found))
                        }
                    };
                    // A savepoint: a failing body rolls back alone.
                    cached.and_then(|(inbox, channel)| {
                        conn.transaction(|conn| {
                            ingest::process_body(conn, inbox, channel, &event.raw_body)
                        })
                    })
                }
            };
            outcomes.push(record_outcome(conn, &event, outcome, &mut last_seen)?);
        }
        Ok::<_, AppError>((outcomes, last_seen))
    })?;
    // Outside the batch transaction: a hot inbox row must not be held while events run.
    for (inbox_id, at) in last_seen {
        diesel::update(inboxes::table.find(inbox_id))
            .set(inboxes::last_webhook_at.eq(Some(at)))
            .execute(conn)?;
    }
    Ok(outcomes)
}

fn record_outcome(
    conn: &mut PgConnection,
    event: &WhatsappEvent,
    outcome: AppResult<IngestReport>,
    last_seen: &mut HashMap<i64, DateTime<Utc>>,
) -> AppResult<EventOutcome> {
    match outcome {
        Ok(report) => {
            diesel::update(whatsapp_events::table.find(event.id))
                .set((
                    whatsapp_events::status.eq("processed"),
                    whatsapp_events::attempts.eq(event.attempts + 1),
                    whatsapp_events::processed_at.eq(Some(Utc::now())),
                    whatsapp_events::unhandled_fields
                        .eq(Some(report.unhandled_fields.clone()).filter(|f| !f.is_empty())),
                ))
                .execute(conn)?;
            let lag = (Utc::now() - event.received_at).num_milliseconds() as f64 / 1000.0;
            crate::metrics::observe_ingest_lag(lag);
            if let Some(inbox_id) = event.inbox_id {
                let seen = last_seen.entry(inbox_id).or_insert(event.received_at);
                *seen = (*seen).max(event.received_at);
            }
            if !report.skipped.is_empty() {
                tracing::warn!(event_id = event.id, skipped = ?report.skipped, "some webhook items were skipped");
            }
            Ok((event.id, Ok(report)))
        }
        Err(AppError::DatabaseUnavailable(e)) => Err(AppError::DatabaseUnavailable(e)),
        Err(e) => {
            let message = match &e {
                AppError::Internal(detail) => detail.clone(),
                other => other.to_string(),
            };
            // Lost a lock race with another worker (PostgreSQL broke a deadlock or a
            // serialization conflict): not the event's fault, so no attempt is spent.
            let contention =
                message.contains("deadlock detected") || message.contains("could not serialize");
            let attempts = if contention {
                event.attempts
            } else {
                event.attempts + 1
            };
            let failed = attempts >= MAX_ATTEMPTS;
            tracing::error!(event_id = event.id, attempts, error = %message, "webhook event processing failed");
            diesel::update(whatsapp_events::table.find(event.id))
                .set((
                    whatsapp_events::status.eq(if failed { "failed" } else { "pending" }),
                    whatsapp_events::attempts.eq(attempts),
                    whatsapp_events::last_error.eq(Some(&message)),
                    whatsapp_events::run_after.eq(if contention {
                        Utc::now() + chrono::Duration::milliseconds(200)
                    } else {
                        Utc::now() + super::backoff(RETRY_BASE_SECONDS, attempts)
                    }),
                ))
                .execute(conn)?;
            Ok((event.id, Err(message)))
        }
    }
}

/// Appends raw webhook bodies to the journal in one multi-row insert; returns their ids in
/// order. Its commit is what lets the webhook answer 200 (DESIGN.md invariant 1; see
/// [`super::journal_writer`]). Each entry is `(inbox_id, phone_number, raw_body)`.
pub fn journal_many(
    conn: &mut PgConnection,
    entries: &[(i64, String, String)],
) -> AppResult<Vec<i64>> {
    let rows: Vec<_> = entries
        .iter()
        .map(|(inbox_id, phone, body)| {
            (
                whatsapp_events::inbox_id.eq(*inbox_id),
                whatsapp_events::phone_number.eq(phone),
                whatsapp_events::raw_body.eq(body),
            )
        })
        .collect();
    conn.transaction(|conn| {
        let ids = diesel::insert_into(whatsapp_events::table)
            .values(&rows)
            .returning(whatsapp_events::id)
            .get_results(conn)?;
        // Delivered on commit to every process listening (see `listen_for_work`).
        diesel::sql_query(format!("NOTIFY {}", super::INGEST_CHANNEL)).execute(conn)?;
        Ok(ids)
    })
}

/// Processes the oldest due event, if any (a batch of one).
pub fn process_next(conn: &mut PgConnection) -> AppResult<Option<EventOutcome>> {
    Ok(process_batch(conn, 1)?.pop())
}

/// Processes due events in batches until none is left or about `max` were handled.
/// Returns how many.
pub fn drain(conn: &mut PgConnection, max: usize) -> AppResult<usize> {
    let mut n = 0;
    while n < max {
        let done = process_batch(conn, BATCH_SIZE.min(max - n))?.len();
        if done == 0 {
            break;
        }
        n += done;
    }
    Ok(n)
}

/// Puts every `failed` event back to `pending` with a fresh attempt count; returns how many.
pub fn retry_failed(conn: &mut PgConnection) -> AppResult<usize> {
    Ok(
        diesel::update(whatsapp_events::table.filter(whatsapp_events::status.eq("failed")))
            .set((
                whatsapp_events::status.eq("pending"),
                whatsapp_events::attempts.eq(0),
                whatsapp_events::run_after.eq(diesel::dsl::now),
            ))
            .execute(conn)?,
    )
}

/// Events not yet processed (the ingest backlog).
pub fn backlog(conn: &mut PgConnection) -> AppResult<i64> {
    Ok(whatsapp_events::table
        .filter(whatsapp_events::status.eq("pending"))
        .count()
        .get_result(conn)?)
}
