//! Settings screens for administrators: WhatsApp Cloud inboxes (add, credentials, webhook
//! URL and verify token, templates, health, agents, rotate the token, delete).
//! Plain HTML forms with the CSRF token, posted and redirected (POST → 303 → GET).

use super::scope::{Admin, Scoped};
use super::{html, redirect, Layout};
use crate::app::AppState;
use crate::domain::accounts;
use crate::domain::inboxes::{self, InboxPatch, InboxWithChannel, NewWhatsappInbox};
use crate::domain::templates;
use crate::error::AppError;
use crate::jobs::template_sync;
use crate::web::session;
use crate::whatsapp::setup;
use actix_session::SessionExt;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::collections::HashMap;

/// A row of the inbox list.
#[derive(Debug, Clone)]
pub struct InboxRow {
    pub id: i64,
    pub name: String,
    pub phone_number: String,
    pub warning: bool,
}

/// The WhatsApp Cloud form's values (also what is re-shown after an error).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InboxForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone_number: String,
    #[serde(default)]
    pub phone_number_id: String,
    #[serde(default)]
    pub business_account_id: String,
    #[serde(default)]
    pub api_key: String,
    #[serde(default)]
    pub app_secret: String,
    #[serde(default)]
    pub csrf_token: String,
}

/// One template as the settings page lists it.
#[derive(Debug, Clone)]
pub struct TemplateRow {
    pub name: String,
    pub language: String,
    pub status: String,
    pub category: String,
    pub body: String,
}

/// Everything the inbox page shows.
#[derive(Debug, Clone)]
pub struct InboxDetail {
    pub id: i64,
    pub name: String,
    pub phone_number: String,
    pub phone_number_id: String,
    pub business_account_id: String,
    pub api_key_masked: String,
    pub has_app_secret: bool,
    pub webhook_url: String,
    pub verify_token: String,
    pub last_webhook_at: String,
    pub last_error: String,
    pub reauthorization_required: bool,
    pub reauthorization_error: String,
    pub webhook_setup_warning: String,
    pub templates_synced_at: String,
    pub templates_sync_error: String,
    pub templates: Vec<TemplateRow>,
    pub members: Vec<(i64, String, String)>,
    pub candidates: Vec<(i64, String)>,
    /// Number health and template signals (issue 12, `partials/number_health.html`).
    pub health: super::number_health::Panel,
    /// Issue 12: the Dualhook card (`partials/dualhook_inbox.html`).
    pub dualhook: super::settings_dualhook::DualhookInbox,
    /// Issue 13: the auto-assignment card (`partials/auto_assignment.html`).
    pub assignment: super::settings_assignment::Panel,
}

#[derive(Template)]
#[template(path = "settings/inboxes.html")]
struct InboxesPage {
    layout: Layout,
    rows: Vec<InboxRow>,
}

#[derive(Template)]
#[template(path = "settings/inbox_new.html")]
struct NewInboxPage {
    layout: Layout,
    form: InboxForm,
    errors: HashMap<String, String>,
    general_error: String,
}

#[derive(Template)]
#[template(path = "settings/inbox.html")]
struct InboxPage {
    layout: Layout,
    inbox: InboxDetail,
    created: bool,
    notice: String,
    error: String,
}

