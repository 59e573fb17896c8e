//! Agent presence (issue 13, "Agent availability"): automatic offline when an agent has had
//! no open realtime stream for a while, and back to their own choice when they return.
//!
//! Rules and their sources:
//! - The availability an agent chooses (`online`/`busy`/`offline`, Chatwoot's
//!   `account_users.availability`) is set in `domain::profile`; this module only moves an
//!   agent to `offline` and back. Chatwoot's `auto_offline` (per account membership, default
//!   true) turns that off for one agent.
//! - Presence is kept in PostgreSQL, not in process memory, so it holds with several server
//!   processes (DESIGN.md "Scale past one machine"): every open SSE stream (any process)
//!   calls [`heartbeat`] when it opens, every [`heartbeat_interval`] while open and once when
//!   it closes. A heartbeat sets `presence_expires_at = now + offline_after`
//!   (`AUTO_OFFLINE_AFTER_SECONDS`, default 300 s).
//! - [`sweep_due`] (the scheduled loop in `jobs::assignment`) moves every member whose
//!   presence expired, whose availability is not `offline` and whose `auto_offline` is on, to
//!   `offline`, remembering their choice in `away_from`. Rows are claimed with
//!   `FOR UPDATE SKIP LOCKED`, so two processes never sweep the same member.
//! - A heartbeat of a member with `away_from` set restores that choice (an agent who chose
//!   busy comes back busy). An agent who chose offline themselves has no `away_from` and
//!   stays offline. Each move emits `presence.update` (`domain::profile::PRESENCE_UPDATE`),
//!   which also lets queued conversations find the agent (`domain::auto_assignment`).
//! - Members that never opened a stream (API-only agents) have no presence and are never
//!   swept: their availability is whatever they chose.

use super::events;
use super::profile::PRESENCE_UPDATE;
use crate::db::schema::account_users;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

/// Members swept per statement (the loop comes back for the rest at its next round).
pub const SWEEP_BATCH: i64 = 500;

/// How often an open stream refreshes its presence for an offline delay of `offline_after`:
/// a third of it, between 1 s and 60 s. So presence is written at most once a minute per
/// open stream, and a live stream never lets it expire.
pub fn heartbeat_interval(offline_after: Duration) -> Duration {
    (offline_after / 3).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// How often the sweep looks for expired presence: a sixth of `offline_after`, between 1 s
/// and 30 s (an agent is marked offline at most that long after the delay).
pub fn sweep_interval(offline_after: Duration) -> Duration {
    (offline_after / 6).clamp(Duration::from_secs(1), Duration::from_secs(30))
}

#[derive(QueryableByName)]
struct Restored {
    #[diesel(sql_type = Nullable<Text>)]
    restored: Option<String>,
}

/// Records that `user_id` has an open realtime stream in `account_id`: presence lasts until
/// now + `offline_after`. When the sweep had made them offline, their own choice
/// (`away_from`) comes back and `presence.update` is emitted, in one transaction. Returns the
/// restored availability, if any. A user who is not a member is ignored (`Ok(None)`).
pub fn heartbeat(
    conn: &mut PgConnection,
    account_id: i64,
    user_id: i64,
    offline_after: Duration,
) -> AppResult<Option<String>> {
    let secs = offline_after.as_secs().min(i64::MAX as u64) as i64;
    conn.transaction(|conn| {
        let row: Option<Restored> = diesel::sql_query(
            "WITH old AS (SELECT id, away_from FROM account_users \
               WHERE account_id = $1 AND user_id = $2 FOR UPDATE) \
             UPDATE account_users a SET last_seen_online_at = now(), \
               presence_expires_at = now() + make_interval(secs => $3), \
               availability = COALESCE(old.away_from, a.availability), away_from = NULL \
             FROM old WHERE a.id = old.id RETURNING old.away_from AS restored",
        )
        .bind::<BigInt, _>(account_id)
        .bind::<BigInt, _>(user_id)
        .bind::<BigInt, _>(secs)
        .get_result(conn)
        .optional()?;
        let restored = row.and_then(|r| r.restored);
        if let Some(a) = &restored {
            events::emit(
                conn,
                account_id,
                None,
                None,
                PRESENCE_UPDATE,
                json!({"user_id": user_id, "availability": a}),
            )?;
        }
        Ok(restored)
    })
}

#[derive(QueryableByName)]
struct Swept {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    account_id: i64,
    #[diesel(sql_type = BigInt)]
    user_id: i64,
}

/// Moves up to [`SWEEP_BATCH`] members whose presence expired before `now` (and who are not
/// offline, with `auto_offline` on) to `offline`, remembering their choice, and emits
/// `presence.update` for each, in one transaction. Claimed with `FOR UPDATE SKIP LOCKED`:
/// safe with any number of processes. Returns the `account_users` ids swept.
pub fn sweep_due(conn: &mut PgConnection) -> AppResult<Vec<i64>> {
    sweep_at(conn, Utc::now())
}

/// [`sweep_due`] as of `now` (tests move the clock).
pub fn sweep_at(conn: &mut PgConnection, now: DateTime<Utc>) -> AppResult<Vec<i64>> {
    conn.transaction(|conn| {
        let swept: Vec<Swept> = diesel::sql_query(
            "WITH due AS (SELECT id FROM account_users \
               WHERE presence_expires_at < $1 AND availability <> 'offline' AND auto_offline \
               ORDER BY presence_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE account_users a SET away_from = a.availability, availability = 'offline' \
             FROM due WHERE a.id = due.id RETURNING a.id, a.account_id, a.user_id",
        )
        .bind::<diesel::sql_types::Timestamptz, _>(now)
        .bind::<BigInt, _>(SWEEP_BATCH)
        .load(conn)?;
        for s in &swept {
            events::emit(
                conn,
                s.account_id,
                None,
                None,
                PRESENCE_UPDATE,
                json!({"user_id": s.user_id, "availability": "offline", "auto_offline": true}),
            )?;
        }
        Ok(swept.iter().map(|s| s.id).collect())
    })
}

/// One member's presence as the API shows it (Chatwoot's agent fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    /// Chatwoot's `availability_status`: what the agent is now (`online`/`busy`/`offline`).
    pub availability_status: String,
    /// Chatwoot's `availability`: what the agent chose (differs while auto-offline).
    pub availability: String,
    /// Chatwoot's `auto_offline`.
    pub auto_offline: bool,
}

