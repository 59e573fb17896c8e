//! The Dualhook Platform REST client (`{DUALHOOK_API_BASE_URL}/api/v1/…`, bearer
//! `dh_live_…`). Source: https://dualhook.com/docs/platform-api,
//! …/platform-api-onboarding-sessions, …/platform-api-reveal-secrets, …/platform-api-errors.
//!
//! Errors are `{"error": {"code", "message", "type"}}`; only 429 (`rate_limited`) has a
//! documented HTTP status, so callers branch on [`PlatformError::code`], never on the status.
//! The access token a reveal returns is never logged.

use crate::config::Config;
use serde_json::{json, Value};

/// A failed Platform call.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// Dualhook could not be reached or did not answer in time (worth retrying).
    #[error("Dualhook could not be reached: {0}")]
    Network(String),
    /// Dualhook answered non-2xx; `code` is its stable error code (e.g.
    /// `invalid_redirect_url`, `webhook_preflight_failed`, `rate_limited`).
    #[error("Dualhook refused the request ({code}): {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        /// The whole error object (context keys such as `preflight` or `mismatch`).
        detail: Value,
    },
    /// A 2xx answer without the fields the documentation promises.
    #[error("Dualhook answered something unexpected: {0}")]
    Invalid(String),
}

impl PlatformError {
    /// Dualhook's error code (`""` for network failures and odd answers).
    pub fn code(&self) -> &str {
        match self {
            PlatformError::Api { code, .. } => code,
            _ => "",
        }
    }

    /// True when trying again later may work (network, 5xx, `rate_limited`).
    pub fn is_transient(&self) -> bool {
        match self {
            PlatformError::Network(_) => true,
            PlatformError::Api { status, code, .. } => *status >= 500 || code == "rate_limited",
            PlatformError::Invalid(_) => false,
        }
    }

    /// A sentence an administrator can act on.
    pub fn explain(&self) -> String {
        match self {
            PlatformError::Api { code, message, detail, .. } => match code.as_str() {
                "unauthorized" => "Dualhook refused the API key: paste a valid key in Settings → Integrations → Dualhook.".into(),
                "forbidden" | "subscription_inactive" => format!("Dualhook refused the request: {message} (the API key needs an active Platform-tier subscription)."),
                "invalid_redirect_url" => format!("Dualhook refused Switchboard's return address: {message}. Add this Switchboard's address to the Allowed Redirect URLs in Dualhook's dashboard."),
                "webhook_preflight_failed" => format!(
                    "Dualhook could not verify Switchboard's webhook URL ({}, HTTP {}): {message}. Switchboard must be reachable over public HTTPS.",
                    detail["preflight"]["category"].as_str().unwrap_or("unknown"),
                    detail["preflight"]["httpStatus"].as_i64().map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
                ),
                "waba_webhook_conflict" => format!("{message} Another account already connected this WhatsApp Business Account with a different webhook."),
                "rate_limited" => "Dualhook's rate limit was reached; try again in a minute.".into(),
                _ => format!("Dualhook refused the request ({code}): {message}"),
            },
            other => other.to_string(),
        }
    }
}

/// `{base}/api/v1/{path}`.
pub fn url(config: &Config, path: &str) -> String {
    format!(
        "{}/api/v1/{}",
        config.dualhook_api_base_url,
        path.trim_start_matches('/')
    )
}

async fn call(req: reqwest::RequestBuilder) -> Result<Value, PlatformError> {
    let resp = req
        .send()
        .await
        .map_err(|e| PlatformError::Network(e.without_url().to_string()))?;
    let status = resp.status().as_u16();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| PlatformError::Network(e.without_url().to_string()))?;
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Ok(body);
    }
    let err = &body["error"];
    Err(PlatformError::Api {
        status,
        code: err["code"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("http_{status}")),
        message: err["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP {status}")),
        detail: err.clone(),
    })
}

/// What `POST /onboarding/sessions` answers.
#[derive(Debug, Clone)]
pub struct SessionCreated {
    /// `sess_…`.
    pub session_id: String,
    /// `https://dualhook.com/onboard/<token>`: where to send the administrator's browser.
    pub onboarding_url: String,
}

/// `POST /onboarding/sessions` with `Idempotency-Key` (a retry with the same key and body
/// yields the same session). `body` holds `tenantId`, `tenantName`, the three redirect URLs,
/// `webhookOverrideUrl`, `webhookVerifyToken`, `metadata` and `expiresInSeconds`
/// (300–86400). Dualhook first sends the verification GET to `webhookOverrideUrl`.
pub async fn create_session(
    http: &reqwest::Client,
    config: &Config,
    api_key: &str,
    idempotency_key: &str,
    body: &Value,
) -> Result<SessionCreated, PlatformError> {
    let v = call(
        http.post(url(config, "onboarding/sessions"))
            .bearer_auth(api_key)
            .header("Idempotency-Key", idempotency_key)
            .json(body),
    )
    .await?;
    match (v["sessionId"].as_str(), v["onboardingUrl"].as_str()) {
        (Some(s), Some(u)) if u.starts_with("https://") || u.starts_with("http://") => {
            Ok(SessionCreated {
                session_id: s.to_string(),
                onboarding_url: u.to_string(),
            })
        }
        _ => Err(PlatformError::Invalid(
            "the session answer has no sessionId or onboardingUrl".into(),
        )),
    }
}

/// `POST /connections/{id}/reveal-secrets` `{"secretTypes": ["access_token"]}` → the
/// connection's long-lived Cloud API access token (60 reveals per hour per key). The
/// token is returned, never logged.
pub async fn reveal_access_token(
    http: &reqwest::Client,
    config: &Config,
    api_key: &str,
    connection_id: &str,
) -> Result<String, PlatformError> {
    let encoded: String = url::form_urlencoded::byte_serialize(connection_id.as_bytes()).collect();
    let v = call(
        http.post(url(
            config,
            &format!("connections/{encoded}/reveal-secrets"),
        ))
        .bearer_auth(api_key)
        .json(&json!({"secretTypes": ["access_token"]})),
    )
    .await?;
    v["secrets"]["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .ok_or_else(|| PlatformError::Invalid("reveal-secrets returned no access_token".into()))
}
