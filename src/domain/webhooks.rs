//! Integration webhooks (Chatwoot's Webhooks API): an account's subscriptions to what happens
//! in the inbox, the durable delivery jobs their events become, and the record of recent
//! delivery attempts.
//!
//! - A webhook belongs to an account and, with `inbox_id` set, only receives that inbox's
//!   events. Its `subscriptions` are Chatwoot event names ([`SUBSCRIBABLE`]).
//! - Its signing secret (64 hex characters) is stored encrypted ([`SecretBox`]) and shown in
//!   full to administrators: it is the key that verifies `X-Chatwoot-Signature`.
//! - [`enqueue_for_event`] runs inside the transaction of every change (called by
//!   `events::emit`): one `webhook_delivery` job per subscribed, enabled webhook, with the
//!   payload already built, so a crash cannot lose an event.
//! - The last [`DELIVERIES_KEPT`] attempts per webhook are kept ([`record_attempt`]).
//! - [`DISABLE_REASON`]: after `WEBHOOK_DISABLE_AFTER_FAILURES` failed deliveries in a row the
//!   webhook is disabled and every administrator is emailed ([`record_outcome`]).

use crate::crypto::{self, SecretBox};
use crate::db::prepared::Prepare;
use crate::db::schema::{webhook_deliveries, webhooks};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};

/// Job kind of one webhook delivery (all its attempts). Payload [`DeliveryJob`].
pub const WEBHOOK_DELIVERY: &str = "webhook_delivery";

/// Attempts per delivery: the first and 3 retries (the "at most 3 retries").
pub const MAX_ATTEMPTS: i32 = 4;

/// Delivery attempts kept per webhook; older rows are deleted on insert.
pub const DELIVERIES_KEPT: i64 = 50;

/// Event names Switchboard delivers, Chatwoot's (`lib/events/types.rb` webhook names).
pub const DELIVERED: [&str; 8] = [
    "conversation_created",
    "conversation_status_changed",
    "conversation_updated",
    "message_created",
    "message_updated",
    "contact_created",
    "contact_updated",
    // Issue 13 (SLA): a deadline of the conversation's SLA was missed (ours).
    "sla_missed",
];

/// Delivered events of Switchboard's own that a webhook gets only when it subscribes to them:
/// a webhook created without `subscriptions` gets Chatwoot's seven, so an integration written
/// for Chatwoot never sees an event name it does not know.
pub const OPT_IN: [&str; 1] = ["sla_missed"];

/// Event names a webhook may subscribe to: [`DELIVERED`] plus the Chatwoot names Switchboard
/// never produces (`webwidget_triggered`, `conversation_typing_on`,
/// `conversation_typing_off`), accepted so integrations written for Chatwoot save unchanged.
pub const SUBSCRIBABLE: [&str; 11] = [
    "sla_missed",
    "conversation_created",
    "conversation_status_changed",
    "conversation_updated",
    "message_created",
    "message_updated",
    "contact_created",
    "contact_updated",
    "webwidget_triggered",
    "conversation_typing_on",
    "conversation_typing_off",
];

/// The 422 message for a non-https URL (Chatwoot's wording).
pub const HTTPS_REQUIRED: &str = "Webhook URL must use HTTPS";
/// The 422 message for an unknown subscription (Chatwoot's wording).
pub const INVALID_SUBSCRIPTION: &str = "Invalid subscription event type";
/// The 404 message (Chatwoot's wording).
pub const NOT_FOUND: &str = "Webhook not found";
/// The 422 message for a URL that resolves to a loopback, private or metadata address.
pub const PRIVATE_TARGET: &str = "Webhook URL must not point to a private or local address";
/// The 422 message for a URL that cannot be parsed or whose host does not resolve.
pub const INVALID_URL: &str = "Webhook URL is invalid";
/// `disabled_reason` of a webhook disabled for failing deliveries; `{n}` is the count.
pub const DISABLE_REASON: &str = "disabled after {n} failed deliveries in a row";

