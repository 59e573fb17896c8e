//! The schemas the document names: the error body every handler answers with
//! (`crate::error::AppError`), the generic JSON shapes of operations whose bodies are read
//! field by field (`web::api::wrapped`, `web::api::params`) rather than into one struct, and
//! the response shapes of `web::api::views` and the handlers, one submodule per resource
//! ([`contacts`], [`conversations`], [`messages`], [`inboxes`], [`notifications`],
//! [`settings`], [`automation`], [`csat`], [`search`], [`templates`], [`integrations`],
//! [`reports`]), re-exported here.
//!
//! The response schemas mirror the views field for field: a field always present is
//! required (nullable when it can be `null`), one present only sometimes is not, and no
//! object forbids additional properties. `tests/api/openapi_shapes.rs` validates real
//! responses against them.

pub mod automation;
pub mod contacts;
pub mod conversations;
pub mod csat;
pub mod inboxes;
pub mod integrations;
pub mod messages;
pub mod notifications;
pub mod reports;
pub mod search;
pub mod settings;
pub mod templates;

pub use automation::*;
pub use contacts::*;
pub use conversations::*;
pub use csat::*;
pub use inboxes::*;
pub use integrations::*;
pub use messages::*;
pub use notifications::*;
pub use reports::*;
pub use search::*;
pub use settings::*;
pub use templates::*;

use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// The JSON body of every error (`AppError::error_response`): `error` and `message` hold the
/// same text; on 400/422 `field` names the offending input and `attributes` lists it.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub error: String,
    /// The same text (Chatwoot's clients read `message`).
    pub message: String,
    /// The offending input (a JSON key, a query parameter, `path` or `body`), on 400/422.
    pub field: Option<String>,
    /// `[field]`, as Rails' validation errors list attributes.
    pub attributes: Option<Vec<String>>,
}

/// Any JSON object (`{…}`): bodies read field by field, described in the operation's text.
pub struct JsonObject;

impl PartialSchema for JsonObject {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some(
                "A JSON object; the operation's text names its fields.",
            ))
            .into()
    }
}

impl ToSchema for JsonObject {}

/// Any JSON value: a response whose shape the operation's text describes.
pub struct JsonValue;

impl PartialSchema for JsonValue {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::AnyValue)
            .description(Some("Chatwoot's JSON shape for this resource."))
            .into()
    }
}

impl ToSchema for JsonValue {}

/// The empty object `{}`, answered where Chatwoot renders nothing but JSON is expected.
pub struct EmptyObject;

impl PartialSchema for EmptyObject {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("`{}`."))
            .into()
    }
}

impl ToSchema for EmptyObject {}

/// A `multipart/form-data` form: the JSON body's fields as parts, plus files
/// (`attachments[]`, `avatar`, `file`).
pub struct MultipartForm;

impl PartialSchema for MultipartForm {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some("Form fields as parts; files as binary parts."))
            .into()
    }
}

impl ToSchema for MultipartForm {}

// Request bodies of the main writes, as Chatwoot names their fields. Each body may also come
// wrapped in the resource's name (`{"label": {…}}`, `web::api::wrapped`). Every field is
// optional in the schema: what a handler requires it answers with a 422 naming the field.

/// `POST|PATCH …/labels`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LabelBody {
    #[schema(example = "vip")]
    pub title: Option<String>,
    #[schema(example = "Customers on the gold plan")]
    pub description: Option<String>,
    /// `#rrggbb`.
    #[schema(example = "#1f93ff")]
    pub color: Option<String>,
    pub show_on_sidebar: Option<bool>,
}

/// `POST|PATCH …/teams`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TeamBody {
    #[schema(example = "Sales")]
    pub name: Option<String>,
    pub description: Option<String>,
    pub allow_auto_assign: Option<bool>,
}

/// `POST|PATCH …/agents`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AgentBody {
    #[schema(example = "Ben Agent")]
    pub name: Option<String>,
    #[schema(example = "ben@example.com")]
    pub email: Option<String>,
    /// `administrator` or `agent`.
    #[schema(example = "agent")]
    pub role: Option<String>,
    /// `online`, `busy` or `offline`.
    #[schema(example = "online")]
    pub availability: Option<String>,
    pub auto_offline: Option<bool>,
}

/// `POST|PATCH …/canned_responses` (JSON; the multipart form adds `attachments[]`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CannedResponseBody {
    #[schema(example = "hello")]
    pub short_code: Option<String>,
    #[schema(example = "Hello! How can we help?")]
    pub content: Option<String>,
    pub remove_attachment_ids: Option<Vec<i64>>,
}

/// `POST|PATCH …/contacts/{id}/notes`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NoteBody {
    #[schema(example = "Called back about the invoice")]
    pub content: Option<String>,
}

/// `POST|PATCH …/webhooks`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WebhookBody {
    #[schema(example = "https://hooks.example.com/switchboard")]
    pub url: Option<String>,
    pub name: Option<String>,
    /// Event names, e.g. `message_created`, `conversation_status_changed`.
    #[schema(example = json!(["message_created"]))]
    pub subscriptions: Option<Vec<String>>,
    pub inbox_id: Option<i64>,
}

