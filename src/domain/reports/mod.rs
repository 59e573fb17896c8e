//! Reports (issue 14): every figure a support lead reads, computed from the reporting facts
//! (`domain::reporting`) and their hourly rollups, never by scanning messages.
//!
//! - [`totals`] / [`series`]: Chatwoot's metrics (`conversations_count`,
//!   `incoming_messages_count`, `outgoing_messages_count`, `avg_first_response_time`,
//!   `avg_resolution_time`, `resolutions_count`, `reply_time`) over a range, or per day / week
//!   / month / year in a time zone (local calendar buckets, so a DST day is 23 or 25 hours).
//! - [`times`]: count, average, median and 90th percentile of first response, resolution and
//!   reply times (seconds), all or only inside business hours, with a distribution.
//! - [`breakdown`]: the same per agent, inbox, team or label.
//! - [`csat`], [`templates`], [`failures`]: CSAT, WhatsApp templates sent by template and
//!   category, failed messages by Meta error code.
//! - [`sla::sla`]: SLA hit rate and breaches by policy.
//! - [`live`] (module `live`): the overview of open work now.
//!
//! Ranges are `[since, until)` instants, summed exactly in any zone and for any edges from
//! daily and hourly UTC rollups and, for parts of an hour, the facts themselves (see
//! [`pieces`]); labels from the label rollups. Durations' medians and percentiles come from
//! the facts, exact, for ranges of up to [`times::EXACT_LIMIT`] facts, and from monthly
//! histograms within 2% beyond (see [`times`]).
//! Visibility: [`Query::visible_inboxes`] limits everything to an agent's inboxes.

pub mod csv;
pub mod live;
pub mod sla;
pub mod times;

pub use times::{times, TimeStat, DISTRIBUTION};

use crate::domain::reporting as f;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double, Int2, Int4, Nullable, Text, Timestamptz};
use serde::Serialize;

/// The time zone of the buckets: an IANA zone (DST-aware) or a fixed offset in minutes east
/// of UTC (Chatwoot's `timezone_offset`, hours, e.g. `5.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Named(Tz),
    Offset(i32),
}

impl Zone {
    /// The zone as PostgreSQL's `AT TIME ZONE` reads it (offsets in POSIX form, whose sign is
    /// inverted: `UTC-05:30` is 5 h 30 east).
    pub fn pg(&self) -> String {
        match self {
            Zone::Named(tz) => tz.name().to_string(),
            Zone::Offset(min) => {
                let sign = if *min >= 0 { '-' } else { '+' };
                let m = min.unsigned_abs();
                format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
            }
        }
    }

    /// Parses Chatwoot's `timezone_offset` (hours, `-12..=14`, fractions allowed).
    pub fn from_offset_hours(raw: &str) -> AppResult<Zone> {
        let h: f64 = raw.trim().parse().map_err(|_| {
            AppError::invalid(
                "timezone_offset",
                "must be a number of hours, e.g. 5.5 or -8",
            )
        })?;
        if !h.is_finite() || !(-12.0..=14.0).contains(&h) {
            return Err(AppError::invalid(
                "timezone_offset",
                "must be between -12 and 14 hours",
            ));
        }
        Ok(Zone::Offset((h * 60.0).round() as i32))
    }

    /// The local midnight starting `date` in this zone, as an instant.
    pub fn midnight(&self, date: chrono::NaiveDate) -> DateTime<Utc> {
        let naive = date.and_hms_opt(0, 0, 0).expect("midnight");
        match self {
            Zone::Named(tz) => tz
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&naive)),
            Zone::Offset(min) => {
                Utc.from_utc_datetime(&naive) - chrono::Duration::minutes(*min as i64)
            }
        }
    }
}

/// The calendar unit of [`series`] buckets (Chatwoot's `group_by`). Weeks start on Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Week,
    Month,
    Year,
}

impl GroupBy {
    /// Parses `day`, `week`, `month`, `year`. Errors: 422 on `group_by`.
    pub fn parse(raw: &str) -> AppResult<GroupBy> {
        match raw {
            "day" => Ok(GroupBy::Day),
            "week" => Ok(GroupBy::Week),
            "month" => Ok(GroupBy::Month),
            "year" => Ok(GroupBy::Year),
            _ => Err(AppError::invalid(
                "group_by",
                "must be one of day, week, month, year",
            )),
        }
    }

    /// The PostgreSQL `date_trunc` unit.
    pub fn as_str(&self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::Week => "week",
            GroupBy::Month => "month",
            GroupBy::Year => "year",
        }
    }
}

/// Whose figures: the account, or one agent, inbox, team or label (Chatwoot's `type` + `id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Account,
    Agent(i64),
    Inbox(i64),
    Team(i64),
    Label(String),
}

