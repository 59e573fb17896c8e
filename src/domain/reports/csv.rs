//! CSV exports of every report (issue 14), and the per-conversation rows, page by page so a
//! handler can stream a large export.
//!
//! Durations are seconds (as the API). Text cells starting with `=`, `+`, `-`, `@`, tab or
//! carriage return get a leading `'` so a spreadsheet doesn't run them as formulas.

use super::{breakdown, series_many, times, By, GroupBy, Query, Subject, DISTRIBUTION, METRICS};
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};

/// Rows per page of [`conversations_page`].
pub const PAGE_ROWS: i64 = 2_000;

fn text(s: &str) -> String {
    if matches!(s.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r')) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{:.0}", x)).unwrap_or_default()
}

fn write(rows: Vec<Vec<String>>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(vec![]);
    for r in rows {
        let _ = w.write_record(r);
    }
    w.into_inner().unwrap_or_default()
}

/// The names [`report`] accepts.
pub const KINDS: [&str; 9] = [
    "sla",
    "conversations",
    "agents",
    "inboxes",
    "teams",
    "labels",
    "times",
    "csat",
    "whatsapp",
];

/// The CSV of report `kind` (one of [`KINDS`]): `conversations` is every metric per
/// `group_by` bucket (local date in the first column); `agents`/`inboxes`/`teams`/`labels`
/// the breakdown (Chatwoot's summary columns); `times` count, average, median, p90 and the
/// distribution; `csat` the figures then the comments; `whatsapp` templates, failures, then
/// the customer service windows closed unanswered per `group_by` bucket; `sla` one row per
/// policy then the total.
/// `None` for an unknown kind.
pub fn report(
    conn: &mut PgConnection,
    q: &Query,
    kind: &str,
    group_by: GroupBy,
) -> AppResult<Option<Vec<u8>>> {
    let mut rows: Vec<Vec<String>> = vec![];
    match kind {
        "conversations" => {
            let mut header = vec!["timestamp".to_string(), "date".to_string()];
            header.extend(METRICS.iter().map(|m| m.to_string()));
            rows.push(header);
            let all = series_many(conn, q, &METRICS, group_by)?;
            for (i, p) in all[0].iter().enumerate() {
                let local = local_date(q, p.timestamp);
                let mut r = vec![p.timestamp.to_string(), local];
                for s in &all {
                    r.push(format!("{}", s[i].value.round()));
                }
                rows.push(r);
            }
        }
        "agents" | "inboxes" | "teams" | "labels" => {
            let by = By::parse(kind, "kind")?;
            rows.push(
                [
                    "id",
                    "name",
                    "conversations_count",
                    "resolved_conversations_count",
                    "incoming_messages_count",
                    "outgoing_messages_count",
                    "avg_first_response_time",
                    "avg_resolution_time",
                    "avg_reply_time",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            );
            for r in breakdown(conn, q, by)? {
                rows.push(vec![
                    r.id.to_string(),
                    text(&r.name),
                    r.conversations_count.to_string(),
                    r.resolved_conversations_count.to_string(),
                    r.incoming_messages_count.to_string(),
                    r.outgoing_messages_count.to_string(),
                    num(r.avg_first_response_time),
                    num(r.avg_resolution_time),
                    num(r.avg_reply_time),
                ]);
            }
        }
        "times" => {
            let mut header: Vec<String> = ["metric", "count", "avg", "median", "p90"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            header.extend(DISTRIBUTION.iter().map(|s| s.to_string()));
            rows.push(header);
            for t in times(conn, q)? {
                let mut r = vec![
                    t.metric.clone(),
                    t.count.to_string(),
                    num(t.avg),
                    num(t.median),
                    num(t.p90),
                ];
                r.extend(t.distribution.iter().map(|n| n.to_string()));
                rows.push(r);
            }
        }
        "csat" => {
            let c = super::csat(conn, q)?;
            rows.push(vec!["figure".into(), "value".into()]);
            rows.push(vec!["sent".into(), c.sent.to_string()]);
            rows.push(vec!["answered".into(), c.answered.to_string()]);
            let pct = |v: Option<f64>| v.map(|x| format!("{:.1}", x * 100.0)).unwrap_or_default();
            rows.push(vec!["response_rate_percent".into(), pct(c.response_rate)]);
            rows.push(vec![
                "satisfaction_score_percent".into(),
                pct(c.satisfaction_score),
            ]);
            for (i, n) in c.ratings.iter().enumerate() {
                rows.push(vec![format!("rating_{}", i + 1), n.to_string()]);
            }
            rows.push(vec![]);
            rows.push(vec![
                "conversation".into(),
                "rating".into(),
                "comment".into(),
                "rated_at".into(),
            ]);
            for m in c.comments {
                rows.push(vec![
                    m.display_id.to_string(),
                    m.rating.to_string(),
                    text(&m.feedback_message),
                    m.rated_at.to_rfc3339(),
                ]);
            }
        }
        "whatsapp" => {
            rows.push(vec![
                "kind".into(),
                "template_or_error_code".into(),
                "category".into(),
                "count".into(),
            ]);
            for t in super::templates(conn, q)? {
                rows.push(vec![
                    "template_sent".into(),
                    text(&t.key),
                    text(&t.category),
                    t.count.to_string(),
                ]);
            }
            for t in super::failures(conn, q)? {
                rows.push(vec![
                    "message_failed".into(),
                    text(&t.key),
                    String::new(),
                    t.count.to_string(),
                ]);
            }
            rows.push(vec![]);
            rows.push(vec![
                "timestamp".into(),
                "date".into(),
                "windows_closed_unanswered".into(),
            ]);
            for p in super::series(conn, q, "windows_closed_unanswered", group_by)? {
                rows.push(vec![
                    p.timestamp.to_string(),
                    local_date(q, p.timestamp),
                    p.count.to_string(),
                ]);
            }
        }
        "sla" => {
            let r = super::sla::sla(conn, q)?;
            rows.push(
                [
                    "policy_id",
                    "policy",
                    "applied",
                    "hit",
                    "missed",
                    "active",
                    "hit_rate_percent",
                    "breaches_first_response",
                    "breaches_next_response",
                    "breaches_resolution",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            );
            for p in r.policies.iter().chain(std::iter::once(&r.total)) {
                rows.push(vec![
                    if p.id == 0 {
                        String::new()
                    } else {
                        p.id.to_string()
                    },
                    if p.id == 0 {
                        "All policies".into()
                    } else {
                        text(&p.name)
                    },
                    p.applied.to_string(),
                    p.hit.to_string(),
                    p.missed.to_string(),
                    p.active.to_string(),
                    p.hit_rate()
                        .map(|x| format!("{:.1}", x * 100.0))
                        .unwrap_or_default(),
                    p.breaches_frt.to_string(),
                    p.breaches_nrt.to_string(),
                    p.breaches_rt.to_string(),
                ]);
            }
        }
        _ => return Ok(None),
    }
    // csv::Writer needs equal lengths only when flexible is off; blank lines are fine here.
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(vec![]);
    for r in rows {
        let _ = w.write_record(r);
    }
    Ok(Some(w.into_inner().unwrap_or_default()))
}

fn local_date(q: &Query, ts: i64) -> String {
    let Some(t) = DateTime::<Utc>::from_timestamp(ts, 0) else {
        return String::new();
    };
    match q.zone {
        super::Zone::Named(tz) => t.with_timezone(&tz).format("%Y-%m-%d").to_string(),
        super::Zone::Offset(min) => (t + chrono::Duration::minutes(min as i64))
            .format("%Y-%m-%d")
            .to_string(),
    }
}

/// Header of the per-conversation export (Chatwoot's conversation columns where it has
/// them; durations in seconds).
pub const CONVERSATION_COLUMNS: [&str; 15] = [
    "conversation_id",
    "inbox",
    "status",
    "assignee",
    "team",
    "labels",
    "created_at",
    "first_response_time",
    "first_response_time_business_hours",
    "resolution_time",
    "resolution_time_business_hours",
    "resolved_at",
    "incoming_messages_count",
    "outgoing_messages_count",
    "reopened_count",
];

/// The header line of [`conversations_page`].
pub fn conversations_header() -> Vec<u8> {
    write(vec![CONVERSATION_COLUMNS
        .iter()
        .map(|s| s.to_string())
        .collect()])
}

#[derive(QueryableByName)]
struct ConvRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    display_id: i64,
    #[diesel(sql_type = Text)]
    inbox: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    assignee: String,
    #[diesel(sql_type = Text)]
    team: String,
    #[diesel(sql_type = Text)]
    labels: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    frt: Option<f64>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    frt_bh: Option<f64>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    rt: Option<f64>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    rt_bh: Option<f64>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    resolved_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = BigInt)]
    incoming: i64,
    #[diesel(sql_type = BigInt)]
    outgoing: i64,
    #[diesel(sql_type = BigInt)]
    reopened: i64,
}

/// The query of [`conversations_page`]: `$1` account, `$2`/`$3` range, `$4`/`$11` the cursor
/// (id, created_at; `$11` NULL from the start), `$5` visible inboxes, `$6` inbox, `$7` assignee,
/// `$8` team, `$9` label, `$10` the page size (public for the benchmark's EXPLAIN).
pub const CONVERSATION_ROWS_SQL: &str =
        "SELECT c.id, c.display_id::int8 AS display_id, i.name AS inbox, c.status, \
           COALESCE(u.name, '') AS assignee, COALESCE(t.name, '') AS team, \
           array_to_string(c.labels, ' ') AS labels, c.created_at, \
           e.frt, e.frt_bh, e.rt, e.rt_bh, e.resolved_at, \
           COALESCE(e.incoming, 0)::int8 AS incoming, COALESCE(e.outgoing, 0)::int8 AS outgoing, \
           COALESCE(e.reopened, 0)::int8 AS reopened \
         FROM conversations c JOIN inboxes i ON i.id = c.inbox_id \
         LEFT JOIN users u ON u.id = c.assignee_id LEFT JOIN teams t ON t.id = c.team_id \
         LEFT JOIN LATERAL (SELECT \
             max(value) FILTER (WHERE name = 'first_response') AS frt, \
             max(value_in_business_hours) FILTER (WHERE name = 'first_response') AS frt_bh, \
             sum(value) FILTER (WHERE name = 'conversation_resolved') AS rt, \
             sum(value_in_business_hours) FILTER (WHERE name = 'conversation_resolved') AS rt_bh, \
             max(event_end_time) FILTER (WHERE name = 'conversation_resolved') AS resolved_at, \
             count(*) FILTER (WHERE name = 'message_received') AS incoming, \
             count(*) FILTER (WHERE name = 'message_sent') AS outgoing, \
             count(*) FILTER (WHERE name = 'conversation_opened') AS reopened \
           FROM reporting_events WHERE conversation_id = c.id) e ON true \
         WHERE c.account_id = $1 AND c.created_at >= $2 AND c.created_at < $3 \
           AND ($11::timestamptz IS NULL OR (c.created_at, c.id) > ($11, $4)) \
           AND ($5::int8[] IS NULL OR c.inbox_id = ANY($5)) AND ($6::int8 IS NULL OR c.inbox_id = $6) \
           AND ($7::int8 IS NULL OR c.assignee_id = $7) AND ($8::int8 IS NULL OR c.team_id = $8) \
           AND ($9::text IS NULL OR $9 = ANY(c.labels)) \
         ORDER BY c.created_at, c.id LIMIT $10";

/// Where a page of [`conversations_page`] ends: the last row's `(created_at, id)`.
pub type Cursor = (DateTime<Utc>, i64);

/// Appends to `out` the CSV rows of conversations created in `q`'s range (visible inboxes,
/// `q.subject`: the inbox, team, current assignee or label) after `after` (`None`: from
/// the start), at most `limit`, oldest first (created_at, then id). Returns where the page
/// ended when a next page may exist. Each page is one range scan of the index
/// `conversations_account_created` and the conversations' facts from the covering index
/// `reporting_events_conversation_facts`, so an export of any size streams at a steady cost
/// per page.
pub fn conversations_page(
    conn: &mut PgConnection,
    q: &Query,
    after: Option<Cursor>,
    limit: i64,
    out: &mut Vec<u8>,
) -> AppResult<Option<Cursor>> {
    let (inbox, agent, team, label) = match &q.subject {
        Subject::Account => (None, None, None, None),
        Subject::Agent(id) => (None, Some(*id), None, None),
        Subject::Inbox(id) => (Some(*id), None, None, None),
        Subject::Team(id) => (None, None, Some(*id), None),
        Subject::Label(l) => (None, None, None, Some(l.clone())),
    };
    let rows: Vec<ConvRow> = super::without_jit(conn, |conn| {
        Ok(diesel::sql_query(CONVERSATION_ROWS_SQL)
            .bind::<BigInt, _>(q.account_id)
            .bind::<Timestamptz, _>(q.since)
            .bind::<Timestamptz, _>(q.until)
            .bind::<BigInt, _>(after.map(|a| a.1).unwrap_or(0))
            .bind::<Nullable<Array<BigInt>>, _>(q.visible_inboxes.clone())
            .bind::<Nullable<BigInt>, _>(inbox)
            .bind::<Nullable<BigInt>, _>(agent)
            .bind::<Nullable<BigInt>, _>(team)
            .bind::<Nullable<Text>, _>(label)
            .bind::<BigInt, _>(limit)
            .bind::<Nullable<Timestamptz>, _>(after.map(|a| a.0))
            .load(conn)?)
    })?;
    let last = rows.last().map(|r| (r.created_at, r.id));
    let full = rows.len() as i64 == limit;
    let lines: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            vec![
                r.display_id.to_string(),
                text(&r.inbox),
                r.status,
                text(&r.assignee),
                text(&r.team),
                text(&r.labels),
                r.created_at.to_rfc3339(),
                num(r.frt),
                num(r.frt_bh),
                num(r.rt),
                num(r.rt_bh),
                r.resolved_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                r.incoming.to_string(),
                r.outgoing.to_string(),
                r.reopened.to_string(),
            ]
        })
        .collect();
    out.extend(write(lines));
    Ok(if full { last } else { None })
}
