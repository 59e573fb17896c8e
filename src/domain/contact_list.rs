//! The contacts list (the Contacts screen, `GET /contacts`, `GET /contacts/search`): search,
//! filters, sort and keyset paging that stay fast at 1,000,000 contacts (issue 11).
//!
//! - **Search** (`q`): every word of the term, in any order, ignoring case and accents, must
//!   appear in the contact's name, email, phone number, identifier, BSUID or username. The
//!   fields are folded together by the SQL function `switchboard_contact_doc` into the
//!   generated column `search_doc` (migration 2026-12-02-000300) that the trigram index
//!   `contacts_search_doc_trgm` covers, so a search is one bitmap index scan. A word of digits and `+ -().` also matches the phone number by its
//!   digits (`555-1234` finds `+15551234…`), and a term that is a whole phone number
//!   (`+1 (555) 123-4567`) matches by all its digits. BSUID-only and username-only contacts
//!   (no phone) are found like any other (chatwoot#15586).
//! - **Filters**: labels (any of them), created range and last-activity range
//!   (`from` inclusive, `to` exclusive), and any condition of Chatwoot's contact filter
//!   ([`ContactQuery::filter`], the SQL of `super::contact_filter`: the Contacts screen's
//!   custom attribute filter).
//! - **Sort**: name (folded), last activity (never-active contacts count as the oldest) or
//!   creation, ascending or descending, ties broken by `id` in the same direction: the key
//!   `(sort key, id)` is unique, so pages never overlap nor skip a row.
//! - **Paging**: keyset, never `OFFSET`: [`Cursor::After`] / [`Cursor::Before`] name the id
//!   of the last / first contact of the page the viewer comes from; the query compares
//!   `(key, id)` with that contact's, served by the indexes `contacts_account_name_sort`,
//!   `contacts_account_created` and `contacts_account_activity`.
//! - **Counting**: never the whole table per request. [`count_capped`] counts at most
//!   [`COUNT_CAP`] + 1 rows (Chatwoot's `meta.count` of the plain list: exact up to the cap,
//!   the cap above it); a search counts its matches in the page's own statement
//!   ([`page_counted`]), exactly.

use super::contacts::Contact;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{Array, BigInt, Text, Timestamptz};

/// Most rows [`count_capped`] counts: `meta.count` is exact up to this, and this above it.
pub const COUNT_CAP: i64 = 10_000;

/// Most labels a filter may name.
pub const MAX_LABELS: usize = 20;

/// The order of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// The name, folded (case and accents ignored).
    Name,
    /// `last_activity_at`; never-active contacts count as the oldest.
    LastActivity,
    /// `created_at`.
    #[default]
    Created,
}

impl SortKey {
    /// Parses `name`, `last_activity_at` (or `last_activity`) and `created_at` (or
    /// `created`). Errors: 422 naming `sort`.
    pub fn parse(s: &str) -> AppResult<SortKey> {
        match s {
            "name" => Ok(SortKey::Name),
            "last_activity_at" | "last_activity" => Ok(SortKey::LastActivity),
            "created_at" | "created" => Ok(SortKey::Created),
            _ => Err(AppError::invalid(
                "sort",
                "sort must be name, last_activity_at or created_at",
            )),
        }
    }

    /// The name [`SortKey::parse`] reads back.
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::LastActivity => "last_activity_at",
            SortKey::Created => "created_at",
        }
    }

    /// The direction a person expects first: A→Z for names, newest first for times.
    pub fn default_descending(self) -> bool {
        !matches!(self, SortKey::Name)
    }

    /// The SQL of the key on table alias `t`; repeats the expressions of the indexes of
    /// migration 2026-12-02-000300 word for word.
    fn sql(self, t: &str) -> String {
        match self {
            SortKey::Name => format!("switchboard_fold({t}.name)"),
            SortKey::LastActivity => {
                format!("coalesce({t}.last_activity_at, '-infinity'::timestamptz)")
            }
            SortKey::Created => format!("{t}.created_at"),
        }
    }
}

