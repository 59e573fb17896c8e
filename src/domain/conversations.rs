//! Conversations: which one a message joins, display ids, activity and the list filters, and
//! the agents' actions (status, priority, assignment, labels) with Chatwoot's activity lines.

use super::accounts::{self, Member, Role, Team, Viewer};
use super::events;
use super::messages::{self, message_type, NewMessage};
use crate::db::prepared::Prepare;
use crate::db::schema::{conversations, users};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;
use std::collections::HashMap;

/// A `conversations` row. The API addresses it by `display_id`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = conversations)]
pub struct Conversation {
    pub id: i64,
    pub account_id: i64,
    pub inbox_id: i64,
    pub display_id: i32,
    pub uuid: String,
    pub contact_id: i64,
    pub contact_inbox_id: Option<i64>,
    pub status: String,
    pub priority: Option<String>,
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub last_incoming_at: Option<DateTime<Utc>>,
    pub last_activity_at: DateTime<Utc>,
    pub agent_last_seen_at: Option<DateTime<Utc>>,
    pub additional_attributes: serde_json::Value,
    pub custom_attributes: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Chatwoot's conversation labels (free tags).
    pub labels: Vec<String>,
    /// Chatwoot's `waiting_since`: when the customer's oldest unanswered message arrived
    /// (set by an incoming message, cleared by a reply, see [`clear_waiting`]); `None` when
    /// nobody waits. The list's "waiting longest" sort orders on it.
    pub waiting_since: Option<DateTime<Utc>>,
    /// The most urgent unmet SLA deadline (a missed one still unmet, else the next); `None`
    /// without an active SLA. Maintained by `sla::settle`; the list's `sla_due_asc` sort
    /// orders on it.
    pub sla_due_at: Option<DateTime<Utc>>,
}

/// The contact's latest unresolved conversation in the inbox, or a new open one with the
/// account's next `display_id` (emitting `conversation.created` and, with `notify`, queuing
/// the inbox members' "new conversation" emails, see `notifications`; a history import passes
/// false). Must run in a transaction
/// (takes a per-contact lock). [`latest`] and [`open`] are its two halves, for a caller
/// that decides something in between (ingest: a CSAT answer joins the surveyed conversation).
pub fn find_or_open(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
    contact_id: i64,
    contact_inbox_id: i64,
    at: DateTime<Utc>,
    notify: bool,
) -> AppResult<Conversation> {
    if let Some(c) = latest(conn, inbox_id, contact_id)?.filter(takes_new_messages) {
        return Ok(c);
    }
    open(
        conn,
        account_id,
        inbox_id,
        contact_id,
        contact_inbox_id,
        at,
        notify,
    )
}

/// The contact's newest unresolved conversation in the inbox, else its newest of all (one
/// round trip), after taking the per-contact lock that [`open`] needs held. Must run in a
/// transaction.
pub fn latest(
    conn: &mut PgConnection,
    inbox_id: i64,
    contact_id: i64,
) -> AppResult<Option<Conversation>> {
    super::xact_lock(conn, &format!("conv:{inbox_id}:{contact_id}"))?;
    Ok(conversations::table
        .filter(conversations::inbox_id.eq(inbox_id))
        .filter(conversations::contact_id.eq(contact_id))
        .order((
            diesel::dsl::sql::<diesel::sql_types::Bool>("status <> 'resolved'").desc(),
            conversations::id.desc(),
        ))
        .select(Conversation::as_select())
        .limit(1)
        .prepared()
        .get_result(conn)
        .optional()?)
}

/// Whether the contact's new message goes to `c` rather than a new conversation: `c` is
/// unresolved, or muted (a muted conversation is resolved and takes the customer's new
/// messages without reopening).
pub fn takes_new_messages(c: &Conversation) -> bool {
    c.status != "resolved" || is_muted(c)
}

/// Opens a new conversation for the contact (see [`find_or_open`]). Call it only under the
/// lock [`latest`] takes, after it found no conversation that [`takes_new_messages`].
pub fn open(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
    contact_id: i64,
    contact_inbox_id: i64,
    at: DateTime<Utc>,
    notify: bool,
) -> AppResult<Conversation> {
    // display_id comes from the account's sequence (trigger conversations_display_id).
    let created: Conversation = diesel::insert_into(conversations::table)
        .values((
            conversations::account_id.eq(account_id),
            conversations::inbox_id.eq(inbox_id),
            conversations::contact_id.eq(contact_id),
            conversations::contact_inbox_id.eq(contact_inbox_id),
            conversations::last_activity_at.eq(at),
        ))
        .returning(Conversation::as_returning())
        .get_result(conn)?;
    // The members' "new conversation" emails are queued with the event (set-wise when the
    // event is part of a batch, see `events::batched`).
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
        notify,
    )?;
    Ok(created)
}

/// One conversation for [`open_many`] to open: `(account_id, inbox_id, contact_id,
/// contact_inbox_id, at)`, `at` being the time of the incoming message that opens it.
pub type FirstMessage = (i64, i64, i64, i64, DateTime<Utc>);

/// Opens, in ONE statement, a conversation for each entry (issue 15, batched ingest): the
/// conversations of new customers' first messages in an ingest unit. Each is [`open`]'s
/// conversation with that incoming message's activity already recorded (as
/// [`record_message`] would: `last_activity_at`, `last_incoming_at` and `waiting_since` are
/// `at`), and emits `conversation.created` with the members' emails, as [`open`] does.
/// Returns the conversations in `entries`' order. Only for contacts that have no conversation
/// in the inbox and that no other transaction can see yet (made in the same transaction).
/// Errors: database errors only.
pub fn open_many(
    conn: &mut PgConnection,
    entries: &[FirstMessage],
) -> AppResult<Vec<Conversation>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<_> = entries
        .iter()
        .map(
            |&(account_id, inbox_id, contact_id, contact_inbox_id, at)| {
                (
                    conversations::account_id.eq(account_id),
                    conversations::inbox_id.eq(inbox_id),
                    conversations::contact_id.eq(contact_id),
                    conversations::contact_inbox_id.eq(contact_inbox_id),
                    conversations::last_activity_at.eq(at),
                    conversations::last_incoming_at.eq(at),
                    conversations::waiting_since.eq(at),
                )
            },
        )
        .collect();
    // display_id comes from the account's sequence (trigger conversations_display_id), in
    // the rows' order.
    let created: Vec<Conversation> = diesel::insert_into(conversations::table)
        .values(&rows)
        .returning(Conversation::as_returning())
        .get_results(conn)?;
    let mut by_key: HashMap<(i64, i64), Conversation> = created
        .into_iter()
        .map(|c| ((c.inbox_id, c.contact_id), c))
        .collect();
    let mut out = Vec::with_capacity(entries.len());
    for &(_, inbox_id, contact_id, _, _) in entries {
        let c = by_key.remove(&(inbox_id, contact_id)).ok_or_else(|| {
            AppError::Internal(format!(
                "open_many: no conversation returned for contact {contact_id} (one per contact)"
            ))
        })?;
        events::conversation_created(
            conn,
            c.account_id,
            c.inbox_id,
            c.id,
            json!({
                "display_id": c.display_id,
                "status": c.status,
                "contact_id": c.contact_id,
            }),
            true,
        )?;
        out.push(c);
    }
    Ok(out)
}

/// Emits `name` for conversation `c` (its account, inbox and id) with `payload`.
fn emit_for(
    conn: &mut PgConnection,
    c: &Conversation,
    name: &str,
    payload: serde_json::Value,
) -> AppResult<()> {
    events::emit(
        conn,
        c.account_id,
        Some(c.inbox_id),
        Some(c.id),
        name,
        payload,
    )
}

/// Emits `conversation.status_changed` for a move from `previous` to `c.status`.
fn emit_status_changed(conn: &mut PgConnection, c: &Conversation, previous: &str) -> AppResult<()> {
    emit_for(
        conn,
        c,
        events::CONVERSATION_STATUS_CHANGED,
        json!({
            "display_id": c.display_id,
            "status": c.status,
            "previous_status": previous,
            "snoozed_until": c.snoozed_until.map(|t| t.timestamp()),
        }),
    )
}

/// Emits the events of an agent's change from `before` to `after` (the same conversation),
/// as [`change_events`] lists them.
fn emit_changes(
    conn: &mut PgConnection,
    before: &Conversation,
    after: &Conversation,
) -> AppResult<()> {
    for (name, payload) in change_events(before, after) {
        emit_for(conn, after, name, payload)?;
    }
    Ok(())
}

