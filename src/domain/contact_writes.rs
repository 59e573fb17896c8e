//! The contact write paths of Chatwoot's Application API (issue 11): create, update, delete
//! (a data-protection erasure), merge, labels, and a contact's conversations.
//!
//! Uniqueness within an account: a phone number, an email (case-insensitive) or an
//! identifier typed for one contact cannot be given to another; the 422 names the contact
//! that holds it. Every write takes the advisory locks of the values it claims
//! ([`field_lock_key`]) and of the WhatsApp identities it touches
//! ([`contacts::identity_lock_key`]) in one global order (`xact_lock_all`), so two server
//! processes racing on the same value, or a webhook racing a merge, cannot produce a
//! duplicate. Email and identifier are also backed by unique indexes (migration
//! `2026-12-02-000200_contact_writes`); phone numbers are not (ingest keeps a recycled
//! number's previous owner, and one contact per inbox), so the lock is what guards them.
//!
//! Events: `contact.created`, `contact.updated` (also for the base of a merge) and
//! `contact.deleted` are recorded with `events::emit` (account-wide, payload
//! `{"contact_id"}`): realtime clients redraw, and the first two become the
//! `contact_created` / `contact_updated` webhooks.

use super::accounts::Viewer;
use super::contacts::{self, identity_lock_key, Contact, ContactInbox};
use super::events;
use crate::db::schema::{contact_inboxes, contacts as contacts_t, conversations};
use crate::error::{AppError, AppResult};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use serde_json::{json, Map, Value};

/// Most characters in a name or an identifier.
pub const MAX_TEXT_CHARS: usize = 255;
/// Most characters in `avatar_url`.
pub const MAX_URL_CHARS: usize = 2048;
/// Most bytes of `additional_attributes` or `custom_attributes`, as JSON text: 16 KiB.
pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;
/// Conversations `GET /contacts/{id}/conversations` lists (Chatwoot's limit), newest first.
pub const CONTACT_CONVERSATIONS_LIMIT: i64 = 20;

/// A field a request sets, clears or leaves alone (`PATCH` semantics).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Change<T> {
    /// Absent from the request: keep.
    #[default]
    Keep,
    /// `null` or `""`: clear.
    Clear,
    /// A new value.
    Set(T),
}

impl<T> Change<T> {
    fn value(&self) -> Option<&T> {
        match self {
            Change::Set(v) => Some(v),
            _ => None,
        }
    }
}

/// The fields of `POST /contacts` and `PATCH|PUT /contacts/{id}` (Chatwoot: contacts#create,
/// contacts#update), validated and normalised by [`ContactInput::from_json`].
#[derive(Debug, Clone, Default)]
pub struct ContactInput {
    /// Trimmed, 1 to [`MAX_TEXT_CHARS`] characters.
    pub name: Option<String>,
    /// Lowercased (`contact_fields::normalize_email`).
    pub email: Change<String>,
    /// E.164 with `+` (`contact_fields::normalize_phone`).
    pub phone_number: Change<String>,
    /// The contact's id in the integrator's system; trimmed.
    pub identifier: Change<String>,
    /// An `http(s)` URL, kept in `additional_attributes.avatar_url`.
    pub avatar_url: Change<String>,
    /// Merged into the stored object; a key set to `null` is removed.
    pub additional_attributes: Option<Map<String, Value>>,
    /// Merged into the stored object; a key set to `null` is removed.
    pub custom_attributes: Option<Map<String, Value>>,
    /// Create only: also make the contact reachable in this WhatsApp inbox (a contact inbox
    /// keyed by the phone number).
    pub inbox_id: Option<i64>,
}

fn text_change(body: &Map<String, Value>, field: &str) -> AppResult<Change<String>> {
    match body.get(field) {
        None => Ok(Change::Keep),
        Some(Value::Null) => Ok(Change::Clear),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Change::Clear),
        Some(Value::String(s)) => Ok(Change::Set(s.trim().to_string())),
        Some(Value::Number(n)) if field == "identifier" || field == "phone_number" => {
            Ok(Change::Set(n.to_string()))
        }
        Some(other) => Err(AppError::invalid(
            field,
            format!("{field} must be a string, not {other}"),
        )),
    }
}

