//! API authentication: the `api_access_token` header (Chatwoot's), or
//! `Authorization: Bearer <token>`, or the agent UI's session cookie (state-changing calls
//! with the cookie must carry the session's `X-CSRF-Token`).

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

/// The user behind the request's token, or its session cookie. Errors: 401 when neither
/// identifies a user; 403 for a state-changing cookie call without the CSRF header.
pub async fn current_user(state: &AppState, req: &HttpRequest) -> AppResult<User> {
    let Some(token) = token_of(req) else {
        use actix_session::SessionExt;
        let session = req.get_session();
        if let Some(user_id) = super::session::user_id(&session) {
            if !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS") {
                let submitted = req
                    .headers()
                    .get(super::session::CSRF_HEADER)
                    .and_then(|v| v.to_str().ok());
                super::session::check_csrf(&session, submitted)?;
            }
            let ended = || AppError::Unauthorized("your session has ended; sign in again".into());
            let user = state
                .db(move |conn| accounts::find_user(conn, user_id))
                .await
                .map_err(|_| ended())?;
            // A password change since sign-in ends the session (see `session::is_current`).
            if !super::session::is_current(&session, user.session_epoch) {
                return Err(ended());
            }
            return Ok(user);
        }
        return Err(AppError::Unauthorized(
            "missing api_access_token header".into(),
        ));
    };
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
