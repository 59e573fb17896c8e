//! `GET|PATCH /api/v1/accounts/{account_id}` (Chatwoot's account endpoint, issue 15): the
//! account's `id`, `name` and its data retention, `conversation_retention_days` (null: off;
//! resolved conversations with no activity for that many days are deleted, see
//! `domain::retention`).

use super::conversation_actions::body_object;
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::{accounts, retention};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

async fn view(state: &AppState, account_id: i64) -> AppResult<Value> {
    state
        .db(move |conn| {
            Ok(json!({
                "id": account_id,
                "name": accounts::account_name(conn, account_id)?,
                "conversation_retention_days": retention::conversation_retention(conn, account_id)?,
            }))
        })
        .await
}

/// `GET /accounts/{id}` → `{"id","name","conversation_retention_days"}` (any member).
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}",
    tag = "account",
    operation_id = "account_show",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account", body = crate::web::openapi::schemas::Account),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view(&state, viewer.account_id).await?))
}

/// `PATCH /accounts/{id}` `{"conversation_retention_days": 1..=36500 | null}` (bare or under
/// `account`) → the account as [`show`]. A body without the field changes nothing.
/// Errors: 403 for agents; 400 for a non-object body; 422 naming
/// `conversation_retention_days` when it is not null or a whole number from 1 to 36500.
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}",
    tag = "account",
    operation_id = "account_update",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The account", body = crate::web::openapi::schemas::Account),
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
    let mut body = body_object(&body)?;
    if let Some(Value::Object(inner)) = body.remove("account") {
        body.extend(inner);
    }
    if let Some(v) = body.get("conversation_retention_days") {
        let days = match v {
            Value::Null => None,
            Value::Number(n) => Some(
                n.as_i64()
                    .and_then(|d| i32::try_from(d).ok())
                    .ok_or_else(bad_days)?,
            ),
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(s.trim().parse::<i32>().map_err(|_| bad_days())?),
            _ => return Err(bad_days()),
        };
        let account_id = viewer.account_id;
        state
            .db(move |conn| retention::set_conversation_retention(conn, account_id, days))
            .await?;
    }
    Ok(HttpResponse::Ok().json(view(&state, viewer.account_id).await?))
}

fn bad_days() -> AppError {
    AppError::invalid(
        "conversation_retention_days",
        "must be a whole number of days from 1 to 36500, or null to keep conversations for ever",
    )
}
