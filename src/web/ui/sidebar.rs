//! `GET /app/accounts/{id}/partials/sidebar?…`: the inbox screen's sidebar (Mine, Unassigned,
//! All conversations, inboxes, labels, statuses, each with its count) as an HTML fragment.
//! `static/app.js` fetches it again, debounced, when a live event may have changed a count
//! (a new conversation, a status change or snooze, an assignment, labels), so the counts
//! never wait for a reload (issue 9).

use super::inbox::{self, ListQuery, SidebarItem};
use super::scope::AccountMember;
use super::{html, Layout};
use crate::app::AppState;
use actix_web::{web, HttpResponse};
use askama::Template;

#[derive(Template)]
#[template(path = "partials/sidebar.html")]
struct SidebarPartial {
    layout: Layout,
    filters: Vec<SidebarItem>,
    inbox_items: Vec<SidebarItem>,
    team_items: Vec<SidebarItem>,
    label_items: Vec<SidebarItem>,
    statuses: Vec<SidebarItem>,
    saved_views: Vec<SidebarItem>,
}

/// `GET …/partials/sidebar?assignee_type=…&status=…[&inbox_id=…][&label=…]`: the sidebar for
/// the list's current filters (links keep them; the active ones are marked). Answers as the
/// inbox page: a sign-in redirect, or 404 outside the account; 422 JSON naming `status` for
/// an unknown status.
pub async fn partial(
    state: web::Data<AppState>,
    member: AccountMember,
    q: web::Query<ListQuery>,
) -> HttpResponse {
    let AccountMember { layout, viewer } = member;
    let q = q.into_inner();
    let result = state
        .db(move |conn| {
            let _memo = crate::domain::request_memo::scope();
            let side = inbox::sidebar_now(conn, &viewer, &q)?;
            Ok(SidebarPartial {
                layout,
                filters: side.filters,
                inbox_items: side.inbox_items,
                team_items: side.team_items,
                label_items: side.label_items,
                statuses: side.statuses,
                saved_views: side.saved_views,
            })
        })
        .await;
    match result.and_then(|p| html(&p)) {
        Ok(r) => r,
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}