/// One report request.
#[derive(Debug, Clone)]
pub struct Query {
    pub account_id: i64,
    /// `None`: every inbox (administrators); `Some`: only these (an agent's inboxes).
    pub visible_inboxes: Option<Vec<i64>>,
    pub subject: Subject,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub zone: Zone,
    /// Durations counted inside business hours only.
    pub business_hours: bool,
}

/// Chatwoot's metric names, and the fact each is computed from.
pub const METRICS: [&str; 7] = [
    "conversations_count",
    "incoming_messages_count",
    "outgoing_messages_count",
    "avg_first_response_time",
    "avg_resolution_time",
    "resolutions_count",
    "reply_time",
];

/// `(fact, is_average)` of a metric name (one of [`METRICS`], or
/// `windows_closed_unanswered`: WhatsApp customer service windows that closed with no reply);
/// `None` for an unknown one.
pub fn metric_fact(metric: &str) -> Option<(&'static str, bool)> {
    Some(match metric {
        "conversations_count" => (f::CONVERSATION_CREATED, false),
        "incoming_messages_count" => (f::MESSAGE_RECEIVED, false),
        "outgoing_messages_count" => (f::MESSAGE_SENT, false),
        "avg_first_response_time" => (f::FIRST_RESPONSE, true),
        "avg_resolution_time" => (f::CONVERSATION_RESOLVED, true),
        "resolutions_count" => (f::CONVERSATION_RESOLVED, false),
        "reply_time" => (f::REPLY_TIME, true),
        "windows_closed_unanswered" => (f::WINDOW_CLOSED, false),
        _ => return None,
    })
}

/// The fact counted as `conversations_count` for a subject: conversations created for the
/// account, an inbox or a label; assigned for an agent or a team (Chatwoot's summaries).
fn conversations_fact(subject: &Subject) -> &'static str {
    match subject {
        Subject::Agent(_) => f::CONVERSATION_ASSIGNED,
        Subject::Team(_) => f::TEAM_ASSIGNED,
        _ => f::CONVERSATION_CREATED,
    }
}

/// Sums of one fact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Sum {
    pub count: i64,
    pub sum_value: f64,
    pub sum_value_bh: f64,
}

impl Sum {
    /// The average duration (seconds), business hours or not; 0 without data.
    pub fn avg(&self, business_hours: bool) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let s = if business_hours {
            self.sum_value_bh
        } else {
            self.sum_value
        };
        s / self.count as f64
    }
}

#[derive(QueryableByName)]
struct SumRow {
    /// The index of the range (bucket) the sums belong to.
    #[diesel(sql_type = Int4)]
    b: i32,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<Text>)]
    key: Option<String>,
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = Double)]
    sum_value: f64,
    #[diesel(sql_type = Double)]
    sum_value_bh: f64,
}

/// Which stored sums a [`Piece`] of a range is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Whole UTC days: `reporting_daily` (`reporting_label_daily` for labels).
    Day = 0,
    /// Whole UTC hours: `reporting_rollups` (`reporting_label_hourly`).
    Hour = 1,
    /// The facts themselves (`reporting_events`): less than an hour, or two.
    Raw = 2,
}

/// A part of range number `b`, added (`sign` 1) or taken away (-1): `[from, to)` read from
/// `source`. See [`pieces`].
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub b: i32,
    pub sign: i32,
    pub source: Source,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

fn floor_secs(t: DateTime<Utc>, unit: i64) -> DateTime<Utc> {
    let s = t.timestamp().div_euclid(unit) * unit;
    Utc.timestamp_opt(s, 0).single().unwrap_or(t)
}

fn ceil_secs(t: DateTime<Utc>, unit: i64) -> DateTime<Utc> {
    let f = floor_secs(t, unit);
    if f == t {
        t
    } else {
        f + chrono::Duration::seconds(unit)
    }
}

fn round_secs(t: DateTime<Utc>, unit: i64) -> DateTime<Utc> {
    floor_secs(t + chrono::Duration::seconds(unit / 2), unit)
}

fn hour_pieces(b: i32, from: DateTime<Utc>, to: DateTime<Utc>, sign: i32, out: &mut Vec<Piece>) {
    let (hf, ht) = (ceil_secs(from, 3600), floor_secs(to, 3600));
    let mut push = |source, from, to| {
        if from < to {
            out.push(Piece {
                b,
                sign,
                source,
                from,
                to,
            })
        }
    };
    if hf < ht {
        push(Source::Hour, hf, ht);
        push(Source::Raw, from, hf);
        push(Source::Raw, ht, to);
    } else {
        push(Source::Raw, from, to);
    }
}

fn edge_pieces(b: i32, x: DateTime<Utc>, y: DateTime<Utc>, out: &mut Vec<Piece>) {
    if x < y {
        hour_pieces(b, x, y, 1, out);
    } else if y < x {
        hour_pieces(b, y, x, -1, out);
    }
}

