//! `POST /api/v1/accounts/{account_id}/attachments/{id}/retry_download`: queues a failed media
//! download again (Switchboard's addition; Chatwoot has no such route). Token or session
//! cookie with the CSRF header, like every API call of the agent UI.

use super::views;
use crate::app::AppState;
use crate::domain::attachments;
use crate::error::AppResult;
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};

/// Answers the attachment (`download_status: "pending"`, as [`views::attachment`]).
/// Errors: 401 unauthenticated; 403 cookie without CSRF header; 404 an attachment the caller
/// cannot see; 422 (`field: "download_status"`) when its download has not failed.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/attachments/{id}/retry_download",
    tag = "attachments",
    operation_id = "attachments_retry_download",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The attachment, its download queued again", body = crate::web::openapi::schemas::Attachment),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn retry_download(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let a = state
        .db(move |conn| attachments::retry_download(conn, &viewer, id))
        .await?;
    Ok(HttpResponse::Ok().json(views::attachment(&state.config, &a)))
}
