//! Domain events: a durable, ordered record of what changed for agents, written in the
//! transaction of the change and announced to every process with PostgreSQL NOTIFY.
//!
//! The realtime hub (`web::realtime`) streams them to browsers over SSE, and later the
//! integration webhooks deliver the same rows. Names are Chatwoot's (`Events::Types` in
//! chatwoot `lib/events/types.rb`): `message.created`, `message.updated`,
//! `conversation.created`, `conversation.status_changed`, `conversation.updated`,
//! `assignee.changed`. A team change is reported as `conversation.updated` (Chatwoot's
//! separate `team.changed` is not used).
//!
//! A payload is small (a few ids and fields, well under a few hundred bytes): clients fetch
//! the details through `/api/v1`. Payload shapes, besides the envelope fields every event has
//! (`event`, `id`, `account_id`, `inbox_id`, `conversation_id`, see [`Event::to_json`]):
//!
//! | name | payload |
//! |---|---|
//! | `message.created` | `message_id`, `display_id` (the conversation's), `message_type` (0 incoming, 1 outgoing, 2 activity, 3 template), `private`, `status` |
//! | `message.updated` | `message_id`, `display_id`, `status`, `update` (`status`, `reaction`, `revoke`, `edit`, `sent`: Graph accepted the send, or `attachment`: a media download finished, failed for good or was queued again) |
//! | `conversation.created` | `display_id`, `status`, `contact_id` |
//! | `conversation.status_changed` | `display_id`, `status`, `previous_status`, `snoozed_until` (unix seconds or null) |
//! | `assignee.changed` | `display_id`, `assignee_id`, `previous_assignee_id` (user ids or null) |
//! | `conversation.updated` | `display_id`, `changed` (list of `priority`, `team_id`, `labels`, `custom_attributes`, `snoozed_until`, `agent_last_seen_at`), plus `priority` and `team_id` when they changed, and `changes` `{attr: [previous, current]}` for an agent's change (times ISO 8601; what the webhooks' `changed_attributes` carry) |
//! | `presence.update` | `user_id`, `availability` (`online`/`busy`/`offline`): an agent's availability in the account changed (account-wide; see `domain::profile`) |
//! | `notification.created` | `user_id`, `notification_id`, `notification_type`, `display_id`: delivered to that user only (see [`Event::recipient`]) |
//! | `notification.updated` | `user_id`, `notification_id` (null for all), `unread_count`: that user only |
//! | `sla.missed` | `display_id`, `applied_sla` (the API's object), `type` (`frt`/`nrt`/`rt`), `due_at` (unix seconds): a deadline of the conversation's SLA was missed (`domain::sla`; webhooks `sla_missed`, automation `sla_missed`) |
//! | `sla.updated` | `display_id`, `sla_policy_id` (null when removed): an SLA was applied, removed or its policy changed (realtime clients only) |
//! | `contact_note.changed` | `contact_id`, `note_id`, `action` (`created`, `updated`, `deleted`): account-wide, ids only (clients read the notes through `/contacts/{id}/notes`, which checks who may see the contact) |

use crate::db::schema::realtime_events;
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Jsonb, Nullable, Text};
use serde_json::{json, Map, Value};

/// The LISTEN/NOTIFY channel announcing new events; the notification payload is the event id
/// as decimal text.
pub const CHANNEL: &str = "switchboard_events";

/// How long events are kept for replay (`prune` deletes older ones): 24 hours.
pub const RETENTION: chrono::Duration = chrono::Duration::hours(24);

/// A message was stored: incoming, echo, history import, outgoing, private note or activity
/// line.
pub const MESSAGE_CREATED: &str = "message.created";
/// A stored message changed: delivery status, reaction, revoke, edit, Graph accepted it, or
/// its media download finished, failed or was retried.
pub const MESSAGE_UPDATED: &str = "message.updated";
/// A conversation was opened (the contact's first message, or the first after a resolve).
pub const CONVERSATION_CREATED: &str = "conversation.created";
/// A conversation's status changed (an agent's action, a snooze running out, or the
/// contact's reply reopening a snoozed conversation).
pub const CONVERSATION_STATUS_CHANGED: &str = "conversation.status_changed";
/// A conversation's priority, labels, team, snooze time or last-seen time changed.
pub const CONVERSATION_UPDATED: &str = "conversation.updated";
/// A conversation's assignee changed.
pub const ASSIGNEE_CHANGED: &str = "assignee.changed";