/// An id: a JSON integer or a string of digits (Chatwoot's params are strings); absent,
/// `null` or `""` read as `None`. Errors: 422 naming `field`.
pub fn id_of(value: Option<&Value>, field: &str) -> AppResult<Option<i64>> {
    let bad = |v: &dyn std::fmt::Display| {
        AppError::invalid(field, format!("{field} must be a positive id, not {v}"))
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| bad(n)),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| bad(&format!("{s:?}"))),
        Some(other) => Err(bad(other)),
    }
}

fn object_field(body: &Map<String, Value>, field: &str) -> AppResult<Option<Map<String, Value>>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => {
            let size = serde_json::to_string(m).map(|s| s.len()).unwrap_or(0);
            if size > MAX_ATTRIBUTES_BYTES {
                return Err(AppError::invalid(
                    field,
                    format!("{field} is larger than {MAX_ATTRIBUTES_BYTES} bytes of JSON"),
                ));
            }
            Ok(Some(m.clone()))
        }
        Some(other) => Err(AppError::invalid(
            field,
            format!("{field} must be an object such as {{\"city\": \"Lisbon\"}}, not {other}"),
        )),
    }
}

fn too_long(field: &str, value: &str, max: usize) -> AppResult<()> {
    if value.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(())
}

impl ContactInput {
    /// Reads a request body: the bare fields or Rails' wrapped form `{"contact": {...}}`.
    /// Errors: 422 naming the field (`name`, `email`, `phone_number`, `identifier`,
    /// `avatar_url`, `additional_attributes`, `custom_attributes`, `inbox_id`).
    pub fn from_json(body: &Map<String, Value>) -> AppResult<ContactInput> {
        let body = match body.get("contact") {
            Some(Value::Object(inner)) => inner,
            _ => body,
        };
        let name = match text_change(body, "name")? {
            Change::Set(n) => {
                too_long("name", &n, MAX_TEXT_CHARS)?;
                Some(n)
            }
            Change::Clear => {
                return Err(AppError::invalid("name", "name can't be blank"));
            }
            Change::Keep => None,
        };
        let email = match text_change(body, "email")? {
            Change::Set(e) => {
                too_long("email", &e, MAX_TEXT_CHARS)?;
                Change::Set(super::contact_fields::normalize_email(&e)?)
            }
            other => other,
        };
        let phone_number = match text_change(body, "phone_number")? {
            Change::Set(p) => {
                too_long("phone_number", &p, 64)?;
                Change::Set(super::contact_fields::normalize_phone("phone_number", &p)?)
            }
            other => other,
        };
        let identifier = text_change(body, "identifier")?;
        if let Some(i) = identifier.value() {
            too_long("identifier", i, MAX_TEXT_CHARS)?;
        }
        let avatar_url = text_change(body, "avatar_url")?;
        if let Some(u) = avatar_url.value() {
            too_long("avatar_url", u, MAX_URL_CHARS)?;
            let ok = url::Url::parse(u)
                .map(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some())
                .unwrap_or(false);
            if !ok {
                return Err(AppError::invalid(
                    "avatar_url",
                    format!("avatar_url {u:?} must be an http or https URL"),
                ));
            }
        }
        let inbox_id = id_of(body.get("inbox_id"), "inbox_id")?;
        Ok(ContactInput {
            name,
            email,
            phone_number,
            identifier,
            avatar_url,
            additional_attributes: object_field(body, "additional_attributes")?,
            custom_attributes: object_field(body, "custom_attributes")?,
            inbox_id,
        })
    }
}

/// The advisory-lock key guarding value `value` of `field` (`phone_number`, `email`,
/// `identifier`) in `account_id`: `contact-field:{account}:{field}:{value}`.
pub fn field_lock_key(account_id: i64, field: &str, value: &str) -> String {
    format!("contact-field:{account_id}:{field}:{value}")
}

/// The contact of `account_id` other than `except` holding `value` in `field`, if any.
fn holder(
    conn: &mut PgConnection,
    account_id: i64,
    except: Option<i64>,
    field: &str,
    value: &str,
) -> AppResult<Option<(i64, String)>> {
    let mut q = contacts_t::table
        .filter(contacts_t::account_id.eq(account_id))
        .select((contacts_t::id, contacts_t::name))
        .order(contacts_t::id)
        .into_boxed();
    q = match field {
        "phone_number" => q.filter(contacts_t::phone_number.eq(value.to_string())),
        "email" => {
            q.filter(super::lower(contacts_t::email.assume_not_null()).eq(value.to_lowercase()))
        }
        _ => q.filter(contacts_t::identifier.eq(value.to_string())),
    };
    if let Some(id) = except {
        q = q.filter(contacts_t::id.ne(id));
    }
    Ok(q.first(conn).optional()?)
}

