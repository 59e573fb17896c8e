//! Conversations: which one a message joins, display ids, activity and the list filters.

use super::accounts::Viewer;
use crate::db::schema::conversations;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

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
}

/// The contact's latest unresolved conversation in the inbox, or a new open one with the
/// account's next `display_id`. Must run in a transaction (takes a per-contact lock).
pub fn find_or_open(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
    contact_id: i64,
    contact_inbox_id: i64,
    at: DateTime<Utc>,
) -> AppResult<Conversation> {
    super::xact_lock(conn, &format!("conv:{inbox_id}:{contact_id}"))?;
    let existing = conversations::table
        .filter(conversations::inbox_id.eq(inbox_id))
        .filter(conversations::contact_id.eq(contact_id))
        .filter(conversations::status.ne("resolved"))
        .order(conversations::id.desc())
        .select(Conversation::as_select())
        .first(conn)
        .optional()?;
    if let Some(c) = existing {
        return Ok(c);
    }
    // display_id comes from the account's sequence (trigger conversations_display_id).
    Ok(diesel::insert_into(conversations::table)
        .values((
            conversations::account_id.eq(account_id),
            conversations::inbox_id.eq(inbox_id),
            conversations::contact_id.eq(contact_id),
            conversations::contact_inbox_id.eq(contact_inbox_id),
            conversations::last_activity_at.eq(at),
        ))
        .returning(Conversation::as_returning())
        .get_result(conn)?)
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
/// `incoming = true`).
pub fn record_message(
    conn: &mut PgConnection,
    conversation_id: i64,
    at: DateTime<Utc>,
    incoming: bool,
) -> AppResult<()> {
    diesel::sql_query(
        "UPDATE conversations SET last_activity_at = GREATEST(last_activity_at, $1), \
         last_incoming_at = CASE WHEN $2 THEN GREATEST(last_incoming_at, $1) ELSE last_incoming_at END, \
         updated_at = now() WHERE id = $3",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .bind::<diesel::sql_types::Bool, _>(incoming)
    .bind::<diesel::sql_types::BigInt, _>(conversation_id)
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
    /// 1-based page of 25.
    pub page: i64,
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

/// The conversations the viewer may see, newest activity first, and the per-assignee counts.
/// Errors: 422 for an unknown status or assignee type.
pub fn list(
    conn: &mut PgConnection,
    viewer: &Viewer,
    filter: &ListFilter,
) -> AppResult<(Vec<Conversation>, ListCounts)> {
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
        if let Some(ids) = &visible {
            q = q.filter(conversations::inbox_id.eq_any(ids.clone()));
        }
        q
    };
    let counts = ListCounts {
        mine_count: base()
            .filter(conversations::assignee_id.eq(viewer.user_id))
            .count()
            .get_result(conn)?,
        unassigned_count: base()
            .filter(conversations::assignee_id.is_null())
            .count()
            .get_result(conn)?,
        assigned_count: base()
            .filter(conversations::assignee_id.is_not_null())
            .count()
            .get_result(conn)?,
        all_count: base().count().get_result(conn)?,
    };
    let mut q = base();
    q = match assignee_type.as_str() {
        "me" => q.filter(conversations::assignee_id.eq(viewer.user_id)),
        "unassigned" => q.filter(conversations::assignee_id.is_null()),
        "assigned" => q.filter(conversations::assignee_id.is_not_null()),
        _ => q,
    };
    let rows = q
        .select(Conversation::as_select())
        .order((
            conversations::last_activity_at.desc(),
            conversations::id.desc(),
        ))
        .limit(PAGE_SIZE)
        .offset((filter.page.clamp(1, MAX_PAGE) - 1) * PAGE_SIZE)
        .load(conn)?;
    Ok((rows, counts))
}
