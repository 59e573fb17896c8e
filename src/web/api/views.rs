//! JSON shapes of the API, field for field as Chatwoot renders them, plus Switchboard's
//! additions (`webhook_url`, `can_reply`, `bsuid`, …). Times are unix seconds.

use crate::config::Config;
use crate::crypto::{self, SecretBox};
use crate::domain::accounts::{self, Member, Role, Team, User};
use crate::domain::availability::Presence;
use crate::domain::contacts::{Contact, ContactInbox};
use crate::domain::conversations::{Assignment, Conversation};
use crate::domain::inboxes::{Channel, Inbox};
use crate::domain::labels::Label;
use crate::domain::messages::{Attachment, Message};
use crate::domain::templates::Template;
use crate::whatsapp::window;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn ts_opt(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| json!(t.timestamp())).unwrap_or(Value::Null)
}

/// Unix seconds, `0` when never: Chatwoot renders `agent_last_seen_at`,
/// `assignee_last_seen_at`, `contact_last_seen_at` and `waiting_since` with Ruby's `nil.to_i`
/// (`app/views/api/v1/conversations/partials/_conversation.json.jbuilder`), never `null`.
pub fn ts_or_zero(t: Option<DateTime<Utc>>) -> i64 {
    t.map(|t| t.timestamp()).unwrap_or(0)
}

/// An inbox. Secrets appear masked (`••••1234`), never in full; the webhook verify token is
/// shown to administrators only (`for_admin`).
///
/// `lock_to_single_conversation` is always `true`: a WhatsApp inbox keeps one unresolved
/// conversation per contact, and `POST /conversations` returns that conversation instead of
/// opening a second one (Chatwoot's `ConversationBuilder#look_up_exising_conversation` runs
/// only for locked inboxes). Unlike Chatwoot's lock, a resolved conversation is not reopened:
/// the next message opens a new one ([`crate::domain::new_conversation`]).
pub fn inbox(
    config: &Config,
    secrets: &SecretBox,
    inbox: &Inbox,
    channel: &Channel,
    for_admin: bool,
    templates: &[Template],
) -> Value {
    let masked = |c: &str| {
        secrets
            .decrypt(c)
            .map(|s| crypto::mask(&s))
            .unwrap_or_else(|_| "••••".into())
    };
    let mut provider_config = json!({
        "api_key": masked(&channel.api_key_ciphertext),
        "phone_number_id": channel.phone_number_id,
        "business_account_id": channel.business_account_id,
    });
    if for_admin {
        provider_config["webhook_verify_token"] = json!(channel.webhook_verify_token);
    }
    if let Some(c) = &channel.app_secret_ciphertext {
        provider_config["app_secret"] = json!(masked(c));
    }
    if let Some(s) = &channel.source {
        provider_config["source"] = json!(s);
    }
    let webhook_url = config.webhook_url(&channel.phone_number);
    // Stored as Graph's error object; anything else is shown as its `message`, never indexed
    // as an object (which panics on an array or a string).
    let last_error = inbox.last_error.clone().map(|e| {
        let mut e = match e {
            Value::Object(o) => o,
            other => serde_json::Map::from_iter([("message".to_string(), other)]),
        };
        e.insert("at".into(), ts_opt(inbox.last_error_at));
        Value::Object(e)
    });
    json!({
        "id": inbox.id,
        "account_id": inbox.account_id,
        "name": inbox.name,
        "channel_id": channel.id,
        "channel_type": inbox.channel_type,
        "phone_number": channel.phone_number,
        "provider": channel.provider,
        "provider_config": provider_config,
        "webhook_url": webhook_url,
        "callback_webhook_url": webhook_url,
        "avatar_url": "",
        "enable_auto_assignment": inbox.enable_auto_assignment,
        "greeting_enabled": false,
        "greeting_message": null,
        "working_hours_enabled": false,
        "csat_survey_enabled": false,
        "allow_messages_after_resolved": true,
        "lock_to_single_conversation": true,
        "last_webhook_at": ts_opt(inbox.last_webhook_at),
        "last_error": last_error,
        "created_at": ts(inbox.created_at),
        // Chatwoot's names for the synced templates and their sync time.
        "message_templates": templates.iter().map(template).collect::<Vec<_>>(),
        "message_templates_last_updated": ts_opt(inbox.templates_synced_at),
        "templates_sync_error": inbox.templates_sync_error,
        "reauthorization_required": inbox.reauthorization_required,
        "reauthorization_error": inbox.reauthorization_error,
        "webhook_setup_warning": inbox.webhook_setup_warning,
        "webhook_setup_at": ts_opt(inbox.webhook_setup_at),
    })
}

/// A message template as Meta describes it (`id`, `name`, `language`, `status`,
/// `category`, `parameter_format`, `components`).
pub fn template(t: &Template) -> Value {
    json!({
        "id": t.external_id,
        "name": t.name,
        "language": t.language,
        "status": t.status,
        "category": t.category,
        "parameter_format": t.parameter_format,
        "components": t.components,
    })
}

