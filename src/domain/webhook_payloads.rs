//! Bodies of integration webhook deliveries, shaped like Chatwoot's documented webhook
//! payloads (`Message#webhook_data`, `Conversation#webhook_data`, `Contact#webhook_data`,
//! chatwoot `app/listeners/webhook_listener.rb`), built inside the transaction of the change
//! (see `webhooks::enqueue_for_event`), so the body tells what happened at that moment.
//!
//! Times are ISO 8601 UTC strings (`2026-11-21T10:00:00.000Z`) as Chatwoot's Rails JSON
//! renders them, except `timestamp` (unix seconds), also as in Chatwoot.
//!
//! | event | body |
//! |---|---|
//! | `message_created`, `message_updated` | the message's fields at the top (`id`, `content`, `message_type` `incoming`/`outgoing`/`activity`/`template`, `content_type`, `content_attributes`, `created_at`, `private`, `source_id`, `status`, `sender`), plus `message` (the same object), `conversation`, `account` `{id,name}`, `inbox` `{id,name}`, `event`. Private notes are never delivered. |
//! | `conversation_created`, `conversation_updated`, `conversation_status_changed` | the conversation's fields at the top (`id` = `display_id`, `display_id`, `status`, `priority`, `assignee`, `contact`, `meta`, `labels`, …), plus `conversation` (the same object), `account`, `inbox`, `event`; `previous_status` for a status change; `changed_attributes` (names) for an update. |
//! | `contact_created`, `contact_updated` | the contact's fields at the top (`id`, `name`, `phone_number`, `email`, `identifier`, `additional_attributes`, `custom_attributes`, `type` `Contact`), plus `contact`, `account`, `event`. |
//!
//! A sender or assignee is `{"id","name","type":"Contact"|"User", …}` (the shape).

use crate::domain::accounts::{self, Member};
use crate::domain::contacts::{self, Contact};
use crate::domain::conversations::{self, Conversation};
use crate::domain::inboxes;
use crate::domain::messages::{self, Message};
use crate::error::AppResult;
use chrono::{DateTime, SecondsFormat, Utc};
use diesel::PgConnection;
use serde_json::{json, Map, Value};

/// A time as Chatwoot's webhooks render it: RFC 3339, milliseconds, `Z`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn iso_opt(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| json!(iso(t))).unwrap_or(Value::Null)
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

/// A contact as a webhook object (`type: "Contact"`).
pub fn contact_json(c: &Contact) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "email": c.email,
        "phone_number": c.phone_number,
        "identifier": c.identifier,
        "thumbnail": "",
        "avatar": "",
        "type": "Contact",
        "bsuid": c.bsuid,
        "additional_attributes": c.additional_attributes,
        "custom_attributes": c.custom_attributes,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
    })
}

/// An agent as a webhook object (`type: "User"`).
pub fn user_json(m: &Member) -> Value {
    json!({
        "id": m.user.id,
        "name": m.user.name,
        "available_name": m.user.name,
        "email": m.user.email,
        "avatar_url": "",
        "type": "User",
    })
}

/// A conversation as a webhook object (see the module documentation).
pub fn conversation_json(conn: &mut PgConnection, c: &Conversation) -> AppResult<Value> {
    let contact = contacts::find(conn, c.account_id, c.contact_id)?;
    let assignment = conversations::assignment_of(conn, c)?;
    let assignee = assignment.assignee.as_ref().map(user_json);
    let team = assignment
        .team
        .as_ref()
        .map(|t| json!({"id": t.id, "name": t.name}));
    let contact = contact_json(&contact);
    Ok(json!({
        "id": c.display_id,
        "display_id": c.display_id,
        "uuid": c.uuid,
        "account_id": c.account_id,
        "inbox_id": c.inbox_id,
        "status": c.status,
        "priority": c.priority,
        "assignee_id": c.assignee_id,
        "team_id": c.team_id,
        "assignee": assignee,
        "contact": contact,
        "labels": c.labels,
        "snoozed_until": iso_opt(c.snoozed_until),
        "additional_attributes": c.additional_attributes,
        "custom_attributes": c.custom_attributes,
        "channel": "Channel::Whatsapp",
        "meta": {"sender": contact, "assignee": assignee, "team": team},
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "timestamp": c.last_activity_at.timestamp(),
    }))
}