/// How a range is summed, exactly, in any time zone (IANA or offset, DST included) and for
/// any edges: the whole UTC days between the UTC midnights NEAREST to each edge come from
/// the daily rollups, and the stretch between each edge and its nearest midnight (at most 12
/// hours) is added or taken away, read as whole UTC hours from the hourly rollups plus the
/// facts themselves for any part of an hour. A local day in Berlin
/// (`[23:00Z, 23:00Z)`) is one day row, plus one hour, minus one hour; in India
/// (`[18:30Z, 18:30Z)`) one day row, plus five hours and a half hour of facts, minus the
/// same. So a year by day reads ~365 day rows per dimension and a few hours per day, where
/// hourly rows alone would read 8,760. Ranges shorter than about a day use hours and facts.
pub fn pieces(b: i32, from: DateTime<Utc>, to: DateTime<Utc>, out: &mut Vec<Piece>) {
    if from >= to {
        return;
    }
    let (df, dt) = (round_secs(from, 86_400), round_secs(to, 86_400));
    if df < dt {
        out.push(Piece {
            b,
            sign: 1,
            source: Source::Day,
            from: df,
            to: dt,
        });
        edge_pieces(b, from, df, out);
        edge_pieces(b, dt, to, out);
    } else {
        hour_pieces(b, from, to, 1, out);
    }
}

/// Runs `f` in a transaction with PostgreSQL's JIT off (`SET LOCAL jit = off`): report
/// queries are many short index scans whose cost estimates (a LATERAL per piece, a
/// per-conversation aggregate) would otherwise trigger 100+ ms of JIT compilation for
/// nothing. The setting ends with the transaction, so pooled connections are unchanged.
pub fn without_jit<T>(
    conn: &mut PgConnection,
    f: impl FnOnce(&mut PgConnection) -> AppResult<T>,
) -> AppResult<T> {
    conn.transaction(|conn| {
        diesel::sql_query("SELECT set_config('jit', 'off', true)").execute(conn)?;
        f(conn)
    })
}

