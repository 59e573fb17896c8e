//! CSAT surveys (issue 13): sent when a conversation is resolved, answered by the customer,
//! listed by Chatwoot's `GET /csat_survey_responses`.
//!
//! **Sending** ([`send_survey`], run by the `hours_auto_reply` job on `resolved`, see
//! `auto_replies`): when the inbox has CSAT on,
//! - inside the customer service window: an interactive message built with
//!   `whatsapp::interactive` — scale `1-5`: a list of five rows `5 - Excellent` … `1 - Very
//!   poor`; scale `thumbs`: reply buttons 👍/👎. Each choice's id is
//!   `csat:<conversation id>:<value>` (`1`…`5`, `up`, `down`);
//! - outside it: the approved template chosen in the inbox settings, its QUICK_REPLY buttons
//!   given payloads `csat:<conversation id>:<value>` (a button whose text starts with a digit
//!   1–5 gets that digit; otherwise by position: thumbs `up`, `down`; 1–5 `5`, `4`, …);
//! - or nothing, with the reason recorded on the conversation as an activity line (no
//!   template chosen; the template can't be rendered).
//!
//! A `csat_survey_responses` row is kept for each survey sent (`rating` null until answered).
//!
//! **Answers** ([`record_answer`], for every incoming message of an inbox with CSAT on): a
//! `button_reply` / `list_reply` id or a template `button` payload `csat:<id>:<value>` is the
//! rating of that conversation's latest survey (`up` = 5, `down` = 1, so ratings are always
//! Chatwoot's 1–5); an activity line says it in the thread. A text from the same contact in
//! the inbox within [`COMMENT_WINDOW_MINUTES`] minutes of the rating is its
//! `feedback_message` (the first such text only).

use super::auto_replies;
use super::conversations::{self, Conversation};
use super::inbox_hours;
use super::messages::Message;
use super::templates::{self, ButtonParam, ProcessedParams, TemplateParams};
use crate::db::prepared::Prepare;
use crate::db::schema::csat_survey_responses as r;
use crate::error::{AppError, AppResult};
use crate::whatsapp::interactive::Interactive;
use crate::whatsapp::window;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde_json::{json, Map, Value};

/// Minutes after a rating during which the contact's next text is its comment.
pub const COMMENT_WINDOW_MINUTES: i64 = 10;

