//! `POST …/conversations/{display_id}/toggle_typing_status` (Chatwoot's route, also at
//! `…/typing_status`): an agent started (`on`) or stopped (`off`) typing. Body
//! `{"typing_status": "on"|"off", "is_private": bool}` (Chatwoot's shape; `is_private` true
//! for a private note, default false).
//!
//! `on` for a reply queues Meta's typing indicator ([`typing::start`]: inside the window,
//! at most once every 20 s per conversation); `off` and notes send nothing (WhatsApp has no
//! "stopped typing": the indicator ends with the reply or after 25 s). Answers 200
//! `{"typing_status", "is_private", "typing_indicator": "queued"|"throttled"|"window_closed"|
//! "no_incoming_message"|"not_sent", "reason"?: "private_note"|"off"}`.
//!
//! Errors: 401; 404 for a conversation the caller cannot see (another account's too); 400
//! for a body that is not a JSON object; 422 naming `typing_status` (missing or not on/off)
//! or `is_private` (not a boolean).

use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::{conversations, typing};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

/// `POST …/conversations/{display_id}/toggle_typing_status` (and `…/typing_status`).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/toggle_typing_status",
    tag = "typing",
    operation_id = "typing_toggle",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "What became of the typing indicator", body = crate::web::openapi::schemas::TypingStatus),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn toggle(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, display_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let conversation = state
        .db(move |conn| conversations::find_for_viewer(conn, &viewer, display_id))
        .await?;
    let body = body.json_object()?;
    let on = match body.get("typing_status") {
        Some(Value::String(s)) if s == "on" => true,
        Some(Value::String(s)) if s == "off" => false,
        Some(_) => {
            return Err(AppError::invalid(
                "typing_status",
                "typing_status must be \"on\" or \"off\"",
            ))
        }
        None => {
            return Err(AppError::invalid(
                "typing_status",
                "typing_status is required (\"on\" or \"off\")",
            ))
        }
    };
    let private = match body.get("is_private") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(AppError::invalid(
                "is_private",
                "is_private must be true or false",
            ))
        }
    };
    let mut answer = json!({
        "typing_status": if on { "on" } else { "off" },
        "is_private": private,
        "typing_indicator": "not_sent",
    });
    if !on || private {
        answer["reason"] = if private { "private_note" } else { "off" }.into();
        return Ok(HttpResponse::Ok().json(answer));
    }
    let now = chrono::Utc::now();
    let outcome = state
        .db(move |conn| typing::start(conn, &conversation, now))
        .await?;
    if matches!(outcome, typing::Outcome::Queued(_)) {
        state.send_wakeup.notify_one();
    }
    answer["typing_indicator"] = outcome.as_str().into();
    Ok(HttpResponse::Ok().json(answer))
}
