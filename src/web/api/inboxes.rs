//! `/api/v1/accounts/{account_id}/inboxes`: list, show, create and update WhatsApp Cloud
//! inboxes, sync their templates and re-run their webhook setup. Everything but reading is
//! for administrators. Creating, and changing credentials, checks them against Graph first
//! (`whatsapp::setup`).

use super::views;
use crate::app::AppState;
use crate::domain::auto_assignment;
use crate::domain::inbox_hours;
use crate::domain::inboxes::{self, InboxPatch, NewWhatsappInbox};
use crate::domain::number_health;
use crate::domain::templates;
use crate::error::{AppError, AppResult};
use crate::jobs::template_sync;
use crate::web::auth;
use crate::whatsapp::setup;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{Map, Value};

/// `{"name":…, "channel":{"type":"whatsapp","phone_number":…,"provider":"whatsapp_cloud","provider_config":{…}}}`.
#[derive(Debug, Deserialize)]
pub struct InboxBody {
    pub name: Option<String>,
    pub enable_auto_assignment: Option<bool>,
    pub channel: Option<ChannelBody>,
}

/// The `channel` object of an inbox body.
#[derive(Debug, Deserialize)]
pub struct ChannelBody {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub phone_number: Option<String>,
    pub provider: Option<String>,
    #[serde(default)]
    pub provider_config: Map<String, Value>,
}

/// The names under which Meta app secrets arrive (DESIGN.md, signature step 3).
const APP_SECRET_KEYS: &[&str] = &[
    "app_secret",
    "app_secret_key",
    "client_secret",
    "api_secret",
];

fn config_str(cfg: &Map<String, Value>, key: &str) -> Option<String> {
    match cfg.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn app_secret(cfg: &Map<String, Value>) -> Option<String> {
    APP_SECRET_KEYS.iter().find_map(|k| config_str(cfg, k))
}

fn check_channel_kind(channel: &ChannelBody) -> AppResult<()> {
    if let Some(kind) = channel.kind.as_deref() {
        if kind != "whatsapp" {
            return Err(AppError::invalid(
                "channel.type",
                format!("channel type {kind:?} is not supported; use \"whatsapp\""),
            ));
        }
    }
    if let Some(provider) = channel.provider.as_deref() {
        if provider != "whatsapp_cloud" {
            return Err(AppError::invalid(
                "channel.provider",
                format!("provider {provider:?} is not supported; use \"whatsapp_cloud\""),
            ));
        }
    }
    Ok(())
}

/// Renders one inbox with its templates.
async fn render(state: &AppState, account_id: i64, inbox_id: i64, admin: bool) -> AppResult<Value> {
    let (inbox, channel, list, health, limit) = state
        .db(move |conn| {
            let (i, c) = inboxes::find(conn, account_id, inbox_id)?;
            let t = templates::list(conn, inbox_id)?;
            let h = number_health::for_inboxes(conn, &[inbox_id])?;
            let l = auto_assignment::limit(conn, inbox_id)?;
            let hours = inbox_hours::get(conn, account_id, inbox_id)?;
            Ok((i, c, t, (h, hours), l))
        })
        .await?;
    let (health, hours) = health;
    let mut json = views::inbox(
        &state.config,
        &state.secrets,
        &inbox,
        &channel,
        admin,
        &list,
    );
    with_health(&mut json, inbox_id, &health);
    json["auto_assignment_config"] = auto_assignment::config_json(limit);
    hours.merge_into(&mut json);
    Ok(json)
}

/// Adds the inbox's own `health` object (issue 12; see `number_health::to_json`), all
/// values null until the first refresh or management event.
fn with_health(json: &mut Value, inbox_id: i64, rows: &[number_health::Health]) {
    let empty = number_health::Health {
        inbox_id,
        alerts: Value::Array(Vec::new()),
        reviews: Value::Array(Vec::new()),
        events: Value::Array(Vec::new()),
        refused_routes: Value::Array(Vec::new()),
        ..Default::default()
    };
    let health = rows
        .iter()
        .find(|h| h.inbox_id == inbox_id)
        .unwrap_or(&empty);
    json["health"] = number_health::to_json(health);
}

/// `GET /inboxes` → `{"payload":[inbox…]}` (agents see their own inboxes only).
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/inboxes",
    tag = "inboxes",
    operation_id = "inboxes_index",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The inboxes the caller may see", body = crate::web::openapi::schemas::InboxList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let admin = viewer.require_admin().is_ok();
    let rows = state
        .db(move |conn| {
            let only = viewer.visible_inbox_ids(conn)?;
            let rows = inboxes::list(conn, viewer.account_id, only.as_deref())?;
            let ids: Vec<i64> = rows.iter().map(|(i, _)| i.id).collect();
            let health = number_health::for_inboxes(conn, &ids)?;
            let limits = auto_assignment::limits(conn, &ids)?;
            let hours = inbox_hours::for_inboxes(conn, &ids)?;
            let mut out = Vec::with_capacity(rows.len());
            for (i, c) in rows {
                let t = templates::list(conn, i.id)?;
                out.push((i, c, t));
            }
            Ok((out, (health, hours), limits))
        })
        .await?;
    let (rows, (health, hours), limits) = rows;
    let payload: Vec<Value> = rows
        .iter()
        .map(|(i, c, t)| {
            let mut json = views::inbox(&state.config, &state.secrets, i, c, admin, t);
            with_health(&mut json, i.id, &health);
            json["auto_assignment_config"] =
                auto_assignment::config_json(limits.get(&i.id).copied());
            match hours.iter().find(|h| h.inbox_id == i.id) {
                Some(h) => h.merge_into(&mut json),
                None => inbox_hours::Settings::off(i.account_id, i.id).merge_into(&mut json),
            }
            json
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "payload": payload })))
}

