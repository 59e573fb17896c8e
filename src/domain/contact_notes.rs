//! Contact notes (Chatwoot's `contacts/{id}/notes`): free text agents keep about a contact,
//! read in the contact panel of every conversation with that contact, newest first.
//!
//! Who may see a contact's notes follows who may see the contact (`api/contacts.rs`):
//! administrators every contact of the account, agents contacts of their inboxes. Any of
//! them may add, change and delete notes (Chatwoot's `NotesController` has no owner rule).
//! Another account's ids, or a contact the agent cannot see, answer 404.

use super::accounts::Viewer;
use super::contacts;
use crate::db::schema::{contact_notes, users};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// Longest note, in characters.
pub const MAX_CONTENT_CHARS: usize = 10_000;
/// Most notes the contact panel shows (the newest ones).
pub const PANEL_NOTES: i64 = 20;

/// A `contact_notes` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contact_notes)]
pub struct ContactNote {
    /// Its id (`/contacts/{contact_id}/notes/{id}`).
    pub id: i64,
    /// The account of the contact.
    pub account_id: i64,
    /// The contact it is about.
    pub contact_id: i64,
    /// Who wrote it (`None` once that user is deleted).
    pub user_id: Option<i64>,
    /// The text, as typed (trimmed), 1 to [`MAX_CONTENT_CHARS`] characters.
    pub content: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A note with its author's name (`None` once the author is deleted).
#[derive(Debug, Clone)]
pub struct NoteWithAuthor {
    /// The note.
    pub note: ContactNote,
    /// `users.name` of its author.
    pub author_name: Option<String>,
}

/// Checks `content`: trimmed, 1 to [`MAX_CONTENT_CHARS`] characters. Errors: 422 `content`.
pub fn valid_content(content: Option<&str>) -> AppResult<String> {
    let text = content.map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return Err(AppError::invalid("content", "content can't be blank"));
    }
    if text.chars().count() > MAX_CONTENT_CHARS {
        return Err(AppError::invalid(
            "content",
            format!("content is longer than {MAX_CONTENT_CHARS} characters"),
        ));
    }
    Ok(text.to_string())
}

/// Checks that `viewer` may see contact `contact_id`. Errors: 404 for another account's
/// contact, or one with no conversation in the agent's inboxes.
pub fn check_contact(conn: &mut PgConnection, viewer: &Viewer, contact_id: i64) -> AppResult<()> {
    contacts::find(conn, viewer.account_id, contact_id)?;
    if let Some(only) = viewer.visible_inbox_ids(conn)? {
        if contacts::contact_inboxes_of(conn, contact_id, Some(&only))?.is_empty() {
            return Err(AppError::NotFound(format!(
                "contact {contact_id} not found"
            )));
        }
    }
    Ok(())
}

/// The newest `limit` notes of a contact of `account_id`, newest first, with their
/// authors, in one statement. Does not check the viewer (callers that already showed the
/// contact's conversation have).
pub fn newest(
    conn: &mut PgConnection,
    account_id: i64,
    contact_id: i64,
    limit: i64,
) -> AppResult<Vec<NoteWithAuthor>> {
    let rows: Vec<(ContactNote, Option<String>)> = contact_notes::table
        .left_join(users::table.on(contact_notes::user_id.eq(users::id.nullable())))
        .filter(contact_notes::account_id.eq(account_id))
        .filter(contact_notes::contact_id.eq(contact_id))
        .order((contact_notes::created_at.desc(), contact_notes::id.desc()))
        .limit(limit)
        .select((ContactNote::as_select(), users::name.nullable()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(note, author_name)| NoteWithAuthor { note, author_name })
        .collect())
}

/// Every note of a contact the viewer may see, newest first. Errors: 404 as
/// [`check_contact`].
pub fn list(
    conn: &mut PgConnection,
    viewer: &Viewer,
    contact_id: i64,
) -> AppResult<Vec<NoteWithAuthor>> {
    check_contact(conn, viewer, contact_id)?;
    newest(conn, viewer.account_id, contact_id, i64::MAX)
}