fn taken(field: &str, value: &str, id: i64, name: &str) -> AppError {
    AppError::invalid(
        field,
        format!("{value} already belongs to {name} (contact {id})"),
    )
}

/// Refuses `value` of `field` when another contact of the account holds it.
/// Errors: 422 naming `field` and the contact that holds the value.
fn check_unique(
    conn: &mut PgConnection,
    account_id: i64,
    except: Option<i64>,
    field: &str,
    value: &str,
) -> AppResult<()> {
    match holder(conn, account_id, except, field, value)? {
        Some((id, name)) => Err(taken(field, value, id, &name)),
        None => Ok(()),
    }
}

/// Maps a unique-index violation of the email or identifier index to the 422 naming the
/// holder (a writer that bypassed the locks raced us).
fn unique_error(
    conn: &mut PgConnection,
    e: diesel::result::Error,
    account_id: i64,
    except: Option<i64>,
    input: &ContactInput,
) -> AppError {
    use diesel::result::{DatabaseErrorKind, Error};
    if let Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = &e {
        let (field, value) = if info.constraint_name() == Some("contacts_account_identifier_unique")
        {
            ("identifier", input.identifier.value())
        } else {
            ("email", input.email.value())
        };
        if let Some(v) = value {
            if let Ok(Some((id, name))) = holder(conn, account_id, except, field, v) {
                return taken(field, v, id, &name);
            }
            return AppError::invalid(field, format!("{v} already belongs to another contact"));
        }
    }
    e.into()
}

/// The lock keys of the values `input` claims.
fn claimed_keys(account_id: i64, input: &ContactInput) -> Vec<String> {
    let mut keys = vec![];
    if let Some(p) = input.phone_number.value() {
        keys.push(field_lock_key(account_id, "phone_number", p));
    }
    if let Some(e) = input.email.value() {
        keys.push(field_lock_key(account_id, "email", e));
    }
    if let Some(i) = input.identifier.value() {
        keys.push(field_lock_key(account_id, "identifier", i));
    }
    keys
}

fn digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// `current` with `patch` merged in; a key set to `null` is removed.
use super::custom_attributes::merge as merged;

/// Fails with 404 unless `viewer` may see the contact: administrators see every contact of
/// the account, agents those reachable in one of their inboxes (as `GET /contacts/{id}`).
pub fn find_visible(
    conn: &mut PgConnection,
    viewer: &Viewer,
    contact_id: i64,
) -> AppResult<Contact> {
    let contact = contacts::find(conn, viewer.account_id, contact_id)?;
    if let Some(only) = viewer.visible_inbox_ids(conn)? {
        if contacts::contact_inboxes_of(conn, contact_id, Some(&only))?.is_empty() {
            return Err(AppError::NotFound(format!(
                "contact {contact_id} not found"
            )));
        }
    }
    Ok(contact)
}

fn emit(conn: &mut PgConnection, account_id: i64, name: &str, contact_id: i64) -> AppResult<()> {
    events::emit(
        conn,
        account_id,
        None,
        None,
        name,
        json!({ "contact_id": contact_id }),
    )?;
    Ok(())
}

/// `patch` checked against the account's contact attribute definitions
/// ([`super::custom_attributes::validate_defined`]): defined keys normalised by type, other
/// keys kept as given (as Chatwoot), `null` kept (it removes the key). Errors: 422 naming
/// `custom_attributes.<key>`.
fn validated_custom(
    conn: &mut PgConnection,
    account_id: i64,
    patch: &Option<Map<String, Value>>,
) -> AppResult<Option<Map<String, Value>>> {
    let Some(patch) = patch else {
        return Ok(None);
    };
    match super::custom_attributes::validate_defined(
        conn,
        account_id,
        super::custom_attributes::Model::Contact,
        &Value::Object(patch.clone()),
    )? {
        Value::Object(m) => Ok(Some(m)),
        _ => Ok(Some(patch.clone())),
    }
}

