//! The inbox settings page's auto-assignment card (issue 13): Chatwoot's
//! `enable_auto_assignment` and `auto_assignment_config.max_assignment_limit`, the members
//! the round-robin takes turns among (with their availability and load), and how many
//! conversations wait for room. Rules in `domain::auto_assignment`.
//!
//! `POST …/settings/inboxes/{inbox_id}/auto_assignment/save` (form: `enabled` checkbox,
//! `max_assignment_limit` empty or 1–10000) saves both; another account's inbox is a 404
//! ([`Scoped`]); a bad limit answers 422 on the page, naming the field.

use super::scope::Scoped;
use super::{redirect, settings};
use crate::app::AppState;
use crate::domain::auto_assignment;
use crate::domain::inboxes::{Inbox, InboxWithChannel};
use crate::error::AppError;
use crate::web::session;
use actix_session::SessionExt;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use serde::Deserialize;

/// One member of the inbox as the card lists them.
#[derive(Debug, Clone, Default)]
pub struct MemberRow {
    pub name: String,
    /// `online`, `busy` or `offline` (what they are now).
    pub availability: String,
    /// Open conversations of this inbox assigned to them.
    pub open: i64,
}

/// What `partials/auto_assignment.html` shows.
#[derive(Debug, Clone, Default)]
pub struct Panel {
    pub enabled: bool,
    /// The limit as typed in the form ("" for none).
    pub limit: String,
    /// Conversations waiting for an agent with room.
    pub queued: i64,
    pub members: Vec<MemberRow>,
}

impl Panel {
    /// The members who take turns now (online), for the summary line.
    pub fn online(&self) -> usize {
        self.members
            .iter()
            .filter(|m| m.availability == "online")
            .count()
    }
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    availability: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    open: i64,
}

/// Loads the card for `inbox` (three queries).
pub fn panel(conn: &mut PgConnection, inbox: &Inbox) -> Result<Panel, AppError> {
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT COALESCE(NULLIF(u.display_name, ''), u.name) AS name, au.availability, \
           (SELECT count(*) FROM conversations c WHERE c.inbox_id = m.inbox_id \
              AND c.assignee_id = m.user_id AND c.status = 'open') AS open \
         FROM inbox_members m JOIN users u ON u.id = m.user_id \
         JOIN account_users au ON au.user_id = m.user_id AND au.account_id = $2 \
         WHERE m.inbox_id = $1 ORDER BY m.user_id",
    )
    .bind::<diesel::sql_types::BigInt, _>(inbox.id)
    .bind::<diesel::sql_types::BigInt, _>(inbox.account_id)
    .load(conn)?;
    Ok(Panel {
        enabled: inbox.enable_auto_assignment,
        limit: auto_assignment::limit(conn, inbox.id)?
            .map(|l| l.to_string())
            .unwrap_or_default(),
        queued: auto_assignment::queued_count(conn, inbox.id)?,
        members: rows
            .into_iter()
            .map(|r| MemberRow {
                name: r.name,
                availability: r.availability,
                open: r.open,
            })
            .collect(),
    })
}

/// The card's form.
#[derive(Debug, Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    pub csrf_token: String,
    /// The checkbox: present (any value) when ticked.
    pub enabled: Option<String>,
    #[serde(default)]
    pub max_assignment_limit: String,
}

/// `POST …/settings/inboxes/{inbox_id}/auto_assignment/save`.
pub async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    scoped: Scoped<InboxWithChannel>,
    form: web::Form<SaveForm>,
) -> HttpResponse {
    let layout = scoped.admin.layout;
    let (account_id, inbox_id) = (layout.account_id, scoped.object.0.id);
    let form = form.into_inner();
    if let Err(e) = session::check_csrf(&req.get_session(), Some(&form.csrf_token)) {
        return settings::inbox_page_with_error(&state, layout, account_id, inbox_id, e).await;
    }
    let limit = match auto_assignment::parse_limit(
        "max_assignment_limit",
        &serde_json::Value::String(form.max_assignment_limit.clone()),
    ) {
        Ok(l) => l,
        Err(e) => {
            return settings::inbox_page_with_error(&state, layout, account_id, inbox_id, e).await
        }
    };
    let enabled = form.enabled.is_some();
    let saved = state
        .db(move |conn| {
            conn.transaction(|conn| {
                diesel::update(crate::db::schema::inboxes::table.find(inbox_id))
                    .set((
                        crate::db::schema::inboxes::enable_auto_assignment.eq(enabled),
                        crate::db::schema::inboxes::updated_at.eq(diesel::dsl::now),
                    ))
                    .execute(conn)?;
                auto_assignment::set_limit(conn, inbox_id, limit)
            })
        })
        .await;
    match saved {
        Ok(()) => {
            let notice = if enabled {
                "Auto-assignment is on: new conversations go to online agents in turn."
            } else {
                "Auto-assignment is off."
            };
            redirect(&format!(
                "/app/accounts/{account_id}/settings/inboxes/{inbox_id}?notice={}#auto-assignment-title",
                url::form_urlencoded::byte_serialize(notice.as_bytes()).collect::<String>()
            ))
        }
        Err(e) => settings::inbox_page_with_error(&state, layout, account_id, inbox_id, e).await,
    }
}