/// A message as a webhook object, with its `sender` (`null` for system messages).
pub fn message_json(conn: &mut PgConnection, m: &Message) -> AppResult<Value> {
    let sender = match (m.sender_type.as_deref(), m.sender_id) {
        (Some("Contact"), Some(id)) => contacts::find(conn, m.account_id, id)
            .ok()
            .map(|c| contact_json(&c)),
        (Some("User"), Some(id)) => accounts::member(conn, m.account_id, id)?
            .as_ref()
            .map(user_json),
        _ => None,
    };
    Ok(json!({
        "id": m.id,
        "content": m.content,
        "message_type": message_type_name(m.message_type),
        "content_type": m.content_type,
        "content_attributes": m.content_attributes,
        "private": m.private,
        "status": if m.status == "played" { "read" } else { m.status.as_str() },
        "source_id": m.source_id,
        "external_error": m.external_error,
        "created_at": iso(m.created_at),
        "updated_at": iso(m.updated_at),
        "sender": sender,
    }))
}

fn merge(mut top: Value, extra: Value) -> Value {
    if let (Value::Object(t), Value::Object(e)) = (&mut top, extra) {
        for (k, v) in e {
            t.insert(k, v);
        }
    }
    top
}

/// Builds the body of webhook event `event` (a Chatwoot name) for the domain event
/// `domain_name` with its `payload` (see `events`), loading the rows it names on `conn`.
/// `Ok(None)` when there is nothing to deliver: a private note, or a row already gone.
pub fn build(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: Option<i64>,
    conversation_id: Option<i64>,
    event: &str,
    domain_name: &str,
    payload: &Value,
) -> AppResult<Option<Value>> {
    let account = json!({"id": account_id, "name": accounts::account_name(conn, account_id)?});
    let inbox = match inbox_id {
        Some(id) => inboxes::find_by_id(conn, id)
            .ok()
            .map(|(i, _)| json!({"id": i.id, "name": i.name}))
            .unwrap_or(Value::Null),
        None => Value::Null,
    };
    let mut envelope = Map::new();
    envelope.insert("event".into(), json!(event));
    envelope.insert("account".into(), account);
    match event {
        "message_created" | "message_updated" => {
            let Some(id) = payload["message_id"].as_i64() else {
                return Ok(None);
            };
            let Some(m) = messages::find(conn, id)? else {
                return Ok(None);
            };
            if m.private {
                return Ok(None);
            }
            let c = conversations::find_by_id(conn, m.conversation_id)?;
            let message = message_json(conn, &m)?;
            envelope.insert("inbox".into(), inbox);
            envelope.insert("conversation".into(), conversation_json(conn, &c)?);
            envelope.insert("message".into(), message.clone());
            if let Some(update) = payload["update"].as_str() {
                envelope.insert("update".into(), json!(update));
            }
            Ok(Some(merge(message, Value::Object(envelope))))
        }
        "conversation_created" | "conversation_updated" | "conversation_status_changed" => {
            let Some(id) = conversation_id else {
                return Ok(None);
            };
            let c = conversations::find_by_id(conn, id)?;
            let conversation = conversation_json(conn, &c)?;
            envelope.insert("inbox".into(), inbox);
            envelope.insert("conversation".into(), conversation.clone());
            if event == "conversation_status_changed" {
                envelope.insert("previous_status".into(), payload["previous_status"].clone());
            }
            if event == "conversation_updated" {
                let changed = if domain_name == crate::domain::events::ASSIGNEE_CHANGED {
                    json!(["assignee_id"])
                } else {
                    payload["changed"].clone()
                };
                envelope.insert("changed_attributes".into(), changed);
            }
            Ok(Some(merge(conversation, Value::Object(envelope))))
        }
        "contact_created" | "contact_updated" => {
            let Some(id) = payload["contact_id"].as_i64() else {
                return Ok(None);
            };
            let Ok(c) = contacts::find(conn, account_id, id) else {
                return Ok(None);
            };
            let contact = contact_json(&c);
            envelope.insert("contact".into(), contact.clone());
            Ok(Some(merge(contact, Value::Object(envelope))))
        }
        _ => Ok(None),
    }
}
