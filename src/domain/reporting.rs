//! Reporting events (issue 14): the facts reports are computed from, recorded from the domain
//! events in the transaction of the change (`events::insert` calls [`on_event`]).
//!
//! Each fact is a `reporting_events` row (Chatwoot's `reporting_events`, extended); the
//! statement triggers `reporting_events_added` / `reporting_events_removed` append it (or,
//! on delete, its removal) to `reporting_pending`, one INSERT per statement, and [`fold`] (the reports worker every second, and every report
//! before it reads) adds the pending facts, grouped, to `reporting_rollups` (hourly UTC buckets per account, inbox, team and agent),
//! `reporting_daily` (daily UTC buckets per inbox, per inbox and agent, per inbox and team)
//! and, for each label of the fact's conversation, `reporting_label_hourly` and
//! `reporting_label_daily` (a label added or removed later moves the conversation's facts:
//! trigger `conversations_reporting_labels`). So a report in any time zone sums a few
//! hundred rollup rows instead of scanning messages (`reports::pieces`).
//!
//! | name | when | `value` (seconds) | bucketed at |
//! |---|---|---|---|
//! | [`CONVERSATION_CREATED`] | `conversation.created` | – | the conversation's `created_at` |
//! | [`CONVERSATION_OPENED`] | a resolved conversation is opened again | – | the reopen |
//! | [`FIRST_RESPONSE`] | the first human reply of a conversation (once, as Chatwoot) | reply − conversation created | the reply |
//! | [`REPLY_TIME`] | a later human reply to a waiting customer | reply − the oldest unanswered incoming message | the reply |
//! | [`CONVERSATION_RESOLVED`] | status → `resolved` | resolve − last opening (created or reopened) | the resolve |
//! | [`MESSAGE_RECEIVED`] / [`MESSAGE_SENT`] | an incoming / outgoing non-private message (automated ones included) | – | the message |
//! | [`TEMPLATE_SENT`] | a template message (`detail` name, `category`) | – | the message |
//! | [`CONVERSATION_ASSIGNED`] / [`TEAM_ASSIGNED`] | `assignee.changed` to an agent / `conversation.updated` to a team | – | the change |
//! | [`MESSAGE_FAILED`] | a message's status becomes `failed` (`detail`: Meta's error code) | – | the message's `created_at` (a late status lands on the send day) |
//! | [`WINDOW_CLOSED`] | 24 h after the customer's last message with no human reply after it | – | the close (`event_start_time`: the customer's message) |
//!
//! `value_in_business_hours` is the same duration counting only the inbox's open time
//! (`business_hours::Schedule::business_duration`; equal to `value` when the inbox has no
//! business hours). A human reply is an outgoing or template message that is not a private
//! note and has no `content_attributes.automated` (greeting, out of office, CSAT, automation
//! rule): those don't answer the customer. `user_id` is the replying agent for replies and the
//! assignee at the time otherwise; `team_id` the conversation's team at the time.
//!
//! Corrections: a message is counted once per fact (unique `(message_id, name)`), so a
//! repeated or late status changes nothing; a reopened conversation records
//! [`CONVERSATION_OPENED`] and its next resolution is measured from the reopen, so every
//! resolution counts once with its own duration. Safe with several processes: the
//! per-conversation state row is locked (`FOR UPDATE`) and rollups are upserts.

use super::events;
use crate::db::prepared::Prepare;
use crate::error::AppResult;

mod batch;
pub use batch::{on_events, EventRef};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Int2, Jsonb, Nullable, Text, Timestamptz};
use serde_json::Value;