/// A `webhooks` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    /// Primary key, the API's `id`.
    pub id: i64,
    /// Owning account.
    pub account_id: i64,
    /// Set: only this inbox's events are delivered.
    pub inbox_id: Option<i64>,
    /// Where deliveries are POSTed.
    pub url: String,
    /// A label for people.
    pub name: Option<String>,
    /// Chatwoot event names ([`SUBSCRIBABLE`]).
    pub subscriptions: Vec<String>,
    /// The signing secret, encrypted with [`SecretBox`].
    pub secret_ciphertext: String,
    /// False once disabled for failing (a PATCH enables it again).
    pub enabled: bool,
    /// Why it was disabled, for the API and settings.
    pub disabled_reason: Option<String>,
    /// Failed deliveries since the last successful one.
    pub consecutive_failures: i32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A `webhook_deliveries` row: one HTTP attempt.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryAttempt {
    /// Primary key.
    pub id: i64,
    /// The webhook.
    pub webhook_id: i64,
    /// `X-Chatwoot-Delivery`, the same on every attempt of one event.
    pub delivery_id: String,
    /// Chatwoot event name.
    pub event: String,
    /// 1 for the first attempt.
    pub attempt: i32,
    /// The receiver's HTTP status; `None` when it did not answer.
    pub status_code: Option<i32>,
    /// Milliseconds from connecting to the end of the answer (or the failure).
    pub duration_ms: i64,
    /// `None` on success; otherwise what went wrong.
    pub error: Option<String>,
    /// When the attempt was made.
    pub created_at: DateTime<Utc>,
}

/// The payload of a `webhook_delivery` job.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DeliveryJob {
    /// The webhook to deliver to.
    pub webhook_id: i64,
    /// `X-Chatwoot-Delivery`: 32 random hex characters, kept on every retry.
    pub delivery_id: String,
    /// Chatwoot event name, e.g. `message_created`.
    pub event: String,
    /// The JSON body to POST, built when the event happened.
    pub body: Value,
    /// Set for an automation rule's or macro's `send_webhook_event` (then `webhook_id` is 0):
    /// the URL to POST to, unsigned (no webhook row, no secret), with the same retries and
    /// SSRF guard as integration webhooks; attempts are logged, not recorded per webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Queues the `send_webhook_event` POST of an automation rule or macro in the caller's
/// transaction (durable: it leaves only if the run commits), as a `webhook_delivery` job
/// with [`MAX_ATTEMPTS`] attempts and the integration webhooks' backoff, ordered per
/// conversation (`automation:<url>:conversation:<id>`). Event name `automation_event`.
pub fn enqueue_url(
    conn: &mut PgConnection,
    conversation_id: i64,
    url: &str,
    body: Value,
) -> AppResult<()> {
    let job = DeliveryJob {
        webhook_id: 0,
        delivery_id: crypto::random_hex(16),
        event: "automation_event".into(),
        body,
        url: Some(url.to_string()),
    };
    crate::jobs::enqueue_ordered(
        conn,
        WEBHOOK_DELIVERY,
        serde_json::to_value(&job).map_err(|e| AppError::Internal(e.to_string()))?,
        MAX_ATTEMPTS,
        &format!("automation:{url}:conversation:{conversation_id}"),
    )?;
    Ok(())
}

/// What the API accepts: Chatwoot's `webhook_create_update_payload`.
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    /// Required on create.
    pub url: Option<String>,
    /// Optional label.
    pub name: Option<String>,
    /// Event names; on create, absent means every delivered event of Chatwoot's
    /// ([`DELIVERED`] without [`OPT_IN`]).
    pub subscriptions: Option<Vec<String>>,
    /// `Some(None)` clears the inbox scope; `None` leaves it.
    pub inbox_id: Option<Option<i64>>,
}

/// Save-time URL rules: `allow_http` (`WEBHOOKS_ALLOW_HTTP`) and `allow_private`
/// (`WEBHOOKS_ALLOW_PRIVATE_TARGETS`).
#[derive(Debug, Clone, Copy, Default)]
pub struct UrlPolicy {
    /// Accept `http://` URLs.
    pub allow_http: bool,
    /// Accept hosts resolving to loopback/private/link-local addresses.
    pub allow_private: bool,
}

impl UrlPolicy {
    /// The policy of a configuration.
    pub fn of(config: &crate::config::Config) -> Self {
        UrlPolicy {
            allow_http: config.webhooks_allow_http,
            allow_private: config.webhooks_allow_private_targets,
        }
    }
}

fn unprocessable(message: &str) -> AppError {
    AppError::Unprocessable {
        field: None,
        message: message.into(),
    }
}

