//! Meta's management webhooks (issue 12): template status, quality, category and components;
//! number quality and name; account update, alerts, review, capabilities and security.
//!
//! They carry no `metadata.phone_number_id` and are routed by WABA (`entry[].id`,
//! graph-api-notes.md §0.2): [`apply`] gets the inboxes of that WABA and writes what the
//! change says to their templates (`message_templates`, `whatsapp_template_signals`) and
//! number health (`crate::domain::number_health`). Shapes: graph-api-notes.md §7.8 and §9.3,
//! fixtures `shared/fixtures/meta/management/` and `shared/fixtures/dualhook/management/`.
//! Applying a change twice leaves the same rows (alerts and events lists aside).

use crate::db::schema::{message_templates as t, whatsapp_template_signals as s};
use crate::domain::inboxes::InboxWithChannel;
use crate::domain::number_health::{self, Update};
use crate::domain::{inboxes, templates};
use crate::error::AppResult;
use chrono::{DateTime, TimeZone, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

/// The management fields Switchboard acts on, wherever they arrive.
pub const FIELDS: &[&str] = &[
    "message_template_status_update",
    "message_template_quality_update",
    "template_category_update",
    "message_template_components_update",
    "phone_number_quality_update",
    "phone_number_name_update",
    "account_update",
    "account_alerts",
    "account_review_update",
    "business_capability_update",
    "security",
];

/// True for a field routed by WABA (see [`FIELDS`]).
pub fn is_management(field: &str) -> bool {
    FIELDS.contains(&field)
}

fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Applies one management change (`field`, `value`, sent at `at` = `entry[].time`, unix
/// seconds) to `targets`, the inboxes of its WABA. Returns how many inboxes it changed.
pub fn apply(
    conn: &mut PgConnection,
    targets: &[&InboxWithChannel],
    field: &str,
    value: &Value,
    at: i64,
) -> AppResult<usize> {
    let mut changed = 0;
    for (inbox, channel) in targets {
        let applied = match field {
            "message_template_status_update"
            | "message_template_quality_update"
            | "template_category_update" => template_change(conn, inbox.id, field, value)?,
            "message_template_components_update" => {
                // The components changed: the next sync (now) fetches them.
                inboxes::schedule_template_sync(conn, inbox.id, Utc::now())?;
                true
            }
            "phone_number_quality_update" | "phone_number_name_update" | "security" => {
                let digits: String = text(value, "display_phone_number")
                    .unwrap_or_default()
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect();
                if !digits.is_empty() && digits != channel.display_digits() {
                    false
                } else {
                    number_health::apply(conn, inbox.id, &number_update(field, value, at))?;
                    true
                }
            }
            _ => {
                number_health::apply(conn, inbox.id, &number_update(field, value, at))?;
                true
            }
        };
        if applied {
            changed += 1;
        }
    }
    Ok(changed)
}

/// What a number- or account-level change writes to the health (graph-api-notes.md §9.3).
fn number_update(field: &str, value: &Value, at: i64) -> Update {
    let event = text(value, "event");
    let mut stamped = value.clone();
    if let Some(map) = stamped.as_object_mut() {
        map.insert("at".into(), json!(at));
    }
    let mut update = Update::default();
    let summary = match field {
        "phone_number_quality_update" => {
            update.messaging_limit = text(value, "max_daily_conversations_per_business")
                .or_else(|| text(value, "current_limit"));
            update.status = match event.as_deref() {
                Some("FLAGGED") => Some("FLAGGED".into()),
                Some("UNFLAGGED") => Some("CONNECTED".into()),
                _ => None,
            };
            format!(
                "Quality event {}; messaging limit {}",
                event.as_deref().unwrap_or("?"),
                update.messaging_limit.as_deref().unwrap_or("unchanged")
            )
        }
        "phone_number_name_update" => {
            let decision = text(value, "decision");
            if decision.as_deref() == Some("APPROVED") {
                update.verified_name = text(value, "requested_verified_name");
            }
            update.name_status = decision.clone();
            format!(
                "Display name {} {}{}",
                text(value, "requested_verified_name").unwrap_or_default(),
                decision.as_deref().unwrap_or("updated"),
                text(value, "rejection_reason")
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            )
        }
        "account_alerts" => {
            update.alert = Some(stamped.clone());
            let info = value.get("alert_info").cloned().unwrap_or_default();
            format!(
                "Alert {} ({})",
                text(&info, "alert_type").unwrap_or_default(),
                text(&info, "alert_severity").unwrap_or_default()
            )
        }
        "account_review_update" => {
            update.review = Some(stamped.clone());
            format!(
                "Account review: {}",
                text(value, "decision").unwrap_or_default()
            )
        }
        "business_capability_update" => {
            update.messaging_limit = text(value, "max_daily_conversations_per_business");
            format!(
                "Capabilities: messaging limit {}, numbers per WABA {}",
                update.messaging_limit.as_deref().unwrap_or("unchanged"),
                text(value, "max_phone_numbers_per_waba")
                    .or_else(|| text(value, "max_phone_numbers_per_business"))
                    .unwrap_or_else(|| "unchanged".into())
            )
        }
        "account_update" => {
            update.status = match event.as_deref() {
                Some("ACCOUNT_RESTRICTION") => Some("RESTRICTED".into()),
                Some("DISABLED_UPDATE") => {
                    let state = value
                        .get("ban_info")
                        .and_then(|b| text(b, "waba_ban_state"))
                        .unwrap_or_default();
                    Some(if state.contains("REINSTATE") {
                        "CONNECTED".into()
                    } else {
                        "BANNED".into()
                    })
                }
                Some("PARTNER_REMOVED" | "ACCOUNT_OFFBOARDED") => Some("DISCONNECTED".into()),
                Some("ACCOUNT_RECONNECTED") => Some("CONNECTED".into()),
                _ => None,
            };
            let why = value
                .get("disconnection_info")
                .or_else(|| value.get("violation_info"))
                .and_then(|d| text(d, "reason").or_else(|| text(d, "violation_type")))
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            format!(
                "Account update: {}{why}",
                event.as_deref().unwrap_or("event")
            )
        }
        "security" => format!("Security: {}", event.as_deref().unwrap_or("event")),
        other => other.to_string(),
    };
    if !matches!(field, "account_alerts" | "account_review_update") {
        update.event = Some(json!({"field": field, "summary": summary, "at": at}));
    }
    update
}

/// The stored template a template webhook names: by `message_template_id` (number or string),
/// else by `message_template_name` and `message_template_language` (`en-US` read as `en_US`,
/// graph-api-notes.md §0.5).
fn find_template(conn: &mut PgConnection, inbox_id: i64, value: &Value) -> AppResult<Option<i64>> {
    if let Some(ext) = text(value, "message_template_id") {
        let found = t::table
            .filter(t::inbox_id.eq(inbox_id))
            .filter(t::external_id.eq(&ext))
            .select(t::id)
            .first(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    let (Some(name), Some(language)) = (
        text(value, "message_template_name"),
        text(value, "message_template_language"),
    ) else {
        return Ok(None);
    };
    Ok(t::table
        .filter(t::inbox_id.eq(inbox_id))
        .filter(t::name.eq(name))
        .filter(t::language.eq_any([language.replace('-', "_"), language]))
        .select(t::id)
        .first(conn)
        .optional()?)
}

/// Applies a template status, quality or category change to one inbox's copy. A template not
/// synced yet is left to the next sync (false).
fn template_change(
    conn: &mut PgConnection,
    inbox_id: i64,
    field: &str,
    value: &Value,
) -> AppResult<bool> {
    if field == "message_template_status_update" {
        templates::apply_status_update(conn, inbox_id, value)?;
    }
    let Some(id) = find_template(conn, inbox_id, value)? else {
        tracing::info!(
            inbox_id,
            field,
            "management event for a template not synced yet"
        );
        return Ok(false);
    };
    diesel::insert_into(s::table)
        .values(s::template_id.eq(id))
        .on_conflict_do_nothing()
        .execute(conn)?;
    let row = s::table.find(id);
    match field {
        "message_template_status_update" => {
            let event = text(value, "event").unwrap_or_default();
            let reason = text(value, "reason").filter(|r| r != "NONE");
            let info = value.get("rejection_info");
            let detail = info.map(|i| {
                [text(i, "reason"), text(i, "recommendation")]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            let detail =
                detail.or_else(|| value.get("other_info").and_then(|o| text(o, "description")));
            let (reason, detail) = if event == "REJECTED" || event == "PAUSED" {
                (reason, detail)
            } else {
                (None, None)
            };
            diesel::update(row)
                .set((
                    s::rejected_reason.eq(reason),
                    s::rejection_detail.eq(detail),
                    s::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)?;
            if let Some(category) = text(value, "message_template_category") {
                diesel::update(t::table.find(id))
                    .set(t::category.eq(category))
                    .execute(conn)?;
            }
        }
        "message_template_quality_update" => {
            diesel::update(row)
                .set((
                    s::quality_score.eq(text(value, "new_quality_score")),
                    s::previous_quality_score.eq(text(value, "previous_quality_score")),
                    s::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)?;
        }
        _ => {
            // template_category_update: impending when `correct_category` is present (it is
            // what the template will become; `new_category` is the current one), completed
            // otherwise (graph-api-notes.md §7.8).
            if let Some(correct) = text(value, "correct_category") {
                let when = value
                    .get("category_update_timestamp")
                    .and_then(Value::as_i64)
                    .and_then(|t| Utc.timestamp_opt(t, 0).single());
                diesel::update(row)
                    .set((
                        s::pending_category.eq(Some(correct)),
                        s::category_change_at.eq(when),
                        s::updated_at.eq(diesel::dsl::now),
                    ))
                    .execute(conn)?;
            } else {
                let previous =
                    text(value, "previous_category").or_else(|| text(value, "old_category"));
                diesel::update(row)
                    .set((
                        s::pending_category.eq(None::<String>),
                        s::category_change_at.eq(None::<DateTime<Utc>>),
                        s::previous_category.eq(previous),
                        s::updated_at.eq(diesel::dsl::now),
                    ))
                    .execute(conn)?;
                if let Some(category) = text(value, "new_category") {
                    diesel::update(t::table.find(id))
                        .set((t::category.eq(category), t::updated_at.eq(diesel::dsl::now)))
                        .execute(conn)?;
                }
            }
        }
    }
    Ok(true)
}

/// A `whatsapp_template_signals` row: what management webhooks said about one template.
#[derive(Debug, Clone, Default, Queryable, Selectable, Serialize)]
#[diesel(table_name = s)]
pub struct Signals {
    pub template_id: i64,
    /// Meta's `reason` of a rejection or pause (`INVALID_FORMAT`, …).
    pub rejected_reason: Option<String>,
    /// `rejection_info.reason` + `recommendation`, or a pause's description.
    pub rejection_detail: Option<String>,
    /// `GREEN`, `YELLOW`, `RED` or `UNKNOWN`.
    pub quality_score: Option<String>,
    pub previous_quality_score: Option<String>,
    /// The category Meta will move the template to (impending recategorisation).
    pub pending_category: Option<String>,
    /// When that happens.
    pub category_change_at: Option<DateTime<Utc>>,
    /// The category before the last completed recategorisation.
    pub previous_category: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The signals of an inbox's templates, keyed by template id.
pub fn signals_for_inbox(
    conn: &mut PgConnection,
    inbox_id: i64,
) -> AppResult<std::collections::HashMap<i64, Signals>> {
    let rows: Vec<Signals> = s::table
        .inner_join(t::table)
        .filter(t::inbox_id.eq(inbox_id))
        .select(Signals::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.template_id, r)).collect())
}
