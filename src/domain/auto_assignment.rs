//! Auto-assignment (issue 13): round-robin among an inbox's **online** members, with an
//! optional capacity, and a queue for conversations that find nobody with room.
//!
//! Rules and their sources:
//! - Per inbox, Chatwoot's `enable_auto_assignment` (`inboxes` column) and
//!   `auto_assignment_config.max_assignment_limit` (here `inbox_auto_assignment`; `None`: no
//!   limit). Capacity counts, as Chatwoot's `max_assignment_limit`, the **open**
//!   conversations of that inbox assigned to the agent.
//! - Candidates: the inbox's members (`inbox_members`) whose availability in the account is
//!   `online` (busy and offline agents are skipped; see `domain::availability` for the
//!   automatic offline), in user id order. Round-robin: the first candidate with room after
//!   the agent assigned last (`inbox_auto_assignment.last_assigned_user_id`), wrapping around.
//! - A new conversation (`conversation.created`) of an inbox with auto-assignment on, or one
//!   reopened without an assignee, joins the inbox's queue (`assignment_queue`) and a
//!   [`JOB`] is queued, both in the transaction of the change ([`on_event`], called from
//!   `events::insert`): the decision is durable and retried like every job. The new
//!   conversations of an event batch (every ingest unit) are decided at once instead, in the
//!   same transaction ([`assign_now`]), so they become visible assigned; a drain job is queued
//!   only for what that decision leaves.
//! - [`drain`] assigns the queue oldest first while someone has room. It runs under the
//!   inbox's lock (`SELECT … FOR UPDATE` on its `inbox_auto_assignment` row), so any number
//!   of processes and workers decide one at a time per inbox: with a stable set of online
//!   agents starting level, each ends within one conversation of the others, nobody passes
//!   the limit, and each conversation is assigned once (its row is locked and must still be
//!   open and unassigned).
//! - A freed slot (an assigned conversation leaves `open`, or changes assignee) or an agent
//!   coming online queues a drain of the affected inboxes that have a queue.
//! - Each assignment writes the activity line "Assigned to {name} by round-robin", emits
//!   `assignee.changed` (`previous_assignee_id` null) and notifies the agent as any
//!   assignment by the system (`notifications::conversation_assigned`, no actor).

use super::events;
use super::messages::{self, message_type, NewMessage};
use crate::db::prepared::Prepare;
use crate::db::schema::{assignment_queue, inbox_auto_assignment};
use crate::error::{AppError, AppResult};
use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Job kind: drain one inbox's assignment queue. Payload `{"inbox_id": i64}`.
pub const JOB: &str = "auto_assignment";

/// Attempts of a drain job before it is marked failed (the next trigger queues another).
pub const MAX_ATTEMPTS: i32 = 10;

/// Queued conversations handled per transaction of [`drain`].
pub const DRAIN_BATCH: i64 = 200;

/// Largest `max_assignment_limit` accepted.
pub const MAX_LIMIT: i64 = 10_000;

/// The activity line of an auto-assignment.
pub fn activity_line(agent_name: &str) -> String {
    format!("Assigned to {agent_name} by round-robin")
}

/// Chatwoot's `auto_assignment_config` object: `{"max_assignment_limit": n | null}`.
pub fn config_json(limit: Option<i32>) -> Value {
    json!({ "max_assignment_limit": limit })
}

/// Reads Chatwoot's `auto_assignment_config` from a request: an object whose
/// `max_assignment_limit` is a positive whole number up to [`MAX_LIMIT`], or null / absent /
/// `""` / `0` for no limit. Returns the limit to store.
/// Errors: 422 naming `auto_assignment_config.max_assignment_limit` (or
/// `auto_assignment_config` for a non-object).
pub fn parse_config(value: &Value) -> AppResult<Option<i32>> {
    let field = "auto_assignment_config.max_assignment_limit";
    let obj = match value {
        Value::Null => return Ok(None),
        Value::Object(o) => o,
        _ => {
            return Err(AppError::invalid(
                "auto_assignment_config",
                "auto_assignment_config must be an object like {\"max_assignment_limit\": 5}",
            ))
        }
    };
    parse_limit(
        field,
        obj.get("max_assignment_limit").unwrap_or(&Value::Null),
    )
}

