//! Greeting and out-of-office replies, and the durable hook that also drives CSAT (issue 13).
//!
//! **When.** `events::insert` calls [`enqueue_for_event`] for every event; for an incoming
//! `message.created`, or a `conversation.status_changed` to `resolved`, it queues one
//! [`JOB_KIND`] job in the same transaction, with one `INSERT … SELECT` that inserts nothing
//! unless the inbox has greeting, business hours or CSAT on (one indexed lookup, no extra
//! round trip beyond it; other events cost nothing). The worker (`jobs::hours`) runs
//! [`process`].
//!
//! **Rules** (Chatwoot's `MessageTemplates::HookExecutionService`, with issue 13's fixes):
//! - greeting: for the first incoming message of a contact's first conversation in the inbox;
//! - out of office: for an incoming message outside business hours, at most once per
//!   conversation per closed period (the period is named by the instant it ends, the next
//!   opening; the `auto_replies` primary key makes it hold with several processes);
//! - both only while the customer service window is open (it is: they answer a message; a job
//!   that runs more than 24 hours late sends nothing), and never while the conversation is
//!   handled by a bot or an automation: status `pending` (Chatwoot's bot status) or
//!   `additional_attributes.handled_by` set (any non-null value, e.g. `"bot"` or
//!   `"automation"`; see README "Business hours");
//! - a CSAT answer or its comment (see `csat`) gets neither.
//!
//! The reply is an outgoing text message without a sender (`sender_type` null, a system
//! message), `content_attributes.automated` = `greeting` / `out_of_office`, queued on the
//! normal outbox path (the `whatsapp_send` job).

use super::conversations::{self, Conversation};
use super::csat;
use super::inbox_hours::{self, Settings};
use super::messages::{self, message_type, Message, NewMessage};
use crate::db::prepared::Prepare;
use crate::db::schema::auto_replies;
use crate::error::{AppError, AppResult};
use crate::jobs;
use crate::whatsapp::window;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Jsonb, Text};
use serde_json::{json, Map, Value};

/// Job kind: react to an incoming message or a resolve (payload `{"message_id"}` or
/// `{"resolved": conversation id}`).
pub const JOB_KIND: &str = "hours_auto_reply";
/// Attempts before the job is marked failed.
pub const MAX_ATTEMPTS: i32 = 8;
/// Send attempts of the replies themselves.
pub const SEND_ATTEMPTS: i32 = 8;

/// True when domain event `name` (with `payload`) may queue an auto-reply job: an incoming
/// message (greeting, out of office, a CSAT answer) or a resolve (the CSAT survey).
pub fn may_enqueue(name: &str, payload: &Value) -> bool {
    (name == super::events::MESSAGE_CREATED
        && payload["message_type"].as_i64() == Some(i64::from(message_type::INCOMING)))
        || (name == super::events::CONVERSATION_STATUS_CHANGED
            && payload["status"].as_str() == Some("resolved"))
}

/// Queues the job for an event when the inbox has greeting, business hours or CSAT on (see
/// the module documentation). Call it in the event's transaction.
pub fn enqueue_for_event(
    conn: &mut PgConnection,
    inbox_id: Option<i64>,
    conversation_id: Option<i64>,
    name: &str,
    payload: &Value,
) -> AppResult<()> {
    let (Some(inbox_id), Some(conversation_id)) = (inbox_id, conversation_id) else {
        return Ok(());
    };
    let (job, condition) = if name == super::events::MESSAGE_CREATED
        && payload["message_type"].as_i64() == Some(i64::from(message_type::INCOMING))
    {
        (
            json!({"message_id": payload["message_id"]}),
            "(greeting_enabled OR working_hours_enabled OR csat_survey_enabled)",
        )
    } else if name == super::events::CONVERSATION_STATUS_CHANGED
        && payload["status"].as_str() == Some("resolved")
    {
        (
            json!({ "resolved": conversation_id }),
            "csat_survey_enabled",
        )
    } else {
        return Ok(());
    };
    diesel::sql_query(format!(
        "INSERT INTO jobs (kind, payload, max_attempts, ordering_key) \
         SELECT $1, $2, $3, $4 FROM inbox_hours_settings WHERE inbox_id = $5 AND {condition}"
    ))
    .bind::<Text, _>(JOB_KIND)
    .bind::<Jsonb, _>(job)
    .bind::<diesel::sql_types::Integer, _>(MAX_ATTEMPTS)
    .bind::<Text, _>(format!("hours:conversation:{conversation_id}"))
    .bind::<BigInt, _>(inbox_id)
    .execute(conn)?;
    Ok(())
}

