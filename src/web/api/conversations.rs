//! `/api/v1/accounts/{account_id}/conversations`: list with Chatwoot's filters and counts,
//! show, and the message thread. Addressed by `display_id`.

use super::views;
use crate::app::AppState;
use crate::db::DbConn;
use crate::domain::accounts;
use crate::domain::contacts::{self, Contact};
use crate::domain::conversations::{self, Conversation, ListFilter};
use crate::domain::messages;
use crate::error::AppResult;
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// `?status=&assignee_type=&inbox_id=&page=&cursor=&sort_by=` (plus `labels[]=`, read by
/// [`labels_param`]). `cursor` (the `meta.next_cursor` of the previous page) pages on
/// `(last_activity_at, id)` and wins over `page`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub status: Option<String>,
    pub assignee_type: Option<String>,
    pub inbox_id: Option<i64>,
    /// Conversations of this team only (Chatwoot's `team_id`).
    pub team_id: Option<i64>,
    pub page: Option<i64>,
    pub cursor: Option<String>,
    /// The order (Chatwoot's `sort_by`, see `ListSort::parse`): `last_activity_at_desc`
    /// (default), `created_at_desc`, `created_at_asc`, `waiting_since_asc`, `priority_desc`.
    pub sort_by: Option<String>,
}

impl ListQuery {
    /// Errors: 422 naming `cursor` when it is not a cursor.
    fn into_filter(self, labels: Vec<String>) -> AppResult<ListFilter> {
        Ok(ListFilter {
            status: self.status,
            assignee_type: self.assignee_type,
            inbox_id: self.inbox_id,
            team_id: self.team_id,
            labels,
            page: self.page.unwrap_or(1),
            cursor: conversations::ListCursor::parse_optional(self.cursor.as_deref())?,
            sort: conversations::ListSort::parse(self.sort_by.as_deref())?,
            ..Default::default()
        })
    }
}

/// The label filter of the list: every `labels[]=` value, and `labels=a,b` split on commas.
pub fn labels_param(req: &HttpRequest) -> Vec<String> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    pairs
        .into_iter()
        .filter(|(k, _)| k == "labels[]" || k == "labels")
        .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// Renders conversations as the list shows them: contact, latest messages, unread count,
/// assignee and team.
pub(crate) fn render(
    conn: &mut DbConn,
    state: &AppState,
    rows: &[Conversation],
) -> AppResult<Vec<Value>> {
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let latest = messages::latest_per_conversation(conn, &ids)?;
    let latest_spoken = messages::latest_non_activity_per_conversation(conn, &ids)?;
    let attachments = messages::attachments_of(
        conn,
        &latest
            .iter()
            .chain(&latest_spoken)
            .map(|m| m.id)
            .collect::<Vec<_>>(),
    )?;
    // Agents who wrote these messages: their `sender` is the user, as in the thread.
    let agent_ids: Vec<i64> = latest
        .iter()
        .chain(&latest_spoken)
        .filter(|m| m.sender_type.as_deref() == Some("User"))
        .filter_map(|m| m.sender_id)
        .collect();
    let agents: HashMap<i64, Value> = accounts::users_by_ids(conn, &agent_ids)?
        .iter()
        .map(|u| (u.id, views::user_sender(u)))
        .collect();
    // Contacts, unread counts, assignees and teams of all rows: one statement each.
    let details = match rows.first() {
        Some(first) => conversations::row_details(conn, first.account_id, rows)?,
        None => Default::default(),
    };
    let mut out = Vec::with_capacity(rows.len());
    let now = chrono::Utc::now();
    for c in rows {
        let contact = details.contact(c)?;
        let show = |list: &[messages::Message]| {
            list.iter().find(|m| m.conversation_id == c.id).map(|m| {
                let atts: Vec<_> = attachments
                    .iter()
                    .filter(|a| a.message_id == m.id)
                    .cloned()
                    .collect();
                let mut v = views::message(&state.config, m, c.display_id, &atts, Some(contact));
                views::set_user_sender(&mut v, m, &agents);
                v
            })
        };
        let unread = details.unread(c);
        let assignment = details.assignment(c);
        let mut v = views::conversation(
            c,
            views::contact(contact, None),
            show(&latest),
            show(&latest_spoken),
            unread,
            &assignment,
            now,
        );
        // Issue 13 (SLA): Chatwoot's `applied_sla` and `sla_events`.
        crate::domain::sla::merge_json(&mut v, details.sla.get(&c.id));
        out.push(v);
    }
    Ok(out)
}

