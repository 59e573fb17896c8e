//! The agent's profile page, `GET /app/accounts/{id}/profile`, and its forms (each a plain
//! HTML form with the CSRF token, posted and redirected POST → 303 → GET; an error re-renders
//! the page with 422 and the message next to its field):
//! - `POST …/profile/names`: name and display name ([`profile::update_names`]);
//! - `POST …/profile/avatar` (multipart, `avatar` file, at most 2 MiB, PNG/JPEG/WebP/GIF by
//!   content) and `POST …/profile/avatar/remove`;
//! - `POST …/profile/availability`: online / busy / offline in this account;
//! - `POST …/profile/password`: current password, new one twice; other sessions end;
//! - `POST …/profile`: which notification emails they receive in this account.

use super::scope::AccountMember;
use super::view::AvatarView;
use super::{html, redirect, Layout};
use crate::app::AppState;
use crate::domain::notifications::{self, Settings};
use crate::domain::profile::{self, Availability};
use crate::error::AppError;
use crate::web::api::profile::{read_form, refuse_declared_oversize};
use crate::web::session;
use actix_multipart::Multipart;
use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::collections::HashMap;

/// The posted notification form: a checkbox is present (any value) when ticked, absent
/// otherwise.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProfileForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf_token: String,
    /// "Email me when a conversation is assigned to me".
    pub email_conversation_assigned: Option<String>,
    /// "Email me when a new conversation starts in one of my inboxes".
    pub email_conversation_created: Option<String>,
    /// "Email me when an outgoing webhook is disabled".
    pub email_webhook_disabled: Option<String>,
    /// "Email me when I am @mentioned in a private note".
    pub email_conversation_mention: Option<String>,
    /// "Email me for each new customer message in a conversation assigned to me".
    pub email_assigned_conversation_new_message: Option<String>,
    /// "Email me for each new customer message in a conversation I take part in".
    pub email_participating_conversation_new_message: Option<String>,
}

impl ProfileForm {
    /// The settings the ticked boxes stand for.
    pub fn settings(&self) -> Settings {
        Settings {
            email_conversation_assigned: self.email_conversation_assigned.is_some(),
            email_conversation_created: self.email_conversation_created.is_some(),
            email_webhook_disabled: self.email_webhook_disabled.is_some(),
            email_conversation_mention: self.email_conversation_mention.is_some(),
            email_assigned_conversation_new_message: self
                .email_assigned_conversation_new_message
                .is_some(),
            email_participating_conversation_new_message: self
                .email_participating_conversation_new_message
                .is_some(),
        }
    }
}

/// Query of the profile page: `saved=<section>` after a successful POST.
#[derive(Debug, Default, Deserialize)]
pub struct ProfileQuery {
    /// Set after saving, to show what was saved.
    #[serde(default)]
    pub saved: Option<String>,
}

/// One availability radio button.
struct AvailabilityOption {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    layout: Layout,
    email: String,
    name: String,
    display_name: String,
    avatar: AvatarView,
    has_avatar: bool,
    availability: Vec<AvailabilityOption>,
    settings: Settings,
    saved: String,
    errors: HashMap<String, String>,
    max_avatar_mib: usize,
    min_password_chars: usize,
}

fn error_response(e: AppError) -> HttpResponse {
    actix_web::ResponseError::error_response(&e)
}

