//! Dualhook's two webhook routes (logic in `crate::dualhook`):
//! - `POST /webhooks/dualhook/{account_id}`: a signed lifecycle event. 401 for a missing,
//!   wrong, altered, unprefixed or uppercase `X-Dualhook-Signature` (or no partner secret
//!   saved); 400 for a missing `X-Dualhook-Event-Id` or a body that is not an event; 413
//!   over 3 MB; 422 for an event whose `data.tenantId` names another account
//!   ([`events::check_tenant`]: nothing is recorded); 503 while the database is down; otherwise 200 once the raw body is
//!   committed: `{"status": "received"}`, or `{"status": "duplicate"}` for an event id
//!   already stored (nothing changes).
//! - `GET|POST /webhooks/whatsapp/c/{connection_key}`: Meta's message path for a WABA
//!   connected through Dualhook. GET is the verify-token handshake (Dualhook's preflight
//!   too); POST is routed by `phone_number_id` among the connection's inboxes and journaled
//!   exactly like `POST /webhooks/whatsapp/{phone_number}`.

use crate::app::AppState;
use crate::dualhook::{connect, events, integration};
use crate::error::{AppError, AppResult};
use crate::web::webhooks::{first_field, journal_delivery, read_body, result_label};
use crate::whatsapp::receive;
use actix_web::{web, HttpRequest, HttpResponse};
use std::collections::HashMap;

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// `POST /webhooks/dualhook/{account_id}` (see the module documentation).
#[utoipa::path(
    post,
    path = "/webhooks/dualhook/{account_id}",
    tag = "dualhook",
    operation_id = "dualhook_lifecycle",
    params(("account_id" = i64, Path, description = "The account's id"), ("X-Dualhook-Signature" = Option<String>, Header, description = "Hex HMAC-SHA256 of the raw body with the partner secret"), ("X-Dualhook-Event-Id" = Option<String>, Header, description = "Deduplicates deliveries")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    security(()),
    responses(
        (status = 200, description = "OK", body = crate::web::openapi::JsonValue),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn lifecycle(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let account_id = path
        .into_inner()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::NotFound("no such account".into()))?;
    if state.db_breaker.is_open() {
        return Err(crate::db::Breaker::open_error());
    }
    let body = read_body(&req, payload).await?;
    let secrets = state.secrets.clone();
    let secret = state
        .db(move |conn| integration::load(conn, &secrets, account_id))
        .await?
        .partner_secret;
    let signature = header(&req, "x-dualhook-signature");
    let Some(secret) = secret else {
        return Err(AppError::Unauthorized(
            "no Dualhook partner secret is saved for this account (Settings → Integrations → Dualhook)".into(),
        ));
    };
    if !events::verify(signature, &body, &secret) {
        let why = if signature.is_none() {
            "missing"
        } else {
            "invalid"
        };
        return Err(AppError::Unauthorized(format!(
            "X-Dualhook-Signature is {why}: it must be sha256= and the lowercase hex HMAC-SHA256 of the raw body with the partner secret"
        )));
    }
    let event_id = events::check_event_id(header(&req, "x-dualhook-event-id"))?;
    let envelope = events::parse(&body)?;
    // Issue 12 (h12): an event for another account's tenant is refused, not recorded.
    events::check_tenant(account_id, &envelope)?;
    let text = String::from_utf8(body)
        .map_err(|_| AppError::BadRequest("body is not UTF-8 JSON".into()))?;
    let connection_id = envelope.data["connectionId"].as_str().map(str::to_string);
    let journaled = state
        .db(move |conn| {
            events::journal(
                conn,
                account_id,
                &event_id,
                &envelope.event,
                &text,
                connection_id.as_deref(),
            )
        })
        .await;
    match journaled {
        Ok(events::Journaled::New(_)) => {
            Ok(HttpResponse::Ok().json(serde_json::json!({"status": "received"})))
        }
        Ok(events::Journaled::Duplicate) => {
            Ok(HttpResponse::Ok().json(serde_json::json!({"status": "duplicate"})))
        }
        Err(e) => {
            if let AppError::DatabaseUnavailable(detail) = &e {
                state.db_breaker.record_unavailable(&state.pool, detail);
            }
            Err(e)
        }
    }
}

/// `GET /webhooks/whatsapp/c/{connection_key}`: 200 with the raw `hub.challenge`, or 401.
#[utoipa::path(
    get,
    path = "/webhooks/whatsapp/c/{connection_key}",
    tag = "dualhook",
    operation_id = "dualhook_connection_verify",
    params(("connection_key" = String, Path, description = "The Tech Provider connection's key"), ("hub.mode" = Option<String>, Query, description = "`subscribe`"), ("hub.verify_token" = Option<String>, Query, description = "The verify token"), ("hub.challenge" = Option<String>, Query, description = "Echoed back on success")),
    security(()),
    responses(
        (status = 200, description = "The `hub.challenge`, verbatim", body = String, content_type = "text/plain"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn connection_verify(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let key = path.into_inner();
    let q = query.into_inner();
    let challenge = state
        .db(move |conn| {
            connect::verify_handshake(
                conn,
                &key,
                q.get("hub.mode").map(String::as_str),
                q.get("hub.verify_token").map(String::as_str),
                q.get("hub.challenge").map(String::as_str),
            )
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(challenge))
}

/// `POST /webhooks/whatsapp/c/{connection_key}`: 200 once journaled; 404 unknown URL or
/// number; 400/422 bad body or another WABA; 413; 503. Counted like the message route.
#[utoipa::path(
    post,
    path = "/webhooks/whatsapp/c/{connection_key}",
    tag = "dualhook",
    operation_id = "dualhook_connection_receive",
    params(("connection_key" = String, Path, description = "The Tech Provider connection's key"), ("X-Hub-Signature-256" = Option<String>, Header, description = "`sha256=` + hex HMAC-SHA256 of the raw body (DESIGN.md, the webhook route)")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    security(()),
    responses(
        (status = 200, description = "OK", body = crate::web::openapi::JsonValue),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn connection_receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let mut field = String::from("unknown");
    let result =
        connection_receive_inner(&state, &req, path.into_inner(), payload, &mut field).await;
    crate::metrics::record_webhook_received(&field, result_label(&result));
    result
}

async fn connection_receive_inner(
    state: &AppState,
    req: &HttpRequest,
    key: String,
    payload: web::Payload,
    field: &mut String,
) -> AppResult<HttpResponse> {
    if state.db_breaker.is_open() {
        return Err(crate::db::Breaker::open_error());
    }
    let body = read_body(req, payload).await?;
    let copy = body.clone();
    let found = state
        .db(move |conn| connect::route(conn, &key, &copy))
        .await?;
    let phone = found.1.phone_number.clone();
    let accepted = receive::check_delivery(
        &state.config,
        &state.secrets,
        Some(&found),
        &phone,
        header(req, "x-hub-signature-256"),
        &body,
    )?;
    *field = first_field(&body);
    journal_delivery(state, accepted, phone, body).await
}