/// Reads one limit value (JSON number, numeric string, null or blank). See [`parse_config`].
pub fn parse_limit(field: &str, v: &Value) -> AppResult<Option<i32>> {
    let bad = || {
        AppError::invalid(
            field,
            format!(
                "the limit must be a whole number from 1 to {MAX_LIMIT}, or empty for no limit"
            ),
        )
    };
    let n: i64 = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_i64().ok_or_else(bad)?,
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().parse().map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    match n {
        0 => Ok(None),
        1..=MAX_LIMIT => Ok(Some(n as i32)),
        _ => Err(bad()),
    }
}

/// The `max_assignment_limit` of each of `inbox_ids` that has one (one query).
pub fn limits(conn: &mut PgConnection, inbox_ids: &[i64]) -> AppResult<HashMap<i64, i32>> {
    if inbox_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, Option<i32>)> = inbox_auto_assignment::table
        .filter(inbox_auto_assignment::inbox_id.eq_any(inbox_ids))
        .select((
            inbox_auto_assignment::inbox_id,
            inbox_auto_assignment::max_assignment_limit,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, l)| l.map(|l| (id, l)))
        .collect())
}

/// The inbox's `max_assignment_limit` (`None`: no limit).
pub fn limit(conn: &mut PgConnection, inbox_id: i64) -> AppResult<Option<i32>> {
    Ok(limits(conn, &[inbox_id])?.get(&inbox_id).copied())
}

