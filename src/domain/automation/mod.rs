//! Automation rules (Chatwoot's `automation_rules`): an event → conditions → actions.
//!
//! - **Events** (`event_name`): `conversation_created`, `conversation_updated` (status,
//!   assignee, team, priority, labels, custom attributes changed), `conversation_opened`,
//!   `conversation_resolved`, `message_created` (incoming and outgoing messages, not private
//!   notes or activity lines), and ours, time-based: `conversation_unanswered`, a conversation
//!   open with the customer waiting (`waiting_since`) for at least `unanswered_minutes`;
//!   `sla_missed`: a deadline of the conversation's SLA was missed (`domain::sla`).
//! - **Conditions**: see [`conditions`]. **Actions**: see [`actions`].
//! - **Durable trigger:** `events::store` calls [`enqueue_for_events`] in the transaction of
//!   the change, once for all the events it stores (an ingest unit's, or one); it queues one
//!   `automation` job per event only when the account has an active rule for it (one
//!   conditional INSERT, no row when none). The worker
//!   (`jobs::automation`) runs [`run_trigger`]. Time-based rules are found by [`sweep`]
//!   (every 30 s); `automation_fires`' primary key makes each fire once per conversation per
//!   unanswered stretch, whatever the number of processes. The rules themselves come parsed
//!   from a per-process cache checked against the account's rules version ([`rule_cache`]).
//! - **Loop guard:** while a rule's actions run, a thread-local context holds the run's
//!   depth and the chain of rules that led to it; the events those actions emit queue jobs
//!   carrying `depth + 1` and the chain. A rule never runs on an event its own actions (or a
//!   rule it triggered) caused, and nothing is queued past [`MAX_DEPTH`].
//! - **Run log:** every rule that matched writes an `automation_runs` row (what it did, or
//!   the error; a failed rule's actions roll back together).
//!
//! Actions of rules run as the "Automation System" user ([`system_viewer`]), so activity
//! lines read "… by Automation System".

pub mod actions;
pub mod conditions;
pub mod macros;
pub mod rule_cache;

use crate::db::prepared::Prepare;
use crate::db::schema::{automation_rules as rules, automation_runs as runs, users};
use crate::domain::accounts::{Role, Viewer};
use crate::error::{AppError, AppResult};
use actions::{Action, RunSettings};
use chrono::{DateTime, Utc};
use conditions::Condition;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Jsonb, Text};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::sync::Arc;

/// Job kind of a rule run (payload: a [`Trigger`]).
pub const JOB_KIND: &str = "automation";
/// Attempts of an automation job (a database error retries it; a failing action does not).
pub const MAX_ATTEMPTS: i32 = 5;
/// Events caused by automation actions nest at most this deep.
pub const MAX_DEPTH: i32 = 3;
/// Longest rule name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Time-based event: open and unanswered for `unanswered_minutes`.
pub const UNANSWERED: &str = "conversation_unanswered";

/// Every event a rule may name, with a label for the editor.
pub const EVENTS: &[(&str, &str)] = &[
    ("message_created", "Message created"),
    ("conversation_created", "Conversation created"),
    ("conversation_updated", "Conversation updated"),
    ("conversation_opened", "Conversation opened"),
    ("conversation_resolved", "Conversation resolved"),
    (UNANSWERED, "Open and unanswered for N minutes"),
    ("sla_missed", "SLA missed"),
];

