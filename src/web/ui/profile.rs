//! The agent's profile page, `GET|POST /app/accounts/{id}/profile`: which notification emails
//! they receive in this account (one checkbox per kind). A plain HTML form with the CSRF token,
//! posted and redirected (POST → 303 → GET).

use super::scope::AccountMember;
use super::{html, redirect, Layout};
use crate::app::AppState;
use crate::domain::notifications::{self, Settings};
use crate::web::session;
use actix_session::SessionExt;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

/// The posted form: a checkbox is present (any value) when ticked, absent otherwise.
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

/// Query of the profile page: `saved=1` after a successful POST.
#[derive(Debug, Default, Deserialize)]
pub struct ProfileQuery {
    /// Set after saving, to show "Saved."
    #[serde(default)]
    pub saved: Option<String>,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    layout: Layout,
    email: String,
    settings: Settings,
    saved: bool,
}

fn error_response(e: crate::error::AppError) -> HttpResponse {
    actix_web::ResponseError::error_response(&e)
}

/// `GET /app/accounts/{id}/profile`: the notification checkboxes, ticked as saved.
pub async fn show(
    state: web::Data<AppState>,
    member: AccountMember,
    query: web::Query<ProfileQuery>,
) -> HttpResponse {
    let AccountMember { layout, viewer } = member;
    let (user_id, account_id) = (viewer.user_id, viewer.account_id);
    let found = state
        .db(move |conn| {
            let user = crate::domain::accounts::find_user(conn, user_id)?;
            let s = notifications::settings(conn, user_id, account_id)?;
            Ok((user.email, s))
        })
        .await;
    match found {
        Ok((email, settings)) => html(&ProfilePage {
            layout,
            email,
            settings,
            saved: query.saved.is_some(),
        })
        .unwrap_or_else(error_response),
        Err(e) => error_response(e),
    }
}

/// `POST /app/accounts/{id}/profile`: saves the checkboxes (CSRF checked), then redirects
/// to the page.
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