/// A `csat_survey_responses` row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = r)]
pub struct Response {
    pub id: i64,
    pub account_id: i64,
    pub inbox_id: i64,
    pub conversation_id: i64,
    pub contact_id: i64,
    pub assigned_agent_id: Option<i64>,
    pub message_id: Option<i64>,
    pub scale: String,
    /// 1–5 (thumbs: 5 up, 1 down); `None` until answered.
    pub rating: Option<i32>,
    pub feedback_message: Option<String>,
    pub rated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What [`send_survey`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// CSAT is off for the inbox: nothing.
    Off,
    /// An interactive survey (message id).
    Interactive(i64),
    /// A template survey (message id).
    Template(i64),
    /// Not sent; the reason is the activity line recorded.
    Skipped(String),
}

/// The rows of the 1–5 list: (value, title, description).
pub const SCALE: [(&str, &str); 5] = [
    ("5", "5 - Excellent"),
    ("4", "4 - Good"),
    ("3", "3 - Okay"),
    ("2", "2 - Poor"),
    ("1", "1 - Very poor"),
];

/// The interactive survey for `conversation_id`: a list (scale `1-5`) or two reply buttons
/// (`thumbs`). Pure; Meta's limits are checked by `Interactive::from_request`.
pub fn survey_message(conversation_id: i64, scale: &str, question: &str) -> AppResult<Interactive> {
    let id = |v: &str| format!("csat:{conversation_id}:{v}");
    let mut attrs = Map::new();
    if scale == "thumbs" {
        attrs.insert(
            "items".into(),
            json!([{"title": "👍", "value": id("up")}, {"title": "👎", "value": id("down")}]),
        );
    } else {
        let rows: Vec<Value> = SCALE
            .iter()
            .map(|(v, t)| json!({"title": t, "value": id(v)}))
            .collect();
        attrs.insert("button_text".into(), json!("Rate us"));
        attrs.insert(
            "sections".into(),
            json!([{"title": "Your rating", "items": rows}]),
        );
    }
    Interactive::from_request(Some("input_select"), Some(question), &mut attrs)?
        .ok_or_else(|| AppError::Internal("survey is not interactive".into()))
}

/// Reads a CSAT answer from a stored incoming message's `content_attributes`: the
/// `interactive.id` of a `button_reply` / `list_reply`, or a template `button.payload`.
/// Returns (conversation id, rating 1–5). Pure.
pub fn parse_answer(attrs: &Value) -> Option<(i64, i32)> {
    let raw = attrs["interactive"]["id"]
        .as_str()
        .filter(|_| {
            matches!(
                attrs["interactive"]["type"].as_str(),
                Some("button_reply") | Some("list_reply")
            )
        })
        .or_else(|| attrs["button"]["payload"].as_str())?;
    parse_id(raw)
}

/// Reads `csat:<conversation id>:<value>`; value `1`–`5`, `up` (5) or `down` (1).
pub fn parse_id(raw: &str) -> Option<(i64, i32)> {
    let mut parts = raw.trim().splitn(3, ':');
    if parts.next()? != "csat" {
        return None;
    }
    let conversation: i64 = parts.next()?.parse().ok().filter(|c| *c > 0)?;
    let rating = match parts.next()? {
        "up" => 5,
        "down" => 1,
        v => v.parse::<i32>().ok().filter(|r| (1..=5).contains(r))?,
    };
    Some((conversation, rating))
}

/// The payload values of a template's QUICK_REPLY buttons for `scale`, in button order
/// (see the module documentation).
pub fn template_button_values(components: &Value, scale: &str) -> Vec<(usize, String)> {
    let buttons: Vec<Value> = components
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("BUTTONS"))
        })
        .flat_map(|c| c["buttons"].as_array().cloned().unwrap_or_default())
        .collect();
    let mut out = Vec::new();
    let mut nth = 0usize;
    for (index, b) in buttons.iter().enumerate() {
        if !b["type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("QUICK_REPLY"))
        {
            continue;
        }
        let text = b["text"].as_str().unwrap_or_default().trim();
        let digit = text
            .chars()
            .next()
            .and_then(|c| c.to_digit(10))
            .filter(|d| (1..=5).contains(d));
        let value = match (digit, scale) {
            (Some(d), _) => d.to_string(),
            (None, "thumbs") if text.contains('👎') => "down".into(),
            (None, "thumbs") if text.contains('👍') => "up".into(),
            (None, "thumbs") => if nth == 0 { "up" } else { "down" }.into(),
            (None, _) => (5 - nth.min(4)).to_string(),
        };
        out.push((index, value));
        nth += 1;
    }
    out
}

