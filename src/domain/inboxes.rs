//! WhatsApp Cloud inboxes: an `inboxes` row plus its `channel_whatsapp` row.

use crate::crypto::{self, SecretBox};
use crate::db::schema::{channel_whatsapp, inbox_members, inboxes};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// An `inboxes` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inboxes)]
pub struct Inbox {
    pub id: i64,
    pub account_id: i64,
    pub channel_id: i64,
    pub name: String,
    pub channel_type: String,
    pub enable_auto_assignment: bool,
    pub last_webhook_at: Option<DateTime<Utc>>,
    pub last_error: Option<serde_json::Value>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Last successful template sync.
    pub templates_synced_at: Option<DateTime<Utc>>,
    /// Why the last template sync failed, if it did.
    pub templates_sync_error: Option<String>,
    /// When the periodic template sync next takes this inbox (`None` = as soon as possible).
    pub templates_next_sync_at: Option<DateTime<Utc>>,
    /// Graph answered #190: the access token expired or was revoked; an admin must paste a new one.
    pub reauthorization_required: bool,
    /// Meta's message for the #190 that set `reauthorization_required`.
    pub reauthorization_error: Option<String>,
    /// What went wrong in the last `subscribed_apps` webhook setup (`None` = it worked).
    pub webhook_setup_warning: Option<String>,
    /// When the webhook setup last ran.
    pub webhook_setup_at: Option<DateTime<Utc>>,
}

/// A `channel_whatsapp` row. Secrets stay encrypted here; see [`Channel::api_key`].
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = channel_whatsapp)]
pub struct Channel {
    pub id: i64,
    pub account_id: i64,
    pub phone_number: String,
    pub provider: String,
    pub phone_number_id: String,
    pub business_account_id: String,
    pub api_key_ciphertext: String,
    pub app_secret_ciphertext: Option<String>,
    pub webhook_verify_token: String,
    pub source: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Channel {
    /// The decrypted access token (the `api_key`).
    pub fn api_key(&self, secrets: &SecretBox) -> AppResult<String> {
        secrets
            .decrypt(&self.api_key_ciphertext)
            .map_err(|e| AppError::Internal(e.to_string()))
    }

    /// The decrypted app secret, if the channel has one.
    pub fn app_secret(&self, secrets: &SecretBox) -> AppResult<Option<String>> {
        self.app_secret_ciphertext
            .as_deref()
            .map(|c| {
                secrets
                    .decrypt(c)
                    .map_err(|e| AppError::Internal(e.to_string()))
            })
            .transpose()
    }

    /// True when created through Meta's Embedded Signup.
    pub fn is_embedded_signup(&self) -> bool {
        self.source.as_deref() == Some("embedded_signup")
    }

    /// The business number as Meta writes it in payloads: digits without '+'.
    pub fn display_digits(&self) -> &str {
        self.phone_number.trim_start_matches('+')
    }
}

/// An inbox with its channel.
pub type InboxWithChannel = (Inbox, Channel);

/// Input of `POST /inboxes` for a WhatsApp Cloud channel.
#[derive(Debug, Default, Clone)]
pub struct NewWhatsappInbox {
    pub name: String,
    pub phone_number: String,
    pub phone_number_id: String,
    pub business_account_id: String,
    pub api_key: String,
    pub app_secret: Option<String>,
    /// `Some("embedded_signup")` for Embedded Signup inboxes, `Some("dualhook")` for
    /// numbers connected through Dualhook.
    pub source: Option<String>,
}

/// Changes accepted by `PATCH /inboxes/{id}`; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct InboxPatch {
    pub name: Option<String>,
    pub enable_auto_assignment: Option<bool>,
    pub phone_number: Option<String>,
    pub phone_number_id: Option<String>,
    pub business_account_id: Option<String>,
    pub api_key: Option<String>,
    /// `Some("")` removes the app secret.
    pub app_secret: Option<String>,
}