/// Sums of facts `names` over each of `ranges` (`SumRow::b` is the range's index), per
/// `key` (`inbox_id`, `team_id`, `user_id`, `label`) or not, for `q`'s subject and visible
/// inboxes. Reads the rollups (see [`pieces`]); labels read the label rollups.
fn sums(
    conn: &mut PgConnection,
    q: &Query,
    names: &[&str],
    ranges: &[(DateTime<Utc>, DateTime<Utc>)],
    key: Option<&str>,
) -> AppResult<Vec<SumRow>> {
    let (inbox, agent, team, label) = match &q.subject {
        Subject::Account => (None, None, None, None),
        Subject::Agent(id) => (None, Some(*id), None, None),
        Subject::Inbox(id) => (Some(*id), None, None, None),
        Subject::Team(id) => (None, None, Some(*id), None),
        Subject::Label(l) => (None, None, None, Some(l.clone())),
    };
    let mut ps = vec![];
    for (i, (from, to)) in ranges.iter().enumerate() {
        pieces(i as i32, *from, *to, &mut ps);
    }
    let by_label = label.is_some() || key == Some("label");
    // Daily grain: 1 per agent, 2 per team, 0 per inbox only.
    let grain: i16 = if agent.is_some() || key == Some("user_id") {
        1
    } else if team.is_some() || key == Some("team_id") {
        2
    } else {
        0
    };
    // Each piece reads its own rows through a LATERAL subquery (an index range scan per
    // piece, whatever the planner guesses of the unnest), signed by the piece.
    let lateral = |src: u8, inner: String| {
        format!(
            "SELECT x.b, s.name, s.key, (x.s * s.count)::int8 AS count, \
               (x.s * s.sum_value)::float8 AS sum_value, (x.s * s.sum_value_bh)::float8 AS sum_value_bh \
             FROM unnest($8::int4[], $9::int4[], $10::int2[], $11::timestamptz[], $12::timestamptz[]) \
               AS x(b, s, src, f, t) \
             CROSS JOIN LATERAL ({inner}) s WHERE x.src = {src}"
        )
    };
    let rolled = |table: &str, key: &str, when: &str, filter: &str| {
        format!(
            "SELECT r.name, {key} AS key, sum(r.count)::int8 AS count, \
               sum(r.sum_value)::float8 AS sum_value, sum(r.sum_value_bh)::float8 AS sum_value_bh \
             FROM {table} r WHERE {when} AND {filter} GROUP BY 1, 2"
        )
    };
    let days = "r.day >= (x.f AT TIME ZONE 'UTC')::date AND r.day < (x.t AT TIME ZONE 'UTC')::date";
    let hours = "r.hour >= x.f AND r.hour < x.t";
    let raw = |key: &str, from: &str, filter: &str| {
        format!(
            "SELECT e.name, {key} AS key, count(*)::int8 AS count, \
               COALESCE(sum(e.value), 0)::float8 AS sum_value, \
               COALESCE(sum(e.value_in_business_hours), 0)::float8 AS sum_value_bh \
             FROM {from} WHERE e.account_id = $1 AND e.name = ANY($2) \
               AND e.event_end_time >= x.f AND e.event_end_time < x.t \
               AND ($3::int8[] IS NULL OR e.inbox_id = ANY($3)) AND ($4::int8 IS NULL OR e.inbox_id = $4) \
               AND {filter} GROUP BY 1, 2"
        )
    };
    let unused = "$13::int8 IS NOT DISTINCT FROM $13 AND $14::int8 IS NOT DISTINCT FROM $14 \
                  AND $5::int8 IS NOT DISTINCT FROM $5 AND $7::int2 IS NOT DISTINCT FROM $7";
    let sql = if by_label {
        let (key_sql, raw_key) = if key == Some("label") {
            ("r.label", "l.label")
        } else {
            ("NULL::text", "NULL::text")
        };
        let filter = "r.account_id = $1 AND r.name = ANY($2) \
             AND ($3::int8[] IS NULL OR r.inbox_id = ANY($3)) AND ($4::int8 IS NULL OR r.inbox_id = $4) \
             AND ($6::text IS NULL OR r.label = $6)";
        [
            lateral(
                0,
                rolled(
                    "reporting_label_daily",
                    key_sql,
                    days,
                    &format!("{filter} AND {unused}"),
                ),
            ),
            lateral(1, rolled("reporting_label_hourly", key_sql, hours, filter)),
            lateral(
                2,
                raw(
                    raw_key,
                    "reporting_events e JOIN conversations c ON c.id = e.conversation_id \
                     CROSS JOIN LATERAL (SELECT DISTINCT unnest(c.labels) AS label) l",
                    "($6::text IS NULL OR l.label = $6)",
                ),
            ),
        ]
        .join(" UNION ALL ")
    } else {
        let (day_key, hour_key, raw_key) = match key {
            Some("inbox_id") => (
                "NULLIF(r.inbox_id, 0)::text",
                "NULLIF(r.inbox_id, 0)::text",
                "e.inbox_id::text",
            ),
            Some("team_id") => (
                "NULLIF(r.dim_id, 0)::text",
                "NULLIF(r.team_id, 0)::text",
                "e.team_id::text",
            ),
            Some("user_id") => (
                "NULLIF(r.dim_id, 0)::text",
                "NULLIF(r.user_id, 0)::text",
                "e.user_id::text",
            ),
            _ => ("NULL::text", "NULL::text", "NULL::text"),
        };
        let inboxes = "($3::int8[] IS NULL OR r.inbox_id = ANY($3)) AND ($4::int8 IS NULL OR r.inbox_id = $4)";
        let agent_team =
            "($13::int8 IS NULL OR {p}.user_id = $13) AND ($14::int8 IS NULL OR {p}.team_id = $14)";
        [
            lateral(
                0,
                rolled(
                    "reporting_daily",
                    day_key,
                    days,
                    &format!(
                        "r.account_id = $1 AND r.name = ANY($2) AND r.grain = $7 AND {inboxes} \
                         AND ($5::int8 IS NULL OR r.dim_id = $5) AND $6::text IS NOT DISTINCT FROM $6"
                    ),
                ),
            ),
            lateral(
                1,
                rolled(
                    "reporting_rollups",
                    hour_key,
                    hours,
                    &format!(
                        "r.account_id = $1 AND r.name = ANY($2) AND {inboxes} AND {}",
                        agent_team.replace("{p}", "r")
                    ),
                ),
            ),
            lateral(
                2,
                raw(raw_key, "reporting_events e", &agent_team.replace("{p}", "e")),
            ),
        ]
        .join(" UNION ALL ")
    };
    // Summed per range in SQL: one row per (range, fact, key) comes back, not one per piece.
    let sql = format!(
        "SELECT b, name, key, sum(count)::int8 AS count, sum(sum_value)::float8 AS sum_value, \
           sum(sum_value_bh)::float8 AS sum_value_bh FROM ({sql}) p GROUP BY 1, 2, 3"
    );
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    // Facts recorded in the last moments are added first, so the figures are exact.
    f::fold(conn)?;
    without_jit(conn, |conn| {
        Ok(diesel::sql_query(sql)
            .bind::<BigInt, _>(q.account_id)
            .bind::<Array<Text>, _>(names)
            .bind::<Nullable<Array<BigInt>>, _>(q.visible_inboxes.clone())
            .bind::<Nullable<BigInt>, _>(inbox)
            .bind::<Nullable<BigInt>, _>(agent.or(team))
            .bind::<Nullable<Text>, _>(label)
            .bind::<Int2, _>(grain)
            .bind::<Array<Int4>, _>(ps.iter().map(|p| p.b).collect::<Vec<_>>())
            .bind::<Array<Int4>, _>(ps.iter().map(|p| p.sign).collect::<Vec<_>>())
            .bind::<Array<Int2>, _>(ps.iter().map(|p| p.source as i16).collect::<Vec<_>>())
            .bind::<Array<Timestamptz>, _>(ps.iter().map(|p| p.from).collect::<Vec<_>>())
            .bind::<Array<Timestamptz>, _>(ps.iter().map(|p| p.to).collect::<Vec<_>>())
            .bind::<Nullable<BigInt>, _>(agent)
            .bind::<Nullable<BigInt>, _>(team)
            .load(conn)?)
    })
}

