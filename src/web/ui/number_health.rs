//! The inbox settings page's number health panel and template signals (issue 12), rendered by
//! `templates/partials/number_health.html`, and the administrators' banner in the workspace.

use crate::domain::number_health::{self, Health};
use crate::domain::templates;
use crate::error::AppResult;
use crate::whatsapp::management;
use chrono::{DateTime, TimeZone, Utc};
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::Value;

/// `?tpl_status=&tpl_category=&tpl_quality=`: the template list's filters (empty = any).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TemplateFilter {
    #[serde(default)]
    pub tpl_status: String,
    #[serde(default)]
    pub tpl_category: String,
    #[serde(default)]
    pub tpl_quality: String,
}

/// One line of a list (alerts, reviews, events, refused routes): when and what.
#[derive(Debug, Clone)]
pub struct Line {
    pub at: String,
    pub text: String,
}

/// One template with what management webhooks said about it.
#[derive(Debug, Clone)]
pub struct TemplateSignalRow {
    pub name: String,
    pub language: String,
    pub status: String,
    pub category: String,
    /// `UNKNOWN` when Meta has not rated it.
    pub quality: String,
    /// Rejection or pause reason with Meta's detail, or "".
    pub reason: String,
    /// "Becomes MARKETING on 2026-05-09 08:00 UTC", or "".
    pub recategorisation: String,
}

/// Everything the panel shows.
#[derive(Debug, Clone, Default)]
pub struct Panel {
    pub status: String,
    pub quality_rating: String,
    pub messaging_limit: String,
    pub throughput: String,
    pub name_status: String,
    pub verified_name: String,
    pub can_send_message: String,
    pub reasons: Vec<String>,
    /// The drop or restriction the banner names, or "".
    pub problem: String,
    pub alerts: Vec<Line>,
    pub reviews: Vec<Line>,
    pub events: Vec<Line>,
    pub refused: Vec<Line>,
    pub refreshed_at: String,
    pub refresh_error: String,
    pub templates: Vec<TemplateSignalRow>,
    pub filter: TemplateFilter,
    /// The values each filter offers.
    pub statuses: Vec<String>,
    pub categories: Vec<String>,
    pub qualities: Vec<String>,
}

fn stamp(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn unix(v: &Value) -> String {
    stamp(v.as_i64().and_then(|s| Utc.timestamp_opt(s, 0).single()))
}

fn lines(list: &Value, text: impl Fn(&Value) -> String) -> Vec<Line> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|v| Line {
            at: unix(&v["at"]),
            text: text(v),
        })
        .collect()
}

/// What a CSS class and a person read for a quality value: `GREEN` → "good".
pub fn quality_word(q: &str) -> &'static str {
    match q {
        "GREEN" => "High",
        "YELLOW" => "Medium",
        "RED" => "Low",
        _ => "Not rated",
    }
}

/// Builds the panel of `inbox_id`, its template list filtered by `filter`.
pub fn panel(conn: &mut PgConnection, inbox_id: i64, filter: &TemplateFilter) -> AppResult<Panel> {
    let h: Health = number_health::get(conn, inbox_id)?;
    let list = templates::list(conn, inbox_id)?;
    let signals = management::signals_for_inbox(conn, inbox_id)?;
    let mut rows: Vec<TemplateSignalRow> = list
        .iter()
        .map(|t| {
            let s = signals.get(&t.id).cloned().unwrap_or_default();
            let reason = match (&s.rejected_reason, &s.rejection_detail) {
                (Some(r), Some(d)) => format!("{r}: {d}"),
                (Some(r), None) => r.clone(),
                (None, Some(d)) => d.clone(),
                (None, None) => String::new(),
            };
            let recategorisation = match &s.pending_category {
                Some(c) => format!(
                    "Becomes {c}{}",
                    s.category_change_at
                        .map(|t| format!(" on {}", t.format("%Y-%m-%d %H:%M UTC")))
                        .unwrap_or_default()
                ),
                None => s
                    .previous_category
                    .as_ref()
                    .map(|p| format!("Was {p}"))
                    .unwrap_or_default(),
            };
            TemplateSignalRow {
                name: t.name.clone(),
                language: t.language.clone(),
                status: t.status.clone(),
                category: t.category.clone().unwrap_or_default(),
                quality: s.quality_score.clone().unwrap_or_else(|| "UNKNOWN".into()),
                reason,
                recategorisation,
            }
        })
        .collect();
    let distinct = |f: fn(&TemplateSignalRow) -> &String, rows: &[TemplateSignalRow]| {
        let mut v: Vec<String> = rows
            .iter()
            .map(|r| f(r).clone())
            .filter(|s| !s.is_empty())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let statuses = distinct(|r| &r.status, &rows);
    let categories = distinct(|r| &r.category, &rows);
    let qualities = distinct(|r| &r.quality, &rows);
    rows.retain(|r| {
        (filter.tpl_status.is_empty() || r.status == filter.tpl_status)
            && (filter.tpl_category.is_empty() || r.category == filter.tpl_category)
            && (filter.tpl_quality.is_empty() || r.quality == filter.tpl_quality)
    });
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    Ok(Panel {
        status: h.status.clone().unwrap_or_default(),
        quality_rating: h.quality_rating.clone().unwrap_or_default(),
        messaging_limit: h.messaging_limit.clone().unwrap_or_default(),
        throughput: h.throughput.clone().unwrap_or_default(),
        name_status: h.name_status.clone().unwrap_or_default(),
        verified_name: h.verified_name.clone().unwrap_or_default(),
        can_send_message: h.can_send_message.clone().unwrap_or_default(),
        reasons: number_health::reasons(&h),
        problem: number_health::problem(&h).unwrap_or_default(),
        alerts: lines(&h.alerts, |v| {
            let i = &v["alert_info"];
            format!(
                "{} · {}: {}",
                text(i, "alert_severity"),
                text(i, "alert_type"),
                text(i, "alert_description")
            )
        }),
        reviews: lines(&h.reviews, |v| format!("Decision: {}", text(v, "decision"))),
        events: lines(&h.events, |v| text(v, "summary")),
        refused: h
            .refused_routes
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| Line {
                at: unix(&v["last_at"]),
                text: match v["phone_number_id"].as_str() {
                    Some(id) => format!(
                        "Messages for {id} (WABA {}) arrive here: create an inbox for it. Refused {} time(s).",
                        v["waba_id"].as_str().unwrap_or("unknown"),
                        v["count"]
                    ),
                    None => format!(
                        "Account events for WABA {} arrive here, but no inbox of this account has it. Refused {} time(s).",
                        v["waba_id"].as_str().unwrap_or("unknown"),
                        v["count"]
                    ),
                },
            })
            .collect(),
        refreshed_at: stamp(h.refreshed_at),
        refresh_error: h.refresh_error.clone().unwrap_or_default(),
        templates: rows,
        filter: filter.clone(),
        statuses,
        categories,
        qualities,
    })
}
