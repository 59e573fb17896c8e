//! Bodies of integration webhook deliveries, field for field as a live Chatwoot sends them,
//! built inside the transaction of the change (see `webhooks::enqueue_for_event`), so the
//! body tells what happened at that moment. Sources (chatwoot/chatwoot): the listener
//! `app/listeners/webhook_listener.rb` (which event sends which body), `Message#webhook_data`
//! and `#push_event_data` (`app/models/message.rb`), `Conversations::EventDataPresenter#push_data`
//! (`app/presenters/conversations/event_data_presenter.rb`, which `Conversation#webhook_data`
//! returns), `Contact#webhook_data`/`#push_event_data`, `User#webhook_data`/`#push_event_data`,
//! `Account#webhook_data`, `Inbox#webhook_data`, and `BaseListener#extract_changed_attributes`.
//! `tests/golden/webhooks/` holds one body per event and `FIELDS.md` the field-by-field
//! review.
//!
//! | event | body |
//! |---|---|
//! | `message_created`, `message_updated` | [`message_webhook`]: `account`, `additional_attributes`, `content_attributes`, `content_type`, `content`, `conversation` ([`conversation_json`]), `created_at` (ISO 8601), `id`, `inbox`, `message_type` (`incoming`/`outgoing`/`template`), `private`, `sender` (a contact's or agent's `webhook_data`, `type` `contact`/`user`), `source_id`, `attachments` (only when there are some), `event`; plus Switchboard's `status` (Chatwoot's values). Activity lines and private notes are never delivered. |
//! | `conversation_created`, `conversation_updated`, `conversation_status_changed` | [`conversation_json`] plus `event`; the last two add `changed_attributes`: `[{"<attr>": {"previous_value", "current_value"}}]`. |
//! | `contact_created`, `contact_updated` | [`contact_webhook`] plus `event`; `contact_updated` adds `changed_attributes` (`null` when the change is not itemised). |
//!
//! Times follow Chatwoot: in a conversation `created_at`, `timestamp`, `last_activity_at`,
//! `agent_last_seen_at`, `contact_last_seen_at` and `waiting_since` are unix seconds (`0` when
//! never), `updated_at` is unix seconds with a fraction; `snoozed_until` and
//! `first_reply_created_at` are ISO 8601 or `null`. A message's own `created_at` is ISO 8601
//! in `message_*` bodies and unix seconds inside `conversation.messages`.
//!
//! WhatsApp-specific values: `channel` is `Channel::Whatsapp`; `can_reply` is the 24-hour
//! customer service window; a message's `status` maps Switchboard's `progress` (not yet
//! accepted by Graph) to `sent` and `played` (a voice note) to `read`, so only Chatwoot's
//! `sent`, `delivered`, `read`, `failed` appear. `contact_inbox.pubsub_token` is `null`
//! (no widget) and `hmac_verified` false.

use crate::db::schema::contact_inboxes;
use crate::domain::accounts::{self, Member};
use crate::domain::contacts::{self, Contact};
use crate::domain::conversations::{self, Conversation};
use crate::domain::inboxes;
use crate::domain::messages::{self, message_type, Attachment, Message};
use crate::error::AppResult;
use crate::whatsapp::window;
use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use serde_json::{json, Map, Value};

/// A time as Chatwoot's Rails JSON renders it: RFC 3339, milliseconds, `Z`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn iso_opt(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| json!(iso(t))).unwrap_or(Value::Null)
}

/// Ruby's `time.to_i`: unix seconds, `0` for `nil`.
fn secs(t: Option<DateTime<Utc>>) -> i64 {
    t.map(|t| t.timestamp()).unwrap_or(0)
}

/// Ruby's `time.to_f`: unix seconds with the fraction (microseconds).
fn secs_f(t: DateTime<Utc>) -> f64 {
    t.timestamp() as f64 + f64::from(t.timestamp_subsec_micros()) / 1_000_000.0
}

/// Chatwoot's `message_type` name of our stored number (0 incoming, 1 outgoing, 2 activity,
/// 3 template).
pub fn message_type_name(t: i16) -> &'static str {
    match t {
        0 => "incoming",
        1 => "outgoing",
        2 => "activity",
        _ => "template",
    }
}

