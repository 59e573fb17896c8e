//! Search across an account (`GET /search?q=`): contacts by name, phone number or BSUID;
//! conversations of those contacts (or by number); and messages by text.
//!
//! Matching ignores case and accents ("zoe", "ZOE" and "Zoë" find each other) and takes the
//! term word by word: every word must appear, in any order, each as a substring. Both sides
//! are folded by the SQL function `switchboard_fold` (lower-cased `unaccent`, declared
//! IMMUTABLE by migration 2026-11-30-000001 so the trigram GIN indexes
//! `messages_content_fold_trgm` and `contacts_name_fold_trgm` serve it); [`fold`] is the same
//! folding in Rust, used to highlight the matches in a [`snippet_html`]. Only conversations in
//! inboxes the viewer may see are searched (an agent's inboxes; every inbox for an
//! administrator). Message results are paged on `(created_at, id)`, newest first.

use super::accounts::Viewer;
use super::contacts::Contact;
use super::conversations::Conversation;
use super::messages::Message;
use crate::db::schema::{contact_inboxes, contacts, conversations, messages};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Text, Timestamptz};

/// Longest search term, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// Most words a term may have (each one is a condition of the query).
pub const MAX_WORDS: usize = 8;

/// Characters of message text a snippet shows around the first match.
pub const SNIPPET_CHARS: usize = 160;

/// A message that matched, with what a result line shows.
#[derive(Debug, Clone)]
pub struct MessageResult {
    pub message: Message,
    /// The conversation's `display_id`.
    pub display_id: i32,
    /// The conversation's contact.
    pub contact: Contact,
    /// Safe HTML: the text around the first match, escaped, each match in `<mark>`.
    pub snippet_html: String,
}

/// What a search found, each list newest activity first.
#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    /// Matching contacts, each with the `display_id`s of their conversations the viewer sees.
    pub contacts: Vec<(Contact, Vec<i32>)>,
    /// The visible conversations of the matching contacts, plus the conversation whose
    /// `display_id` is the term (`42` or `#42`).
    pub conversations: Vec<Conversation>,
    /// Matching incoming and outgoing messages (not private notes, not activity lines),
    /// newest first by `(created_at, id)`.
    pub messages: Vec<MessageResult>,
    /// When more matching messages exist: the id of the last one here, to pass as `before`
    /// for the next page.
    pub next_before: Option<i64>,
}

/// Lower-cases `s` and strips the accents of Latin letters (`Zoë` → `zoe`, `Straße` →
/// `strasse`, `Łódź` → `lodz`), dropping combining marks: the Rust twin of the SQL
/// `switchboard_fold` (PostgreSQL's `unaccent` rules, for the letters people type).
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        fold_char(c, &mut out);
    }
    out
}

/// Base letters of U+0100..=U+017F (Latin Extended-A), one entry per code point.
const LATIN_EXT_A: [&str; 128] = [
    "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d", "d", "d", "e",
    "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g", "g", "g", "g", "g", "h", "h",
    "h", "h", "i", "i", "i", "i", "i", "i", "i", "i", "i", "i", "ij", "ij", "j", "j", "k", "k",
    "k", "l", "l", "l", "l", "l", "l", "l", "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n",
    "n", "o", "o", "o", "o", "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s",
    "s", "s", "s", "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",
    "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",
];

fn fold_char(c: char, out: &mut String) {
    let base: Option<&str> = match c {
        '\u{0300}'..='\u{036f}' => Some(""),
        'À'..='Å' | 'à'..='å' => Some("a"),
        'Æ' | 'æ' => Some("ae"),
        'Ç' | 'ç' => Some("c"),
        'È'..='Ë' | 'è'..='ë' => Some("e"),
        'Ì'..='Ï' | 'ì'..='ï' => Some("i"),
        'Ð' | 'ð' => Some("d"),
        'Ñ' | 'ñ' => Some("n"),
        'Ò'..='Ö' | 'Ø' | 'ò'..='ö' | 'ø' => Some("o"),
        'Ù'..='Ü' | 'ù'..='ü' => Some("u"),
        'Ý' | 'ý' | 'ÿ' => Some("y"),
        'Þ' | 'þ' => Some("th"),
        'ß' => Some("ss"),
        '\u{0100}'..='\u{017f}' => Some(LATIN_EXT_A[c as usize - 0x100]),
        _ => None,
    };
    match base {
        Some(b) => out.push_str(b),
        None => out.extend(c.to_lowercase()),
    }
}

