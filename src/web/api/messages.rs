//! `POST /api/v1/accounts/{account_id}/conversations/{display_id}/messages`: Chatwoot's
//! create-message call, as JSON or as multipart with `attachments[]`; and
//! `POST …/update_last_seen`, which sends the read receipt. The message is stored and
//! queued here and sent by the send job (`jobs::send`), never inside the request.

use super::views;
use crate::app::AppState;
use crate::domain::outbox::{self, OutgoingInput, StoredUpload};
use crate::domain::{conversations, templates};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use crate::whatsapp::interactive::Interactive;
use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::{json, Map, Value};

/// Largest upload accepted, in bytes (WhatsApp documents go up to 100 MB).
pub const MAX_UPLOAD_BYTES: usize = 100 * 1024 * 1024;
/// Largest non-file multipart field, in bytes.
const MAX_FIELD_BYTES: usize = 1024 * 1024;

/// Chatwoot's body, read from JSON or from multipart fields.
#[derive(Debug, Default)]
struct Body {
    content: Option<String>,
    message_type: Option<String>,
    /// Chatwoot's `content_type`; `input_select`, `cta_url` and `location_request` make an
    /// interactive message ([`Interactive::from_request`]), anything else is text.
    content_type: Option<String>,
    private: bool,
    content_attributes: Map<String, Value>,
    template_params: Option<Value>,
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.as_str(), "true" | "1" | "on"),
        Value::Number(n) => n.as_i64() == Some(1),
        _ => false,
    }
}

fn as_id(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl Body {
    fn from_json(v: Value) -> AppResult<Body> {
        let Value::Object(mut m) = v else {
            return Err(AppError::BadRequest(
                "the body must be a JSON object".into(),
            ));
        };
        let content = match m.remove("content") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(AppError::invalid("content", "content must be a string")),
        };
        let content_attributes = match m.remove("content_attributes") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(o)) => o,
            Some(Value::String(s)) if s.trim().is_empty() => Map::new(),
            Some(Value::String(s)) => match serde_json::from_str(&s) {
                Ok(Value::Object(o)) => o,
                _ => {
                    return Err(AppError::invalid(
                        "content_attributes",
                        "content_attributes must be a JSON object",
                    ))
                }
            },
            Some(_) => {
                return Err(AppError::invalid(
                    "content_attributes",
                    "content_attributes must be an object",
                ))
            }
        };
        let content_type = match m.remove("content_type") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                return Err(AppError::invalid(
                    "content_type",
                    "content_type must be a string such as \"text\" or \"input_select\"",
                ))
            }
        };
        let template_params = match m.remove("template_params") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(serde_json::from_str(&s).map_err(|e| {
                AppError::invalid(
                    "template_params",
                    format!("template_params is not JSON: {e}"),
                )
            })?),
            Some(v) => Some(v),
        };
        Ok(Body {
            content,
            message_type: m
                .remove("message_type")
                .and_then(|v| v.as_str().map(str::to_string)),
            content_type,
            private: m.get("private").is_some_and(truthy),
            content_attributes,
            template_params,
        })
    }

    fn into_input(self, attachments: Vec<StoredUpload>) -> AppResult<OutgoingInput> {
        match self.message_type.as_deref() {
            None | Some("outgoing") | Some("1") => {}
            Some(other) => {
                return Err(AppError::invalid(
                    "message_type",
                    format!(
                        "message_type {other:?} cannot be created in a WhatsApp inbox; use \"outgoing\""
                    ),
                ))
            }
        }
        let mut attrs = self.content_attributes;
        let in_reply_to = match attrs.remove("in_reply_to") {
            None | Some(Value::Null) => None,
            Some(v) => Some(as_id(&v).ok_or_else(|| {
                AppError::invalid(
                    "content_attributes.in_reply_to",
                    "in_reply_to must be a message id",
                )
            })?),
        };
        let is_reaction = attrs.remove("is_reaction").is_some_and(|v| truthy(&v));
        let interactive = Interactive::from_request(
            self.content_type.as_deref(),
            self.content.as_deref(),
            &mut attrs,
        )?;
        let template = match self.template_params {
            None => None,
            Some(v) => Some(
                serde_json::from_value::<templates::TemplateParams>(v).map_err(|e| {
                    AppError::invalid(
                        "template_params",
                        format!("template_params needs name, language and processed_params: {e}"),
                    )
                })?,
            ),
        };
        Ok(OutgoingInput {
            content: self.content,
            private: self.private,
            in_reply_to,
            is_reaction,
            template,
            attachments,
            interactive,
            extra_attributes: attrs,
            automated: None,
        })
    }
}

