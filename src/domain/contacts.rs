//! Contacts and contact inboxes, with BSUID-aware identity resolution (DESIGN.md invariant 4).
//!
//! A contact inbox row maps one identifier to a contact in one inbox: the phone digits
//! (`wa_id`, Chatwoot's `source_id`), the BSUID (`user_id`) or the parent BSUID. A contact may
//! hold all three, so a message with any of them lands on the same contact.

use crate::db::prepared::Prepare;
use crate::db::schema::{contact_inboxes, contacts};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use std::collections::HashMap;

/// A `contacts` row.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName, serde::Serialize)]
#[diesel(table_name = contacts)]
pub struct Contact {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub phone_number: Option<String>,
    pub email: Option<String>,
    pub identifier: Option<String>,
    pub bsuid: Option<String>,
    pub parent_bsuid: Option<String>,
    pub username: Option<String>,
    pub additional_attributes: serde_json::Value,
    pub custom_attributes: serde_json::Value,
    pub last_activity_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A `contact_inboxes` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contact_inboxes)]
pub struct ContactInbox {
    pub id: i64,
    pub contact_id: i64,
    pub inbox_id: i64,
    pub source_id: String,
    pub source_kind: String,
    pub created_at: DateTime<Utc>,
}

/// The identifiers a payload carries for one WhatsApp user. Any subset may be present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Identity {
    /// Phone digits without '+', as Meta's `wa_id`/`from`.
    pub phone: Option<String>,
    /// BSUID (`user_id`, `from_user_id`).
    pub bsuid: Option<String>,
    /// Parent BSUID (`parent_user_id`).
    pub parent_bsuid: Option<String>,
}

impl Identity {
    /// Builds an identity, dropping empty values and normalising the phone to digits.
    pub fn new(phone: Option<&str>, bsuid: Option<&str>, parent_bsuid: Option<&str>) -> Self {
        let clean = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        Identity {
            phone: clean(phone)
                .map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>())
                .filter(|p| !p.is_empty()),
            bsuid: clean(bsuid),
            parent_bsuid: clean(parent_bsuid),
        }
    }

    /// `(source_id, source_kind)` pairs in preference order: phone, BSUID, parent BSUID.
    pub fn sources(&self) -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        if let Some(p) = &self.phone {
            out.push((p.clone(), "phone"));
        }
        if let Some(b) = &self.bsuid {
            out.push((b.clone(), "bsuid"));
        }
        if let Some(b) = &self.parent_bsuid {
            out.push((b.clone(), "parent_bsuid"));
        }
        out
    }

    /// True when no identifier is present.
    pub fn is_empty(&self) -> bool {
        self.phone.is_none() && self.bsuid.is_none() && self.parent_bsuid.is_none()
    }
}

/// Profile details that come with a message.
#[derive(Debug, Clone, Default)]
pub struct ProfileInfo {
    pub name: Option<String>,
    pub username: Option<String>,
    /// When the message that names the person was sent: a contact [`resolve`] creates for it
    /// starts with `last_activity_at` there, so the activity update that follows the message
    /// rewrites no row (issue 15: a contact row and its fifteen index entries written once).
    pub message_at: Option<DateTime<Utc>>,
}

/// The advisory-lock key guarding one identifier (`source_id`: phone digits, BSUID or parent
/// BSUID) of inbox `inbox_id`: `ci:{inbox_id}:{source_id}`. Contact resolution takes it; the
/// ingest worker takes the keys of a whole unit of work up front, in one global order
/// (see `crate::jobs::ingest`), so workers never wait on each other in a cycle.
pub fn identity_lock_key(inbox_id: i64, source_id: &str) -> String {
    format!("ci:{inbox_id}:{source_id}")
}

fn lock_sources(conn: &mut PgConnection, inbox_id: i64, identity: &Identity) -> AppResult<()> {
    let mut keys: Vec<String> = identity
        .sources()
        .into_iter()
        .map(|(s, _)| identity_lock_key(inbox_id, &s))
        .collect();
    // One global order (see `xact_lock_all`): workers locking overlapping identities, or a
    // whole ingest unit's identities, cannot deadlock.
    keys.sort();
    super::xact_lock_all(conn, &keys)?;
    Ok(())
}