/// A message's status as Chatwoot names it (`sent`, `delivered`, `read`, `failed`):
/// `progress` reads as `sent`, `played` as `read`.
pub fn chatwoot_status(status: &str) -> &str {
    match status {
        "progress" => "sent",
        "played" => "read",
        other => other,
    }
}

/// A contact as Chatwoot's `Contact#push_event_data` (a conversation's `meta.sender`, a
/// message's `sender` inside `conversation.messages`).
pub fn contact_push(c: &Contact) -> Value {
    json!({
        "additional_attributes": c.additional_attributes,
        "custom_attributes": c.custom_attributes,
        "email": c.email,
        "id": c.id,
        "identifier": c.identifier,
        "name": c.name,
        "phone_number": c.phone_number,
        "thumbnail": "",
        "blocked": false,
        "type": "contact",
    })
}

/// A contact as Chatwoot's `Contact#webhook_data` (the body of `contact_*` events, a
/// message's `sender`), with `account` `{id, name}`.
pub fn contact_webhook(c: &Contact, account: &Value) -> Value {
    json!({
        "account": account,
        "additional_attributes": c.additional_attributes,
        "avatar": "",
        "custom_attributes": c.custom_attributes,
        "email": c.email,
        "id": c.id,
        "identifier": c.identifier,
        "name": c.name,
        "phone_number": c.phone_number,
        "thumbnail": "",
        "blocked": false,
        "type": "contact",
    })
}

/// An agent as Chatwoot's `User#push_event_data` (a conversation's `meta.assignee`), with
/// their `availability_status` in the account (`online`/`busy`/`offline`).
pub fn user_push(m: &Member, availability: &str) -> Value {
    json!({
        "id": m.user.id,
        "name": m.user.name,
        "available_name": m.user.available_name(),
        "avatar_url": "",
        "type": "user",
        "availability_status": availability,
        "thumbnail": "",
    })
}

/// An agent as Chatwoot's `User#webhook_data` (a message's `sender`).
pub fn user_webhook(m: &Member) -> Value {
    json!({
        "id": m.user.id,
        "name": m.user.name,
        "email": m.user.email,
        "type": "user",
    })
}

/// An attachment as Chatwoot's `Attachment#push_event_data`. `data_url` is the path of the
/// file under `FRONTEND_URL` (it needs a signed-in session; integrators use the API).
pub fn attachment_push(a: &Attachment) -> Value {
    let name = a
        .storage_path
        .as_deref()
        .and_then(|p| p.rsplit('/').next())
        .map(str::to_string)
        .or_else(|| a.file_name.clone())
        .unwrap_or_else(|| "file".into());
    let url = format!("/media/attachments/{}/{}", a.id, name);
    json!({
        "id": a.id,
        "message_id": a.message_id,
        "file_type": a.file_type,
        "account_id": a.account_id,
        "extension": a.extension(),
        "data_url": url,
        "thumb_url": if a.file_type == "image" { json!(url) } else { json!("") },
        "file_size": a.file_size,
        "width": null,
        "height": null,
    })
}

/// The sender of `m` as `(push_event_data, webhook_data)`; `None` for system messages or
/// a sender gone.
fn sender_of(
    conn: &mut PgConnection,
    m: &Message,
    account: &Value,
) -> AppResult<Option<(Value, Value)>> {
    Ok(match (m.sender_type.as_deref(), m.sender_id) {
        (Some("Contact"), Some(id)) => contacts::find(conn, m.account_id, id)
            .ok()
            .map(|c| (contact_push(&c), contact_webhook(&c, account))),
        (Some("User"), Some(id)) => match accounts::member(conn, m.account_id, id)? {
            Some(u) => {
                let availability = super::profile::availability(conn, m.account_id, id)?;
                Some((user_push(&u, &availability), user_webhook(&u)))
            }
            None => None,
        },
        _ => None,
    })
}