/// A conversation was created (Chatwoot's `conversations_count`).
pub const CONVERSATION_CREATED: &str = "conversation_created";
/// A resolved conversation was opened again (Chatwoot: `conversation_opened`).
pub const CONVERSATION_OPENED: &str = "conversation_opened";
/// The first human reply (Chatwoot: `first_response`).
pub const FIRST_RESPONSE: &str = "first_response";
/// A later human reply to a waiting customer (Chatwoot: `reply_time`).
pub const REPLY_TIME: &str = "reply_time";
/// A resolution (Chatwoot: `conversation_resolved`).
pub const CONVERSATION_RESOLVED: &str = "conversation_resolved";
/// An incoming message.
pub const MESSAGE_RECEIVED: &str = "message_received";
/// An outgoing (or template) message, not a private note.
pub const MESSAGE_SENT: &str = "message_sent";
/// A WhatsApp template message sent.
pub const TEMPLATE_SENT: &str = "template_sent";
/// A message whose delivery failed.
pub const MESSAGE_FAILED: &str = "message_failed";
/// A conversation was assigned to an agent (`user_id`; Chatwoot's agent `conversations_count`).
pub const CONVERSATION_ASSIGNED: &str = "conversation_assigned";
/// A conversation was given to a team (`team_id`; Chatwoot's team `conversations_count`).
pub const TEAM_ASSIGNED: &str = "team_assigned";

/// A WhatsApp customer service window closed with the customer's last message unanswered:
/// 24 hours after an incoming message, no human reply came after it (dated at the close;
/// recorded by [`close_windows`], or by the customer's next message if that comes first).
pub const WINDOW_CLOSED: &str = "window_closed_unanswered";

/// How long a customer service window stays open after the customer's message (Meta's rule).
pub const WINDOW_HOURS: i64 = 24;

/// Every fact name.
pub const ALL: [&str; 12] = [
    WINDOW_CLOSED,
    CONVERSATION_ASSIGNED,
    TEAM_ASSIGNED,
    CONVERSATION_CREATED,
    CONVERSATION_OPENED,
    FIRST_RESPONSE,
    REPLY_TIME,
    CONVERSATION_RESOLVED,
    MESSAGE_RECEIVED,
    MESSAGE_SENT,
    TEMPLATE_SENT,
    MESSAGE_FAILED,
];

#[derive(QueryableByName)]
struct Conv {
    #[diesel(sql_type = BigInt)]
    account_id: i64,
    #[diesel(sql_type = BigInt)]
    inbox_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    assignee_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    team_id: Option<i64>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct State {
    #[diesel(sql_type = Timestamptz)]
    opened_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    first_response_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    waiting_since: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_incoming_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Bool)]
    window_replied: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    window_closed_for: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct Msg {
    #[diesel(sql_type = BigInt)]
    conversation_id: i64,
    #[diesel(sql_type = Int2)]
    message_type: i16,
    #[diesel(sql_type = Bool)]
    private: bool,
    #[diesel(sql_type = Jsonb)]
    content_attributes: Value,
    #[diesel(sql_type = Nullable<Text>)]
    sender_type: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    sender_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    external_error: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

/// One fact to record (see the module table).
#[derive(Debug, Clone, Default)]
pub struct Fact<'a> {
    pub name: &'a str,
    pub account_id: i64,
    pub inbox_id: Option<i64>,
    pub conversation_id: Option<i64>,
    pub user_id: Option<i64>,
    pub team_id: Option<i64>,
    /// `(start, end)`: the duration measured, both stored; `value` is `end - start` seconds.
    pub start: Option<DateTime<Utc>>,
    /// When it happened (the bucket time).
    pub at: DateTime<Utc>,
    /// Seconds of the duration inside business hours (`None`: no duration).
    pub value_bh: Option<f64>,
    pub message_id: Option<i64>,
    pub detail: Option<String>,
    pub category: Option<String>,
}

