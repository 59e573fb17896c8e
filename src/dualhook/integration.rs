//! An account's Dualhook integration: the Platform API key (`dh_live_…`, the bearer of every
//! Platform call) and the partner secret (the HMAC key of `X-Dualhook-Signature`), both
//! encrypted at rest with [`SecretBox`] and only ever shown masked ([`crypto::mask`]).
//! Source: https://dualhook.com/docs/platform-api, …/platform-api-webhook-signatures.

use crate::config::Config;
use crate::crypto::{self, SecretBox};
use crate::db::schema::dualhook_integrations;
use crate::error::{AppError, AppResult};
use diesel::prelude::*;
use serde_json::{json, Value};

/// Longest accepted API key or partner secret, in characters.
pub const MAX_SECRET_CHARS: usize = 512;

/// Shortest accepted API key or partner secret, in characters.
pub const MIN_SECRET_CHARS: usize = 8;

/// The integration in clear (never logged, never sent to a browser unmasked).
#[derive(Default, Clone)]
pub struct Integration {
    /// The Platform API key, `None` until saved.
    pub api_key: Option<String>,
    /// The partner secret, `None` until saved.
    pub partner_secret: Option<String>,
}

impl std::fmt::Debug for Integration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integration")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field(
                "partner_secret",
                &self.partner_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// A change: `None` keeps the stored value, `Some("")` removes it.
#[derive(Default, Clone)]
pub struct IntegrationInput {
    /// New API key.
    pub api_key: Option<String>,
    /// New partner secret.
    pub partner_secret: Option<String>,
}

/// Checks one secret field: trimmed, empty (remove) or [`MIN_SECRET_CHARS`] to
/// [`MAX_SECRET_CHARS`] printable characters without spaces. Errors: 422 naming `field`.
pub fn check_secret(field: &str, raw: &str) -> AppResult<String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(AppError::invalid(
            field,
            format!("{field} must not contain spaces or control characters; paste it exactly as Dualhook's dashboard shows it"),
        ));
    }
    let n = value.chars().count();
    if !(MIN_SECRET_CHARS..=MAX_SECRET_CHARS).contains(&n) {
        return Err(AppError::invalid(
            field,
            format!(
                "{field} must be {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters long, got {n}"
            ),
        ));
    }
    Ok(value.to_string())
}

/// The account's integration, decrypted. Errors: 500 when a value no longer decrypts
/// (`SECRET_KEY_BASE` changed).
pub fn load(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    account_id: i64,
) -> AppResult<Integration> {
    let row: Option<(Option<String>, Option<String>)> = dualhook_integrations::table
        .find(account_id)
        .select((
            dualhook_integrations::api_key_ciphertext,
            dualhook_integrations::partner_secret_ciphertext,
        ))
        .first(conn)
        .optional()?;
    let Some((key, secret)) = row else {
        return Ok(Integration::default());
    };
    let open = |c: Option<String>| -> AppResult<Option<String>> {
        c.map(|c| {
            secrets
                .decrypt(&c)
                .map_err(|e| AppError::Internal(e.to_string()))
        })
        .transpose()
    };
    Ok(Integration {
        api_key: open(key)?,
        partner_secret: open(secret)?,
    })
}

/// Saves a change (see [`IntegrationInput`]), encrypting each value.
pub fn save(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    account_id: i64,
    input: &IntegrationInput,
) -> AppResult<()> {
    let seal = |v: &Option<String>| -> Option<Option<String>> {
        v.as_ref().map(|s| {
            Some(s.as_str())
                .filter(|s| !s.is_empty())
                .map(|s| secrets.encrypt(s))
        })
    };
    let (key, secret) = (seal(&input.api_key), seal(&input.partner_secret));
    conn.transaction(|conn| {
        diesel::insert_into(dualhook_integrations::table)
            .values(dualhook_integrations::account_id.eq(account_id))
            .on_conflict_do_nothing()
            .execute(conn)?;
        if let Some(k) = key {
            diesel::update(dualhook_integrations::table.find(account_id))
                .set(dualhook_integrations::api_key_ciphertext.eq(k))
                .execute(conn)?;
        }
        if let Some(s) = secret {
            diesel::update(dualhook_integrations::table.find(account_id))
                .set(dualhook_integrations::partner_secret_ciphertext.eq(s))
                .execute(conn)?;
        }
        diesel::update(dualhook_integrations::table.find(account_id))
            .set(dualhook_integrations::updated_at.eq(diesel::dsl::now))
            .execute(conn)?;
        Ok(())
    })
}

/// The URL an administrator pastes into Dualhook's dashboard (Platform tab → Event webhook
/// URL): `{FRONTEND_URL}/webhooks/dualhook/{account_id}`.
pub fn event_url(config: &Config, account_id: i64) -> String {
    format!("{}/webhooks/dualhook/{account_id}", config.frontend_url)
}

/// The API's view: `{"api_key": "••••abcd"|null, "partner_secret": "••••cdef"|null,
/// "api_key_set": bool, "partner_secret_set": bool, "event_url": "https://…"}`.
pub fn to_json(config: &Config, account_id: i64, i: &Integration) -> Value {
    json!({
        "api_key": i.api_key.as_deref().map(crypto::mask),
        "api_key_set": i.api_key.is_some(),
        "partner_secret": i.partner_secret.as_deref().map(crypto::mask),
        "partner_secret_set": i.partner_secret.is_some(),
        "event_url": event_url(config, account_id),
    })
}