/// Sends the survey for a resolved conversation (see the module documentation), in the
/// caller's transaction at `now`.
pub fn send_survey(
    conn: &mut PgConnection,
    conversation_id: i64,
    now: DateTime<Utc>,
) -> AppResult<SendOutcome> {
    let c = conversations::find_by_id(conn, conversation_id)?;
    let settings = inbox_hours::get(conn, c.account_id, c.inbox_id)?;
    if !settings.csat_survey_enabled {
        return Ok(SendOutcome::Off);
    }
    if c.status != "resolved" {
        return Ok(SendOutcome::Skipped(
            "reopened before the survey was sent".into(),
        ));
    }
    let skip = |conn: &mut PgConnection, reason: String| -> AppResult<SendOutcome> {
        auto_replies::activity(
            conn,
            &c,
            &format!("CSAT survey not sent: {reason}"),
            json!({"csat": "skipped"}),
            now,
        )?;
        Ok(SendOutcome::Skipped(reason))
    };
    if super::outbox::recipient_of(conn, &c)?.is_none() {
        return skip(conn, "the contact has no WhatsApp number to send to".into());
    }
    let question = settings.question().to_string();
    let (message, outcome): (Message, fn(i64) -> SendOutcome) = if window::is_open(
        c.last_incoming_at,
        now,
    ) {
        let i = survey_message(c.id, &settings.csat_scale, &question)?;
        let mut attrs = i.stored_attributes();
        attrs.insert("automated".into(), json!("csat"));
        let m = auto_replies::send_system(conn, &c, &i.body, i.content_type(), attrs, now)?;
        (m, SendOutcome::Interactive)
    } else {
        let (Some(name), Some(language)) = (
            settings.csat_template_name.clone(),
            settings.csat_template_language.clone(),
        ) else {
            return skip(
                    conn,
                    "the 24-hour customer service window is closed and no CSAT template is chosen in the inbox settings".into(),
                );
        };
        let Some(template) = templates::find(conn, c.inbox_id, &name, &language)? else {
            return skip(conn, format!("the CSAT template {name} ({language}) is no longer among the inbox's templates"));
        };
        let buttons: Vec<ButtonParam> =
            template_button_values(&template.components, &settings.csat_scale)
                .into_iter()
                .map(|(index, v)| ButtonParam {
                    kind: "quick_reply".into(),
                    parameter: Some(format!("csat:{}:{v}", c.id)),
                    index: Some(index as u32),
                })
                .collect();
        let params = TemplateParams {
            name: name.clone(),
            category: None,
            language: language.clone(),
            processed_params: ProcessedParams {
                body: None,
                header: None,
                buttons: Some(buttons),
            },
        };
        let rendered = match templates::render(&template, &params) {
            Ok(r) => r,
            Err(AppError::Unprocessable { message, .. }) => {
                return skip(
                    conn,
                    format!("the CSAT template {name} ({language}) can't be sent: {message}"),
                );
            }
            Err(e) => return Err(e),
        };
        let mut attrs = Map::new();
        attrs.insert("automated".into(), json!("csat"));
        attrs.insert(
            "template_params".into(),
            serde_json::to_value(&params).unwrap_or(Value::Null),
        );
        attrs.insert(
                "template".into(),
                json!({
                    "name": template.name,
                    "language": template.language,
                    "category": template.category,
                    "header": rendered.header,
                    "header_media": rendered.header_media.as_ref().map(|(t, u)| json!({"media_type": t, "media_url": u})),
                    "footer": rendered.footer,
                    "buttons": rendered.buttons,
                }),
            );
        let m = auto_replies::send_system(conn, &c, &rendered.content, "text", attrs, now)?;
        (m, SendOutcome::Template)
    };
    diesel::insert_into(r::table)
        .values((
            r::account_id.eq(c.account_id),
            r::inbox_id.eq(c.inbox_id),
            r::conversation_id.eq(c.id),
            r::contact_id.eq(c.contact_id),
            r::assigned_agent_id.eq(c.assignee_id),
            r::message_id.eq(Some(message.id)),
            r::scale.eq(&settings.csat_scale),
        ))
        .execute(conn)?;
    Ok(outcome(message.id))
}

