//! `GET|PUT /api/v1/accounts/{account_id}/integrations/dualhook` (administrators only:
//! agents 403, a missing or wrong token 401).
//!
//! `GET` → `{"api_key": "••••abcd"|null, "api_key_set": bool, "partner_secret":
//! "••••cdef"|null, "partner_secret_set": bool, "event_url": "https://…/webhooks/dualhook/1"}`:
//! the secrets are write-only and only ever shown masked; `event_url` is read-only (paste it
//! into Dualhook's dashboard, Platform tab).
//! `PUT` with `{"api_key"?: string, "partner_secret"?: string}` (bare or wrapped in
//! `"dualhook"`): an absent or `null` field is kept, `""` removes it. Answers like `GET`.
//! Errors: 400 for a body that is not a JSON object; 422 naming the field for a non-string,
//! a value with spaces or control characters, or one outside 8–512 characters; 422 on
//! `event_url` when it is sent (it is read-only).

use super::params::{body_object, string_field};
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::dualhook::integration::{self, IntegrationInput};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

async fn answer(state: &AppState, account_id: i64) -> AppResult<HttpResponse> {
    let secrets = state.secrets.clone();
    let i = state
        .db(move |conn| integration::load(conn, &secrets, account_id))
        .await?;
    Ok(HttpResponse::Ok().json(integration::to_json(&state.config, account_id, &i)))
}

/// `GET …/integrations/dualhook`.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/integrations/dualhook",
    tag = "dualhook",
    operation_id = "dualhook_show",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The integration (secrets masked)", body = crate::web::openapi::schemas::DualhookIntegration),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    viewer.require_admin()?;
    answer(&state, viewer.account_id).await
}

/// Reads and checks a `PUT` body (see the module documentation).
pub fn input(body: &serde_json::Map<String, Value>) -> AppResult<IntegrationInput> {
    let body = match body.get("dualhook") {
        Some(Value::Object(inner)) => inner.clone(),
        _ => body.clone(),
    };
    if body.contains_key("event_url") {
        return Err(AppError::invalid(
            "event_url",
            "event_url is read-only: it is derived from FRONTEND_URL and the account",
        ));
    }
    let check = |field: &str| -> AppResult<Option<String>> {
        string_field(&body, field)?
            .map(|v| integration::check_secret(field, &v))
            .transpose()
    };
    Ok(IntegrationInput {
        api_key: check("api_key")?,
        partner_secret: check("partner_secret")?,
    })
}

/// `PUT …/integrations/dualhook`.
#[utoipa::path(
    put,
    path = "/api/v1/accounts/{account_id}/integrations/dualhook",
    tag = "dualhook",
    operation_id = "dualhook_update",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The integration as changed (secrets masked)", body = crate::web::openapi::schemas::DualhookIntegration),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    viewer.require_admin()?;
    let input = input(&body_object(&body)?)?;
    let secrets = state.secrets.clone();
    let account_id = viewer.account_id;
    state
        .db(move |conn| integration::save(conn, &secrets, account_id, &input))
        .await?;
    answer(&state, account_id).await
}
