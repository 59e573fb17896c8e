//! Starting a conversation (outbound first): Chatwoot's `POST /api/v1/accounts/{id}/conversations`
//! (`conversations#create`, `ConversationBuilder`, `ContactInboxBuilder`) and the agent UI's
//! "New conversation" dialog.
//!
//! Rules:
//! - The contact inbox comes from `source_id` (a contact inbox's source id: phone digits or
//!   BSUID), or from `contact_id` + `inbox_id` (the contact inbox is created when missing: the
//!   phone's digits, else the BSUID, as ingest keys them, see [`super::contacts`]), or (the
//!   UI's extension) from `phone_number` + `inbox_id`: an E.164 number typed by the agent,
//!   found among the account's contacts or created as a new contact.
//! - Which conversation: the contact's latest unresolved conversation in that inbox when it
//!   has one, else a new one. This is the rule ingest follows for the customer's messages
//!   ([`super::conversations::find_or_open`], DESIGN.md), and Chatwoot's own rule for inboxes
//!   locked to a single conversation, as WhatsApp threads are: the customer's reply always
//!   lands in the conversation the template went out in. A reused conversation keeps its
//!   status, assignee, team and attributes (Chatwoot's `look_up_exising_conversation`).
//! - The optional first `message` is validated and queued exactly as
//!   `POST …/conversations/{id}/messages` does ([`super::outbox::create`]): outside the
//!   24-hour customer service window (always, for a contact who never wrote) only an
//!   approved template may be sent. Errors name the field under `message.`; nothing is kept
//!   when the message is refused (one transaction).
//! - Another account's (or an inbox the viewer cannot see) contact, inbox, agent or team
//!   answers 404; an agent assignee must be a member of the inbox (422 `assignee_id`).

use super::accounts::{self, Role, Viewer};
use super::contact_fields;
use super::contact_writes::{self, ContactInput};
use super::contacts::{self, identity_lock_key, Contact, ContactInbox};
use super::conversations::{self, Conversation};
use super::events;
use super::messages::{Attachment, Message};
use super::outbox::{self, OutgoingInput};
use crate::db::schema::{contact_inboxes, contacts as contacts_table, conversations as conv};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::{json, Map, Value};

/// The statuses a new conversation may be created with (Chatwoot's enum for this call).
pub const STATUSES: [&str; 3] = ["open", "pending", "resolved"];

/// What `POST /conversations` asks for (already parsed; see `web::api::conversation_create`).
#[derive(Debug, Clone, Default)]
pub struct StartInput {
    /// The inbox; required with `contact_id` or `phone_number`, optional with `source_id`.
    pub inbox_id: Option<i64>,
    /// A contact inbox's `source_id` (phone digits or BSUID).
    pub source_id: Option<String>,
    /// A contact of the account.
    pub contact_id: Option<i64>,
    /// Switchboard's extension: a phone number as typed (normalised to E.164 by
    /// [`contact_fields::normalize_phone`]); the contact is found by it or created.
    pub phone_number: Option<String>,
    /// Name for a contact created from `phone_number` (defaults to the number).
    pub name: Option<String>,
    /// The first message (free text, or a template through `template_params`).
    pub message: Option<OutgoingInput>,
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    /// One of [`STATUSES`]; `open` when absent.
    pub status: Option<String>,
    pub additional_attributes: Map<String, Value>,
    pub custom_attributes: Map<String, Value>,
}

/// What [`start`] did.
#[derive(Debug, Clone)]
pub struct Started {
    /// The conversation, as stored after the message (if any) was queued.
    pub conversation: Conversation,
    /// True when a new conversation was opened, false when the contact's unresolved one was
    /// reused.
    pub created: bool,
    /// True when the contact was created from `phone_number`.
    pub contact_created: bool,
    /// The first message and its attachments, when one was given.
    pub message: Option<(Message, Vec<Attachment>)>,
}

