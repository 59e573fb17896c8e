//! The webhook route's decisions, callable without HTTP: the GET verify-token handshake and
//! the acceptance of a POST (signature, routing, journal). DESIGN.md, "The webhook route".

use super::payload::Envelope;
use super::signature::{self, ChannelFacts, Decision};
use crate::config::Config;
use crate::crypto::{self, SecretBox};
use crate::domain::inboxes::{self, InboxWithChannel};
use crate::error::{AppError, AppResult};
use diesel::pg::PgConnection;

/// Largest accepted body: 3 MiB (3 × 1024 × 1024 bytes); larger answers 413.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// The number of a webhook path as inboxes store it: `+15551234567`. A path written without
/// the `+` (some dashboards drop it) means the same number.
pub fn normalize_path_number(raw: &str) -> String {
    let trimmed = raw.trim();
    if !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit()) {
        format!("+{trimmed}")
    } else {
        trimmed.to_string()
    }
}

/// The GET handshake: returns the `hub.challenge` to echo when `hub.mode` is `subscribe` and
/// `hub.verify_token` equals the channel's token (constant-time). Errors: 401 otherwise,
/// including for a number with no inbox.
pub fn verify_handshake(
    conn: &mut PgConnection,
    phone_number: &str,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
) -> AppResult<String> {
    let denied = || {
        AppError::Unauthorized(
            "webhook verification failed: unknown number or wrong verify token".into(),
        )
    };
    let Some((_, channel)) = inboxes::find_by_phone(conn, phone_number)? else {
        return Err(denied());
    };
    let token_ok = token
        .is_some_and(|t| crypto::secure_eq(t.as_bytes(), channel.webhook_verify_token.as_bytes()));
    if mode != Some("subscribe") || !token_ok {
        return Err(denied());
    }
    tracing::info!(phone_number, "WhatsApp webhook verified");
    Ok(challenge.unwrap_or_default().to_string())
}

/// Decides whether a POST for `phone_number` may be journaled, given the inbox that number
/// resolves to (`found`). Returns the inbox id. No database access, so the webhook route can
/// run it on a cached lookup. Errors: 401 bad or missing signature where one is required;
/// 404 no inbox for the number (after the signature check); 400 not JSON; 422 a change for
/// another `phone_number_id`.
pub fn check_delivery(
    config: &Config,
    secrets: &SecretBox,
    found: Option<&InboxWithChannel>,
    phone_number: &str,
    signature_header: Option<&str>,
    body: &[u8],
) -> AppResult<i64> {
    let channel_secret = match found {
        Some((_, ch)) => ch.app_secret(secrets)?,
        None => None,
    };
    let facts = found.map(|(_, ch)| ChannelFacts {
        provider: &ch.provider,
        has_app_secret: channel_secret.is_some(),
        embedded_signup: ch.is_embedded_signup(),
    });
    if signature::decide(facts.as_ref()) == Decision::Enforce {
        let candidates = signature::signing_secrets(
            channel_secret.as_deref(),
            config.whatsapp_app_secret.as_deref(),
        );
        if !signature::verify(signature_header, body, &candidates) {
            let why = if signature_header.is_none() {
                "missing"
            } else {
                "invalid"
            };
            return Err(AppError::Unauthorized(format!(
                "X-Hub-Signature-256 is {why}: this number requires payloads signed with the Meta app secret"
            )));
        }
    }
    let Some((inbox, channel)) = found else {
        return Err(AppError::NotFound(format!(
            "no WhatsApp inbox is configured for {phone_number}"
        )));
    };
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| AppError::BadRequest(format!("body is not valid webhook JSON: {e}")))?;
    for change in envelope.entry.iter().flat_map(|e| e.changes.iter()) {
        let id = change
            .value
            .get("metadata")
            .and_then(|m| m.get("phone_number_id"));
        let id = id.and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_u64().map(|n| n.to_string()))
        });
        if let Some(id) = id {
            if id != channel.phone_number_id {
                return Err(AppError::invalid(
                    "metadata.phone_number_id",
                    format!(
                        "phone_number_id {id} does not belong to {phone_number} (expected {})",
                        channel.phone_number_id
                    ),
                ));
            }
        }
    }
    Ok(inbox.id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn path_numbers() {
        assert_eq!(super::normalize_path_number("+15551234567"), "+15551234567");
        assert_eq!(super::normalize_path_number("15551234567"), "+15551234567");
        assert_eq!(super::normalize_path_number("abc"), "abc");
    }
}
