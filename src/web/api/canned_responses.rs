//! `/api/v1/accounts/{account_id}/canned_responses` (Chatwoot's Canned Responses API):
//! `GET [?search=]` lists (a bare array, as Chatwoot answers), `POST` creates, `PATCH /{id}`
//! changes, `DELETE /{id}` deletes. Bodies are JSON (`{"short_code","content"}`, also
//! accepted wrapped in `"canned_response"` as Rails sends it) or multipart with files in
//! `attachments[]`. `GET /{id}/attachments/{attachment_id}` serves an attachment's file (the
//! composer fetches it to attach it to the message being written).
//!
//! Every member lists and creates; administrators change and delete any, agents their own
//! (see [`crate::domain::canned_responses`]).

use super::messages::{read_form, refuse_declared_oversize, remove_uploads};
use super::params::string_field;
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::canned_responses::{self as canned, CannedInput, CannedWithAttachments};
use crate::domain::outbox::StoredUpload;
use crate::error::{AppError, AppResult};
use crate::web::auth;
use crate::whatsapp::outbound::MediaKind;
use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The kind Chatwoot names an attachment by (`image`, `audio`, `video`, `file`).
fn file_type(mime: &str) -> &'static str {
    match MediaKind::for_mime(mime) {
        MediaKind::Image | MediaKind::Sticker => "image",
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
        MediaKind::Document => "file",
    }
}

/// A canned response as Chatwoot answers it (`id, account_id, short_code, content,
/// created_at, updated_at`, times as RFC 3339 strings) plus `attachments`: `[{id, file_name,
/// file_type, content_type, file_size (bytes), data_url}]`, where `data_url` is the
/// account-scoped file route (session cookie or API token).
pub fn view(c: &CannedWithAttachments) -> Value {
    let r = &c.response;
    json!({
        "id": r.id,
        "account_id": r.account_id,
        "short_code": r.short_code,
        "content": r.content,
        "created_at": r.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "updated_at": r.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "attachments": c.attachments.iter().map(|a| json!({
            "id": a.id,
            "file_name": a.file_name,
            "file_type": file_type(&a.mime_type),
            "content_type": a.mime_type,
            "file_size": a.file_size,
            "data_url": format!(
                "/api/v1/accounts/{}/canned_responses/{}/attachments/{}",
                r.account_id, r.id, a.id
            ),
        })).collect::<Vec<_>>(),
    })
}

/// Reads the fields of a create/update body (JSON object or multipart text fields):
/// `short_code`, `content` (at the top or inside `canned_response`) and the attachments to
/// remove: `remove_attachment_ids` (JSON array of ids) or `remove_attachment_<id>` fields
/// (HTML checkboxes). Errors: 422 naming a mistyped field.
pub fn input_from(mut body: Map<String, Value>) -> AppResult<(CannedInput, Vec<i64>)> {
    if let Some(Value::Object(inner)) = body.remove("canned_response") {
        body.extend(inner);
    }
    // Multipart names in Rails' style: canned_response[short_code].
    let nested: Vec<(String, Value)> = body
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("canned_response[")
                .and_then(|r| r.strip_suffix(']'))
                .map(|inner| (inner.to_string(), v.clone()))
        })
        .collect();
    body.extend(nested);
    let mut remove = Vec::new();
    match body.get("remove_attachment_ids") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for v in items {
                remove.push(
                    super::params::id_field(v, "remove_attachment_ids")?.ok_or_else(|| {
                        AppError::invalid(
                            "remove_attachment_ids",
                            "remove_attachment_ids must hold ids",
                        )
                    })?,
                );
            }
        }
        Some(_) => {
            return Err(AppError::invalid(
                "remove_attachment_ids",
                "remove_attachment_ids must be an array of attachment ids",
            ))
        }
    }
    for k in body.keys() {
        if let Some(id) = k
            .strip_prefix("remove_attachment_")
            .and_then(|r| r.parse::<i64>().ok())
        {
            remove.push(id);
        }
    }
    Ok((
        CannedInput {
            short_code: string_field(&body, "short_code")?,
            content: string_field(&body, "content")?,
        },
        remove,
    ))
}

/// `?search=`.
#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    /// Matched against short codes and content, case-insensitive.
    pub search: Option<String>,
}

/// `GET /canned_responses[?search=]` → `[canned_response…]`: all by short code, or the
/// matches of `search` with short-code prefix matches first. Every member may list.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/canned_responses",
    tag = "canned_responses",
    operation_id = "canned_responses_index",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account's canned responses", body = Vec<crate::web::openapi::schemas::CannedResponse>),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<SearchQuery>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let search = q.into_inner().search;
    let list = state
        .db(move |conn| canned::list(conn, viewer.account_id, search.as_deref()))
        .await?;
    Ok(HttpResponse::Ok().json(list.iter().map(view).collect::<Vec<_>>()))
}