impl Presence {
    /// From `account_users`' `availability` (now), `away_from` (the choice automatic
    /// offline replaced) and `auto_offline`.
    pub fn from_row(now: String, away_from: Option<String>, auto_offline: bool) -> Presence {
        Presence {
            availability: away_from.unwrap_or_else(|| now.clone()),
            availability_status: now,
            auto_offline,
        }
    }
}

/// The presence of each of `user_ids` in `account_id`, in one query (members only).
pub fn presences(
    conn: &mut PgConnection,
    account_id: i64,
    user_ids: &[i64],
) -> AppResult<HashMap<i64, Presence>> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String, Option<String>, bool)> = account_users::table
        .filter(account_users::account_id.eq(account_id))
        .filter(account_users::user_id.eq_any(user_ids))
        .select((
            account_users::user_id,
            account_users::availability,
            account_users::away_from,
            account_users::auto_offline,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, now, away_from, auto_offline)| {
            (id, Presence::from_row(now, away_from, auto_offline))
        })
        .collect())
}

/// The user's [`Presence`] in each of their accounts, for `GET /api/v1/profile`.
pub fn presence_per_account(
    conn: &mut PgConnection,
    user_id: i64,
) -> AppResult<HashMap<i64, Presence>> {
    let rows: Vec<(i64, String, Option<String>, bool)> = account_users::table
        .filter(account_users::user_id.eq(user_id))
        .select((
            account_users::account_id,
            account_users::availability,
            account_users::away_from,
            account_users::auto_offline,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, now, away_from, auto_offline)| {
            (id, Presence::from_row(now, away_from, auto_offline))
        })
        .collect())
}

/// Sets Chatwoot's `auto_offline` for the member. Turning it off while the sweep had made
/// them offline restores their choice (emitting `presence.update`).
/// Errors: 404 when the user is not a member of the account.
pub fn set_auto_offline(
    conn: &mut PgConnection,
    account_id: i64,
    user_id: i64,
    on: bool,
) -> AppResult<()> {
    conn.transaction(|conn| {
        let row: Option<(Option<String>,)> = account_users::table
            .filter(account_users::account_id.eq(account_id))
            .filter(account_users::user_id.eq(user_id))
            .select((account_users::away_from,))
            .for_update()
            .first(conn)
            .optional()?;
        let Some((away_from,)) = row else {
            return Err(AppError::NotFound(format!(
                "account {account_id} not found"
            )));
        };
        let target = account_users::table
            .filter(account_users::account_id.eq(account_id))
            .filter(account_users::user_id.eq(user_id));
        diesel::update(target)
            .set(account_users::auto_offline.eq(on))
            .execute(conn)?;
        if let (false, Some(choice)) = (on, away_from) {
            diesel::update(target)
                .set((
                    account_users::availability.eq(&choice),
                    account_users::away_from.eq(None::<String>),
                ))
                .execute(conn)?;
            events::emit(
                conn,
                account_id,
                None,
                None,
                PRESENCE_UPDATE,
                json!({"user_id": user_id, "availability": choice}),
            )?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_stay_within_bounds() {
        assert_eq!(
            heartbeat_interval(Duration::from_secs(300)),
            Duration::from_secs(60)
        );
        assert_eq!(
            heartbeat_interval(Duration::from_secs(2)),
            Duration::from_secs(1)
        );
        assert_eq!(
            sweep_interval(Duration::from_secs(300)),
            Duration::from_secs(30)
        );
        assert_eq!(
            sweep_interval(Duration::from_secs(6)),
            Duration::from_secs(1)
        );
    }
}
