//! `/api/v1/accounts/{account_id}/labels` (Chatwoot's Labels API): every member may list and
//! show; only administrators create, change and delete. Renaming or deleting a label updates
//! the conversations carrying it.

use super::params::{body_object, bool_field, string_field};
use super::views;
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::labels::{self, LabelInput};
use crate::error::AppResult;
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

/// Reads Chatwoot's `label_create_update_payload`: `title`, `description`, `color`,
/// `show_on_sidebar`. Errors: 400 for a non-object body; 422 naming a mistyped field.
fn input(body: &Wrapped) -> AppResult<LabelInput> {
    let body = body_object(body)?;
    Ok(LabelInput {
        title: string_field(&body, "title")?,
        description: string_field(&body, "description")?,
        color: string_field(&body, "color")?,
        show_on_sidebar: bool_field(&body, "show_on_sidebar")?,
    })
}

/// `GET /labels` → `{"payload":[label…]}` by title.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/labels",
    tag = "labels",
    operation_id = "labels_index",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account's labels", body = crate::web::openapi::schemas::LabelList),
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
        .db(move |conn| labels::list(conn, viewer.account_id))
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "payload": list.iter().map(views::label).collect::<Vec<_>>() })))
}

/// `POST /labels` `{"title","description"?,"color"?,"show_on_sidebar"?}` → the `label`.
/// Errors: 403 for agents; 422 naming `title` (missing, not letters/digits/`-`/`_`, or
/// taken) or `color` (not `#rgb`/`#rrggbb`).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/labels",
    tag = "labels",
    operation_id = "labels_create",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::schemas::LabelBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The new label", body = crate::web::openapi::schemas::Label),
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
    let label = state
        .db(move |conn| labels::create(conn, viewer.account_id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(views::label(&label)))
}

/// `GET /labels/{id}` → the `label`. Errors: 404.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/labels/{id}",
    tag = "labels",
    operation_id = "labels_show",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "The label", body = crate::web::openapi::schemas::Label),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    auth::viewer(&state, &req, account_id).await?;
    let label = state
        .db(move |conn| labels::find(conn, account_id, id))
        .await?;
    Ok(HttpResponse::Ok().json(views::label(&label)))
}

/// `PATCH /labels/{id}` with any of the create fields → the `label`; a new title replaces
/// the old one in every conversation. Errors: 403 for agents; 404; 422 as [`create`].
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/labels/{id}",
    tag = "labels",
    operation_id = "labels_update",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::schemas::LabelBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The label", body = crate::web::openapi::schemas::Label),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    viewer.require_admin()?;
    let input = input(&body)?;
    let label = state
        .db(move |conn| labels::update(conn, account_id, id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(views::label(&label)))
}

/// `DELETE /labels/{id}` → 200 with an empty body; the label leaves every conversation.
/// Errors: 403 for agents; 404.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/labels/{id}",
    tag = "labels",
    operation_id = "labels_destroy",
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
    viewer.require_admin()?;
    state
        .db(move |conn| labels::delete(conn, account_id, id))
        .await?;
    Ok(HttpResponse::Ok().finish())
}
