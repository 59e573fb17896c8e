//! Bulk actions: Chatwoot's `POST /api/v1/accounts/{id}/bulk_actions` on many conversations
//! at once (`{"type":"Conversation","ids":[display_id…],"fields":{status, snoozed_until,
//! assignee_id, team_id},"labels":{"add":[…],"remove":[…]}}`).
//!
//! The rules are the single-conversation actions' (`conversations::toggle_status`,
//! `assign`, `set_labels`): the same validation, the same activity lines in the same words,
//! the same events (`conversations::change_events`, hence the same integration webhooks) and
//! the same "assigned to you" emails. Unlike looping over those, everything happens in ONE
//! transaction with a fixed number of statements whatever the number of conversations
//! (lock, one UPDATE, one INSERT of the activity lines, one INSERT of the events), plus one
//! email job per conversation assigned to someone else: all or nothing.

use super::accounts::{self, Role, Viewer};
use super::conversations::{self, Conversation};
use super::messages::{message_type, NewMessage};
use crate::db::schema::{conversations as conv, inbox_members, messages as msgs, webhooks};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Jsonb, Nullable, Text, Timestamptz};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// Most conversations in one bulk action.
pub const MAX_IDS: usize = 500;

/// A validated-on-apply bulk action. `None` fields are left alone.
#[derive(Debug, Clone, Default)]
pub struct BulkAction {
    /// Conversation `display_id`s.
    pub ids: Vec<i32>,
    /// `open`, `pending`, `resolved` or `snoozed`.
    pub status: Option<String>,
    /// Only with status `snoozed`, in the future (`None`: until the contact's next message).
    pub snoozed_until: Option<DateTime<Utc>>,
    /// `Some(None)` unassigns.
    pub assignee_id: Option<Option<i64>>,
    /// `Some(None)` removes the team.
    pub team_id: Option<Option<i64>>,
    pub add_labels: Vec<String>,
    pub remove_labels: Vec<String>,
}

/// What a bulk action did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BulkOutcome {
    /// The `display_id`s of the conversations that changed (the others already matched).
    pub updated_ids: Vec<i32>,
}

/// The state of one conversation after the action, and the activity lines.
struct Planned {
    before: Conversation,
    status: String,
    snoozed_until: Option<DateTime<Utc>>,
    assignee_id: Option<i64>,
    team_id: Option<i64>,
    labels: Vec<String>,
    lines: Vec<String>,
}

