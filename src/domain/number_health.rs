//! Number health of a WhatsApp inbox (issue 12): what Graph's `GET /{phone_number_id}?fields=…`
//! and Meta's management webhooks last said about the number (status, quality rating,
//! messaging limit, throughput, display-name status, `health_status`, account alerts and
//! reviews), the changes refused on the inbox's webhook route, and the "drop" administrators
//! see as a banner and get one email about.
//!
//! Sources: `shared/reference/graph-api-notes.md` §9 (fields and values) and §0 (management
//! webhooks reach only the app's default callback, so a poll is the fallback).

use crate::db::schema::whatsapp_number_health as h;
use crate::error::AppResult;
use crate::jobs::email::{self, EmailJob};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

/// Most alerts, reviews, events and refused routes kept per inbox (newest first).
pub const KEEP: usize = 10;

/// A `whatsapp_number_health` row. Text values are Meta's, kept verbatim (unknown values too).
#[derive(Debug, Clone, Default, Queryable, Selectable, Serialize)]
#[diesel(table_name = h)]
pub struct Health {
    pub inbox_id: i64,
    /// Graph `status` (`CONNECTED`, `FLAGGED`, `RESTRICTED`, …).
    pub status: Option<String>,
    /// `GREEN`, `YELLOW`, `RED`, `NA` or `UNKNOWN`.
    pub quality_rating: Option<String>,
    /// The business portfolio's limit, e.g. `TIER_2K`.
    pub messaging_limit: Option<String>,
    /// `throughput.level`: `STANDARD` or `HIGH`.
    pub throughput: Option<String>,
    /// Display-name status (`APPROVED`, `PENDING_REVIEW`, `DECLINED`, …).
    pub name_status: Option<String>,
    pub verified_name: Option<String>,
    /// `health_status.can_send_message`: `AVAILABLE`, `LIMITED` or `BLOCKED`.
    pub can_send_message: Option<String>,
    /// Graph's whole `health_status` object.
    pub health_status: Option<Value>,
    /// Latest `account_alerts` values with `at` (unix seconds), newest first.
    pub alerts: Value,
    /// Latest `account_review_update` values with `at`, newest first.
    pub reviews: Value,
    /// Latest other management events (`{field, summary, at}`), newest first.
    pub events: Value,
    /// Changes refused on this inbox's route: `[{phone_number_id, waba_id, count, last_at}]`.
    pub refused_routes: Value,
    /// The problem administrators were last emailed about (see [`problem`]).
    pub alerted_problem: Option<String>,
    pub refreshed_at: Option<DateTime<Utc>>,
    /// Why the last Graph refresh failed.
    pub refresh_error: Option<String>,
    pub next_refresh_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// The inbox's health row, created empty when missing.
pub fn get(conn: &mut PgConnection, inbox_id: i64) -> AppResult<Health> {
    diesel::insert_into(h::table)
        .values(h::inbox_id.eq(inbox_id))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(h::table
        .find(inbox_id)
        .select(Health::as_select())
        .first(conn)?)
}

/// The health rows of `inbox_ids` (inboxes without one are absent).
pub fn for_inboxes(conn: &mut PgConnection, inbox_ids: &[i64]) -> AppResult<Vec<Health>> {
    Ok(h::table
        .filter(h::inbox_id.eq_any(inbox_ids))
        .select(Health::as_select())
        .load(conn)?)
}

/// The problem a health shows, as one sentence for the banner and the email, or `None` when
/// the number is healthy. In order: sending blocked or limited (`health_status`), a status
/// other than `CONNECTED` that restricts it (FLAGGED, RESTRICTED, RATE_LIMITED, BANNED,
/// DISCONNECTED…), a quality rating of YELLOW or RED.
pub fn problem(health: &Health) -> Option<String> {
    if let Some(send @ ("BLOCKED" | "LIMITED")) = health.can_send_message.as_deref() {
        let reasons = reasons(health);
        let why = if reasons.is_empty() {
            String::new()
        } else {
            format!(": {}", reasons.join("; ").trim_end_matches('.'))
        };
        return Some(format!("Sending is {send}{why}"));
    }
    if let Some(status) = health.status.as_deref() {
        if !matches!(status, "CONNECTED" | "PENDING" | "UNKNOWN" | "") {
            return Some(format!("The number's status is {status}"));
        }
    }
    match health.quality_rating.as_deref() {
        Some(q @ ("YELLOW" | "RED")) => Some(format!("Quality rating dropped to {q}")),
        _ => None,
    }
}

/// The reasons `health_status` gives: every entity's `additional_info` and `errors`
/// (`error_description` and `possible_solution`), as "ENTITY: text".
pub fn reasons(health: &Health) -> Vec<String> {
    let mut out = Vec::new();
    let entities = health
        .health_status
        .as_ref()
        .and_then(|s| s.get("entities"))
        .and_then(Value::as_array);
    for e in entities.into_iter().flatten() {
        let kind = match e.get("entity_type").and_then(Value::as_str) {
            Some("PHONE_NUMBER") => "Phone number",
            Some("WABA") => "WhatsApp Business Account",
            Some("BUSINESS") => "Business portfolio",
            Some("APP") => "App",
            Some("MESSAGE_TEMPLATE") => "Template",
            Some(other) => other,
            None => "Meta",
        };
        for info in e
            .get("additional_info")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = info.as_str() {
                out.push(format!("{kind}: {t}"));
            }
        }
        for err in e
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let desc = err
                .get("error_description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let fix = err
                .get("possible_solution")
                .and_then(Value::as_str)
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            let code = err
                .get("error_code")
                .map(|c| format!(" #{c}"))
                .unwrap_or_default();
            out.push(format!("{kind}{code}: {desc}{fix}"));
        }
    }
    out
}

