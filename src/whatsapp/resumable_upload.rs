//! Meta's Resumable Upload API (graph-api-notes §8; Meta: graph-api/guides/upload): turns a
//! file into a *handle* (`h`, e.g. `4::aW1hZ2UvanBlZw==:…`) for a template header sample
//! (`example.header_handle[0]`) or a business profile picture (`profile_picture_handle`).
//! A handle is not a media id: sends use `POST /{phone_number_id}/media` ids or links.
//!
//! 1. `POST /{WHATSAPP_APP_ID}/uploads?file_name=…&file_length=<bytes>&file_type=<mime>` →
//!    `{"id":"upload:<session>"}`;
//! 2. `POST /upload:<session>` with `Authorization: OAuth <token>`, header `file_offset: 0`
//!    and the raw bytes → `{"h":"<handle>"}`;
//! 3. when step 2 breaks off, `GET /upload:<session>` → `{"file_offset":<n>}` and step 2 once
//!    more from that offset.
//!
//! Self-contained on purpose (one copy is kept when branches merge): it only uses
//! [`Config`] and [`GraphError`]. The access token never appears in errors or logs.

use crate::config::Config;
use crate::whatsapp::graph::GraphError;

/// MIME types the uploads edge accepts (`file_type`).
pub const FILE_TYPES: &[&str] = &[
    "application/pdf",
    "image/jpeg",
    "image/jpg",
    "image/png",
    "video/mp4",
];

/// Uploads `bytes` (a file named `file_name` of type `mime`, one of [`FILE_TYPES`]) with the
/// Meta app of `WHATSAPP_APP_ID` and returns the file handle `h`.
///
/// Errors: [`GraphError::Invalid`] when `WHATSAPP_APP_ID` is unset, the type is not one of
/// [`FILE_TYPES`], the file is empty, or an answer lacks `id`/`h`;
/// [`GraphError::Status`] with Meta's code and words (`error_user_msg` when given, e.g. 100,
/// 104, 368) when Meta refuses; [`GraphError::Network`] when Graph cannot be reached twice.
pub async fn upload(
    http: &reqwest::Client,
    config: &Config,
    access_token: &str,
    file_name: &str,
    mime: &str,
    bytes: &[u8],
) -> Result<String, GraphError> {
    let Some(app_id) = config
        .whatsapp_app_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return Err(GraphError::Invalid(
            "WHATSAPP_APP_ID is not set: Meta's Resumable Upload API needs the Meta app id".into(),
        ));
    };
    if !FILE_TYPES.contains(&mime) {
        return Err(GraphError::Invalid(format!(
            "Meta's upload API does not take {mime:?} files; use one of {}",
            FILE_TYPES.join(", ")
        )));
    }
    if bytes.is_empty() {
        return Err(GraphError::Invalid("the file is empty".into()));
    }
    let session = answer(
        http.post(config.graph_url(&format!("{app_id}/uploads")))
            .bearer_auth(access_token)
            .query(&[
                ("file_name", file_name.to_string()),
                ("file_length", bytes.len().to_string()),
                ("file_type", mime.to_string()),
            ]),
    )
    .await?;
    let session_id = session["id"]
        .as_str()
        .filter(|s| s.starts_with("upload:"))
        .ok_or_else(|| GraphError::Invalid("upload session answered without an id".into()))?
        .to_string();
    let session_url = config.graph_url(&session_id);
    let send_from = |offset: usize| {
        answer(
            http.post(&session_url)
                .header("Authorization", format!("OAuth {access_token}"))
                .header("file_offset", offset.to_string())
                .body(bytes[offset.min(bytes.len())..].to_vec()),
        )
    };
    let done = match send_from(0).await {
        Err(GraphError::Network(_)) => {
            // Broke off: ask Meta how far it got and send the rest once.
            let status = answer(
                http.get(&session_url)
                    .header("Authorization", format!("OAuth {access_token}")),
            )
            .await?;
            let offset = status["file_offset"]
                .as_u64()
                .or_else(|| status["file_offset"].as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(0) as usize;
            send_from(offset).await?
        }
        other => other?,
    };
    done["h"]
        .as_str()
        .filter(|h| !h.is_empty())
        .map(str::to_string)
        .ok_or_else(|| GraphError::Invalid("upload answered without a file handle (h)".into()))
}

/// Sends `req`; a 2xx answer is its JSON body, anything else a [`GraphError`] whose message
/// is Meta's words (`error_user_title: error_user_msg`, else `message`) with the subcode.
async fn answer(req: reqwest::RequestBuilder) -> Result<serde_json::Value, GraphError> {
    let resp = req
        .send()
        .await
        .map_err(|e| GraphError::Network(e.without_url().to_string()))?;
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    if (200..300).contains(&status) {
        return Ok(body);
    }
    let e = &body["error"];
    let text = |k: &str| e[k].as_str().map(str::trim).filter(|s| !s.is_empty());
    let mut message = match (text("error_user_title"), text("error_user_msg")) {
        (Some(t), Some(m)) => format!("{t}: {m}"),
        (None, Some(m)) => m.to_string(),
        _ => text("message").unwrap_or("no error message").to_string(),
    };
    if let Some(sub) = e["error_subcode"].as_i64() {
        message.push_str(&format!(" (subcode {sub})"));
    }
    Err(GraphError::Status {
        status,
        code: e["code"].as_i64(),
        message,
        details: e["error_data"]["details"].as_str().map(str::to_string),
    })
}
