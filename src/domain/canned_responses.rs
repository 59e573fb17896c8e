//! Canned responses (Chatwoot's `canned_responses`): saved replies an agent inserts by typing
//! `/short_code` in the composer. Each has a short code (unique per account, whatever its
//! case), content that may hold variables such as `{{contact.name}}` (stored verbatim; the
//! browser substitutes them when inserting, see `static/canned.js`) and optional attachments,
//! files stored under `STORAGE_DIR` like the agents' own uploads.
//!
//! Who may do what follows Chatwoot's `CannedResponsePolicy`: every member of the account
//! lists and creates them; administrators change and delete any, agents only those they
//! created (403 otherwise). Another account's ids answer 404.

use super::accounts::{Role, Viewer};
use super::lower;
use crate::db::schema::{canned_response_attachments, canned_responses};
use crate::domain::outbox::StoredUpload;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// Longest short code, in characters.
pub const MAX_SHORT_CODE_CHARS: usize = 64;
/// Longest content, in characters: WhatsApp's limit for a text message body (Meta:
/// cloud-api/reference/messages, `text.body` up to 4096 characters).
pub const MAX_CONTENT_CHARS: usize = 4096;
/// Most attachments one canned response carries (WhatsApp sends one file per message).
pub const MAX_ATTACHMENTS: usize = 10;

/// A `canned_responses` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = canned_responses)]
pub struct CannedResponse {
    /// Its id (`/canned_responses/{id}`).
    pub id: i64,
    /// The account it belongs to.
    pub account_id: i64,
    /// What follows `/` in the composer; no whitespace, 1 to [`MAX_SHORT_CODE_CHARS`].
    pub short_code: String,
    /// The text inserted, variables kept as typed.
    pub content: String,
    /// Who created it (`None` once that user is deleted).
    pub created_by_id: Option<i64>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A `canned_response_attachments` row: a file sent along when the response is inserted.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = canned_response_attachments)]
pub struct CannedAttachment {
    /// Its id.
    pub id: i64,
    /// The canned response it belongs to.
    pub canned_response_id: i64,
    /// The account of that response.
    pub account_id: i64,
    /// The name the file was uploaded with.
    pub file_name: String,
    /// Its mime type (from the upload, or guessed from the extension).
    pub mime_type: String,
    /// Bytes.
    pub file_size: i64,
    /// Path relative to `STORAGE_DIR`.
    pub storage_path: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// A canned response with its attachments.
#[derive(Debug, Clone)]
pub struct CannedWithAttachments {
    /// The response.
    pub response: CannedResponse,
    /// Its files, oldest first.
    pub attachments: Vec<CannedAttachment>,
}

/// The fields of `POST` and `PATCH /canned_responses` (Chatwoot's
/// `canned_response_create_update_payload`); `None` keeps a value (required on create).
#[derive(Debug, Clone, Default)]
pub struct CannedInput {
    /// The short code; a leading `/` is dropped.
    pub short_code: Option<String>,
    /// The content.
    pub content: Option<String>,
}

const SHORT_CODE_TAKEN: &str = "a canned response with this short code already exists";

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("canned response {id} not found"))
}

/// Checks a short code: trimmed, a leading `/` dropped, not empty, no whitespace, at most
/// [`MAX_SHORT_CODE_CHARS`] characters. Errors: 422 naming `short_code`.
pub fn validate_short_code(raw: &str) -> AppResult<String> {
    let code = raw.trim();
    let code = code.strip_prefix('/').unwrap_or(code);
    if code.is_empty() {
        return Err(AppError::invalid("short_code", "short_code can't be blank"));
    }
    if code.chars().any(char::is_whitespace) {
        return Err(AppError::invalid(
            "short_code",
            "short_code cannot contain spaces: it is typed after / in the composer",
        ));
    }
    if code.chars().count() > MAX_SHORT_CODE_CHARS {
        return Err(AppError::invalid(
            "short_code",
            format!("short_code is too long (at most {MAX_SHORT_CODE_CHARS} characters)"),
        ));
    }
    Ok(code.to_string())
}

/// Checks content: not blank, at most [`MAX_CONTENT_CHARS`] characters; kept as typed
/// (variables included). Errors: 422 naming `content`.
pub fn validate_content(raw: &str) -> AppResult<String> {
    if raw.trim().is_empty() {
        return Err(AppError::invalid("content", "content can't be blank"));
    }
    if raw.chars().count() > MAX_CONTENT_CHARS {
        return Err(AppError::invalid(
            "content",
            format!(
                "content is too long (at most {MAX_CONTENT_CHARS} characters, WhatsApp's limit)"
            ),
        ));
    }
    Ok(raw.to_string())
}

fn check_code_free(
    conn: &mut PgConnection,
    account_id: i64,
    except: Option<i64>,
    code: &str,
) -> AppResult<()> {
    let mut q = canned_responses::table
        .filter(canned_responses::account_id.eq(account_id))
        .filter(lower(canned_responses::short_code).eq(lower(code.to_string())))
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(canned_responses::id.ne(id));
    }
    if q.count().get_result::<i64>(conn)? > 0 {
        return Err(AppError::invalid("short_code", SHORT_CODE_TAKEN));
    }
    Ok(())
}