/// `GET /conversations` → `{"data":{"meta":{mine_count,unassigned_count,assigned_count,all_count,next_cursor},"payload":[…]}}`,
/// 25 per page ordered by `(last_activity_at, id)` newest first; `next_cursor` (null on the
/// last page) is the `cursor=` of the next page.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/conversations",
    tag = "conversations",
    operation_id = "conversations_index",
    params(("account_id" = i64, Path, description = "The account's id"), ("status" = Option<String>, Query, description = "`open`, `pending`, `resolved`, `snoozed` or `all`"), ("assignee_type" = Option<String>, Query, description = "`me`, `unassigned`, `assigned` or `all`"), ("inbox_id" = Option<i64>, Query, description = "Only this inbox"), ("team_id" = Option<i64>, Query, description = "Only this team"), ("sort_by" = Option<String>, Query, description = "`last_activity_at_desc` (default), `created_at_desc`, `created_at_asc`, `waiting_since_asc` or `priority_desc`"), ("page" = Option<i64>, Query, description = "Page (25 a page), from 1"), ("cursor" = Option<String>, Query, description = "`meta.next_cursor` of the previous page")),
    responses(
        (status = 200, description = "A page of conversations with the list's counts", body = crate::web::openapi::schemas::ConversationList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let filter = q.into_inner().into_filter(labels_param(&req))?;
    let st = state.get_ref().clone();
    let (payload, counts, next) = state
        .db(move |conn| {
            let page = conversations::list_page(conn, &viewer, &filter)?;
            Ok((
                render(conn, &st, &page.rows)?,
                page.counts,
                page.next_cursor,
            ))
        })
        .await?;
    let mut meta = json!(counts);
    meta["next_cursor"] = json!(next.map(|c| c.to_param()));
    Ok(HttpResponse::Ok().json(json!({"data": {"meta": meta, "payload": payload}})))
}

/// `GET /conversations/meta` → `{"meta": counts}`.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/conversations/meta",
    tag = "conversations",
    operation_id = "conversations_meta",
    params(("account_id" = i64, Path, description = "The account's id"), ("status" = Option<String>, Query, description = "As for the list"), ("inbox_id" = Option<i64>, Query, description = "Only this inbox")),
    responses(
        (status = 200, description = "The list's counts", body = crate::web::openapi::schemas::ConversationCountsMeta),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn meta(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let filter = q.into_inner().into_filter(labels_param(&req))?;
    let (_, counts) = state
        .db(move |conn| Ok(((), conversations::list_counts(conn, &viewer, &filter)?)))
        .await?;
    Ok(HttpResponse::Ok().json(json!({"meta": counts})))
}

/// `GET /conversations/{display_id}`.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}",
    tag = "conversations",
    operation_id = "conversations_show",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    responses(
        (status = 200, description = "The conversation", body = crate::web::openapi::schemas::Conversation),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32)>,
) -> AppResult<HttpResponse> {
    let (account_id, display_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let st = state.get_ref().clone();
    let mut rendered = state
        .db(move |conn| {
            let c = conversations::find_for_viewer(conn, &viewer, display_id)?;
            render(conn, &st, std::slice::from_ref(&c))
        })
        .await?;
    Ok(HttpResponse::Ok().json(rendered.remove(0)))
}

/// `?before=&after=` message ids (Chatwoot's shape). Each is resolved to its message's
/// `(created_at, id)` and the thread is paged on that pair (see
/// [`messages::thread_page`]).
#[derive(Debug, Deserialize)]
pub struct MessagesQuery {
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A message id query parameter: absent or empty reads as `None`. Errors: 422 naming `field`
/// when it is not a positive integer.
pub(crate) fn message_id_param(raw: Option<&str>, field: &str) -> AppResult<Option<i64>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(id) if id > 0 => Ok(Some(id)),
            _ => Err(crate::error::AppError::invalid(
                field,
                format!("{field} must be a message id, not {s:?}"),
            )),
        },
    }
}

