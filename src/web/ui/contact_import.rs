//! `GET /app/accounts/{id}/contacts/import`: the contact CSV import page (administrators).
//! An upload form (the file goes to `POST /api/v1/accounts/{id}/contacts/import` through
//! `static/contact_import.js`), the import's live progress (polled from
//! `GET …/contacts/imports/{import_id}`), the refused rows with their line and reason, the
//! account's recent imports, and links back to Contacts and to the export.
//! `?import=<id>` opens one import (the page sets it after an upload, so a reload keeps it).

use super::{html, layout, Layout};
use crate::app::AppState;
use crate::domain::contact_csv::{self, ContactImport};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

/// Recent imports listed.
pub const RECENT: i64 = 5;

/// One recent import, as listed.
pub struct RecentImport {
    pub id: i64,
    pub file_name: String,
    pub status: String,
    pub summary: String,
    pub when: String,
    pub iso: String,
}

#[derive(Template)]
#[template(path = "contact_import.html")]
struct ImportPage {
    layout: Layout,
    /// The import to show (`?import=`), when it belongs to the account.
    current: Option<i64>,
    recent: Vec<RecentImport>,
    max_mib: usize,
}

/// `?import=`.
#[derive(Debug, Deserialize)]
pub struct ImportQuery {
    pub import: Option<String>,
}

fn summary(i: &ContactImport) -> String {
    format!(
        "{} of {} rows · {} imported · {} failed",
        i.rows_done,
        i.rows_total,
        i.created_count + i.updated_count,
        i.failed_count
    )
}

/// The page. Agents see a note that only administrators import contacts.
pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<ImportQuery>,
) -> HttpResponse {
    let (layout, viewer) = match layout(&state, &req, path.into_inner()).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let wanted: Option<i64> = q.import.as_deref().and_then(|v| v.trim().parse().ok());
    let account_id = viewer.account_id;
    let is_admin = layout.is_admin;
    let found = if is_admin {
        state
            .db(move |conn| {
                let recent = contact_csv::recent_imports(conn, account_id, RECENT)?;
                let current = match wanted {
                    Some(id) => contact_csv::find_import(conn, account_id, id)
                        .ok()
                        .map(|(i, _)| i.id),
                    None => None,
                };
                Ok((recent, current))
            })
            .await
    } else {
        Ok((vec![], None))
    };
    let (recent, current) = match found {
        Ok(v) => v,
        Err(e) => return actix_web::ResponseError::error_response(&e),
    };
    let page = ImportPage {
        layout,
        current,
        recent: recent
            .iter()
            .map(|i| RecentImport {
                id: i.id,
                file_name: if i.file_name.is_empty() {
                    "contacts.csv".into()
                } else {
                    i.file_name.clone()
                },
                status: i.status.clone(),
                summary: summary(i),
                when: i.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                iso: i.created_at.to_rfc3339(),
            })
            .collect(),
        max_mib: contact_csv::MAX_FILE_BYTES / (1024 * 1024),
    };
    html(&page).unwrap_or_else(|e| actix_web::ResponseError::error_response(&e))
}
