//! Email notifications to agents and their per-agent, per-account preferences.
//!
//! Six kinds, each of which an agent can turn on or off on their profile
//! (`/app/accounts/{id}/profile`) or through `…/notification_settings`:
//!
//! | kind | who is emailed | queued by |
//! |---|---|---|
//! | conversation assigned | the new assignee, unless they assigned it to themselves | [`conversation_assigned`], from `conversations::assign` |
//! | mentioned in a private note | the mentioned agent (Chatwoot's `conversation_mention`) | `inbox_notifications`, with the in-app notification |
//! | new message in a conversation assigned to me | the assignee (off by default) | `inbox_notifications::customer_message` |
//! | new message in a conversation I take part in | each participant (off by default) | `inbox_notifications::customer_message` |
//! | conversation created | every member of the conversation's inbox who turned it on (off by default, as in Chatwoot) | [`conversations_created`], when `conversation.created` is stored (`events::conversation_created`) |
//! | webhook disabled | every administrator of the account | [`webhook_disabled`], for the outgoing webhooks to call |
//!
//! Every function here only *queues* `email` jobs ([`crate::jobs::email`]), on the
//! connection it is given: call it inside the transaction of the change, so the emails
//! commit (or roll back) with it. Mail is rendered and sent by the email worker, which retries
//! SMTP failures. A missing `notification_settings` row means the defaults ([`Settings::default`]).

use super::accounts::{self, User};
use crate::config::Config;
use crate::db::prepared::Prepare;
use crate::error::AppResult;
use crate::jobs::email::{self, EmailJob, Rendered};
use crate::mail::escape_html;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use serde::{Deserialize, Serialize};

/// One of the kinds of notification email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A conversation was assigned to the agent by someone else.
    ConversationAssigned,
    /// A new conversation started in an inbox the agent is a member of.
    ConversationCreated,
    /// An outgoing webhook of the account was disabled after repeated failures
    /// (administrators only).
    WebhookDisabled,
    /// The agent was @mentioned (or their team was) in a private note.
    ConversationMention,
    /// A customer wrote in a conversation assigned to the agent.
    AssignedNewMessage,
    /// A customer wrote in a conversation the agent takes part in.
    ParticipatingNewMessage,
}

impl Kind {
    /// The `notification_settings` column (and API field) of this kind.
    pub fn column(self) -> &'static str {
        match self {
            Kind::ConversationAssigned => "email_conversation_assigned",
            Kind::ConversationCreated => "email_conversation_created",
            Kind::WebhookDisabled => "email_webhook_disabled",
            Kind::ConversationMention => "email_conversation_mention",
            Kind::AssignedNewMessage => "email_assigned_conversation_new_message",
            Kind::ParticipatingNewMessage => "email_participating_conversation_new_message",
        }
    }

    /// Chatwoot's name of the flag in `selected_email_flags` (Chatwoot has no webhook flag;
    /// ours is `email_webhook_disabled`).
    pub fn chatwoot_flag(self) -> &'static str {
        match self {
            Kind::ConversationAssigned => "email_conversation_assignment",
            Kind::ConversationCreated => "email_conversation_creation",
            Kind::WebhookDisabled => "email_webhook_disabled",
            Kind::ConversationMention => "email_conversation_mention",
            Kind::AssignedNewMessage => "email_assigned_conversation_new_message",
            Kind::ParticipatingNewMessage => "email_participating_conversation_new_message",
        }
    }

    /// The kind of email of an in-app notification type (Chatwoot's `notification_type`);
    /// `None` for an unknown type.
    pub fn for_notification_type(t: &str) -> Option<Kind> {
        Some(match t {
            "conversation_assignment" => Kind::ConversationAssigned,
            "conversation_creation" => Kind::ConversationCreated,
            "conversation_mention" => Kind::ConversationMention,
            "assigned_conversation_new_message" => Kind::AssignedNewMessage,
            "participating_conversation_new_message" => Kind::ParticipatingNewMessage,
            _ => return None,
        })
    }

    /// Every kind (the API's flag order).
    pub const ALL: [Kind; 6] = [
        Kind::ConversationAssigned,
        Kind::ConversationCreated,
        Kind::WebhookDisabled,
        Kind::ConversationMention,
        Kind::AssignedNewMessage,
        Kind::ParticipatingNewMessage,
    ];
}

