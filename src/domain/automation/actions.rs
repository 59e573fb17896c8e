//! Automation and macro actions: Chatwoot's `{action_name, action_params}` rows, validated
//! when a rule or macro is saved and executed through the domain functions an agent's
//! action uses (`conversations::assign`, `set_labels`, `set_priority`, `toggle_status`,
//! `outbox::create`, the email queue), so activity lines, events, webhooks and emails are
//! the same. Never through HTTP.
//!
//! | `action_name` | `action_params` |
//! |---|---|
//! | `assign_agent` | `[user_id]` (`"nil"` unassigns) |
//! | `remove_assigned_agent` | `[]` |
//! | `assign_team` | `[team_id]` (`"nil"` removes the team) |
//! | `remove_assigned_team` | `[]` |
//! | `add_label`, `remove_label` | `[label, …]` |
//! | `change_priority` | `[priority]` (`urgent`, `high`, `medium`, `low`, `nil`/`none`) |
//! | `change_status` | `[status]` |
//! | `resolve_conversation`, `open_conversation`, `pending_conversation` | `[]` |
//! | `snooze_conversation` | `[]` (until the contact's next message) or `[minutes]` |
//! | `mute_conversation` | `[]`: mutes (`conversations::set_muted`: resolves, marks `additional_attributes.muted`; new messages don't reopen it nor notify) |
//! | `send_message` | `[text]` (inside the customer service window only; a rule's message is marked `content_attributes.automated` = `automation_rule`: no first reply, the customer still waits) |
//! | `send_template` (ours) | `[{name, language, processed_params?}]`, Chatwoot's `template_params` |
//! | `add_private_note` | `[text]` |
//! | `send_email_to_team` | `[{team_ids: [id, …], message}]` |
//! | `send_webhook_event` | `[url]`: queues a POST of the conversation on the durable, retried delivery queue (`webhooks::enqueue_url`; leaves only if the run commits) |
//!
//! | `add_sla` | `[sla_policy_id]`: applies the policy (`domain::sla::apply`), unless the conversation already has an SLA (Chatwoot's rule) |

use crate::domain::accounts::{self, Viewer};
use crate::domain::conversations::{self, AssignTo, Conversation};
use crate::domain::outbox::{self, OutgoingInput};
use crate::error::{AppError, AppResult};
use chrono::Utc;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Most actions in one rule or macro.
pub const MAX_ACTIONS: usize = 20;
/// Longest text of a message, note or email, in characters.
pub const MAX_TEXT_CHARS: usize = 4096;

/// The action names, with a label for the editor.
pub const NAMES: &[(&str, &str)] = &[
    ("add_label", "Add labels"),
    ("remove_label", "Remove labels"),
    ("assign_agent", "Assign an agent"),
    ("remove_assigned_agent", "Unassign the agent"),
    ("assign_team", "Assign a team"),
    ("remove_assigned_team", "Remove the team"),
    ("change_priority", "Set priority"),
    ("send_message", "Send a message"),
    ("send_template", "Send a template"),
    ("add_private_note", "Add a private note"),
    ("snooze_conversation", "Snooze"),
    ("resolve_conversation", "Resolve"),
    ("open_conversation", "Reopen"),
    ("pending_conversation", "Mark pending"),
    ("change_status", "Set status"),
    ("mute_conversation", "Mute"),
    ("send_email_to_team", "Email a team"),
    ("send_webhook_event", "Send a webhook"),
    ("add_sla", "Apply an SLA policy"),
];

/// One validated action (as stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub action_name: String,
    #[serde(default)]
    pub action_params: Vec<Value>,
}

fn param_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => o.get("id").and_then(param_text),
        _ => None,
    }
}

