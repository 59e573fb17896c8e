//! Automation rules, their runs, and macros (`domain::automation::to_json`, `run_json`,
//! `domain::automation::macros::to_json`, `web::api::automation`).

use utoipa::ToSchema;

/// One condition of an [`AutomationRule`] (`automation::conditions::Condition`, as stored
/// after validation).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AutomationCondition {
    /// What is compared: e.g. `status`, `content`, `message_type`, `inbox_id`, `labels`, or a
    /// custom attribute's key.
    #[schema(example = "content")]
    pub attribute_key: String,
    /// e.g. `equal_to`, `not_equal_to`, `contains`, `does_not_contain`, `starts_with`,
    /// `matches`, `is_present`, `is_not_present`.
    #[schema(example = "contains")]
    pub filter_operator: String,
    /// The values compared with (empty for `is_present` and `is_not_present`).
    #[schema(example = json!(["refund"]))]
    pub values: Vec<String>,
    /// `and` or `or`: how this condition joins the next.
    #[schema(example = "and")]
    pub query_operator: String,
    /// `contact_attribute` or `conversation_attribute`, for a custom attribute's condition
    /// only.
    pub custom_attribute_type: Option<String>,
}

/// One action of an [`AutomationRule`] or a [`Macro`] (`automation::actions::Action`, as
/// stored after validation).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AutomationAction {
    /// `add_label`, `remove_label`, `assign_agent`, `remove_assigned_agent`, `assign_team`,
    /// `remove_assigned_team`, `change_priority`, `send_message`, `send_template`,
    /// `add_private_note`, `snooze_conversation`, `resolve_conversation`,
    /// `open_conversation`, `pending_conversation`, `change_status`, `mute_conversation`,
    /// `send_email_to_team`, `send_webhook_event` or `add_sla`.
    #[schema(example = "add_label")]
    pub action_name: String,
    /// The action's arguments: label titles, an agent's or team's id, a text, template
    /// parameters (an object), … as the action needs.
    #[schema(example = json!(["refund"]))]
    pub action_params: Vec<serde_json::Value>,
}

/// An automation rule: Chatwoot's `automation_rule` object plus `unanswered_minutes` and
/// `updated_at`. Times are unix seconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AutomationRule {
    pub id: i64,
    pub account_id: i64,
    #[schema(example = "Refunds")]
    pub name: String,
    /// `""` when none.
    pub description: String,
    /// `message_created`, `conversation_created`, `conversation_updated`,
    /// `conversation_opened`, `conversation_resolved`, and ours: `conversation_unanswered`
    /// (time-based) and `sla_missed`.
    #[schema(example = "message_created")]
    pub event_name: String,
    /// All must hold (joined by each one's `query_operator`); empty: always.
    pub conditions: Vec<AutomationCondition>,
    /// Run in order.
    pub actions: Vec<AutomationAction>,
    /// False: the rule never runs.
    pub active: bool,
    /// Minutes the customer has waited, for `conversation_unanswered` (1–43200); null for
    /// every other event.
    #[schema(required = true)]
    pub unanswered_minutes: Option<i32>,
    /// Unix seconds (Chatwoot's name for the creation time).
    pub created_on: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// `POST|GET|PATCH|PUT /automation_rules[/{id}]`: `{"payload": rule}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AutomationRulePayload {
    pub payload: AutomationRule,
}

/// `GET /automation_rules`: `{"payload": [rule…]}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AutomationRuleList {
    pub payload: Vec<AutomationRule>,
}

/// One run of an automation rule (`automation::run_json`): a rule that matched an event.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AutomationRun {
    pub id: i64,
    pub rule_id: i64,
    /// The conversation's `display_id` (its number in the account); null when it was deleted.
    #[schema(required = true)]
    pub conversation_id: Option<i64>,
    /// The event that triggered the run.
    pub event_name: String,
    /// `done` or `failed` (the table also allows `skipped`, which nothing writes today).
    #[schema(example = "done")]
    pub outcome: String,
    /// One line per action done (empty when the run failed: its actions rolled back).
    pub actions_done: Vec<String>,
    /// Why the run failed; null when done.
    #[schema(required = true)]
    pub error: Option<String>,
    /// 0 for an event people or WhatsApp caused; more for one another rule's actions caused.
    pub depth: i32,
    /// Unix seconds.
    pub created_at: i64,
}

/// `GET /automation_rules/{id}/runs`: `{"payload": [run…]}`, newest first (at most 50).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AutomationRunList {
    pub payload: Vec<AutomationRun>,
}

/// A macro (`automation::macros::to_json`): Chatwoot's macro object. Times are unix seconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Macro {
    pub id: i64,
    pub account_id: i64,
    #[schema(example = "Escalate")]
    pub name: String,
    /// `personal` (only its creator sees and runs it) or `global`.
    #[schema(example = "global")]
    pub visibility: String,
    /// Run in order.
    pub actions: Vec<AutomationAction>,
    /// Null once the user is gone.
    #[schema(required = true)]
    pub created_by_id: Option<i64>,
    #[schema(required = true)]
    pub updated_by_id: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// `POST|GET|PATCH|PUT /macros[/{id}]`: `{"payload": macro}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MacroPayload {
    pub payload: Macro,
}

/// `GET /macros`: `{"payload": [macro…]}`, the account's global macros and the caller's
/// personal ones, by name.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MacroList {
    pub payload: Vec<Macro>,
}

/// What a macro execution did to one conversation (`macros::Executed`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MacroExecuted {
    /// The conversation's `display_id`.
    pub conversation_id: i32,
    /// One line per action done.
    pub actions_done: Vec<String>,
}

/// `POST /macros/{id}/execute`: `{"payload": [{conversation_id, actions_done}…]}`, one per
/// conversation given (repeated ids next to each other count once).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MacroExecution {
    pub payload: Vec<MacroExecuted>,
}
