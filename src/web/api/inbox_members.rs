//! `/api/v1/accounts/{account_id}/inbox_members` (Chatwoot's): who works an inbox. Listing is
//! open to administrators and to the inbox's own agents (Chatwoot's `InboxPolicy#show?`);
//! changes are for administrators. `POST` adds, `PATCH` replaces the whole list, `DELETE`
//! removes.

use super::params::{body_object, required_id, required_ids};
use super::views;
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::accounts::Member;
use crate::domain::inboxes;
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

fn payload(state: &AppState, members: &[Member]) -> Value {
    let host = state.config.frontend_url.as_str();
    json!({ "payload": members.iter().map(|m| views::member(m, host)).collect::<Vec<_>>() })
}

/// `GET /inbox_members/{inbox_id}` → `{"payload":[agent…]}` by name.
/// Errors: 404 for another account's inbox, or one an agent is not a member of.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/inbox_members/{inbox_id}",
    tag = "inbox_members",
    operation_id = "inbox_members_show",
    params(("account_id" = i64, Path, description = "The account's id"), ("inbox_id" = i64, Path, description = "The inbox's id")),
    responses(
        (status = 200, description = "The inbox's members, by name", body = crate::web::openapi::schemas::AgentList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, inbox_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let members = state
        .db(move |conn| {
            if !viewer.can_see_inbox(conn, inbox_id)? {
                return Err(AppError::NotFound(format!("inbox {inbox_id} not found")));
            }
            inboxes::members(conn, account_id, inbox_id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(payload(&state, &members)))
}

/// The `{"inbox_id", "user_ids":[…]}` of the write requests, for an administrator.
async fn admin_input(
    state: &AppState,
    req: &HttpRequest,
    account_id: i64,
    body: &Wrapped,
) -> AppResult<(i64, Vec<i64>)> {
    let viewer = auth::viewer(state, req, account_id).await?;
    viewer.require_admin()?;
    let body = body_object(body)?;
    Ok((
        required_id(&body, "inbox_id")?,
        required_ids(&body, "user_ids")?,
    ))
}

/// `POST /inbox_members` `{"inbox_id","user_ids":[…]}` adds those agents →
/// `{"payload":[agent…]}`, every member afterwards.
/// Errors: 403 for agents; 404 for another account's inbox; 422 naming `inbox_id` or
/// `user_ids` ("User must exist" for an id outside the account).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/inbox_members",
    tag = "inbox_members",
    operation_id = "inbox_members_create",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::schemas::InboxMembersBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The inbox's members now", body = crate::web::openapi::schemas::AgentList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let account_id = path.into_inner();
    let (inbox_id, ids) = admin_input(&state, &req, account_id, &body).await?;
    let members = state
        .db(move |conn| inboxes::add_members(conn, account_id, inbox_id, &ids))
        .await?;
    Ok(HttpResponse::Ok().json(payload(&state, &members)))
}

/// `PATCH /inbox_members` `{"inbox_id","user_ids":[…]}`: those agents become the only
/// members → `{"payload":[agent…]}`. Errors: as [`create`].
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/inbox_members",
    tag = "inbox_members",
    operation_id = "inbox_members_update",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::schemas::InboxMembersBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The inbox's members now", body = crate::web::openapi::schemas::AgentList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let account_id = path.into_inner();
    let (inbox_id, ids) = admin_input(&state, &req, account_id, &body).await?;
    let members = state
        .db(move |conn| inboxes::set_members(conn, account_id, inbox_id, &ids))
        .await?;
    Ok(HttpResponse::Ok().json(payload(&state, &members)))
}

/// `DELETE /inbox_members` `{"inbox_id","user_ids":[…]}` removes those agents → 200 with an
/// empty body. Errors: as [`create`].
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/inbox_members",
    tag = "inbox_members",
    operation_id = "inbox_members_destroy",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::schemas::InboxMembersBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Done; the body is empty (Chatwoot answers `head :ok`)"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn destroy(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let account_id = path.into_inner();
    let (inbox_id, ids) = admin_input(&state, &req, account_id, &body).await?;
    state
        .db(move |conn| inboxes::remove_members(conn, account_id, inbox_id, &ids))
        .await?;
    Ok(HttpResponse::Ok().finish())
}
