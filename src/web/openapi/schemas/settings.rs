//! The account's settings resources: the account itself, the caller's profile, canned
//! responses, webhooks, custom attribute definitions, SLA policies and notification
//! settings.

use utoipa::ToSchema;

/// `GET|PATCH /accounts/{account_id}` (`web::api::account`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Account {
    pub id: i64,
    pub name: String,
    /// Days without activity after which a resolved conversation is deleted; null: never.
    #[schema(required = true)]
    pub conversation_retention_days: Option<i64>,
}

/// The caller's user (`web::api::profile::profile_json`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Profile {
    pub id: i64,
    pub name: String,
    #[schema(required = true)]
    pub display_name: Option<String>,
    /// `display_name`, else `name`.
    pub available_name: String,
    pub email: String,
    /// The email.
    pub uid: String,
    /// Always `email`.
    pub provider: String,
    /// Always true.
    pub confirmed: bool,
    /// The avatar's absolute URL, `""` without one.
    pub avatar_url: String,
    /// The same as `avatar_url`.
    pub thumbnail: String,
    /// The first account's id; null for a user of no account.
    #[schema(required = true)]
    pub account_id: Option<i64>,
    /// The role in the first account (`administrator` or `agent`).
    #[schema(required = true)]
    pub role: Option<String>,
    pub accounts: Vec<ProfileAccount>,
}

/// An account of a [`Profile`].
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProfileAccount {
    pub id: i64,
    pub name: String,
    /// `administrator` or `agent`.
    pub role: String,
    /// Always `active`.
    pub status: String,
    /// `online`, `busy` or `offline`: what others see.
    pub availability: String,
    /// `online`, `busy` or `offline`: the user's own choice.
    pub availability_status: String,
    pub auto_offline: bool,
}

/// A canned response (`web::api::canned_responses::view`). Times are RFC 3339.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CannedResponse {
    pub id: i64,
    pub account_id: i64,
    /// What follows `/` in the composer.
    #[schema(example = "hello")]
    pub short_code: String,
    pub content: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub attachments: Vec<CannedResponseAttachment>,
}

/// A file of a [`CannedResponse`].
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CannedResponseAttachment {
    pub id: i64,
    pub file_name: String,
    /// `image`, `audio`, `video` or `file`.
    pub file_type: String,
    /// The MIME type.
    pub content_type: String,
    /// Bytes.
    pub file_size: i64,
    /// The account-scoped file route (session cookie or API token).
    pub data_url: String,
}

/// An outgoing webhook (`webhooks::to_json`). Times are unix seconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    #[schema(required = true)]
    pub name: Option<String>,
    /// Chatwoot event names, e.g. `message_created`.
    pub subscriptions: Vec<String>,
    pub account_id: i64,
    /// Set: only this inbox's events are delivered.
    #[schema(required = true)]
    pub inbox_id: Option<i64>,
    /// The signing secret, in full: it verifies the signatures.
    pub secret: String,
    /// False once disabled for failing (a PATCH enables it again).
    pub enabled: bool,
    #[schema(required = true)]
    pub disabled_reason: Option<String>,
    /// Failed deliveries since the last successful one.
    pub consecutive_failures: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `{"webhook": …}` of [`WebhookPayload`].
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WebhookWrapper {
    pub webhook: Webhook,
}

/// `POST /webhooks`, `PATCH /webhooks/{id}`: `{"payload": {"webhook": …}}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WebhookPayload {
    pub payload: WebhookWrapper,
}

/// `{"webhooks": […]}` of [`WebhookListPayload`].
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WebhookListWrapper {
    pub webhooks: Vec<Webhook>,
}

/// `GET /webhooks`: `{"payload": {"webhooks": […]}}`, oldest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WebhookListPayload {
    pub payload: WebhookListWrapper,
}

/// One HTTP attempt of a webhook delivery (`webhooks::attempt_json`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WebhookDeliveryAttempt {
    pub id: i64,
    /// `X-Chatwoot-Delivery`: the same on every attempt of one event.
    pub delivery_id: String,
    /// Chatwoot event name.
    pub event: String,
    /// 1 for the first attempt.
    pub attempt: i64,
    /// The receiver's HTTP status; null when it did not answer.
    #[schema(required = true)]
    pub status_code: Option<i64>,
    /// Milliseconds.
    pub duration_ms: i64,
    /// What went wrong; null on success.
    #[schema(required = true)]
    pub error: Option<String>,
    pub success: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// `GET /webhooks/{id}/deliveries`: `{"payload": [attempt…]}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WebhookDeliveryList {
    pub payload: Vec<WebhookDeliveryAttempt>,
}

/// A custom attribute definition (`custom_attributes::Definition::to_json`). Times are
/// RFC 3339.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CustomAttributeDefinition {
    pub id: i64,
    pub account_id: i64,
    pub attribute_display_name: String,
    /// `text`, `number`, `currency`, `percent`, `link`, `date`, `list` or `checkbox`.
    pub attribute_display_type: String,
    #[schema(required = true)]
    pub attribute_description: Option<String>,
    /// Lowercase snake case: the key values are stored under.
    pub attribute_key: String,
    #[schema(required = true)]
    pub regex_pattern: Option<String>,
    #[schema(required = true)]
    pub regex_cue: Option<String>,
    /// A list attribute's choices, in order (empty for other types).
    pub attribute_values: Vec<String>,
    /// `conversation_attribute` or `contact_attribute`.
    pub attribute_model: String,
    #[schema(required = true)]
    pub default_value: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// `POST …/custom_attributes` of a conversation or a contact: the values now.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CustomAttributeValues {
    /// By `attribute_key`.
    #[schema(value_type = Object)]
    pub custom_attributes: serde_json::Value,
}

/// An SLA policy (`sla::policy_json`). Thresholds are seconds, times unix seconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SlaPolicy {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    /// `""` when none.
    pub description: String,
    /// First response; null for none.
    #[schema(required = true)]
    pub first_response_time_threshold: Option<i64>,
    /// Next response; null for none.
    #[schema(required = true)]
    pub next_response_time_threshold: Option<i64>,
    /// Resolution; null for none.
    #[schema(required = true)]
    pub resolution_time_threshold: Option<i64>,
    pub only_during_business_hours: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `GET|POST|PATCH /sla_policies/{id}`: `{"payload": policy}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SlaPolicyPayload {
    pub payload: SlaPolicy,
}

/// `GET /sla_policies`: `{"payload": [policy…]}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SlaPolicyList {
    pub payload: Vec<SlaPolicy>,
}

/// The caller's email notification settings in the account
/// (`web::api::notification_settings::view`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NotificationSettings {
    /// The user's id.
    pub id: i64,
    pub user_id: i64,
    pub account_id: i64,
    /// Every Chatwoot email flag Switchboard knows.
    pub all_email_flags: Vec<String>,
    /// The flags turned on.
    pub selected_email_flags: Vec<String>,
    /// Always `[]`: no push notifications.
    pub all_push_flags: Vec<String>,
    /// Always `[]`.
    pub selected_push_flags: Vec<String>,
    pub email_conversation_assigned: bool,
    pub email_conversation_created: bool,
    pub email_webhook_disabled: bool,
    pub email_conversation_mention: bool,
    pub email_assigned_conversation_new_message: bool,
    pub email_participating_conversation_new_message: bool,
}