/// `PATCH …/conversations/{display_id}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConversationPatch {
    /// `urgent`, `high`, `medium`, `low` or `none`.
    #[schema(example = "high")]
    pub priority: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub custom_attributes: Option<serde_json::Value>,
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    pub sla_policy_id: Option<i64>,
}

/// `POST …/conversations/{display_id}/toggle_status`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ToggleStatusBody {
    /// `open`, `pending`, `resolved` or `snoozed` (absent: toggles open and resolved).
    #[schema(example = "resolved")]
    pub status: Option<String>,
    /// Unix seconds, for `snoozed`.
    pub snoozed_until: Option<i64>,
}

/// `POST …/conversations/{display_id}/toggle_priority`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PriorityBody {
    /// `urgent`, `high`, `medium`, `low`, `none` or null.
    #[schema(example = "urgent")]
    pub priority: Option<String>,
}

/// `POST …/conversations/{display_id}/assignments`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AssignmentBody {
    /// The agent (null unassigns); wins over `team_id`.
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
}

/// `POST …/conversations/{display_id}/labels` and `…/contacts/{id}/labels`: the new set.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LabelsBody {
    #[schema(example = json!(["vip"]))]
    pub labels: Option<Vec<String>>,
}

/// `POST|PATCH|PUT …/contacts`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactBody {
    #[schema(example = "Maria Souza")]
    pub name: Option<String>,
    #[schema(example = "maria@example.com")]
    pub email: Option<String>,
    /// E.164.
    #[schema(example = "+5511987654321")]
    pub phone_number: Option<String>,
    pub identifier: Option<String>,
    /// With `POST`, also opens a contact inbox on this WhatsApp inbox.
    pub inbox_id: Option<i64>,
    #[schema(value_type = Option<Object>)]
    pub custom_attributes: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub additional_attributes: Option<serde_json::Value>,
}

/// `POST …/actions/contact_merge`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactMergeBody {
    /// The contact that stays.
    pub base_contact_id: Option<i64>,
    /// The contact merged into it and then deleted.
    pub mergee_contact_id: Option<i64>,
}

/// `POST|PATCH|DELETE …/inbox_members`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InboxMembersBody {
    pub inbox_id: Option<i64>,
    pub user_ids: Option<Vec<i64>>,
}

/// Participants and team members: `POST|PATCH|DELETE` with the users to add, set or remove.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UserIdsBody {
    pub user_ids: Option<Vec<i64>>,
}

/// `POST …/conversations/{display_id}/messages` (JSON; the multipart form adds
/// `attachments[]`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MessageBody {
    #[schema(example = "Thanks, we are on it.")]
    pub content: Option<String>,
    /// `outgoing` (default) or `template`.
    #[schema(example = "outgoing")]
    pub message_type: Option<String>,
    /// `text`, or `input_select`, `cta_url`, `location_request` for interactive messages.
    pub content_type: Option<String>,
    /// A private note: stored, never sent.
    pub private: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub content_attributes: Option<serde_json::Value>,
    /// `{"name", "language", "processed_params"}` of an approved template.
    #[schema(value_type = Option<Object>)]
    pub template_params: Option<serde_json::Value>,
}

/// `POST …/conversations`: start a conversation, outbound first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NewConversationBody {
    pub inbox_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub source_id: Option<String>,
    /// `{"content"}` or `{"template_params"}`: the first message.
    #[schema(value_type = Option<Object>)]
    pub message: Option<serde_json::Value>,
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    pub status: Option<String>,
}

/// `POST …/inboxes` and `PATCH …/inboxes/{id}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InboxBody {
    #[schema(example = "Support")]
    pub name: Option<String>,
    pub enable_auto_assignment: Option<bool>,
    /// `{"type": "whatsapp", "phone_number": "+1…", "provider": "whatsapp_cloud",
    /// "provider_config": {"api_key", "phone_number_id", "business_account_id", "app_secret"?}}`.
    #[schema(value_type = Option<Object>)]
    pub channel: Option<serde_json::Value>,
}

// Responses with a fixed shape (`web::api::views`), as Chatwoot renders them.

/// A label (`views::label`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Label {
    pub id: i64,
    /// Lowercase letters, digits, `-` and `_`; unique per account.
    pub title: String,
    /// `""` when none.
    pub description: String,
    /// `#rgb` or `#rrggbb`.
    pub color: String,
    pub show_on_sidebar: bool,
}

/// `GET …/labels`: `{"payload": [label]}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LabelList {
    pub payload: Vec<Label>,
}

/// A team (`views::team`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub allow_auto_assign: bool,
    pub account_id: i64,
    /// Whether the caller is a member of the team.
    pub is_member: bool,
}

/// An agent (`views::agent_with`): an account member.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Agent {
    pub id: i64,
    pub account_id: i64,
    /// `online`, `busy` or `offline`, as others see it.
    pub availability_status: String,
    /// The agent's own choice.
    pub availability: String,
    pub auto_offline: bool,
    /// False until the invited agent set a password.
    pub confirmed: bool,
    pub email: String,
    pub provider: String,
    pub available_name: String,
    pub display_name: Option<String>,
    pub name: String,
    /// `administrator` or `agent`.
    pub role: String,
    /// The avatar's absolute URL, `""` without one.
    pub thumbnail: String,
    pub custom_role_id: Option<i64>,
}
