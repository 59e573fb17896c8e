//! The v2 reports (`web::api::reports`, `domain::reports`). Durations are seconds.

use crate::web::openapi::schema_ref;
use utoipa::openapi::schema::{ArrayBuilder, OneOfBuilder, Schema};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// One bucket of a report time series (`reports::Point`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportPoint {
    /// The bucket's local start, unix seconds.
    pub timestamp: i64,
    /// A count, or an average duration in seconds (0 without data).
    pub value: f64,
    /// The number of facts behind the value.
    pub count: i64,
}

/// `GET /reports`: the metric per `group_by` bucket, oldest first, every bucket present
/// (zeros included).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportSeries(pub Vec<ReportPoint>);

/// Chatwoot's summary figures of a range (`reports::Totals`); averages are 0 without data.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportTotals {
    pub conversations_count: i64,
    pub incoming_messages_count: i64,
    pub outgoing_messages_count: i64,
    /// Seconds.
    pub avg_first_response_time: f64,
    /// Seconds.
    pub avg_resolution_time: f64,
    pub resolutions_count: i64,
    /// Average reply time, seconds.
    pub reply_time: f64,
}

/// `GET /reports/summary`: the range's figures, and `previous`, those of the range of the
/// same length just before.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportSummary {
    pub conversations_count: i64,
    pub incoming_messages_count: i64,
    pub outgoing_messages_count: i64,
    /// Seconds.
    pub avg_first_response_time: f64,
    /// Seconds.
    pub avg_resolution_time: f64,
    pub resolutions_count: i64,
    /// Average reply time, seconds.
    pub reply_time: f64,
    pub previous: ReportTotals,
}

/// Open-work counts of the account, an inbox or a team (`reports::live::Counts`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportOpenCounts {
    /// The inbox or team (0 and `No team` for conversations without a team; 0 for the
    /// account's total).
    pub id: i64,
    pub name: String,
    pub open: i64,
    /// Open, the customer waiting for a reply.
    pub unattended: i64,
    pub unassigned: i64,
    pub pending: i64,
}

/// An agent of the live overview (`reports::live::Agent`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportLiveAgent {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// `online`, `busy` or `offline`.
    pub availability: String,
    /// Open conversations assigned.
    pub open: i64,
    pub unattended: i64,
}

/// `GET /reports/overview`: the live overview.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportOverview {
    pub total: ReportOpenCounts,
    pub inboxes: Vec<ReportOpenCounts>,
    pub teams: Vec<ReportOpenCounts>,
    pub agents: Vec<ReportLiveAgent>,
}

/// `GET /reports/conversations` with `type=account` (the default): live counts.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportConversationCounts {
    pub open: i64,
    pub unattended: i64,
    pub unassigned: i64,
    pub pending: i64,
}

/// The `metric` of a [`ReportAgentConversations`].
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportAgentMetric {
    pub open: i64,
    pub unattended: i64,
}

/// An agent's live counts (`GET /reports/conversations?type=agent`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportAgentConversations {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// Always `""`.
    pub thumbnail: String,
    /// `online`, `busy` or `offline`.
    pub availability: String,
    pub metric: ReportAgentMetric,
}

/// `GET /reports/conversations`: the account's live counts (`type=account`), or each
/// agent's (`type=agent`, `user_id` to pick one).
pub struct ReportConversations;

impl PartialSchema for ReportConversations {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(schema_ref("ReportConversationCounts"))
            .item(ArrayBuilder::new().items(schema_ref("ReportAgentConversations")))
            .description(Some(
                "The account's live counts (`type=account`), or a list of agents' \
                 (`type=agent`).",
            ))
            .into()
    }
}

impl ToSchema for ReportConversations {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            ReportConversationCounts::name().into(),
            ReportConversationCounts::schema(),
        ));
        schemas.push((
            ReportAgentConversations::name().into(),
            ReportAgentConversations::schema(),
        ));
        <ReportAgentConversations as ToSchema>::schemas(schemas);
    }
}

/// One agent, inbox, team or label of a breakdown (`reports::Row`): Chatwoot's summary
/// report fields plus messages. Durations in seconds, null without data.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportRow {
    /// The agent, inbox, team or label (0 for a deleted label).
    pub id: i64,
    pub name: String,
    pub conversations_count: i64,
    pub resolved_conversations_count: i64,
    pub incoming_messages_count: i64,
    pub outgoing_messages_count: i64,
    #[schema(required = true)]
    pub avg_first_response_time: Option<f64>,
    #[schema(required = true)]
    pub avg_resolution_time: Option<f64>,
    #[schema(required = true)]
    pub avg_reply_time: Option<f64>,
}

/// `GET /summary_reports/{by}`: every agent, inbox, team or label (the visible ones for an
/// agent), by name.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportRows(pub Vec<ReportRow>);

