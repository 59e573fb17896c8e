//! SLA policies (issue 13): Chatwoot's `sla_policies`, `applied_slas` and `sla_events`.
//!
//! - **Policies** ([`Policy`]): a name, a description and three targets in seconds, each
//!   optional: first response (`first_response_time_threshold`), next response
//!   (`next_response_time_threshold`) and resolution (`resolution_time_threshold`); with
//!   `only_during_business_hours` they count only the open time of the conversation's inbox
//!   (`inbox_hours`, [`Schedule::add_business_time`]), else calendar time.
//! - **Applying** ([`apply`]): by the automation action `add_sla` (skipped when the
//!   conversation already has one, Chatwoot's rule) or by hand (`sla_policy_id` on the
//!   conversation update: replaces the applied SLA, or `null` removes it). A conversation has
//!   at most one applied SLA (`applied_slas.conversation_id` is unique).
//! - **Deadlines** ([`deadlines`], pure): first response (`frt`) = the time the SLA was
//!   applied + threshold, until the first human reply; next response (`nrt`) = the
//!   customer's oldest message not answered since the last human reply + threshold (only
//!   after a first reply); resolution (`rt`) = the conversation's creation + threshold,
//!   until resolved. A human reply is an outgoing message or template that is not private,
//!   not automated (`content_attributes.automated`: greeting, out of office, CSAT) and not
//!   sent by the Automation System user.
//! - **Stored next deadline:** `applied_slas.due_at/due_type/due_started_at` hold the
//!   nearest deadline not yet missed, `breached` whether a missed target is still unmet;
//!   [`recompute`] refreshes them when a message is created or the status changes (called by
//!   `events::insert` through [`on_event`]), when the SLA is applied and when its policy
//!   changes.
//! - **Breach** ([`process_due`], run by `jobs::sla`): claims applied SLAs whose `due_at`
//!   passed (`FOR UPDATE SKIP LOCKED`), records one `sla_events` row per missed deadline
//!   (unique `(applied_sla_id, event_type, started_at)`, so a miss is recorded once whatever
//!   the number of processes) and emits [`SLA_MISSED`] (webhooks `sla_missed`, the
//!   assignee's notification `sla_missed_first_response` / `sla_missed_next_response` /
//!   `sla_missed_resolution`, automation rules on `sla_missed`).
//! - **Status** (`sla_status`): `active`, `active_with_misses` while the conversation is not
//!   resolved; on resolve `hit` (no miss) or `missed`; a reopened conversation is active
//!   again.

use super::business_hours::Schedule;
use crate::db::prepared::Prepare;
use crate::db::schema::{
    applied_slas as applied, conversations, sla_events as sev, sla_policies as pol,
};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz};
use serde_json::{json, Map, Value};

/// The domain event of a missed deadline. Payload: `display_id`, `applied_sla` (the
/// [`applied_json`] object), `type` (`frt`, `nrt`, `rt`), `due_at` (unix seconds).
pub const SLA_MISSED: &str = "sla.missed";
/// The domain event of an SLA applied, removed or recomputed by a policy change (realtime
/// clients only). Payload: `display_id`, `sla_policy_id` (null when removed).
pub const SLA_UPDATED: &str = "sla.updated";

/// The values of `applied_slas.sla_status` (Chatwoot's): `active`, `active_with_misses` (a
/// deadline was missed and the conversation is still open), `hit`, `missed` (resolved).
pub const STATUSES: [&str; 4] = ["active", "active_with_misses", "hit", "missed"];

/// Longest policy name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
/// Largest threshold: 365 days, in seconds.
pub const MAX_THRESHOLD_SECONDS: i64 = 365 * 24 * 3600;
/// Local days [`Schedule::add_business_time`] may look ahead for a business-hours deadline.
pub const HORIZON_DAYS: i64 = 800;
/// Applied SLAs handled per [`process_due`] call.
pub const BATCH: i64 = 100;

/// Which target a deadline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// First response.
    Frt,
    /// Next response.
    Nrt,
    /// Resolution.
    Rt,
}

impl Kind {
    /// `frt`, `nrt` or `rt` (Chatwoot's `sla_events.event_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Frt => "frt",
            Kind::Nrt => "nrt",
            Kind::Rt => "rt",
        }
    }

    /// Parses [`Kind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "frt" => Kind::Frt,
            "nrt" => Kind::Nrt,
            "rt" => Kind::Rt,
            _ => return None,
        })
    }

    /// The chip's short label: `FRT`, `NRT`, `RT`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Frt => "FRT",
            Kind::Nrt => "NRT",
            Kind::Rt => "RT",
        }
    }

    /// The assignee's notification type (Chatwoot's).
    pub fn notification_type(self) -> &'static str {
        match self {
            Kind::Frt => "sla_missed_first_response",
            Kind::Nrt => "sla_missed_next_response",
            Kind::Rt => "sla_missed_resolution",
        }
    }
}

/// An `sla_policies` row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = pol)]
pub struct Policy {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: String,
    /// Seconds.
    pub first_response_time_threshold: Option<i64>,
    /// Seconds.
    pub next_response_time_threshold: Option<i64>,
    /// Seconds.
    pub resolution_time_threshold: Option<i64>,
    pub only_during_business_hours: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Policy {
    /// The policy's targets, for [`deadlines`].
    pub fn targets(&self) -> Targets {
        Targets {
            frt: self.first_response_time_threshold,
            nrt: self.next_response_time_threshold,
            rt: self.resolution_time_threshold,
            business_hours: self.only_during_business_hours,
        }
    }
}

/// An `applied_slas` row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = applied)]
pub struct AppliedSla {
    pub id: i64,
    pub account_id: i64,
    pub conversation_id: i64,
    pub sla_policy_id: i64,
    /// `active`, `hit`, `missed`, `active_with_misses`.
    pub sla_status: String,
    pub due_at: Option<DateTime<Utc>>,
    pub due_type: Option<String>,
    pub due_started_at: Option<DateTime<Utc>>,
    pub breached: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An `sla_events` row: one missed deadline.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = sev)]
pub struct SlaEvent {
    pub id: i64,
    pub applied_sla_id: i64,
    pub account_id: i64,
    pub conversation_id: i64,
    /// `frt`, `nrt`, `rt`.
    pub event_type: String,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

// ------------------------------------------------------------------------------------------
// Deadlines (pure).

/// A policy's targets in seconds, and whether they count business hours only.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Targets {
    pub frt: Option<i64>,
    pub nrt: Option<i64>,
    pub rt: Option<i64>,
    pub business_hours: bool,
}

