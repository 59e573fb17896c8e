//! The media download job: Graph media URL lookup, download, sha256 check, storage.
//!
//! Meta: cloud-api/reference/media — `GET /{media_id}` returns a short-lived `url`, which is
//! fetched with the same `Authorization: Bearer` header. A failed download is retried with
//! backoff by the job queue and never blocks or loses its message (DESIGN.md invariant 2).

use crate::app::AppState;
use crate::db::schema::{attachments, messages};
use crate::domain::inboxes;
use crate::domain::messages::{find_attachment, Attachment};
use crate::whatsapp::graph;
use base64::Engine;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

/// Seconds a worker holds a claimed download before another may retry it.
pub const LEASE_SECONDS: i64 = 300;

/// Why a download failed; `permanent` failures are not retried.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DownloadError {
    pub message: String,
    pub permanent: bool,
}

fn transient(message: impl Into<String>) -> DownloadError {
    DownloadError {
        message: message.into(),
        permanent: false,
    }
}

fn permanent(message: impl Into<String>) -> DownloadError {
    DownloadError {
        message: message.into(),
        permanent: true,
    }
}

/// True when `digest` matches Meta's `expected` sha256, given as hex or base64.
pub fn sha256_matches(expected: &str, digest: &[u8]) -> bool {
    let expected = expected.trim();
    if expected.len() == 64 && expected.chars().all(|c| c.is_ascii_hexdigit()) {
        return expected.eq_ignore_ascii_case(&hex::encode(digest));
    }
    base64::engine::general_purpose::STANDARD
        .decode(expected)
        .map(|d| d == digest)
        .unwrap_or(false)
}

fn safe_file_name(a: &Attachment) -> String {
    let from_name = a.file_name.as_deref().map(|n| {
        n.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
    });
    from_name
        .filter(|n| !n.is_empty() && n != "." && n != "..")
        .unwrap_or_else(|| {
            let ext = a
                .mime_type
                .as_deref()
                .and_then(|m| m.split(';').next())
                .and_then(|m| m.split('/').nth(1))
                .map(|e| e.trim().replace("jpeg", "jpg").replace("quicktime", "mov"))
                .unwrap_or_else(|| "bin".into());
            format!("media-{}.{ext}", a.id)
        })
}

