//! Messages and attachments: idempotent insert by wamid, forward-only statuses, and updates
//! (status, reaction, revoke, edit) that wait for a message not stored yet.

use crate::db::schema::{attachments, messages, pending_message_updates};
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Chatwoot's `message_type` integers.
pub mod message_type {
    pub const INCOMING: i16 = 0;
    pub const OUTGOING: i16 = 1;
    pub const ACTIVITY: i16 = 2;
    pub const TEMPLATE: i16 = 3;
}

/// A `messages` row.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = messages)]
pub struct Message {
    pub id: i64,
    pub account_id: i64,
    pub inbox_id: i64,
    pub conversation_id: i64,
    pub message_type: i16,
    pub content: Option<String>,
    pub content_type: String,
    pub content_attributes: Value,
    pub private: bool,
    pub status: String,
    pub source_id: Option<String>,
    pub external_error: Option<String>,
    pub sender_type: Option<String>,
    pub sender_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An `attachments` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attachments)]
pub struct Attachment {
    pub id: i64,
    pub message_id: i64,
    pub account_id: i64,
    pub file_type: String,
    pub media_id: Option<String>,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub file_size: Option<i64>,
    pub file_name: Option<String>,
    pub storage_path: Option<String>,
    pub download_status: String,
    pub download_error: Option<String>,
    pub coordinates_lat: Option<f64>,
    pub coordinates_long: Option<f64>,
    pub fallback_title: Option<String>,
    pub external_url: Option<String>,
    pub meta: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Attachment {
    /// The file's extension (`"pdf"`), from its file name or else its MIME subtype; `None`
    /// when neither gives one.
    pub fn extension(&self) -> Option<String> {
        self.file_name
            .as_deref()
            .and_then(|n| n.rsplit_once('.').map(|(_, e)| e.to_string()))
            .or_else(|| {
                self.mime_type
                    .as_deref()
                    .and_then(|m| m.split(';').next())
                    .and_then(|m| m.split('/').nth(1))
                    .map(str::to_string)
            })
    }
}

/// A message to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = messages)]
pub struct NewMessage {
    pub account_id: i64,
    pub inbox_id: i64,
    pub conversation_id: i64,
    pub message_type: i16,
    pub content: Option<String>,
    pub content_type: String,
    pub content_attributes: Value,
    pub private: bool,
    pub status: String,
    pub source_id: Option<String>,
    pub external_error: Option<String>,
    pub sender_type: Option<String>,
    pub sender_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// An attachment to insert with its message. `media_id` set means a download job is queued.
#[derive(Debug, Clone, Default)]
pub struct NewAttachment {
    pub file_type: String,
    pub media_id: Option<String>,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub file_size: Option<i64>,
    pub file_name: Option<String>,
    pub coordinates_lat: Option<f64>,
    pub coordinates_long: Option<f64>,
    pub fallback_title: Option<String>,
    pub external_url: Option<String>,
    pub meta: Value,
    /// Path under `STORAGE_DIR` of a file already stored locally (an agent's upload); such an
    /// attachment is saved as `downloaded`.
    pub storage_path: Option<String>,
}

/// Delivery statuses in the only order they may move (DESIGN.md invariant 3):
/// progress → sent → delivered → read → played; `failed` is terminal and kept.
pub fn status_rank(status: &str) -> i32 {
    match status {
        "progress" => 0,
        "sent" => 1,
        "delivered" => 2,
        "read" => 3,
        "played" => 4,
        "failed" => 5,
        _ => -1,
    }
}

/// A change to a message identified by wamid, possibly before that message is stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MessageUpdate {
    /// A delivery status from `value.statuses`.
    Status {
        status: String,
        /// Unix seconds.
        timestamp: i64,
        /// `"code: title"` for `failed`.
        error: Option<String>,
        /// `error_data.details` for `failed`.
        error_details: Option<String>,
    },
    /// A customer's reaction; `emoji: None` removes it.
    Reaction {
        emoji: Option<String>,
        /// The reaction's own wamid.
        source_id: Option<String>,
        /// Unix seconds.
        timestamp: i64,
        /// `Contact` (the customer) or `User` (the business, from an echo).
        #[serde(default = "contact_sender")]
        sender_type: String,
    },
    /// The sender deleted the message (Coexistence `revoke`).
    Revoke { timestamp: i64 },
    /// The sender edited the message (Coexistence `edit`).
    Edit { content: String, timestamp: i64 },
}

impl MessageUpdate {
    fn kind(&self) -> &'static str {
        match self {
            MessageUpdate::Status { .. } => "status",
            MessageUpdate::Reaction { .. } => "reaction",
            MessageUpdate::Revoke { .. } => "revoke",
            MessageUpdate::Edit { .. } => "edit",
        }
    }
}