/// Starts (or continues) a conversation as described in the module documentation, in one
/// transaction: contact (and contact inbox) found or created, conversation found or opened
/// (emitting `conversation.created`), first message stored and queued for the send job
/// (emitting `message.created`). `now` stamps the message.
///
/// Errors: 404 for an inbox, contact, source id, agent or team the viewer cannot reach;
/// 422 naming the field (`inbox_id`, `source_id`, `contact_id`, `phone_number`, `status`,
/// `assignee_id`, `message.content`, `message.template_params…`).
pub fn start(
    conn: &mut PgConnection,
    viewer: &Viewer,
    input: StartInput,
    max_attempts: i32,
    now: DateTime<Utc>,
) -> AppResult<Started> {
    let status = match input.status.as_deref().map(str::trim) {
        None | Some("") => "open".to_string(),
        Some(s) if STATUSES.contains(&s) => s.to_string(),
        Some(s) => {
            return Err(AppError::invalid(
                "status",
                format!("status {s:?} is not one of open, pending or resolved"),
            ))
        }
    };
    conn.transaction(|conn| {
        let (contact, contact_inbox, contact_created) = contact_inbox_for(conn, viewer, &input)?;
        let inbox_id = contact_inbox.inbox_id;
        let assignee = match input.assignee_id.filter(|&id| id != 0) {
            None => None,
            Some(id) => {
                let m = accounts::member(conn, viewer.account_id, id)?
                    .ok_or_else(|| AppError::NotFound(format!("agent {id} not found")))?;
                if m.role == Role::Agent && !accounts::is_inbox_member(conn, inbox_id, id)? {
                    return Err(AppError::invalid(
                        "assignee_id",
                        format!(
                            "{} (agent {id}) is not a member of this inbox, so cannot be assigned its conversations",
                            m.user.name
                        ),
                    ));
                }
                Some(id)
            }
        };
        let team = match input.team_id.filter(|&id| id != 0) {
            None => None,
            Some(id) => Some(
                accounts::find_team(conn, viewer.account_id, id)?
                    .ok_or_else(|| AppError::NotFound(format!("team {id} not found")))?
                    .id,
            ),
        };

        // Same lock and lookup as ingest's `find_or_open`: one unresolved conversation per
        // contact and inbox, across processes.
        super::xact_lock(conn, &format!("conv:{inbox_id}:{}", contact.id))?;
        let existing: Option<Conversation> = conv::table
            .filter(conv::inbox_id.eq(inbox_id))
            .filter(conv::contact_id.eq(contact.id))
            .filter(conv::status.ne("resolved"))
            .order(conv::id.desc())
            .select(Conversation::as_select())
            .first(conn)
            .optional()?;
        let created = existing.is_none();
        let conversation = match existing {
            Some(c) => c,
            None => open(
                conn,
                viewer,
                &contact,
                &contact_inbox,
                &status,
                assignee,
                team,
                &input,
                now,
            )?,
        };

        let message = match input.message.clone() {
            None => None,
            Some(m) => Some(
                outbox::create(conn, &conversation, viewer.user_id, m, max_attempts, now)
                    .map_err(under_message)?,
            ),
        };
        let conversation = conversations::find_by_id(conn, conversation.id)?;
        Ok(Started {
            conversation,
            created,
            contact_created,
            message,
        })
    })
}

/// Inserts the new conversation with the requested fields and announces it
/// (`conversation.created`, the inbox members' "new conversation" notifications, and the
/// assignee's "assigned to you" one when it is somebody else).
#[allow(clippy::too_many_arguments)]
fn open(
    conn: &mut PgConnection,
    viewer: &Viewer,
    contact: &Contact,
    contact_inbox: &ContactInbox,
    status: &str,
    assignee: Option<i64>,
    team: Option<i64>,
    input: &StartInput,
    now: DateTime<Utc>,
) -> AppResult<Conversation> {
    // display_id comes from the account's sequence (trigger conversations_display_id).
    let created: Conversation = diesel::insert_into(conv::table)
        .values((
            conv::account_id.eq(viewer.account_id),
            conv::inbox_id.eq(contact_inbox.inbox_id),
            conv::contact_id.eq(contact.id),
            conv::contact_inbox_id.eq(contact_inbox.id),
            conv::status.eq(status),
            conv::assignee_id.eq(assignee),
            conv::team_id.eq(team),
            conv::additional_attributes.eq(Value::Object(input.additional_attributes.clone())),
            conv::custom_attributes.eq(Value::Object(input.custom_attributes.clone())),
            conv::last_activity_at.eq(now),
        ))
        .returning(Conversation::as_returning())
        .get_result(conn)?;
    // The members' "new conversation" emails are queued with the event.
    events::conversation_created(
        conn,
        created.account_id,
        created.inbox_id,
        created.id,
        json!({
            "display_id": created.display_id,
            "status": created.status,
            "contact_id": created.contact_id,
        }),
        true,
    )?;
    if let Some(a) = assignee.filter(|&a| a != viewer.user_id) {
        super::notifications::conversation_assigned(
            conn,
            created.account_id,
            created.id,
            a,
            Some(viewer.user_id),
        )?;
    }
    Ok(created)
}

