//! The rules of the inbox, callable without HTTP: accounts and users, inboxes, contacts,
//! conversations and messages. Handlers and the ingest worker both call these.

pub mod accounts;
pub mod attachments;
pub mod bulk_actions;
pub mod canned_responses;
pub mod contact_bulk;
pub mod contact_csv;
pub mod contact_fields;
pub mod contact_filter;
pub mod contact_list_params;
pub mod contact_notes;
pub mod contact_writes;
pub mod contacts;
pub mod conversation_filter;
pub mod conversations;
pub mod custom_attributes;
pub mod custom_filters;
pub mod events;
pub mod inbox_notifications;
pub mod inboxes;
pub mod labels;
pub mod messages;
pub mod new_conversation;
pub mod notifications;
pub mod number_health;
pub mod outbox;
pub mod profile;
pub mod request_memo;
pub mod search;
pub mod teams;
pub mod template_builder;
pub mod templates;
pub mod webhook_payloads;
pub mod webhooks;

// Issue 11 (contacts-ui): the contacts list, search and paging.
pub mod contact_list;

// Issue 12 (profile-typing): the typing indicator's rules and cross-process throttle.
pub mod typing;

// Issue 13 (avail): agent presence and auto-assignment.
pub mod auto_assignment;
pub mod availability;
// Issue 13 (rules): automation rules and macros.
pub mod automation;
// Issue 15 (limits): rate limits shared across processes.
pub mod limits;

use crate::db::prepared::Prepare;
use crate::error::AppError;

use diesel::pg::PgConnection;
use diesel::sql_types::Text;
use diesel::RunQueryDsl;

thread_local! {
    /// Advisory locks the current thread's transaction already holds (see [`HeldLocks`]).
    static HELD: std::cell::RefCell<Option<std::collections::HashSet<String>>> =
        const { std::cell::RefCell::new(None) };
}

/// Marks advisory locks the caller's transaction has just taken (with [`xact_lock_all`]) as
/// held, until the guard drops: while it lives, [`xact_lock`] and [`xact_lock_all`] on this
/// thread skip those keys instead of asking PostgreSQL again (issue 15: an ingest unit locks
/// every identity and wamid of its items up front, and the per-message code would otherwise
/// take each of them a second time, one round trip per message each). A lock taken
/// transaction-wide stays until the transaction ends, so the guard must not outlive the
/// transaction that took the locks; the ingest worker drops it inside the transaction's
/// closure. Guards do not nest: a second one replaces the first's set until it drops.
#[must_use = "the keys count as held only while the guard lives"]
pub struct HeldLocks(());

impl HeldLocks {
    /// Records `keys` as held by the current transaction on this thread.
    pub fn hold(keys: &[String]) -> HeldLocks {
        HELD.with(|h| *h.borrow_mut() = Some(keys.iter().cloned().collect()));
        HeldLocks(())
    }
}

impl Drop for HeldLocks {
    fn drop(&mut self) {
        HELD.with(|h| *h.borrow_mut() = None);
    }
}

/// The keys of `keys` not held under a [`HeldLocks`] guard.
fn not_held<'k>(keys: impl IntoIterator<Item = &'k String>) -> Vec<&'k String> {
    HELD.with(|h| match &*h.borrow() {
        None => keys.into_iter().collect(),
        Some(held) => keys.into_iter().filter(|k| !held.contains(*k)).collect(),
    })
}

/// Takes a transaction-scoped advisory lock on `key` (hashed to 64 bits by PostgreSQL).
/// Serialises work on one contact identity or one wamid across workers and processes. No
/// round trip when a [`HeldLocks`] guard says the transaction holds it already.
pub fn xact_lock(conn: &mut PgConnection, key: &str) -> diesel::QueryResult<()> {
    let key = key.to_string();
    if not_held([&key]).is_empty() {
        return Ok(());
    }
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(key)
        .prepared()
        .execute(conn)
        .map(|_| ())
}

/// Takes several advisory locks in one round trip, in one global order: ascending lock id
/// (the 64-bit hash [`xact_lock`] uses), each distinct lock once, whatever the order of
/// `keys`. Every caller that holds more than one such lock at a time takes them this way, so
/// two transactions never wait on each other in a cycle (PostgreSQL's deadlock detector
/// would otherwise abort one of them). Keys held under a [`HeldLocks`] guard are skipped.
pub fn xact_lock_all(conn: &mut PgConnection, keys: &[String]) -> diesel::QueryResult<()> {
    let keys = not_held(keys);
    if keys.is_empty() {
        return Ok(());
    }
    // The ordered subquery fixes the order the locks are taken in.
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h \
         FROM unnest($1::text[]) AS t(k) ORDER BY h) AS ordered",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(keys)
    .prepared()
    .execute(conn)
    .map(|_| ())
}

diesel::define_sql_function! {
    /// SQL `lower(text)`: case-insensitive comparisons and orderings that match the
    /// `lower(...)` unique indexes.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Turns a unique-index violation (two writers racing past the same check) into a 422
/// naming `field` with `message`; any other error converts as usual.
pub fn unique_violation_as(e: diesel::result::Error, field: &str, message: &str) -> AppError {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            AppError::invalid(field, message)
        }
        other => other.into(),
    }
}

// h11: Chatwoot's filter payload, read once for the conversation and contact filters.
pub mod filter_payload;
// Issue 12 (h12): inbox alerts at the top of the workspace.
pub mod workspace_alerts;
// Issue 13 (hours): business hours, greeting, out of office and CSAT.
pub mod auto_replies;
pub mod business_hours;
pub mod csat;
pub mod inbox_hours;
// Issue 13 (SLA policies).
pub mod sla;
// Issue 14 (reports): reporting facts and rollups, and the reports computed from them.
pub mod reporting;
pub mod reports;
// Issue 15 (retention): what is pruned and when; a contact's data export.
pub mod contact_export;
pub mod retention;