fn contact_sender() -> String {
    "Contact".into()
}

/// The advisory-lock key guarding wamid `source_id` in inbox `inbox_id`:
/// `msg:{inbox_id}:{source_id}` (taken before a message with it is stored or updated; the
/// ingest worker takes a unit's keys up front, see `crate::jobs::ingest`).
pub fn wamid_lock_key(inbox_id: i64, source_id: &str) -> String {
    format!("msg:{inbox_id}:{source_id}")
}

fn lock_wamid(conn: &mut PgConnection, inbox_id: i64, source_id: &str) -> AppResult<()> {
    super::xact_lock(conn, &wamid_lock_key(inbox_id, source_id))?;
    Ok(())
}

/// True when a message with this wamid is already stored in the inbox.
pub fn exists(conn: &mut PgConnection, inbox_id: i64, source_id: &str) -> AppResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        messages::table
            .filter(messages::inbox_id.eq(inbox_id))
            .filter(messages::source_id.eq(source_id)),
    ))
    .get_result(conn)?)
}

/// The message with wamid `source_id` in the inbox.
pub fn find_by_source(
    conn: &mut PgConnection,
    inbox_id: i64,
    source_id: &str,
) -> AppResult<Option<Message>> {
    Ok(messages::table
        .filter(messages::inbox_id.eq(inbox_id))
        .filter(messages::source_id.eq(source_id))
        .select(Message::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts `new` unless its wamid is already stored (insert-or-ignore on the unique
/// `(inbox_id, source_id)` index), then its attachments, then any updates that were waiting
/// for it, then emits one `message.created` carrying the message as saved (updates applied
/// here emit no `message.updated` of their own). Returns the new message and its
/// attachments, or `None` for a duplicate (no event). Must run in a transaction.
pub fn insert_if_new(
    conn: &mut PgConnection,
    new: &NewMessage,
    new_attachments: &[NewAttachment],
) -> AppResult<Option<(Message, Vec<Attachment>)>> {
    insert_if_new_hinted(
        conn,
        new,
        new_attachments,
        InsertHints {
            may_have_waiting: true,
            empty_conversation: false,
        },
    )
}

/// What a caller of [`insert_if_new_hinted`] already knows (issue 15, batched ingest), each
/// saving a read.
#[derive(Debug, Clone, Copy)]
pub struct InsertHints {
    /// False when the wamid was read with no update waiting for it (one read for a whole
    /// unit, under the wamid locks): the `pending_message_updates` read is skipped.
    pub may_have_waiting: bool,
    /// True when the conversation was opened in this transaction and holds no message yet:
    /// the thread-order read (see `after_same_second`) is skipped.
    pub empty_conversation: bool,
}

/// [`insert_if_new`] with what the caller already knows (see [`InsertHints`]).
pub fn insert_if_new_hinted(
    conn: &mut PgConnection,
    new: &NewMessage,
    new_attachments: &[NewAttachment],
    hints: InsertHints,
) -> AppResult<Option<(Message, Vec<Attachment>)>> {
    if let Some(sid) = &new.source_id {
        lock_wamid(conn, new.inbox_id, sid)?;
    }
    let placed;
    let later_in_second = if hints.empty_conversation {
        None
    } else {
        after_same_second(conn, new)?
    };
    let new = match later_in_second {
        Some(at) => {
            placed = NewMessage {
                created_at: at,
                ..new.clone()
            };
            &placed
        }
        None => new,
    };
    let inserted: Option<Message> = diesel::insert_into(messages::table)
        .values(new)
        .on_conflict_do_nothing()
        .returning(Message::as_returning())
        .get_result(conn)
        .optional()?;
    let Some(mut message) = inserted else {
        return Ok(None);
    };
    let mut saved = Vec::with_capacity(new_attachments.len());
    for a in new_attachments {
        let status = if a.storage_path.is_some() {
            "downloaded"
        } else if a.media_id.is_some() {
            "pending"
        } else {
            "none"
        };
        saved.push(
            diesel::insert_into(attachments::table)
                .values((
                    attachments::message_id.eq(message.id),
                    attachments::account_id.eq(message.account_id),
                    attachments::file_type.eq(&a.file_type),
                    attachments::media_id.eq(&a.media_id),
                    attachments::mime_type.eq(&a.mime_type),
                    attachments::sha256.eq(&a.sha256),
                    attachments::file_size.eq(a.file_size),
                    attachments::file_name.eq(&a.file_name),
                    attachments::download_status.eq(status),
                    attachments::storage_path.eq(&a.storage_path),
                    attachments::coordinates_lat.eq(a.coordinates_lat),
                    attachments::coordinates_long.eq(a.coordinates_long),
                    attachments::fallback_title.eq(&a.fallback_title),
                    attachments::external_url.eq(&a.external_url),
                    attachments::meta.eq(&a.meta),
                ))
                .returning(Attachment::as_returning())
                .get_result(conn)?,
        );
    }
    if hints.may_have_waiting {
        (message, _) = apply_waiting(conn, message)?;
    }
    super::events::message_created(conn, &message)?;
    Ok(Some((message, saved)))
}

/// Inserts, in ONE statement, messages known to be new (issue 15, batched ingest: the first
/// messages of an ingest unit's new customers, each the only message of a conversation
/// [`super::conversations::open_many`] just opened) and emits `message.created` for each, in
/// `news`' order. What [`insert_if_new_hinted`] reads first is known here: each wamid was read
/// as unstored, with no update waiting, under the unit's wamid locks; the conversations are
/// empty (no thread-order placement); the messages have no attachments. A wamid stored after
/// all is skipped (`ON CONFLICT DO NOTHING`, no event). Returns the messages stored, in
/// `news`' order. Errors: database errors only.
pub fn insert_many_new(conn: &mut PgConnection, news: &[NewMessage]) -> AppResult<Vec<Message>> {
    if news.is_empty() {
        return Ok(Vec::new());
    }
    let stored: Vec<Message> = diesel::insert_into(messages::table)
        .values(news)
        .on_conflict_do_nothing()
        .returning(Message::as_returning())
        .get_results(conn)?;
    let mut by_wamid: HashMap<(i64, String), Message> = stored
        .into_iter()
        .filter_map(|m| Some(((m.inbox_id, m.source_id.clone()?), m)))
        .collect();
    let mut out = Vec::with_capacity(news.len());
    for new in news {
        let Some(sid) = &new.source_id else { continue };
        if let Some(m) = by_wamid.remove(&(new.inbox_id, sid.clone())) {
            super::events::message_created(conn, &m)?;
            out.push(m);
        }
    }
    Ok(out)
}

/// Applies, in arrival order, the updates that were waiting for this message's wamid, and
/// deletes them. Returns the message as saved and whether any update changed it. Emits no
/// event: the caller reports the message once.
fn apply_waiting(conn: &mut PgConnection, mut message: Message) -> AppResult<(Message, bool)> {
    let Some(sid) = message.source_id.clone() else {
        return Ok((message, false));
    };
    let mut changed = false;
    let waiting: Vec<(i64, Value)> = pending_message_updates::table
        .filter(pending_message_updates::inbox_id.eq(message.inbox_id))
        .filter(pending_message_updates::source_id.eq(&sid))
        .order(pending_message_updates::id)
        .select((
            pending_message_updates::id,
            pending_message_updates::payload,
        ))
        .load(conn)?;
    for (id, payload) in waiting {
        if let Ok(update) = serde_json::from_value::<MessageUpdate>(payload) {
            let (saved, did) = apply_quietly(conn, message, &update)?;
            message = saved;
            changed |= did;
        }
        diesel::delete(pending_message_updates::table.find(id)).execute(conn)?;
    }
    Ok((message, changed))
}

/// Records that Graph accepted an outgoing message as `wamid` at `at` (unix seconds): the
/// wamid becomes its `source_id`, the status moves to `sent` (never backwards), and statuses
/// that arrived before the send answer are applied. Emits one `message.updated` (`update:
/// "sent"`). Idempotent; a message that already has a wamid keeps it and emits nothing.
/// Must run in a transaction.
pub fn record_sent(
    conn: &mut PgConnection,
    message_id: i64,
    wamid: &str,
    at: i64,
) -> AppResult<Message> {
    let current: Message = messages::table
        .find(message_id)
        .select(Message::as_select())
        .first(conn)?;
    lock_wamid(conn, current.inbox_id, wamid)?;
    let message: Message = messages::table
        .find(message_id)
        .for_no_key_update()
        .select(Message::as_select())
        .first(conn)?;
    if message.source_id.is_some() {
        return Ok(message);
    }
    let message: Message = diesel::update(messages::table.find(message_id))
        .set((
            messages::source_id.eq(wamid),
            messages::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Message::as_returning())
        .get_result(conn)?;
    let (message, _) = apply_quietly(
        conn,
        message,
        &MessageUpdate::Status {
            status: "sent".into(),
            timestamp: at,
            error: None,
            error_details: None,
        },
    )?;
    let (message, _) = apply_waiting(conn, message)?;
    super::events::message_updated(conn, &message, "sent")?;
    Ok(message)
}

/// Marks an outgoing message `failed` with Graph's error (`"(#code) message"`) and Meta's
/// `error_data.details`, unless it has already moved past `progress`. Emits
/// `message.updated` when it marks the message (through [`apply`]).
pub fn record_send_failure(
    conn: &mut PgConnection,
    message_id: i64,
    external_error: &str,
    details: Option<&str>,
) -> AppResult<Message> {
    let message: Message = messages::table
        .find(message_id)
        .select(Message::as_select())
        .first(conn)?;
    if message.status != "progress" {
        return Ok(message);
    }
    apply(
        conn,
        message,
        &MessageUpdate::Status {
            status: "failed".into(),
            timestamp: Utc::now().timestamp(),
            error: Some(external_error.to_string()),
            error_details: details.map(str::to_string),
        },
    )
}

/// Remembers the Graph media id an attachment was uploaded as, so a retried send does not
/// upload it again.
pub fn set_attachment_media_id(
    conn: &mut PgConnection,
    attachment_id: i64,
    media_id: &str,
) -> AppResult<()> {
    diesel::update(attachments::table.find(attachment_id))
        .set((
            attachments::media_id.eq(media_id),
            attachments::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// One message by id.
pub fn find(conn: &mut PgConnection, message_id: i64) -> AppResult<Option<Message>> {
    Ok(messages::table
        .find(message_id)
        .select(Message::as_select())
        .first(conn)
        .optional()?)
}

/// Whether an update was applied now or kept for later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    Applied,
    /// The target wamid is not stored yet; the update waits in `pending_message_updates`.
    Pending,
}

/// Applies `update` to the message with wamid `target`, or keeps it until that message
/// appears. Must run in a transaction.
pub fn update_by_source(
    conn: &mut PgConnection,
    inbox_id: i64,
    target: &str,
    update: &MessageUpdate,
) -> AppResult<UpdateOutcome> {
    lock_wamid(conn, inbox_id, target)?;
    match find_by_source(conn, inbox_id, target)? {
        Some(message) => {
            apply(conn, message, update)?;
            Ok(UpdateOutcome::Applied)
        }
        None => {
            diesel::insert_into(pending_message_updates::table)
                .values((
                    pending_message_updates::inbox_id.eq(inbox_id),
                    pending_message_updates::source_id.eq(target),
                    pending_message_updates::kind.eq(update.kind()),
                    pending_message_updates::payload
                        .eq(serde_json::to_value(update).expect("serialisable")),
                ))
                .execute(conn)?;
            Ok(UpdateOutcome::Pending)
        }
    }
}

fn save(
    conn: &mut PgConnection,
    id: i64,
    content: Option<String>,
    status: &str,
    external_error: Option<String>,
    attrs: Value,
) -> AppResult<Message> {
    Ok(diesel::update(messages::table.find(id))
        .set((
            messages::content.eq(content),
            messages::status.eq(status),
            messages::external_error.eq(external_error),
            messages::content_attributes.eq(attrs),
            messages::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Message::as_returning())
        .get_result(conn)?)
}

/// Applies one update to a stored message and returns it as saved. Emits `message.updated`
/// (its `update` is the update's kind) when the message changed; an update that changes
/// nothing (an older status, a replayed reaction, an older edit) emits nothing.
/// Call it inside the transaction of the change.
pub fn apply(
    conn: &mut PgConnection,
    message: Message,
    update: &MessageUpdate,
) -> AppResult<Message> {
    let (message, changed) = apply_quietly(conn, message, update)?;
    if changed {
        super::events::message_updated(conn, &message, update.kind())?;
    }
    Ok(message)
}

/// [`apply`] without the event; also says whether the message changed.
fn apply_quietly(
    conn: &mut PgConnection,
    message: Message,
    update: &MessageUpdate,
) -> AppResult<(Message, bool)> {
    // Lock the row: concurrent updates to one message read-modify-write its attributes.
    let message: Message = messages::table
        .find(message.id)
        .for_no_key_update()
        .select(Message::as_select())
        .first(conn)?;
    let mut attrs = match message.content_attributes.clone() {
        Value::Object(m) => m,
        _ => Default::default(),
    };
    match update {
        MessageUpdate::Status {
            status,
            timestamp,
            error,
            error_details,
        } => {
            if status_rank(status) <= status_rank(&message.status) {
                return Ok((message, false));
            }
            attrs.insert(format!("{status}_at"), json!(timestamp));
            let external_error = if status == "failed" {
                if let Some(d) = error_details {
                    attrs.insert("external_error_details".into(), json!(d));
                }
                error.clone().or(Some("failed".into()))
            } else {
                message.external_error.clone()
            };
            save(
                conn,
                message.id,
                message.content.clone(),
                status,
                external_error,
                Value::Object(attrs),
            )
            .map(|m| (m, true))
        }
        MessageUpdate::Reaction {
            emoji,
            source_id,
            timestamp,
            sender_type,
        } => {
            let mut reactions: Vec<Value> = attrs
                .get("reactions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            // One reaction per sender. `reaction_state` remembers, per sender, the time of the
            // latest event and the reaction wamids already applied, so an older event or a
            // retried delivery cannot bring back a removed reaction.
            let mut state = attrs
                .get("reaction_state")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let mine = state
                .get(sender_type.as_str())
                .cloned()
                .unwrap_or(json!({}));
            let mut applied: Vec<Value> = mine["applied"].as_array().cloned().unwrap_or_default();
            let seen = source_id
                .as_ref()
                .is_some_and(|sid| applied.iter().any(|a| a == sid));
            if seen || mine["timestamp"].as_i64().unwrap_or(i64::MIN) > *timestamp {
                return Ok((message, false));
            }
            if let Some(sid) = source_id {
                applied.push(json!(sid));
                let excess = applied.len().saturating_sub(20);
                applied.drain(..excess);
            }
            state.insert(
                sender_type.clone(),
                json!({"timestamp": timestamp, "applied": applied}),
            );
            attrs.insert("reaction_state".into(), Value::Object(state));
            reactions.retain(|r| r["sender_type"] != sender_type.as_str());
            if let Some(e) = emoji.as_ref().filter(|e| !e.is_empty()) {
                reactions.push(json!({"emoji": e, "sender_type": sender_type, "source_id": source_id, "timestamp": timestamp}));
            }
            attrs.insert("reactions".into(), Value::Array(reactions));
            save(
                conn,
                message.id,
                message.content.clone(),
                &message.status,
                message.external_error.clone(),
                Value::Object(attrs),
            )
            .map(|m| (m, true))
        }
        MessageUpdate::Revoke { timestamp } => {
            attrs.insert("deleted".into(), json!(true));
            attrs.insert("deleted_at".into(), json!(timestamp));
            save(
                conn,
                message.id,
                Some("This message was deleted".into()),
                &message.status,
                message.external_error.clone(),
                Value::Object(attrs),
            )
            .map(|m| (m, true))
        }
        MessageUpdate::Edit { content, timestamp } => {
            if attrs.get("edited_at").and_then(Value::as_i64).unwrap_or(0) > *timestamp {
                return Ok((message, false));
            }
            if let Some(previous) = &message.content {
                attrs.entry("previous_content").or_insert(json!(previous));
            }
            attrs.insert("edited".into(), json!(true));
            attrs.insert("edited_at".into(), json!(timestamp));
            save(
                conn,
                message.id,
                Some(content.clone()),
                &message.status,
                message.external_error.clone(),
                Value::Object(attrs),
            )
            .map(|m| (m, true))
        }
    }
}

/// A message's place in its conversation's thread: the pair `(created_at, id)` the thread is
/// ordered by. `created_at` alone is not unique (and, for imported history or late deliveries,
/// does not follow `id`), so paging compares the whole pair, ties broken by `id`.
pub type ThreadKey = (DateTime<Utc>, i64);

/// One page of a conversation's thread, oldest first.
#[derive(Debug, Clone, Default)]
pub struct ThreadPage {
    /// The messages of the page in `(created_at, id)` order.
    pub messages: Vec<Message>,
    /// Whether messages older than the first one of the page exist.
    pub has_earlier: bool,
}

/// Where an incoming message stamped with a whole second (Graph's `timestamp` has no
/// fraction) goes in the thread: when the conversation already has a message later in that
/// same second (e.g. the CSAT survey it answers, stamped with our clock's microseconds),
/// one microsecond after the latest of them, so the thread's `(created_at, id)` order is the
/// order of arrival and an answer never sorts above its question. `None`: keep the stamp.
fn after_same_second(
    conn: &mut PgConnection,
    new: &NewMessage,
) -> AppResult<Option<DateTime<Utc>>> {
    use chrono::Timelike;
    if new.message_type != message_type::INCOMING || new.created_at.nanosecond() != 0 {
        return Ok(None);
    }
    let end = new.created_at + chrono::Duration::seconds(1);
    let latest: Option<DateTime<Utc>> = messages::table
        .filter(messages::conversation_id.eq(new.conversation_id))
        .filter(messages::created_at.ge(new.created_at))
        .filter(messages::created_at.lt(end))
        .select(diesel::dsl::max(messages::created_at))
        .first(conn)?;
    Ok(latest
        .map(|l| l + chrono::Duration::microseconds(1))
        .filter(|at| *at < end))
}

/// The `(created_at, id)` of message `message_id` when it belongs to `conversation_id`.
/// Errors: 422 naming `field` (`before` or `after`) when it does not: the paging cursor must
/// be one of the thread's own messages.
pub fn thread_key(
    conn: &mut PgConnection,
    conversation_id: i64,
    message_id: i64,
    field: &str,
) -> AppResult<ThreadKey> {
    messages::table
        .filter(messages::id.eq(message_id))
        .filter(messages::conversation_id.eq(conversation_id))
        .select((messages::created_at, messages::id))
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            crate::error::AppError::invalid(
                field,
                format!("{field} must be the id of a message in this conversation"),
            )
        })
}

/// SQL `(messages.created_at, messages.id) <op> ($at, $id)`: a row comparison the index
/// `messages_conversation (conversation_id, created_at, id)` serves as a range.
fn thread_key_cmp(
    op: &'static str,
    key: ThreadKey,
) -> Box<dyn BoxableExpression<messages::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>>
{
    Box::new(
        diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "(messages.created_at, messages.id) {op} ("
        ))
        .bind::<diesel::sql_types::Timestamptz, _>(key.0)
        .sql(", ")
        .bind::<diesel::sql_types::BigInt, _>(key.1)
        .sql(")"),
    )
}

/// A page of a conversation's thread, paged on `(created_at, id)` (Chatwoot's
/// `before`/`after` take message ids; each is resolved to its message's pair, so a message
/// whose timestamp is older than its id suggests is neither skipped nor repeated).
/// Without `after`: the latest `limit` messages older than `before` (or the latest overall).
/// With `after`: the first `limit` messages newer than `after` (and older than `before`).
/// Errors: 422 naming `before`/`after` when that id is not a message of the conversation.
pub fn thread_page(
    conn: &mut PgConnection,
    conversation_id: i64,
    before: Option<i64>,
    after: Option<i64>,
    limit: i64,
) -> AppResult<ThreadPage> {
    page_of(conn, conversation_id, before, after, limit, false)
}

/// [`thread_page`] without an agent's reactions (`content_attributes.is_reaction`): the
/// workspace shows a reaction only as an emoji badge on the message it reacts to
/// (`content_attributes.reactions`), never as a bubble of its own. The API keeps them, as
/// Chatwoot lists reactions as messages.
pub fn shown_thread_page(
    conn: &mut PgConnection,
    conversation_id: i64,
    before: Option<i64>,
    limit: i64,
) -> AppResult<ThreadPage> {
    page_of(conn, conversation_id, before, None, limit, true)
}

/// SQL: the message is not a reaction (`content_attributes.is_reaction` is not `true`).
fn not_a_reaction(
) -> Box<dyn BoxableExpression<messages::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>>
{
    Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>(
        "NOT (messages.content_attributes @> '{\"is_reaction\": true}')",
    ))
}

/// True when `m` is a reaction (`content_attributes.is_reaction`), which the workspace shows
/// only as a badge on the message it reacts to.
pub fn is_reaction(m: &Message) -> bool {
    m.content_attributes["is_reaction"] == Value::Bool(true)
}

fn page_of(
    conn: &mut PgConnection,
    conversation_id: i64,
    before: Option<i64>,
    after: Option<i64>,
    limit: i64,
    skip_reactions: bool,
) -> AppResult<ThreadPage> {
    let limit = limit.max(1);
    let before = before
        .map(|id| thread_key(conn, conversation_id, id, "before"))
        .transpose()?;
    let after = after
        .map(|id| thread_key(conn, conversation_id, id, "after"))
        .transpose()?;
    let mut q = messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .select(Message::as_select())
        .into_boxed();
    if skip_reactions {
        q = q.filter(not_a_reaction());
    }
    if let Some(b) = before {
        q = q.filter(thread_key_cmp("<", b));
    }
    if let Some(a) = after {
        let messages = q
            .filter(thread_key_cmp(">", a))
            .order((messages::created_at.asc(), messages::id.asc()))
            .limit(limit)
            .load(conn)?;
        return Ok(ThreadPage {
            messages,
            has_earlier: true,
        });
    }
    let mut rows: Vec<Message> = q
        .order((messages::created_at.desc(), messages::id.desc()))
        .limit(limit + 1)
        .load(conn)?;
    let has_earlier = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    rows.reverse();
    Ok(ThreadPage {
        messages: rows,
        has_earlier,
    })
}

/// The messages of [`thread_page`] alone.
pub fn for_conversation(
    conn: &mut PgConnection,
    conversation_id: i64,
    before: Option<i64>,
    after: Option<i64>,
    limit: i64,
) -> AppResult<Vec<Message>> {
    Ok(thread_page(conn, conversation_id, before, after, limit)?.messages)
}

/// The latest message of each conversation in `conversation_ids`.
pub fn latest_per_conversation(
    conn: &mut PgConnection,
    conversation_ids: &[i64],
) -> AppResult<Vec<Message>> {
    latest_of(conn, conversation_ids, true)
}

/// The latest message of each conversation in `conversation_ids` that is neither an activity
/// line nor a reaction (Chatwoot's `last_non_activity_message`; a reaction is a badge on the
/// message it reacts to, so "You: 👍" never becomes a conversation's preview).
pub fn latest_non_activity_per_conversation(
    conn: &mut PgConnection,
    conversation_ids: &[i64],
) -> AppResult<Vec<Message>> {
    latest_of(conn, conversation_ids, false)
}

fn latest_of(
    conn: &mut PgConnection,
    conversation_ids: &[i64],
    with_activity: bool,
) -> AppResult<Vec<Message>> {
    if conversation_ids.is_empty() {
        return Ok(vec![]);
    }
    // `<> ALL('{}')` holds for every row: no type is left out.
    let left_out: Vec<i16> = if with_activity {
        vec![]
    } else {
        vec![message_type::ACTIVITY]
    };
    let reactions = if with_activity {
        Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("TRUE"))
    } else {
        not_a_reaction()
    };
    Ok(messages::table
        .filter(messages::conversation_id.eq_any(conversation_ids))
        .filter(messages::message_type.ne_all(left_out))
        .filter(reactions)
        .distinct_on(messages::conversation_id)
        .order((
            messages::conversation_id,
            messages::created_at.desc(),
            messages::id.desc(),
        ))
        .select(Message::as_select())
        .load(conn)?)
}

/// Attachments of the given messages.
pub fn attachments_of(conn: &mut PgConnection, message_ids: &[i64]) -> AppResult<Vec<Attachment>> {
    if message_ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(attachments::table
        .filter(attachments::message_id.eq_any(message_ids))
        .order(attachments::id)
        .select(Attachment::as_select())
        .load(conn)?)
}

/// One attachment by id.
pub fn find_attachment(
    conn: &mut PgConnection,
    attachment_id: i64,
) -> AppResult<Option<Attachment>> {
    Ok(attachments::table
        .find(attachment_id)
        .select(Attachment::as_select())
        .first(conn)
        .optional()?)
}

/// Number of incoming messages newer than `since` in a conversation (the unread badge).
pub fn unread_count(
    conn: &mut PgConnection,
    conversation_id: i64,
    since: Option<DateTime<Utc>>,
) -> AppResult<i64> {
    let mut q = messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::message_type.eq(message_type::INCOMING))
        .into_boxed();
    if let Some(s) = since {
        q = q.filter(messages::created_at.gt(s));
    }
    Ok(q.count().get_result(conn)?)
}

/// The `content` of each of these messages that exists, by id, in one statement (the quotes
/// of a thread's replies).
pub fn contents_by_ids(
    conn: &mut PgConnection,
    ids: &[i64],
) -> AppResult<Vec<(i64, Option<String>)>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(messages::table
        .filter(messages::id.eq_any(ids))
        .select((messages::id, messages::content))
        .load(conn)?)
}

/// Chatwoot's text of a deleted message (`conversations.messages.deleted`).
pub const DELETED_CONTENT: &str = "This message was deleted";

/// Deletes a message as Chatwoot's `DELETE …/messages/{id}` does (`MessagesController#destroy`):
/// the row stays, its `content` becomes [`DELETED_CONTENT`], `content_type` `text`,
/// `content_attributes` `{"deleted": true}`, and its attachments are removed; emits
/// `message.updated` (`update` `delete`) in the same transaction. Only the agent who wrote
/// it (or an administrator, as Chatwoot's `MessagePolicy`) may delete an outgoing message,
/// template or private note. Deleting again changes nothing and answers the message.
///
/// WhatsApp has no delete-for-everyone in the Cloud API: the message stays on the
/// customer's phone; only Switchboard's copy (and what integrators see) changes.
///
/// Returns the message after the change and the `storage_path` of each removed attachment
/// file (for the caller to delete once committed). Errors: 404 when the message is not in
/// the conversation `conversation_id`; 403 for another agent's message; 422 naming
/// `message_id` for a customer's message or an activity line.
pub fn delete_by_agent(
    conn: &mut PgConnection,
    viewer: &super::accounts::Viewer,
    conversation_id: i64,
    message_id: i64,
) -> AppResult<(Message, Vec<String>)> {
    use crate::error::AppError;
    conn.transaction(|conn| {
        let m: Message = messages::table
            .filter(messages::id.eq(message_id))
            .filter(messages::conversation_id.eq(conversation_id))
            .for_update()
            .select(Message::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::NotFound(format!("message {message_id} not found")))?;
        if m.message_type == message_type::INCOMING || m.message_type == message_type::ACTIVITY
        {
            return Err(AppError::invalid(
                "message_id",
                "only an agent's own outgoing message can be deleted, not a customer's message or an activity line",
            ));
        }
        let own = m.sender_type.as_deref() == Some("User") && m.sender_id == Some(viewer.user_id);
        if !own && viewer.role != super::accounts::Role::Administrator {
            return Err(AppError::Forbidden(
                "only the agent who sent this message or an administrator can delete it".into(),
            ));
        }
        if m.content_attributes["deleted"] == json!(true) {
            return Ok((m, vec![]));
        }
        let files: Vec<Option<String>> =
            diesel::delete(attachments::table.filter(attachments::message_id.eq(m.id)))
                .returning(attachments::storage_path)
                .get_results(conn)?;
        let updated: Message = diesel::update(messages::table.find(m.id))
            .set((
                messages::content.eq(DELETED_CONTENT),
                messages::content_type.eq("text"),
                messages::content_attributes.eq(json!({"deleted": true})),
                messages::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Message::as_returning())
            .get_result(conn)?;
        super::events::message_updated(conn, &updated, "delete")?;
        Ok((updated, files.into_iter().flatten().collect()))
    })
}