/// Creates a contact (Chatwoot: contacts#create). With `inbox_id`, the contact is also made
/// reachable in that inbox (a contact inbox keyed by the phone digits, as ingest keys it),
/// so the customer's next message lands on it. At least one of name, phone, email or
/// identifier is required; a missing name is taken from the phone, email or identifier.
/// Emits `contact.created`. Returns the contact and its new contact inbox, if any.
///
/// Errors: 422 naming the field (invalid, or already held by another contact: the message
/// names it), `inbox_id` without `phone_number`; 404 for an inbox of another account or one
/// the viewer cannot see.
pub fn create(
    conn: &mut PgConnection,
    viewer: &Viewer,
    input: &ContactInput,
) -> AppResult<(Contact, Option<ContactInbox>)> {
    let account_id = viewer.account_id;
    let name = input
        .name
        .clone()
        .or_else(|| input.phone_number.value().cloned())
        .or_else(|| input.email.value().cloned())
        .or_else(|| input.identifier.value().cloned())
        .ok_or_else(|| {
            AppError::invalid(
                "name",
                "give the contact a name, phone_number, email or identifier",
            )
        })?;
    conn.transaction(|conn| {
        let inbox = match input.inbox_id {
            Some(id) => {
                let ib = super::inboxes::find(conn, account_id, id)
                    .map_err(|_| AppError::NotFound(format!("inbox {id} not found")))?;
                if !viewer.can_see_inbox(conn, id)? {
                    return Err(AppError::NotFound(format!("inbox {id} not found")));
                }
                if input.phone_number.value().is_none() {
                    return Err(AppError::invalid(
                        "phone_number",
                        "a WhatsApp inbox reaches a contact by phone number: give phone_number with inbox_id",
                    ));
                }
                Some(ib.0.id)
            }
            None => None,
        };
        let mut keys = claimed_keys(account_id, input);
        if let (Some(ib), Some(p)) = (inbox, input.phone_number.value()) {
            keys.push(identity_lock_key(ib, &digits(p)));
        }
        super::xact_lock_all(conn, &keys)?;
        if let Some(p) = input.phone_number.value() {
            check_unique(conn, account_id, None, "phone_number", p)?;
        }
        if let Some(e) = input.email.value() {
            check_unique(conn, account_id, None, "email", e)?;
        }
        if let Some(i) = input.identifier.value() {
            check_unique(conn, account_id, None, "identifier", i)?;
        }
        if let (Some(ib), Some(p)) = (inbox, input.phone_number.value()) {
            if let Some(ci) = contacts::find_contact_inbox(conn, ib, &digits(p))? {
                let owner = contacts::find(conn, account_id, ci.contact_id)?;
                return Err(taken("phone_number", p, owner.id, &owner.name));
            }
        }
        let mut additional = merged(
            &json!({}),
            input.additional_attributes.as_ref().unwrap_or(&Map::new()),
        );
        if let Some(u) = input.avatar_url.value() {
            additional["avatar_url"] = json!(u);
        }
        let custom_patch = validated_custom(conn, account_id, &input.custom_attributes)?;
        let custom = merged(&json!({}), custom_patch.as_ref().unwrap_or(&Map::new()));
        let contact: Contact = diesel::insert_into(contacts_t::table)
            .values((
                contacts_t::account_id.eq(account_id),
                contacts_t::name.eq(&name),
                contacts_t::phone_number.eq(input.phone_number.value()),
                contacts_t::email.eq(input.email.value()),
                contacts_t::identifier.eq(input.identifier.value()),
                contacts_t::additional_attributes.eq(additional),
                contacts_t::custom_attributes.eq(custom),
            ))
            .returning(Contact::as_returning())
            .get_result(conn)
            .map_err(|e| unique_error(conn, e, account_id, None, input))?;
        let ci = match (inbox, input.phone_number.value()) {
            (Some(ib), Some(p)) => Some(
                diesel::insert_into(contact_inboxes::table)
                    .values((
                        contact_inboxes::contact_id.eq(contact.id),
                        contact_inboxes::inbox_id.eq(ib),
                        contact_inboxes::source_id.eq(digits(p)),
                        contact_inboxes::source_kind.eq("phone"),
                    ))
                    .returning(ContactInbox::as_returning())
                    .get_result(conn)?,
            ),
            _ => None,
        };
        emit(conn, account_id, events::CONTACT_CREATED, contact.id)?;
        Ok((contact, ci))
    })
}

