//! Issue 14: medians and percentiles of long ranges come from monthly histograms
//! (`domain::reports::times`). These tests hold the histogram answer to the exact one for
//! every subject, with part-month edges, business hours on and off, after a label move and a
//! removed fact, and after a full rebuild; and a label change racing a fold leaves every
//! label rollup equal to a rebuild.

use crate::common::*;
use chrono::{DateTime, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::PgConnection;
use switchboard::domain::reports::times::{self, whole_months, TimeStat};
use switchboard::domain::reports::{Query, Subject, Zone};

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

fn scalar(app: &TestApp, sql: &str) -> i64 {
    app.query_json(&format!("SELECT to_jsonb(({sql}))"))
        .as_i64()
        .unwrap()
}

/// Two inboxes, two agents, a team, 240 conversations from February to June 2026 (half
/// labelled `vip`), each with a first response, three reply times and (most) a resolution,
/// durations spread log-uniformly from 0.2 s to 5 days. Facts go through the trigger and
/// the fold, as in production. Returns (inboxes, agents, team).
fn seed(app: &TestApp) -> (Vec<i64>, Vec<i64>, i64) {
    let a = app.account_id;
    let mut conn = app.conn();
    for i in 0..2 {
        switchboard::domain::inboxes::create(
            &mut conn,
            &app.state.secrets,
            a,
            switchboard::domain::inboxes::NewWhatsappInbox {
                name: format!("Times {i}"),
                phone_number: format!("+1555100{i:04}"),
                phone_number_id: format!("91000{i}"),
                business_account_id: "778".into(),
                api_key: "EAAG-times".into(),
                ..Default::default()
            },
        )
        .unwrap();
    }
    let sql = format!(
        r#"
INSERT INTO users (name, email, encrypted_password, access_token_digest)
  SELECT 'Timer ' || g, 'timer' || g || '@example.com', 'x', md5('timer' || g) FROM generate_series(1, 2) g;
INSERT INTO teams (account_id, name) VALUES ({a}, 'Timers');
INSERT INTO contacts (account_id, name) VALUES ({a}, 'Pat');
INSERT INTO conversations (account_id, inbox_id, contact_id, assignee_id, team_id, labels, created_at, last_activity_at)
  SELECT {a}, x.ibx[1 + g % 2], x.ct, x.us[1 + (g / 2) % 2], CASE WHEN g % 3 = 0 THEN x.tm END,
    CASE WHEN g % 2 = 0 THEN ARRAY['vip'] ELSE ARRAY[]::text[] END,
    timestamptz '2026-02-03 05:00Z' + g * interval '13 hours', timestamptz '2026-02-03 05:00Z' + g * interval '13 hours'
  FROM generate_series(1, 240) g CROSS JOIN (SELECT
    (SELECT array_agg(id ORDER BY id) FROM inboxes WHERE account_id = {a} AND name LIKE 'Times %') AS ibx,
    (SELECT array_agg(id ORDER BY id) FROM users WHERE email LIKE 'timer%') AS us,
    (SELECT id FROM teams WHERE account_id = {a} AND name = 'Timers') AS tm,
    (SELECT id FROM contacts WHERE account_id = {a} AND name = 'Pat') AS ct) x;
SELECT setseed(0.42);
INSERT INTO reporting_events (account_id, inbox_id, conversation_id, user_id, team_id, name, value, value_in_business_hours, event_start_time, event_end_time)
  SELECT c.account_id, c.inbox_id, c.id, c.assignee_id, c.team_id, n.name, v.v, v.v * (0.3 + random() * 0.7),
    c.created_at, c.created_at + k * interval '3 hours'
  FROM conversations c
  CROSS JOIN (VALUES ('first_response', 1), ('reply_time', 2), ('reply_time', 3), ('reply_time', 4), ('conversation_resolved', 5)) AS n(name, k)
  CROSS JOIN LATERAL (SELECT exp(ln(0.2) + random() * (ln(432000) - ln(0.2)) + c.id * 0) AS v) v
  WHERE c.account_id = {a} AND c.inbox_id IN (SELECT id FROM inboxes WHERE name LIKE 'Times %')
    AND NOT (n.name = 'conversation_resolved' AND c.id % 7 = 0);
"#
    );
    conn.batch_execute(&sql).unwrap();
    switchboard::domain::reporting::fold(&mut conn).unwrap();
    let ids = |sql: &str| -> Vec<i64> {
        serde_json::from_value(app.query_json(&format!(
            "SELECT COALESCE(jsonb_agg(id ORDER BY id), '[]') FROM ({sql}) x"
        )))
        .unwrap()
    };
    (
        ids(&format!(
            "SELECT id FROM inboxes WHERE account_id = {a} AND name LIKE 'Times %'"
        )),
        ids("SELECT id FROM users WHERE email LIKE 'timer%'"),
        scalar(
            app,
            &format!("SELECT id FROM teams WHERE account_id = {a} AND name = 'Timers'"),
        ),
    )
}

fn query(app: &TestApp, subject: Subject, bh: bool) -> Query {
    Query {
        account_id: app.account_id,
        visible_inboxes: None,
        subject,
        // Part-months at both ends: 10 Feb 17:00 to 20 Jun 06:00 UTC.
        since: utc(2026, 2, 10, 17),
        until: utc(2026, 6, 20, 6),
        zone: Zone::Named(chrono_tz::Europe::Berlin),
        business_hours: bh,
    }
}

/// The histogram answer equals the exact one: counts, distributions and averages exactly,
/// medians and 90th percentiles within 2% (half a second under one second).
fn agrees(exact: &[TimeStat], approx: &[TimeStat], what: &str) {
    assert_eq!(exact.len(), 3);
    for (e, a) in exact.iter().zip(approx) {
        assert_eq!(e.metric, a.metric);
        assert_eq!(e.count, a.count, "{what} {} count", e.metric);
        assert_eq!(
            e.distribution, a.distribution,
            "{what} {} distribution",
            e.metric
        );
        let close = |x: Option<f64>, y: Option<f64>, tol: f64, part: &str| match (x, y) {
            (Some(x), Some(y)) => assert!(
                (x - y).abs() <= tol * x.abs() + 0.5,
                "{what} {} {part}: exact {x}, histogram {y}",
                e.metric
            ),
            (x, y) => assert_eq!(x.is_some(), y.is_some(), "{what} {} {part}", e.metric),
        };
        close(e.avg, a.avg, 1e-9, "avg");
        close(e.median, a.median, 0.02, "median");
        close(e.p90, a.p90, 0.02, "p90");
    }
}

/// The same answer, up to the last bits of a floating-point sum: counts, distributions
/// exactly, averages and percentiles within a relative 1e-9 (PostgreSQL may add the same
/// durations in another order under another plan, e.g. once a prepared statement's generic
/// plan takes over).
fn same(a: &[TimeStat], b: &[TimeStat], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert_eq!((&x.metric, x.count), (&y.metric, y.count), "{what}");
        assert_eq!(x.distribution, y.distribution, "{what} {}", x.metric);
        for (p, q, part) in [
            (x.avg, y.avg, "avg"),
            (x.median, y.median, "median"),
            (x.p90, y.p90, "p90"),
        ] {
            match (p, q) {
                (Some(p), Some(q)) => assert!(
                    (p - q).abs() <= 1e-9 * p.abs().max(1.0),
                    "{what} {} {part}: {p} against {q}",
                    x.metric
                ),
                (p, q) => assert_eq!(p.is_some(), q.is_some(), "{what} {} {part}", x.metric),
            }
        }
    }
}