/// A contact inbox with its inbox, when that inbox is visible.
pub type ContactInboxView = (ContactInbox, Option<(Inbox, Channel)>);

/// A contact, with its contact inboxes when given.
pub fn contact(c: &Contact, contact_inboxes: Option<&[ContactInboxView]>) -> Value {
    let mut additional = c.additional_attributes.clone();
    if !additional.is_object() {
        additional = json!({});
    }
    if let Some(u) = &c.username {
        additional["username"] = json!(u);
    }
    if let Some(b) = &c.bsuid {
        additional["bsuid"] = json!(b);
    }
    let mut v = json!({
        "id": c.id,
        "name": c.name,
        "email": c.email,
        "phone_number": c.phone_number,
        "identifier": c.identifier,
        "thumbnail": "",
        "availability_status": "offline",
        "blocked": false,
        "bsuid": c.bsuid,
        "parent_bsuid": c.parent_bsuid,
        "username": c.username,
        "additional_attributes": additional,
        "custom_attributes": c.custom_attributes,
        "last_activity_at": ts_opt(c.last_activity_at),
        "created_at": ts(c.created_at),
    });
    if let Some(cis) = contact_inboxes {
        v["contact_inboxes"] = cis
            .iter()
            .map(|(ci, ib)| {
                json!({
                    "source_id": ci.source_id,
                    "source_kind": ci.source_kind,
                    "inbox": ib.as_ref().map(|(i, ch)| json!({
                        "id": i.id, "name": i.name, "channel_id": ch.id,
                        "channel_type": i.channel_type, "provider": ch.provider, "avatar_url": "",
                    })),
                })
            })
            .collect();
    }
    v
}

/// The data URL of a stored media file: `{FRONTEND_URL}/media/attachments/{id}/{name}`.
pub fn data_url(config: &Config, a: &Attachment) -> Value {
    match a.file_type.as_str() {
        "location" => json!(a.external_url),
        "contact" => Value::Null,
        _ => {
            let name = a
                .storage_path
                .as_deref()
                .and_then(|p| p.rsplit('/').next())
                .map(str::to_string)
                .or_else(|| a.file_name.clone())
                .unwrap_or_else(|| "file".into());
            json!(format!(
                "{}/media/attachments/{}/{}",
                config.frontend_url, a.id, name
            ))
        }
    }
}

/// An attachment (Chatwoot fields plus `download_status`).
pub fn attachment(config: &Config, a: &Attachment) -> Value {
    let extension = a.extension();
    json!({
        "id": a.id,
        "message_id": a.message_id,
        "account_id": a.account_id,
        "file_type": a.file_type,
        "extension": extension,
        "data_url": data_url(config, a),
        "thumb_url": if a.file_type == "image" { data_url(config, a) } else { json!("") },
        "file_size": a.file_size,
        "file_name": a.file_name,
        "mime_type": a.mime_type,
        "width": null,
        "height": null,
        "coordinates_lat": a.coordinates_lat,
        "coordinates_long": a.coordinates_long,
        "fallback_title": a.fallback_title,
        "external_url": a.external_url,
        "meta": a.meta,
        "download_status": a.download_status,
        "download_error": a.download_error,
    })
}

/// A message. `conversation_id` is the conversation's `display_id`, as in Chatwoot.
pub fn message(
    config: &Config,
    m: &Message,
    display_id: i32,
    attachments: &[Attachment],
    sender: Option<&Contact>,
) -> Value {
    let sender_json = match (m.sender_type.as_deref(), sender) {
        (Some("Contact"), Some(c)) => json!({
            "id": c.id, "name": c.name, "phone_number": c.phone_number,
            "thumbnail": "", "type": "contact",
        }),
        _ => Value::Null,
    };
    json!({
        "id": m.id,
        "content": m.content,
        "account_id": m.account_id,
        "inbox_id": m.inbox_id,
        "conversation_id": display_id,
        "message_type": m.message_type,
        "content_type": m.content_type,
        "content_attributes": m.content_attributes,
        "created_at": ts(m.created_at),
        "updated_at": ts(m.updated_at),
        "private": m.private,
        // Chatwoot knows sent/delivered/read/failed: a played voice note reads as read
        // (`content_attributes.played_at` keeps the difference).
        "status": if m.status == "played" { "read" } else { m.status.as_str() },
        "source_id": m.source_id,
        "external_error": m.external_error,
        "sender_type": m.sender_type,
        "sender_id": m.sender_id,
        "sender": sender_json,
        "attachments": attachments.iter().map(|a| attachment(config, a)).collect::<Vec<_>>(),
    })
}

/// A message's `sender` when an agent wrote it (Chatwoot's user sender shape).
pub fn user_sender(u: &crate::domain::accounts::User) -> Value {
    json!({
        "id": u.id,
        "name": u.name,
        "available_name": u.name,
        "avatar_url": "",
        "thumbnail": "",
        "type": "user",
        "availability_status": null,
    })
}