/// The events of an agent's change from `before` to `after` (the same conversation), as
/// `(name, payload)`: `conversation.status_changed` for a status, `assignee.changed` for an
/// assignee, and one `conversation.updated` naming the other fields that changed (priority,
/// team, labels, snooze time). Bulk actions emit the same list in one statement.
pub(crate) fn change_events(
    before: &Conversation,
    after: &Conversation,
) -> Vec<(&'static str, serde_json::Value)> {
    let mut out = vec![];
    if before.status != after.status {
        out.push((
            events::CONVERSATION_STATUS_CHANGED,
            json!({
                "display_id": after.display_id,
                "status": after.status,
                "previous_status": before.status,
                "snoozed_until": after.snoozed_until.map(|t| t.timestamp()),
            }),
        ));
    }
    if before.assignee_id != after.assignee_id {
        out.push((
            events::ASSIGNEE_CHANGED,
            json!({
                "display_id": after.display_id,
                "assignee_id": after.assignee_id,
                "previous_assignee_id": before.assignee_id,
            }),
        ));
    }
    let mut payload = serde_json::Map::new();
    let mut changed = vec![];
    // `changes`: `{attr: [previous, current]}` of each changed attribute, as Chatwoot's
    // `previous_changes` (times ISO 8601), for the webhooks' `changed_attributes`.
    let mut changes = serde_json::Map::new();
    let iso = |t: Option<DateTime<Utc>>| json!(t.map(crate::domain::webhook_payloads::iso));
    if before.priority != after.priority {
        changed.push("priority");
        payload.insert("priority".into(), json!(after.priority));
        changes.insert("priority".into(), json!([before.priority, after.priority]));
    }
    if before.team_id != after.team_id {
        changed.push("team_id");
        payload.insert("team_id".into(), json!(after.team_id));
        changes.insert("team_id".into(), json!([before.team_id, after.team_id]));
    }
    if before.labels != after.labels {
        changed.push("labels");
        changes.insert("labels".into(), json!([before.labels, after.labels]));
    }
    if before.custom_attributes != after.custom_attributes {
        changed.push("custom_attributes");
        changes.insert(
            "custom_attributes".into(),
            json!([before.custom_attributes, after.custom_attributes]),
        );
    }
    if before.custom_attributes != after.custom_attributes {
        changed.push("custom_attributes");
    }
    // A new snooze time without a status change (a status change already carries it).
    if before.snoozed_until != after.snoozed_until && before.status == after.status {
        changed.push("snoozed_until");
        payload.insert(
            "snoozed_until".into(),
            json!(after.snoozed_until.map(|t| t.timestamp())),
        );
        changes.insert(
            "snoozed_until".into(),
            json!([iso(before.snoozed_until), iso(after.snoozed_until)]),
        );
    }
    if !changed.is_empty() {
        payload.insert("display_id".into(), json!(after.display_id));
        payload.insert("changed".into(), json!(changed));
        payload.insert("changes".into(), serde_json::Value::Object(changes));
        out.push((
            events::CONVERSATION_UPDATED,
            serde_json::Value::Object(payload),
        ));
    }
    out
}

/// Reopens snoozed conversations whose `snoozed_until` has passed, emitting
/// `conversation.status_changed` (snoozed → open) for each in the same transaction; returns
/// how many.
pub fn reopen_due_snoozed(conn: &mut PgConnection, now: DateTime<Utc>) -> AppResult<usize> {
    conn.transaction(|conn| {
        let reopened: Vec<Conversation> = diesel::update(
            conversations::table
                .filter(conversations::status.eq("snoozed"))
                .filter(conversations::snoozed_until.le(now)),
        )
        .set((
            conversations::status.eq("open"),
            conversations::snoozed_until.eq(None::<DateTime<Utc>>),
            conversations::updated_at.eq(now),
        ))
        .returning(Conversation::as_returning())
        .get_results(conn)?;
        for c in &reopened {
            emit_status_changed(conn, c, "snoozed")?;
        }
        Ok(reopened.len())
    })
}

/// A conversation by its primary key. Errors: 404 when absent.
pub fn find_by_id(conn: &mut PgConnection, id: i64) -> AppResult<Conversation> {
    conversations::table
        .find(id)
        .select(Conversation::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("conversation {id} not found")))
}

/// The contact's most recent conversation in the inbox, whatever its status.
pub fn latest_for_contact(
    conn: &mut PgConnection,
    inbox_id: i64,
    contact_id: i64,
) -> AppResult<Option<Conversation>> {
    Ok(conversations::table
        .filter(conversations::inbox_id.eq(inbox_id))
        .filter(conversations::contact_id.eq(contact_id))
        .order(conversations::id.desc())
        .select(Conversation::as_select())
        .first(conn)
        .optional()?)
}

/// Records a new message at `at`: `last_activity_at` moves forward, and for incoming messages
/// `last_incoming_at` too (the customer service window; echoes never call this with
/// `incoming = true`). A customer's message reopens a snoozed conversation (Chatwoot: snoozed
/// conversations always reopen on the contact's next reply, emitting
/// `conversation.status_changed`), unless it is muted ([`is_muted`]: nothing reopens it and
/// nobody is waiting). Call it inside the transaction that stores the message.
pub fn record_message(
    conn: &mut PgConnection,
    conversation_id: i64,
    at: DateTime<Utc>,
    incoming: bool,
) -> AppResult<()> {
    #[derive(QueryableByName)]
    struct Recorded {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        previous_status: String,
    }
    // One statement: the row is locked by the UPDATE, and `o` is its state before it.
    let recorded: Option<Recorded> = diesel::sql_query(
        "UPDATE conversations c SET last_activity_at = GREATEST(c.last_activity_at, $1), \
         last_incoming_at = CASE WHEN $2 THEN GREATEST(c.last_incoming_at, $1) ELSE c.last_incoming_at END, \
         status = CASE WHEN $2 AND c.status = 'snoozed' AND NOT o.muted THEN 'open' ELSE c.status END, \
         waiting_since = CASE WHEN $2 AND NOT o.muted THEN COALESCE(c.waiting_since, $1) ELSE c.waiting_since END, \
         snoozed_until = CASE WHEN $2 AND c.status = 'snoozed' AND NOT o.muted THEN NULL ELSE c.snoozed_until END, \
         updated_at = now() \
         FROM (SELECT id, status, additional_attributes @> '{\"muted\": true}' AS muted \
               FROM conversations WHERE id = $3 FOR NO KEY UPDATE) o \
         WHERE c.id = o.id RETURNING c.status AS status, o.status AS previous_status",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .bind::<diesel::sql_types::Bool, _>(incoming)
    .bind::<diesel::sql_types::BigInt, _>(conversation_id)
    .prepared()
    .get_result(conn)
    .optional()?;
    if incoming && recorded.is_some_and(|r| r.previous_status == "snoozed" && r.status == "open") {
        let c = find_by_id(conn, conversation_id)?;
        emit_status_changed(conn, &c, "snoozed")?;
    }
    Ok(())
}

/// [`record_message`] of incoming messages, in ONE statement for a whole ingest unit (issue
/// 15); each entry is `(conversation_id, earliest, latest)`: the times of the first and the
/// last incoming message the unit stored in that conversation (one entry per conversation).
/// The same rule as calling [`record_message`] for each message in order: activity and the
/// last incoming time move to `latest`, `waiting_since` becomes `earliest` when nobody was
/// waiting, and a snoozed conversation that is not muted reopens (emitting
/// `conversation.status_changed`). Call it in the transaction of the messages, before
/// anything else writes or reads those conversations' activity, status or waiting time
/// (the ingest unit calls it before its events' hooks run, and before another message of
/// the same conversation is recorded). Errors: database errors.
pub fn record_incoming(
    conn: &mut PgConnection,
    entries: &[(i64, DateTime<Utc>, DateTime<Utc>)],
) -> AppResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(entries.len());
    let mut firsts = Vec::with_capacity(entries.len());
    let mut lasts = Vec::with_capacity(entries.len());
    for &(id, first, last) in entries {
        ids.push(id);
        firsts.push(first);
        lasts.push(last);
    }
    // `o` is each row's state before the update (locked in id order).
    let reopened: Vec<i64> = diesel::sql_query(
        "UPDATE conversations c SET last_activity_at = GREATEST(c.last_activity_at, v.last), \
         last_incoming_at = GREATEST(c.last_incoming_at, v.last), \
         status = CASE WHEN c.status = 'snoozed' AND NOT o.muted THEN 'open' ELSE c.status END, \
         waiting_since = CASE WHEN NOT o.muted THEN COALESCE(c.waiting_since, v.first) ELSE c.waiting_since END, \
         snoozed_until = CASE WHEN c.status = 'snoozed' AND NOT o.muted THEN NULL ELSE c.snoozed_until END, \
         updated_at = now() \
         FROM unnest($1::int8[], $2::timestamptz[], $3::timestamptz[]) AS v(id, first, last), \
              (SELECT id, status, additional_attributes @> '{\"muted\": true}' AS muted \
               FROM conversations WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE) o \
         WHERE c.id = v.id AND o.id = v.id \
         RETURNING c.id, c.status AS status, o.status AS previous_status",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(&ids)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Timestamptz>, _>(&firsts)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Timestamptz>, _>(&lasts)
    .prepared()
    .load::<ReopenedRow>(conn)?
    .into_iter()
    .filter(|r| r.previous_status == "snoozed" && r.status == "open")
    .map(|r| r.id)
    .collect();
    for id in reopened {
        let c = find_by_id(conn, id)?;
        emit_status_changed(conn, &c, "snoozed")?;
    }
    Ok(())
}

/// A row of [`record_incoming`]'s update.
#[derive(QueryableByName)]
struct ReopenedRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    previous_status: String,
}

/// Clears `waiting_since`: a reply (an agent's outgoing message or template, or an echo of
/// one sent from the business's phone) answers the customer. Activity lines, private
/// notes and automated messages (`content_attributes.automated`) do not call this. Call it inside the transaction that stores the reply.
pub fn clear_waiting(conn: &mut PgConnection, conversation_id: i64) -> AppResult<()> {
    diesel::update(
        conversations::table
            .find(conversation_id)
            .filter(conversations::waiting_since.is_not_null()),
    )
    .set(conversations::waiting_since.eq(None::<DateTime<Utc>>))
    .execute(conn)?;
    Ok(())
}

/// A conversation by its per-account `display_id`, if the viewer may see its inbox.
/// Errors: 404 otherwise (another account's or another inbox's conversation looks absent).
pub fn find_for_viewer(
    conn: &mut PgConnection,
    viewer: &Viewer,
    display_id: i32,
) -> AppResult<Conversation> {
    let conv = conversations::table
        .filter(conversations::account_id.eq(viewer.account_id))
        .filter(conversations::display_id.eq(display_id))
        .select(Conversation::as_select())
        .first(conn)
        .optional()?;
    match conv {
        Some(c) if viewer.can_see_inbox(conn, c.inbox_id)? => Ok(c),
        _ => Err(AppError::NotFound(format!(
            "conversation {display_id} not found"
        ))),
    }
}