fn ts(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn error_response(e: AppError) -> HttpResponse {
    actix_web::ResponseError::error_response(&e)
}

/// `GET /app/accounts/{id}/settings/inboxes`.
pub async fn inboxes_index(state: web::Data<AppState>, admin: Admin) -> HttpResponse {
    let layout = admin.layout;
    let account_id = layout.account_id;
    let rows = state
        .db(move |conn| inboxes::list(conn, account_id, None))
        .await;
    match rows {
        Ok(rows) => html(&InboxesPage {
            layout,
            rows: rows
                .into_iter()
                .map(|(i, c)| InboxRow {
                    id: i.id,
                    warning: i.reauthorization_required
                        || i.webhook_setup_warning.is_some()
                        || i.last_error.is_some(),
                    name: i.name,
                    phone_number: c.phone_number,
                })
                .collect(),
        })
        .unwrap_or_else(error_response),
        Err(e) => error_response(e),
    }
}

/// `GET …/settings/inboxes/new`: Add inbox → WhatsApp → WhatsApp Cloud.
pub async fn inbox_new(admin: Admin) -> HttpResponse {
    html(&NewInboxPage {
        layout: admin.layout,
        form: InboxForm::default(),
        errors: HashMap::new(),
        general_error: String::new(),
    })
    .unwrap_or_else(error_response)
}

/// The form field an API error's `field` belongs to (`channel.provider_config.api_key` →
/// `api_key`).
fn form_field(field: &str) -> String {
    field.rsplit('.').next().unwrap_or(field).to_string()
}

/// `POST …/settings/inboxes`: creates the inbox, then shows its webhook URL and token.
/// Errors re-render the form with the message next to its field (422).
pub async fn inbox_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    form: web::Form<InboxForm>,
) -> HttpResponse {
    let layout = admin.layout;
    let form = form.into_inner();
    if let Err(e) = session::check_csrf(&req.get_session(), Some(&form.csrf_token)) {
        return error_response(e);
    }
    let input = NewWhatsappInbox {
        name: form.name.clone(),
        phone_number: form.phone_number.clone(),
        phone_number_id: form.phone_number_id.clone(),
        business_account_id: form.business_account_id.clone(),
        api_key: form.api_key.clone(),
        app_secret: Some(form.app_secret.clone()).filter(|s| !s.trim().is_empty()),
        source: None,
    };
    let account_id = layout.account_id;
    match setup::create_inbox(&state, account_id, input).await {
        Ok(inbox_id) => redirect(&format!(
            "/app/accounts/{account_id}/settings/inboxes/{inbox_id}?created=1"
        )),
        Err(e) => {
            let mut errors = HashMap::new();
            let mut general_error = String::new();
            let status = actix_web::ResponseError::status_code(&e);
            match &e {
                AppError::Unprocessable {
                    field: Some(field),
                    message,
                } => {
                    errors.insert(form_field(field), message.clone());
                }
                other => general_error = other.to_string(),
            }
            let mut resp = html(&NewInboxPage {
                layout,
                form: InboxForm {
                    api_key: String::new(),
                    app_secret: String::new(),
                    ..form
                },
                errors,
                general_error,
            })
            .unwrap_or_else(error_response);
            *resp.status_mut() = status;
            resp
        }
    }
}

async fn detail(
    state: &AppState,
    account_id: i64,
    inbox_id: i64,
    filter: super::number_health::TemplateFilter,
) -> Result<InboxDetail, AppError> {
    let config = state.config.clone();
    let secrets = state.secrets.clone();
    state
        .db(move |conn| {
            let (i, c) = inboxes::find(conn, account_id, inbox_id)?;
            let list = templates::list(conn, inbox_id)?;
            let health = super::number_health::panel(conn, inbox_id, &filter)?;
            let member_ids = inboxes::member_ids(conn, inbox_id)?;
            let everyone = accounts::members_of(conn, account_id)?;
            let members = everyone
                .iter()
                .filter(|m| member_ids.contains(&m.user.id))
                .map(|m| (m.user.id, m.user.name.clone(), m.user.email.clone()))
                .collect();
            let candidates = everyone
                .iter()
                .filter(|m| !member_ids.contains(&m.user.id))
                .map(|m| (m.user.id, format!("{} ({})", m.user.name, m.user.email)))
                .collect();
            let dualhook =
                super::settings_dualhook::inbox_panel(conn, account_id, inbox_id, &i.name)?;
            let assignment = super::settings_assignment::panel(conn, &i)?;
            let masked = secrets
                .decrypt(&c.api_key_ciphertext)
                .map(|k| crate::crypto::mask(&k))
                .unwrap_or_else(|_| "••••".into());
            Ok(InboxDetail {
                id: i.id,
                webhook_url: config.webhook_url(&c.phone_number),
                verify_token: c.webhook_verify_token.clone(),
                phone_number: c.phone_number.clone(),
                phone_number_id: c.phone_number_id.clone(),
                business_account_id: c.business_account_id.clone(),
                api_key_masked: masked,
                has_app_secret: c.app_secret_ciphertext.is_some(),
                last_webhook_at: ts(i.last_webhook_at),
                last_error: i
                    .last_error
                    .as_ref()
                    .map(|e| {
                        format!(
                            "{} {} {}",
                            e["code"]
                                .as_i64()
                                .map(|c| format!("#{c}"))
                                .unwrap_or_default(),
                            e["title"].as_str().unwrap_or_default(),
                            e["message"].as_str().unwrap_or_default()
                        )
                        .trim()
                        .to_string()
                    })
                    .unwrap_or_default(),
                reauthorization_required: i.reauthorization_required,
                reauthorization_error: i.reauthorization_error.clone().unwrap_or_default(),
                webhook_setup_warning: i.webhook_setup_warning.clone().unwrap_or_default(),
                templates_synced_at: ts(i.templates_synced_at),
                templates_sync_error: i.templates_sync_error.clone().unwrap_or_default(),
                templates: list
                    .iter()
                    .map(|t| TemplateRow {
                        name: t.name.clone(),
                        language: t.language.clone(),
                        status: t.status.clone(),
                        category: t.category.clone().unwrap_or_default(),
                        body: templates::body_text(t).unwrap_or_default().to_string(),
                    })
                    .collect(),
                members,
                candidates,
                health,
                dualhook,
                assignment,
                name: i.name,
            })
        })
        .await
}

