//! The notification centre's API (Chatwoot's `NotificationsController`), the caller's own
//! notifications only (another user's or account's id is a 404):
//!
//! | route | answer |
//! |---|---|
//! | `GET …/notifications?page=N` | `{"data": {"meta": {"unread_count", "count", "current_page", "next_before"}, "payload": [notification…]}}`, newest first, 15 a page |
//! | `GET …/notifications?before=ID` | the same, the 15 older than notification `ID` (a keyset page: nothing skipped or repeated when new ones arrive); `next_before` is the `before` of the next page, `null` on the last; `current_page` is 0 |
//! | `GET …/notifications/unread_count` | the unread count, a bare JSON integer (as Chatwoot) |
//! | `POST …/notifications/read_all` | marks all read (or, with `primary_actor_type: "Conversation"` and `primary_actor_id: <display_id>`, those of one conversation) → 200, empty body |
//! | `PATCH …/notifications/{id}` | marks it read → the notification |
//! | `POST …/notifications/{id}/unread` | marks it unread → the notification |
//! | `DELETE …/notifications/{id}` | deletes it → 200, empty body |
//!
//! Also the conversation participants (Chatwoot's `Conversations::ParticipantsController`):
//! `GET|POST|PATCH|DELETE …/conversations/{display_id}/participants` with `{"user_ids": […]}`
//! (`POST` adds, `PATCH` replaces, `DELETE` removes) → an array of agents (`DELETE`: 200,
//! empty body); the team members (`GET|POST|PATCH|DELETE …/teams/{team_id}/team_members`,
//! changes for administrators); and `GET …/assignable_agents?inbox_ids[]=N` (who may be
//! mentioned or added: administrators and the inbox's members) → `{"payload": [agent…]}`.

use super::params::{body_object, required_ids, string_field};
use super::views;
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::accounts::Member;
use crate::domain::conversations;
use crate::domain::inbox_notifications::{self as inbox, NotificationRow, ParticipantChange};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

/// A notification as Chatwoot's `notifications` index renders it: `id`, `account_id`,
/// `notification_type`, `push_message_title`, `primary_actor_type` (`Conversation`),
/// `primary_actor_id` (the conversation's `display_id`, which is its API id here),
/// `primary_actor` (`id`, `inbox_id`, `status`, `meta.sender.name`), `read_at` (unix seconds
/// or null), `secondary_actor` (`{type: "User", id, name}` or `{type: "Message", id,
/// content, sender_name}`, or null for a system assignment), `user` (`{id}`), `created_at`
/// and `last_activity_at` (unix seconds).
pub fn view(n: &NotificationRow) -> Value {
    let secondary = match (n.secondary_actor_type.as_deref(), n.secondary_actor_id) {
        (Some("User"), Some(id)) => json!({"type": "User", "id": id, "name": n.actor_name}),
        (Some("Message"), Some(id)) => json!({
            "type": "Message",
            "id": id,
            "content": n.message_content.as_deref().map(inbox::plain_text),
            "sender_name": n.actor_name,
        }),
        _ => Value::Null,
    };
    json!({
        "id": n.id,
        "account_id": n.account_id,
        "notification_type": n.notification_type,
        "push_message_title": n.title(),
        "primary_actor_type": "Conversation",
        "primary_actor_id": n.display_id,
        "primary_actor": {
            "id": n.display_id,
            "inbox_id": n.inbox_id,
            "status": n.conversation_status,
            "meta": {"sender": {"name": n.contact_name}},
        },
        "read_at": n.read_at.map(|t| t.timestamp()),
        "secondary_actor": secondary,
        "user": {"id": n.user_id},
        "created_at": n.created_at.timestamp(),
        "last_activity_at": n.created_at.timestamp(),
    })
}

/// Query of the list: `page` (1-based, default 1), or `before` (a notification id: the page
/// after it, for "Load more").
#[derive(Debug, serde::Deserialize)]
pub struct PageQuery {
    pub page: Option<String>,
    pub before: Option<String>,
}