/// Filters of `GET /conversations` (Chatwoot's query parameters).
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// `open` (default), `pending`, `resolved`, `snoozed` or `all`.
    pub status: Option<String>,
    /// `me`, `unassigned`, `assigned` or `all` (default).
    pub assignee_type: Option<String>,
    pub inbox_id: Option<i64>,
    /// Conversations of this team only (the sidebar's Teams, Chatwoot's `team_id`).
    pub team_id: Option<i64>,
    /// Conversations carrying any of these labels (Chatwoot's `labels[]`); empty = no filter.
    pub labels: Vec<String>,
    /// 1-based page of 25 (offset paging, Chatwoot's `page=`), when `cursor` is not given.
    pub page: i64,
    /// Keyset paging: the conversations after this one in list order (see [`ListCursor`]).
    /// Unlike `page`, a conversation whose activity moves it to the top between two pages
    /// shifts nothing: no conversation is shown twice or skipped among those that stay put.
    pub cursor: Option<ListCursor>,
    /// The order of the list (Chatwoot's `sort_by`), latest activity by default.
    pub sort: ListSort,
    /// The conditions of `POST /conversations/filter` or of a saved view, on top of the
    /// filters above (give `status: "all"` to let them decide the status).
    pub conditions: Option<super::conversation_filter::Filter>,
    /// Rows per page: [`PAGE_SIZE`] when `None`, at most [`MAX_PAGE_ROWS`] (the UI's
    /// "select all matching" asks for every id at once).
    pub limit: Option<i64>,
}

/// Most rows [`list_page`] returns at once (`ListFilter::limit`).
pub const MAX_PAGE_ROWS: i64 = 500;

/// The orders of the conversation list: Chatwoot's `sort_by` values. Each is a unique key
/// ending in `id`, all in one direction, so [`ListCursor`] pages it without repeats or gaps,
/// and each has an index in that order (migration `2026-12-01-000400_views`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListSort {
    /// `last_activity_at_desc` (also `latest`, the default): `(last_activity_at, id)` newest
    /// first.
    #[default]
    LatestActivity,
    /// `created_at_desc`: `(created_at, id)` newest first.
    CreatedNewest,
    /// `created_at_asc` (also `sort_on_created_at`): `(created_at, id)` oldest first.
    CreatedOldest,
    /// `waiting_since_asc` (also `sort_on_waiting_since`): the customer who has waited
    /// longest for a reply first, `(waiting_since, id)` ascending; conversations where nobody
    /// waits (`waiting_since` NULL, read as 9999-12-31) come last, oldest first.
    WaitingLongest,
    /// `priority_desc` (also `sort_on_priority`): urgent, high, medium, low, none, then
    /// latest activity: `(priority rank 4..0, last_activity_at, id)` descending.
    Priority,
    /// `sla_due_asc` (ours): the most urgent SLA first, `(sla_due_at, id)` ascending: breached
    /// SLAs still unmet (their deadline passed), then the nearest deadline; conversations
    /// without an active SLA (read as 9999-12-31) come last.
    SlaDue,
}

/// SQL of the priority rank (urgent 4 … low 1, none 0).
const PRIORITY_RANK: &str = "(CASE conversations.priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 \
     WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END)";
/// SQL of the waiting-longest key: `waiting_since`, NULL read as [`NOBODY_WAITING`] (the
/// index `conversations_account_waiting` repeats it word for word).
const WAITING_KEY: &str =
    "COALESCE(conversations.waiting_since, '9999-12-31 00:00:00+00'::timestamptz)";
/// SQL of the SLA key: `sla_due_at`, NULL read as 9999-12-31 (the index
/// `conversations_account_sla_due` repeats it word for word).
const SLA_KEY: &str = "COALESCE(conversations.sla_due_at, '9999-12-31 00:00:00+00'::timestamptz)";

/// The waiting-longest key of a conversation where nobody waits: 9999-12-31T00:00:00Z.
pub fn nobody_waiting() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_214_400, 0).expect("a valid time")
}

impl ListSort {
    /// Reads `sort_by` (absent or blank: the default). Errors: 422 naming `sort_by`.
    pub fn parse(raw: Option<&str>) -> AppResult<Self> {
        Ok(match raw.map(str::trim).unwrap_or("") {
            "" | "latest" | "last_activity_at_desc" => ListSort::LatestActivity,
            "created_at_desc" => ListSort::CreatedNewest,
            "created_at_asc" | "sort_on_created_at" => ListSort::CreatedOldest,
            "waiting_since_asc" | "sort_on_waiting_since" => ListSort::WaitingLongest,
            "priority_desc" | "sort_on_priority" => ListSort::Priority,
            "sla_due_asc" => ListSort::SlaDue,
            other => {
                return Err(AppError::invalid(
                    "sort_by",
                    format!(
                        "unknown sort_by {other:?}; use last_activity_at_desc, created_at_desc, \
                         created_at_asc, waiting_since_asc, priority_desc or sla_due_asc"
                    ),
                ))
            }
        })
    }

    /// The canonical `sort_by` value.
    pub fn as_param(self) -> &'static str {
        match self {
            ListSort::LatestActivity => "last_activity_at_desc",
            ListSort::CreatedNewest => "created_at_desc",
            ListSort::CreatedOldest => "created_at_asc",
            ListSort::WaitingLongest => "waiting_since_asc",
            ListSort::Priority => "priority_desc",
            ListSort::SlaDue => "sla_due_asc",
        }
    }

    /// Every sort with its label, in the order the list's picker offers them.
    pub const ALL: [(ListSort, &'static str); 6] = [
        (ListSort::LatestActivity, "Latest activity"),
        (ListSort::CreatedNewest, "Newest"),
        (ListSort::CreatedOldest, "Oldest"),
        (ListSort::WaitingLongest, "Waiting longest"),
        (ListSort::Priority, "Priority"),
        (ListSort::SlaDue, "SLA due soonest"),
    ];

    /// How many key parts precede the id in this sort's cursor.
    fn key_count(self) -> usize {
        if self == ListSort::Priority {
            2
        } else {
            1
        }
    }
}

/// Priority rank as [`PRIORITY_RANK`] computes it.
fn priority_rank(p: Option<&str>) -> i64 {
    match p {
        Some("urgent") => 4,
        Some("high") => 3,
        Some("medium") => 2,
        Some("low") => 1,
        _ => 0,
    }
}

/// A place in the conversation list: the sort key of the last conversation of a page, then
/// its id. As a parameter it reads `<key>_<id>`, or `<rank>_<key>_<id>` for the priority
/// sort, where times are unix microseconds (e.g. `1764504000000000_42` for the default
/// `(last_activity_at, id)` order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListCursor {
    /// The priority rank (priority sort only), else `None`.
    pub rank: Option<i64>,
    /// The time of the sort key, in unix microseconds.
    pub micros: i64,
    pub id: i64,
}

impl ListCursor {
    /// The cursor just after `c` in `sort` order.
    pub fn after_in(c: &Conversation, sort: ListSort) -> Self {
        let (rank, at) = match sort {
            ListSort::LatestActivity => (None, c.last_activity_at),
            ListSort::CreatedNewest | ListSort::CreatedOldest => (None, c.created_at),
            ListSort::WaitingLongest => (None, c.waiting_since.unwrap_or_else(nobody_waiting)),
            ListSort::SlaDue => (None, c.sla_due_at.unwrap_or_else(nobody_waiting)),
            ListSort::Priority => (
                Some(priority_rank(c.priority.as_deref())),
                c.last_activity_at,
            ),
        };
        ListCursor {
            rank,
            micros: at.timestamp_micros(),
            id: c.id,
        }
    }

    /// The cursor just after `c` in the default (latest activity) order.
    pub fn after(c: &Conversation) -> Self {
        Self::after_in(c, ListSort::LatestActivity)
    }

    /// Reads an optional `cursor=` parameter: absent or blank is no cursor. Errors: as
    /// [`ListCursor::parse`].
    pub fn parse_optional(raw: Option<&str>) -> AppResult<Option<Self>> {
        raw.filter(|c| !c.trim().is_empty())
            .map(Self::parse)
            .transpose()
    }

    /// Reads `<micros>_<id>` or `<rank>_<micros>_<id>`. Errors: 422 naming `cursor`
    /// otherwise.
    pub fn parse(raw: &str) -> AppResult<Self> {
        let bad = || {
            AppError::invalid(
                "cursor",
                "cursor must be the next_cursor of a previous page (<microseconds>_<id>)",
            )
        };
        let parts = raw
            .trim()
            .split('_')
            .map(|p| p.parse::<i64>().map_err(|_| bad()))
            .collect::<AppResult<Vec<i64>>>()?;
        let (rank, micros, id) = match parts[..] {
            [micros, id] => (None, micros, id),
            [rank, micros, id] if (0..=4).contains(&rank) => (Some(rank), micros, id),
            _ => return Err(bad()),
        };
        DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
        Ok(ListCursor { rank, micros, id })
    }

    /// The parameter form `<micros>_<id>` (or `<rank>_<micros>_<id>`).
    pub fn to_param(&self) -> String {
        match self.rank {
            Some(r) => format!("{r}_{}_{}", self.micros, self.id),
            None => format!("{}_{}", self.micros, self.id),
        }
    }

    fn at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.micros).unwrap_or_default()
    }
}

/// A page of the conversation list with the counts of `data.meta`.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub rows: Vec<Conversation>,
    pub counts: ListCounts,
    /// Where the next page starts, when there is one.
    pub next_cursor: Option<ListCursor>,
}

/// Counts for `data.meta` of the list response.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ListCounts {
    pub mine_count: i64,
    pub unassigned_count: i64,
    pub assigned_count: i64,
    pub all_count: i64,
}

/// Page size of the conversation list (Chatwoot's).
pub const PAGE_SIZE: i64 = 25;

/// Highest page number honoured (larger ones read as this one, an empty page).
pub const MAX_PAGE: i64 = 1_000_000;

