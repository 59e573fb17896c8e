//! SLA figures (issue 14) from `domain::sla`'s tables: per policy, the SLAs applied in the
//! range (`applied_slas.created_at`), how many were hit, missed or are still running, the
//! hit rate, and the breaches (`sla_events`, one per missed deadline) by target: first
//! response (`frt`), next response (`nrt`), resolution (`rt`).
//!
//! Chatwoot has no SLA report in its API reference; the account figures follow its
//! `applied_slas/metrics` (`number_of_conversations`, `number_of_sla_misses`, `hit_rate`).
//! The hit rate is hit / (hit + missed), the SLAs decided (conversation resolved); `None`
//! when none is decided yet. Filters: visible inboxes, and the subject (inbox, current
//! assignee, team, label) through the conversation.

use super::{without_jit, Query, Subject};
use crate::error::AppResult;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
use serde::Serialize;

/// One policy's figures (also the account's total, `id` 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, QueryableByName)]
pub struct PolicyFigures {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    /// SLAs applied in the range (Chatwoot's `number_of_conversations`).
    #[diesel(sql_type = BigInt)]
    pub applied: i64,
    /// Resolved with every target met.
    #[diesel(sql_type = BigInt)]
    pub hit: i64,
    /// Resolved with a target missed (Chatwoot's `number_of_sla_misses`).
    #[diesel(sql_type = BigInt)]
    pub missed: i64,
    /// Not resolved yet (`active` or `active_with_misses`).
    #[diesel(sql_type = BigInt)]
    pub active: i64,
    /// Missed first response deadlines.
    #[diesel(sql_type = BigInt)]
    pub breaches_frt: i64,
    /// Missed next response deadlines.
    #[diesel(sql_type = BigInt)]
    pub breaches_nrt: i64,
    /// Missed resolution deadlines.
    #[diesel(sql_type = BigInt)]
    pub breaches_rt: i64,
}

impl PolicyFigures {
    /// hit / (hit + missed), 0–1; `None` when none is decided.
    pub fn hit_rate(&self) -> Option<f64> {
        let decided = self.hit + self.missed;
        (decided > 0).then(|| self.hit as f64 / decided as f64)
    }

    /// All breaches.
    pub fn breaches(&self) -> i64 {
        self.breaches_frt + self.breaches_nrt + self.breaches_rt
    }
}

/// The SLA report: the account's totals and each policy (every policy of the account,
/// sorted by name, zeros included).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlaReport {
    pub total: PolicyFigures,
    pub policies: Vec<PolicyFigures>,
}

impl SlaReport {
    /// The API shape: `{number_of_conversations, number_of_sla_misses, hit_rate, hit,
    /// missed, active, breaches: {frt, nrt, rt, total}, policies: [same per policy with id
    /// and name]}`; rates 0–1 or null.
    pub fn json(&self) -> serde_json::Value {
        fn one(p: &PolicyFigures) -> serde_json::Value {
            serde_json::json!({
                "id": p.id,
                "name": p.name,
                "number_of_conversations": p.applied,
                "number_of_sla_misses": p.missed,
                "hit_rate": p.hit_rate(),
                "hit": p.hit,
                "missed": p.missed,
                "active": p.active,
                "breaches": {"frt": p.breaches_frt, "nrt": p.breaches_nrt, "rt": p.breaches_rt, "total": p.breaches()},
            })
        }
        let mut v = one(&self.total);
        if let Some(o) = v.as_object_mut() {
            o.remove("id");
            o.remove("name");
            o.insert(
                "policies".into(),
                self.policies.iter().map(one).collect::<Vec<_>>().into(),
            );
        }
        v
    }
}

/// The SLA figures of `q`.
pub fn sla(conn: &mut PgConnection, q: &Query) -> AppResult<SlaReport> {
    let (inbox, agent, team, label) = match &q.subject {
        Subject::Account => (None, None, None, None),
        Subject::Agent(id) => (None, Some(*id), None, None),
        Subject::Inbox(id) => (Some(*id), None, None, None),
        Subject::Team(id) => (None, None, Some(*id), None),
        Subject::Label(l) => (None, None, None, Some(l.clone())),
    };
    let policies: Vec<PolicyFigures> = without_jit(conn, |conn| {
        Ok(diesel::sql_query(
            "WITH a AS (SELECT a.id, a.sla_policy_id, a.sla_status FROM applied_slas a \
               JOIN conversations c ON c.id = a.conversation_id \
               WHERE a.account_id = $1 AND a.created_at >= $2 AND a.created_at < $3 \
                 AND ($4::int8[] IS NULL OR c.inbox_id = ANY($4)) AND ($5::int8 IS NULL OR c.inbox_id = $5) \
                 AND ($6::int8 IS NULL OR c.assignee_id = $6) AND ($7::int8 IS NULL OR c.team_id = $7) \
                 AND ($8::text IS NULL OR $8 = ANY(c.labels))) \
             SELECT p.id, p.name, count(a.id)::int8 AS applied, \
               count(a.id) FILTER (WHERE a.sla_status = 'hit')::int8 AS hit, \
               count(a.id) FILTER (WHERE a.sla_status = 'missed')::int8 AS missed, \
               count(a.id) FILTER (WHERE a.sla_status IN ('active', 'active_with_misses'))::int8 AS active, \
               COALESCE(sum(e.frt), 0)::int8 AS breaches_frt, COALESCE(sum(e.nrt), 0)::int8 AS breaches_nrt, \
               COALESCE(sum(e.rt), 0)::int8 AS breaches_rt \
             FROM sla_policies p LEFT JOIN a ON a.sla_policy_id = p.id \
             LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE event_type = 'frt') AS frt, \
                 count(*) FILTER (WHERE event_type = 'nrt') AS nrt, \
                 count(*) FILTER (WHERE event_type = 'rt') AS rt \
               FROM sla_events WHERE applied_sla_id = a.id) e ON true \
             WHERE p.account_id = $1 GROUP BY p.id, p.name ORDER BY lower(p.name), p.id",
        )
        .bind::<BigInt, _>(q.account_id)
        .bind::<Timestamptz, _>(q.since)
        .bind::<Timestamptz, _>(q.until)
        .bind::<Nullable<Array<BigInt>>, _>(q.visible_inboxes.clone())
        .bind::<Nullable<BigInt>, _>(inbox)
        .bind::<Nullable<BigInt>, _>(agent)
        .bind::<Nullable<BigInt>, _>(team)
        .bind::<Nullable<Text>, _>(label)
        .load(conn)?)
    })?;
    let total = policies
        .iter()
        .fold(PolicyFigures::default(), |t, p| PolicyFigures {
            applied: t.applied + p.applied,
            hit: t.hit + p.hit,
            missed: t.missed + p.missed,
            active: t.active + p.active,
            breaches_frt: t.breaches_frt + p.breaches_frt,
            breaches_nrt: t.breaches_nrt + p.breaches_nrt,
            breaches_rt: t.breaches_rt + p.breaches_rt,
            ..t
        });
    Ok(SlaReport { total, policies })
}