/// `LIKE` pattern matching `term` anywhere, its `%`, `_` and `\` taken literally.
fn contains_pattern(term: &str) -> String {
    let mut p = String::from("%");
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// How well `r` matches `term` (lowercase): short code starts with it 3, short code holds it
/// 2, content holds it 1 (Chatwoot's `order_by_search`).
fn rank(r: &CannedResponse, term: &str) -> u8 {
    let code = r.short_code.to_lowercase();
    if code.starts_with(term) {
        3
    } else if code.contains(term) {
        2
    } else {
        1
    }
}

/// The canned responses of `account_id` with their attachments. Without `search` (or a
/// blank one), all by short code; with one, those whose short code or content holds it
/// (case-insensitive), short-code prefix matches first, then short-code matches, then
/// content matches, each by short code (Chatwoot: `GET /canned_responses?search=`).
pub fn list(
    conn: &mut PgConnection,
    account_id: i64,
    search: Option<&str>,
) -> AppResult<Vec<CannedWithAttachments>> {
    let term = search.map(str::trim).filter(|s| !s.is_empty());
    let mut q = canned_responses::table
        .filter(canned_responses::account_id.eq(account_id))
        .select(CannedResponse::as_select())
        .order((lower(canned_responses::short_code), canned_responses::id))
        .into_boxed();
    if let Some(t) = term {
        let pattern = contains_pattern(t);
        q = q.filter(
            canned_responses::short_code
                .ilike(pattern.clone())
                .or(canned_responses::content.ilike(pattern)),
        );
    }
    let mut rows: Vec<CannedResponse> = q.load(conn)?;
    if let Some(t) = term {
        let t = t.to_lowercase();
        // Stable: equal ranks keep the short-code order.
        rows.sort_by_key(|r| std::cmp::Reverse(rank(r, &t)));
    }
    with_attachments(conn, rows)
}

fn with_attachments(
    conn: &mut PgConnection,
    rows: Vec<CannedResponse>,
) -> AppResult<Vec<CannedWithAttachments>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let files: Vec<CannedAttachment> = if ids.is_empty() {
        vec![]
    } else {
        canned_response_attachments::table
            .filter(canned_response_attachments::canned_response_id.eq_any(&ids))
            .select(CannedAttachment::as_select())
            .order(canned_response_attachments::id)
            .load(conn)?
    };
    Ok(rows
        .into_iter()
        .map(|response| {
            let attachments = files
                .iter()
                .filter(|f| f.canned_response_id == response.id)
                .cloned()
                .collect();
            CannedWithAttachments {
                response,
                attachments,
            }
        })
        .collect())
}

/// Canned response `id` of `account_id` with its attachments. Errors: 404 when absent (or in
/// another account).
pub fn find(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<CannedWithAttachments> {
    let row: CannedResponse = canned_responses::table
        .filter(canned_responses::account_id.eq(account_id))
        .filter(canned_responses::id.eq(id))
        .select(CannedResponse::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(id))?;
    Ok(with_attachments(conn, vec![row])?.remove(0))
}

/// True when `viewer` may change or delete `r`: administrators always, agents when they
/// created it (Chatwoot's `CannedResponsePolicy#update?`/`destroy?`).
pub fn may_manage(viewer: &Viewer, r: &CannedResponse) -> bool {
    viewer.role == Role::Administrator || r.created_by_id == Some(viewer.user_id)
}

fn require_manage(viewer: &Viewer, r: &CannedResponse) -> AppResult<()> {
    if may_manage(viewer, r) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only administrators and the agent who created a canned response can change or delete it"
                .into(),
        ))
    }
}