/// The conversations the viewer may see, newest activity first, and the per-assignee counts
/// ([`list_page`] without the next cursor).
/// Errors: 422 for an unknown status or assignee type.
pub fn list(
    conn: &mut PgConnection,
    viewer: &Viewer,
    filter: &ListFilter,
) -> AppResult<(Vec<Conversation>, ListCounts)> {
    let page = list_page(conn, viewer, filter)?;
    Ok((page.rows, page.counts))
}

/// One page of the conversations the viewer may see, ordered by `(last_activity_at, id)`
/// newest first (a unique order, so pages never overlap), [`PAGE_SIZE`] per page: after
/// `filter.cursor` when given, else page `filter.page`. Served by the index
/// `conversations_account_activity (account_id, last_activity_at DESC, id DESC)`.
/// Errors: 422 for an unknown status or assignee type.
pub fn list_page(
    conn: &mut PgConnection,
    viewer: &Viewer,
    filter: &ListFilter,
) -> AppResult<ListPage> {
    let status = filter.status.clone().unwrap_or_else(|| "open".into());
    if !["open", "pending", "resolved", "snoozed", "all"].contains(&status.as_str()) {
        return Err(AppError::invalid(
            "status",
            format!("unknown status {status:?}; use open, pending, resolved, snoozed or all"),
        ));
    }
    let assignee_type = filter.assignee_type.clone().unwrap_or_else(|| "all".into());
    if !["me", "unassigned", "assigned", "all"].contains(&assignee_type.as_str()) {
        return Err(AppError::invalid(
            "assignee_type",
            format!("unknown assignee_type {assignee_type:?}; use me, unassigned, assigned or all"),
        ));
    }
    let visible = viewer.visible_inbox_ids(conn)?;
    let now = Utc::now();
    let labels: Vec<String> = filter
        .labels
        .iter()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty())
        .collect();
    let base = || {
        let mut q = conversations::table
            .filter(conversations::account_id.eq(viewer.account_id))
            .into_boxed();
        if status != "all" {
            q = q.filter(conversations::status.eq(status.clone()));
        }
        if let Some(inbox) = filter.inbox_id {
            q = q.filter(conversations::inbox_id.eq(inbox));
        }
        if let Some(team) = filter.team_id {
            q = q.filter(conversations::team_id.eq(team));
        }
        if let Some(ids) = &visible {
            q = q.filter(conversations::inbox_id.eq_any(ids.clone()));
        }
        if !labels.is_empty() {
            // `labels <> '{}'` changes nothing (an overlap needs a label) but lets the
            // planner use the partial index `conversations_labels`.
            q = q
                .filter(conversations::labels.overlaps_with(labels.clone()))
                .filter(conversations::labels.ne(Vec::<String>::new()));
        }
        if let Some(f) = &filter.conditions {
            q = q.filter(f.expression(now));
        }
        q
    };
    let counts = if filter.team_id.is_some() || filter.conditions.is_some() {
        // A team or arbitrary conditions: the maintained counts do not split by them, so
        // count the matching rows (served by the same indexes as the page).
        let all_count: i64 = base().count().get_result(conn)?;
        let unassigned_count: i64 = base()
            .filter(conversations::assignee_id.is_null())
            .count()
            .get_result(conn)?;
        let mine_count: i64 = base()
            .filter(conversations::assignee_id.eq(viewer.user_id))
            .count()
            .get_result(conn)?;
        ListCounts {
            mine_count,
            unassigned_count,
            assigned_count: all_count - unassigned_count,
            all_count,
        }
    } else {
        counts_of(
            conn,
            viewer,
            &status,
            filter.inbox_id,
            visible.as_deref(),
            &labels,
        )?
    };
    let mut q = base();
    q = match assignee_type.as_str() {
        "me" => q.filter(conversations::assignee_id.eq(viewer.user_id)),
        "unassigned" => q.filter(conversations::assignee_id.is_null()),
        "assigned" => q.filter(conversations::assignee_id.is_not_null()),
        _ => q,
    };
    let size = filter.limit.unwrap_or(PAGE_SIZE).clamp(1, MAX_PAGE_ROWS);
    let q = q.select(Conversation::as_select()).limit(size + 1);
    let q = ordered_after(q, filter.sort, filter.cursor)?;
    let q = match filter.cursor {
        Some(_) => q,
        None => q.offset((filter.page.clamp(1, MAX_PAGE) - 1) * size),
    };
    let mut rows: Vec<Conversation> = q.load(conn)?;
    let more = rows.len() as i64 > size;
    rows.truncate(size as usize);
    let next_cursor = if more {
        rows.last().map(|c| ListCursor::after_in(c, filter.sort))
    } else {
        None
    };
    Ok(ListPage {
        rows,
        counts,
        next_cursor,
    })
}

type BoxedList<'a> = conversations::BoxedQuery<
    'a,
    diesel::pg::Pg,
    diesel::dsl::AsSelect<Conversation, diesel::pg::Pg>,
>;

/// Orders the list query `q` by `sort` and, with a cursor, keeps the rows after it (a row
/// comparison on the sort's unique key). Errors: 422 naming `cursor` when the cursor has the
/// shape of another sort's.
fn ordered_after(
    q: BoxedList<'_>,
    sort: ListSort,
    cursor: Option<ListCursor>,
) -> AppResult<BoxedList<'_>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Bool, Timestamptz};
    if let Some(c) = cursor {
        if c.rank.is_some() != (sort.key_count() == 2) {
            return Err(AppError::invalid(
                "cursor",
                "cursor belongs to another sort_by; start again without it",
            ));
        }
    }
    let q = match sort {
        ListSort::LatestActivity => q.order((
            conversations::last_activity_at.desc(),
            conversations::id.desc(),
        )),
        ListSort::CreatedNewest => {
            q.order((conversations::created_at.desc(), conversations::id.desc()))
        }
        ListSort::CreatedOldest => {
            q.order((conversations::created_at.asc(), conversations::id.asc()))
        }
        ListSort::WaitingLongest => q.order((
            sql::<Timestamptz>(WAITING_KEY).asc(),
            conversations::id.asc(),
        )),
        ListSort::SlaDue => q.order((sql::<Timestamptz>(SLA_KEY).asc(), conversations::id.asc())),
        ListSort::Priority => q.order((
            sql::<BigInt>(PRIORITY_RANK).desc(),
            conversations::last_activity_at.desc(),
            conversations::id.desc(),
        )),
    };
    let Some(c) = cursor else {
        return Ok(q);
    };
    let (key, cmp) = match sort {
        ListSort::LatestActivity => ("conversations.last_activity_at", "<"),
        ListSort::CreatedNewest => ("conversations.created_at", "<"),
        ListSort::CreatedOldest => ("conversations.created_at", ">"),
        ListSort::WaitingLongest => (WAITING_KEY, ">"),
        ListSort::SlaDue => (SLA_KEY, ">"),
        ListSort::Priority => {
            return Ok(q.filter(
                sql::<Bool>(&format!(
                    "({PRIORITY_RANK}, conversations.last_activity_at, conversations.id) < ("
                ))
                .bind::<BigInt, _>(c.rank.unwrap_or(0))
                .sql(", ")
                .bind::<Timestamptz, _>(c.at())
                .sql(", ")
                .bind::<BigInt, _>(c.id)
                .sql(")"),
            ))
        }
    };
    Ok(q.filter(
        sql::<Bool>(&format!("({key}, conversations.id) {cmp} ("))
            .bind::<Timestamptz, _>(c.at())
            .sql(", ")
            .bind::<BigInt, _>(c.id)
            .sql(")"),
    ))
}

/// The statuses a conversation can have.
pub const STATUSES: [&str; 4] = ["open", "pending", "resolved", "snoozed"];

/// The priorities a conversation can have (`none` in requests means no priority).
pub const PRIORITIES: [&str; 4] = ["low", "medium", "high", "urgent"];

/// Longest label, in characters (Chatwoot's).
pub const MAX_LABEL_CHARS: usize = 255;

/// A conversation's assignee and team, as shown in `meta.assignee` and `meta.team`.
#[derive(Debug, Clone, Default)]
pub struct Assignment {
    /// The assigned user with their role in the account, if any.
    pub assignee: Option<Member>,
    /// The assigned team, if any.
    pub team: Option<Team>,
}

/// Loads the assignee (with their role in the account) and the team of `c`.
pub fn assignment_of(conn: &mut PgConnection, c: &Conversation) -> AppResult<Assignment> {
    Ok(Assignment {
        assignee: match c.assignee_id {
            Some(id) => accounts::member(conn, c.account_id, id)?,
            None => None,
        },
        team: match c.team_id {
            Some(id) => accounts::find_team(conn, c.account_id, id)?,
            None => None,
        },
    })
}

pub(crate) fn actor_name(conn: &mut PgConnection, viewer: &Viewer) -> AppResult<String> {
    Ok(users::table
        .find(viewer.user_id)
        .select(users::name)
        .first(conn)?)
}

/// Locks the conversation row for the rest of the transaction and returns it as stored.
/// `FOR NO KEY UPDATE`: it serializes writers of the row, and never blocks the foreign-key
/// checks (`FOR KEY SHARE`) of rows that point at it: an ingest unit inserting messages and
/// events of this conversation does not wait for a rule or an agent changing its labels
/// (`FOR UPDATE` made it wait; seen under `scripts/bench-rules`).
fn lock(conn: &mut PgConnection, id: i64) -> AppResult<Conversation> {
    Ok(conversations::table
        .find(id)
        .for_no_key_update()
        .select(Conversation::as_select())
        .first(conn)?)
}