/// What deadlines depend on in a conversation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeline {
    /// When the SLA was applied (the first response clock starts).
    pub applied_at: DateTime<Utc>,
    /// When the conversation was created (the resolution clock starts).
    pub created_at: DateTime<Utc>,
    /// The first human reply, if any.
    pub first_reply_at: Option<DateTime<Utc>>,
    /// The customer's oldest message after the last human reply (or after none), if any.
    pub unanswered_since: Option<DateTime<Utc>>,
    /// When the conversation was resolved, if it is.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// One deadline of an applied SLA.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deadline {
    pub kind: Kind,
    /// When its clock started (the once-only key of its miss).
    pub started_at: DateTime<Utc>,
    /// When it falls due; `None` when the inbox has no open time within [`HORIZON_DAYS`].
    pub due_at: Option<DateTime<Utc>>,
    /// When the target was met (reply or resolve); `None` while pending.
    pub met_at: Option<DateTime<Utc>>,
}

impl Deadline {
    /// True when it was (or, pending, is by `now`) missed.
    pub fn missed_by(&self, now: DateTime<Utc>) -> bool {
        match self.due_at {
            Some(due) => self.met_at.unwrap_or(now) > due,
            None => false,
        }
    }
}

/// `start` + `seconds`, in calendar time or in the open time of `schedule`.
pub fn due_after(
    start: DateTime<Utc>,
    seconds: i64,
    business_hours: bool,
    schedule: &Schedule,
) -> Option<DateTime<Utc>> {
    let d = Duration::seconds(seconds);
    if business_hours {
        schedule.add_business_time(start, d, HORIZON_DAYS)
    } else {
        Some(start + d)
    }
}

/// The deadlines of an SLA with `targets` on a conversation with `timeline` (see the module
/// documentation), met ones included (with `met_at`). `schedule` is the inbox's (open all
/// the time when its business hours are off).
pub fn deadlines(targets: &Targets, tl: &Timeline, schedule: &Schedule) -> Vec<Deadline> {
    let mut out = vec![];
    let due = |start, secs| due_after(start, secs, targets.business_hours, schedule);
    if let Some(secs) = targets.frt {
        let met = match (tl.first_reply_at, tl.resolved_at) {
            (Some(r), _) => Some(r.max(tl.applied_at)),
            (None, resolved) => resolved,
        };
        out.push(Deadline {
            kind: Kind::Frt,
            started_at: tl.applied_at,
            due_at: due(tl.applied_at, secs),
            met_at: met,
        });
    }
    if let (Some(secs), Some(_), Some(since)) =
        (targets.nrt, tl.first_reply_at, tl.unanswered_since)
    {
        let start = since.max(tl.applied_at);
        out.push(Deadline {
            kind: Kind::Nrt,
            started_at: start,
            due_at: due(start, secs),
            met_at: tl.resolved_at,
        });
    }
    if let Some(secs) = targets.rt {
        out.push(Deadline {
            kind: Kind::Rt,
            started_at: tl.created_at,
            due_at: due(tl.created_at, secs),
            met_at: tl.resolved_at,
        });
    }
    out
}

/// What the list and header show of an applied SLA.
#[derive(Debug, Clone, PartialEq)]
pub struct Chip {
    /// The nearest pending deadline not yet recorded as missed, and its kind.
    pub due: Option<(Kind, DateTime<Utc>)>,
    /// A missed target is still unmet.
    pub breached: bool,
    /// `active`, `hit`, `missed`, `active_with_misses`.
    pub status: String,
}

impl Chip {
    /// The chip's text at `now`: `Breached`, `FRT 14m`, `NRT 2h`, `RT 3d`; `None` when
    /// nothing is pending (met, or the conversation is resolved).
    pub fn text(&self, now: DateTime<Utc>) -> Option<String> {
        if self.breached {
            return Some("Breached".into());
        }
        let (kind, due) = self.due?;
        if due <= now {
            return Some("Breached".into());
        }
        Some(format!("{} {}", kind.label(), short_duration(due - now)))
    }
}

/// `45s`, `14m`, `2h`, `3d` (rounded up to the unit: a countdown never shows 0 early).
pub fn short_duration(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", (s + 59) / 60)
    } else if s < 86_400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

// ------------------------------------------------------------------------------------------
// Policies.

/// A policy as Chatwoot's API answers it: `id, name, description,
/// first_response_time_threshold, next_response_time_threshold, resolution_time_threshold
/// (seconds or null), only_during_business_hours`, plus `account_id`, `created_at`,
/// `updated_at` (unix seconds).
pub fn policy_json(p: &Policy) -> Value {
    json!({
        "id": p.id,
        "account_id": p.account_id,
        "name": p.name,
        "description": p.description,
        "first_response_time_threshold": p.first_response_time_threshold,
        "next_response_time_threshold": p.next_response_time_threshold,
        "resolution_time_threshold": p.resolution_time_threshold,
        "only_during_business_hours": p.only_during_business_hours,
        "created_at": p.created_at.timestamp(),
        "updated_at": p.updated_at.timestamp(),
    })
}

/// What a create or update sets; `None` leaves a field (`Some(None)` clears a threshold).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub frt: Option<Option<i64>>,
    pub nrt: Option<Option<i64>>,
    pub rt: Option<Option<i64>>,
    pub only_during_business_hours: Option<bool>,
}

fn threshold(body: &Map<String, Value>, key: &str) -> AppResult<Option<Option<i64>>> {
    let bad = || {
        AppError::invalid(
            key,
            format!("{key} must be a number of seconds from 1 to {MAX_THRESHOLD_SECONDS}, or null"),
        )
    };
    let secs = match body.get(key) {
        None => return Ok(None),
        Some(Value::Null) => return Ok(Some(None)),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(Some(None)),
        Some(Value::Number(n)) => n.as_f64().ok_or_else(bad)?,
        Some(Value::String(s)) => s.trim().parse::<f64>().map_err(|_| bad())?,
        Some(_) => return Err(bad()),
    };
    if !secs.is_finite() || secs < 1.0 || secs > MAX_THRESHOLD_SECONDS as f64 {
        return Err(bad());
    }
    Ok(Some(Some(secs.round() as i64)))
}

