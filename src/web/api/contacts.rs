//! `/api/v1/accounts/{account_id}/contacts`: list, show and search. Agents see contacts of
//! their inboxes only.

use super::views;
use crate::app::AppState;
use crate::domain::contact_list;
use crate::domain::contacts;
use crate::domain::inboxes;
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

/// Contacts per page (Chatwoot's).
pub const PER_PAGE: i64 = 15;

/// `?page=&q=&sort=`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub page: Option<i64>,
    pub q: Option<String>,
    /// Chatwoot's `sort`: `name`, `last_activity_at` or `created_at`, descending with a
    /// leading `-` (default: `-created_at`). Errors: 422 naming `sort`.
    pub sort: Option<String>,
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    account_id: i64,
    q: ListQuery,
    require_query: bool,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, account_id).await?;
    if require_query && q.q.as_deref().map(str::trim).unwrap_or_default().is_empty() {
        return Err(AppError::invalid("q", "the search term q is required"));
    }
    let page = q.page.unwrap_or(1).clamp(1, 1_000_000);
    // contacts-ui (issue 11): sort, one query per page, a capped count (see contact_list).
    let (sort, descending) = match q.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => match s.strip_prefix('-') {
            Some(key) => (contact_list::SortKey::parse(key)?, true),
            None => (contact_list::SortKey::parse(s)?, false),
        },
        None => (contact_list::SortKey::Created, true),
    };
    let (rows, total) = state
        .db(move |conn| {
            let only = viewer.visible_inbox_ids(conn)?;
            let query = contact_list::ContactQuery {
                q: q.q,
                sort,
                descending,
                ..Default::default()
            };
            let cursor = contact_list::Cursor::Offset(page);
            let (rows, total) = if query.q.as_deref().is_some_and(|t| !t.trim().is_empty()) {
                // A search: the page and the exact count of matches in one statement.
                let only = only.as_deref();
                contact_list::page_counted(conn, viewer.account_id, only, &query, cursor, PER_PAGE)?
            } else {
                let only = only.as_deref();
                let (total, _) = contact_list::count_capped(
                    conn,
                    viewer.account_id,
                    only,
                    &query,
                    contact_list::COUNT_CAP,
                )?;
                let rows =
                    contact_list::page(conn, viewer.account_id, only, &query, cursor, PER_PAGE)?;
                (rows, total)
            };
            Ok((
                rows.rows.into_iter().map(|r| r.contact).collect::<Vec<_>>(),
                total,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "meta": {"count": total, "current_page": page},
        "payload": rows.iter().map(|c| views::contact(c, None)).collect::<Vec<_>>(),
    })))
}

/// `GET /contacts?page=`.
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    list(state, req, path.into_inner(), q.into_inner(), false).await
}

/// `GET /contacts/search?q=`: name, phone, email, BSUID or username.
pub async fn search(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    list(state, req, path.into_inner(), q.into_inner(), true).await
}

/// `GET /contacts/{id}` → `{"payload": contact}` with `contact_inboxes[].source_id`.
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, contact_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let (contact, cis) = state
        .db(move |conn| {
            let contact = contacts::find(conn, account_id, contact_id)?;
            let only = viewer.visible_inbox_ids(conn)?;
            let cis = contacts::contact_inboxes_of(conn, contact_id, only.as_deref())?;
            if only.is_some() && cis.is_empty() {
                return Err(AppError::NotFound(format!(
                    "contact {contact_id} not found"
                )));
            }
            let mut with_inbox = Vec::with_capacity(cis.len());
            for ci in cis {
                let ib = inboxes::find(conn, account_id, ci.inbox_id).ok();
                with_inbox.push((ci, ib));
            }
            Ok((contact, with_inbox))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": views::contact(&contact, Some(&cis)) })))
}
