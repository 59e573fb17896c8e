//! `GET /media/attachments/{id}/{file_name}`: a downloaded media file, for authenticated users
//! who can see the attachment's inbox. This is the attachment's `data_url`.

use crate::app::AppState;
use crate::db::schema::messages;
use crate::domain::accounts;
use crate::domain::messages::find_attachment;
use crate::error::{AppError, AppResult};
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;

/// Serves the file. Errors: 401 unauthenticated; 404 unknown, not visible, or not downloaded.
pub async fn attachment_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, String)>,
) -> AppResult<HttpResponse> {
    let (id, _) = path.into_inner();
    let user = super::auth::current_user(&state, &req).await?;
    let (attachment, mime) = state
        .db(move |conn| {
            let not_found = || AppError::NotFound(format!("attachment {id} not found"));
            let a = find_attachment(conn, id)?.ok_or_else(not_found)?;
            let inbox_id: i64 = messages::table
                .find(a.message_id)
                .select(messages::inbox_id)
                .first(conn)?;
            let role = accounts::role_in(conn, a.account_id, user.id)?.ok_or_else(not_found)?;
            let viewer = accounts::Viewer {
                user_id: user.id,
                account_id: a.account_id,
                role,
            };
            if !viewer.can_see_inbox(conn, inbox_id)? {
                return Err(not_found());
            }
            let mime = a.mime_type.clone();
            Ok((a, mime))
        })
        .await?;
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
