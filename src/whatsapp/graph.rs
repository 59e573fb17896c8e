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
    let info: MediaInfo = get_ok(http, &config.graph_url(media_id), token)
        .await?
        .json()
        .await
        .map_err(|e| GraphError::Invalid(e.to_string()))?;
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
