//! `/api/v1/accounts/{account_id}/inboxes`: list, show, create and update WhatsApp Cloud
//! inboxes. Creating and updating are for administrators.

use super::views;
use crate::app::AppState;
use crate::domain::inboxes::{self, InboxPatch, NewWhatsappInbox};
use crate::error::{AppError, AppResult};
use crate::web::auth;
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

/// `GET /inboxes` → `{"payload":[inbox…]}` (agents see their own inboxes only).
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
            inboxes::list(conn, viewer.account_id, only.as_deref())
        })
        .await?;
    let payload: Vec<Value> = rows
        .iter()
        .map(|(i, c)| views::inbox(&state.config, &state.secrets, i, c, admin))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "payload": payload })))
}

/// `GET /inboxes/{id}`.
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, inbox_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let admin = viewer.require_admin().is_ok();
    let (inbox, channel) = state
        .db(move |conn| {
            if !viewer.can_see_inbox(conn, inbox_id)? {
                return Err(AppError::NotFound(format!("inbox {inbox_id} not found")));
            }
            inboxes::find(conn, account_id, inbox_id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(views::inbox(
        &state.config,
        &state.secrets,
        &inbox,
        &channel,
        admin,
    )))
}

/// `POST /inboxes`: creates a WhatsApp Cloud inbox. Errors: 422 naming the field.
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: web::Json<InboxBody>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    viewer.require_admin()?;
    let admin = true;
    let body = body.into_inner();
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
    let secrets = state.secrets.clone();
    let account_id = viewer.account_id;
    let (inbox, channel) = state
        .db(move |conn| inboxes::create(conn, &secrets, account_id, input))
        .await?;
    state.phone_cache.clear();
    tracing::info!(inbox_id = inbox.id, phone_number = %channel.phone_number, "WhatsApp inbox created");
    Ok(HttpResponse::Ok().json(views::inbox(
        &state.config,
        &state.secrets,
        &inbox,
        &channel,
        admin,
    )))
}

/// `PATCH /inboxes/{id}`: name, auto assignment, and the channel's number and credentials.
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: web::Json<InboxBody>,
) -> AppResult<HttpResponse> {
    let (account_id, inbox_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    viewer.require_admin()?;
    let admin = true;
    let body = body.into_inner();
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
    let secrets = state.secrets.clone();
    let (inbox, channel) = state
        .db(move |conn| inboxes::update(conn, &secrets, account_id, inbox_id, patch))
        .await?;
    state.phone_cache.clear();
    Ok(HttpResponse::Ok().json(views::inbox(
        &state.config,
        &state.secrets,
        &inbox,
        &channel,
        admin,
    )))
}
