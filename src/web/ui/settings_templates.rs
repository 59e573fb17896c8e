//! Settings → Inboxes → (inbox) → Templates (issue 12, administrators): the inbox's template
//! list with status, and the template builder (fields with errors next to them, a live
//! preview as WhatsApp shows it, the buttons editor, header sample upload). The pages are
//! rendered here; `static/template_builder.js` saves through the same API integrators use
//! (`/api/v1/…/inboxes/{inbox_id}/message_templates`), so the rules live in one place
//! ([`crate::domain::template_builder`]).

use super::scope::Scoped;
use super::{html, Layout};
use crate::app::AppState;
use crate::domain::inboxes::InboxWithChannel;
use crate::domain::template_builder;
use crate::domain::templates;
use crate::error::AppError;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

/// One row of the template list.
#[derive(Debug, Clone)]
pub struct TemplateListRow {
    pub id: i64,
    pub name: String,
    pub language: String,
    pub category: String,
    /// Meta's status, e.g. `APPROVED`.
    pub status: String,
    /// `approved`, `pending`, `rejected` or `other` (the badge's colour).
    pub status_class: &'static str,
    pub body: String,
    /// Meta allows edits (APPROVED, REJECTED or PAUSED).
    pub editable: bool,
}

#[derive(Template)]
#[template(path = "settings/templates.html")]
struct ListPage {
    layout: Layout,
    inbox_id: i64,
    inbox_name: String,
    rows: Vec<TemplateListRow>,
    notice: String,
}

#[derive(Template)]
#[template(path = "settings/template_builder.html")]
struct BuilderPage {
    layout: Layout,
    inbox_id: i64,
    inbox_name: String,
    /// Our id of the template being edited; 0 for a new one.
    template_id: i64,
    /// The draft to open, as JSON (`{}` for a new template).
    draft_json: String,
    /// The edited template's status (empty for a new one).
    status: String,
    /// `WHATSAPP_APP_ID` is set, so media headers can be uploaded.
    uploads_ready: bool,
}

/// `?notice=` after a save or delete.
#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

fn status_class(status: &str) -> &'static str {
    match status {
        "APPROVED" => "approved",
        "PENDING" | "IN_APPEAL" => "pending",
        "REJECTED" | "DISABLED" | "PAUSED" => "rejected",
        _ => "other",
    }
}

fn error_response(e: AppError) -> HttpResponse {
    actix_web::ResponseError::error_response(&e)
}

/// `GET …/settings/inboxes/{inbox_id}/templates`: the inbox's templates with their status.
pub async fn index(
    state: web::Data<AppState>,
    scoped: Scoped<InboxWithChannel>,
    q: web::Query<NoticeQuery>,
) -> HttpResponse {
    let (inbox, _) = scoped.object;
    let inbox_id = inbox.id;
    let list = match state.db(move |conn| templates::list(conn, inbox_id)).await {
        Ok(l) => l,
        Err(e) => return error_response(e),
    };
    let rows = list
        .iter()
        .map(|t| {
            let status = t.status.to_ascii_uppercase();
            TemplateListRow {
                id: t.id,
                name: t.name.clone(),
                language: t.language.clone(),
                category: t.category.clone().unwrap_or_default(),
                status_class: status_class(&status),
                editable: matches!(status.as_str(), "APPROVED" | "REJECTED" | "PAUSED"),
                status,
                body: templates::body_text(t).unwrap_or_default().to_string(),
            }
        })
        .collect();
    html(&ListPage {
        layout: scoped.admin.layout,
        inbox_id,
        inbox_name: inbox.name,
        rows,
        notice: q.notice.clone().unwrap_or_default(),
    })
    .unwrap_or_else(error_response)
}

/// `GET …/settings/inboxes/{inbox_id}/templates/new`: an empty builder.
pub async fn new(state: web::Data<AppState>, scoped: Scoped<InboxWithChannel>) -> HttpResponse {
    let (inbox, _) = scoped.object;
    html(&BuilderPage {
        layout: scoped.admin.layout,
        inbox_id: inbox.id,
        inbox_name: inbox.name,
        template_id: 0,
        draft_json: "{}".into(),
        status: String::new(),
        uploads_ready: state.config.whatsapp_app_id.is_some(),
    })
    .unwrap_or_else(error_response)
}

/// `GET …/settings/inboxes/{inbox_id}/templates/{template_id}/edit`: the builder opened on
/// a stored template. 404 for a template of another inbox or a non-numeric id.
pub async fn edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    scoped: Scoped<InboxWithChannel>,
) -> HttpResponse {
    let (inbox, _) = scoped.object;
    let inbox_id = inbox.id;
    let Some(template_id) = req
        .match_info()
        .get("template_id")
        .and_then(|s| s.parse::<i64>().ok())
    else {
        return error_response(AppError::NotFound("template not found".into()));
    };
    let template = match state
        .db(move |conn| template_builder::find_in_inbox(conn, inbox_id, template_id))
        .await
    {
        Ok(t) => t,
        Err(e) => return error_response(e),
    };
    html(&BuilderPage {
        layout: scoped.admin.layout,
        inbox_id,
        inbox_name: inbox.name,
        template_id,
        draft_json: template_builder::input_from_template(&template).to_string(),
        status: template.status.to_ascii_uppercase(),
        uploads_ready: state.config.whatsapp_app_id.is_some(),
    })
    .unwrap_or_else(error_response)
}
