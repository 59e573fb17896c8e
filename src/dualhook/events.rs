//! Dualhook lifecycle events (`POST /webhooks/dualhook/{account_id}`): verification, the
//! journal, and what each event does. Source: https://dualhook.com/docs/platform-api-event-webhooks
//! and …/platform-api-webhook-signatures; `../shared/reference/dualhook.md` §c.
//!
//! - [`verify`]: `X-Dualhook-Signature` is `sha256=` + lowercase hex HMAC-SHA256 of the raw
//!   body with the account's partner secret, compared in constant time (anything else: 401).
//! - [`journal`]: the raw body is committed under a unique `(account_id, event_id)` with a
//!   [`JOB_KIND`] job in the same transaction; a duplicate `X-Dualhook-Event-Id` changes
//!   nothing. The route answers 200 only after that commit (503 if the database is down).
//! - [`process`] (the job): `onboarding.completed` creates or updates the inbox(es),
//!   `onboarding.failed` fails the pending connection, `connection.mode_resolved` sets the
//!   mode, `connection.heartbeat.*` the heartbeat banner, `connection.disconnected` marks
//!   the inbox disconnected (sends refused) and emails the administrators. Ordering is not
//!   promised, so mode and heartbeat only move to a newer `createdAt`.
//! - Every event is listed in the inbox's audit list ([`audit_for_inbox`]).

use super::client::{self, PlatformError};
use super::connect::{self, CONNECTED};
use super::integration;
use crate::app::AppState;
use crate::db::schema::{
    channel_whatsapp, dualhook_connections, dualhook_events, dualhook_inboxes,
};
use crate::domain::{accounts, inboxes};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;

/// Job kind processing one journaled event. Payload `{"event_row_id": i64}`.
pub const JOB_KIND: &str = "dualhook_event";

/// Attempts before an event is marked `failed` (network errors towards Dualhook or Graph
/// are retried with backoff from [`RETRY_BASE_SECONDS`]).
pub const MAX_ATTEMPTS: i32 = 8;

/// First retry delay of a failed event, doubled per attempt.
pub const RETRY_BASE_SECONDS: u64 = 30;

/// Longest accepted `X-Dualhook-Event-Id`, in bytes.
pub const MAX_EVENT_ID_BYTES: usize = 200;

/// Event name of Switchboard's own "send test" event (Settings → Integrations → Dualhook).
pub const TEST_EVENT: &str = "switchboard.test";

/// Status of a connection event (`connection.mode_resolved`, `connection.heartbeat.*`,
/// `connection.disconnected`) that names no inbox yet: kept until `onboarding.completed`
/// creates the inbox for its `connectionId` or `phoneNumberId`, then applied in order
/// ([`replay_waiting`]).
pub const WAITING: &str = "waiting";

/// A `dualhook_events` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dualhook_events)]
pub struct EventRow {
    pub id: i64,
    pub account_id: i64,
    /// `X-Dualhook-Event-Id` (`evt_…`).
    pub event_id: String,
    /// `X-Dualhook-Event`, e.g. `onboarding.completed`.
    pub event: String,
    /// The body exactly as received (the signed bytes).
    pub raw_body: String,
    /// `pending`, `processed`, `failed`, or [`WAITING`] (a connection event that arrived
    /// before its inbox existed; replayed when `onboarding.completed` creates it).
    pub status: String,
    /// What it did, in words.
    pub summary: Option<String>,
    /// The last processing error.
    pub error: Option<String>,
    /// The event's `data.connectionId`.
    pub dualhook_connection_id: Option<String>,
    /// The inbox it concerned, once known.
    pub inbox_id: Option<i64>,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

/// True when `header` is `sha256=` + the lowercase hex HMAC-SHA256 of `body` under
/// `partner_secret` (the same recipe as Meta's `X-Hub-Signature-256`, so the same
/// constant-time check: [`crate::whatsapp::signature::verify`]).
pub fn verify(header: Option<&str>, body: &[u8], partner_secret: &str) -> bool {
    // Dualhook compares the whole header string: no surrounding spaces are tolerated.
    header.is_some_and(|h| h == h.trim())
        && crate::whatsapp::signature::verify(header, body, &[partner_secret])
}

/// `sha256=<hex>` for `body` under `partner_secret` (what Dualhook sends; used by "send test").
pub fn sign(partner_secret: &str, body: &[u8]) -> String {
    crate::whatsapp::signature::sign(partner_secret, body)
}

/// The envelope `{event, id, createdAt, data}` (only what is read).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Envelope {
    /// Event name.
    pub event: String,
    /// `evt_…`.
    #[serde(default)]
    pub id: Option<String>,
    /// When Dualhook created it.
    #[serde(default, rename = "createdAt")]
    pub created_at: Option<DateTime<Utc>>,
    /// Event fields.
    #[serde(default)]
    pub data: Value,
}