/// Downloads one attachment's media and records the result on the attachment.
/// Errors: transient ones (network, 5xx, 429) are for the queue to retry; a sha256 mismatch,
/// a missing attachment or a 4xx is permanent.
pub async fn download(state: &AppState, attachment_id: i64) -> Result<(), DownloadError> {
    let pool = state.pool.clone();
    let secrets = state.secrets.clone();
    let (attachment, token) = actix_web::web::block(move || -> Result<_, DownloadError> {
        let mut conn = pool.get().map_err(|e| transient(e.to_string()))?;
        let attachment = find_attachment(&mut conn, attachment_id)
            .map_err(|e| transient(e.to_string()))?
            .ok_or_else(|| permanent(format!("attachment {attachment_id} no longer exists")))?;
        let inbox_id: i64 = messages::table
            .find(attachment.message_id)
            .select(messages::inbox_id)
            .first(&mut conn)
            .map_err(|e| transient(e.to_string()))?;
        let (_, channel) = inboxes::find_by_id(&mut conn, inbox_id).map_err(|e| match e {
            crate::error::AppError::NotFound(m) => permanent(m),
            other => transient(other.to_string()),
        })?;
        let token = channel
            .api_key(&secrets)
            .map_err(|e| permanent(e.to_string()))?;
        Ok((attachment, token))
    })
    .await
    .map_err(|e| transient(e.to_string()))??;

    let Some(media_id) = attachment.media_id.clone() else {
        return Err(permanent("attachment has no media id"));
    };
    let (info, bytes) = graph::fetch_media(&state.http, &state.config, &token, &media_id)
        .await
        .map_err(|e| DownloadError {
            permanent: !e.is_transient(),
            message: e.to_string(),
        })?;
    let digest = Sha256::digest(&bytes);
    for expected in [attachment.sha256.as_deref(), info.sha256.as_deref()]
        .into_iter()
        .flatten()
    {
        if !sha256_matches(expected, &digest) {
            return Err(permanent(format!(
                "sha256 mismatch: Meta announced {expected}, the downloaded file is {}",
                hex::encode(digest)
            )));
        }
    }
    let key = format!(
        "attachments/{}/{}/{}",
        attachment.account_id,
        attachment.id,
        safe_file_name(&attachment)
    );
    let size = bytes.len() as i64;
    let mime = attachment.mime_type.clone().or(info.mime_type.clone());
    state
        .storage
        .put(&key, bytes.into(), mime.as_deref())
        .await
        .map_err(|e| transient(format!("cannot store {key}: {e}")))?;

    let pool = state.pool.clone();
    let stored = key.clone();
    let kept = actix_web::web::block(move || -> Result<bool, DownloadError> {
        let mut conn = pool.get().map_err(|e| transient(e.to_string()))?;
        conn.transaction(|conn| -> crate::error::AppResult<bool> {
            let updated = diesel::update(attachments::table.find(attachment_id))
                .set((
                    attachments::storage_path.eq(Some(stored)),
                    attachments::download_status.eq("downloaded"),
                    attachments::download_error.eq(None::<String>),
                    attachments::file_size.eq(Some(size)),
                    attachments::mime_type.eq(mime),
                    attachments::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)?;
            if updated == 0 {
                // The attachment went meanwhile (its contact was deleted): so does the file.
                return Ok(false);
            }
            // Open threads swap "downloading…" for the file.
            crate::domain::attachments::announce(conn, attachment.message_id)?;
            Ok(true)
        })
        .map_err(|e| transient(e.to_string()))
    })
    .await
    .map_err(|e| transient(e.to_string()))??;
    if !kept {
        state.storage.delete_all(&[&key]).await;
    }
    Ok(())
}

/// Records a final failure on the attachment (the message itself is untouched) and emits
/// `message.updated` (`update: "attachment"`) so open threads show the failure, its reason
/// and the Retry button ([`crate::domain::attachments::retry_download`]).
pub fn mark_failed(
    conn: &mut PgConnection,
    attachment_id: i64,
    error: &str,
) -> crate::error::AppResult<()> {
    conn.transaction(|conn| {
        let message_id: Option<i64> = diesel::update(attachments::table.find(attachment_id))
            .set((
                attachments::download_status.eq("failed"),
                attachments::download_error.eq(Some(error)),
                attachments::updated_at.eq(diesel::dsl::now),
            ))
            .returning(attachments::message_id)
            .get_result(conn)
            .optional()?;
        match message_id {
            Some(m) => crate::domain::attachments::announce(conn, m),
            None => Ok(()),
        }
    })
}

/// Claims and runs one due media job. Returns false when none was due.
pub async fn run_next(state: &AppState) -> crate::error::AppResult<bool> {
    let pool = state.pool.clone();
    let job = actix_web::web::block(move || {
        let mut conn = pool.get()?;
        super::claim(&mut conn, super::MEDIA_DOWNLOAD, LEASE_SECONDS)
    })
    .await??;
    let Some(job) = job else { return Ok(false) };
    let attachment_id = job.payload["attachment_id"].as_i64().unwrap_or_default();
    let result = download(state, attachment_id).await;
    let pool = state.pool.clone();
    let base = state.config.media_retry_base_seconds;
    actix_web::web::block(move || -> crate::error::AppResult<()> {
        let mut conn = pool.get()?;
        match result {
            Ok(()) => super::complete(&mut conn, job.id),
            Err(e) => {
                let retry = super::fail(&mut conn, &job, &e.message, e.permanent, base)?;
                tracing::warn!(attachment_id, retry, error = %e.message, "media download failed");
                if !retry {
                    mark_failed(&mut conn, attachment_id, &e.message)?;
                } else {
                    diesel::update(attachments::table.find(attachment_id))
                        .set(attachments::download_error.eq(Some(&e.message)))
                        .execute(&mut conn)?;
                }
                Ok(())
            }
        }
    })
    .await??;
    Ok(true)
}