/// `GET …/notifications` → Chatwoot's `{"data": {"meta", "payload"}}`.
/// Errors: 422 naming `page` or `before` when it is not a positive number.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/notifications",
    tag = "notifications",
    operation_id = "notifications_index",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "A page of the caller's notifications", body = crate::web::openapi::schemas::NotificationList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let page = match query.page.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .ok_or_else(|| AppError::invalid("page", "page must be a number from 1"))?,
    };
    let before = match query.before.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(b) => Some(b.parse::<i64>().ok().filter(|b| *b > 0).ok_or_else(|| {
            AppError::invalid("before", "before must be the id of a notification")
        })?),
    };
    let page = state
        .db(move |conn| match before {
            Some(b) => inbox::list_before(conn, &viewer, b),
            None => inbox::list(conn, &viewer, page),
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "data": {
            "meta": {
                "unread_count": page.unread_count,
                "count": page.count,
                "current_page": page.current_page,
                "next_before": page.next_before,
            },
            "payload": page.notifications.iter().map(view).collect::<Vec<_>>(),
        }
    })))
}

/// `GET …/notifications/unread_count` → the count as a bare integer.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/notifications/unread_count",
    tag = "notifications",
    operation_id = "notifications_unread_count",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The caller's unread notifications, a bare integer", body = i64, content_type = "application/json"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn unread_count(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let n = state
        .db(move |conn| inbox::unread_count(conn, &viewer))
        .await?;
    Ok(HttpResponse::Ok().json(n))
}

/// `POST …/notifications/read_all`, optionally `{"primary_actor_type": "Conversation",
/// "primary_actor_id": <display_id>}` → 200, empty body. Errors: 422 naming
/// `primary_actor_type` or `primary_actor_id`.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/notifications/read_all",
    tag = "notifications",
    operation_id = "notifications_read_all",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "Done; the body is empty (Chatwoot answers `head :ok`)"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn read_all(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let body = body_object(&body)?;
    let display_id = match string_field(&body, "primary_actor_type")?.as_deref() {
        None => None,
        Some("Conversation") => {
            let id = super::params::required_id(&body, "primary_actor_id")?;
            Some(i32::try_from(id).map_err(|_| {
                AppError::invalid("primary_actor_id", "primary_actor_id is not a conversation")
            })?)
        }
        Some(other) => {
            return Err(AppError::invalid(
                "primary_actor_type",
                format!("primary_actor_type must be Conversation, not {other:?}"),
            ))
        }
    };
    state
        .db(move |conn| inbox::read_all(conn, &viewer, display_id))
        .await?;
    Ok(HttpResponse::Ok().finish())
}

/// `PATCH …/notifications/{id}` → the notification, read.
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/notifications/{id}",
    tag = "notifications",
    operation_id = "notifications_update",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The notification", body = crate::web::openapi::schemas::Notification),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let n = state
        .db(move |conn| inbox::set_read(conn, &viewer, id, true))
        .await?;
    Ok(HttpResponse::Ok().json(view(&n)))
}

/// `POST …/notifications/{id}/unread` → the notification, unread.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/notifications/{id}/unread",
    tag = "notifications",
    operation_id = "notifications_unread",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The notification", body = crate::web::openapi::schemas::Notification),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn unread(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let n = state
        .db(move |conn| inbox::set_read(conn, &viewer, id, false))
        .await?;
    Ok(HttpResponse::Ok().json(view(&n)))
}

/// `DELETE …/notifications/{id}` → 200, empty body.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/notifications/{id}",
    tag = "notifications",
    operation_id = "notifications_destroy",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "Done; the body is empty (Chatwoot answers `head :ok`)"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn destroy(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    state
        .db(move |conn| inbox::delete(conn, &viewer, id))
        .await?;
    Ok(HttpResponse::Ok().finish())
}

fn agents(host: &str, members: &[Member]) -> Value {
    Value::Array(members.iter().map(|m| views::member(m, host)).collect())
}