/// Reads the envelope. Errors: 400 when the body is not such JSON.
pub fn parse(body: &[u8]) -> AppResult<Envelope> {
    let env: Envelope = serde_json::from_slice(body).map_err(|e| {
        AppError::BadRequest(format!(
            "body is not a Dualhook event ({{\"event\", \"id\", \"createdAt\", \"data\"}}): {e}"
        ))
    })?;
    if env.event.trim().is_empty() || env.event.len() > 100 {
        return Err(AppError::bad_field("event", "event must name the event"));
    }
    Ok(env)
}

/// Refuses an event meant for another Switchboard account. `data.tenantId` is the tenant id
/// Switchboard gave Dualhook when it created the onboarding session (`account_<id>`, see
/// `crate::dualhook::connect`); Dualhook echoes it on every onboarding and connection event
/// (`../shared/reference/dualhook.md` §c and §d: "`tenantId` and `metadata` are yours").
/// `data.metadata.switchboard_account_id`, when a number, must name the account too. An
/// event without either is accepted (e.g. Switchboard's own test event). Errors: 422 on
/// `data.tenantId` (or `data.metadata.switchboard_account_id`) naming both accounts, checked
/// after the signature and before anything is journaled, so nothing is applied.
pub fn check_tenant(account_id: i64, env: &Envelope) -> AppResult<()> {
    let ours = format!("account_{account_id}");
    match &env.data["tenantId"] {
        Value::Null => {}
        Value::String(t) if *t == ours => {}
        other => {
            let named = match other {
                Value::String(t) => t.clone(),
                v => v.to_string(),
            };
            return Err(AppError::invalid(
                "data.tenantId",
                format!(
                    "this event is for tenant {named:.100}, but this URL is account {account_id}'s (tenant {ours}); nothing was recorded. Point that tenant's events at its own account's URL"
                ),
            ));
        }
    }
    if let Some(n) = env.data["metadata"]["switchboard_account_id"].as_i64() {
        if n != account_id {
            return Err(AppError::invalid(
                "data.metadata.switchboard_account_id",
                format!(
                    "this event is for Switchboard account {n}, but this URL is account {account_id}'s; nothing was recorded"
                ),
            ));
        }
    }
    Ok(())
}

/// Checks `X-Dualhook-Event-Id`: present, 1 to [`MAX_EVENT_ID_BYTES`] printable ASCII
/// characters. Errors: 400 naming the header.
pub fn check_event_id(header: Option<&str>) -> AppResult<String> {
    match header {
        Some(id)
            if !id.is_empty()
                && id.len() <= MAX_EVENT_ID_BYTES
                && id.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(id.to_string())
        }
        _ => Err(AppError::bad_field(
            "X-Dualhook-Event-Id",
            format!("X-Dualhook-Event-Id must be 1 to {MAX_EVENT_ID_BYTES} printable characters"),
        )),
    }
}

/// The outcome of [`journal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journaled {
    /// Stored (row id) with its processing job.
    New(i64),
    /// This event id was already stored: nothing changed.
    Duplicate,
}