/// Renders the page (with `errors` next to their fields, under `status`).
async fn render(
    state: &AppState,
    layout: Layout,
    saved: String,
    errors: HashMap<String, String>,
    status: StatusCode,
) -> HttpResponse {
    let (user_id, account_id) = (layout.user_id, layout.account_id);
    let found = state
        .db(move |conn| {
            let user = crate::domain::accounts::find_user(conn, user_id)?;
            let s = notifications::settings(conn, user_id, account_id)?;
            let a = profile::availability(conn, account_id, user_id)?;
            Ok((user, s, a))
        })
        .await;
    let (user, settings, current) = match found {
        Ok(v) => v,
        Err(e) => return error_response(e),
    };
    let page = ProfilePage {
        avatar: AvatarView::of(&user, &current, false),
        has_avatar: user.avatar_path.is_some(),
        availability: Availability::ALL
            .iter()
            .map(|a| AvailabilityOption {
                value: a.as_str(),
                label: a.label(),
                checked: a.as_str() == current,
            })
            .collect(),
        email: user.email,
        name: user.name,
        display_name: user.display_name.unwrap_or_default(),
        layout,
        settings,
        saved,
        errors,
        max_avatar_mib: profile::MAX_AVATAR_BYTES / (1024 * 1024),
        min_password_chars: crate::domain::accounts::MIN_PASSWORD_CHARS,
    };
    let mut resp = html(&page).unwrap_or_else(error_response);
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    resp
}

/// The message shown after saving `section`.
fn saved_message(section: &str) -> &'static str {
    match section {
        "names" => "Your name was saved.",
        "avatar" => "Your avatar was saved.",
        "avatar_removed" => "Your avatar was removed.",
        "availability" => "Your availability was saved.",
        "password" => "Your password was changed. Your other sessions were signed out.",
        _ => "Saved.",
    }
}

/// `GET /app/accounts/{id}/profile`: every section, filled in as saved.
pub async fn show(
    state: web::Data<AppState>,
    member: AccountMember,
    query: web::Query<ProfileQuery>,
) -> HttpResponse {
    let saved = query
        .saved
        .as_deref()
        .map(saved_message)
        .unwrap_or_default()
        .to_string();
    render(&state, member.layout, saved, HashMap::new(), StatusCode::OK).await
}

/// The outcome of a form: a redirect to the page saying what was saved, or the page again
/// with the error next to its field (422), or the error's own response (403 CSRF, …).
async fn finish(
    state: &AppState,
    layout: Layout,
    section: &str,
    result: Result<(), AppError>,
) -> HttpResponse {
    match result {
        Ok(()) => redirect(&format!(
            "/app/accounts/{}/profile?saved={section}",
            layout.account_id
        )),
        Err(AppError::Unprocessable {
            field: Some(field),
            message,
        }) => {
            let mut errors = HashMap::new();
            errors.insert(field, message);
            render(
                state,
                layout,
                String::new(),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => error_response(e),
    }
}

/// `POST /app/accounts/{id}/profile`: saves the notification checkboxes (CSRF checked), then
/// redirects to the page.
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    member: AccountMember,
    form: web::Form<ProfileForm>,
) -> HttpResponse {
    let viewer = member.viewer;
    let form = form.into_inner();
    if let Err(e) = session::check_csrf(&req.get_session(), Some(&form.csrf_token)) {
        return error_response(e);
    }
    let (user_id, account_id) = (viewer.user_id, viewer.account_id);
    let settings = form.settings();
    match state
        .db(move |conn| notifications::save_settings(conn, user_id, account_id, &settings))
        .await
    {
        Ok(_) => redirect(&format!("/app/accounts/{account_id}/profile?saved=1")),
        Err(e) => error_response(e),
    }
}

/// The name form.
#[derive(Debug, Default, Deserialize)]
pub struct NamesForm {
    #[serde(default)]
    pub csrf_token: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub display_name: String,
}

/// `POST …/profile/names`. Errors: 422 naming `name` (blank) or `display_name`.
pub async fn names(
    state: web::Data<AppState>,
    req: HttpRequest,
    member: AccountMember,
    form: web::Form<NamesForm>,
) -> HttpResponse {
    let form = form.into_inner();
    if let Err(e) = session::check_csrf(&req.get_session(), Some(&form.csrf_token)) {
        return error_response(e);
    }
    let user_id = member.layout.user_id;
    let result = state
        .db(move |conn| {
            profile::update_names(conn, user_id, Some(&form.name), Some(&form.display_name))
        })
        .await
        .map(|_| ());
    finish(&state, member.layout, "names", result).await
}

/// The availability form.
#[derive(Debug, Default, Deserialize)]
pub struct AvailabilityForm {
    #[serde(default)]
    pub csrf_token: String,
    #[serde(default)]
    pub availability: String,
}

/// `POST …/profile/availability`: sets it in this account (other agents' dots follow through
/// `presence.update`). Errors: 422 naming `availability`.
pub async fn availability(
    state: web::Data<AppState>,
    req: HttpRequest,
    member: AccountMember,
    form: web::Form<AvailabilityForm>,
) -> HttpResponse {
    let form = form.into_inner();
    if let Err(e) = session::check_csrf(&req.get_session(), Some(&form.csrf_token)) {
        return error_response(e);
    }
    let (user_id, account_id) = (member.layout.user_id, member.layout.account_id);
    let result = match Availability::from_param(&form.availability) {
        Ok(a) => {
            state
                .db(move |conn| profile::set_availability(conn, account_id, user_id, a))
                .await
        }
        Err(e) => Err(e),
    };
    finish(&state, member.layout, "availability", result).await
}

/// The password form.
#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub csrf_token: String,
    #[serde(default)]
    pub current_password: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirmation: String,
}

