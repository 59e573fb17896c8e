//! Inbox setup against Graph, on create and on credential changes:
//! 1. check the credentials by listing the WABA's templates (`GET /{waba_id}/message_templates`),
//!    which also gives the first template sync;
//! 2. subscribe the app to the WABA (`POST /{waba_id}/subscribed_apps`, no body), then point
//!    the WABA's webhooks at this inbox (`override_callback_uri` + `verify_token`).
//!
//! A webhook setup error (e.g. Meta #100 when a Tech Provider such as Dualhook owns the
//! override) is logged and kept on the inbox as a warning; it never fails the inbox.

use crate::app::AppState;
use crate::domain::{inboxes, templates};
use crate::error::{AppError, AppResult};
use crate::whatsapp::graph::{self, GraphError};
use chrono::{Duration, Utc};
use serde_json::Value;

/// Checks `token` against the WABA and returns its templates (every page).
/// Errors: 422 on `channel.provider_config.api_key` with "Invalid credentials: <Meta's
/// message>" when Graph refuses; 502 when Graph cannot be reached or fails (5xx).
pub async fn check_credentials(
    state: &AppState,
    token: &str,
    waba_id: &str,
) -> AppResult<Vec<Value>> {
    match graph::list_templates(&state.http, &state.config, token, waba_id).await {
        Ok(items) => Ok(items),
        Err(e @ GraphError::Status { .. }) if !e.is_transient() => Err(AppError::invalid(
            "channel.provider_config.api_key",
            format!("Invalid credentials: {}", e.external_error()),
        )),
        Err(e) => Err(AppError::BadGateway(format!(
            "Could not check the credentials with the WhatsApp Cloud API ({e}); please try again"
        ))),
    }
}

/// Runs the two `subscribed_apps` calls. Returns `None` when both worked, otherwise a warning
/// a person can act on.
pub async fn subscribe_webhook(
    state: &AppState,
    token: &str,
    waba_id: &str,
    callback_url: &str,
    verify_token: &str,
) -> Option<String> {
    if let Err(e) = graph::subscribe_app(&state.http, &state.config, token, waba_id, None).await {
        return Some(format!(
            "Subscribing the app to WhatsApp Business Account {waba_id} failed: {}. Messages will not arrive until the app is subscribed.",
            e.external_error()
        ));
    }
    match graph::subscribe_app(
        &state.http,
        &state.config,
        token,
        waba_id,
        Some((callback_url, verify_token)),
    )
    .await
    {
        Ok(()) => None,
        Err(e) => Some(format!(
            "Setting the webhook override failed: {}. If a Tech Provider (e.g. Dualhook) manages your webhook, paste the Webhook URL and verify token there; otherwise set them in Meta's webhook configuration.",
            e.external_error()
        )),
    }
}

/// After an inbox was created or its credentials changed: stores `templates` (the answer of
/// [`check_credentials`]), clears "reauthorization required", and sets up the webhook,
/// recording any warning on the inbox.
pub async fn complete_setup(
    state: &AppState,
    inbox_id: i64,
    templates: Vec<Value>,
) -> AppResult<()> {
    let (inbox, _) = state
        .db(move |conn| inboxes::find_by_id(conn, inbox_id))
        .await?;
    let synced: Vec<templates::SyncedTemplate> =
        templates.iter().filter_map(templates::from_graph).collect();
    let account_id = inbox.account_id;
    let next_sync =
        Utc::now() + Duration::seconds(state.config.template_sync_interval_seconds as i64);
    state
        .db(move |conn| {
            templates::replace_all(conn, account_id, inbox_id, &synced, Utc::now())?;
            inboxes::schedule_template_sync(conn, inbox_id, next_sync)?;
            inboxes::clear_reauthorization(conn, inbox_id)
        })
        .await?;
    register_webhook(state, inbox_id).await
}

