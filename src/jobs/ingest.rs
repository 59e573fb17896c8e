//! The ingest worker: drains the `whatsapp_events` journal into conversations.
//!
//! Work is done in *units*, each one short transaction: [`process_batch`] claims due events
//! (`FOR UPDATE SKIP LOCKED`, oldest `run_after` first) and processes at most [`UNIT_ITEMS`]
//! of their items (messages, statuses…; see `crate::whatsapp::ingest`). An event with more
//! items (Meta batches up to thousands into one POST) records how far it got (`items_done`,
//! committed with the items) and goes to the back of the queue (`run_after = now()`), so an
//! ordinary delivery waits behind at most one unit per worker, never behind a whole 3 MiB
//! body; a crash loses only the uncommitted unit, and the next claim resumes after the last
//! committed one (the `(inbox_id, source_id)` unique index makes a repeat harmless anyway).
//!
//! Before touching anything, a unit takes the advisory locks of every identity and wamid its
//! items name, all at once and in one global order (`domain::xact_lock_all`), so concurrent
//! units serialise on shared customers instead of deadlocking.
//!
//! Under those locks the unit reads, in one statement, which of its wamids are stored and
//! which have updates waiting ([`ingest::Seen`]), runs all its events in ONE savepoint and
//! marks the finished ones `processed` with one multi-row `UPDATE` (issue 15: fewer round
//! trips per message). When any event fails, that savepoint rolls back and the unit runs again
//! with one savepoint per event (at most [`FALLBACK_EVENTS`]): the failing event rolls back
//! alone, records the error and is retried with backoff; after [`MAX_ATTEMPTS`] it is marked
//! `failed` and kept for inspection.
//!
//! The claim is one call of the SQL function `switchboard_claim_events` (it walks the due
//! index whatever the statistics say), and the workers give way to acknowledgements during a
//! flood ([`AckPriority`]).
//!
//! Inside each savepoint the domain events are batched (`domain::events::batched`): stored
//! with one multi-row insert when the savepoint's work is done, their hooks run then, and
//! their reporting facts recorded set-wise (`domain::reporting::on_events`). In the
//! one-savepoint path, the contacts of new people's first messages are created set-wise
//! before the items run ([`ingest::Seen::create_contacts`]).

use crate::db::prepared::Prepare;
use crate::db::schema::{inboxes, whatsapp_events};
use crate::error::{AppError, AppResult};
use crate::whatsapp::ingest::{self, IngestReport, ItemRange, ParsedBody, Routing};
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Timestamptz};
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
    /// Items of the body already committed (see the module docs).
    pub items_done: i32,
}

/// Most events claimed into one unit by [`drain`]. They run in one savepoint (the fast path,
/// see [`process_batch`]); a unit's fixed costs (claim, about twenty set-wise statements, the
/// commit) are shared by all of them: 100 instead of 50 cut the CPU of a new customer's
/// message from 0.36 to 0.28 ms (scripts/bench-ingest's backlog, 2026-12-02).
pub const BATCH_SIZE: usize = 100;

/// Most events of a unit processed one savepoint each when the fast path failed: PostgreSQL
/// caches at most 64 subtransactions per backend before every snapshot gets slower, so the
/// fallback stays below it and leaves the unit's other events pending for the next unit.
pub const FALLBACK_EVENTS: usize = 50;

/// Most items (messages, statuses, echoes…) one unit processes: bounds how long a unit holds
/// its locks and how long a delivery can wait behind another worker's unit. An event with
/// more is processed over several units.
pub const UNIT_ITEMS: usize = 100;

/// Bodies up to this many bytes (2 KiB: a delivery of one or a few messages) are claimed
/// together, up to [`BATCH_SIZE`] in one unit; a larger body is claimed alone.
pub const SMALL_EVENT_BYTES: i32 = 2048;

/// What happened to one event in a unit: its report (for an event with items left, the
/// report of the part processed), or the error it will be retried for.
pub type EventOutcome = (i64, Result<IngestReport, String>);

/// One claimed event, routed and parsed, with the range of items this unit processes.
struct Planned {
    event: WhatsappEvent,
    work: AppResult<(Routing, ParsedBody, ItemRange, usize)>,
}