/// Records `message` (incoming, in `conversation`) as a CSAT rating or comment when it is
/// one (see the module documentation). Returns `Some("rating")`, `Some("comment")` or
/// `None`. In the caller's transaction.
pub fn record_answer(
    conn: &mut PgConnection,
    conversation: &Conversation,
    message: &Message,
) -> AppResult<Option<&'static str>> {
    if let Some((surveyed, rating)) = parse_answer(&message.content_attributes) {
        let row: Option<Response> = r::table
            .filter(r::conversation_id.eq(surveyed))
            .filter(r::contact_id.eq(conversation.contact_id))
            .order(r::id.desc())
            .select(Response::as_select())
            .first(conn)
            .optional()?;
        let Some(row) = row else { return Ok(None) };
        diesel::update(r::table.find(row.id))
            .set((
                r::rating.eq(Some(rating)),
                r::rated_at.eq(Some(message.created_at)),
                r::feedback_message.eq(None::<String>),
                r::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        let shown = rating_label(&row.scale, rating);
        let surveyed_conversation = conversations::find_by_id(conn, surveyed)?;
        auto_replies::activity(
            conn,
            &surveyed_conversation,
            &format!("The customer rated the conversation {shown}"),
            json!({"csat": {"rating": rating, "response_id": row.id}}),
            message.created_at,
        )?;
        if conversation.status == "resolved" {
            // The answer joined the resolved conversation (see `answer_conversation`): nobody
            // waits for a reply to it.
            conversations::clear_waiting(conn, conversation.id)?;
        }
        return Ok(Some("rating"));
    }
    let text = message
        .content
        .as_deref()
        .map(str::trim)
        .unwrap_or_default();
    if message.content_type != "text"
        || text.is_empty()
        || message.content_attributes.get("interactive").is_some()
    {
        return Ok(None);
    }
    let since = message.created_at - Duration::minutes(COMMENT_WINDOW_MINUTES);
    use diesel::sql_types::{BigInt, Text, Timestamptz};
    let updated = diesel::sql_query(
        "UPDATE csat_survey_responses SET feedback_message = $1, updated_at = now() WHERE id = ( \
           SELECT id FROM csat_survey_responses WHERE contact_id = $2 AND inbox_id = $3 \
             AND rating IS NOT NULL AND feedback_message IS NULL AND rated_at >= $4 AND rated_at <= $5 \
           ORDER BY id DESC LIMIT 1 FOR UPDATE)",
    )
    .bind::<Text, _>(text)
    .bind::<BigInt, _>(conversation.contact_id)
    .bind::<BigInt, _>(conversation.inbox_id)
    .bind::<Timestamptz, _>(since)
    .bind::<Timestamptz, _>(message.created_at)
    .prepared()
    .execute(conn)?;
    if updated > 0 && conversation.status == "resolved" {
        conversations::clear_waiting(conn, conversation.id)?;
    }
    Ok((updated > 0).then_some("comment"))
}

/// Where ingest stores an incoming message that answers a survey, so the answer joins the
/// surveyed conversation instead of opening a new one (the conversation stays resolved): a
/// rating (`content_attributes` carrying `csat:<id>:<value>`, see [`parse_answer`]) goes to
/// conversation `<id>` when it is this contact's in this inbox and was surveyed; a text
/// (`is_text`) goes to the conversation of the contact's latest rating in the inbox when
/// that rating is at most [`COMMENT_WINDOW_MINUTES`] old at `at` and has no comment yet.
/// Either only when the contact has no unresolved conversation in the inbox (one would take
/// the message, as always). Costs nothing for other messages but one indexed lookup for a
/// text. Call it in ingest's transaction.
pub fn answer_conversation(
    conn: &mut PgConnection,
    inbox_id: i64,
    contact_id: i64,
    attrs: &Map<String, Value>,
    is_text: bool,
    at: DateTime<Utc>,
) -> AppResult<Option<Conversation>> {
    use crate::db::schema::conversations as cv;
    let answer = if attrs.contains_key("interactive") || attrs.contains_key("button") {
        parse_answer(&Value::Object(attrs.clone()))
    } else {
        None
    };
    let target: Option<i64> = if let Some((surveyed, _)) = answer {
        r::table
            .filter(r::conversation_id.eq(surveyed))
            .filter(r::contact_id.eq(contact_id))
            .filter(r::inbox_id.eq(inbox_id))
            .select(r::conversation_id)
            .first(conn)
            .optional()?
    } else if is_text {
        r::table
            .filter(r::contact_id.eq(contact_id))
            .filter(r::inbox_id.eq(inbox_id))
            .filter(r::rating.is_not_null())
            .filter(r::feedback_message.is_null())
            .filter(r::rated_at.ge(at - Duration::minutes(COMMENT_WINDOW_MINUTES)))
            .filter(r::rated_at.le(at))
            .order(r::id.desc())
            .select(r::conversation_id)
            .first(conn)
            .optional()?
    } else {
        None
    };
    let Some(id) = target else { return Ok(None) };
    let open_exists: bool = diesel::select(diesel::dsl::exists(
        cv::table
            .filter(cv::inbox_id.eq(inbox_id))
            .filter(cv::contact_id.eq(contact_id))
            .filter(cv::status.ne("resolved")),
    ))
    .get_result(conn)?;
    if open_exists {
        return Ok(None);
    }
    Ok(Some(conversations::find_by_id(conn, id)?))
}

/// "5/5", "👍" or "👎".
pub fn rating_label(scale: &str, rating: i32) -> String {
    match (scale, rating) {
        ("thumbs", r) if r >= 3 => "👍".into(),
        ("thumbs", _) => "👎".into(),
        (_, r) => format!("{r}/5"),
    }
}

/// A filter of [`list`]: Chatwoot's `since`/`until` (unix seconds), `inbox_id`,
/// `user_ids` (assigned agents), paged by `page` (25 a page, Chatwoot's) — here by id:
/// `before` (the last id seen) keeps paging stable while answers arrive.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub inbox_id: Option<i64>,
    pub agent_ids: Vec<i64>,
    pub page: i64,
    pub per_page: i64,
}

