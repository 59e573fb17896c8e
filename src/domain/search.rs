//! Search across an account (`GET /search?q=`): contacts by name, phone number or BSUID;
//! conversations of those contacts (or by number); and messages by text. Case-insensitive
//! substring matching (`ILIKE '%term%'`), served by the pg_trgm GIN indexes of migration
//! 2026-11-21-000004 (`contacts_*_trgm`, `messages_content_trgm`). Only conversations in
//! inboxes the viewer may see are searched (an agent's inboxes; every inbox for an
//! administrator).

use super::accounts::Viewer;
use super::contacts::Contact;
use super::conversations::Conversation;
use super::messages::Message;
use crate::db::schema::{contact_inboxes, contacts, conversations};
use crate::error::{AppError, AppResult};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Text};

/// Longest search term, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// What a search found, each list newest activity first.
#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    /// Matching contacts, each with the `display_id`s of their conversations the viewer sees.
    pub contacts: Vec<(Contact, Vec<i32>)>,
    /// The visible conversations of the matching contacts, plus the conversation whose
    /// `display_id` is the term (`42` or `#42`).
    pub conversations: Vec<Conversation>,
    /// Matching incoming and outgoing messages (not private notes, not activity lines), each
    /// with its conversation's `display_id`.
    pub messages: Vec<(Message, i32)>,
}

