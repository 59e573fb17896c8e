//! Settings → Account (administrators, issue 15): the account's data retention for
//! conversations (off by default; see `domain::retention`), the server-wide retention
//! settings for reference, and the contact export's entry point; and the contact page's
//! "Export data" download (`domain::contact_export`).

use super::scope::Admin;
use super::{html, redirect, Layout};
use crate::app::AppState;
use crate::domain::{accounts, contact_export, retention};
use crate::error::AppError;
use crate::web::session;
use actix_session::SessionExt;
use actix_web::{http::header, web, HttpRequest, HttpResponse};
use askama::Template;

#[derive(Template)]
#[template(path = "settings/account.html")]
struct AccountPage {
    layout: Layout,
    notice: String,
    error: String,
    account_name: String,
    /// The field's value: the stored days, or what was posted when it was refused.
    retention_days: String,
    /// Server-wide settings, as (what, days text).
    server: Vec<(&'static str, String)>,
}

fn days_text(d: u32) -> String {
    match d {
        0 => "kept for ever".into(),
        1 => "1 day".into(),
        n => format!("{n} days"),
    }
}

async fn render(
    state: &AppState,
    layout: Layout,
    notice: String,
    error: String,
    posted: Option<String>,
) -> HttpResponse {
    let account_id = layout.account_id;
    let loaded = state
        .db(move |conn| {
            Ok((
                accounts::account_name(conn, account_id)?,
                retention::conversation_retention(conn, account_id)?,
            ))
        })
        .await;
    let r = &state.config.retention;
    let server = vec![
        (
            "Raw webhook bodies after processing (failed ones are kept)",
            days_text(r.webhook_events_days),
        ),
        (
            "Outgoing webhook delivery logs",
            days_text(r.webhook_deliveries_days),
        ),
        (
            "Updates for messages that never arrived",
            days_text(r.pending_updates_days),
        ),
        (
            "Files of sends that failed",
            days_text(r.failed_send_files_days),
        ),
        ("In-app notifications", days_text(r.notifications_days)),
    ];
    let page = loaded.and_then(|(account_name, days)| {
        html(&AccountPage {
            notice,
            error,
            account_name,
            retention_days: posted
                .unwrap_or_else(|| days.map(|d| d.to_string()).unwrap_or_default()),
            server,
            layout,
        })
    });
    page.unwrap_or_else(|e| actix_web::ResponseError::error_response(&e))
}

/// `?notice=` after a save.
#[derive(Debug, serde::Deserialize)]
pub struct PageQuery {
    pub notice: Option<String>,
}

/// `GET /app/accounts/{id}/settings/account`.
pub async fn index(
    state: web::Data<AppState>,
    admin: Admin,
    q: web::Query<PageQuery>,
) -> HttpResponse {
    render(
        &state,
        admin.layout,
        q.into_inner().notice.unwrap_or_default(),
        String::new(),
        None,
    )
    .await
}

/// Reads the retention field: empty is off; otherwise whole days. Errors: 422 naming
/// `conversation_retention_days`.
pub fn parse_days(raw: &str) -> Result<Option<i32>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<i32>().map(Some).map_err(|_| {
        AppError::invalid(
            "conversation_retention_days",
            "must be a whole number of days from 1 to 36500, or empty to keep conversations for ever",
        )
    })
}

/// `POST /app/accounts/{id}/settings/account` (`conversation_retention_days`, empty = off).
/// A refused value re-renders the page with the message (422).
pub async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let form = form.into_inner();
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if let Err(e) = session::check_csrf(&req.get_session(), get("csrf_token").as_deref()) {
        return actix_web::ResponseError::error_response(&e);
    }
    let raw = get("conversation_retention_days").unwrap_or_default();
    let account_id = admin.account_id();
    let saved = match parse_days(&raw) {
        Ok(days) => {
            state
                .db(move |conn| retention::set_conversation_retention(conn, account_id, days))
                .await
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => redirect(&format!(
            "/app/accounts/{account_id}/settings/account?notice=Retention+saved"
        )),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            let message = match &e {
                AppError::Unprocessable { message, .. } => message.clone(),
                other => other.to_string(),
            };
            let mut resp = render(&state, admin.layout, String::new(), message, Some(raw)).await;
            *resp.status_mut() = status;
            resp
        }
    }
}

/// `GET /app/accounts/{id}/contacts/{contact_id}/export` (administrators): the contact's
/// data export as a zip download (`contact-{id}.zip`). Errors: 403 for agents; 404 when the
/// contact is not in the account.
pub async fn export_contact(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(i64, i64)>,
) -> HttpResponse {
    let (_, contact_id) = path.into_inner();
    let account_id = admin.account_id();
    let export = state
        .db(move |conn| contact_export::collect(conn, Some(account_id), contact_id))
        .await;
    let bytes = match export {
        Ok(export) => contact_export::zip(&state.storage, export).await,
        Err(e) => Err(e),
    };
    match bytes {
        Ok(bytes) => {
            tracing::info!(
                account_id,
                contact_id,
                user_id = admin.layout.user_id,
                "contact data exported"
            );
            HttpResponse::Ok()
                .content_type("application/zip")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"contact-{contact_id}.zip\""),
                ))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(bytes)
        }
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}
