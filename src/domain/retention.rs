//! Data that does not grow forever (issue 15): what is pruned, after how long, in small
//! batches. The job that calls these ([`crate::jobs::retention`]) runs them on one process at
//! a time; every function here is also safe to run concurrently (rows are picked with
//! `FOR UPDATE SKIP LOCKED`, partitions under a lock).
//!
//! | what | rule | setting (days, 0 = keep for ever) |
//! |---|---|---|
//! | webhook journal (`whatsapp_events`, raw bodies) | processed more than N days ago; a `pending` or `failed` event is kept whatever its age. Whole daily partitions are dropped when every row qualifies; otherwise qualifying rows are deleted | `RETENTION_WEBHOOK_EVENTS_DAYS`, 30 |
//! | outgoing webhook delivery logs (`webhook_deliveries`) | created more than N days ago | `RETENTION_WEBHOOK_DELIVERIES_DAYS`, 30 |
//! | pending message updates (`pending_message_updates`: a status, reaction, edit or revoke whose message never came) | created more than N days ago | `RETENTION_PENDING_UPDATES_DAYS`, 7 |
//! | files of failed sends (outgoing attachments of a `failed` message) | message created more than N days ago: the stored file is deleted, the attachment row stays with `storage_path` NULL and says why | `RETENTION_FAILED_SEND_FILES_DAYS`, 30 |
//! | in-app notifications (`notifications`) | created more than N days ago (Chatwoot's `RemoveOldNotificationJob`: one month) | `RETENTION_NOTIFICATIONS_DAYS`, 30 |
//! | conversations, per account (`accounts.conversation_retention_days`, off by default) | `resolved` with no activity for N days: deleted with messages, attachments, notes' mentions, notifications (foreign keys cascade) and their stored files | Settings → Account, or `PATCH /api/v1/accounts/{id}` |
//!
//! Consistency when conversations are deleted: `conversation_counts` follows by its triggers;
//! search reads `messages`, so deleted messages are no longer found; `reporting_events` and
//! `reporting_rollups` are **kept** as aggregates (they hold counts and durations, no message
//! text; `conversation_id` then names a conversation that no longer exists), so reports of
//! past periods do not change; the per-conversation `reporting_conversations` row goes.

use crate::error::AppResult;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text, Timestamptz};

/// Retention settings from the environment (see the module table). Days; 0 keeps for ever.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionConfig {
    /// `RETENTION_WEBHOOK_EVENTS_DAYS`, default 30.
    pub webhook_events_days: u32,
    /// `RETENTION_WEBHOOK_DELIVERIES_DAYS`, default 30.
    pub webhook_deliveries_days: u32,
    /// `RETENTION_PENDING_UPDATES_DAYS`, default 7.
    pub pending_updates_days: u32,
    /// `RETENTION_FAILED_SEND_FILES_DAYS`, default 30.
    pub failed_send_files_days: u32,
    /// `RETENTION_NOTIFICATIONS_DAYS`, default 30.
    pub notifications_days: u32,
    /// `RETENTION_BATCH_SIZE`, default 1000 rows (conversations: a tenth) per transaction.
    pub batch_size: u32,
    /// `RETENTION_INTERVAL_SECONDS`, default 3600: how often a round runs (across all
    /// processes).
    pub interval_seconds: u64,
    /// `RETENTION_PARTITIONS_AHEAD_DAYS`, default 7: daily journal partitions made ahead.
    pub partitions_ahead_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            webhook_events_days: 30,
            webhook_deliveries_days: 30,
            pending_updates_days: 7,
            failed_send_files_days: 30,
            notifications_days: 30,
            batch_size: 1000,
            interval_seconds: 3600,
            partitions_ahead_days: 7,
        }
    }
}

