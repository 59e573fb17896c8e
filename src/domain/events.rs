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

use crate::db::prepared::Prepare;
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

/// Records event `name` with `payload` (a JSON object) and announces it with
/// `pg_notify('switchboard_events', '<id>')`, in one statement on `conn` (or, inside
/// [`batched`], with the batch's other events at its end). Call it inside the transaction of
/// the change it describes: a rollback then emits nothing, and PostgreSQL delivers the
/// notification exactly when the change commits. Then, on the same connection, runs the
/// event's hooks (see [`batched`]).
pub fn emit(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: Option<i64>,
    conversation_id: Option<i64>,
    name: &str,
    payload: Value,
) -> AppResult<()> {
    insert(
        conn,
        NewEvent {
            account_id,
            inbox_id,
            conversation_id,
            name: name.to_string(),
            payload,
            add_display_id: false,
            email_members: false,
        },
    )
}

/// Emits [`CONVERSATION_CREATED`] for conversation `conversation_id` with `payload`; with
/// `email_members`, storing the event also queues the "new conversation" email to every
/// member of the inbox who wants it (`notifications::conversations_created`: one statement
/// for all the new conversations of a batch, issue 15). Call it in the transaction that
/// opened the conversation. Errors: database errors.
pub fn conversation_created(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
    conversation_id: i64,
    payload: Value,
    email_members: bool,
) -> AppResult<()> {
    insert(
        conn,
        NewEvent {
            account_id,
            inbox_id: Some(inbox_id),
            conversation_id: Some(conversation_id),
            name: CONVERSATION_CREATED.to_string(),
            payload,
            add_display_id: false,
            email_members,
        },
    )
}

