//! Setting a password from a one-time link (an invitation's
//! `{FRONTEND_URL}/app/password/reset?token=…`). The page is public: the token in the link is
//! the credential. Whether a token exists, expired or was used is never told apart: the one
//! answer is [`accounts::EXPIRED_LINK`], and only once a valid password was submitted.

use super::{html, redirect};
use crate::app::AppState;
use crate::domain::accounts;
use crate::error::AppError;
use crate::web::session;
use actix_session::SessionExt;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Template)]
#[template(path = "password_reset.html")]
struct PasswordPage {
    csrf: String,
    token: String,
    errors: HashMap<String, String>,
    error: String,
    link_error: String,
    min_chars: usize,
    max_chars: usize,
}

impl PasswordPage {
    fn new(csrf: String, token: String) -> Self {
        PasswordPage {
            csrf,
            token,
            errors: HashMap::new(),
            error: String::new(),
            link_error: String::new(),
            min_chars: accounts::MIN_PASSWORD_CHARS,
            max_chars: accounts::MAX_PASSWORD_CHARS,
        }
    }
}

/// Renders the page with `status`; the link's token never leaves through a `Referer`.
fn render(page: &PasswordPage, status: StatusCode) -> HttpResponse {
    let mut resp = html(page).unwrap_or_else(|e| actix_web::ResponseError::error_response(&e));
    if resp.status().is_success() {
        *resp.status_mut() = status;
        resp.headers_mut().insert(
            header::REFERRER_POLICY,
            header::HeaderValue::from_static("no-referrer"),
        );
    }
    resp
}

/// `?token=` of the link.
#[derive(Debug, Default, Deserialize)]
pub struct ResetQuery {
    /// The one-time token from the email.
    pub token: Option<String>,
}

/// `GET /app/password/reset?token=…`: the form (new password, repeat). The token is not
/// looked up here, so opening a link tells nothing about it; a link without a token shows
/// [`accounts::EXPIRED_LINK`].
pub async fn form(req: HttpRequest, q: web::Query<ResetQuery>) -> HttpResponse {
    let session = req.get_session();
    let token = q.into_inner().token.unwrap_or_default().trim().to_string();
    let mut page = PasswordPage::new(session::csrf_token(&session), token);
    if page.token.is_empty() {
        page.link_error = accounts::EXPIRED_LINK.into();
    }
    render(&page, StatusCode::OK)
}

/// The form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct ResetForm {
    /// The one-time token from the link.
    #[serde(default)]
    pub token: String,
    /// The new password.
    #[serde(default)]
    pub password: String,
    /// The new password again.
    #[serde(default)]
    pub password_confirmation: String,
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf_token: String,
}

/// `POST /app/password/reset`: sets the password ([`accounts::reset_password_with_token`]),
/// signs the user in and redirects to `/app`. Errors re-render the form: 403 for a stale
/// form; 422 with the message next to the field for a too short or long password or a
/// different repetition; 422 with [`accounts::EXPIRED_LINK`] for an unknown, expired or used
/// link.
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ResetForm>,
) -> HttpResponse {
    let session = req.get_session();
    let form = form.into_inner();
    let token = form.token.trim().to_string();
    let mut page = PasswordPage::new(session::csrf_token(&session), token.clone());
    if session::check_csrf(&session, Some(&form.csrf_token)).is_err() {
        page.error = "This form has expired. Enter your new password again.".into();
        return render(&page, StatusCode::FORBIDDEN);
    }
    if let Err(e) = accounts::validate_password(&form.password) {
        page.errors.insert("password".into(), e.to_string());
        return render(&page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    if form.password != form.password_confirmation {
        page.errors.insert(
            "password_confirmation".into(),
            "The two passwords differ. Type the same password twice.".into(),
        );
        return render(&page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let password = form.password;
    match state
        .db(move |conn| accounts::reset_password_with_token(conn, &token, &password))
        .await
    {
        Ok(user) => {
            if let Err(e) = session::sign_in(&session, user.id)
                .and_then(|_| session::set_epoch(&session, user.session_epoch))
            {
                return actix_web::ResponseError::error_response(&e);
            }
            tracing::info!(user_id = user.id, "password set from a link; signed in");
            redirect("/app")
        }
        Err(AppError::Unprocessable {
            field: Some(field),
            message,
        }) => {
            if field == "token" {
                page.link_error = message;
            } else {
                page.errors.insert(field, message);
            }
            render(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    csrf: String,
    email: String,
    notice: String,
    error: String,
}

/// `GET /app/password/forgot`: the "Forgot your password?" form (email only).
pub async fn forgot_form(req: HttpRequest) -> HttpResponse {
    let session = req.get_session();
    let page = ForgotPage {
        csrf: session::csrf_token(&session),
        email: String::new(),
        notice: String::new(),
        error: String::new(),
    };
    render_forgot(&page, StatusCode::OK)
}

fn render_forgot(page: &ForgotPage, status: StatusCode) -> HttpResponse {
    let mut resp = html(page).unwrap_or_else(|e| actix_web::ResponseError::error_response(&e));
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    resp
}

/// The forgot-password form.
#[derive(Debug, Default, Deserialize)]
pub struct ForgotForm {
    /// The address the link goes to, when a user has it.
    #[serde(default)]
    pub email: String,
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf_token: String,
}

/// `POST /app/password/forgot`: answers [`profile::RESET_ANSWER`] (200) whether or not the
/// address is known, within the rate limits or over them
/// ([`profile::request_password_reset`]: per address and per IP, in the database).
/// Errors re-render the form: 403 for a stale form; 422 when the text is not an email address.
pub async fn forgot_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ForgotForm>,
) -> HttpResponse {
    use crate::domain::profile;
    let session = req.get_session();
    let form = form.into_inner();
    let mut page = ForgotPage {
        csrf: session::csrf_token(&session),
        email: form.email.clone(),
        notice: String::new(),
        error: String::new(),
    };
    if session::check_csrf(&session, Some(&form.csrf_token)).is_err() {
        page.error = "This form has expired. Enter your email again.".into();
        return render_forgot(&page, StatusCode::FORBIDDEN);
    }
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let email = form.email.clone();
    match state
        .db(move |conn| profile::request_password_reset(conn, &email, &ip))
        .await
    {
        Ok(()) => {
            page.notice = profile::RESET_ANSWER.into();
            page.email = String::new();
            render_forgot(&page, StatusCode::OK)
        }
        Err(AppError::Unprocessable { message, .. }) => {
            page.error = format!("{message}. Check the address and try again.");
            render_forgot(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}
