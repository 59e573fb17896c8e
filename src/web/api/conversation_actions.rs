//! Conversation actions under `/api/v1/accounts/{account_id}/conversations/{display_id}/`:
//! `toggle_status`, `toggle_priority`, `assignments` and `labels`, as Chatwoot answers them.
//! The rules live in [`crate::domain::conversations`]; these handlers read the body and
//! shape the answer.

use super::views;
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::accounts::Viewer;
use crate::domain::conversations::{self, AssignTo};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde_json::{json, Map, Value};

type ConversationPath = web::Path<(i64, i32)>;

/// Hands back the parsed `input` once the viewer is known to see the conversation: a 404
/// comes before any 400/422, so nobody learns of a conversation from a validation error.
fn visible<T>(
    conn: &mut PgConnection,
    viewer: &Viewer,
    display_id: i32,
    input: AppResult<T>,
) -> AppResult<T> {
    conversations::find_for_viewer(conn, viewer, display_id)?;
    input
}

/// The request body as a JSON object (an empty or absent body reads as `{}`), a Rails
/// wrapper lifted when `body` is a [`Wrapped`](super::wrapped::Wrapped) body.
/// Errors: 400 when it is not a JSON object.
pub(crate) fn body_object(body: &impl super::wrapped::RawBody) -> AppResult<Map<String, Value>> {
    body.object()
}

/// A string field; `null` and absent read as `None`. Errors: 422 naming `field` otherwise.
pub(crate) fn string_field(body: &Map<String, Value>, field: &str) -> AppResult<Option<String>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(AppError::invalid(
            field,
            format!("{field} must be a string, not {other}"),
        )),
    }
}

/// An id field: a JSON integer or a string of digits (Chatwoot's params are strings);
/// `null` reads as `None`. Errors: 422 naming `field` otherwise.
pub(crate) fn id_field(value: &Value, field: &str) -> AppResult<Option<i64>> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) if n.as_i64().is_some() => Ok(n.as_i64()),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| AppError::invalid(field, format!("{field} must be an id, not {s:?}"))),
        other => Err(AppError::invalid(
            field,
            format!("{field} must be an id, not {other}"),
        )),
    }
}

/// `snoozed_until` as unix seconds (a number or a string of digits); `null` reads as `None`.
/// Errors: 422 naming `snoozed_until`.
fn unix_time_field(body: &Map<String, Value>) -> AppResult<Option<DateTime<Utc>>> {
    let invalid = || AppError::invalid("snoozed_until", "snoozed_until must be unix seconds");
    let secs = match body.get("snoozed_until") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64().ok_or_else(invalid)?,
        Some(Value::String(s)) => s.trim().parse::<f64>().map_err(|_| invalid())?,
        Some(_) => return Err(invalid()),
    };
    if !secs.is_finite() {
        return Err(invalid());
    }
    DateTime::from_timestamp(secs.floor() as i64, 0)
        .map(Some)
        .ok_or_else(invalid)
}

/// `POST …/toggle_status` `{"status"?, "snoozed_until"?}` →
/// `{"meta":{},"payload":{"success":true,"current_status":…,"conversation_id":…,"snoozed_until":…}}`.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/toggle_status",
    tag = "conversation_actions",
    operation_id = "conversation_actions_toggle_status",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    request_body(content = crate::web::openapi::schemas::ToggleStatusBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The new status", body = crate::web::openapi::schemas::ToggleStatusResponse),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn toggle_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: ConversationPath,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, display_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let input = body_object(&body).and_then(|body| {
        // Chatwoot toggles when `status` is blank (`params[:status].present?`).
        let status = string_field(&body, "status")?.filter(|s| !s.trim().is_empty());
        Ok((status, unix_time_field(&body)?))
    });
    let c = state
        .db(move |conn| {
            let (status, snoozed_until) = visible(conn, &viewer, display_id, input)?;
            conversations::toggle_status(
                conn,
                &viewer,
                display_id,
                status.as_deref().map(str::trim),
                snoozed_until,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "meta": {},
        "payload": {
            "success": true,
            "current_status": c.status,
            "conversation_id": c.display_id,
            "snoozed_until": c.snoozed_until.map(|t| t.timestamp()),
        },
    })))
}