fn add_files(
    conn: &mut PgConnection,
    account_id: i64,
    response_id: i64,
    uploads: &[StoredUpload],
) -> AppResult<()> {
    let existing: i64 = canned_response_attachments::table
        .filter(canned_response_attachments::canned_response_id.eq(response_id))
        .count()
        .get_result(conn)?;
    if existing as usize + uploads.len() > MAX_ATTACHMENTS {
        return Err(AppError::invalid(
            "attachments",
            format!("a canned response holds at most {MAX_ATTACHMENTS} attachments"),
        ));
    }
    for u in uploads {
        diesel::insert_into(canned_response_attachments::table)
            .values((
                canned_response_attachments::canned_response_id.eq(response_id),
                canned_response_attachments::account_id.eq(account_id),
                canned_response_attachments::file_name.eq(&u.file_name),
                canned_response_attachments::mime_type.eq(&u.mime_type),
                canned_response_attachments::file_size.eq(u.file_size),
                canned_response_attachments::storage_path.eq(&u.storage_path),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Creates a canned response by `viewer` (any member) with the stored `uploads` as its
/// attachments, in one transaction. Errors: 422 naming `short_code` (blank, spaces, too
/// long, taken in any case), `content` (blank, too long) or `attachments` (too many).
pub fn create(
    conn: &mut PgConnection,
    viewer: &Viewer,
    input: &CannedInput,
    uploads: &[StoredUpload],
) -> AppResult<CannedWithAttachments> {
    let code = validate_short_code(input.short_code.as_deref().unwrap_or(""))?;
    let content = validate_content(input.content.as_deref().unwrap_or(""))?;
    let account_id = viewer.account_id;
    conn.transaction(|conn| {
        check_code_free(conn, account_id, None, &code)?;
        let row: CannedResponse = diesel::insert_into(canned_responses::table)
            .values((
                canned_responses::account_id.eq(account_id),
                canned_responses::short_code.eq(&code),
                canned_responses::content.eq(&content),
                canned_responses::created_by_id.eq(viewer.user_id),
            ))
            .returning(CannedResponse::as_returning())
            .get_result(conn)
            .map_err(|e| super::unique_violation_as(e, "short_code", SHORT_CODE_TAKEN))?;
        add_files(conn, account_id, row.id, uploads)?;
        find(conn, account_id, row.id)
    })
}

/// Changes the given fields of canned response `id`, adds `uploads` and removes the
/// attachments `remove` (ids of its own attachments; others are ignored), in one
/// transaction. Returns the response and the storage paths of the removed files (for the
/// caller to delete once committed). Errors: 404; 403 as [`may_manage`]; 422 as [`create`].
pub fn update(
    conn: &mut PgConnection,
    viewer: &Viewer,
    id: i64,
    input: &CannedInput,
    uploads: &[StoredUpload],
    remove: &[i64],
) -> AppResult<(CannedWithAttachments, Vec<String>)> {
    let code = input
        .short_code
        .as_deref()
        .map(validate_short_code)
        .transpose()?;
    let content = input.content.as_deref().map(validate_content).transpose()?;
    let account_id = viewer.account_id;
    conn.transaction(|conn| {
        let current: CannedResponse = canned_responses::table
            .filter(canned_responses::account_id.eq(account_id))
            .filter(canned_responses::id.eq(id))
            .select(CannedResponse::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or_else(|| not_found(id))?;
        require_manage(viewer, &current)?;
        if let Some(c) = &code {
            check_code_free(conn, account_id, Some(id), c)?;
        }
        diesel::update(canned_responses::table.find(id))
            .set((
                canned_responses::short_code.eq(code.as_deref().unwrap_or(&current.short_code)),
                canned_responses::content.eq(content.as_deref().unwrap_or(&current.content)),
                canned_responses::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .map_err(|e| super::unique_violation_as(e, "short_code", SHORT_CODE_TAKEN))?;
        let removed: Vec<String> = if remove.is_empty() {
            vec![]
        } else {
            diesel::delete(
                canned_response_attachments::table
                    .filter(canned_response_attachments::canned_response_id.eq(id))
                    .filter(canned_response_attachments::id.eq_any(remove)),
            )
            .returning(canned_response_attachments::storage_path)
            .get_results(conn)?
        };
        add_files(conn, account_id, id, uploads)?;
        Ok((find(conn, account_id, id)?, removed))
    })
}

/// Deletes canned response `id` and its attachments. Returns the storage paths of its files
/// (for the caller to delete). Errors: 404; 403 as [`may_manage`].
pub fn delete(conn: &mut PgConnection, viewer: &Viewer, id: i64) -> AppResult<Vec<String>> {
    let account_id = viewer.account_id;
    conn.transaction(|conn| {
        let current = find(conn, account_id, id)?;
        require_manage(viewer, &current.response)?;
        diesel::delete(canned_responses::table.find(id)).execute(conn)?;
        Ok(current
            .attachments
            .into_iter()
            .map(|a| a.storage_path)
            .collect())
    })
}

/// Attachment `attachment_id` of canned response `id` in `account_id`. Errors: 404 when
/// either is absent or in another account.
pub fn find_attachment(
    conn: &mut PgConnection,
    account_id: i64,
    id: i64,
    attachment_id: i64,
) -> AppResult<CannedAttachment> {
    canned_response_attachments::table
        .filter(canned_response_attachments::account_id.eq(account_id))
        .filter(canned_response_attachments::canned_response_id.eq(id))
        .filter(canned_response_attachments::id.eq(attachment_id))
        .select(CannedAttachment::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("attachment {attachment_id} not found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_codes() {
        assert_eq!(validate_short_code(" /greet ").unwrap(), "greet");
        assert_eq!(validate_short_code("Ölçü-1_a").unwrap(), "Ölçü-1_a");
        for bad in ["", " ", "/", "two words", "tab\there", &"x".repeat(65)] {
            assert!(validate_short_code(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn contents() {
        assert_eq!(
            validate_content("Hi {{contact.name}}").unwrap(),
            "Hi {{contact.name}}"
        );
        assert!(validate_content("  \n").is_err());
        assert!(validate_content(&"é".repeat(4096)).is_ok());
        assert!(validate_content(&"é".repeat(4097)).is_err());
    }

    #[test]
    fn like_patterns_are_literal() {
        assert_eq!(contains_pattern("a%_\\"), "%a\\%\\_\\\\%");
    }
}
