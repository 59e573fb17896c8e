//! Browser sessions for the agent UI: an encrypted, signed cookie (actix-session's cookie
//! store, key derived from `SECRET_KEY_BASE`) holding the user id and the session's CSRF
//! token. HttpOnly, SameSite=Lax, and Secure when `FRONTEND_URL` is https.
//!
//! CSRF: every state-changing form carries `csrf_token` and every state-changing `fetch`
//! the `X-CSRF-Token` header; both are compared in constant time with the session's token.

use crate::config::Config;
use crate::crypto;
use crate::error::{AppError, AppResult};
use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::{time::Duration, Key, SameSite};

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "switchboard_session";
/// Header carrying the CSRF token on `fetch` calls.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Session lifetime: 14 days, renewed on use.
pub const SESSION_DAYS: i64 = 14;

const USER_KEY: &str = "user_id";
const CSRF_KEY: &str = "csrf";
const EPOCH_KEY: &str = "epoch";

/// The session middleware for the UI and for cookie-authenticated API calls.
pub fn middleware(config: &Config) -> SessionMiddleware<CookieSessionStore> {
    let key = Key::derive_from(config.secret_key_base.as_bytes());
    SessionMiddleware::builder(CookieSessionStore::default(), key)
        .cookie_name(COOKIE_NAME.into())
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_secure(config.frontend_url.starts_with("https://"))
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(PersistentSession::default().session_ttl(Duration::days(SESSION_DAYS)))
        .build()
}

/// The signed-in user's id, if any.
pub fn user_id(session: &Session) -> Option<i64> {
    session.get::<i64>(USER_KEY).ok().flatten()
}

/// Signs `user_id` in: a fresh session (no fixation) with a fresh CSRF token.
pub fn sign_in(session: &Session, user_id: i64) -> AppResult<()> {
    session.renew();
    session.clear();
    session
        .insert(USER_KEY, user_id)
        .and_then(|_| session.insert(CSRF_KEY, crypto::new_api_token()))
        .map_err(|e| AppError::Internal(format!("session: {e}")))
}

/// Records the user's `session_epoch` in the session, right after [`sign_in`] (and after a
/// password change, for the session that changed it).
pub fn set_epoch(session: &Session, epoch: i32) -> AppResult<()> {
    session
        .insert(EPOCH_KEY, epoch)
        .map_err(|e| AppError::Internal(format!("session: {e}")))
}

/// The `session_epoch` recorded at sign-in (0 for sessions older than the column). A session
/// whose epoch differs from `users.session_epoch` ended with a password change: callers sign
/// it out ([`is_current`]).
pub fn epoch(session: &Session) -> i32 {
    session.get::<i32>(EPOCH_KEY).ok().flatten().unwrap_or(0)
}

/// True when the session was signed in under the user's current `session_epoch`, i.e. no
/// password change happened since (the cookie store keeps no server-side session list, so
/// this is how other sessions are signed out).
pub fn is_current(session: &Session, user_epoch: i32) -> bool {
    epoch(session) == user_epoch
}

/// Signs out: the session cookie is removed.
pub fn sign_out(session: &Session) {
    session.purge();
}

/// The session's CSRF token, created on first use (so the login form has one too).
pub fn csrf_token(session: &Session) -> String {
    if let Ok(Some(t)) = session.get::<String>(CSRF_KEY) {
        return t;
    }
    let t = crypto::new_api_token();
    let _ = session.insert(CSRF_KEY, &t);
    t
}

/// Checks a submitted CSRF token. Errors: 403 "…refresh the page…" when it is missing or
/// does not match.
pub fn check_csrf(session: &Session, submitted: Option<&str>) -> AppResult<()> {
    let expected = session.get::<String>(CSRF_KEY).ok().flatten();
    match (expected, submitted) {
        (Some(e), Some(s)) if crypto::secure_eq(e.as_bytes(), s.as_bytes()) => Ok(()),
        _ => Err(AppError::Forbidden(
            "This form has expired or did not come from Switchboard; refresh the page and try again".into(),
        )),
    }
}
