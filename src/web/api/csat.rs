//! `GET /api/v1/accounts/{account_id}/csat_survey_responses` (Chatwoot's): the account's
//! answered CSAT surveys, newest first (see `domain::csat`).
//!
//! Query: `since`, `until` (unix seconds, Chatwoot's; or `YYYY-MM-DD`), `inbox_id`,
//! `user_ids[]` / `user_ids` (assigned agents, comma-separated allowed), `page` (1-based,
//! 25 a page). Answers a JSON array of response objects (`domain::csat::to_json`) with the
//! total in the `X-Total-Count` header. Agents see their inboxes' responses only.
//! Errors: 422 naming the parameter.

use crate::app::AppState;
use crate::domain::csat::{self, ListFilter};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

/// Rows a page.
pub const PER_PAGE: i64 = 25;

fn time_param(name: &str, v: &str, end_of_day: bool) -> AppResult<DateTime<Utc>> {
    let v = v.trim();
    if let Ok(n) = v.parse::<i64>() {
        return Utc
            .timestamp_opt(n, 0)
            .single()
            .filter(|_| (0..=253_402_300_799).contains(&n))
            .ok_or_else(|| AppError::invalid(name, format!("{name} is out of range")));
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let t = if end_of_day {
            d.and_hms_opt(23, 59, 59)
        } else {
            d.and_hms_opt(0, 0, 0)
        };
        if let Some(t) = t {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    Err(AppError::invalid(
        name,
        format!("{name} is a unix time in seconds or a date YYYY-MM-DD"),
    ))
}

fn id_param(name: &str, v: &str) -> AppResult<i64> {
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::invalid(name, format!("{name} must be a positive id")))
}

/// Reads the query string into a filter. Errors: 422 naming the parameter.
pub fn parse_query(query: &str) -> AppResult<ListFilter> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map(web::Query::into_inner)
        .map_err(|_| AppError::invalid("query", "the query string can't be read"))?;
    let mut f = ListFilter {
        page: 1,
        per_page: PER_PAGE,
        ..Default::default()
    };
    for (k, v) in pairs {
        match k.as_str() {
            "since" => f.since = Some(time_param("since", &v, false)?),
            "until" => f.until = Some(time_param("until", &v, true)?),
            "inbox_id" => f.inbox_id = Some(id_param("inbox_id", &v)?),
            "user_ids" | "user_ids[]" => {
                for part in v.split(',').filter(|p| !p.trim().is_empty()) {
                    f.agent_ids.push(id_param("user_ids", part)?);
                }
            }
            "page" => {
                f.page = v
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|p| (1..=100_000).contains(p))
                    .ok_or_else(|| AppError::invalid("page", "page is a number from 1"))?
            }
            _ => {}
        }
    }
    Ok(f)
}

/// `GET /csat_survey_responses`.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/csat_survey_responses",
    tag = "csat",
    operation_id = "csat_index",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The answered surveys (total in `X-Total-Count`)", body = crate::web::openapi::schemas::CsatResponseList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let filter = parse_query(req.query_string())?;
    let (rows, total) = state
        .db(move |conn| {
            let only = viewer.visible_inbox_ids(conn)?;
            let (rows, total) = csat::list(conn, viewer.account_id, only.as_deref(), &filter)?;
            Ok((csat::to_json(conn, &rows)?, total))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", total.to_string()))
        .json(rows))
}
