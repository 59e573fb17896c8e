//! `GET /media/attachments/{id}/{file_name}`: a downloaded media file, for users who can see
//! the attachment's inbox, signed in with an API token or the agent UI's session cookie (the
//! route sits inside the session middleware, see `web::routes`). This is the attachment's
//! `data_url`, which the thread's `<img>`, `<audio>` and `<video>` elements load.

use crate::app::AppState;
use crate::domain::attachments;
use crate::error::{AppError, AppResult};
use actix_web::{web, HttpRequest, HttpResponse};

/// Serves the file. Errors: 401 with neither a token nor a session; 404 when the attachment
/// is unknown, not visible to the caller (another account, an inbox the agent is not a member
/// of), or not downloaded.
#[utoipa::path(
    get,
    path = "/media/attachments/{id}/{file_name}",
    tag = "media",
    operation_id = "media_attachment_file",
    params(("id" = i64, Path, description = "The resource's id"), ("file_name" = String, Path, description = "The stored file's name")),
    responses(
        (status = 200, description = "The file, with its own Content-Type (or 302 to a presigned URL)", body = String, content_type = "application/octet-stream"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn attachment_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, String)>,
) -> AppResult<HttpResponse> {
    let (id, _) = path.into_inner();
    let user = super::auth::current_user(&state, &req).await?;
    let attachment = state
        .db(move |conn| attachments::visible_to_user(conn, user.id, id))
        .await?;
    let mime = attachment.mime_type.clone();
    let Some(relative) = attachment
        .storage_path
        .clone()
        .filter(|_| attachment.download_status == "downloaded")
    else {
        return Err(AppError::NotFound(format!(
            "the media of attachment {id} is not available (download status: {})",
            attachment.download_status
        )));
    };
    // The sender chose the mime type: only images, audio and video render inline; anything
    // else (HTML, SVG, PDF…) downloads, and the response is sandboxed either way.
    let mime: mime::Mime = mime
        .as_deref()
        .and_then(|m| m.split(';').next())
        .and_then(|m| m.trim().parse().ok())
        .unwrap_or(mime::APPLICATION_OCTET_STREAM);
    let inline =
        matches!(mime.type_(), mime::IMAGE | mime::AUDIO | mime::VIDEO) && mime.subtype() != "svg";
    let disposition = actix_web::http::header::ContentDisposition {
        disposition: if inline {
            actix_web::http::header::DispositionType::Inline
        } else {
            actix_web::http::header::DispositionType::Attachment
        },
        parameters: relative
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .map(|n| actix_web::http::header::DispositionParam::Filename(n.to_string()))
            .into_iter()
            .collect(),
    };
    serve_stored(
        &state,
        &req,
        &relative,
        mime,
        Some(disposition),
        "media file missing in storage",
        CACHE_PRIVATE_HOUR,
    )
    .await
}

/// `GET /media/avatars/{user_id}/{file}`: an agent's uploaded avatar (the profile's
/// `avatar_url`), for signed-in members of an account the agent belongs to (session cookie or
/// API token). The content type comes from the extension the upload got after its content
/// was sniffed ([`crate::domain::profile::set_avatar`]).
/// Errors: 401 unauthenticated; 404 for a caller sharing no account with the user, or a file
/// that is not the user's current avatar.
#[utoipa::path(
    get,
    path = "/media/avatars/{user_id}/{file}",
    tag = "media",
    operation_id = "media_avatar_file",
    params(("user_id" = i64, Path, description = "The user's id"), ("file" = String, Path, description = "The stored file's name")),
    responses(
        (status = 200, description = "The image, with its own Content-Type", body = String, content_type = "application/octet-stream"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn avatar_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, String)>,
) -> AppResult<HttpResponse> {
    let (user_id, file) = path.into_inner();
    let viewer = super::auth::current_user(&state, &req).await?;
    let lookup = file.clone();
    let relative = state
        .db(move |conn| crate::domain::profile::avatar_file_for(conn, viewer.id, user_id, &lookup))
        .await?;
    let mime: mime::Mime = crate::domain::profile::avatar_mime(&file)
        .parse()
        .unwrap_or(mime::APPLICATION_OCTET_STREAM);
    serve_stored(
        &state,
        &req,
        &relative,
        mime,
        None,
        "avatar not found",
        CACHE_PRIVATE_HOUR,
    )
    .await
}

/// Cache policy of downloaded media and avatars (their keys never change content).
pub(crate) const CACHE_PRIVATE_HOUR: &str = "private, max-age=3600";

/// Headers of every served file (besides `cache_control`): no sniffing, and a sandbox so a file opened
/// on its own cannot script our origin.
const FILE_HEADERS: [(&str, &str); 2] = [
    ("x-content-type-options", "nosniff"),
    ("content-security-policy", "sandbox; default-src 'none'"),
];

