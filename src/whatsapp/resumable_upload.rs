//! Meta's Resumable Upload API (graph-api-notes.md §8; Meta: graph-api/guides/upload): a file
//! becomes a *handle* (`h`) that the business profile (`profile_picture_handle`) and template
//! headers (`example.header_handle`) refer to. It is not a media id: sends use
//! `POST /{phone_number_id}/media` ids instead.
//!
//! Two calls, both with the inbox's access token:
//! 1. `POST /{WHATSAPP_APP_ID}/uploads?file_name=…&file_length=<bytes>&file_type=<mime>` →
//!    `{"id": "upload:<session>"}` (needs the Meta app id, not the WABA or number);
//! 2. `POST /upload:<session>` with `Authorization: OAuth <token>`, header `file_offset: 0`
//!    and the raw bytes as the body → `{"h": "<handle>"}`.
//!
//! The whole file goes in one request (profile pictures and header samples are small), so the
//! resume step (`GET /upload:<session>` → `file_offset`) is not needed.

use super::graph::{self, GraphError};
use crate::config::Config;

/// MIME types the uploads edge accepts (Meta: graph-api/guides/upload, `file_type`).
pub const FILE_TYPES: &[&str] = &[
    "application/pdf",
    "image/jpeg",
    "image/jpg",
    "image/png",
    "video/mp4",
];

/// Uploads `bytes` (`file_name`, `mime` one of [`FILE_TYPES`]) and returns the file handle
/// `h`. Errors: [`GraphError::Invalid`] when `WHATSAPP_APP_ID` is unset, the type is not
/// accepted, the file is empty, or an answer lacks its `id`/`h`; [`GraphError::Status`] with
/// Meta's code (100, 104, 368, 190…) when Graph refuses; [`GraphError::Network`].
pub async fn upload(
    http: &reqwest::Client,
    config: &Config,
    access_token: &str,
    file_name: &str,
    mime: &str,
    bytes: &[u8],
) -> Result<String, GraphError> {
    let app_id = config.whatsapp_app_id.as_deref().ok_or_else(|| {
        GraphError::Invalid(
            "WHATSAPP_APP_ID is not set: uploads to Meta need the Meta app's ID".into(),
        )
    })?;
    if !FILE_TYPES.contains(&mime) {
        return Err(GraphError::Invalid(format!(
            "Meta's upload API does not take {mime:?} files"
        )));
    }
    if bytes.is_empty() {
        return Err(GraphError::Invalid("the file is empty".into()));
    }
    let session = graph::json_ok(
        http.post(config.graph_url(&format!("{app_id}/uploads")))
            .bearer_auth(access_token)
            .query(&[
                ("file_name", file_name),
                ("file_length", &bytes.len().to_string()),
                ("file_type", mime),
            ]),
    )
    .await?;
    let session_id = session["id"]
        .as_str()
        .filter(|id| id.starts_with("upload:"))
        .ok_or_else(|| GraphError::Invalid("upload session answered without an id".into()))?;
    let answer = graph::json_ok(
        http.post(config.graph_url(session_id))
            .header(
                reqwest::header::AUTHORIZATION,
                format!("OAuth {access_token}"),
            )
            .header("file_offset", "0")
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes.to_vec()),
    )
    .await?;
    answer["h"]
        .as_str()
        .filter(|h| !h.is_empty())
        .map(str::to_string)
        .ok_or_else(|| GraphError::Invalid("the upload answered without a file handle".into()))
}