fn placeholder_name(identity: &Identity, profile: &ProfileInfo) -> String {
    profile
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| identity.phone.as_ref().map(|p| format!("+{p}")))
        .or_else(|| profile.username.clone())
        .or_else(|| identity.bsuid.clone())
        .or_else(|| identity.parent_bsuid.clone())
        .unwrap_or_else(|| "Unknown".into())
}

/// The contacts holding phone number `$2` in any account, found through the phone number's
/// own index (`contacts_phone_number`), for the adoption lookups of [`resolve`] and
/// [`create_many`], which then keep the caller's account. `OFFSET 0` keeps the account's
/// condition out of this subquery: with it, on statistics taken before the account had
/// contacts (a new account, until autovacuum analyses the table again) the planner expects
/// one row for the account and scans all of its contacts by `contacts_account`, filtering
/// on the phone number (5.9 ms a unit at 3,000 contacts, 56 ms at worst: issue 15,
/// `auto_explain`).
pub const BY_PHONE: &str = "SELECT c.* FROM contacts c WHERE c.phone_number = $2 OFFSET 0";

/// [`resolve`]'s adoption read: the oldest contact of account `$1` holding phone number
/// `$2` (and BSUID `$3` or none, when `$3` is set) that has no contact inbox yet.
pub fn adopt_one_sql() -> String {
    format!(
        "SELECT f.* FROM ({BY_PHONE}) f WHERE f.account_id = $1 \
           AND ($3::text IS NULL OR f.bsuid IS NULL OR f.bsuid = $3) \
           AND NOT EXISTS (SELECT 1 FROM contact_inboxes ci WHERE ci.contact_id = f.id) \
         ORDER BY f.id LIMIT 1"
    )
}

/// [`create_many`]'s adoption read: which of the phone numbers `$2` (a text array) a
/// contact of account `$1` without a contact inbox holds (column `key`).
pub fn adoptable_phones_sql() -> String {
    format!(
        "SELECT k.key FROM unnest($2::text[]) AS p(phone) \
         CROSS JOIN LATERAL (SELECT f.phone_number AS key \
           FROM ({}) f WHERE f.account_id = $1 \
             AND NOT EXISTS (SELECT 1 FROM contact_inboxes ci WHERE ci.contact_id = f.id) \
           LIMIT 1) k",
        BY_PHONE.replace("$2", "p.phone")
    )
}

