//! The live overview (issue 14): open work right now, by inbox and team, and the agents'
//! availability with their open conversations. Chatwoot's `/reports/conversations`
//! (`open`, `unattended`, `unassigned`) plus `pending`.
//!
//! Definitions: `open` and `pending` are conversations in that status; `unattended` is an
//! open conversation whose customer waits for a reply (`waiting_since` set, Chatwoot's
//! `unattended` without the first-reply variant); `unassigned` is an open conversation without
//! an assignee. Reads only open and pending conversations (partial index
//! `reports_live_conversations`).

use crate::error::AppResult;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use serde::Serialize;

/// Open-work counts of one inbox or team (`id` 0 and name "No team" for conversations
/// without a team), or of the whole account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, QueryableByName)]
pub struct Counts {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub open: i64,
    #[diesel(sql_type = BigInt)]
    pub unattended: i64,
    #[diesel(sql_type = BigInt)]
    pub unassigned: i64,
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
}

/// An agent's availability (`online`, `busy`, `offline`) and open conversations assigned.
#[derive(Debug, Clone, PartialEq, Serialize, QueryableByName)]
pub struct Agent {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Text)]
    pub availability: String,
    #[diesel(sql_type = BigInt)]
    pub open: i64,
    #[diesel(sql_type = BigInt)]
    pub unattended: i64,
}

/// The overview.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Overview {
    pub total: Counts,
    pub inboxes: Vec<Counts>,
    pub teams: Vec<Counts>,
    pub agents: Vec<Agent>,
}

const COUNTS: &str = "count(*) FILTER (WHERE c.status = 'open')::int8 AS open, \
     count(*) FILTER (WHERE c.status = 'open' AND c.waiting_since IS NOT NULL)::int8 AS unattended, \
     count(*) FILTER (WHERE c.status = 'open' AND c.assignee_id IS NULL)::int8 AS unassigned, \
     count(*) FILTER (WHERE c.status = 'pending')::int8 AS pending";

/// The overview of `account_id`, limited to `visible_inboxes` (`None`: all).
pub fn overview(
    conn: &mut PgConnection,
    account_id: i64,
    visible_inboxes: Option<&[i64]>,
) -> AppResult<Overview> {
    let vis: Option<Vec<i64>> = visible_inboxes.map(|v| v.to_vec());
    let live = "SELECT c.inbox_id, c.team_id, c.assignee_id, c.status, c.waiting_since \
         FROM conversations c WHERE c.account_id = $1 AND c.status IN ('open', 'pending') \
         AND ($2::int8[] IS NULL OR c.inbox_id = ANY($2))";
    let inboxes: Vec<Counts> = diesel::sql_query(format!(
        "WITH c AS ({live}) SELECT i.id, i.name, {COUNTS} FROM inboxes i LEFT JOIN c ON c.inbox_id = i.id \
         WHERE i.account_id = $1 AND ($2::int8[] IS NULL OR i.id = ANY($2)) GROUP BY i.id, i.name ORDER BY lower(i.name), i.id"
    ))
    .bind::<BigInt, _>(account_id)
    .bind::<Nullable<Array<BigInt>>, _>(vis.clone())
    .load(conn)?;
    let teams: Vec<Counts> = diesel::sql_query(format!(
        "WITH c AS ({live}), t AS (SELECT id, name FROM teams WHERE account_id = $1 \
           UNION ALL SELECT 0, 'No team') \
         SELECT t.id, t.name, {COUNTS} FROM t LEFT JOIN c ON COALESCE(c.team_id, 0) = t.id \
         GROUP BY t.id, t.name ORDER BY t.id = 0, lower(t.name), t.id"
    ))
    .bind::<BigInt, _>(account_id)
    .bind::<Nullable<Array<BigInt>>, _>(vis.clone())
    .load(conn)?;
    let agents: Vec<Agent> = diesel::sql_query(format!(
        "WITH c AS ({live}) SELECT u.id, COALESCE(NULLIF(u.display_name, ''), u.name) AS name, u.email, \
           au.availability AS availability, \
           count(c.*) FILTER (WHERE c.status = 'open')::int8 AS open, \
           count(c.*) FILTER (WHERE c.status = 'open' AND c.waiting_since IS NOT NULL)::int8 AS unattended \
         FROM account_users au JOIN users u ON u.id = au.user_id \
         LEFT JOIN c ON c.assignee_id = u.id \
         WHERE au.account_id = $1 AND ($2::int8[] IS NULL OR au.role = 'administrator' OR EXISTS \
           (SELECT 1 FROM inbox_members m WHERE m.user_id = u.id AND m.inbox_id = ANY($2))) \
         GROUP BY u.id, u.name, u.display_name, u.email, au.availability \
         ORDER BY CASE au.availability WHEN 'online' THEN 0 WHEN 'busy' THEN 1 ELSE 2 END, lower(u.name)"
    ))
    .bind::<BigInt, _>(account_id)
    .bind::<Nullable<Array<BigInt>>, _>(vis)
    .load(conn)?;
    let mut total = Counts {
        name: "All".into(),
        ..Default::default()
    };
    for i in &inboxes {
        total.open += i.open;
        total.unattended += i.unattended;
        total.unassigned += i.unassigned;
        total.pending += i.pending;
    }
    Ok(Overview {
        total,
        inboxes,
        teams,
        agents,
    })
}
