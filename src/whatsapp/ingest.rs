//! Envelope → domain writes.
//!
//! A body (one POST, up to thousands of items: DESIGN.md) is split into *items* in document
//! order: each Meta error, message, status, echo, history message, state-sync contact, BSUID
//! change and template status update is one item. [`process_items`] processes a range of
//! them, so the ingest worker (`crate::jobs::ingest`) can commit a large body in bounded
//! units and resume after a crash where the last committed unit ended; [`lock_keys`] names
//! the advisory locks a range needs, so a unit can take them all up front in one global order.
//!
//! Idempotent: re-processing an event, or a duplicate delivery, leaves the same rows.

use super::content::{self, Built};
use super::management;
use super::payload::{
    self, ChangeValue, ContactInfo, Envelope, Message, MetaError, StateSyncItem, Status,
    UserIdUpdate,
};
use crate::db::prepared::Prepare;
use crate::domain::contacts::{self, Identity, ProfileInfo};
use crate::domain::conversations;
use crate::domain::inboxes::{self, Channel, Inbox, InboxWithChannel};
use crate::domain::messages::{self, message_type, MessageUpdate, NewMessage};
use crate::error::{AppError, AppResult};
use crate::jobs;
use diesel::pg::PgConnection;
use serde_json::{json, Map, Value};

/// Change fields routed by `metadata.phone_number_id` that this route acts on (DESIGN.md);
/// the management fields of [`management::FIELDS`] are handled too, routed by WABA.
pub const HANDLED_FIELDS: &[&str] = &[
    "messages",
    "smb_message_echoes",
    "history",
    "smb_app_state_sync",
    "user_id_update",
];

/// `whatsapp_events.phone_number` of a delivery to the app-level callback
/// (`POST /webhooks/whatsapp`): such an event has no route inbox and is routed by its body.
pub const APP_CALLBACK: &str = "app";

/// The inboxes one journaled body may write to (DESIGN.md, "Payload routing").
///
/// On the message route: the route's inbox (index 0) and its *siblings*, the other inboxes of
/// the same account with the same WABA. A change for a sibling's `phone_number_id` is
/// processed for it only when `entry[].id` is that WABA; management fields only when
/// `entry[].id` is the route inbox's WABA. At the app-level callback: every inbox whose
/// `phone_number_id` or WABA the body names, of any account.
#[derive(Debug, Clone)]
pub struct Routing {
    /// Index of the route's inbox in `inboxes`; `None` at the app-level callback.
    pub route: Option<usize>,
    pub inboxes: Vec<InboxWithChannel>,
}

impl Routing {
    /// The route inbox `inbox_id` and its siblings. Errors: 404 when the inbox is gone.
    pub fn for_route(conn: &mut PgConnection, inbox_id: i64) -> AppResult<Routing> {
        let own = inboxes::find_by_id(conn, inbox_id)?;
        let mut all = vec![own.clone()];
        all.extend(
            inboxes::same_waba(conn, own.0.account_id, &own.1.business_account_id)?
                .into_iter()
                .filter(|(i, _)| i.id != inbox_id),
        );
        Ok(Routing {
            route: Some(0),
            inboxes: all,
        })
    }

    /// Every inbox a body posted to the app-level callback names (by `phone_number_id` or
    /// WABA). A body that is not an envelope names none.
    pub fn for_app(conn: &mut PgConnection, raw_body: &str) -> AppResult<Routing> {
        let (pnids, wabas) = named_ids(raw_body);
        Ok(Routing {
            route: None,
            inboxes: inboxes::by_ids(conn, &pnids, &wabas)?,
        })
    }

    /// The route's inbox, if any.
    pub fn route_inbox(&self) -> Option<&InboxWithChannel> {
        self.route.map(|i| &self.inboxes[i])
    }

    /// The inbox a change for `phone_number_id` under `entry[].id = waba` goes to.
    fn by_phone_number_id(&self, waba: Option<&str>, phone_number_id: &str) -> Option<usize> {
        self.inboxes
            .iter()
            .position(|(_, c)| c.phone_number_id == phone_number_id)
            .filter(|&i| {
                // The route's own number is accepted whatever the entry id, as before.
                Some(i) == self.route
                    || waba.is_none_or(|w| w == self.inboxes[i].1.business_account_id)
            })
    }

    /// The inboxes a management change of `waba` goes to.
    fn by_waba(&self, waba: Option<&str>) -> Vec<usize> {
        let Some(waba) = waba else {
            // No entry id: only the route's own inbox can be meant.
            return self.route.into_iter().collect();
        };
        (0..self.inboxes.len())
            .filter(|&i| self.inboxes[i].1.business_account_id == waba)
            .collect()
    }
}

/// The `phone_number_id`s (`metadata`) and WABA ids (`entry[].id`) a body names.
pub fn named_ids(raw_body: &str) -> (Vec<String>, Vec<String>) {
    let Ok(envelope) = serde_json::from_str::<Envelope>(raw_body) else {
        return (Vec::new(), Vec::new());
    };
    let mut pnids = Vec::new();
    let mut wabas = Vec::new();
    for entry in &envelope.entry {
        wabas.extend(entry.id.clone());
        for change in &entry.changes {
            if let Some(id) = change_phone_number_id(&change.value) {
                pnids.push(id);
            }
        }
    }
    pnids.sort();
    pnids.dedup();
    wabas.sort();
    wabas.dedup();
    (pnids, wabas)
}

/// A change value's `metadata.phone_number_id`, written as a string or a number.
pub fn change_phone_number_id(value: &Value) -> Option<String> {
    let id = value.get("metadata")?.get("phone_number_id")?;
    id.as_str()
        .map(str::to_string)
        .or_else(|| id.as_u64().map(|n| n.to_string()))
}

/// What processing one body (or a range of its items) did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct IngestReport {
    pub messages_created: usize,
    pub duplicates: usize,
    pub updates_applied: usize,
    pub updates_pending: usize,
    /// Fields recorded in the journal but not acted on (e.g. `account_update`). Always the
    /// whole body's, whatever range was processed.
    pub unhandled_fields: Vec<String>,
    /// Items skipped because they lack what they need (e.g. a message without an id).
    pub skipped: Vec<String>,
}

/// Items `[from, from + count)` of a body, in document order (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemRange {
    /// Index of the first item to process (items before it were committed earlier).
    pub from: usize,
    /// Most items to process.
    pub count: usize,
}

impl ItemRange {
    /// Every item of the body.
    pub const ALL: ItemRange = ItemRange {
        from: 0,
        count: usize::MAX,
    };

    fn contains(&self, index: usize) -> bool {
        index >= self.from && index - self.from < self.count
    }
}

struct Ctx<'a> {
    inbox: &'a Inbox,
    channel: &'a Channel,
    report: &'a mut IngestReport,
    seen: &'a mut Seen,
}