/// A contact was created (by ingest, the API or "New conversation"): recorded for realtime
/// clients (an open Contacts list redraws) and the integration webhooks (`contact_created`),
/// payload `{"contact_id"}`; see [`contact_changed`].
pub const CONTACT_CREATED: &str = "contact.created";
/// A contact's name, phone, BSUID or username changed. Webhooks only (`contact_updated`).
pub const CONTACT_UPDATED: &str = "contact.updated";
/// A contact was deleted (`DELETE /contacts/{id}`, or merged into another). Recorded for
/// realtime clients only (Chatwoot sends no webhook for it); payload `{"contact_id"}`.
/// The API's contact writes (`contact_writes`) also record `contact.created` and
/// `contact.updated` for realtime clients, account-wide, with the same payload.
pub const CONTACT_DELETED: &str = "contact.deleted";
/// A batch of a CSV import created contacts: one event per batch, for realtime clients only
/// (an open Contacts list redraws; bulk creations send no webhook, as Chatwoot's importer).
/// Account-wide; payload `{"import_id", "created"}` (contacts the batch created).
pub const CONTACTS_IMPORTED: &str = "contacts.imported";

/// A contact note was added, changed or deleted (the contact panel of every open browser
/// follows). Account-wide, ids only; no integration webhook (Chatwoot has none for notes).
pub const CONTACT_NOTE_CHANGED: &str = "contact_note.changed";

/// Every event name recorded for realtime clients, for documentation and subscription filters.
pub const ALL: [&str; 6] = [
    MESSAGE_CREATED,
    MESSAGE_UPDATED,
    CONVERSATION_CREATED,
    CONVERSATION_STATUS_CHANGED,
    CONVERSATION_UPDATED,
    ASSIGNEE_CHANGED,
];

/// A `realtime_events` row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = realtime_events)]
pub struct Event {
    /// Increasing with insertion (not strictly with commit order).
    pub id: i64,
    pub account_id: i64,
    /// `None` for account-wide events, which every member of the account may see.
    pub inbox_id: Option<i64>,
    /// `conversations.id` (the API's `display_id` is in the payload).
    pub conversation_id: Option<i64>,
    /// One of the names above.
    pub name: String,
    /// A JSON object of a few fields (see the module documentation).
    pub payload: Value,
    pub created_at: DateTime<Utc>,
}