/// The conversation's contact inbox as Chatwoot serialises the record
/// (`id, contact_id, inbox_id, source_id, created_at, updated_at, hmac_verified,
/// pubsub_token`); `null` when the conversation has none.
fn contact_inbox_json(conn: &mut PgConnection, c: &Conversation) -> AppResult<Value> {
    let Some(id) = c.contact_inbox_id else {
        return Ok(Value::Null);
    };
    let row: Option<(i64, i64, i64, String, DateTime<Utc>)> = contact_inboxes::table
        .find(id)
        .select((
            contact_inboxes::id,
            contact_inboxes::contact_id,
            contact_inboxes::inbox_id,
            contact_inboxes::source_id,
            contact_inboxes::created_at,
        ))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((id, contact_id, inbox_id, source_id, created_at)) => json!({
            "id": id,
            "contact_id": contact_id,
            "inbox_id": inbox_id,
            "source_id": source_id,
            "created_at": iso(created_at),
            "updated_at": iso(created_at),
            "hmac_verified": false,
            "pubsub_token": null,
        }),
        None => Value::Null,
    })
}

/// A message as Chatwoot's `Message#push_event_data` (the entry of `conversation.messages`):
/// the row's attributes (`message_type` as its number, `created_at` unix seconds,
/// `updated_at` ISO 8601), `conversation_id` = `display_id`, a short `conversation`, and
/// `sender` (`push_event_data`) when there is one.
fn message_push(
    conn: &mut PgConnection,
    m: &Message,
    c: &Conversation,
    unread_count: i64,
    source_id: &Value,
    account: &Value,
) -> AppResult<Value> {
    let mut v = json!({
        "id": m.id,
        "content": m.content,
        "account_id": m.account_id,
        "inbox_id": m.inbox_id,
        "conversation_id": c.display_id,
        "message_type": m.message_type,
        "created_at": m.created_at.timestamp(),
        "updated_at": iso(m.updated_at),
        "private": m.private,
        "status": chatwoot_status(&m.status),
        "source_id": m.source_id,
        "content_type": m.content_type,
        "content_attributes": m.content_attributes,
        "sender_type": m.sender_type,
        "sender_id": m.sender_id,
        "external_source_ids": {},
        "additional_attributes": {},
        "processed_message_content": m.content,
        "sentiment": {},
        "conversation": {
            "assignee_id": c.assignee_id,
            "unread_count": unread_count,
            "last_activity_at": c.last_activity_at.timestamp(),
            "contact_inbox": {"source_id": source_id},
        },
    });
    let atts = messages::attachments_of(conn, &[m.id])?;
    if !atts.is_empty() {
        v["attachments"] = atts.iter().map(attachment_push).collect();
    }
    if let Some((push, _)) = sender_of(conn, m, account)? {
        v["sender"] = push;
    }
    Ok(v)
}

/// A conversation as Chatwoot's `Conversation#webhook_data`
/// (`Conversations::EventDataPresenter#push_data`): `additional_attributes`, `can_reply`,
/// `channel`, `contact_inbox`, `id` (= `display_id`), `inbox_id`, `messages` (the latest
/// public non-activity message, or none), `labels`, `meta` `{sender, assignee, team,
/// hmac_verified}`, `status`, `custom_attributes`, `snoozed_until`, `unread_count`,
/// `first_reply_created_at`, `priority`, `waiting_since`, `agent_last_seen_at`,
/// `contact_last_seen_at`, `last_activity_at`, `timestamp`, `created_at`, `updated_at`.
pub fn conversation_json(conn: &mut PgConnection, c: &Conversation) -> AppResult<Value> {
    let account = account_json(conn, c.account_id)?;
    let contact = contacts::find(conn, c.account_id, c.contact_id)?;
    let assignment = conversations::assignment_of(conn, c)?;
    let assignee = match &assignment.assignee {
        Some(m) => Some(user_push(
            m,
            &super::profile::availability(conn, c.account_id, m.user.id)?,
        )),
        None => None,
    };
    let contact_inbox = contact_inbox_json(conn, c)?;
    let unread = messages::unread_count(conn, c.id, c.agent_last_seen_at)?;
    // Chatwoot's `messages.chat.last`: the latest public message that is not an activity.
    let last_chat: Option<Message> = crate::db::schema::messages::table
        .filter(crate::db::schema::messages::conversation_id.eq(c.id))
        .filter(crate::db::schema::messages::message_type.ne(message_type::ACTIVITY))
        .filter(crate::db::schema::messages::private.eq(false))
        .order((
            crate::db::schema::messages::created_at.desc(),
            crate::db::schema::messages::id.desc(),
        ))
        .select(Message::as_select())
        .first(conn)
        .optional()?;
    let messages = match last_chat {
        Some(m) => vec![message_push(
            conn,
            &m,
            c,
            unread,
            &contact_inbox["source_id"],
            &account,
        )?],
        None => vec![],
    };
    let first_reply = conversations::reply_times(conn, c.id)?.first_reply_at;
    Ok(json!({
        "additional_attributes": c.additional_attributes,
        "can_reply": window::is_open(c.last_incoming_at, Utc::now()),
        "channel": "Channel::Whatsapp",
        "contact_inbox": contact_inbox,
        "id": c.display_id,
        "inbox_id": c.inbox_id,
        "messages": messages,
        "labels": c.labels,
        "meta": {
            "sender": contact_push(&contact),
            "assignee": assignee,
            "team": assignment.team.as_ref().map(|t| json!({"id": t.id, "name": t.name})),
            "hmac_verified": false,
        },
        "status": c.status,
        "custom_attributes": c.custom_attributes,
        "snoozed_until": iso_opt(c.snoozed_until),
        "unread_count": unread,
        "first_reply_created_at": iso_opt(first_reply),
        "priority": c.priority,
        "waiting_since": secs(c.waiting_since),
        "agent_last_seen_at": secs(c.agent_last_seen_at),
        "contact_last_seen_at": 0,
        "last_activity_at": c.last_activity_at.timestamp(),
        "timestamp": c.last_activity_at.timestamp(),
        "created_at": c.created_at.timestamp(),
        "updated_at": secs_f(c.updated_at),
    }))
}