/// E.164 as stored and used in webhook paths: '+' then 8 to 15 digits, no leading zero.
/// Errors: 422 naming `field`.
pub fn validate_phone_number(field: &str, raw: &str) -> AppResult<String> {
    let trimmed = raw.trim();
    let digits = trimmed.strip_prefix('+').ok_or_else(|| {
        AppError::invalid(
            field,
            format!("phone number {trimmed:?} must be in E.164 format with a leading + (e.g. +15551234567)"),
        )
    })?;
    if !(8..=15).contains(&digits.len())
        || !digits.chars().all(|c| c.is_ascii_digit())
        || digits.starts_with('0')
    {
        return Err(AppError::invalid(
            field,
            format!("phone number {trimmed:?} must be E.164: a + followed by 8 to 15 digits"),
        ));
    }
    Ok(trimmed.to_string())
}

fn require(field: &str, value: &str) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() {
        Err(AppError::invalid(field, format!("{field} is required")))
    } else {
        Ok(v.to_string())
    }
}

fn require_numeric_id(field: &str, value: &str) -> AppResult<String> {
    let v = require(field, value)?;
    if !v.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::invalid(
            field,
            format!("{field} must be the numeric id Meta shows, got {v:?}"),
        ));
    }
    Ok(v)
}

fn phone_taken(
    conn: &mut PgConnection,
    phone: &str,
    except_channel: Option<i64>,
) -> AppResult<bool> {
    let mut q = channel_whatsapp::table
        .filter(channel_whatsapp::phone_number.eq(phone))
        .into_boxed();
    if let Some(id) = except_channel {
        q = q.filter(channel_whatsapp::id.ne(id));
    }
    Ok(q.count().get_result::<i64>(conn)? > 0)
}

/// The fields of a new inbox, checked: (name, phone, phone_number_id, waba id, api_key, source).
type CheckedNew = (String, String, String, String, String, Option<String>);

fn check_new(input: &NewWhatsappInbox) -> AppResult<CheckedNew> {
    let name = require("name", &input.name)?;
    let phone = validate_phone_number("channel.phone_number", &input.phone_number)?;
    let phone_number_id = require_numeric_id(
        "channel.provider_config.phone_number_id",
        &input.phone_number_id,
    )?;
    let waba = require_numeric_id(
        "channel.provider_config.business_account_id",
        &input.business_account_id,
    )?;
    let api_key = require("channel.provider_config.api_key", &input.api_key)?;
    let source = match input.source.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("embedded_signup") => Some("embedded_signup".to_string()),
        // Issue 12 (dualhook): connected through Dualhook's Embedded Signup; Meta signs with
        // Dualhook's app secret, so signature step 4 does not apply (see `crate::dualhook`).
        Some("dualhook") => Some("dualhook".to_string()),
        Some(other) => {
            return Err(AppError::invalid(
                "channel.provider_config.source",
                format!(
                    "source must be \"embedded_signup\", \"dualhook\" or absent, got {other:?}"
                ),
            ))
        }
    };
    Ok((name, phone, phone_number_id, waba, api_key, source))
}

/// Checks a new inbox's fields and that its number is free, without writing anything (run it
/// before calling Graph). Errors: 422 naming the field, as [`create`].
pub fn validate_new(conn: &mut PgConnection, input: &NewWhatsappInbox) -> AppResult<()> {
    let (_, phone, ..) = check_new(input)?;
    if phone_taken(conn, &phone, None)? {
        return Err(AppError::invalid(
            "channel.phone_number",
            format!("an inbox for {phone} already exists"),
        ));
    }
    Ok(())
}

