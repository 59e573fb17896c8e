//! Attachments as agents reach them: who may see one (the media file route and the retry
//! action share this rule) and retrying a media download that failed for good.
//!
//! Visibility follows the conversation's: a member of the attachment's account who may see
//! the inbox of its message (administrators see every inbox, agents their member inboxes).
//! Anyone else gets a 404, so another account's attachment ids look absent.

use super::accounts::{self, Viewer};
use super::messages::{find_attachment, Attachment};
use crate::db::schema::{attachments, messages};
use crate::error::{AppError, AppResult};
use crate::jobs;
use diesel::prelude::*;
use serde_json::json;

/// Download attempts a retried download gets (as many as the first download's job).
pub const RETRY_MAX_ATTEMPTS: i32 = 8;

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("attachment {id} not found"))
}

/// Attachment `id` when `viewer` may see it: it belongs to the viewer's account and to a
/// message of an inbox the viewer may see. Errors: 404 otherwise (or when it does not exist).
pub fn visible_to(conn: &mut PgConnection, viewer: &Viewer, id: i64) -> AppResult<Attachment> {
    let a = find_attachment(conn, id)?
        .filter(|a| a.account_id == viewer.account_id)
        .ok_or_else(|| not_found(id))?;
    let inbox_id: i64 = messages::table
        .find(a.message_id)
        .select(messages::inbox_id)
        .first(conn)?;
    if !viewer.can_see_inbox(conn, inbox_id)? {
        return Err(not_found(id));
    }
    Ok(a)
}

/// Attachment `id` when user `user_id` may see it, whatever account it is in (the media
/// file URL names no account). Errors: 404 when it does not exist, the user is not a member
/// of its account, or may not see its inbox.
pub fn visible_to_user(conn: &mut PgConnection, user_id: i64, id: i64) -> AppResult<Attachment> {
    let account_id = find_attachment(conn, id)?
        .ok_or_else(|| not_found(id))?
        .account_id;
    let role = accounts::role_in(conn, account_id, user_id)?.ok_or_else(|| not_found(id))?;
    visible_to(
        conn,
        &Viewer {
            user_id,
            account_id,
            role,
        },
        id,
    )
}

/// Queues the download of a failed attachment again: `download_status` goes back to
/// `pending` (the UI shows "downloading…" again), the stored error is cleared, a new
/// `media_download` job with [`RETRY_MAX_ATTEMPTS`] attempts is queued, and `message.updated`
/// (`update: "attachment"`) is emitted so open threads redraw the bubble; all in one
/// transaction. Returns the updated attachment.
///
/// Errors: 404 as [`visible_to`]; 422 (`field: "download_status"`) when the attachment is not
/// `failed` (still pending or already downloaded) or has no WhatsApp media id to fetch.
pub fn retry_download(conn: &mut PgConnection, viewer: &Viewer, id: i64) -> AppResult<Attachment> {
    conn.transaction(|conn| {
        let a = visible_to(conn, viewer, id)?;
        // Lock the row: two clicks at once queue one job.
        let status: String = attachments::table
            .find(id)
            .select(attachments::download_status)
            .for_update()
            .first(conn)?;
        if status != "failed" {
            return Err(AppError::invalid(
                "download_status",
                format!("only a failed download can be retried; this one is {status}"),
            ));
        }
        if a.media_id.is_none() {
            return Err(AppError::invalid(
                "download_status",
                "this attachment has no WhatsApp media id to download",
            ));
        }
        diesel::update(attachments::table.find(id))
            .set((
                attachments::download_status.eq("pending"),
                attachments::download_error.eq(None::<String>),
                attachments::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        jobs::enqueue(
            conn,
            jobs::MEDIA_DOWNLOAD,
            json!({ "attachment_id": id }),
            RETRY_MAX_ATTEMPTS,
        )?;
        announce(conn, a.message_id)?;
        find_attachment(conn, id)?.ok_or_else(|| not_found(id))
    })
}

/// Emits `message.updated` (`update: "attachment"`) for the message of an attachment whose
/// download state changed, so open threads redraw its bubble.
pub fn announce(conn: &mut PgConnection, message_id: i64) -> AppResult<()> {
    if let Some(m) = super::messages::find(conn, message_id)? {
        super::events::message_updated(conn, &m, "attachment")?;
    }
    Ok(())
}
