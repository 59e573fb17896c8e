//! CSAT survey responses (`domain::csat::to_json`, `web::api::csat`).

use utoipa::ToSchema;

/// The contact of a [`CsatResponse`].
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CsatContact {
    pub id: i64,
    pub name: String,
    /// E.164; null for a contact known only by its BSUID.
    #[schema(required = true)]
    pub phone_number: Option<String>,
    #[schema(required = true)]
    pub email: Option<String>,
}

/// The agent assigned to the conversation when the survey was sent (a [`CsatResponse`]).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CsatAgent {
    pub id: i64,
    pub name: String,
    pub email: String,
}

/// An answered CSAT survey (Chatwoot's `csat_survey_response` object, plus `scale`,
/// `inbox_id` and `rated_at`). Times are unix seconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CsatResponse {
    pub id: i64,
    /// 1 to 5 (the thumbs scale answers 5 for up, 1 for down).
    #[schema(minimum = 1, maximum = 5, example = 5)]
    pub rating: i32,
    /// What the customer wrote after rating, if anything.
    #[schema(required = true)]
    pub feedback_message: Option<String>,
    pub account_id: i64,
    pub inbox_id: i64,
    /// The survey message; null when none was stored.
    #[schema(required = true)]
    pub message_id: Option<i64>,
    /// `1-5` or `thumbs`: the scale the survey was sent with.
    #[schema(example = "1-5")]
    pub scale: String,
    /// Null when the contact is gone.
    #[schema(required = true)]
    pub contact: Option<CsatContact>,
    /// The conversation's `display_id`.
    #[schema(required = true)]
    pub conversation_id: Option<i32>,
    /// Null when the conversation had no assignee (or the agent is gone).
    #[schema(required = true)]
    pub assigned_agent: Option<CsatAgent>,
    /// When the survey was sent.
    pub created_at: i64,
    /// When the customer answered.
    #[schema(required = true)]
    pub rated_at: Option<i64>,
}

/// `GET /csat_survey_responses`: a bare JSON array of answered surveys, newest first, 25 a
/// page; the total is in the `X-Total-Count` header.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CsatResponseList(pub Vec<CsatResponse>);