/// The account's answered surveys, newest first, for inboxes in `visible` (None: all).
pub fn list(
    conn: &mut PgConnection,
    account_id: i64,
    visible: Option<&[i64]>,
    f: &ListFilter,
) -> AppResult<(Vec<Response>, i64)> {
    let mut q = r::table
        .filter(r::account_id.eq(account_id))
        .filter(r::rating.is_not_null())
        .into_boxed();
    let mut count = r::table
        .filter(r::account_id.eq(account_id))
        .filter(r::rating.is_not_null())
        .into_boxed();
    if let Some(ids) = visible {
        q = q.filter(r::inbox_id.eq_any(ids.to_vec()));
        count = count.filter(r::inbox_id.eq_any(ids.to_vec()));
    }
    if let Some(s) = f.since {
        q = q.filter(r::created_at.ge(s));
        count = count.filter(r::created_at.ge(s));
    }
    if let Some(u) = f.until {
        q = q.filter(r::created_at.le(u));
        count = count.filter(r::created_at.le(u));
    }
    if let Some(i) = f.inbox_id {
        q = q.filter(r::inbox_id.eq(i));
        count = count.filter(r::inbox_id.eq(i));
    }
    if !f.agent_ids.is_empty() {
        q = q.filter(r::assigned_agent_id.eq_any(f.agent_ids.clone()));
        count = count.filter(r::assigned_agent_id.eq_any(f.agent_ids.clone()));
    }
    let per = f.per_page.clamp(1, 100);
    let rows = q
        .order(r::id.desc())
        .offset((f.page.max(1) - 1).saturating_mul(per))
        .limit(per)
        .select(Response::as_select())
        .load(conn)?;
    let total: i64 = count.count().get_result(conn)?;
    Ok((rows, total))
}

/// The contact's answered surveys, newest first (at most 10), for the contact panel.
pub fn for_contact(conn: &mut PgConnection, contact_id: i64) -> AppResult<Vec<Response>> {
    Ok(r::table
        .filter(r::contact_id.eq(contact_id))
        .filter(r::rating.is_not_null())
        .order(r::id.desc())
        .limit(10)
        .select(Response::as_select())
        .load(conn)?)
}