/// True when a bot or an automation handles the conversation: status `pending`, or
/// `additional_attributes.handled_by` set.
pub fn handled_by_bot(c: &Conversation) -> bool {
    c.status == "pending"
        || c.additional_attributes
            .get("handled_by")
            .is_some_and(|v| !v.is_null() && v != &json!(false) && v != &json!(""))
}

/// What [`process`] did, for tests and logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub greeting: Option<i64>,
    pub out_of_office: Option<i64>,
    /// A CSAT survey (message id) was sent, or its reason not to was recorded.
    pub csat: Option<csat::SendOutcome>,
    /// The message was a CSAT answer (`rating`) or comment (`comment`).
    pub csat_answer: Option<&'static str>,
}

/// Runs one job payload (see [`JOB_KIND`]) in one transaction at `now`.
pub fn process(conn: &mut PgConnection, payload: &Value, now: DateTime<Utc>) -> AppResult<Outcome> {
    conn.transaction(|conn| {
        if let Some(conversation_id) = payload["resolved"].as_i64() {
            let out = csat::send_survey(conn, conversation_id, now)?;
            return Ok(Outcome {
                csat: Some(out),
                ..Default::default()
            });
        }
        let Some(message_id) = payload["message_id"].as_i64() else {
            return Ok(Outcome::default());
        };
        let Some(message) = messages::find(conn, message_id)? else {
            return Ok(Outcome::default());
        };
        let conversation = conversations::find_by_id(conn, message.conversation_id)?;
        let settings = inbox_hours::get(conn, conversation.account_id, conversation.inbox_id)?;
        on_incoming(conn, &settings, &conversation, &message, now)
    })
}

fn on_incoming(
    conn: &mut PgConnection,
    settings: &Settings,
    conversation: &Conversation,
    message: &Message,
    now: DateTime<Utc>,
) -> AppResult<Outcome> {
    let mut out = Outcome::default();
    if let Some(kind) = csat::record_answer(conn, conversation, message)? {
        out.csat_answer = Some(kind);
        return Ok(out);
    }
    // A muted conversation gets no greeting nor out-of-office reply (its customer is muted).
    if handled_by_bot(conversation)
        || conversations::is_muted(conversation)
        || !window::is_open(conversation.last_incoming_at, now)
    {
        return Ok(out);
    }
    if let Some(text) = settings.greeting() {
        if is_first_contact_message(conn, conversation, message)?
            && claim(conn, conversation.id, "greeting", "")?
        {
            let m = send_text(conn, conversation, text, "greeting", now)?;
            mark(conn, conversation.id, "greeting", "", m.id)?;
            out.greeting = Some(m.id);
        }
    }
    if let Some(text) = settings.out_of_office() {
        let schedule = settings.schedule();
        if !schedule.is_open(message.created_at) {
            let period = schedule
                .next_open(message.created_at)
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "never".into());
            if claim(conn, conversation.id, "out_of_office", &period)? {
                let m = send_text(conn, conversation, text, "out_of_office", now)?;
                mark(conn, conversation.id, "out_of_office", &period, m.id)?;
                out.out_of_office = Some(m.id);
            }
        }
    }
    Ok(out)
}

