//! `/api/v1/accounts/{account_id}/teams` (Chatwoot's Teams API): every member may list and
//! show; only administrators create, change and delete.

use super::params::{body_object, bool_field, string_field};
use super::views;
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::teams::{self, TeamInput};
use crate::error::AppResult;
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

/// Reads Chatwoot's `team_create_update_payload`: `name`, `description`,
/// `allow_auto_assign`. Errors: 400 for a non-object body; 422 naming a mistyped field.
fn input(body: &Wrapped) -> AppResult<TeamInput> {
    let body = body_object(body)?;
    Ok(TeamInput {
        name: string_field(&body, "name")?,
        description: string_field(&body, "description")?,
        allow_auto_assign: bool_field(&body, "allow_auto_assign")?,
    })
}

/// `GET /teams` → an array of Chatwoot's `team`, by name.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/teams",
    tag = "teams",
    operation_id = "teams_index",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account's teams", body = Vec<crate::web::openapi::schemas::Team>),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let list = state
        .db(move |conn| teams::list(conn, viewer.account_id))
        .await?;
    Ok(HttpResponse::Ok().json(list.iter().map(views::team).collect::<Vec<Value>>()))
}

/// `POST /teams` `{"name","description"?,"allow_auto_assign"?}` → the `team`.
/// Errors: 403 for agents; 422 naming `name` (missing, blank, or taken in any case).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/teams",
    tag = "teams",
    operation_id = "teams_create",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::schemas::TeamBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The new team", body = crate::web::openapi::schemas::Team),
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
    let input = input(&body)?;
    let team = state
        .db(move |conn| teams::create(conn, viewer.account_id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(views::team(&team)))
}

/// `GET /teams/{team_id}` → the `team`. Errors: 404.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/teams/{team_id}",
    tag = "teams",
    operation_id = "teams_show",
    params(("account_id" = i64, Path, description = "The account's id"), ("team_id" = i64, Path, description = "The team's id")),
    responses(
        (status = 200, description = "The team", body = crate::web::openapi::schemas::Team),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, team_id) = path.into_inner();
    auth::viewer(&state, &req, account_id).await?;
    let team = state
        .db(move |conn| teams::find(conn, account_id, team_id))
        .await?;
    Ok(HttpResponse::Ok().json(views::team(&team)))
}

/// `PATCH /teams/{team_id}` with any of the create fields → the `team`.
/// Errors: 403 for agents; 404; 422 as [`create`].
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/teams/{team_id}",
    tag = "teams",
    operation_id = "teams_update",
    params(("account_id" = i64, Path, description = "The account's id"), ("team_id" = i64, Path, description = "The team's id")),
    request_body(content = crate::web::openapi::schemas::TeamBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The team", body = crate::web::openapi::schemas::Team),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, team_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    viewer.require_admin()?;
    let input = input(&body)?;
    let team = state
        .db(move |conn| teams::update(conn, account_id, team_id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(views::team(&team)))
}

/// `DELETE /teams/{team_id}` → 200 with an empty body; its conversations lose their team.
/// Errors: 403 for agents; 404.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/teams/{team_id}",
    tag = "teams",
    operation_id = "teams_destroy",
    params(("account_id" = i64, Path, description = "The account's id"), ("team_id" = i64, Path, description = "The team's id")),
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
    let (account_id, team_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    viewer.require_admin()?;
    state
        .db(move |conn| teams::delete(conn, account_id, team_id))
        .await?;
    Ok(HttpResponse::Ok().finish())
}