/// What a unit knows about the wamids its items store (issue 15, batched ingest): for each
/// `(inbox_id, wamid)` read up front, whether a message holds it and whether updates may be
/// waiting for it. Read once for a whole unit by [`Seen::prefetch`] *after* the unit took its
/// wamid locks (so no other unit can change either while it runs), and kept current as the
/// unit stores messages and queues updates. A wamid not read up front is looked up when met,
/// as before. Must not outlive a rollback of what it saw (start again from
/// [`Seen::default`]).
#[derive(Debug, Default)]
pub struct Seen {
    /// `(inbox_id, wamid)` → `(a message holds it, updates may be waiting for it)`.
    known: std::collections::HashMap<(i64, String), (bool, bool)>,
    /// Read by [`Seen::prefetch`]: contacts' activity times are then collected in `touched`
    /// and written by [`Seen::flush`] in one statement.
    batching: bool,
    /// Contact id → its latest message time in the unit.
    touched: std::collections::BTreeMap<i64, chrono::DateTime<chrono::Utc>>,
    /// Conversation id → the times of the first and the last incoming message the unit
    /// stored in it: their activity update is written by [`Seen::flush`] in one statement
    /// (`conversations::record_incoming`), or at once before anything else is recorded for
    /// that conversation (an echo).
    incoming: std::collections::BTreeMap<
        i64,
        (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
    >,
    /// `(conversation_id, message_id)` of the customers' messages whose assignee and
    /// participants are notified by [`Seen::flush`] (`inbox_notifications::customer_messages`,
    /// one read for the unit).
    notify: Vec<(i64, i64)>,
    /// Contacts [`Seen::create_contacts`] made for the unit's first messages from new
    /// people, by `(inbox_id, identity)`: taken by the message they were made for.
    created:
        std::collections::HashMap<(i64, Identity), (contacts::Contact, contacts::ContactInbox)>,
    /// The lock keys of the items [`Seen::create_contacts`] left to run in order: a first
    /// message whose wamid one of them names is not deferred.
    others: std::collections::HashSet<String>,
    /// First messages of contacts made by [`Seen::create_contacts`], waiting for their
    /// conversations and messages to be written set-wise ([`Seen::write_deferred`]):
    /// `(contact_inbox_id, message)`, the message's `conversation_id` not yet known.
    deferred: Vec<(i64, messages::NewMessage)>,
    /// The contacts of `deferred`.
    deferred_contacts: std::collections::HashSet<i64>,
}

impl Seen {
    /// Reads, in one statement, every wamid that the `units` (each `(routing, parsed, range)`)
    /// would store. Errors: database errors only.
    pub fn prefetch(
        conn: &mut PgConnection,
        units: &[(&Routing, &ParsedBody, ItemRange)],
    ) -> AppResult<Seen> {
        use diesel::sql_types::{Array, BigInt, Bool, Text};
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            inbox_id: i64,
            #[diesel(sql_type = Text)]
            source_id: String,
            #[diesel(sql_type = Bool)]
            stored: bool,
            #[diesel(sql_type = Bool)]
            waiting: bool,
        }
        let mut inbox_ids = Vec::new();
        let mut wamids = Vec::new();
        for (routing, parsed, range) in units {
            for (index, (target, item)) in parsed.items().into_iter().enumerate() {
                if !range.contains(index) {
                    continue;
                }
                let message = match item {
                    Item::Incoming(m, _) | Item::Echo(m, _) | Item::History(m, _) => m,
                    _ => continue,
                };
                let (Some(wamid), Some(t)) = (&message.id, target.or(routing.route)) else {
                    continue;
                };
                inbox_ids.push(routing.inboxes[t].0.id);
                wamids.push(wamid.clone());
            }
        }
        if wamids.is_empty() {
            return Ok(Seen {
                batching: true,
                ..Seen::default()
            });
        }
        use diesel::RunQueryDsl;
        let rows: Vec<Row> = diesel::sql_query(
            // `OFFSET 0` keeps each EXISTS a lookup of the wamid's unique index: as semi-joins
            // the cached plan (made while `messages` was small) hashed a sequential scan of
            // every message for each unit.
            "SELECT w.inbox_id, w.source_id, \
                    EXISTS (SELECT 1 FROM messages m \
                            WHERE m.inbox_id = w.inbox_id AND m.source_id = w.source_id \
                            OFFSET 0) AS stored, \
                    EXISTS (SELECT 1 FROM pending_message_updates p \
                            WHERE p.inbox_id = w.inbox_id AND p.source_id = w.source_id \
                            OFFSET 0) AS waiting \
             FROM unnest($1::int8[], $2::text[]) AS w(inbox_id, source_id)",
        )
        .bind::<Array<BigInt>, _>(&inbox_ids)
        .bind::<Array<Text>, _>(&wamids)
        .prepared()
        .load(conn)?;
        Ok(Seen {
            known: rows
                .into_iter()
                .map(|r| ((r.inbox_id, r.source_id), (r.stored, r.waiting)))
                .collect(),
            batching: true,
            ..Seen::default()
        })
    }

    /// Creates, set-wise (`contacts::create_many`, two inserts per inbox), the contacts of the
    /// people whose first message the `units` store: plain incoming messages not stored yet,
    /// from people the inbox does not know. Call it after [`Seen::prefetch`], in the unit's
    /// savepoint, before the items run; [`store`] then takes each contact instead of
    /// resolving it. A person any other item of the unit names (an echo, a history thread, a
    /// system message, a reaction, a state sync or a BSUID change) is left to run in order,
    /// so creating contacts early changes nothing those items see. Errors: database errors.
    pub fn create_contacts(
        &mut self,
        conn: &mut PgConnection,
        units: &[(&Routing, &ParsedBody, ItemRange)],
    ) -> AppResult<()> {
        // Per inbox: the candidates in item order, and the lock keys other items take.
        let mut candidates: std::collections::BTreeMap<i64, (i64, Vec<(Identity, ProfileInfo)>)> =
            Default::default();
        let mut others: std::collections::HashSet<String> = Default::default();
        for (routing, parsed, range) in units {
            for (index, (target, item)) in parsed.items().into_iter().enumerate() {
                if !range.contains(index) {
                    continue;
                }
                let Some((inbox, _)) = target.or(routing.route).map(|t| &routing.inboxes[t]) else {
                    continue;
                };
                let plain = match &item {
                    Item::Incoming(m, contacts_info)
                        if !matches!(
                            m.kind.as_deref(),
                            Some("reaction" | "revoke" | "edit" | "system")
                        ) && m.id.as_ref().is_some_and(|w| {
                            matches!(self.known.get(&(inbox.id, w.clone())), Some((false, _)))
                        }) =>
                    {
                        Some(identity_and_profile(
                            contacts_info,
                            m.from.as_deref(),
                            m.from_user_id.as_deref(),
                            m.from_parent_user_id.as_deref(),
                        ))
                        .map(|(identity, profile)| {
                            let at = payload::parse_timestamp(m.timestamp.as_deref());
                            (
                                identity,
                                ProfileInfo {
                                    message_at: Some(at),
                                    ..profile
                                },
                            )
                        })
                    }
                    _ => None,
                };
                match plain {
                    Some(person) if !person.0.is_empty() => candidates
                        .entry(inbox.id)
                        .or_insert_with(|| (inbox.account_id, Vec::new()))
                        .1
                        .push(person),
                    Some(_) => {}
                    None => {
                        let mut keys = Vec::new();
                        item_lock_keys(inbox.id, &item, &mut keys);
                        others.extend(keys);
                    }
                }
            }
        }
        self.others = others;
        let others = &self.others;
        for (inbox_id, (account_id, mut people)) in candidates {
            people.retain(|(identity, _)| {
                identity
                    .sources()
                    .iter()
                    .all(|(s, _)| !others.contains(&contacts::identity_lock_key(inbox_id, s)))
            });
            for (i, contact, contact_inbox) in
                contacts::create_many(conn, account_id, inbox_id, &people)?
            {
                self.created
                    .insert((inbox_id, people[i].0.clone()), (contact, contact_inbox));
            }
        }
        Ok(())
    }