/// An `automation_rules` row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = rules)]
pub struct Rule {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: String,
    pub event_name: String,
    pub conditions: Value,
    pub actions: Value,
    pub active: bool,
    pub unanswered_minutes: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Rule {
    /// The stored conditions (validated on save).
    pub fn condition_list(&self) -> Vec<Condition> {
        serde_json::from_value(self.conditions.clone()).unwrap_or_default()
    }
    /// The stored actions (validated on save).
    pub fn action_list(&self) -> Vec<Action> {
        serde_json::from_value(self.actions.clone()).unwrap_or_default()
    }
}

/// An `automation_runs` row: one rule run.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = runs)]
pub struct Run {
    pub id: i64,
    pub rule_id: i64,
    pub account_id: i64,
    pub conversation_id: Option<i64>,
    pub event_name: String,
    /// `done` or `failed`.
    pub outcome: String,
    /// One line per action.
    pub actions_done: Value,
    pub error: Option<String>,
    pub depth: i32,
    pub created_at: DateTime<Utc>,
}

/// Chatwoot's `automation_rule` object: `id, account_id, name, description, event_name,
/// conditions, actions, active, created_on` (unix seconds), plus ours: `unanswered_minutes`.
pub fn to_json(r: &Rule) -> Value {
    json!({
        "id": r.id,
        "account_id": r.account_id,
        "name": r.name,
        "description": r.description,
        "event_name": r.event_name,
        "conditions": r.conditions,
        "actions": r.actions,
        "active": r.active,
        "unanswered_minutes": r.unanswered_minutes,
        "created_on": r.created_at.timestamp(),
        "updated_at": r.updated_at.timestamp(),
    })
}

/// A run as the API shows it: `conversation_id` is the conversation's `display_id` (its
/// number in the account, as everywhere in the API; null once the conversation is deleted),
/// `created_at` unix seconds.
pub fn run_json((r, display_id): &(Run, Option<i32>)) -> Value {
    json!({
        "id": r.id,
        "rule_id": r.rule_id,
        "conversation_id": display_id,
        "event_name": r.event_name,
        "outcome": r.outcome,
        "actions_done": r.actions_done,
        "error": r.error,
        "depth": r.depth,
        "created_at": r.created_at.timestamp(),
    })
}

fn text_of(body: &Map<String, Value>, f: &str) -> AppResult<Option<String>> {
    match body.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(AppError::invalid(f, format!("{f} must be a string"))),
    }
}

/// A validated rule: `(name, description, event_name, conditions, actions, active,
/// unanswered_minutes)`.
pub type Validated = (String, String, String, Value, Value, bool, Option<i32>);