/// The `ILIKE` pattern matching `term` anywhere: `%term%`, with the term's own `\`, `%` and
/// `_` escaped (backslash is PostgreSQL's default LIKE escape), so they match literally.
pub fn like_pattern(term: &str) -> String {
    let escaped = term
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The pattern for phone numbers: a term made only of digits and `+ -().` and spaces
/// matches by its digits (`+1 (555) 123` finds `+1555123…`); any other term as it is.
fn phone_pattern(term: &str) -> String {
    let phoneish = term
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let digits: String = term.chars().filter(char::is_ascii_digit).collect();
    if phoneish && !digits.is_empty() {
        format!("%{digits}%")
    } else {
        like_pattern(term)
    }
}

/// The term trimmed. Errors: 422 naming `q` when it is empty or too long.
fn checked_term(q: &str) -> AppResult<&str> {
    let term = q.trim();
    if term.is_empty() {
        return Err(AppError::invalid("q", "the search term q is required"));
    }
    if term.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::invalid(
            "q",
            format!("the search term must be at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    Ok(term)
}

/// The message search. Its `message_type IN (0, 1) AND NOT private` repeats the predicate of
/// the partial index `messages_content_trgm` word for word, so the planner can use it.
/// `$1` account, `$2` pattern, `$3` limit, `$4` visible inbox ids (only with `restricted`).
fn message_sql(restricted: bool) -> String {
    format!(
        "SELECT m.*, c.display_id FROM messages m \
         JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.account_id = $1 AND m.message_type IN (0, 1) AND NOT m.private \
         AND m.content ILIKE $2{} \
         ORDER BY m.created_at DESC, m.id DESC LIMIT $3",
        if restricted {
            " AND m.inbox_id = ANY($4)"
        } else {
            ""
        }
    )
}

#[derive(QueryableByName)]
struct MessageHit {
    #[diesel(embed)]
    message: Message,
    #[diesel(sql_type = Integer)]
    display_id: i32,
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

/// Runs the message query, or `EXPLAIN` of it, with the same parameters.
fn message_query(
    prefix: &str,
    viewer: &Viewer,
    visible: &Option<Vec<i64>>,
    pattern: &str,
    limit: i64,
) -> diesel::query_builder::BoxedSqlQuery<'static, diesel::pg::Pg, diesel::query_builder::SqlQuery>
{
    let q = diesel::sql_query(format!("{prefix}{}", message_sql(visible.is_some())))
        .into_boxed()
        .bind::<BigInt, _>(viewer.account_id)
        .bind::<Text, _>(pattern.to_string())
        .bind::<BigInt, _>(limit);
    match visible {
        Some(ids) => q.bind::<Array<BigInt>, _>(ids.clone()),
        None => q,
    }
}

/// Searches the viewer's account for `q` (see the module documentation), at most `limit`
/// results of each kind. Errors: 422 naming `q` when it is blank or longer than
/// [`MAX_QUERY_CHARS`].
pub fn search(
    conn: &mut PgConnection,
    viewer: &Viewer,
    q: &str,
    limit: i64,
) -> AppResult<SearchResults> {
    let term = checked_term(q)?;
    let limit = limit.clamp(1, 100);
    let pattern = like_pattern(term);
    let visible = viewer.visible_inbox_ids(conn)?;

    let mut cq = contacts::table
        .filter(contacts::account_id.eq(viewer.account_id))
        .filter(
            contacts::name
                .ilike(pattern.clone())
                .or(contacts::phone_number.ilike(phone_pattern(term)))
                .or(contacts::bsuid.ilike(pattern.clone())),
        )
        .into_boxed();
    if let Some(ids) = &visible {
        cq = cq.filter(
            contacts::id.eq_any(
                contact_inboxes::table
                    .filter(contact_inboxes::inbox_id.eq_any(ids.clone()))
                    .select(contact_inboxes::contact_id),
            ),
        );
    }
    let found: Vec<Contact> = cq
        .select(Contact::as_select())
        .order((
            contacts::last_activity_at.desc().nulls_last(),
            contacts::id.desc(),
        ))
        .limit(limit)
        .load(conn)?;
    let contact_ids: Vec<i64> = found.iter().map(|c| c.id).collect();

    let number: Option<i32> = term.trim_start_matches('#').parse().ok();
    let mut vq = conversations::table
        .filter(conversations::account_id.eq(viewer.account_id))
        .into_boxed();
    vq = match number {
        Some(n) => vq.filter(
            conversations::contact_id
                .eq_any(contact_ids.clone())
                .or(conversations::display_id.eq(n)),
        ),
        None => vq.filter(conversations::contact_id.eq_any(contact_ids.clone())),
    };
    if let Some(ids) = &visible {
        vq = vq.filter(conversations::inbox_id.eq_any(ids.clone()));
    }
    let convs: Vec<Conversation> = vq
        .select(Conversation::as_select())
        .order((
            conversations::last_activity_at.desc(),
            conversations::id.desc(),
        ))
        .load(conn)?;
    let contacts_out = found
        .into_iter()
        .map(|c| {
            let ids = convs
                .iter()
                .filter(|v| v.contact_id == c.id)
                .map(|v| v.display_id)
                .collect();
            (c, ids)
        })
        .collect();
    let conversations_out = convs.into_iter().take(limit as usize).collect();

    let hits: Vec<MessageHit> = message_query("", viewer, &visible, &pattern, limit).load(conn)?;
    Ok(SearchResults {
        contacts: contacts_out,
        conversations: conversations_out,
        messages: hits
            .into_iter()
            .map(|h| (h.message, h.display_id))
            .collect(),
    })
}

/// PostgreSQL's plan (`EXPLAIN`, one line per row) for the message part of [`search`] with
/// the same parameters: how tests and operators check that `messages_content_trgm` serves
/// it. Errors: 422 as [`search`].
pub fn explain_message_search(
    conn: &mut PgConnection,
    viewer: &Viewer,
    q: &str,
    limit: i64,
) -> AppResult<Vec<String>> {
    let pattern = like_pattern(checked_term(q)?);
    let visible = viewer.visible_inbox_ids(conn)?;
    let lines: Vec<PlanLine> =
        message_query("EXPLAIN ", viewer, &visible, &pattern, limit.clamp(1, 100)).load(conn)?;
    Ok(lines.into_iter().map(|l| l.line).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(phone_pattern("+1 (555) 123"), "%1555123%");
        assert_eq!(phone_pattern("US.134"), "%US.134%");
        assert_eq!(phone_pattern("Ana 2"), "%Ana 2%");
    }

    #[test]
    fn blank_and_long_terms_are_refused() {
        assert!(checked_term("  ").is_err());
        assert!(checked_term(&"x".repeat(MAX_QUERY_CHARS + 1)).is_err());
        assert_eq!(checked_term(" ana ").unwrap(), "ana");
    }
}