/// Checks a webhook URL: parseable, `https` (or `http` when allowed), and resolving only to
/// public addresses (see `net_guard`) unless private targets are allowed. Returns it trimmed.
/// Errors (422, body exactly `{"error": …}`): [`HTTPS_REQUIRED`], [`INVALID_URL`],
/// [`PRIVATE_TARGET`].
pub async fn check_url(raw: &str, policy: UrlPolicy) -> AppResult<String> {
    let raw = raw.trim();
    let parsed = url::Url::parse(raw).map_err(|_| {
        if raw.starts_with("https://") {
            unprocessable(INVALID_URL)
        } else {
            unprocessable(HTTPS_REQUIRED)
        }
    })?;
    match parsed.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        _ => return Err(unprocessable(HTTPS_REQUIRED)),
    }
    match crate::net_guard::resolve_checked(&parsed, policy.allow_private).await {
        Ok(_) => Ok(raw.to_string()),
        Err(crate::net_guard::TargetError::Forbidden { .. }) => Err(unprocessable(PRIVATE_TARGET)),
        Err(_) => Err(unprocessable(INVALID_URL)),
    }
}

/// Checks subscription names against [`SUBSCRIBABLE`], dropping duplicates.
/// Errors: 422 [`INVALID_SUBSCRIPTION`] for an unknown name.
pub fn check_subscriptions(names: &[String]) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !SUBSCRIBABLE.contains(&n.as_str()) {
            return Err(unprocessable(INVALID_SUBSCRIPTION));
        }
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    Ok(out)
}

fn check_inbox(conn: &mut PgConnection, account_id: i64, inbox_id: Option<i64>) -> AppResult<()> {
    if let Some(id) = inbox_id {
        let found = crate::domain::inboxes::find_by_id(conn, id)
            .ok()
            .filter(|(i, _)| i.account_id == account_id);
        if found.is_none() {
            return Err(AppError::invalid(
                "inbox_id",
                format!("inbox {id} not found"),
            ));
        }
    }
    Ok(())
}

/// The account's webhooks, oldest first.
pub fn list(conn: &mut PgConnection, account_id: i64) -> AppResult<Vec<Webhook>> {
    Ok(webhooks::table
        .filter(webhooks::account_id.eq(account_id))
        .order(webhooks::id)
        .select(Webhook::as_select())
        .load(conn)?)
}

/// One webhook of the account. Errors: 404 [`NOT_FOUND`].
pub fn find(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<Webhook> {
    webhooks::table
        .filter(webhooks::id.eq(id))
        .filter(webhooks::account_id.eq(account_id))
        .select(Webhook::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(NOT_FOUND.into()))
}

/// Creates a webhook with a new random secret. `input.url` must already have passed
/// [`check_url`] and `subscriptions` [`check_subscriptions`]. Errors: 422 naming `url` when
/// missing, `inbox_id` for another account's inbox.
pub fn create(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    account_id: i64,
    input: &WebhookInput,
) -> AppResult<Webhook> {
    let url = input
        .url
        .clone()
        .ok_or_else(|| AppError::invalid("url", "url is required"))?;
    let inbox_id = input.inbox_id.flatten();
    check_inbox(conn, account_id, inbox_id)?;
    let subscriptions = input.subscriptions.clone().unwrap_or_else(|| {
        DELIVERED
            .iter()
            .filter(|e| !OPT_IN.contains(e))
            .map(|s| s.to_string())
            .collect()
    });
    Ok(diesel::insert_into(webhooks::table)
        .values((
            webhooks::account_id.eq(account_id),
            webhooks::inbox_id.eq(inbox_id),
            webhooks::url.eq(url),
            webhooks::name.eq(&input.name),
            webhooks::subscriptions.eq(subscriptions),
            webhooks::secret_ciphertext.eq(secrets.encrypt(&crypto::random_hex(32))),
        ))
        .returning(Webhook::as_returning())
        .get_result(conn)?)
}

/// Changes the given fields and enables the webhook again (clearing `disabled_reason` and the
/// failure count): saving it is how an administrator says the receiver is fixed. Errors: 404
/// [`NOT_FOUND`]; 422 naming `inbox_id` for another account's inbox.
pub fn update(
    conn: &mut PgConnection,
    account_id: i64,
    id: i64,
    input: &WebhookInput,
) -> AppResult<Webhook> {
    let current = find(conn, account_id, id)?;
    let inbox_id = match input.inbox_id {
        Some(v) => v,
        None => current.inbox_id,
    };
    check_inbox(conn, account_id, inbox_id)?;
    Ok(diesel::update(webhooks::table.find(id))
        .set((
            webhooks::url.eq(input.url.clone().unwrap_or(current.url)),
            webhooks::name.eq(input.name.clone().or(current.name)),
            webhooks::subscriptions
                .eq(input.subscriptions.clone().unwrap_or(current.subscriptions)),
            webhooks::inbox_id.eq(inbox_id),
            webhooks::enabled.eq(true),
            webhooks::disabled_reason.eq(None::<String>),
            webhooks::consecutive_failures.eq(0),
            webhooks::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Webhook::as_returning())
        .get_result(conn)?)
}

/// Deletes a webhook with its delivery records; its queued deliveries find it gone and end.
/// Errors: 404 [`NOT_FOUND`].
pub fn delete(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<()> {
    let n = diesel::delete(
        webhooks::table
            .filter(webhooks::id.eq(id))
            .filter(webhooks::account_id.eq(account_id)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::NotFound(NOT_FOUND.into()));
    }
    Ok(())
}

/// The webhook's kept delivery attempts, newest first: ordered by `(created_at, id)`
/// descending (a unique order, served by `webhook_deliveries_webhook_created`).
pub fn deliveries(conn: &mut PgConnection, webhook_id: i64) -> AppResult<Vec<DeliveryAttempt>> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(DELIVERIES_KEPT)
        .select(DeliveryAttempt::as_select())
        .load(conn)?)
}

/// Records one attempt and deletes all but the newest [`DELIVERIES_KEPT`] of the webhook.
pub fn record_attempt(
    conn: &mut PgConnection,
    job: &DeliveryJob,
    attempt: i32,
    status_code: Option<i32>,
    duration_ms: i64,
    error: Option<&str>,
) -> AppResult<()> {
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::webhook_id.eq(job.webhook_id),
            webhook_deliveries::delivery_id.eq(&job.delivery_id),
            webhook_deliveries::event.eq(&job.event),
            webhook_deliveries::attempt.eq(attempt),
            webhook_deliveries::status_code.eq(status_code),
            webhook_deliveries::duration_ms.eq(duration_ms),
            webhook_deliveries::error.eq(error),
        ))
        .execute(conn)?;
    diesel::sql_query(
        "DELETE FROM webhook_deliveries WHERE webhook_id = $1 AND id NOT IN \
         (SELECT id FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)",
    )
    .bind::<diesel::sql_types::BigInt, _>(job.webhook_id)
    .bind::<diesel::sql_types::BigInt, _>(DELIVERIES_KEPT)
    .prepared()
    .execute(conn)?;
    Ok(())
}

