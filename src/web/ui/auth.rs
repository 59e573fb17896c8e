//! Sign in and out. Passwords are argon2id; failed and successful attempts alike are
//! rate-limited per client IP and per email; the error never says whether the email exists.

use super::{html, redirect, signed_in};
use crate::app::AppState;
use crate::domain::accounts;
use crate::web::session;
use actix_session::SessionExt;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use std::num::NonZeroU32;

/// Sign-in attempts allowed per client IP per minute.
pub const ATTEMPTS_PER_IP_PER_MINUTE: u32 = 20;
/// Sign-in attempts allowed per email per minute.
pub const ATTEMPTS_PER_EMAIL_PER_MINUTE: u32 = 5;

/// Per-IP and per-email sign-in limits (in memory, per process).
pub struct LoginThrottle {
    per_ip: DefaultKeyedRateLimiter<String>,
    per_email: DefaultKeyedRateLimiter<String>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        let per_minute = |n: u32| Quota::per_minute(NonZeroU32::new(n).expect("non-zero"));
        LoginThrottle {
            per_ip: RateLimiter::keyed(per_minute(ATTEMPTS_PER_IP_PER_MINUTE)),
            per_email: RateLimiter::keyed(per_minute(ATTEMPTS_PER_EMAIL_PER_MINUTE)),
        }
    }
}

impl LoginThrottle {
    /// Counts one attempt; false when the IP or the email is over its limit.
    pub fn allow(&self, ip: &str, email: &str) -> bool {
        let ip_ok = self.per_ip.check_key(&ip.to_string()).is_ok();
        let email_ok = self
            .per_email
            .check_key(&email.trim().to_lowercase())
            .is_ok();
        ip_ok && email_ok
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    email: String,
    error: Option<String>,
    notice: Option<String>,
}

/// `GET /app`: the first account's conversations, or the sign-in page.
pub async fn home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let (user, _) = match signed_in(&state, &req).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let user_id = user.id;
    match state
        .db(move |conn| accounts::first_account(conn, user_id))
        .await
    {
        Ok(Some(account_id)) => redirect(&format!("/app/accounts/{account_id}/conversations")),
        Ok(None) => HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body("Your user belongs to no account yet; ask an administrator to add you."),
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

/// `?signed_out=1` shows a notice.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    pub signed_out: Option<String>,
}

/// `GET /app/login`.
pub async fn login_form(req: HttpRequest, q: web::Query<LoginQuery>) -> HttpResponse {
    let session = req.get_session();
    if session::user_id(&session).is_some() {
        return redirect("/app");
    }
    let page = LoginPage {
        csrf: session::csrf_token(&session),
        email: String::new(),
        error: None,
        notice: q
            .signed_out
            .as_ref()
            .map(|_| "You have signed out.".to_string()),
    };
    html(&page).unwrap_or_else(|e| actix_web::ResponseError::error_response(&e))
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub csrf_token: String,
}

/// `POST /app/login`. Errors re-render the form: 403 for a stale form, 429 when rate
/// limited, 401 for a wrong email or password (one message for both).
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let session = req.get_session();
    let form = form.into_inner();
    let again = |status: actix_web::http::StatusCode, error: &str| {
        let page = LoginPage {
            csrf: session::csrf_token(&session),
            email: form.email.clone(),
            error: Some(error.to_string()),
            notice: None,
        };
        let mut resp = html(&page).unwrap_or_else(|e| actix_web::ResponseError::error_response(&e));
        *resp.status_mut() = status;
        resp
    };
    if session::check_csrf(&session, Some(&form.csrf_token)).is_err() {
        return again(
            actix_web::http::StatusCode::FORBIDDEN,
            "This form has expired. Please sign in again.",
        );
    }
    if form.email.trim().is_empty() || form.password.is_empty() {
        return again(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your email and password.",
        );
    }
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    if !state.login_throttle.allow(&ip, &form.email) {
        return again(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in attempts. Wait a minute and try again.",
        );
    }
    let (email, password) = (form.email.clone(), form.password.clone());
    match state
        .db(move |conn| accounts::verify_password(conn, &email, &password))
        .await
    {
        Ok(Some(user)) => {
            if let Err(e) = session::sign_in(&session, user.id)
                .and_then(|_| session::set_epoch(&session, user.session_epoch))
            {
                return actix_web::ResponseError::error_response(&e);
            }
            tracing::info!(user_id = user.id, "signed in");
            redirect("/app")
        }
        Ok(None) => again(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "That email and password do not match. Check them and try again.",
        ),
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

/// `POST /app/logout` (with the CSRF token).
pub async fn logout(req: HttpRequest, form: web::Form<LoginForm>) -> HttpResponse {
    let session = req.get_session();
    if session::check_csrf(&session, Some(&form.csrf_token)).is_ok() {
        session::sign_out(&session);
    }
    redirect("/app/login?signed_out=1")
}