impl RetentionConfig {
    /// Reads the `RETENTION_*` variables through `get`, with the defaults above.
    /// Errors: a value that is not a non-negative integer, or a batch size or interval of 0,
    /// names its variable.
    pub fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, crate::config::ConfigError> {
        let d = RetentionConfig::default();
        let num = |name: &'static str, default: u64| -> Result<u64, crate::config::ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(raw) if raw.trim().is_empty() => Ok(default),
                Some(raw) => raw
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| crate::config::ConfigError {
                        variable: name,
                        problem: format!("must be a whole number of days or seconds, got {raw:?}"),
                    }),
            }
        };
        let days = |name: &'static str, default: u32| -> Result<u32, crate::config::ConfigError> {
            let n = num(name, default as u64)?;
            u32::try_from(n.min(36500)).map_err(|_| crate::config::ConfigError {
                variable: name,
                problem: "is too large".into(),
            })
        };
        let c = RetentionConfig {
            webhook_events_days: days("RETENTION_WEBHOOK_EVENTS_DAYS", d.webhook_events_days)?,
            webhook_deliveries_days: days(
                "RETENTION_WEBHOOK_DELIVERIES_DAYS",
                d.webhook_deliveries_days,
            )?,
            pending_updates_days: days("RETENTION_PENDING_UPDATES_DAYS", d.pending_updates_days)?,
            failed_send_files_days: days(
                "RETENTION_FAILED_SEND_FILES_DAYS",
                d.failed_send_files_days,
            )?,
            notifications_days: days("RETENTION_NOTIFICATIONS_DAYS", d.notifications_days)?,
            batch_size: days("RETENTION_BATCH_SIZE", d.batch_size)?,
            interval_seconds: num("RETENTION_INTERVAL_SECONDS", d.interval_seconds)?,
            partitions_ahead_days: days(
                "RETENTION_PARTITIONS_AHEAD_DAYS",
                d.partitions_ahead_days,
            )?
            .min(60),
        };
        if c.batch_size == 0 {
            return Err(crate::config::ConfigError {
                variable: "RETENTION_BATCH_SIZE",
                problem: "must be at least 1".into(),
            });
        }
        if c.interval_seconds == 0 {
            return Err(crate::config::ConfigError {
                variable: "RETENTION_INTERVAL_SECONDS",
                problem: "must be at least 1".into(),
            });
        }
        Ok(c)
    }
}

/// The cutoff `days` before `now`, or `None` when `days` is 0 (keep for ever).
pub fn cutoff(now: DateTime<Utc>, days: u32) -> Option<DateTime<Utc>> {
    (days > 0).then(|| now - Duration::days(days as i64))
}

/// What a round pruned, per table (the metric `switchboard_retention_pruned_total{table}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PruneReport {
    /// Journal rows deleted one by one.
    pub whatsapp_events: u64,
    /// Daily journal partitions dropped whole.
    pub whatsapp_event_partitions: u64,
    /// Journal partitions made (ahead, or for rows that were in the default partition).
    pub partitions_created: u64,
    pub webhook_deliveries: u64,
    pub pending_message_updates: u64,
    /// Outgoing files of failed sends removed from storage.
    pub failed_send_files: u64,
    pub notifications: u64,
    pub conversations: u64,
}

