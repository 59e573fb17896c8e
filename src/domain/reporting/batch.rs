//! The reporting hook for many domain events at once (issue 15: an ingest unit stores the
//! events of up to 50 deliveries together, see `events::batched`).
//!
//! The two events ingest emits most, `conversation.created` and the `message.created` of an
//! incoming, non-private message, are recorded set-wise: a run of them costs five statements
//! (lock the conversations, read the messages, create or lock the per-conversation states,
//! insert the facts, write the states back) instead of four to seven per event. Every other
//! event ends the run and goes through [`super::on_event`] alone, so the facts and the state
//! come out exactly as if each event had been recorded on its own, in order.

use super::{
    Conv, Fact, State, CONVERSATION_CREATED, MESSAGE_RECEIVED, WINDOW_CLOSED, WINDOW_HOURS,
};
use crate::db::prepared::Prepare;
use crate::domain::events;
use crate::domain::messages::message_type as mt;
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Double, Nullable, Text, Timestamptz};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One event for [`on_events`]: `(conversation_id, name, payload)`, as `events` stores it.
pub type EventRef<'a> = (Option<i64>, &'a str, &'a Value);

/// What a run records per event.
enum Step {
    Created(i64),
    /// `(message_id, conversation_id)`.
    Incoming(i64, i64),
}

/// How [`on_events`] records one event.
enum Kind {
    /// Set-wise, in the current run.
    Run(Step),
    /// Alone, through [`super::on_event`] (the run before it is recorded first).
    Alone,
    /// Not at all: no conversation, or a name reporting never records.
    Ignored,
}

fn kind(e: &EventRef<'_>) -> Kind {
    let (conversation_id, name, payload) = *e;
    let Some(conversation_id) = conversation_id else {
        return Kind::Ignored;
    };
    match name {
        events::CONVERSATION_CREATED => Kind::Run(Step::Created(conversation_id)),
        events::MESSAGE_CREATED
            if payload["message_type"] == mt::INCOMING && payload["private"] == false =>
        {
            match payload["message_id"].as_i64() {
                Some(id) => Kind::Run(Step::Incoming(id, conversation_id)),
                None => Kind::Ignored,
            }
        }
        events::MESSAGE_CREATED
        | events::MESSAGE_UPDATED
        | events::CONVERSATION_STATUS_CHANGED
        | events::ASSIGNEE_CHANGED
        | events::CONVERSATION_UPDATED => Kind::Alone,
        _ => Kind::Ignored,
    }
}

/// Records the facts of `events`, in order, as [`super::on_event`] would one by one.
/// Runs of two or more `conversation.created` / incoming `message.created` events are
/// recorded set-wise (see the module docs). Errors: database errors.
pub fn on_events(conn: &mut PgConnection, events: &[EventRef<'_>]) -> AppResult<()> {
    let mut run: Vec<Step> = Vec::new();
    for e in events {
        match kind(e) {
            Kind::Run(s) => run.push(s),
            Kind::Ignored => {}
            Kind::Alone => {
                flush(conn, std::mem::take(&mut run))?;
                let (conversation_id, name, payload) = *e;
                super::on_event(conn, conversation_id, name, payload)?;
            }
        }
    }
    flush(conn, run)
}

/// An incoming message's fields the facts need.
#[derive(QueryableByName)]
struct Incoming {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    conversation_id: i64,
    #[diesel(sql_type = diesel::sql_types::Int2)]
    message_type: i16,
    #[diesel(sql_type = Bool)]
    private: bool,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct ConvRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(embed)]
    c: Conv,
}

#[derive(QueryableByName)]
struct StateRow {
    #[diesel(sql_type = BigInt)]
    conversation_id: i64,
    #[diesel(embed)]
    st: State,
}

