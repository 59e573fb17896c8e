//! Inbox alerts at the top of the conversations workspace (issue 12): what an administrator
//! must act on for a WhatsApp number, and what an agent must know before replying.
//!
//! - **Administrators** see one compact banner per affected inbox, listing each of: the
//!   Dualhook connection was disconnected (sends refused), the access token must be renewed
//!   (`reauthorization_required`, sends refused), the coexistence heartbeat is due soon or
//!   overdue (`../shared/reference/dualhook.md` §c: open the WhatsApp Business app before the
//!   date, or Meta may stop delivering), and the number's health dropped
//!   ([`super::number_health::problem`]); the banner links to the inbox settings.
//! - **Agents** see a plain notice for each inbox they are a member of whose sends are
//!   refused (disconnected or reauthorization required); nothing else.
//!
//! Cost per request: agents one statement (the Dualhook states of the account's inboxes);
//! administrators two (that and the number-health problems). The inboxes and the agent's
//! memberships come from [`super::request_memo`], which the workspace already read.

use super::accounts::{Role, Viewer};
use crate::db::schema::dualhook_inboxes;
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// One inbox's alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxAlert {
    /// The inbox (`/app/accounts/{account}/settings/inboxes/{inbox_id}` for administrators).
    pub inbox_id: i64,
    /// The inbox's name.
    pub inbox_name: String,
    /// True when sends from the inbox are refused (disconnected or reauthorization required).
    pub sends_refused: bool,
    /// True when one of `problems` is the number-health drop (`data-number-health-banner`).
    pub health: bool,
    /// What needs attention, one sentence each, without a final full stop.
    pub problems: Vec<String>,
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The alerts `viewer` sees in the workspace, ordered by inbox id; empty when nothing needs
/// attention. Errors: database errors only.
pub fn for_viewer(conn: &mut PgConnection, viewer: &Viewer) -> AppResult<Vec<InboxAlert>> {
    let admin = viewer.role == Role::Administrator;
    let visible = viewer.visible_inbox_ids(conn)?;
    let inboxes = super::inboxes::list(conn, viewer.account_id, visible.as_deref())?;
    if inboxes.is_empty() {
        return Ok(Vec::new());
    }
    // (inbox id, disconnected at, reason, heartbeat status, next due)
    type DualhookRow = (
        i64,
        Option<DateTime<Utc>>,
        Option<String>,
        Option<String>,
        Option<DateTime<Utc>>,
    );
    let dualhook: Vec<DualhookRow> = dualhook_inboxes::table
        .filter(dualhook_inboxes::account_id.eq(viewer.account_id))
        .filter(
            dualhook_inboxes::disconnected_at
                .is_not_null()
                .or(dualhook_inboxes::heartbeat_status.eq_any(["DUE_SOON", "OVERDUE"])),
        )
        .select((
            dualhook_inboxes::inbox_id,
            dualhook_inboxes::disconnected_at,
            dualhook_inboxes::disconnected_reason,
            dualhook_inboxes::heartbeat_status,
            dualhook_inboxes::heartbeat_next_due_at,
        ))
        .load(conn)?;
    let health = if admin {
        super::number_health::problems_in_account(conn, viewer.account_id)?
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    for (inbox, _) in inboxes {
        let mut alert = InboxAlert {
            inbox_id: inbox.id,
            inbox_name: inbox.name.clone(),
            sends_refused: false,
            health: false,
            problems: Vec::new(),
        };
        let state = dualhook.iter().find(|d| d.0 == inbox.id);
        if let Some((_, Some(at), reason, ..)) = state {
            alert.sends_refused = true;
            alert.problems.push(if admin {
                format!(
                    "Disconnected in Dualhook on {} ({}): sends are refused until it is connected again",
                    when(*at),
                    reason
                        .as_deref()
                        .unwrap_or("no reason given")
                        .replace('_', " ")
                )
            } else {
                "Its WhatsApp number was disconnected, so replies cannot be sent; an administrator must connect it again".to_string()
            });
        }
        if inbox.reauthorization_required {
            alert.sends_refused = true;
            alert.problems.push(if admin {
                "Meta refused the access token: sends are refused until it is renewed in the inbox settings".to_string()
            } else {
                "Meta refused its access token, so replies cannot be sent; an administrator must renew it".to_string()
            });
        }
        if admin {
            if let Some((_, None, _, Some(status), due)) = state {
                let due = due.map(when).unwrap_or_else(|| "soon".into());
                match status.as_str() {
                    "OVERDUE" => alert.problems.push(format!(
                        "Heartbeat overdue since {due}: open the WhatsApp Business app on the phone now, or Meta may stop delivering messages"
                    )),
                    "DUE_SOON" => alert.problems.push(format!(
                        "Heartbeat due {due}: open the WhatsApp Business app on the phone before then, or Meta may stop delivering messages"
                    )),
                    _ => {}
                }
            }
            if let Some((_, _, p)) = health.iter().find(|h| h.0 == inbox.id) {
                alert.health = true;
                alert.problems.push(p.clone());
            }
        }
        if !alert.problems.is_empty() {
            out.push(alert);
        }
    }
    Ok(out)
}
