//! Inboxes and their members (`views::inbox` with the health, auto-assignment and hours
//! fields `web::api::inboxes` adds; `web::api::inbox_members`).

use super::Agent;
use utoipa::ToSchema;

/// A WhatsApp inbox (`views::inbox`, plus `health`, `auto_assignment_config` and the
/// business hours, greeting and CSAT settings of `inbox_hours::Settings::merge_into`).
/// Secrets appear masked (`••••1234`). Times are unix seconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Inbox {
    pub id: i64,
    pub account_id: i64,
    #[schema(example = "Support")]
    pub name: String,
    pub channel_id: i64,
    /// `Channel::Whatsapp`.
    pub channel_type: String,
    /// The channel's number, E.164.
    #[schema(example = "+15550001111")]
    pub phone_number: String,
    /// `whatsapp_cloud` or `dualhook`.
    pub provider: String,
    pub provider_config: ProviderConfig,
    /// Where Meta sends this number's webhooks.
    pub webhook_url: String,
    /// The same as `webhook_url` (Chatwoot's name).
    pub callback_webhook_url: String,
    /// Always `""`.
    pub avatar_url: String,
    pub enable_auto_assignment: bool,
    pub greeting_enabled: bool,
    #[schema(required = true)]
    pub greeting_message: Option<String>,
    pub working_hours_enabled: bool,
    pub csat_survey_enabled: bool,
    /// Always true.
    pub allow_messages_after_resolved: bool,
    /// Always true: one unresolved conversation per contact.
    pub lock_to_single_conversation: bool,
    /// Unix seconds of the latest webhook received for the number.
    #[schema(required = true)]
    pub last_webhook_at: Option<i64>,
    /// The latest delivery or webhook error (Meta's error fields, with `at` in unix
    /// seconds); null when none.
    #[schema(required = true, value_type = Option<Object>)]
    pub last_error: Option<serde_json::Value>,
    /// Unix seconds.
    pub created_at: i64,
    /// The synced message templates.
    pub message_templates: Vec<MessageTemplate>,
    /// Unix seconds of the last successful template sync.
    #[schema(required = true)]
    pub message_templates_last_updated: Option<i64>,
    /// Why the last template sync failed.
    #[schema(required = true)]
    pub templates_sync_error: Option<String>,
    /// Meta refused the access token (#190): an administrator must paste a new one.
    pub reauthorization_required: bool,
    #[schema(required = true)]
    pub reauthorization_error: Option<String>,
    /// What went wrong in the last webhook setup (`subscribed_apps`); null when it worked.
    #[schema(required = true)]
    pub webhook_setup_warning: Option<String>,
    /// Unix seconds of the last webhook setup.
    #[schema(required = true)]
    pub webhook_setup_at: Option<i64>,
    pub health: InboxHealth,
    pub auto_assignment_config: AutoAssignmentConfig,
    /// IANA time zone of the business hours.
    #[schema(example = "America/Sao_Paulo")]
    pub timezone: String,
    /// Every day 0 (Sunday) to 6, in Chatwoot's rows.
    pub working_hours: Vec<WorkingHours>,
    /// `YYYY-MM-DD` dates, sorted.
    pub holidays: Vec<String>,
    #[schema(required = true)]
    pub out_of_office_message: Option<String>,
    #[schema(required = true)]
    pub csat_question: Option<String>,
    /// `1-5` or `thumbs`.
    pub csat_scale: String,
    /// The template sent as the CSAT survey outside the 24-hour window.
    #[schema(required = true)]
    pub csat_template: Option<CsatTemplate>,
}

/// `provider_config` of an [`Inbox`]: masked secrets and Meta's ids.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProviderConfig {
    /// The access token, masked.
    pub api_key: String,
    pub phone_number_id: String,
    pub business_account_id: String,
    /// Administrators only.
    #[schema(required = false)]
    pub webhook_verify_token: String,
    /// The Meta app secret, masked; absent when none is kept.
    #[schema(required = false)]
    pub app_secret: String,
    /// Where the credentials came from (e.g. Dualhook); absent when pasted.
    #[schema(required = false)]
    pub source: String,
}

