//! The typing indicator (issue 12; graph-api-notes.md §6): when an agent starts typing a
//! reply, the customer sees "typing…" in WhatsApp. Meta's indicator rides on the mark-as-read
//! call for the customer's latest incoming message and lasts until the business's next
//! message or 25 seconds, so it is queued:
//! - only for a reply, never for a private note (the caller says which);
//! - only inside the customer service window (DESIGN.md invariant 6: no reply can follow
//!   outside it, and Meta asks to show the indicator only when a reply is coming);
//! - only when the conversation has an incoming message with a wamid;
//! - at most once every [`THROTTLE_SECONDS`] per conversation, across every server process:
//!   the last time is a row of `typing_indicator_sends`, moved by one conditional upsert, so
//!   of any number of concurrent callers exactly one wins.
//!
//! The Graph call itself is a send job (`jobs::send`, payload
//! `{"mark_read": {"inbox_id", "wamid", "typing_indicator": true}}`), like read receipts.

use super::conversations::Conversation;
use crate::db::schema::messages;
use crate::error::AppResult;
use crate::jobs;
use crate::whatsapp::window;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Timestamptz};
use serde_json::json;

/// Seconds between two indicators for one conversation (Meta shows one for 25 s).
pub const THROTTLE_SECONDS: f64 = 20.0;

/// A queued indicator older than this many seconds is dropped unsent: Meta would have hidden
/// it already.
pub const STALE_AFTER_SECONDS: i64 = 25;

/// What [`start`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A typing indicator for this wamid was queued.
    Queued(String),
    /// One was queued less than [`THROTTLE_SECONDS`] ago.
    Throttled,
    /// The customer service window is closed (or the customer never wrote).
    WindowClosed,
    /// No incoming message with a wamid to ride on.
    NoIncomingMessage,
}

impl Outcome {
    /// `queued`, `throttled`, `window_closed` or `no_incoming_message`, as the API answers.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Queued(_) => "queued",
            Outcome::Throttled => "throttled",
            Outcome::WindowClosed => "window_closed",
            Outcome::NoIncomingMessage => "no_incoming_message",
        }
    }
}

#[derive(QueryableByName)]
struct Won {
    #[diesel(sql_type = BigInt)]
    #[allow(dead_code)]
    conversation_id: i64,
}

/// An agent started typing a reply in `conversation` at `now`: queues Meta's typing
/// indicator for the customer's latest incoming message unless the window is closed, there is
/// no such message, or one was queued in the last [`THROTTLE_SECONDS`] (by any process).
/// The throttle row and the job commit together and the send workers are NOTIFYed.
pub fn start(
    conn: &mut PgConnection,
    conversation: &Conversation,
    now: DateTime<Utc>,
) -> AppResult<Outcome> {
    if !window::is_open(conversation.last_incoming_at, now) {
        return Ok(Outcome::WindowClosed);
    }
    conn.transaction(|conn| {
        let wamid: Option<String> = messages::table
            .filter(messages::conversation_id.eq(conversation.id))
            .filter(messages::message_type.eq(super::messages::message_type::INCOMING))
            .filter(messages::source_id.is_not_null())
            .order((messages::created_at.desc(), messages::id.desc()))
            .select(messages::source_id.assume_not_null())
            .first(conn)
            .optional()?;
        let Some(wamid) = wamid else {
            return Ok(Outcome::NoIncomingMessage);
        };
        let won: Option<Won> = diesel::sql_query(
            "INSERT INTO typing_indicator_sends AS t (conversation_id, sent_at) VALUES ($1, $2) \
             ON CONFLICT (conversation_id) DO UPDATE SET sent_at = EXCLUDED.sent_at \
             WHERE t.sent_at <= EXCLUDED.sent_at - make_interval(secs => $3) \
             RETURNING t.conversation_id",
        )
        .bind::<BigInt, _>(conversation.id)
        .bind::<Timestamptz, _>(now)
        .bind::<Double, _>(THROTTLE_SECONDS)
        .get_result(conn)
        .optional()?;
        if won.is_none() {
            return Ok(Outcome::Throttled);
        }
        jobs::enqueue(
            conn,
            jobs::WHATSAPP_SEND,
            json!({"mark_read": {
                "inbox_id": conversation.inbox_id,
                "wamid": wamid,
                "typing_indicator": true,
            }}),
            1,
        )?;
        diesel::sql_query(format!("NOTIFY {}", jobs::SEND_CHANNEL)).execute(conn)?;
        Ok(Outcome::Queued(wamid))
    })
}
