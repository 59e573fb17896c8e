//! `POST /api/v1/accounts/{account_id}/conversations`: Chatwoot's create-conversation call
//! (`conversations#create`), starting a conversation from the business's side. The rules
//! live in [`crate::domain::new_conversation`]; this reads the body and answers the
//! conversation as `GET /conversations/{display_id}` shows it.

use super::conversations::render;
use super::messages::outgoing_input_from_json;
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::new_conversation::{self, StartInput};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

/// An id written as a JSON number or a numeric string (Chatwoot clients send both);
/// `null`, `""` and absent read as `None`. Errors: 422 naming `field`.
fn id_field(m: &Map<String, Value>, field: &str) -> AppResult<Option<i64>> {
    let bad = || AppError::invalid(field, format!("{field} must be a positive whole number"));
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::Number(n)) => n.as_i64().filter(|&i| i >= 0).map(Some).ok_or_else(bad),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|&i| i >= 0)
            .map(Some)
            .ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// A text field (numbers are read as their digits, as a `source_id` often is one).
/// Errors: 422 naming `field` for other types or more than `max` characters.
fn text_field(m: &Map<String, Value>, field: &str, max: usize) -> AppResult<Option<String>> {
    let s = match m.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => {
            return Err(AppError::invalid(
                field,
                format!("{field} must be a string"),
            ))
        }
    };
    if s.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("{field} is limited to {max} characters"),
        ));
    }
    Ok(Some(s))
}

/// An object field; absent or `null` reads as empty. Errors: 422 naming `field`.
fn object_field(m: &Map<String, Value>, field: &str) -> AppResult<Map<String, Value>> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(o)) => Ok(o.clone()),
        Some(_) => Err(AppError::invalid(
            field,
            format!("{field} must be a JSON object"),
        )),
    }
}

/// Reads Chatwoot's body (bare, or wrapped as Rails wraps it: `{"conversation": {...}}`).
fn read_body(v: Value) -> AppResult<StartInput> {
    let Value::Object(mut m) = v else {
        return Err(AppError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    };
    if let Some(Value::Object(inner)) = m.remove("conversation") {
        for (k, v) in inner {
            m.entry(k).or_insert(v);
        }
    }
    let message = match m.get("message") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => {
            Some(outgoing_input_from_json(v.clone()).map_err(|e| match e {
                AppError::Unprocessable {
                    field: Some(f),
                    message,
                } => AppError::Unprocessable {
                    field: Some(format!("message.{f}")),
                    message,
                },
                other => other,
            })?)
        }
        Some(_) => {
            return Err(AppError::invalid(
                "message",
                "message must be an object such as {\"content\": \"…\"}",
            ))
        }
    };
    Ok(StartInput {
        inbox_id: id_field(&m, "inbox_id")?,
        source_id: text_field(&m, "source_id", 255)?,
        contact_id: id_field(&m, "contact_id")?,
        phone_number: text_field(&m, "phone_number", 64)?,
        name: text_field(&m, "name", 255)?,
        message,
        assignee_id: id_field(&m, "assignee_id")?,
        team_id: id_field(&m, "team_id")?,
        status: text_field(&m, "status", 32)?,
        additional_attributes: object_field(&m, "additional_attributes")?,
        custom_attributes: object_field(&m, "custom_attributes")?,
    })
}

/// `POST /conversations` → 200 with the conversation (the shape of
/// `GET /conversations/{display_id}`; `id` is the `display_id`). Body: `source_id`, or
/// `contact_id` + `inbox_id`, or (Switchboard) `phone_number` + `inbox_id` [+ `name`];
/// optional `message` `{content, template_params: {name, category, language,
/// processed_params}}`, `assignee_id`, `team_id`, `status`, `additional_attributes`,
/// `custom_attributes`. Errors: see [`new_conversation::start`].
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/conversations",
    tag = "conversation_create",
    operation_id = "conversation_create_create",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::schemas::NewConversationBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The conversation (an existing unresolved one of the contact, or the new one)", body = crate::web::openapi::schemas::Conversation),
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
    let input = read_body(Value::Object(super::params::body_object(&body)?))?;
    let st = state.get_ref().clone();
    let max_attempts = state.config.send_max_attempts;
    let (mut rendered, queued) = state
        .db(move |conn| {
            let started =
                new_conversation::start(conn, &viewer, input, max_attempts, chrono::Utc::now())?;
            let queued = started.message.as_ref().is_some_and(|(m, _)| !m.private);
            Ok((
                render(conn, &st, std::slice::from_ref(&started.conversation))?,
                queued,
            ))
        })
        .await?;
    if queued {
        state.send_wakeup.notify_one();
    }
    Ok(HttpResponse::Ok().json(rendered.remove(0)))
}
