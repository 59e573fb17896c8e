//! Issue 13 (SLA policies): Settings → SLA, and the SLA chip of the conversation list and
//! thread header.
//!
//! The page lists the account's policies (every member sees them; administrators add, edit
//! and delete them in a dialog). `static/sla.js` saves through the Chatwoot API
//! (`/sla_policies`) with the session cookie, and counts the chips down every second.

use super::scope::AccountMember;
use super::{html, Layout};
use crate::app::AppState;
use crate::domain::sla::{self, Chip};
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};

/// A policy as the settings list shows it.
pub struct PolicyRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// "First response 30m · Resolution 1d" etc.
    pub summary: String,
    pub business_hours: bool,
    /// The policy's API JSON, for the editor.
    pub json: String,
}

#[derive(Template)]
#[template(path = "settings/sla.html")]
struct SlaPage {
    layout: Layout,
    policies: Vec<PolicyRow>,
}

/// `1d 2h`, `30m`, `45s`: a threshold as the list shows it.
pub fn threshold_text(seconds: i64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "m"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect();
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

fn summary(p: &sla::Policy) -> String {
    [
        ("First response", p.first_response_time_threshold),
        ("Next response", p.next_response_time_threshold),
        ("Resolution", p.resolution_time_threshold),
    ]
    .iter()
    .filter_map(|(l, v)| v.map(|v| format!("{l} {}", threshold_text(v))))
    .collect::<Vec<_>>()
    .join(" · ")
}

/// `GET /app/accounts/{id}/settings/sla`.
pub async fn index(state: web::Data<AppState>, member: AccountMember) -> HttpResponse {
    let layout = member.layout;
    let account_id = member.viewer.account_id;
    let loaded = state.db(move |conn| sla::list(conn, account_id)).await;
    let list = match loaded {
        Ok(v) => v,
        Err(e) => return actix_web::ResponseError::error_response(&e),
    };
    let page = SlaPage {
        policies: list
            .iter()
            .map(|p| PolicyRow {
                id: p.id,
                name: p.name.clone(),
                description: p.description.clone(),
                summary: summary(p),
                business_hours: p.only_during_business_hours,
                json: sla::policy_json(p).to_string(),
            })
            .collect(),
        layout,
    };
    html(&page).unwrap_or_else(|e| actix_web::ResponseError::error_response(&e))
}

/// The SLA chip of a list row or the thread header (`partials/sla_chip.html`).
#[derive(Debug, Clone, PartialEq)]
pub struct SlaChipView {
    /// `FRT 14m`, `Breached`.
    pub text: String,
    /// `FRT`, `NRT`, `RT` (empty when breached without a pending deadline).
    pub kind: String,
    /// The deadline in unix milliseconds (0: none), for the client-side countdown.
    pub due_ms: i64,
    pub breached: bool,
    /// The tooltip and accessible name: "First response due by 14:05 UTC".
    pub title: String,
}

impl SlaChipView {
    /// The chip of `chip` at `now`; `None` when nothing is pending (met or resolved).
    pub fn of(chip: &Chip, now: DateTime<Utc>) -> Option<Self> {
        let text = chip.text(now)?;
        let breached = text == "Breached";
        let (kind, due_ms, title) = match chip.due {
            Some((k, due)) => (
                k.label().to_string(),
                due.timestamp_millis(),
                format!(
                    "SLA: {} due {}",
                    match k {
                        sla::Kind::Frt => "first response",
                        sla::Kind::Nrt => "next response",
                        sla::Kind::Rt => "resolution",
                    },
                    due.format("%b %-d, %H:%M UTC")
                ),
            ),
            None => (String::new(), 0, String::new()),
        };
        Some(Self {
            title: if breached && (chip.breached || due_ms == 0) {
                "SLA breached: a target was missed".into()
            } else {
                title
            },
            text,
            kind,
            due_ms,
            breached,
        })
    }
}