/// An agent's email preferences in one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, QueryableByName)]
pub struct Settings {
    /// Email me when a conversation is assigned to me.
    #[diesel(sql_type = Bool)]
    pub email_conversation_assigned: bool,
    /// Email me when a new conversation starts in one of my inboxes.
    #[diesel(sql_type = Bool)]
    pub email_conversation_created: bool,
    /// Email me when an outgoing webhook is disabled (administrators).
    #[diesel(sql_type = Bool)]
    pub email_webhook_disabled: bool,
    /// Email me when I am @mentioned in a private note (on by default).
    #[diesel(sql_type = Bool)]
    pub email_conversation_mention: bool,
    /// Email me for each new customer message in a conversation assigned to me (off by
    /// default: one email per message).
    #[diesel(sql_type = Bool)]
    pub email_assigned_conversation_new_message: bool,
    /// Email me for each new customer message in a conversation I take part in (off by
    /// default).
    #[diesel(sql_type = Bool)]
    pub email_participating_conversation_new_message: bool,
}

impl Default for Settings {
    /// Every kind on except "conversation created" and the two new-message kinds. Chatwoot
    /// emails a new agent on assignment only (`AccountUser#create_notification_setting`); an
    /// email to every inbox member for every new conversation is too much for a team of any
    /// size (200 agents: 200 emails per new customer), so it is each agent's choice.
    fn default() -> Self {
        Settings {
            email_conversation_assigned: true,
            email_conversation_created: false,
            email_webhook_disabled: true,
            email_conversation_mention: true,
            email_assigned_conversation_new_message: false,
            email_participating_conversation_new_message: false,
        }
    }
}

impl Settings {
    /// Whether emails of `kind` are on.
    pub fn get(&self, kind: Kind) -> bool {
        match kind {
            Kind::ConversationAssigned => self.email_conversation_assigned,
            Kind::ConversationCreated => self.email_conversation_created,
            Kind::WebhookDisabled => self.email_webhook_disabled,
            Kind::ConversationMention => self.email_conversation_mention,
            Kind::AssignedNewMessage => self.email_assigned_conversation_new_message,
            Kind::ParticipatingNewMessage => self.email_participating_conversation_new_message,
        }
    }

    /// Turns emails of `kind` on or off.
    pub fn set(&mut self, kind: Kind, on: bool) {
        match kind {
            Kind::ConversationAssigned => self.email_conversation_assigned = on,
            Kind::ConversationCreated => self.email_conversation_created = on,
            Kind::WebhookDisabled => self.email_webhook_disabled = on,
            Kind::ConversationMention => self.email_conversation_mention = on,
            Kind::AssignedNewMessage => self.email_assigned_conversation_new_message = on,
            Kind::ParticipatingNewMessage => self.email_participating_conversation_new_message = on,
        }
    }
}

/// The columns of [`Settings`], in its order.
const SETTINGS_COLUMNS: &str = "email_conversation_assigned, email_conversation_created, \
     email_webhook_disabled, email_conversation_mention, email_assigned_conversation_new_message, \
     email_participating_conversation_new_message";

/// The user's preferences in the account ([`Settings::default`] when never saved).
pub fn settings(conn: &mut PgConnection, user_id: i64, account_id: i64) -> AppResult<Settings> {
    let found: Option<Settings> = diesel::sql_query(format!(
        "SELECT {SETTINGS_COLUMNS} FROM notification_settings WHERE user_id = $1 AND account_id = $2"
    ))
    .bind::<BigInt, _>(user_id)
    .bind::<BigInt, _>(account_id)
    .get_result(conn)
    .optional()?;
    Ok(found.unwrap_or_default())
}

