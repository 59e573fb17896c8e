//! Outgoing messages: what an agent or integrator may send, stored with status `progress` and
//! queued for the send job in the same transaction (an outbox), so a crash loses nothing.
//!
//! Rules enforced here, before Graph is called:
//! - text up to 4096 characters, captions up to 1024 (Meta: messages reference);
//! - one file per message (a WhatsApp message carries one media object);
//! - the 24-hour customer service window for everything but templates and private notes
//!   (Meta: messaging/customer-service-windows; DESIGN.md invariant 6);
//! - templates must exist, be APPROVED and get every parameter (see [`templates::render`]);
//! - a reply or reaction targets a message of the same conversation that has a wamid;
//! - interactive messages (buttons, list, CTA URL, location request) within Meta's limits
//!   ([`crate::whatsapp::interactive`]), inside the window like free text, without a file.

use super::conversations::{self, Conversation};
use super::messages::{self, message_type, Attachment, Message, NewAttachment, NewMessage};
use super::templates::{self, TemplateParams};
use crate::db::schema::{contacts, messages as messages_table};
use crate::error::{AppError, AppResult};
use crate::jobs;
use crate::whatsapp::interactive::Interactive;
use crate::whatsapp::outbound::{self, MediaKind, Recipient};
use crate::whatsapp::window;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::{json, Map, Value};

/// A file an agent uploaded, already written under `STORAGE_DIR`.
#[derive(Debug, Clone)]
pub struct StoredUpload {
    pub file_name: String,
    pub mime_type: String,
    /// Bytes.
    pub file_size: i64,
    /// Path relative to `STORAGE_DIR`.
    pub storage_path: String,
}

/// What `POST …/conversations/{id}/messages` asks for.
#[derive(Debug, Clone, Default)]
pub struct OutgoingInput {
    pub content: Option<String>,
    /// A private note: stored, never sent.
    pub private: bool,
    /// `content_attributes.in_reply_to`: the id of the message replied or reacted to.
    pub in_reply_to: Option<i64>,
    /// `content_attributes.is_reaction`: `content` is an emoji for `in_reply_to` (empty
    /// removes the reaction).
    pub is_reaction: bool,
    pub template: Option<TemplateParams>,
    pub attachments: Vec<StoredUpload>,
    /// An interactive message (`content_type` `input_select`, `cta_url`, `location_request`),
    /// already checked against Meta's limits; its body is the message's content.
    pub interactive: Option<Interactive>,
    /// Other `content_attributes` the client sent, kept as given (except `automated`, which
    /// only [`OutgoingInput::automated`] sets).
    pub extra_attributes: Map<String, Value>,
    /// Sent by the Automation System (a rule's `send_message` / `send_template`): stored with
    /// `content_attributes.automated` = this kind (e.g. `"automation_rule"`), it neither
    /// counts as the first reply nor ends "waiting since" (Chatwoot: only human replies do).
    pub automated: Option<String>,
}

/// The text agents see when the window is closed (also used by the UI).
pub const WINDOW_CLOSED: &str = "The 24-hour customer service window is closed: the customer's last message was more than 24 hours ago. Send an approved template to reopen the conversation.";

/// The payload of a send job for a message.
pub fn send_job_payload(message_id: i64) -> Value {
    json!({ "message_id": message_id })
}