/// Validates the `actions` array against the account (agents, teams exist). Fields in errors
/// are `actions[i].action_name` / `actions[i].action_params`. `allow_http`: accept `http://`
/// webhook URLs (`WEBHOOKS_ALLOW_HTTP`). Errors: 422 for an empty or over-long list, unknown
/// names, missing or mistyped params, another account's agent, team or SLA policy.
pub fn parse(
    conn: &mut PgConnection,
    account_id: i64,
    raw: &Value,
    allow_http: bool,
) -> AppResult<Vec<Action>> {
    let Value::Array(items) = raw else {
        return Err(AppError::invalid(
            "actions",
            "actions must be an array of {action_name, action_params}",
        ));
    };
    if items.is_empty() || items.len() > MAX_ACTIONS {
        return Err(AppError::invalid(
            "actions",
            format!("give 1 to {MAX_ACTIONS} actions"),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_one(conn, account_id, i, item, allow_http))
        .collect()
}

fn parse_one(
    conn: &mut PgConnection,
    account_id: i64,
    i: usize,
    item: &Value,
    allow_http: bool,
) -> AppResult<Action> {
    let pfield = format!("actions[{i}].action_params");
    let nfield = format!("actions[{i}].action_name");
    let Some(obj) = item.as_object() else {
        return Err(AppError::invalid(
            &format!("actions[{i}]"),
            "each action must be an object",
        ));
    };
    let name = match obj.get("action_name") {
        Some(Value::String(s)) => s.trim().to_string(),
        _ => return Err(AppError::invalid(&nfield, "action_name is required")),
    };
    if !NAMES.iter().any(|(n, _)| *n == name) {
        return Err(AppError::invalid(
            &nfield,
            format!("unknown action_name {name:?}"),
        ));
    }
    let params: Vec<Value> = match obj.get("action_params") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
    };
    let bad = |m: String| Err(AppError::invalid(&pfield, m));
    let first_text = params.first().and_then(param_text).unwrap_or_default();
    let params = match name.as_str() {
        "assign_agent" | "assign_team" => {
            if first_text == "nil" || first_text == "0" {
                vec![json!("nil")]
            } else {
                let Ok(id) = first_text.parse::<i64>() else {
                    return bad(format!("{name} needs an id"));
                };
                let exists = if name == "assign_agent" {
                    accounts::member(conn, account_id, id)?.is_some()
                } else {
                    accounts::find_team(conn, account_id, id)?.is_some()
                };
                if !exists {
                    return bad(format!(
                        "no {} with id {id} in this account",
                        if name == "assign_agent" {
                            "agent"
                        } else {
                            "team"
                        }
                    ));
                }
                vec![json!(id)]
            }
        }
        "add_label" | "remove_label" => {
            let labels: Vec<String> = params.iter().filter_map(param_text).collect();
            if labels.is_empty() || labels.len() != params.len() {
                return bad("give one or more labels".into());
            }
            let labels = conversations::normalize_labels(&labels)
                .map_err(|e| AppError::invalid(&pfield, e.to_string()))?;
            labels.into_iter().map(Value::String).collect()
        }
        "change_priority" => {
            let p = if first_text == "nil" || first_text.is_empty() {
                "none".to_string()
            } else {
                first_text.clone()
            };
            if p != "none" && !conversations::PRIORITIES.contains(&p.as_str()) {
                return bad(format!(
                    "unknown priority {p:?}; use urgent, high, medium, low or none"
                ));
            }
            vec![json!(p)]
        }
        "change_status" => {
            if !conversations::STATUSES.contains(&first_text.as_str()) {
                return bad("use open, pending, resolved or snoozed".into());
            }
            vec![json!(first_text)]
        }
        "snooze_conversation" => match params.first() {
            None | Some(Value::Null) => vec![],
            Some(_) => match first_text.parse::<i64>() {
                Ok(m) if (1..=525_600).contains(&m) => vec![json!(m)],
                _ => return bad("snooze for 1 to 525600 minutes, or give no params".into()),
            },
        },
        "send_message" | "add_private_note" => {
            let t = params
                .first()
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if t.trim().is_empty() || t.chars().count() > MAX_TEXT_CHARS || t.contains('\0') {
                return bad(format!("give a text of 1 to {MAX_TEXT_CHARS} characters"));
            }
            vec![json!(t)]
        }
        "send_template" => {
            let Some(p) = params.first().filter(|p| p.is_object()) else {
                return bad("give {name, language, processed_params}".into());
            };
            let t: crate::domain::templates::TemplateParams =
                match serde_json::from_value(p.clone()) {
                    Ok(t) => t,
                    Err(e) => return bad(format!("template params: {e}")),
                };
            if t.name.trim().is_empty() || t.language.trim().is_empty() {
                return bad("the template needs a name and a language".into());
            }
            vec![p.clone()]
        }
        "send_email_to_team" => {
            let Some(p) = params.first().and_then(Value::as_object) else {
                return bad("give {team_ids, message}".into());
            };
            let ids: Vec<i64> = p
                .get("team_ids")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| param_text(v)?.parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            if ids.is_empty() {
                return bad("team_ids must hold team ids".into());
            }
            for id in &ids {
                if accounts::find_team(conn, account_id, *id)?.is_none() {
                    return bad(format!("no team with id {id} in this account"));
                }
            }
            let msg = p.get("message").and_then(Value::as_str).unwrap_or("");
            if msg.trim().is_empty() || msg.chars().count() > MAX_TEXT_CHARS || msg.contains('\0') {
                return bad(format!("message must be 1 to {MAX_TEXT_CHARS} characters"));
            }
            vec![json!({"team_ids": ids, "message": msg})]
        }
        "add_sla" => {
            let Ok(id) = first_text.parse::<i64>() else {
                return bad("add_sla needs the id of an SLA policy".into());
            };
            if crate::domain::sla::find(conn, account_id, id).is_err() {
                return bad(format!("no SLA policy with id {id} in this account"));
            }
            vec![json!(id)]
        }
        "send_webhook_event" => {
            let ok = url::Url::parse(&first_text).is_ok_and(|u| {
                u.host_str().is_some()
                    && (u.scheme() == "https" || (allow_http && u.scheme() == "http"))
            });
            if !ok {
                return bad(if allow_http {
                    "give an http(s) URL".into()
                } else {
                    "give an https:// URL".into()
                });
            }
            vec![json!(first_text)]
        }
        _ => vec![],
    };
    Ok(Action {
        action_name: name,
        action_params: params,
    })
}

/// Settings of the run that come from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct RunSettings {
    /// `SEND_MAX_ATTEMPTS`.
    pub send_max_attempts: i32,
}