/// Creates the channel and its inbox with a fresh 32-hex verify token. Secrets are encrypted.
/// Errors: 422 naming the field for a missing value, a non-E.164 or already used number.
pub fn create(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    account_id: i64,
    input: NewWhatsappInbox,
) -> AppResult<InboxWithChannel> {
    let (name, phone, phone_number_id, waba, api_key, source) = check_new(&input)?;
    let app_secret = input
        .app_secret
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| secrets.encrypt(s));
    conn.transaction(|conn| {
        if phone_taken(conn, &phone, None)? {
            return Err(AppError::invalid(
                "channel.phone_number",
                format!("an inbox for {phone} already exists"),
            ));
        }
        let channel: Channel = diesel::insert_into(channel_whatsapp::table)
            .values((
                channel_whatsapp::account_id.eq(account_id),
                channel_whatsapp::phone_number.eq(&phone),
                channel_whatsapp::phone_number_id.eq(&phone_number_id),
                channel_whatsapp::business_account_id.eq(&waba),
                channel_whatsapp::api_key_ciphertext.eq(secrets.encrypt(&api_key)),
                channel_whatsapp::app_secret_ciphertext.eq(&app_secret),
                channel_whatsapp::webhook_verify_token.eq(crypto::new_verify_token()),
                channel_whatsapp::source.eq(&source),
            ))
            .returning(Channel::as_returning())
            .get_result(conn)?;
        let inbox: Inbox = diesel::insert_into(inboxes::table)
            .values((
                inboxes::account_id.eq(account_id),
                inboxes::channel_id.eq(channel.id),
                inboxes::name.eq(&name),
            ))
            .returning(Inbox::as_returning())
            .get_result(conn)?;
        Ok((inbox, channel))
    })
}

/// Applies `patch` to an inbox of `account_id`. Errors: 404 when absent; 422 as in [`create`].
pub fn update(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    account_id: i64,
    inbox_id: i64,
    patch: InboxPatch,
) -> AppResult<InboxWithChannel> {
    conn.transaction(|conn| {
        let (inbox, channel) = find(conn, account_id, inbox_id)?;
        if let Some(name) = &patch.name {
            let name = require("name", name)?;
            diesel::update(inboxes::table.find(inbox.id))
                .set((
                    inboxes::name.eq(name),
                    inboxes::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)?;
        }
        if let Some(flag) = patch.enable_auto_assignment {
            diesel::update(inboxes::table.find(inbox.id))
                .set(inboxes::enable_auto_assignment.eq(flag))
                .execute(conn)?;
        }
        if let Some(phone) = &patch.phone_number {
            let phone = validate_phone_number("channel.phone_number", phone)?;
            if phone_taken(conn, &phone, Some(channel.id))? {
                return Err(AppError::invalid(
                    "channel.phone_number",
                    format!("an inbox for {phone} already exists"),
                ));
            }
            diesel::update(channel_whatsapp::table.find(channel.id))
                .set(channel_whatsapp::phone_number.eq(phone))
                .execute(conn)?;
        }
        if let Some(v) = &patch.phone_number_id {
            let v = require_numeric_id("channel.provider_config.phone_number_id", v)?;
            diesel::update(channel_whatsapp::table.find(channel.id))
                .set(channel_whatsapp::phone_number_id.eq(v))
                .execute(conn)?;
        }
        if let Some(v) = &patch.business_account_id {
            let v = require_numeric_id("channel.provider_config.business_account_id", v)?;
            diesel::update(channel_whatsapp::table.find(channel.id))
                .set(channel_whatsapp::business_account_id.eq(v))
                .execute(conn)?;
        }
        if let Some(v) = &patch.api_key {
            let v = require("channel.provider_config.api_key", v)?;
            diesel::update(channel_whatsapp::table.find(channel.id))
                .set(channel_whatsapp::api_key_ciphertext.eq(secrets.encrypt(&v)))
                .execute(conn)?;
        }
        if let Some(v) = &patch.app_secret {
            let v = v.trim();
            let stored = (!v.is_empty()).then(|| secrets.encrypt(v));
            diesel::update(channel_whatsapp::table.find(channel.id))
                .set(channel_whatsapp::app_secret_ciphertext.eq(stored))
                .execute(conn)?;
        }
        diesel::update(channel_whatsapp::table.find(channel.id))
            .set(channel_whatsapp::updated_at.eq(diesel::dsl::now))
            .execute(conn)?;
        find(conn, account_id, inbox_id)
    })
}

/// One inbox of `account_id`. Errors: 404.
pub fn find(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
) -> AppResult<InboxWithChannel> {
    inboxes::table
        .inner_join(channel_whatsapp::table)
        .filter(inboxes::id.eq(inbox_id))
        .filter(inboxes::account_id.eq(account_id))
        .select((Inbox::as_select(), Channel::as_select()))
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("inbox {inbox_id} not found")))
}