/// Chatwoot's summary figures over the range (`/reports/summary`); durations in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub conversations_count: i64,
    pub incoming_messages_count: i64,
    pub outgoing_messages_count: i64,
    pub resolutions_count: i64,
    pub avg_first_response_time: f64,
    pub avg_resolution_time: f64,
    pub reply_time: f64,
}

fn all_facts(subject: &Subject) -> Vec<&'static str> {
    vec![
        conversations_fact(subject),
        f::MESSAGE_RECEIVED,
        f::MESSAGE_SENT,
        f::FIRST_RESPONSE,
        f::CONVERSATION_RESOLVED,
        f::REPLY_TIME,
    ]
}

fn fold_totals(rows: &[SumRow], subject: &Subject, bh: bool) -> Totals {
    let get = |name: &str| {
        rows.iter()
            .filter(|r| r.name == name)
            .fold(Sum::default(), |a, r| Sum {
                count: a.count + r.count,
                sum_value: a.sum_value + r.sum_value,
                sum_value_bh: a.sum_value_bh + r.sum_value_bh,
            })
    };
    let resolved = get(f::CONVERSATION_RESOLVED);
    Totals {
        conversations_count: get(conversations_fact(subject)).count,
        incoming_messages_count: get(f::MESSAGE_RECEIVED).count,
        outgoing_messages_count: get(f::MESSAGE_SENT).count,
        resolutions_count: resolved.count,
        avg_first_response_time: get(f::FIRST_RESPONSE).avg(bh),
        avg_resolution_time: resolved.avg(bh),
        reply_time: get(f::REPLY_TIME).avg(bh),
    }
}

/// The summary figures of `q`'s range.
pub fn totals(conn: &mut PgConnection, q: &Query) -> AppResult<Totals> {
    let rows = sums(conn, q, &all_facts(&q.subject), &[(q.since, q.until)], None)?;
    Ok(fold_totals(&rows, &q.subject, q.business_hours))
}

/// One bucket of a [`series`]: its local start as unix seconds, the value (a count, or an
/// average in seconds) and the number of facts behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub timestamp: i64,
    pub value: f64,
    pub count: i64,
}

#[derive(QueryableByName)]
struct BucketRow {
    #[diesel(sql_type = Timestamptz)]
    b: DateTime<Utc>,
}

/// The bucket starts covering `[since, until)` in `q.zone`, oldest first (at most 2,000).
pub fn buckets(
    conn: &mut PgConnection,
    q: &Query,
    group_by: GroupBy,
) -> AppResult<Vec<DateTime<Utc>>> {
    let rows: Vec<BucketRow> = diesel::sql_query(
        "SELECT (g AT TIME ZONE $3) AS b FROM generate_series(date_trunc($4, $1 AT TIME ZONE $3), \
           ($2 AT TIME ZONE $3) - interval '1 microsecond', ('1 ' || $4)::interval) AS g LIMIT 2000",
    )
    .bind::<Timestamptz, _>(q.since)
    .bind::<Timestamptz, _>(q.until)
    .bind::<Text, _>(q.zone.pg())
    .bind::<Text, _>(group_by.as_str())
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.b).collect())
}

/// Metric `metric` (one of [`METRICS`]) per `group_by` bucket of `q`'s range in `q.zone`,
/// every bucket present (zeros included). Errors: 422 for an unknown metric.
pub fn series(
    conn: &mut PgConnection,
    q: &Query,
    metric: &str,
    group_by: GroupBy,
) -> AppResult<Vec<Point>> {
    Ok(series_many(conn, q, &[metric], group_by)?
        .pop()
        .unwrap_or_default())
}