/// Reads a JSON message body of Chatwoot's create-message call (`content`, `message_type`,
/// `private`, `content_attributes`, `template_params`) into what [`outbox::create`] takes,
/// for other calls that carry a message (`POST /conversations`'s `message`).
/// Errors: 400 when it is not an object; 422 naming the field.
pub(crate) fn outgoing_input_from_json(v: Value) -> AppResult<OutgoingInput> {
    Body::from_json(v)?.into_input(vec![])
}

/// A file name safe to store: letters, digits, `.`, `-`, `_`; never empty or a dot name.
fn safe_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    if cleaned.trim_matches('.').is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

/// Largest multipart request accepted by its declared `Content-Length`: the attachments
/// ([`MAX_UPLOAD_BYTES`]) plus 256 KiB for text fields and multipart framing.
pub const MAX_MULTIPART_REQUEST_BYTES: u64 = MAX_UPLOAD_BYTES as u64 + 256 * 1024;

fn upload_too_large() -> AppError {
    AppError::PayloadTooLarge("attachments are limited to 100 MB".into())
}

/// 413 when the request declares a `Content-Length` over [`MAX_MULTIPART_REQUEST_BYTES`],
/// so an oversize upload is refused before any of it is read. A body without a declared
/// length (chunked) is limited while it streams ([`read_multipart`]).
pub(crate) fn refuse_declared_oversize(req: &HttpRequest) -> AppResult<()> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_MULTIPART_REQUEST_BYTES) {
        return Err(upload_too_large());
    }
    Ok(())
}

/// Reads a multipart body: text fields into [`Body`] (`content_attributes[in_reply_to]`
/// style keys are folded into `content_attributes`), files of `attachments[]` streamed to
/// storage under `outgoing/<random>/` as they arrive (at most 10 MiB buffered per file, then
/// a multipart upload), with a running
/// total. Errors: 413 when the files pass [`MAX_UPLOAD_BYTES`] (or a text field 1 MiB),
/// 400 unreadable or a text field holding NUL, 422 an empty file; on any error the files
/// written so far are removed.
async fn read_multipart(state: &AppState, form: Multipart) -> AppResult<(Body, Vec<StoredUpload>)> {
    let (fields, uploads) = read_form(state, form).await?;
    match Body::from_json(Value::Object(fields)) {
        Ok(body) => Ok((body, uploads)),
        Err(e) => {
            remove_uploads(state, &uploads).await;
            Err(e)
        }
    }
}

/// Reads a multipart form as [`read_multipart`] does, for other upload forms (canned
/// responses): the text fields by name (`content_attributes[…]` folded into
/// `content_attributes`) and the files, stored under `outgoing/<random>/` ([`crate::storage`]).
/// Errors as [`read_multipart`]'s; on any error the files written so far are removed.
pub(crate) async fn read_form(
    state: &AppState,
    form: Multipart,
) -> AppResult<(Map<String, Value>, Vec<StoredUpload>)> {
    let mut uploads = Vec::new();
    let result = read_multipart_into(state, form, &mut uploads).await;
    if result.is_err() {
        remove_uploads(state, &uploads).await;
    }
    result.map(|fields| (fields, uploads))
}

/// Removes stored uploads from storage (and, on the local disk, their emptied directories).
pub(crate) async fn remove_uploads(state: &AppState, uploads: &[StoredUpload]) {
    let keys: Vec<&str> = uploads.iter().map(|u| u.storage_path.as_str()).collect();
    state.storage.delete_all(&keys).await;
}

/// Streams one file field to storage under `key`, adding its size to `total`. Returns the
/// bytes written. Nothing is stored on error.
async fn stream_to_storage(
    state: &AppState,
    field: &mut actix_multipart::Field,
    key: &str,
    mime: &str,
    total: &mut usize,
) -> AppResult<usize> {
    let mut upload = state.storage.upload(key, Some(mime))?;
    let mut written = 0usize;
    let outcome: AppResult<()> = async {
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| AppError::BadRequest(format!("upload broke off: {e}")))?;
            *total += chunk.len();
            if *total > MAX_UPLOAD_BYTES {
                return Err(upload_too_large());
            }
            written += chunk.len();
            upload
                .write(&chunk)
                .await
                .map_err(|e| AppError::Internal(format!("storing {key}: {e}")))?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = outcome {
        upload.abort().await;
        return Err(e);
    }
    upload
        .finish()
        .await
        .map_err(|e| AppError::Internal(format!("storing {key}: {e}")))?;
    Ok(written)
}