/// Prefixes a 422's field with `message.` (the first message's fields sit under `message`).
fn under_message(e: AppError) -> AppError {
    match e {
        AppError::Unprocessable {
            field: Some(f),
            message,
        } => AppError::Unprocessable {
            field: Some(format!("message.{f}")),
            message,
        },
        other => other,
    }
}

/// The inbox `inbox_id` if the viewer may see it (404 otherwise, another account's too).
fn visible_inbox(conn: &mut PgConnection, viewer: &Viewer, inbox_id: i64) -> AppResult<i64> {
    let (inbox, _) = super::inboxes::find(conn, viewer.account_id, inbox_id)?;
    if !viewer.can_see_inbox(conn, inbox.id)? {
        return Err(AppError::NotFound(format!("inbox {inbox_id} not found")));
    }
    Ok(inbox.id)
}

/// Finds the contact and contact inbox the request names, creating what is missing.
/// Returns them and whether the contact was created.
fn contact_inbox_for(
    conn: &mut PgConnection,
    viewer: &Viewer,
    input: &StartInput,
) -> AppResult<(Contact, ContactInbox, bool)> {
    let source_id = input
        .source_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let phone = input
        .phone_number
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if input.contact_id.is_none() && phone.is_none() {
        let Some(source_id) = source_id else {
            return Err(AppError::invalid(
                "source_id",
                "give source_id (a contact inbox's source id), or contact_id and inbox_id",
            ));
        };
        return by_source_id(conn, viewer, input.inbox_id, source_id).map(|(c, ci)| (c, ci, false));
    }
    let inbox_id = input.inbox_id.ok_or_else(|| {
        AppError::invalid(
            "inbox_id",
            "inbox_id is required: the WhatsApp inbox the conversation is started from",
        )
    })?;
    let inbox_id = visible_inbox(conn, viewer, inbox_id)?;
    if let Some(contact_id) = input.contact_id {
        let contact = contacts::find(conn, viewer.account_id, contact_id)?;
        let ci = ensure_contact_inbox(conn, &contact, inbox_id, source_id)?;
        return Ok((contact, ci, false));
    }
    let e164 = contact_fields::normalize_phone("phone_number", phone.unwrap_or_default())?;
    let digits = e164.trim_start_matches('+').to_string();
    super::xact_lock(conn, &identity_lock_key(inbox_id, &digits))?;
    // Known in this inbox by that number: that contact.
    if let Some(ci) = contacts::find_contact_inbox(conn, inbox_id, &digits)? {
        let contact = contacts::find(conn, viewer.account_id, ci.contact_id)?;
        return Ok((contact, ci, false));
    }
    // Known in the account by that number (another inbox, or created without one).
    let known: Option<Contact> = contacts_table::table
        .filter(contacts_table::account_id.eq(viewer.account_id))
        .filter(contacts_table::phone_number.eq(&e164))
        .order(contacts_table::id)
        .select(Contact::as_select())
        .first(conn)
        .optional()?;
    let (contact, created) = match known {
        Some(c) => (c, false),
        None => {
            // One path for a new contact (E.164, duplicates, `contact.created`):
            // `contact_writes::create`, which also makes it reachable in the inbox.
            let name = input
                .name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .unwrap_or(&e164);
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            body.insert("phone_number".into(), json!(e164));
            let mut new_contact = ContactInput::from_json(&body)?;
            new_contact.inbox_id = Some(inbox_id);
            let (c, _) = contact_writes::create(conn, viewer, &new_contact)?;
            (c, true)
        }
    };
    let ci = ensure_contact_inbox(conn, &contact, inbox_id, Some(&digits))?;
    Ok((contact, ci, created))
}