/// Writes Chatwoot's activity lines (message_type 2, public, status `sent`, no sender) and
/// moves `last_activity_at`/`updated_at` forward. Must run in a transaction.
fn add_activities(
    conn: &mut PgConnection,
    c: &Conversation,
    lines: &[String],
    at: DateTime<Utc>,
) -> AppResult<()> {
    for line in lines {
        messages::insert_if_new(
            conn,
            &NewMessage {
                account_id: c.account_id,
                inbox_id: c.inbox_id,
                conversation_id: c.id,
                message_type: message_type::ACTIVITY,
                content: Some(line.clone()),
                content_type: "text".into(),
                content_attributes: serde_json::json!({}),
                private: false,
                status: "sent".into(),
                source_id: None,
                external_error: None,
                sender_type: None,
                sender_id: None,
                created_at: at,
            },
            &[],
        )?;
    }
    if !lines.is_empty() {
        record_message(conn, c.id, at, false)?;
    }
    Ok(())
}

/// The shared frame of every action on `found` (a conversation the viewer may see): in one
/// transaction, locks it, lets `change` update the row and name the activity lines (given the
/// actor's name), emits the events of what changed (see [`emit_changes`]), writes the lines
/// (each a `message.created`), and returns the row as it ends up. `change` returns `None`
/// when nothing changes: no write, no activity, no event, `updated_at` kept.
fn act<F>(
    conn: &mut PgConnection,
    viewer: &Viewer,
    found: &Conversation,
    change: F,
) -> AppResult<Conversation>
where
    F: FnOnce(&mut PgConnection, &Conversation, &str) -> AppResult<Option<Vec<String>>>,
{
    conn.transaction(|conn| {
        let current = lock(conn, found.id)?;
        let actor = actor_name(conn, viewer)?;
        let now = Utc::now();
        match change(conn, &current, &actor)? {
            None => Ok(current),
            Some(lines) => {
                let changed: Conversation = diesel::update(conversations::table.find(current.id))
                    .set(conversations::updated_at.eq(now))
                    .returning(Conversation::as_returning())
                    .get_result(conn)?;
                emit_changes(conn, &current, &changed)?;
                add_activities(conn, &current, &lines, now)?;
                Ok(conversations::table
                    .find(current.id)
                    .select(Conversation::as_select())
                    .first(conn)?)
            }
        }
    })
}

/// True when the conversation is muted (`additional_attributes.muted`, set by the
/// `mute_conversation` action or `POST …/mute`). Chatwoot (`ConversationMuteHelpers`): a
/// muted conversation is resolved, the customer's new messages join it without reopening
/// it (no new conversation, no assignment, no auto-reply) and agents get no notification
/// for them; `POST …/unmute` ends it.
pub fn is_muted(c: &Conversation) -> bool {
    c.additional_attributes["muted"] == serde_json::Value::Bool(true)
}

/// Mutes (`muted = true`: also resolves, as Chatwoot's `mute!`) or unmutes the conversation,
/// with Chatwoot's activity lines ("{actor} has muted the conversation" / "… has unmuted
/// the conversation"); nothing when it already is so. Errors: 404 when the viewer cannot
/// see the conversation.
pub fn set_muted(
    conn: &mut PgConnection,
    viewer: &Viewer,
    display_id: i32,
    muted: bool,
) -> AppResult<Conversation> {
    let found = find_for_viewer(conn, viewer, display_id)?;
    act(conn, viewer, &found, |conn, current, actor| {
        if is_muted(current) == muted {
            return Ok(None);
        }
        let mut attrs = match &current.additional_attributes {
            serde_json::Value::Object(m) => m.clone(),
            _ => serde_json::Map::new(),
        };
        let mut lines = vec![];
        if muted {
            attrs.insert("muted".into(), json!(true));
            if current.status != "resolved" {
                diesel::update(conversations::table.find(current.id))
                    .set((
                        conversations::status.eq("resolved"),
                        conversations::snoozed_until.eq(None::<DateTime<Utc>>),
                        conversations::waiting_since.eq(None::<DateTime<Utc>>),
                    ))
                    .execute(conn)?;
                lines.push(status_activity("resolved", actor));
            }
            lines.push(format!("{actor} has muted the conversation"));
        } else {
            attrs.remove("muted");
            lines.push(format!("{actor} has unmuted the conversation"));
        }
        diesel::update(conversations::table.find(current.id))
            .set(conversations::additional_attributes.eq(serde_json::Value::Object(attrs)))
            .execute(conn)?;
        Ok(Some(lines))
    })
}

/// The status `toggle_status` moves to without an explicit one (Chatwoot's
/// `Conversation#toggle_status`): open → resolved; resolved, pending and snoozed → open.
pub fn toggled_status(current: &str) -> &'static str {
    if current == "open" {
        "resolved"
    } else {
        "open"
    }
}

/// Chatwoot's activity line for a move to `status` by `actor`.
pub fn status_activity(status: &str, actor: &str) -> String {
    match status {
        "open" => format!("Conversation was reopened by {actor}"),
        "resolved" => format!("Conversation was marked resolved by {actor}"),
        "pending" => format!("Conversation was marked as pending by {actor}"),
        _ => format!("Conversation was snoozed by {actor}"),
    }
}

/// Sets the status (`POST …/toggle_status`). `status: None` toggles as [`toggled_status`].
/// `snoozed_until` is only accepted with `snoozed` and must be in the future (`None` snoozes
/// until the contact's next message); any other status clears it. One activity line when the
/// status changes. Errors: 404 when the viewer cannot see the conversation; 422 naming
/// `status` or `snoozed_until`.
pub fn toggle_status(
    conn: &mut PgConnection,
    viewer: &Viewer,
    display_id: i32,
    status: Option<&str>,
    snoozed_until: Option<DateTime<Utc>>,
) -> AppResult<Conversation> {
    let found = find_for_viewer(conn, viewer, display_id)?;
    if let Some(s) = status {
        if !STATUSES.contains(&s) {
            return Err(AppError::invalid(
                "status",
                format!("unknown status {s:?}; use open, pending, resolved or snoozed"),
            ));
        }
    }
    if let Some(until) = snoozed_until {
        if status != Some("snoozed") {
            return Err(AppError::invalid(
                "snoozed_until",
                "snoozed_until is only accepted with status snoozed",
            ));
        }
        if until <= Utc::now() {
            return Err(AppError::invalid(
                "snoozed_until",
                "snoozed_until must be in the future",
            ));
        }
    }
    act(conn, viewer, &found, |conn, current, actor| {
        let new_status = status.unwrap_or_else(|| toggled_status(&current.status));
        let new_until = if new_status == "snoozed" {
            snoozed_until
        } else {
            None
        };
        if new_status == current.status && new_until == current.snoozed_until {
            return Ok(None);
        }
        diesel::update(conversations::table.find(current.id))
            .set((
                conversations::status.eq(new_status),
                conversations::snoozed_until.eq(new_until),
            ))
            .execute(conn)?;
        Ok(Some(if new_status == current.status {
            vec![]
        } else {
            vec![status_activity(new_status, actor)]
        }))
    })
}

/// Chatwoot's activity line for a priority change, or `None` when it does not change.
pub fn priority_activity(old: Option<&str>, new: Option<&str>, actor: &str) -> Option<String> {
    match (old, new) {
        (a, b) if a == b => None,
        (None, Some(p)) => Some(format!("{actor} set the priority to {p}")),
        (Some(_), None) => Some(format!("{actor} removed the priority")),
        (Some(a), Some(b)) => Some(format!("{actor} changed the priority from {a} to {b}")),
        (None, None) => None,
    }
}

/// Sets the priority (`POST …/toggle_priority`): `urgent`, `high`, `medium`, `low`, or `none`
/// to remove it. One activity line when it changes. Errors: 404 as [`find_for_viewer`];
/// 422 naming `priority` for any other value.
pub fn set_priority(
    conn: &mut PgConnection,
    viewer: &Viewer,
    display_id: i32,
    priority: &str,
) -> AppResult<Conversation> {
    let found = find_for_viewer(conn, viewer, display_id)?;
    let new = match priority.trim() {
        "none" => None,
        p if PRIORITIES.contains(&p) => Some(p.to_string()),
        other => {
            return Err(AppError::invalid(
                "priority",
                format!("unknown priority {other:?}; use urgent, high, medium, low or none"),
            ))
        }
    };
    act(conn, viewer, &found, |conn, current, actor| {
        let Some(line) = priority_activity(current.priority.as_deref(), new.as_deref(), actor)
        else {
            return Ok(None);
        };
        diesel::update(conversations::table.find(current.id))
            .set(conversations::priority.eq(&new))
            .execute(conn)?;
        Ok(Some(vec![line]))
    })
}

/// What `POST …/assignments` assigns. `None` (JSON `null` or `0`) removes the assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignTo {
    /// `assignee_id`: a user of the account.
    Agent(Option<i64>),
    /// `team_id`: a team of the account.
    Team(Option<i64>),
}