async fn read_multipart_into(
    state: &AppState,
    mut form: Multipart,
    uploads: &mut Vec<StoredUpload>,
) -> AppResult<Map<String, Value>> {
    let mut fields = Map::new();
    let mut total = 0usize;
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| AppError::BadRequest(format!("unreadable multipart body: {e}")))?;
        let name = field.name().unwrap_or_default().to_string();
        crate::web::input_guard::check_text("name", &name)?;
        let file_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_string);
        if let Some(f) = &file_name {
            crate::web::input_guard::check_text("attachments", f)?;
        }
        // A browser's file input left empty sends a part with an empty file name: no file.
        if file_name.as_deref() == Some("") {
            while let Some(chunk) = field.next().await {
                chunk.map_err(|e| AppError::BadRequest(format!("upload broke off: {e}")))?;
            }
            continue;
        }
        if name.starts_with("attachments") || file_name.is_some() {
            let mime = field
                .content_type()
                .map(|m| m.essence_str().to_string())
                .filter(|m| m != "application/octet-stream")
                .or_else(|| {
                    file_name
                        .as_deref()
                        .and_then(|n| mime_for_extension(n).map(str::to_string))
                })
                .unwrap_or_else(|| "application/octet-stream".into());
            let stored_name = safe_name(file_name.as_deref().unwrap_or("file"));
            let relative = format!(
                "outgoing/{}/{}",
                crate::crypto::new_verify_token(),
                stored_name
            );
            let size = stream_to_storage(state, &mut field, &relative, &mime, &mut total).await?;
            if size == 0 {
                state.storage.delete_all(&[&relative]).await;
                return Err(AppError::invalid(
                    "attachments",
                    format!("{stored_name} is empty"),
                ));
            }
            uploads.push(StoredUpload {
                file_name: file_name.unwrap_or(stored_name),
                mime_type: mime,
                file_size: size as i64,
                storage_path: relative,
            });
        } else {
            let mut bytes = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk
                    .map_err(|e| AppError::BadRequest(format!("multipart field broke off: {e}")))?;
                if bytes.len() + chunk.len() > MAX_FIELD_BYTES {
                    return Err(AppError::PayloadTooLarge(format!(
                        "the multipart field {name} is larger than 1 MiB"
                    )));
                }
                bytes.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(bytes).map_err(|_| {
                AppError::BadRequest(format!("the multipart field {name} is not UTF-8 text"))
            })?;
            crate::web::input_guard::check_text(&name, &text)?;
            if let Some(inner) = name
                .strip_prefix("content_attributes[")
                .and_then(|r| r.strip_suffix(']'))
            {
                let attrs = fields
                    .entry("content_attributes")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(o) = attrs {
                    o.insert(inner.to_string(), Value::String(text));
                }
            } else {
                fields.insert(name, Value::String(text));
            }
        }
    }
    Ok(fields)
}

fn mime_for_extension(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "3gp" => "video/3gpp",
        "ogg" | "opus" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "amr" => "audio/amr",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        _ => return None,
    })
}

async fn create_message(
    state: &AppState,
    req: &HttpRequest,
    account_id: i64,
    display_id: i32,
    body: Body,
    uploads: Vec<StoredUpload>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(state, req, account_id).await?;
    let cleanup: Vec<String> = uploads.iter().map(|u| u.storage_path.clone()).collect();
    let input = match body.into_input(uploads) {
        Ok(i) => i,
        Err(e) => {
            state.storage.delete_all(&cleanup).await;
            return Err(e);
        }
    };
    let config = state.config.clone();
    let max_attempts = state.config.send_max_attempts;
    let created = state
        .db(move |conn| {
            let c = conversations::find_for_viewer(conn, &viewer, display_id)?;
            let (m, atts) = outbox::create(
                conn,
                &c,
                viewer.user_id,
                input,
                max_attempts,
                chrono::Utc::now(),
            )?;
            let sender = crate::domain::accounts::find_user(conn, viewer.user_id)?;
            let mut v = views::message(&config, &m, c.display_id, &atts, None);
            v["sender"] = views::user_sender(&sender);
            Ok(v)
        })
        .await;
    match created {
        Ok(v) => {
            state.send_wakeup.notify_one();
            Ok(HttpResponse::Ok().json(v))
        }
        Err(e) => {
            state.storage.delete_all(&cleanup).await;
            Err(e)
        }
    }
}

/// JSON `POST …/messages` → the message (status `progress`, or `sent` for a private note).
/// Errors: 422 naming the field; 404 for a conversation the caller cannot see.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/messages",
    tag = "messages",
    operation_id = "messages_create_json",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    request_body(content((crate::web::openapi::schemas::MessageBody = "application/json"), (crate::web::openapi::MultipartForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "The message (status `progress`, or `sent` for a private note)", body = crate::web::openapi::schemas::Message),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn create_json(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32)>,
    body: super::wrapped::Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, display_id) = path.into_inner();
    let body = Body::from_json(Value::Object(body.json_object()?))?;
    create_message(&state, &req, account_id, display_id, body, vec![]).await
}