/// What changed in one update, written by [`apply`]. `None` leaves a column as it is.
#[derive(Debug, Default, Clone)]
pub struct Update {
    pub status: Option<String>,
    pub quality_rating: Option<String>,
    pub messaging_limit: Option<String>,
    pub throughput: Option<String>,
    pub name_status: Option<String>,
    pub verified_name: Option<String>,
    pub can_send_message: Option<String>,
    pub health_status: Option<Value>,
    /// Prepended to `alerts`.
    pub alert: Option<Value>,
    /// Prepended to `reviews`.
    pub review: Option<Value>,
    /// Prepended to `events`.
    pub event: Option<Value>,
}

impl Update {
    /// Reads Graph's `GET /{phone_number_id}?fields=…` answer (graph-api-notes §9.1):
    /// `status`, `quality_rating`, `whatsapp_business_manager_messaging_limit` (or the
    /// deprecated `messaging_limit_tier`), `throughput.level`, `name_status`,
    /// `verified_name`, `health_status`.
    pub fn from_graph(answer: &Value) -> Update {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let health_status = answer.get("health_status").filter(|v| v.is_object());
        Update {
            status: text(answer.get("status")),
            quality_rating: text(answer.get("quality_rating")),
            messaging_limit: text(answer.get("whatsapp_business_manager_messaging_limit"))
                .or_else(|| text(answer.get("messaging_limit_tier"))),
            throughput: text(answer.get("throughput").and_then(|t| t.get("level"))),
            name_status: text(answer.get("name_status")),
            verified_name: text(answer.get("verified_name")),
            can_send_message: text(health_status.and_then(|s| s.get("can_send_message"))),
            health_status: health_status.cloned(),
            ..Update::default()
        }
    }
}

fn prepend(list: &Value, item: Option<&Value>) -> Value {
    let mut out: Vec<Value> = item.into_iter().cloned().collect();
    out.extend(list.as_array().into_iter().flatten().cloned());
    out.truncate(KEEP);
    Value::Array(out)
}

