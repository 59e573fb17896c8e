//! Durations (issue 14): count, average, median and 90th percentile of first response,
//! resolution and reply times, with Chatwoot's distribution buckets.
//!
//! How a range is read:
//! - **Up to [`EXACT_LIMIT`] facts of the account in the range** (a small team's year, a
//!   large team's month; the subject narrows what is kept, not what is read): the facts
//!   themselves, PostgreSQL's `percentile_cont` (linear interpolation), exact.
//! - **More**: whole UTC months from the monthly histograms (`reporting_time_monthly`, per
//!   inbox / agent / team, and `reporting_label_time_monthly` per label; filled by
//!   `reporting_fold()` with the other rollups), plus the facts of the part-months at each
//!   edge put into the same buckets. A bucket spans at most 4% ([`GAMMA`]) and stands for
//!   the point 1.96% from either end, so a median or a percentile is within 2% of the exact
//!   one (or half a second, under one second); count, average and distribution stay exact
//!   (the buckets never straddle a distribution boundary). A year of 100,000 conversations is then about 40,000 histogram
//!   rows and one edge month of facts instead of 700,000 facts to sort (`reports_bench`).

use super::{without_jit, Query, Subject};
use crate::domain::reporting as f;
use crate::error::AppResult;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Array, BigInt, Bool, Date, Double, Int2, Nullable, Text, Timestamptz};
use serde::Serialize;

/// Ranges in which the account has at most this many duration facts are answered exactly
/// from the facts (reading them all costs about 1 ms per 1,000 in release).
pub const EXACT_LIMIT: i64 = 50_000;

/// Width ratio of a histogram bucket (`reporting_bucket()` in the migration
/// `2026-12-07-010000_reports_time_sketch`): bucket `i >= 1` holds `[GAMMA^(i-1), GAMMA^i)`
/// seconds, bucket 0 under one second.
pub const GAMMA: f64 = 1.04;

/// Count, average, median and 90th percentile (seconds) of one duration.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TimeStat {
    /// `first_response`, `resolution` or `reply_time`.
    pub metric: String,
    pub count: i64,
    pub avg: Option<f64>,
    pub median: Option<f64>,
    pub p90: Option<f64>,
    /// Counts in Chatwoot's buckets `0-1h`, `1-4h`, `4-8h`, `8-24h`, `24h+`.
    pub distribution: [i64; 5],
}

/// Labels of [`TimeStat::distribution`].
pub const DISTRIBUTION: [&str; 5] = ["0-1h", "1-4h", "4-8h", "8-24h", "24h+"];

/// Upper bounds (seconds, exclusive) of the distribution classes but the last.
const CLASS_BOUNDS: [f64; 4] = [3600.0, 14400.0, 28800.0, 86400.0];

/// The facts of a query, and which of them: `$1` account, `$2..$3` range, `$5` visible
/// inboxes, `$6` inbox, `$7` agent, `$8` team, `$9` label. `$4` is unused (kept so both
/// queries bind alike).
const FACTS_WHERE: &str = "e.account_id = $1 \
     AND e.name IN ('first_response', 'conversation_resolved', 'reply_time') \
     AND ($5::int8[] IS NULL OR e.inbox_id = ANY($5)) AND ($6::int8 IS NULL OR e.inbox_id = $6) \
     AND ($7::int8 IS NULL OR e.user_id = $7) AND ($8::int8 IS NULL OR e.team_id = $8) \
     AND ($9::text IS NULL OR EXISTS (SELECT 1 FROM conversations c \
          WHERE c.id = e.conversation_id AND $9 = ANY(c.labels))) \
     AND $4::int8 IS NOT DISTINCT FROM $4";

#[derive(QueryableByName)]
struct StatRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = Nullable<Double>)]
    avg: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    median: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    p90: Option<f64>,
    #[diesel(sql_type = BigInt)]
    d0: i64,
    #[diesel(sql_type = BigInt)]
    d1: i64,
    #[diesel(sql_type = BigInt)]
    d2: i64,
    #[diesel(sql_type = BigInt)]
    d3: i64,
    #[diesel(sql_type = BigInt)]
    d4: i64,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// One histogram bucket of one fact: `bucket` = class * 1000 + log index.
