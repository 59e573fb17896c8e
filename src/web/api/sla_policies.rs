//! Issue 13 (SLA policies): Chatwoot's SLA Policies API, `/api/v1/accounts/{id}/sla_policies`.
//!
//! - `GET /sla_policies` → `{"payload": [policy…]}`; `GET /sla_policies/{id}` →
//!   `{"payload": policy}`. Every member (agents see the policies to apply them).
//! - `POST /sla_policies`, `PATCH|PUT /sla_policies/{id}`, `DELETE /sla_policies/{id}`:
//!   administrators only (403 otherwise). Bodies bare or wrapped in `sla_policy`.
//!
//! Fields: Chatwoot's `name`, `description`, `first_response_time_threshold`,
//! `next_response_time_threshold`, `resolution_time_threshold` (seconds, or null for none),
//! `only_during_business_hours`. Errors: 422 naming the field; 404 for another account's id.

use super::params::body_object;
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::sla;
use crate::error::AppResult;
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

/// Registers the routes inside `/api/v1/accounts/{account_id}`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sla_policies", web::get().to(index))
        .route("/sla_policies", web::post().to(create))
        .route("/sla_policies/{id}", web::get().to(show))
        .route("/sla_policies/{id}", web::patch().to(update))
        .route("/sla_policies/{id}", web::put().to(update))
        .route("/sla_policies/{id}", web::delete().to(destroy));
}

/// `GET /sla_policies` → `{"payload": [policy…]}` by id.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/sla_policies",
    tag = "sla_policies",
    operation_id = "sla_policies_index",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account's SLA policies", body = crate::web::openapi::schemas::SlaPolicyList),
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
        .db(move |conn| sla::list(conn, viewer.account_id))
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "payload": list.iter().map(sla::policy_json).collect::<Vec<_>>() })))
}

/// `GET /sla_policies/{id}` → `{"payload": policy}`. Errors: 404.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/sla_policies/{id}",
    tag = "sla_policies",
    operation_id = "sla_policies_show",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "The policy", body = crate::web::openapi::schemas::SlaPolicyPayload),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let p = state
        .db(move |conn| sla::find(conn, viewer.account_id, id))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": sla::policy_json(&p) })))
}

/// `POST /sla_policies` → `{"payload": policy}`. Errors: 403; 422 (blank name, no target,
/// a threshold outside 1 s … 365 days, mistyped fields).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/sla_policies",
    tag = "sla_policies",
    operation_id = "sla_policies_create",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The new policy", body = crate::web::openapi::schemas::SlaPolicyPayload),
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
    let input = sla::parse_input(&body_object(&body)?)?;
    let p = state
        .db(move |conn| sla::create(conn, viewer.account_id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": sla::policy_json(&p) })))
}

/// `PATCH /sla_policies/{id}` with any field → `{"payload": policy}`; the deadlines of the
/// conversations it applies to are recomputed. Errors: 403; 404; 422.
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/sla_policies/{id}",
    tag = "sla_policies",
    operation_id = "sla_policies_update",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The policy", body = crate::web::openapi::schemas::SlaPolicyPayload),
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
    let body = body_object(&body)?;
    let input = sla::parse_input(&body)?;
    let p = state
        .db(move |conn| sla::update(conn, viewer.account_id, id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": sla::policy_json(&p) })))
}

/// `DELETE /sla_policies/{id}` → 200, empty body (its applied SLAs go with it). Errors: 403;
/// 404.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/sla_policies/{id}",
    tag = "sla_policies",
    operation_id = "sla_policies_destroy",
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
        .db(move |conn| sla::delete(conn, viewer.account_id, id))
        .await?;
    Ok(HttpResponse::Ok().finish())
}
