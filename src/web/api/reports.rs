//! Chatwoot's v2 reports API (issue 14), under `/api/v2/accounts/{account_id}`:
//!
//! | route | answer |
//! |---|---|
//! | `GET /reports?metric&type&id&since&until&group_by&business_hours&timezone_offset` | `[{"value", "timestamp", "count"}]` per bucket (Chatwoot's time series) |
//! | `GET /reports/summary?type&id&since&until&business_hours` | `{conversations_count, incoming_messages_count, outgoing_messages_count, avg_first_response_time, avg_resolution_time, resolutions_count, reply_time, previous: {…}}` (`previous`: the same length just before) |
//! | `GET /reports/conversations?type=account` | `{open, unattended, unassigned, pending}` now; `type=agent` (`user_id` optional): `[{id, name, email, thumbnail, availability, metric: {open, unattended}}]` |
//! | `GET /reports/agents`, `/inboxes`, `/labels`, `/teams` | CSV of the breakdown (as Chatwoot, which answers these with CSV) |
//! | `GET /summary_reports/{agent,inbox,team,label}` | `[{id, name, conversations_count, resolved_conversations_count, avg_resolution_time, avg_first_response_time, avg_reply_time, incoming_messages_count, outgoing_messages_count}]` |
//! | `GET /reports/first_response_time_distribution` | `{"Channel::Whatsapp": {"0-1h", "1-4h", "4-8h", "8-24h", "24h+"}}` |
//! | `GET /reports/outgoing_messages_count?group_by=agent\|team\|inbox\|label` | `[{id, name, outgoing_messages_count}]` |
//! | Switchboard: `GET /reports/times` | `[{metric, count, avg, median, p90, distribution}]` (seconds) |
//! | Switchboard: `GET /reports/csat`, `/reports/whatsapp`, `/reports/overview` | CSAT figures; `{templates, failures, windows_closed_unanswered, total_windows_closed_unanswered}`; the live overview |
//! | Switchboard: `GET /reports/sla` | `{number_of_conversations, number_of_sla_misses, hit_rate, hit, missed, active, breaches: {frt, nrt, rt, total}, policies: [… with id, name]}` (Chatwoot has no SLA report in its API reference) |
//! | Switchboard: `GET /reports/export/{kind}` | CSV of a report (`domain::reports::csv::KINDS`) |
//! | Switchboard: `GET /reports/conversations.csv` | per-conversation rows, streamed |
//!
//! Parameters: `since`, `until` unix seconds (default: the 7 days before now; at most 2
//! years), `type` `account|agent|inbox|label|team` with `id` (a label by id or title),
//! `group_by` `day|week|month|year`, `business_hours` `true|false`, the zone as
//! `timezone_offset` (hours) or `timezone` (IANA name; default UTC). Agents see their inboxes
//! only (a report of another inbox is 404); administrators all. Errors: 422 naming the
//! parameter, 404 for an id of another account.

use crate::app::AppState;
use crate::domain::accounts::Viewer;
use crate::domain::reports::{self, By, GroupBy, Query, Subject, Zone};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The longest range a report may cover.
pub const MAX_RANGE_DAYS: i64 = 731;

/// Registers the routes under `/api/v2`.
pub fn routes(cfg: &mut web::ServiceConfig, config: &crate::config::Config) {
    cfg.service(
        web::scope("/api/v2/accounts/{account_id}")
            .wrap(crate::web::session::middleware(config))
            .route("/reports", web::get().to(timeseries))
            .route("/reports/summary", web::get().to(summary))
            .route("/reports/conversations", web::get().to(conversations))
            .route("/reports/conversations/", web::get().to(conversations))
            .route(
                "/reports/conversations.csv",
                web::get().to(conversation_rows),
            )
            .route(
                "/reports/first_response_time_distribution",
                web::get().to(distribution),
            )
            .route(
                "/reports/outgoing_messages_count",
                web::get().to(outgoing_messages),
            )
            .route("/reports/times", web::get().to(times))
            .route("/reports/csat", web::get().to(csat))
            .route("/reports/whatsapp", web::get().to(whatsapp))
            .route("/reports/sla", web::get().to(sla))
            .route("/reports/overview", web::get().to(overview))
            .route("/reports/export/{kind}", web::get().to(export))
            .route("/reports/{by}", web::get().to(breakdown_csv))
            .route("/summary_reports/{by}", web::get().to(summary_report)),
    );
}