/// `?created=1` after creation; `?notice=` after an action.
#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    pub created: Option<String>,
    pub notice: Option<String>,
    /// The template signals' filters (see `number_health::TemplateFilter`).
    #[serde(flatten)]
    pub filter: super::number_health::TemplateFilter,
}

/// `GET …/settings/inboxes/{inbox_id}`.
pub async fn inbox_show(
    state: web::Data<AppState>,
    scoped: Scoped<InboxWithChannel>,
    q: web::Query<ShowQuery>,
) -> HttpResponse {
    let layout = scoped.admin.layout;
    let (account_id, inbox_id) = (layout.account_id, scoped.object.0.id);
    match detail(&state, account_id, inbox_id, q.filter.clone()).await {
        Ok(inbox) => html(&InboxPage {
            layout,
            inbox,
            created: q.created.is_some(),
            notice: q.notice.clone().unwrap_or_default(),
            error: String::new(),
        })
        .unwrap_or_else(error_response),
        Err(e) => error_response(e),
    }
}

/// Fields of the inbox page's forms (each form sends the ones it has).
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    pub csrf_token: String,
    pub name: Option<String>,
    pub phone_number: Option<String>,
    pub phone_number_id: Option<String>,
    pub business_account_id: Option<String>,
    pub api_key: Option<String>,
    pub app_secret: Option<String>,
    pub user_id: Option<i64>,
    pub confirm: Option<String>,
}