/// An inbox by id, whatever its account (for workers).
pub fn find_by_id(conn: &mut PgConnection, inbox_id: i64) -> AppResult<InboxWithChannel> {
    inboxes::table
        .inner_join(channel_whatsapp::table)
        .filter(inboxes::id.eq(inbox_id))
        .select((Inbox::as_select(), Channel::as_select()))
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("inbox {inbox_id} not found")))
}

/// The inboxes of an account, filtered to `only` when given (an agent's memberships).
pub fn list(
    conn: &mut PgConnection,
    account_id: i64,
    only: Option<&[i64]>,
) -> AppResult<Vec<InboxWithChannel>> {
    // Within a request's memo scope: the account's inboxes once, filtered here.
    if super::request_memo::active() {
        let all = super::request_memo::cached("inboxes", account_id, || {
            load_list(conn, account_id, None)
        })?;
        return Ok(all
            .into_iter()
            .filter(|(i, _)| only.is_none_or(|ids| ids.contains(&i.id)))
            .collect());
    }
    load_list(conn, account_id, only)
}

fn load_list(
    conn: &mut PgConnection,
    account_id: i64,
    only: Option<&[i64]>,
) -> AppResult<Vec<InboxWithChannel>> {
    let mut q = inboxes::table
        .inner_join(channel_whatsapp::table)
        .filter(inboxes::account_id.eq(account_id))
        .select((Inbox::as_select(), Channel::as_select()))
        .order(inboxes::id)
        .into_boxed();
    if let Some(ids) = only {
        q = q.filter(inboxes::id.eq_any(ids.to_vec()));
    }
    Ok(q.load(conn)?)
}

/// The inbox whose channel number is exactly `phone_number` (the webhook path segment).
pub fn find_by_phone(
    conn: &mut PgConnection,
    phone_number: &str,
) -> AppResult<Option<InboxWithChannel>> {
    Ok(inboxes::table
        .inner_join(channel_whatsapp::table)
        .filter(channel_whatsapp::phone_number.eq(phone_number))
        .select((Inbox::as_select(), Channel::as_select()))
        .first(conn)
        .optional()?)
}

/// The inboxes of `account_id` whose WABA (`business_account_id`) is `waba`, by id: a route
/// inbox and its sibling numbers (DESIGN.md, "Payload routing").
pub fn same_waba(
    conn: &mut PgConnection,
    account_id: i64,
    waba: &str,
) -> AppResult<Vec<InboxWithChannel>> {
    Ok(inboxes::table
        .inner_join(channel_whatsapp::table)
        .filter(inboxes::account_id.eq(account_id))
        .filter(channel_whatsapp::business_account_id.eq(waba))
        .order(inboxes::id)
        .select((Inbox::as_select(), Channel::as_select()))
        .load(conn)?)
}

/// Every inbox, of any account, whose `phone_number_id` is in `phone_number_ids` or whose WABA
/// is in `wabas`, by id (the app-level callback's routing).
pub fn by_ids(
    conn: &mut PgConnection,
    phone_number_ids: &[String],
    wabas: &[String],
) -> AppResult<Vec<InboxWithChannel>> {
    if phone_number_ids.is_empty() && wabas.is_empty() {
        return Ok(Vec::new());
    }
    Ok(inboxes::table
        .inner_join(channel_whatsapp::table)
        .filter(
            channel_whatsapp::phone_number_id
                .eq_any(phone_number_ids)
                .or(channel_whatsapp::business_account_id.eq_any(wabas)),
        )
        .order(inboxes::id)
        .select((Inbox::as_select(), Channel::as_select()))
        .load(conn)?)
}

