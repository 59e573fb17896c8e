//! Conversations (`views::conversation`, `web::api::conversations`,
//! `web::api::conversation_actions`, `web::api::conversation_create`,
//! `web::api::conversation_filters`).

use super::contacts::Contact;
use super::messages::Message;
use super::{Agent, Team};
use crate::web::openapi::schema_ref;
use utoipa::openapi::schema::{OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// A conversation (`views::conversation` with the SLA fields of `sla::merge_json`), as the
/// list, `GET /conversations/{display_id}`, its update and `POST /conversations` render it.
/// `id` is the `display_id`. Times are unix seconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Conversation {
    /// The `display_id`: the conversation's number in its account.
    pub id: i64,
    pub account_id: i64,
    pub inbox_id: i64,
    pub uuid: String,
    /// `open`, `resolved`, `pending` or `snoozed`.
    #[schema(example = "open")]
    pub status: String,
    /// `urgent`, `high`, `medium` or `low`; null for none.
    #[schema(required = true)]
    pub priority: Option<String>,
    #[schema(required = true)]
    pub assignee_id: Option<i64>,
    #[schema(required = true)]
    pub team_id: Option<i64>,
    /// Unix seconds, for a `snoozed` conversation with a wake-up time.
    #[schema(required = true)]
    pub snoozed_until: Option<i64>,
    /// Whether WhatsApp's 24-hour customer service window is open (free-form replies
    /// allowed; templates otherwise).
    pub can_reply: bool,
    /// Unix seconds; null before the customer wrote.
    #[schema(required = true)]
    pub customer_service_window_closes_at: Option<i64>,
    /// Unix seconds of the customer's latest message; null before the customer wrote.
    #[schema(required = true)]
    pub last_incoming_at: Option<i64>,
    /// Unix seconds, `0` when never.
    pub agent_last_seen_at: i64,
    /// Unix seconds, `0` when never (the same as `agent_last_seen_at`).
    pub assignee_last_seen_at: i64,
    /// Always `0`.
    pub contact_last_seen_at: i64,
    /// Unix seconds of the customer's oldest unanswered message, `0` when nobody waits.
    pub waiting_since: i64,
    /// Incoming messages since an agent last read the conversation.
    pub unread_count: i64,
    pub muted: bool,
    pub labels: Vec<String>,
    #[schema(value_type = Object)]
    pub additional_attributes: serde_json::Value,
    /// The account's custom attributes, by `attribute_key`.
    #[schema(value_type = Object)]
    pub custom_attributes: serde_json::Value,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Unix seconds: `last_activity_at`.
    pub timestamp: i64,
    /// Unix seconds.
    pub last_activity_at: i64,
    /// The latest message of any kind, or none: at most one item.
    pub messages: Vec<Message>,
    /// The latest message that is not an activity line.
    #[schema(required = true)]
    pub last_non_activity_message: Option<Message>,
    pub meta: ConversationMeta,
    /// The SLA applied to the conversation, if any.
    #[schema(required = true)]
    pub applied_sla: Option<AppliedSla>,
    /// The SLA's recorded misses, oldest first (`[]` without an SLA).
    pub sla_events: Vec<SlaEvent>,
}

/// `meta` of a [`Conversation`].
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConversationMeta {
    /// The contact (without `contact_inboxes`).
    pub sender: Contact,
    /// `Channel::Whatsapp`.
    pub channel: String,
    #[schema(required = true)]
    pub assignee: Option<Agent>,
    #[schema(required = true)]
    pub team: Option<Team>,
    /// Always false.
    pub hmac_verified: bool,
}

/// The SLA applied to a conversation (`sla::applied_json`). Times are unix seconds,
/// thresholds seconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AppliedSla {
    pub id: i64,
    /// The SLA policy's id.
    pub sla_id: i64,
    /// `active`, `active_with_misses`, `hit` or `missed`.
    pub sla_status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub sla_name: String,
    pub sla_description: String,
    #[schema(required = true)]
    pub sla_first_response_time_threshold: Option<i64>,
    #[schema(required = true)]
    pub sla_next_response_time_threshold: Option<i64>,
    #[schema(required = true)]
    pub sla_resolution_time_threshold: Option<i64>,
    pub sla_only_during_business_hours: bool,
    /// The nearest pending deadline; null when none is pending.
    #[schema(required = true)]
    pub due_at: Option<i64>,
    /// `frt`, `nrt` or `rt`: the kind of `due_at`.
    #[schema(required = true)]
    pub due_type: Option<String>,
    pub breached: bool,
}