#[derive(QueryableByName, Debug, Clone)]
pub struct BucketRow {
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Int2)]
    pub bucket: i16,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
    #[diesel(sql_type = Double)]
    pub s: f64,
}

/// The subject's filters: `(inbox, agent, team, label)`.
fn filters(subject: &Subject) -> (Option<i64>, Option<i64>, Option<i64>, Option<String>) {
    match subject {
        Subject::Account => (None, None, None, None),
        Subject::Agent(id) => (None, Some(*id), None, None),
        Subject::Inbox(id) => (Some(*id), None, None, None),
        Subject::Team(id) => (None, None, Some(*id), None),
        Subject::Label(l) => (None, None, None, Some(l.clone())),
    }
}

/// The rollup grain of a subject and its `dim_id` (see the migration): 0 per inbox, 1 per
/// agent, 2 per team.
fn grain_of(subject: &Subject) -> (i16, Option<i64>) {
    match subject {
        Subject::Agent(id) => (1, Some(*id)),
        Subject::Team(id) => (2, Some(*id)),
        _ => (0, None),
    }
}

/// First response, resolution and reply times of `q` (business hours per
/// `q.business_hours`), in that order; exact or from histograms as the module says.
pub fn times(conn: &mut PgConnection, q: &Query) -> AppResult<Vec<TimeStat>> {
    times_within(conn, q, EXACT_LIMIT)
}

/// [`times`] with another threshold: exact up to `exact_limit` facts, histograms beyond.
pub fn times_within(
    conn: &mut PgConnection,
    q: &Query,
    exact_limit: i64,
) -> AppResult<Vec<TimeStat>> {
    without_jit(conn, |conn| {
        // What the exact way would read: every duration fact of the account in the range
        // (the subject and the visible inboxes filter them, they do not narrow the index
        // range), roughly (whole UTC days around the range, from the daily rollups, folded
        // first). Only to choose the way.
        f::fold(conn)?;
        let many: CountRow = diesel::sql_query(
            "SELECT COALESCE(sum(count), 0)::int8 AS n FROM reporting_daily \
             WHERE account_id = $1 AND grain = 0 \
               AND name IN ('first_response', 'conversation_resolved', 'reply_time') \
               AND day >= ($2 AT TIME ZONE 'UTC')::date AND day <= ($3 AT TIME ZONE 'UTC')::date",
        )
        .bind::<BigInt, _>(q.account_id)
        .bind::<Timestamptz, _>(q.since)
        .bind::<Timestamptz, _>(q.until)
        .get_result(conn)?;
        if many.n <= exact_limit {
            exact(conn, q)
        } else {
            Ok(from_buckets(&histogram(conn, q)?))
        }
    })
}

/// [`times`] from the facts, exact (`percentile_cont`).
pub fn exact(conn: &mut PgConnection, q: &Query) -> AppResult<Vec<TimeStat>> {
    let rows: Vec<StatRow> = with_facts_binds(
        format!(
        "WITH v AS (SELECT e.name, CASE WHEN $10 THEN e.value_in_business_hours ELSE e.value END AS v \
           FROM reporting_events e \
           WHERE {FACTS_WHERE} AND e.event_end_time >= $2 AND e.event_end_time < $3) \
         SELECT name, count(*)::int8 AS count, avg(v)::float8 AS avg, \
           percentile_cont(0.5) WITHIN GROUP (ORDER BY v)::float8 AS median, \
           percentile_cont(0.9) WITHIN GROUP (ORDER BY v)::float8 AS p90, \
           count(*) FILTER (WHERE v < 3600)::int8 AS d0, \
           count(*) FILTER (WHERE v >= 3600 AND v < 14400)::int8 AS d1, \
           count(*) FILTER (WHERE v >= 14400 AND v < 28800)::int8 AS d2, \
           count(*) FILTER (WHERE v >= 28800 AND v < 86400)::int8 AS d3, \
           count(*) FILTER (WHERE v >= 86400)::int8 AS d4 \
         FROM v GROUP BY name"
        ),
        q,
    )
    .load(conn)?;
    Ok(in_order(|fact| {
        rows.iter().find(|r| r.name == fact).map(|r| TimeStat {
            count: r.count,
            avg: r.avg,
            median: r.median,
            p90: r.p90,
            distribution: [r.d0, r.d1, r.d2, r.d3, r.d4],
            ..Default::default()
        })
    }))
}