/// Chatwoot's response objects for `rows` (`id, rating, feedback_message, account_id,
/// message_id, contact {id, name, phone_number, email}, conversation_id` (the display id),
/// `assigned_agent {id, name, email}` or null, `inbox_id, scale, created_at` (unix seconds)),
/// in three lookups for the whole page.
pub fn to_json(conn: &mut PgConnection, rows: &[Response]) -> AppResult<Vec<Value>> {
    use crate::db::schema::{contacts, conversations as cv, users};
    let conv_ids: Vec<i64> = rows.iter().map(|r| r.conversation_id).collect();
    let contact_ids: Vec<i64> = rows.iter().map(|r| r.contact_id).collect();
    let agent_ids: Vec<i64> = rows.iter().filter_map(|r| r.assigned_agent_id).collect();
    let displays: Vec<(i64, i32)> = cv::table
        .filter(cv::id.eq_any(&conv_ids))
        .select((cv::id, cv::display_id))
        .load(conn)?;
    let people: Vec<(i64, String, Option<String>, Option<String>)> = contacts::table
        .filter(contacts::id.eq_any(&contact_ids))
        .select((
            contacts::id,
            contacts::name,
            contacts::phone_number,
            contacts::email,
        ))
        .load(conn)?;
    let agents: Vec<(i64, String, String)> = if agent_ids.is_empty() {
        vec![]
    } else {
        users::table
            .filter(users::id.eq_any(&agent_ids))
            .select((users::id, users::name, users::email))
            .load(conn)?
    };
    Ok(rows
        .iter()
        .map(|row| {
            let contact = people.iter().find(|p| p.0 == row.contact_id);
            let agent = row
                .assigned_agent_id
                .and_then(|a| agents.iter().find(|u| u.0 == a));
            json!({
                "id": row.id,
                "rating": row.rating,
                "feedback_message": row.feedback_message,
                "account_id": row.account_id,
                "inbox_id": row.inbox_id,
                "message_id": row.message_id,
                "scale": row.scale,
                "contact": contact.map(|c| json!({"id": c.0, "name": c.1, "phone_number": c.2, "email": c.3})),
                "conversation_id": displays.iter().find(|d| d.0 == row.conversation_id).map(|d| d.1),
                "assigned_agent": agent.map(|u| json!({"id": u.0, "name": u.1, "email": u.2})),
                "created_at": row.created_at.timestamp(),
                "rated_at": row.rated_at.map(|t| t.timestamp()),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_answer_kind_parses() {
        let button =
            json!({"interactive": {"type": "button_reply", "id": "csat:42:up", "title": "👍"}});
        assert_eq!(parse_answer(&button), Some((42, 5)));
        let list =
            json!({"interactive": {"type": "list_reply", "id": "csat:42:3", "title": "3 - Okay"}});
        assert_eq!(parse_answer(&list), Some((42, 3)));
        let template = json!({"button": {"payload": "csat:7:down", "text": "👎"}});
        assert_eq!(parse_answer(&template), Some((7, 1)));
        assert_eq!(
            parse_answer(&json!({"button": {"payload": "CONFIRM", "text": "Yes"}})),
            None
        );
        assert_eq!(parse_id("csat:42:6"), None);
        assert_eq!(parse_id("csat:-1:5"), None);
        assert_eq!(parse_id("csat:x:5"), None);
        assert_eq!(
            parse_answer(&json!({"interactive": {"type": "nfm_reply", "id": "csat:1:5"}})),
            None
        );
    }

    #[test]
    fn surveys_fit_meta_limits() {
        let list = survey_message(42, "1-5", "How did we do?").unwrap();
        let g = list.graph_object();
        assert_eq!(g["type"], "list");
        assert_eq!(g["action"]["sections"][0]["rows"][0]["id"], "csat:42:5");
        assert_eq!(
            g["action"]["sections"][0]["rows"].as_array().unwrap().len(),
            5
        );
        let thumbs = survey_message(42, "thumbs", "Happy?").unwrap();
        let g = thumbs.graph_object();
        assert_eq!(g["type"], "button");
        assert_eq!(g["action"]["buttons"][1]["reply"]["id"], "csat:42:down");
    }

    #[test]
    fn template_buttons_get_values() {
        let comps = json!([{"type": "BODY", "text": "Rate us"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Great"}, {"type": "QUICK_REPLY", "text": "Bad"}]}]);
        assert_eq!(
            template_button_values(&comps, "thumbs"),
            vec![(0, "up".to_string()), (1, "down".to_string())]
        );
        let comps = json!([{"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Site"},
            {"type": "QUICK_REPLY", "text": "1 bad"}, {"type": "QUICK_REPLY", "text": "5 great"}]}]);
        assert_eq!(
            template_button_values(&comps, "1-5"),
            vec![(1, "1".to_string()), (2, "5".to_string())]
        );
    }
}