/// A message template as Meta describes it (`views::template`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MessageTemplate {
    /// Meta's template id.
    #[schema(required = true)]
    pub id: Option<String>,
    pub name: String,
    /// e.g. `en_US`.
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, … as Meta writes it.
    pub status: String,
    /// `UTILITY`, `MARKETING` or `AUTHENTICATION`.
    #[schema(required = true)]
    pub category: Option<String>,
    /// `POSITIONAL` or `NAMED`.
    pub parameter_format: String,
    /// Meta's `components` (HEADER, BODY, FOOTER, BUTTONS objects), verbatim.
    pub components: Vec<serde_json::Value>,
}

/// `health` of an [`Inbox`] (`number_health::to_json`): Graph's view of the number, all
/// null until the first refresh.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InboxHealth {
    /// `CONNECTED`, `FLAGGED`, `RESTRICTED`, …
    #[schema(required = true)]
    pub status: Option<String>,
    /// `GREEN`, `YELLOW`, `RED`, `NA` or `UNKNOWN`.
    #[schema(required = true)]
    pub quality_rating: Option<String>,
    /// e.g. `TIER_2K`.
    #[schema(required = true)]
    pub messaging_limit: Option<String>,
    /// `STANDARD` or `HIGH`.
    #[schema(required = true)]
    pub throughput: Option<String>,
    /// Display-name status (`APPROVED`, `PENDING_REVIEW`, `DECLINED`, …).
    #[schema(required = true)]
    pub name_status: Option<String>,
    #[schema(required = true)]
    pub verified_name: Option<String>,
    /// `AVAILABLE`, `LIMITED` or `BLOCKED`.
    #[schema(required = true)]
    pub can_send_message: Option<String>,
    /// Why sending is limited or blocked.
    pub reasons: Vec<String>,
    /// The problem to show, if any.
    #[schema(required = true)]
    pub problem: Option<String>,
    /// Latest `account_alerts`, newest first.
    pub alerts: Vec<serde_json::Value>,
    /// Latest `account_review_update` values, newest first.
    pub reviews: Vec<serde_json::Value>,
    /// Latest other management events (`{field, summary, at}`), newest first.
    pub events: Vec<serde_json::Value>,
    /// Changes refused on this inbox's route.
    pub refused_routes: Vec<serde_json::Value>,
    /// Unix seconds of the last refresh from Graph.
    #[schema(required = true)]
    pub refreshed_at: Option<i64>,
    /// Why the last refresh failed.
    #[schema(required = true)]
    pub refresh_error: Option<String>,
}

/// `auto_assignment_config` of an [`Inbox`].
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AutoAssignmentConfig {
    /// Open conversations an agent gets at most by auto assignment; null for no limit.
    #[schema(required = true)]
    pub max_assignment_limit: Option<i64>,
}

/// A row of `working_hours` (Chatwoot's): an open range of a day, or the day closed.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WorkingHours {
    /// 0 (Sunday) to 6.
    pub day_of_week: i64,
    pub closed_all_day: bool,
    pub open_all_day: bool,
    /// Null on a closed day.
    #[schema(required = true)]
    pub open_hour: Option<i64>,
    #[schema(required = true)]
    pub open_minutes: Option<i64>,
    #[schema(required = true)]
    pub close_hour: Option<i64>,
    #[schema(required = true)]
    pub close_minutes: Option<i64>,
}

/// `csat_template` of an [`Inbox`].
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CsatTemplate {
    pub name: String,
    pub language: String,
}

/// `GET /inboxes`: `{"payload": [inbox…]}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InboxList {
    pub payload: Vec<Inbox>,
}

/// `{"payload": [agent…]}`: an inbox's members (`inbox_members`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AgentList {
    pub payload: Vec<Agent>,
}