async fn save(
    state: &AppState,
    req: &HttpRequest,
    account_id: i64,
    id: Option<i64>,
    body: Map<String, Value>,
    uploads: Vec<StoredUpload>,
) -> AppResult<HttpResponse> {
    let parsed = input_from(body);
    let (input, remove) = match parsed {
        Ok(p) => p,
        Err(e) => {
            remove_uploads(state, &uploads).await;
            return Err(e);
        }
    };
    let viewer = match auth::viewer(state, req, account_id).await {
        Ok(v) => v,
        Err(e) => {
            remove_uploads(state, &uploads).await;
            return Err(e);
        }
    };
    let files = uploads.clone();
    let result = state
        .db(move |conn| match id {
            None => canned::create(conn, &viewer, &input, &files).map(|c| (c, vec![])),
            Some(id) => canned::update(conn, &viewer, id, &input, &files, &remove),
        })
        .await;
    match result {
        Ok((c, removed)) => {
            remove_stored(state, &removed).await;
            Ok(HttpResponse::Ok().json(view(&c)))
        }
        Err(e) => {
            remove_uploads(state, &uploads).await;
            Err(e)
        }
    }
}

/// Deletes files of removed attachments (storage keys, see [`crate::storage`]).
pub async fn remove_stored(state: &AppState, paths: &[String]) {
    state.storage.delete_all(paths).await;
}

fn json_body(body: &Wrapped) -> AppResult<Map<String, Value>> {
    super::params::body_object(body)
}

/// JSON `POST /canned_responses` `{"short_code","content"}` → the `canned_response`.
/// Errors: 422 naming `short_code` (blank, has spaces, over 64 characters, taken) or
/// `content` (blank, over 4096 characters).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/canned_responses",
    tag = "canned_responses",
    operation_id = "canned_responses_create_json",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content((crate::web::openapi::schemas::CannedResponseBody = "application/json"), (crate::web::openapi::MultipartForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "The new canned response", body = crate::web::openapi::schemas::CannedResponse),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn create_json(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let body = json_body(&body)?;
    save(&state, &req, path.into_inner(), None, body, vec![]).await
}

/// Multipart `POST /canned_responses` with `short_code`, `content` and files in
/// `attachments[]` (at most 10, 100 MB in all, as message uploads). Errors as
/// [`create_json`], plus 413 for too large uploads and 422 `attachments`.
pub async fn create_multipart(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    form: Multipart,
) -> AppResult<HttpResponse> {
    let account_id = path.into_inner();
    refuse_declared_oversize(&req)?;
    auth::viewer(&state, &req, account_id).await?;
    let (body, uploads) = read_form(&state, form).await?;
    save(&state, &req, account_id, None, body, uploads).await
}

/// JSON `PATCH /canned_responses/{id}` with any of `short_code`, `content`,
/// `remove_attachment_ids` → the `canned_response`. Errors: 404 (another account's id too);
/// 403 for an agent changing another's response; 422 as [`create_json`].
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/canned_responses/{id}",
    tag = "canned_responses",
    operation_id = "canned_responses_update_json",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content((crate::web::openapi::schemas::CannedResponseBody = "application/json"), (crate::web::openapi::MultipartForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "The canned response", body = crate::web::openapi::schemas::CannedResponse),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update_json(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let body = json_body(&body)?;
    save(&state, &req, account_id, Some(id), body, vec![]).await
}

/// Multipart `PATCH /canned_responses/{id}`: fields as [`update_json`]'s, new files in
/// `attachments[]` are added. Errors as [`update_json`] and [`create_multipart`].
pub async fn update_multipart(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    form: Multipart,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    refuse_declared_oversize(&req)?;
    auth::viewer(&state, &req, account_id).await?;
    let (body, uploads) = read_form(&state, form).await?;
    save(&state, &req, account_id, Some(id), body, uploads).await
}

/// `DELETE /canned_responses/{id}` → 200, empty body; its files are removed.
/// Errors: 404; 403 for an agent deleting another's response.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/canned_responses/{id}",
    tag = "canned_responses",
    operation_id = "canned_responses_destroy",
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
    let files = state
        .db(move |conn| canned::delete(conn, &viewer, id))
        .await?;
    remove_stored(&state, &files).await;
    Ok(HttpResponse::Ok().finish())
}

/// `GET /canned_responses/{id}/attachments/{attachment_id}`: the file, for every member of
/// the account (images, audio and video inline, anything else as a download; sandboxed).
/// Errors: 404 when absent, in another account, or missing on disk.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/canned_responses/{id}/attachments/{attachment_id}",
    tag = "canned_responses",
    operation_id = "canned_responses_attachment_file",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id"), ("attachment_id" = i64, Path, description = "The attachment's id")),
    responses(
        (status = 200, description = "The file, with its own Content-Type", body = String, content_type = "application/octet-stream"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn attachment_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id, attachment_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let a = state
        .db(move |conn| canned::find_attachment(conn, viewer.account_id, id, attachment_id))
        .await?;
    let mime: mime::Mime = a
        .mime_type
        .parse()
        .unwrap_or(mime::APPLICATION_OCTET_STREAM);
    let inline =
        matches!(mime.type_(), mime::IMAGE | mime::AUDIO | mime::VIDEO) && mime.subtype() != "svg";
    use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
    let disposition = ContentDisposition {
        disposition: if inline {
            DispositionType::Inline
        } else {
            DispositionType::Attachment
        },
        parameters: vec![DispositionParam::Filename(a.file_name.clone())],
    };
    crate::web::media::serve_stored(
        &state,
        &req,
        &a.storage_path,
        mime,
        Some(disposition),
        "attachment file missing in storage",
        "private, no-cache",
    )
    .await
}