impl Event {
    /// The event as clients and webhooks receive it: `{"event", "id", "account_id",
    /// "inbox_id", "conversation_id", "created_at" (unix seconds)}` with the payload's fields
    /// merged in (the envelope wins on a name clash).
    pub fn to_json(&self) -> Value {
        let mut out = match &self.payload {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        out.insert("event".into(), json!(self.name));
        out.insert("id".into(), json!(self.id));
        out.insert("account_id".into(), json!(self.account_id));
        out.insert("inbox_id".into(), json!(self.inbox_id));
        out.insert("conversation_id".into(), json!(self.conversation_id));
        out.insert("created_at".into(), json!(self.created_at.timestamp()));
        Value::Object(out)
    }

    /// The only user who may receive this event, for a user's own events (names starting
    /// with `notification.`: the bell, see `inbox_notifications`): the payload's `user_id`,
    /// or `Some(0)` (nobody) when it is missing. `None` for every other event.
    pub fn recipient(&self) -> Option<i64> {
        if self.name.starts_with("notification.") {
            Some(self.payload["user_id"].as_i64().unwrap_or(0))
        } else {
            None
        }
    }

    /// True when a viewer who sees `visible_inboxes` (`None`: every inbox, as for
    /// administrators; see `Viewer::visible_inbox_ids`) in `account_id` may receive it.
    pub fn visible_to(&self, account_id: i64, visible_inboxes: Option<&[i64]>) -> bool {
        self.account_id == account_id
            && match (self.inbox_id, visible_inboxes) {
                (None, _) | (_, None) => true,
                (Some(inbox), Some(ids)) => ids.contains(&inbox),
            }
    }
}

/// The stored event's id, and which of the hooks that follow have anything to do, read by
/// the same statement that stores it (issue 15: one round trip instead of one per hook on
/// the ingest path, where usually no webhook, rule, auto-reply or SLA is concerned).
#[derive(QueryableByName)]
struct EmittedId {
    #[diesel(sql_type = BigInt)]
    id: i64,
    /// An enabled webhook of the account (or of the event's inbox) subscribes to it.
    #[diesel(sql_type = Bool)]
    webhooks: bool,
    /// The account has an active automation rule for one of its automation events.
    #[diesel(sql_type = Bool)]
    rules: bool,
    /// The inbox sends a greeting, out-of-office or CSAT message, and the event may call one.
    #[diesel(sql_type = Bool)]
    auto_replies: bool,
    /// The conversation has an applied SLA, and the event may move its deadline.
    #[diesel(sql_type = Bool)]
    sla: bool,
}

/// Records event `name` with `payload` (a JSON object) and announces it with
/// `pg_notify('switchboard_events', '<id>')`, in one statement on `conn`. Call it inside the
/// transaction of the change it describes: a rollback then emits nothing, and PostgreSQL
/// delivers the notification exactly when the change commits. Returns the event id.
pub fn emit(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: Option<i64>,
    conversation_id: Option<i64>,
    name: &str,
    payload: Value,
) -> AppResult<i64> {
    insert(
        conn,
        account_id,
        inbox_id,
        conversation_id,
        name,
        payload,
        false,
    )
}

/// The one statement behind [`emit`]; with `add_display_id`, the conversation's
/// `display_id` is merged into the payload by the same statement (no extra round trip).
/// Then, on the same connection and so in the same transaction, queues the integration
/// webhook deliveries of the event (`webhooks::enqueue_for_event`).
fn insert(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: Option<i64>,
    conversation_id: Option<i64>,
    name: &str,
    payload: Value,
    add_display_id: bool,
) -> AppResult<i64> {
    let payload_copy = payload.clone();
    let webhook_event = super::webhooks::webhook_event_name(name);
    let rule_events = if conversation_id.is_some() {
        super::automation::automation_events(name, &payload_copy)
    } else {
        Vec::new()
    };
    let may_auto_reply = super::auto_replies::may_enqueue(name, &payload_copy);
    let may_move_sla = super::sla::is_relevant(name, &payload_copy);
    let row: EmittedId = diesel::sql_query(
        "WITH e AS (INSERT INTO realtime_events (account_id, inbox_id, conversation_id, name, payload) \
         VALUES ($1, $2, $3, $4, CASE WHEN $6 THEN $5 || jsonb_build_object('display_id', \
           (SELECT display_id FROM conversations WHERE id = $3)) ELSE $5 END) RETURNING id) \
         SELECT e.id, \
           ($7::text IS NOT NULL AND EXISTS (SELECT 1 FROM webhooks w WHERE w.account_id = $1 \
             AND w.enabled AND (w.inbox_id IS NULL OR w.inbox_id = $2) \
             AND $7 = ANY(w.subscriptions))) AS webhooks, \
           (cardinality($8::text[]) > 0 AND EXISTS (SELECT 1 FROM automation_rules r \
             WHERE r.account_id = $1 AND r.active AND r.event_name = ANY($8))) AS rules, \
           ($9 AND EXISTS (SELECT 1 FROM inbox_hours_settings h WHERE h.inbox_id = $2 \
             AND (h.greeting_enabled OR h.working_hours_enabled OR h.csat_survey_enabled))) \
             AS auto_replies, \
           ($10 AND EXISTS (SELECT 1 FROM applied_slas a WHERE a.conversation_id = $3)) AS sla \
         FROM e CROSS JOIN LATERAL pg_notify('switchboard_events', e.id::text) AS n",
    )
    .bind::<BigInt, _>(account_id)
    .bind::<Nullable<BigInt>, _>(inbox_id)
    .bind::<Nullable<BigInt>, _>(conversation_id)
    .bind::<Text, _>(name)
    .bind::<Jsonb, _>(payload)
    .bind::<Bool, _>(add_display_id)
    .bind::<Nullable<Text>, _>(webhook_event)
    .bind::<diesel::sql_types::Array<Text>, _>(&rule_events)
    .bind::<Bool, _>(may_auto_reply)
    .bind::<Bool, _>(may_move_sla)
    .get_result(conn)?;
    if row.webhooks {
        super::webhooks::enqueue_for_event(
            conn,
            account_id,
            inbox_id,
            conversation_id,
            name,
            &payload_copy,
        )?;
    }
    // Issue 13: auto-assignment reacts to four event names; any other costs nothing.
    super::auto_assignment::on_event(
        conn,
        account_id,
        inbox_id,
        conversation_id,
        name,
        &payload_copy,
    )?;
    // Issue 13 (hours): greeting, out of office and CSAT, only for inboxes that use them.
    if row.auto_replies {
        super::auto_replies::enqueue_for_event(
            conn,
            inbox_id,
            conversation_id,
            name,
            &payload_copy,
        )?;
    }
    // Issue 13 (rules): queue the automation rules' job when the account has a rule for it.
    if row.rules {
        super::automation::enqueue_for_event(
            conn,
            account_id,
            conversation_id,
            name,
            &payload_copy,
        )?;
    }
    // Issue 13 (SLA): a message or a status change moves the applied SLA's next deadline.
    if row.sla {
        super::sla::on_event(conn, conversation_id, name, &payload_copy)?;
    }
    // Issue 14 (reports): reporting facts and rollups, in the same transaction.
    super::reporting::on_event(conn, conversation_id, name, &payload_copy)?;
    Ok(row.id)
}

/// The account's events with id greater than `after_id`, oldest first, at most `limit`.
pub fn since(
    conn: &mut PgConnection,
    account_id: i64,
    after_id: i64,
    limit: i64,
) -> AppResult<Vec<Event>> {
    Ok(realtime_events::table
        .filter(realtime_events::account_id.eq(account_id))
        .filter(realtime_events::id.gt(after_id))
        .order(realtime_events::id)
        .limit(limit)
        .select(Event::as_select())
        .load(conn)?)
}

/// Events of every account with id greater than `after_id`, oldest first, at most `limit`
/// (the hub's catch-up after its LISTEN connection was lost).
pub fn after(conn: &mut PgConnection, after_id: i64, limit: i64) -> AppResult<Vec<Event>> {
    Ok(realtime_events::table
        .filter(realtime_events::id.gt(after_id))
        .order(realtime_events::id)
        .limit(limit)
        .select(Event::as_select())
        .load(conn)?)
}

/// The events with these ids that exist, in id order (what a batch of notifications names).
pub fn by_ids(conn: &mut PgConnection, ids: &[i64]) -> AppResult<Vec<Event>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(realtime_events::table
        .filter(realtime_events::id.eq_any(ids))
        .order(realtime_events::id)
        .select(Event::as_select())
        .load(conn)?)
}