/// Answers with the stored file `key` once the caller's authorization has been checked:
/// - local disk: the file as `actix_files` serves it (Range, ETag, Last-Modified, length);
/// - bucket with `STORAGE_REDIRECT_PRESIGNED`: `302` to a presigned URL valid for
///   `STORAGE_PRESIGNED_EXPIRY_SECONDS` (`cache-control: no-store`);
/// - bucket otherwise: the object streamed from the bucket with `Content-Length`,
///   `Accept-Ranges: bytes`, and `206`/`Content-Range` for one `Range: bytes=…` (several
///   ranges get the whole file; an unsatisfiable one answers `416`).
///
/// `disposition` None leaves the local default (inline for images) and sends none from a
/// bucket; `cache_control` goes on every answer but the redirect. Errors: 404 with `missing` when there is no such file.
pub(crate) async fn serve_stored(
    state: &AppState,
    req: &HttpRequest,
    key: &str,
    mime: mime::Mime,
    disposition: Option<actix_web::http::header::ContentDisposition>,
    missing: &str,
    cache_control: &'static str,
) -> AppResult<HttpResponse> {
    use actix_web::http::header::{self, HeaderName, HeaderValue};
    let storage = &state.storage;
    let mut resp = if let Some(full) = storage.local_path(key) {
        let file = actix_files::NamedFile::open_async(&full)
            .await
            .map_err(|e| AppError::NotFound(format!("{missing}: {e}")))?
            .set_content_type(mime);
        let file = match disposition {
            Some(d) => file.set_content_disposition(d),
            None => file,
        };
        file.into_response(req)
    } else if let Some(expiry) = storage.redirect_expiry() {
        let url = storage
            .presigned_get(key, expiry)
            .await?
            .ok_or_else(|| AppError::Internal("presigned URLs need a bucket".into()))?;
        return Ok(HttpResponse::Found()
            .insert_header((header::LOCATION, url.to_string()))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .finish());
    } else {
        let wanted = req
            .headers()
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let not_found = |e: crate::storage::StorageError| match e {
            crate::storage::StorageError::NotFound(_)
            | crate::storage::StorageError::InvalidKey(_) => {
                AppError::NotFound(missing.to_string())
            }
            other => other.into(),
        };
        let mut range = None;
        if let Some(raw) = wanted {
            let size = storage
                .head(key)
                .await
                .map_err(not_found)?
                .ok_or_else(|| AppError::NotFound(missing.to_string()))?
                .size;
            match actix_files::HttpRange::parse(&raw, size) {
                Ok(ranges) if ranges.len() == 1 => {
                    let r = &ranges[0];
                    range = Some(r.start..r.start + r.length);
                }
                Ok(_) => {}
                Err(_) => {
                    return Ok(HttpResponse::RangeNotSatisfiable()
                        .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")))
                        .finish())
                }
            }
        }
        let partial = range.is_some();
        let object = storage.get(key, range).await.map_err(not_found)?;
        let length = object.range.end - object.range.start;
        let mut builder = if partial {
            let mut b = HttpResponse::PartialContent();
            b.insert_header((
                header::CONTENT_RANGE,
                format!(
                    "bytes {}-{}/{}",
                    object.range.start,
                    object.range.end.saturating_sub(1),
                    object.size
                ),
            ));
            b
        } else {
            HttpResponse::Ok()
        };
        builder
            .content_type(mime)
            .insert_header((header::ACCEPT_RANGES, "bytes"))
            .no_chunking(length);
        if let Some(d) = disposition {
            builder.insert_header(d);
        }
        builder.streaming(object.stream)
    };
    let headers = resp.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    for (name, value) in FILE_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    Ok(resp)
}

/// Stores `bytes` as `user_id`'s new avatar and records it: the file goes to storage first,
/// then the user row points at it, then the previous file is deleted (the new file is
/// deleted instead when the database refuses). Errors: 422 naming `avatar` (see
/// [`crate::domain::profile::avatar_key`]), 500 when storage fails.
pub(crate) async fn upload_avatar(
    state: &AppState,
    user_id: i64,
    bytes: Vec<u8>,
) -> AppResult<crate::domain::accounts::User> {
    let key = store_avatar(state, user_id, &bytes).await?;
    let k = key.clone();
    match state
        .db(move |conn| crate::domain::profile::set_avatar(conn, user_id, &k))
        .await
    {
        Ok((user, previous)) => {
            state.storage.delete_all(previous.as_slice()).await;
            Ok(user)
        }
        Err(e) => {
            state.storage.delete_all(&[&key]).await;
            Err(e)
        }
    }
}

/// Checks and stores an avatar file; returns its key, not yet recorded on the user.
/// Errors as [`upload_avatar`]'s.
pub(crate) async fn store_avatar(
    state: &AppState,
    user_id: i64,
    bytes: &[u8],
) -> AppResult<String> {
    let key = crate::domain::profile::avatar_key(user_id, bytes)?;
    let mime = crate::domain::profile::avatar_mime(&key);
    state
        .storage
        .put(&key, bytes.to_vec().into(), Some(mime))
        .await?;
    Ok(key)
}

/// Removes `user_id`'s avatar and deletes its file. Errors: 404 for an unknown user.
pub(crate) async fn remove_avatar(
    state: &AppState,
    user_id: i64,
) -> AppResult<crate::domain::accounts::User> {
    let (user, previous) = state
        .db(move |conn| crate::domain::profile::remove_avatar(conn, user_id))
        .await?;
    state.storage.delete_all(previous.as_slice()).await;
    Ok(user)
}