/// Executes `actions` on conversation `conversation_id` as `viewer` (an agent for a macro,
/// [`super::system_viewer`] for a rule), in the caller's transaction. Returns one line per
/// action saying what it did.
/// Errors: the first failing action's error (e.g. 422 `content` when a message is sent
/// outside the customer service window); the caller rolls back.
pub fn execute(
    conn: &mut PgConnection,
    viewer: &Viewer,
    conversation_id: i64,
    actions: &[Action],
    settings: RunSettings,
    source: &str,
) -> AppResult<Vec<String>> {
    let mut done = vec![];
    for a in actions {
        let c = conversations::find_by_id(conn, conversation_id)?;
        let line = run_one(conn, viewer, &c, a, settings, source).map_err(|e| match e {
            AppError::Unprocessable { field, message } => AppError::Unprocessable {
                field,
                message: format!("{}: {message}", a.action_name),
            },
            other => other,
        })?;
        done.push(line);
    }
    Ok(done)
}

/// `content_attributes.automated` of a message an action sends: `"automation_rule"` while a
/// rule runs (the Automation System), `None` for a macro an agent runs (their reply).
fn automated_kind() -> Option<String> {
    super::running_rule().map(|_| "automation_rule".to_string())
}

fn first_str(a: &Action) -> String {
    a.action_params
        .first()
        .and_then(param_text)
        .unwrap_or_default()
}