/// What the list shows: the search term and the filters. Empty means everything.
#[derive(Debug, Clone, Default)]
pub struct ContactQuery {
    /// The search term (see the module documentation); blank means none.
    pub q: Option<String>,
    /// Contacts carrying any of these labels.
    pub labels: Vec<String>,
    /// `created_at >= created_from`.
    pub created_from: Option<DateTime<Utc>>,
    /// `created_at < created_to`.
    pub created_to: Option<DateTime<Utc>>,
    /// `last_activity_at >= active_from`.
    pub active_from: Option<DateTime<Utc>>,
    /// `last_activity_at < active_to`.
    pub active_to: Option<DateTime<Utc>>,
    pub sort: SortKey,
    pub descending: bool,
    /// A condition set of Chatwoot's contact filter (`POST /contacts/filter`'s payload,
    /// `super::contact_filter`), e.g. the screen's custom attribute filter.
    pub filter: Option<super::contact_filter::Filter>,
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cursor {
    /// The first page.
    #[default]
    First,
    /// The page after the contact with this id (the last row of the page before).
    After(i64),
    /// The page before the contact with this id (the first row of the page after).
    Before(i64),
    /// Chatwoot's `?page=` (1-based), for the API only: an `OFFSET`, kept for integrations;
    /// the UI never uses it.
    Offset(i64),
}

/// A contact as the list shows it.
#[derive(Debug, Clone, QueryableByName)]
pub struct ListedContact {
    #[diesel(embed)]
    pub contact: Contact,
    /// The contact's labels.
    #[diesel(sql_type = Array<Text>)]
    pub labels: Vec<String>,
    /// With [`page_counted`]: how many contacts match in all (the same on every row).
    #[diesel(sql_type = BigInt)]
    pub total: i64,
}

/// One page of the list, in list order.
#[derive(Debug, Clone, Default)]
pub struct ContactPage {
    pub rows: Vec<ListedContact>,
    /// Whether a page follows (pass the last row's id as [`Cursor::After`]).
    pub has_next: bool,
    /// Whether a page comes before (pass the first row's id as [`Cursor::Before`]).
    pub has_prev: bool,
}

enum Bind {
    Int(i64),
    Str(String),
    Strs(Vec<String>),
    Ints(Vec<i64>),
    Time(DateTime<Utc>),
    Double(f64),
}

/// A WHERE clause under construction, with its numbered parameters.
struct Where {
    sql: String,
    binds: Vec<Bind>,
}

impl Where {
    fn param(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    fn and(&mut self, cond: &str) {
        self.sql.push_str(" AND ");
        self.sql.push_str(cond);
    }

    fn query(self, sql: String) -> BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery> {
        let mut q = diesel::sql_query(sql).into_boxed();
        for b in self.binds {
            q = match b {
                Bind::Int(v) => q.bind::<BigInt, _>(v),
                Bind::Str(v) => q.bind::<Text, _>(v),
                Bind::Strs(v) => q.bind::<Array<Text>, _>(v),
                Bind::Ints(v) => q.bind::<Array<BigInt>, _>(v),
                Bind::Time(v) => q.bind::<Timestamptz, _>(v),
                Bind::Double(v) => q.bind::<diesel::sql_types::Double, _>(v),
            };
        }
        q
    }
}

/// The searched text: the generated column `search_doc` (`switchboard_contact_doc` of the six
/// fields), indexed by `contacts_search_doc_trgm`.
const DOC: &str = "c.search_doc";

/// The conditions of `query` for `account_id` (contacts of alias `c`), restricted to
/// contacts reachable in `only` inboxes when given. Errors: 422 naming `q` or `labels`.
fn conditions(account_id: i64, only: Option<&[i64]>, query: &ContactQuery) -> AppResult<Where> {
    let mut w = Where {
        sql: String::new(),
        binds: vec![],
    };
    let p = w.param(Bind::Int(account_id));
    w.sql = format!("c.account_id = {p}");
    if let Some(term) = query.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let cond = search_condition(&mut w, term)?;
        w.and(&cond);
    }
    let labels: Vec<String> = query
        .labels
        .iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if labels.len() > MAX_LABELS {
        return Err(AppError::invalid(
            "labels",
            format!("a filter may name at most {MAX_LABELS} labels"),
        ));
    }
    if !labels.is_empty() {
        // `labels <> '{}'` repeats the predicate of the partial index contacts_labels.
        let p = w.param(Bind::Strs(labels));
        w.and(&format!("c.labels <> '{{}}' AND c.labels && {p}"));
    }
    for (value, cond) in [
        (query.created_from, "c.created_at >= "),
        (query.created_to, "c.created_at < "),
        (query.active_from, "c.last_activity_at >= "),
        (query.active_to, "c.last_activity_at < "),
    ] {
        if let Some(v) = value {
            let p = w.param(Bind::Time(v));
            w.and(&format!("{cond}{p}"));
        }
    }
    if let Some(filter) = &query.filter {
        // The contact filter's own SQL, its binds numbered into this query's.
        use super::contact_filter::{Bound, Piece};
        let mut cond = String::new();
        for piece in filter.sql(Utc::now(), "c").pieces {
            match piece {
                Piece::Sql(s) => cond.push_str(&s),
                Piece::Bind(b) => cond.push_str(&w.param(match b {
                    Bound::Text(v) => Bind::Str(v),
                    Bound::Texts(v) => Bind::Strs(v),
                    Bound::Number(v) => Bind::Double(v),
                    Bound::Time(v) => Bind::Time(v),
                })),
            }
        }
        w.and(&format!("({cond})"));
    }
    if let Some(ids) = only {
        let p = w.param(Bind::Ints(ids.to_vec()));
        w.and(&format!(
            "c.id IN (SELECT ci.contact_id FROM contact_inboxes ci WHERE ci.inbox_id = ANY({p}))"
        ));
    }
    Ok(w)
}

/// `DOC LIKE …` for each word of `term` (see the module documentation).
fn search_condition(w: &mut Where, term: &str) -> AppResult<String> {
    let words = super::search::words(term)?;
    let mut all = Vec::with_capacity(words.len());
    for word in &words {
        let mut one = like_word(w, word, true);
        let digits = phone_digits(word);
        if let Some(d) = digits.filter(|d| d != word) {
            one = format!("({one} OR {})", like_word(w, &d, false));
        }
        all.push(one);
    }
    let all = all.join(" AND ");
    match phone_digits(term) {
        Some(d) if words.len() > 1 => Ok(format!("({} OR ({all}))", like_word(w, &d, false))),
        _ => Ok(format!("({all})")),
    }
}

/// Most characters of a word the trigram index is asked for (see [`like_word`]).
pub const INDEXED_CHARS: usize = 8;

/// The part of `word` the trigram index looks up: the word itself when short; else its last
/// [`INDEXED_CHARS`] characters, taken from the part before `@` for an email. Long words
/// share frequent trigrams (`@gmail.com`, the digits of phone numbers and BSUIDs) whose
/// posting lists cost more to read than the few rows they leave: at 1,000,000 contacts a
/// whole email read ~2,500 index pages, its last eight characters before `@` a few dozen.
pub fn indexed_part(word: &str) -> &str {
    let base = match word.split_once('@') {
        Some((local, _)) if local.chars().count() >= 3 => local,
        _ => word,
    };
    let n = base.chars().count();
    if n <= INDEXED_CHARS {
        return base;
    }
    let at = base
        .char_indices()
        .nth(n - INDEXED_CHARS)
        .map(|(i, _)| i)
        .unwrap_or(0);
    &base[at..]
}

/// `search_doc LIKE '%word%'` for one word (folded in SQL when `fold`): the trigram index
/// looks up [`indexed_part`] of it, and when that is not the whole word the whole word is
/// checked on the rows found (`search_doc || ''` is no indexed expression).
fn like_word(w: &mut Where, word: &str, fold: bool) -> String {
    let (open, close) = if fold {
        ("switchboard_fold(", ")")
    } else {
        ("", "")
    };
    let part = indexed_part(word);
    let p = w.param(Bind::Str(super::search::like_pattern(part)));
    let indexed = format!("{DOC} LIKE {open}{p}{close}");
    if part == word {
        return indexed;
    }
    let p = w.param(Bind::Str(super::search::like_pattern(word)));
    format!("({indexed} AND ({DOC} || '') LIKE {open}{p}{close})")
}

/// The digits of `term` when it is made only of digits and `+ -().` and spaces (a phone
/// number however written).
fn phone_digits(term: &str) -> Option<String> {
    let phoneish = term
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        && term.chars().any(|c| c.is_ascii_digit());
    phoneish.then(|| term.chars().filter(char::is_ascii_digit).collect())
}

/// One page of `account_id`'s contacts matching `query`, at most `limit` (1..=200) rows,
/// starting at `cursor`. `only`: the inboxes the viewer may see (`None` for an
/// administrator): an agent sees the contacts reachable in them. A cursor naming a contact
/// that is not in the account gives an empty page. Errors: 422 naming `q` or `labels`.
pub fn page(
    conn: &mut PgConnection,
    account_id: i64,
    only: Option<&[i64]>,
    query: &ContactQuery,
    cursor: Cursor,
    limit: i64,
) -> AppResult<ContactPage> {
    page_inner(conn, account_id, only, query, cursor, limit, false)
}

/// [`page`], and how many contacts match in all, counted in the same statement (a window
/// over the matches, which a search collects anyway to sort them): for searches, where it
/// costs one query instead of two. Not for the unfiltered list, where it would count the
/// whole table (use [`count_capped`]). An empty page past the first counts apart.
pub fn page_counted(
    conn: &mut PgConnection,
    account_id: i64,
    only: Option<&[i64]>,
    query: &ContactQuery,
    cursor: Cursor,
    limit: i64,
) -> AppResult<(ContactPage, i64)> {
    let page = page_inner(conn, account_id, only, query, cursor, limit, true)?;
    let total = match page.rows.first() {
        Some(r) => r.total,
        None if matches!(cursor, Cursor::First | Cursor::Offset(1)) => 0,
        None => count_capped(conn, account_id, only, query, COUNT_CAP)?.0,
    };
    Ok((page, total))
}

fn page_inner(
    conn: &mut PgConnection,
    account_id: i64,
    only: Option<&[i64]>,
    query: &ContactQuery,
    cursor: Cursor,
    limit: i64,
    counted: bool,
) -> AppResult<ContactPage> {
    let limit = limit.clamp(1, 200);
    let mut w = conditions(account_id, only, query)?;
    let key = query.sort.sql("c");
    // Walking backwards (a Before cursor) flips the order; the rows are put back after.
    let backwards = matches!(cursor, Cursor::Before(_));
    let desc = query.descending != backwards;
    let (cmp, dir) = if desc { ("<", "DESC") } else { (">", "ASC") };
    let mut offset = 0;
    match cursor {
        Cursor::After(id) | Cursor::Before(id) => {
            let p = w.param(Bind::Int(id));
            let at = query.sort.sql("x");
            w.and(&format!(
                "({key}, c.id) {cmp} (SELECT {at}, x.id FROM contacts x WHERE x.id = {p} AND x.account_id = $1)"
            ));
        }
        Cursor::Offset(page) => offset = (page.clamp(1, 1_000_000) - 1) * limit,
        Cursor::First => {}
    }
    let sql = format!(
        "SELECT c.*, {} AS total FROM contacts c WHERE {} ORDER BY {key} {dir}, c.id {dir} LIMIT {} OFFSET {offset}",
        if counted { "count(*) OVER ()" } else { "0::bigint" },
        w.sql,
        limit + 1
    );
    let mut rows: Vec<ListedContact> = w.query(sql).load(conn)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    if backwards {
        rows.reverse();
    }
    let (has_next, has_prev) = match cursor {
        Cursor::First => (more, false),
        Cursor::After(_) => (more, true),
        Cursor::Before(_) => (true, more),
        Cursor::Offset(page) => (more, page > 1),
    };
    Ok(ContactPage {
        rows,
        has_next,
        has_prev,
    })
}

/// The contacts of an export page: those matching `query` (the list's conditions, its sort
/// ignored) and, when `ids` is not empty, among `ids`, with an id above `after`, by id, at
/// most `limit`. Errors: 422 as [`page`].
pub fn export_rows(
    conn: &mut PgConnection,
    account_id: i64,
    only: Option<&[i64]>,
    query: &ContactQuery,
    ids: &[i64],
    after: i64,
    limit: i64,
) -> AppResult<Vec<Contact>> {
    let mut w = conditions(account_id, only, query)?;
    let p = w.param(Bind::Int(after));
    w.and(&format!("c.id > {p}"));
    if !ids.is_empty() {
        let p = w.param(Bind::Ints(ids.to_vec()));
        w.and(&format!("c.id = ANY({p})"));
    }
    let lim = w.param(Bind::Int(limit.max(1)));
    let sql = format!(
        "SELECT c.*, 0::bigint AS total FROM contacts c WHERE {} ORDER BY c.id LIMIT {lim}",
        w.sql
    );
    let rows: Vec<ListedContact> = w.query(sql).load(conn)?;
    Ok(rows.into_iter().map(|r| r.contact).collect())
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many of `account_id`'s contacts match `query` (as [`page`]), counting at most
/// `cap` + 1 rows: returns `(count, exact)`, where `exact` is false when there are more than
/// `cap` (then `count` is `cap`). Errors: 422 as [`page`].
pub fn count_capped(
    conn: &mut PgConnection,
    account_id: i64,
    only: Option<&[i64]>,
    query: &ContactQuery,
    cap: i64,
) -> AppResult<(i64, bool)> {
    let w = conditions(account_id, only, query)?;
    let sql = format!(
        "SELECT count(*) AS n FROM (SELECT 1 FROM contacts c WHERE {} LIMIT {}) s",
        w.sql,
        cap + 1
    );
    let n = w.query(sql).get_result::<Counted>(conn)?.n;
    Ok((n.min(cap), n <= cap))
}

/// The titles of the account's labels, A→Z (the list's label filter and bulk "Add label").
pub fn labels_in_use(conn: &mut PgConnection, account_id: i64) -> AppResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct L {
        #[diesel(sql_type = Text)]
        title: String,
    }
    Ok(
        diesel::sql_query("SELECT title FROM labels WHERE account_id = $1 ORDER BY title")
            .bind::<BigInt, _>(account_id)
            .load::<L>(conn)?
            .into_iter()
            .map(|l| l.title)
            .collect(),
    )
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The ids of `account_id`'s contacts matching `query` (as [`page`], the same conditions),
/// ascending, at most `cap` + 1 of them (so a caller can tell "more than `cap`"): "select all
/// matching" on the Contacts screen resolves its selection here, server-side. `only` as
/// [`page`]. Errors: 422 as [`page`].
pub fn matching_ids(
    conn: &mut PgConnection,
    account_id: i64,
    only: Option<&[i64]>,
    query: &ContactQuery,
    cap: i64,
) -> AppResult<Vec<i64>> {
    let w = conditions(account_id, only, query)?;
    let sql = format!(
        "SELECT c.id FROM contacts c WHERE {} ORDER BY c.id LIMIT {}",
        w.sql,
        cap.max(0) + 1
    );
    Ok(w.query(sql)
        .load::<IdRow>(conn)?
        .into_iter()
        .map(|r| r.id)
        .collect())
}