/// `GET /inboxes/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/inboxes/{id}",
    tag = "inboxes",
    operation_id = "inboxes_show",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "The inbox", body = crate::web::openapi::schemas::Inbox),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, inbox_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let admin = viewer.require_admin().is_ok();
    state
        .db(move |conn| {
            if !viewer.can_see_inbox(conn, inbox_id)? {
                return Err(AppError::NotFound(format!("inbox {inbox_id} not found")));
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(render(&state, account_id, inbox_id, admin).await?))
}

/// `POST /inboxes`: creates a WhatsApp Cloud inbox. The credentials are checked against
/// Graph first, the templates synced, and the webhook set up (a setup failure is kept on the
/// inbox as `webhook_setup_warning`). Errors: 422 naming the field, including "Invalid
/// credentials: <Meta's message>"; 502 when Graph cannot be reached.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/inboxes",
    tag = "inboxes",
    operation_id = "inboxes_create",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::schemas::InboxBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The new inbox", body = crate::web::openapi::schemas::Inbox),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: super::wrapped::Wrapped,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    viewer.require_admin()?;
    let body: InboxBody = body.typed()?;
    let channel = body
        .channel
        .ok_or_else(|| AppError::invalid("channel", "channel is required"))?;
    check_channel_kind(&channel)?;
    let cfg = &channel.provider_config;
    let input = NewWhatsappInbox {
        name: body.name.unwrap_or_default(),
        phone_number: channel.phone_number.clone().unwrap_or_default(),
        phone_number_id: config_str(cfg, "phone_number_id").unwrap_or_default(),
        business_account_id: config_str(cfg, "business_account_id").unwrap_or_default(),
        api_key: config_str(cfg, "api_key").unwrap_or_default(),
        app_secret: app_secret(cfg),
        source: config_str(cfg, "source"),
    };
    let account_id = viewer.account_id;
    let inbox_id = setup::create_inbox(&state, account_id, input).await?;
    Ok(HttpResponse::Ok().json(render(&state, account_id, inbox_id, true).await?))
}