/// Sets a rendered message's `sender` to its agent (`agents` maps user ids to
/// [`user_sender`] values) when an agent wrote it; [`message`] alone only knows contacts.
/// A message whose agent is not in `agents` (e.g. a deleted user) keeps `sender: null`.
pub fn set_user_sender(v: &mut Value, m: &Message, agents: &std::collections::HashMap<i64, Value>) {
    if m.sender_type.as_deref() == Some("User") {
        if let Some(agent) = m.sender_id.and_then(|id| agents.get(&id)) {
            v["sender"] = agent.clone();
        }
    }
}

/// Chatwoot's `agent`: `id`, `account_id`, `availability_status` (what the member is now:
/// `online`/`busy`/`offline`, automatic offline included), `availability` (what they
/// chose), `auto_offline`, `confirmed` (false while an invited user has not set a password),
/// `email`, `provider`, `available_name`, `display_name`, `name`, `role`, `thumbnail`
/// (absolute avatar URL under `frontend_url`, "" without an avatar), `custom_role_id`.
/// Without a presence (no membership row), `offline`.
pub fn agent_with(
    user: &User,
    account_id: i64,
    role: Role,
    presence: Option<&Presence>,
    frontend_url: &str,
) -> Value {
    let now = presence.map_or("offline", |p| p.availability_status.as_str());
    json!({
        "id": user.id,
        "account_id": account_id,
        "availability_status": now,
        "availability": presence.map_or(now, |p| p.availability.as_str()),
        "auto_offline": presence.is_some_and(|p| p.auto_offline),
        "confirmed": accounts::has_password(user),
        "email": user.email,
        "provider": "email",
        "available_name": user.available_name(),
        "display_name": user.display_name,
        "name": user.name,
        "role": role.as_str(),
        "thumbnail": user.avatar_url().map(|p| format!("{frontend_url}{p}")).unwrap_or_default(),
        "custom_role_id": null,
    })
}

/// [`agent_with`] for an account member, with the presence read with it.
pub fn member(m: &Member, frontend_url: &str) -> Value {
    agent_with(
        &m.user,
        m.account_id,
        m.role,
        Some(&m.presence),
        frontend_url,
    )
}

/// A team as Chatwoot's `team`. Switchboard has no team membership yet: `is_member` is false.
pub fn team(t: &Team) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "allow_auto_assign": t.allow_auto_assign,
        "account_id": t.account_id,
        "is_member": false,
    })
}

/// A label as Chatwoot's `label`.
pub fn label(l: &Label) -> Value {
    json!({
        "id": l.id,
        "title": l.title,
        "description": l.description,
        "color": l.color,
        "show_on_sidebar": l.show_on_sidebar,
    })
}

/// A conversation with `meta.sender`, `meta.assignee`, `meta.team`, the labels, the latest
/// message (`messages`, any kind) and the latest non-activity message, and the window fields.
pub fn conversation(
    c: &Conversation,
    contact_json: Value,
    last_message: Option<Value>,
    last_non_activity_message: Option<Value>,
    unread_count: i64,
    assignment: &Assignment,
    now: DateTime<Utc>,
) -> Value {
    json!({
        "id": c.display_id,
        "account_id": c.account_id,
        "inbox_id": c.inbox_id,
        "uuid": c.uuid,
        "status": c.status,
        "priority": c.priority,
        "assignee_id": c.assignee_id,
        "team_id": c.team_id,
        "snoozed_until": ts_opt(c.snoozed_until),
        "can_reply": window::is_open(c.last_incoming_at, now),
        "customer_service_window_closes_at": ts_opt(window::closes_at(c.last_incoming_at)),
        "last_incoming_at": ts_opt(c.last_incoming_at),
        "agent_last_seen_at": ts_or_zero(c.agent_last_seen_at),
        "assignee_last_seen_at": ts_or_zero(c.agent_last_seen_at),
        "contact_last_seen_at": 0,
        "waiting_since": ts_or_zero(c.waiting_since),
        "unread_count": unread_count,
        "muted": crate::domain::conversations::is_muted(c),
        "labels": c.labels,
        "additional_attributes": c.additional_attributes,
        "custom_attributes": c.custom_attributes,
        "created_at": ts(c.created_at),
        "updated_at": ts(c.updated_at),
        "timestamp": ts(c.last_activity_at),
        "last_activity_at": ts(c.last_activity_at),
        "messages": last_message.map(|m| vec![m]).unwrap_or_default(),
        "last_non_activity_message": last_non_activity_message,
        "meta": {
            "sender": contact_json,
            "channel": "Channel::Whatsapp",
            // Thumbnail as a path (no host here), as before.
            "assignee": assignment.assignee.as_ref().map(|m| member(m, "")),
            "team": assignment.team.as_ref().map(team),
            "hmac_verified": false,
        },
    })
}