/// Finds or creates the contact for `identity` in `inbox_id`, records every identifier as a
/// contact inbox, and fills in missing phone, BSUID, username and name.
/// Returns the contact and the contact inbox of its preferred identifier.
/// Must run inside a transaction (it takes advisory locks). Errors: 422 for an empty identity.
pub fn resolve(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
    identity: &Identity,
    profile: &ProfileInfo,
) -> AppResult<(Contact, ContactInbox)> {
    if identity.is_empty() {
        return Err(AppError::invalid(
            "from",
            "the payload names no phone, BSUID or parent BSUID",
        ));
    }
    lock_sources(conn, inbox_id, identity)?;
    let sources = identity.sources();
    let ids: Vec<String> = sources.iter().map(|(s, _)| s.clone()).collect();
    // The identifiers already known and the contacts holding them, in one round trip.
    let rows: Vec<(ContactInbox, Contact)> = contact_inboxes::table
        .inner_join(contacts::table)
        .filter(contact_inboxes::inbox_id.eq(inbox_id))
        .filter(contact_inboxes::source_id.eq_any(&ids))
        .select((ContactInbox::as_select(), Contact::as_select()))
        .load(conn)?;
    let existing: Vec<ContactInbox> = rows.iter().map(|(ci, _)| ci.clone()).collect();
    let owner = |source: &Option<String>| {
        source
            .as_ref()
            .and_then(|s| existing.iter().find(|ci| &ci.source_id == s))
            .map(|ci| ci.contact_id)
    };
    let (by_bsuid, by_phone, by_parent) = (
        owner(&identity.bsuid),
        owner(&identity.phone),
        owner(&identity.parent_bsuid),
    );
    let candidate_ids: Vec<i64> = [by_bsuid, by_phone, by_parent]
        .into_iter()
        .flatten()
        .collect();
    let candidates: Vec<Contact> = rows
        .into_iter()
        .map(|(_, c)| c)
        .filter(|c| candidate_ids.contains(&c.id))
        .collect();
    // A contact known by phone or parent BSUID is this user unless it carries another BSUID
    // (then the phone number was recycled, or belongs to someone else now).
    let compatible = |id: &i64| {
        candidates.iter().any(|c| {
            c.id == *id
                && (c.bsuid.is_none() || identity.bsuid.is_none() || c.bsuid == identity.bsuid)
        })
    };
    // Preference: the BSUID (stable, business-scoped), then the phone, then the parent BSUID.
    let chosen = by_bsuid
        .or(by_phone.filter(compatible))
        .or(by_parent.filter(compatible));

    // A contact typed in by an agent or imported (no contact inbox yet) with this phone
    // number is this user: the first message adopts it instead of starting a duplicate.
    let adopted: Option<Contact> = match (&chosen, &identity.phone) {
        (None, Some(p)) => diesel::sql_query(adopt_one_sql())
            .bind::<diesel::sql_types::BigInt, _>(account_id)
            .bind::<diesel::sql_types::Text, _>(format!("+{p}"))
            .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(&identity.bsuid)
            .prepared()
            .get_result::<Contact>(conn)
            .optional()?,
        _ => None,
    };
    let mut created = false;
    let contact: Contact = match chosen
        .and_then(|id| candidates.iter().find(|c| c.id == id))
        .cloned()
        .or(adopted)
    {
        Some(c) => c,
        None => {
            created = true;
            diesel::insert_into(contacts::table)
                .values((
                    contacts::account_id.eq(account_id),
                    contacts::name.eq(placeholder_name(identity, profile)),
                    contacts::phone_number.eq(identity.phone.as_ref().map(|p| format!("+{p}"))),
                    contacts::bsuid.eq(&identity.bsuid),
                    contacts::parent_bsuid.eq(&identity.parent_bsuid),
                    contacts::username.eq(&profile.username),
                    contacts::last_activity_at.eq(profile.message_at),
                ))
                .returning(Contact::as_returning())
                .get_result(conn)?
        }
    };
    // The same user seen earlier through one identifier only (say, by phone before BSUIDs,
    // then by BSUID alone) became two contacts: now that a payload links them, merge.
    let mut merged = Vec::new();
    for other in [by_phone, by_parent].into_iter().flatten() {
        if other != contact.id && compatible(&other) && !merged.contains(&other) {
            merge_into(conn, other, contact.id)?;
            merged.push(other);
        }
    }

    // Point every identifier of this payload at the contact: add the missing ones, and take
    // over one still held by another contact (a recycled phone number).
    let mut known = Vec::with_capacity(sources.len());
    for (source_id, kind) in &sources {
        let row = match existing.iter().find(|ci| &ci.source_id == source_id) {
            Some(ci) if ci.contact_id == contact.id || merged.contains(&ci.contact_id) => {
                ContactInbox {
                    contact_id: contact.id,
                    ..ci.clone()
                }
            }
            Some(ci) => diesel::update(contact_inboxes::table.find(ci.id))
                .set(contact_inboxes::contact_id.eq(contact.id))
                .returning(ContactInbox::as_returning())
                .get_result(conn)?,
            None => diesel::insert_into(contact_inboxes::table)
                .values((
                    contact_inboxes::contact_id.eq(contact.id),
                    contact_inboxes::inbox_id.eq(inbox_id),
                    contact_inboxes::source_id.eq(source_id),
                    contact_inboxes::source_kind.eq(*kind),
                ))
                .returning(ContactInbox::as_returning())
                .get_result(conn)?,
        };
        known.push(row);
    }

    let before = contact.updated_at;
    let contact = fill_in(conn, contact, identity, profile)?;
    if created || contact.updated_at != before {
        super::events::contact_changed(conn, account_id, Some(inbox_id), contact.id, created)?;
    }
    let primary = known.swap_remove(0);
    Ok((contact, primary))
}