/// A missed SLA deadline (`sla::events_json`). Times are unix seconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SlaEvent {
    pub id: i64,
    /// `frt`, `nrt` or `rt`.
    pub event_type: String,
    pub created_at: i64,
    pub due_at: i64,
}

/// The counts of the conversation list (`conversations::ListCounts`), for the filters
/// given (the status and assignee type aside).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConversationCounts {
    /// Assigned to the caller.
    pub mine_count: i64,
    pub unassigned_count: i64,
    pub assigned_count: i64,
    pub all_count: i64,
}

/// `meta` of the conversation list and filter: [`ConversationCounts`] and the cursor.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConversationListMeta {
    pub mine_count: i64,
    pub unassigned_count: i64,
    pub assigned_count: i64,
    pub all_count: i64,
    /// The `cursor=` of the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// `data` of `GET /conversations`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConversationListData {
    pub meta: ConversationListMeta,
    /// 25 a page.
    pub payload: Vec<Conversation>,
}

/// `GET /conversations`: `{"data": {"meta", "payload"}}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConversationList {
    pub data: ConversationListData,
}

/// `POST /conversations/filter`: `{"meta", "payload"}` (no `data` wrapper, as Chatwoot).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConversationFilterResult {
    pub meta: ConversationListMeta,
    /// 25 a page.
    pub payload: Vec<Conversation>,
}

/// `GET /conversations/meta`: `{"meta": counts}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConversationCountsMeta {
    pub meta: ConversationCounts,
}

/// `{"payload": [conversation…]}` (`GET /contacts/{id}/conversations`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConversationPayloadList {
    pub payload: Vec<Conversation>,
}

/// `payload` of `POST …/toggle_status`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ToggleStatusResult {
    /// Always true.
    pub success: bool,
    /// `open`, `resolved`, `pending` or `snoozed`.
    pub current_status: String,
    /// The `display_id`.
    pub conversation_id: i64,
    /// Unix seconds.
    #[schema(required = true)]
    pub snoozed_until: Option<i64>,
}

/// `POST …/toggle_status`: `{"meta": {}, "payload": {…}}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ToggleStatusResponse {
    /// Always `{}`.
    #[schema(value_type = Object)]
    pub meta: serde_json::Value,
    pub payload: ToggleStatusResult,
}

/// `POST …/assignments`: the new assignee (an [`Agent`]) for `assignee_id`, the new team
/// (a [`Team`]) for `team_id`, or null when unassigned or when the body named neither.
pub struct AssignmentResult;

impl PartialSchema for AssignmentResult {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(schema_ref("Agent"))
            .item(schema_ref("Team"))
            .item(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(Type::Null)
                    .build(),
            )
            .description(Some(
                "The assignee (an agent), the team, or null when unassigned or nothing changed.",
            ))
            .into()
    }
}

impl ToSchema for AssignmentResult {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Agent::name().into(), Agent::schema()));
        schemas.push((Team::name().into(), Team::schema()));
    }
}

/// A saved conversation view (`conversation_filters::custom_filter_view`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CustomFilter {
    pub id: i64,
    pub name: String,
    /// Always `conversation`.
    pub filter_type: String,
    /// `{"payload": [conditions…]}`.
    #[schema(value_type = Object)]
    pub query: serde_json::Value,
    /// RFC 3339 (not unix seconds, as Chatwoot renders custom filters).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// `POST /bulk_actions` with `"type": "Conversation"` (the default).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConversationBulkResult {
    /// The `display_id`s that changed.
    pub updated_ids: Vec<i64>,
}

/// `POST /bulk_actions` with `"type": "Contact"`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactBulkResult {
    /// Contacts selected.
    pub count: i64,
    /// How many of them changed (labels added, or deleted).
    pub changed: i64,
}

/// `POST /bulk_actions`: a conversation or a contact bulk action's answer.
pub struct BulkActionResult;

impl PartialSchema for BulkActionResult {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(schema_ref("ConversationBulkResult"))
            .item(schema_ref("ContactBulkResult"))
            .into()
    }
}

impl ToSchema for BulkActionResult {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            ConversationBulkResult::name().into(),
            ConversationBulkResult::schema(),
        ));
        schemas.push((
            ContactBulkResult::name().into(),
            ContactBulkResult::schema(),
        ));
    }
}
