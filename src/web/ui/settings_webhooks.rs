//! Settings → Webhooks (administrators): integration webhooks with their signing secret,
//! subscriptions, whether they were disabled for failing and why, and the last delivery
//! attempts (status code, duration, error). Forms post and redirect like the other settings.

use super::scope::{Admin, Scoped};
use super::{html, redirect, Layout};
use crate::app::AppState;
use crate::domain::inboxes;
use crate::domain::webhooks::{self, UrlPolicy, Webhook, WebhookInput, DELIVERED};
use crate::error::AppError;
use crate::web::session;
use actix_session::SessionExt;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

/// Attempts shown per webhook.
pub const ATTEMPTS_SHOWN: usize = 50;

/// One delivery attempt as the page shows it.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub when: String,
    pub event: String,
    pub attempt: i32,
    pub status: String,
    pub duration_ms: i64,
    pub error: String,
}

/// One webhook as the page shows it.
#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub inbox: String,
    pub subscriptions: String,
    pub enabled: bool,
    pub disabled_reason: String,
    pub secret: String,
    pub attempts: Vec<AttemptRow>,
}

#[derive(Template)]
#[template(path = "settings/webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    rows: Vec<WebhookRow>,
    events: Vec<&'static str>,
    inboxes: Vec<(i64, String)>,
    notice: String,
    error: String,
    url: String,
    name: String,
}

async fn render(
    state: &AppState,
    layout: Layout,
    notice: String,
    error: String,
    url: String,
    name: String,
) -> HttpResponse {
    let account_id = layout.account_id;
    let secrets = state.secrets.clone();
    let loaded = state
        .db(move |conn| {
            let names: Vec<(i64, String)> = inboxes::list(conn, account_id, None)?
                .into_iter()
                .map(|(i, _)| (i.id, i.name))
                .collect();
            let mut rows = Vec::new();
            for hook in webhooks::list(conn, account_id)? {
                let attempts = webhooks::deliveries(conn, hook.id)?
                    .into_iter()
                    .take(ATTEMPTS_SHOWN)
                    .map(|a| AttemptRow {
                        when: a.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        event: a.event,
                        attempt: a.attempt,
                        status: a
                            .status_code
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "no answer".into()),
                        duration_ms: a.duration_ms,
                        error: a.error.unwrap_or_default(),
                    })
                    .collect();
                rows.push(WebhookRow {
                    id: hook.id,
                    name: hook.name.clone().unwrap_or_default(),
                    inbox: hook
                        .inbox_id
                        .and_then(|id| names.iter().find(|(i, _)| *i == id))
                        .map(|(_, n)| n.clone())
                        .unwrap_or_else(|| "All inboxes".into()),
                    subscriptions: hook.subscriptions.join(", "),
                    enabled: hook.enabled,
                    disabled_reason: hook.disabled_reason.clone().unwrap_or_default(),
                    secret: webhooks::secret(&secrets, &hook)?,
                    url: hook.url,
                    attempts,
                });
            }
            Ok((rows, names))
        })
        .await;
    match loaded {
        Ok((rows, inboxes)) => html(&WebhooksPage {
            layout,
            rows,
            events: DELIVERED.to_vec(),
            inboxes,
            notice,
            error,
            url,
            name,
        })
        .unwrap_or_else(|e| actix_web::ResponseError::error_response(&e)),
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

/// `?notice=` after an action.
#[derive(Debug, serde::Deserialize)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

/// `GET /app/accounts/{id}/settings/webhooks`.
pub async fn index(
    state: web::Data<AppState>,
    admin: Admin,
    q: web::Query<NoticeQuery>,
) -> HttpResponse {
    let layout = admin.layout;
    let notice = q.into_inner().notice.unwrap_or_default();
    render(
        &state,
        layout,
        notice,
        String::new(),
        String::new(),
        String::new(),
    )
    .await
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `POST …/settings/webhooks` (add). Errors re-render the page with the message (422).
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let layout = admin.layout;
    let form = form.into_inner();
    if let Err(e) = session::check_csrf(&req.get_session(), field(&form, "csrf_token")) {
        return actix_web::ResponseError::error_response(&e);
    }
    let url = field(&form, "url").unwrap_or_default().trim().to_string();
    let name = field(&form, "name").unwrap_or_default().trim().to_string();
    let subscriptions: Vec<String> = form
        .iter()
        .filter(|(k, v)| k == "subscriptions" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    let inbox_id = field(&form, "inbox_id")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|i| *i > 0);
    let account_id = layout.account_id;
    let checked = async {
        let url = webhooks::check_url(&url, UrlPolicy::of(&state.config)).await?;
        if subscriptions.is_empty() {
            return Err(AppError::invalid(
                "subscriptions",
                "choose at least one event",
            ));
        }
        let subscriptions = webhooks::check_subscriptions(&subscriptions)?;
        Ok(WebhookInput {
            url: Some(url),
            name: Some(name.clone()).filter(|n| !n.is_empty()),
            subscriptions: Some(subscriptions),
            inbox_id: Some(inbox_id),
        })
    }
    .await;
    let secrets = state.secrets.clone();
    let result = match checked {
        Ok(input) => {
            state
                .db(move |conn| webhooks::create(conn, &secrets, account_id, &input))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => redirect(&format!(
            "/app/accounts/{account_id}/settings/webhooks?notice=Webhook+added."
        )),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            let mut resp = render(&state, layout, String::new(), e.to_string(), url, name).await;
            *resp.status_mut() = status;
            resp
        }
    }
}

/// `POST …/settings/webhooks/{id}/enable` (save again: enables a disabled webhook) or
/// `…/delete` (needs the confirmation box). The webhook is resolved within the signed-in
/// administrator's account ([`Scoped`]): another account's answers 404.
pub async fn action(
    state: web::Data<AppState>,
    req: HttpRequest,
    scoped: Scoped<Webhook>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let layout = scoped.admin.layout;
    let (account_id, id) = (layout.account_id, scoped.object.id);
    let action = req
        .match_info()
        .get("action")
        .unwrap_or_default()
        .to_string();
    let form = form.into_inner();
    if let Err(e) = session::check_csrf(&req.get_session(), field(&form, "csrf_token")) {
        return actix_web::ResponseError::error_response(&e);
    }
    let confirmed = field(&form, "confirm") == Some("yes");
    let result: Result<&str, AppError> = match action.as_str() {
        "enable" => state
            .db(move |conn| webhooks::update(conn, account_id, id, &WebhookInput::default()))
            .await
            .map(|_| "Webhook enabled again."),
        "delete" if confirmed => state
            .db(move |conn| webhooks::delete(conn, account_id, id))
            .await
            .map(|_| "Webhook deleted."),
        "delete" => Err(AppError::invalid(
            "confirm",
            "tick the box to confirm deleting this webhook",
        )),
        _ => Err(AppError::NotFound(format!("no webhook action {action:?}"))),
    };
    match result {
        Ok(notice) => redirect(&format!(
            "/app/accounts/{account_id}/settings/webhooks?notice={}",
            url::form_urlencoded::byte_serialize(notice.as_bytes()).collect::<String>()
        )),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            let mut resp = render(
                &state,
                layout,
                String::new(),
                e.to_string(),
                String::new(),
                String::new(),
            )
            .await;
            *resp.status_mut() = status;
            resp
        }
    }
}