/// Which of the hooks that follow an event have anything to do, read by the statement that
/// stores it (issue 15: one round trip instead of one per hook on the ingest path, where
/// usually no webhook, rule, auto-reply or SLA is concerned). `ord` is the event's 1-based
/// place in the statement's rows.
#[derive(QueryableByName)]
struct HookFlags {
    #[diesel(sql_type = BigInt)]
    ord: i64,
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

/// An event to store: what [`emit`] and its siblings were given.
#[derive(Debug, Clone)]
struct NewEvent {
    account_id: i64,
    inbox_id: Option<i64>,
    conversation_id: Option<i64>,
    name: String,
    payload: Value,
    /// Merge the conversation's `display_id` into the payload (read by the insert).
    add_display_id: bool,
    /// For `conversation.created`: queue the inbox members' "new conversation" emails when
    /// the event is stored (set-wise for a batch, see [`conversation_created`]).
    email_members: bool,
}

/// An enabled webhook's `(inbox_id, subscriptions)` (`None`: every inbox of the account).
type Subscription = (Option<i64>, Vec<String>);

/// The batch open on this thread (see [`batched`]).
#[derive(Default)]
struct Batch {
    /// Events to store, in emission order.
    events: Vec<NewEvent>,
    /// Per account, its enabled webhooks as `(inbox_id, subscriptions)`, read once a batch.
    webhooks: std::collections::HashMap<i64, Vec<Subscription>>,
}

thread_local! {
    static BATCH: std::cell::RefCell<Option<Batch>> = const { std::cell::RefCell::new(None) };
}

/// Ends the thread's batch when dropped (also when the batch's work failed or panicked).
struct BatchGuard;

impl Drop for BatchGuard {
    fn drop(&mut self) {
        BATCH.with(|b| *b.borrow_mut() = None);
    }
}

/// Runs `work` with the events it emits on this thread collected instead of stored one by
/// one, then stores them all with one multi-row statement and runs their hooks
/// (auto-assignment, auto-replies, automation rules, SLA, reporting), in emission order, on
/// the same connection; events the hooks emit are stored the same way, until none is left.
/// Issue 15: an ingest unit of 50 one-message deliveries emits about 150 events, one round
/// trip each before. The integration webhooks are queued when the event is emitted, as
/// without a batch: their bodies are read from the database then (Chatwoot's
/// `conversation_created` has no message yet); the account's webhooks are read once a batch.
///
/// Call it inside the transaction (or savepoint) of the work: the events commit or roll back
/// with it. Hooks run after the whole of `work` instead of right after each change, so
/// `work` must not read what a hook writes (ingest does not: hooks write jobs, queues,
/// reporting facts and SLA deadlines), and must not swallow the error of a savepoint of its
/// own that emitted events (they would be stored anyway). Rows other statements write to
/// `realtime_events` themselves (a bell notification's, `inbox_notifications`) are not part
/// of the batch and get lower ids than the batch's events. Nested calls join the outer batch,
/// which stores everything at its end. Errors: `work`'s, or database errors of the store and
/// the hooks; nothing is stored then.
pub fn batched<T>(
    conn: &mut PgConnection,
    work: impl FnOnce(&mut PgConnection) -> AppResult<T>,
) -> AppResult<T> {
    if BATCH.with(|b| b.borrow().is_some()) {
        return work(conn);
    }
    BATCH.with(|b| *b.borrow_mut() = Some(Batch::default()));
    let _guard = BatchGuard;
    let out = work(conn)?;
    loop {
        let pending = BATCH.with(|b| {
            b.borrow_mut()
                .as_mut()
                .map(|b| std::mem::take(&mut b.events))
                .unwrap_or_default()
        });
        if pending.is_empty() {
            return Ok(out);
        }
        store(conn, pending, true)?;
    }
}

/// Whether this thread is inside [`batched`]: the hooks of the events emitted now run only
/// at its end, so nothing they write (an assignee, a participant, a job) exists yet.
pub fn batching() -> bool {
    BATCH.with(|b| b.borrow().is_some())
}

/// Stores `event`, or adds it to the thread's open batch after queuing its webhooks (see
/// [`batched`]).
fn insert(conn: &mut PgConnection, event: NewEvent) -> AppResult<()> {
    let Some(known) = BATCH.with(|b| {
        b.borrow()
            .as_ref()
            .map(|b| b.webhooks.contains_key(&event.account_id))
    }) else {
        return store(conn, vec![event], false);
    };
    if !known {
        let rows: Vec<Subscription> = crate::db::schema::webhooks::table
            .filter(crate::db::schema::webhooks::account_id.eq(event.account_id))
            .filter(crate::db::schema::webhooks::enabled.eq(true))
            .select((
                crate::db::schema::webhooks::inbox_id,
                crate::db::schema::webhooks::subscriptions,
            ))
            .load(conn)?;
        BATCH.with(|b| {
            if let Some(b) = b.borrow_mut().as_mut() {
                b.webhooks.insert(event.account_id, rows);
            }
        });
    }
    let subscribed = super::webhooks::webhook_event_name(&event.name).is_some_and(|wanted| {
        BATCH.with(|b| {
            b.borrow().as_ref().is_some_and(|b| {
                b.webhooks[&event.account_id].iter().any(|(inbox, subs)| {
                    (inbox.is_none() || *inbox == event.inbox_id)
                        && subs.iter().any(|s| s == wanted)
                })
            })
        })
    });
    if subscribed {
        super::webhooks::enqueue_for_event(
            conn,
            event.account_id,
            event.inbox_id,
            event.conversation_id,
            &event.name,
            &event.payload,
        )?;
    }
    BATCH.with(|b| {
        if let Some(b) = b.borrow_mut().as_mut() {
            b.events.push(event);
        }
    });
    Ok(())
}

/// Stores `events` (one statement: the rows, one `pg_notify('switchboard_events', '<id>')`
/// each, and their [`HookFlags`]), then runs each event's hooks in order on the same
/// connection, so in the same transaction. `webhooks_queued`: the events come from a batch,
/// whose webhooks were queued when they were emitted (see [`insert`]).
fn store(conn: &mut PgConnection, events: Vec<NewEvent>, webhooks_queued: bool) -> AppResult<()> {
    use diesel::sql_types::Array;
    let n = events.len();
    let mut account_ids = Vec::with_capacity(n);
    let mut inbox_ids = Vec::with_capacity(n);
    let mut conversation_ids = Vec::with_capacity(n);
    let mut names = Vec::with_capacity(n);
    let mut payloads = Vec::with_capacity(n);
    let mut add_display_ids = Vec::with_capacity(n);
    let mut webhook_events = Vec::with_capacity(n);
    let mut rule_events = Vec::with_capacity(n);
    let mut auto_replies = Vec::with_capacity(n);
    let mut slas = Vec::with_capacity(n);
    for e in &events {
        account_ids.push(e.account_id);
        inbox_ids.push(e.inbox_id);
        conversation_ids.push(e.conversation_id);
        names.push(e.name.as_str());
        payloads.push(&e.payload);
        add_display_ids.push(e.add_display_id);
        webhook_events.push(if webhooks_queued {
            None
        } else {
            super::webhooks::webhook_event_name(&e.name)
        });
        let rules = if e.conversation_id.is_some() {
            super::automation::automation_events(&e.name, &e.payload)
        } else {
            Vec::new()
        };
        // Comma-separated (no name holds a comma), so the probe below can use
        // `automation_rules (account_id, event_name)` with `= ANY (string_to_array(…))`.
        rule_events.push(rules.join(","));
        auto_replies.push(super::auto_replies::may_enqueue(&e.name, &e.payload));
        slas.push(super::sla::is_relevant(&e.name, &e.payload));
    }
    // The rows go in in emission order (ids increase with it); the flags are computed from
    // the inputs, so they need not be matched to the inserted rows.
    let mut flags: Vec<HookFlags> = diesel::sql_query(
        "WITH v AS (SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::text[], \
             $5::jsonb[], $6::bool[], $7::text[], $8::text[], $9::bool[], $10::bool[]) \
           WITH ORDINALITY AS v(account_id, inbox_id, conversation_id, name, payload, \
             add_display_id, webhook_event, rule_events, may_auto_reply, may_move_sla, ord)), \
         e AS (INSERT INTO realtime_events (account_id, inbox_id, conversation_id, name, payload) \
           SELECT v.account_id, v.inbox_id, v.conversation_id, v.name, \
             CASE WHEN v.add_display_id THEN v.payload || jsonb_build_object('display_id', \
               (SELECT c.display_id FROM conversations c WHERE c.id = v.conversation_id)) \
             ELSE v.payload END \
           FROM v ORDER BY v.ord RETURNING id), \
         n AS (SELECT count(*) AS notified FROM e CROSS JOIN LATERAL \
           pg_notify('switchboard_events', e.id::text) AS x) \
         SELECT v.ord, \
           (v.webhook_event IS NOT NULL AND EXISTS (SELECT 1 FROM webhooks w \
             WHERE w.account_id = v.account_id AND w.enabled \
             AND (w.inbox_id IS NULL OR w.inbox_id = v.inbox_id) \
             AND v.webhook_event = ANY(w.subscriptions))) AS webhooks, \
           (v.rule_events <> '' AND EXISTS (SELECT 1 FROM automation_rules r \
             WHERE r.account_id = v.account_id AND r.active \
             AND r.event_name = ANY (string_to_array(v.rule_events, ',')))) AS rules, \
           (v.may_auto_reply AND EXISTS (SELECT 1 FROM inbox_hours_settings h \
             WHERE h.inbox_id = v.inbox_id \
             AND (h.greeting_enabled OR h.working_hours_enabled OR h.csat_survey_enabled))) \
             AS auto_replies, \
           (v.may_move_sla AND EXISTS (SELECT 1 FROM applied_slas a \
             WHERE a.conversation_id = v.conversation_id)) AS sla \
         FROM v CROSS JOIN n ORDER BY v.ord",
    )
    .bind::<Array<BigInt>, _>(&account_ids)
    .bind::<Array<Nullable<BigInt>>, _>(&inbox_ids)
    .bind::<Array<Nullable<BigInt>>, _>(&conversation_ids)
    .bind::<Array<Text>, _>(&names)
    .bind::<Array<Jsonb>, _>(&payloads)
    .bind::<Array<Bool>, _>(&add_display_ids)
    .bind::<Array<Nullable<Text>>, _>(&webhook_events)
    .bind::<Array<Text>, _>(&rule_events)
    .bind::<Array<Bool>, _>(&auto_replies)
    .bind::<Array<Bool>, _>(&slas)
    .prepared()
    .load(conn)?;
    flags.sort_by_key(|f| f.ord);
    if flags.len() != n {
        return Err(crate::error::AppError::Internal(format!(
            "stored {} event flags for {n} events",
            flags.len()
        )));
    }
    // Issue 13: the new conversations join their inboxes' assignment queues, all in one
    // statement (the other names auto-assignment reacts to go through `run_hooks`). A batch
    // (ingest) decides them here too, after its messages, so a conversation becomes visible
    // assigned; an event stored on its own (an agent's new conversation, whose first message
    // may come after it) leaves the decision to the drain job queued with it.
    let created: Vec<i64> = events
        .iter()
        .filter(|e| e.name == CONVERSATION_CREATED && e.inbox_id.is_some())
        .filter_map(|e| e.conversation_id)
        .collect();
    let gained = super::auto_assignment::enqueue_conversations(conn, &created, !webhooks_queued)?;
    if webhooks_queued {
        super::auto_assignment::assign_now(conn, &gained)?;
    }
    let emails: Vec<i64> = events
        .iter()
        .filter(|e| e.email_members)
        .filter_map(|e| e.conversation_id)
        .collect();
    super::notifications::conversations_created(conn, &emails)?;
    for (e, row) in events.iter().zip(&flags) {
        run_hooks(conn, e, row)?;
    }
    // Issue 13 (rules): the automation rules' jobs of the events whose account has a rule
    // for them (the `rules` flag above), in one single-row insert for the whole batch (an
    // ingest unit's 100 messages pay one round trip, not 100).
    let for_rules: Vec<super::automation::RuleEvent<'_>> = events
        .iter()
        .zip(&flags)
        .filter(|(_, row)| row.rules)
        .filter_map(|(e, _)| {
            e.conversation_id
                .map(|c| (e.account_id, c, e.name.as_str(), &e.payload))
        })
        .collect();
    if !for_rules.is_empty() {
        super::automation::enqueue_matched(conn, &for_rules)?;
    }
    // Issue 14 (reports): reporting facts and rollups, in the same transaction, after the
    // other hooks of these events (set-wise where it can, see `reporting::on_events`).
    let refs: Vec<super::reporting::EventRef<'_>> = events
        .iter()
        .map(|e| (e.conversation_id, e.name.as_str(), &e.payload))
        .collect();
    super::reporting::on_events(conn, &refs)
}

/// The hooks of one stored event but reporting's and the rules' (see [`store`]), in the order
/// they always ran.
fn run_hooks(conn: &mut PgConnection, e: &NewEvent, row: &HookFlags) -> AppResult<()> {
    let (account_id, inbox_id, conversation_id, name, payload) = (
        e.account_id,
        e.inbox_id,
        e.conversation_id,
        e.name.as_str(),
        &e.payload,
    );
    if row.webhooks {
        super::webhooks::enqueue_for_event(
            conn,
            account_id,
            inbox_id,
            conversation_id,
            name,
            payload,
        )?;
    }
    // Issue 13: auto-assignment reacts to four event names; any other costs nothing (the
    // new conversations joined the queue set-wise in `store`).
    if name != CONVERSATION_CREATED {
        super::auto_assignment::on_event(
            conn,
            account_id,
            inbox_id,
            conversation_id,
            name,
            payload,
        )?;
    }
    // Issue 13 (hours): greeting, out of office and CSAT, only for inboxes that use them.
    if row.auto_replies {
        super::auto_replies::enqueue_for_event(conn, inbox_id, conversation_id, name, payload)?;
    }
    // Issue 13 (SLA): a message or a status change moves the applied SLA's next deadline.
    if row.sla {
        super::sla::on_event(conn, conversation_id, name, payload)?;
    }
    Ok(())
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
) -> AppResult<()> {
    insert(
        conn,
        NewEvent {
            account_id: message.account_id,
            inbox_id: Some(message.inbox_id),
            conversation_id: Some(message.conversation_id),
            name: MESSAGE_CREATED.into(),
            payload: json!({
                "message_id": message.id,
                "message_type": message.message_type,
                "private": message.private,
                "status": message.status,
            }),
            add_display_id: true,
            email_members: false,
        },
    )
}

/// Emits `message.updated` for a changed message; `update` names what changed (`status`,
/// `reaction`, `revoke`, `edit`, `sent`, `attachment`).
pub fn message_updated(
    conn: &mut PgConnection,
    message: &super::messages::Message,
    update: &str,
) -> AppResult<()> {
    insert(
        conn,
        NewEvent {
            account_id: message.account_id,
            inbox_id: Some(message.inbox_id),
            conversation_id: Some(message.conversation_id),
            name: MESSAGE_UPDATED.into(),
            payload: json!({
                "message_id": message.id,
                "status": message.status,
                "update": update,
            }),
            add_display_id: true,
            email_members: false,
        },
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
) -> AppResult<()> {
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