/// Updates a contact (Chatwoot: contacts#update; `PATCH` and `PUT` alike): given fields
/// change, absent ones stay, `null`/`""` clears email, phone, identifier or avatar;
/// attribute objects are merged. A new phone number is mapped in every inbox the contact
/// is reachable in (`contacts::change_phone`: the old number stays mapped so late messages
/// still land, as for Meta's `user_changed_number`). Emits `contact.updated` when anything
/// changed. Returns the contact.
///
/// Errors: 404 as [`find_visible`]; 422 naming the field (invalid, or held by another
/// contact, named in the message).
pub fn update(
    conn: &mut PgConnection,
    viewer: &Viewer,
    contact_id: i64,
    input: &ContactInput,
) -> AppResult<Contact> {
    let account_id = viewer.account_id;
    conn.transaction(|conn| {
        let current = find_visible(conn, viewer, contact_id)?;
        let cis = contacts::contact_inboxes_of(conn, contact_id, None)?;
        let new_phone = input
            .phone_number
            .value()
            .filter(|p| current.phone_number.as_ref() != Some(*p));
        let mut keys = claimed_keys(account_id, input);
        if let Some(p) = new_phone {
            let mut inboxes: Vec<i64> = cis.iter().map(|ci| ci.inbox_id).collect();
            inboxes.sort();
            inboxes.dedup();
            keys.extend(inboxes.iter().map(|ib| identity_lock_key(*ib, &digits(p))));
        }
        super::xact_lock_all(conn, &keys)?;
        let current = contacts::find(conn, account_id, contact_id)?;
        if let Some(p) = new_phone {
            check_unique(conn, account_id, Some(contact_id), "phone_number", p)?;
            let d = digits(p);
            for ci in &cis {
                if let Some(other) = contacts::find_contact_inbox(conn, ci.inbox_id, &d)? {
                    if other.contact_id != contact_id {
                        let owner = contacts::find(conn, account_id, other.contact_id)?;
                        return Err(taken("phone_number", p, owner.id, &owner.name));
                    }
                }
            }
        }
        if let Some(e) = input.email.value() {
            check_unique(conn, account_id, Some(contact_id), "email", e)?;
        }
        if let Some(i) = input.identifier.value() {
            check_unique(conn, account_id, Some(contact_id), "identifier", i)?;
        }
        // The phone first: change_phone also renames a contact whose name was its number.
        let mut inboxes: Vec<i64> = cis.iter().map(|ci| ci.inbox_id).collect();
        inboxes.sort();
        inboxes.dedup();
        if let Some(p) = new_phone {
            for ib in &inboxes {
                contacts::change_phone(conn, *ib, contact_id, &digits(p))?;
            }
        }
        let base = contacts::find(conn, account_id, contact_id)?;
        let phone = match &input.phone_number {
            Change::Keep => base.phone_number.clone(),
            Change::Clear => None,
            Change::Set(p) => Some(p.clone()),
        };
        let pick = |c: &Change<String>, old: &Option<String>| match c {
            Change::Keep => old.clone(),
            Change::Clear => None,
            Change::Set(v) => Some(v.clone()),
        };
        let email = pick(&input.email, &base.email);
        let identifier = pick(&input.identifier, &base.identifier);
        let mut additional = match &input.additional_attributes {
            Some(patch) => merged(&base.additional_attributes, patch),
            None => base.additional_attributes.clone(),
        };
        if !additional.is_object() {
            additional = json!({});
        }
        match &input.avatar_url {
            Change::Keep => {}
            Change::Clear => {
                additional.as_object_mut().map(|o| o.remove("avatar_url"));
            }
            Change::Set(u) => additional["avatar_url"] = json!(u),
        }
        let custom_patch = validated_custom(conn, account_id, &input.custom_attributes)?;
        let custom = match &custom_patch {
            Some(patch) => merged(&base.custom_attributes, patch),
            None => base.custom_attributes.clone(),
        };
        let name = input.name.clone().unwrap_or(base.name.clone());
        let changed = name != current.name
            || phone != current.phone_number
            || email != current.email
            || identifier != current.identifier
            || additional != current.additional_attributes
            || custom != current.custom_attributes;
        if !changed {
            return Ok(base);
        }
        let updated: Contact = diesel::update(contacts_t::table.find(contact_id))
            .set((
                contacts_t::name.eq(&name),
                contacts_t::phone_number.eq(&phone),
                contacts_t::email.eq(&email),
                contacts_t::identifier.eq(&identifier),
                contacts_t::additional_attributes.eq(&additional),
                contacts_t::custom_attributes.eq(&custom),
                contacts_t::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Contact::as_returning())
            .get_result(conn)
            .map_err(|e| unique_error(conn, e, account_id, Some(contact_id), input))?;
        emit(conn, account_id, events::CONTACT_UPDATED, contact_id)?;
        Ok(updated)
    })
}

#[derive(QueryableByName)]
struct PathRow {
    #[diesel(sql_type = Text)]
    storage_path: String,
}

/// Deletes a contact for a data-protection request (Chatwoot: contacts#destroy, for
/// administrators): the contact, its contact inboxes, its conversations with their
/// messages, attachments, notes, participants and notifications (foreign keys cascade),
/// its notes and labels; the conversation counts follow (triggers on `conversations`).
/// The contact's identities are locked first, so a message arriving meanwhile waits and
/// then starts a new contact. Emits `contact.deleted`.
///
/// Returns the storage paths (relative to `STORAGE_DIR`) of the media files no remaining
/// row refers to: the caller deletes them after the commit.
/// Errors: 403 for an agent; 404 when the contact is not in the account.
pub fn delete(conn: &mut PgConnection, viewer: &Viewer, contact_id: i64) -> AppResult<Vec<String>> {
    let account_id = viewer.account_id;
    contacts::find(conn, account_id, contact_id)?;
    viewer.require_admin()?;
    conn.transaction(|conn| {
        let cis = contacts::contact_inboxes_of(conn, contact_id, None)?;
        let keys: Vec<String> = cis
            .iter()
            .map(|ci| identity_lock_key(ci.inbox_id, &ci.source_id))
            .collect();
        super::xact_lock_all(conn, &keys)?;
        contacts::find(conn, account_id, contact_id)?;
        let paths: Vec<String> = diesel::sql_query(
            "SELECT DISTINCT a.storage_path FROM attachments a \
             JOIN messages m ON m.id = a.message_id \
             JOIN conversations c ON c.id = m.conversation_id \
             WHERE c.contact_id = $1 AND c.account_id = $2 AND a.storage_path IS NOT NULL",
        )
        .bind::<BigInt, _>(contact_id)
        .bind::<BigInt, _>(account_id)
        .load::<PathRow>(conn)?
        .into_iter()
        .map(|r| r.storage_path)
        .collect();
        emit(conn, account_id, events::CONTACT_DELETED, contact_id)?;
        diesel::delete(contacts_t::table.find(contact_id)).execute(conn)?;
        // A file another row still names (a canned response's attachment sent in this
        // thread, say) stays.
        let kept: Vec<String> = diesel::sql_query(
            "SELECT storage_path FROM attachments WHERE storage_path = ANY($1) \
             UNION SELECT storage_path FROM canned_response_attachments WHERE storage_path = ANY($1)",
        )
        .bind::<Array<Text>, _>(&paths)
        .load::<PathRow>(conn)?
        .into_iter()
        .map(|r| r.storage_path)
        .collect();
        tracing::info!(
            account_id,
            contact_id,
            files = paths.len(),
            "deleted a contact with its conversations"
        );
        Ok(paths.into_iter().filter(|p| !kept.contains(p)).collect())
    })
}

/// Merges contact `mergee_id` into `base_id` (Chatwoot: `POST /actions/contact_merge`):
/// conversations, messages, notes, labels, contact inboxes (phone, BSUID, parent BSUID) and
/// missing details move to the base, whose own values win; the mergee is deleted
/// (`contacts::merge_into`). Both contacts' identities, and the values the mergee holds, are
/// locked first in the global order, so a webhook for the mergee's phone waits and then
/// lands on the base. Emits `contact.deleted` (the mergee) and `contact.updated` (the
/// base). Returns the base after the merge.
///
/// Errors: 422 naming `mergee_contact_id` when both ids are the same; 404 when either is
/// not a contact the viewer may see.
pub fn merge(
    conn: &mut PgConnection,
    viewer: &Viewer,
    base_id: i64,
    mergee_id: i64,
) -> AppResult<Contact> {
    if base_id == mergee_id {
        return Err(AppError::invalid(
            "mergee_contact_id",
            "a contact cannot be merged into itself: choose two different contacts",
        ));
    }
    let account_id = viewer.account_id;
    conn.transaction(|conn| {
        find_visible(conn, viewer, base_id)?;
        let mergee = find_visible(conn, viewer, mergee_id)?;
        let mut keys: Vec<String> = contact_inboxes::table
            .filter(contact_inboxes::contact_id.eq_any([base_id, mergee_id]))
            .select((contact_inboxes::inbox_id, contact_inboxes::source_id))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .map(|(ib, s)| identity_lock_key(ib, &s))
            .collect();
        for (field, value) in [
            ("phone_number", &mergee.phone_number),
            ("email", &mergee.email),
            ("identifier", &mergee.identifier),
        ] {
            if let Some(v) = value {
                keys.push(field_lock_key(account_id, field, v));
            }
        }
        super::xact_lock_all(conn, &keys)?;
        // Either may have gone while we waited (another merge, a delete).
        contacts::find(conn, account_id, base_id)?;
        contacts::find(conn, account_id, mergee_id)?;
        contacts::merge_into(conn, mergee_id, base_id)?;
        emit(conn, account_id, events::CONTACT_DELETED, mergee_id)?;
        emit(conn, account_id, events::CONTACT_UPDATED, base_id)?;
        contacts::find(conn, account_id, base_id)
    })
}

#[derive(QueryableByName)]
struct LabelsRow {
    #[diesel(sql_type = Array<Text>)]
    labels: Vec<String>,
}

/// A contact's labels, sorted (Chatwoot: `GET /contacts/{id}/labels`).
/// Errors: 404 as [`find_visible`].
pub fn labels(conn: &mut PgConnection, viewer: &Viewer, contact_id: i64) -> AppResult<Vec<String>> {
    find_visible(conn, viewer, contact_id)?;
    Ok(
        diesel::sql_query("SELECT labels FROM contacts WHERE id = $1")
            .bind::<BigInt, _>(contact_id)
            .get_result::<LabelsRow>(conn)?
            .labels,
    )
}

/// Replaces a contact's labels (Chatwoot: `POST /contacts/{id}/labels` `{"labels": [...]}`:
/// the list given becomes the whole list; `[]` removes all). Labels are normalised as
/// conversation labels are (`conversations::normalize_labels`: lowercase, deduplicated,
/// sorted). Emits `contact.updated` when the list changed. Returns the new list.
/// Errors: 404 as [`find_visible`]; 422 naming `labels`.
pub fn set_labels<S: AsRef<str>>(
    conn: &mut PgConnection,
    viewer: &Viewer,
    contact_id: i64,
    labels: &[S],
) -> AppResult<Vec<String>> {
    if labels.len() > super::conversation_filter::MAX_VALUES {
        return Err(AppError::invalid(
            "labels",
            format!(
                "a contact may carry at most {} labels",
                super::conversation_filter::MAX_VALUES
            ),
        ));
    }
    let labels = super::conversations::normalize_labels(labels)?;
    conn.transaction(|conn| {
        find_visible(conn, viewer, contact_id)?;
        let changed = diesel::sql_query(
            "UPDATE contacts SET labels = $1, updated_at = now() \
             WHERE id = $2 AND labels IS DISTINCT FROM $1",
        )
        .bind::<Array<Text>, _>(&labels)
        .bind::<BigInt, _>(contact_id)
        .execute(conn)?;
        if changed > 0 {
            emit(conn, viewer.account_id, events::CONTACT_UPDATED, contact_id)?;
        }
        Ok(labels)
    })
}

/// The contact's conversations the viewer may see (inboxes they belong to; all for
/// administrators), latest activity first, at most [`CONTACT_CONVERSATIONS_LIMIT`]
/// (Chatwoot: `GET /contacts/{id}/conversations`). Errors: 404 as [`find_visible`].
pub fn conversations_of(
    conn: &mut PgConnection,
    viewer: &Viewer,
    contact_id: i64,
) -> AppResult<Vec<super::conversations::Conversation>> {
    find_visible(conn, viewer, contact_id)?;
    let mut q = conversations::table
        .filter(conversations::account_id.eq(viewer.account_id))
        .filter(conversations::contact_id.eq(contact_id))
        .select(super::conversations::Conversation::as_select())
        .order((
            conversations::last_activity_at.desc(),
            conversations::id.desc(),
        ))
        .limit(CONTACT_CONVERSATIONS_LIMIT)
        .into_boxed();
    if let Some(only) = viewer.visible_inbox_ids(conn)? {
        q = q.filter(conversations::inbox_id.eq_any(only));
    }
    Ok(q.load(conn)?)
}