/// Saves the user's preferences in the account; returns them.
pub fn save_settings(
    conn: &mut PgConnection,
    user_id: i64,
    account_id: i64,
    s: &Settings,
) -> AppResult<Settings> {
    Ok(diesel::sql_query(format!(
        "INSERT INTO notification_settings (user_id, account_id, {SETTINGS_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (user_id, account_id) DO UPDATE SET \
           email_conversation_assigned = EXCLUDED.email_conversation_assigned, \
           email_conversation_created = EXCLUDED.email_conversation_created, \
           email_webhook_disabled = EXCLUDED.email_webhook_disabled, \
           email_conversation_mention = EXCLUDED.email_conversation_mention, \
           email_assigned_conversation_new_message = EXCLUDED.email_assigned_conversation_new_message, \
           email_participating_conversation_new_message = \
             EXCLUDED.email_participating_conversation_new_message, updated_at = now() \
         RETURNING {SETTINGS_COLUMNS}"
    ))
    .bind::<BigInt, _>(user_id)
    .bind::<BigInt, _>(account_id)
    .bind::<Bool, _>(s.email_conversation_assigned)
    .bind::<Bool, _>(s.email_conversation_created)
    .bind::<Bool, _>(s.email_webhook_disabled)
    .bind::<Bool, _>(s.email_conversation_mention)
    .bind::<Bool, _>(s.email_assigned_conversation_new_message)
    .bind::<Bool, _>(s.email_participating_conversation_new_message)
    .get_result(conn)?)
}

/// True when the user wants emails of `kind` in the account.
pub fn wants(
    conn: &mut PgConnection,
    user_id: i64,
    account_id: i64,
    kind: Kind,
) -> AppResult<bool> {
    Ok(settings(conn, user_id, account_id)?.get(kind))
}

/// Records the in-app `conversation_assignment` notification
/// ([`super::inbox_notifications::conversation_assigned`]) and queues
/// "Conversation #N was assigned to you" to `assignee_id` when someone else
/// (`assigned_by`, `None` for the system) assigned conversation `conversation_id` of
/// `account_id` to them and they have not turned the email off. Returns whether an email was
/// queued. Call it in the transaction of the assignment.
pub fn conversation_assigned(
    conn: &mut PgConnection,
    account_id: i64,
    conversation_id: i64,
    assignee_id: i64,
    assigned_by: Option<i64>,
) -> AppResult<bool> {
    // The bell's `conversation_assignment` (in-app, whatever the email setting).
    super::inbox_notifications::conversation_assigned(
        conn,
        conversation_id,
        assignee_id,
        assigned_by,
    )?;
    if assigned_by == Some(assignee_id)
        || !wants(conn, assignee_id, account_id, Kind::ConversationAssigned)?
    {
        return Ok(false);
    }
    email::enqueue(
        conn,
        &EmailJob::ConversationAssigned {
            user_id: assignee_id,
            conversation_id,
            assigned_by,
        },
    )?;
    Ok(true)
}

/// Queues "New conversation #N in <inbox>" to every member of the inbox of each new
/// conversation in `conversation_ids` (who still belongs to the account and has not turned
/// the email off), in ONE statement for all of them (the conversations a batch of events
/// opened, see `events::conversation_created`, which calls it when the events are stored):
/// the emails go in the order of `conversation_ids`, each conversation's by user id.
/// Returns how many were queued.
pub fn conversations_created(
    conn: &mut PgConnection,
    conversation_ids: &[i64],
) -> AppResult<usize> {
    if conversation_ids.is_empty() {
        return Ok(0);
    }
    // Nobody asked for the email (the default since migration `new_conversation_email_off`):
    // one cached single-table probe instead of planning the five-way join below, which cost
    // 1.25 ms of planning an ingest unit (issue 15: `pg_stat_statements` over
    // `scripts/bench-ingest`'s paced phase, a seventh of PostgreSQL's planning time).
    #[derive(QueryableByName)]
    struct Wanted {
        #[diesel(sql_type = Bool)]
        wanted: bool,
    }
    let wanted: Wanted = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM notification_settings WHERE email_conversation_created) \
         AS wanted",
    )
    .prepared()
    .get_result(conn)?;
    if !wanted.wanted {
        return Ok(0);
    }
    // Planned at each call (once a batch), not kept as a prepared statement: a generic plan
    // made while `conversations` was nearly empty joins it by a sequential scan, and kept
    // that way it halved a backlog's drain rate (measured 2026-12-02: 944 against 468
    // messages/s by `scripts/bench-ingest`).
    Ok(diesel::sql_query(
        "INSERT INTO jobs (kind, payload, max_attempts) \
         SELECT $1, jsonb_build_object('type', 'conversation_created', 'user_id', im.user_id, \
           'conversation_id', c.id), $2 \
         FROM unnest($3::int8[]) WITH ORDINALITY AS v(id, ord) \
         JOIN conversations c ON c.id = v.id \
         JOIN inbox_members im ON im.inbox_id = c.inbox_id \
         JOIN account_users au ON au.user_id = im.user_id AND au.account_id = c.account_id \
         LEFT JOIN notification_settings ns \
           ON ns.user_id = im.user_id AND ns.account_id = c.account_id \
         WHERE COALESCE(ns.email_conversation_created, FALSE) \
         ORDER BY v.ord, im.user_id",
    )
    .bind::<Text, _>(email::EMAIL)
    .bind::<diesel::sql_types::Integer, _>(email::MAX_ATTEMPTS)
    .bind::<diesel::sql_types::Array<BigInt>, _>(conversation_ids)
    .execute(conn)?)
}

