//! Issue 13 (rules): Settings → Automation. Administrators see the automation rules (list
//! with an on/off switch, the rule editor with condition and action rows, each rule's latest
//! runs); every member sees the macros they may run (global ones and their own) and edits
//! their own. The page is server-rendered; `static/automation.js` builds the editor rows and
//! saves through the Chatwoot API (`/automation_rules`, `/macros`) with the session cookie.

use super::scope::AccountMember;
use super::{html, Layout};
use crate::app::AppState;
use crate::domain::automation::{self, actions, conditions, macros};
use crate::domain::{accounts, inboxes, labels};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde_json::json;

/// A rule as the list shows it.
pub struct RuleRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub event: String,
    pub active: bool,
    pub summary: String,
    /// The rule's API JSON, for the editor.
    pub json: String,
}

/// A macro as the list shows it.
pub struct MacroRow {
    pub id: i64,
    pub name: String,
    pub visibility: String,
    pub summary: String,
    pub mine: bool,
    pub json: String,
}

#[derive(Template)]
#[template(path = "settings/automation.html")]
struct AutomationPage {
    layout: Layout,
    rules: Vec<RuleRow>,
    macros: Vec<MacroRow>,
    /// Options of the editor (events, keys, operators, actions, agents, teams, labels,
    /// inboxes) as JSON.
    options: String,
}

fn event_label(e: &str) -> String {
    automation::EVENTS
        .iter()
        .find(|(n, _)| *n == e)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| e.to_string())
}

fn action_summary(list: &[actions::Action]) -> String {
    list.iter()
        .map(|a| {
            let label = actions::NAMES
                .iter()
                .find(|(n, _)| *n == a.action_name)
                .map(|(_, l)| *l)
                .unwrap_or(a.action_name.as_str());
            let params: Vec<String> = a
                .action_params
                .iter()
                .map(|p| match p {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            if params.is_empty() {
                label.to_string()
            } else {
                format!("{label}: {}", params.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// `GET /app/accounts/{id}/settings/automation`.
pub async fn index(state: web::Data<AppState>, member: AccountMember) -> HttpResponse {
    let layout = member.layout;
    let viewer = member.viewer;
    let is_admin = layout.is_admin;
    let loaded = state
        .db(move |conn| {
            let account_id = viewer.account_id;
            let rules = if is_admin {
                automation::list(conn, account_id)?
            } else {
                vec![]
            };
            let macro_list = macros::list(conn, &viewer)?;
            let agents: Vec<serde_json::Value> = accounts::list_members(conn, account_id)?
                .into_iter()
                .map(|m| json!({"id": m.user.id, "name": m.user.name}))
                .collect();
            let teams: Vec<serde_json::Value> = accounts::teams_of(conn, account_id)?
                .into_iter()
                .map(|t| json!({"id": t.id, "name": t.name}))
                .collect();
            let label_list: Vec<String> = labels::list(conn, account_id)?
                .into_iter()
                .map(|l| l.title)
                .collect();
            let inbox_list: Vec<serde_json::Value> = inboxes::list(conn, account_id, None)?
                .into_iter()
                .map(|(i, _)| json!({"id": i.id, "name": i.name}))
                .collect();
            // Issue 13 (SLA): the policies the `add_sla` action offers.
            let slas: Vec<serde_json::Value> = crate::domain::sla::list(conn, account_id)?
                .into_iter()
                .map(|p| json!({"id": p.id, "name": p.name}))
                .collect();
            Ok((
                rules,
                macro_list,
                agents,
                teams,
                label_list,
                (inbox_list, slas),
            ))
        })
        .await;
    let (rules, macro_list, agents, teams, label_list, (inbox_list, slas)) = match loaded {
        Ok(v) => v,
        Err(e) => return actix_web::ResponseError::error_response(&e),
    };
    let keys: Vec<serde_json::Value> = conditions::KEYS
        .iter()
        .map(|(k, l)| {
            json!({"key": k, "label": l, "operators": conditions::operators(k, false).unwrap_or(&[])})
        })
        .collect();
    let options = json!({
        "account_id": layout.account_id,
        "events": automation::EVENTS.iter().map(|(k, l)| json!({"key": k, "label": l})).collect::<Vec<_>>(),
        "keys": keys,
        "custom_operators": conditions::operators("x", true).unwrap_or(&[]),
        "actions": actions::NAMES.iter().map(|(k, l)| json!({"key": k, "label": l})).collect::<Vec<_>>(),
        "agents": agents,
        "teams": teams,
        "labels": label_list,
        "inboxes": inbox_list,
        "sla_policies": slas,
    });
    let user_id = layout.user_id;
    let page = AutomationPage {
        rules: rules
            .iter()
            .map(|r| RuleRow {
                id: r.id,
                name: r.name.clone(),
                description: r.description.clone(),
                event: match (r.event_name.as_str(), r.unanswered_minutes) {
                    (automation::UNANSWERED, Some(m)) => {
                        format!("Open and unanswered for {m} minutes")
                    }
                    (e, _) => event_label(e),
                },
                active: r.active,
                summary: action_summary(&r.action_list()),
                json: automation::to_json(r).to_string(),
            })
            .collect(),
        macros: macro_list
            .iter()
            .map(|m| MacroRow {
                id: m.id,
                name: m.name.clone(),
                visibility: m.visibility.clone(),
                summary: action_summary(&m.action_list()),
                mine: is_admin || m.created_by_id == Some(user_id),
                json: macros::to_json(m).to_string(),
            })
            .collect(),
        options: options.to_string(),
        layout,
    };
    html(&page).unwrap_or_else(|e| actix_web::ResponseError::error_response(&e))
}