/// Validates and stores an outgoing message by user `sender_user_id` in `conversation`, and
/// queues its send unless it is a private note; emits `message.created` in the same
/// transaction (private notes too). Returns the stored message and attachments.
/// Errors: 422 naming the field (`content`, `content_type`, `attachments`,
/// `content_attributes.in_reply_to`, `template_params…`) with a message a person understands.
pub fn create(
    conn: &mut PgConnection,
    conversation: &Conversation,
    sender_user_id: i64,
    input: OutgoingInput,
    max_attempts: i32,
    now: DateTime<Utc>,
) -> AppResult<(Message, Vec<Attachment>)> {
    let content = input.content.clone().unwrap_or_default();
    if input.attachments.len() > 1 {
        return Err(AppError::invalid(
            "attachments",
            "a WhatsApp message carries one file; send each file as its own message",
        ));
    }
    let upload = input.attachments.first();
    let kind = upload.map(|u| MediaKind::for_mime(&u.mime_type));
    let mut attrs = input.extra_attributes.clone();
    attrs.remove("in_reply_to_external_id");
    attrs.remove("automated");
    if let Some(kind) = &input.automated {
        attrs.insert("automated".into(), json!(kind));
    }

    if input.interactive.is_some() {
        let clash = if input.private {
            Some("a private note is text only: send buttons, lists, links and location requests as a reply")
        } else if input.template.is_some() {
            Some("a message is either a template or an interactive message, not both")
        } else if input.is_reaction {
            Some("a reaction is an emoji, not an interactive message")
        } else {
            None
        };
        if let Some(reason) = clash {
            return Err(AppError::invalid("content_type", reason));
        }
    }
    if input.private {
        if content.trim().is_empty() && upload.is_none() {
            return Err(AppError::invalid(
                "content",
                "a private note needs some text",
            ));
        }
        return store(
            conn,
            conversation,
            sender_user_id,
            Some(content),
            "text",
            attrs,
            upload,
            true,
            max_attempts,
            now,
        );
    }

    // Issue 12 (dualhook): a number Dualhook disconnected cannot send.
    crate::dualhook::connect::refuse_send_if_disconnected(conn, conversation.inbox_id)?;

    // What the message replies or reacts to.
    let target = match input.in_reply_to {
        Some(id) => Some(reply_target(conn, conversation, id)?),
        None => None,
    };
    if let Some(t) = &target {
        attrs.insert("in_reply_to".into(), json!(t.id));
        attrs.insert("in_reply_to_external_id".into(), json!(t.source_id));
    }

    if recipient_of(conn, conversation)?.is_none() {
        return Err(AppError::invalid(
            "conversation",
            "this contact has neither a phone number nor a WhatsApp user id to send to",
        ));
    }

    let mut stored_content = Some(content.clone());
    let mut content_type = "text";
    if let Some(params) = &input.template {
        if upload.is_some() {
            return Err(AppError::invalid(
                "attachments",
                "a template message cannot carry a file; use the template's media header",
            ));
        }
        let template =
            templates::find(conn, conversation.inbox_id, &params.name, &params.language)?
                .ok_or_else(|| templates::not_found_error(&params.name, &params.language))?;
        let rendered = templates::render(&template, params)?;
        stored_content = Some(rendered.content.clone());
        attrs.insert(
            "template_params".into(),
            serde_json::to_value(params).unwrap_or(Value::Null),
        );
        attrs.insert(
            "template".into(),
            json!({
                "name": template.name,
                "language": template.language,
                "category": template.category,
                "header": rendered.header,
                "header_media": rendered.header_media.as_ref().map(|(t, u)| json!({"media_type": t, "media_url": u})),
                "footer": rendered.footer,
                "buttons": rendered.buttons,
            }),
        );
    } else {
        // Free-form: the window must be open.
        if !window::is_open(conversation.last_incoming_at, now) {
            return Err(AppError::invalid("content", WINDOW_CLOSED));
        }
        if input.is_reaction {
            if target.is_none() {
                return Err(AppError::invalid(
                    "content_attributes.in_reply_to",
                    "a reaction needs content_attributes.in_reply_to: the id of the message reacted to",
                ));
            }
            if content.chars().count() > 16 || upload.is_some() {
                return Err(AppError::invalid(
                    "content",
                    "a reaction's content is a single emoji (or empty to remove the reaction)",
                ));
            }
            attrs.insert("is_reaction".into(), json!(true));
        } else if let Some(i) = &input.interactive {
            if upload.is_some() {
                return Err(AppError::invalid(
                    "attachments",
                    "an interactive message cannot carry a file; send the file as its own message",
                ));
            }
            attrs.extend(i.stored_attributes());
            stored_content = Some(i.body.clone());
            content_type = i.content_type();
        } else if let (Some(u), Some(k)) = (upload, kind) {
            if u.file_size as usize > k.max_bytes() {
                return Err(AppError::invalid(
                    "attachments",
                    format!(
                        "{} is {} bytes; WhatsApp accepts {} files up to {} bytes",
                        u.file_name,
                        u.file_size,
                        k.as_str(),
                        k.max_bytes()
                    ),
                ));
            }
            if !content.is_empty() && !k.takes_caption() {
                return Err(AppError::invalid(
                    "content",
                    format!(
                        "WhatsApp {} messages cannot carry a caption; send the text as its own message",
                        k.as_str()
                    ),
                ));
            }
            if content.chars().count() > outbound::MAX_CAPTION_CHARS {
                return Err(AppError::invalid(
                    "content",
                    format!(
                        "a caption is limited to {} characters (this one has {})",
                        outbound::MAX_CAPTION_CHARS,
                        content.chars().count()
                    ),
                ));
            }
        } else {
            if content.trim().is_empty() {
                return Err(AppError::invalid("content", "content is required"));
            }
            let n = content.chars().count();
            if n > outbound::MAX_TEXT_CHARS {
                return Err(AppError::invalid(
                    "content",
                    format!(
                        "a WhatsApp text message is limited to {} characters (this one has {n})",
                        outbound::MAX_TEXT_CHARS
                    ),
                ));
            }
        }
    }
    if stored_content.as_deref() == Some("") {
        stored_content = None;
    }
    store(
        conn,
        conversation,
        sender_user_id,
        stored_content,
        content_type,
        attrs,
        upload,
        false,
        max_attempts,
        now,
    )
}