/// Creates, set-wise, the contacts of the people an ingest unit is about to store messages
/// from whom inbox `inbox_id` has never seen (issue 15, batched ingest): one multi-row insert
/// of contacts and one of their contact inboxes for the whole unit, where [`resolve`] spends
/// four statements on each. `people` are `(identity, profile)` pairs (the profile's
/// `message_at` becomes the contact's `last_activity_at`, as in [`resolve`]).
///
/// Only plain first contacts are created here; everyone else is left to [`resolve`], which
/// handles them as before: a person whose identifiers (phone, BSUID, parent BSUID) the inbox
/// already holds, one whose phone number an agent's or imported contact without a contact
/// inbox carries (that contact is adopted), one with an empty identity, and one sharing an
/// identifier with an earlier entry of `people`. Returns `(index in people, contact, contact
/// inbox of its preferred identifier)` for each contact created, and emits its
/// `contact_created` event, as [`resolve`] does. Must run in a transaction that holds the
/// identities' locks (see [`identity_lock_key`]). Errors: database errors only.
pub fn create_many(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
    people: &[(Identity, ProfileInfo)],
) -> AppResult<Vec<(usize, Contact, ContactInbox)>> {
    // Entries whose identifiers no earlier entry claims.
    let mut claimed = std::collections::HashSet::new();
    let mut fresh: Vec<usize> = Vec::new();
    for (i, (identity, _)) in people.iter().enumerate() {
        let sources = identity.sources();
        if sources.is_empty() || sources.iter().any(|(s, _)| claimed.contains(s)) {
            continue;
        }
        claimed.extend(sources.into_iter().map(|(s, _)| s));
        fresh.push(i);
    }
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    // Identifiers the inbox already holds, and phone numbers a contact without a contact
    // inbox carries: those people go through `resolve`.
    let all: Vec<String> = claimed.into_iter().collect();
    // Both reads look each key up on its own (a LATERAL subquery with LIMIT, which the
    // planner cannot turn into a join). The first is planned at each call: kept as a
    // prepared statement, the generic plan PostgreSQL settled on while the table was nearly
    // empty (a new install, a benchmark's first seconds) scanned every row of the inbox and
    // filtered (16 to 60 ms a call at 20,000 contacts; issue 15, `auto_explain`). The phone
    // read goes through [`BY_PHONE`], whose plan depends on no account's statistics.
    #[derive(QueryableByName)]
    struct Key {
        #[diesel(sql_type = diesel::sql_types::Text)]
        key: String,
    }
    let known: std::collections::HashSet<String> = diesel::sql_query(
        "SELECT k.key FROM unnest($2::text[]) AS s(source_id) \
         CROSS JOIN LATERAL (SELECT ci.source_id AS key FROM contact_inboxes ci \
           WHERE ci.inbox_id = $1 AND ci.source_id = s.source_id LIMIT 1) k",
    )
    .bind::<diesel::sql_types::BigInt, _>(inbox_id)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&all)
    .load::<Key>(conn)?
    .into_iter()
    .map(|k| k.key)
    .collect();
    fresh.retain(|&i| !people[i].0.sources().iter().any(|(s, _)| known.contains(s)));
    let phones: Vec<String> = fresh
        .iter()
        .filter_map(|&i| people[i].0.phone.as_ref().map(|p| format!("+{p}")))
        .collect();
    if !phones.is_empty() {
        let adoptable: std::collections::HashSet<Option<String>> =
            diesel::sql_query(adoptable_phones_sql())
                .bind::<diesel::sql_types::BigInt, _>(account_id)
                .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&phones)
                .prepared()
                .load::<Key>(conn)?
                .into_iter()
                .map(|k| Some(k.key))
                .collect();
        fresh.retain(|&i| {
            let phone = people[i].0.phone.as_ref().map(|p| format!("+{p}"));
            phone.is_none() || !adoptable.contains(&phone)
        });
    }
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<_> = fresh
        .iter()
        .map(|&i| {
            let (identity, profile) = &people[i];
            (
                contacts::account_id.eq(account_id),
                contacts::name.eq(placeholder_name(identity, profile)),
                contacts::phone_number.eq(identity.phone.as_ref().map(|p| format!("+{p}"))),
                contacts::bsuid.eq(identity.bsuid.clone()),
                contacts::parent_bsuid.eq(identity.parent_bsuid.clone()),
                contacts::username.eq(profile.username.clone()),
                contacts::last_activity_at.eq(profile.message_at),
            )
        })
        .collect();
    let created: Vec<Contact> = diesel::insert_into(contacts::table)
        .values(&rows)
        .returning(Contact::as_returning())
        .get_results(conn)?;
    // Matched back by their identifiers (distinct across `fresh`), not by the order of the
    // rows PostgreSQL returns.
    let key = |phone: &Option<String>, bsuid: &Option<String>, parent: &Option<String>| {
        (phone.clone(), bsuid.clone(), parent.clone())
    };
    let by_identity: HashMap<_, Contact> = created
        .into_iter()
        .map(|c| (key(&c.phone_number, &c.bsuid, &c.parent_bsuid), c))
        .collect();
    let mut contacts_in_order = Vec::with_capacity(fresh.len());
    let mut inbox_rows = Vec::new();
    for &i in &fresh {
        let identity = &people[i].0;
        let phone = identity.phone.as_ref().map(|p| format!("+{p}"));
        let contact = by_identity
            .get(&key(&phone, &identity.bsuid, &identity.parent_bsuid))
            .cloned()
            .ok_or_else(|| AppError::Internal("a created contact was not returned".into()))?;
        for (source_id, kind) in identity.sources() {
            inbox_rows.push((
                contact_inboxes::contact_id.eq(contact.id),
                contact_inboxes::inbox_id.eq(inbox_id),
                contact_inboxes::source_id.eq(source_id),
                contact_inboxes::source_kind.eq(kind),
            ));
        }
        contacts_in_order.push((i, contact));
    }
    let inboxes: HashMap<String, ContactInbox> = diesel::insert_into(contact_inboxes::table)
        .values(&inbox_rows)
        .returning(ContactInbox::as_returning())
        .get_results(conn)?
        .into_iter()
        .map(|ci: ContactInbox| (ci.source_id.clone(), ci))
        .collect();
    let mut out = Vec::with_capacity(contacts_in_order.len());
    for (i, contact) in contacts_in_order {
        // The preferred identifier comes first (see `Identity::sources`).
        let primary = people[i]
            .0
            .sources()
            .first()
            .and_then(|(s, _)| inboxes.get(s))
            .cloned()
            .ok_or_else(|| AppError::Internal("a created contact inbox was not returned".into()))?;
        super::events::contact_changed(conn, account_id, Some(inbox_id), contact.id, true)?;
        out.push((i, contact, primary));
    }
    Ok(out)
}