/// Assigns the conversation to an agent or a team, or removes that assignment
/// (`POST …/assignments`). An assignee must belong to the account; an agent (not an
/// administrator) must also be a member of the conversation's inbox. A team must belong to
/// the account. One activity line when the assignment changes (Chatwoot's wording,
/// including "self-assigned"). Assigning an agent other than the viewer queues their
/// "assigned to you" email in the same transaction (`notifications::conversation_assigned`).
/// Returns the conversation and its assignment after the change.
/// Errors: 404 as [`find_for_viewer`]; 422 naming `assignee_id` or `team_id`.
pub fn assign(
    conn: &mut PgConnection,
    viewer: &Viewer,
    display_id: i32,
    to: AssignTo,
) -> AppResult<(Conversation, Assignment)> {
    let found = find_for_viewer(conn, viewer, display_id)?;
    let c = act(conn, viewer, &found, |conn, current, actor| match to {
        AssignTo::Agent(id) => {
            let id = id.filter(|&i| i != 0);
            let assignee = match id {
                None => None,
                Some(id) => {
                    let m = accounts::member(conn, current.account_id, id)?.ok_or_else(|| {
                        AppError::invalid(
                            "assignee_id",
                            format!("no agent with id {id} in this account"),
                        )
                    })?;
                    if m.role == Role::Agent
                        && !accounts::is_inbox_member(conn, current.inbox_id, id)?
                    {
                        return Err(AppError::invalid(
                            "assignee_id",
                            format!("{} (agent {id}) is not a member of this inbox", m.user.name),
                        ));
                    }
                    Some(m)
                }
            };
            if id == current.assignee_id {
                return Ok(None);
            }
            diesel::update(conversations::table.find(current.id))
                .set(conversations::assignee_id.eq(id))
                .execute(conn)?;
            if let Some(assignee) = id {
                super::notifications::conversation_assigned(
                    conn,
                    current.account_id,
                    current.id,
                    assignee,
                    Some(viewer.user_id),
                )?;
            }
            Ok(Some(vec![match assignee {
                Some(m) if m.user.id == viewer.user_id => {
                    format!("{actor} self-assigned this conversation")
                }
                Some(m) => format!("Assigned to {} by {actor}", m.user.name),
                None => format!("Conversation unassigned by {actor}"),
            }]))
        }
        AssignTo::Team(id) => {
            let id = id.filter(|&i| i != 0);
            let team = match id {
                None => None,
                Some(id) => Some(
                    accounts::find_team(conn, current.account_id, id)?.ok_or_else(|| {
                        AppError::invalid(
                            "team_id",
                            format!("no team with id {id} in this account"),
                        )
                    })?,
                ),
            };
            if id == current.team_id {
                return Ok(None);
            }
            let previous = match current.team_id {
                Some(old) => accounts::find_team(conn, current.account_id, old)?,
                None => None,
            };
            diesel::update(conversations::table.find(current.id))
                .set(conversations::team_id.eq(id))
                .execute(conn)?;
            Ok(Some(vec![match (team, previous) {
                (Some(t), _) => format!("Assigned to {} by {actor}", t.name),
                (None, Some(p)) => format!("Unassigned from {} by {actor}", p.name),
                (None, None) => format!("Conversation unassigned from its team by {actor}"),
            }]))
        }
    })?;
    let assignment = assignment_of(conn, &c)?;
    Ok((c, assignment))
}

/// Normalises one label as Chatwoot stores it: trimmed and lowercased, 1–255 characters of
/// letters, digits, `-` and `_` (Chatwoot's `Label` title format). Errors: 422 naming `field`.
pub fn normalize_label(field: &str, raw: &str) -> AppResult<String> {
    let l = raw.trim().to_lowercase();
    let len = l.chars().count();
    if len == 0 || len > MAX_LABEL_CHARS {
        return Err(AppError::invalid(
            field,
            format!("label {l:?} must be 1 to {MAX_LABEL_CHARS} characters"),
        ));
    }
    if !l
        .chars()
        .all(|ch| ch.is_alphanumeric() || ch == '-' || ch == '_')
    {
        return Err(AppError::invalid(
            field,
            format!("label {l:?} may contain only letters, digits, - and _"),
        ));
    }
    Ok(l)
}

/// Normalises labels as Chatwoot stores them: each as [`normalize_label`], then deduplicated
/// and sorted. Errors: 422 naming `labels`.
pub fn normalize_labels<S: AsRef<str>>(raw: &[S]) -> AppResult<Vec<String>> {
    let mut out = raw
        .iter()
        .map(|label| normalize_label("labels", label.as_ref()))
        .collect::<AppResult<Vec<String>>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// Replaces the conversation's labels (`POST …/labels`, Chatwoot's semantics: the given list
/// becomes the whole list; `[]` removes all). Labels are normalised by [`normalize_labels`].
/// Writes "`actor` added a, b" and/or "`actor` removed c" when the list changes. Returns the
/// conversation after the change. Errors: 404 as [`find_for_viewer`]; 422 naming `labels`.
pub fn set_labels<S: AsRef<str>>(
    conn: &mut PgConnection,
    viewer: &Viewer,
    display_id: i32,
    labels: &[S],
) -> AppResult<Conversation> {
    let found = find_for_viewer(conn, viewer, display_id)?;
    let labels = normalize_labels(labels)?;
    act(conn, viewer, &found, |conn, current, actor| {
        let added: Vec<&str> = labels
            .iter()
            .filter(|l| !current.labels.contains(l))
            .map(String::as_str)
            .collect();
        let mut removed: Vec<&str> = current
            .labels
            .iter()
            .filter(|l| !labels.contains(l))
            .map(String::as_str)
            .collect();
        removed.sort_unstable();
        if added.is_empty() && removed.is_empty() && current.labels == labels {
            return Ok(None);
        }
        diesel::update(conversations::table.find(current.id))
            .set(conversations::labels.eq(&labels))
            .execute(conn)?;
        let mut lines = vec![];
        if !added.is_empty() {
            lines.push(format!("{actor} added {}", added.join(", ")));
        }
        if !removed.is_empty() {
            lines.push(format!("{actor} removed {}", removed.join(", ")));
        }
        Ok(Some(lines))
    })
}

/// Merges an already validated patch into the conversation's `custom_attributes` (a `null`
/// value removes the key; see [`super::custom_attributes::set_for_conversation`], which
/// validates). No activity line (as Chatwoot); `conversation.updated` naming
/// `custom_attributes` when the map changed. Errors: 404 as [`find_for_viewer`].
pub fn set_custom_attributes(
    conn: &mut PgConnection,
    viewer: &Viewer,
    display_id: i32,
    patch: &serde_json::Map<String, serde_json::Value>,
) -> AppResult<Conversation> {
    let found = find_for_viewer(conn, viewer, display_id)?;
    act(conn, viewer, &found, |conn, current, _actor| {
        let merged = super::custom_attributes::merge(&current.custom_attributes, patch);
        if merged == current.custom_attributes {
            return Ok(None);
        }
        diesel::update(conversations::table.find(current.id))
            .set(conversations::custom_attributes.eq(&merged))
            .execute(conn)?;
        Ok(Some(vec![]))
    })
}

/// Conversation counts per inbox `(inbox_id, count)` and per label `(label, count)`.
pub type SidebarCounts = (Vec<(i64, i64)>, Vec<(String, i64)>);

/// Counts for the inbox screen's sidebar, over the conversations the viewer may see with
/// `status` (`all` for any): per inbox `(inbox_id, count)` and per label `(label, count)`,
/// from the maintained counts ([`count_snapshot`]; no scan of `conversations`).
pub fn sidebar_counts(
    conn: &mut PgConnection,
    viewer: &Viewer,
    status: &str,
) -> AppResult<SidebarCounts> {
    let visible = viewer.visible_inbox_ids(conn)?;
    let snapshot = count_snapshot(conn, viewer.account_id)?;
    Ok((
        snapshot.by_inbox(visible.as_deref(), status),
        snapshot.by_label(visible.as_deref(), status),
    ))
}

/// Conversation counts per team `(team_id, count)` for the sidebar's Teams, over the
/// conversations the viewer may see with `status` (`all` for any): one grouped query.
pub fn team_counts(
    conn: &mut PgConnection,
    viewer: &Viewer,
    status: &str,
) -> AppResult<Vec<(i64, i64)>> {
    use diesel::dsl::count_star;
    let visible = viewer.visible_inbox_ids(conn)?;
    let mut q = conversations::table
        .filter(conversations::account_id.eq(viewer.account_id))
        .filter(conversations::team_id.is_not_null())
        .group_by(conversations::team_id)
        .select((conversations::team_id.assume_not_null(), count_star()))
        .into_boxed();
    if status != "all" {
        q = q.filter(conversations::status.eq(status.to_string()));
    }
    if let Some(ids) = &visible {
        q = q.filter(conversations::inbox_id.eq_any(ids.clone()));
    }
    Ok(q.load(conn)?)
}

/// Reply times of one conversation, for the contact panel's details (Chatwoot's
/// `first_reply_created_at` and "waiting since").
#[derive(Debug, Clone, Default, QueryableByName)]
pub struct ReplyTimes {
    /// When an agent first answered the customer (the first outgoing, non-private message,
    /// templates included; a reaction is no answer, nor is an automated message: greeting,
    /// out of office, CSAT survey, a rule's message, all marked `content_attributes.automated`,
    /// as Chatwoot excludes bot and automation messages); `None` before any reply.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub first_reply_at: Option<DateTime<Utc>>,
    /// The customer's first message after the last agent reply (so: unanswered since);
    /// `None` when the last word was the agent's.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub waiting_since: Option<DateTime<Utc>>,
}

/// [`ReplyTimes`] of the conversation `conversation_id`, in one statement.
pub fn reply_times(conn: &mut PgConnection, conversation_id: i64) -> AppResult<ReplyTimes> {
    Ok(diesel::sql_query(
        "WITH replies AS (SELECT min(created_at) AS first_at, max(created_at) AS last_at            FROM messages WHERE conversation_id = $1 AND message_type IN (1, 3) AND NOT private \
                AND NOT (content_attributes @> '{\"is_reaction\": true}') \
                AND NOT (content_attributes ? 'automated'))          SELECT (SELECT first_at FROM replies) AS first_reply_at,                 (SELECT min(m.created_at) FROM messages m WHERE m.conversation_id = $1                    AND m.message_type = 0                    AND m.created_at > COALESCE((SELECT last_at FROM replies), '-infinity'))                 AS waiting_since",
    )
    .bind::<diesel::sql_types::BigInt, _>(conversation_id)
    .prepared()
    .get_result(conn)?)
}

/// All conversations of a contact, newest first (the contact panel's history).
/// Served by the index `conversations_contact_inbox (inbox_id, contact_id, id DESC)` once per
/// inbox of the contact's account (the inbox condition holds for every conversation of the
/// contact; without it the index cannot be used and the table is scanned).
pub fn for_contact(conn: &mut PgConnection, contact_id: i64) -> AppResult<Vec<Conversation>> {
    use crate::db::schema::{contacts, inboxes};
    let account_inboxes = inboxes::table
        .inner_join(contacts::table.on(contacts::account_id.eq(inboxes::account_id)))
        .filter(contacts::id.eq(contact_id))
        .select(inboxes::id);
    Ok(conversations::table
        .filter(conversations::contact_id.eq(contact_id))
        .filter(conversations::inbox_id.eq_any(account_inboxes))
        .order(conversations::id.desc())
        .limit(20)
        .select(Conversation::as_select())
        .load(conn)?)
}

/// How many conversations the viewer may see in each status, as `(status, count)`, from the
/// maintained counts ([`count_snapshot`]).
pub fn status_counts(conn: &mut PgConnection, viewer: &Viewer) -> AppResult<Vec<(String, i64)>> {
    let visible = viewer.visible_inbox_ids(conn)?;
    Ok(count_snapshot(conn, viewer.account_id)?.by_status(visible.as_deref()))
}

// ---- Counts and list rows without scans or per-row queries (issue 10, "Speed") ----

/// One group of the maintained conversation counts: how many conversations of an inbox have
/// a status, an assignee and (unless `label` is empty) a label. Summed from the delta rows of
/// `conversation_counts`, which triggers on `conversations` write in the transaction of every
/// insert, delete and change of status, assignee, inbox or labels (migration
/// `2026-12-01-000100_workspace_speed`): exact across server processes and concurrent
/// updates, and never a scan of `conversations`.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct CountGroup {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub inbox_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub status: String,
    /// The assignee's user id; 0 for unassigned conversations.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub assignee_id: i64,
    /// `""`: every conversation of the group once; otherwise the conversations carrying
    /// this label.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub label: String,
    /// Conversations in the group.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}

/// The account's conversation counts at one moment (see [`CountGroup`]), from which every
/// count of the list meta and the sidebar is computed in memory.
#[derive(Debug, Clone, Default)]
pub struct CountSnapshot {
    pub groups: Vec<CountGroup>,
}

/// Delta rows of an account beyond which a read folds them ([`fold_counts`]): more than
/// twice the number of groups plus this many.
pub const FOLD_SLACK: i64 = 1000;

/// The account's conversation counts: one statement summing its `conversation_counts` rows
/// (a few thousand at most: inboxes × statuses × assignees × labels, plus the deltas written
/// since the last fold). When the deltas pile up, they are folded first ([`fold_counts`]).
pub fn count_snapshot(conn: &mut PgConnection, account_id: i64) -> AppResult<CountSnapshot> {
    // Once per request inside a memo scope (the list's meta and the sidebar read the same).
    super::request_memo::cached("count_snapshot", account_id, || {
        load_count_snapshot(conn, account_id)
    })
}

fn load_count_snapshot(conn: &mut PgConnection, account_id: i64) -> AppResult<CountSnapshot> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(embed)]
        group: CountGroup,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        raw: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT inbox_id, status, assignee_id, label, sum(n)::bigint AS n, count(*) AS raw \
         FROM conversation_counts WHERE account_id = $1 GROUP BY 1, 2, 3, 4",
    )
    .bind::<diesel::sql_types::BigInt, _>(account_id)
    .prepared()
    .load(conn)?;
    let raw: i64 = rows.iter().map(|r| r.raw).sum();
    if raw > 2 * rows.len() as i64 + FOLD_SLACK {
        fold_counts(conn, account_id)?;
    }
    Ok(CountSnapshot {
        groups: rows
            .into_iter()
            .map(|r| r.group)
            .filter(|g| g.n != 0)
            .collect(),
    })
}