fn params(req: &HttpRequest) -> AppResult<HashMap<String, String>> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| AppError::invalid("query", "the query string can't be read"))?;
    let mut out = HashMap::new();
    for (k, v) in pairs {
        if v.contains('\0') {
            return Err(AppError::invalid(&k, format!("{k} contains a NUL byte")));
        }
        out.insert(k, v);
    }
    Ok(out)
}

fn unix(name: &str, v: &str) -> AppResult<DateTime<Utc>> {
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (0..=253_402_300_799).contains(n))
        .and_then(|n| Utc.timestamp_opt(n, 0).single())
        .ok_or_else(|| AppError::invalid(name, format!("{name} must be a unix time in seconds")))
}

/// A report request without its subject's checks: range, zone, business hours.
fn base_query(viewer: &Viewer, p: &HashMap<String, String>) -> AppResult<Query> {
    let until = match p.get("until").filter(|v| !v.is_empty()) {
        Some(v) => unix("until", v)?,
        None => Utc::now(),
    };
    let since = match p.get("since").filter(|v| !v.is_empty()) {
        Some(v) => unix("since", v)?,
        None => until - Duration::days(7),
    };
    if since >= until {
        return Err(AppError::invalid("since", "since must be before until"));
    }
    if until - since > Duration::days(MAX_RANGE_DAYS) {
        return Err(AppError::invalid(
            "until",
            format!("a report covers at most {MAX_RANGE_DAYS} days"),
        ));
    }
    let zone = if let Some(tz) = p.get("timezone").filter(|v| !v.is_empty()) {
        Zone::Named(
            crate::domain::business_hours::parse_tz(tz)
                .map_err(|e| AppError::invalid("timezone", e.message))?,
        )
    } else if let Some(off) = p.get("timezone_offset").filter(|v| !v.is_empty()) {
        Zone::from_offset_hours(off)?
    } else {
        Zone::Offset(0)
    };
    let business_hours = match p.get("business_hours").map(|s| s.as_str()) {
        None | Some("") | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(_) => {
            return Err(AppError::invalid(
                "business_hours",
                "business_hours is true or false",
            ))
        }
    };
    Ok(Query {
        account_id: viewer.account_id,
        visible_inboxes: None,
        subject: Subject::Account,
        since,
        until,
        zone,
        business_hours,
    })
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Title {
    #[diesel(sql_type = Text)]
    title: String,
}

/// The subject of `type` + `id`, checked against the account (404 otherwise) and, for an
/// inbox, the viewer's inboxes.
fn subject(
    conn: &mut PgConnection,
    account_id: i64,
    visible: Option<&[i64]>,
    p: &HashMap<String, String>,
) -> AppResult<Subject> {
    let kind = p.get("type").map(|s| s.as_str()).unwrap_or("account");
    if kind == "account" {
        return Ok(Subject::Account);
    }
    let raw = p
        .get("id")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AppError::invalid("id", format!("id is required for type {kind}")))?;
    if kind == "label" {
        let title: Option<Title> = match raw.parse::<i64>() {
            Ok(id) => {
                diesel::sql_query("SELECT title FROM labels WHERE account_id = $1 AND id = $2")
                    .bind::<BigInt, _>(account_id)
                    .bind::<BigInt, _>(id)
                    .get_result(conn)
                    .optional()?
            }
            Err(_) => {
                diesel::sql_query("SELECT title FROM labels WHERE account_id = $1 AND title = $2")
                    .bind::<BigInt, _>(account_id)
                    .bind::<Text, _>(raw)
                    .get_result(conn)
                    .optional()?
            }
        };
        return title
            .map(|t| Subject::Label(t.title))
            .ok_or_else(|| AppError::NotFound("label not found".into()));
    }
    let id = raw
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::invalid("id", "id must be a positive number"))?;
    let (sql, subject) = match kind {
        "agent" => (
            "SELECT count(*) AS n FROM account_users WHERE account_id = $1 AND user_id = $2",
            Subject::Agent(id),
        ),
        "inbox" => {
            if visible.is_some_and(|v| !v.contains(&id)) {
                return Err(AppError::NotFound("inbox not found".into()));
            }
            (
                "SELECT count(*) AS n FROM inboxes WHERE account_id = $1 AND id = $2",
                Subject::Inbox(id),
            )
        }
        "team" => (
            "SELECT count(*) AS n FROM teams WHERE account_id = $1 AND id = $2",
            Subject::Team(id),
        ),
        _ => {
            return Err(AppError::invalid(
                "type",
                "type must be one of account, agent, inbox, label, team",
            ))
        }
    };
    let found: Found = diesel::sql_query(sql)
        .bind::<BigInt, _>(account_id)
        .bind::<BigInt, _>(id)
        .get_result(conn)?;
    if found.n == 0 {
        return Err(AppError::NotFound(format!("{kind} not found")));
    }
    Ok(subject)
}