/// Inserts `fact` (ignored when the message already has this fact, or the conversation
/// already has its first response). Returns whether a row was added.
pub fn record(conn: &mut PgConnection, fact: &Fact<'_>) -> AppResult<bool> {
    let value = fact
        .start
        .map(|s| (fact.at - s).num_milliseconds() as f64 / 1000.0);
    let n = diesel::sql_query(
        "INSERT INTO reporting_events (account_id, inbox_id, conversation_id, user_id, team_id, \
         name, value, value_in_business_hours, event_start_time, event_end_time, message_id, \
         detail, category) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<BigInt, _>(fact.account_id)
    .bind::<Nullable<BigInt>, _>(fact.inbox_id)
    .bind::<Nullable<BigInt>, _>(fact.conversation_id)
    .bind::<Nullable<BigInt>, _>(fact.user_id)
    .bind::<Nullable<BigInt>, _>(fact.team_id)
    .bind::<Text, _>(fact.name)
    .bind::<Nullable<Double>, _>(value)
    .bind::<Nullable<Double>, _>(fact.value_bh.or(value))
    .bind::<Nullable<Timestamptz>, _>(fact.start)
    .bind::<Timestamptz, _>(fact.at)
    .bind::<Nullable<BigInt>, _>(fact.message_id)
    .bind::<Nullable<Text>, _>(fact.detail.as_deref())
    .bind::<Nullable<Text>, _>(fact.category.as_deref())
    .prepared()
    .execute(conn)?;
    Ok(n > 0)
}

/// The hook `events::insert` calls for every domain event, in its transaction: records the
/// facts of `conversation.created`, `conversation.status_changed`, `message.created` and a
/// `message.updated` to `failed`. Any other event costs nothing. Status changes are dated
/// now; messages at their `created_at`.
pub fn on_event(
    conn: &mut PgConnection,
    conversation_id: Option<i64>,
    name: &str,
    payload: &Value,
) -> AppResult<()> {
    let Some(conversation_id) = conversation_id else {
        return Ok(());
    };
    match name {
        events::CONVERSATION_CREATED => conversation_created(conn, conversation_id),
        events::CONVERSATION_STATUS_CHANGED => status_changed(
            conn,
            conversation_id,
            payload["status"].as_str().unwrap_or(""),
            payload["previous_status"].as_str().unwrap_or(""),
            Utc::now(),
        ),
        events::ASSIGNEE_CHANGED if payload["assignee_id"].is_i64() => {
            assigned(conn, conversation_id, CONVERSATION_ASSIGNED, Utc::now())
        }
        events::CONVERSATION_UPDATED if payload["team_id"].is_i64() => {
            assigned(conn, conversation_id, TEAM_ASSIGNED, Utc::now())
        }
        events::MESSAGE_CREATED => match payload["message_id"].as_i64() {
            Some(id) => message_created(conn, id),
            None => Ok(()),
        },
        events::MESSAGE_UPDATED
            if payload["status"] == "failed" && payload["update"] == "status" =>
        {
            match payload["message_id"].as_i64() {
                Some(id) => message_failed(conn, id),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// The conversation's reporting fields, its row locked (`FOR NO KEY UPDATE`, the lock its
/// updates take) before [`state`] locks the per-conversation reporting row: every writer
/// takes the conversation first, so two racing on one conversation never deadlock.
fn conversation(conn: &mut PgConnection, id: i64) -> AppResult<Option<Conv>> {
    Ok(diesel::sql_query(
        "SELECT account_id, inbox_id, assignee_id, team_id, created_at FROM conversations \
         WHERE id = $1 FOR NO KEY UPDATE",
    )
    .bind::<BigInt, _>(id)
    .prepared()
    .get_result(conn)
    .optional()?)
}

/// The per-conversation state, locked, created (opened at `opened_at`) when missing: one
/// statement (the no-op `DO UPDATE` locks and returns an existing row like `FOR UPDATE`).
fn state(conn: &mut PgConnection, id: i64, opened_at: DateTime<Utc>) -> AppResult<State> {
    Ok(diesel::sql_query(
        "INSERT INTO reporting_conversations AS r (conversation_id, opened_at) VALUES ($1, $2) \
         ON CONFLICT (conversation_id) DO UPDATE SET opened_at = r.opened_at \
         RETURNING opened_at, first_response_at, waiting_since, last_incoming_at, \
           window_replied, window_closed_for",
    )
    .bind::<BigInt, _>(id)
    .bind::<Timestamptz, _>(opened_at)
    .prepared()
    .get_result(conn)?)
}

/// Seconds of `[from, to)` inside the inbox's business hours (all of it without them).
fn business_seconds(
    conn: &mut PgConnection,
    c: &Conv,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<f64> {
    if to <= from {
        return Ok(0.0);
    }
    let schedule = super::inbox_hours::get(conn, c.account_id, c.inbox_id)?.schedule();
    Ok(schedule.business_duration(from, to).num_milliseconds() as f64 / 1000.0)
}

/// Records [`CONVERSATION_CREATED`] at the conversation's `created_at`.
pub fn conversation_created(conn: &mut PgConnection, conversation_id: i64) -> AppResult<()> {
    let Some(c) = conversation(conn, conversation_id)? else {
        return Ok(());
    };
    state(conn, conversation_id, c.created_at)?;
    record(
        conn,
        &Fact {
            name: CONVERSATION_CREATED,
            account_id: c.account_id,
            inbox_id: Some(c.inbox_id),
            conversation_id: Some(conversation_id),
            user_id: c.assignee_id,
            team_id: c.team_id,
            at: c.created_at,
            ..Default::default()
        },
    )?;
    Ok(())
}

/// Records [`CONVERSATION_ASSIGNED`] or [`TEAM_ASSIGNED`] (`name`) for the conversation's
/// current assignee and team, at `at`.
pub fn assigned(
    conn: &mut PgConnection,
    conversation_id: i64,
    name: &str,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let Some(c) = conversation(conn, conversation_id)? else {
        return Ok(());
    };
    record(
        conn,
        &Fact {
            name,
            account_id: c.account_id,
            inbox_id: Some(c.inbox_id),
            conversation_id: Some(conversation_id),
            user_id: if name == CONVERSATION_ASSIGNED {
                c.assignee_id
            } else {
                None
            },
            team_id: c.team_id,
            at,
            ..Default::default()
        },
    )?;
    Ok(())
}

/// Records a status change from `previous` to `status` at `at`: a resolve records
/// [`CONVERSATION_RESOLVED`] (measured from the last opening), a move from `resolved` back to
/// open or pending records [`CONVERSATION_OPENED`] and restarts the measure.
pub fn status_changed(
    conn: &mut PgConnection,
    conversation_id: i64,
    status: &str,
    previous: &str,
    at: DateTime<Utc>,
) -> AppResult<()> {
    if status == previous {
        return Ok(());
    }
    let Some(c) = conversation(conn, conversation_id)? else {
        return Ok(());
    };
    let st = state(conn, conversation_id, c.created_at)?;
    if status == "resolved" {
        let bh = business_seconds(conn, &c, st.opened_at, at)?;
        record(
            conn,
            &Fact {
                name: CONVERSATION_RESOLVED,
                account_id: c.account_id,
                inbox_id: Some(c.inbox_id),
                conversation_id: Some(conversation_id),
                user_id: c.assignee_id,
                team_id: c.team_id,
                start: Some(st.opened_at),
                at,
                value_bh: Some(bh),
                ..Default::default()
            },
        )?;
        diesel::sql_query(
            "UPDATE reporting_conversations SET resolved_at = $2, waiting_since = NULL \
             WHERE conversation_id = $1",
        )
        .bind::<BigInt, _>(conversation_id)
        .bind::<Timestamptz, _>(at)
        .prepared()
        .execute(conn)?;
    } else if previous == "resolved" {
        record(
            conn,
            &Fact {
                name: CONVERSATION_OPENED,
                account_id: c.account_id,
                inbox_id: Some(c.inbox_id),
                conversation_id: Some(conversation_id),
                user_id: c.assignee_id,
                team_id: c.team_id,
                at,
                ..Default::default()
            },
        )?;
        diesel::sql_query(
            "UPDATE reporting_conversations SET opened_at = $2, resolved_at = NULL \
             WHERE conversation_id = $1",
        )
        .bind::<BigInt, _>(conversation_id)
        .bind::<Timestamptz, _>(at)
        .prepared()
        .execute(conn)?;
    }
    Ok(())
}

/// True when a message answers the customer: outgoing or template, not a private note, not
/// automated (`content_attributes.automated`).
pub fn is_human_reply(message_type: i16, private: bool, content_attributes: &Value) -> bool {
    use super::messages::message_type as mt;
    (message_type == mt::OUTGOING || message_type == mt::TEMPLATE)
        && !private
        && content_attributes
            .get("automated")
            .map(|v| v.is_null())
            .unwrap_or(true)
}

fn load_message(conn: &mut PgConnection, id: i64) -> AppResult<Option<Msg>> {
    Ok(diesel::sql_query(
        "SELECT conversation_id, message_type, private, content_attributes, sender_type, \
         sender_id, external_error, created_at FROM messages WHERE id = $1",
    )
    .bind::<BigInt, _>(id)
    .prepared()
    .get_result(conn)
    .optional()?)
}

/// The message and its conversation's reporting fields, the conversation row locked as
/// [`conversation`] locks it: one round trip for [`message_created`].
fn load_message_and_conversation(
    conn: &mut PgConnection,
    id: i64,
) -> AppResult<Option<(Msg, Conv)>> {
    #[derive(QueryableByName)]
    struct Both {
        #[diesel(embed)]
        m: Msg,
        #[diesel(sql_type = BigInt)]
        account_id: i64,
        #[diesel(sql_type = BigInt)]
        inbox_id: i64,
        #[diesel(sql_type = Nullable<BigInt>)]
        assignee_id: Option<i64>,
        #[diesel(sql_type = Nullable<BigInt>)]
        team_id: Option<i64>,
        #[diesel(sql_type = Timestamptz)]
        conv_created_at: DateTime<Utc>,
    }
    let both: Option<Both> = diesel::sql_query(
        "SELECT m.conversation_id, m.message_type, m.private, m.content_attributes, \
           m.sender_type, m.sender_id, m.external_error, m.created_at, \
           c.account_id, c.inbox_id, c.assignee_id, c.team_id, c.created_at AS conv_created_at \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.id = $1 FOR NO KEY UPDATE OF c",
    )
    .bind::<BigInt, _>(id)
    .prepared()
    .get_result(conn)
    .optional()?;
    Ok(both.map(|b| {
        let c = Conv {
            account_id: b.account_id,
            inbox_id: b.inbox_id,
            assignee_id: b.assignee_id,
            team_id: b.team_id,
            created_at: b.conv_created_at,
        };
        (b.m, c)
    }))
}

/// Records the facts of stored message `message_id`: received / sent / template sent, and,
/// for a human reply, the first response or reply time.
pub fn message_created(conn: &mut PgConnection, message_id: i64) -> AppResult<()> {
    use super::messages::message_type as mt;
    let Some((m, c)) = load_message_and_conversation(conn, message_id)? else {
        return Ok(());
    };
    if m.private || m.message_type == mt::ACTIVITY {
        return Ok(());
    }
    let agent = if m.sender_type.as_deref() == Some("User") {
        m.sender_id
    } else {
        None
    };
    let base = Fact {
        name: MESSAGE_SENT,
        account_id: c.account_id,
        inbox_id: Some(c.inbox_id),
        conversation_id: Some(m.conversation_id),
        user_id: agent.or(c.assignee_id),
        team_id: c.team_id,
        at: m.created_at,
        message_id: Some(message_id),
        ..Default::default()
    };
    if m.message_type == mt::INCOMING {
        record(
            conn,
            &Fact {
                name: MESSAGE_RECEIVED,
                ..base
            },
        )?;
        let st = state(conn, m.conversation_id, c.created_at)?;
        window_incoming(conn, &c, m.conversation_id, &st, m.created_at)?;
        return Ok(());
    }
    record(conn, &base)?;
    let template = &m.content_attributes["template"];
    if m.message_type == mt::TEMPLATE || template.is_object() {
        record(
            conn,
            &Fact {
                name: TEMPLATE_SENT,
                detail: Some(template["name"].as_str().unwrap_or("").to_string()),
                category: Some(
                    template["category"]
                        .as_str()
                        .unwrap_or("")
                        .to_ascii_uppercase(),
                ),
                ..base.clone()
            },
        )?;
    }
    if !is_human_reply(m.message_type, m.private, &m.content_attributes) {
        return Ok(());
    }
    let st = state(conn, m.conversation_id, c.created_at)?;
    if st.first_response_at.is_none() {
        let start = st.opened_at.min(m.created_at);
        let bh = business_seconds(conn, &c, start, m.created_at)?;
        record(
            conn,
            &Fact {
                name: FIRST_RESPONSE,
                start: Some(start),
                value_bh: Some(bh),
                ..base.clone()
            },
        )?;
    } else if let Some(waiting) = st.waiting_since {
        let start = waiting.min(m.created_at);
        let bh = business_seconds(conn, &c, start, m.created_at)?;
        record(
            conn,
            &Fact {
                name: REPLY_TIME,
                start: Some(start),
                value_bh: Some(bh),
                ..base.clone()
            },
        )?;
    }
    // A reply inside the customer's window answers it (no customer message yet, e.g. a
    // conversation we started with a template, or history: no window to answer).
    diesel::sql_query(
        "UPDATE reporting_conversations SET waiting_since = NULL, \
         first_response_at = COALESCE(first_response_at, $2), \
         window_replied = window_replied OR COALESCE(last_incoming_at <= $2 \
           AND $2 < last_incoming_at + make_interval(hours => 24), false) \
         WHERE conversation_id = $1",
    )
    .bind::<BigInt, _>(m.conversation_id)
    .bind::<Timestamptz, _>(m.created_at)
    .prepared()
    .execute(conn)?;
    Ok(())
}

/// Meta's error code in a stored `external_error` (`"(#131047) Re-engagement message"`), or
/// `"unknown"`.
pub fn error_code(external_error: Option<&str>) -> String {
    external_error
        .and_then(|e| {
            let rest = e.trim_start().strip_prefix("(#")?;
            let end = rest.find(')')?;
            let code = &rest[..end];
            (!code.is_empty() && code.chars().all(|c| c.is_ascii_digit())).then(|| code.into())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Records [`MESSAGE_FAILED`] for message `message_id`, dated at its `created_at` (so a late
/// status lands on the day it was sent), once per message.
pub fn message_failed(conn: &mut PgConnection, message_id: i64) -> AppResult<()> {
    let Some(m) = load_message(conn, message_id)? else {
        return Ok(());
    };
    let Some(c) = conversation(conn, m.conversation_id)? else {
        return Ok(());
    };
    record(
        conn,
        &Fact {
            name: MESSAGE_FAILED,
            account_id: c.account_id,
            inbox_id: Some(c.inbox_id),
            conversation_id: Some(m.conversation_id),
            user_id: if m.sender_type.as_deref() == Some("User") {
                m.sender_id
            } else {
                c.assignee_id
            },
            team_id: c.team_id,
            at: m.created_at,
            message_id: Some(message_id),
            detail: Some(error_code(m.external_error.as_deref())),
            ..Default::default()
        },
    )?;
    Ok(())
}

/// Records [`WINDOW_CLOSED`] for conversation `conversation_id` whose customer wrote last at
/// `last_incoming` (once per window: a unique index on the close time).
fn window_closed(
    conn: &mut PgConnection,
    c: &Conv,
    conversation_id: i64,
    last_incoming: DateTime<Utc>,
) -> AppResult<()> {
    record(
        conn,
        &Fact {
            name: WINDOW_CLOSED,
            account_id: c.account_id,
            inbox_id: Some(c.inbox_id),
            conversation_id: Some(conversation_id),
            user_id: c.assignee_id,
            team_id: c.team_id,
            at: last_incoming + chrono::Duration::hours(WINDOW_HOURS),
            ..Default::default()
        },
    )?;
    diesel::sql_query(
        "UPDATE reporting_conversations SET window_closed_for = $2 WHERE conversation_id = $1",
    )
    .bind::<BigInt, _>(conversation_id)
    .bind::<Timestamptz, _>(last_incoming)
    .prepared()
    .execute(conn)?;
    Ok(())
}

/// A customer message at `at`: the previous window, if it closed unanswered before `at`, is
/// recorded now; the window restarts from `at` (unanswered).
fn window_incoming(
    conn: &mut PgConnection,
    c: &Conv,
    conversation_id: i64,
    st: &State,
    at: DateTime<Utc>,
) -> AppResult<()> {
    // An older message arriving late leaves the window to the newer one's.
    let newer = st.last_incoming_at.is_none_or(|last| at >= last);
    if let Some(last) = st.last_incoming_at.filter(|_| newer) {
        if !st.window_replied
            && last + chrono::Duration::hours(WINDOW_HOURS) <= at
            && st.window_closed_for != Some(last)
        {
            window_closed(conn, c, conversation_id, last)?;
        }
    }
    // The customer now waits for an answer (since their first unanswered message), and a
    // newer message opens a new window: one statement for both.
    let waiting = st.waiting_since.is_none();
    if newer || waiting {
        diesel::sql_query(
            "UPDATE reporting_conversations SET \
               last_incoming_at = CASE WHEN $3 THEN $2 ELSE last_incoming_at END, \
               window_replied = CASE WHEN $3 THEN false ELSE window_replied END, \
               waiting_since = CASE WHEN $4 THEN $2 ELSE waiting_since END \
             WHERE conversation_id = $1",
        )
        .bind::<BigInt, _>(conversation_id)
        .bind::<Timestamptz, _>(at)
        .bind::<Bool, _>(newer)
        .bind::<Bool, _>(waiting)
        .prepared()
        .execute(conn)?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct OpenWindow {
    #[diesel(sql_type = BigInt)]
    conversation_id: i64,
    #[diesel(sql_type = Timestamptz)]
    last_incoming_at: DateTime<Utc>,
}

/// Records [`WINDOW_CLOSED`] for every window that closed unanswered by `now` and is not
/// counted yet, at most `limit` (claimed with `SKIP LOCKED`, so several processes may run
/// it). Returns how many were recorded; the reports worker (`jobs::reports`) calls it every
/// minute. Served by the partial index `reporting_conversations_open_windows`.
pub fn close_windows(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> AppResult<usize> {
    conn.transaction(|conn| {
        let open: Vec<OpenWindow> = diesel::sql_query(
            "SELECT r.conversation_id, r.last_incoming_at FROM reporting_conversations r \
             JOIN conversations c ON c.id = r.conversation_id \
             WHERE NOT r.window_replied AND r.last_incoming_at IS NOT NULL \
               AND r.window_closed_for IS DISTINCT FROM r.last_incoming_at \
               AND r.last_incoming_at <= $1 - make_interval(hours => 24) \
             ORDER BY r.last_incoming_at LIMIT $2 FOR NO KEY UPDATE OF c, r SKIP LOCKED",
        )
        .bind::<Timestamptz, _>(now)
        .bind::<BigInt, _>(limit)
        .prepared()
        .load(conn)?;
        let n = open.len();
        for w in open {
            match conversation(conn, w.conversation_id)? {
                Some(c) => window_closed(conn, &c, w.conversation_id, w.last_incoming_at)?,
                None => {
                    diesel::sql_query(
                        "UPDATE reporting_conversations SET window_closed_for = last_incoming_at \
                         WHERE conversation_id = $1",
                    )
                    .bind::<BigInt, _>(w.conversation_id)
                    .prepared()
                    .execute(conn)?;
                }
            }
        }
        Ok(n)
    })
}

#[derive(QueryableByName)]
struct Folded {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    n: i32,
}

/// Facts folded per statement by [`fold`]. Each statement holds the advisory locks of its
/// facts' conversations until it commits, and a label change of one of them (a rule's
/// `add_label`, holding that conversation's row, which ingest then waits for) waits for it:
/// 5,000 facts took 350 ms a statement under `scripts/bench-rules` (1,000 messages a second
/// from 100 customers), and stalled ingest behind it; 500 keep each wait near 35 ms.
pub const FOLD_BATCH: i32 = 500;

/// Adds every pending fact (`reporting_pending`) to the rollups: one grouped upsert per
/// rollup table per [`FOLD_BATCH`] facts, so 1,000 facts of the same hour cost a handful of
/// row updates instead of thousands, and ingest never waits on a hot rollup row. Pending
/// rows another process is folding right now are skipped (they land when it commits).
/// Labels are read at the fold; a label change moves only folded facts (the pending ones
/// get the new labels when folded). A fold and a label change of the same conversation are
/// ordered by an advisory lock on the conversation (migration
/// `2026-12-07-010000_reports_time_sketch`): the change waits for a fold holding it, and a
/// fold leaves the facts of a conversation whose labels are changing pending until that
/// change commits. Returns how many were folded.
pub fn fold(conn: &mut PgConnection) -> AppResult<i64> {
    let mut total = 0i64;
    loop {
        let f: Folded = diesel::sql_query("SELECT reporting_fold($1) AS n")
            .bind::<diesel::sql_types::Integer, _>(FOLD_BATCH)
            .prepared()
            .get_result(conn)?;
        total += f.n as i64;
        if f.n < FOLD_BATCH {
            return Ok(total);
        }
    }
}
