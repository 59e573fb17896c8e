//! `GET|POST /webhooks/whatsapp/{phone_number}`: Meta's verify-token handshake and deliveries;
//! `GET|POST /webhooks/whatsapp`: the app-level callback (DESIGN.md, "Other routes that
//! receive").
//! A POST answers 200 only once its body is committed to the journal (DESIGN.md invariant 1;
//! Meta retries anything else for up to 7 days).

use crate::app::AppState;
use crate::domain::inboxes;
use crate::error::{AppError, AppResult};
use crate::whatsapp::ingest;
use crate::whatsapp::receive::{self, MAX_BODY_BYTES};
use crate::whatsapp::signature;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use std::collections::HashMap;

/// The GET handshake: 200 with the raw `hub.challenge`, or 401.
#[utoipa::path(
    get,
    path = "/webhooks/whatsapp/{phone_number}",
    tag = "webhooks",
    operation_id = "webhooks_verify",
    params(("phone_number" = String, Path, description = "The inbox's number in E.164 (e.g. `+15551234567`)"), ("hub.mode" = Option<String>, Query, description = "`subscribe`"), ("hub.verify_token" = Option<String>, Query, description = "The verify token"), ("hub.challenge" = Option<String>, Query, description = "Echoed back on success")),
    security(()),
    responses(
        (status = 200, description = "The `hub.challenge`, verbatim", body = String, content_type = "text/plain"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn verify(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let phone = receive::normalize_path_number(&path.into_inner());
    let q = query.into_inner();
    let challenge = state
        .db(move |conn| {
            receive::verify_handshake(
                conn,
                &phone,
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

/// Reads the body, refusing more than [`MAX_BODY_BYTES`] with 413.
pub(crate) async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> AppResult<Vec<u8>> {
    let too_large = || {
        AppError::PayloadTooLarge(format!(
            "webhook bodies are limited to {MAX_BODY_BYTES} bytes (3 MB)"
        ))
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(8 * 1024));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| AppError::BadRequest(format!("could not read the body: {e}")))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A delivery: 200 once journaled; 401/404/400/413/422 for bad requests; 503 when the
/// database cannot take it (at once, before reading the body, while the database circuit
/// breaker is open). Counted in `switchboard_webhooks_received_total` by change field
/// and result (see [`result_label`]).
#[utoipa::path(
    post,
    path = "/webhooks/whatsapp/{phone_number}",
    tag = "webhooks",
    operation_id = "webhooks_receive",
    params(("phone_number" = String, Path, description = "The inbox's number in E.164 (e.g. `+15551234567`)"), ("X-Hub-Signature-256" = Option<String>, Header, description = "`sha256=` + hex HMAC-SHA256 of the raw body (DESIGN.md, the webhook route)")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    security(()),
    responses(
        (status = 200, description = "OK", body = crate::web::openapi::JsonValue),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let mut field = String::from("unknown");
    let result = receive_inner(state, req, path, payload, &mut field).await;
    crate::metrics::record_webhook_received(&field, result_label(&result));
    result
}

/// The `result` label of a webhook delivery: `accepted`, `unauthorized` (401, a bad
/// signature), `not_found` (404), `invalid` (400/422), `too_large` (413), `unavailable` (503)
/// or `error`.
pub fn result_label(result: &AppResult<HttpResponse>) -> &'static str {
    let status = match result {
        Ok(_) => return "accepted",
        Err(e) => actix_web::ResponseError::status_code(e).as_u16(),
    };
    match status {
        401 | 403 => "unauthorized",
        404 => "not_found",
        400 | 422 => "invalid",
        413 => "too_large",
        503 => "unavailable",
        _ => "error",
    }
}

/// The first change's `field` of a delivery body (`entry[0].changes[0].field`), or "" when
/// it has none or is not such JSON.
pub(crate) fn first_field(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Change {
        #[serde(default)]
        field: String,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        changes: Vec<Change>,
    }
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(default)]
        entry: Vec<Entry>,
    }
    serde_json::from_slice::<Envelope>(body)
        .ok()
        .and_then(|e| e.entry.into_iter().flat_map(|e| e.changes).next())
        .map(|c| c.field)
        .unwrap_or_default()
}

async fn receive_inner(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    field: &mut String,
) -> AppResult<HttpResponse> {
    let phone = receive::normalize_path_number(&path.into_inner());
    if state.config.inactive_whatsapp_numbers.contains(&phone) {
        return Err(AppError::invalid(
            "phone_number",
            format!("{phone} is marked inactive (INACTIVE_WHATSAPP_NUMBERS)"),
        ));
    }
    // Meta retries a 503 later: say so at once while the database is known to be down.
    if state.db_breaker.is_open() {
        return Err(crate::db::Breaker::open_error());
    }
    let body = read_body(&req, payload).await?;
    let signature = req
        .headers()
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let found = match state.phone_cache.get(&phone) {
        Some(found) => found,
        None => {
            let lookup = phone.clone();
            let found = state
                .db(move |conn| inboxes::find_by_phone(conn, &lookup))
                .await?;
            state.phone_cache.put(&phone, found)
        }
    };
    let accepted = receive::check_delivery(
        &state.config,
        &state.secrets,
        found.as_deref(),
        &phone,
        signature.as_deref(),
        &body,
    )?;
    // Only once the delivery is known to be genuine: the label comes from a fixed list anyway.
    *field = first_field(&body);
    journal_delivery(&state, accepted, phone, body).await
}

/// Journals an accepted delivery for its route inbox and answers 200 once committed (503
/// when the database cannot take it; 400 when the body is not UTF-8; 422 when a change names
/// a number that is neither the route inbox's nor a sibling's of its WABA). Shared with the
/// Dualhook connection route (`web::dualhook`).
pub(crate) async fn journal_delivery(
    state: &AppState,
    accepted: receive::Accepted,
    phone: String,
    body: Vec<u8>,
) -> AppResult<HttpResponse> {
    let text = String::from_utf8(body)
        .map_err(|_| AppError::BadRequest("body is not UTF-8 JSON".into()))?;
    let inbox_id = accepted.inbox_id;
    if accepted.needs_routing {
        // Sibling numbers: another inbox of this WABA, or refused (and shown on the inbox).
        let body = text.clone();
        state
            .db(move |conn| {
                let routing = ingest::Routing::for_route(conn, inbox_id)?;
                receive::check_routes(conn, &routing, &body)
            })
            .await?;
    }
    let event_id = match state.journal.append(inbox_id, phone, text).await {
        Ok(id) => id,
        Err(e) => {
            if let AppError::DatabaseUnavailable(detail) = &e {
                state.db_breaker.record_unavailable(&state.pool, detail);
            }
            return Err(e);
        }
    };
    state.ingest_wakeup.notify_one();
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "received", "event_id": event_id})))
}