/// Applies `action` to the viewer's conversations in one transaction.
/// Errors: 422 naming `ids` (empty, more than [`MAX_IDS`]), `status`, `snoozed_until`,
/// `assignee_id`, `team_id`, `labels` or `fields` (nothing to do); 404 naming the ids the
/// viewer cannot see (another account's, an inbox they are not a member of, or absent):
/// nothing changes then.
pub fn apply(
    conn: &mut PgConnection,
    viewer: &Viewer,
    action: &BulkAction,
) -> AppResult<BulkOutcome> {
    if action.ids.is_empty() {
        return Err(AppError::invalid(
            "ids",
            "ids must hold at least one conversation",
        ));
    }
    let mut ids: Vec<i32> = action.ids.clone();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() > MAX_IDS {
        return Err(AppError::invalid(
            "ids",
            format!(
                "at most {MAX_IDS} conversations per bulk action, not {}",
                ids.len()
            ),
        ));
    }
    if let Some(s) = &action.status {
        if !conversations::STATUSES.contains(&s.as_str()) {
            return Err(AppError::invalid(
                "status",
                format!("unknown status {s:?}; use open, pending, resolved or snoozed"),
            ));
        }
    }
    if let Some(until) = action.snoozed_until {
        if action.status.as_deref() != Some("snoozed") {
            return Err(AppError::invalid(
                "snoozed_until",
                "snoozed_until is only accepted with status snoozed",
            ));
        }
        if until <= Utc::now() {
            return Err(AppError::invalid(
                "snoozed_until",
                "snoozed_until must be in the future",
            ));
        }
    }
    let add = conversations::normalize_labels(&action.add_labels)?;
    let remove = conversations::normalize_labels(&action.remove_labels)?;
    if action.status.is_none()
        && action.assignee_id.is_none()
        && action.team_id.is_none()
        && add.is_empty()
        && remove.is_empty()
    {
        return Err(AppError::invalid(
            "fields",
            "nothing to do: give fields (status, assignee_id, team_id) or labels (add, remove)",
        ));
    }
    conn.transaction(|conn| {
        // Locked in id order, as every other writer of several rows would
        // (`FOR NO KEY UPDATE`, as `conversations::lock`: foreign-key checks pass).
        let rows: Vec<Conversation> = conv::table
            .filter(conv::account_id.eq(viewer.account_id))
            .filter(conv::display_id.eq_any(&ids))
            .order(conv::id)
            .for_no_key_update()
            .select(Conversation::as_select())
            .load(conn)?;
        let visible = viewer.visible_inbox_ids(conn)?;
        let seen: HashSet<i32> = rows
            .iter()
            .filter(|c| visible.as_ref().is_none_or(|v| v.contains(&c.inbox_id)))
            .map(|c| c.display_id)
            .collect();
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !seen.contains(id))
            .map(i32::to_string)
            .collect();
        if !missing.is_empty() {
            return Err(AppError::NotFound(format!(
                "conversations {} not found",
                missing.join(", ")
            )));
        }
        let assignee = match action.assignee_id.flatten().filter(|&i| i != 0) {
            None => None,
            Some(id) => Some(accounts::member(conn, viewer.account_id, id)?.ok_or_else(|| {
                AppError::invalid("assignee_id", format!("no agent with id {id} in this account"))
            })?),
        };
        if let Some(m) = &assignee {
            if m.role == Role::Agent {
                let member_of: HashSet<i64> = inbox_members::table
                    .filter(inbox_members::user_id.eq(m.user.id))
                    .select(inbox_members::inbox_id)
                    .load::<i64>(conn)?
                    .into_iter()
                    .collect();
                if let Some(c) = rows.iter().find(|c| !member_of.contains(&c.inbox_id)) {
                    return Err(AppError::invalid(
                        "assignee_id",
                        format!(
                            "{} (agent {}) is not a member of the inbox of conversation {}",
                            m.user.name, m.user.id, c.display_id
                        ),
                    ));
                }
            }
        }
        let teams: HashMap<i64, String> = accounts::teams_of(conn, viewer.account_id)?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
        let team = action.team_id.map(|t| t.filter(|&i| i != 0));
        if let Some(Some(id)) = team {
            if !teams.contains_key(&id) {
                return Err(AppError::invalid(
                    "team_id",
                    format!("no team with id {id} in this account"),
                ));
            }
        }
        let actor = conversations::actor_name(conn, viewer)?;
        let now = Utc::now();

        let plans: Vec<Planned> = rows
            .into_iter()
            .filter_map(|c| plan(c, action, &assignee, team, &add, &remove, &teams, viewer, &actor))
            .collect();
        if plans.is_empty() {
            return Ok(BulkOutcome::default());
        }

        // One UPDATE for every changed row.
        let ids: Vec<i64> = plans.iter().map(|p| p.before.id).collect();
        diesel::sql_query(
            "UPDATE conversations c SET status = v.status, snoozed_until = v.snoozed_until, \
               assignee_id = v.assignee_id, team_id = v.team_id, \
               labels = ARRAY(SELECT e FROM jsonb_array_elements_text(v.labels) WITH ORDINALITY AS t(e, n) ORDER BY n), \
               updated_at = $7, \
               last_activity_at = CASE WHEN v.active THEN GREATEST(c.last_activity_at, $7) ELSE c.last_activity_at END \
             FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::jsonb[], $8::bool[]) \
               AS v(id, status, snoozed_until, assignee_id, team_id, labels, active) \
             WHERE c.id = v.id",
        )
        .bind::<Array<BigInt>, _>(&ids)
        .bind::<Array<Text>, _>(plans.iter().map(|p| p.status.clone()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Timestamptz>>, _>(
            plans.iter().map(|p| p.snoozed_until).collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<BigInt>>, _>(plans.iter().map(|p| p.assignee_id).collect::<Vec<_>>())
        .bind::<Array<Nullable<BigInt>>, _>(plans.iter().map(|p| p.team_id).collect::<Vec<_>>())
        .bind::<Array<Jsonb>, _>(plans.iter().map(|p| json!(p.labels)).collect::<Vec<_>>())
        .bind::<Timestamptz, _>(now)
        .bind::<Array<Bool>, _>(plans.iter().map(|p| !p.lines.is_empty()).collect::<Vec<_>>())
        .execute(conn)?;
        let after: HashMap<i64, Conversation> = conv::table
            .filter(conv::id.eq_any(&ids))
            .select(Conversation::as_select())
            .load(conn)?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();

        // One INSERT for the activity lines (Chatwoot's, as `add_activities` writes them).
        let new_messages: Vec<NewMessage> = plans
            .iter()
            .flat_map(|p| {
                p.lines.iter().map(move |line| NewMessage {
                    account_id: p.before.account_id,
                    inbox_id: p.before.inbox_id,
                    conversation_id: p.before.id,
                    message_type: message_type::ACTIVITY,
                    content: Some(line.clone()),
                    content_type: "text".into(),
                    content_attributes: json!({}),
                    private: false,
                    status: "sent".into(),
                    source_id: None,
                    external_error: None,
                    sender_type: None,
                    sender_id: None,
                    created_at: now,
                })
            })
            .collect();
        let inserted: Vec<(i64, i64)> = if new_messages.is_empty() {
            vec![]
        } else {
            diesel::insert_into(msgs::table)
                .values(&new_messages)
                .returning((msgs::id, msgs::conversation_id))
                .get_results(conn)?
        };

        // The events, in the order the single actions emit them: the changes, then each
        // activity line's `message.created`.
        let mut events: Vec<(i64, i64, &'static str, Value)> = vec![];
        for p in &plans {
            let a = &after[&p.before.id];
            for (name, payload) in conversations::change_events(&p.before, a) {
                events.push((a.inbox_id, a.id, name, payload));
            }
            for (mid, _) in inserted.iter().filter(|(_, c)| *c == a.id) {
                events.push((
                    a.inbox_id,
                    a.id,
                    super::events::MESSAGE_CREATED,
                    json!({
                        "message_id": mid,
                        "message_type": message_type::ACTIVITY,
                        "private": false,
                        "status": "sent",
                        "display_id": a.display_id,
                    }),
                ));
            }
        }
        emit_all(conn, viewer.account_id, &events)?;

        // "Assigned to you" emails, as `conversations::assign` queues them (one job per
        // conversation, queued in one statement).
        if let Some(m) = &assignee {
            let newly: Vec<i64> = plans
                .iter()
                .filter(|p| p.before.assignee_id != Some(m.user.id))
                .map(|p| p.before.id)
                .collect();
            if m.user.id != viewer.user_id
                && !newly.is_empty()
                && super::notifications::wants(
                    conn,
                    m.user.id,
                    viewer.account_id,
                    super::notifications::Kind::ConversationAssigned,
                )?
            {
                let jobs = newly
                    .iter()
                    .map(|&conversation_id| {
                        serde_json::to_value(crate::jobs::email::EmailJob::ConversationAssigned {
                            user_id: m.user.id,
                            conversation_id,
                            assigned_by: Some(viewer.user_id),
                        })
                        .map_err(|e| AppError::Internal(e.to_string()))
                    })
                    .collect::<AppResult<Vec<Value>>>()?;
                diesel::sql_query(
                    "INSERT INTO jobs (kind, payload, max_attempts) \
                     SELECT $1, p, $2 FROM unnest($3::jsonb[]) AS p",
                )
                .bind::<Text, _>(crate::jobs::email::EMAIL)
                .bind::<diesel::sql_types::Integer, _>(crate::jobs::email::MAX_ATTEMPTS)
                .bind::<Array<Jsonb>, _>(jobs)
                .execute(conn)?;
            }
        }
        Ok(BulkOutcome {
            updated_ids: plans.iter().map(|p| p.before.display_id).collect(),
        })
    })
}

/// The new state of `c` and its activity lines, or `None` when nothing changes.
#[allow(clippy::too_many_arguments)]
fn plan(
    c: Conversation,
    action: &BulkAction,
    assignee: &Option<accounts::Member>,
    team: Option<Option<i64>>,
    add: &[String],
    remove: &[String],
    teams: &HashMap<i64, String>,
    viewer: &Viewer,
    actor: &str,
) -> Option<Planned> {
    let mut lines = vec![];
    // Status, as `toggle_status`.
    let (status, snoozed_until) = match &action.status {
        Some(s) => {
            let until = if s == "snoozed" {
                action.snoozed_until
            } else {
                None
            };
            if *s != c.status {
                lines.push(conversations::status_activity(s, actor));
            }
            (s.clone(), until)
        }
        None => (c.status.clone(), c.snoozed_until),
    };
    // Assignee, as `assign`.
    let assignee_id = match action.assignee_id {
        Some(_) => {
            let new = assignee.as_ref().map(|m| m.user.id);
            if new != c.assignee_id {
                lines.push(match assignee {
                    Some(m) if m.user.id == viewer.user_id => {
                        format!("{actor} self-assigned this conversation")
                    }
                    Some(m) => format!("Assigned to {} by {actor}", m.user.name),
                    None => format!("Conversation unassigned by {actor}"),
                });
            }
            new
        }
        None => c.assignee_id,
    };
    // Team, as `assign`.
    let team_id = match team {
        Some(new) => {
            if new != c.team_id {
                let previous = c.team_id.and_then(|t| teams.get(&t));
                lines.push(match (new.and_then(|t| teams.get(&t)), previous) {
                    (Some(t), _) => format!("Assigned to {t} by {actor}"),
                    (None, Some(p)) => format!("Unassigned from {p} by {actor}"),
                    (None, None) => format!("Conversation unassigned from its team by {actor}"),
                });
            }
            new
        }
        None => c.team_id,
    };
    // Labels, as `set_labels` with the list plus `add` minus `remove`.
    let mut labels: Vec<String> = c
        .labels
        .iter()
        .chain(add)
        .filter(|l| !remove.contains(l))
        .cloned()
        .collect();
    labels.sort();
    labels.dedup();
    let added: Vec<&str> = labels
        .iter()
        .filter(|l| !c.labels.contains(l))
        .map(String::as_str)
        .collect();
    let mut removed: Vec<&str> = c
        .labels
        .iter()
        .filter(|l| !labels.contains(l))
        .map(String::as_str)
        .collect();
    removed.sort_unstable();
    if !added.is_empty() {
        lines.push(format!("{actor} added {}", added.join(", ")));
    }
    if !removed.is_empty() {
        lines.push(format!("{actor} removed {}", removed.join(", ")));
    }
    let unchanged = status == c.status
        && snoozed_until == c.snoozed_until
        && assignee_id == c.assignee_id
        && team_id == c.team_id
        && labels == c.labels;
    if unchanged {
        return None;
    }
    Some(Planned {
        before: c,
        status,
        snoozed_until,
        assignee_id,
        team_id,
        labels,
        lines,
    })
}

/// Records `(inbox_id, conversation_id, name, payload)` events of one account in one
/// statement (announced with NOTIFY as `events::emit` does), then queues their integration
/// webhook deliveries when the account has an enabled webhook.
fn emit_all(
    conn: &mut PgConnection,
    account_id: i64,
    events: &[(i64, i64, &'static str, Value)],
) -> AppResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "WITH e AS (INSERT INTO realtime_events (account_id, inbox_id, conversation_id, name, payload) \
           SELECT $1, v.inbox_id, v.conversation_id, v.name, v.payload \
           FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::jsonb[]) WITH ORDINALITY \
             AS v(inbox_id, conversation_id, name, payload, n) ORDER BY v.n RETURNING id) \
         SELECT count(pg_notify('switchboard_events', e.id::text)) FROM e",
    )
    .bind::<BigInt, _>(account_id)
    .bind::<Array<BigInt>, _>(events.iter().map(|e| e.0).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(events.iter().map(|e| e.1).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(events.iter().map(|e| e.2).collect::<Vec<_>>())
    .bind::<Array<Jsonb>, _>(events.iter().map(|e| e.3.clone()).collect::<Vec<_>>())
    .execute(conn)?;
    // Issue 13: a bulk resolve or reassignment frees slots for queued conversations.
    for (inbox_id, conversation_id, name, payload) in events {
        super::auto_assignment::on_event(
            conn,
            account_id,
            Some(*inbox_id),
            Some(*conversation_id),
            name,
            payload,
        )?;
        // Issue 14 (reports): a bulk resolve or assignment is reported like a single one.
        super::reporting::on_event(conn, Some(*conversation_id), name, payload)?;
    }
    let has_webhooks = diesel::select(diesel::dsl::exists(
        webhooks::table
            .filter(webhooks::account_id.eq(account_id))
            .filter(webhooks::enabled.eq(true)),
    ))
    .get_result::<bool>(conn)?;
    // Issue 13 (rules): the automation rules' jobs, in one statement.
    let for_rules: Vec<super::automation::RuleEvent<'_>> = events
        .iter()
        .map(|e| (account_id, e.1, e.2, &e.3))
        .collect();
    super::automation::enqueue_for_events(conn, &for_rules)?;
    if has_webhooks {
        for (inbox_id, conversation_id, name, payload) in events {
            super::webhooks::enqueue_for_event(
                conn,
                account_id,
                Some(*inbox_id),
                Some(*conversation_id),
                name,
                payload,
            )?;
        }
    }
    Ok(())
}
