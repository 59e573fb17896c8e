//! Bulk actions on contacts: Chatwoot's `POST /api/v1/accounts/{id}/bulk_actions` with
//! `type: "Contact"` (Chatwoot: `Contacts::BulkActionService`): `labels: {add: [..]}` adds
//! labels to every contact, `action_name: "delete"` deletes them (administrators only).
//!
//! The contacts are either named (`ids`) or, Switchboard's addition for the Contacts screen's
//! "Select all matching", every contact matching a list query ([`Selection::Matching`]):
//! the ids are then resolved here from the same conditions as the list
//! (`contact_list::matching_ids`), never sent by the browser.
//!
//! Everything happens in ONE transaction: all the contacts change, or none (a contact the
//! viewer cannot see refuses the whole action). Adding labels is one `UPDATE` whatever the
//! number of contacts (plus one `contact.updated` event per contact that changed); deleting
//! locks every identity of every contact first (in the global lock order, so it cannot
//! deadlock with ingest or another bulk delete), then deletes each contact with its
//! conversations as `DELETE /contacts/{id}` does (same events).

use super::accounts::Viewer;
use super::contact_list::{self, ContactQuery};
use super::contacts::identity_lock_key;
use super::{contact_writes, events};
use crate::error::{AppError, AppResult};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use serde_json::json;

/// Most contacts one bulk action may touch (named or matching). Above it the action is
/// refused (422): narrow the search.
pub const MAX_CONTACTS: usize = 10_000;

/// Which contacts.
#[derive(Debug, Clone)]
pub enum Selection {
    /// These contact ids (Chatwoot's `ids`).
    Ids(Vec<i64>),
    /// Every contact of the list query (search and filters, as the Contacts screen shows
    /// them); sort and paging are ignored.
    Matching(ContactQuery),
}

/// What to do to them.
#[derive(Debug, Clone)]
pub enum Operation {
    /// Add these labels (Chatwoot: `labels: {add: [..]}`); labels already there stay.
    AddLabels(Vec<String>),
    /// Delete the contacts with their conversations (Chatwoot: `action_name: "delete"`).
    Delete,
}

/// What a bulk action did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Outcome {
    /// How many contacts the action covered.
    pub count: usize,
    /// How many of them changed (labels added, or deleted).
    pub changed: usize,
    /// Storage paths of attachments no longer used (deleted contacts' conversations): the
    /// caller removes the files once the transaction committed.
    #[serde(skip)]
    pub orphan_files: Vec<String>,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = BigInt)]
    inbox_id: i64,
    #[diesel(sql_type = Text)]
    source_id: String,
}

/// The contact ids of `selection` the viewer may act on. Errors: 422 naming `ids` (none,
/// more than [`MAX_CONTACTS`]); 404 naming the ids the viewer cannot see.
fn resolve(conn: &mut PgConnection, viewer: &Viewer, selection: &Selection) -> AppResult<Vec<i64>> {
    let only = viewer.visible_inbox_ids(conn)?;
    let too_many = |n: usize| {
        AppError::invalid(
            "ids",
            format!("at most {MAX_CONTACTS} contacts per bulk action, not {n}; narrow the search"),
        )
    };
    match selection {
        Selection::Matching(query) => {
            let ids = contact_list::matching_ids(
                conn,
                viewer.account_id,
                only.as_deref(),
                query,
                MAX_CONTACTS as i64,
            )?;
            if ids.len() > MAX_CONTACTS {
                return Err(AppError::invalid(
                    "ids",
                    format!(
                        "more than {MAX_CONTACTS} contacts match; a bulk action covers at most {MAX_CONTACTS}: narrow the search"
                    ),
                ));
            }
            if ids.is_empty() {
                return Err(AppError::invalid("ids", "no contact matches"));
            }
            Ok(ids)
        }
        Selection::Ids(raw) => {
            let mut ids = raw.clone();
            ids.sort_unstable();
            ids.dedup();
            if ids.is_empty() {
                return Err(AppError::invalid(
                    "ids",
                    "ids must hold at least one contact",
                ));
            }
            if ids.len() > MAX_CONTACTS {
                return Err(too_many(ids.len()));
            }
            // An agent's `only` inboxes; an administrator's NULL (every contact).
            let found: Vec<i64> = diesel::sql_query(
                "SELECT c.id FROM contacts c WHERE c.account_id = $1 AND c.id = ANY($2) \
                 AND ($3::bigint[] IS NULL OR c.id IN \
                 (SELECT ci.contact_id FROM contact_inboxes ci WHERE ci.inbox_id = ANY($3)))",
            )
            .bind::<BigInt, _>(viewer.account_id)
            .bind::<Array<BigInt>, _>(&ids)
            .bind::<diesel::sql_types::Nullable<Array<BigInt>>, _>(only.clone())
            .load::<IdRow>(conn)?
            .into_iter()
            .map(|r| r.id)
            .collect();
            let missing: Vec<String> = ids
                .iter()
                .filter(|id| !found.contains(id))
                .take(20)
                .map(i64::to_string)
                .collect();
            if !missing.is_empty() {
                return Err(AppError::NotFound(format!(
                    "contacts not found: {}; nothing was changed",
                    missing.join(", ")
                )));
            }
            Ok(ids)
        }
    }
}