/// A short-lived cache of [`find_by_phone`] for the webhook route, so an acknowledged delivery
/// costs no lookup query. Entries live `ttl`; this process's own inbox changes clear it at
/// once, another process's within `ttl`. Unknown numbers are cached too (bounded size).
pub struct PhoneLookupCache {
    ttl: std::time::Duration,
    entries: std::sync::RwLock<std::collections::HashMap<String, CachedLookup>>,
}

type CachedLookup = (std::time::Instant, Option<std::sync::Arc<InboxWithChannel>>);

/// Most numbers the cache holds before it starts over.
const PHONE_CACHE_CAPACITY: usize = 10_000;

impl PhoneLookupCache {
    /// An empty cache whose entries live `ttl`.
    pub fn new(ttl: std::time::Duration) -> Self {
        PhoneLookupCache {
            ttl,
            entries: Default::default(),
        }
    }

    /// The cached lookup: `None` on a miss, `Some(None)` for a number known to have no inbox.
    pub fn get(&self, phone_number: &str) -> Option<Option<std::sync::Arc<InboxWithChannel>>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(phone_number)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    /// Stores a lookup result.
    pub fn put(
        &self,
        phone_number: &str,
        found: Option<InboxWithChannel>,
    ) -> Option<std::sync::Arc<InboxWithChannel>> {
        let value = found.map(std::sync::Arc::new);
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= PHONE_CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(
            phone_number.to_string(),
            (std::time::Instant::now(), value.clone()),
        );
        value
    }

