//! `/api/v1/accounts/{account_id}/agents` (Chatwoot's Agents API): every member may list;
//! only administrators add (an invitation email goes out), change and remove agents.

use super::params::{body_object, required_string, string_field};
use super::views;
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::accounts::{self, Role};
use crate::error::AppResult;
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

/// `GET /agents` → an array of Chatwoot's `agent`, administrators included, by name.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/agents",
    tag = "agents",
    operation_id = "agents_index",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account's members", body = Vec<crate::web::openapi::schemas::Agent>),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let members = state
        .db(move |conn| accounts::list_members(conn, viewer.account_id))
        .await?;
    let host = state.config.frontend_url.as_str();
    Ok(HttpResponse::Ok().json(
        members
            .iter()
            .map(|m| views::member(m, host))
            .collect::<Vec<Value>>(),
    ))
}

/// `POST /agents` `{"name","email","role":"agent|administrator"}` → the new `agent`. A new
/// user gets no password but an invitation email with a 7-day link to set one; an existing
/// user (another account's) joins with their name and password unchanged.
/// Errors: 403 for agents; 422 naming `name`, `email` (malformed, already in the account) or
/// `role`.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/agents",
    tag = "agents",
    operation_id = "agents_create",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::schemas::AgentBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The invited agent", body = crate::web::openapi::schemas::Agent),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    viewer.require_admin()?;
    let body = body_object(&body)?;
    let name = required_string(&body, "name")?;
    let email = required_string(&body, "email")?;
    let role = Role::from_param(&required_string(&body, "role")?)?;
    let invitation = state
        .db(move |conn| {
            accounts::invite_agent(conn, viewer.account_id, viewer.user_id, &name, &email, role)
        })
        .await?;
    Ok(HttpResponse::Ok().json(views::member(
        &invitation.member,
        &state.config.frontend_url,
    )))
}

/// `PATCH /agents/{id}` `{"name"?, "role"?}` → the `agent`.
/// Errors: 403 for agents; 404 for a user outside the account; 422 naming `name` (blank) or
/// `role` (unknown, or demoting the last administrator).
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/agents/{id}",
    tag = "agents",
    operation_id = "agents_update",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::schemas::AgentBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The agent", body = crate::web::openapi::schemas::Agent),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, user_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    viewer.require_admin()?;
    let body = body_object(&body)?;
    let name = string_field(&body, "name")?;
    let role = string_field(&body, "role")?
        .map(|r| Role::from_param(&r))
        .transpose()?;
    // Issue 13: Chatwoot's `availability` and `auto_offline` of `agent_update_payload`.
    let availability = string_field(&body, "availability")?
        .map(|a| crate::domain::profile::Availability::from_param(&a))
        .transpose()?;
    let auto_offline = match body.get("auto_offline") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            return Err(crate::error::AppError::invalid(
                "auto_offline",
                "auto_offline must be true or false",
            ))
        }
    };
    let member = state
        .db(move |conn| {
            let member = accounts::update_agent(conn, account_id, user_id, name.as_deref(), role)?;
            if let Some(a) = availability {
                crate::domain::profile::set_availability(conn, account_id, user_id, a)?;
            }
            if let Some(on) = auto_offline {
                crate::domain::availability::set_auto_offline(conn, account_id, user_id, on)?;
            }
            // Read again: the presence changed after the membership row was read.
            accounts::find_member(conn, account_id, member.user.id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(views::member(&member, &state.config.frontend_url)))
}

/// `DELETE /agents/{id}` → 200 with an empty body. The user leaves the account (and its
/// inboxes, and their conversations there are unassigned); the user itself stays.
/// Errors: 403 for agents; 404 for a user outside the account; 422 naming `id` for the last
/// administrator.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/agents/{id}",
    tag = "agents",
    operation_id = "agents_destroy",
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
    let (account_id, user_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    viewer.require_admin()?;
    state
        .db(move |conn| accounts::remove_agent(conn, account_id, user_id))
        .await?;
    Ok(HttpResponse::Ok().finish())
}