/// Completes what the contact lacks from a newer payload. A name the agent (or the Business
/// app) set is kept; a placeholder name (the phone, BSUID or username) gives way to the
/// WhatsApp profile name.
fn fill_in(
    conn: &mut PgConnection,
    contact: Contact,
    identity: &Identity,
    profile: &ProfileInfo,
) -> AppResult<Contact> {
    let phone = identity.phone.as_ref().map(|p| format!("+{p}"));
    let name_is_placeholder = contact.name.is_empty()
        || contact.name == "Unknown"
        || Some(&contact.name) == contact.phone_number.as_ref()
        || Some(&contact.name) == contact.bsuid.as_ref()
        || Some(&contact.name) == contact.username.as_ref();
    let new_name = profile
        .name
        .as_ref()
        .filter(|n| !n.trim().is_empty() && name_is_placeholder && **n != contact.name);
    let new_phone = phone.filter(|_| contact.phone_number.is_none());
    let new_bsuid = identity.bsuid.clone().filter(|_| contact.bsuid.is_none());
    let new_parent = identity
        .parent_bsuid
        .clone()
        .filter(|_| contact.parent_bsuid.is_none());
    let new_username = profile
        .username
        .clone()
        .filter(|u| contact.username.as_ref() != Some(u));
    if new_name.is_none()
        && new_phone.is_none()
        && new_bsuid.is_none()
        && new_parent.is_none()
        && new_username.is_none()
    {
        return Ok(contact);
    }
    Ok(diesel::update(contacts::table.find(contact.id))
        .set((
            contacts::name.eq(new_name.cloned().unwrap_or(contact.name.clone())),
            contacts::phone_number.eq(new_phone.or(contact.phone_number.clone())),
            contacts::bsuid.eq(new_bsuid.or(contact.bsuid.clone())),
            contacts::parent_bsuid.eq(new_parent.or(contact.parent_bsuid.clone())),
            contacts::username.eq(new_username.or(contact.username.clone())),
            contacts::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Contact::as_returning())
        .get_result(conn)?)
}

/// Looks up the contact inbox holding `source_id` in `inbox_id`.
pub fn find_contact_inbox(
    conn: &mut PgConnection,
    inbox_id: i64,
    source_id: &str,
) -> AppResult<Option<ContactInbox>> {
    Ok(contact_inboxes::table
        .filter(contact_inboxes::inbox_id.eq(inbox_id))
        .filter(contact_inboxes::source_id.eq(source_id))
        .select(ContactInbox::as_select())
        .first(conn)
        .optional()?)
}

/// Merges contact `from` into `into`: its identifiers (contact inboxes), conversations,
/// messages and notes move over; missing details (phone, BSUID, parent BSUID, username,
/// email, identifier) are copied; `additional_attributes` and `custom_attributes` are
/// combined (`into`'s values win); labels are united; then `from` is deleted. Must run in a
/// transaction holding the identity locks of both (ingest, and the API's merge in
/// `contact_writes::merge`).
pub fn merge_into(conn: &mut PgConnection, from: i64, into: i64) -> AppResult<()> {
    use diesel::sql_types::BigInt;
    diesel::sql_query(
        "WITH moved_ci AS (UPDATE contact_inboxes SET contact_id = $2 WHERE contact_id = $1), \
              moved_conv AS (UPDATE conversations SET contact_id = $2 WHERE contact_id = $1), \
              moved_notes AS (UPDATE contact_notes SET contact_id = $2 WHERE contact_id = $1), \
              moved_msg AS (UPDATE messages SET sender_id = $2 WHERE sender_type = 'Contact' AND sender_id = $1) \
         UPDATE contacts c SET phone_number = COALESCE(c.phone_number, f.phone_number), \
                bsuid = COALESCE(c.bsuid, f.bsuid), parent_bsuid = COALESCE(c.parent_bsuid, f.parent_bsuid), \
                username = COALESCE(c.username, f.username), \
                additional_attributes = f.additional_attributes || c.additional_attributes, \
                custom_attributes = f.custom_attributes || c.custom_attributes, \
                labels = ARRAY(SELECT DISTINCT l FROM unnest(c.labels || f.labels) AS l ORDER BY l), \
                last_activity_at = GREATEST(c.last_activity_at, f.last_activity_at), \
                updated_at = now() \
         FROM contacts f WHERE c.id = $2 AND f.id = $1",
    )
    .bind::<BigInt, _>(from)
    .bind::<BigInt, _>(into)
    .prepared()
    .execute(conn)?;
    // Email and identifier are unique per account: the merged contact takes them only once
    // the other is gone.
    let (email, identifier): (Option<String>, Option<String>) =
        diesel::delete(contacts::table.find(from))
            .returning((contacts::email, contacts::identifier))
            .get_result(conn)?;
    if email.is_some() || identifier.is_some() {
        use diesel::sql_types::{Nullable, Text};
        diesel::sql_query(
            "UPDATE contacts SET email = COALESCE(email, $1), \
             identifier = COALESCE(identifier, $2) WHERE id = $3",
        )
        .bind::<Nullable<Text>, _>(email)
        .bind::<Nullable<Text>, _>(identifier)
        .bind::<BigInt, _>(into)
        .prepared()
        .execute(conn)?;
    }
    tracing::info!(from, into, "merged two contacts");
    Ok(())
}

/// Re-keys a contact to BSUID `current` without splitting its conversations
/// (`user_changed_user_id`, `user_id_update`). The contact is found by BSUID `previous`, else
/// by `phone` (digits). The old BSUID stays mapped so late messages still land; a contact
/// already created for `current` (its message arrived first) is merged in.
/// Returns the contact, if any was found.
pub fn rekey_bsuid(
    conn: &mut PgConnection,
    inbox_id: i64,
    previous: Option<&str>,
    current: &str,
    phone: Option<&str>,
) -> AppResult<Option<Contact>> {
    let identity = Identity::new(phone, previous, Some(current));
    lock_sources(conn, inbox_id, &identity)?;
    let mut contact_id = None;
    for source in [identity.bsuid.as_deref(), identity.phone.as_deref()]
        .into_iter()
        .flatten()
    {
        if let Some(ci) = find_contact_inbox(conn, inbox_id, source)? {
            contact_id = Some(ci.contact_id);
            break;
        }
    }
    let Some(contact_id) = contact_id else {
        return Ok(None);
    };
    match find_contact_inbox(conn, inbox_id, current)? {
        Some(ci) if ci.contact_id != contact_id => merge_into(conn, ci.contact_id, contact_id)?,
        Some(_) => {}
        None => {
            diesel::insert_into(contact_inboxes::table)
                .values((
                    contact_inboxes::contact_id.eq(contact_id),
                    contact_inboxes::inbox_id.eq(inbox_id),
                    contact_inboxes::source_id.eq(current),
                    contact_inboxes::source_kind.eq("bsuid"),
                ))
                .execute(conn)?;
        }
    }
    Ok(Some(
        diesel::update(contacts::table.find(contact_id))
            .set((
                contacts::bsuid.eq(current),
                contacts::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Contact::as_returning())
            .get_result(conn)?,
    ))
}

/// Moves a contact to a new phone number (`user_changed_number`): stores `+digits` on the
/// contact and maps the new number to it (taking it over from any other contact); the old
/// number stays mapped so late messages still resolve.
pub fn change_phone(
    conn: &mut PgConnection,
    inbox_id: i64,
    contact_id: i64,
    new_phone_digits: &str,
) -> AppResult<Contact> {
    let digits: String = new_phone_digits
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if digits.is_empty() {
        return Err(AppError::invalid(
            "system.wa_id",
            "the new phone number is empty",
        ));
    }
    super::xact_lock(conn, &identity_lock_key(inbox_id, &digits))?;
    diesel::insert_into(contact_inboxes::table)
        .values((
            contact_inboxes::contact_id.eq(contact_id),
            contact_inboxes::inbox_id.eq(inbox_id),
            contact_inboxes::source_id.eq(&digits),
            contact_inboxes::source_kind.eq("phone"),
        ))
        .on_conflict((contact_inboxes::inbox_id, contact_inboxes::source_id))
        .do_update()
        .set(contact_inboxes::contact_id.eq(contact_id))
        .execute(conn)?;
    let contact: Contact = contacts::table
        .find(contact_id)
        .select(Contact::as_select())
        .first(conn)?;
    let rename = contact.phone_number.as_ref() == Some(&contact.name);
    let new_phone = format!("+{digits}");
    Ok(diesel::update(contacts::table.find(contact_id))
        .set((
            contacts::phone_number.eq(&new_phone),
            contacts::name.eq(if rename {
                new_phone.clone()
            } else {
                contact.name
            }),
            contacts::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Contact::as_returning())
        .get_result(conn)?)
}

/// Sets a contact's display name (e.g. from the Business app address book).
/// Announces `contact_updated` to the integration webhooks when the name changed.
pub fn rename(conn: &mut PgConnection, contact_id: i64, name: &str) -> AppResult<()> {
    let changed: Option<i64> = diesel::update(
        contacts::table
            .find(contact_id)
            .filter(contacts::name.ne(name)),
    )
    .set((
        contacts::name.eq(name),
        contacts::updated_at.eq(diesel::dsl::now),
    ))
    .returning(contacts::account_id)
    .get_result(conn)
    .optional()?;
    if let Some(account_id) = changed {
        super::events::contact_changed(conn, account_id, None, contact_id, false)?;
    }
    Ok(())
}

/// Merges `patch` into a contact's `additional_attributes`.
pub fn merge_additional_attributes(
    conn: &mut PgConnection,
    contact_id: i64,
    patch: serde_json::Value,
) -> AppResult<()> {
    diesel::sql_query(
        "UPDATE contacts SET additional_attributes = additional_attributes || $1, updated_at = now() WHERE id = $2",
    )
    .bind::<diesel::sql_types::Jsonb, _>(patch)
    .bind::<diesel::sql_types::BigInt, _>(contact_id)
    .prepared()
    .execute(conn)?;
    Ok(())
}

/// How far `contacts.last_activity_at` may lag a contact's newest message, in seconds.
///
/// Each write of `last_activity_at` is a non-HOT update (the Contacts screen sorts by it
/// through `contacts_account_activity`), which re-inserts into every contacts index and
/// recomputes the stored `search_doc`; skipping writes that would move it by less than this
/// keeps a customer's burst of messages to one contacts write. Lists sorted by last activity
/// are then exact to within this many seconds.
pub const ACTIVITY_GRANULARITY_SECS: i64 = 60;

/// Marks contact activity at `at`: never moves backwards, and writes nothing when the stored
/// time is already within [`ACTIVITY_GRANULARITY_SECS`] of `at` (or later).
pub fn touch(conn: &mut PgConnection, contact_id: i64, at: DateTime<Utc>) -> AppResult<()> {
    diesel::sql_query(
        "UPDATE contacts SET last_activity_at = $1 WHERE id = $2 \
         AND (last_activity_at IS NULL OR last_activity_at < $1 - make_interval(secs => $3))",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .bind::<diesel::sql_types::BigInt, _>(contact_id)
    .bind::<diesel::sql_types::Double, _>(ACTIVITY_GRANULARITY_SECS as f64)
    .prepared()
    .execute(conn)?;
    Ok(())
}

/// One contact of `account_id`. Errors: 404.
pub fn find(conn: &mut PgConnection, account_id: i64, contact_id: i64) -> AppResult<Contact> {
    contacts::table
        .filter(contacts::id.eq(contact_id))
        .filter(contacts::account_id.eq(account_id))
        .select(Contact::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("contact {contact_id} not found")))
}

/// The contact inboxes of a contact, restricted to `only` inboxes when given.
pub fn contact_inboxes_of(
    conn: &mut PgConnection,
    contact_id: i64,
    only: Option<&[i64]>,
) -> AppResult<Vec<ContactInbox>> {
    let mut q = contact_inboxes::table
        .filter(contact_inboxes::contact_id.eq(contact_id))
        .select(ContactInbox::as_select())
        .order(contact_inboxes::id)
        .into_boxed();
    if let Some(ids) = only {
        q = q.filter(contact_inboxes::inbox_id.eq_any(ids.to_vec()));
    }
    Ok(q.load(conn)?)
}

/// A page of an account's contacts, newest first (`id` descending: unique, so pages never
/// overlap), optionally matching `query` as [`super::contact_list`] does: every word, in any
/// order, ignoring case and accents, in the name, phone, email, identifier, BSUID or
/// username. Limited to contacts with a contact inbox in `only` when given. Returns the page
/// and the count: a search's exact number of matches (counted in the page's statement), the
/// plain list's exact up to [`super::contact_list::COUNT_CAP`] and capped there (Chatwoot's
/// `meta.count`; never a count of the whole table). Chatwoot's `page` is an `OFFSET`; the
/// Contacts screen pages on keys instead ([`super::contact_list::page`]).
/// Errors: 422 naming `q` for a term that is too long or has too many words.
pub fn search(
    conn: &mut PgConnection,
    account_id: i64,
    query: Option<&str>,
    only: Option<&[i64]>,
    page: i64,
    per_page: i64,
) -> AppResult<(Vec<Contact>, i64)> {
    use super::contact_list::{self, ContactQuery, Cursor, SortKey, COUNT_CAP};
    let q = ContactQuery {
        q: query.map(str::to_string),
        sort: SortKey::Created,
        descending: true,
        ..Default::default()
    };
    let (rows, total) = if q.q.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        contact_list::page_counted(conn, account_id, only, &q, Cursor::Offset(page), per_page)?
    } else {
        let (total, _) = contact_list::count_capped(conn, account_id, only, &q, COUNT_CAP)?;
        let rows = contact_list::page(conn, account_id, only, &q, Cursor::Offset(page), per_page)?;
        (rows, total)
    };
    Ok((rows.rows.into_iter().map(|r| r.contact).collect(), total))
}