/// Queues "Webhook <name> was disabled" to every administrator of `account_id` who has not
/// turned the email off. `webhook_name` names the webhook (its name, or its URL's host when
/// unnamed: never a URL with credentials) and `reason` says why, e.g. "10 deliveries in a row
/// failed; the last one: HTTP 500". Both are plain text; the email escapes them. Returns how
/// many emails were queued. Call it in the transaction that disables the webhook.
pub fn webhook_disabled(
    conn: &mut PgConnection,
    account_id: i64,
    webhook_name: &str,
    reason: &str,
) -> AppResult<usize> {
    Ok(diesel::sql_query(
        "INSERT INTO jobs (kind, payload, max_attempts) \
         SELECT $1, jsonb_build_object('type', 'webhook_disabled', 'user_id', au.user_id, \
           'account_id', $2::bigint, 'webhook_name', $3::text, 'reason', $4::text), $5 \
         FROM account_users au \
         LEFT JOIN notification_settings ns ON ns.user_id = au.user_id AND ns.account_id = $2 \
         WHERE au.account_id = $2 AND au.role = 'administrator' \
           AND COALESCE(ns.email_webhook_disabled, TRUE) \
         ORDER BY au.user_id",
    )
    .bind::<Text, _>(email::EMAIL)
    .bind::<BigInt, _>(account_id)
    .bind::<Text, _>(webhook_name)
    .bind::<Text, _>(reason)
    .bind::<diesel::sql_types::Integer, _>(email::MAX_ATTEMPTS)
    .prepared()
    .execute(conn)?)
}

#[derive(QueryableByName)]
struct ConversationInfo {
    #[diesel(sql_type = BigInt)]
    account_id: i64,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    display_id: i32,
    #[diesel(sql_type = Text)]
    inbox_name: String,
    #[diesel(sql_type = Text)]
    contact_name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    first_message: Option<String>,
}

fn conversation_info(
    conn: &mut PgConnection,
    conversation_id: i64,
) -> AppResult<Option<ConversationInfo>> {
    Ok(diesel::sql_query(
        "SELECT c.account_id, c.display_id, i.name AS inbox_name, \
           COALESCE(NULLIF(ct.name, ''), ct.phone_number, 'A contact') AS contact_name, \
           (SELECT m.content FROM messages m WHERE m.conversation_id = c.id \
              AND m.message_type = 0 AND m.content IS NOT NULL ORDER BY m.id LIMIT 1) AS first_message \
         FROM conversations c JOIN inboxes i ON i.id = c.inbox_id \
         JOIN contacts ct ON ct.id = c.contact_id WHERE c.id = $1",
    )
    .bind::<BigInt, _>(conversation_id)
    .prepared()
    .get_result(conn)
    .optional()?)
}

/// The link to a conversation in the agent UI:
/// `{FRONTEND_URL}/app/accounts/{account_id}/conversations/{display_id}`.
pub fn conversation_link(config: &Config, account_id: i64, display_id: i32) -> String {
    format!(
        "{}/app/accounts/{account_id}/conversations/{display_id}",
        config.frontend_url
    )
}

/// The link to the outgoing webhooks settings:
/// `{FRONTEND_URL}/app/accounts/{account_id}/settings/webhooks`.
pub fn webhooks_link(config: &Config, account_id: i64) -> String {
    format!(
        "{}/app/accounts/{account_id}/settings/webhooks",
        config.frontend_url
    )
}