/// Sets the inbox's `max_assignment_limit` (`None`: no limit); a raised limit lets queued
/// conversations through, so a drain is queued when the inbox has a queue. The caller checks
/// that the inbox is the account's.
pub fn set_limit(conn: &mut PgConnection, inbox_id: i64, limit: Option<i32>) -> AppResult<()> {
    conn.transaction(|conn| {
        diesel::insert_into(inbox_auto_assignment::table)
            .values((
                inbox_auto_assignment::inbox_id.eq(inbox_id),
                inbox_auto_assignment::max_assignment_limit.eq(limit),
            ))
            .on_conflict(inbox_auto_assignment::inbox_id)
            .do_update()
            .set((
                inbox_auto_assignment::max_assignment_limit.eq(limit),
                inbox_auto_assignment::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        drain_later(conn, &[inbox_id])?;
        Ok(())
    })
}

/// Queues one [`JOB`] per inbox of `inbox_ids` that has conversations waiting (one
/// statement). Call it in the transaction of the change that may free a slot.
pub fn drain_later(conn: &mut PgConnection, inbox_ids: &[i64]) -> AppResult<usize> {
    if inbox_ids.is_empty() {
        return Ok(0);
    }
    // One probe of the queue's index per inbox: as a `DISTINCT` over the queue the cached
    // plan read every waiting conversation, and as a plain `EXISTS` the planner scans the
    // table expecting an early match (each inbox holds half the rows of two), but the rows of
    // the inbox asked for sit behind the other's: 8 ms an ingest unit with 265,000 waiting.
    // `ORDER BY` the index's columns with `LIMIT 1` keeps it on the index.
    Ok(diesel::sql_query(
        "INSERT INTO jobs (kind, payload, max_attempts) \
         SELECT $1, jsonb_build_object('inbox_id', i.inbox_id), $2 \
         FROM (SELECT DISTINCT inbox_id FROM unnest($3::int8[]) AS v(inbox_id)) i \
         WHERE EXISTS (SELECT 1 FROM assignment_queue q WHERE q.inbox_id = i.inbox_id \
           ORDER BY q.inbox_id, q.queued_at LIMIT 1)",
    )
    .bind::<Text, _>(JOB)
    .bind::<diesel::sql_types::Integer, _>(MAX_ATTEMPTS)
    .bind::<Array<BigInt>, _>(inbox_ids)
    .prepared()
    .execute(conn)?)
}

/// Puts conversation `conversation_id` of `inbox_id` in the queue when the inbox has
/// auto-assignment on and the conversation is open and unassigned, and queues a drain (same
/// transaction). Returns whether it joined the queue.
pub fn enqueue_conversation(
    conn: &mut PgConnection,
    inbox_id: i64,
    conversation_id: i64,
) -> AppResult<bool> {
    #[derive(QueryableByName)]
    struct Queued {
        #[diesel(sql_type = BigInt)]
        #[allow(dead_code)]
        conversation_id: i64,
    }
    let queued: Vec<Queued> = diesel::sql_query(
        "WITH q AS (INSERT INTO assignment_queue (conversation_id, inbox_id) \
           SELECT c.id, c.inbox_id FROM conversations c \
           JOIN inboxes i ON i.id = c.inbox_id AND i.enable_auto_assignment \
           WHERE c.id = $1 AND c.inbox_id = $2 AND c.status = 'open' AND c.assignee_id IS NULL \
           ON CONFLICT DO NOTHING RETURNING conversation_id, inbox_id), \
         j AS (INSERT INTO jobs (kind, payload, max_attempts) \
           SELECT $3, jsonb_build_object('inbox_id', q.inbox_id), $4 FROM q RETURNING id) \
         SELECT q.conversation_id FROM q",
    )
    .bind::<BigInt, _>(conversation_id)
    .bind::<BigInt, _>(inbox_id)
    .bind::<Text, _>(JOB)
    .bind::<diesel::sql_types::Integer, _>(MAX_ATTEMPTS)
    .prepared()
    .load(conn)?;
    Ok(!queued.is_empty())
}

/// [`enqueue_conversation`] for the new conversations of a batch of events (issue 15: the
/// `conversation.created` events `events::batched` stores together), in ONE statement: each
/// conversation (in the order given) joins its inbox's queue when the inbox has
/// auto-assignment on and the conversation is still open and unassigned, and one drain is
/// queued per inbox that gained one (a drain takes the whole queue) unless `queue_drains` is
/// false, when the caller decides at once ([`assign_now`], which queues a drain itself for what
/// it leaves). Returns the inboxes that gained one, in id order.
pub fn enqueue_conversations(
    conn: &mut PgConnection,
    conversation_ids: &[i64],
    queue_drains: bool,
) -> AppResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Gained {
        #[diesel(sql_type = BigInt)]
        inbox_id: i64,
    }
    if conversation_ids.is_empty() {
        return Ok(Vec::new());
    }
    // Each conversation is looked up by its id (a LATERAL subquery with LIMIT, which the
    // planner cannot flatten into a join). As a plain join, while `conversations` had never
    // been analysed (a new install's first minute, every benchmark) PostgreSQL took
    // `status = 'open'` for rare and scanned every open conversation for each batch: 50 to
    // 150 ms a call at 20,000 conversations, half the backlog's drain rate. Planned at each
    // call as before (a generic plan made while the table was nearly empty did the same).
    let gained: Vec<Gained> = diesel::sql_query(
        "WITH q AS (INSERT INTO assignment_queue (conversation_id, inbox_id) \
           SELECT c.id, c.inbox_id FROM unnest($1::int8[]) WITH ORDINALITY AS v(id, ord) \
           CROSS JOIN LATERAL (SELECT c.id, c.inbox_id FROM conversations c \
             WHERE c.id = v.id AND c.status = 'open' AND c.assignee_id IS NULL LIMIT 1) c \
           JOIN inboxes i ON i.id = c.inbox_id AND i.enable_auto_assignment \
           ORDER BY v.ord \
           ON CONFLICT DO NOTHING RETURNING conversation_id, inbox_id), \
         j AS (INSERT INTO jobs (kind, payload, max_attempts) \
           SELECT $2, jsonb_build_object('inbox_id', d.inbox_id), $3 \
           FROM (SELECT DISTINCT inbox_id FROM q) d WHERE $4 RETURNING id) \
         SELECT DISTINCT inbox_id FROM q ORDER BY inbox_id",
    )
    .bind::<Array<BigInt>, _>(conversation_ids)
    .bind::<Text, _>(JOB)
    .bind::<diesel::sql_types::Integer, _>(MAX_ATTEMPTS)
    .bind::<Bool, _>(queue_drains)
    .load(conn)?;
    Ok(gained.into_iter().map(|g| g.inbox_id).collect())
}

/// The hook `events::insert` (and bulk actions) call for every recorded event, in its
/// transaction. Only four names do anything (others cost nothing):
/// - `conversation.created` → [`enqueue_conversation`] (one statement, a no-op when the inbox
///   has auto-assignment off);
/// - `conversation.status_changed` to `open` → the same (a reopened, unassigned
///   conversation); away from `open` → a drain of the inbox if it has a queue (a slot freed);
/// - `assignee.changed` from someone → a drain of the inbox if it has a queue;
/// - `presence.update` to `online` → a drain of each of the agent's inboxes with a queue.
pub fn on_event(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: Option<i64>,
    conversation_id: Option<i64>,
    name: &str,
    payload: &Value,
) -> AppResult<()> {
    match name {
        events::CONVERSATION_CREATED => {
            if let (Some(inbox), Some(conversation)) = (inbox_id, conversation_id) {
                enqueue_conversation(conn, inbox, conversation)?;
            }
        }
        events::CONVERSATION_STATUS_CHANGED => {
            let (Some(inbox), Some(conversation)) = (inbox_id, conversation_id) else {
                return Ok(());
            };
            if payload["status"] == "open" {
                enqueue_conversation(conn, inbox, conversation)?;
            } else if payload["previous_status"] == "open" {
                drain_later(conn, &[inbox])?;
            }
        }
        events::ASSIGNEE_CHANGED => {
            if let (Some(inbox), false) = (inbox_id, payload["previous_assignee_id"].is_null()) {
                drain_later(conn, &[inbox])?;
            }
        }
        super::profile::PRESENCE_UPDATE if payload["availability"] == "online" => {
            if let Some(user_id) = payload["user_id"].as_i64() {
                diesel::sql_query(
                    "INSERT INTO jobs (kind, payload, max_attempts) \
                     SELECT $1, jsonb_build_object('inbox_id', m.inbox_id), $2 \
                     FROM inbox_members m \
                     JOIN inboxes i ON i.id = m.inbox_id AND i.account_id = $4 \
                     WHERE m.user_id = $3 \
                       AND EXISTS (SELECT 1 FROM assignment_queue q \
                         WHERE q.inbox_id = m.inbox_id ORDER BY q.inbox_id, q.queued_at LIMIT 1)",
                )
                .bind::<Text, _>(JOB)
                .bind::<diesel::sql_types::Integer, _>(MAX_ATTEMPTS)
                .bind::<BigInt, _>(user_id)
                .bind::<BigInt, _>(account_id)
                .prepared()
                .execute(conn)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// An online member of the inbox and the open conversations of the inbox assigned to them.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Candidate {
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub open: i64,
}

/// The round-robin's choice among `candidates` (in user id order): the first with room
/// (`open < limit`, any with no limit) after `last` (the agent assigned last), wrapping
/// around; `None` when nobody has room. Pure: the rule the tests pin.
pub fn pick(candidates: &[Candidate], last: Option<i64>, limit: Option<i32>) -> Option<usize> {
    let has_room = |c: &Candidate| limit.is_none_or(|l| c.open < l as i64);
    let after = last.unwrap_or(i64::MIN);
    candidates
        .iter()
        .position(|c| c.user_id > after && has_room(c))
        .or_else(|| candidates.iter().position(has_room))
}

/// The inbox's online members with their open assigned conversations in the inbox, in user
/// id order (one query).
pub fn candidates(conn: &mut PgConnection, inbox_id: i64) -> AppResult<Vec<Candidate>> {
    Ok(diesel::sql_query(
        "SELECT m.user_id, COALESCE(NULLIF(u.display_name, ''), u.name) AS name, \
           COALESCE(o.n, 0) AS open \
         FROM inbox_members m \
         JOIN inboxes i ON i.id = m.inbox_id \
         JOIN account_users au ON au.account_id = i.account_id AND au.user_id = m.user_id \
         JOIN users u ON u.id = m.user_id \
         LEFT JOIN (SELECT assignee_id, count(*) AS n FROM conversations \
           WHERE inbox_id = $1 AND status = 'open' AND assignee_id IS NOT NULL \
           GROUP BY assignee_id) o ON o.assignee_id = m.user_id \
         WHERE m.inbox_id = $1 AND au.availability = 'online' \
         ORDER BY m.user_id",
    )
    .bind::<BigInt, _>(inbox_id)
    .prepared()
    .load(conn)?)
}

#[derive(QueryableByName)]
struct State {
    #[diesel(sql_type = Bool)]
    enabled: bool,
    #[diesel(sql_type = BigInt)]
    account_id: i64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Integer>)]
    max_assignment_limit: Option<i32>,
    #[diesel(sql_type = Nullable<BigInt>)]
    last_assigned_user_id: Option<i64>,
}

#[derive(QueryableByName)]
struct Waiting {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Integer)]
    display_id: i32,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    assignee_id: Option<i64>,
    /// Place in the queue, from 1.
    #[diesel(sql_type = BigInt)]
    ord: i64,
    /// Conversations in the batch read (at most [`DRAIN_BATCH`]).
    #[diesel(sql_type = BigInt)]
    total: i64,
}
use diesel::sql_types::Integer;

