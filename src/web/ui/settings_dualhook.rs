//! Settings → Integrations → Dualhook (administrators): the API key and partner secret
//! (saved encrypted, shown masked), the event URL to paste into Dualhook's dashboard, a
//! "send test" that signs a test event with the stored partner secret and posts it to that
//! URL (through the real route, end to end), "Connect WhatsApp via Dualhook", the
//! connections so far, heartbeat banners and the account's lifecycle events.

use super::scope::Admin;
use super::{html, redirect, Layout};
use crate::app::AppState;
use crate::dualhook::connect::{self, Connection};
use crate::dualhook::events::{self, AuditRow};
use crate::dualhook::integration::{self, IntegrationInput};
use crate::error::AppError;
use crate::web::session;
use actix_session::SessionExt;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

/// A heartbeat banner: which inbox, its status and the due date.
#[derive(Debug, Clone)]
pub struct HeartbeatBanner {
    pub inbox: String,
    pub overdue: bool,
    pub due: String,
}

/// One connection row.
#[derive(Debug, Clone)]
pub struct ConnectionRow {
    pub name: String,
    pub status: String,
    pub created: String,
    pub url: String,
    pub failure: String,
}

#[derive(Template)]
#[template(path = "settings/dualhook.html")]
struct DualhookPage {
    layout: Layout,
    notice: String,
    error: String,
    api_key_masked: String,
    partner_secret_masked: String,
    event_url: String,
    banners: Vec<HeartbeatBanner>,
    connections: Vec<ConnectionRow>,
    dualhook_events: Vec<AuditRow>,
    /// Set right after Connect: where the browser continues (Dualhook's onboarding page).
    onboarding_url: String,
}

/// Heartbeat banners for the account (shared with the inbox settings partial).
pub fn banners(states: Vec<(connect::InboxState, String)>) -> Vec<HeartbeatBanner> {
    states
        .into_iter()
        .map(|(s, inbox)| HeartbeatBanner {
            inbox,
            overdue: s.heartbeat_status.as_deref() == Some("OVERDUE"),
            due: s
                .heartbeat_next_due_at
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "soon".into()),
        })
        .collect()
}

fn row(config: &crate::config::Config, c: Connection) -> ConnectionRow {
    ConnectionRow {
        url: connect::connection_url(config, &c.connection_key),
        name: c.inbox_name,
        status: c.status,
        created: c.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        failure: c.failure_reason.unwrap_or_default(),
    }
}

async fn render(state: &AppState, layout: Layout, notice: String, error: String) -> HttpResponse {
    render_with(state, layout, notice, error, None).await
}

async fn render_with(
    state: &AppState,
    layout: Layout,
    notice: String,
    error: String,
    continue_to: Option<i64>,
) -> HttpResponse {
    let account_id = layout.account_id;
    let secrets = state.secrets.clone();
    let config = state.config.clone();
    let loaded = state
        .db(move |conn| {
            let i = integration::load(conn, &secrets, account_id)?;
            let connections = connect::list(conn, account_id)?
                .into_iter()
                .map(|c| row(&config, c))
                .collect();
            let onboarding_url = match continue_to {
                Some(id) => connect::onboarding_url(conn, account_id, id)?,
                None => None,
            };
            Ok((
                onboarding_url,
                i,
                connections,
                banners(connect::heartbeat_alerts(conn, account_id)?),
                events::audit_for_account(conn, account_id)?,
            ))
        })
        .await;
    let page = loaded.and_then(
        |(onboarding_url, i, connections, banners, dualhook_events)| {
            html(&DualhookPage {
                onboarding_url: onboarding_url.unwrap_or_default(),
                notice,
                error,
                api_key_masked: i
                    .api_key
                    .as_deref()
                    .map(crate::crypto::mask)
                    .unwrap_or_default(),
                partner_secret_masked: i
                    .partner_secret
                    .as_deref()
                    .map(crate::crypto::mask)
                    .unwrap_or_default(),
                event_url: integration::event_url(&state.config, account_id),
                banners,
                connections,
                dualhook_events,
                layout,
            })
        },
    );
    page.unwrap_or_else(|e| actix_web::ResponseError::error_response(&e))
}

