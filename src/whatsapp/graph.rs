//! Graph API client (`{WHATSAPP_CLOUD_BASE_URL}/{WHATSAPP_API_VERSION}/…`): sends, media
//! download and upload, message templates and `subscribed_apps`. Every call carries
//! `Authorization: Bearer <access token>`; the token never appears in errors or logs.

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
    /// Graph answered with an error status; `code` is Meta's error code when present,
    /// `details` its `error_data.details`.
    #[error("Graph answered HTTP {status}: {message}")]
    Status {
        status: u16,
        code: Option<i64>,
        message: String,
        details: Option<String>,
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

    /// Meta's error code, when Graph answered with one.
    pub fn code(&self) -> Option<i64> {
        match self {
            GraphError::Status { code, .. } => *code,
            _ => None,
        }
    }

    /// True for #190: the access token expired or was revoked (Meta: graph-api/guides/error-handling).
    pub fn is_token_invalid(&self) -> bool {
        self.code() == Some(190)
    }

    /// The error as agents see it on a failed message: `"(#code) message"` (Meta's message
    /// often starts with the code already; it is not repeated).
    pub fn external_error(&self) -> String {
        match self {
            GraphError::Status {
                code: Some(code),
                message,
                ..
            } if !message.starts_with("(#") => format!("(#{code}) {message}"),
            GraphError::Status { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// Meta's `error_data.details`, if any.
    pub fn details(&self) -> Option<&str> {
        match self {
            GraphError::Status { details, .. } => details.as_deref(),
            _ => None,
        }
    }

    /// True when the request may have reached Meta without us seeing the answer (a timeout or
    /// a connection that broke off), so a retry could send twice.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, GraphError::Network(_))
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
        details: body["error"]["error_data"]["details"]
            .as_str()
            .map(str::to_string),
    }
}

/// Sends a request and turns a non-2xx answer into [`GraphError::Status`] and a 2xx one into
/// its JSON body.
pub(crate) async fn json_ok(req: reqwest::RequestBuilder) -> Result<serde_json::Value, GraphError> {
    let resp = req
        .send()
        .await
        .map_err(|e| GraphError::Network(e.without_url().to_string()))?;
    if !resp.status().is_success() {
        return Err(error_from(resp).await);
    }
    resp.json()
        .await
        .map_err(|e| GraphError::Invalid(format!("answer is not JSON: {e}")))
}

/// What `POST /{phone_number_id}/messages` answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// The new message's wamid.
    pub wamid: String,
    /// `message_status` (e.g. `accepted` for templates), when given.
    pub message_status: Option<String>,
}

/// `POST /{phone_number_id}/messages` with `body` (Meta: cloud-api/reference/messages).
/// Used for every send and for read receipts (whose answer carries no wamid: then
/// `wamid` is empty).
pub async fn send_message(
    http: &reqwest::Client,
    config: &Config,
    token: &str,
    phone_number_id: &str,
    body: &serde_json::Value,
) -> Result<Sent, GraphError> {
    let answer = json_ok(
        http.post(config.graph_url(&format!("{phone_number_id}/messages")))
            .bearer_auth(token)
            .json(body),
    )
    .await?;
    let first = &answer["messages"][0];
    Ok(Sent {
        wamid: first["id"].as_str().unwrap_or_default().to_string(),
        message_status: first["message_status"].as_str().map(str::to_string),
    })
}

/// `POST /{phone_number_id}/media` (multipart: `messaging_product`, `type`, `file`); returns
/// the media id to send by (Meta: cloud-api/reference/media#upload-media).
pub async fn upload_media(
    http: &reqwest::Client,
    config: &Config,
    token: &str,
    phone_number_id: &str,
    bytes: Vec<u8>,
    mime_type: &str,
    file_name: &str,
) -> Result<String, GraphError> {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(file_name.to_string())
        .mime_str(mime_type)
        .map_err(|e| GraphError::Invalid(format!("MIME type {mime_type:?}: {e}")))?;
    let form = reqwest::multipart::Form::new()
        .text("messaging_product", "whatsapp")
        .text("type", mime_type.to_string())
        .part("file", part);
    let answer = json_ok(
        http.post(config.graph_url(&format!("{phone_number_id}/media")))
            .bearer_auth(token)
            .multipart(form),
    )
    .await?;
    answer["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| GraphError::Invalid("media upload answered without an id".into()))
}

/// Largest number of template pages followed (100 templates each).
pub const MAX_TEMPLATE_PAGES: usize = 100;

/// Every template of the WABA: `GET /{waba_id}/message_templates`, following `paging.next`
/// to the end. The next page is requested from the configured base URL with the `after`
/// cursor, whatever host `paging.next` names. Returns the raw `data` items.
pub async fn list_templates(
    http: &reqwest::Client,
    config: &Config,
    token: &str,
    waba_id: &str,
) -> Result<Vec<serde_json::Value>, GraphError> {
    let base = config.graph_url(&format!("{waba_id}/message_templates"));
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_TEMPLATE_PAGES {
        let mut query = vec![("limit", "100".to_string())];
        if let Some(a) = &after {
            query.push(("after", a.clone()));
        }
        let page = json_ok(http.get(&base).bearer_auth(token).query(&query)).await?;
        if let Some(data) = page["data"].as_array() {
            items.extend(data.iter().cloned());
        }
        let next_cursor = page["paging"]["next"].as_str().and_then(|next| {
            url::Url::parse(next).ok().and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == "after")
                    .map(|(_, v)| v.to_string())
            })
        });
        match next_cursor {
            Some(c) if after.as_deref() != Some(c.as_str()) => after = Some(c),
            _ => return Ok(items),
        }
    }
    Ok(items)
}