/// `GET …/conversations/{display_id}/participants` → an array of agents, by name.
/// Errors: 404 for a conversation the caller cannot see.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/participants",
    tag = "notifications",
    operation_id = "notifications_participants",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    responses(
        (status = 200, description = "The participants, by name", body = Vec<crate::web::openapi::schemas::Agent>),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn participants(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32)>,
) -> AppResult<HttpResponse> {
    let host = state.config.frontend_url.clone();
    let (account_id, display_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let members = state
        .db(move |conn| {
            let c = conversations::find_for_viewer(conn, &viewer, display_id)?;
            inbox::participants(conn, &c)
        })
        .await?;
    Ok(HttpResponse::Ok().json(agents(&host, &members)))
}

async fn change_participants(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32)>,
    body: Wrapped,
    change: ParticipantChange,
) -> AppResult<Vec<Member>> {
    let (account_id, display_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let input = body_object(&body).and_then(|b| required_ids(&b, "user_ids"));
    state
        .db(move |conn| {
            // 404 before any 400/422: nobody learns of a conversation from a validation error.
            let c = conversations::find_for_viewer(conn, &viewer, display_id)?;
            inbox::change_participants(conn, &c, &input?, change)
        })
        .await
}

/// `POST …/participants` `{"user_ids": […]}` adds them → every participant afterwards.
/// Errors: 404 for a conversation the caller cannot see; 422 naming `user_ids` for an id
/// that is not an agent of the account who can see the conversation's inbox.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/participants",
    tag = "notifications",
    operation_id = "notifications_add_participants",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    request_body(content = crate::web::openapi::schemas::UserIdsBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The participants now", body = Vec<crate::web::openapi::schemas::Agent>),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn add_participants(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let host = state.config.frontend_url.clone();
    let members = change_participants(state, req, path, body, ParticipantChange::Add).await?;
    Ok(HttpResponse::Ok().json(agents(&host, &members)))
}

/// `PATCH …/participants` `{"user_ids": […]}`: they become the only participants → every
/// participant afterwards. Errors: as [`add_participants`].
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/participants",
    tag = "notifications",
    operation_id = "notifications_replace_participants",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    request_body(content = crate::web::openapi::schemas::UserIdsBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The participants now", body = Vec<crate::web::openapi::schemas::Agent>),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn replace_participants(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let host = state.config.frontend_url.clone();
    let members = change_participants(state, req, path, body, ParticipantChange::Replace).await?;
    Ok(HttpResponse::Ok().json(agents(&host, &members)))
}

/// `DELETE …/participants` `{"user_ids": […]}` removes them → 200, empty body.
/// Errors: 404 for a conversation the caller cannot see; 422 naming `user_ids`.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/participants",
    tag = "notifications",
    operation_id = "notifications_remove_participants",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    request_body(content = crate::web::openapi::schemas::UserIdsBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Done; the body is empty (Chatwoot answers `head :ok`)"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn remove_participants(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    change_participants(state, req, path, body, ParticipantChange::Remove).await?;
    Ok(HttpResponse::Ok().finish())
}

/// Query of `GET …/assignable_agents`: Chatwoot's `inbox_ids[]` (one inbox is read).
#[derive(Debug, serde::Deserialize)]
pub struct AssignableQuery {
    #[serde(rename = "inbox_ids[]", alias = "inbox_ids", alias = "inbox_id")]
    pub inbox_ids: Option<String>,
}

/// `GET …/assignable_agents?inbox_ids[]=N` → `{"payload": [agent…]}`: administrators and
/// the inbox's members, by name. Errors: 422 naming `inbox_ids` when missing; 404 for an
/// inbox the caller cannot see.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/assignable_agents",
    tag = "notifications",
    operation_id = "notifications_assignable_agents",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The agents who may be assigned", body = crate::web::openapi::schemas::AgentList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn assignable_agents(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    query: web::Query<AssignableQuery>,
) -> AppResult<HttpResponse> {
    let host = state.config.frontend_url.clone();
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let inbox_id: i64 = query
        .inbox_ids
        .as_deref()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| AppError::invalid("inbox_ids", "inbox_ids[] is required: an inbox id"))?;
    let members = state
        .db(move |conn| {
            let visible = crate::domain::inboxes::find(conn, viewer.account_id, inbox_id).is_ok()
                && viewer.can_see_inbox(conn, inbox_id)?;
            if !visible {
                return Err(AppError::NotFound(format!("inbox {inbox_id} not found")));
            }
            inbox::eligible_users(conn, viewer.account_id, inbox_id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": agents(&host, &members) })))
}

/// `GET …/teams/{team_id}/team_members` → an array of agents. Errors: 404 for another
/// account's team.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/teams/{team_id}/team_members",
    tag = "notifications",
    operation_id = "notifications_team_members",
    params(("account_id" = i64, Path, description = "The account's id"), ("team_id" = i64, Path, description = "The team's id")),
    responses(
        (status = 200, description = "The team's members", body = Vec<crate::web::openapi::schemas::Agent>),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn team_members(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let host = state.config.frontend_url.clone();
    let (account_id, team_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let members = state
        .db(move |conn| inbox::team_members(conn, viewer.account_id, team_id))
        .await?;
    Ok(HttpResponse::Ok().json(agents(&host, &members)))
}

async fn change_team(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
    change: ParticipantChange,
) -> AppResult<Vec<Member>> {
    let (account_id, team_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    viewer.require_admin()?;
    let input = body_object(&body).and_then(|b| required_ids(&b, "user_ids"));
    state
        .db(move |conn| {
            crate::domain::teams::find(conn, account_id, team_id)?;
            inbox::change_team_members(conn, account_id, team_id, &input?, change)
        })
        .await
}

/// `POST …/teams/{team_id}/team_members` `{"user_ids": […]}` adds them → every member.
/// Errors: 403 for agents; 404 for another account's team; 422 naming `user_ids`.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/teams/{team_id}/team_members",
    tag = "notifications",
    operation_id = "notifications_add_team_members",
    params(("account_id" = i64, Path, description = "The account's id"), ("team_id" = i64, Path, description = "The team's id")),
    request_body(content = crate::web::openapi::schemas::UserIdsBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The team's members now", body = Vec<crate::web::openapi::schemas::Agent>),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn add_team_members(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let host = state.config.frontend_url.clone();
    let m = change_team(state, req, path, body, ParticipantChange::Add).await?;
    Ok(HttpResponse::Ok().json(agents(&host, &m)))
}

/// `PATCH …/teams/{team_id}/team_members` `{"user_ids": […]}`: they become the only members.
/// Errors: as [`add_team_members`].
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/teams/{team_id}/team_members",
    tag = "notifications",
    operation_id = "notifications_replace_team_members",
    params(("account_id" = i64, Path, description = "The account's id"), ("team_id" = i64, Path, description = "The team's id")),
    request_body(content = crate::web::openapi::schemas::UserIdsBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The team's members now", body = Vec<crate::web::openapi::schemas::Agent>),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn replace_team_members(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let host = state.config.frontend_url.clone();
    let m = change_team(state, req, path, body, ParticipantChange::Replace).await?;
    Ok(HttpResponse::Ok().json(agents(&host, &m)))
}

/// `DELETE …/teams/{team_id}/team_members` `{"user_ids": […]}` removes them → 200, empty
/// body. Errors: as [`add_team_members`].
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/teams/{team_id}/team_members",
    tag = "notifications",
    operation_id = "notifications_remove_team_members",
    params(("account_id" = i64, Path, description = "The account's id"), ("team_id" = i64, Path, description = "The team's id")),
    request_body(content = crate::web::openapi::schemas::UserIdsBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Done; the body is empty (Chatwoot answers `head :ok`)"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn remove_team_members(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    change_team(state, req, path, body, ParticipantChange::Remove).await?;
    Ok(HttpResponse::Ok().finish())
}