/// The link to the agent's profile, where notifications are turned on or off:
/// `{FRONTEND_URL}/app/accounts/{account_id}/profile`.
pub fn profile_link(config: &Config, account_id: i64) -> String {
    format!("{}/app/accounts/{account_id}/profile", config.frontend_url)
}

/// Shortens `s` to at most `max` characters, adding "…" when cut.
fn preview(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Assembles the plain-text and HTML bodies: a greeting, `lines` (plain text, escaped for
/// HTML), a call to action with `link`, and a footer pointing to the profile.
fn compose(
    config: &Config,
    account_id: i64,
    to: &User,
    subject: String,
    lines: &[String],
    action: &str,
    link: &str,
) -> Rendered {
    let profile = profile_link(config, account_id);
    let mut text = format!("Hi {},\n\n", to.name);
    let mut html = format!("<p>Hi {},</p>\n", escape_html(&to.name));
    for line in lines {
        text.push_str(line);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>\n", escape_html(line)));
    }
    text.push_str(&format!(
        "{action}: {link}\n\n-- \nSwitchboard. Turn these emails off on your profile: {profile}\n"
    ));
    html.push_str(&format!(
        "<p><a href=\"{link}\">{action}</a></p>\n<hr>\n<p style=\"color:#666;font-size:12px\">Switchboard. \
         Turn these emails off on <a href=\"{profile}\">your profile</a>.</p>\n",
        link = escape_html(link),
        action = escape_html(action),
        profile = escape_html(&profile),
    ));
    Rendered {
        to: to.email.clone(),
        subject,
        text,
        html: Some(html),
    }
}

/// Renders a notification email job (`ConversationAssigned`, `ConversationCreated`,
/// `WebhookDisabled`, `Notification`). `Ok(None)` when there is nothing to send any more: the recipient,
/// conversation or account is gone, the recipient left the account, or turned this kind off
/// since it was queued. Other [`EmailJob`] variants render to `None` here.
/// Errors: database errors only.
pub fn render(
    conn: &mut PgConnection,
    config: &Config,
    job: &EmailJob,
) -> AppResult<Option<Rendered>> {
    if let EmailJob::Notification {
        user_id,
        notification_id,
    } = job
    {
        return render_notification(conn, config, *user_id, *notification_id);
    }
    let (user_id, account_id, kind, info) = match job {
        EmailJob::ConversationAssigned {
            user_id,
            conversation_id,
            ..
        } => {
            let Some(info) = conversation_info(conn, *conversation_id)? else {
                return Ok(None);
            };
            (
                *user_id,
                info.account_id,
                Kind::ConversationAssigned,
                Some(info),
            )
        }
        EmailJob::ConversationCreated {
            user_id,
            conversation_id,
        } => {
            let Some(info) = conversation_info(conn, *conversation_id)? else {
                return Ok(None);
            };
            (
                *user_id,
                info.account_id,
                Kind::ConversationCreated,
                Some(info),
            )
        }
        EmailJob::WebhookDisabled {
            user_id,
            account_id,
            ..
        } => (*user_id, *account_id, Kind::WebhookDisabled, None),
        _ => return Ok(None),
    };
    let Some(member) = accounts::member(conn, account_id, user_id)? else {
        return Ok(None);
    };
    if !wants(conn, user_id, account_id, kind)? {
        return Ok(None);
    }
    let account = accounts::account_name(conn, account_id)?;
    let to = &member.user;
    Ok(Some(match (job, info) {
        (EmailJob::ConversationAssigned { assigned_by, .. }, Some(info)) => {
            let by = match assigned_by {
                Some(id) => accounts::users_by_ids(conn, &[*id])?.pop().map(|u| u.name),
                None => None,
            };
            let mut lines = vec![match by {
                Some(by) => format!(
                    "{by} assigned conversation #{} with {} ({}, {account}) to you.",
                    info.display_id, info.contact_name, info.inbox_name
                ),
                None => format!(
                    "Conversation #{} with {} ({}, {account}) was assigned to you.",
                    info.display_id, info.contact_name, info.inbox_name
                ),
            }];
            if let Some(first) = info.first_message.as_deref().filter(|m| !m.trim().is_empty()) {
                lines.push(format!("It started with: \"{}\"", preview(first, 200)));
            }
            compose(
                config,
                account_id,
                to,
                format!("Conversation #{} was assigned to you", info.display_id),
                &lines,
                "Open the conversation",
                &conversation_link(config, account_id, info.display_id),
            )
        }
        (EmailJob::ConversationCreated { .. }, Some(info)) => {
            let mut lines = vec![format!(
                "{} started conversation #{} in {} ({account}).",
                info.contact_name, info.display_id, info.inbox_name
            )];
            if let Some(first) = info.first_message.as_deref().filter(|m| !m.trim().is_empty()) {
                lines.push(format!("\"{}\"", preview(first, 200)));
            }
            compose(
                config,
                account_id,
                to,
                format!(
                    "New conversation #{} in {}",
                    info.display_id, info.inbox_name
                ),
                &lines,
                "Open the conversation",
                &conversation_link(config, account_id, info.display_id),
            )
        }
        (
            EmailJob::WebhookDisabled {
                webhook_name,
                reason,
                ..
            },
            _,
        ) => compose(
            config,
            account_id,
            to,
            format!(
                "Webhook {} was disabled",
                webhook_name.replace(['\r', '\n'], " ")
            ),
            &[
                format!(
                    "The webhook {webhook_name} of {account} was disabled and receives no more events."
                ),
                format!("Reason: {reason}"),
                "Check the receiving end, then enable the webhook again in the settings."
                    .to_string(),
            ],
            "Open the webhook settings",
            &webhooks_link(config, account_id),
        ),
        _ => return Ok(None),
    }))
}

/// Renders the email of in-app notification `notification_id` for `user_id`: "Ana mentioned
/// you in conversation #12" with the note, or "New message in conversation #12" with the
/// customer's message. `Ok(None)` when the notification, the user or their membership is
/// gone, it was read already (the bell showed it), or they turned this kind off since.
fn render_notification(
    conn: &mut PgConnection,
    config: &Config,
    user_id: i64,
    notification_id: i64,
) -> AppResult<Option<Rendered>> {
    #[derive(QueryableByName)]
    struct Owner {
        #[diesel(sql_type = BigInt)]
        account_id: i64,
    }
    let owner: Option<Owner> =
        diesel::sql_query("SELECT account_id FROM notifications WHERE id = $1 AND user_id = $2")
            .bind::<BigInt, _>(notification_id)
            .bind::<BigInt, _>(user_id)
            .prepared()
            .get_result(conn)
            .optional()?;
    let Some(Owner { account_id }) = owner else {
        return Ok(None);
    };
    let Some(member) = accounts::member(conn, account_id, user_id)? else {
        return Ok(None);
    };
    let viewer = accounts::Viewer {
        user_id,
        account_id,
        role: member.role,
    };
    let n = match super::inbox_notifications::find(conn, &viewer, notification_id) {
        Ok(n) => n,
        Err(crate::error::AppError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(kind) = Kind::for_notification_type(&n.notification_type) else {
        return Ok(None);
    };
    if n.read_at.is_some() || !wants(conn, user_id, account_id, kind)? {
        return Ok(None);
    }
    let account = accounts::account_name(conn, account_id)?;
    let note = n.message_content.clone();
    let mut lines = vec![match kind {
        Kind::ConversationMention => format!(
            "{} mentioned you in a private note on conversation #{} with {} ({account}).",
            n.actor_name.as_deref().unwrap_or("A colleague"),
            n.display_id,
            n.contact_name
        ),
        _ => format!(
            "{} wrote in conversation #{} ({account}).",
            n.contact_name, n.display_id
        ),
    }];
    if let Some(text) = note.as_deref().map(super::inbox_notifications::plain_text) {
        if !text.trim().is_empty() {
            lines.push(format!("\"{}\"", preview(&text, 300)));
        }
    }
    let subject = match kind {
        Kind::ConversationMention => format!(
            "{} mentioned you in conversation #{}",
            n.actor_name
                .as_deref()
                .unwrap_or("A colleague")
                .replace(['\r', '\n'], " "),
            n.display_id
        ),
        _ => format!("New message in conversation #{}", n.display_id),
    };
    Ok(Some(compose(
        config,
        account_id,
        &member.user,
        subject,
        &lines,
        "Open the conversation",
        &conversation_link(config, account_id, n.display_id),
    )))
}