fn text(body: &Map<String, Value>, key: &str, max: usize) -> AppResult<Option<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if s.contains('\0') {
                return Err(AppError::invalid(
                    key,
                    format!("{key} contains a NUL character"),
                ));
            }
            let n = s.trim().chars().count();
            if n > max {
                return Err(AppError::invalid(
                    key,
                    format!("{key} is limited to {max} characters (this one has {n})"),
                ));
            }
            Ok(Some(s.trim().to_string()))
        }
        Some(_) => Err(AppError::invalid(key, format!("{key} must be text"))),
    }
}

/// Reads a create or update body (Chatwoot's field names). Errors: 422 naming the field
/// (mistyped, NUL, too long, a threshold outside 1 s … 365 days).
pub fn parse_input(body: &Map<String, Value>) -> AppResult<PolicyInput> {
    let only = match body.get("only_during_business_hours") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Some(s == "true"),
        Some(_) => {
            return Err(AppError::invalid(
                "only_during_business_hours",
                "only_during_business_hours must be true or false",
            ))
        }
    };
    Ok(PolicyInput {
        name: text(body, "name", MAX_NAME_CHARS)?,
        description: text(body, "description", MAX_DESCRIPTION_CHARS)?,
        frt: threshold(body, "first_response_time_threshold")?,
        nrt: threshold(body, "next_response_time_threshold")?,
        rt: threshold(body, "resolution_time_threshold")?,
        only_during_business_hours: only,
    })
}

/// The account's policies, by id.
pub fn list(conn: &mut PgConnection, account_id: i64) -> AppResult<Vec<Policy>> {
    Ok(pol::table
        .filter(pol::account_id.eq(account_id))
        .order(pol::id)
        .select(Policy::as_select())
        .load(conn)?)
}

