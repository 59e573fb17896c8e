//! "Connect WhatsApp via Dualhook" and the inboxes it connects.
//!
//! - An administrator's Connect creates a pending [`Connection`] with its own verify token
//!   and an unguessable key (48 hex characters, 192 bits): Meta's message path for the whole
//!   WABA is `{FRONTEND_URL}/webhooks/whatsapp/c/{key}` ([`connection_url`]), because
//!   Dualhook sets the override per WABA and before the number is known
//!   (`../shared/reference/dualhook.md` §a.1–2). [`start`] then creates the onboarding
//!   session and returns the URL to send the browser to.
//! - On `onboarding.completed` (see `events`) each number becomes an inbox whose channel
//!   `source` is `dualhook`: Meta signs its POSTs with Dualhook's app secret, so the
//!   signature rule's step 4 must not apply (§a.3). Its protection is the unguessable URL,
//!   the verify token, and the WABA and `phone_number_id` checks of [`route`].
//! - [`InboxState`] keeps the connection mode, the coexistence heartbeat and a disconnect;
//!   a disconnected inbox refuses sends ([`refuse_send_if_disconnected`]).

use super::client;
use super::integration;
use crate::app::AppState;
use crate::config::Config;
use crate::crypto;
use crate::db::schema::{channel_whatsapp, dualhook_connections, dualhook_inboxes, inboxes};
use crate::domain::inboxes::{Channel, Inbox, InboxWithChannel};
use crate::error::{AppError, AppResult};
use crate::whatsapp::payload::Envelope;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

/// `status` of a connection waiting for Dualhook's onboarding to finish.
pub const PENDING: &str = "pending";
/// `status` once `onboarding.completed` created its inbox(es).
pub const CONNECTED: &str = "connected";
/// `status` after `onboarding.failed` or a refused session.
pub const FAILED: &str = "failed";

/// Longest inbox name accepted on Connect, in characters.
pub const MAX_INBOX_NAME: usize = 255;

/// A `dualhook_connections` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dualhook_connections)]
pub struct Connection {
    pub id: i64,
    pub account_id: i64,
    /// The unguessable part of the connection's webhook URL (48 lowercase hex characters).
    pub connection_key: String,
    /// `hub.verify_token` Meta and Dualhook's preflight send (32 lowercase hex characters).
    pub verify_token: String,
    /// Name given to the inbox(es) created on completion.
    pub inbox_name: String,
    /// [`PENDING`], [`CONNECTED`] or [`FAILED`].
    pub status: String,
    /// Dualhook's `sess_…`.
    pub session_id: Option<String>,
    /// Where the administrator was sent.
    pub onboarding_url: Option<String>,
    /// Why it failed, in words.
    pub failure_reason: Option<String>,
    /// The WABA once known.
    pub waba_id: Option<String>,
    /// Who clicked Connect.
    pub requested_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A `dualhook_inboxes` row: the Dualhook state of one inbox.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dualhook_inboxes)]
pub struct InboxState {
    pub inbox_id: i64,
    pub account_id: i64,
    /// The pending connection it came from (its URL routes to this inbox).
    pub connection_row_id: Option<i64>,
    /// Dualhook's `conn_…`.
    pub dualhook_connection_id: String,
    /// `unknown`, `coexistence` or `cloud_api`.
    pub connection_mode: String,
    /// `createdAt` of the event that set the mode (older events do not overwrite it).
    pub mode_at: Option<DateTime<Utc>>,
    /// `OK`, `DUE_SOON`, `OVERDUE` (coexistence only).
    pub heartbeat_status: Option<String>,
    /// Open the WhatsApp Business app before this, or Meta may stop delivering.
    pub heartbeat_next_due_at: Option<DateTime<Utc>>,
    pub heartbeat_last_confirmed_at: Option<DateTime<Utc>>,
    /// `createdAt` of the event that set the heartbeat.
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// Set by `connection.disconnected`; sends are refused from then on.
    pub disconnected_at: Option<DateTime<Utc>>,
    /// Dualhook's `reason` (e.g. `token_revoked`).
    pub disconnected_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl InboxState {
    /// True when administrators should see the heartbeat banner (`DUE_SOON` or `OVERDUE`).
    pub fn heartbeat_needs_attention(&self) -> bool {
        self.disconnected_at.is_none()
            && matches!(
                self.heartbeat_status.as_deref(),
                Some("DUE_SOON") | Some("OVERDUE")
            )
    }
}

/// `{FRONTEND_URL}/webhooks/whatsapp/c/{key}`: the URL Dualhook puts on the WABA.
pub fn connection_url(config: &Config, key: &str) -> String {
    format!("{}/webhooks/whatsapp/c/{key}", config.frontend_url)
}

/// Where Dualhook sends the browser back: Settings → Integrations → Dualhook with
/// `?onboarding=completed|failed|cancelled`.
pub fn return_url(config: &Config, account_id: i64, outcome: &str) -> String {
    format!(
        "{}/app/accounts/{account_id}/settings/integrations/dualhook?onboarding={outcome}",
        config.frontend_url
    )
}

/// Checks the inbox name of a Connect: trimmed, 1 to [`MAX_INBOX_NAME`] characters, no
/// control characters. Errors: 422 on `inbox_name`.
pub fn check_inbox_name(raw: &str) -> AppResult<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid("inbox_name", "give the new inbox a name"));
    }
    if name.chars().any(char::is_control) || name.chars().count() > MAX_INBOX_NAME {
        return Err(AppError::invalid(
            "inbox_name",
            format!("the inbox name must be at most {MAX_INBOX_NAME} characters without control characters"),
        ));
    }
    Ok(name.to_string())
}