/// A message as Chatwoot's `Message#webhook_data` (the body of `message_*` events, without
/// `event`), see the module documentation.
pub fn message_webhook(conn: &mut PgConnection, m: &Message) -> AppResult<Value> {
    let account = account_json(conn, m.account_id)?;
    let c = conversations::find_by_id(conn, m.conversation_id)?;
    let inbox = inboxes::find_by_id(conn, m.inbox_id)
        .ok()
        .map(|(i, _)| json!({"id": i.id, "name": i.name}))
        .unwrap_or(Value::Null);
    let sender = sender_of(conn, m, &account)?.map(|(_, w)| w);
    let mut v = json!({
        "account": account,
        "additional_attributes": {},
        "content_attributes": m.content_attributes,
        "content_type": m.content_type,
        "content": m.content,
        "conversation": conversation_json(conn, &c)?,
        "created_at": iso(m.created_at),
        "id": m.id,
        "inbox": inbox,
        "message_type": message_type_name(m.message_type),
        "private": m.private,
        "sender": sender,
        "source_id": m.source_id,
        "status": chatwoot_status(&m.status),
    });
    let atts = messages::attachments_of(conn, &[m.id])?;
    if !atts.is_empty() {
        v["attachments"] = atts.iter().map(attachment_push).collect();
    }
    Ok(v)
}

/// Chatwoot's `Account#webhook_data`: `{id, name}`.
fn account_json(conn: &mut PgConnection, account_id: i64) -> AppResult<Value> {
    Ok(json!({"id": account_id, "name": accounts::account_name(conn, account_id)?}))
}

