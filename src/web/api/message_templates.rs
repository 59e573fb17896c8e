//! `/api/v1/accounts/{account_id}/inboxes/{inbox_id}/message_templates…` (administrators):
//! create, edit and delete the inbox's WhatsApp message templates, and upload a header
//! sample. Drafts are checked against Meta's limits first
//! ([`crate::domain::template_builder`]): a draft that breaks one answers 422 and Graph is
//! not called. The shapes are in README ("Message templates").

use crate::app::AppState;
use crate::domain::inboxes::{self, Channel};
use crate::domain::template_builder::{self, FieldError};
use crate::domain::templates::Template;
use crate::error::{AppError, AppResult};
use crate::web::auth;
use crate::whatsapp::graph::GraphError;
use crate::whatsapp::{resumable_upload, template_management};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::{json, Value};

/// Largest header sample accepted, per format (Meta's media limits: images 5 MB, videos
/// 16 MB; documents are held to 16 MB here too).
pub fn max_sample_bytes(mime: &str) -> usize {
    if mime.starts_with("image/") {
        5 * 1024 * 1024
    } else {
        16 * 1024 * 1024
    }
}

/// 422 listing every refusal: `{"error","message","field","attributes":[…],"errors":[{"field","message"}…]}`
/// (`error`/`message`/`field` are the first refusal, as every other 422 of the API).
pub fn field_errors(errors: &[FieldError]) -> HttpResponse {
    let first = errors.first().cloned().unwrap_or(FieldError {
        field: "body".into(),
        message: "the template is not valid".into(),
    });
    HttpResponse::UnprocessableEntity().json(json!({
        "error": first.message,
        "message": first.message,
        "field": first.field,
        "attributes": errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
        "errors": errors,
    }))
}

/// A Graph failure as the API answers it: Meta's refusal (422, in Meta's words with code and
/// subcode, `field` = `name` for name clashes) or an unreachable Graph (502).
pub fn graph_failure(e: GraphError, what: &str) -> AppError {
    match &e {
        GraphError::Status { message, .. } if !e.is_transient() => {
            let field = if message.contains("subcode 2388024") || message.contains("subcode 2388023") {
                "name"
            } else {
                "template"
            };
            AppError::invalid(field, format!("Meta refused to {what}: {message}"))
        }
        _ => AppError::BadGateway(format!(
            "Could not reach the WhatsApp Cloud API to {what} ({e}); nothing was changed, please try again"
        )),
    }
}

/// The administrator's inbox with its channel and decrypted access token.
/// Errors: 401, 403 (agents), 404 (another account's inbox).
async fn admin_inbox(
    state: &AppState,
    req: &HttpRequest,
    account_id: i64,
    inbox_id: i64,
) -> AppResult<(Channel, String)> {
    auth::viewer(state, req, account_id)
        .await?
        .require_admin()?;
    let (_, channel) = state
        .db(move |conn| inboxes::find(conn, account_id, inbox_id))
        .await?;
    let token = channel.api_key(&state.secrets)?;
    Ok((channel, token))
}