/// Records one run of set-wise steps.
fn flush(conn: &mut PgConnection, run: Vec<Step>) -> AppResult<()> {
    match run.as_slice() {
        [] => return Ok(()),
        // One event: the single-event path is as cheap.
        [Step::Created(c)] => return super::conversation_created(conn, *c),
        [Step::Incoming(m, _)] => return super::message_created(conn, *m),
        _ => {}
    }
    // The conversations, locked in id order (as `super::conversation` locks one).
    let conversation_ids: Vec<i64> = run
        .iter()
        .map(|s| match s {
            Step::Created(c) | Step::Incoming(_, c) => *c,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Each row by its key (a LATERAL lookup the planner cannot flatten): as `id = ANY($1)`
    // the plan cached while the tables were small scanned every conversation (and, below,
    // every message) for each ingest unit (seen with auto_explain under bench-ingest). The
    // rows are locked in the order of `conversation_ids`, which is sorted (the lock order).
    let convs: HashMap<i64, Conv> = diesel::sql_query(
        "SELECT c.id, c.account_id, c.inbox_id, c.assignee_id, c.team_id, c.created_at \
         FROM unnest($1::int8[]) AS v(id) CROSS JOIN LATERAL (SELECT * FROM conversations c \
           WHERE c.id = v.id OFFSET 0) c ORDER BY c.id FOR NO KEY UPDATE OF c",
    )
    .bind::<Array<BigInt>, _>(&conversation_ids)
    .prepared()
    .load::<ConvRow>(conn)?
    .into_iter()
    .map(|r| (r.id, r.c))
    .collect();
    let message_ids: Vec<i64> = run
        .iter()
        .filter_map(|s| match s {
            Step::Incoming(m, _) => Some(*m),
            Step::Created(_) => None,
        })
        .collect();
    let messages: HashMap<i64, Incoming> = if message_ids.is_empty() {
        HashMap::new()
    } else {
        diesel::sql_query(
            "SELECT m.id, m.conversation_id, m.message_type, m.private, m.created_at \
             FROM unnest($1::int8[]) AS v(id) CROSS JOIN LATERAL (SELECT * FROM messages m \
               WHERE m.id = v.id OFFSET 0) m",
        )
        .bind::<Array<BigInt>, _>(&message_ids)
        .prepared()
        .load::<Incoming>(conn)?
        .into_iter()
        .map(|m| (m.id, m))
        .collect()
    };
    // The per-conversation states, created (opened at the conversation's creation) or locked.
    let (ids, opened): (Vec<i64>, Vec<DateTime<Utc>>) = conversation_ids
        .iter()
        .filter_map(|id| convs.get(id).map(|c| (*id, c.created_at)))
        .unzip();
    let mut states: BTreeMap<i64, State> = diesel::sql_query(
        "INSERT INTO reporting_conversations AS r (conversation_id, opened_at) \
         SELECT * FROM unnest($1::int8[], $2::timestamptz[]) ORDER BY 1 \
         ON CONFLICT (conversation_id) DO UPDATE SET opened_at = r.opened_at \
         RETURNING conversation_id, opened_at, first_response_at, waiting_since, \
           last_incoming_at, window_replied, window_closed_for",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Array<Timestamptz>, _>(&opened)
    .prepared()
    .load::<StateRow>(conn)?
    .into_iter()
    .map(|r| (r.conversation_id, r.st))
    .collect();

    // The facts and the new states, event by event, as the single-event path decides them.
    let mut facts: Vec<Fact<'static>> = Vec::new();
    let mut changed: BTreeSet<i64> = BTreeSet::new();
    for s in &run {
        match s {
            Step::Created(id) => {
                let Some(c) = convs.get(id) else { continue };
                facts.push(Fact {
                    name: CONVERSATION_CREATED,
                    account_id: c.account_id,
                    inbox_id: Some(c.inbox_id),
                    conversation_id: Some(*id),
                    user_id: c.assignee_id,
                    team_id: c.team_id,
                    at: c.created_at,
                    ..Default::default()
                });
            }
            Step::Incoming(message_id, _) => {
                let Some(m) = messages.get(message_id) else {
                    continue;
                };
                if m.private || m.message_type != mt::INCOMING {
                    // Not what the payload said: the single-event path decides.
                    super::message_created(conn, m.id)?;
                    continue;
                }
                let (Some(c), Some(st)) = (
                    convs.get(&m.conversation_id),
                    states.get_mut(&m.conversation_id),
                ) else {
                    continue;
                };
                facts.push(Fact {
                    name: MESSAGE_RECEIVED,
                    account_id: c.account_id,
                    inbox_id: Some(c.inbox_id),
                    conversation_id: Some(m.conversation_id),
                    user_id: c.assignee_id,
                    team_id: c.team_id,
                    at: m.created_at,
                    message_id: Some(m.id),
                    ..Default::default()
                });
                if let Some(closed) = window_incoming(st, m.created_at) {
                    facts.push(Fact {
                        name: WINDOW_CLOSED,
                        account_id: c.account_id,
                        inbox_id: Some(c.inbox_id),
                        conversation_id: Some(m.conversation_id),
                        user_id: c.assignee_id,
                        team_id: c.team_id,
                        at: closed + chrono::Duration::hours(WINDOW_HOURS),
                        ..Default::default()
                    });
                }
                changed.insert(m.conversation_id);
            }
        }
    }
    record_all(conn, &facts)?;
    let changed: Vec<(&i64, &State)> = states
        .iter()
        .filter(|(id, _)| changed.contains(id))
        .collect();
    if !changed.is_empty() {
        // Planned at each call, with the real number of rows: the plan cached while the table
        // was small hashed a sequential scan of every conversation's state for each unit.
        diesel::sql_query(
            "UPDATE reporting_conversations r SET last_incoming_at = v.last_incoming_at, \
               window_replied = v.window_replied, waiting_since = v.waiting_since, \
               window_closed_for = v.window_closed_for \
             FROM unnest($1::int8[], $2::timestamptz[], $3::bool[], $4::timestamptz[], \
               $5::timestamptz[]) AS v(conversation_id, last_incoming_at, window_replied, \
               waiting_since, window_closed_for) \
             WHERE r.conversation_id = v.conversation_id",
        )
        .bind::<Array<BigInt>, _>(changed.iter().map(|(id, _)| **id).collect::<Vec<_>>())
        .bind::<Array<Nullable<Timestamptz>>, _>(
            changed
                .iter()
                .map(|(_, s)| s.last_incoming_at)
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Bool>, _>(
            changed
                .iter()
                .map(|(_, s)| s.window_replied)
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<Timestamptz>>, _>(
            changed
                .iter()
                .map(|(_, s)| s.waiting_since)
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<Timestamptz>>, _>(
            changed
                .iter()
                .map(|(_, s)| s.window_closed_for)
                .collect::<Vec<_>>(),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// A customer message at `at` applied to the state in memory, with the rule of
/// `super::window_incoming`: returns the start of the previous window when it closed
/// unanswered before `at` (its [`WINDOW_CLOSED`] fact is due), and restarts the window from
/// `at` when the message is the newest.
fn window_incoming(st: &mut State, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let newer = st.last_incoming_at.is_none_or(|last| at >= last);
    let mut closed = None;
    if let Some(last) = st.last_incoming_at.filter(|_| newer) {
        if !st.window_replied
            && last + chrono::Duration::hours(WINDOW_HOURS) <= at
            && st.window_closed_for != Some(last)
        {
            st.window_closed_for = Some(last);
            closed = Some(last);
        }
    }
    if st.waiting_since.is_none() {
        st.waiting_since = Some(at);
    }
    if newer {
        st.last_incoming_at = Some(at);
        st.window_replied = false;
    }
    closed
}

/// Inserts `facts` with one statement (each ignored as [`super::record`] ignores it).
fn record_all(conn: &mut PgConnection, facts: &[Fact<'_>]) -> AppResult<()> {
    if facts.is_empty() {
        return Ok(());
    }
    let value = |f: &Fact<'_>| {
        f.start
            .map(|s| (f.at - s).num_milliseconds() as f64 / 1000.0)
    };
    diesel::sql_query(
        "INSERT INTO reporting_events (account_id, inbox_id, conversation_id, user_id, team_id, \
         name, value, value_in_business_hours, event_start_time, event_end_time, message_id, \
         detail, category) \
         SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], \
           $6::text[], $7::float8[], $8::float8[], $9::timestamptz[], $10::timestamptz[], \
           $11::int8[], $12::text[], $13::text[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<Array<BigInt>, _>(facts.iter().map(|f| f.account_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(facts.iter().map(|f| f.inbox_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(facts.iter().map(|f| f.conversation_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(facts.iter().map(|f| f.user_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(facts.iter().map(|f| f.team_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(facts.iter().map(|f| f.name).collect::<Vec<_>>())
    .bind::<Array<Nullable<Double>>, _>(facts.iter().map(value).collect::<Vec<_>>())
    .bind::<Array<Nullable<Double>>, _>(
        facts
            .iter()
            .map(|f| f.value_bh.or(value(f)))
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Timestamptz>>, _>(facts.iter().map(|f| f.start).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(facts.iter().map(|f| f.at).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(facts.iter().map(|f| f.message_id).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(
        facts
            .iter()
            .map(|f| f.detail.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(
        facts
            .iter()
            .map(|f| f.category.as_deref())
            .collect::<Vec<_>>(),
    )
    .prepared()
    .execute(conn)?;
    Ok(())
}