/// Reads a JSON object's `name`, `description`, `event_name`, `conditions`, `actions`,
/// `active`, `unanswered_minutes` over `current` (create: `None`). Errors: 422 naming the
/// field: `name` (blank, over 255 characters), `description` (over 1000), `event_name`
/// (unknown), `unanswered_minutes` (required 1–43200 for `conversation_unanswered`),
/// `active` (not a boolean), and the conditions' and actions' fields.
pub fn validate(
    conn: &mut PgConnection,
    account_id: i64,
    body: &Map<String, Value>,
    current: Option<&Rule>,
    allow_http: bool,
) -> AppResult<Validated> {
    let name = match text_of(body, "name")? {
        Some(n) => n,
        None => current.map(|c| c.name.clone()).unwrap_or_default(),
    };
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.contains('\0') {
        return Err(AppError::invalid(
            "name",
            format!("name must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    let description = match text_of(body, "description")? {
        Some(d) => d,
        None => current.map(|c| c.description.clone()).unwrap_or_default(),
    };
    if description.chars().count() > 1000 || description.contains('\0') {
        return Err(AppError::invalid(
            "description",
            "description must be at most 1000 characters",
        ));
    }
    let event_name = match text_of(body, "event_name")? {
        Some(e) => e,
        None => current.map(|c| c.event_name.clone()).unwrap_or_default(),
    };
    if !EVENTS.iter().any(|(e, _)| *e == event_name) {
        return Err(AppError::invalid(
            "event_name",
            format!(
                "event_name must be one of {}",
                EVENTS
                    .iter()
                    .map(|(e, _)| *e)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let conditions = match body.get("conditions") {
        Some(v) => conditions::parse(v)?,
        None => current.map(Rule::condition_list).unwrap_or_default(),
    };
    let actions = match body.get("actions") {
        Some(v) => actions::parse(conn, account_id, v, allow_http)?,
        None => match current {
            Some(c) => c.action_list(),
            None => return Err(AppError::invalid("actions", "actions are required")),
        },
    };
    let active = match body.get("active") {
        None | Some(Value::Null) => current.map(|c| c.active).unwrap_or(true),
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(AppError::invalid("active", "active must be true or false")),
    };
    let minutes = match body.get("unanswered_minutes") {
        None => current.and_then(|c| c.unanswered_minutes),
        Some(Value::Null) => None,
        Some(v) => {
            let n = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            match n {
                Some(n) if (1..=43_200).contains(&n) => Some(n as i32),
                _ => {
                    return Err(AppError::invalid(
                        "unanswered_minutes",
                        "unanswered_minutes must be a whole number from 1 to 43200",
                    ))
                }
            }
        }
    };
    let minutes = if event_name == UNANSWERED {
        if minutes.is_none() {
            return Err(AppError::invalid(
                "unanswered_minutes",
                "a conversation_unanswered rule needs unanswered_minutes (1 to 43200)",
            ));
        }
        minutes
    } else {
        None
    };
    Ok((
        name,
        description,
        event_name,
        serde_json::to_value(conditions).map_err(|e| AppError::Internal(e.to_string()))?,
        serde_json::to_value(actions).map_err(|e| AppError::Internal(e.to_string()))?,
        active,
        minutes,
    ))
}

/// The account's rules, oldest first.
pub fn list(conn: &mut PgConnection, account_id: i64) -> AppResult<Vec<Rule>> {
    Ok(rules::table
        .filter(rules::account_id.eq(account_id))
        .order(rules::id)
        .select(Rule::as_select())
        .load(conn)?)
}

/// One rule of the account. Errors: 404 (also for another account's id).
pub fn find(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<Rule> {
    rules::table
        .filter(rules::account_id.eq(account_id))
        .filter(rules::id.eq(id))
        .select(Rule::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("automation rule {id} not found")))
}

/// Creates a rule from a JSON body (see [`validate`]). Errors: 422 naming the field.
pub fn create(
    conn: &mut PgConnection,
    account_id: i64,
    body: &Map<String, Value>,
    allow_http: bool,
) -> AppResult<Rule> {
    let (name, description, event_name, conds, acts, active, minutes) =
        validate(conn, account_id, body, None, allow_http)?;
    Ok(diesel::insert_into(rules::table)
        .values((
            rules::account_id.eq(account_id),
            rules::name.eq(name),
            rules::description.eq(description),
            rules::event_name.eq(event_name),
            rules::conditions.eq(conds),
            rules::actions.eq(acts),
            rules::active.eq(active),
            rules::unanswered_minutes.eq(minutes),
        ))
        .returning(Rule::as_returning())
        .get_result(conn)?)
}

/// Changes the given fields of a rule (see [`validate`]). Errors: 404; 422 naming the field.
pub fn update(
    conn: &mut PgConnection,
    account_id: i64,
    id: i64,
    body: &Map<String, Value>,
    allow_http: bool,
) -> AppResult<Rule> {
    let current = find(conn, account_id, id)?;
    let (name, description, event_name, conds, acts, active, minutes) =
        validate(conn, account_id, body, Some(&current), allow_http)?;
    Ok(diesel::update(rules::table.find(id))
        .set((
            rules::name.eq(name),
            rules::description.eq(description),
            rules::event_name.eq(event_name),
            rules::conditions.eq(conds),
            rules::actions.eq(acts),
            rules::active.eq(active),
            rules::unanswered_minutes.eq(minutes),
            rules::updated_at.eq(Utc::now()),
        ))
        .returning(Rule::as_returning())
        .get_result(conn)?)
}

/// Deletes a rule and its run log. Errors: 404.
pub fn delete(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<()> {
    find(conn, account_id, id)?;
    diesel::delete(rules::table.find(id)).execute(conn)?;
    Ok(())
}

/// The rule's latest runs, newest first, at most `limit`, each with its conversation's
/// `display_id` (none once the conversation is deleted). Errors: 404 for an unknown rule.
pub fn runs_of(
    conn: &mut PgConnection,
    account_id: i64,
    rule_id: i64,
    limit: i64,
) -> AppResult<Vec<(Run, Option<i32>)>> {
    use crate::db::schema::conversations;
    find(conn, account_id, rule_id)?;
    let list: Vec<Run> = runs::table
        .filter(runs::rule_id.eq(rule_id))
        .order(runs::id.desc())
        .limit(limit)
        .select(Run::as_select())
        .load(conn)?;
    let ids: Vec<i64> = list.iter().filter_map(|r| r.conversation_id).collect();
    let numbers: std::collections::HashMap<i64, i32> = conversations::table
        .filter(conversations::id.eq_any(&ids))
        .filter(conversations::account_id.eq(account_id))
        .select((conversations::id, conversations::display_id))
        .load::<(i64, i32)>(conn)?
        .into_iter()
        .collect();
    Ok(list
        .into_iter()
        .map(|r| {
            let n = r.conversation_id.and_then(|id| numbers.get(&id).copied());
            (r, n)
        })
        .collect())
}

/// Email of the one "Automation System" user (no account, no password: cannot sign in).
pub const SYSTEM_EMAIL: &str = "automation@switchboard.invalid";
/// Its name, as activity lines show it (Chatwoot's wording).
pub const SYSTEM_NAME: &str = "Automation System";

/// The viewer rules act as: the "Automation System" user (created on first use), as an
/// administrator of `account_id` (sees every inbox).
pub fn system_viewer(conn: &mut PgConnection, account_id: i64) -> AppResult<Viewer> {
    let found: Option<i64> = users::table
        .filter(users::email.eq(SYSTEM_EMAIL))
        .select(users::id)
        .first(conn)
        .optional()?;
    let user_id = match found {
        Some(id) => id,
        None => {
            diesel::sql_query(
                "INSERT INTO users (name, email, encrypted_password, access_token_digest) \
                 VALUES ($1, $2, '!', $3) ON CONFLICT DO NOTHING",
            )
            .bind::<Text, _>(SYSTEM_NAME)
            .bind::<Text, _>(SYSTEM_EMAIL)
            .bind::<Text, _>(format!("!automation-{}", crate::crypto::random_hex(16)))
            .prepared()
            .execute(conn)?;
            users::table
                .filter(users::email.eq(SYSTEM_EMAIL))
                .select(users::id)
                .first(conn)?
        }
    };
    Ok(Viewer {
        user_id,
        account_id,
        role: Role::Administrator,
    })
}

// ------------------------------------------------------------------------------------------
// The trigger: from domain events to jobs.

/// What happened that rules may act on, and the loop guard's state: one item of an
/// `automation` job ([`JobPayload`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Trigger {
    pub account_id: i64,
    /// `conversations.id`.
    pub conversation_id: i64,
    /// Automation event names (one domain event may be two, e.g. updated and resolved).
    pub events: Vec<String>,
    /// The event's message, for `message_created`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    /// 0 for a person's or customer's event; n+1 for an event a run of depth n caused.
    /// (Defaults are left out of a stored job: a unit's job holds 100 triggers.)
    #[serde(default, skip_serializing_if = "is_zero")]
    pub depth: i32,
    /// The rules whose actions led to this event: they are not run again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<i64>,
    /// Time-based fires name their one rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<i64>,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// The payload of an `automation` job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum JobPayload {
    /// `{"triggers": [Trigger, …]}`: the triggers of one ingest unit or one change
    /// ([`enqueue_for_events`]), run in order; `jobs.progress` counts those done.
    Batch { triggers: Vec<Trigger> },
    /// One trigger: a time-based fire ([`sweep`]), or a job queued before batches.
    One(Trigger),
}

impl JobPayload {
    /// The triggers, in the order they run.
    pub fn into_triggers(self) -> Vec<Trigger> {
        match self {
            JobPayload::Batch { triggers } => triggers,
            JobPayload::One(t) => vec![t],
        }
    }
}

#[derive(Clone)]
struct Guard {
    depth: i32,
    chain: Vec<i64>,
}

thread_local! {
    static RUNNING: RefCell<Option<Guard>> = const { RefCell::new(None) };
}

/// The rule whose actions run on this thread now (the last of the guard's chain), if any.
pub fn running_rule() -> Option<i64> {
    RUNNING.with(|r| r.borrow().as_ref().and_then(|g| g.chain.last().copied()))
}

/// Runs `f` with the loop guard's context set (events emitted inside carry it).
fn with_guard<T>(depth: i32, chain: Vec<i64>, f: impl FnOnce() -> T) -> T {
    struct Reset(Option<Guard>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let prev = self.0.take();
            RUNNING.with(|r| *r.borrow_mut() = prev);
        }
    }
    let prev = RUNNING.with(|r| r.borrow_mut().replace(Guard { depth, chain }));
    let _reset = Reset(prev);
    f()
}

/// The automation events a domain event (`events::*` name and payload) stands for.
pub fn automation_events(name: &str, payload: &Value) -> Vec<&'static str> {
    use crate::domain::events as ev;
    match name {
        ev::CONVERSATION_CREATED => vec!["conversation_created"],
        ev::MESSAGE_CREATED => {
            let t = payload["message_type"].as_i64();
            let private = payload["private"].as_bool().unwrap_or(false);
            if (t == Some(0) || t == Some(1)) && !private {
                vec!["message_created"]
            } else {
                vec![]
            }
        }
        ev::CONVERSATION_STATUS_CHANGED => match payload["status"].as_str() {
            Some("resolved") => vec!["conversation_updated", "conversation_resolved"],
            Some("open") => vec!["conversation_updated", "conversation_opened"],
            _ => vec!["conversation_updated"],
        },
        ev::CONVERSATION_UPDATED | ev::ASSIGNEE_CHANGED => vec!["conversation_updated"],
        crate::domain::sla::SLA_MISSED => vec!["sla_missed"],
        _ => vec![],
    }
}

/// Queues an `automation` job for one domain event when it stands for an automation event
/// and the account has an active rule for it ([`enqueue_for_events`] with one event: one
/// conditional `INSERT … SELECT … WHERE EXISTS`, an index probe on
/// `automation_rules (account_id, event_name) WHERE active`; no row when no rule). Events
/// that are no automation event (statuses of messages, presence, notes…) cost nothing.
/// Inside a rule's actions the job carries the loop guard (depth + 1, the chain); past
/// [`MAX_DEPTH`] nothing is queued. Returns whether a job was queued.
pub fn enqueue_for_event(
    conn: &mut PgConnection,
    account_id: i64,
    conversation_id: Option<i64>,
    name: &str,
    payload: &Value,
) -> AppResult<bool> {
    let Some(conversation_id) = conversation_id else {
        return Ok(false);
    };
    Ok(enqueue_for_events(conn, &[(account_id, conversation_id, name, payload)])? > 0)
}

/// One event for [`enqueue_for_events`]: `(account_id, conversation_id, domain event name,
/// payload)`.
pub type RuleEvent<'a> = (i64, i64, &'a str, &'a Value);

/// [`enqueue_for_event`] for many events in ONE statement that writes ONE job row: the
/// events of an ingest unit (`events::store`, up to a unit's 100 deliveries' worth) and of a
/// bulk action. The job ([`JobPayload::Batch`]) lists a [`Trigger`] for every event that
/// stands for an automation event and whose account has an active rule for it, in the
/// events' order; no row when there is none. Returns how many triggers were queued.
///
/// One row instead of one per event (issue 13: "rules add ≤ 2 ms p99 to ingest per
/// message"): a unit of 100 messages paid 100 index-maintained job rows (1.7 ms p50, 4.4 ms
/// p99 under `scripts/bench-rules`, which prints this statement's time per unit), and the
/// rule worker paid a claim and a completion per message. The worker runs the list in order,
/// one transaction per trigger (`jobs::automation::run_triggers`).
pub fn enqueue_for_events(conn: &mut PgConnection, events: &[RuleEvent<'_>]) -> AppResult<usize> {
    #[derive(QueryableByName)]
    struct Queued {
        #[diesel(sql_type = Integer)]
        n: i32,
    }
    let Some(triggers) = triggers_of(events) else {
        return Ok(0);
    };
    let mut accounts = Vec::with_capacity(triggers.len());
    let mut names = Vec::with_capacity(triggers.len());
    let mut payloads = Vec::with_capacity(triggers.len());
    for t in triggers {
        accounts.push(t.account_id);
        // The automation event names, comma-separated (no name holds a comma).
        names.push(t.events.join(","));
        payloads.push(serde_json::to_value(t).map_err(|e| AppError::Internal(e.to_string()))?);
    }
    let queued: Option<Queued> = diesel::sql_query(
        "INSERT INTO jobs (kind, payload, max_attempts) \
         SELECT $1, jsonb_build_object('triggers', jsonb_agg(t.p ORDER BY t.ord)), $2 \
         FROM unnest($3::jsonb[], $4::int8[], $5::text[]) WITH ORDINALITY AS t(p, account_id, names, ord) \
         WHERE EXISTS (SELECT 1 FROM automation_rules r \
           WHERE r.account_id = t.account_id AND r.active \
             AND r.event_name = ANY (string_to_array(t.names, ','))) \
         HAVING count(*) > 0 \
         RETURNING jsonb_array_length(payload->'triggers') AS n",
    )
    .bind::<Text, _>(JOB_KIND)
    .bind::<Integer, _>(MAX_ATTEMPTS)
    .bind::<Array<Jsonb>, _>(payloads)
    .bind::<Array<BigInt>, _>(accounts)
    .bind::<Array<Text>, _>(names)
    .prepared()
    .get_result(conn)
    .optional()?;
    Ok(queued.map_or(0, |q| q.n as usize))
}

/// [`enqueue_for_events`] for events already known to have an active rule of their account
/// (`events::store` reads that in the statement that stores them): no second look at
/// `automation_rules`, and the job's payload is built here and sent as ONE `jsonb` value, so
/// the statement is one plain single-row `INSERT` (issue 13: "rules add ≤ 2 ms p99 to ingest
/// per message"; the per-event arrays, `unnest`, the probe per event and `jsonb_agg` of
/// [`enqueue_for_events`] cost 2.7 ms p50, 7.0 ms p99 per unit of 100 under
/// `scripts/bench-rules`). A rule turned off in between costs the worker one look and no run.
/// Events that stand for no automation event are skipped, as there. Returns how many
/// triggers were queued (0: no row).
pub fn enqueue_matched(conn: &mut PgConnection, events: &[RuleEvent<'_>]) -> AppResult<usize> {
    let Some(triggers) = triggers_of(events) else {
        return Ok(0);
    };
    let n = triggers.len();
    let payload = serde_json::to_value(JobPayload::Batch { triggers })
        .map_err(|e| AppError::Internal(e.to_string()))?;
    diesel::sql_query("INSERT INTO jobs (kind, payload, max_attempts) VALUES ($1, $2, $3)")
        .bind::<Text, _>(JOB_KIND)
        .bind::<Jsonb, _>(payload)
        .bind::<Integer, _>(MAX_ATTEMPTS)
        .prepared()
        .execute(conn)?;
    Ok(n)
}

/// The [`Trigger`]s of `events` (those that stand for an automation event), carrying the
/// loop guard of the rule running on this thread, if any; `None` when there is none or when
/// the guard is past [`MAX_DEPTH`].
fn triggers_of(events: &[RuleEvent<'_>]) -> Option<Vec<Trigger>> {
    let guard = RUNNING.with(|r| r.borrow().clone());
    let (depth, chain) = match guard {
        Some(g) => (g.depth + 1, g.chain),
        None => (0, vec![]),
    };
    if depth > MAX_DEPTH {
        return None;
    }
    let triggers: Vec<Trigger> = events
        .iter()
        .filter_map(|(account_id, conversation_id, name, payload)| {
            let evs = automation_events(name, payload);
            if evs.is_empty() {
                return None;
            }
            Some(Trigger {
                account_id: *account_id,
                conversation_id: *conversation_id,
                events: evs.iter().map(|e| e.to_string()).collect(),
                message_id: payload["message_id"]
                    .as_i64()
                    .filter(|_| *name == crate::domain::events::MESSAGE_CREATED),
                depth,
                chain: chain.clone(),
                rule_id: None,
            })
        })
        .collect();
    (!triggers.is_empty()).then_some(triggers)
}

// ------------------------------------------------------------------------------------------
// The engine.

/// The facts conditions see, for `conversation_id` and the event's message.
pub fn facts(
    conn: &mut PgConnection,
    conversation_id: i64,
    message_id: Option<i64>,
) -> AppResult<(
    crate::domain::conversations::Conversation,
    conditions::Facts,
)> {
    use crate::db::schema::{contacts, messages};
    let c = crate::domain::conversations::find_by_id(conn, conversation_id)?;
    let (cname, email, phone, cattrs): (String, Option<String>, Option<String>, Value) =
        contacts::table
            .find(c.contact_id)
            .select((
                contacts::name,
                contacts::email,
                contacts::phone_number,
                contacts::custom_attributes,
            ))
            .first(conn)?;
    let message: Option<(Option<String>, i16)> = match message_id {
        Some(id) => messages::table
            .find(id)
            .select((messages::content, messages::message_type))
            .first(conn)
            .optional()?,
        None => messages::table
            .filter(messages::conversation_id.eq(c.id))
            .filter(messages::message_type.eq(0i16))
            .order(messages::id.desc())
            .select((messages::content, messages::message_type))
            .first(conn)
            .optional()?,
    };
    let facts = conditions::Facts {
        inbox_id: c.inbox_id,
        status: c.status.clone(),
        priority: c.priority.clone(),
        labels: c.labels.clone(),
        assignee_id: c.assignee_id,
        team_id: c.team_id,
        content: message.as_ref().and_then(|m| m.0.clone()),
        message_type: match (message_id, message.as_ref().map(|m| m.1)) {
            (Some(_), Some(0)) => Some("incoming".into()),
            (Some(_), Some(_)) => Some("outgoing".into()),
            _ => None,
        },
        contact_name: cname,
        contact_email: email,
        contact_phone: phone,
        contact_attributes: cattrs,
        conversation_attributes: c.custom_attributes.clone(),
        last_incoming_at: c.last_incoming_at,
        now: Utc::now(),
        business_hours_open: crate::domain::inbox_hours::get(conn, c.account_id, c.inbox_id)?
            .schedule()
            .is_open(Utc::now()),
    };
    Ok((c, facts))
}

/// Runs the account's active rules for `t` (or its one time-based rule): each rule whose
/// conditions hold runs its actions in a savepoint of one transaction, as the Automation
/// System, with the loop guard set; each writes an `automation_runs` row (`done`, or
/// `failed` with the error, its actions rolled back). Rules in `t.chain` are skipped.
/// Returns the runs written. Errors: the database only.
pub fn run_trigger(
    conn: &mut PgConnection,
    t: &Trigger,
    settings: RunSettings,
) -> AppResult<Vec<Run>> {
    conn.transaction(|conn| run_trigger_in(conn, t, settings))
}

/// [`run_trigger`] inside the caller's transaction (the batch worker commits each trigger's
/// runs together with the job's progress).
pub fn run_trigger_in(
    conn: &mut PgConnection,
    t: &Trigger,
    settings: RunSettings,
) -> AppResult<Vec<Run>> {
    let all = rule_cache::active_rules(conn, t.account_id)?;
    let found: Vec<&Arc<rule_cache::Compiled>> = all
        .iter()
        .filter(|c| t.events.contains(&c.rule.event_name))
        .filter(|c| t.rule_id.is_none_or(|id| c.rule.id == id))
        .filter(|c| !t.chain.contains(&c.rule.id))
        .collect();
    if found.is_empty() {
        return Ok(vec![]);
    }
    let viewer = system_viewer(conn, t.account_id)?;
    let mut out_runs = vec![];
    let mut known: Option<(
        crate::domain::conversations::Conversation,
        conditions::Facts,
    )> = None;
    for compiled in found {
        let rule = &compiled.rule;
        // Facts are read again after a rule ran: it may have changed the conversation.
        if known.is_none() {
            match facts(conn, t.conversation_id, t.message_id) {
                Ok(v) => known = Some(v),
                Err(_) => break,
            }
        }
        let Some((c, f)) = known.as_ref() else { break };
        let c = c.clone();
        if c.account_id != t.account_id || !conditions::matches(&compiled.conditions, f) {
            continue;
        }
        known = None;
        let mut chain = t.chain.clone();
        chain.push(rule.id);
        let acts = &compiled.actions;
        let result = with_guard(t.depth, chain, || {
            conn.transaction(|conn| {
                actions::execute(conn, &viewer, c.id, acts, settings, &rule.name)
            })
        });
        let event = t
            .events
            .iter()
            .find(|e| **e == rule.event_name)
            .cloned()
            .unwrap_or_default();
        let (outcome, done, error) = match result {
            Ok(done) => ("done", done, None),
            Err(e @ (AppError::DatabaseUnavailable(_) | AppError::Internal(_))) => return Err(e),
            Err(e) => ("failed", vec![], Some(e.to_string())),
        };
        let run: Run = diesel::insert_into(runs::table)
            .values((
                runs::rule_id.eq(rule.id),
                runs::account_id.eq(t.account_id),
                runs::conversation_id.eq(Some(c.id)),
                runs::event_name.eq(event),
                runs::outcome.eq(outcome),
                runs::actions_done.eq(json!(done)),
                runs::error.eq(error),
                runs::depth.eq(t.depth),
            ))
            .returning(Run::as_returning())
            .get_result(conn)?;
        out_runs.push(run);
    }
    Ok(out_runs)
}

/// The time-based sweep: for every active `conversation_unanswered` rule, the open
/// conversations of its account whose customer has waited at least `unanswered_minutes`,
/// not yet fired for this stretch: records the fire in `automation_fires` (its primary key
/// `(rule_id, conversation_id, waiting_since)` makes it once, whatever the number of
/// processes sweeping) and queues one `automation` job per fire, all in ONE statement.
/// At most 500 fires per sweep. Returns the queued job ids.
pub fn sweep(conn: &mut PgConnection) -> AppResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let ids: Vec<Id> = diesel::sql_query(
        "WITH due AS ( \
           SELECT r.id AS rule_id, c.id AS conversation_id, c.account_id, c.waiting_since \
           FROM automation_rules r \
           JOIN conversations c ON c.account_id = r.account_id AND c.status = 'open' \
             AND c.waiting_since IS NOT NULL \
             AND c.waiting_since <= now() - make_interval(mins => r.unanswered_minutes) \
           WHERE r.active AND r.event_name = $1 AND r.unanswered_minutes IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM automation_fires f WHERE f.rule_id = r.id \
               AND f.conversation_id = c.id AND f.waiting_since = c.waiting_since) \
           ORDER BY c.waiting_since LIMIT 500), \
         fired AS ( \
           INSERT INTO automation_fires (rule_id, conversation_id, waiting_since) \
           SELECT rule_id, conversation_id, waiting_since FROM due \
           ON CONFLICT DO NOTHING RETURNING rule_id, conversation_id) \
         INSERT INTO jobs (kind, payload, max_attempts) \
         SELECT $2, jsonb_build_object('account_id', d.account_id, 'conversation_id', \
             f.conversation_id, 'events', jsonb_build_array($1::text), 'rule_id', f.rule_id, \
             'depth', 0, 'chain', '[]'::jsonb), $3 \
         FROM fired f JOIN due d ON d.rule_id = f.rule_id AND d.conversation_id = f.conversation_id \
         RETURNING id",
    )
    .bind::<Text, _>(UNANSWERED)
    .bind::<Text, _>(JOB_KIND)
    .bind::<Integer, _>(MAX_ATTEMPTS)
    .prepared()
    .load(conn)?;
    Ok(ids.into_iter().map(|i| i.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit's job holds up to 100 triggers, so what is the default is left out of it, and
    /// what a rule's own events carry (depth, chain) is kept; both read back as written, and
    /// so does a trigger stored before defaults were left out.
    #[test]
    fn triggers_leave_defaults_out_and_read_back_unchanged() {
        let plain = Trigger {
            account_id: 1,
            conversation_id: 2,
            events: vec!["message_created".into()],
            message_id: Some(3),
            ..Default::default()
        };
        let v = serde_json::to_value(&plain).unwrap();
        assert_eq!(
            v,
            json!({"account_id": 1, "conversation_id": 2, "events": ["message_created"], "message_id": 3})
        );
        assert_eq!(serde_json::from_value::<Trigger>(v).unwrap(), plain);
        let guarded = Trigger {
            depth: 2,
            chain: vec![7, 9],
            message_id: None,
            ..plain.clone()
        };
        let v = serde_json::to_value(&guarded).unwrap();
        assert_eq!(v["depth"], 2);
        assert_eq!(v["chain"], json!([7, 9]));
        assert!(v.get("message_id").is_none());
        assert_eq!(serde_json::from_value::<Trigger>(v).unwrap(), guarded);
        let older = json!({"account_id": 1, "conversation_id": 2, "events": ["message_created"],
            "message_id": 3, "depth": 0, "chain": [], "rule_id": null});
        assert_eq!(serde_json::from_value::<Trigger>(older).unwrap(), plain);
        let batch = serde_json::to_value(JobPayload::Batch {
            triggers: vec![plain.clone(), guarded.clone()],
        })
        .unwrap();
        assert_eq!(
            serde_json::from_value::<JobPayload>(batch)
                .unwrap()
                .into_triggers(),
            vec![plain, guarded]
        );
    }
}
