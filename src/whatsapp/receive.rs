//! The webhook route's decisions, callable without HTTP: the GET verify-token handshake and
//! the acceptance of a POST (signature, routing, journal). DESIGN.md, "The webhook route".

use super::ingest;
use super::management;
use super::payload::Envelope;
use super::signature::{self, ChannelFacts, Decision};
use crate::config::Config;
use crate::crypto::{self, SecretBox};
use crate::domain::inboxes::{self, InboxWithChannel};
use crate::domain::number_health;
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

/// What [`check_delivery`] found acceptable about a POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The route's inbox.
    pub inbox_id: i64,
    /// True when a change names another `phone_number_id` or a management change another
    /// WABA: [`check_routes`] must then decide, with the route inbox's siblings.
    pub needs_routing: bool,
}

/// Decides whether a POST for `phone_number` may be journaled, given the inbox that number
/// resolves to (`found`). No database access, so the webhook route can run it on a cached
/// lookup. Errors: 401 bad or missing signature where one is required; 404 no inbox for the
/// number (after the signature check); 400 not JSON.
pub fn check_delivery(
    config: &Config,
    secrets: &SecretBox,
    found: Option<&InboxWithChannel>,
    phone_number: &str,
    signature_header: Option<&str>,
    body: &[u8],
) -> AppResult<Accepted> {
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
    let mut needs_routing = false;
    for entry in &envelope.entry {
        for change in &entry.changes {
            needs_routing |= if management::is_management(&change.field) {
                entry
                    .id
                    .as_deref()
                    .is_some_and(|w| w != channel.business_account_id)
            } else {
                ingest::change_phone_number_id(&change.value)
                    .is_some_and(|id| id != channel.phone_number_id)
            };
        }
    }
    Ok(Accepted {
        inbox_id: inbox.id,
        needs_routing,
    })
}

/// Routes a POST that names other numbers or WABAs (see [`Accepted::needs_routing`]) among
/// the route inbox's siblings (`routing`). When nothing in it can be delivered, each refused
/// change is recorded on the route inbox's health and the POST is refused (422 naming the
/// ids; Meta retries it, so it arrives once an inbox for the number exists). When something
/// can, it is accepted whole and ingest records the refused changes (a sibling's messages are
/// never dropped for another's). Errors: 422 as said; 400 not an envelope.
pub fn check_routes(
    conn: &mut PgConnection,
    routing: &ingest::Routing,
    body: &str,
) -> AppResult<()> {
    let parsed = ingest::parse_body(routing, body)?;
    let (deliverable, refused) = parsed.route_summary();
    if deliverable > 0 || refused.is_empty() {
        return Ok(());
    }
    let Some((inbox, channel)) = routing.route_inbox() else {
        return Ok(());
    };
    for (pnid, waba) in &refused {
        number_health::record_refused_route(conn, inbox.id, pnid.as_deref(), waba.as_deref())?;
    }
    let (pnid, waba) = &refused[0];
    let waba_text = waba.as_deref().unwrap_or("unknown");
    Err(match pnid {
        Some(pnid) if waba.as_deref() == Some(channel.business_account_id.as_str()) => {
            AppError::invalid(
                "metadata.phone_number_id",
                format!(
                    "messages for phone_number_id {pnid} arrive at {}'s URL, but no inbox of WABA {waba_text} has that number: create an inbox for it",
                    channel.phone_number
                ),
            )
        }
        Some(pnid) => AppError::invalid(
            "entry.id",
            format!(
                "phone_number_id {pnid} of WABA {waba_text} does not belong to {} (WABA {}): only numbers of the same WABA may share its URL",
                channel.phone_number, channel.business_account_id
            ),
        ),
        None => AppError::invalid(
            "entry.id",
            format!(
                "WABA {waba_text} is not {}'s WABA ({})",
                channel.phone_number, channel.business_account_id
            ),
        ),
    })
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