/// [`series`] of several metrics at once (one read of the rollups), in the order asked.
pub fn series_many(
    conn: &mut PgConnection,
    q: &Query,
    metrics: &[&str],
    group_by: GroupBy,
) -> AppResult<Vec<Vec<Point>>> {
    let mut facts = vec![];
    for metric in metrics {
        let (mut fact, avg) = metric_fact(metric).ok_or_else(|| {
            AppError::invalid("metric", format!("must be one of {}", METRICS.join(", ")))
        })?;
        if *metric == "conversations_count" {
            fact = conversations_fact(&q.subject);
        }
        facts.push((fact, avg));
    }
    let mut names: Vec<&str> = facts.iter().map(|f| f.0).collect();
    names.sort_unstable();
    names.dedup();
    let starts = buckets(conn, q, group_by)?;
    let ranges: Vec<(DateTime<Utc>, DateTime<Utc>)> = starts
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let end = starts.get(i + 1).copied().unwrap_or(q.until).min(q.until);
            ((*s).max(q.since), end)
        })
        .collect();
    let rows = sums(conn, q, &names, &ranges, None)?;
    // Sums per (bucket, fact).
    let mut acc: std::collections::HashMap<(i32, &str), Sum> = Default::default();
    for r in &rows {
        let Some(name) = names.iter().find(|n| **n == r.name) else {
            continue;
        };
        let a = acc.entry((r.b, *name)).or_default();
        a.count += r.count;
        a.sum_value += r.sum_value;
        a.sum_value_bh += r.sum_value_bh;
    }
    Ok(facts
        .iter()
        .map(|(fact, avg)| {
            starts
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let s = acc.get(&(i as i32, *fact)).copied().unwrap_or_default();
                    Point {
                        timestamp: b.timestamp(),
                        value: if *avg {
                            s.avg(q.business_hours)
                        } else {
                            s.count as f64
                        },
                        count: s.count,
                    }
                })
                .collect()
        })
        .collect())
}

/// What a [`breakdown`] groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Agent,
    Inbox,
    Team,
    Label,
}

impl By {
    /// Parses `agent`, `inbox`, `team`, `label` (also Chatwoot's plurals). Errors: 422 on
    /// `field`.
    pub fn parse(raw: &str, field: &str) -> AppResult<By> {
        match raw {
            "agent" | "agents" => Ok(By::Agent),
            "inbox" | "inboxes" => Ok(By::Inbox),
            "team" | "teams" => Ok(By::Team),
            "label" | "labels" => Ok(By::Label),
            _ => Err(AppError::invalid(
                field,
                "must be one of agent, inbox, team, label",
            )),
        }
    }
}

/// One row of a [`breakdown`]: Chatwoot's summary report fields plus messages. `id` is the
/// agent, inbox or team id (labels: the label's id, 0 when the label was deleted); durations
/// in seconds, `None` without data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub id: i64,
    pub name: String,
    pub conversations_count: i64,
    pub resolved_conversations_count: i64,
    pub incoming_messages_count: i64,
    pub outgoing_messages_count: i64,
    pub avg_first_response_time: Option<f64>,
    pub avg_resolution_time: Option<f64>,
    pub avg_reply_time: Option<f64>,
}

#[derive(QueryableByName)]
struct NameRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    name: String,
}