/// Applies `update` to the inbox's health and, when that leaves a new [`problem`], queues one
/// email to each administrator of the account (once per drop: the problem is remembered in
/// `alerted_problem` and cleared when the number is healthy again). Returns the new health.
pub fn apply(conn: &mut PgConnection, inbox_id: i64, update: &Update) -> AppResult<Health> {
    conn.transaction(|conn| {
        get(conn, inbox_id)?;
        let old: Health = h::table
            .find(inbox_id)
            .for_update()
            .select(Health::as_select())
            .first(conn)?;
        let mut new = old.clone();
        let set = |slot: &mut Option<String>, v: &Option<String>| {
            if let Some(v) = v {
                *slot = Some(v.clone());
            }
        };
        set(&mut new.status, &update.status);
        set(&mut new.quality_rating, &update.quality_rating);
        set(&mut new.messaging_limit, &update.messaging_limit);
        set(&mut new.throughput, &update.throughput);
        set(&mut new.name_status, &update.name_status);
        set(&mut new.verified_name, &update.verified_name);
        set(&mut new.can_send_message, &update.can_send_message);
        if update.health_status.is_some() {
            new.health_status = update.health_status.clone();
        }
        new.alerts = prepend(&old.alerts, update.alert.as_ref());
        new.reviews = prepend(&old.reviews, update.review.as_ref());
        new.events = prepend(&old.events, update.event.as_ref());
        let now_problem = problem(&new);
        if now_problem.is_none() {
            new.alerted_problem = None;
        } else if now_problem != old.alerted_problem {
            alert_administrators(conn, inbox_id, now_problem.as_deref().unwrap_or_default())?;
            new.alerted_problem = now_problem;
        }
        diesel::update(h::table.find(inbox_id))
            .set((
                h::status.eq(&new.status),
                h::quality_rating.eq(&new.quality_rating),
                h::messaging_limit.eq(&new.messaging_limit),
                h::throughput.eq(&new.throughput),
                h::name_status.eq(&new.name_status),
                h::verified_name.eq(&new.verified_name),
                h::can_send_message.eq(&new.can_send_message),
                h::health_status.eq(&new.health_status),
                h::alerts.eq(&new.alerts),
                h::reviews.eq(&new.reviews),
                h::events.eq(&new.events),
                h::alerted_problem.eq(&new.alerted_problem),
                h::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        Ok(new)
    })
}

/// Records a refresh from Graph: `Ok(answer)` applies it (see [`Update::from_graph`]) and clears
/// the error; `Err(text)` keeps the last values and records why. Either way the next periodic
/// refresh is `next` from now.
pub fn record_refresh(
    conn: &mut PgConnection,
    inbox_id: i64,
    answer: Result<&Value, &str>,
    next: DateTime<Utc>,
) -> AppResult<()> {
    if let Ok(answer) = answer {
        apply(conn, inbox_id, &Update::from_graph(answer))?;
    } else {
        get(conn, inbox_id)?;
    }
    diesel::update(h::table.find(inbox_id))
        .set((
            h::refreshed_at.eq(answer.is_ok().then(Utc::now)),
            h::refresh_error.eq(answer.err()),
            h::next_refresh_at.eq(Some(next)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a change refused on `inbox_id`'s webhook route (a `phone_number_id` of no inbox of
/// this WABA, or another WABA's entry; `None` for a management change, which names no
/// number), counted per (phone_number_id, waba_id).
pub fn record_refused_route(
    conn: &mut PgConnection,
    inbox_id: i64,
    phone_number_id: Option<&str>,
    waba_id: Option<&str>,
) -> AppResult<()> {
    let health = get(conn, inbox_id)?;
    let mut list: Vec<Value> = health
        .refused_routes
        .as_array()
        .cloned()
        .unwrap_or_default();
    let same = |v: &Value| {
        v["phone_number_id"].as_str() == phone_number_id && v["waba_id"].as_str() == waba_id
    };
    let count = list
        .iter()
        .find(|v| same(v))
        .and_then(|v| v["count"].as_i64())
        .unwrap_or(0);
    list.retain(|v| !same(v));
    list.insert(
        0,
        json!({"phone_number_id": phone_number_id, "waba_id": waba_id,
               "count": count + 1, "last_at": Utc::now().timestamp()}),
    );
    list.truncate(KEEP);
    diesel::update(h::table.find(inbox_id))
        .set((
            h::refused_routes.eq(Value::Array(list)),
            h::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Queues "WhatsApp number health dropped" to every administrator of the inbox's account.
fn alert_administrators(conn: &mut PgConnection, inbox_id: i64, problem: &str) -> AppResult<()> {
    use crate::db::schema::{account_users, channel_whatsapp, inboxes, users};
    let (account_id, name, phone): (i64, String, String) = inboxes::table
        .inner_join(channel_whatsapp::table)
        .filter(inboxes::id.eq(inbox_id))
        .select((
            inboxes::account_id,
            inboxes::name,
            channel_whatsapp::phone_number,
        ))
        .first(conn)?;
    let admins: Vec<String> = users::table
        .inner_join(account_users::table)
        .filter(account_users::account_id.eq(account_id))
        .filter(account_users::role.eq("administrator"))
        .select(users::email)
        .load(conn)?;
    for to in admins {
        email::enqueue(
            conn,
            &EmailJob::Message {
                to,
                subject: format!("WhatsApp number {phone} ({name}) needs attention"),
                text: format!(
                    "{problem}.\n\nInbox: {name} ({phone}). Open the inbox's settings in Switchboard to see its number health, Meta's reasons and what to do next.\n"
                ),
                html: None,
            },
        )?;
    }
    tracing::warn!(
        inbox_id,
        problem,
        "WhatsApp number health dropped; administrators emailed"
    );
    Ok(())
}

/// Inboxes of `account_id` whose health shows a problem, as `(inbox_id, inbox name, problem)`,
/// for the administrators' banner. One query.
pub fn problems_in_account(
    conn: &mut PgConnection,
    account_id: i64,
) -> AppResult<Vec<(i64, String, String)>> {
    use crate::db::schema::inboxes;
    let rows: Vec<(String, Health)> = h::table
        .inner_join(inboxes::table)
        .filter(inboxes::account_id.eq(account_id))
        .filter(h::alerted_problem.is_not_null())
        .order(inboxes::id)
        .select((inboxes::name, Health::as_select()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(name, health)| problem(&health).map(|p| (health.inbox_id, name, p)))
        .collect())
}

/// The inbox API's `health` object: `status`, `quality_rating`, `messaging_limit`,
/// `throughput`, `name_status`, `verified_name`, `can_send_message`, `reasons` (strings),
/// `problem` (string or null), `alerts`, `reviews`, `events`, `refused_routes`,
/// `refreshed_at` (unix seconds or null), `refresh_error`.
pub fn to_json(health: &Health) -> Value {
    json!({
        "status": health.status,
        "quality_rating": health.quality_rating,
        "messaging_limit": health.messaging_limit,
        "throughput": health.throughput,
        "name_status": health.name_status,
        "verified_name": health.verified_name,
        "can_send_message": health.can_send_message,
        "reasons": reasons(health),
        "problem": problem(health),
        "alerts": health.alerts,
        "reviews": health.reviews,
        "events": health.events,
        "refused_routes": health.refused_routes,
        "refreshed_at": health.refreshed_at.map(|t| t.timestamp()),
        "refresh_error": health.refresh_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_in_order() {
        let mut hl = Health {
            status: Some("CONNECTED".into()),
            quality_rating: Some("GREEN".into()),
            can_send_message: Some("AVAILABLE".into()),
            ..Health::default()
        };
        assert_eq!(problem(&hl), None);
        hl.quality_rating = Some("YELLOW".into());
        assert_eq!(problem(&hl).unwrap(), "Quality rating dropped to YELLOW");
        hl.status = Some("FLAGGED".into());
        assert_eq!(problem(&hl).unwrap(), "The number's status is FLAGGED");
        hl.can_send_message = Some("BLOCKED".into());
        hl.health_status = Some(json!({"entities":[{"entity_type":"WABA","errors":[
            {"error_code":141002,"error_description":"Not approved","possible_solution":"Appeal"}]}]}));
        assert_eq!(
            problem(&hl).unwrap(),
            "Sending is BLOCKED: WhatsApp Business Account #141002: Not approved (Appeal)"
        );
    }

    #[test]
    fn graph_fixture_reads() {
        let path = format!(
            "{}/../shared/fixtures/meta/graph/phone_number_health.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let answer: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let u = Update::from_graph(&answer);
        assert_eq!(u.status.as_deref(), Some("CONNECTED"));
        assert_eq!(u.messaging_limit.as_deref(), Some("TIER_2K"));
        assert_eq!(u.throughput.as_deref(), Some("STANDARD"));
        assert_eq!(u.can_send_message.as_deref(), Some("AVAILABLE"));
    }
}
