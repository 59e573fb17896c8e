//! Sign in and out. Passwords are argon2id; failed and successful attempts alike are
//! rate-limited per client IP and per email, across every server process (the counts live in
//! PostgreSQL, `domain::limits`); the error never says whether the email exists.

use super::{html, redirect, signed_in};
use crate::app::AppState;
use crate::domain::accounts;
use crate::web::session;
use actix_session::SessionExt;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

// Sign-in limits are shared by every server process through PostgreSQL
// (`domain::limits::allow_sign_in`, issue 15).
pub use crate::domain::limits::{
    SIGN_IN_PER_EMAIL_PER_MINUTE as ATTEMPTS_PER_EMAIL_PER_MINUTE,
    SIGN_IN_PER_IP_PER_MINUTE as ATTEMPTS_PER_IP_PER_MINUTE,
};

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
    let (ip2, email2) = (ip.clone(), form.email.clone());
    let allowed = match state
        .db(move |conn| crate::domain::limits::allow_sign_in(conn, &ip2, &email2))
        .await
    {
        Ok(allowed) => allowed,
        Err(e) => return actix_web::ResponseError::error_response(&e),
    };
    if !allowed {
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