/// The fields number health reads (graph-api-notes.md §9.1).
pub const HEALTH_FIELDS: &str = "verified_name,display_phone_number,status,quality_rating,name_status,code_verification_status,platform_type,throughput,whatsapp_business_manager_messaging_limit,health_status";

/// The number's health: `GET /{phone_number_id}?fields=`[`HEALTH_FIELDS`]. Returns Graph's
/// JSON object (read by `domain::number_health::Update::from_graph`). Errors: 100 bad id,
/// 190 token, 200 (subcodes 1349174/1349175) no access, 803 unknown number, 4/80007 rate limit.
pub async fn phone_number_health(
    http: &reqwest::Client,
    config: &Config,
    token: &str,
    phone_number_id: &str,
) -> Result<serde_json::Value, GraphError> {
    let url = config.graph_url(phone_number_id);
    let answer = json_ok(
        http.get(&url)
            .bearer_auth(token)
            .query(&[("fields", HEALTH_FIELDS)]),
    )
    .await?;
    if !answer.is_object() {
        return Err(GraphError::Invalid(
            "the phone number answer is not an object".into(),
        ));
    }
    Ok(answer)
}

/// `POST /{waba_id}/subscribed_apps`: subscribes the app to the WABA's webhooks; with
/// `override_to = Some((callback_uri, verify_token))` it also points this WABA's webhooks at
/// `callback_uri` (Meta: embedded-signup/webhooks/override).
pub async fn subscribe_app(
    http: &reqwest::Client,
    config: &Config,
    token: &str,
    waba_id: &str,
    override_to: Option<(&str, &str)>,
) -> Result<(), GraphError> {
    let mut req = http
        .post(config.graph_url(&format!("{waba_id}/subscribed_apps")))
        .bearer_auth(token);
    if let Some((uri, verify_token)) = override_to {
        req = req.json(&serde_json::json!({
            "override_callback_uri": uri,
            "verify_token": verify_token,
        }));
    }
    let answer = json_ok(req).await?;
    if answer["success"] == serde_json::Value::Bool(false) {
        return Err(GraphError::Invalid(
            "subscribed_apps answered success: false".into(),
        ));
    }
    Ok(())
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
        .map_err(|e| GraphError::Network(e.without_url().to_string()))?;
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