fn one(
    conn: &mut PgConnection,
    viewer: &Viewer,
    contact_id: i64,
    note_id: i64,
) -> AppResult<NoteWithAuthor> {
    let row: Option<(ContactNote, Option<String>)> = contact_notes::table
        .left_join(users::table.on(contact_notes::user_id.eq(users::id.nullable())))
        .filter(contact_notes::id.eq(note_id))
        .filter(contact_notes::account_id.eq(viewer.account_id))
        .filter(contact_notes::contact_id.eq(contact_id))
        .select((ContactNote::as_select(), users::name.nullable()))
        .first(conn)
        .optional()?;
    row.map(|(note, author_name)| NoteWithAuthor { note, author_name })
        .ok_or_else(|| AppError::NotFound(format!("note {note_id} not found")))
}

/// Adds a note by the viewer. Errors: 404 as [`check_contact`]; 422 `content`.
pub fn create(
    conn: &mut PgConnection,
    viewer: &Viewer,
    contact_id: i64,
    content: Option<&str>,
) -> AppResult<NoteWithAuthor> {
    let content = valid_content(content)?;
    check_contact(conn, viewer, contact_id)?;
    conn.transaction(|conn| {
        let id: i64 = diesel::insert_into(contact_notes::table)
            .values((
                contact_notes::account_id.eq(viewer.account_id),
                contact_notes::contact_id.eq(contact_id),
                contact_notes::user_id.eq(Some(viewer.user_id)),
                contact_notes::content.eq(&content),
            ))
            .returning(contact_notes::id)
            .get_result(conn)?;
        // Open contact panels in other browsers show it (static/contact_notes.js).
        super::events::contact_note_changed(conn, viewer.account_id, contact_id, id, "created")?;
        one(conn, viewer, contact_id, id)
    })
}

/// Changes a note's content. Errors: 404 (note of another contact or account too); 422
/// `content`.
pub fn update(
    conn: &mut PgConnection,
    viewer: &Viewer,
    contact_id: i64,
    note_id: i64,
    content: Option<&str>,
) -> AppResult<NoteWithAuthor> {
    check_contact(conn, viewer, contact_id)?;
    one(conn, viewer, contact_id, note_id)?;
    let content = valid_content(content)?;
    conn.transaction(|conn| {
        diesel::update(contact_notes::table.filter(contact_notes::id.eq(note_id)))
            .set((
                contact_notes::content.eq(&content),
                contact_notes::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        super::events::contact_note_changed(
            conn,
            viewer.account_id,
            contact_id,
            note_id,
            "updated",
        )?;
        one(conn, viewer, contact_id, note_id)
    })
}

/// Deletes a note. Errors: 404 (note of another contact or account too).
pub fn delete(
    conn: &mut PgConnection,
    viewer: &Viewer,
    contact_id: i64,
    note_id: i64,
) -> AppResult<()> {
    check_contact(conn, viewer, contact_id)?;
    one(conn, viewer, contact_id, note_id)?;
    conn.transaction(|conn| {
        diesel::delete(contact_notes::table.filter(contact_notes::id.eq(note_id))).execute(conn)?;
        super::events::contact_note_changed(
            conn,
            viewer.account_id,
            contact_id,
            note_id,
            "deleted",
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_trimmed_and_bounded() {
        assert_eq!(valid_content(Some("  hi \n")).unwrap(), "hi");
        assert!(valid_content(Some("   ")).is_err());
        assert!(valid_content(None).is_err());
        assert!(valid_content(Some(&"x".repeat(MAX_CONTENT_CHARS))).is_ok());
        assert!(valid_content(Some(&"x".repeat(MAX_CONTENT_CHARS + 1))).is_err());
    }
}
