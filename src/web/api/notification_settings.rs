//! `GET|PATCH /api/v1/accounts/{account_id}/notification_settings`: the caller's email
//! notification preferences in the account, as Chatwoot's notification settings
//! (`selected_email_flags`), with our kinds also as booleans.
//!
//! Flags: `email_conversation_assignment` (a conversation was assigned to me),
//! `email_conversation_mention` (I was @mentioned in a private note),
//! `email_assigned_conversation_new_message` / `email_participating_conversation_new_message`
//! (a customer wrote in a conversation assigned to me / I take part in),
//! `email_conversation_creation` (a new conversation in one of my inboxes) and
//! `email_webhook_disabled` (an outgoing webhook was disabled; administrators). Push flags are
//! accepted and ignored (Switchboard sends no push notifications).

use super::params::{body_object, bool_field};
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::accounts::Viewer;
use crate::domain::notifications::{self, Kind, Settings};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

/// The JSON of a user's settings: Chatwoot's `id`, `user_id`, `account_id`,
/// `all_email_flags`, `selected_email_flags`, `all_push_flags`, `selected_push_flags`, plus
/// each kind's boolean (`email_conversation_assigned`, `email_conversation_created`,
/// `email_webhook_disabled`, `email_conversation_mention`,
/// `email_assigned_conversation_new_message`, `email_participating_conversation_new_message`).
pub fn view(viewer: &Viewer, s: &Settings) -> Value {
    json!({
        "id": viewer.user_id,
        "user_id": viewer.user_id,
        "account_id": viewer.account_id,
        "all_email_flags": Kind::ALL.iter().map(|k| k.chatwoot_flag()).collect::<Vec<_>>(),
        "selected_email_flags": Kind::ALL
            .iter()
            .filter(|k| s.get(**k))
            .map(|k| k.chatwoot_flag())
            .collect::<Vec<_>>(),
        "all_push_flags": [],
        "selected_push_flags": [],
        "email_conversation_assigned": s.email_conversation_assigned,
        "email_conversation_created": s.email_conversation_created,
        "email_webhook_disabled": s.email_webhook_disabled,
        "email_conversation_mention": s.email_conversation_mention,
        "email_assigned_conversation_new_message": s.email_assigned_conversation_new_message,
        "email_participating_conversation_new_message":
            s.email_participating_conversation_new_message,
    })
}

/// `GET …/notification_settings` → the caller's settings (every kind on until changed).
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/notification_settings",
    tag = "notification_settings",
    operation_id = "notification_settings_show",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The caller's settings", body = crate::web::openapi::schemas::NotificationSettings),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let (user_id, account_id) = (viewer.user_id, viewer.account_id);
    let s = state
        .db(move |conn| notifications::settings(conn, user_id, account_id))
        .await?;
    Ok(HttpResponse::Ok().json(view(&viewer, &s)))
}

/// Applies a PATCH body's `notification_settings` object (or the same fields bare) to `s`: `selected_email_flags`
/// (Chatwoot: the complete list of flags that are on) and/or the booleans (which win).
/// Errors: 422 naming the field.
pub fn apply(s: &mut Settings, body: &serde_json::Map<String, Value>) -> AppResult<()> {
    // The PATCH handler's `Wrapped` body has already lifted the `notification_settings`
    // wrapper; the bare form (the fields at the top) is read the same way.
    let inner = match body.get("notification_settings") {
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(AppError::invalid(
                "notification_settings",
                "send {\"notification_settings\": {\"selected_email_flags\": [...]}}",
            ))
        }
        None => body,
    };
    match inner.get("selected_email_flags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(flags)) => {
            let mut names = Vec::new();
            for f in flags {
                let name = f.as_str().ok_or_else(|| {
                    AppError::invalid("selected_email_flags", "flags must be strings")
                })?;
                // Chatwoot's other flags (SLA…) are accepted and ignored.
                names.push(name.to_string());
            }
            for kind in Kind::ALL {
                s.set(kind, names.iter().any(|n| n == kind.chatwoot_flag()));
            }
        }
        Some(_) => {
            return Err(AppError::invalid(
                "selected_email_flags",
                "selected_email_flags must be an array of flag names",
            ))
        }
    }
    for kind in Kind::ALL {
        if let Some(on) = bool_field(inner, kind.column())? {
            s.set(kind, on);
        }
    }
    Ok(())
}

/// `PATCH …/notification_settings` with `{"notification_settings": {"selected_email_flags":
/// [...]}}` or `{"notification_settings": {"email_conversation_assigned": false, …}}` → the
/// settings after the change. Errors: 400 for a body that is not a JSON object; 422 naming the
/// field.
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/notification_settings",
    tag = "notification_settings",
    operation_id = "notification_settings_update",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The caller's settings", body = crate::web::openapi::schemas::NotificationSettings),
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
    let body = body_object(&body)?;
    let (user_id, account_id) = (viewer.user_id, viewer.account_id);
    let s = state
        .db(move |conn| {
            let mut s = notifications::settings(conn, user_id, account_id)?;
            apply(&mut s, &body)?;
            notifications::save_settings(conn, user_id, account_id, &s)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view(&viewer, &s)))
}