/// Applies `operation` to the viewer's contacts of `selection`, all or nothing.
///
/// Errors: 422 naming `ids` (none, none matching, more than [`MAX_CONTACTS`]) or `labels`
/// (empty, a bad label, a contact would carry more than the per-contact maximum); 404 naming
/// the ids the viewer cannot see (another account's, not reachable in the agent's inboxes,
/// or absent); 403 when an agent deletes. Nothing changes on error.
pub fn apply(
    conn: &mut PgConnection,
    viewer: &Viewer,
    selection: &Selection,
    operation: &Operation,
) -> AppResult<Outcome> {
    let labels = match operation {
        Operation::AddLabels(raw) => {
            let labels = super::conversations::normalize_labels(raw)?;
            if labels.is_empty() {
                return Err(AppError::invalid(
                    "labels",
                    "labels.add must name at least one label",
                ));
            }
            labels
        }
        Operation::Delete => {
            viewer.require_admin()?;
            vec![]
        }
    };
    conn.transaction(|conn| {
        let ids = resolve(conn, viewer, selection)?;
        match operation {
            Operation::AddLabels(_) => add_labels(conn, viewer, &ids, &labels),
            Operation::Delete => delete(conn, viewer, &ids),
        }
    })
}

fn add_labels(
    conn: &mut PgConnection,
    viewer: &Viewer,
    ids: &[i64],
    labels: &[String],
) -> AppResult<Outcome> {
    let max = super::conversation_filter::MAX_VALUES as i64;
    // The union stays sorted and distinct, as `contact_writes::set_labels` stores it.
    let union = "(SELECT coalesce(array_agg(DISTINCT l ORDER BY l), '{}') FROM unnest(c.labels || $1::text[]) AS u(l))";
    let over: Vec<IdRow> = diesel::sql_query(format!(
        "SELECT c.id FROM contacts c WHERE c.id = ANY($2) AND cardinality({union}) > $3 LIMIT 5"
    ))
    .bind::<Array<Text>, _>(labels)
    .bind::<Array<BigInt>, _>(ids)
    .bind::<BigInt, _>(max)
    .load(conn)?;
    if !over.is_empty() {
        let names: Vec<String> = over.iter().map(|r| r.id.to_string()).collect();
        return Err(AppError::invalid(
            "labels",
            format!(
                "a contact may carry at most {max} labels (contacts {} would carry more)",
                names.join(", ")
            ),
        ));
    }
    let changed: Vec<IdRow> = diesel::sql_query(format!(
        "UPDATE contacts c SET labels = {union}, updated_at = now() \
         WHERE c.id = ANY($2) AND c.account_id = $3 AND NOT (c.labels @> $1::text[]) \
         RETURNING c.id"
    ))
    .bind::<Array<Text>, _>(labels)
    .bind::<Array<BigInt>, _>(ids)
    .bind::<BigInt, _>(viewer.account_id)
    .load(conn)?;
    for row in &changed {
        events::emit(
            conn,
            viewer.account_id,
            None,
            None,
            events::CONTACT_UPDATED,
            json!({ "contact_id": row.id }),
        )?;
    }
    Ok(Outcome {
        count: ids.len(),
        changed: changed.len(),
        orphan_files: vec![],
    })
}

fn delete(conn: &mut PgConnection, viewer: &Viewer, ids: &[i64]) -> AppResult<Outcome> {
    // Every identity of every contact, locked at once in the global order: each contact's
    // own delete then takes its locks again (advisory locks are re-entrant).
    let keys: Vec<String> = diesel::sql_query(
        "SELECT inbox_id, source_id FROM contact_inboxes WHERE contact_id = ANY($1)",
    )
    .bind::<Array<BigInt>, _>(ids)
    .load::<KeyRow>(conn)?
    .into_iter()
    .map(|k| identity_lock_key(k.inbox_id, &k.source_id))
    .collect();
    super::xact_lock_all(conn, &keys)?;
    let mut files = Vec::new();
    let mut changed = 0;
    for &id in ids {
        match contact_writes::delete(conn, viewer, id) {
            Ok(paths) => {
                files.extend(paths);
                changed += 1;
            }
            // Deleted meanwhile (merged by someone else): it is gone, as asked.
            Err(AppError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    files.sort();
    files.dedup();
    Ok(Outcome {
        count: ids.len(),
        changed,
        orphan_files: files,
    })
}