/// `?notice=` after an action; `?onboarding=completed|failed|cancelled` when Dualhook sends
/// the browser back; `?connect=<id>` right after Connect (the page then forwards the browser
/// to Dualhook: the form cannot redirect off-site, the CSP's `form-action` is `'self'`).
#[derive(Debug, serde::Deserialize)]
pub struct PageQuery {
    pub notice: Option<String>,
    pub onboarding: Option<String>,
    pub connect: Option<i64>,
}

/// `GET /app/accounts/{id}/settings/integrations/dualhook`.
pub async fn index(
    state: web::Data<AppState>,
    admin: Admin,
    q: web::Query<PageQuery>,
) -> HttpResponse {
    let q = q.into_inner();
    let notice = match q.onboarding.as_deref() {
        Some("completed") => "Dualhook finished the onboarding. The inbox appears under Settings → Inboxes as soon as Dualhook's onboarding.completed event arrives (usually within seconds).".to_string(),
        Some("failed") => "Dualhook reports that the onboarding failed; the reason appears below once its event arrives.".to_string(),
        Some("cancelled") => "The onboarding was cancelled; nothing was connected.".to_string(),
        _ => q.notice.unwrap_or_default(),
    };
    render_with(&state, admin.layout, notice, String::new(), q.connect).await
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The posted form once its CSRF token checks out (the CSRF error otherwise).
fn checked(
    req: &HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> Result<Vec<(String, String)>, AppError> {
    let form = form.into_inner();
    session::check_csrf(&req.get_session(), field(&form, "csrf_token"))?;
    Ok(form)
}

fn back(account_id: i64, notice: &str) -> HttpResponse {
    redirect(&format!(
        "/app/accounts/{account_id}/settings/integrations/dualhook?notice={}",
        url::form_urlencoded::byte_serialize(notice.as_bytes()).collect::<String>()
    ))
}

async fn failed(state: &AppState, layout: Layout, e: AppError) -> HttpResponse {
    let status = actix_web::ResponseError::status_code(&e);
    let mut resp = render(state, layout, String::new(), e.to_string()).await;
    *resp.status_mut() = status;
    resp
}

/// `POST …/integrations/dualhook` (save): empty fields keep the stored values. Errors
/// re-render the page with the message (422).
pub async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let layout = admin.layout;
    let form = match checked(&req, form) {
        Ok(form) => form,
        Err(e) => return actix_web::ResponseError::error_response(&e),
    };
    let keep_or_check = |name: &str| -> Result<Option<String>, AppError> {
        match field(&form, name).map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => integration::check_secret(name, v).map(Some),
        }
    };
    let input = match (keep_or_check("api_key"), keep_or_check("partner_secret")) {
        (Ok(api_key), Ok(partner_secret)) => IntegrationInput {
            api_key,
            partner_secret,
        },
        (Err(e), _) | (_, Err(e)) => return failed(&state, layout, e).await,
    };
    let (secrets, account_id) = (state.secrets.clone(), layout.account_id);
    match state
        .db(move |conn| integration::save(conn, &secrets, account_id, &input))
        .await
    {
        Ok(()) => back(account_id, "Dualhook settings saved."),
        Err(e) => failed(&state, layout, e).await,
    }
}

