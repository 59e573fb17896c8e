//! API authentication: the `api_access_token` header (Chatwoot's), or
//! `Authorization: Bearer <token>`.

use crate::app::AppState;
use crate::domain::accounts::{self, User, Viewer};
use crate::error::{AppError, AppResult};
use actix_web::HttpRequest;

fn token_of(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("api_access_token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            req.headers()
                .get(actix_web::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_string)
        })
        .filter(|t| !t.trim().is_empty())
}

/// The user behind the request's token. Errors: 401 when missing or unknown.
pub async fn current_user(state: &AppState, req: &HttpRequest) -> AppResult<User> {
    let token = token_of(req)
        .ok_or_else(|| AppError::Unauthorized("missing api_access_token header".into()))?;
    state
        .db(move |conn| accounts::authenticate_token(conn, &token))
        .await?
        .ok_or_else(|| AppError::Unauthorized("invalid api_access_token".into()))
}

/// The caller as a member of `account_id`. Errors: 401 without a valid token; 404 when the
/// user does not belong to the account (another account's data looks absent).
pub async fn viewer(state: &AppState, req: &HttpRequest, account_id: i64) -> AppResult<Viewer> {
    let user = current_user(state, req).await?;
    let user_id = user.id;
    let role = state
        .db(move |conn| accounts::role_in(conn, account_id, user_id))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("account {account_id} not found")))?;
    Ok(Viewer {
        user_id,
        account_id,
        role,
    })
}