/// Commits the raw body and its processing job in one transaction, unless the account
/// already has `event_id`.
pub fn journal(
    conn: &mut PgConnection,
    account_id: i64,
    event_id: &str,
    event: &str,
    raw_body: &str,
    connection_id: Option<&str>,
) -> AppResult<Journaled> {
    conn.transaction(|conn| {
        let id: Option<i64> = diesel::insert_into(dualhook_events::table)
            .values((
                dualhook_events::account_id.eq(account_id),
                dualhook_events::event_id.eq(event_id),
                dualhook_events::event.eq(event),
                dualhook_events::raw_body.eq(raw_body),
                dualhook_events::dualhook_connection_id.eq(connection_id),
            ))
            .on_conflict_do_nothing()
            .returning(dualhook_events::id)
            .get_result(conn)
            .optional()?;
        match id {
            Some(id) => {
                crate::jobs::enqueue(
                    conn,
                    JOB_KIND,
                    serde_json::json!({ "event_row_id": id }),
                    MAX_ATTEMPTS,
                )?;
                Ok(Journaled::New(id))
            }
            None => Ok(Journaled::Duplicate),
        }
    })
}

/// Why processing stopped.
#[derive(Debug)]
pub enum ProcessError {
    /// Try again later (Dualhook or Graph unreachable, rate limited, database hiccup).
    Retry(String),
    /// Will not work however often it is tried.
    Permanent(String),
}

impl From<AppError> for ProcessError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::DatabaseUnavailable(d) => ProcessError::Retry(d),
            AppError::Internal(d) => ProcessError::Retry(d),
            other => ProcessError::Permanent(other.to_string()),
        }
    }
}

impl From<PlatformError> for ProcessError {
    fn from(e: PlatformError) -> Self {
        if e.is_transient() {
            ProcessError::Retry(e.explain())
        } else {
            ProcessError::Permanent(e.explain())
        }
    }
}