/// Messages per page of the thread (Chatwoot's): 20 back from the latest or `before`,
/// up to 100 forward from `after`.
pub const MESSAGES_PER_PAGE: i64 = 20;
/// Messages returned after `after` (Chatwoot's).
pub const MESSAGES_AFTER_LIMIT: i64 = 100;

/// `GET /conversations/{display_id}/messages` → `{"meta":{…},"payload":[message…]}`, oldest
/// first, the latest page unless `before`/`after` is given.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/messages",
    tag = "conversations",
    operation_id = "conversations_messages",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)"), ("before" = Option<i64>, Query, description = "Messages older than this message id"), ("after" = Option<i64>, Query, description = "Messages newer than this message id")),
    responses(
        (status = 200, description = "A page of the thread, oldest first", body = crate::web::openapi::schemas::MessageList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn messages(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32)>,
    q: web::Query<MessagesQuery>,
) -> AppResult<HttpResponse> {
    let (account_id, display_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let q = q.into_inner();
    let before = message_id_param(q.before.as_deref(), "before")?;
    let after = message_id_param(q.after.as_deref(), "after")?;
    let config = state.config.clone();
    let body = state
        .db(move |conn| {
            let c = conversations::find_for_viewer(conn, &viewer, display_id)?;
            let contact: Contact = contacts::find(conn, account_id, c.contact_id)?;
            let rows = messages::for_conversation(
                conn,
                c.id,
                before,
                after,
                if after.is_some() {
                    MESSAGES_AFTER_LIMIT
                } else {
                    MESSAGES_PER_PAGE
                },
            )?;
            let atts =
                messages::attachments_of(conn, &rows.iter().map(|m| m.id).collect::<Vec<_>>())?;
            let assignment = conversations::assignment_of(conn, &c)?;
            let mut by_message: HashMap<i64, Vec<_>> = HashMap::new();
            for a in atts {
                by_message.entry(a.message_id).or_default().push(a);
            }
            let agent_ids: Vec<i64> = rows
                .iter()
                .filter(|m| m.sender_type.as_deref() == Some("User"))
                .filter_map(|m| m.sender_id)
                .collect();
            let agents: HashMap<i64, Value> = accounts::users_by_ids(conn, &agent_ids)?
                .iter()
                .map(|u| (u.id, views::user_sender(u)))
                .collect();
            let payload: Vec<Value> = rows
                .iter()
                .map(|m| {
                    let mut v = views::message(
                        &config,
                        m,
                        c.display_id,
                        by_message.get(&m.id).map(Vec::as_slice).unwrap_or(&[]),
                        Some(&contact),
                    );
                    if let Some(agent) = m.sender_id.and_then(|id| agents.get(&id)) {
                        if m.sender_type.as_deref() == Some("User") {
                            v["sender"] = agent.clone();
                        }
                    }
                    v
                })
                .collect();
            Ok(json!({
                "meta": {
                    "labels": c.labels,
                    "additional_attributes": c.additional_attributes,
                    "contact": views::contact(&contact, None),
                    "assignee": assignment.assignee.as_ref()
                        .map(|m| views::member(m, &config.frontend_url)),
                    "agent_last_seen_at": c.agent_last_seen_at.map(|t| t.timestamp()),
                    "assignee_last_seen_at": c.agent_last_seen_at.map(|t| t.timestamp()),
                },
                "payload": payload,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