/// Records how a delivery ended (after its last attempt, or on success). Success resets the
/// failure count. A failure increments it; reaching `disable_after` disables the webhook
/// with [`DISABLE_REASON`] and queues an email to every administrator of the account who has
/// not turned it off (`notifications::webhook_disabled`), in the same transaction. Returns true when this call disabled it.
pub fn record_outcome(
    conn: &mut PgConnection,
    webhook_id: i64,
    delivered: bool,
    disable_after: i32,
) -> AppResult<bool> {
    conn.transaction(|conn| {
        if delivered {
            diesel::update(webhooks::table.find(webhook_id))
                .set(webhooks::consecutive_failures.eq(0))
                .execute(conn)?;
            return Ok(false);
        }
        let Some(hook) = diesel::update(webhooks::table.find(webhook_id))
            .set(webhooks::consecutive_failures.eq(webhooks::consecutive_failures + 1))
            .returning(Webhook::as_returning())
            .get_result(conn)
            .optional()?
        else {
            return Ok(false);
        };
        if !hook.enabled || hook.consecutive_failures < disable_after {
            return Ok(false);
        }
        let reason = DISABLE_REASON.replace("{n}", &hook.consecutive_failures.to_string());
        diesel::update(webhooks::table.find(webhook_id))
            .set((
                webhooks::enabled.eq(false),
                webhooks::disabled_reason.eq(&reason),
                webhooks::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        // Administrators who have not turned this email off are told (a job, retried).
        let label = hook.name.clone().unwrap_or_else(|| hook.url.clone());
        crate::domain::notifications::webhook_disabled(conn, hook.account_id, &label, &reason)?;
        tracing::warn!(webhook_id, reason = %reason, "webhook disabled");
        Ok(true)
    })
}

/// The webhook's secret in clear. Errors: 500 when it no longer decrypts.
pub fn secret(secrets: &SecretBox, hook: &Webhook) -> AppResult<String> {
    secrets
        .decrypt(&hook.secret_ciphertext)
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// The Chatwoot webhook name of a domain event (see `events`): `message.created` →
/// `message_created`, `assignee.changed` → `conversation_updated`, etc.; `None` for events
/// that are not delivered.
pub fn webhook_event_name(domain_event: &str) -> Option<&'static str> {
    use crate::domain::events as e;
    Some(match domain_event {
        e::MESSAGE_CREATED => "message_created",
        e::MESSAGE_UPDATED => "message_updated",
        e::CONVERSATION_CREATED => "conversation_created",
        e::CONVERSATION_STATUS_CHANGED => "conversation_status_changed",
        e::CONVERSATION_UPDATED | e::ASSIGNEE_CHANGED => "conversation_updated",
        e::CONTACT_CREATED => "contact_created",
        e::CONTACT_UPDATED => "contact_updated",
        crate::domain::sla::SLA_MISSED => "sla_missed",
        _ => return None,
    })
}

#[derive(QueryableByName)]
struct Subscriber {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// Queues one `webhook_delivery` job per enabled webhook of the account subscribed to the
/// domain event `name` (inbox-scoped ones only for events of their inbox), inside the
/// caller's transaction. The body is built once (`webhook_payloads::build`) from `payload`
/// (the event's fields) and the rows it names; ordering key
/// `webhook:<id>:conversation:<conversation_id>` (or `webhook:<id>:contact:<contact_id>`,
/// `webhook:<id>:account`), so one conversation's events reach a webhook in order.
/// Returns how many jobs were queued (none for private notes, and no query beyond the
/// subscriber lookup when nobody subscribed).
pub fn enqueue_for_event(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: Option<i64>,
    conversation_id: Option<i64>,
    name: &str,
    payload: &Value,
) -> AppResult<usize> {
    let Some(event) = webhook_event_name(name) else {
        return Ok(0);
    };
    let subscribers: Vec<Subscriber> = diesel::sql_query(
        "SELECT id FROM webhooks WHERE account_id = $1 AND enabled \
         AND (inbox_id IS NULL OR inbox_id = $2) AND $3 = ANY(subscriptions) ORDER BY id",
    )
    .bind::<diesel::sql_types::BigInt, _>(account_id)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>, _>(inbox_id)
    .bind::<diesel::sql_types::Text, _>(event)
    .prepared()
    .load(conn)?;
    if subscribers.is_empty() {
        return Ok(0);
    }
    let Some(body) = super::webhook_payloads::build(
        conn,
        account_id,
        inbox_id,
        conversation_id,
        event,
        name,
        payload,
    )?
    else {
        return Ok(0);
    };
    let scope = match (conversation_id, payload["contact_id"].as_i64()) {
        (Some(c), _) => format!("conversation:{c}"),
        (None, Some(c)) => format!("contact:{c}"),
        (None, None) => "account".into(),
    };
    for s in &subscribers {
        let job = DeliveryJob {
            webhook_id: s.id,
            delivery_id: crypto::random_hex(16),
            event: event.to_string(),
            body: body.clone(),
            url: None,
        };
        crate::jobs::enqueue_ordered(
            conn,
            WEBHOOK_DELIVERY,
            serde_json::to_value(&job).map_err(|e| AppError::Internal(e.to_string()))?,
            MAX_ATTEMPTS,
            &format!("webhook:{}:{scope}", s.id),
        )?;
    }
    Ok(subscribers.len())
}

/// The API's webhook object: Chatwoot's `id, url, name, subscriptions, account_id, inbox_id,
/// secret` (the secret in full: it verifies the signatures), plus `enabled`,
/// `disabled_reason`, `consecutive_failures`, `created_at`, `updated_at` (unix seconds).
pub fn to_json(hook: &Webhook, secret: &str) -> Value {
    json!({
        "id": hook.id,
        "url": hook.url,
        "name": hook.name,
        "subscriptions": hook.subscriptions,
        "account_id": hook.account_id,
        "inbox_id": hook.inbox_id,
        "secret": secret,
        "enabled": hook.enabled,
        "disabled_reason": hook.disabled_reason,
        "consecutive_failures": hook.consecutive_failures,
        "created_at": hook.created_at.timestamp(),
        "updated_at": hook.updated_at.timestamp(),
    })
}

/// A delivery attempt for the API: `id, delivery_id, event, attempt, status_code (null when
/// no answer), duration_ms, error (null on success), success, created_at` (unix seconds).
pub fn attempt_json(a: &DeliveryAttempt) -> Value {
    json!({
        "id": a.id,
        "delivery_id": a.delivery_id,
        "event": a.event,
        "attempt": a.attempt,
        "status_code": a.status_code,
        "duration_ms": a.duration_ms,
        "error": a.error,
        "success": a.error.is_none(),
        "created_at": a.created_at.timestamp(),
    })
}