/// `POST …/mute` → 200, empty body (Chatwoot: `head :ok`): resolves and mutes the
/// conversation (see `conversations::set_muted`). Errors: 404 for a conversation the caller
/// cannot see.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/mute",
    tag = "conversation_actions",
    operation_id = "conversation_actions_mute",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "Done; the body is empty (Chatwoot answers `head :ok`)"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn mute(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: ConversationPath,
) -> AppResult<HttpResponse> {
    set_muted(state, req, path, true).await
}

/// `POST …/unmute` → 200, empty body: the customer's messages reopen it and notify again.
/// Errors: 404.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/unmute",
    tag = "conversation_actions",
    operation_id = "conversation_actions_unmute",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "Done; the body is empty (Chatwoot answers `head :ok`)"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn unmute(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: ConversationPath,
) -> AppResult<HttpResponse> {
    set_muted(state, req, path, false).await
}

async fn set_muted(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: ConversationPath,
    muted: bool,
) -> AppResult<HttpResponse> {
    let (account_id, display_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    state
        .db(move |conn| conversations::set_muted(conn, &viewer, display_id, muted))
        .await?;
    Ok(HttpResponse::Ok().finish())
}

/// `POST …/toggle_priority` `{"priority":"urgent|high|medium|low|none"}` → 200 with an empty
/// body, as Chatwoot answers.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/toggle_priority",
    tag = "conversation_actions",
    operation_id = "conversation_actions_toggle_priority",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    request_body(content = crate::web::openapi::schemas::PriorityBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Done; the body is empty (Chatwoot answers `head :ok`)"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn toggle_priority(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: ConversationPath,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, display_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let input = body_object(&body).and_then(|body| match body.get("priority") {
        None => Err(AppError::invalid(
            "priority",
            "priority is required: urgent, high, medium, low or none",
        )),
        Some(Value::Null) => Ok("none".to_string()),
        Some(_) => Ok(string_field(&body, "priority")?.unwrap_or_default()),
    });
    state
        .db(move |conn| {
            let priority = visible(conn, &viewer, display_id, input)?;
            conversations::set_priority(conn, &viewer, display_id, &priority)
        })
        .await?;
    Ok(HttpResponse::Ok().finish())
}