/// The contact inbox holding `source_id` among the inboxes the viewer sees (only in
/// `inbox_id` when given). Errors: 404 when none; 422 `inbox_id` when the source id is in
/// several inboxes and none was named.
fn by_source_id(
    conn: &mut PgConnection,
    viewer: &Viewer,
    inbox_id: Option<i64>,
    source_id: &str,
) -> AppResult<(Contact, ContactInbox)> {
    let mut q = contact_inboxes::table
        .inner_join(contacts_table::table)
        .filter(contacts_table::account_id.eq(viewer.account_id))
        .filter(contact_inboxes::source_id.eq(source_id))
        .select(ContactInbox::as_select())
        .order(contact_inboxes::id)
        .into_boxed();
    if let Some(id) = inbox_id {
        visible_inbox(conn, viewer, id)?;
        q = q.filter(contact_inboxes::inbox_id.eq(id));
    } else if let Some(ids) = viewer.visible_inbox_ids(conn)? {
        q = q.filter(contact_inboxes::inbox_id.eq_any(ids));
    }
    let found: Vec<ContactInbox> = q.limit(2).load(conn)?;
    let ci = match found.as_slice() {
        [] => {
            return Err(AppError::NotFound(format!(
                "no contact inbox with source_id {source_id:?}"
            )))
        }
        [one] => one.clone(),
        _ => {
            return Err(AppError::invalid(
                "inbox_id",
                "this source_id is known in several inboxes: give inbox_id as well",
            ))
        }
    };
    let contact = contacts::find(conn, viewer.account_id, ci.contact_id)?;
    Ok((contact, ci))
}

/// The contact's contact inbox in `inbox_id`, created when missing (Chatwoot's
/// `ContactInboxBuilder`). With `source_id`, that one (it must be the contact's phone digits
/// or BSUID); without, the phone's digits, else the BSUID (the identifiers ingest keys
/// contacts by, so the customer's reply finds this contact). Takes the identity lock ingest
/// takes for that identifier.
///
/// Errors: 422 `contact_id` for a contact with neither phone nor BSUID; 422 `source_id` for a
/// source id that is not the contact's or that another contact holds in the inbox.
pub fn ensure_contact_inbox(
    conn: &mut PgConnection,
    contact: &Contact,
    inbox_id: i64,
    source_id: Option<&str>,
) -> AppResult<ContactInbox> {
    let phone_digits = contact
        .phone_number
        .as_deref()
        .map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|d| !d.is_empty());
    let (source, kind) = match source_id {
        Some(s) if phone_digits.as_deref() == Some(s) => (s.to_string(), "phone"),
        Some(s) if contact.bsuid.as_deref() == Some(s) => (s.to_string(), "bsuid"),
        Some(s) if contact.parent_bsuid.as_deref() == Some(s) => {
            (s.to_string(), "parent_bsuid")
        }
        Some(s) => {
            // An identifier already mapped to this contact in the inbox is fine too.
            match contacts::find_contact_inbox(conn, inbox_id, s)? {
                Some(ci) if ci.contact_id == contact.id => return Ok(ci),
                _ => {
                    return Err(AppError::invalid(
                        "source_id",
                        format!(
                            "source_id {s:?} is neither this contact's phone number (digits only) nor its WhatsApp user id"
                        ),
                    ))
                }
            }
        }
        None => match (&phone_digits, &contact.bsuid) {
            (Some(d), _) => (d.clone(), "phone"),
            (None, Some(b)) => (b.clone(), "bsuid"),
            (None, None) => {
                return Err(AppError::invalid(
                    "contact_id",
                    format!(
                        "{} has neither a phone number nor a WhatsApp user id, so WhatsApp cannot reach them",
                        contact.name
                    ),
                ))
            }
        },
    };
    super::xact_lock(conn, &identity_lock_key(inbox_id, &source))?;
    match contacts::find_contact_inbox(conn, inbox_id, &source)? {
        Some(ci) if ci.contact_id == contact.id => Ok(ci),
        Some(ci) => Err(AppError::invalid(
            "source_id",
            format!(
                "{source} belongs to another contact (id {}) in this inbox",
                ci.contact_id
            ),
        )),
        None => Ok(diesel::insert_into(contact_inboxes::table)
            .values((
                contact_inboxes::contact_id.eq(contact.id),
                contact_inboxes::inbox_id.eq(inbox_id),
                contact_inboxes::source_id.eq(&source),
                contact_inboxes::source_kind.eq(kind),
            ))
            .returning(ContactInbox::as_returning())
            .get_result(conn)?),
    }
}