#[allow(clippy::too_many_arguments)]
fn store(
    conn: &mut PgConnection,
    conversation: &Conversation,
    sender_user_id: i64,
    content: Option<String>,
    content_type: &str,
    attrs: Map<String, Value>,
    upload: Option<&StoredUpload>,
    private: bool,
    max_attempts: i32,
    now: DateTime<Utc>,
) -> AppResult<(Message, Vec<Attachment>)> {
    conn.transaction(|conn| {
        // The conversation row first, before the message's foreign key and the hooks lock
        // anything else: two replies to one conversation (two agents, two nodes) queue here
        // instead of deadlocking on the locks they would otherwise take in turn.
        crate::db::schema::conversations::table
            .find(conversation.id)
            .select(crate::db::schema::conversations::id)
            .for_no_key_update()
            .first::<i64>(conn)
            .optional()?;
        let new = NewMessage {
            account_id: conversation.account_id,
            inbox_id: conversation.inbox_id,
            conversation_id: conversation.id,
            message_type: message_type::OUTGOING,
            content,
            content_type: content_type.into(),
            content_attributes: Value::Object(attrs),
            private,
            status: if private { "sent" } else { "progress" }.into(),
            source_id: None,
            external_error: None,
            sender_type: Some("User".into()),
            sender_id: Some(sender_user_id),
            created_at: now,
        };
        let attachments: Vec<NewAttachment> = upload
            .map(|u| NewAttachment {
                file_type: MediaKind::for_mime(&u.mime_type).file_type().into(),
                mime_type: Some(u.mime_type.clone()),
                file_size: Some(u.file_size),
                file_name: Some(u.file_name.clone()),
                storage_path: Some(u.storage_path.clone()),
                meta: json!({}),
                ..Default::default()
            })
            .into_iter()
            .collect();
        // An automated message (a rule's) is no answer: the customer still waits.
        let automated = new.content_attributes.get("automated").is_some();
        let (message, saved) = messages::insert_if_new(conn, &new, &attachments)?
            .ok_or_else(|| AppError::Internal("outgoing message was not inserted".into()))?;
        conversations::record_message(conn, conversation.id, now, false)?;
        // The sender takes part; a note's @mentions notify (issue 10).
        super::inbox_notifications::agent_message(conn, conversation, &message, sender_user_id)?;
        if !private {
            if !automated {
                conversations::clear_waiting(conn, conversation.id)?;
            }
            jobs::enqueue_ordered(
                conn,
                jobs::WHATSAPP_SEND,
                send_job_payload(message.id),
                max_attempts,
                &format!("conversation:{}", conversation.id),
            )?;
            diesel::sql_query(format!("NOTIFY {}", jobs::SEND_CHANNEL)).execute(conn)?;
        }
        Ok((message, saved))
    })
}

/// The message `id` in `conversation`, which must have a wamid to be replied or reacted to.
fn reply_target(
    conn: &mut PgConnection,
    conversation: &Conversation,
    id: i64,
) -> AppResult<Message> {
    let m = messages::find(conn, id)?
        .filter(|m| m.conversation_id == conversation.id)
        .ok_or_else(|| {
            AppError::invalid(
                "content_attributes.in_reply_to",
                format!("message {id} is not in this conversation"),
            )
        })?;
    if m.source_id.is_none() || m.private {
        return Err(AppError::invalid(
            "content_attributes.in_reply_to",
            format!("message {id} has no WhatsApp id (yet), so it cannot be replied or reacted to"),
        ));
    }
    Ok(m)
}

/// Who the conversation's messages go to, by the recipient rule.
pub fn recipient_of(
    conn: &mut PgConnection,
    conversation: &Conversation,
) -> AppResult<Option<Recipient>> {
    let (phone, bsuid): (Option<String>, Option<String>) = contacts::table
        .find(conversation.contact_id)
        .select((contacts::phone_number, contacts::bsuid))
        .first(conn)?;
    Ok(Recipient::choose(phone.as_deref(), bsuid.as_deref()))
}