/// Folds the account's `conversation_counts` rows into one row per group (dropping groups
/// that sum to 0), in one transaction, unless another process is folding them (then it
/// returns false at once). Rows that concurrent transactions insert meanwhile are not in the
/// DELETE's snapshot and stay as they are, so no change is lost or counted twice.
pub fn fold_counts(conn: &mut PgConnection, account_id: i64) -> AppResult<bool> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        locked: bool,
    }
    conn.transaction(|conn| {
        let got: Locked = diesel::sql_query(
            "SELECT pg_try_advisory_xact_lock(hashtextextended('conversation_counts:' || $1, 0)) \
             AS locked",
        )
        .bind::<diesel::sql_types::Text, _>(account_id.to_string())
        .prepared()
        .get_result(conn)?;
        if !got.locked {
            return Ok(false);
        }
        diesel::sql_query(
            "WITH gone AS (DELETE FROM conversation_counts WHERE account_id = $1 \
                RETURNING account_id, inbox_id, status, assignee_id, label, n) \
             INSERT INTO conversation_counts (account_id, inbox_id, status, assignee_id, label, n) \
             SELECT account_id, inbox_id, status, assignee_id, label, sum(n) FROM gone \
             GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0",
        )
        .bind::<diesel::sql_types::BigInt, _>(account_id)
        .prepared()
        .execute(conn)?;
        Ok(true)
    })
}

impl CountSnapshot {
    fn matching<'a>(
        &'a self,
        visible: Option<&'a [i64]>,
        status: &'a str,
        label: &'a str,
    ) -> impl Iterator<Item = &'a CountGroup> + 'a {
        self.groups.iter().filter(move |g| {
            g.label == label
                && (status == "all" || g.status == status)
                && visible.is_none_or(|v| v.contains(&g.inbox_id))
        })
    }

    /// `data.meta` of the list: conversations with `status` (`all` for any), in `inbox_id`
    /// when given, carrying `label` when not empty, among the `visible` inboxes (`None`:
    /// all), split by assignee as seen by `user_id`.
    pub fn list_counts(
        &self,
        user_id: i64,
        visible: Option<&[i64]>,
        status: &str,
        inbox_id: Option<i64>,
        label: &str,
    ) -> ListCounts {
        let mut counts = ListCounts::default();
        for g in self
            .matching(visible, status, label)
            .filter(|g| inbox_id.is_none_or(|i| g.inbox_id == i))
        {
            counts.all_count += g.n;
            if g.assignee_id == 0 {
                counts.unassigned_count += g.n;
            } else {
                counts.assigned_count += g.n;
                if g.assignee_id == user_id {
                    counts.mine_count += g.n;
                }
            }
        }
        counts
    }

    /// Conversations with `status` per visible inbox, `(inbox_id, count)` by inbox id, only
    /// inboxes that have some.
    pub fn by_inbox(&self, visible: Option<&[i64]>, status: &str) -> Vec<(i64, i64)> {
        let mut out = std::collections::BTreeMap::new();
        for g in self.matching(visible, status, "") {
            *out.entry(g.inbox_id).or_insert(0) += g.n;
        }
        out.into_iter().filter(|(_, n)| *n > 0).collect()
    }

    /// Conversations with `status` in the visible inboxes per label, `(label, count)` by
    /// label, only labels that some conversation carries.
    pub fn by_label(&self, visible: Option<&[i64]>, status: &str) -> Vec<(String, i64)> {
        let mut out = std::collections::BTreeMap::new();
        for g in self.groups.iter().filter(|g| {
            !g.label.is_empty()
                && (status == "all" || g.status == status)
                && visible.is_none_or(|v| v.contains(&g.inbox_id))
        }) {
            *out.entry(g.label.clone()).or_insert(0) += g.n;
        }
        out.into_iter().filter(|(_, n)| *n > 0).collect()
    }

    /// Conversations in the visible inboxes per status, `(status, count)`, only statuses
    /// that have some.
    pub fn by_status(&self, visible: Option<&[i64]>) -> Vec<(String, i64)> {
        let mut out = std::collections::BTreeMap::new();
        for g in self.matching(visible, "all", "") {
            *out.entry(g.status.clone()).or_insert(0) += g.n;
        }
        out.into_iter().filter(|(_, n)| *n > 0).collect()
    }
}

/// The list's `data.meta` counts for a filter already checked by the caller: from the
/// maintained counts with no label or one label (one statement); with several labels
/// ("any of", which per-label counts cannot add up) by counting the matching conversations.
fn counts_of(
    conn: &mut PgConnection,
    viewer: &Viewer,
    status: &str,
    inbox_id: Option<i64>,
    visible: Option<&[i64]>,
    labels: &[String],
) -> AppResult<ListCounts> {
    if labels.len() <= 1 {
        let label = labels.first().map(String::as_str).unwrap_or("");
        return Ok(count_snapshot(conn, viewer.account_id)?.list_counts(
            viewer.user_id,
            visible,
            status,
            inbox_id,
            label,
        ));
    }
    #[derive(QueryableByName)]
    struct Counted {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        mine: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        unassigned: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        total: i64,
    }
    use diesel::sql_types::{Array, BigInt, Nullable, Text};
    let c: Counted = diesel::sql_query(
        "SELECT count(*) FILTER (WHERE assignee_id = $1) AS mine, \
                count(*) FILTER (WHERE assignee_id IS NULL) AS unassigned, count(*) AS total \
         FROM conversations WHERE account_id = $2 AND ($3 = 'all' OR status = $3) \
           AND ($4::bigint IS NULL OR inbox_id = $4) \
           AND ($5::bigint[] IS NULL OR inbox_id = ANY($5)) \
           AND labels && $6 AND labels <> '{}'",
    )
    .bind::<BigInt, _>(viewer.user_id)
    .bind::<BigInt, _>(viewer.account_id)
    .bind::<Text, _>(status)
    .bind::<Nullable<BigInt>, _>(inbox_id)
    .bind::<Nullable<Array<BigInt>>, _>(visible.map(<[i64]>::to_vec))
    .bind::<Array<Text>, _>(labels)
    .prepared()
    .get_result(conn)?;
    Ok(ListCounts {
        mine_count: c.mine,
        unassigned_count: c.unassigned,
        assigned_count: c.total - c.unassigned,
        all_count: c.total,
    })
}