/// `PATCH /inboxes/{id}`: name, auto assignment, and the channel's number and credentials;
/// business hours, greeting, out of office and CSAT (`domain::inbox_hours`, 422 naming the field).
/// New credentials are checked against Graph before they are saved, then the templates are
/// synced and the webhook set up again (as on create).
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/inboxes/{id}",
    tag = "inboxes",
    operation_id = "inboxes_update",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::schemas::InboxBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The inbox", body = crate::web::openapi::schemas::Inbox),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: super::wrapped::Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, inbox_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    viewer.require_admin()?;
    let raw = body.json_object()?;
    let body: InboxBody = body.typed()?;
    // Issue 13: Chatwoot's `auto_assignment_config.max_assignment_limit`.
    let limit = raw
        .get("auto_assignment_config")
        .map(auto_assignment::parse_config)
        .transpose()?;
    // Issue 13 (hours): business hours, greeting, out of office and CSAT fields.
    if inbox_hours::touches(&raw) {
        state
            .db(move |conn| {
                inboxes::find(conn, account_id, inbox_id)?;
                let current = inbox_hours::get(conn, account_id, inbox_id)?;
                let next = inbox_hours::apply_patch(&current, &raw)?;
                inbox_hours::save(conn, &next)
            })
            .await?;
    }
    let mut patch = InboxPatch {
        name: body.name,
        enable_auto_assignment: body.enable_auto_assignment,
        ..Default::default()
    };
    if let Some(channel) = &body.channel {
        check_channel_kind(channel)?;
        let cfg = &channel.provider_config;
        patch.phone_number = channel.phone_number.clone();
        patch.phone_number_id = config_str(cfg, "phone_number_id");
        patch.business_account_id = config_str(cfg, "business_account_id");
        // A masked value echoed back from a GET leaves the secret unchanged.
        patch.api_key = config_str(cfg, "api_key").filter(|k| !k.starts_with("••••"));
        patch.app_secret = app_secret(cfg).filter(|k| !k.starts_with("••••"));
    }
    setup::update_inbox(&state, account_id, inbox_id, patch).await?;
    if let Some(limit) = limit {
        state
            .db(move |conn| auto_assignment::set_limit(conn, inbox_id, limit))
            .await?;
    }
    Ok(HttpResponse::Ok().json(render(&state, account_id, inbox_id, true).await?))
}

/// Checks that the caller administers `account_id` and that the inbox is one of its own;
/// returns the inbox with its channel. Errors: 401, 403, or 404.
pub(crate) async fn require_admin_inbox(
    state: &AppState,
    req: &HttpRequest,
    account_id: i64,
    inbox_id: i64,
) -> AppResult<inboxes::InboxWithChannel> {
    auth::viewer(state, req, account_id)
        .await?
        .require_admin()?;
    state
        .db(move |conn| inboxes::find(conn, account_id, inbox_id))
        .await
}

/// `POST /inboxes/{id}/sync_templates`: syncs the templates from Graph now and answers the
/// inbox with them. Errors: 422 when Graph refuses (Meta's message; #190 also flags the inbox
/// "reauthorization required"), 502 when Graph cannot be reached.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/inboxes/{id}/sync_templates",
    tag = "inboxes",
    operation_id = "inboxes_sync_templates",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The inbox with its templates", body = crate::web::openapi::schemas::Inbox),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn sync_templates(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, inbox_id) = path.into_inner();
    require_admin_inbox(&state, &req, account_id, inbox_id).await?;
    match template_sync::sync_inbox(&state, inbox_id).await {
        Ok(_) => {}
        Err(template_sync::SyncError::Graph(e)) if !e.is_transient() => {
            return Err(AppError::invalid(
                "message_templates",
                format!("Template sync failed: {}", e.external_error()),
            ))
        }
        Err(template_sync::SyncError::Graph(e)) => {
            return Err(AppError::BadGateway(format!(
                "Could not reach the WhatsApp Cloud API to sync templates ({e}); please try again"
            )))
        }
        Err(template_sync::SyncError::App(e)) => return Err(e),
    }
    Ok(HttpResponse::Ok().json(render(&state, account_id, inbox_id, true).await?))
}

/// `POST /inboxes/{id}/register_webhook`: runs the `subscribed_apps` setup again and answers
/// the inbox; its `webhook_setup_warning` says what went wrong, if anything.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/inboxes/{id}/register_webhook",
    tag = "inboxes",
    operation_id = "inboxes_register_webhook",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The inbox", body = crate::web::openapi::schemas::Inbox),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn register_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, inbox_id) = path.into_inner();
    require_admin_inbox(&state, &req, account_id, inbox_id).await?;
    setup::register_webhook(&state, inbox_id).await?;
    Ok(HttpResponse::Ok().json(render(&state, account_id, inbox_id, true).await?))
}