/// Multipart `POST …/messages` with `attachments[]` files (Chatwoot's `curl -F` form).
/// Errors: 413 at once when `Content-Length` declares more than
/// [`MAX_MULTIPART_REQUEST_BYTES`], or as soon as the streamed files pass
/// [`MAX_UPLOAD_BYTES`]; 401 before any file is accepted without credentials.
pub async fn create_multipart(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32)>,
    form: Multipart,
) -> AppResult<HttpResponse> {
    let (account_id, display_id) = path.into_inner();
    refuse_declared_oversize(&req)?;
    // Authenticate before accepting any file.
    auth::viewer(&state, &req, account_id).await?;
    let (body, uploads) = read_multipart(&state, form).await?;
    create_message(&state, &req, account_id, display_id, body, uploads).await
}

/// `POST …/conversations/{display_id}/update_last_seen`: the agent has read the
/// conversation. Sends a read receipt for the latest unread incoming message (Meta shows the
/// customer blue ticks). Answers `{"agent_last_seen_at": unix seconds, "read_receipt_for": wamid|null}`.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/update_last_seen",
    tag = "messages",
    operation_id = "messages_update_last_seen",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "Read", body = crate::web::openapi::schemas::LastSeen),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update_last_seen(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32)>,
) -> AppResult<HttpResponse> {
    let (account_id, display_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let now = chrono::Utc::now();
    let wamid = state
        .db(move |conn| {
            let c = conversations::find_for_viewer(conn, &viewer, display_id)?;
            outbox::mark_seen(conn, &c, now)
        })
        .await?;
    if wamid.is_some() {
        state.send_wakeup.notify_one();
    }
    Ok(HttpResponse::Ok().json(json!({
        "agent_last_seen_at": now.timestamp(),
        "read_receipt_for": wamid,
    })))
}

/// `POST …/conversations/{display_id}/messages/{message_id}/retry`: sends a failed outgoing
/// message again through the send job ([`outbox::retry`]). Answers the message (status
/// `progress`). Errors: 404 for a conversation or message the caller cannot see (another
/// account's ids too); 422 `message_id` when the message has not failed or is not an
/// outgoing WhatsApp message; 422 `content` when the 24-hour window is closed (templates
/// excepted).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/messages/{message_id}/retry",
    tag = "messages",
    operation_id = "messages_retry",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)"), ("message_id" = i64, Path, description = "The message's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The message (status `progress`)", body = crate::web::openapi::schemas::Message),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn retry(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, display_id, message_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let config = state.config.clone();
    let max_attempts = state.config.send_max_attempts;
    let v = state
        .db(move |conn| {
            let c = conversations::find_for_viewer(conn, &viewer, display_id)?;
            let m = outbox::retry(conn, &c, message_id, max_attempts, chrono::Utc::now())?;
            let atts = crate::domain::messages::attachments_of(conn, &[m.id])?;
            Ok(views::message(&config, &m, c.display_id, &atts, None))
        })
        .await?;
    state.send_wakeup.notify_one();
    Ok(HttpResponse::Ok().json(v))
}

/// `DELETE …/conversations/{display_id}/messages/{message_id}` (Chatwoot:
/// `messages#destroy`): the agent's own outgoing message (any message for an administrator)
/// is marked deleted, its content replaced with "This message was deleted" and its
/// attachments removed ([`crate::domain::messages::delete_by_agent`]); answers the message.
/// WhatsApp's Cloud API has no delete-for-everyone: the customer still has the message.
/// Errors: 404 for a conversation or message the caller cannot see (another account's ids
/// too); 403 for another agent's message; 422 `message_id` for a customer's message or an
/// activity line.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/messages/{message_id}",
    tag = "messages",
    operation_id = "messages_destroy",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)"), ("message_id" = i64, Path, description = "The message's id")),
    responses(
        (status = 200, description = "The message, marked deleted", body = crate::web::openapi::schemas::Message),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn destroy(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, display_id, message_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let config = state.config.clone();
    let (v, files) = state
        .db(move |conn| {
            let c = conversations::find_for_viewer(conn, &viewer, display_id)?;
            let (m, files) =
                crate::domain::messages::delete_by_agent(conn, &viewer, c.id, message_id)?;
            Ok((views::message(&config, &m, c.display_id, &[], None), files))
        })
        .await?;
    state.storage.delete_all(&files).await;
    Ok(HttpResponse::Ok().json(v))
}