/// One policy of the account. Errors: 404 (also for another account's id).
pub fn find(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<Policy> {
    pol::table
        .filter(pol::account_id.eq(account_id))
        .filter(pol::id.eq(id))
        .select(Policy::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound("SLA policy not found".into()))
}

fn check(p: &Policy) -> AppResult<()> {
    if p.name.trim().is_empty() {
        return Err(AppError::invalid("name", "name can't be blank"));
    }
    if p.first_response_time_threshold.is_none()
        && p.next_response_time_threshold.is_none()
        && p.resolution_time_threshold.is_none()
    {
        return Err(AppError::invalid(
            "first_response_time_threshold",
            "give at least one target: first_response_time_threshold, next_response_time_threshold or resolution_time_threshold",
        ));
    }
    Ok(())
}

fn merged(mut p: Policy, input: &PolicyInput) -> Policy {
    if let Some(n) = &input.name {
        p.name = n.clone();
    }
    if let Some(d) = &input.description {
        p.description = d.clone();
    }
    if let Some(v) = input.frt {
        p.first_response_time_threshold = v;
    }
    if let Some(v) = input.nrt {
        p.next_response_time_threshold = v;
    }
    if let Some(v) = input.rt {
        p.resolution_time_threshold = v;
    }
    if let Some(b) = input.only_during_business_hours {
        p.only_during_business_hours = b;
    }
    p
}

/// Creates a policy. Errors: 422 (blank name, no target; see [`parse_input`]).
pub fn create(conn: &mut PgConnection, account_id: i64, input: &PolicyInput) -> AppResult<Policy> {
    let now = Utc::now();
    let p = merged(
        Policy {
            id: 0,
            account_id,
            name: String::new(),
            description: String::new(),
            first_response_time_threshold: None,
            next_response_time_threshold: None,
            resolution_time_threshold: None,
            only_during_business_hours: false,
            created_at: now,
            updated_at: now,
        },
        input,
    );
    check(&p)?;
    Ok(diesel::insert_into(pol::table)
        .values((
            pol::account_id.eq(account_id),
            pol::name.eq(&p.name),
            pol::description.eq(&p.description),
            pol::first_response_time_threshold.eq(p.first_response_time_threshold),
            pol::next_response_time_threshold.eq(p.next_response_time_threshold),
            pol::resolution_time_threshold.eq(p.resolution_time_threshold),
            pol::only_during_business_hours.eq(p.only_during_business_hours),
        ))
        .returning(Policy::as_returning())
        .get_result(conn)?)
}

/// Changes a policy and recomputes the deadlines of the conversations it applies to (each
/// announced with [`SLA_UPDATED`]). Errors: 404; 422 as [`create`].
pub fn update(
    conn: &mut PgConnection,
    account_id: i64,
    id: i64,
    input: &PolicyInput,
) -> AppResult<Policy> {
    conn.transaction(|conn| {
        let p = merged(find(conn, account_id, id)?, input);
        check(&p)?;
        let saved: Policy = diesel::update(pol::table.find(id))
            .set((
                pol::name.eq(&p.name),
                pol::description.eq(&p.description),
                pol::first_response_time_threshold.eq(p.first_response_time_threshold),
                pol::next_response_time_threshold.eq(p.next_response_time_threshold),
                pol::resolution_time_threshold.eq(p.resolution_time_threshold),
                pol::only_during_business_hours.eq(p.only_during_business_hours),
                pol::updated_at.eq(Utc::now()),
            ))
            .returning(Policy::as_returning())
            .get_result(conn)?;
        let convs: Vec<i64> = applied::table
            .filter(applied::sla_policy_id.eq(id))
            .filter(applied::sla_status.eq_any(["active", "active_with_misses"]))
            .select(applied::conversation_id)
            .load(conn)?;
        for c in convs {
            recompute(conn, c, Utc::now())?;
            announce(conn, c, Some(id))?;
        }
        Ok(saved)
    })
}

/// Deletes a policy (its applied SLAs and their events go with it, as Chatwoot's
/// `dependent: :destroy`). Errors: 404.
pub fn delete(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<()> {
    find(conn, account_id, id)?;
    diesel::delete(pol::table.find(id)).execute(conn)?;
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Applying.

/// The applied SLA of a conversation, if any.
pub fn applied_of(conn: &mut PgConnection, conversation_id: i64) -> AppResult<Option<AppliedSla>> {
    Ok(applied::table
        .filter(applied::conversation_id.eq(conversation_id))
        .select(AppliedSla::as_select())
        .first(conn)
        .optional()?)
}

/// The misses recorded for an applied SLA, oldest first.
pub fn events_of(conn: &mut PgConnection, applied_sla_id: i64) -> AppResult<Vec<SlaEvent>> {
    Ok(sev::table
        .filter(sev::applied_sla_id.eq(applied_sla_id))
        .order(sev::id)
        .select(SlaEvent::as_select())
        .load(conn)?)
}

fn announce(conn: &mut PgConnection, conversation_id: i64, policy: Option<i64>) -> AppResult<()> {
    let (account_id, inbox_id, display_id): (i64, i64, i32) =
        crate::db::schema::conversations::table
            .find(conversation_id)
            .select((
                crate::db::schema::conversations::account_id,
                crate::db::schema::conversations::inbox_id,
                crate::db::schema::conversations::display_id,
            ))
            .first(conn)?;
    super::events::emit(
        conn,
        account_id,
        Some(inbox_id),
        Some(conversation_id),
        SLA_UPDATED,
        json!({ "display_id": display_id, "sla_policy_id": policy }),
    )?;
    Ok(())
}

/// How [`apply`] treats a conversation that already has an SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfApplied {
    /// Leave it (the automation action, Chatwoot's `add_sla`).
    Keep,
    /// Replace it (by hand); its recorded misses go with it.
    Replace,
}

/// Applies policy `policy_id` of `account_id` to conversation `conversation_id` (of the same
/// account) at `now`, computes its deadlines and announces it ([`SLA_UPDATED`]). Returns the
/// applied SLA, or `None` when one was already applied and `if_applied` is
/// [`IfApplied::Keep`]. Errors: 404 for another account's policy.
pub fn apply(
    conn: &mut PgConnection,
    account_id: i64,
    conversation_id: i64,
    policy_id: i64,
    if_applied: IfApplied,
    now: DateTime<Utc>,
) -> AppResult<Option<AppliedSla>> {
    conn.transaction(|conn| {
        find(conn, account_id, policy_id)?;
        if if_applied == IfApplied::Replace {
            diesel::delete(
                applied::table
                    .filter(applied::conversation_id.eq(conversation_id))
                    .filter(applied::sla_policy_id.ne(policy_id)),
            )
            .execute(conn)?;
        }
        let inserted = diesel::insert_into(applied::table)
            .values((
                applied::account_id.eq(account_id),
                applied::conversation_id.eq(conversation_id),
                applied::sla_policy_id.eq(policy_id),
                applied::created_at.eq(now),
                applied::updated_at.eq(now),
            ))
            .on_conflict(applied::conversation_id)
            .do_nothing()
            .execute(conn)?;
        if inserted == 0 {
            return Ok(None);
        }
        recompute(conn, conversation_id, now)?;
        announce(conn, conversation_id, Some(policy_id))?;
        applied_of(conn, conversation_id)
    })
}

/// Removes the conversation's applied SLA (and its events); announces it. Returns whether
/// there was one.
pub fn remove(conn: &mut PgConnection, conversation_id: i64) -> AppResult<bool> {
    let n = diesel::delete(applied::table.filter(applied::conversation_id.eq(conversation_id)))
        .execute(conn)?;
    if n > 0 {
        announce(conn, conversation_id, None)?;
    }
    Ok(n > 0)
}

// ------------------------------------------------------------------------------------------
// Recomputing and breaches.

#[derive(QueryableByName)]
struct Facts {
    #[diesel(sql_type = BigInt)]
    account_id: i64,
    #[diesel(sql_type = BigInt)]
    inbox_id: i64,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    display_id: i32,
    #[diesel(sql_type = Nullable<BigInt>)]
    assignee_id: Option<i64>,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    first_reply_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    unanswered_since: Option<DateTime<Utc>>,
}

/// SQL: a message `m` that is a human reply (see the module documentation).
const HUMAN_REPLY: &str = "m.message_type IN (1, 3) AND NOT m.private \
    AND NOT (m.content_attributes ? 'automated') \
    AND NOT (m.sender_type IS NOT DISTINCT FROM 'User' AND m.sender_id IN \
      (SELECT id FROM users WHERE email = 'automation@switchboard.invalid'))";

fn facts(conn: &mut PgConnection, conversation_id: i64) -> AppResult<Facts> {
    Ok(diesel::sql_query(format!(
        "SELECT c.account_id, c.inbox_id, c.display_id, c.assignee_id, c.status, \
           c.created_at, c.updated_at, fr.at AS first_reply_at, \
           (SELECT min(m.created_at) FROM messages m WHERE m.conversation_id = c.id \
              AND m.message_type = 0 AND m.created_at > coalesce(lr.at, '-infinity')) \
             AS unanswered_since \
         FROM conversations c \
         LEFT JOIN LATERAL (SELECT min(m.created_at) AS at FROM messages m \
           WHERE m.conversation_id = c.id AND {HUMAN_REPLY}) fr ON true \
         LEFT JOIN LATERAL (SELECT max(m.created_at) AS at FROM messages m \
           WHERE m.conversation_id = c.id AND {HUMAN_REPLY}) lr ON true \
         WHERE c.id = $1"
    ))
    .bind::<BigInt, _>(conversation_id)
    .get_result(conn)?)
}

fn policy_by_id(conn: &mut PgConnection, id: i64) -> AppResult<Policy> {
    Ok(pol::table
        .find(id)
        .select(Policy::as_select())
        .first(conn)?)
}

/// Records the miss of `d` once (the unique key) and, when it is new, emits [`SLA_MISSED`]
/// and notifies the assignee. Returns whether it was new.
fn record_miss(
    conn: &mut PgConnection,
    a: &AppliedSla,
    f: &Facts,
    d: &Deadline,
) -> AppResult<bool> {
    let Some(due) = d.due_at else {
        return Ok(false);
    };
    let n = diesel::insert_into(sev::table)
        .values((
            sev::applied_sla_id.eq(a.id),
            sev::account_id.eq(a.account_id),
            sev::conversation_id.eq(a.conversation_id),
            sev::event_type.eq(d.kind.as_str()),
            sev::started_at.eq(d.started_at),
            sev::due_at.eq(due),
        ))
        .on_conflict((sev::applied_sla_id, sev::event_type, sev::started_at))
        .do_nothing()
        .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    let mut shown = a.clone();
    if shown.sla_status == "active" {
        shown.sla_status = "active_with_misses".into();
    }
    let policy = policy_by_id(conn, a.sla_policy_id)?;
    super::events::emit(
        conn,
        a.account_id,
        Some(f.inbox_id),
        Some(a.conversation_id),
        SLA_MISSED,
        json!({
            "display_id": f.display_id,
            "applied_sla": applied_json(&shown, &policy),
            "type": d.kind.as_str(),
            "due_at": due.timestamp(),
        }),
    )?;
    if let Some(user) = f.assignee_id {
        super::inbox_notifications::sla_missed(
            conn,
            a.conversation_id,
            user,
            d.kind.notification_type(),
        )?;
    }
    Ok(true)
}

/// Recomputes the applied SLA of `conversation_id` at `now` (nothing when it has none): it
/// records the misses that happened (a late reply or resolve, or a deadline the worker has
/// not reached yet), stores the nearest pending deadline and `breached`, and settles the
/// status (`hit`/`missed` when resolved, `active`/`active_with_misses` otherwise). Locks the
/// applied SLA row. Call it inside the transaction of the change. Returns the row as it ends.
pub fn recompute(
    conn: &mut PgConnection,
    conversation_id: i64,
    now: DateTime<Utc>,
) -> AppResult<Option<AppliedSla>> {
    // Locks in the order every writer of a conversation takes them (the conversation row,
    // then what hangs off it), so a reply and a customer message racing on one conversation
    // wait for each other instead of deadlocking; a conversation without an SLA pays one read.
    let has: Option<i64> = applied::table
        .filter(applied::conversation_id.eq(conversation_id))
        .select(applied::id)
        .first(conn)
        .optional()?;
    if has.is_none() {
        return Ok(None);
    }
    conversations::table
        .find(conversation_id)
        .select(conversations::id)
        .for_no_key_update()
        .first::<i64>(conn)
        .optional()?;
    let a: Option<AppliedSla> = applied::table
        .filter(applied::conversation_id.eq(conversation_id))
        .select(AppliedSla::as_select())
        .for_update()
        .first(conn)
        .optional()?;
    let Some(a) = a else { return Ok(None) };
    settle(conn, a, now).map(Some)
}

fn settle(conn: &mut PgConnection, a: AppliedSla, now: DateTime<Utc>) -> AppResult<AppliedSla> {
    let f = facts(conn, a.conversation_id)?;
    let policy = policy_by_id(conn, a.sla_policy_id)?;
    let resolved = f.status == "resolved";
    if resolved && matches!(a.sla_status.as_str(), "hit" | "missed") {
        return Ok(a);
    }
    // The deadline stored before this change: if it passed, it was missed (whatever the
    // change, e.g. a reply that came too late for the next response target).
    if let (Some(due), Some(kind), Some(start)) = (
        a.due_at,
        a.due_type.as_deref().and_then(Kind::parse),
        a.due_started_at,
    ) {
        if due <= now {
            record_miss(
                conn,
                &a,
                &f,
                &Deadline {
                    kind,
                    started_at: start,
                    due_at: Some(due),
                    met_at: None,
                },
            )?;
        }
    }
    let schedule = if policy.only_during_business_hours {
        super::inbox_hours::get(conn, f.account_id, f.inbox_id)?.schedule()
    } else {
        Schedule::always_open()
    };
    let tl = Timeline {
        applied_at: a.created_at,
        created_at: f.created_at,
        first_reply_at: f.first_reply_at,
        unanswered_since: f.unanswered_since,
        resolved_at: resolved.then_some(f.updated_at.min(now)),
    };
    let all = deadlines(&policy.targets(), &tl, &schedule);
    for d in all.iter().filter(|d| d.missed_by(now)) {
        record_miss(conn, &a, &f, d)?;
    }
    let recorded: Vec<(String, DateTime<Utc>)> = sev::table
        .filter(sev::applied_sla_id.eq(a.id))
        .select((sev::event_type, sev::started_at))
        .load(conn)?;
    let is_recorded = |d: &Deadline| {
        recorded
            .iter()
            .any(|(t, s)| t == d.kind.as_str() && *s == d.started_at)
    };
    let next = all
        .iter()
        .filter(|d| d.met_at.is_none() && !is_recorded(d))
        .filter_map(|d| d.due_at.map(|due| (d, due)))
        .min_by_key(|(_, due)| *due)
        .map(|(d, _)| *d);
    let breached = all.iter().any(|d| d.met_at.is_none() && is_recorded(d));
    let status = match (resolved, recorded.is_empty()) {
        (true, true) => "hit",
        (true, false) => "missed",
        (false, true) => "active",
        (false, false) => "active_with_misses",
    };
    // The list's `sla_due_asc` key: the most urgent unmet deadline (a missed one still unmet
    // lies in the past, so it sorts first), none once resolved. Written only when it changes.
    let urgent = if resolved {
        None
    } else {
        all.iter()
            .filter(|d| d.met_at.is_none())
            .filter_map(|d| d.due_at)
            .min()
    };
    diesel::update(
        conversations::table
            .find(a.conversation_id)
            .filter(conversations::sla_due_at.is_distinct_from(urgent)),
    )
    .set(conversations::sla_due_at.eq(urgent))
    .execute(conn)?;
    Ok(diesel::update(applied::table.find(a.id))
        .set((
            applied::sla_status.eq(status),
            applied::due_at.eq(next.and_then(|d| d.due_at)),
            applied::due_type.eq(next.map(|d| d.kind.as_str())),
            applied::due_started_at.eq(next.map(|d| d.started_at)),
            applied::breached.eq(breached),
            applied::updated_at.eq(now),
        ))
        .returning(AppliedSla::as_returning())
        .get_result(conn)?)
}

/// True when domain event `name` (with `payload`) may move an applied SLA's deadline: a
/// message that is not a private note (incoming, outgoing or template), or a status change.
pub fn is_relevant(name: &str, payload: &Value) -> bool {
    use super::events as ev;
    match name {
        ev::MESSAGE_CREATED => {
            !payload["private"].as_bool().unwrap_or(false)
                && matches!(payload["message_type"].as_i64(), Some(0 | 1 | 3))
        }
        ev::CONVERSATION_STATUS_CHANGED => true,
        _ => false,
    }
}

/// Called by `events::insert` for every domain event, in its transaction: a message
/// created (not private, not an activity line) or a status change recomputes the
/// conversation's applied SLA; anything else costs nothing. `events::insert` calls it only
/// when the conversation has an applied SLA (read by the statement that stores the event).
pub fn on_event(
    conn: &mut PgConnection,
    conversation_id: Option<i64>,
    name: &str,
    payload: &Value,
) -> AppResult<()> {
    let Some(id) = conversation_id else {
        return Ok(());
    };
    if is_relevant(name, payload) {
        recompute(conn, id, Utc::now())?;
    }
    Ok(())
}

/// The breach sweep: claims up to [`BATCH`] applied SLAs whose stored deadline passed by
/// `now` (`FOR UPDATE SKIP LOCKED`: two processes never hold the same row) and settles each
/// in the caller's transaction ([`recompute`]'s rules: the miss is recorded once and
/// announced once). Returns how many misses were recorded.
pub fn process_due(conn: &mut PgConnection, now: DateTime<Utc>) -> AppResult<usize> {
    conn.transaction(|conn| {
        let due: Vec<AppliedSla> = applied::table
            .filter(applied::due_at.le(now))
            .filter(applied::sla_status.eq_any(["active", "active_with_misses"]))
            .order(applied::due_at)
            .limit(BATCH)
            .select(AppliedSla::as_select())
            .for_update()
            .skip_locked()
            .load(conn)?;
        // Their conversations too, without waiting (a row another transaction holds is left
        // for the next sweep): settling writes the conversation's `sla_due_at`, and waiting
        // for it while holding the applied SLAs could close a cycle with a writer of the
        // conversation that waits for one of them.
        let ids: Vec<i64> = due.iter().map(|a| a.conversation_id).collect();
        let locked: Vec<i64> = conversations::table
            .filter(conversations::id.eq_any(&ids))
            .select(conversations::id)
            .order(conversations::id)
            .for_no_key_update()
            .skip_locked()
            .load(conn)?;
        let mut n = 0;
        for a in due
            .into_iter()
            .filter(|a| locked.contains(&a.conversation_id))
        {
            let before = sev::table
                .filter(sev::applied_sla_id.eq(a.id))
                .count()
                .get_result::<i64>(conn)?;
            settle(conn, a.clone(), now)?;
            let after = sev::table
                .filter(sev::applied_sla_id.eq(a.id))
                .count()
                .get_result::<i64>(conn)?;
            n += (after - before) as usize;
        }
        Ok(n)
    })
}

// ------------------------------------------------------------------------------------------
// JSON.

/// Chatwoot's `applied_sla` of a conversation: `id, sla_id, sla_status, created_at (unix
/// seconds), sla_name, sla_description, sla_first_response_time_threshold,
/// sla_next_response_time_threshold, sla_resolution_time_threshold,
/// sla_only_during_business_hours`, plus ours: `due_at` (unix seconds or null), `due_type`
/// (`frt`/`nrt`/`rt` or null), `breached`.
pub fn applied_json(a: &AppliedSla, p: &Policy) -> Value {
    json!({
        "id": a.id,
        "sla_id": a.sla_policy_id,
        "sla_status": a.sla_status,
        "created_at": a.created_at.timestamp(),
        "updated_at": a.updated_at.timestamp(),
        "sla_name": p.name,
        "sla_description": p.description,
        "sla_first_response_time_threshold": p.first_response_time_threshold,
        "sla_next_response_time_threshold": p.next_response_time_threshold,
        "sla_resolution_time_threshold": p.resolution_time_threshold,
        "sla_only_during_business_hours": p.only_during_business_hours,
        "due_at": a.due_at.map(|d| d.timestamp()),
        "due_type": a.due_type,
        "breached": a.breached,
    })
}

/// Chatwoot's `sla_events` of a conversation: `[{id, event_type, created_at, due_at}]`
/// (unix seconds).
pub fn events_json(events: &[SlaEvent]) -> Value {
    json!(events
        .iter()
        .map(|e| json!({
            "id": e.id,
            "event_type": e.event_type,
            "created_at": e.created_at.timestamp(),
            "due_at": e.due_at.timestamp(),
        }))
        .collect::<Vec<_>>())
}

/// What a page of conversations carries of their SLAs (loaded by
/// `conversations::row_details` in its existing statement, see [`ROW_COLUMNS`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SlaRow {
    pub chip: Chip,
    /// The API's `applied_sla` ([`applied_json`]'s shape).
    pub applied: Value,
    /// The API's `sla_events` ([`events_json`]'s shape).
    pub events: Value,
}

/// SQL columns (for a query over `conversations c` joined with [`ROW_JOINS`]) that carry a
/// row's SLA: `sla_status`, `sla_due_at`, `sla_due_type`, `sla_breached`, `applied_sla`
/// (jsonb, [`applied_json`]'s shape) and `sla_events` (jsonb), all null without an SLA.
pub const ROW_COLUMNS: &str = "a.sla_status, a.due_at AS sla_due_at, a.due_type AS sla_due_type, \
    a.breached AS sla_breached, \
    CASE WHEN a.id IS NULL THEN NULL ELSE jsonb_build_object('id', a.id, 'sla_id', a.sla_policy_id, \
      'sla_status', a.sla_status, 'created_at', extract(epoch FROM a.created_at)::bigint, \
      'updated_at', extract(epoch FROM a.updated_at)::bigint, 'sla_name', p.name, \
      'sla_description', p.description, \
      'sla_first_response_time_threshold', p.first_response_time_threshold, \
      'sla_next_response_time_threshold', p.next_response_time_threshold, \
      'sla_resolution_time_threshold', p.resolution_time_threshold, \
      'sla_only_during_business_hours', p.only_during_business_hours, \
      'due_at', extract(epoch FROM a.due_at)::bigint, 'due_type', a.due_type, \
      'breached', a.breached) END AS applied_sla, \
    CASE WHEN a.id IS NULL THEN NULL ELSE (SELECT coalesce(jsonb_agg(jsonb_build_object( \
      'id', e.id, 'event_type', e.event_type, 'created_at', extract(epoch FROM e.created_at)::bigint, \
      'due_at', extract(epoch FROM e.due_at)::bigint) ORDER BY e.id), '[]'::jsonb) \
      FROM sla_events e WHERE e.applied_sla_id = a.id) END AS sla_events";

/// The joins [`ROW_COLUMNS`] needs (after `FROM conversations c`).
pub const ROW_JOINS: &str = "LEFT JOIN applied_slas a ON a.conversation_id = c.id \
    LEFT JOIN sla_policies p ON p.id = a.sla_policy_id";

/// A row read with [`ROW_COLUMNS`] as an [`SlaRow`] (`None` without an SLA).
pub fn row_of(
    status: Option<String>,
    due_at: Option<DateTime<Utc>>,
    due_type: Option<String>,
    breached: Option<bool>,
    applied_sla: Option<Value>,
    events: Option<Value>,
) -> Option<SlaRow> {
    let status = status?;
    Some(SlaRow {
        chip: chip_of(
            status,
            due_at,
            due_type.as_deref(),
            breached.unwrap_or(false),
        ),
        applied: applied_sla.unwrap_or(Value::Null),
        events: events.unwrap_or_else(|| json!([])),
    })
}

/// Sets `applied_sla` and `sla_events` on a conversation's API JSON (null and `[]`
/// without an SLA).
pub fn merge_json(v: &mut Value, row: Option<&SlaRow>) {
    if let Value::Object(m) = v {
        m.insert(
            "applied_sla".into(),
            row.map(|r| r.applied.clone()).unwrap_or(Value::Null),
        );
        m.insert(
            "sla_events".into(),
            row.map(|r| r.events.clone()).unwrap_or_else(|| json!([])),
        );
    }
}

#[derive(QueryableByName)]
struct HeaderRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<Text>)]
    sla_status: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    due_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    due_type: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    breached: Option<bool>,
}