/// What an agent opening a conversation does: moves `agent_last_seen_at` to `now` and, when
/// incoming messages arrived since the last visit, queues a read receipt for the latest one
/// (Meta marks earlier messages read too) and emits `conversation.updated` (`changed:
/// ["agent_last_seen_at"]`: the unread count dropped to 0). Returns the wamid receipted, if
/// any.
pub fn mark_seen(
    conn: &mut PgConnection,
    conversation: &Conversation,
    now: DateTime<Utc>,
) -> AppResult<Option<String>> {
    use crate::db::schema::conversations as conv;
    conn.transaction(|conn| {
        let mut latest = messages_table::table
            .filter(messages_table::conversation_id.eq(conversation.id))
            .filter(messages_table::message_type.eq(message_type::INCOMING))
            .filter(messages_table::source_id.is_not_null())
            .into_boxed();
        if let Some(seen) = conversation.agent_last_seen_at {
            latest = latest.filter(messages_table::created_at.gt(seen));
        }
        let wamid: Option<Option<String>> = latest
            .order((messages_table::created_at.desc(), messages_table::id.desc()))
            .select(messages_table::source_id)
            .first(conn)
            .optional()?;
        diesel::update(conv::table.find(conversation.id))
            .set(conv::agent_last_seen_at.eq(now))
            .execute(conn)?;
        let wamid = wamid.flatten();
        if wamid.is_some() {
            // Unread incoming messages became read: other agents' badges change.
            super::events::emit(
                conn,
                conversation.account_id,
                Some(conversation.inbox_id),
                Some(conversation.id),
                super::events::CONVERSATION_UPDATED,
                json!({
                    "display_id": conversation.display_id,
                    "changed": ["agent_last_seen_at"],
                }),
            )?;
        }
        if let Some(w) = &wamid {
            jobs::enqueue(
                conn,
                jobs::WHATSAPP_SEND,
                json!({"mark_read": {"inbox_id": conversation.inbox_id, "wamid": w}}),
                3,
            )?;
            diesel::sql_query(format!("NOTIFY {}", jobs::SEND_CHANNEL)).execute(conn)?;
        }
        Ok(wamid)
    })
}

/// Sends a failed outgoing message again: `POST …/conversations/{id}/messages/{message_id}/retry`
/// (Switchboard's own route; Chatwoot's UI offers the same "retry" on a failed message).
///
/// The same message row goes back to `progress` (its wamid, Meta's error and
/// `content_attributes.external_error_details` are cleared; the previous error is kept in
/// `content_attributes.previous_errors`) and a new send job is queued on the conversation's
/// ordering key, in one transaction that also emits `message.updated` (`update: "retry"`).
/// The send job then applies its usual rules (attachment reuse, reply context, reaction).
///
/// Errors: 404 when `message_id` is not in `conversation` (another account's or another
/// conversation's id); 422 `message_id` when the message is not a failed outgoing WhatsApp
/// message (private notes, incoming, sending or sent messages); 422 `content` with
/// [`WINDOW_CLOSED`] when the 24-hour window is closed and the message is not a template
/// (DESIGN.md invariant 6, as for a new message).
pub fn retry(
    conn: &mut PgConnection,
    conversation: &Conversation,
    message_id: i64,
    max_attempts: i32,
    now: DateTime<Utc>,
) -> AppResult<Message> {
    conn.transaction(|conn| {
        let m: Message = messages_table::table
            .find(message_id)
            .filter(messages_table::conversation_id.eq(conversation.id))
            .select(Message::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::NotFound(format!("message {message_id} not found")))?;
        if m.message_type != message_type::OUTGOING || m.private {
            return Err(AppError::invalid(
                "message_id",
                "only an outgoing WhatsApp message can be retried",
            ));
        }
        if m.status != "failed" {
            return Err(AppError::invalid(
                "message_id",
                format!(
                    "only a failed message can be retried; this one is {}",
                    m.status
                ),
            ));
        }
        let mut attrs = m
            .content_attributes
            .as_object()
            .cloned()
            .unwrap_or_default();
        let is_template = attrs.get("template_params").is_some_and(|p| !p.is_null());
        if !is_template && !window::is_open(conversation.last_incoming_at, now) {
            return Err(AppError::invalid("content", WINDOW_CLOSED));
        }
        let details = attrs.remove("external_error_details");
        let mut previous = attrs
            .get("previous_errors")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        previous.push(json!({
            "external_error": m.external_error,
            "details": details,
            "source_id": m.source_id,
            "retried_at": now.timestamp(),
        }));
        let excess = previous.len().saturating_sub(10);
        previous.drain(..excess);
        attrs.insert("previous_errors".into(), Value::Array(previous));
        let updated: Message = diesel::update(messages_table::table.find(m.id))
            .set((
                messages_table::status.eq("progress"),
                messages_table::source_id.eq(None::<String>),
                messages_table::external_error.eq(None::<String>),
                messages_table::content_attributes.eq(Value::Object(attrs)),
                messages_table::updated_at.eq(now),
            ))
            .returning(Message::as_returning())
            .get_result(conn)?;
        jobs::enqueue_ordered(
            conn,
            jobs::WHATSAPP_SEND,
            send_job_payload(updated.id),
            max_attempts,
            &format!("conversation:{}", conversation.id),
        )?;
        diesel::sql_query(format!("NOTIFY {}", jobs::SEND_CHANNEL)).execute(conn)?;
        super::events::message_updated(conn, &updated, "retry")?;
        Ok(updated)
    })
}