/// Creates a pending connection with a fresh key and verify token.
pub fn create_pending(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_name: &str,
    requested_by: Option<i64>,
) -> AppResult<Connection> {
    Ok(diesel::insert_into(dualhook_connections::table)
        .values((
            dualhook_connections::account_id.eq(account_id),
            dualhook_connections::connection_key.eq(crypto::random_hex(24)),
            dualhook_connections::verify_token.eq(crypto::new_verify_token()),
            dualhook_connections::inbox_name.eq(inbox_name),
            dualhook_connections::requested_by.eq(requested_by),
        ))
        .returning(Connection::as_returning())
        .get_result(conn)?)
}

/// Marks a connection failed with a reason in words.
pub fn mark_failed(conn: &mut PgConnection, id: i64, reason: &str) -> AppResult<()> {
    diesel::update(dualhook_connections::table.find(id))
        .set((
            dualhook_connections::status.eq(FAILED),
            dualhook_connections::failure_reason.eq(reason),
            dualhook_connections::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The account's connections, newest first (at most 50).
pub fn list(conn: &mut PgConnection, account_id: i64) -> AppResult<Vec<Connection>> {
    Ok(dualhook_connections::table
        .filter(dualhook_connections::account_id.eq(account_id))
        .order(dualhook_connections::id.desc())
        .limit(50)
        .select(Connection::as_select())
        .load(conn)?)
}

/// The account's connection for Dualhook session `session_id`, or the one whose id the
/// event's `metadata.switchboard_connection_id` names.
pub fn find_for_event(
    conn: &mut PgConnection,
    account_id: i64,
    session_id: Option<&str>,
    row_id: Option<i64>,
) -> AppResult<Option<Connection>> {
    if let Some(sid) = session_id {
        let found = dualhook_connections::table
            .filter(dualhook_connections::account_id.eq(account_id))
            .filter(dualhook_connections::session_id.eq(sid))
            .select(Connection::as_select())
            .first(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    match row_id {
        Some(id) => Ok(dualhook_connections::table
            .filter(dualhook_connections::account_id.eq(account_id))
            .filter(dualhook_connections::id.eq(id))
            .select(Connection::as_select())
            .first(conn)
            .optional()?),
        None => Ok(None),
    }
}

fn find_by_key(conn: &mut PgConnection, key: &str) -> AppResult<Option<Connection>> {
    // Keys are 48 hex characters; anything else cannot match (and is not looked up).
    if key.len() != 48 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    Ok(dualhook_connections::table
        .filter(dualhook_connections::connection_key.eq(key))
        .select(Connection::as_select())
        .first(conn)
        .optional()?)
}

/// The GET handshake on a connection URL (Meta's, and Dualhook's preflight before the
/// session exists): the `hub.challenge` when `hub.mode` is `subscribe` and the verify token
/// matches (constant time). Errors: 401 otherwise, also for an unknown key.
pub fn verify_handshake(
    conn: &mut PgConnection,
    key: &str,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
) -> AppResult<String> {
    let found = find_by_key(conn, key)?;
    let ok = found.as_ref().is_some_and(|c| {
        mode == Some("subscribe")
            && token.is_some_and(|t| crypto::secure_eq(t.as_bytes(), c.verify_token.as_bytes()))
    });
    if !ok {
        return Err(AppError::Unauthorized(
            "webhook verification failed: unknown connection or wrong verify token".into(),
        ));
    }
    Ok(challenge.unwrap_or_default().to_string())
}

/// Routes a POST on a connection URL to one of the connection's inboxes: the one whose
/// `phone_number_id` the first change's `metadata` names, when the entry's `id` is that
/// inbox's WABA. (`receive::check_delivery` then checks every change.) Errors: 404 unknown
/// key, or no inbox of the connection for that number; 400 not JSON; 422 another WABA or
/// no `phone_number_id`.
pub fn route(conn: &mut PgConnection, key: &str, body: &[u8]) -> AppResult<InboxWithChannel> {
    let Some(connection) = find_by_key(conn, key)? else {
        return Err(AppError::NotFound(
            "no Dualhook connection has this URL".into(),
        ));
    };
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| AppError::BadRequest(format!("body is not valid webhook JSON: {e}")))?;
    let first = envelope.entry.iter().find_map(|e| {
        e.changes.iter().find_map(|c| {
            let v = c.value.get("metadata")?.get("phone_number_id")?;
            let id = v
                .as_str()
                .map(str::to_string)
                .or_else(|| v.as_u64().map(|n| n.to_string()))?;
            Some((e.id.clone(), id))
        })
    });
    let Some((waba, phone_number_id)) = first else {
        return Err(AppError::invalid(
            "metadata.phone_number_id",
            "no change names a phone_number_id, so it cannot be routed to an inbox",
        ));
    };
    let ids: Vec<i64> = dualhook_inboxes::table
        .filter(dualhook_inboxes::connection_row_id.eq(connection.id))
        .select(dualhook_inboxes::inbox_id)
        .load(conn)?;
    let found: Option<InboxWithChannel> = inboxes::table
        .inner_join(channel_whatsapp::table)
        .filter(inboxes::id.eq_any(&ids))
        .filter(channel_whatsapp::phone_number_id.eq(&phone_number_id))
        .select((Inbox::as_select(), Channel::as_select()))
        .first(conn)
        .optional()?;
    let Some(found) = found else {
        return Err(AppError::NotFound(format!(
            "no inbox of this Dualhook connection has phone_number_id {phone_number_id}"
        )));
    };
    if waba.as_deref() != Some(found.1.business_account_id.as_str()) {
        return Err(AppError::invalid(
            "entry.id",
            format!(
                "entry id {} is not this connection's WhatsApp Business Account",
                waba.unwrap_or_default()
            ),
        ));
    }
    Ok(found)
}

/// The Dualhook state of an inbox, `None` for inboxes Dualhook did not connect.
pub fn state_of(conn: &mut PgConnection, inbox_id: i64) -> AppResult<Option<InboxState>> {
    Ok(dualhook_inboxes::table
        .find(inbox_id)
        .select(InboxState::as_select())
        .first(conn)
        .optional()?)
}

/// The states of the account's inboxes with Dualhook connection `dualhook_connection_id`.
pub fn states_for_connection(
    conn: &mut PgConnection,
    account_id: i64,
    dualhook_connection_id: &str,
) -> AppResult<Vec<InboxState>> {
    Ok(dualhook_inboxes::table
        .filter(dualhook_inboxes::account_id.eq(account_id))
        .filter(dualhook_inboxes::dualhook_connection_id.eq(dualhook_connection_id))
        .select(InboxState::as_select())
        .load(conn)?)
}

/// The Dualhook state of the account's inbox whose channel has `phone_number_id` (a
/// connection event that names the number under another `connectionId`); empty if none.
pub fn states_for_phone_number_id(
    conn: &mut PgConnection,
    account_id: i64,
    phone_number_id: &str,
) -> AppResult<Vec<InboxState>> {
    use crate::db::schema::channel_whatsapp;
    let ids: Vec<i64> = inboxes::table
        .inner_join(channel_whatsapp::table)
        .filter(inboxes::account_id.eq(account_id))
        .filter(channel_whatsapp::phone_number_id.eq(phone_number_id))
        .select(inboxes::id)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(dualhook_inboxes::table
        .filter(dualhook_inboxes::account_id.eq(account_id))
        .filter(dualhook_inboxes::inbox_id.eq_any(ids))
        .select(InboxState::as_select())
        .load(conn)?)
}

/// The account's Dualhook inboxes whose heartbeat needs an administrator (see
/// [`InboxState::heartbeat_needs_attention`]), with the inbox name.
pub fn heartbeat_alerts(
    conn: &mut PgConnection,
    account_id: i64,
) -> AppResult<Vec<(InboxState, String)>> {
    let rows: Vec<InboxState> = dualhook_inboxes::table
        .filter(dualhook_inboxes::account_id.eq(account_id))
        .filter(dualhook_inboxes::heartbeat_status.eq_any(["DUE_SOON", "OVERDUE"]))
        .filter(dualhook_inboxes::disconnected_at.is_null())
        .select(InboxState::as_select())
        .load(conn)?;
    let mut out = Vec::new();
    for s in rows {
        let name: String = inboxes::table
            .find(s.inbox_id)
            .select(inboxes::name)
            .first(conn)?;
        out.push((s, name));
    }
    Ok(out)
}

/// Refuses a send from an inbox Dualhook disconnected, as `reauthorization_required`
/// explains a #190. Errors: 422 on `inbox` with the reason and what to do.
pub fn refuse_send_if_disconnected(conn: &mut PgConnection, inbox_id: i64) -> AppResult<()> {
    let Some(state) = state_of(conn, inbox_id)? else {
        return Ok(());
    };
    match state.disconnected_at {
        None => Ok(()),
        Some(at) => Err(AppError::invalid(
            "inbox",
            format!(
                "this inbox's WhatsApp number was disconnected in Dualhook on {} ({}), so messages cannot be sent; an administrator must connect it again (Settings → Integrations → Dualhook)",
                at.format("%Y-%m-%d %H:%M UTC"),
                state
                    .disconnected_reason
                    .as_deref()
                    .unwrap_or("no reason given")
                    .replace('_', " ")
            ),
        )),
    }
}

/// Connect: creates a pending connection and its Dualhook onboarding session, and returns
/// the connection's id and the onboarding URL to send the browser to. The `Idempotency-Key` is derived from the
/// pending connection, so a retried request yields one session. Errors: 422 on `api_key`
/// when no API key is saved; 422 on `inbox_name`; 502 with Dualhook's refusal in words
/// (the connection is kept as failed with that reason).
pub async fn start(
    state: &AppState,
    account_id: i64,
    user_id: Option<i64>,
    inbox_name: &str,
) -> AppResult<(i64, String)> {
    let inbox_name = check_inbox_name(inbox_name)?;
    let secrets = state.secrets.clone();
    let name = inbox_name.clone();
    let (integration, pending) = state
        .db(move |conn| {
            let i = integration::load(conn, &secrets, account_id)?;
            if i.api_key.is_none() {
                return Err(AppError::invalid(
                    "api_key",
                    "save your Dualhook API key first (Settings → Integrations → Dualhook)",
                ));
            }
            Ok((i, create_pending(conn, account_id, &name, user_id)?))
        })
        .await?;
    let config = &state.config;
    let body = json!({
        "tenantId": format!("account_{account_id}"),
        "tenantName": inbox_name,
        "successRedirectUrl": return_url(config, account_id, "completed"),
        "failureRedirectUrl": return_url(config, account_id, "failed"),
        "cancelRedirectUrl": return_url(config, account_id, "cancelled"),
        "webhookOverrideUrl": connection_url(config, &pending.connection_key),
        "webhookVerifyToken": pending.verify_token,
        "expiresInSeconds": 3600,
        "metadata": {
            "switchboard_account_id": account_id,
            "switchboard_connection_id": pending.id,
            "inbox_name": inbox_name,
            "requested_by_user_id": user_id,
        },
    });
    let idempotency_key = format!("switchboard-connect-{}", pending.id);
    let api_key = integration.api_key.unwrap_or_default();
    let created =
        client::create_session(&state.http, config, &api_key, &idempotency_key, &body).await;
    let id = pending.id;
    match created {
        Ok(s) => {
            let url = s.onboarding_url.clone();
            state
                .db(move |conn| {
                    diesel::update(dualhook_connections::table.find(id))
                        .set((
                            dualhook_connections::session_id.eq(&s.session_id),
                            dualhook_connections::onboarding_url.eq(&s.onboarding_url),
                            dualhook_connections::updated_at.eq(diesel::dsl::now),
                        ))
                        .execute(conn)?;
                    Ok(())
                })
                .await?;
            Ok((id, url))
        }
        Err(e) => {
            let reason = e.explain();
            tracing::warn!(
                account_id,
                code = e.code(),
                "Dualhook onboarding session refused"
            );
            let r = reason.clone();
            state.db(move |conn| mark_failed(conn, id, &r)).await?;
            Err(AppError::BadGateway(reason))
        }
    }
}

/// The onboarding URL of the account's pending connection `id`, if it has one.
pub fn onboarding_url(
    conn: &mut PgConnection,
    account_id: i64,
    id: i64,
) -> AppResult<Option<String>> {
    Ok(dualhook_connections::table
        .filter(dualhook_connections::account_id.eq(account_id))
        .filter(dualhook_connections::id.eq(id))
        .filter(dualhook_connections::status.eq(PENDING))
        .select(dualhook_connections::onboarding_url)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}