fn run_one(
    conn: &mut PgConnection,
    viewer: &Viewer,
    c: &Conversation,
    a: &Action,
    settings: RunSettings,
    source: &str,
) -> AppResult<String> {
    let d = c.display_id;
    let p = first_str(a);
    let status = |conn: &mut PgConnection, s: &str, until| -> AppResult<String> {
        conversations::toggle_status(conn, viewer, d, Some(s), until)?;
        Ok(format!("status {s}"))
    };
    match a.action_name.as_str() {
        "assign_agent" | "remove_assigned_agent" => {
            let id = p.parse::<i64>().ok();
            conversations::assign(conn, viewer, d, AssignTo::Agent(id))?;
            Ok(match id {
                Some(id) => format!("assigned agent {id}"),
                None => "unassigned the agent".into(),
            })
        }
        "assign_team" | "remove_assigned_team" => {
            let id = p.parse::<i64>().ok();
            conversations::assign(conn, viewer, d, AssignTo::Team(id))?;
            Ok(match id {
                Some(id) => format!("assigned team {id}"),
                None => "removed the team".into(),
            })
        }
        "add_label" | "remove_label" => {
            let given: Vec<String> = a.action_params.iter().filter_map(param_text).collect();
            let mut labels = c.labels.clone();
            if a.action_name == "add_label" {
                labels.extend(given.iter().cloned());
            } else {
                labels.retain(|l| !given.contains(l));
            }
            conversations::set_labels(conn, viewer, d, &labels)?;
            Ok(format!(
                "{} {}",
                if a.action_name == "add_label" {
                    "added label"
                } else {
                    "removed label"
                },
                given.join(", ")
            ))
        }
        "change_priority" => {
            conversations::set_priority(conn, viewer, d, &p)?;
            Ok(format!("priority {p}"))
        }
        "change_status" => status(conn, &p, None),
        "resolve_conversation" => status(conn, "resolved", None),
        "open_conversation" => status(conn, "open", None),
        "pending_conversation" => status(conn, "pending", None),
        "snooze_conversation" => {
            let until = p
                .parse::<i64>()
                .ok()
                .map(|m| Utc::now() + chrono::Duration::minutes(m));
            status(conn, "snoozed", until)
        }
        "mute_conversation" => {
            conversations::set_muted(conn, viewer, d, true)?;
            Ok("muted".into())
        }
        "send_message" | "add_private_note" => {
            let private = a.action_name == "add_private_note";
            let text = a
                .action_params
                .first()
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let (m, _) = outbox::create(
                conn,
                c,
                viewer.user_id,
                OutgoingInput {
                    content: Some(text),
                    private,
                    automated: automated_kind(),
                    ..Default::default()
                },
                settings.send_max_attempts,
                Utc::now(),
            )?;
            Ok(format!(
                "{} (message {})",
                if private {
                    "added a private note"
                } else {
                    "sent a message"
                },
                m.id
            ))
        }
        "send_template" => {
            let t: crate::domain::templates::TemplateParams =
                serde_json::from_value(a.action_params.first().cloned().unwrap_or_default())
                    .map_err(|e| AppError::invalid("template_params", e.to_string()))?;
            let name = t.name.clone();
            let (m, _) = outbox::create(
                conn,
                c,
                viewer.user_id,
                OutgoingInput {
                    template: Some(t),
                    automated: automated_kind(),
                    ..Default::default()
                },
                settings.send_max_attempts,
                Utc::now(),
            )?;
            Ok(format!("sent template {name} (message {})", m.id))
        }
        "send_email_to_team" => {
            use crate::db::schema::{team_members, users};
            let p = a.action_params.first().cloned().unwrap_or_default();
            let ids: Vec<i64> = p["team_ids"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            let message = p["message"].as_str().unwrap_or("").to_string();
            let user_ids: Vec<i64> = team_members::table
                .filter(team_members::team_id.eq_any(&ids))
                .select(team_members::user_id)
                .load(conn)?;
            let mut to: Vec<(String, String)> = users::table
                .filter(users::id.eq_any(&user_ids))
                .select((users::name, users::email))
                .load(conn)?;
            to.sort();
            to.dedup();
            for (name, email) in &to {
                crate::jobs::email::enqueue(
                    conn,
                    &crate::jobs::email::EmailJob::Message {
                        to: format!("{name} <{email}>"),
                        subject: format!("[{source}] Conversation #{d}"),
                        text: format!("{message}\n\nConversation #{d}"),
                        html: None,
                    },
                )?;
            }
            Ok(format!("emailed {} team member(s)", to.len()))
        }
        "add_sla" => {
            let id = p.parse::<i64>().map_err(|_| {
                AppError::invalid("action_params", "add_sla needs the id of an SLA policy")
            })?;
            let applied = crate::domain::sla::apply(
                conn,
                c.account_id,
                c.id,
                id,
                crate::domain::sla::IfApplied::Keep,
                Utc::now(),
            )?;
            Ok(match applied {
                Some(_) => format!("applied SLA policy {id}"),
                None => "kept the SLA already applied".into(),
            })
        }
        "send_webhook_event" => {
            crate::domain::webhooks::enqueue_url(
                conn,
                c.id,
                &p,
                json!({
                    "event": "automation_event",
                    "source": source,
                    "account": { "id": c.account_id },
                    "conversation": {
                        "id": c.display_id,
                        "inbox_id": c.inbox_id,
                        "status": c.status,
                        "priority": c.priority,
                        "labels": c.labels,
                        "assignee_id": c.assignee_id,
                        "team_id": c.team_id,
                        "contact_id": c.contact_id,
                    },
                }),
            )?;
            Ok(format!("webhook to {p} queued"))
        }
        other => Err(AppError::invalid(
            "action_name",
            format!("unknown action {other:?}"),
        )),
    }
}