/// Only the counts of [`list_page`] (`GET /conversations/meta`, the sidebar partial), with
/// the same checks. Errors: 422 for an unknown status or assignee type.
pub fn list_counts(
    conn: &mut PgConnection,
    viewer: &Viewer,
    filter: &ListFilter,
) -> AppResult<ListCounts> {
    let status = filter.status.as_deref().unwrap_or("open");
    if !["open", "pending", "resolved", "snoozed", "all"].contains(&status) {
        return Err(AppError::invalid(
            "status",
            format!("unknown status {status:?}; use open, pending, resolved, snoozed or all"),
        ));
    }
    let assignee_type = filter.assignee_type.as_deref().unwrap_or("all");
    if !["me", "unassigned", "assigned", "all"].contains(&assignee_type) {
        return Err(AppError::invalid(
            "assignee_type",
            format!("unknown assignee_type {assignee_type:?}; use me, unassigned, assigned or all"),
        ));
    }
    if filter.team_id.is_some() || filter.conditions.is_some() {
        // Counted over the matching rows (see `list_page`); one row of page, unused.
        let one = ListFilter {
            limit: Some(1),
            ..filter.clone()
        };
        return Ok(list_page(conn, viewer, &one)?.counts);
    }
    let visible = viewer.visible_inbox_ids(conn)?;
    let labels: Vec<String> = filter
        .labels
        .iter()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty())
        .collect();
    counts_of(
        conn,
        viewer,
        status,
        filter.inbox_id,
        visible.as_deref(),
        &labels,
    )
}

/// What list rows show besides the conversation itself, loaded for a whole page at once
/// (one statement each, never one per row): contacts by id, unread counts by conversation
/// id, assignees (with their role) by user id, teams by id.
#[derive(Debug, Clone, Default)]
pub struct RowDetails {
    pub contacts: std::collections::HashMap<i64, super::contacts::Contact>,
    /// Incoming messages newer than `agent_last_seen_at` (all of them when never seen), as
    /// [`messages::unread_count`] counts them.
    pub unread: std::collections::HashMap<i64, i64>,
    pub assignees: std::collections::HashMap<i64, Member>,
    pub teams: std::collections::HashMap<i64, Team>,
    /// Issue 13 (SLA): the SLA of each conversation that has one (read by the unread
    /// statement, no extra one).
    pub sla: std::collections::HashMap<i64, super::sla::SlaRow>,
}

impl RowDetails {
    /// The contact of `c`. Errors: 404 when it is gone (as `contacts::find`).
    pub fn contact(&self, c: &Conversation) -> AppResult<&super::contacts::Contact> {
        self.contacts
            .get(&c.contact_id)
            .ok_or_else(|| AppError::NotFound(format!("contact {} not found", c.contact_id)))
    }

    /// The unread count of `c`.
    pub fn unread(&self, c: &Conversation) -> i64 {
        self.unread.get(&c.id).copied().unwrap_or(0)
    }

    /// The assignee and team of `c`, as [`assignment_of`] loads them.
    pub fn assignment(&self, c: &Conversation) -> Assignment {
        Assignment {
            assignee: c
                .assignee_id
                .and_then(|id| self.assignees.get(&id).cloned()),
            team: c.team_id.and_then(|id| self.teams.get(&id).cloned()),
        }
    }
}

/// Loads the [`RowDetails`] of `rows` (conversations of `account_id`): at most four
/// statements whatever the number of rows.
pub fn row_details(
    conn: &mut PgConnection,
    account_id: i64,
    rows: &[Conversation],
) -> AppResult<RowDetails> {
    use crate::db::schema::{contacts, teams};
    use diesel::sql_types::{Array, BigInt};
    let mut out = RowDetails::default();
    if rows.is_empty() {
        return Ok(out);
    }
    let mut contact_ids: Vec<i64> = rows.iter().map(|c| c.contact_id).collect();
    contact_ids.sort_unstable();
    contact_ids.dedup();
    out.contacts = contacts::table
        .filter(contacts::account_id.eq(account_id))
        .filter(contacts::id.eq_any(&contact_ids))
        .select(super::contacts::Contact::as_select())
        .load::<super::contacts::Contact>(conn)?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();

    #[derive(QueryableByName)]
    struct Unread {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        sla_status: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
        sla_due_at: Option<DateTime<Utc>>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        sla_due_type: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
        sla_breached: Option<bool>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Jsonb>)]
        applied_sla: Option<serde_json::Value>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Jsonb>)]
        sla_events: Option<serde_json::Value>,
    }
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    // One index range per conversation on messages_conversation (conversation_id,
    // created_at, id).
    // Issue 13 (SLA): the same statement reads each row's applied SLA.
    let unread: Vec<Unread> = diesel::sql_query(format!(
        "SELECT c.id, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id \
           AND m.created_at > coalesce(c.agent_last_seen_at, '-infinity') \
           AND m.message_type = $2) AS n, {} \
         FROM conversations c {} WHERE c.id = ANY($1)",
        super::sla::ROW_COLUMNS,
        super::sla::ROW_JOINS
    ))
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<diesel::sql_types::SmallInt, _>(message_type::INCOMING)
    .load(conn)?;
    for u in unread {
        out.unread.insert(u.id, u.n);
        if let Some(row) = super::sla::row_of(
            u.sla_status,
            u.sla_due_at,
            u.sla_due_type,
            u.sla_breached,
            u.applied_sla,
            u.sla_events,
        ) {
            out.sla.insert(u.id, row);
        }
    }

    let mut assignee_ids: Vec<i64> = rows.iter().filter_map(|c| c.assignee_id).collect();
    assignee_ids.sort_unstable();
    assignee_ids.dedup();
    if !assignee_ids.is_empty() {
        out.assignees = accounts::members_by_ids(conn, account_id, &assignee_ids)?
            .into_iter()
            .map(|m| (m.user.id, m))
            .collect();
    }
    let mut team_ids: Vec<i64> = rows.iter().filter_map(|c| c.team_id).collect();
    team_ids.sort_unstable();
    team_ids.dedup();
    if !team_ids.is_empty() {
        out.teams = teams::table
            .filter(teams::account_id.eq(account_id))
            .filter(teams::id.eq_any(&team_ids))
            .select(Team::as_select())
            .load::<Team>(conn)?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
    }
    Ok(out)
}

/// Replaces the conversation's `custom_attributes` with `attrs` (Chatwoot's
/// `conversations#update`, which replaces the map), after validating its defined keys
/// ([`super::custom_attributes::validate_defined`]; other keys are kept as given). No activity line; emits
/// `conversation.updated` naming `custom_attributes` when they change. Errors: 404 as
/// [`find_for_viewer`]; 422 naming `custom_attributes` when `attrs` is not an object, or
/// `custom_attributes.<key>` for a value its definition refuses.
pub fn replace_custom_attributes(
    conn: &mut PgConnection,
    viewer: &Viewer,
    display_id: i32,
    attrs: serde_json::Value,
) -> AppResult<Conversation> {
    let found = find_for_viewer(conn, viewer, display_id)?;
    if !attrs.is_object() {
        return Err(AppError::invalid(
            "custom_attributes",
            "custom_attributes must be a JSON object of names and values",
        ));
    }
    let attrs = super::custom_attributes::validate_defined(
        conn,
        viewer.account_id,
        super::custom_attributes::Model::Conversation,
        &attrs,
    )?;
    act(conn, viewer, &found, |conn, current, _actor| {
        if current.custom_attributes == attrs {
            return Ok(None);
        }
        diesel::update(conversations::table.find(current.id))
            .set(conversations::custom_attributes.eq(&attrs))
            .execute(conn)?;
        Ok(Some(vec![]))
    })
}

/// What `PATCH /conversations/{display_id}` changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConversationPatch {
    /// `urgent`, `high`, `medium`, `low`, or `none` to remove it (as `toggle_priority`).
    pub priority: Option<String>,
    /// Replaces the custom attributes (a JSON object).
    pub custom_attributes: Option<serde_json::Value>,
    /// `Some(None)` unassigns (as `POST …/assignments`).
    pub assignee_id: Option<Option<i64>>,
    /// `Some(None)` removes the team.
    pub team_id: Option<Option<i64>>,
    /// Issue 13 (SLA): `Some(Some(id))` applies policy `id` (replacing the applied SLA),
    /// `Some(None)` removes the applied SLA (`domain::sla`).
    pub sla_policy_id: Option<Option<i64>>,
}

/// Applies `patch` in one transaction (Chatwoot's `conversations#update`, which takes
/// `priority`; Switchboard also takes `custom_attributes`, `assignee_id` and `team_id`,
/// with the rules of [`set_priority`], [`replace_custom_attributes`] and [`assign`], their
/// activity lines and events). Returns the conversation as it ends up. Errors: 404 as
/// [`find_for_viewer`]; 422 naming the first invalid field (nothing is changed then).
pub fn update(
    conn: &mut PgConnection,
    viewer: &Viewer,
    display_id: i32,
    patch: ConversationPatch,
) -> AppResult<Conversation> {
    let found = find_for_viewer(conn, viewer, display_id)?;
    conn.transaction(|conn| {
        if let Some(p) = &patch.priority {
            set_priority(conn, viewer, display_id, p)?;
        }
        if let Some(attrs) = patch.custom_attributes.clone() {
            replace_custom_attributes(conn, viewer, display_id, attrs)?;
        }
        if let Some(id) = patch.assignee_id {
            assign(conn, viewer, display_id, AssignTo::Agent(id))?;
        }
        if let Some(id) = patch.team_id {
            assign(conn, viewer, display_id, AssignTo::Team(id))?;
        }
        match patch.sla_policy_id {
            Some(Some(id)) => {
                super::sla::apply(
                    conn,
                    viewer.account_id,
                    found.id,
                    id,
                    super::sla::IfApplied::Replace,
                    Utc::now(),
                )?;
            }
            Some(None) => {
                super::sla::remove(conn, found.id)?;
            }
            None => {}
        }
        find_by_id(conn, found.id)
    })
}
