//! The Contacts list's query string and the ONE filter builder of the Contacts screen and
//! its CSV export (`GET /contacts/export` takes the same parameters), so an export holds
//! exactly what the list shows: search, label, created and last-activity days, sort, and the
//! custom attribute filter (a condition of Chatwoot's contact filter).

use super::contact_filter;
use super::contact_list::{ContactQuery, SortKey};
use super::custom_attributes;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

/// The custom attribute filter of the list as a contact filter condition, checked against
/// the account's contact attribute `definitions`. Errors: 422 naming `attr` (not a
/// definition), or the contact filter's own (`payload[0].filter_operator`, `.values`).
pub fn attr_filter(
    p: &ListParams,
    definitions: &[custom_attributes::Definition],
) -> AppResult<Option<contact_filter::Filter>> {
    let key = p.attr.trim();
    if key.is_empty() {
        return Ok(None);
    }
    if !definitions.iter().any(|d| d.attribute_key == key) {
        return Err(AppError::invalid(
            "attr",
            format!("{key:?} is not a contact attribute of this account"),
        ));
    }
    let op = match p.attr_op.trim() {
        "" => "equal_to",
        op => op,
    };
    let value = p.attr_value.trim();
    let values = if value.is_empty() {
        serde_json::json!([])
    } else {
        serde_json::json!([value])
    };
    contact_filter::Filter::parse(&serde_json::json!({"payload": [
        {"attribute_key": key, "filter_operator": op, "values": values}
    ]}))
    .map(Some)
}

/// The list's query string.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub dir: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub created_from: String,
    #[serde(default)]
    pub created_to: String,
    #[serde(default)]
    pub active_from: String,
    #[serde(default)]
    pub active_to: String,
    pub after: Option<String>,
    pub before: Option<String>,
    pub from: Option<String>,
    #[serde(default)]
    pub attr: String,
    #[serde(default)]
    pub attr_op: String,
    #[serde(default)]
    pub attr_value: String,
}

/// A `YYYY-MM-DD` day as its UTC start, plus `days`. Errors: 422 naming `field`.
fn day(field: &str, value: &str, days: i64) -> AppResult<Option<DateTime<Utc>>> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let d = NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| AppError::invalid(field, format!("{field} must be a date like 2026-12-31")))?;
    let start = d
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc() + chrono::Duration::days(days));
    Ok(start)
}

/// The list's query for the parameters: search, label, dates, sort, and the custom attribute
/// filter checked against the account's contact attribute `definitions`. The ONE filter
/// builder of the Contacts screen and its export (`GET /contacts/export` takes the same
/// parameters), so the export holds exactly what the list shows. Errors: 422 naming the field.
pub fn list_query(
    p: &ListParams,
    definitions: &[custom_attributes::Definition],
) -> AppResult<ContactQuery> {
    let mut query = query_of(p)?;
    query.filter = attr_filter(p, definitions)?;
    Ok(query)
}

/// The query the parameters ask for. Errors: 422 naming the field.
pub fn query_of(p: &ListParams) -> AppResult<ContactQuery> {
    let sort = match p.sort.trim() {
        "" => SortKey::Created,
        s => SortKey::parse(s)?,
    };
    let descending = match p.dir.trim() {
        "" => sort.default_descending(),
        "desc" => true,
        "asc" => false,
        _ => return Err(AppError::invalid("dir", "dir must be asc or desc")),
    };
    Ok(ContactQuery {
        q: Some(p.q.clone()).filter(|q| !q.trim().is_empty()),
        labels: Some(p.label.trim().to_string())
            .filter(|l| !l.is_empty())
            .into_iter()
            .collect(),
        created_from: day("created_from", &p.created_from, 0)?,
        created_to: day("created_to", &p.created_to, 1)?,
        active_from: day("active_from", &p.active_from, 0)?,
        active_to: day("active_to", &p.active_to, 1)?,
        sort,
        descending,
        filter: None,
    })
}