    /// The contact [`Seen::create_contacts`] made for `identity`'s first message, once.
    fn take_created(
        &mut self,
        inbox_id: i64,
        identity: &Identity,
    ) -> Option<(contacts::Contact, contacts::ContactInbox)> {
        if self.created.is_empty() {
            return None;
        }
        self.created.remove(&(inbox_id, identity.clone()))
    }

    /// Whether the first message `wamid` of a contact [`Seen::create_contacts`] made may wait
    /// for [`Seen::write_deferred`]: only while batching, and when no item left to run in
    /// order names the wamid (a status, a reaction, an edit…), so nothing reads it first.
    fn may_defer(&self, inbox_id: i64, wamid: &str) -> bool {
        self.batching
            && crate::domain::events::batching()
            && !self
                .others
                .contains(&messages::wamid_lock_key(inbox_id, wamid))
    }

    /// Holds `message`, the first message of a contact [`Seen::create_contacts`] made, for
    /// [`Seen::write_deferred`].
    fn defer(&mut self, contact_id: i64, contact_inbox_id: i64, message: messages::NewMessage) {
        self.deferred_contacts.insert(contact_id);
        self.deferred.push((contact_inbox_id, message));
    }

    /// Whether `contact_id`'s first message waits in [`Seen::defer`]: its conversation does
    /// not exist yet, so [`Seen::write_deferred`] must run before anything looks it up.
    fn has_deferred(&self, contact_id: i64) -> bool {
        self.deferred_contacts.contains(&contact_id)
    }

    /// Writes the deferred first messages (see [`Seen::defer`]): their conversations in one
    /// statement (`conversations::open_many`, the message's activity included) and the
    /// messages in another (`messages::insert_many_new`), with their events, in item order.
    /// Errors: database errors only.
    fn write_deferred(&mut self, conn: &mut PgConnection) -> AppResult<()> {
        if self.deferred.is_empty() {
            return Ok(());
        }
        self.deferred_contacts.clear();
        let deferred = std::mem::take(&mut self.deferred);
        let entries: Vec<conversations::FirstMessage> = deferred
            .iter()
            .map(|(contact_inbox_id, m)| {
                (
                    m.account_id,
                    m.inbox_id,
                    m.sender_id.unwrap_or_default(),
                    *contact_inbox_id,
                    m.created_at,
                )
            })
            .collect();
        let opened = conversations::open_many(conn, &entries)?;
        let news: Vec<messages::NewMessage> = deferred
            .into_iter()
            .zip(&opened)
            .map(|((_, m), c)| messages::NewMessage {
                conversation_id: c.id,
                ..m
            })
            .collect();
        messages::insert_many_new(conn, &news)?;
        Ok(())
    }

    /// Writes what the unit collected: the deferred first messages ([`Seen::write_deferred`]),
    /// the activity of conversations opened with one message, and the contacts' activity
    /// times (one statement, the same rule as `contacts::touch`). Call it before the unit's
    /// savepoint ends.
    pub fn flush(&mut self, conn: &mut PgConnection) -> AppResult<()> {
        use diesel::sql_types::{Array, BigInt, Double, Timestamptz};
        use diesel::RunQueryDsl;
        self.write_deferred(conn)?;
        let incoming: Vec<_> = std::mem::take(&mut self.incoming)
            .into_iter()
            .map(|(id, (first, last))| (id, first, last))
            .collect();
        conversations::record_incoming(conn, &incoming)?;
        crate::domain::inbox_notifications::customer_messages(
            conn,
            &std::mem::take(&mut self.notify),
        )?;
        if self.touched.is_empty() {
            return Ok(());
        }
        let (ids, ats): (Vec<i64>, Vec<chrono::DateTime<chrono::Utc>>) =
            std::mem::take(&mut self.touched).into_iter().unzip();
        diesel::sql_query(
            "UPDATE contacts c SET last_activity_at = v.at \
             FROM unnest($1::int8[], $2::timestamptz[]) AS v(id, at) \
             WHERE c.id = v.id AND (c.last_activity_at IS NULL \
                   OR c.last_activity_at < v.at - make_interval(secs => $3))",
        )
        .bind::<Array<BigInt>, _>(&ids)
        .bind::<Array<Timestamptz>, _>(&ats)
        .bind::<Double, _>(contacts::ACTIVITY_GRANULARITY_SECS as f64)
        .prepared()
        .execute(conn)?;
        Ok(())
    }

    /// Records message activity in `conversation_id` at `at` (`conversations::record_message`):
    /// collected for an incoming message when batching (see `incoming`), else written at
    /// once, after any collected update of the same conversation (so what the message's own
    /// statements read is as without batching).
    fn record_message(
        &mut self,
        conn: &mut PgConnection,
        conversation_id: i64,
        at: chrono::DateTime<chrono::Utc>,
        incoming: bool,
    ) -> AppResult<()> {
        if self.batching && incoming {
            let e = self.incoming.entry(conversation_id).or_insert((at, at));
            e.0 = e.0.min(at);
            e.1 = e.1.max(at);
            return Ok(());
        }
        if let Some((first, last)) = self.incoming.remove(&conversation_id) {
            conversations::record_incoming(conn, &[(conversation_id, first, last)])?;
        }
        conversations::record_message(conn, conversation_id, at, incoming)
    }

    /// Notifies the assignee and participants of a customer's message (see
    /// `inbox_notifications::customer_message`): collected when batching, else at once.
    fn notify(
        &mut self,
        conn: &mut PgConnection,
        conversation_id: i64,
        message_id: i64,
    ) -> AppResult<()> {
        if self.batching {
            self.notify.push((conversation_id, message_id));
            return Ok(());
        }
        crate::domain::inbox_notifications::customer_message(conn, conversation_id, message_id)?;
        Ok(())
    }