/// Chatwoot's `changed_attributes` (`BaseListener#extract_changed_attributes`) from a JSON
/// object `{"<attr>": [previous, current]}`: `[{"<attr>": {"previous_value",
/// "current_value"}}, …]` in the object's order; `null` when there is nothing to itemise.
pub fn changed_attributes(changes: &Value) -> Value {
    match changes {
        Value::Object(m) if !m.is_empty() => Value::Array(
            m.iter()
                .map(|(k, v)| {
                    json!({ k.clone(): {
                        "previous_value": v.get(0).cloned().unwrap_or(Value::Null),
                        "current_value": v.get(1).cloned().unwrap_or(Value::Null),
                    }})
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// The `{attr: [previous, current]}` changes a conversation domain event records: the
/// status of `conversation.status_changed`, the assignee of `assignee.changed`, the
/// `changes` of `conversation.updated`; attributes named in `changed` without recorded
/// values read as `[null, <current value>]` taken from `c`.
fn conversation_changes(domain_name: &str, payload: &Value, c: &Conversation) -> Value {
    use crate::domain::events as e;
    match domain_name {
        e::CONVERSATION_STATUS_CHANGED => {
            json!({"status": [payload["previous_status"], payload["status"]]})
        }
        e::ASSIGNEE_CHANGED => {
            json!({"assignee_id": [payload["previous_assignee_id"], payload["assignee_id"]]})
        }
        _ => {
            let mut out = match &payload["changes"] {
                Value::Object(m) => m.clone(),
                _ => Map::new(),
            };
            for name in payload["changed"].as_array().into_iter().flatten() {
                let Some(name) = name.as_str() else { continue };
                if out.contains_key(name) {
                    continue;
                }
                let current = match name {
                    "priority" => json!(c.priority),
                    "team_id" => json!(c.team_id),
                    "labels" => json!(c.labels),
                    "custom_attributes" => c.custom_attributes.clone(),
                    "snoozed_until" => iso_opt(c.snoozed_until),
                    "status" => json!(c.status),
                    "assignee_id" => json!(c.assignee_id),
                    _ => continue,
                };
                out.insert(name.to_string(), json!([null, current]));
            }
            Value::Object(out)
        }
    }
}

fn with_event(mut body: Value, event: &str) -> Value {
    body["event"] = json!(event);
    body
}

/// Builds the body of webhook event `event` (a Chatwoot name) for the domain event
/// `domain_name` with its `payload` (see `events`), loading the rows it names on `conn`.
/// `Ok(None)` when there is nothing to deliver: an activity line or a private note (Chatwoot's
/// `webhook_sendable?` leaves activity out; Switchboard also keeps notes private), a row
/// already gone, or a change Chatwoot makes without callbacks (only `agent_last_seen_at`).
pub fn build(
    conn: &mut PgConnection,
    account_id: i64,
    _inbox_id: Option<i64>,
    conversation_id: Option<i64>,
    event: &str,
    domain_name: &str,
    payload: &Value,
) -> AppResult<Option<Value>> {
    match event {
        "message_created" | "message_updated" => {
            let Some(id) = payload["message_id"].as_i64() else {
                return Ok(None);
            };
            let Some(m) = messages::find(conn, id)? else {
                return Ok(None);
            };
            if m.private || m.message_type == message_type::ACTIVITY {
                return Ok(None);
            }
            Ok(Some(with_event(message_webhook(conn, &m)?, event)))
        }
        "conversation_created" | "conversation_updated" | "conversation_status_changed" => {
            let Some(id) = conversation_id else {
                return Ok(None);
            };
            if payload["changed"] == json!(["agent_last_seen_at"]) {
                return Ok(None);
            }
            let c = conversations::find_by_id(conn, id)?;
            let mut body = with_event(conversation_json(conn, &c)?, event);
            if event != "conversation_created" {
                body["changed_attributes"] =
                    changed_attributes(&conversation_changes(domain_name, payload, &c));
            }
            Ok(Some(body))
        }
        // Issue 13 (SLA): the conversation (as `conversation_*` bodies) with the missed
        // target: `sla_event_type` (`frt`, `nrt`, `rt`), `applied_sla`, `due_at`.
        "sla_missed" => {
            let Some(id) = conversation_id else {
                return Ok(None);
            };
            let c = conversations::find_by_id(conn, id)?;
            let mut body = with_event(conversation_json(conn, &c)?, event);
            body["sla_event_type"] = payload["type"].clone();
            body["applied_sla"] = payload["applied_sla"].clone();
            body["due_at"] = payload["due_at"].clone();
            Ok(Some(body))
        }
        "contact_created" | "contact_updated" => {
            let Some(id) = payload["contact_id"].as_i64() else {
                return Ok(None);
            };
            let Ok(c) = contacts::find(conn, account_id, id) else {
                return Ok(None);
            };
            let account = account_json(conn, account_id)?;
            let mut body = with_event(contact_webhook(&c, &account), event);
            if event == "contact_updated" {
                body["changed_attributes"] = changed_attributes(&payload["changes"]);
            }
            Ok(Some(body))
        }
        _ => Ok(None),
    }
}