/// The three stats in [`times`]' order, each from `stat(fact)` or empty.
fn in_order(stat: impl Fn(&str) -> Option<TimeStat>) -> Vec<TimeStat> {
    [
        (f::FIRST_RESPONSE, "first_response"),
        (f::CONVERSATION_RESOLVED, "resolution"),
        (f::REPLY_TIME, "reply_time"),
    ]
    .iter()
    .map(|(fact, metric)| TimeStat {
        metric: metric.to_string(),
        ..stat(fact).unwrap_or_default()
    })
    .collect()
}

/// The first instant of `t`'s UTC month.
fn month_floor(t: DateTime<Utc>) -> NaiveDate {
    NaiveDate::from_ymd_opt(t.year(), t.month(), 1).expect("the first of a month exists")
}

fn month_start(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// `sql` with the parameters of [`FACTS_WHERE`] bound from `q` (`$1`..`$9`) and `$10`, business
/// hours; the caller binds any further ones.
fn with_facts_binds<'a>(sql: String, q: &Query) -> BoxedSqlQuery<'a, Pg, SqlQuery> {
    let (inbox, agent, team, label) = filters(&q.subject);
    diesel::sql_query(sql)
        .into_boxed::<Pg>()
        .bind::<BigInt, _>(q.account_id)
        .bind::<Timestamptz, _>(q.since)
        .bind::<Timestamptz, _>(q.until)
        .bind::<Nullable<BigInt>, _>(None::<i64>)
        .bind::<Nullable<Array<BigInt>>, _>(q.visible_inboxes.clone())
        .bind::<Nullable<BigInt>, _>(inbox)
        .bind::<Nullable<BigInt>, _>(agent)
        .bind::<Nullable<BigInt>, _>(team)
        .bind::<Nullable<Text>, _>(label)
        .bind::<Bool, _>(q.business_hours)
}

/// The UTC months wholly inside `[since, until)` as `[first, last)` (equal when none).
pub fn whole_months(since: DateTime<Utc>, until: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let mut first = month_floor(since);
    if month_start(first) < since {
        first = first
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(first);
    }
    let last = month_floor(until);
    if month_start(first) >= until || first >= last {
        return (first, first);
    }
    (first, last)
}

/// The histogram of `q`'s durations per fact, ascending by bucket: whole UTC months from
/// the monthly rollups (folded first), part-months from the facts.
pub fn histogram(conn: &mut PgConnection, q: &Query) -> AppResult<Vec<BucketRow>> {
    f::fold(conn)?;
    let (first, last) = whole_months(q.since, q.until);
    // Facts are read for [since, edge1) and [edge2, until).
    let (edge1, edge2) = if first == last {
        (q.until, q.until)
    } else {
        (month_start(first), month_start(last))
    };
    let (grain, dim) = grain_of(&q.subject);
    Ok(with_facts_binds(
        format!(
            "SELECT name, bucket, sum(n)::int8 AS n, sum(s)::float8 AS s FROM ( \
           SELECT name, bucket, count AS n, sum_value AS s FROM reporting_time_monthly \
           WHERE $9::text IS NULL AND account_id = $1 AND grain = $11 AND bh = $10 \
             AND name IN ('first_response', 'conversation_resolved', 'reply_time') \
             AND month >= $12 AND month < $13 \
             AND ($5::int8[] IS NULL OR inbox_id = ANY($5)) AND ($6::int8 IS NULL OR inbox_id = $6) \
             AND ($14::int8 IS NULL OR dim_id = $14) \
           UNION ALL \
           SELECT name, bucket, count, sum_value FROM reporting_label_time_monthly \
           WHERE $9::text IS NOT NULL AND account_id = $1 AND label = $9 AND bh = $10 \
             AND name IN ('first_response', 'conversation_resolved', 'reply_time') \
             AND month >= $12 AND month < $13 \
             AND ($5::int8[] IS NULL OR inbox_id = ANY($5)) \
           UNION ALL \
           SELECT name, reporting_bucket(v), 1, v FROM ( \
             SELECT e.name, COALESCE(CASE WHEN $10 THEN e.value_in_business_hours END, e.value, 0) AS v \
             FROM reporting_events e WHERE {FACTS_WHERE} \
               AND ((e.event_end_time >= $2 AND e.event_end_time < $15) \
                 OR (e.event_end_time >= $16 AND e.event_end_time < $3))) f \
         ) x GROUP BY name, bucket HAVING sum(n) > 0 ORDER BY name, bucket"
        ),
        q,
    )
    .bind::<Int2, _>(grain)
    .bind::<Date, _>(first)
    .bind::<Date, _>(last)
    .bind::<Nullable<BigInt>, _>(dim)
    .bind::<Timestamptz, _>(edge1.max(q.since))
    .bind::<Timestamptz, _>(edge2.min(q.until))
    .load(conn)?)
}

/// The value range `[lo, hi)` (seconds) a bucket id covers.
pub fn bucket_range(bucket: i16) -> (f64, f64) {
    let class = (bucket / 1000) as usize;
    let i = (bucket % 1000) as i32;
    let (mut lo, mut hi) = if i == 0 {
        (0.0, 1.0)
    } else {
        (GAMMA.powi(i - 1), GAMMA.powi(i))
    };
    if class > 0 {
        lo = lo.max(CLASS_BOUNDS[class - 1]);
    }
    if class < CLASS_BOUNDS.len() {
        hi = hi.min(CLASS_BOUNDS[class]);
    }
    (lo, hi)
}

/// The value a bucket's facts are taken to have: for `[lo, hi)` with `lo >= 1`, the point
/// whose relative distance to both ends is equal (`2 lo hi / (lo + hi)`), at most
/// `(GAMMA - 1) / (GAMMA + 1)` (1.96%) from any value in it; under one second, the mean.
fn representative(r: &BucketRow) -> f64 {
    let (lo, hi) = bucket_range(r.bucket);
    if lo >= 1.0 {
        2.0 * lo * hi / (lo + hi)
    } else {
        (r.s / r.n as f64).clamp(lo, hi)
    }
}

/// The stats of histogram rows (ascending by bucket within each fact): count, average and
/// distribution exact; quantiles interpolate between the two ranks around `q * (n - 1)` as
/// `percentile_cont` does, each rank's value its bucket's [`representative`].
pub fn from_buckets(rows: &[BucketRow]) -> Vec<TimeStat> {
    in_order(|fact| {
        let mine: Vec<&BucketRow> = rows.iter().filter(|r| r.name == fact).collect();
        let count: i64 = mine.iter().map(|r| r.n).sum();
        if count <= 0 {
            return None;
        }
        let mut distribution = [0i64; 5];
        for r in &mine {
            distribution[((r.bucket / 1000) as usize).min(4)] += r.n;
        }
        let at = |rank: i64| -> f64 {
            let mut seen = 0i64;
            for r in &mine {
                seen += r.n;
                if rank < seen {
                    return representative(r);
                }
            }
            mine.last().map(|r| representative(r)).unwrap_or(0.0)
        };
        let quantile = |p: f64| -> f64 {
            let pos = p * (count - 1) as f64;
            let (lo, hi) = (pos.floor() as i64, pos.ceil() as i64);
            let (a, b) = (at(lo), at(hi));
            a + (b - a) * (pos - lo as f64)
        };
        Some(TimeStat {
            count,
            avg: Some(mine.iter().map(|r| r.s).sum::<f64>() / count as f64),
            median: Some(quantile(0.5)),
            p90: Some(quantile(0.9)),
            distribution,
            ..Default::default()
        })
    })
}