/// What one [`drain`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Drained {
    /// `(conversation id, user id)` of each assignment, in order.
    pub assigned: Vec<(i64, i64)>,
    /// Queue entries dropped (assigned by someone else, no longer open, or auto-assignment
    /// turned off).
    pub dropped: usize,
}

/// Assigns the inbox's queue, oldest first, while an online member has room (see the module
/// documentation), in transactions of up to [`DRAIN_BATCH`] conversations, each holding the
/// inbox's lock. Safe to run any number of times from any number of processes.
pub fn drain(conn: &mut PgConnection, inbox_id: i64) -> AppResult<Drained> {
    let mut out = Drained::default();
    loop {
        let step = conn.transaction(|conn| drain_batch(conn, inbox_id, &mut out, Locking::Wait))?;
        if step != Step::More {
            return Ok(out);
        }
    }
}

/// Decides the queues of `inbox_ids` (those that just gained conversations) in the CALLER's
/// transaction, so a new conversation is assigned when it becomes visible instead of by a
/// drain job after it (issue 13, "assignment decisions within 100 ms of the event": at 1,000
/// messages a second the job came 62 ms (p50) to 188 ms (p99) after the conversation was
/// visible). `events::batched` calls it for the `conversation.created` events of a batch, after
/// the batch's messages, so the activity line follows the customer's first message.
///
/// It never waits for a lock, so it cannot deadlock with the drain jobs or with other ingest
/// units: an inbox whose lock another transaction holds gets a drain job (it runs after that
/// transaction, whose own drain may not have seen these conversations); waiting conversations
/// whose rows another transaction holds end the decision there (oldest first still holds) and
/// a drain job takes the rest. Everything else is [`drain`]'s rule, under the same inbox lock,
/// so the fairness and capacity guarantees are the same. Returns what it assigned.
pub fn assign_now(conn: &mut PgConnection, inbox_ids: &[i64]) -> AppResult<Drained> {
    let mut out = Drained::default();
    for &inbox_id in inbox_ids {
        match drain_batch(conn, inbox_id, &mut out, Locking::Skip)? {
            Step::Done => {}
            Step::More | Step::Busy => {
                drain_later(conn, &[inbox_id])?;
                LEFT.with(|l| l.borrow_mut().push(inbox_id));
            }
        }
    }
    Ok(out)
}