/// `POST …/settings/inboxes/{inbox_id}/{action}`: `update`, `sync_templates`, `refresh_health`,
/// `register_webhook`, `rotate_token`, `add_member`, `remove_member`, `delete`.
/// The inbox is resolved within the signed-in administrator's account ([`Scoped`]): another
/// account's inbox answers 404 and nothing runs (no Graph call with its token).
pub async fn inbox_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    scoped: Scoped<InboxWithChannel>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    let layout = scoped.admin.layout;
    let (account_id, inbox_id) = (layout.account_id, scoped.object.0.id);
    let action = req
        .match_info()
        .get("action")
        .unwrap_or_default()
        .to_string();
    let form = form.into_inner();
    if let Err(e) = session::check_csrf(&req.get_session(), Some(&form.csrf_token)) {
        return error_response(e);
    }
    let back = |notice: &str| {
        redirect(&format!(
            "/app/accounts/{account_id}/settings/inboxes/{inbox_id}?notice={}",
            url::form_urlencoded::byte_serialize(notice.as_bytes()).collect::<String>()
        ))
    };
    let result: Result<String, AppError> = match action.as_str() {
        "update" => update_inbox(&state, account_id, inbox_id, &form).await,
        "sync_templates" => template_sync::sync_inbox(&state, inbox_id)
            .await
            .map(|n| format!("Synced {n} templates."))
            .map_err(|e| match e {
                template_sync::SyncError::Graph(g) => AppError::invalid(
                    "templates",
                    format!("Template sync failed: {}", g.external_error()),
                ),
                template_sync::SyncError::App(a) => a,
            }),
        "refresh_health" => match crate::jobs::number_health::refresh_inbox(&state, inbox_id).await
        {
            Ok(Ok(_)) => Ok("Number health refreshed from Meta.".to_string()),
            Ok(Err(g)) => Err(AppError::invalid(
                "health",
                format!(
                    "Meta did not answer the health check: {}",
                    g.external_error()
                ),
            )),
            Err(e) => Err(e),
        },
        "register_webhook" => setup::register_webhook(&state, inbox_id)
            .await
            .map(|_| "Webhook setup ran again; see the health section.".to_string()),
        "rotate_token" => state
            .db(move |conn| inboxes::rotate_verify_token(conn, account_id, inbox_id))
            .await
            .map(|_| {
                "A new verify token was generated. Paste it into Meta or your Tech Provider."
                    .to_string()
            }),
        "add_member" => match form.user_id {
            Some(user_id) => state
                .db(move |conn| {
                    accounts::role_in(conn, account_id, user_id)?.ok_or_else(|| {
                        AppError::invalid("user_id", "no such agent in this account")
                    })?;
                    inboxes::add_member(conn, inbox_id, user_id)
                })
                .await
                .map(|_| "Agent added.".to_string()),
            None => Err(AppError::invalid("user_id", "choose an agent to add")),
        },
        "remove_member" => match form.user_id {
            Some(user_id) => state
                .db(move |conn| inboxes::remove_member(conn, inbox_id, user_id))
                .await
                .map(|_| "Agent removed.".to_string()),
            None => Err(AppError::invalid("user_id", "choose an agent to remove")),
        },
        "delete" => {
            if form.confirm.as_deref() != Some("yes") {
                Err(AppError::invalid(
                    "confirm",
                    "tick the box to confirm deleting this inbox",
                ))
            } else {
                return match state
                    .db(move |conn| inboxes::delete(conn, account_id, inbox_id))
                    .await
                {
                    Ok(()) => {
                        state.phone_cache.clear();
                        redirect(&format!("/app/accounts/{account_id}/settings/inboxes"))
                    }
                    Err(e) => error_response(e),
                };
            }
        }
        _ => Err(AppError::NotFound(format!("no settings action {action:?}"))),
    };
    match result {
        Ok(notice) => back(&notice),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            match detail(&state, account_id, inbox_id, Default::default()).await {
                Ok(inbox) => {
                    let mut resp = html(&InboxPage {
                        layout,
                        inbox,
                        created: false,
                        notice: String::new(),
                        error: e.to_string(),
                    })
                    .unwrap_or_else(error_response);
                    *resp.status_mut() = status;
                    resp
                }
                Err(e2) => error_response(e2),
            }
        }
    }
}

async fn update_inbox(
    state: &AppState,
    account_id: i64,
    inbox_id: i64,
    form: &ActionForm,
) -> Result<String, AppError> {
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let patch = InboxPatch {
        name: nonempty(&form.name),
        phone_number: nonempty(&form.phone_number),
        phone_number_id: nonempty(&form.phone_number_id),
        business_account_id: nonempty(&form.business_account_id),
        api_key: nonempty(&form.api_key),
        app_secret: nonempty(&form.app_secret),
        enable_auto_assignment: None,
    };
    setup::update_inbox(state, account_id, inbox_id, patch).await?;
    Ok("Inbox saved.".into())
}

// == avail (issue 13): actions of the inbox page handled in their own modules ==
/// The inbox settings page showing `e` as its error, with `e`'s status (what
/// [`inbox_action`] answers on a refused action).
pub(crate) async fn inbox_page_with_error(
    state: &AppState,
    layout: Layout,
    account_id: i64,
    inbox_id: i64,
    e: AppError,
) -> HttpResponse {
    let status = actix_web::ResponseError::status_code(&e);
    match detail(state, account_id, inbox_id, Default::default()).await {
        Ok(inbox) => {
            let mut resp = html(&InboxPage {
                layout,
                inbox,
                created: false,
                notice: String::new(),
                error: e.to_string(),
            })
            .unwrap_or_else(error_response);
            *resp.status_mut() = status;
            resp
        }
        Err(e2) => error_response(e2),
    }
}