/// True when `message` is the first incoming message of the contact's first conversation
/// in the inbox.
fn is_first_contact_message(
    conn: &mut PgConnection,
    c: &Conversation,
    m: &Message,
) -> AppResult<bool> {
    #[derive(QueryableByName)]
    struct First {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        first: bool,
    }
    let row: First = diesel::sql_query(
        "SELECT NOT EXISTS (SELECT 1 FROM conversations WHERE inbox_id = $1 AND contact_id = $2 AND id < $3) \
           AND NOT EXISTS (SELECT 1 FROM messages WHERE conversation_id = $3 AND message_type = 0 AND id < $4) AS first",
    )
    .bind::<BigInt, _>(c.inbox_id)
    .bind::<BigInt, _>(c.contact_id)
    .bind::<BigInt, _>(c.id)
    .bind::<BigInt, _>(m.id)
    .prepared()
    .get_result(conn)?;
    Ok(row.first)
}

/// Takes the once-only key; false when another job (any process) already has it.
fn claim(
    conn: &mut PgConnection,
    conversation_id: i64,
    kind: &str,
    period: &str,
) -> AppResult<bool> {
    Ok(diesel::insert_into(auto_replies::table)
        .values((
            auto_replies::conversation_id.eq(conversation_id),
            auto_replies::kind.eq(kind),
            auto_replies::period_key.eq(period),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?
        == 1)
}

fn mark(
    conn: &mut PgConnection,
    conversation_id: i64,
    kind: &str,
    period: &str,
    message_id: i64,
) -> AppResult<()> {
    diesel::update(auto_replies::table.find((
        conversation_id,
        kind.to_string(),
        period.to_string(),
    )))
    .set(auto_replies::message_id.eq(Some(message_id)))
    .execute(conn)?;
    Ok(())
}

/// Stores an outgoing message without a sender (a system message) and queues its send on
/// the outbox path, in the caller's transaction. `content_type` `text` unless given in
/// `attrs` by an interactive or template message (see `csat`).
pub fn send_system(
    conn: &mut PgConnection,
    c: &Conversation,
    content: &str,
    content_type: &str,
    attrs: Map<String, Value>,
    now: DateTime<Utc>,
) -> AppResult<Message> {
    let new = NewMessage {
        account_id: c.account_id,
        inbox_id: c.inbox_id,
        conversation_id: c.id,
        message_type: message_type::OUTGOING,
        content: Some(content.to_string()),
        content_type: content_type.into(),
        content_attributes: Value::Object(attrs),
        private: false,
        status: "progress".into(),
        source_id: None,
        external_error: None,
        sender_type: None,
        sender_id: None,
        created_at: now,
    };
    let (message, _) = messages::insert_if_new(conn, &new, &[])?
        .ok_or_else(|| AppError::Internal("automatic message was not inserted".into()))?;
    conversations::record_message(conn, c.id, now, false)?;
    jobs::enqueue_ordered(
        conn,
        jobs::WHATSAPP_SEND,
        super::outbox::send_job_payload(message.id),
        SEND_ATTEMPTS,
        &format!("conversation:{}", c.id),
    )?;
    diesel::sql_query(format!("NOTIFY {}", jobs::SEND_CHANNEL)).execute(conn)?;
    Ok(message)
}

fn send_text(
    conn: &mut PgConnection,
    c: &Conversation,
    text: &str,
    kind: &str,
    now: DateTime<Utc>,
) -> AppResult<Message> {
    let mut attrs = Map::new();
    attrs.insert("automated".into(), json!(kind));
    send_system(conn, c, text, "text", attrs, now)
}

/// Adds an activity line to the conversation (in the caller's transaction).
pub fn activity(
    conn: &mut PgConnection,
    c: &Conversation,
    line: &str,
    attrs: Value,
    at: DateTime<Utc>,
) -> AppResult<Message> {
    let (m, _) = messages::insert_if_new(
        conn,
        &NewMessage {
            account_id: c.account_id,
            inbox_id: c.inbox_id,
            conversation_id: c.id,
            message_type: message_type::ACTIVITY,
            content: Some(line.to_string()),
            content_type: "text".into(),
            content_attributes: attrs,
            private: false,
            status: "sent".into(),
            source_id: None,
            external_error: None,
            sender_type: None,
            sender_id: None,
            created_at: at,
        },
        &[],
    )?
    .ok_or_else(|| AppError::Internal("activity line was not inserted".into()))?;
    Ok(m)
}