    /// Records that `contact_id` wrote at `at`: at once, or collected when batching.
    fn touch(
        &mut self,
        conn: &mut PgConnection,
        contact_id: i64,
        at: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<()> {
        if !self.batching {
            return contacts::touch(conn, contact_id, at);
        }
        let t = self.touched.entry(contact_id).or_insert(at);
        *t = (*t).max(at);
        Ok(())
    }

    /// Whether a message holds `wamid` (read now when it was not read up front).
    fn stored(&mut self, conn: &mut PgConnection, inbox_id: i64, wamid: &str) -> AppResult<bool> {
        match self.known.get(&(inbox_id, wamid.to_string())) {
            Some((stored, _)) => Ok(*stored),
            None => messages::exists(conn, inbox_id, wamid),
        }
    }

    /// False only when the wamid was read up front with no update waiting and none was
    /// queued since.
    fn may_have_waiting(&self, inbox_id: i64, wamid: &str) -> bool {
        self.known
            .get(&(inbox_id, wamid.to_string()))
            .is_none_or(|(_, waiting)| *waiting)
    }

    fn mark_stored(&mut self, inbox_id: i64, wamid: &str) {
        if let Some(k) = self.known.get_mut(&(inbox_id, wamid.to_string())) {
            *k = (true, false);
        }
    }

    fn mark_waiting(&mut self, inbox_id: i64, wamid: &str) {
        if let Some(k) = self.known.get_mut(&(inbox_id, wamid.to_string())) {
            k.1 = true;
        }
    }
}

/// One change of a body, parsed once.
enum ParsedChange {
    /// A field this route records but does not act on: no item.
    Unhandled,
    /// A management field (routed by WABA, not a [`ChangeValue`]): one item for the
    /// `targets` (indexes in the [`Routing`]).
    Management {
        field: String,
        value: Value,
        at: i64,
        targets: Vec<usize>,
    },
    /// A value of an unexpected shape: one item, skipped.
    Malformed { field: String, error: String },
    /// A change for no inbox this body may reach: one item, recorded on the route inbox's
    /// health and skipped.
    Foreign {
        phone_number_id: Option<String>,
        waba: Option<String>,
    },
    /// A change this route acts on, item by item, for the inbox `target`.
    Value {
        field: String,
        value: Box<ChangeValue>,
        target: usize,
    },
}

/// One item of a body.
enum Item<'a> {
    Management {
        field: &'a str,
        value: &'a Value,
        at: i64,
        targets: &'a [usize],
    },
    Malformed {
        field: &'a str,
        error: &'a str,
    },
    Foreign {
        phone_number_id: Option<&'a str>,
        waba: Option<&'a str>,
    },
    MetaError(&'a MetaError),
    Incoming(&'a Message, &'a [ContactInfo]),
    Status(&'a Status),
    Echo(&'a Message, &'a [ContactInfo]),
    History(&'a Message, Identity),
    StateSync(&'a StateSyncItem),
    UserIdUpdate(&'a UserIdUpdate),
}

/// A change refused for want of an inbox: its `(metadata.phone_number_id, entry[].id)`.
pub type RefusedChange = (Option<String>, Option<String>);

/// A parsed body: its changes, and the fields recorded but not handled.
pub struct ParsedBody {
    changes: Vec<ParsedChange>,
    unhandled_fields: Vec<String>,
}

impl ParsedBody {
    /// How many changes go to an inbox (messages and the like, or management changes), and
    /// the `(phone_number_id, WABA)` of each change refused for want of one.
    pub fn route_summary(&self) -> (usize, Vec<RefusedChange>) {
        let mut deliverable = 0;
        let mut refused = Vec::new();
        for change in &self.changes {
            match change {
                ParsedChange::Value { .. } | ParsedChange::Management { .. } => deliverable += 1,
                ParsedChange::Foreign {
                    phone_number_id,
                    waba,
                } => refused.push((phone_number_id.clone(), waba.clone())),
                ParsedChange::Unhandled | ParsedChange::Malformed { .. } => {}
            }
        }
        (deliverable, refused)
    }

    /// Number of items in the body (see the module docs).
    pub fn item_count(&self) -> usize {
        self.items().len()
    }

    /// The items in document order, each with the index (in the [`Routing`]) of the inbox it
    /// is for (`None`: routed by WABA or for no inbox).
    fn items(&self) -> Vec<(Option<usize>, Item<'_>)> {
        let mut all = Vec::new();
        for change in &self.changes {
            let mut items = Vec::new();
            let mut target = None;
            match change {
                ParsedChange::Unhandled => {}
                ParsedChange::Management {
                    field,
                    value,
                    at,
                    targets,
                } => items.push(Item::Management {
                    field,
                    value,
                    at: *at,
                    targets,
                }),
                ParsedChange::Malformed { field, error } => {
                    items.push(Item::Malformed { field, error })
                }
                ParsedChange::Foreign {
                    phone_number_id,
                    waba,
                } => items.push(Item::Foreign {
                    phone_number_id: phone_number_id.as_deref(),
                    waba: waba.as_deref(),
                }),
                ParsedChange::Value {
                    field,
                    value,
                    target: t,
                } => {
                    target = Some(*t);
                    items.extend(value.errors.iter().map(Item::MetaError));
                    match field.as_str() {
                        "messages" => {
                            items.extend(
                                value
                                    .messages
                                    .iter()
                                    .map(|m| Item::Incoming(m, &value.contacts)),
                            );
                            items.extend(value.statuses.iter().map(Item::Status));
                        }
                        "smb_message_echoes" => items.extend(
                            value
                                .message_echoes
                                .iter()
                                .map(|m| Item::Echo(m, &value.contacts)),
                        ),
                        "history" => {
                            for chunk in &value.history {
                                items.extend(chunk.errors.iter().map(Item::MetaError));
                                for thread in &chunk.threads {
                                    let identity = thread_identity(thread);
                                    items.extend(
                                        thread
                                            .messages
                                            .iter()
                                            .map(|m| Item::History(m, identity.clone())),
                                    );
                                }
                            }
                        }
                        "smb_app_state_sync" => {
                            items.extend(value.state_sync.iter().map(Item::StateSync))
                        }
                        "user_id_update" => {
                            items.extend(value.user_id_update.iter().map(Item::UserIdUpdate))
                        }
                        _ => {}
                    }
                }
            }
            all.extend(items.into_iter().map(|i| (target, i)));
        }
        all
    }
}

/// Parses a raw body and routes each change (see [`Routing`]). No database access. Errors:
/// 400 when the body is not a webhook envelope (the event is retried, then kept as failed).
pub fn parse_body(routing: &Routing, raw_body: &str) -> AppResult<ParsedBody> {
    let envelope: Envelope = serde_json::from_str(raw_body).map_err(|e| {
        AppError::BadRequest(format!("body is not a WhatsApp webhook envelope: {e}"))
    })?;
    let log_id = routing.route_inbox().map(|(i, _)| i.id);
    let mut parsed = ParsedBody {
        changes: Vec::new(),
        unhandled_fields: Vec::new(),
    };
    for entry in envelope.entry {
        let waba = entry.id;
        let at = entry
            .time
            .as_ref()
            .and_then(|t| t.as_i64().or_else(|| t.as_str()?.parse().ok()))
            .unwrap_or_else(|| chrono::Utc::now().timestamp());
        for change in entry.changes {
            let field = change.field;
            if management::is_management(&field) {
                let targets = routing.by_waba(waba.as_deref());
                if targets.is_empty() {
                    parsed.changes.push(ParsedChange::Foreign {
                        phone_number_id: None,
                        waba: waba.clone(),
                    });
                    continue;
                }
                let mut value = change.value;
                strip_nul(&mut value);
                parsed.changes.push(ParsedChange::Management {
                    field,
                    value,
                    at,
                    targets,
                });
                continue;
            }
            if !HANDLED_FIELDS.contains(&field.as_str()) {
                parsed.unhandled_fields.push(field);
                parsed.changes.push(ParsedChange::Unhandled);
                continue;
            }
            let mut raw_value = change.value;
            strip_nul(&mut raw_value);
            let value: ChangeValue = match serde_json::from_value(raw_value) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(inbox_id = ?log_id, field = %field, error = %e, "change value has an unexpected shape");
                    parsed.changes.push(ParsedChange::Malformed {
                        field,
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            let id = value
                .metadata
                .as_ref()
                .and_then(|m| m.phone_number_id.clone());
            let target = match &id {
                Some(id) => routing.by_phone_number_id(waba.as_deref(), id),
                None => routing.route,
            };
            match target {
                Some(target) => parsed.changes.push(ParsedChange::Value {
                    field,
                    value: Box::new(value),
                    target,
                }),
                None => parsed.changes.push(ParsedChange::Foreign {
                    phone_number_id: id,
                    waba: waba.clone(),
                }),
            }
        }
    }
    Ok(parsed)
}

/// Processes one raw body for `inbox`, every item. Must run inside a transaction; any error
/// rolls the whole body back so the journal retries it.
pub fn process_body(
    conn: &mut PgConnection,
    inbox: &Inbox,
    channel: &Channel,
    raw_body: &str,
) -> AppResult<IngestReport> {
    let routing = Routing::for_route(conn, inbox.id).unwrap_or_else(|_| Routing {
        route: Some(0),
        inboxes: vec![(inbox.clone(), channel.clone())],
    });
    let parsed = parse_body(&routing, raw_body)?;
    process_items(conn, &routing, &parsed, ItemRange::ALL)
}

/// Processes the items of `parsed` in `range` (items outside it are not touched; a range past
/// the end processes nothing). Must run inside a transaction; an error rolls the range back.
/// The report's `unhandled_fields` are the whole body's, logged only with the first item.
pub fn process_items(
    conn: &mut PgConnection,
    routing: &Routing,
    parsed: &ParsedBody,
    range: ItemRange,
) -> AppResult<IngestReport> {
    process_items_with(conn, routing, parsed, range, &mut Seen::default())
}

/// [`process_items`] with what the unit already read about its wamids (see [`Seen`]).
pub fn process_items_with(
    conn: &mut PgConnection,
    routing: &Routing,
    parsed: &ParsedBody,
    range: ItemRange,
    seen: &mut Seen,
) -> AppResult<IngestReport> {
    let mut report = IngestReport {
        unhandled_fields: parsed.unhandled_fields.clone(),
        ..IngestReport::default()
    };
    let route = routing.route_inbox();
    if range.from == 0 {
        for field in &parsed.unhandled_fields {
            tracing::info!(inbox_id = ?route.map(|r| r.0.id), field = %field, "webhook field recorded, not handled");
        }
    }
    for (index, (target, item)) in parsed.items().into_iter().enumerate() {
        if !range.contains(index) {
            continue;
        }
        match (item, target) {
            (
                Item::Management {
                    field,
                    value,
                    at,
                    targets,
                },
                _,
            ) => {
                let inboxes: Vec<&InboxWithChannel> =
                    targets.iter().map(|&i| &routing.inboxes[i]).collect();
                management::apply(conn, &inboxes, field, value, at)?;
            }
            (
                Item::Foreign {
                    phone_number_id,
                    waba,
                },
                _,
            ) => {
                report.skipped.push(format!(
                    "change for phone_number_id {} of WABA {} (no inbox here)",
                    phone_number_id.unwrap_or("-"),
                    waba.unwrap_or("-")
                ));
                if let Some((inbox, _)) = route {
                    crate::domain::number_health::record_refused_route(
                        conn,
                        inbox.id,
                        phone_number_id,
                        waba,
                    )?;
                }
            }
            (item, target) => {
                let Some((inbox, channel)) = target.or(routing.route).map(|t| &routing.inboxes[t])
                else {
                    continue;
                };
                let mut ctx = Ctx {
                    inbox,
                    channel,
                    report: &mut report,
                    seen: &mut *seen,
                };
                process_item(conn, &mut ctx, item)?;
            }
        }
    }
    Ok(report)
}

/// The advisory-lock keys (see `contacts::identity_lock_key`, `messages::wamid_lock_key`)
/// that processing `range` of `parsed` takes: the identifiers of every user named and every
/// wamid stored or updated. Unsorted, possibly repeated. No database access.
pub fn lock_keys(routing: &Routing, parsed: &ParsedBody, range: ItemRange) -> Vec<String> {
    let mut keys = Vec::new();
    for (index, (target, item)) in parsed.items().into_iter().enumerate() {
        if !range.contains(index) {
            continue;
        }
        if let Some((inbox, _)) = target.or(routing.route).map(|t| &routing.inboxes[t]) {
            item_lock_keys(inbox.id, &item, &mut keys);
        }
    }
    keys
}

fn item_lock_keys(inbox_id: i64, item: &Item<'_>, keys: &mut Vec<String>) {
    let identity_keys = |keys: &mut Vec<String>, identity: &Identity| {
        keys.extend(
            identity
                .sources()
                .iter()
                .map(|(s, _)| contacts::identity_lock_key(inbox_id, s)),
        )
    };
    let wamid = |keys: &mut Vec<String>, id: Option<&str>| {
        if let Some(id) = id {
            keys.push(messages::wamid_lock_key(inbox_id, id));
        }
    };
    {
        let message = match item {
            Item::Incoming(m, contacts_info) => {
                let (identity, _) = identity_and_profile(
                    contacts_info,
                    m.from.as_deref(),
                    m.from_user_id.as_deref(),
                    m.from_parent_user_id.as_deref(),
                );
                identity_keys(keys, &identity);
                Some(*m)
            }
            Item::Echo(m, contacts_info) => {
                let (identity, _) = identity_and_profile(
                    contacts_info,
                    m.to.as_deref(),
                    m.to_user_id.as_deref(),
                    m.to_parent_user_id.as_deref(),
                );
                identity_keys(keys, &identity);
                Some(*m)
            }
            Item::History(m, identity) => {
                identity_keys(keys, identity);
                Some(*m)
            }
            Item::Status(s) => {
                wamid(keys, s.id.as_deref());
                None
            }
            Item::StateSync(item) => {
                if let Some(c) = &item.contact {
                    let identity =
                        Identity::new(c.phone_number.as_deref(), c.user_id.as_deref(), None);
                    identity_keys(keys, &identity);
                }
                None
            }
            Item::UserIdUpdate(u) => {
                let change = u.user_id.as_ref();
                let identity = Identity::new(
                    u.wa_id.as_deref(),
                    change.and_then(|c| c.previous.as_deref()),
                    change.and_then(|c| c.current.as_deref()),
                );
                identity_keys(keys, &identity);
                None
            }
            Item::Management { .. }
            | Item::Malformed { .. }
            | Item::Foreign { .. }
            | Item::MetaError(_) => None,
        };
        if let Some(m) = message {
            wamid(keys, m.id.as_deref());
            // Reactions, revokes and edits lock their target; a system message may name a new
            // BSUID or number.
            for field in ["message_id", "original_message_id"] {
                wamid(keys, m.body_str(field));
            }
            for field in ["user_id", "wa_id"] {
                if let Some(v) = m.body_str(field) {
                    let digits: String = v.chars().filter(char::is_ascii_digit).collect();
                    keys.push(contacts::identity_lock_key(inbox_id, v));
                    if !digits.is_empty() {
                        keys.push(contacts::identity_lock_key(inbox_id, &digits));
                    }
                }
            }
        }
    }
}

fn thread_identity(thread: &payload::HistoryThread) -> Identity {
    let c = thread.context.as_ref();
    let thread_id = thread.id.as_deref();
    let thread_phone = thread_id.filter(|t| t.chars().all(|c| c.is_ascii_digit()));
    let thread_bsuid = thread_id.filter(|t| !t.chars().all(|c| c.is_ascii_digit()));
    Identity::new(
        c.and_then(|c| c.wa_id.as_deref()).or(thread_phone),
        c.and_then(|c| c.user_id.as_deref()).or(thread_bsuid),
        c.and_then(|c| c.parent_user_id.as_deref()),
    )
}

fn process_item(conn: &mut PgConnection, ctx: &mut Ctx, item: Item) -> AppResult<()> {
    match item {
        // Routed by WABA or refused: handled by `process_items` itself.
        Item::Management { .. } | Item::Foreign { .. } => Ok(()),
        Item::Malformed { field, error } => {
            ctx.report.skipped.push(format!("{field} change: {error}"));
            Ok(())
        }
        // e.g. the business declined to share its history: visible on the inbox.
        Item::MetaError(error) => record_meta_error(conn, ctx, error),
        Item::Incoming(m, contacts_info) => incoming(conn, ctx, m, contacts_info),
        Item::Status(s) => status(conn, ctx, s),
        Item::Echo(m, contacts_info) => echo(conn, ctx, m, contacts_info),
        Item::History(m, identity) => history_message(conn, ctx, m, &identity),
        Item::StateSync(item) => state_sync(conn, ctx, item),
        Item::UserIdUpdate(u) => {
            let change = u.user_id.as_ref();
            let Some(current) = change.and_then(|c| c.current.as_deref()) else {
                ctx.report
                    .skipped
                    .push("user_id_update without user_id.current".into());
                return Ok(());
            };
            let previous = change.and_then(|c| c.previous.as_deref());
            contacts::rekey_bsuid(conn, ctx.inbox.id, previous, current, u.wa_id.as_deref())?;
            Ok(())
        }
    }
}

/// Records a Meta error on the inbox (its `last_error`) and logs it.
fn record_meta_error(conn: &mut PgConnection, ctx: &Ctx, error: &MetaError) -> AppResult<()> {
    let recorded = json!({
        "code": error.code, "title": error.title, "message": error.message,
        "details": error.details(), "summary": error.summary(),
    });
    inboxes::record_error(conn, ctx.inbox.id, &recorded)?;
    tracing::warn!(inbox_id = ctx.inbox.id, error = %error.summary(), "Meta reported an error for this number");
    Ok(())
}

/// Removes U+0000 from every string: JSON may carry it (`\u0000`) but PostgreSQL text and
/// jsonb cannot, and one such character must not keep a whole delivery out.
fn strip_nul(value: &mut Value) {
    match value {
        Value::String(s) if s.contains('\0') => s.retain(|c| c != '\0'),
        Value::Array(items) => items.iter_mut().for_each(strip_nul),
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().filter(|k| k.contains('\0')).cloned().collect();
            for k in keys {
                if let Some(v) = map.remove(&k) {
                    map.insert(k.replace('\0', ""), v);
                }
            }
            map.values_mut().for_each(strip_nul);
        }
        _ => {}
    }
}

/// The profile of the user a message is from, found in `value.contacts` by phone or BSUID.
fn profile_for<'c>(
    contacts: &'c [ContactInfo],
    phone: Option<&str>,
    bsuid: Option<&str>,
) -> Option<&'c ContactInfo> {
    contacts
        .iter()
        .find(|c| {
            (phone.is_some() && c.wa_id.as_deref() == phone)
                || (bsuid.is_some() && c.user_id.as_deref() == bsuid)
        })
        .or(if contacts.len() == 1 {
            contacts.first()
        } else {
            None
        })
}

fn identity_and_profile(
    contacts: &[ContactInfo],
    phone: Option<&str>,
    bsuid: Option<&str>,
    parent: Option<&str>,
) -> (Identity, ProfileInfo) {
    let info = profile_for(contacts, phone, bsuid);
    let identity = Identity::new(
        phone.or(info.and_then(|c| c.wa_id.as_deref())),
        bsuid.or(info.and_then(|c| c.user_id.as_deref())),
        parent.or(info.and_then(|c| c.parent_user_id.as_deref())),
    );
    let profile = ProfileInfo {
        name: info
            .and_then(|c| c.profile.as_ref())
            .and_then(|p| p.name.clone()),
        username: info
            .and_then(|c| c.profile.as_ref())
            .and_then(|p| p.username.clone()),
        message_at: None,
    };
    (identity, profile)
}

fn timestamp_secs(m: &Message) -> i64 {
    payload::parse_timestamp(m.timestamp.as_deref()).timestamp()
}

/// Reactions, revokes and edits change another message instead of adding one.
/// Returns true when `m` was one of them.
fn message_update(
    conn: &mut PgConnection,
    ctx: &mut Ctx,
    m: &Message,
    reaction_sender: &str,
) -> AppResult<bool> {
    let ts = timestamp_secs(m);
    let (target, update) = match m.kind.as_deref() {
        Some("reaction") => (
            m.body_str("message_id"),
            MessageUpdate::Reaction {
                emoji: m
                    .body_str("emoji")
                    .map(str::to_string)
                    .filter(|e| !e.is_empty()),
                source_id: m.id.clone(),
                timestamp: ts,
                sender_type: reaction_sender.to_string(),
            },
        ),
        Some("revoke") => (
            m.body_str("original_message_id"),
            MessageUpdate::Revoke { timestamp: ts },
        ),
        Some("edit") => {
            let body = m.body_object();
            // The new text: `message.text.body`, or the new caption of an edited media message.
            let edited = body.map(|b| b.get("message").unwrap_or(b));
            let new_text = edited.and_then(|nm| {
                let kind = nm.get("type").and_then(Value::as_str).unwrap_or("text");
                nm.get(kind)
                    .or_else(|| nm.get("text"))
                    .and_then(|t| t.get("body").or_else(|| t.get("caption")))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
            let Some(new_text) = new_text else {
                ctx.report
                    .skipped
                    .push("edit without new text or caption".into());
                return Ok(true);
            };
            (
                m.body_str("original_message_id"),
                MessageUpdate::Edit {
                    content: new_text,
                    timestamp: ts,
                },
            )
        }
        _ => return Ok(false),
    };
    let Some(target) = target else {
        ctx.report.skipped.push(format!(
            "{} without a target message id",
            m.kind.as_deref().unwrap_or("")
        ));
        return Ok(true);
    };
    match messages::update_by_source(conn, ctx.inbox.id, target, &update)? {
        messages::UpdateOutcome::Applied => ctx.report.updates_applied += 1,
        messages::UpdateOutcome::Pending => {
            ctx.seen.mark_waiting(ctx.inbox.id, target);
            ctx.report.updates_pending += 1
        }
    }
    Ok(true)
}

/// Stores one built message in the contact's conversation and queues its media downloads.
#[allow(clippy::too_many_arguments)]
fn store(
    conn: &mut PgConnection,
    ctx: &mut Ctx,
    m: &Message,
    identity: &Identity,
    profile: &ProfileInfo,
    kind: i16,
    status: &str,
    built: Built,
    extra_attrs: Map<String, Value>,
) -> AppResult<()> {
    let Some(wamid) = m.id.clone() else {
        ctx.report.skipped.push("message without id".into());
        return Ok(());
    };
    if ctx.seen.stored(conn, ctx.inbox.id, &wamid)? {
        ctx.report.duplicates += 1;
        return Ok(());
    }
    if identity.is_empty() {
        ctx.report
            .skipped
            .push(format!("message {wamid} names no user"));
        return Ok(());
    }
    let at = payload::parse_timestamp(m.timestamp.as_deref());
    let profile = &ProfileInfo {
        message_at: Some(at),
        ..profile.clone()
    };
    // A contact created for this unit (`Seen::create_contacts`) is visible to no other
    // transaction and has no conversation yet: nothing to look up or lock.
    let (contact, contact_inbox, new_contact) = match ctx.seen.take_created(ctx.inbox.id, identity)
    {
        Some((contact, contact_inbox)) => (contact, contact_inbox, true),
        None => {
            let (contact, contact_inbox) =
                contacts::resolve(conn, ctx.inbox.account_id, ctx.inbox.id, identity, profile)?;
            (contact, contact_inbox, false)
        }
    };
    // The person's first message is still waiting (`Seen::defer`): write it, so that this
    // one finds its conversation.
    if !new_contact && ctx.seen.has_deferred(contact.id) {
        ctx.seen.write_deferred(conn)?;
    }
    let incoming = kind == message_type::INCOMING;
    let waiting = ctx.seen.may_have_waiting(ctx.inbox.id, &wamid);
    // A history import opens many old conversations at once: no email for those.
    let notify = !extra_attrs.contains_key("imported_from_history");
    let mut attrs = built.content_attributes;
    attrs.extend(extra_attrs);
    let reply_to = attrs
        .get("in_reply_to_external_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    // Its conversation is known below (or, deferred, when the unit's end writes it).
    let mut new = NewMessage {
        account_id: ctx.inbox.account_id,
        inbox_id: ctx.inbox.id,
        conversation_id: 0,
        message_type: kind,
        content: built.content,
        content_type: built.content_type,
        content_attributes: Value::Object(attrs),
        private: false,
        status: status.to_string(),
        source_id: Some(wamid.clone()),
        external_error: None,
        sender_type: incoming.then(|| "Contact".to_string()),
        sender_id: incoming.then_some(contact.id),
        created_at: at,
    };
    // A new person's plain first message waits for the unit's end, when the conversations and
    // messages of all of them are written with one statement each (`Seen::write_deferred`).
    if new_contact
        && incoming
        && !waiting
        && built.attachments.is_empty()
        && reply_to.is_none()
        && ctx.seen.may_defer(ctx.inbox.id, &wamid)
    {
        ctx.seen.defer(contact.id, contact_inbox.id, new);
        ctx.seen.mark_stored(ctx.inbox.id, &wamid);
        ctx.report.messages_created += 1;
        return Ok(());
    }
    let latest = if new_contact {
        None
    } else {
        conversations::latest(conn, ctx.inbox.id, contact.id)?
    };
    // Issue 13 (hours): a CSAT answer (and its comment) joins the surveyed conversation. Only
    // when the contact has no unresolved conversation (one takes the message): looked up only
    // when the latest one is resolved, so an ordinary message costs no CSAT query.
    let csat_target = match &latest {
        Some(c) if kind == message_type::INCOMING && c.status == "resolved" => {
            // An incoming message's attributes are its content's alone (no extra ones).
            let empty = Map::new();
            crate::domain::csat::answer_conversation(
                conn,
                ctx.inbox.id,
                contact.id,
                new.content_attributes.as_object().unwrap_or(&empty),
                new.content_type == "text" && built.attachments.is_empty(),
                at,
            )?
        }
        _ => None,
    };
    let (conversation, opened) = match (csat_target, latest) {
        (Some(c), _) => (c, false),
        (None, Some(c)) if conversations::takes_new_messages(&c) => (c, false),
        (None, _) => (
            conversations::open(
                conn,
                ctx.inbox.account_id,
                ctx.inbox.id,
                contact.id,
                contact_inbox.id,
                at,
                notify,
            )?,
            true,
        ),
    };
    if let Some(reply_to) = reply_to {
        // The original may be a first message still waiting (`Seen::defer`).
        ctx.seen.write_deferred(conn)?;
        if let Some(original) = messages::find_by_source(conn, ctx.inbox.id, &reply_to)? {
            if let Value::Object(attrs) = &mut new.content_attributes {
                attrs.insert("in_reply_to".into(), json!(original.id));
            }
        }
    }
    new.conversation_id = conversation.id;
    // A conversation this message opened holds nothing else while the unit's hooks (the
    // greeting, auto-assignment, rules: everything that could add a message, an assignee or
    // a participant) wait for the unit's end (`events::batched`).
    let untouched = opened && crate::domain::events::batching();
    let hints = messages::InsertHints {
        may_have_waiting: waiting,
        empty_conversation: untouched,
    };
    let inserted = messages::insert_if_new_hinted(conn, &new, &built.attachments, hints)?;
    ctx.seen.mark_stored(ctx.inbox.id, &wamid);
    let Some((stored, attachments)) = inserted else {
        ctx.report.duplicates += 1;
        return Ok(());
    };
    ctx.report.messages_created += 1;
    ctx.seen
        .record_message(conn, conversation.id, at, incoming)?;
    if incoming && notify && !untouched && !conversations::is_muted(&conversation) {
        // The assignee's and participants' bells (nothing when nobody); a muted conversation
        // notifies nobody (Chatwoot).
        ctx.seen.notify(conn, conversation.id, stored.id)?;
    }
    if !incoming {
        // An echo of a reply sent from the business's phone answers the customer.
        conversations::clear_waiting(conn, conversation.id)?;
    }
    // A contact made for this message already holds its time (`contacts::create_many`).
    if !new_contact {
        ctx.seen.touch(conn, contact.id, at)?;
    }
    for a in attachments.iter().filter(|a| a.media_id.is_some()) {
        jobs::enqueue(
            conn,
            jobs::MEDIA_DOWNLOAD,
            json!({"attachment_id": a.id}),
            8,
        )?;
    }
    Ok(())
}

fn incoming(
    conn: &mut PgConnection,
    ctx: &mut Ctx,
    m: &Message,
    contacts_info: &[ContactInfo],
) -> AppResult<()> {
    if message_update(conn, ctx, m, "Contact")? {
        return Ok(());
    }
    let (identity, profile) = identity_and_profile(
        contacts_info,
        m.from.as_deref(),
        m.from_user_id.as_deref(),
        m.from_parent_user_id.as_deref(),
    );
    if m.kind.as_deref() == Some("system") {
        return system(conn, ctx, m, &identity, &profile);
    }
    let built = content::build(m);
    store(
        conn,
        ctx,
        m,
        &identity,
        &profile,
        message_type::INCOMING,
        "sent",
        built,
        Map::new(),
    )
}

fn echo(
    conn: &mut PgConnection,
    ctx: &mut Ctx,
    m: &Message,
    contacts_info: &[ContactInfo],
) -> AppResult<()> {
    if message_update(conn, ctx, m, "User")? {
        return Ok(());
    }
    let (identity, profile) = identity_and_profile(
        contacts_info,
        m.to.as_deref(),
        m.to_user_id.as_deref(),
        m.to_parent_user_id.as_deref(),
    );
    let built = content::build(m);
    let mut extra = Map::new();
    extra.insert("external_echo".into(), json!(true));
    store(
        conn,
        ctx,
        m,
        &identity,
        &profile,
        message_type::OUTGOING,
        "sent",
        built,
        extra,
    )
}

fn history_message(
    conn: &mut PgConnection,
    ctx: &mut Ctx,
    m: &Message,
    identity: &Identity,
) -> AppResult<()> {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let from_business = m
        .from
        .as_deref()
        .is_some_and(|f| digits(f) == ctx.channel.display_digits());
    let status = m
        .rest
        .get("history_context")
        .and_then(|h| h.get("status"))
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .filter(|s| messages::status_rank(s) >= 1)
        .unwrap_or_else(|| "sent".into());
    let mut extra = Map::new();
    extra.insert("imported_from_history".into(), json!(true));
    if let Some(h) = m.rest.get("history_context") {
        extra.insert("history_context".into(), h.clone());
    }
    let built = content::build(m);
    let (kind, status) = if from_business {
        (message_type::OUTGOING, status)
    } else {
        (message_type::INCOMING, "sent".to_string())
    };
    store(
        conn,
        ctx,
        m,
        identity,
        &ProfileInfo::default(),
        kind,
        &status,
        built,
        extra,
    )
}

fn system(
    conn: &mut PgConnection,
    ctx: &mut Ctx,
    m: &Message,
    identity: &Identity,
    profile: &ProfileInfo,
) -> AppResult<()> {
    let body = m.body_object().cloned().unwrap_or(Value::Null);
    let system_type = body.get("type").and_then(Value::as_str).unwrap_or_default();
    let contact = match system_type {
        "user_changed_user_id" => match body.get("user_id").and_then(Value::as_str) {
            Some(new_bsuid) => contacts::rekey_bsuid(
                conn,
                ctx.inbox.id,
                identity.bsuid.as_deref(),
                new_bsuid,
                identity.phone.as_deref(),
            )?,
            None => None,
        },
        "user_changed_number" => {
            // Only a number with digits can be moved to; anything else is skipped below.
            let new_phone = body
                .get("wa_id")
                .and_then(Value::as_str)
                .filter(|p| p.chars().any(|c| c.is_ascii_digit()));
            match (new_phone, identity.is_empty()) {
                (Some(new_phone), false) => {
                    let (c, _) = contacts::resolve(
                        conn,
                        ctx.inbox.account_id,
                        ctx.inbox.id,
                        identity,
                        profile,
                    )?;
                    Some(contacts::change_phone(conn, ctx.inbox.id, c.id, new_phone)?)
                }
                _ => None,
            }
        }
        _ => None,
    };
    // The notice joins the contact's latest conversation; without one, the contact change is
    // the whole effect (the raw event stays in the journal).
    let contact_id = match contact {
        Some(c) => Some(c.id),
        None => identity
            .sources()
            .into_iter()
            .find_map(|(s, _)| {
                contacts::find_contact_inbox(conn, ctx.inbox.id, &s)
                    .ok()
                    .flatten()
            })
            .map(|ci| ci.contact_id),
    };
    let Some(contact_id) = contact_id else {
        ctx.report
            .skipped
            .push(format!("system message {system_type} for an unknown user"));
        return Ok(());
    };
    let Some(conversation) = conversations::latest_for_contact(conn, ctx.inbox.id, contact_id)?
    else {
        return Ok(());
    };
    let Some(wamid) = m.id.clone() else {
        return Ok(());
    };
    let at = payload::parse_timestamp(m.timestamp.as_deref());
    let new = NewMessage {
        account_id: ctx.inbox.account_id,
        inbox_id: ctx.inbox.id,
        conversation_id: conversation.id,
        message_type: message_type::ACTIVITY,
        content: body
            .get("body")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or(Some(format!("System: {system_type}"))),
        content_type: "text".into(),
        content_attributes: json!({"system": body}),
        private: false,
        status: "sent".into(),
        source_id: Some(wamid),
        external_error: None,
        sender_type: None,
        sender_id: None,
        created_at: at,
    };
    if messages::insert_if_new(conn, &new, &[])?.is_some() {
        ctx.report.messages_created += 1;
        ctx.seen.record_message(conn, conversation.id, at, false)?;
    }
    Ok(())
}

fn status(conn: &mut PgConnection, ctx: &mut Ctx, s: &Status) -> AppResult<()> {
    let (Some(wamid), Some(state)) = (s.id.as_deref(), s.status.as_deref()) else {
        ctx.report
            .skipped
            .push("status without id or status".into());
        return Ok(());
    };
    if messages::status_rank(state) < 1 {
        ctx.report
            .skipped
            .push(format!("status {state:?} for {wamid}"));
        tracing::info!(
            inbox_id = ctx.inbox.id,
            status = state,
            "status value not tracked"
        );
        return Ok(());
    }
    let first_error = s.errors.first();
    let update = MessageUpdate::Status {
        status: state.to_string(),
        timestamp: payload::parse_timestamp(s.timestamp.as_deref()).timestamp(),
        error: first_error.map(|e| e.summary()),
        error_details: first_error.and_then(|e| e.details().map(str::to_string)),
    };
    // A send whose Graph answer was lost (a crash or a timeout) is identified by the
    // callback data the send job put on it, so it is not sent again.
    if let Some(message_id) = s
        .biz_opaque_callback_data
        .as_deref()
        .and_then(crate::jobs::send::message_id_from_callback)
    {
        if !messages::exists(conn, ctx.inbox.id, wamid)? {
            if let Some(m) = messages::find(conn, message_id)? {
                if m.inbox_id == ctx.inbox.id
                    && m.source_id.is_none()
                    && m.message_type == message_type::OUTGOING
                {
                    messages::record_sent(conn, m.id, wamid, update_timestamp(&update))?;
                    ctx.seen.mark_stored(ctx.inbox.id, wamid);
                    tracing::info!(
                        message_id,
                        wamid,
                        "status webhook identified a message whose send answer was lost"
                    );
                }
            }
        }
    }
    match messages::update_by_source(conn, ctx.inbox.id, wamid, &update)? {
        messages::UpdateOutcome::Applied => ctx.report.updates_applied += 1,
        messages::UpdateOutcome::Pending => {
            ctx.seen.mark_waiting(ctx.inbox.id, wamid);
            ctx.report.updates_pending += 1
        }
    }
    Ok(())
}

fn update_timestamp(update: &MessageUpdate) -> i64 {
    match update {
        MessageUpdate::Status { timestamp, .. } => *timestamp,
        _ => chrono::Utc::now().timestamp(),
    }
}

fn state_sync(conn: &mut PgConnection, ctx: &mut Ctx, item: &StateSyncItem) -> AppResult<()> {
    let Some(c) = item
        .contact
        .as_ref()
        .filter(|_| item.kind.as_deref().unwrap_or("contact") == "contact")
    else {
        ctx.report
            .skipped
            .push(format!("state_sync item of type {:?}", item.kind));
        return Ok(());
    };
    let identity = Identity::new(c.phone_number.as_deref(), c.user_id.as_deref(), None);
    if identity.is_empty() {
        ctx.report
            .skipped
            .push("state_sync contact without phone or user_id".into());
        return Ok(());
    }
    let name = c
        .full_name
        .clone()
        .or_else(|| c.first_name.clone())
        .filter(|n| !n.trim().is_empty());
    match item.action.as_deref().unwrap_or("add") {
        "remove" => {
            let found = identity.sources().into_iter().find_map(|(s, _)| {
                contacts::find_contact_inbox(conn, ctx.inbox.id, &s)
                    .ok()
                    .flatten()
            });
            if let Some(ci) = found {
                // Conversations are kept: the contact only leaves the Business app address book.
                contacts::merge_additional_attributes(
                    conn,
                    ci.contact_id,
                    json!({"in_business_app_address_book": false}),
                )?;
            }
        }
        _ => {
            let profile = ProfileInfo {
                name: name.clone(),
                username: None,
                message_at: None,
            };
            let (contact, _) = contacts::resolve(
                conn,
                ctx.inbox.account_id,
                ctx.inbox.id,
                &identity,
                &profile,
            )?;
            if let Some(n) = &name {
                contacts::rename(conn, contact.id, n)?;
            }
            contacts::merge_additional_attributes(
                conn,
                contact.id,
                json!({"in_business_app_address_book": true}),
            )?;
        }
    }
    Ok(())
}