/// `POST …/profile/password`: changes the password; this session stays signed in, every other
/// session of the user ends. Errors: 422 naming `current_password`, `password` or
/// `password_confirmation`.
pub async fn password(
    state: web::Data<AppState>,
    req: HttpRequest,
    member: AccountMember,
    form: web::Form<PasswordForm>,
) -> HttpResponse {
    let session = req.get_session();
    let form = form.into_inner();
    if let Err(e) = session::check_csrf(&session, Some(&form.csrf_token)) {
        return error_response(e);
    }
    let user_id = member.layout.user_id;
    let result = state
        .db(move |conn| {
            profile::change_password(
                conn,
                user_id,
                &form.current_password,
                &form.password,
                &form.password_confirmation,
            )
        })
        .await
        .and_then(|user| {
            tracing::info!(user_id, "password changed; other sessions signed out");
            session::set_epoch(&session, user.session_epoch)
        });
    finish(&state, member.layout, "password", result).await
}

/// `POST …/profile/avatar` (multipart: `csrf_token`, `avatar` file). The declared size is
/// checked before the body is read, and the stream stops at 2 MiB.
/// Errors: 403 without the CSRF token; 422 naming `avatar` (none chosen, too large, not a
/// PNG/JPEG/WebP/GIF by content).
pub async fn avatar(
    state: web::Data<AppState>,
    req: HttpRequest,
    member: AccountMember,
    form: Multipart,
) -> HttpResponse {
    if let Err(e) = refuse_declared_oversize(&req) {
        return finish(&state, member.layout, "avatar", Err(e)).await;
    }
    let (fields, file) = match read_form(form).await {
        Ok(v) => v,
        Err(e) => return finish(&state, member.layout, "avatar", Err(e)).await,
    };
    let csrf = fields.get("csrf_token").map(String::as_str);
    if let Err(e) = session::check_csrf(&req.get_session(), csrf) {
        return error_response(e);
    }
    let user_id = member.layout.user_id;
    let bytes = file.unwrap_or_default();
    let result = crate::web::media::upload_avatar(&state, user_id, bytes)
        .await
        .map(|_| ());
    finish(&state, member.layout, "avatar", result).await
}

/// A form with only the CSRF token.
#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf_token: String,
}

/// `POST …/profile/avatar/remove`: initials are shown again.
pub async fn avatar_remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    member: AccountMember,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    if let Err(e) = session::check_csrf(&req.get_session(), Some(&form.csrf_token)) {
        return error_response(e);
    }
    let user_id = member.layout.user_id;
    let result = crate::web::media::remove_avatar(&state, user_id)
        .await
        .map(|_| ());
    finish(&state, member.layout, "avatar_removed", result).await
}