/// The highest event id so far (0 when there is none).
pub fn max_id(conn: &mut PgConnection) -> AppResult<i64> {
    Ok(realtime_events::table
        .select(diesel::dsl::max(realtime_events::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// Deletes events created before `older_than`; returns how many. The periodic loop in
/// `app::spawn_workers` keeps [`RETENTION`] (24 hours).
pub fn prune(conn: &mut PgConnection, older_than: DateTime<Utc>) -> AppResult<usize> {
    Ok(
        diesel::delete(realtime_events::table.filter(realtime_events::created_at.lt(older_than)))
            .execute(conn)?,
    )
}

/// Emits `message.created` for a stored message (see the module documentation).
pub fn message_created(
    conn: &mut PgConnection,
    message: &super::messages::Message,
) -> AppResult<i64> {
    insert(
        conn,
        message.account_id,
        Some(message.inbox_id),
        Some(message.conversation_id),
        MESSAGE_CREATED,
        json!({
            "message_id": message.id,
            "message_type": message.message_type,
            "private": message.private,
            "status": message.status,
        }),
        true,
    )
}

/// Emits `message.updated` for a changed message; `update` names what changed (`status`,
/// `reaction`, `revoke`, `edit`, `sent`, `attachment`).
pub fn message_updated(
    conn: &mut PgConnection,
    message: &super::messages::Message,
    update: &str,
) -> AppResult<i64> {
    insert(
        conn,
        message.account_id,
        Some(message.inbox_id),
        Some(message.conversation_id),
        MESSAGE_UPDATED,
        json!({
            "message_id": message.id,
            "status": message.status,
            "update": update,
        }),
        true,
    )
}

/// Announces a created (`created`) or changed contact, in the caller's transaction: a
/// created one is recorded with [`emit`] (realtime clients in `inbox_id`, or account-wide,
/// and the `contact_created` webhook); a changed one goes to the integration webhooks only
/// (`contact_updated`, [`contact_updated_with`], which also names what changed). Payload
/// `{"contact_id"}`.
pub fn contact_changed(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: Option<i64>,
    contact_id: i64,
    created: bool,
) -> AppResult<()> {
    if created {
        emit(
            conn,
            account_id,
            inbox_id,
            None,
            CONTACT_CREATED,
            json!({ "contact_id": contact_id }),
        )?;
    } else {
        contact_updated_with(conn, account_id, inbox_id, contact_id, Value::Null)?;
    }
    Ok(())
}

/// Emits [`CONTACT_NOTE_CHANGED`] for note `note_id` of contact `contact_id`; `action` is
/// `created`, `updated` or `deleted`. Call it in the transaction of the change.
pub fn contact_note_changed(
    conn: &mut PgConnection,
    account_id: i64,
    contact_id: i64,
    note_id: i64,
    action: &str,
) -> AppResult<i64> {
    emit(
        conn,
        account_id,
        None,
        None,
        CONTACT_NOTE_CHANGED,
        json!({ "contact_id": contact_id, "note_id": note_id, "action": action }),
    )
}

/// Announces a changed contact (`contact_updated`) with `changes`, a JSON object
/// `{"<attribute>": [previous, current]}` (Chatwoot's `previous_changes`, e.g.
/// `{"name": ["Ann", "Ann Lee"]}`), which the webhook body carries as `changed_attributes`;
/// `Value::Null` when unknown (the body's `changed_attributes` is then `null`).
pub fn contact_updated_with(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: Option<i64>,
    contact_id: i64,
    changes: Value,
) -> AppResult<usize> {
    super::webhooks::enqueue_for_event(
        conn,
        account_id,
        inbox_id,
        None,
        CONTACT_UPDATED,
        &json!({ "contact_id": contact_id, "changes": changes }),
    )
}