/// An agent's, team's, inbox's or label's outgoing messages.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportOutgoingCount {
    pub id: i64,
    pub name: String,
    pub outgoing_messages_count: i64,
}

/// `GET /reports/outgoing_messages_count`: one row per agent, team, inbox or label
/// (`group_by`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportOutgoingCounts(pub Vec<ReportOutgoingCount>);

/// First response times counted in Chatwoot's buckets.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ResponseTimeBuckets {
    #[schema(rename = "0-1h")]
    pub under_1h: i64,
    #[schema(rename = "1-4h")]
    pub from_1h: i64,
    #[schema(rename = "4-8h")]
    pub from_4h: i64,
    #[schema(rename = "8-24h")]
    pub from_8h: i64,
    #[schema(rename = "24h+")]
    pub over_24h: i64,
}

/// `GET /reports/first_response_time_distribution`: per channel type (every inbox is
/// `Channel::Whatsapp`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ResponseTimeDistribution {
    #[schema(rename = "Channel::Whatsapp")]
    pub whatsapp: ResponseTimeBuckets,
}

/// The figures of one duration (`reports::TimeStat`), seconds; null without data.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportTimeStat {
    /// `first_response`, `resolution` or `reply_time`.
    pub metric: String,
    pub count: i64,
    #[schema(required = true)]
    pub avg: Option<f64>,
    #[schema(required = true)]
    pub median: Option<f64>,
    /// 90th percentile.
    #[schema(required = true)]
    pub p90: Option<f64>,
    /// Counts in Chatwoot's buckets `0-1h`, `1-4h`, `4-8h`, `8-24h`, `24h+` (five).
    pub distribution: Vec<i64>,
}

/// `GET /reports/times`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportTimes(pub Vec<ReportTimeStat>);

/// A rated survey with a comment, in the CSAT report (`reports::CsatComment`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportCsatComment {
    /// The conversation's internal id.
    pub conversation_id: i64,
    /// The conversation's `display_id`.
    pub display_id: i64,
    /// 1 to 5.
    pub rating: i64,
    pub feedback_message: String,
    /// RFC 3339 (not unix seconds).
    #[schema(format = DateTime)]
    pub rated_at: String,
}

/// `GET /reports/csat`: the surveys sent in the range (`reports::Csat`); rates are 0–1 and
/// null when nothing was sent or answered.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportCsat {
    pub sent: i64,
    pub answered: i64,
    /// answered / sent.
    #[schema(required = true)]
    pub response_rate: Option<f64>,
    /// Share of ratings 4–5 (thumbs up counts 5, down 1).
    #[schema(required = true)]
    pub satisfaction_score: Option<f64>,
    #[schema(required = true)]
    pub average_rating: Option<f64>,
    /// Counts of ratings 1 to 5 (five).
    pub ratings: Vec<i64>,
    /// The latest comments (at most 20).
    pub comments: Vec<ReportCsatComment>,
}

/// A count per template or per error code (`reports::KeyCount`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportKeyCount {
    /// The template's name, or Meta's error code (`unknown` when it had none).
    pub key: String,
    /// The template's category; `""` for errors.
    pub category: String,
    pub count: i64,
}

/// `GET /reports/whatsapp`: templates sent, failures, and the customer service windows that
/// closed unanswered per `group_by` bucket.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportWhatsapp {
    pub templates: Vec<ReportKeyCount>,
    pub failures: Vec<ReportKeyCount>,
    pub total_windows_closed_unanswered: i64,
    pub windows_closed_unanswered: Vec<ReportPoint>,
}

/// SLA breaches by target.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportSlaBreaches {
    /// First response time.
    pub frt: i64,
    /// Next response time.
    pub nrt: i64,
    /// Resolution time.
    pub rt: i64,
    pub total: i64,
}

/// One SLA policy's figures in the SLA report.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportSlaPolicy {
    pub id: i64,
    pub name: String,
    /// SLAs applied in the range.
    pub number_of_conversations: i64,
    /// Resolved with a target missed.
    pub number_of_sla_misses: i64,
    /// hit / (hit + missed), 0–1; null before any was decided.
    #[schema(required = true)]
    pub hit_rate: Option<f64>,
    /// Resolved with every target met.
    pub hit: i64,
    pub missed: i64,
    /// Not resolved yet.
    pub active: i64,
    pub breaches: ReportSlaBreaches,
}

/// `GET /reports/sla`: the figures of every SLA applied in the range, and each policy's.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReportSla {
    pub number_of_conversations: i64,
    pub number_of_sla_misses: i64,
    #[schema(required = true)]
    pub hit_rate: Option<f64>,
    pub hit: i64,
    pub missed: i64,
    pub active: i64,
    pub breaches: ReportSlaBreaches,
    pub policies: Vec<ReportSlaPolicy>,
}