/// Processes one unit: claims the oldest due event (by `run_after`, `FOR UPDATE SKIP
/// LOCKED`) and, when it is small (see [`SMALL_EVENT_BYTES`]), up to `limit - 1` further
/// small ones, takes the advisory locks of everything their items name (one global order),
/// and processes at most [`UNIT_ITEMS`] items in one transaction, each event in a savepoint
/// of its own: a failing body rolls back alone, its failure is recorded and it is retried
/// with backoff. An event with items left keeps `pending`, records `items_done` and is due again
/// at once, behind what is already queued. Several events run in one savepoint first (see the
/// module docs). Returns one outcome per event touched, in no particular order (empty when
/// nothing is due). Errors: only when the database itself fails (nothing is committed).
pub fn process_batch(conn: &mut PgConnection, limit: usize) -> AppResult<Vec<EventOutcome>> {
    let (outcomes, last_seen) = conn.transaction(|conn| {
        // The first due event, whatever its size; then, when it is small, more small ones
        // (`switchboard_claim_events`, migration 2026-12-10-000100: one call that walks the
        // due index whatever the statistics say). Only what the unit will process is locked:
        // other workers take the rest.
        #[derive(QueryableByName)]
        struct Claimed {
            #[diesel(sql_type = BigInt)]
            id: i64,
            #[diesel(sql_type = Timestamptz)]
            received_at: DateTime<Utc>,
        }
        let claimed: Vec<Claimed> =
            diesel::sql_query("SELECT id, received_at FROM switchboard_claim_events($1, $2)")
                .bind::<Integer, _>(i32::try_from(limit).unwrap_or(i32::MAX))
                .bind::<Integer, _>(SMALL_EVENT_BYTES)
                .prepared()
                .load(conn)?;
        if claimed.is_empty() {
            return Ok((Vec::new(), HashMap::new()));
        }
        let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
        let from = claimed.iter().map(|c| c.received_at).min();
        let to = claimed.iter().map(|c| c.received_at).max();
        // By both keys, so only the claimed rows' partitions are read.
        let events: Vec<WhatsappEvent> = whatsapp_events::table
            .filter(whatsapp_events::id.eq_any(&ids))
            .filter(whatsapp_events::received_at.between(
                from.unwrap_or_else(Utc::now),
                to.unwrap_or_else(Utc::now),
            ))
            .order((whatsapp_events::run_after, whatsapp_events::id))
            .select(WhatsappEvent::as_select())
            .load(conn)?;

        let mut routing_cache: HashMap<i64, Routing> = HashMap::new();
        let mut budget = UNIT_ITEMS;
        let mut planned: Vec<Planned> = Vec::with_capacity(events.len());
        for event in events {
            if budget == 0 {
                break;
            }
            let routing = match event.inbox_id {
                None if event.phone_number == ingest::APP_CALLBACK => {
                    Routing::for_app(conn, &event.raw_body)
                }
                None => Err(AppError::NotFound(
                    "the inbox of this event was deleted".into(),
                )),
                Some(inbox_id) => cached_routing(conn, &mut routing_cache, inbox_id),
            };
            let work = routing.and_then(|routing| {
                let parsed = ingest::parse_body(&routing, &event.raw_body)?;
                let total = parsed.item_count();
                let from = (event.items_done.max(0) as usize).min(total);
                let count = budget.min(total - from);
                budget = budget.saturating_sub(count.max(1));
                Ok((routing, parsed, ItemRange { from, count }, total))
            });
            planned.push(Planned { event, work });
        }

        // Every lock the unit needs, up front, in one global order.
        let mut keys = Vec::new();
        for p in &planned {
            if let Ok((routing, parsed, range, _)) = &p.work {
                keys.extend(ingest::lock_keys(routing, parsed, *range));
            }
        }
        crate::domain::xact_lock_all(conn, &keys)?;
        // The unit's inboxes, locked `FOR KEY SHARE` once: every contact inbox and
        // conversation the unit inserts checks its foreign key to the inbox row with that
        // lock, and while other workers (and the journal) hold it too each check made or
        // extended a multixact: 0.12 ms a check, 1.8 s of the paced phase of
        // `scripts/bench-ingest` (5,000 deliveries: the journal's check and two for each new
        // customer). Holding it already, the checks find this transaction among the lockers
        // and take nothing new (the same phase: 0.3 s). Compatible with everything but
        // deleting the inbox (or changing its id), which waits for the unit.
        let mut inbox_ids: Vec<i64> = routing_cache.keys().copied().collect();
        inbox_ids.sort_unstable();
        if !inbox_ids.is_empty() {
            diesel::sql_query(
                "SELECT 1 FROM inboxes WHERE id = ANY($1) ORDER BY id FOR KEY SHARE",
            )
            .bind::<Array<BigInt>, _>(&inbox_ids)
            .prepared()
            .execute(conn)?;
        }
        // Held until this transaction's closure returns: the per-message code skips them.
        let _held = crate::domain::HeldLocks::hold(&keys);

        let mut last_seen: HashMap<i64, DateTime<Utc>> = HashMap::new();
        let mut outcomes = Vec::with_capacity(planned.len());
        // Fast path: every event of the unit in ONE savepoint, the finished ones recorded with
        // one statement. When any event fails, the savepoint rolls back and the unit falls
        // back to one savepoint per event below, so the failure stays on that event alone.
        if planned.len() > 1 {
            // What the unit's wamids already hold, read once under the locks just taken.
            let units: Vec<_> = planned
                .iter()
                .filter_map(|p| p.work.as_ref().ok())
                .map(|(routing, parsed, range, _)| (routing, parsed, *range))
                .collect();
            let mut seen = ingest::Seen::prefetch(conn, &units)?;
            // The domain events of the whole unit are stored together (`events::batched`).
            let fast = conn.transaction(|conn| {
                crate::domain::events::batched(conn, |conn| {
                // The contacts of new people's first messages, two inserts per inbox.
                seen.create_contacts(conn, &units)?;
                let reports = planned
                    .iter()
                    .map(|p| match &p.work {
                        Err(_) => Ok(None),
                        Ok((routing, parsed, range, _)) => {
                            ingest::process_items_with(conn, routing, parsed, *range, &mut seen)
                                .map(Some)
                        }
                    })
                    .collect::<AppResult<Vec<Option<IngestReport>>>>()?;
                seen.flush(conn)?;
                Ok(reports)
                })
            });
            match fast {
                Ok(reports) => {
                    let mut done = Vec::new();
                    for (Planned { event, work }, report) in planned.into_iter().zip(reports) {
                        let (outcome, progress) = match (work, report) {
                            (Err(e), _) => (Err(e), None),
                            (Ok((_, _, range, total)), Some(report)) => {
                                let d = range.from + range.count;
                                (Ok(report), Some((d, d >= total)))
                            }
                            (Ok(_), None) => unreachable!("a report for every planned event"),
                        };
                        match (outcome, progress) {
                            (Ok(report), Some((d, true))) if report.unhandled_fields.is_empty() => {
                                done.push((event, report, d))
                            }
                            (outcome, progress) => outcomes.push(record_outcome(
                                conn,
                                &event,
                                outcome,
                                progress,
                                &mut last_seen,
                            )?),
                        }
                    }
                    outcomes.extend(record_processed(conn, done, &mut last_seen)?);
                    return Ok::<_, AppError>((outcomes, last_seen));
                }
                Err(AppError::DatabaseUnavailable(e)) => {
                    return Err(AppError::DatabaseUnavailable(e))
                }
                Err(e) => {
                    tracing::debug!(error = %e, "an event of the unit failed: one savepoint per event")
                }
            }
        }
        // One savepoint per event, at most FALLBACK_EVENTS of them: the rest stay pending
        // (their row locks end with this transaction) for the next unit.
        for Planned { event, work } in planned.into_iter().take(FALLBACK_EVENTS) {
            let (outcome, progress) = match work {
                Err(e) => (Err(e), None),
                Ok((routing, parsed, range, total)) => {
                    // A savepoint: a failing body rolls back alone.
                    let outcome = conn.transaction(|conn| {
                        crate::domain::events::batched(conn, |conn| {
                            ingest::process_items(conn, &routing, &parsed, range)
                        })
                    });
                    let done = range.from + range.count;
                    (outcome, Some((done, done >= total)))
                }
            };
            outcomes.push(record_outcome(
                conn,
                &event,
                outcome,
                progress,
                &mut last_seen,
            )?);
        }
        Ok::<_, AppError>((outcomes, last_seen))
    })?;
    // Outside the unit's transaction: a hot inbox row must not be held while events run.
    // Written at most once a second per inbox, and never backwards: a unit that changes
    // nothing commits without a WAL flush (a write here cost every unit a second commit).
    for (inbox_id, at) in last_seen {
        diesel::update(inboxes::table.find(inbox_id))
            .filter(
                inboxes::last_webhook_at
                    .is_null()
                    .or(inboxes::last_webhook_at.lt(at - chrono::Duration::seconds(1))),
            )
            .set(inboxes::last_webhook_at.eq(Some(at)))
            .execute(conn)?;
    }
    Ok(outcomes)
}