/// The words of a search term, folded, without repeats and in order: each must appear.
/// Errors: 422 naming `q` when the term is blank, longer than [`MAX_QUERY_CHARS`] or has
/// more than [`MAX_WORDS`] words.
pub fn words(q: &str) -> AppResult<Vec<String>> {
    let term = checked_term(q)?;
    let mut out: Vec<String> = Vec::new();
    for w in term.split_whitespace().map(fold) {
        if !w.is_empty() && !out.contains(&w) {
            out.push(w);
        }
    }
    if out.is_empty() {
        return Err(AppError::invalid("q", "the search term q is required"));
    }
    if out.len() > MAX_WORDS {
        return Err(AppError::invalid(
            "q",
            format!("the search term may have at most {MAX_WORDS} words"),
        ));
    }
    Ok(out)
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Char ranges (`start..end`, in chars of `text`) where any of the folded `words` occur,
/// compared folded (so `zoe` marks `Zoë`), sorted and merged.
pub fn match_ranges(text: &str, words: &[String]) -> Vec<std::ops::Range<usize>> {
    let mut folded = String::with_capacity(text.len());
    // For each byte of `folded`, the index of the char of `text` it came from.
    let mut origin: Vec<usize> = Vec::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        let before = folded.len();
        fold_char(c, &mut folded);
        origin.extend(std::iter::repeat_n(i, folded.len() - before));
    }
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    for w in words.iter().filter(|w| !w.is_empty()) {
        for (at, m) in folded.match_indices(w.as_str()) {
            ranges.push(origin[at]..origin[at + m.len() - 1] + 1);
        }
    }
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// Safe HTML for a result line: about [`SNIPPET_CHARS`] characters of `text` around its
/// first match (with `…` where it was cut), escaped first, then each match of `words`
/// wrapped in `<mark>`. Customer-written HTML comes out as text.
pub fn snippet_html(text: &str, words: &[String]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let ranges = match_ranges(text, words);
    let (start, end) = if chars.len() <= SNIPPET_CHARS {
        (0, chars.len())
    } else {
        let first = ranges.first().map(|r| r.start).unwrap_or(0);
        let start = first.saturating_sub(SNIPPET_CHARS / 3);
        let end = (start + SNIPPET_CHARS).min(chars.len());
        let mut start = end.saturating_sub(SNIPPET_CHARS).min(start);
        let mut end = end;
        // Cut between words where a space is near: at most 20 characters in from each edge,
        // never into the first match.
        if start > 0 {
            if let Some(i) = (start..(start + 20).min(first)).find(|&i| chars[i].is_whitespace()) {
                start = i + 1;
            }
        }
        if end < chars.len() {
            if let Some(i) = (end.saturating_sub(20).max(first + 1)..end)
                .rev()
                .find(|&i| chars[i].is_whitespace())
            {
                end = i;
            }
        }
        (start, end)
    };
    let piece = |a: usize, b: usize| escape_html(&chars[a..b].iter().collect::<String>());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut at = start;
    for r in ranges {
        let (a, b) = (r.start.max(start), r.end.min(end));
        if a >= b {
            continue;
        }
        out.push_str(&piece(at, a));
        out.push_str("<mark>");
        out.push_str(&piece(a, b));
        out.push_str("</mark>");
        at = b;
    }
    out.push_str(&piece(at, end));
    if end < chars.len() {
        out.push('…');
    }
    out
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
    let digits: String = term.chars().filter(char::is_ascii_digit).collect();
    if is_phoneish(term) {
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

/// True when `term` is made only of digits and `+ -().` and spaces, with a digit: a phone
/// number however written.
fn is_phoneish(term: &str) -> bool {
    term.chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        && term.chars().any(|c| c.is_ascii_digit())
}

/// Which contact fields a term is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactFields {
    /// Name, phone number and BSUID (the global search).
    Identity,
    /// Those plus email, identifier and username (`GET /contacts/search`).
    All,
}

/// The condition "the contact matches `q`": every word of the term appears (folded) in the
/// contact's name, or in one of its other `fields`; a word of digits matches the phone
/// number by its digits. A term that is a whole phone number (`+1 (555) 123-4567`) also
/// matches by all its digits together. Errors: 422 naming `q` as [`words`].
pub fn contact_condition(
    q: &str,
    fields: ContactFields,
) -> AppResult<Box<dyn BoxableExpression<contacts::table, Pg, SqlType = Bool>>> {
    type Cond = Box<dyn BoxableExpression<contacts::table, Pg, SqlType = Bool>>;
    fn lit(sql: &str, bind: String) -> Cond {
        Box::new(diesel::dsl::sql::<Bool>(sql).bind::<Text, _>(bind))
    }
    /// `lower(<column>) LIKE lower(<pattern>)`: served by the column's trigram index on
    /// `lower(…)`, which an equality lookup never uses (see the migration
    /// `search_trigrams_off_equality`).
    fn lowered(column: &str, pattern: String) -> Cond {
        Box::new(
            diesel::dsl::sql::<Bool>(&format!("lower({column}) LIKE lower("))
                .bind::<Text, _>(pattern)
                .sql(")"),
        )
    }
    /// `switchboard_fold(<column>) LIKE switchboard_fold(<pattern>)`.
    fn folded(column: &str, pattern: String) -> Cond {
        Box::new(
            diesel::dsl::sql::<Bool>(&format!(
                "switchboard_fold({column}) LIKE switchboard_fold("
            ))
            .bind::<Text, _>(pattern)
            .sql(")"),
        )
    }
    let term = checked_term(q)?;
    if fields == ContactFields::All {
        return doc_condition(term);
    }
    let mut all: Cond = Box::new(diesel::dsl::sql::<Bool>("TRUE"));
    for w in words(term)? {
        let pattern = like_pattern(&w);
        let mut one: Cond = Box::new(
            folded("contacts.name", pattern.clone()).or(lowered("contacts.bsuid", pattern.clone())),
        );
        if is_phoneish(&w) {
            let digits: String = w.chars().filter(char::is_ascii_digit).collect();
            one = Box::new(one.or(lit(
                "lower(contacts.phone_number) LIKE ",
                format!("%{digits}%"),
            )));
        }
        if fields == ContactFields::All {
            one = Box::new(
                one.or(folded("contacts.email", pattern.clone()))
                    .or(lit("contacts.identifier ILIKE ", pattern.clone()))
                    .or(lit("contacts.username ILIKE ", pattern)),
            );
        }
        all = Box::new(all.and(one));
    }
    if is_phoneish(term) {
        Ok(Box::new(
            lit("lower(contacts.phone_number) LIKE ", phone_pattern(term)).or(all),
        ))
    } else {
        Ok(all)
    }
}

/// [`contact_condition`] for [`ContactFields::All`]: each word against the one folded text
/// of all six fields, the generated column `search_doc`, which the trigram index
/// `contacts_search_doc_trgm` serves (as `domain::contact_list` does, so the export matches the list).
fn doc_condition(
    term: &str,
) -> AppResult<Box<dyn BoxableExpression<contacts::table, Pg, SqlType = Bool>>> {
    type Cond = Box<dyn BoxableExpression<contacts::table, Pg, SqlType = Bool>>;
    const DOC: &str = "contacts.search_doc";
    fn like(pattern: String, fold: bool) -> Cond {
        let (open, close) = if fold {
            (" LIKE switchboard_fold(", ")")
        } else {
            (" LIKE ", "")
        };
        Box::new(
            diesel::dsl::sql::<Bool>(&format!("{DOC}{open}"))
                .bind::<Text, _>(pattern)
                .sql(close),
        )
    }
    let digits_of = |t: &str| -> String { t.chars().filter(char::is_ascii_digit).collect() };
    let mut all: Cond = Box::new(diesel::dsl::sql::<Bool>("TRUE"));
    let ws = words(term)?;
    for w in &ws {
        let mut one = like(like_pattern(w), true);
        if is_phoneish(w) && digits_of(w) != *w {
            one = Box::new(one.or(like(format!("%{}%", digits_of(w)), false)));
        }
        all = Box::new(all.and(one));
    }
    if is_phoneish(term) && ws.len() > 1 {
        Ok(Box::new(
            like(format!("%{}%", digits_of(term)), false).or(all),
        ))
    } else {
        Ok(all)
    }
}

/// The message search. Its `message_type IN (0, 1) AND NOT private` and
/// `switchboard_fold(m.content)` repeat the partial index `messages_content_fold_trgm` word
/// for word, so the planner can use it. Parameters: `$1` account, `$2` limit, then one
/// pattern per word, then the visible inbox ids (`restricted`), then the cursor (`after_key`).
fn message_sql(word_count: usize, restricted: bool, after_key: bool) -> String {
    let mut sql = String::from(
        "SELECT m.*, c.display_id, c.contact_id FROM messages m \
         JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.account_id = $1 AND m.message_type IN (0, 1) AND NOT m.private",
    );
    let mut n = 2;
    for _ in 0..word_count {
        n += 1;
        sql.push_str(&format!(
            " AND switchboard_fold(m.content) LIKE switchboard_fold(${n})"
        ));
    }
    if restricted {
        n += 1;
        sql.push_str(&format!(" AND m.inbox_id = ANY(${n})"));
    }
    if after_key {
        sql.push_str(&format!(
            " AND (m.created_at, m.id) < (${}, ${})",
            n + 1,
            n + 2
        ));
    }
    sql.push_str(" ORDER BY m.created_at DESC, m.id DESC LIMIT $2");
    sql
}

#[derive(QueryableByName)]
struct MessageHit {
    #[diesel(embed)]
    message: Message,
    #[diesel(sql_type = Integer)]
    display_id: i32,
    #[diesel(sql_type = BigInt)]
    contact_id: i64,
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

/// Where the next page of messages starts: the `(created_at, id)` of message `before` of the
/// account. Errors: 422 naming `before` when no such message exists in the account.
fn message_cursor(
    conn: &mut PgConnection,
    account_id: i64,
    before: i64,
) -> AppResult<(DateTime<Utc>, i64)> {
    messages::table
        .filter(messages::id.eq(before))
        .filter(messages::account_id.eq(account_id))
        .select((messages::created_at, messages::id))
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::invalid(
                "before",
                "before must be the id of a message of the account",
            )
        })
}

/// How many of the account's newest messages (after the cursor) the first pass of the
/// message search reads in `(created_at, id)` order before it asks the trigram index.
pub const RECENT_SCAN: i64 = 2000;

/// The message hits of a search, newest first by `(created_at, id)`, at most `want`, in two
/// passes so that neither a common nor a rare word costs much:
/// 1. the newest [`RECENT_SCAN`] messages of the account (an index range on
///    `messages_account_created`), filtered by the words: a common word fills the page here,
///    without the trigram index handing over (and the query sorting) every one of its matches;
/// 2. only if the page is not full: the trigram-index query ([`message_sql`]) for messages
///    older than the last one the first pass read. A word rare enough to need this pass has
///    few matches there to sort.
///
/// The result equals one ordered query over all matches.
fn message_hits(
    conn: &mut PgConnection,
    viewer: &Viewer,
    visible: &Option<Vec<i64>>,
    words: &[String],
    cursor: Option<(DateTime<Utc>, i64)>,
    want: i64,
) -> AppResult<Vec<MessageHit>> {
    #[derive(QueryableByName)]
    struct Boundary {
        #[diesel(sql_type = Timestamptz)]
        created_at: DateTime<Utc>,
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let after = if cursor.is_some() {
        " AND (r.created_at, r.id) < ($3, $4)"
    } else {
        ""
    };
    let window = format!(
        "SELECT * FROM messages r WHERE r.account_id = $1{after} \
         ORDER BY r.created_at DESC, r.id DESC LIMIT {RECENT_SCAN}"
    );
    let mut sql = format!(
        "SELECT m.*, c.display_id, c.contact_id FROM ({window}) m \
         JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.message_type IN (0, 1) AND NOT m.private"
    );
    let mut n = if cursor.is_some() { 4 } else { 2 };
    for _ in words {
        n += 1;
        sql.push_str(&format!(
            " AND switchboard_fold(m.content) LIKE switchboard_fold(${n})"
        ));
    }
    if visible.is_some() {
        n += 1;
        sql.push_str(&format!(" AND m.inbox_id = ANY(${n})"));
    }
    sql.push_str(" ORDER BY m.created_at DESC, m.id DESC LIMIT $2");
    let mut q = diesel::sql_query(sql)
        .into_boxed()
        .bind::<BigInt, _>(viewer.account_id)
        .bind::<BigInt, _>(want);
    if let Some((at, id)) = cursor {
        q = q.bind::<Timestamptz, _>(at).bind::<BigInt, _>(id);
    }
    for w in words {
        q = q.bind::<Text, _>(like_pattern(w));
    }
    if let Some(ids) = visible {
        q = q.bind::<Array<BigInt>, _>(ids.clone());
    }
    let mut hits: Vec<MessageHit> = q.load(conn)?;
    if hits.len() as i64 >= want {
        return Ok(hits);
    }
    // The last message the first pass read, if it read a full window.
    let mut bq = diesel::sql_query(format!(
        "SELECT r.created_at, r.id FROM messages r WHERE r.account_id = $1{} \
         ORDER BY r.created_at DESC, r.id DESC OFFSET {} LIMIT 1",
        after.replace("$3", "$2").replace("$4", "$3"),
        RECENT_SCAN - 1
    ))
    .into_boxed()
    .bind::<BigInt, _>(viewer.account_id);
    if let Some((at, id)) = cursor {
        bq = bq.bind::<Timestamptz, _>(at).bind::<BigInt, _>(id);
    }
    let Some(boundary) = bq.load::<Boundary>(conn)?.into_iter().next() else {
        return Ok(hits);
    };
    let older: Vec<MessageHit> = message_query(
        "",
        viewer,
        visible,
        words,
        Some((boundary.created_at, boundary.id)),
        want - hits.len() as i64,
    )
    .load(conn)?;
    hits.extend(older);
    Ok(hits)
}

/// Runs the message query, or `EXPLAIN` of it, with the same parameters.
fn message_query(
    prefix: &str,
    viewer: &Viewer,
    visible: &Option<Vec<i64>>,
    words: &[String],
    cursor: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> diesel::query_builder::BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery> {
    let sql = message_sql(words.len(), visible.is_some(), cursor.is_some());
    let mut q = diesel::sql_query(format!("{prefix}{sql}"))
        .into_boxed()
        .bind::<BigInt, _>(viewer.account_id)
        .bind::<BigInt, _>(limit);
    for w in words {
        q = q.bind::<Text, _>(like_pattern(w));
    }
    if let Some(ids) = visible {
        q = q.bind::<Array<BigInt>, _>(ids.clone());
    }
    if let Some((at, id)) = cursor {
        q = q.bind::<Timestamptz, _>(at).bind::<BigInt, _>(id);
    }
    q
}

/// Searches the viewer's account for `q` (see the module documentation), at most `limit`
/// results of each kind. `before` (a message id, from [`SearchResults::next_before`]) asks
/// for the next page of messages: those after it in `(created_at, id)` order, newest first.
/// Errors: 422 naming `q` when it is blank, longer than [`MAX_QUERY_CHARS`] or has more
/// than [`MAX_WORDS`] words; 422 naming `before` when it is not a message of the account.
pub fn search(
    conn: &mut PgConnection,
    viewer: &Viewer,
    q: &str,
    before: Option<i64>,
    limit: i64,
) -> AppResult<SearchResults> {
    let term = checked_term(q)?;
    let words = words(term)?;
    let limit = limit.clamp(1, 100);
    let visible = viewer.visible_inbox_ids(conn)?;
    let cursor = before
        .map(|id| message_cursor(conn, viewer.account_id, id))
        .transpose()?;

    let mut cq = contacts::table
        .filter(contacts::account_id.eq(viewer.account_id))
        .filter(contact_condition(term, ContactFields::Identity)?)
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

    let mut hits = message_hits(conn, viewer, &visible, &words, cursor, limit + 1)?;
    let more = hits.len() as i64 > limit;
    hits.truncate(limit as usize);
    let owner_ids: Vec<i64> = hits.iter().map(|h| h.contact_id).collect();
    let owners: std::collections::HashMap<i64, Contact> = contacts::table
        .filter(contacts::id.eq_any(owner_ids))
        .select(Contact::as_select())
        .load(conn)?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let next_before = more.then(|| hits.last().map(|h| h.message.id)).flatten();
    let messages = hits
        .into_iter()
        .filter_map(|h| {
            let contact = owners.get(&h.contact_id)?.clone();
            Some(MessageResult {
                snippet_html: snippet_html(h.message.content.as_deref().unwrap_or(""), &words),
                display_id: h.display_id,
                contact,
                message: h.message,
            })
        })
        .collect();
    Ok(SearchResults {
        contacts: contacts_out,
        conversations: conversations_out,
        messages,
        next_before,
    })
}

/// PostgreSQL's plan (`EXPLAIN`, one line per row) for the trigram pass of the message part
/// of [`search`] (the second pass of [`message_hits`]) with the same parameters: how tests and operators check that `messages_content_fold_trgm`
/// serves it. Errors: 422 as [`search`].
pub fn explain_message_search(
    conn: &mut PgConnection,
    viewer: &Viewer,
    q: &str,
    limit: i64,
) -> AppResult<Vec<String>> {
    let words = words(q)?;
    let visible = viewer.visible_inbox_ids(conn)?;
    let lines: Vec<PlanLine> = message_query(
        "EXPLAIN ",
        viewer,
        &visible,
        &words,
        None,
        limit.clamp(1, 100),
    )
    .load(conn)?;
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
    fn folding_matches_unaccent() {
        assert_eq!(fold("Zoë ÆSIR Straße Łódź"), "zoe aesir strasse lodz");
        assert_eq!(fold("ZOE"), "zoe");
        assert_eq!(fold("e\u{0308}"), "e");
        assert_eq!(fold("Ĳssel Œuvre ſ"), "ijssel oeuvre s");
    }

    #[test]
    fn words_are_folded_deduplicated_and_limited() {
        assert_eq!(words("  Zoë  zoe ZOE bär ").unwrap(), vec!["zoe", "bar"]);
        assert!(words("a b c d e f g h i").is_err());
        assert!(words("\u{0308}").is_err());
    }

    #[test]
    fn snippets_escape_then_mark_and_cut_around_the_first_match() {
        let w = words("zoe <b>").unwrap();
        assert_eq!(
            snippet_html("Hi Zoë, <b>bold</b> & 'x'", &w),
            "Hi <mark>Zoë</mark>, <mark>&lt;b&gt;</mark>bold&lt;/b&gt; &amp; &#39;x&#39;"
        );
        let long = format!("{} needle {}", "a".repeat(300), "b".repeat(300));
        let s = snippet_html(&long, &words("NEEDLE").unwrap());
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<mark>needle</mark>"), "{s}");
        assert_eq!(
            s.replace("<mark>", "")
                .replace("</mark>", "")
                .chars()
                .count(),
            SNIPPET_CHARS + 2
        );
        // No match (say, the term matched through a character folded only by PostgreSQL):
        // the start of the text.
        let s = snippet_html(&long, &words("zzz").unwrap());
        assert!(s.starts_with("aaa") && s.ends_with('…'), "{s}");
        // Overlapping matches merge into one mark.
        assert_eq!(
            snippet_html("abcdef", &words("abc cde").unwrap()),
            "<mark>abcde</mark>f"
        );
    }

    #[test]
    fn blank_and_long_terms_are_refused() {
        assert!(checked_term("  ").is_err());
        assert!(checked_term(&"x".repeat(MAX_QUERY_CHARS + 1)).is_err());
        assert_eq!(checked_term(" ana ").unwrap(), "ana");
    }
}