fn compare_all(app: &TestApp, conn: &mut PgConnection, inboxes: &[i64], agents: &[i64], team: i64) {
    for bh in [false, true] {
        let mut cases = vec![
            ("account", query(app, Subject::Account, bh)),
            ("inbox", query(app, Subject::Inbox(inboxes[1]), bh)),
            ("agent", query(app, Subject::Agent(agents[0]), bh)),
            ("team", query(app, Subject::Team(team), bh)),
            ("label", query(app, Subject::Label("vip".into()), bh)),
        ];
        let mut visible = query(app, Subject::Account, bh);
        visible.visible_inboxes = Some(vec![inboxes[0]]);
        cases.push(("an agent's inboxes", visible));
        let mut inside = query(app, Subject::Account, bh);
        inside.since = utc(2026, 3, 4, 0);
        inside.until = utc(2026, 3, 25, 0);
        cases.push(("inside one month", inside));
        let mut whole = query(app, Subject::Account, bh);
        whole.since = utc(2026, 3, 1, 0);
        whole.until = utc(2026, 5, 1, 0);
        cases.push(("whole months", whole));
        for (what, q) in cases {
            let exact = times::exact(conn, &q).unwrap();
            assert!(exact[0].count > 0, "{what}: the seed reaches this query");
            let approx = times::from_buckets(&times::histogram(conn, &q).unwrap());
            agrees(&exact, &approx, &format!("{what} (business hours {bh})"));
            // Small ranges are answered exactly by the public entry point, large ones from
            // the histograms.
            same(&times::times(conn, &q).unwrap(), &exact, what);
            same(&times::times_within(conn, &q, 10).unwrap(), &approx, what);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn histograms_agree_with_the_exact_figures_through_corrections_and_a_rebuild() {
    let app = TestApp::start();
    let (inboxes, agents, team) = seed(&app);
    let mut conn = app.conn();
    assert!(
        scalar(&app, "SELECT count(*) FROM reporting_time_monthly") > 0,
        "the fold fills the monthly histograms"
    );
    compare_all(&app, &mut conn, &inboxes, &agents, team);

    // Corrections: a label moves onto and off conversations, facts are removed (a reopened
    // conversation's resolution), and a late fact arrives in an old month.
    let a = app.account_id;
    conn.batch_execute(&format!(
        "UPDATE conversations SET labels = ARRAY['vip'] WHERE account_id = {a} AND id % 5 = 1; \
         UPDATE conversations SET labels = ARRAY[]::text[] WHERE account_id = {a} AND id % 5 = 2; \
         DELETE FROM reporting_events WHERE account_id = {a} AND name = 'conversation_resolved' \
           AND conversation_id % 4 = 0; \
         INSERT INTO reporting_events (account_id, inbox_id, conversation_id, user_id, team_id, name, value, \
           value_in_business_hours, event_end_time) \
         SELECT account_id, inbox_id, id, assignee_id, team_id, 'reply_time', 5000, 2500, \
           timestamptz '2026-03-15 12:00Z' FROM conversations WHERE account_id = {a} AND id % 9 = 0;"
    ))
    .unwrap();
    switchboard::domain::reporting::fold(&mut conn).unwrap();
    compare_all(&app, &mut conn, &inboxes, &agents, team);

    // A rebuild from the facts lands on the same histograms as the incremental folds.
    let snapshot = |app: &TestApp| {
        app.query_json(&format!(
            "SELECT jsonb_build_array( \
               (SELECT jsonb_agg(to_jsonb(t) ORDER BY grain, bh, name, month, inbox_id, dim_id, bucket) \
                  FROM reporting_time_monthly t WHERE account_id = {a} AND count <> 0), \
               (SELECT jsonb_agg(jsonb_build_array(label, bh, name, month, inbox_id, bucket, count) \
                  ORDER BY label, bh, name, month, inbox_id, bucket) \
                  FROM reporting_label_time_monthly t WHERE account_id = {a} AND count <> 0))"
        ))
    };
    let before = snapshot(&app);
    conn.batch_execute(&format!("SELECT reporting_rebuild_rollups({a})"))
        .unwrap();
    let after = snapshot(&app);
    // sum_value may differ in the last bits (a different order of additions).
    let strip = |v: &serde_json::Value| {
        let mut v = v.clone();
        for row in v[0].as_array_mut().unwrap() {
            row.as_object_mut().unwrap().remove("sum_value");
        }
        v
    };
    assert_eq!(strip(&before), strip(&after));
}

#[test]
fn whole_months_are_the_utc_months_inside_the_range() {
    let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap();
    // Part-months at both ends.
    assert_eq!(
        whole_months(utc(2026, 2, 10, 17), utc(2026, 6, 20, 6)),
        (d(2026, 3, 1), d(2026, 6, 1))
    );
    // Exactly on month starts.
    assert_eq!(
        whole_months(utc(2026, 3, 1, 0), utc(2026, 5, 1, 0)),
        (d(2026, 3, 1), d(2026, 5, 1))
    );
    // Across a year end.
    assert_eq!(
        whole_months(utc(2025, 12, 1, 0), utc(2026, 1, 31, 0)),
        (d(2025, 12, 1), d(2026, 1, 1))
    );
    // Inside one month, or less than a whole one across a boundary: none.
    let (a, b) = whole_months(utc(2026, 3, 4, 0), utc(2026, 3, 25, 0));
    assert_eq!(a, b);
    let (a, b) = whole_months(utc(2026, 3, 4, 0), utc(2026, 4, 25, 0));
    assert_eq!(a, b);
}

#[test]
fn a_bucket_stands_within_two_percent_of_anything_in_it() {
    for bucket in [1i16, 5, 104, 209, 1209, 2250, 3270, 4291, 4705] {
        let (lo, hi) = times::bucket_range(bucket);
        assert!(lo < hi, "bucket {bucket}: [{lo}, {hi})");
        let row = times::BucketRow {
            name: "reply_time".into(),
            bucket,
            n: 1,
            s: lo,
        };
        let stat = times::from_buckets(&[row]);
        let v = stat[2].median.unwrap();
        for x in [lo, (lo + hi) / 2.0, hi] {
            assert!(
                (v - x).abs() <= 0.0197 * x,
                "bucket {bucket}: {v} stands for {x}"
            );
        }
    }
}

/// Every label rollup of the account, as JSON, for comparing with a rebuild.
fn label_rollups(app: &TestApp) -> serde_json::Value {
    let a = app.account_id;
    app.query_json(&format!(
        "SELECT jsonb_build_array( \
           (SELECT jsonb_agg(jsonb_build_array(label, name, day, inbox_id, count) \
              ORDER BY label, name, day, inbox_id) FROM reporting_label_daily \
              WHERE account_id = {a} AND count <> 0), \
           (SELECT jsonb_agg(jsonb_build_array(label, name, hour, inbox_id, count) \
              ORDER BY label, name, hour, inbox_id) FROM reporting_label_hourly \
              WHERE account_id = {a} AND count <> 0), \
           (SELECT jsonb_agg(jsonb_build_array(label, bh, name, month, inbox_id, bucket, count) \
              ORDER BY label, bh, name, month, inbox_id, bucket) FROM reporting_label_time_monthly \
              WHERE account_id = {a} AND count <> 0))"
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_label_change_racing_a_fold_leaves_label_rollups_right() {
    use diesel::prelude::*;
    let app = TestApp::start();
    seed(&app);
    let a = app.account_id;
    let conv: i64 = scalar(
        &app,
        &format!(
            "SELECT min(id) FROM conversations WHERE account_id = {a} AND labels = ARRAY['vip']"
        ),
    );
    let new_fact = format!(
        "INSERT INTO reporting_events (account_id, inbox_id, conversation_id, user_id, team_id, name, \
           value, value_in_business_hours, event_end_time) \
         SELECT account_id, inbox_id, id, assignee_id, team_id, 'reply_time', 700, 350, \
           timestamptz '2026-04-02 10:00Z' FROM conversations WHERE id = {conv}"
    );

    // 1. The fold goes first: it folds the conversation's new fact under `vip` and holds its
    //    transaction open; the label change must wait for it, then move the folded fact.
    let mut folder = app.conn();
    let mut other = app.conn();
    other.batch_execute(&new_fact).unwrap();
    folder.batch_execute("BEGIN").unwrap();
    assert!(switchboard::domain::reporting::fold(&mut folder).unwrap() >= 1);
    let pool = app.state.pool.clone();
    let change = std::thread::spawn(move || {
        let mut c = pool.get().unwrap();
        diesel::sql_query(format!(
            "UPDATE conversations SET labels = ARRAY['gold'] WHERE id = {conv}"
        ))
        .execute(&mut c)
        .unwrap();
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !change.is_finished(),
        "the label change waits for the fold in flight"
    );
    folder.batch_execute("COMMIT").unwrap();
    change.join().unwrap();
    let incremental = label_rollups(&app);
    assert!(
        incremental.to_string().contains("\"gold\""),
        "the folded fact moved to the new label"
    );
    folder
        .batch_execute(&format!("SELECT reporting_rebuild_rollups({a})"))
        .unwrap();
    assert_eq!(incremental, label_rollups(&app), "after a fold went first");

    // 2. The label change goes first (uncommitted): a fold leaves that conversation's new
    //    fact pending instead of filing it under the labels it can see.
    other.batch_execute(&new_fact).unwrap();
    other.batch_execute("BEGIN").unwrap();
    other
        .batch_execute(&format!(
            "UPDATE conversations SET labels = ARRAY['vip', 'late'] WHERE id = {conv}"
        ))
        .unwrap();
    switchboard::domain::reporting::fold(&mut folder).unwrap();
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT count(*) FROM reporting_pending WHERE conversation_id = {conv}")
        ),
        1,
        "the fact waits for the label change"
    );
    other.batch_execute("COMMIT").unwrap();
    switchboard::domain::reporting::fold(&mut folder).unwrap();

    let incremental = label_rollups(&app);
    folder
        .batch_execute(&format!("SELECT reporting_rebuild_rollups({a})"))
        .unwrap();
    assert_eq!(
        incremental,
        label_rollups(&app),
        "after a label change went first"
    );
    assert!(
        incremental.to_string().contains("\"late\""),
        "the new label carries the fact"
    );
}