/// Creates a WhatsApp Cloud inbox the way administrators do (API or settings screen): the
/// fields are checked, then the credentials against Graph, then the inbox is saved, its
/// templates stored and its webhook set up. Errors: 422 naming the field (including
/// "Invalid credentials: …" on `channel.provider_config.api_key`), 502 when Graph is away.
pub async fn create_inbox(
    state: &AppState,
    account_id: i64,
    input: inboxes::NewWhatsappInbox,
) -> AppResult<i64> {
    let checked = input.clone();
    state
        .db(move |conn| inboxes::validate_new(conn, &checked))
        .await?;
    let found = check_credentials(
        state,
        input.api_key.trim(),
        input.business_account_id.trim(),
    )
    .await?;
    let secrets = state.secrets.clone();
    let (inbox, channel) = state
        .db(move |conn| inboxes::create(conn, &secrets, account_id, input))
        .await?;
    state.phone_cache.clear();
    tracing::info!(inbox_id = inbox.id, phone_number = %channel.phone_number, "WhatsApp inbox created");
    complete_setup(state, inbox.id, found).await?;
    Ok(inbox.id)
}

/// Applies an administrator's changes to an inbox. New credentials (access token or WABA
/// id) are checked against Graph before anything is saved; then the templates are synced and
/// the webhook set up again, as on create. A changed number re-runs the webhook setup only.
/// Errors: as [`create_inbox`], and 404 for an inbox of another account.
pub async fn update_inbox(
    state: &AppState,
    account_id: i64,
    inbox_id: i64,
    patch: inboxes::InboxPatch,
) -> AppResult<()> {
    let (_, current) = state
        .db(move |conn| inboxes::find(conn, account_id, inbox_id))
        .await?;
    let credentials_changed = patch
        .api_key
        .as_deref()
        .is_some_and(|k| current.api_key(&state.secrets).ok().as_deref() != Some(k.trim()))
        || patch
            .business_account_id
            .as_deref()
            .is_some_and(|w| w.trim() != current.business_account_id);
    let webhook_changed = credentials_changed
        || patch
            .phone_number
            .as_deref()
            .is_some_and(|p| p.trim() != current.phone_number);
    let mut found = None;
    if credentials_changed {
        let token = match &patch.api_key {
            Some(k) => k.trim().to_string(),
            None => current.api_key(&state.secrets)?,
        };
        let waba = patch
            .business_account_id
            .clone()
            .unwrap_or_else(|| current.business_account_id.clone());
        let waba = waba.trim();
        if waba.is_empty() || !waba.chars().all(|c| c.is_ascii_digit()) {
            return Err(AppError::invalid(
                "channel.provider_config.business_account_id",
                format!("channel.provider_config.business_account_id must be the numeric id Meta shows, got {waba:?}"),
            ));
        }
        found = Some(check_credentials(state, &token, waba).await?);
    }
    let secrets = state.secrets.clone();
    state
        .db(move |conn| inboxes::update(conn, &secrets, account_id, inbox_id, patch))
        .await?;
    state.phone_cache.clear();
    match found {
        Some(t) => complete_setup(state, inbox_id, t).await,
        None if webhook_changed => register_webhook(state, inbox_id).await,
        None => Ok(()),
    }
}

/// Runs the webhook setup for an inbox and records its outcome on the inbox.
pub async fn register_webhook(state: &AppState, inbox_id: i64) -> AppResult<()> {
    let (_, channel) = state
        .db(move |conn| inboxes::find_by_id(conn, inbox_id))
        .await?;
    let token = channel.api_key(&state.secrets)?;
    let callback = state.config.webhook_url(&channel.phone_number);
    let warning = subscribe_webhook(
        state,
        &token,
        &channel.business_account_id,
        &callback,
        &channel.webhook_verify_token,
    )
    .await;
    match &warning {
        Some(w) => tracing::warn!(inbox_id, warning = %w, "WhatsApp webhook setup incomplete"),
        None => tracing::info!(inbox_id, callback = %callback, "WhatsApp webhook subscribed"),
    }
    state
        .db(move |conn| inboxes::record_webhook_setup(conn, inbox_id, warning.as_deref()))
        .await
}
