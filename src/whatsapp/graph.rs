//! Graph API client (`{WHATSAPP_CLOUD_BASE_URL}/{WHATSAPP_API_VERSION}/…`). This issue uses
//! the media endpoints; sends, templates and `subscribed_apps` join it with the outbound work.

use crate::config::Config;
use serde::Deserialize;

/// Largest media file accepted, in bytes (WhatsApp's own cap is 100 MB for documents).
pub const MAX_MEDIA_BYTES: usize = 100 * 1024 * 1024;

/// A Graph failure.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Could not connect, timed out, or the body broke off.
    #[error("Graph request failed: {0}")]
    Network(String),
    /// Graph answered with an error status; `code` is Meta's error code when present.
    #[error("Graph answered HTTP {status}: {message}")]
    Status {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    /// The answer was not what the API documents.
    #[error("unexpected Graph response: {0}")]
    Invalid(String),
}

impl GraphError {
    /// True for failures worth retrying: network errors, HTTP 5xx and 429, and Meta's
    /// throttling codes (4, 80007, 130429, 131000, 131016, 131056).
    pub fn is_transient(&self) -> bool {
        match self {
            GraphError::Network(_) => true,
            GraphError::Status { status, code, .. } => {
                *status >= 500
                    || *status == 429
                    || matches!(code, Some(4 | 80007 | 130429 | 131000 | 131016 | 131056))
            }
            GraphError::Invalid(_) => false,
        }
    }
}

/// `GET /{media_id}` response.
#[derive(Debug, Clone, Deserialize)]
pub struct MediaInfo {
    pub url: String,
    #[serde(default)]
    pub mime_type: Option<String>,
    /// Hex SHA-256 of the file.
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub file_size: Option<serde_json::Value>,
}

async fn error_from(resp: reqwest::Response) -> GraphError {
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    GraphError::Status {
        status,
        code: body["error"]["code"].as_i64(),
        message: body["error"]["message"]
            .as_str()
            .unwrap_or("no error message")
            .to_string(),
    }
}

/// True when the access token may be sent to `url`: Meta's own media hosts over https
/// (`*.fbsbx.com`, `*.facebook.com`, `*.whatsapp.net`), or the configured Graph base URL's
/// host (a local stand-in in tests). Anything else would leak the token.
pub fn token_may_go_to(config: &Config, url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let base_host = url::Url::parse(&config.whatsapp_cloud_base_url)
        .ok()
        .and_then(|b| b.host_str().map(str::to_string));
    let host = parsed.host_str().unwrap_or_default();
    if base_host.as_deref() == Some(host) {
        return true;
    }
    parsed.scheme() == "https"
        && ["fbsbx.com", "facebook.com", "whatsapp.net"]
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// `GET url` with the bearer token; a non-2xx answer becomes [`GraphError::Status`].
async fn get_ok(
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<reqwest::Response, GraphError> {
    let resp = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| GraphError::Network(e.to_string()))?;
    if resp.status().is_success() {
        Ok(resp)
    } else {
        Err(error_from(resp).await)
    }
}

/// Looks up `media_id` and downloads the file, both with `Authorization: Bearer <token>`.
/// Returns the lookup answer and the file bytes (at most [`MAX_MEDIA_BYTES`]).
pub async fn fetch_media(
    http: &reqwest::Client,
    config: &Config,
    token: &str,
    media_id: &str,
) -> Result<(MediaInfo, Vec<u8>), GraphError> {
    if media_id.is_empty() || !media_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(GraphError::Invalid(format!(
            "media id {media_id:?} is not numeric"
        )));
    }
    let info: MediaInfo = get_ok(http, &config.graph_url(media_id), token)
        .await?
        .json()
        .await
        .map_err(|e| GraphError::Invalid(e.to_string()))?;
    if !token_may_go_to(config, &info.url) {
        return Err(GraphError::Invalid(format!(
            "Graph returned a media URL on an unexpected host ({}); not sending the access token there",
            info.url
        )));
    }
    let resp = get_ok(http, &info.url, token).await?;
    if resp
        .content_length()
        .is_some_and(|l| l as usize > MAX_MEDIA_BYTES)
    {
        return Err(GraphError::Invalid("media file larger than 100 MB".into()));
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| GraphError::Network(e.to_string()))?;
    if bytes.len() > MAX_MEDIA_BYTES {
        return Err(GraphError::Invalid("media file larger than 100 MB".into()));
    }
    Ok((info, bytes.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_hosts() {
        let mut config = crate::config::Config::from_lookup(|k| match k {
            "DATABASE_URL" => Some("postgres://x/y".into()),
            "FRONTEND_URL" => Some("https://support.example.com".into()),
            "SECRET_KEY_BASE" => Some("k".repeat(40)),
            _ => None,
        })
        .unwrap();
        assert!(token_may_go_to(
            &config,
            "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"
        ));
        assert!(!token_may_go_to(&config, "http://lookaside.fbsbx.com/x"));
        assert!(!token_may_go_to(&config, "https://evil.example/fbsbx.com"));
        assert!(!token_may_go_to(
            &config,
            "https://fbsbx.com.evil.example/x"
        ));
        config.whatsapp_cloud_base_url = "http://127.0.0.1:9999".into();
        assert!(token_may_go_to(
            &config,
            "http://127.0.0.1:9999/lookaside/1"
        ));
    }
}
