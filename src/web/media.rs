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
    let full = state.config.storage_dir.join(relative);
    let file = actix_files::NamedFile::open_async(&full)
        .await
        .map_err(|e| AppError::NotFound(format!("media file missing on disk: {e}")))?;
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
        parameters: file
            .path()
            .file_name()
            .map(|n| {
                actix_web::http::header::DispositionParam::Filename(n.to_string_lossy().into())
            })
            .into_iter()
            .collect(),
    };
    let mut resp = file
        .set_content_type(mime)
        .set_content_disposition(disposition)
        .into_response(&req);
    let headers = resp.headers_mut();
    use actix_web::http::header::{HeaderName, HeaderValue};
    for (name, value) in [
        ("cache-control", "private, max-age=3600"),
        ("x-content-type-options", "nosniff"),
        ("content-security-policy", "sandbox; default-src 'none'"),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    Ok(resp)
}

/// `GET /media/avatars/{user_id}/{file}`: an agent's uploaded avatar (the profile's
/// `avatar_url`), for signed-in members of an account the agent belongs to (session cookie or
/// API token). The content type comes from the extension the upload got after its content
/// was sniffed ([`crate::domain::profile::set_avatar`]).
/// Errors: 401 unauthenticated; 404 for a caller sharing no account with the user, or a file
/// that is not the user's current avatar.
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
    let full = state.config.storage_dir.join(relative);
    let named = actix_files::NamedFile::open_async(&full)
        .await
        .map_err(|_| AppError::NotFound("avatar not found".into()))?;
    let mime: mime::Mime = crate::domain::profile::avatar_mime(&file)
        .parse()
        .unwrap_or(mime::APPLICATION_OCTET_STREAM);
    let mut resp = named.set_content_type(mime).into_response(&req);
    let headers = resp.headers_mut();
    use actix_web::http::header::{HeaderName, HeaderValue};
    for (name, value) in [
        ("cache-control", "private, max-age=3600"),
        ("x-content-type-options", "nosniff"),
        ("content-security-policy", "sandbox; default-src 'none'"),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    Ok(resp)
}