/// `POST …/assignments` `{"assignee_id": n}` or `{"team_id": n}` (`assignee_id` wins when both
/// keys are present; `null` or `0` unassigns) → the assignee as Chatwoot's `agent`, the team,
/// or `null` when unassigned or when neither key is given (nothing changes then).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/assignments",
    tag = "conversation_actions",
    operation_id = "conversation_actions_assign",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    request_body(content = crate::web::openapi::schemas::AssignmentBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The assignee, the team, or null", body = crate::web::openapi::schemas::AssignmentResult),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn assign(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: ConversationPath,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, display_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let input = body_object(&body).and_then(|body| {
        Ok(if let Some(v) = body.get("assignee_id") {
            Some(AssignTo::Agent(id_field(v, "assignee_id")?))
        } else if let Some(v) = body.get("team_id") {
            Some(AssignTo::Team(id_field(v, "team_id")?))
        } else {
            // Chatwoot renders `null` and changes nothing.
            None
        })
    });
    let host = state.config.frontend_url.clone();
    let answer = state
        .db(move |conn| {
            let Some(to) = visible(conn, &viewer, display_id, input)? else {
                return Ok(None);
            };
            let (_, assignment) = conversations::assign(conn, &viewer, display_id, to)?;
            Ok(match to {
                AssignTo::Agent(_) => assignment
                    .assignee
                    .as_ref()
                    .map(|m| views::member(m, &host)),
                AssignTo::Team(_) => assignment.team.as_ref().map(views::team),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer.unwrap_or(Value::Null)))
}

/// `GET …/labels` → `{"payload":["billing","support"]}`.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/labels",
    tag = "conversation_actions",
    operation_id = "conversation_actions_labels",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    responses(
        (status = 200, description = "The conversation's labels", body = crate::web::openapi::schemas::LabelTitles),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn labels(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: ConversationPath,
) -> AppResult<HttpResponse> {
    let (account_id, display_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let c = state
        .db(move |conn| conversations::find_for_viewer(conn, &viewer, display_id))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": c.labels })))
}

/// `POST …/labels` `{"labels":["support","billing"]}` replaces the list (Chatwoot's semantics)
/// → the normalised list as `{"payload":[…]}`.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/labels",
    tag = "conversation_actions",
    operation_id = "conversation_actions_set_labels",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    request_body(content = crate::web::openapi::schemas::LabelsBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The conversation's labels now", body = crate::web::openapi::schemas::LabelTitles),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn set_labels(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: ConversationPath,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, display_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let input = body_object(&body).and_then(|body| match body.get("labels") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(AppError::invalid(
                    "labels",
                    format!("labels must be strings, not {other}"),
                )),
            })
            .collect::<AppResult<Vec<String>>>(),
        _ => Err(AppError::invalid(
            "labels",
            "labels is required: an array of strings",
        )),
    });
    let c = state
        .db(move |conn| {
            let labels = visible(conn, &viewer, display_id, input)?;
            conversations::set_labels(conn, &viewer, display_id, &labels)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": c.labels })))
}

/// Reads a `PATCH /conversations/{display_id}` body (bare or `{"conversation": {…}}`):
/// `priority` (a string, `null` or `none` removes it), `custom_attributes` (an object),
/// `assignee_id`, `team_id` (ids; `null` or `0` unassigns), `sla_policy_id` (issue 13: applies
/// the policy, replacing the applied SLA; `null` or `0` removes it). Unknown fields are ignored, as
/// Rails' permitted params do. Errors: 422 naming the field.
fn patch_input(body: &Map<String, Value>) -> AppResult<conversations::ConversationPatch> {
    let priority = match body.get("priority") {
        None => None,
        Some(Value::Null) => Some("none".to_string()),
        Some(_) => Some(string_field(body, "priority")?.unwrap_or_default()),
    };
    let custom_attributes = match body.get("custom_attributes") {
        None => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(Value::Null) => Some(json!({})),
        Some(other) => {
            return Err(AppError::invalid(
                "custom_attributes",
                format!("custom_attributes must be a JSON object, not {other}"),
            ))
        }
    };
    let assignee_id = match body.get("assignee_id") {
        None => None,
        Some(v) => Some(id_field(v, "assignee_id")?),
    };
    let team_id = match body.get("team_id") {
        None => None,
        Some(v) => Some(id_field(v, "team_id")?),
    };
    let sla_policy_id = match body.get("sla_policy_id") {
        None => None,
        Some(v) => Some(id_field(v, "sla_policy_id")?.filter(|id| *id != 0)),
    };
    Ok(conversations::ConversationPatch {
        priority,
        custom_attributes,
        assignee_id,
        team_id,
        sla_policy_id,
    })
}

/// `PATCH /conversations/{display_id}` (Chatwoot: `conversations#update`) with `priority`,
/// `custom_attributes`, `assignee_id`, `team_id` (see [`conversations::update`]) → the
/// conversation as `GET` renders it. Errors: 404 for a conversation the caller cannot see
/// (before any 422); 422 naming the field.
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}",
    tag = "conversation_actions",
    operation_id = "conversation_actions_update",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    request_body(content = crate::web::openapi::schemas::ConversationPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The conversation", body = crate::web::openapi::schemas::Conversation),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: ConversationPath,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, display_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let input = body_object(&body).and_then(|b| patch_input(&b));
    let st = state.get_ref().clone();
    let mut rendered = state
        .db(move |conn| {
            let patch = visible(conn, &viewer, display_id, input)?;
            let c = conversations::update(conn, &viewer, display_id, patch)?;
            super::conversations::render(conn, &st, std::slice::from_ref(&c))
        })
        .await?;
    Ok(HttpResponse::Ok().json(rendered.remove(0)))
}