/// `POST …/inboxes/{inbox_id}/message_templates` with a draft (README): checks it, creates
/// it with Graph (`POST /{waba_id}/message_templates`) and stores it with the status Meta
/// answered (usually `PENDING`; the `message_template_status_update` webhook brings
/// `APPROVED` or `REJECTED`). Answers the stored template
/// (`{"id","external_id","name","language","status","category","parameter_format","components",…}`).
/// Errors: 400 unreadable JSON; 422 naming each refused field (`errors`), or Meta's refusal;
/// 502 Graph unreachable.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/inboxes/{inbox_id}/message_templates",
    tag = "message_templates",
    operation_id = "message_templates_create",
    params(("account_id" = i64, Path, description = "The account's id"), ("inbox_id" = i64, Path, description = "The inbox's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The stored template (usually `PENDING`)", body = crate::web::openapi::schemas::StoredMessageTemplate),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: super::wrapped::Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, inbox_id) = path.into_inner();
    let (channel, token) = admin_inbox(&state, &req, account_id, inbox_id).await?;
    let input = Value::Object(body.json_object()?);
    let draft = match template_builder::parse(&input) {
        Ok(d) => d,
        Err(errors) => return Ok(field_errors(&errors)),
    };
    let created = template_management::create(
        &state.http,
        &state.config,
        &token,
        &channel.business_account_id,
        &draft.create_body(),
    )
    .await
    .map_err(|e| graph_failure(e, "create the template"))?;
    tracing::info!(inbox_id, template = %draft.name, external_id = %created.id, status = %created.status, "message template created");
    let stored = state
        .db(move |conn| {
            template_builder::store_created(
                conn,
                account_id,
                inbox_id,
                &draft,
                &created.id,
                &created.status,
                created.category.as_deref(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(stored))
}

/// `PATCH …/message_templates/{template_id}` (our id) with a draft: `name`, `language` and
/// `category` default to the template's own; every component is sent again (Meta replaces
/// them wholesale). Only APPROVED, REJECTED or PAUSED templates can be edited, never their
/// name or language, nor an approved one's category. Graph `POST /{template_id}`; the
/// template is then `PENDING` until the status webhook.
/// Errors: 404 not the inbox's; 422 as on create (`status` when Meta allows no edit);
/// 502 Graph unreachable.
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/inboxes/{inbox_id}/message_templates/{template_id}",
    tag = "message_templates",
    operation_id = "message_templates_update",
    params(("account_id" = i64, Path, description = "The account's id"), ("inbox_id" = i64, Path, description = "The inbox's id"), ("template_id" = i64, Path, description = "The message template's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The stored template, `PENDING` again", body = crate::web::openapi::schemas::StoredMessageTemplate),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64, i64)>,
    body: super::wrapped::Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, inbox_id, template_id) = path.into_inner();
    let (_, token) = admin_inbox(&state, &req, account_id, inbox_id).await?;
    let mut input = body.json_object()?;
    let current = state
        .db(move |conn| template_builder::find_in_inbox(conn, inbox_id, template_id))
        .await?;
    input.entry("name").or_insert_with(|| json!(current.name));
    input
        .entry("language")
        .or_insert_with(|| json!(current.language));
    input
        .entry("category")
        .or_insert_with(|| json!(current.category));
    input
        .entry("parameter_format")
        .or_insert_with(|| json!(current.parameter_format.to_ascii_lowercase()));
    let draft = match template_builder::parse(&Value::Object(input)) {
        Ok(d) => d,
        Err(errors) => return Ok(field_errors(&errors)),
    };
    let edit = match draft.edit_body(&current) {
        Ok(b) => b,
        Err(errors) => return Ok(field_errors(&errors)),
    };
    let Some(external_id) = current.external_id.clone() else {
        return Err(AppError::invalid(
            "template",
            "this template has no Meta id yet: sync the inbox's templates, then edit it",
        ));
    };
    template_management::edit(&state.http, &state.config, &token, &external_id, &edit)
        .await
        .map_err(|e| graph_failure(e, "edit the template"))?;
    let stored = state
        .db(move |conn| template_builder::store_edited(conn, template_id, &draft))
        .await?;
    Ok(HttpResponse::Ok().json(stored))
}

/// `DELETE …/message_templates/{template_id}` (our id): Graph
/// `DELETE /{waba_id}/message_templates?hsm_id=<Meta id>&name=<name>` (only this language),
/// or `?name=` alone for a template without a Meta id (every language of the name). Answers
/// `{"deleted": <rows removed>}`. Meta keeps the name of a deleted *approved* template for
/// 30 days. Errors: 404; 422 Meta's refusal (e.g. DISABLED templates); 502.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/inboxes/{inbox_id}/message_templates/{template_id}",
    tag = "message_templates",
    operation_id = "message_templates_destroy",
    params(("account_id" = i64, Path, description = "The account's id"), ("inbox_id" = i64, Path, description = "The inbox's id"), ("template_id" = i64, Path, description = "The message template's id")),
    responses(
        (status = 200, description = "How many stored templates were removed", body = crate::web::openapi::schemas::TemplatesDeleted),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn destroy(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, inbox_id, template_id) = path.into_inner();
    let (channel, token) = admin_inbox(&state, &req, account_id, inbox_id).await?;
    let current: Template = state
        .db(move |conn| template_builder::find_in_inbox(conn, inbox_id, template_id))
        .await?;
    template_management::delete(
        &state.http,
        &state.config,
        &token,
        &channel.business_account_id,
        &current.name,
        current.external_id.as_deref(),
    )
    .await
    .map_err(|e| graph_failure(e, "delete the template"))?;
    let by_id = current.external_id.is_some();
    let n = state
        .db(move |conn| template_builder::remove(conn, &current, by_id))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "deleted": n })))
}

