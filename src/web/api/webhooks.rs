//! `/api/v1/accounts/{account_id}/webhooks` (Chatwoot's Webhooks API,
//! `webhook` / `webhook_create_update_payload` in the reference), administrators only:
//! agents get 403, a missing or wrong token 401.
//!
//! Bodies are `{"webhook":{"url","name","subscriptions":[…],"inbox_id"?}}` (the fields at the
//! top level are accepted too). Responses wrap webhook objects (`domain::webhooks::to_json`:
//! `id, url, name, subscriptions, account_id, inbox_id, secret, enabled, disabled_reason, …`)
//! as Chatwoot's server does (`app/views/api/v1/accounts/webhooks/*.json.jbuilder`):
//! `GET` → `{"payload": {"webhooks": [...]}}`, `POST`/`PATCH` → `{"payload": {"webhook": {...}}}`.
//! Errors are exactly Chatwoot's: `{"error":"Webhook URL must use HTTPS"}` (422),
//! `{"error":"Invalid subscription event type"}` (422), `{"error":"Webhook not found"}` (404);
//! plus `{"error":"Webhook URL must not point to a private or local address"}` (422, the SSRF
//! guard) and `{"error":"Webhook URL is invalid"}` (422, unparseable or unresolvable).

use super::params::{body_object, id_field, string_field};
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::webhooks::{self, UrlPolicy, WebhookInput};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

/// Reads and checks a create/update body: the URL against the HTTPS rule and the SSRF guard
/// (resolving its host), the subscriptions against Chatwoot's names. Errors: 400 for a
/// non-object body; 422 as the module documentation lists, or naming a mistyped field.
async fn input(body: &Wrapped, policy: UrlPolicy) -> AppResult<WebhookInput> {
    let outer = body_object(body)?;
    let body: Map<String, Value> = match outer.get("webhook") {
        Some(Value::Object(inner)) => inner.clone(),
        _ => outer,
    };
    let url = match string_field(&body, "url")? {
        Some(u) => Some(webhooks::check_url(&u, policy).await?),
        None => None,
    };
    let subscriptions = match body.get("subscriptions") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let names: Vec<String> = items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| AppError::Unprocessable {
                    field: None,
                    message: webhooks::INVALID_SUBSCRIPTION.into(),
                })?;
            Some(webhooks::check_subscriptions(&names)?)
        }
        Some(_) => {
            return Err(AppError::Unprocessable {
                field: None,
                message: webhooks::INVALID_SUBSCRIPTION.into(),
            })
        }
    };
    let inbox_id = match body.get("inbox_id") {
        None => None,
        Some(v) => Some(id_field(v, "inbox_id")?),
    };
    Ok(WebhookInput {
        url,
        name: string_field(&body, "name")?,
        subscriptions,
        inbox_id,
    })
}

/// The webhook as JSON with its secret decrypted. Errors: 500 when it does not decrypt.
fn render(state: &AppState, hook: &webhooks::Webhook) -> AppResult<Value> {
    let secret = webhooks::secret(&state.secrets, hook)?;
    Ok(webhooks::to_json(hook, &secret))
}

/// `{"payload": {"webhook": <the webhook>}}` (Chatwoot's create/update answer).
fn wrapped(state: &AppState, hook: &webhooks::Webhook) -> AppResult<Value> {
    Ok(serde_json::json!({"payload": {"webhook": render(state, hook)?}}))
}

/// `GET /webhooks` → `{"payload": {"webhooks": [...]}}`, oldest first. Errors: 401, 403 for agents.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/webhooks",
    tag = "webhooks",
    operation_id = "webhooks_index",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account's webhooks, oldest first", body = crate::web::openapi::schemas::WebhookListPayload),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    viewer.require_admin()?;
    let list = state
        .db(move |conn| webhooks::list(conn, viewer.account_id))
        .await?;
    let out = list
        .iter()
        .map(|h| render(&state, h))
        .collect::<AppResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"payload": {"webhooks": out}})))
}

/// `POST /webhooks` → `{"payload": {"webhook": {...}}}`, the new webhook with its `secret`. `subscriptions` defaults to every
/// event Switchboard delivers. Errors: 401, 403; 422 (HTTPS, subscription, SSRF, missing
/// `url`, another account's `inbox_id`).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/webhooks",
    tag = "webhooks",
    operation_id = "webhooks_create",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::schemas::WebhookBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The new webhook, with its secret", body = crate::web::openapi::schemas::WebhookPayload),
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
    let input = input(&body, UrlPolicy::of(&state.config)).await?;
    let secrets = state.secrets.clone();
    let hook = state
        .db(move |conn| webhooks::create(conn, &secrets, viewer.account_id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(wrapped(&state, &hook)?))
}

/// `PATCH /webhooks/{id}` with any create field → `{"payload": {"webhook": {...}}}`. Saving also enables a
/// disabled webhook again. Errors: 401, 403, 404 `Webhook not found`, 422 as [`create`].
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/webhooks/{id}",
    tag = "webhooks",
    operation_id = "webhooks_update",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::schemas::WebhookBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The webhook", body = crate::web::openapi::schemas::WebhookPayload),
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
    state
        .db(move |conn| webhooks::find(conn, account_id, id))
        .await?;
    let input = input(&body, UrlPolicy::of(&state.config)).await?;
    let hook = state
        .db(move |conn| webhooks::update(conn, account_id, id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(wrapped(&state, &hook)?))
}

/// `DELETE /webhooks/{id}` → 200 with an empty body. Errors: 401, 403, 404.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/webhooks/{id}",
    tag = "webhooks",
    operation_id = "webhooks_destroy",
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
        .db(move |conn| webhooks::delete(conn, account_id, id))
        .await?;
    Ok(HttpResponse::Ok().finish())
}

/// `GET /webhooks/{id}/deliveries` → `{"payload":[attempt…]}`, newest first, at most 50:
/// `id, delivery_id, event, attempt, status_code, duration_ms, error, success, created_at`.
/// Errors: 401, 403, 404.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/webhooks/{id}/deliveries",
    tag = "webhooks",
    operation_id = "webhooks_deliveries",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "The webhook's delivery attempts", body = crate::web::openapi::schemas::WebhookDeliveryList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn deliveries(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    viewer.require_admin()?;
    let list = state
        .db(move |conn| {
            webhooks::find(conn, account_id, id)?;
            webhooks::deliveries(conn, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "payload": list.iter().map(webhooks::attempt_json).collect::<Vec<_>>()
    })))
}