/// Every agent, inbox, team or label of the account (visible ones for an agent) with its
/// figures in `q`'s range (`q.subject` is ignored), sorted by name.
pub fn breakdown(conn: &mut PgConnection, q: &Query, by: By) -> AppResult<Vec<Row>> {
    let mut q = q.clone();
    q.subject = Subject::Account;
    let (key, conv_fact) = match by {
        By::Agent => ("user_id", f::CONVERSATION_ASSIGNED),
        By::Inbox => ("inbox_id", f::CONVERSATION_CREATED),
        By::Team => ("team_id", f::TEAM_ASSIGNED),
        By::Label => ("label", f::CONVERSATION_CREATED),
    };
    let names = [
        conv_fact,
        f::MESSAGE_RECEIVED,
        f::MESSAGE_SENT,
        f::FIRST_RESPONSE,
        f::CONVERSATION_RESOLVED,
        f::REPLY_TIME,
    ];
    let rows = sums(conn, &q, &names, &[(q.since, q.until)], Some(key))?;
    let list_sql = match by {
        By::Agent => {
            "SELECT u.id::text AS key, u.id, COALESCE(NULLIF(u.display_name, ''), u.name) AS name \
             FROM account_users au JOIN users u ON u.id = au.user_id WHERE au.account_id = $1 \
             AND ($2::int8[] IS NULL OR au.role = 'administrator' OR EXISTS (SELECT 1 FROM inbox_members m \
               WHERE m.user_id = u.id AND m.inbox_id = ANY($2)))"
        }
        By::Inbox => {
            "SELECT id::text AS key, id, name FROM inboxes WHERE account_id = $1 \
             AND ($2::int8[] IS NULL OR id = ANY($2))"
        }
        By::Team => {
            "SELECT id::text AS key, id, name FROM teams WHERE account_id = $1 AND $2::int8[] IS NOT DISTINCT FROM $2"
        }
        By::Label => {
            "SELECT title AS key, id, title AS name FROM labels WHERE account_id = $1 AND $2::int8[] IS NOT DISTINCT FROM $2"
        }
    };
    let mut list: Vec<NameRow> = diesel::sql_query(list_sql)
        .bind::<BigInt, _>(q.account_id)
        .bind::<Nullable<Array<BigInt>>, _>(q.visible_inboxes.clone())
        .load(conn)?;
    // Labels used on conversations but not defined any more still show.
    for r in &rows {
        if let Some(k) = &r.key {
            if !list.iter().any(|n| &n.key == k) && by == By::Label {
                list.push(NameRow {
                    key: k.clone(),
                    id: 0,
                    name: k.clone(),
                });
            }
        }
    }
    let bh = q.business_hours;
    let mut out: Vec<Row> = list
        .into_iter()
        .map(|n| {
            let mine: Vec<&SumRow> = rows
                .iter()
                .filter(|r| r.key.as_deref() == Some(n.key.as_str()))
                .collect();
            let get = |name: &str| {
                mine.iter()
                    .filter(|r| r.name == name)
                    .fold(Sum::default(), |a, r| Sum {
                        count: a.count + r.count,
                        sum_value: a.sum_value + r.sum_value,
                        sum_value_bh: a.sum_value_bh + r.sum_value_bh,
                    })
            };
            let opt = |s: Sum| (s.count > 0).then(|| s.avg(bh));
            let resolved = get(f::CONVERSATION_RESOLVED);
            Row {
                id: n.id,
                name: n.name,
                conversations_count: get(conv_fact).count,
                resolved_conversations_count: resolved.count,
                incoming_messages_count: get(f::MESSAGE_RECEIVED).count,
                outgoing_messages_count: get(f::MESSAGE_SENT).count,
                avg_first_response_time: opt(get(f::FIRST_RESPONSE)),
                avg_resolution_time: opt(resolved),
                avg_reply_time: opt(get(f::REPLY_TIME)),
            }
        })
        .collect();
    out.sort_by_key(|a| a.name.to_lowercase());
    Ok(out)
}

/// CSAT over the surveys sent in the range: `sent`, `answered`, `response_rate` (answered /
/// sent, 0–1), `satisfaction_score` (share of ratings 4–5, 0–1; thumbs up is 5, down 1),
/// `average_rating`, `ratings` (counts of 1..5) and the latest comments (at most 20).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Csat {
    pub sent: i64,
    pub answered: i64,
    pub response_rate: Option<f64>,
    pub satisfaction_score: Option<f64>,
    pub average_rating: Option<f64>,
    pub ratings: [i64; 5],
    pub comments: Vec<CsatComment>,
}