/// [`header_data`]'s answer: the policies `(id, name)` and the applied `(policy id, chip)`.
pub type HeaderData = (Vec<(i64, String)>, Option<(i64, Chip)>);

/// For the thread header and the contact panel's picker, in ONE statement: the account's
/// policies `(id, name)` by name, and the applied one `(policy id, chip)` if any.
pub fn header_data(
    conn: &mut PgConnection,
    account_id: i64,
    conversation_id: i64,
) -> AppResult<HeaderData> {
    let rows: Vec<HeaderRow> = diesel::sql_query(
        "SELECT p.id, p.name, a.sla_status, a.due_at, a.due_type, a.breached \
         FROM sla_policies p LEFT JOIN applied_slas a ON a.sla_policy_id = p.id \
           AND a.conversation_id = $2 \
         WHERE p.account_id = $1 ORDER BY lower(p.name), p.id",
    )
    .bind::<BigInt, _>(account_id)
    .bind::<BigInt, _>(conversation_id)
    .prepared()
    .load(conn)?;
    let mut applied_one = None;
    let mut list = vec![];
    for r in rows {
        if let Some(status) = r.sla_status {
            applied_one = Some((
                r.id,
                chip_of(
                    status,
                    r.due_at,
                    r.due_type.as_deref(),
                    r.breached.unwrap_or(false),
                ),
            ));
        }
        list.push((r.id, r.name));
    }
    Ok((list, applied_one))
}