    /// Forgets everything (after an inbox is created or changed).
    pub fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// Makes `user_id` a member of `inbox_id` (idempotent).
pub fn add_member(conn: &mut PgConnection, inbox_id: i64, user_id: i64) -> AppResult<()> {
    diesel::insert_into(inbox_members::table)
        .values((
            inbox_members::inbox_id.eq(inbox_id),
            inbox_members::user_id.eq(user_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(())
}

/// Removes an agent from the inbox.
pub fn remove_member(conn: &mut PgConnection, inbox_id: i64, user_id: i64) -> AppResult<()> {
    diesel::delete(
        inbox_members::table
            .filter(inbox_members::inbox_id.eq(inbox_id))
            .filter(inbox_members::user_id.eq(user_id)),
    )
    .execute(conn)?;
    Ok(())
}

/// The user ids of the inbox's members.
pub fn member_ids(conn: &mut PgConnection, inbox_id: i64) -> AppResult<Vec<i64>> {
    Ok(inbox_members::table
        .filter(inbox_members::inbox_id.eq(inbox_id))
        .select(inbox_members::user_id)
        .load(conn)?)
}

/// Gives the inbox a fresh 32-hex webhook verify token and returns it. Meta (or the Tech
/// Provider) must be given the new one before its next verification.
pub fn rotate_verify_token(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
) -> AppResult<String> {
    let (_, channel) = find(conn, account_id, inbox_id)?;
    let token = crypto::new_verify_token();
    diesel::update(channel_whatsapp::table.find(channel.id))
        .set((
            channel_whatsapp::webhook_verify_token.eq(&token),
            channel_whatsapp::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Deletes the inbox, its channel and everything in it (conversations, messages, templates,
/// its realtime events). The webhook journal keeps its rows with `inbox_id` cleared.
pub fn delete(conn: &mut PgConnection, account_id: i64, inbox_id: i64) -> AppResult<()> {
    use crate::db::schema::realtime_events;
    let (_, channel) = find(conn, account_id, inbox_id)?;
    conn.transaction(|conn| {
        // The channel row cascades to the inbox and on to its conversations and messages.
        diesel::delete(channel_whatsapp::table.find(channel.id)).execute(conn)?;
        // No foreign key on realtime events (migration `ingest_foreign_keys`).
        diesel::delete(realtime_events::table.filter(realtime_events::inbox_id.eq(inbox_id)))
            .execute(conn)?;
        Ok(())
    })
}

fn require_inbox(conn: &mut PgConnection, account_id: i64, inbox_id: i64) -> AppResult<()> {
    let found: i64 = inboxes::table
        .filter(inboxes::id.eq(inbox_id))
        .filter(inboxes::account_id.eq(account_id))
        .count()
        .get_result(conn)?;
    if found == 0 {
        return Err(AppError::NotFound(format!("inbox {inbox_id} not found")));
    }
    Ok(())
}

/// The sorted, deduplicated ids, each checked to be a member of `account_id`.
/// Errors: 422 naming `user_ids` ("User must exist", Chatwoot's) listing the others.
fn account_user_ids(
    conn: &mut PgConnection,
    account_id: i64,
    user_ids: &[i64],
) -> AppResult<Vec<i64>> {
    use crate::db::schema::account_users;
    let mut ids = user_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let known: Vec<i64> = account_users::table
        .filter(account_users::account_id.eq(account_id))
        .filter(account_users::user_id.eq_any(&ids))
        .select(account_users::user_id)
        .load(conn)?;
    let unknown: Vec<String> = ids
        .iter()
        .filter(|id| !known.contains(id))
        .map(i64::to_string)
        .collect();
    if !unknown.is_empty() {
        return Err(AppError::invalid(
            "user_ids",
            format!(
                "User must exist: no agent {} in this account",
                unknown.join(", ")
            ),
        ));
    }
    Ok(ids)
}

/// The members of an inbox of `account_id` with their role in the account, by name
/// (`GET /inbox_members/{inbox_id}`). Errors: 404 when the inbox is not the account's.
pub fn members(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
) -> AppResult<Vec<crate::domain::accounts::Member>> {
    require_inbox(conn, account_id, inbox_id)?;
    let ids: Vec<i64> = inbox_members::table
        .filter(inbox_members::inbox_id.eq(inbox_id))
        .select(inbox_members::user_id)
        .load(conn)?;
    Ok(crate::domain::accounts::list_members(conn, account_id)?
        .into_iter()
        .filter(|m| ids.contains(&m.user.id))
        .collect())
}

/// Makes the given agents of the account members of the inbox (`POST /inbox_members`:
/// adds, keeping the others). Returns every member afterwards.
/// Errors: 404 for another account's inbox; 422 naming `user_ids` for an id that is not an
/// agent of the account.
pub fn add_members(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
    user_ids: &[i64],
) -> AppResult<Vec<crate::domain::accounts::Member>> {
    conn.transaction(|conn| {
        require_inbox(conn, account_id, inbox_id)?;
        for id in account_user_ids(conn, account_id, user_ids)? {
            add_member(conn, inbox_id, id)?;
        }
        members(conn, account_id, inbox_id)
    })
}

/// Makes the given agents the inbox's only members (`PATCH /inbox_members`: "all agents
/// except the ones passed will be removed"; `[]` removes everyone). Removed agents leave as
/// in [`remove_members`]. Returns every member afterwards. Errors: as [`add_members`].
pub fn set_members(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
    user_ids: &[i64],
) -> AppResult<Vec<crate::domain::accounts::Member>> {
    conn.transaction(|conn| {
        require_inbox(conn, account_id, inbox_id)?;
        let keep = account_user_ids(conn, account_id, user_ids)?;
        let leaving: Vec<i64> = inbox_members::table
            .filter(inbox_members::inbox_id.eq(inbox_id))
            .filter(inbox_members::user_id.ne_all(&keep))
            .select(inbox_members::user_id)
            .load(conn)?;
        remove_member_rows(conn, account_id, inbox_id, &leaving)?;
        for id in keep {
            add_member(conn, inbox_id, id)?;
        }
        members(conn, account_id, inbox_id)
    })
}

/// Takes the given agents out of the inbox (`DELETE /inbox_members`). Their open work there
/// goes too: conversations of this inbox assigned to a removed agent (not an administrator,
/// who still sees every inbox) become unassigned, as an assignee must see the conversation.
/// Errors: as [`add_members`].
pub fn remove_members(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
    user_ids: &[i64],
) -> AppResult<()> {
    conn.transaction(|conn| {
        require_inbox(conn, account_id, inbox_id)?;
        let ids = account_user_ids(conn, account_id, user_ids)?;
        remove_member_rows(conn, account_id, inbox_id, &ids)
    })
}

fn remove_member_rows(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
    user_ids: &[i64],
) -> AppResult<()> {
    use crate::db::schema::{account_users, conversations};
    if user_ids.is_empty() {
        return Ok(());
    }
    diesel::delete(
        inbox_members::table
            .filter(inbox_members::inbox_id.eq(inbox_id))
            .filter(inbox_members::user_id.eq_any(user_ids)),
    )
    .execute(conn)?;
    let agents: Vec<i64> = account_users::table
        .filter(account_users::account_id.eq(account_id))
        .filter(account_users::user_id.eq_any(user_ids))
        .filter(account_users::role.eq("agent"))
        .select(account_users::user_id)
        .load(conn)?;
    diesel::update(
        conversations::table
            .filter(conversations::inbox_id.eq(inbox_id))
            .filter(conversations::assignee_id.eq_any(agents)),
    )
    .set(conversations::assignee_id.eq(None::<i64>))
    .execute(conn)?;
    Ok(())
}

/// Records Meta's latest `value.errors` item on the inbox (shown as `last_error`).
pub fn record_error(
    conn: &mut PgConnection,
    inbox_id: i64,
    error: &serde_json::Value,
) -> AppResult<()> {
    diesel::update(inboxes::table.find(inbox_id))
        .set((
            inboxes::last_error.eq(Some(error)),
            inboxes::last_error_at.eq(Some(Utc::now())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Flags the inbox "reauthorization required" after Graph answered #190 (the access token
/// expired or was revoked), keeping Meta's message. Cleared by [`clear_reauthorization`].
pub fn mark_reauthorization_required(
    conn: &mut PgConnection,
    inbox_id: i64,
    error: &str,
) -> AppResult<()> {
    diesel::update(inboxes::table.find(inbox_id))
        .set((
            inboxes::reauthorization_required.eq(true),
            inboxes::reauthorization_error.eq(Some(error)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets when the periodic template sync next takes this inbox.
pub fn schedule_template_sync(
    conn: &mut PgConnection,
    inbox_id: i64,
    at: DateTime<Utc>,
) -> AppResult<()> {
    diesel::update(inboxes::table.find(inbox_id))
        .set(inboxes::templates_next_sync_at.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}

/// Clears the reauthorization flag (Graph accepted the inbox's token again).
pub fn clear_reauthorization(conn: &mut PgConnection, inbox_id: i64) -> AppResult<()> {
    diesel::update(inboxes::table.find(inbox_id))
        .set((
            inboxes::reauthorization_required.eq(false),
            inboxes::reauthorization_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records the outcome of the webhook setup (`subscribed_apps`): `None` when it worked,
/// otherwise the warning shown on the inbox.
pub fn record_webhook_setup(
    conn: &mut PgConnection,
    inbox_id: i64,
    warning: Option<&str>,
) -> AppResult<()> {
    diesel::update(inboxes::table.find(inbox_id))
        .set((
            inboxes::webhook_setup_warning.eq(warning),
            inboxes::webhook_setup_at.eq(Some(Utc::now())),
        ))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_validation() {
        assert!(validate_phone_number("p", "+15551234567").is_ok());
        assert!(validate_phone_number("p", "+12345678").is_ok());
        for bad in [
            "15551234567",
            "+1234567",
            "+1234567890123456",
            "+1555abc4567",
            "+0155512345",
            "",
        ] {
            assert!(validate_phone_number("p", bad).is_err(), "{bad}");
        }
    }
}