/// `GET /webhooks/whatsapp`: the app-level callback's handshake. 200 with the raw
/// `hub.challenge` when `hub.mode=subscribe` and `hub.verify_token` equals
/// `WHATSAPP_VERIFY_TOKEN` (constant-time); 401 otherwise, and always while it is unset.
#[utoipa::path(
    get,
    path = "/webhooks/whatsapp",
    tag = "webhooks",
    operation_id = "webhooks_verify_app",
    params(("hub.mode" = Option<String>, Query, description = "`subscribe`"), ("hub.verify_token" = Option<String>, Query, description = "The verify token"), ("hub.challenge" = Option<String>, Query, description = "Echoed back on success")),
    security(()),
    responses(
        (status = 200, description = "The `hub.challenge`, verbatim", body = String, content_type = "text/plain"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn verify_app(
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let token_ok = match (
        &state.config.whatsapp_verify_token,
        q.get("hub.verify_token"),
    ) {
        (Some(expected), Some(given)) => {
            crate::crypto::secure_eq(given.as_bytes(), expected.as_bytes())
        }
        _ => false,
    };
    if q.get("hub.mode").map(String::as_str) != Some("subscribe") || !token_ok {
        return Err(AppError::Unauthorized(
            "webhook verification failed: wrong verify token, or WHATSAPP_VERIFY_TOKEN is not set"
                .into(),
        ));
    }
    tracing::info!("WhatsApp app-level webhook verified");
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(q.get("hub.challenge").cloned().unwrap_or_default()))
}

/// `POST /webhooks/whatsapp`: a delivery to the app-level callback (management fields, and
/// messages of numbers whose WABA has no override). Every POST must carry a valid
/// `X-Hub-Signature-256` made with `WHATSAPP_APP_SECRET`, else 401 (also while it is unset).
/// Journaled with no route inbox, then routed by ingest: changes by `phone_number_id`,
/// management fields by WABA. 200 once committed; 400 not UTF-8 JSON; 413 over 3 MB; 503 when
/// the database cannot take it.
#[utoipa::path(
    post,
    path = "/webhooks/whatsapp",
    tag = "webhooks",
    operation_id = "webhooks_receive_app",
    params(("X-Hub-Signature-256" = Option<String>, Header, description = "`sha256=` + hex HMAC-SHA256 of the raw body (DESIGN.md, the webhook route)")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    security(()),
    responses(
        (status = 200, description = "OK", body = crate::web::openapi::JsonValue),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn receive_app(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let mut field = String::from("unknown");
    let result = receive_app_inner(&state, &req, payload, &mut field).await;
    crate::metrics::record_webhook_received(&field, result_label(&result));
    result
}

async fn receive_app_inner(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    field: &mut String,
) -> AppResult<HttpResponse> {
    if state.db_breaker.is_open() {
        return Err(crate::db::Breaker::open_error());
    }
    let body = read_body(req, payload).await?;
    let header = req
        .headers()
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    let secrets: Vec<&str> = state
        .config
        .whatsapp_app_secret
        .as_deref()
        .into_iter()
        .collect();
    if !signature::verify(header, &body, &secrets) {
        return Err(AppError::Unauthorized(format!(
            "X-Hub-Signature-256 is {}: the app-level callback accepts only payloads signed with WHATSAPP_APP_SECRET",
            if header.is_none() { "missing" } else { "invalid" }
        )));
    }
    *field = first_field(&body);
    let text = String::from_utf8(body)
        .map_err(|_| AppError::BadRequest("body is not UTF-8 JSON".into()))?;
    serde_json::from_str::<crate::whatsapp::payload::Envelope>(&text)
        .map_err(|e| AppError::BadRequest(format!("body is not valid webhook JSON: {e}")))?;
    let event_id = state
        .db(move |conn| crate::jobs::ingest::journal_app(conn, &text))
        .await?;
    state.ingest_wakeup.notify_one();
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "received", "event_id": event_id})))
}