/// `POST …/integrations/dualhook/test`: signs a `switchboard.test` event with the stored
/// partner secret and posts it to the event URL; the page says what the route answered.
pub async fn send_test(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let layout = admin.layout;
    if let Err(e) = checked(&req, form) {
        return actix_web::ResponseError::error_response(&e);
    }
    let (secrets, account_id) = (state.secrets.clone(), layout.account_id);
    let secret = match state
        .db(move |conn| integration::load(conn, &secrets, account_id))
        .await
    {
        Ok(i) => i.partner_secret,
        Err(e) => return failed(&state, layout, e).await,
    };
    let Some(secret) = secret else {
        let e = AppError::invalid(
            "partner_secret",
            "save the partner secret first, then send a test",
        );
        return failed(&state, layout, e).await;
    };
    let event_id = format!("evt_test_{}", crate::crypto::random_hex(8));
    let body = serde_json::to_vec(&serde_json::json!({
        "event": events::TEST_EVENT,
        "id": event_id,
        "createdAt": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": {"note": "Sent from Settings → Integrations → Dualhook"},
    }))
    .expect("json");
    let url = integration::event_url(&state.config, account_id);
    let sent = state
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("x-dualhook-event", events::TEST_EVENT)
        .header("x-dualhook-event-id", &event_id)
        .header("x-dualhook-signature", events::sign(&secret, &body))
        .body(body)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => back(
            account_id,
            &format!("Test event {event_id} sent to {url}: the route verified its signature and answered {}.", r.status()),
        ),
        Ok(r) => {
            let status = r.status();
            let text: String = r.text().await.unwrap_or_default().chars().take(300).collect();
            failed(&state, layout, AppError::BadGateway(format!("Test event sent to {url}, but the route answered {status}: {text}"))).await
        }
        Err(e) => {
            failed(&state, layout, AppError::BadGateway(format!("Could not reach {url} ({}). Switchboard must be reachable at FRONTEND_URL for Dualhook to deliver events.", e.without_url()))).await
        }
    }
}

/// `POST …/integrations/dualhook/connect`: creates the pending connection and the
/// onboarding session, then sends the browser on to Dualhook's onboarding URL (303 to
/// `?connect=<id>`, which forwards it).
pub async fn connect(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let layout = admin.layout;
    let form = match checked(&req, form) {
        Ok(form) => form,
        Err(e) => return actix_web::ResponseError::error_response(&e),
    };
    let name = field(&form, "inbox_name").unwrap_or_default().to_string();
    let (account_id, user_id) = (layout.account_id, layout.user_id);
    match connect::start(&state, account_id, Some(user_id), &name).await {
        Ok((id, _)) => redirect(&format!(
            "/app/accounts/{account_id}/settings/integrations/dualhook?connect={id}"
        )),
        Err(e) => failed(&state, layout, e).await,
    }
}

/// The Dualhook card of an inbox's settings page (`partials/dualhook_inbox.html`).
#[derive(Debug, Clone, Default)]
pub struct DualhookInbox {
    /// True when Dualhook connected this inbox.
    pub connected: bool,
    /// Dualhook's `conn_…`.
    pub connection_id: String,
    /// The connection mode in words.
    pub mode: String,
    /// Heartbeat status and due date in words ("" when it does not apply).
    pub heartbeat: String,
    /// Why and when it was disconnected ("" while connected).
    pub disconnected: String,
    /// The heartbeat banner, when due soon or overdue.
    pub banners: Vec<HeartbeatBanner>,
    /// The inbox's Dualhook events, newest first.
    pub events: Vec<AuditRow>,
}

/// Loads [`DualhookInbox`] for an inbox (two queries, three when connected).
pub fn inbox_panel(
    conn: &mut diesel::PgConnection,
    account_id: i64,
    inbox_id: i64,
    inbox_name: &str,
) -> crate::error::AppResult<DualhookInbox> {
    let events = events::audit_for_inbox(conn, account_id, inbox_id)?;
    let Some(s) = connect::state_of(conn, inbox_id)? else {
        return Ok(DualhookInbox {
            events,
            ..Default::default()
        });
    };
    let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
    };
    let heartbeat = match (&s.heartbeat_status, fmt(s.heartbeat_next_due_at)) {
        (Some(st), Some(due)) => format!("{} · next due {due}", st.replace('_', " ")),
        (Some(st), None) => st.replace('_', " "),
        _ => String::new(),
    };
    let disconnected = match fmt(s.disconnected_at) {
        Some(at) => format!(
            "Dualhook disconnected this number on {at} ({}). Sending is refused until it is connected again from Settings → Integrations → Dualhook; the history is kept.",
            s.disconnected_reason.as_deref().unwrap_or("no reason given").replace('_', " ")
        ),
        None => String::new(),
    };
    let banners = if s.heartbeat_needs_attention() {
        banners(vec![(s.clone(), inbox_name.to_string())])
    } else {
        Vec::new()
    };
    Ok(DualhookInbox {
        connected: true,
        connection_id: s.dualhook_connection_id.clone(),
        mode: events::mode_label(&s.connection_mode).to_string(),
        heartbeat,
        disconnected,
        banners,
        events,
    })
}