impl PruneReport {
    /// `(table, rows)` pairs, for the metric and the log line.
    pub fn rows(&self) -> [(&'static str, u64); 8] {
        [
            ("whatsapp_events", self.whatsapp_events),
            ("whatsapp_event_partitions", self.whatsapp_event_partitions),
            ("partitions_created", self.partitions_created),
            ("webhook_deliveries", self.webhook_deliveries),
            ("pending_message_updates", self.pending_message_updates),
            ("failed_send_files", self.failed_send_files),
            ("notifications", self.notifications),
            ("conversations", self.conversations),
        ]
    }
}

#[derive(QueryableByName)]
struct Made {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    made: bool,
}

/// Makes the journal's daily partitions (UTC) from `from` through `from + ahead_days`
/// (the SQL function `switchboard_journal_partition`, which moves rows of such a day out of
/// the default partition). Returns how many were made.
pub fn ensure_partitions(
    conn: &mut PgConnection,
    from: NaiveDate,
    ahead_days: u32,
) -> AppResult<u64> {
    let mut made = 0;
    for d in 0..=ahead_days as i64 {
        let day = from + Duration::days(d);
        let r: Made = conn.transaction(|conn| {
            diesel::sql_query("SET LOCAL lock_timeout = '2s'").execute(conn)?;
            diesel::sql_query("SELECT switchboard_journal_partition($1) AS made")
                .bind::<Date, _>(day)
                .get_result(conn)
        })?;
        made += r.made as u64;
    }
    Ok(made)
}

/// One partition of the journal.
#[derive(QueryableByName, Debug, Clone, PartialEq, Eq)]
pub struct JournalPartition {
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Exclusive upper bound of `received_at`; `None` for the default partition.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub upper: Option<DateTime<Utc>>,
}

/// The journal's partitions, by upper bound (the default partition last).
pub fn partitions(conn: &mut PgConnection) -> AppResult<Vec<JournalPartition>> {
    Ok(diesel::sql_query(
        "SELECT c.relname::text AS name, switchboard_journal_upper_bound(c.oid) AS upper \
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'whatsapp_events'::regclass \
         ORDER BY upper NULLS LAST, name",
    )
    .load(conn)?)
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    yes: bool,
}

/// Journal pruning: drops each partition whose every row was processed before `cutoff` and
/// whose upper bound is at or before it (under a lock that stops writes to it, with a short
/// lock timeout so a webhook commit never waits long: a busy partition is tried next round);
/// then deletes up to `limit` processed rows older than `cutoff` from the partitions that
/// could not be dropped (those still holding a failed or pending event, the default one).
/// Returns (partitions dropped, rows deleted).
pub fn prune_journal(
    conn: &mut PgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> AppResult<(u64, u64)> {
    let mut dropped = 0;
    for p in partitions(conn)? {
        let Some(upper) = p.upper else { continue };
        if upper > cutoff {
            continue;
        }
        let name = p.name.clone();
        let done: Result<bool, diesel::result::Error> = conn.transaction(|conn| {
            diesel::sql_query("SET LOCAL lock_timeout = '500ms'").execute(conn)?;
            // SHARE: no row of it changes while we look (ingest or a retry would wait).
            diesel::sql_query(format!("LOCK TABLE \"{name}\" IN SHARE MODE")).execute(conn)?;
            let all_done: Flag = diesel::sql_query(format!(
                "SELECT NOT EXISTS (SELECT 1 FROM \"{name}\" WHERE status <> 'processed' \
                 OR processed_at IS NULL OR processed_at >= $1) AS yes"
            ))
            .bind::<Timestamptz, _>(cutoff)
            .get_result(conn)?;
            if !all_done.yes {
                return Ok(false);
            }
            diesel::sql_query(format!("DROP TABLE \"{name}\"")).execute(conn)?;
            Ok(true)
        });
        match done {
            Ok(true) => {
                tracing::info!(partition = %name, "journal partition dropped (every event processed and past retention)");
                dropped += 1;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::info!(partition = %name, error = %e, "journal partition busy; pruning it next round")
            }
        }
    }
    let deleted = diesel::sql_query(
        "DELETE FROM whatsapp_events w USING ( \
             SELECT id, received_at FROM whatsapp_events \
             WHERE received_at < $1 AND status = 'processed' AND processed_at < $1 \
             LIMIT $2 FOR UPDATE SKIP LOCKED) d \
         WHERE w.id = d.id AND w.received_at = d.received_at",
    )
    .bind::<Timestamptz, _>(cutoff)
    .bind::<BigInt, _>(limit)
    .execute(conn)?;
    Ok((dropped, deleted as u64))
}

/// Deletes up to `limit` rows of `table` whose `column` is before `cutoff`, oldest first
/// (`FOR UPDATE SKIP LOCKED`). `table` and `column` are fixed names from this module.
fn delete_older(
    conn: &mut PgConnection,
    table: &'static str,
    column: &'static str,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> AppResult<u64> {
    Ok(diesel::sql_query(format!(
        "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {column} < $1 \
         ORDER BY {column} LIMIT $2 FOR UPDATE SKIP LOCKED)"
    ))
    .bind::<Timestamptz, _>(cutoff)
    .bind::<BigInt, _>(limit)
    .execute(conn)? as u64)
}

/// Deletes up to `limit` outgoing webhook delivery log rows created before `cutoff`.
pub fn prune_webhook_deliveries(
    conn: &mut PgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> AppResult<u64> {
    delete_older(conn, "webhook_deliveries", "created_at", cutoff, limit)
}

/// Deletes up to `limit` pending message updates (their message never came) created before
/// `cutoff`.
pub fn prune_pending_updates(
    conn: &mut PgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> AppResult<u64> {
    delete_older(conn, "pending_message_updates", "created_at", cutoff, limit)
}

/// Deletes up to `limit` in-app notifications created before `cutoff`.
pub fn prune_notifications(
    conn: &mut PgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> AppResult<u64> {
    delete_older(conn, "notifications", "created_at", cutoff, limit)
}

#[derive(QueryableByName)]
struct PathRow {
    #[diesel(sql_type = Text)]
    storage_path: String,
}

/// What a failed send's attachment says once its file is gone.
pub const FAILED_SEND_FILE_REMOVED: &str = "file removed by the retention policy (the send failed)";

/// Takes up to `limit` attachments of outgoing (or template) messages that `failed` and were
/// created before `cutoff` and still have a stored file: clears their `storage_path`, marks
/// them `failed` with [`FAILED_SEND_FILE_REMOVED`]. Returns how many attachments were taken
/// and the storage keys that no other row (attachment or canned response attachment) names:
/// the caller deletes them after commit.
pub fn take_failed_send_files(
    conn: &mut PgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> AppResult<(u64, Vec<String>)> {
    use super::messages::message_type;
    conn.transaction(|conn| {
        let paths: Vec<String> = diesel::sql_query(
            "UPDATE attachments a SET storage_path = NULL, download_status = 'failed', \
                    download_error = $3, updated_at = now() \
             FROM (SELECT a2.id, a2.storage_path FROM attachments a2 \
                   JOIN messages m ON m.id = a2.message_id \
                   WHERE m.status = 'failed' AND m.message_type IN ($4, $5) \
                     AND m.created_at < $1 AND a2.storage_path IS NOT NULL \
                   LIMIT $2 FOR UPDATE OF a2 SKIP LOCKED) old \
             WHERE a.id = old.id RETURNING old.storage_path",
        )
        .bind::<Timestamptz, _>(cutoff)
        .bind::<BigInt, _>(limit)
        .bind::<Text, _>(FAILED_SEND_FILE_REMOVED)
        .bind::<diesel::sql_types::SmallInt, _>(message_type::OUTGOING)
        .bind::<diesel::sql_types::SmallInt, _>(message_type::TEMPLATE)
        .load::<PathRow>(conn)?
        .into_iter()
        .map(|r| r.storage_path)
        .collect();
        Ok((paths.len() as u64, unreferenced(conn, paths)?))
    })
}

/// The keys among `paths` that no attachment or canned response attachment names any more.
fn unreferenced(conn: &mut PgConnection, mut paths: Vec<String>) -> AppResult<Vec<String>> {
    paths.sort();
    paths.dedup();
    if paths.is_empty() {
        return Ok(paths);
    }
    let kept: Vec<String> = diesel::sql_query(
        "SELECT storage_path FROM attachments WHERE storage_path = ANY($1) \
         UNION SELECT storage_path FROM canned_response_attachments WHERE storage_path = ANY($1)",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(&paths)
    .load::<PathRow>(conn)?
    .into_iter()
    .map(|r| r.storage_path)
    .collect();
    Ok(paths.into_iter().filter(|p| !kept.contains(p)).collect())
}

/// Per account: sets the conversation retention (`None`: off). Errors: 422 naming
/// `conversation_retention_days` outside 1..=36500.
pub fn set_conversation_retention(
    conn: &mut PgConnection,
    account_id: i64,
    days: Option<i32>,
) -> AppResult<()> {
    if let Some(d) = days {
        if !(1..=36500).contains(&d) {
            return Err(crate::error::AppError::invalid(
                "conversation_retention_days",
                "must be a number of days from 1 to 36500, or empty to keep conversations for ever",
            ));
        }
    }
    // Plain SQL: the column is this module's alone (schema.rs stays as generated before it).
    let n = diesel::sql_query(
        "UPDATE accounts SET conversation_retention_days = $2, updated_at = now() WHERE id = $1",
    )
    .bind::<BigInt, _>(account_id)
    .bind::<Nullable<diesel::sql_types::Integer>, _>(days)
    .execute(conn)?;
    if n == 0 {
        return Err(crate::error::AppError::NotFound("no such account".into()));
    }
    Ok(())
}

/// The account's conversation retention in days (`None`: off). Errors: 404.
pub fn conversation_retention(conn: &mut PgConnection, account_id: i64) -> AppResult<Option<i32>> {
    #[derive(QueryableByName)]
    struct Days {
        #[diesel(sql_type = Nullable<diesel::sql_types::Integer>)]
        days: Option<i32>,
    }
    diesel::sql_query("SELECT conversation_retention_days AS days FROM accounts WHERE id = $1")
        .bind::<BigInt, _>(account_id)
        .get_result::<Days>(conn)
        .optional()?
        .map(|d| d.days)
        .ok_or(crate::error::AppError::NotFound("no such account".into()))
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Deletes up to `limit` resolved conversations whose account has a conversation retention
/// and whose last activity is older than it (measured from `now`), with everything that
/// cascades from them and their `reporting_conversations` row. Conversations are locked
/// (`FOR UPDATE SKIP LOCKED`), so one being reopened right now is skipped. Returns (how many,
/// the storage keys no remaining row names: the caller deletes them after commit).
pub fn prune_conversations(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> AppResult<(u64, Vec<String>)> {
    conn.transaction(|conn| {
        let ids: Vec<i64> = diesel::sql_query(
            "SELECT c.id FROM conversations c JOIN accounts a ON a.id = c.account_id \
             WHERE a.conversation_retention_days IS NOT NULL AND c.status = 'resolved' \
               AND c.last_activity_at < $1 - make_interval(days => a.conversation_retention_days) \
             ORDER BY c.last_activity_at LIMIT $2 FOR UPDATE OF c SKIP LOCKED",
        )
        .bind::<Timestamptz, _>(now)
        .bind::<BigInt, _>(limit)
        .load::<IdRow>(conn)?
        .into_iter()
        .map(|r| r.id)
        .collect();
        if ids.is_empty() {
            return Ok((0, vec![]));
        }
        let paths: Vec<String> = diesel::sql_query(
            "SELECT a.storage_path FROM attachments a JOIN messages m ON m.id = a.message_id \
             WHERE m.conversation_id = ANY($1) AND a.storage_path IS NOT NULL",
        )
        .bind::<diesel::sql_types::Array<BigInt>, _>(&ids)
        .load::<PathRow>(conn)?
        .into_iter()
        .map(|r| r.storage_path)
        .collect();
        diesel::sql_query("DELETE FROM reporting_conversations WHERE conversation_id = ANY($1)")
            .bind::<diesel::sql_types::Array<BigInt>, _>(&ids)
            .execute(conn)?;
        let n = diesel::sql_query("DELETE FROM conversations WHERE id = ANY($1)")
            .bind::<diesel::sql_types::Array<BigInt>, _>(&ids)
            .execute(conn)? as u64;
        Ok((n, unreferenced(conn, paths)?))
    })
}