thread_local! {
    /// Inboxes whose decision [`assign_now`] left to a drain job on this thread (see
    /// [`take_left`]).
    static LEFT: std::cell::RefCell<Vec<i64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The inboxes (sorted, distinct) whose decision [`assign_now`] left to a drain job on this
/// thread since the last call, and forgets them. The ingest worker calls it after its units
/// commit and, when there is one, wakes this process's auto-assignment worker at once
/// (`AppState::assignment_wakeup`) instead of leaving the wake-up to the realtime hub, which
/// lags under load: at 1,000 messages a second (`scripts/bench-rules`) one run in four had
/// its assignment p99 at 228 ms, every conversation in it one whose inbox lock another
/// unit held. Entries of a unit that rolled back name a job that was never queued: a
/// wake-up finds nothing to do.
pub fn take_left() -> Vec<i64> {
    let mut left = LEFT.with(|l| std::mem::take(&mut *l.borrow_mut()));
    left.sort_unstable();
    left.dedup();
    left
}

/// How [`drain_batch`] takes the inbox's lock and the waiting conversations' rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Locking {
    /// Waits for them (the drain job, in a transaction of its own).
    Wait,
    /// Skips what another transaction holds ([`assign_now`], in someone else's transaction).
    Skip,
}

/// What one [`drain_batch`] leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Nothing more to decide now (queue empty, nobody with room, or auto-assignment off).
    Done,
    /// Conversations may still be waiting that someone has room for (a full batch, or rows
    /// another transaction held): another batch or a drain job takes them.
    More,
    /// Another transaction holds the inbox's lock (only with [`Locking::Skip`]): a drain job
    /// must decide after it.
    Busy,
}