/// `POST …/message_templates/header_sample` with a `multipart/form-data` body whose `file`
/// part is the sample (`image/jpeg`, `image/png`, `video/mp4` or `application/pdf`, by the
/// part's `Content-Type`): uploads it with Meta's Resumable Upload API (needs
/// `WHATSAPP_APP_ID`) and answers
/// `{"handle","format":"IMAGE"|"VIDEO"|"DOCUMENT","file_name","mime_type","size"}`; put
/// `handle` in the draft's `components.header.handle`.
/// Errors: 400 not multipart or unreadable; 413 over 5 MB (images) or 16 MB; 422 `file`
/// (missing, empty, wrong type, content not of that type), `WHATSAPP_APP_ID` unset, or
/// Meta's refusal; 502.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/inboxes/{inbox_id}/message_templates/header_sample",
    tag = "message_templates",
    operation_id = "message_templates_upload_header_sample",
    params(("account_id" = i64, Path, description = "The account's id"), ("inbox_id" = i64, Path, description = "The inbox's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The sample's upload handle", body = crate::web::openapi::schemas::HeaderSample),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn upload_header_sample(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let (account_id, inbox_id) = path.into_inner();
    let (_, token) = admin_inbox(&state, &req, account_id, inbox_id).await?;
    let is_multipart = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(AppError::BadRequest(
            "send the sample as multipart/form-data with the file in the field \"file\"".into(),
        ));
    }
    let sample = read_sample(actix_multipart::Multipart::new(req.headers(), payload)).await?;
    let Some((file_name, mime, bytes)) = sample else {
        return Err(AppError::invalid(
            "file",
            "choose a file for the header sample",
        ));
    };
    let format = sample_format(&mime).unwrap_or("IMAGE");
    if bytes.is_empty() {
        return Err(AppError::invalid("file", "the file is empty"));
    }
    if !looks_like(&mime, &bytes) {
        return Err(AppError::invalid(
            "file",
            format!("the file's content is not {mime}: choose the file again"),
        ));
    }
    if state.config.whatsapp_app_id.is_none() {
        return Err(AppError::invalid(
            "file",
            "header uploads need the Meta app id: set WHATSAPP_APP_ID and restart Switchboard",
        ));
    }
    let handle = resumable_upload::upload(
        &state.http,
        &state.config,
        &token,
        &file_name,
        &mime,
        &bytes,
    )
    .await
    .map_err(|e| match e {
        GraphError::Invalid(m) => AppError::BadGateway(format!(
            "The upload to Meta did not finish ({m}); please try again"
        )),
        other => graph_failure(other, "take the header sample"),
    })?;
    Ok(HttpResponse::Ok().json(json!({
        "handle": handle,
        "format": format,
        "file_name": file_name,
        "mime_type": mime,
        "size": bytes.len(),
    })))
}

/// The header format of a sample's MIME type.
fn sample_format(mime: &str) -> Option<&'static str> {
    match mime {
        "image/jpeg" | "image/jpg" | "image/png" => Some("IMAGE"),
        "video/mp4" => Some("VIDEO"),
        "application/pdf" => Some("DOCUMENT"),
        _ => None,
    }
}

/// The `file` part of a sample upload: (file name, MIME type, bytes); other parts are
/// skipped. The type is checked before the bytes are read, and reading stops at the type's
/// cap ([`max_sample_bytes`]).
async fn read_sample(
    mut form: actix_multipart::Multipart,
) -> AppResult<Option<(String, String, Vec<u8>)>> {
    let mut found = None;
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| AppError::BadRequest(format!("unreadable multipart body: {e}")))?;
        if field.name() != Some("file") || found.is_some() {
            while let Some(chunk) = field.next().await {
                chunk.map_err(|e| AppError::BadRequest(format!("upload broke off: {e}")))?;
            }
            continue;
        }
        let mime = field
            .content_type()
            .map(|m| m.essence_str().to_ascii_lowercase())
            .unwrap_or_default();
        if sample_format(&mime).is_none() {
            return Err(AppError::invalid(
                "file",
                format!(
                    "a header sample must be a JPEG or PNG image, an MP4 video or a PDF document (got {})",
                    if mime.is_empty() { "a file without a type" } else { &mime }
                ),
            ));
        }
        let file_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::trim)
            .filter(|n| !n.is_empty() && !n.contains(['\0', '/', '\\']) && n.chars().count() <= 200)
            .unwrap_or("header-sample")
            .to_string();
        let max = max_sample_bytes(&mime);
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| AppError::BadRequest(format!("upload broke off: {e}")))?;
            if bytes.len() + chunk.len() > max {
                return Err(AppError::PayloadTooLarge(format!(
                    "header samples of this type are limited to {} MB",
                    max / (1024 * 1024)
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        found = Some((file_name, mime, bytes));
    }
    Ok(found)
}

/// True when `bytes` start like a file of type `mime` (JPEG, PNG, PDF or MP4 signatures).
fn looks_like(mime: &str, bytes: &[u8]) -> bool {
    match mime {
        "image/jpeg" | "image/jpg" => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "application/pdf" => bytes.starts_with(b"%PDF-"),
        "video/mp4" => bytes.len() > 12 && &bytes[4..8] == b"ftyp",
        _ => false,
    }
}