/// The chip of an applied SLA row (see [`Chip`]).
pub fn chip_of(
    status: String,
    due_at: Option<DateTime<Utc>>,
    due_type: Option<&str>,
    breached: bool,
) -> Chip {
    Chip {
        due: due_type.and_then(Kind::parse).zip(due_at),
        breached,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::business_hours::{parse_tz, Range};
    use chrono::TimeZone;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn weekdays(tz: &str, open: u16, close: u16) -> Schedule {
        let ranges: Vec<Range> = (1..=5)
            .map(|d| Range {
                day_of_week: d,
                open,
                close,
            })
            .collect();
        Schedule::new(parse_tz(tz).unwrap(), &ranges, []).unwrap()
    }

    fn tl(applied: &str) -> Timeline {
        Timeline {
            applied_at: t(applied),
            created_at: t(applied),
            first_reply_at: None,
            unanswered_since: None,
            resolved_at: None,
        }
    }

    #[test]
    fn calendar_time_first_response_and_resolution() {
        let targets = Targets {
            frt: Some(3600),
            rt: Some(86_400),
            ..Default::default()
        };
        let d = deadlines(
            &targets,
            &tl("2026-12-04T10:00:00Z"),
            &Schedule::always_open(),
        );
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].kind, Kind::Frt);
        assert_eq!(d[0].due_at, Some(t("2026-12-04T11:00:00Z")));
        assert_eq!(d[1].due_at, Some(t("2026-12-05T10:00:00Z")));
        assert!(!d[0].missed_by(t("2026-12-04T10:59:59Z")));
        assert!(d[0].missed_by(t("2026-12-04T11:00:01Z")));
    }

    #[test]
    fn a_reply_meets_the_first_response_and_starts_next_response_clocks() {
        let targets = Targets {
            frt: Some(600),
            nrt: Some(1800),
            ..Default::default()
        };
        let mut timeline = tl("2026-12-04T10:00:00Z");
        timeline.first_reply_at = Some(t("2026-12-04T10:05:00Z"));
        let d = deadlines(&targets, &timeline, &Schedule::always_open());
        assert_eq!(d.len(), 1, "no customer message waiting: no nrt");
        assert_eq!(d[0].met_at, Some(t("2026-12-04T10:05:00Z")));
        assert!(!d[0].missed_by(t("2026-12-05T00:00:00Z")));
        timeline.unanswered_since = Some(t("2026-12-04T12:00:00Z"));
        let d = deadlines(&targets, &timeline, &Schedule::always_open());
        let nrt = d.iter().find(|d| d.kind == Kind::Nrt).unwrap();
        assert_eq!(nrt.due_at, Some(t("2026-12-04T12:30:00Z")));
        assert_eq!(nrt.started_at, t("2026-12-04T12:00:00Z"));
        // A late first reply is a miss.
        timeline.first_reply_at = Some(t("2026-12-04T10:20:00Z"));
        let d = deadlines(&targets, &timeline, &Schedule::always_open());
        assert!(d[0].missed_by(t("2026-12-04T10:20:00Z")));
    }

    #[test]
    fn business_hours_skip_the_night_and_the_weekend() {
        // Berlin, Mon–Fri 09:00–17:00. Friday 16:30 local (15:30 UTC in winter) + 1 hour
        // of open time = Monday 09:30 local (08:30 UTC).
        let s = weekdays("Europe/Berlin", 9 * 60, 17 * 60);
        let targets = Targets {
            frt: Some(3600),
            business_hours: true,
            ..Default::default()
        };
        let d = deadlines(&targets, &tl("2026-12-04T15:30:00Z"), &s);
        assert_eq!(d[0].due_at, Some(t("2026-12-07T08:30:00Z")));
        // Calendar time: one hour later.
        let cal = Targets {
            business_hours: false,
            ..targets
        };
        let d = deadlines(&cal, &tl("2026-12-04T15:30:00Z"), &s);
        assert_eq!(d[0].due_at, Some(t("2026-12-04T16:30:00Z")));
        // Received at night: the clock starts at the next opening.
        let d = deadlines(&targets, &tl("2026-12-08T22:00:00Z"), &s);
        assert_eq!(d[0].due_at, Some(t("2026-12-09T09:00:00Z")));
    }

    #[test]
    fn the_same_policy_in_two_time_zones() {
        let targets = Targets {
            frt: Some(2 * 3600),
            business_hours: true,
            ..Default::default()
        };
        // Wednesday 2026-12-02 14:00 UTC: 09:00 in New York (open), 23:00 in Tokyo (closed).
        let ny = weekdays("America/New_York", 9 * 60, 17 * 60);
        let tokyo = weekdays("Asia/Tokyo", 9 * 60, 17 * 60);
        let start = tl("2026-12-02T14:00:00Z");
        assert_eq!(
            deadlines(&targets, &start, &ny)[0].due_at,
            Some(t("2026-12-02T16:00:00Z"))
        );
        // Tokyo opens Thursday 09:00 JST = 00:00 UTC; two hours later.
        assert_eq!(
            deadlines(&targets, &start, &tokyo)[0].due_at,
            Some(t("2026-12-03T02:00:00Z"))
        );
    }

    #[test]
    fn dst_changes_count_local_open_time() {
        // New York, open all day every day: open time is elapsed time, so 24 hours of open
        // time from Saturday 12:00 EST is Sunday 13:00 EDT (the clocks jumped forward on
        // 2026-03-08).
        let all: Vec<Range> = (0..7)
            .map(|d| Range {
                day_of_week: d,
                open: 0,
                close: 1440,
            })
            .collect();
        let ny = Schedule::new(parse_tz("America/New_York").unwrap(), &all, []).unwrap();
        let targets = Targets {
            rt: Some(24 * 3600),
            business_hours: true,
            ..Default::default()
        };
        let start = chrono_tz::America::New_York
            .with_ymd_and_hms(2026, 3, 7, 12, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let timeline = Timeline {
            applied_at: start,
            created_at: start,
            first_reply_at: None,
            unanswered_since: None,
            resolved_at: None,
        };
        let due = deadlines(&targets, &timeline, &ny)[0].due_at.unwrap();
        assert_eq!(due, start + Duration::hours(24));
        assert_eq!(
            due.with_timezone(&chrono_tz::America::New_York)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            "2026-03-08 13:00"
        );
        // Weekday hours 09:00–17:00 across the fall-back change (2026-11-01): Friday
        // 16:00 EDT (20:00 UTC) + 2 h open = Monday 10:00 EST (15:00 UTC).
        let wk = weekdays("America/New_York", 9 * 60, 17 * 60);
        let t2 = Targets {
            frt: Some(7200),
            business_hours: true,
            ..Default::default()
        };
        assert_eq!(
            deadlines(&t2, &tl("2026-10-30T20:00:00Z"), &wk)[0].due_at,
            Some(t("2026-11-02T15:00:00Z"))
        );
    }

    #[test]
    fn a_schedule_that_never_opens_has_no_deadline() {
        let s = Schedule::new(parse_tz("UTC").unwrap(), &[], []).unwrap();
        let targets = Targets {
            frt: Some(60),
            business_hours: true,
            ..Default::default()
        };
        let d = deadlines(&targets, &tl("2026-12-04T10:00:00Z"), &s);
        assert_eq!(d[0].due_at, None);
        assert!(!d[0].missed_by(t("2030-01-01T00:00:00Z")));
    }

    #[test]
    fn resolving_meets_every_target() {
        let targets = Targets {
            frt: Some(600),
            rt: Some(3600),
            ..Default::default()
        };
        let mut timeline = tl("2026-12-04T10:00:00Z");
        timeline.resolved_at = Some(t("2026-12-04T10:30:00Z"));
        let d = deadlines(&targets, &timeline, &Schedule::always_open());
        assert!(d.iter().all(|d| d.met_at.is_some()));
        assert!(
            d[0].missed_by(t("2026-12-04T11:00:00Z")),
            "frt passed before resolve"
        );
        assert!(!d[1].missed_by(t("2026-12-04T11:00:00Z")));
    }

    #[test]
    fn chip_texts() {
        let now = t("2026-12-04T10:00:00Z");
        let chip = |kind, secs: i64, breached| Chip {
            due: Some((kind, now + Duration::seconds(secs))),
            breached,
            status: "active".into(),
        };
        assert_eq!(
            chip(Kind::Frt, 14 * 60, false).text(now).unwrap(),
            "FRT 14m"
        );
        assert_eq!(
            chip(Kind::Nrt, 2 * 3600 + 5, false).text(now).unwrap(),
            "NRT 2h"
        );
        assert_eq!(
            chip(Kind::Rt, 3 * 86_400, false).text(now).unwrap(),
            "RT 3d"
        );
        assert_eq!(chip(Kind::Frt, 30, false).text(now).unwrap(), "FRT 30s");
        assert_eq!(chip(Kind::Frt, -1, false).text(now).unwrap(), "Breached");
        assert_eq!(chip(Kind::Rt, 600, true).text(now).unwrap(), "Breached");
        let none = Chip {
            due: None,
            breached: false,
            status: "hit".into(),
        };
        assert_eq!(none.text(now), None);
    }

    #[test]
    fn thresholds_are_validated() {
        let body = |v: Value| v.as_object().unwrap().clone();
        let ok = parse_input(&body(
            json!({"name": "Gold", "first_response_time_threshold": 90.4,
            "resolution_time_threshold": "3600", "next_response_time_threshold": null}),
        ))
        .unwrap();
        assert_eq!(ok.frt, Some(Some(90)));
        assert_eq!(ok.rt, Some(Some(3600)));
        assert_eq!(ok.nrt, Some(None));
        for bad in [
            json!(0),
            json!(-5),
            json!(1e12),
            json!("soon"),
            json!([1]),
            json!(true),
        ] {
            let e = parse_input(&body(json!({"first_response_time_threshold": bad}))).unwrap_err();
            assert!(
                e.to_string().contains("first_response_time_threshold"),
                "{e}"
            );
        }
        assert!(parse_input(&body(json!({"name": "a\u{0}b"}))).is_err());
        assert!(parse_input(&body(json!({"name": 5}))).is_err());
        assert!(parse_input(&body(json!({"only_during_business_hours": "yes"}))).is_err());
    }
}