/// One batch of [`drain`] (or of [`assign_now`]) in the caller's transaction. (It does not count
/// what is left waiting: a `count(*)` of the queue on every drain cost 3 ms a unit of ingest
/// with thousands waiting, and nothing read it.)
fn drain_batch(
    conn: &mut PgConnection,
    inbox_id: i64,
    out: &mut Drained,
    locking: Locking,
) -> AppResult<Step> {
    diesel::insert_into(inbox_auto_assignment::table)
        .values(inbox_auto_assignment::inbox_id.eq(inbox_id))
        .on_conflict_do_nothing()
        .execute(conn)?;
    // The inbox's lock: every decision for this inbox waits here (or, skipping, gives way).
    const STATE: &str = "SELECT i.enable_auto_assignment AS enabled, i.account_id, \
           s.max_assignment_limit, s.last_assigned_user_id \
         FROM inbox_auto_assignment s JOIN inboxes i ON i.id = s.inbox_id \
         WHERE s.inbox_id = $1 FOR UPDATE OF s";
    let sql = match locking {
        Locking::Wait => STATE.to_string(),
        Locking::Skip => format!("{STATE} SKIP LOCKED"),
    };
    let state: Option<State> = diesel::sql_query(sql)
        .bind::<BigInt, _>(inbox_id)
        .prepared()
        .get_result(conn)
        .optional()?;
    let Some(state) = state else {
        return Ok(match locking {
            Locking::Wait => Step::Done,
            Locking::Skip => Step::Busy,
        });
    };
    // Drain jobs of this inbox that nobody claimed yet are answered by this drain: the queue
    // rows their transactions added are visible to the statements below (they committed
    // with the job, or, for `assign_now`, belong to this very transaction), and the decision
    // runs under the lock they would wait for. Whatever this drain leaves that someone could
    // take gets a new job (`Step::More`).
    diesel::sql_query(
        "UPDATE jobs SET status = 'done', attempts = attempts + 1, updated_at = now() \
         WHERE id IN (SELECT id FROM jobs WHERE kind = $1 AND status = 'pending' \
           AND run_at <= now() AND payload->>'inbox_id' = $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Text, _>(JOB)
    .bind::<Text, _>(inbox_id.to_string())
    .prepared()
    .execute(conn)?;
    if !state.enabled {
        out.dropped +=
            diesel::delete(assignment_queue::table.filter(assignment_queue::inbox_id.eq(inbox_id)))
                .execute(conn)?;
        return Ok(Step::Done);
    }
    // Nobody online with room (at night, or every agent at capacity): the queue stays as it
    // is, unread and unlocked. Reading and locking it (up to DRAIN_BATCH conversations, each
    // lock a write) on every drain kept the waiting conversations' rows locked against
    // ingest's activity updates while new messages arrived (issue 15, bench-ingest).
    let mut people = candidates(conn, inbox_id)?;
    if pick(
        &people,
        state.last_assigned_user_id,
        state.max_assignment_limit,
    )
    .is_none()
    {
        return Ok(Step::Done);
    }
    // The oldest waiting conversations, numbered in queue order (`ord` from 1) with how many
    // the batch holds (`total`), their rows locked. Skipping, rows another transaction holds
    // are missing: the decision stops at the first gap so the oldest still go first.
    // (The window functions run over the batch read, after its LIMIT: over the whole queue
    // they would count every waiting conversation.)
    const WAITING: &str = "SELECT c.id, c.display_id, c.status, c.assignee_id, q.ord, q.total \
         FROM (SELECT b.conversation_id, \
             row_number() OVER (ORDER BY b.queued_at, b.conversation_id) AS ord, \
             count(*) OVER () AS total \
           FROM (SELECT conversation_id, queued_at FROM assignment_queue WHERE inbox_id = $1 \
             ORDER BY queued_at, conversation_id LIMIT $2) b) q \
         JOIN conversations c ON c.id = q.conversation_id \
         ORDER BY q.ord FOR UPDATE OF c";
    let sql = match locking {
        Locking::Wait => WAITING.to_string(),
        Locking::Skip => format!("{WAITING} SKIP LOCKED"),
    };
    let mut waiting: Vec<Waiting> = diesel::sql_query(sql)
        .bind::<BigInt, _>(inbox_id)
        .bind::<BigInt, _>(DRAIN_BATCH)
        .prepared()
        .load(conn)?;
    if waiting.is_empty() {
        // Skipping, the queue may hold rows another transaction locked.
        return Ok(match locking {
            Locking::Wait => Step::Done,
            Locking::Skip => Step::More,
        });
    }
    let total = waiting[0].total;
    if locking == Locking::Skip {
        if let Some(gap) = (0..waiting.len()).position(|i| waiting[i].ord != i as i64 + 1) {
            waiting.truncate(gap);
        }
    }
    // Skipping, rows left for a drain job (waiting: a deleted conversation's row is no gap).
    let cut = locking == Locking::Skip && (waiting.len() as i64) < total;
    let full = total == DRAIN_BATCH;
    let mut last = state.last_assigned_user_id;
    let mut done: Vec<i64> = vec![];
    let mut blocked = false;
    let now = Utc::now();
    for w in &waiting {
        if w.status != "open" || w.assignee_id.is_some() {
            done.push(w.id);
            out.dropped += 1;
            continue;
        }
        let Some(i) = pick(&people, last, state.max_assignment_limit) else {
            blocked = true;
            break;
        };
        let agent = &mut people[i];
        assign_one(conn, state.account_id, inbox_id, w, agent, now)?;
        agent.open += 1;
        last = Some(agent.user_id);
        out.assigned.push((w.id, agent.user_id));
        done.push(w.id);
    }
    if !done.is_empty() {
        diesel::delete(
            assignment_queue::table.filter(assignment_queue::conversation_id.eq_any(&done)),
        )
        .execute(conn)?;
    }
    if last != state.last_assigned_user_id {
        diesel::update(inbox_auto_assignment::table.find(inbox_id))
            .set((
                inbox_auto_assignment::last_assigned_user_id.eq(last),
                inbox_auto_assignment::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
    }
    Ok(if !blocked && (full || cut) {
        Step::More
    } else {
        Step::Done
    })
}

/// Assigns one locked, open, unassigned conversation to `agent`: the row, `assignee.changed`,
/// the activity line and the agent's notification, in the caller's transaction.
fn assign_one(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
    w: &Waiting,
    agent: &Candidate,
    now: chrono::DateTime<Utc>,
) -> AppResult<()> {
    use crate::db::schema::conversations;
    diesel::update(conversations::table.find(w.id))
        .set((
            conversations::assignee_id.eq(agent.user_id),
            conversations::updated_at.eq(now),
        ))
        .execute(conn)?;
    events::emit(
        conn,
        account_id,
        Some(inbox_id),
        Some(w.id),
        events::ASSIGNEE_CHANGED,
        json!({
            "display_id": w.display_id,
            "assignee_id": agent.user_id,
            "previous_assignee_id": null,
            "reason": "round_robin",
        }),
    )?;
    messages::insert_if_new(
        conn,
        &NewMessage {
            account_id,
            inbox_id,
            conversation_id: w.id,
            message_type: message_type::ACTIVITY,
            content: Some(activity_line(&agent.name)),
            content_type: "text".into(),
            content_attributes: json!({}),
            private: false,
            status: "sent".into(),
            source_id: None,
            external_error: None,
            sender_type: None,
            sender_id: None,
            created_at: now,
        },
        &[],
    )?;
    super::conversations::record_message(conn, w.id, now, false)?;
    super::notifications::conversation_assigned(conn, account_id, w.id, agent.user_id, None)?;
    Ok(())
}

/// Conversations of the inbox waiting in the queue (for the settings page and tests).
pub fn queued_count(conn: &mut PgConnection, inbox_id: i64) -> AppResult<i64> {
    Ok(assignment_queue::table
        .filter(assignment_queue::inbox_id.eq(inbox_id))
        .count()
        .get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(user_id: i64, open: i64) -> Candidate {
        Candidate {
            user_id,
            name: format!("u{user_id}"),
            open,
        }
    }

    #[test]
    fn picks_next_after_last_with_room_and_wraps() {
        let people = [c(1, 0), c(2, 0), c(3, 0)];
        assert_eq!(pick(&people, None, None), Some(0));
        assert_eq!(pick(&people, Some(1), None), Some(1));
        assert_eq!(pick(&people, Some(3), None), Some(0));
        assert_eq!(pick(&people, Some(99), None), Some(0));
        let full = [c(1, 2), c(2, 1), c(3, 2)];
        assert_eq!(pick(&full, Some(2), Some(2)), Some(1));
        assert_eq!(pick(&[c(1, 2)], None, Some(2)), None);
        assert_eq!(pick(&[], None, None), None);
    }

    #[test]
    fn parses_limits() {
        assert_eq!(
            parse_config(&json!({"max_assignment_limit": 3})).unwrap(),
            Some(3)
        );
        assert_eq!(
            parse_config(&json!({"max_assignment_limit": "4"})).unwrap(),
            Some(4)
        );
        assert_eq!(
            parse_config(&json!({"max_assignment_limit": null})).unwrap(),
            None
        );
        assert_eq!(parse_config(&json!({})).unwrap(), None);
        assert_eq!(
            parse_config(&json!({"max_assignment_limit": 0})).unwrap(),
            None
        );
        assert!(parse_config(&json!({"max_assignment_limit": -1})).is_err());
        assert!(parse_config(&json!({"max_assignment_limit": 1e30})).is_err());
        assert!(parse_config(&json!({"max_assignment_limit": "x"})).is_err());
        assert!(parse_config(&json!([1])).is_err());
    }
}