fn text(data: &Value, key: &str) -> Option<String> {
    match &data[key] {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn time(data: &Value, key: &str) -> Option<DateTime<Utc>> {
    data[key]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Marks the event processed with what it did (and the inbox it concerned).
fn finish(
    conn: &mut PgConnection,
    row_id: i64,
    summary: &str,
    inbox_id: Option<i64>,
) -> AppResult<()> {
    diesel::update(dualhook_events::table.find(row_id))
        .set((
            dualhook_events::status.eq("processed"),
            dualhook_events::summary.eq(summary),
            dualhook_events::error.eq(None::<String>),
            dualhook_events::inbox_id.eq(inbox_id),
            dualhook_events::processed_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a processing error; `failed` when no attempt remains.
pub fn record_error(
    conn: &mut PgConnection,
    row_id: i64,
    error: &str,
    give_up: bool,
) -> AppResult<()> {
    diesel::update(dualhook_events::table.find(row_id))
        .set((
            dualhook_events::error.eq(error),
            dualhook_events::status.eq(if give_up { "failed" } else { "pending" }),
        ))
        .execute(conn)?;
    Ok(())
}

/// Processes one journaled event (the [`JOB_KIND`] job). Already processed rows are left
/// alone, so a job that runs twice has one effect.
pub async fn process(state: &AppState, row_id: i64) -> Result<(), ProcessError> {
    let row: Option<EventRow> = state
        .db(move |conn| {
            Ok(dualhook_events::table
                .find(row_id)
                .select(EventRow::as_select())
                .first(conn)
                .optional()?)
        })
        .await?;
    let Some(row) = row else { return Ok(()) };
    if row.status == "processed" {
        return Ok(());
    }
    let env = match parse(row.raw_body.as_bytes()) {
        Ok(env) => env,
        Err(e) => {
            let msg = e.to_string();
            state
                .db(move |conn| finish(conn, row_id, &format!("Ignored: {msg}"), None))
                .await?;
            return Ok(());
        }
    };
    if env.event == "onboarding.completed" {
        return completed(state, &row, &env).await;
    }
    let account_id = row.account_id;
    state
        .db(move |conn| conn.transaction(|conn| apply(conn, account_id, row_id, &env)))
        .await?;
    Ok(())
}

/// Every event but `onboarding.completed`: database only.
fn apply(conn: &mut PgConnection, account_id: i64, row_id: i64, env: &Envelope) -> AppResult<()> {
    let d = &env.data;
    let at = env.created_at.unwrap_or_else(Utc::now);
    let connection_id = text(d, "connectionId");
    let states = match &connection_id {
        Some(c) => connect::states_for_connection(conn, account_id, c)?,
        None => Vec::new(),
    };
    // An event that names the number but no connection still finds its inbox (one that
    // names another connection is that connection's, and waits for it).
    let states = match (&connection_id, text(d, "phoneNumberId")) {
        (None, Some(pnid)) => connect::states_for_phone_number_id(conn, account_id, &pnid)?,
        _ => states,
    };
    let first_inbox = states.first().map(|s| s.inbox_id);
    let mut waiting = false;
    let mut no_inbox = || {
        waiting = true;
        format!(
            "No inbox is connected through Dualhook connection {} yet; it is applied when onboarding creates the inbox.",
            connection_id.clone().unwrap_or_else(|| "(none)".into())
        )
    };
    let summary = match env.event.as_str() {
        TEST_EVENT => "Test event: the signature was verified with the stored partner secret and the event was journaled.".to_string(),
        "onboarding.started" => format!(
            "Onboarding started (session {}).",
            text(d, "sessionId").unwrap_or_default()
        ),
        "onboarding.failed" => {
            let reason = text(d, "reason").unwrap_or_else(|| "unknown".into());
            let words = match reason.as_str() {
                "expired" => "the onboarding link expired before it was completed; click Connect again".to_string(),
                "waba_webhook_conflict" => format!(
                    "another account already connected WhatsApp Business Account {} with a different webhook ({} differs)",
                    text(d, "wabaId").unwrap_or_default(),
                    text(d, "mismatch").unwrap_or_else(|| "url".into())
                ),
                other => other.replace('_', " "),
            };
            let pending = connect::find_for_event(
                conn,
                account_id,
                text(d, "sessionId").as_deref(),
                d["metadata"]["switchboard_connection_id"].as_i64(),
            )?;
            if let Some(p) = &pending {
                connect::mark_failed(conn, p.id, &format!("Onboarding failed: {words}."))?;
            }
            format!("Onboarding failed: {words}.")
        }
        "connection.mode_resolved" => {
            let mode = text(d, "connectionMode").unwrap_or_else(|| "unknown".into());
            if states.is_empty() {
                no_inbox()
            } else {
                for s in &states {
                    if s.mode_at.is_none_or(|m| m <= at) {
                        diesel::update(dualhook_inboxes::table.find(s.inbox_id))
                            .set((
                                dualhook_inboxes::connection_mode.eq(&mode),
                                dualhook_inboxes::mode_at.eq(Some(at)),
                                dualhook_inboxes::updated_at.eq(diesel::dsl::now),
                            ))
                            .execute(conn)?;
                    }
                }
                format!("Connection mode resolved: {}.", mode_label(&mode))
            }
        }
        "connection.heartbeat.due_soon"
        | "connection.heartbeat.overdue"
        | "connection.heartbeat.confirmed" => {
            let status = text(d, "heartbeatStatus").unwrap_or_else(|| {
                match env.event.as_str() {
                    "connection.heartbeat.due_soon" => "DUE_SOON",
                    "connection.heartbeat.overdue" => "OVERDUE",
                    _ => "OK",
                }
                .into()
            });
            let due = time(d, "heartbeatNextDueAt");
            if states.is_empty() {
                no_inbox()
            } else {
                for s in &states {
                    if s.heartbeat_at.is_none_or(|h| h <= at) {
                        diesel::update(dualhook_inboxes::table.find(s.inbox_id))
                            .set((
                                dualhook_inboxes::heartbeat_status.eq(&status),
                                dualhook_inboxes::heartbeat_next_due_at.eq(due),
                                dualhook_inboxes::heartbeat_last_confirmed_at
                                    .eq(time(d, "heartbeatLastConfirmedAt")),
                                dualhook_inboxes::heartbeat_at.eq(Some(at)),
                                dualhook_inboxes::updated_at.eq(diesel::dsl::now),
                            ))
                            .execute(conn)?;
                    }
                }
                let due_text = due
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_else(|| "unknown".into());
                match status.as_str() {
                    "DUE_SOON" => format!("Heartbeat due soon: open the WhatsApp Business app before {due_text}."),
                    "OVERDUE" => format!("Heartbeat overdue since {due_text}: open the WhatsApp Business app now, or Meta may stop delivering messages."),
                    _ => format!(
                        "Heartbeat confirmed{}; next due {due_text}.",
                        text(d, "confirmedVia").map(|v| format!(" (via {})", v.replace('_', " "))).unwrap_or_default()
                    ),
                }
            }
        }
        "connection.disconnected" => {
            let reason = text(d, "reason").unwrap_or_else(|| "unknown".into());
            if states.is_empty() {
                no_inbox()
            } else {
                for s in &states {
                    diesel::update(dualhook_inboxes::table.find(s.inbox_id))
                        .set((
                            dualhook_inboxes::disconnected_at.eq(Some(at)),
                            dualhook_inboxes::disconnected_reason.eq(&reason),
                            dualhook_inboxes::updated_at.eq(diesel::dsl::now),
                        ))
                        .execute(conn)?;
                    email_admins_disconnected(conn, account_id, s.inbox_id, &reason)?;
                }
                format!(
                    "Disconnected by Dualhook ({}): sends are refused until the number is connected again.",
                    reason.replace('_', " ")
                )
            }
        }
        other => format!("Event {other} recorded; Switchboard does not act on it."),
    };
    if waiting {
        return wait_for_inbox(conn, row_id, &summary);
    }
    finish(conn, row_id, &summary, first_inbox)
}

/// Marks the event [`WAITING`] with what will happen.
fn wait_for_inbox(conn: &mut PgConnection, row_id: i64, summary: &str) -> AppResult<()> {
    diesel::update(dualhook_events::table.find(row_id))
        .set((
            dualhook_events::status.eq(WAITING),
            dualhook_events::summary.eq(summary),
            dualhook_events::error.eq(None::<String>),
            dualhook_events::processed_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Applies, in the order Dualhook created them (`createdAt`, then arrival), the account's
/// [`WAITING`] events for `connection_id` (or, naming no connection, for `phone_number_id`),
/// once `onboarding.completed` created or updated the inbox in the same transaction. A `connection.disconnected` older
/// than the completion (`completed_at`) is superseded by it and changes nothing; the others
/// follow the usual newer-`createdAt`-wins rule. Rows are locked (`FOR UPDATE`), so two
/// workers never apply one twice. Returns how many were applied.
pub fn replay_waiting(
    conn: &mut PgConnection,
    account_id: i64,
    connection_id: &str,
    phone_number_id: &str,
    completed_at: DateTime<Utc>,
) -> AppResult<usize> {
    #[derive(QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        raw_body: String,
    }
    let rows: Vec<Waiting> = diesel::sql_query(
        "SELECT id, raw_body FROM dualhook_events WHERE account_id = $1 AND status = 'waiting' \
         AND (dualhook_connection_id = $2 OR (dualhook_connection_id IS NULL \
         AND raw_body::jsonb -> 'data' ->> 'phoneNumberId' = $3)) \
         ORDER BY raw_body::jsonb ->> 'createdAt', id FOR UPDATE",
    )
    .bind::<diesel::sql_types::BigInt, _>(account_id)
    .bind::<diesel::sql_types::Text, _>(connection_id)
    .bind::<diesel::sql_types::Text, _>(phone_number_id)
    .load(conn)?;
    let n = rows.len();
    for row in rows {
        let env = parse(row.raw_body.as_bytes())?;
        let at = env.created_at.unwrap_or_else(Utc::now);
        if env.event == "connection.disconnected" && at < completed_at {
            finish(
                conn,
                row.id,
                &format!(
                    "Superseded: onboarding completed again at {} after this disconnection; nothing changed.",
                    completed_at.format("%Y-%m-%d %H:%M UTC")
                ),
                None,
            )?;
            continue;
        }
        apply(conn, account_id, row.id, &env)?;
    }
    Ok(n)
}

/// "coexistence" → "Coexistence (WhatsApp Business app and Cloud API)", etc.
pub fn mode_label(mode: &str) -> &'static str {
    match mode {
        "coexistence" => {
            "Coexistence (the WhatsApp Business app and the Cloud API share the number)"
        }
        "cloud_api" => "Cloud API only",
        _ => "not known yet",
    }
}

/// Queues an email to each administrator of the account: the inbox was disconnected.
fn email_admins_disconnected(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
    reason: &str,
) -> AppResult<()> {
    let (inbox, channel) = inboxes::find(conn, account_id, inbox_id)?;
    for m in accounts::members_of(conn, account_id)? {
        if m.role != accounts::Role::Administrator {
            continue;
        }
        let subject = format!("WhatsApp inbox {} was disconnected", inbox.name);
        let text = format!(
            "Hi {name},\n\nDualhook disconnected the WhatsApp number {phone} of the inbox \"{inbox}\" \
             (reason: {reason}). Switchboard refuses to send from it until the number is \
             connected again: Settings → Integrations → Dualhook → Connect.\n\nThe \
             conversation history is kept.\n",
            name = m.user.name,
            phone = channel.phone_number,
            inbox = inbox.name,
            reason = reason.replace('_', " "),
        );
        crate::jobs::email::enqueue(
            conn,
            &crate::jobs::email::EmailJob::Message {
                to: m.user.email.clone(),
                subject,
                text,
                html: None,
            },
        )?;
    }
    Ok(())
}

/// The number's display phone and verified name from Graph
/// (`GET /{phone_number_id}?fields=display_phone_number,verified_name`).
async fn graph_number(
    state: &AppState,
    token: &str,
    phone_number_id: &str,
) -> Result<(Option<String>, Option<String>), PlatformError> {
    let url = state.config.graph_url(phone_number_id);
    let resp = state
        .http
        .get(url)
        .bearer_auth(token)
        .query(&[("fields", "display_phone_number,verified_name")])
        .send()
        .await
        .map_err(|e| PlatformError::Network(e.without_url().to_string()))?;
    let status = resp.status().as_u16();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    if status >= 500 {
        return Err(PlatformError::Network(format!(
            "Graph answered HTTP {status}"
        )));
    }
    if status >= 300 {
        return Ok((None, None));
    }
    Ok((text(&v, "display_phone_number"), text(&v, "verified_name")))
}

/// `+` and the digits of a display phone (`+1 555-123-4567` → `+15551234567`).
pub fn e164(display: &str) -> String {
    let digits: String = display.chars().filter(char::is_ascii_digit).collect();
    format!("+{digits}")
}

/// `onboarding.completed`: reveal the token, read the number from Graph, then create or
/// update the inbox, attach it to the pending connection and schedule a template sync.
async fn completed(state: &AppState, row: &EventRow, env: &Envelope) -> Result<(), ProcessError> {
    let d = env.data.clone();
    let created = env.created_at.unwrap_or_else(Utc::now);
    let account_id = row.account_id;
    let row_id = row.id;
    let (Some(connection_id), Some(phone_number_id), Some(waba)) = (
        text(&d, "connectionId"),
        text(&d, "phoneNumberId"),
        text(&d, "wabaId"),
    ) else {
        return Err(ProcessError::Permanent(
            "onboarding.completed without connectionId, phoneNumberId or wabaId".into(),
        ));
    };
    let secrets = state.secrets.clone();
    let integration = state
        .db(move |conn| integration::load(conn, &secrets, account_id))
        .await?;
    let Some(api_key) = integration.api_key else {
        return Err(ProcessError::Permanent(
            "no Dualhook API key is saved, so the access token cannot be revealed".into(),
        ));
    };
    let token =
        client::reveal_access_token(&state.http, &state.config, &api_key, &connection_id).await?;
    let (graph_phone, graph_name) = graph_number(state, &token, &phone_number_id).await?;
    let phone = e164(
        graph_phone
            .as_deref()
            .or(text(&d, "displayPhoneNumber").as_deref())
            .unwrap_or_default(),
    );
    let verified_name = graph_name.or_else(|| text(&d, "verifiedName"));
    let secrets = state.secrets.clone();
    let inbox_id = state
        .db(move |conn| {
            conn.transaction(|conn| {
                let pending = connect::find_for_event(
                    conn,
                    account_id,
                    text(&d, "sessionId").as_deref(),
                    d["metadata"]["switchboard_connection_id"].as_i64(),
                )?;
                let name = pending
                    .as_ref()
                    .map(|p| p.inbox_name.clone())
                    .or_else(|| text(&d["metadata"], "inbox_name"))
                    .or(verified_name.clone())
                    .unwrap_or_else(|| phone.clone());
                let existing = inboxes::list(conn, account_id, None)?
                    .into_iter()
                    .find(|(_, c)| c.phone_number_id == phone_number_id);
                let inbox_id = match existing {
                    Some((i, c)) => {
                        diesel::update(channel_whatsapp::table.find(c.id))
                            .set((
                                channel_whatsapp::api_key_ciphertext.eq(secrets.encrypt(&token)),
                                channel_whatsapp::source.eq("dualhook"),
                                channel_whatsapp::updated_at.eq(diesel::dsl::now),
                            ))
                            .execute(conn)?;
                        inboxes::clear_reauthorization(conn, i.id)?;
                        i.id
                    }
                    None => {
                        inboxes::create(
                            conn,
                            &secrets,
                            account_id,
                            inboxes::NewWhatsappInbox {
                                name,
                                phone_number: phone.clone(),
                                phone_number_id: phone_number_id.clone(),
                                business_account_id: waba.clone(),
                                api_key: token.clone(),
                                app_secret: None,
                                source: Some("dualhook".into()),
                            },
                        )?
                        .0
                        .id
                    }
                };
                let mode = text(&d, "connectionMode").unwrap_or_else(|| "unknown".into());
                let at = Some(created);
                diesel::insert_into(dualhook_inboxes::table)
                    .values((
                        dualhook_inboxes::inbox_id.eq(inbox_id),
                        dualhook_inboxes::account_id.eq(account_id),
                        dualhook_inboxes::connection_row_id.eq(pending.as_ref().map(|p| p.id)),
                        dualhook_inboxes::dualhook_connection_id.eq(&connection_id),
                        dualhook_inboxes::connection_mode.eq(&mode),
                        dualhook_inboxes::mode_at.eq(at),
                        dualhook_inboxes::heartbeat_status.eq(text(&d, "heartbeatStatus")),
                        dualhook_inboxes::heartbeat_next_due_at.eq(time(&d, "heartbeatNextDueAt")),
                        dualhook_inboxes::heartbeat_last_confirmed_at
                            .eq(time(&d, "heartbeatLastConfirmedAt")),
                        dualhook_inboxes::heartbeat_at.eq(at),
                    ))
                    .on_conflict(dualhook_inboxes::inbox_id)
                    .do_update()
                    .set((
                        dualhook_inboxes::connection_row_id
                            .eq(pending.as_ref().map(|p| p.id)),
                        dualhook_inboxes::dualhook_connection_id.eq(&connection_id),
                        dualhook_inboxes::connection_mode.eq(&mode),
                        dualhook_inboxes::mode_at.eq(at),
                        dualhook_inboxes::disconnected_at.eq(None::<DateTime<Utc>>),
                        dualhook_inboxes::disconnected_reason.eq(None::<String>),
                        dualhook_inboxes::updated_at.eq(diesel::dsl::now),
                    ))
                    .execute(conn)?;
                if let Some(p) = &pending {
                    diesel::update(dualhook_connections::table.find(p.id))
                        .set((
                            dualhook_connections::status.eq(CONNECTED),
                            dualhook_connections::waba_id.eq(&waba),
                            dualhook_connections::failure_reason.eq(None::<String>),
                            dualhook_connections::updated_at.eq(diesel::dsl::now),
                        ))
                        .execute(conn)?;
                }
                inboxes::schedule_template_sync(conn, inbox_id, Utc::now())?;
                // Earlier events of this onboarding (e.g. `onboarding.started`) join the
                // inbox's audit list.
                if let Some(sid) = text(&d, "sessionId") {
                    diesel::sql_query(
                        "UPDATE dualhook_events SET inbox_id = $1 WHERE account_id = $2 \
                         AND inbox_id IS NULL AND raw_body::jsonb -> 'data' ->> 'sessionId' = $3",
                    )
                    .bind::<diesel::sql_types::BigInt, _>(inbox_id)
                    .bind::<diesel::sql_types::BigInt, _>(account_id)
                    .bind::<diesel::sql_types::Text, _>(sid)
                    .execute(conn)?;
                }
                // Connection events that arrived before this inbox existed apply now.
                replay_waiting(conn, account_id, &connection_id, &phone_number_id, created)?;
                finish(
                    conn,
                    row_id,
                    &format!(
                        "Onboarding completed: {phone}{} connected, mode {}; access token revealed and stored encrypted; templates sync next.",
                        verified_name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default(),
                        mode.replace('_', " ")
                    ),
                    Some(inbox_id),
                )?;
                Ok(inbox_id)
            })
        })
        .await?;
    state.phone_cache.clear();
    tracing::info!(account_id, inbox_id, "Dualhook onboarding completed");
    Ok(())
}

/// One line of an audit list.
#[derive(Debug, Clone)]
pub struct AuditRow {
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    pub received: String,
    /// Event name.
    pub event: String,
    /// `evt_…`.
    pub event_id: String,
    /// `processed`, `pending` or `failed`.
    pub status: String,
    /// What it did or why it failed.
    pub summary: String,
}

/// Rows shown per audit list.
pub const AUDIT_ROWS: i64 = 100;

fn audit(rows: Vec<EventRow>) -> Vec<AuditRow> {
    rows.into_iter()
        .map(|r| AuditRow {
            received: r.received_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            event: r.event,
            event_id: r.event_id,
            status: r.status,
            summary: r
                .summary
                .or(r.error.map(|e| format!("Error: {e}")))
                .unwrap_or_else(|| "Waiting to be processed.".into()),
        })
        .collect()
}

/// The inbox's events (its own, and its Dualhook connection's), newest first.
pub fn audit_for_inbox(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
) -> AppResult<Vec<AuditRow>> {
    let connection = connect::state_of(conn, inbox_id)?.map(|s| s.dualhook_connection_id);
    let mut q = dualhook_events::table
        .filter(dualhook_events::account_id.eq(account_id))
        .into_boxed();
    q = match connection {
        Some(c) => q.filter(
            dualhook_events::inbox_id
                .eq(inbox_id)
                .or(dualhook_events::dualhook_connection_id.eq(c)),
        ),
        None => q.filter(dualhook_events::inbox_id.eq(inbox_id)),
    };
    Ok(audit(
        q.order(dualhook_events::id.desc())
            .limit(AUDIT_ROWS)
            .select(EventRow::as_select())
            .load(conn)?,
    ))
}

/// The account's events, newest first.
pub fn audit_for_account(conn: &mut PgConnection, account_id: i64) -> AppResult<Vec<AuditRow>> {
    Ok(audit(
        dualhook_events::table
            .filter(dualhook_events::account_id.eq(account_id))
            .order(dualhook_events::id.desc())
            .limit(AUDIT_ROWS)
            .select(EventRow::as_select())
            .load(conn)?,
    ))
}