/// Authenticates, parses and runs `f` with the full query on a database connection.
async fn run<T, F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    account_id: i64,
    f: F,
) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection, Query, &HashMap<String, String>) -> AppResult<T> + Send + 'static,
{
    run_with(state, req, account_id, true, f).await
}

/// [`run`]; without `with_subject`, `type` and `id` are not read as the report's subject
/// (the live counts use `type` for their own shape).
async fn run_with<T, F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    account_id: i64,
    with_subject: bool,
    f: F,
) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection, Query, &HashMap<String, String>) -> AppResult<T> + Send + 'static,
{
    let viewer = auth::viewer(state, req, account_id).await?;
    let p = params(req)?;
    let mut q = base_query(&viewer, &p)?;
    state
        .db(move |conn| {
            q.visible_inboxes = viewer.visible_inbox_ids(conn)?;
            if with_subject {
                q.subject = subject(conn, q.account_id, q.visible_inboxes.as_deref(), &p)?;
            }
            f(conn, q, &p)
        })
        .await
}

fn group_by(p: &HashMap<String, String>) -> AppResult<GroupBy> {
    GroupBy::parse(p.get("group_by").map(|s| s.as_str()).unwrap_or("day"))
}

/// `GET /reports`: one metric per bucket.
#[utoipa::path(
    get,
    path = "/api/v2/accounts/{account_id}/reports",
    tag = "reports",
    operation_id = "reports_timeseries",
    params(("account_id" = i64, Path, description = "The account's id"), ("metric" = Option<String>, Query, description = "`conversations_count`, `incoming_messages_count`, `outgoing_messages_count`, `avg_first_response_time`, `avg_resolution_time`, `resolutions_count` or `reply_time`", example = "conversations_count"), ("type" = Option<String>, Query, description = "`account`, `agent`, `inbox`, `label` or `team`"), ("id" = Option<i64>, Query, description = "The agent, inbox, label or team with `type`"), ("group_by" = Option<String>, Query, description = "`day`, `week`, `month` or `year`"), ("since" = Option<i64>, Query, description = "Start of the range, unix seconds"), ("until" = Option<i64>, Query, description = "End of the range, unix seconds (at most 731 days after `since`)"), ("business_hours" = Option<bool>, Query, description = "Count only the inbox's business hours"), ("timezone_offset" = Option<f64>, Query, description = "Hours from UTC for calendar days"), ("timezone" = Option<String>, Query, description = "IANA time zone for calendar days (wins over `timezone_offset`)")),
    responses(
        (status = 200, description = "The metric per bucket", body = crate::web::openapi::schemas::ReportSeries),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn timeseries(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let points = run(&state, &req, path.into_inner(), |conn, q, p| {
        let metric = p
            .get("metric")
            .ok_or_else(|| AppError::invalid("metric", "metric is required"))?;
        let g = group_by(p)?;
        reports::series(conn, &q, metric, g)
    })
    .await?;
    Ok(HttpResponse::Ok().json(points))
}

fn totals_json(t: &reports::Totals) -> Value {
    json!({
        "conversations_count": t.conversations_count,
        "incoming_messages_count": t.incoming_messages_count,
        "outgoing_messages_count": t.outgoing_messages_count,
        "avg_first_response_time": t.avg_first_response_time,
        "avg_resolution_time": t.avg_resolution_time,
        "resolutions_count": t.resolutions_count,
        "reply_time": t.reply_time,
    })
}

/// `GET /reports/summary`: the range's figures and the previous range's.
#[utoipa::path(
    get,
    path = "/api/v2/accounts/{account_id}/reports/summary",
    tag = "reports",
    operation_id = "reports_summary",
    params(("account_id" = i64, Path, description = "The account's id"), ("type" = Option<String>, Query, description = "`account`, `agent`, `inbox`, `label` or `team`"), ("id" = Option<i64>, Query, description = "The agent, inbox, label or team with `type`"), ("since" = Option<i64>, Query, description = "Start of the range, unix seconds"), ("until" = Option<i64>, Query, description = "End of the range, unix seconds (at most 731 days after `since`)"), ("business_hours" = Option<bool>, Query, description = "Count only the inbox's business hours"), ("timezone_offset" = Option<f64>, Query, description = "Hours from UTC for calendar days"), ("timezone" = Option<String>, Query, description = "IANA time zone for calendar days (wins over `timezone_offset`)")),
    responses(
        (status = 200, description = "The range's figures and the previous range's", body = crate::web::openapi::schemas::ReportSummary),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn summary(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let body = run(&state, &req, path.into_inner(), |conn, q, _| {
        let now = reports::totals(conn, &q)?;
        let len = q.until - q.since;
        let before = Query {
            since: q.since - len,
            until: q.since,
            ..q.clone()
        };
        let prev = reports::totals(conn, &before)?;
        let mut out = totals_json(&now);
        out["previous"] = totals_json(&prev);
        Ok(out)
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /reports/conversations`: live counts (account) or per agent.
#[utoipa::path(
    get,
    path = "/api/v2/accounts/{account_id}/reports/conversations",
    tag = "reports",
    operation_id = "reports_conversations",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "Live counts of the account or per agent", body = crate::web::openapi::schemas::ReportConversations),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn conversations(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let body = run_with(&state, &req, path.into_inner(), false, |conn, q, p| {
        let o = reports::live::overview(conn, q.account_id, q.visible_inboxes.as_deref())?;
        match p.get("type").map(|s| s.as_str()).unwrap_or("account") {
            "agent" => {
                let only =
                    match p.get("user_id").filter(|s| !s.is_empty()) {
                        Some(u) => Some(u.trim().parse::<i64>().map_err(|_| {
                            AppError::invalid("user_id", "user_id must be a number")
                        })?),
                        None => None,
                    };
                Ok(json!(o
                    .agents
                    .iter()
                    .filter(|a| only.is_none_or(|u| u == a.id))
                    .map(|a| json!({
                        "id": a.id, "name": a.name, "email": a.email, "thumbnail": "",
                        "availability": a.availability,
                        "metric": {"open": a.open, "unattended": a.unattended},
                    }))
                    .collect::<Vec<_>>()))
            }
            _ => Ok(json!({
                "open": o.total.open,
                "unattended": o.total.unattended,
                "unassigned": o.total.unassigned,
                "pending": o.total.pending,
            })),
        }
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /reports/overview`: the live overview (totals, inboxes, teams, agents).
#[utoipa::path(
    get,
    path = "/api/v2/accounts/{account_id}/reports/overview",
    tag = "reports",
    operation_id = "reports_overview",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The live overview", body = crate::web::openapi::schemas::ReportOverview),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn overview(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let body = run_with(&state, &req, path.into_inner(), false, |conn, q, _| {
        reports::live::overview(conn, q.account_id, q.visible_inboxes.as_deref())
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

fn by_path(raw: &str) -> AppResult<By> {
    By::parse(raw, "by").map_err(|_| AppError::NotFound("no such report".into()))
}

/// `GET /summary_reports/{agent,inbox,team,label}`.
#[utoipa::path(
    get,
    path = "/api/v2/accounts/{account_id}/summary_reports/{by}",
    tag = "reports",
    operation_id = "reports_summary_report",
    params(("account_id" = i64, Path, description = "The account's id"), ("by" = String, Path, description = "The breakdown: agents, inboxes, labels or teams (summary reports: agent, inbox, label, team)", example = "agents")),
    responses(
        (status = 200, description = "One row per agent, inbox, team or label", body = crate::web::openapi::schemas::ReportRows),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn summary_report(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, String)>,
) -> AppResult<HttpResponse> {
    let (account_id, by) = path.into_inner();
    let by = by_path(&by)?;
    let rows = run(&state, &req, account_id, move |conn, q, _| {
        reports::breakdown(conn, &q, by)
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

fn csv_response(name: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.csv\""),
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// `GET /reports/{agents,inboxes,labels,teams}`: the breakdown as CSV (Chatwoot's).
#[utoipa::path(
    get,
    path = "/api/v2/accounts/{account_id}/reports/{by}",
    tag = "reports",
    operation_id = "reports_breakdown_csv",
    params(("account_id" = i64, Path, description = "The account's id"), ("by" = String, Path, description = "The breakdown: agents, inboxes, labels or teams (summary reports: agent, inbox, label, team)", example = "agents")),
    responses(
        (status = 200, description = "The breakdown as CSV (an attachment)", body = String, content_type = "text/csv"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn breakdown_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, String)>,
) -> AppResult<HttpResponse> {
    let (account_id, by) = path.into_inner();
    let kind = match by.as_str() {
        "agents" | "inboxes" | "labels" | "teams" => by.clone(),
        _ => return Err(AppError::NotFound("no such report".into())),
    };
    let k = kind.clone();
    let body = run(&state, &req, account_id, move |conn, q, _| {
        reports::csv::report(conn, &q, &k, GroupBy::Day)
    })
    .await?
    .unwrap_or_default();
    Ok(csv_response(&format!("{kind}_report"), body))
}

/// `GET /reports/export/{kind}`: any report as CSV.
#[utoipa::path(
    get,
    path = "/api/v2/accounts/{account_id}/reports/export/{kind}",
    tag = "reports",
    operation_id = "reports_export",
    params(("account_id" = i64, Path, description = "The account's id"), ("kind" = String, Path, description = "What to export: conversations, agents, inboxes, teams, labels, times, csat or whatsapp", example = "conversations")),
    responses(
        (status = 200, description = "The report as CSV (an attachment)", body = String, content_type = "text/csv"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn export(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, String)>,
) -> AppResult<HttpResponse> {
    let (account_id, kind) = path.into_inner();
    if !reports::csv::KINDS.contains(&kind.as_str()) {
        return Err(AppError::NotFound(format!(
            "no such report; one of {}",
            reports::csv::KINDS.join(", ")
        )));
    }
    let k = kind.clone();
    let body = run(&state, &req, account_id, move |conn, q, p| {
        let g = group_by(p)?;
        reports::csv::report(conn, &q, &k, g)
    })
    .await?
    .unwrap_or_default();
    Ok(csv_response(&format!("{kind}_report"), body))
}

/// `GET /reports/first_response_time_distribution`: Chatwoot's buckets, per channel type
/// (every inbox is `Channel::Whatsapp`).
#[utoipa::path(
    get,
    path = "/api/v2/accounts/{account_id}/reports/first_response_time_distribution",
    tag = "reports",
    operation_id = "reports_distribution",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "First response times in Chatwoot's buckets", body = crate::web::openapi::schemas::ResponseTimeDistribution),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn distribution(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let body = run(&state, &req, path.into_inner(), |conn, q, _| {
        let t = reports::times(conn, &q)?;
        let d = &t[0].distribution;
        let mut m = serde_json::Map::new();
        for (i, label) in reports::DISTRIBUTION.iter().enumerate() {
            m.insert(label.to_string(), json!(d[i]));
        }
        Ok(json!({ "Channel::Whatsapp": m }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /reports/outgoing_messages_count?group_by=agent|team|inbox|label`.
#[utoipa::path(
    get,
    path = "/api/v2/accounts/{account_id}/reports/outgoing_messages_count",
    tag = "reports",
    operation_id = "reports_outgoing_messages",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "Outgoing messages per agent, team, inbox or label", body = crate::web::openapi::schemas::ReportOutgoingCounts),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn outgoing_messages(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let body = run(&state, &req, path.into_inner(), |conn, q, p| {
        let by = By::parse(
            p.get("group_by").map(|s| s.as_str()).unwrap_or("agent"),
            "group_by",
        )?;
        Ok(reports::breakdown(conn, &q, by)?
            .into_iter()
            .map(|r| json!({"id": r.id, "name": r.name, "outgoing_messages_count": r.outgoing_messages_count}))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /reports/times`: count, average, median, p90 and distribution of each duration.
#[utoipa::path(
    get,
    path = "/api/v2/accounts/{account_id}/reports/times",
    tag = "reports",
    operation_id = "reports_times",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The figures of each duration", body = crate::web::openapi::schemas::ReportTimes),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn times(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let body = run(&state, &req, path.into_inner(), |conn, q, _| {
        reports::times(conn, &q)
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /reports/csat`.
#[utoipa::path(
    get,
    path = "/api/v2/accounts/{account_id}/reports/csat",
    tag = "reports",
    operation_id = "reports_csat",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The CSAT figures", body = crate::web::openapi::schemas::ReportCsat),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn csat(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let body = run(&state, &req, path.into_inner(), |conn, q, _| {
        reports::csat(conn, &q)
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /reports/sla`: the account's SLA figures and each policy's (`reports::sla`).
#[utoipa::path(
    get,
    path = "/api/v2/accounts/{account_id}/reports/sla",
    tag = "reports",
    operation_id = "reports_sla",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The SLA figures", body = crate::web::openapi::schemas::ReportSla),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn sla(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let body = run(&state, &req, path.into_inner(), |conn, q, _| {
        Ok(reports::sla::sla(conn, &q)?.json())
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /reports/whatsapp`: `{templates: [{key, category, count}], failures: [...],
/// windows_closed_unanswered: [{timestamp, value, count}] per `group_by` bucket (default
/// day), total_windows_closed_unanswered}`.
#[utoipa::path(
    get,
    path = "/api/v2/accounts/{account_id}/reports/whatsapp",
    tag = "reports",
    operation_id = "reports_whatsapp",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The WhatsApp figures", body = crate::web::openapi::schemas::ReportWhatsapp),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn whatsapp(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let body = run(&state, &req, path.into_inner(), |conn, q, p| {
        let windows = reports::series(conn, &q, "windows_closed_unanswered", group_by(p)?)?;
        Ok(json!({
            "templates": reports::templates(conn, &q)?,
            "failures": reports::failures(conn, &q)?,
            "total_windows_closed_unanswered": windows.iter().map(|w| w.count).sum::<i64>(),
            "windows_closed_unanswered": windows,
        }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /reports/conversations.csv`: per-conversation rows of conversations created in the
/// range, streamed page by page.
#[utoipa::path(
    get,
    path = "/api/v2/accounts/{account_id}/reports/conversations.csv",
    tag = "reports",
    operation_id = "reports_conversation_rows",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "One row per conversation, as CSV", body = String, content_type = "text/csv"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn conversation_rows(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (q, first, last) = run(&state, &req, path.into_inner(), |conn, q, _| {
        let mut out = reports::csv::conversations_header();
        let last =
            reports::csv::conversations_page(conn, &q, None, reports::csv::PAGE_ROWS, &mut out)?;
        Ok((q, out, last))
    })
    .await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    let producer = state.get_ref().clone();
    tokio::spawn(async move {
        if tx.send(Ok(Bytes::from(first))).await.is_err() {
            return;
        }
        let q = std::sync::Arc::new(q);
        let mut after = last;
        while let Some(a) = after {
            let q = q.clone();
            let page = producer
                .db(move |conn| {
                    let mut out = Vec::with_capacity(1 << 18);
                    let last = reports::csv::conversations_page(
                        conn,
                        &q,
                        Some(a),
                        reports::csv::PAGE_ROWS,
                        &mut out,
                    )?;
                    Ok((out, last))
                })
                .await;
            match page {
                Ok((out, last)) => {
                    after = last;
                    if !out.is_empty() && tx.send(Ok(Bytes::from(out))).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "conversation report export stopped");
                    let _ = tx
                        .send(Err(std::io::Error::other("export interrupted")))
                        .await;
                    return;
                }
            }
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"conversations_report.csv\"",
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}