/// One rated survey with a comment.
#[derive(Debug, Clone, PartialEq, Serialize, QueryableByName)]
pub struct CsatComment {
    #[diesel(sql_type = BigInt)]
    pub conversation_id: i64,
    #[diesel(sql_type = BigInt)]
    pub display_id: i64,
    #[diesel(sql_type = BigInt)]
    pub rating: i64,
    #[diesel(sql_type = Text)]
    pub feedback_message: String,
    #[diesel(sql_type = Timestamptz)]
    pub rated_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct CsatRow {
    #[diesel(sql_type = BigInt)]
    sent: i64,
    #[diesel(sql_type = BigInt)]
    r1: i64,
    #[diesel(sql_type = BigInt)]
    r2: i64,
    #[diesel(sql_type = BigInt)]
    r3: i64,
    #[diesel(sql_type = BigInt)]
    r4: i64,
    #[diesel(sql_type = BigInt)]
    r5: i64,
}

/// The CSAT figures of `q` (agent: surveys of conversations assigned to them; team and
/// label: of conversations in it now).
pub fn csat(conn: &mut PgConnection, q: &Query) -> AppResult<Csat> {
    let (inbox, agent, team, label) = match &q.subject {
        Subject::Account => (None, None, None, None),
        Subject::Agent(id) => (None, Some(*id), None, None),
        Subject::Inbox(id) => (Some(*id), None, None, None),
        Subject::Team(id) => (None, None, Some(*id), None),
        Subject::Label(l) => (None, None, None, Some(l.clone())),
    };
    let filter = "s.account_id = $1 AND s.created_at >= $2 AND s.created_at < $3 \
         AND ($4::int8[] IS NULL OR s.inbox_id = ANY($4)) AND ($5::int8 IS NULL OR s.inbox_id = $5) \
         AND ($6::int8 IS NULL OR s.assigned_agent_id = $6) \
         AND ($7::int8 IS NULL OR c.team_id = $7) AND ($8::text IS NULL OR $8 = ANY(c.labels))";
    macro_rules! binds {
        ($query:expr) => {
            $query
                .bind::<BigInt, _>(q.account_id)
                .bind::<Timestamptz, _>(q.since)
                .bind::<Timestamptz, _>(q.until)
                .bind::<Nullable<Array<BigInt>>, _>(q.visible_inboxes.clone())
                .bind::<Nullable<BigInt>, _>(inbox)
                .bind::<Nullable<BigInt>, _>(agent)
                .bind::<Nullable<BigInt>, _>(team)
                .bind::<Nullable<Text>, _>(label.clone())
        };
    }
    let row: CsatRow = binds!(diesel::sql_query(format!(
        "SELECT count(*)::int8 AS sent, \
           count(*) FILTER (WHERE s.rating = 1)::int8 AS r1, count(*) FILTER (WHERE s.rating = 2)::int8 AS r2, \
           count(*) FILTER (WHERE s.rating = 3)::int8 AS r3, count(*) FILTER (WHERE s.rating = 4)::int8 AS r4, \
           count(*) FILTER (WHERE s.rating = 5)::int8 AS r5 \
         FROM csat_survey_responses s JOIN conversations c ON c.id = s.conversation_id WHERE {filter}"
    )))
    .get_result(conn)?;
    let comments: Vec<CsatComment> = binds!(diesel::sql_query(format!(
        "SELECT s.conversation_id, c.display_id::int8 AS display_id, s.rating::int8 AS rating, \
           s.feedback_message, COALESCE(s.rated_at, s.updated_at) AS rated_at \
         FROM csat_survey_responses s JOIN conversations c ON c.id = s.conversation_id \
         WHERE {filter} AND s.rating IS NOT NULL AND s.feedback_message IS NOT NULL \
         ORDER BY s.rated_at DESC NULLS LAST LIMIT 20"
    )))
    .load(conn)?;
    let ratings = [row.r1, row.r2, row.r3, row.r4, row.r5];
    let answered: i64 = ratings.iter().sum();
    let weighted: i64 = ratings
        .iter()
        .enumerate()
        .map(|(i, n)| (i as i64 + 1) * n)
        .sum();
    Ok(Csat {
        sent: row.sent,
        answered,
        response_rate: (row.sent > 0).then(|| answered as f64 / row.sent as f64),
        satisfaction_score: (answered > 0).then(|| (row.r4 + row.r5) as f64 / answered as f64),
        average_rating: (answered > 0).then(|| weighted as f64 / answered as f64),
        ratings,
        comments,
    })
}

/// A count per key (template and category, or error code).
#[derive(Debug, Clone, PartialEq, Serialize, QueryableByName)]
pub struct KeyCount {
    /// Template name, or Meta's error code (`unknown` when the error had none).
    #[diesel(sql_type = Text)]
    pub key: String,
    /// Template category (`MARKETING`, `UTILITY`, `AUTHENTICATION`, …); empty for errors.
    #[diesel(sql_type = Text)]
    pub category: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

fn facts_by_detail(conn: &mut PgConnection, q: &Query, fact: &str) -> AppResult<Vec<KeyCount>> {
    let (inbox, agent, team) = match &q.subject {
        Subject::Agent(id) => (None, Some(*id), None),
        Subject::Inbox(id) => (Some(*id), None, None),
        Subject::Team(id) => (None, None, Some(*id)),
        _ => (None, None, None),
    };
    Ok(diesel::sql_query(
        "SELECT COALESCE(detail, '') AS key, COALESCE(category, '') AS category, count(*)::int8 AS count \
         FROM reporting_events WHERE account_id = $1 AND name = $4 AND event_end_time >= $2 \
           AND event_end_time < $3 AND ($5::int8[] IS NULL OR inbox_id = ANY($5)) \
           AND ($6::int8 IS NULL OR inbox_id = $6) AND ($7::int8 IS NULL OR user_id = $7) \
           AND ($8::int8 IS NULL OR team_id = $8) \
         GROUP BY 1, 2 ORDER BY 3 DESC, 1",
    )
    .bind::<BigInt, _>(q.account_id)
    .bind::<Timestamptz, _>(q.since)
    .bind::<Timestamptz, _>(q.until)
    .bind::<Text, _>(fact)
    .bind::<Nullable<Array<BigInt>>, _>(q.visible_inboxes.clone())
    .bind::<Nullable<BigInt>, _>(inbox)
    .bind::<Nullable<BigInt>, _>(agent)
    .bind::<Nullable<BigInt>, _>(team)
    .load(conn)?)
}

/// WhatsApp templates sent in the range, by template name and category, most first.
pub fn templates(conn: &mut PgConnection, q: &Query) -> AppResult<Vec<KeyCount>> {
    facts_by_detail(conn, q, f::TEMPLATE_SENT)
}

/// Messages failed in the range (dated when sent), by Meta error code, most first.
pub fn failures(conn: &mut PgConnection, q: &Query) -> AppResult<Vec<KeyCount>> {
    facts_by_detail(conn, q, f::MESSAGE_FAILED)
}