/// The routing of a route inbox's events (the inbox and its siblings), loaded once a unit.
fn cached_routing(
    conn: &mut PgConnection,
    cache: &mut HashMap<i64, Routing>,
    inbox_id: i64,
) -> AppResult<Routing> {
    Ok(match cache.entry(inbox_id) {
        Entry::Occupied(e) => e.get().clone(),
        Entry::Vacant(v) => v.insert(Routing::for_route(conn, inbox_id)?).clone(),
    })
}

/// The bookkeeping of a finished event outside the database: the lag metric, the inbox's
/// last webhook time, and a warning for skipped items.
fn note_finished(
    event: &WhatsappEvent,
    report: &IngestReport,
    last_seen: &mut HashMap<i64, DateTime<Utc>>,
) {
    let lag = (Utc::now() - event.received_at).num_milliseconds() as f64 / 1000.0;
    crate::metrics::observe_ingest_lag(lag);
    if let Some(inbox_id) = event.inbox_id {
        let seen = last_seen.entry(inbox_id).or_insert(event.received_at);
        *seen = (*seen).max(event.received_at);
    }
    if !report.skipped.is_empty() {
        tracing::warn!(event_id = event.id, skipped = ?report.skipped, "some webhook items were skipped");
    }
}

/// Marks finished events (without unhandled fields) `processed` in one statement; each entry
/// is `(event, report, items_done)`.
fn record_processed(
    conn: &mut PgConnection,
    done: Vec<(WhatsappEvent, IngestReport, usize)>,
    last_seen: &mut HashMap<i64, DateTime<Utc>>,
) -> AppResult<Vec<EventOutcome>> {
    if done.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = done.iter().map(|(e, ..)| e.id).collect();
    let items: Vec<i32> = done
        .iter()
        .map(|(_, _, d)| i32::try_from(*d).unwrap_or(i32::MAX))
        .collect();
    // The journal is partitioned by `received_at` (retention drops whole days): the unit's
    // range of it lets the planner keep only the partitions that hold these rows. Planned at
    // each call, with the real number of rows: the cached generic plan joined `unnest` by
    // hashing a sequential scan of every partition (6 ms a unit of 50 at 20,000 events, and
    // growing with the day's journal; seen with auto_explain under bench-ingest).
    let (from, to) = done.iter().fold((None, None), |(lo, hi), (e, ..)| {
        (
            Some(lo.map_or(e.received_at, |l: DateTime<Utc>| l.min(e.received_at))),
            Some(hi.map_or(e.received_at, |h: DateTime<Utc>| h.max(e.received_at))),
        )
    });
    diesel::sql_query(
        "UPDATE whatsapp_events e SET status = 'processed', attempts = e.attempts + 1, \
             items_done = v.items_done, processed_at = $3, unhandled_fields = NULL \
         FROM unnest($1::int8[], $2::int4[]) AS v(id, items_done) \
         WHERE e.id = v.id AND e.received_at BETWEEN $4 AND $5",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Array<Integer>, _>(&items)
    .bind::<Timestamptz, _>(Utc::now())
    .bind::<Timestamptz, _>(from.unwrap_or_else(Utc::now))
    .bind::<Timestamptz, _>(to.unwrap_or_else(Utc::now))
    .execute(conn)?;
    Ok(done
        .into_iter()
        .map(|(event, report, _)| {
            note_finished(&event, &report, last_seen);
            (event.id, Ok(report))
        })
        .collect())
}

/// Records a unit's outcome for `event`. `progress` is `(items_done, finished)` after a
/// successful range.
fn record_outcome(
    conn: &mut PgConnection,
    event: &WhatsappEvent,
    outcome: AppResult<IngestReport>,
    progress: Option<(usize, bool)>,
    last_seen: &mut HashMap<i64, DateTime<Utc>>,
) -> AppResult<EventOutcome> {
    match outcome {
        Ok(report) if matches!(progress, Some((_, false))) => {
            // Items left: commit the progress and queue the rest behind what is waiting.
            let done = progress.map_or(0, |(d, _)| d);
            diesel::update(whatsapp_events::table.find(event.id))
                .set((
                    whatsapp_events::items_done.eq(i32::try_from(done).unwrap_or(i32::MAX)),
                    // The wall clock, not `now()` (this transaction's start): deliveries
                    // journaled while the unit ran must come first.
                    whatsapp_events::run_after.eq(sql::<Timestamptz>("clock_timestamp()")),
                ))
                .execute(conn)?;
            Ok((event.id, Ok(report)))
        }
        Ok(report) => {
            diesel::update(whatsapp_events::table.find(event.id))
                .set((
                    whatsapp_events::status.eq("processed"),
                    whatsapp_events::attempts.eq(event.attempts + 1),
                    whatsapp_events::items_done.eq(progress.map_or(event.items_done, |(d, _)| {
                        i32::try_from(d).unwrap_or(i32::MAX)
                    })),
                    whatsapp_events::processed_at.eq(Some(Utc::now())),
                    whatsapp_events::unhandled_fields
                        .eq(Some(report.unhandled_fields.clone()).filter(|f| !f.is_empty())),
                ))
                .execute(conn)?;
            note_finished(event, &report, last_seen);
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

/// Appends raw webhook bodies to the journal in one multi-row insert and announces them to
/// every process (`NOTIFY` [`super::INGEST_CHANNEL`], delivered on commit); returns their ids
/// in order. Each entry is `(inbox_id, phone_number, raw_body)`. For callers outside the
/// webhook route (tools, tests); the route goes through [`super::journal_writer`], which
/// uses [`journal_quietly`] and announces outside the commit.
pub fn journal_many(
    conn: &mut PgConnection,
    entries: &[(i64, String, String)],
) -> AppResult<Vec<i64>> {
    conn.transaction(|conn| {
        let ids = journal_quietly(conn, entries)?;
        announce(conn)?;
        Ok(ids)
    })
}

/// Appends raw webhook bodies to the journal in one multi-row insert (one statement, so
/// atomic on its own); returns their ids in order. Its commit is what lets the webhook answer
/// 200 (DESIGN.md invariant 1). Sends no `NOTIFY`: PostgreSQL serializes the commits of every
/// transaction that notifies, WAL flush included (one database-wide lock from pre-commit to
/// the end of commit, `PreCommit_Notify`), so a journal commit that notified could not share
/// a WAL flush with the other writer's or an ingest unit's commit; under
/// `scripts/bench-ingest` commits waited on that lock (`Lock:object`) a fifth as often as on
/// the flush itself. The caller announces the rows afterwards ([`announce`]).
pub fn journal_quietly(
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
    Ok(diesel::insert_into(whatsapp_events::table)
        .values(&rows)
        .returning(whatsapp_events::id)
        .get_results(conn)?)
}

/// Tells the ingest workers of every process that journal events are waiting: `NOTIFY`
/// [`super::INGEST_CHANNEL`] (delivered when `conn`'s transaction commits; in autocommit, at
/// once). A wake-up only: workers also poll every [`super::POLL_INTERVAL`].
pub fn announce(conn: &mut PgConnection) -> AppResult<()> {
    diesel::sql_query(format!("NOTIFY {}", super::INGEST_CHANNEL)).execute(conn)?;
    Ok(())
}

/// Journals a body posted to the app-level callback (no route inbox; `phone_number` =
/// [`ingest::APP_CALLBACK`]); returns its id once committed.
pub fn journal_app(conn: &mut PgConnection, raw_body: &str) -> AppResult<i64> {
    conn.transaction(|conn| {
        let id = diesel::insert_into(whatsapp_events::table)
            .values((
                whatsapp_events::inbox_id.eq(None::<i64>),
                whatsapp_events::phone_number.eq(ingest::APP_CALLBACK),
                whatsapp_events::raw_body.eq(raw_body),
            ))
            .returning(whatsapp_events::id)
            .get_result(conn)?;
        announce(conn)?;
        Ok(id)
    })
}

/// Processes one unit of the oldest due event, if any (a batch of one): the whole event
/// unless it has more than [`UNIT_ITEMS`] items.
pub fn process_next(conn: &mut PgConnection) -> AppResult<Option<EventOutcome>> {
    Ok(process_batch(conn, 1)?.pop())
}

/// Acknowledgements first (issue 15): while at least `threshold` webhook deliveries of this
/// process waited for their journal commit at once within the last 100 ms
/// (`JournalWriter::recent_peak`, a flood; the count itself drops to nearly 0 at every
/// commit, and a worker looking then took it for calm), an ingest
/// worker waits between units instead of taking CPU from them, checking again every
/// [`ACK_PRIORITY_RECHECK`], and still runs one unit per [`ACK_PRIORITY_MAX_DEFER`] so ingest
/// never stops. Meta needs the 200 quickly (it retries what is slow to answer) and a delivery
/// is safe once journaled; the backlog a flood leaves is drained when it ends (the backlog
/// alarm reports it meanwhile). Measured on this 2-core machine (README, "Ingest that keeps
/// up"): a node that also ingests acknowledged 0.49× pgbench without it, an acknowledge-only
/// node 1.35×. `threshold` 0 turns it off (`INGEST_YIELD_IN_FLIGHT=0`).
#[derive(Debug, Clone)]
pub struct AckPriority {
    threshold: usize,
    deferred_since: Option<std::time::Instant>,
}

/// How often a deferring ingest worker looks at the acknowledgements again.
pub const ACK_PRIORITY_RECHECK: std::time::Duration = std::time::Duration::from_millis(5);

/// Longest an ingest worker defers to acknowledgements before it runs one unit anyway.
pub const ACK_PRIORITY_MAX_DEFER: std::time::Duration = std::time::Duration::from_secs(1);

impl AckPriority {
    /// A worker's gate; `threshold` deliveries in flight make it wait (0: never).
    pub fn new(threshold: usize) -> Self {
        AckPriority {
            threshold,
            deferred_since: None,
        }
    }

    /// How long to wait before the next unit, with `in_flight` deliveries waiting for their
    /// commit at `now`; `None`: run a unit now.
    pub fn wait(
        &mut self,
        in_flight: usize,
        now: std::time::Instant,
    ) -> Option<std::time::Duration> {
        if self.threshold == 0 || in_flight < self.threshold {
            self.deferred_since = None;
            return None;
        }
        let since = *self.deferred_since.get_or_insert(now);
        if now.duration_since(since) >= ACK_PRIORITY_MAX_DEFER {
            // One unit now, then defer again from here.
            self.deferred_since = Some(now);
            return None;
        }
        Some(ACK_PRIORITY_RECHECK)
    }
}

/// Processes due events unit by unit (see [`process_batch`]) until none is left or about
/// `max` event outcomes were recorded (a large event counts once per unit). Returns how many.
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
    // `'pending'` in the text, so the generic plan counts from the partial index
    // `whatsapp_events_pending` (see `jobs::PENDING`).
    Ok(whatsapp_events::table
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "whatsapp_events.status = 'pending'",
        ))
        .count()
        .prepared()
        .get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn ack_priority_waits_during_a_flood_and_still_runs_a_unit_a_second() {
        let t0 = Instant::now();
        let mut gate = AckPriority::new(16);
        // Quiet: run.
        assert_eq!(gate.wait(0, t0), None);
        assert_eq!(gate.wait(15, t0), None);
        // A flood: wait, checking again soon.
        assert_eq!(gate.wait(16, t0), Some(ACK_PRIORITY_RECHECK));
        assert_eq!(
            gate.wait(64, t0 + Duration::from_millis(999)),
            Some(ACK_PRIORITY_RECHECK)
        );
        // A second into it: one unit, then waiting again from there.
        assert_eq!(gate.wait(64, t0 + ACK_PRIORITY_MAX_DEFER), None);
        assert_eq!(
            gate.wait(64, t0 + ACK_PRIORITY_MAX_DEFER + Duration::from_millis(1)),
            Some(ACK_PRIORITY_RECHECK)
        );
        // The flood ends: run at once, and a new flood starts a new second.
        assert_eq!(gate.wait(3, t0 + Duration::from_millis(1500)), None);
        assert_eq!(
            gate.wait(20, t0 + Duration::from_millis(1600)),
            Some(ACK_PRIORITY_RECHECK)
        );
        // Off.
        let mut off = AckPriority::new(0);
        assert_eq!(off.wait(10_000, t0), None);
    }
}
