//! Issue 14 (reports) benchmark, `--ignored` (run by `scripts/bench-reports`, release build):
//! seeds 100,000 conversations and 1,000,000 messages over a year with generate_series SQL
//! straight into the tables (reporting facts and rollups included), then prints the p95
//! server time of every report (30-day and 365-day ranges) and of the live overview.
//! Targets: every report <= 200 ms, the overview <= 50 ms. Figures only; nothing asserted.

use crate::common::*;
use diesel::connection::SimpleConnection;
use std::time::Instant;
use switchboard::domain::reports::{self, By, GroupBy, Query, Subject, Zone};

const SEED: &str = r#"
INSERT INTO users (name, email, encrypted_password, access_token_digest)
  SELECT 'Agent ' || g, 'bench' || g || '@example.com', 'x', md5('bench' || g) FROM generate_series(1, 20) g;
INSERT INTO account_users (account_id, user_id, role, availability)
  SELECT {a}, id, 'agent', (ARRAY['online','busy','offline'])[1 + id % 3] FROM users WHERE email LIKE 'bench%';
INSERT INTO teams (account_id, name) SELECT {a}, 'Team ' || g FROM generate_series(1, 4) g;
INSERT INTO labels (account_id, title, description, color, show_on_sidebar)
  SELECT {a}, 'label' || g, '', '#1f93ff', true FROM generate_series(1, 10) g;
INSERT INTO contacts (account_id, name) SELECT {a}, 'Contact ' || g FROM generate_series(1, 50000) g;
ALTER TABLE reporting_events DISABLE TRIGGER reporting_events_added;
INSERT INTO conversations (account_id, inbox_id, contact_id, status, assignee_id, team_id, labels, created_at, last_activity_at, waiting_since)
  SELECT {a}, x.ibx[1 + g % 5], x.cts + g % 50000,
    CASE WHEN g % 100 < 95 THEN 'resolved' WHEN g % 100 < 98 THEN 'open' ELSE 'pending' END,
    CASE WHEN g % 10 = 0 THEN NULL ELSE x.agents[1 + g % 20] END,
    CASE WHEN g % 3 = 0 THEN NULL ELSE x.tms[1 + g % 4] END,
    CASE WHEN g % 4 = 0 THEN ARRAY[]::text[] ELSE ARRAY['label' || (1 + g % 10)] END,
    now() - (g * interval '{step} seconds'), now() - (g * interval '{step} seconds'),
    CASE WHEN g % 100 >= 95 AND g % 2 = 0 THEN now() - (g * interval '{step} seconds') END
  FROM generate_series(1, {n}) g CROSS JOIN (SELECT
    (SELECT array_agg(id ORDER BY id) FROM inboxes WHERE account_id = {a}) AS ibx,
    (SELECT min(id) FROM contacts WHERE account_id = {a}) AS cts,
    (SELECT array_agg(id ORDER BY id) FROM users WHERE email LIKE 'bench%') AS agents,
    (SELECT array_agg(id ORDER BY id) FROM teams WHERE account_id = {a}) AS tms) x;
INSERT INTO messages (account_id, inbox_id, conversation_id, message_type, content, content_type, content_attributes, private, status, sender_type, sender_id, created_at, updated_at)
  SELECT c.account_id, c.inbox_id, c.id, (k % 2)::int2, 'message ' || k, 'text', '{}', false, 'delivered',
    CASE WHEN k % 2 = 0 THEN 'Contact' ELSE 'User' END, CASE WHEN k % 2 = 0 THEN c.contact_id ELSE c.assignee_id END,
    c.created_at + k * interval '4 minutes', c.created_at + k * interval '4 minutes'
  FROM conversations c CROSS JOIN generate_series(0, 9) k WHERE c.account_id = {a};
INSERT INTO reporting_events (account_id, inbox_id, conversation_id, user_id, team_id, name, value, value_in_business_hours, event_start_time, event_end_time, message_id, detail, category)
  SELECT m.account_id, m.inbox_id, m.conversation_id, COALESCE(CASE WHEN m.sender_type = 'User' THEN m.sender_id END, c.assignee_id), c.team_id,
    CASE WHEN m.message_type = 0 THEN 'message_received' ELSE 'message_sent' END, NULL, NULL, NULL, m.created_at, m.id, NULL, NULL
  FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.account_id = {a};
INSERT INTO reporting_events (account_id, inbox_id, conversation_id, user_id, team_id, name, value, value_in_business_hours, event_start_time, event_end_time)
  SELECT account_id, inbox_id, id, assignee_id, team_id, 'conversation_created', NULL, NULL, NULL, created_at FROM conversations WHERE account_id = {a};
INSERT INTO reporting_events (account_id, inbox_id, conversation_id, user_id, team_id, name, value, value_in_business_hours, event_start_time, event_end_time)
  SELECT account_id, inbox_id, id, assignee_id, team_id, 'first_response', 240 + (id % 97) * 37, 200 + (id % 97) * 20, created_at, created_at + interval '4 minutes' FROM conversations WHERE account_id = {a};
INSERT INTO reporting_events (account_id, inbox_id, conversation_id, user_id, team_id, name, value, value_in_business_hours, event_start_time, event_end_time)
  SELECT c.account_id, c.inbox_id, c.id, c.assignee_id, c.team_id, 'reply_time', 240 + (c.id % 13) * 60, 240 + (c.id % 13) * 30, c.created_at + k * interval '8 minutes', c.created_at + k * interval '8 minutes' + interval '4 minutes'
  FROM conversations c CROSS JOIN generate_series(1, 4) k WHERE c.account_id = {a};
INSERT INTO reporting_events (account_id, inbox_id, conversation_id, user_id, team_id, name, value, value_in_business_hours, event_start_time, event_end_time)
  SELECT account_id, inbox_id, id, assignee_id, team_id, 'conversation_resolved', 3600 + (id % 211) * 300, 1800 + (id % 211) * 100, created_at, created_at + interval '1 hour' + (id % 211) * interval '5 minutes'
  FROM conversations WHERE account_id = {a} AND status = 'resolved';
INSERT INTO reporting_events (account_id, inbox_id, conversation_id, user_id, team_id, name, event_end_time, detail, category)
  SELECT account_id, inbox_id, id, assignee_id, team_id, 'template_sent', created_at, 'template_' || (id % 7), (ARRAY['MARKETING','UTILITY','AUTHENTICATION'])[1 + id % 3]
  FROM conversations WHERE account_id = {a} AND id % 10 = 0;
INSERT INTO reporting_events (account_id, inbox_id, conversation_id, user_id, team_id, name, event_end_time, detail)
  SELECT account_id, inbox_id, id, assignee_id, team_id, 'message_failed', created_at, (ARRAY['131047','131026','130472'])[1 + id % 3]
  FROM conversations WHERE account_id = {a} AND id % 100 = 0;
INSERT INTO reporting_events (account_id, inbox_id, conversation_id, user_id, team_id, name, event_end_time)
  SELECT account_id, inbox_id, id, assignee_id, team_id, 'window_closed_unanswered', created_at + interval '1 day'
  FROM conversations WHERE account_id = {a} AND id % 20 = 0;
SELECT reporting_rebuild_rollups({a});
ALTER TABLE reporting_events ENABLE TRIGGER reporting_events_added;
INSERT INTO csat_survey_responses (account_id, inbox_id, conversation_id, contact_id, assigned_agent_id, scale, rating, feedback_message, rated_at, created_at)
  SELECT account_id, inbox_id, id, contact_id, assignee_id, '1-5', CASE WHEN id % 3 = 0 THEN NULL ELSE 1 + id % 5 END,
    CASE WHEN id % 7 = 0 THEN 'comment ' || id END, created_at + interval '2 hours', created_at + interval '1 hour'
  FROM conversations WHERE account_id = {a} AND id % 5 = 0;
"#;

fn p95(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    ms[((ms.len() as f64) * 0.95).ceil() as usize - 1]
}

#[actix_rt::test]
#[ignore]
async fn bench_reports() {
    let app = TestApp::start();
    let mut conn = app.conn();
    for i in 0..5 {
        switchboard::domain::inboxes::create(
            &mut conn,
            &app.state.secrets,
            app.account_id,
            switchboard::domain::inboxes::NewWhatsappInbox {
                name: format!("Inbox {i}"),
                phone_number: format!("+1555000{i:04}"),
                phone_number_id: format!("90000{i}"),
                business_account_id: "777".into(),
                api_key: "EAAG-bench".into(),
                ..Default::default()
            },
        )
        .unwrap();
    }
    let started = Instant::now();
    // BENCH_CONVERSATIONS (default 100,000) spread over a year; 10 messages each.
    let n: i64 = std::env::var("BENCH_CONVERSATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let step = 31_536_000.0 / n as f64;
    conn.batch_execute(
        &SEED
            .replace("{a}", &app.account_id.to_string())
            .replace("{n}", &n.to_string())
            .replace("{step}", &format!("{step:.3}")),
    )
    .unwrap();
    // As autovacuum would: the visibility map lets the covering indexes answer alone.
    conn.batch_execute("VACUUM ANALYZE").unwrap();
    println!("seeded in {:.1} s", started.elapsed().as_secs_f64());
    for (what, sql) in [
        ("conversations", "SELECT count(*) FROM conversations"),
        ("messages", "SELECT count(*) FROM messages"),
        ("reporting_events", "SELECT count(*) FROM reporting_events"),
        (
            "reporting_rollups (hourly)",
            "SELECT count(*) FROM reporting_rollups",
        ),
        ("reporting_daily", "SELECT count(*) FROM reporting_daily"),
        (
            "reporting_time_monthly",
            "SELECT count(*) FROM reporting_time_monthly",
        ),
        (
            "reporting_label_daily",
            "SELECT count(*) FROM reporting_label_daily",
        ),
        (
            "reporting_label_hourly",
            "SELECT count(*) FROM reporting_label_hourly",
        ),
    ] {
        println!(
            "{what}: {}",
            app.query_json(&format!("SELECT to_jsonb(({sql}))"))
        );
    }
    let now = chrono::Utc::now();
    let zone = Zone::Named(chrono_tz::Europe::Berlin);
    let agent_id: i64 = serde_json::from_value(
        app.query_json("SELECT to_jsonb((SELECT min(id) FROM users WHERE email LIKE 'bench%'))"),
    )
    .unwrap();
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut worst: f64 = 0.0;
    for days in [30i64, 365] {
        let q = Query {
            account_id: app.account_id,
            visible_inboxes: None,
            subject: Subject::Account,
            since: now - chrono::Duration::days(days),
            until: now,
            zone,
            business_hours: false,
        };
        let agent_q = Query {
            visible_inboxes: Some(vec![]),
            ..q.clone()
        };
        type Job<'a> = (&'a str, Box<dyn Fn(&mut diesel::PgConnection) + 'a>);
        let jobs: Vec<Job> = vec![
            (
                "summary (totals + previous)",
                Box::new(|c| {
                    reports::totals(c, &q).unwrap();
                    reports::totals(
                        c,
                        &Query {
                            since: q.since - (q.until - q.since),
                            until: q.since,
                            ..q.clone()
                        },
                    )
                    .unwrap();
                }),
            ),
            (
                "series conversations_count by day",
                Box::new(|c| {
                    reports::series(c, &q, "conversations_count", GroupBy::Day).unwrap();
                }),
            ),
            (
                "series conversations_count by day, Asia/Kolkata",
                Box::new(|c| {
                    reports::series(
                        c,
                        &Query {
                            zone: Zone::Named(chrono_tz::Asia::Kolkata),
                            ..q.clone()
                        },
                        "conversations_count",
                        GroupBy::Day,
                    )
                    .unwrap();
                }),
            ),
            (
                "series windows_closed_unanswered by day",
                Box::new(|c| {
                    reports::series(c, &q, "windows_closed_unanswered", GroupBy::Day).unwrap();
                }),
            ),
            (
                "series avg_first_response_time by week",
                Box::new(|c| {
                    reports::series(c, &q, "avg_first_response_time", GroupBy::Week).unwrap();
                }),
            ),
            (
                "series outgoing_messages_count by month",
                Box::new(|c| {
                    reports::series(c, &q, "outgoing_messages_count", GroupBy::Month).unwrap();
                }),
            ),
            (
                "times (median/p90, business hours)",
                Box::new(|c| {
                    reports::times(
                        c,
                        &Query {
                            business_hours: true,
                            ..q.clone()
                        },
                    )
                    .unwrap();
                }),
            ),
            (
                "times, one agent",
                Box::new(|c| {
                    reports::times(
                        c,
                        &Query {
                            subject: Subject::Agent(agent_id),
                            ..q.clone()
                        },
                    )
                    .unwrap();
                }),
            ),
            (
                "times, label subject",
                Box::new(|c| {
                    reports::times(
                        c,
                        &Query {
                            subject: Subject::Label("label3".into()),
                            ..q.clone()
                        },
                    )
                    .unwrap();
                }),
            ),
            (
                "breakdown by agent",
                Box::new(|c| {
                    reports::breakdown(c, &q, By::Agent).unwrap();
                }),
            ),
            (
                "breakdown by inbox",
                Box::new(|c| {
                    reports::breakdown(c, &q, By::Inbox).unwrap();
                }),
            ),
            (
                "breakdown by team",
                Box::new(|c| {
                    reports::breakdown(c, &q, By::Team).unwrap();
                }),
            ),
            (
                "breakdown by label",
                Box::new(|c| {
                    reports::breakdown(c, &q, By::Label).unwrap();
                }),
            ),
            (
                "label subject summary",
                Box::new(|c| {
                    reports::totals(
                        c,
                        &Query {
                            subject: Subject::Label("label3".into()),
                            ..q.clone()
                        },
                    )
                    .unwrap();
                }),
            ),
            (
                "csat",
                Box::new(|c| {
                    reports::csat(c, &q).unwrap();
                }),
            ),
            (
                "whatsapp templates + failures",
                Box::new(|c| {
                    reports::templates(c, &q).unwrap();
                    reports::failures(c, &q).unwrap();
                }),
            ),
            (
                "agent with no inboxes: summary",
                Box::new(|c| {
                    reports::totals(c, &agent_q).unwrap();
                }),
            ),
            (
                "export conversations csv (report)",
                Box::new(|c| {
                    reports::csv::report(c, &q, "conversations", GroupBy::Day).unwrap();
                }),
            ),
        ];
        for (name, job) in &jobs {
            let mut times = vec![];
            for _ in 0..runs {
                let t = Instant::now();
                job(&mut conn);
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            let v = p95(times);
            worst = worst.max(v);
            println!("{days:>3} days  {name:<42} p95 {v:>8.1} ms");
        }
    }
    let mut times = vec![];
    for _ in 0..runs {
        let t = Instant::now();
        reports::live::overview(&mut conn, app.account_id, None).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "overview (live)                                    p95 {:>8.1} ms",
        p95(times)
    );
    println!("worst report p95 {worst:.1} ms (target 200 ms); overview target 50 ms");
    // Per-conversation export of a year, streamed page by page.
    let q = Query {
        account_id: app.account_id,
        visible_inboxes: None,
        subject: Subject::Account,
        since: now - chrono::Duration::days(365),
        until: now,
        zone,
        business_hours: false,
    };
    let t = Instant::now();
    let mut out = reports::csv::conversations_header();
    let mut after = None;
    let mut pages = vec![];
    loop {
        let p = Instant::now();
        let next = reports::csv::conversations_page(
            &mut conn,
            &q,
            after,
            reports::csv::PAGE_ROWS,
            &mut out,
        )
        .unwrap();
        pages.push(p.elapsed().as_secs_f64() * 1000.0);
        match next {
            Some(last) => after = Some(last),
            None => break,
        }
    }
    if std::env::var("BENCH_EXPLAIN").is_ok() {
        #[derive(diesel::QueryableByName)]
        struct Plan {
            #[diesel(sql_type = diesel::sql_types::Text)]
            #[diesel(column_name = "QUERY PLAN")]
            line: String,
        }
        use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
        use diesel::RunQueryDsl;
        let plan: Vec<Plan> = diesel::sql_query(format!(
            "EXPLAIN (ANALYZE, BUFFERS) {}",
            reports::csv::CONVERSATION_ROWS_SQL
        ))
        .bind::<BigInt, _>(app.account_id)
        .bind::<Timestamptz, _>(q.since)
        .bind::<Timestamptz, _>(q.until)
        .bind::<BigInt, _>(0)
        .bind::<Nullable<Array<BigInt>>, _>(None::<Vec<i64>>)
        .bind::<Nullable<BigInt>, _>(None::<i64>)
        .bind::<Nullable<BigInt>, _>(None::<i64>)
        .bind::<Nullable<BigInt>, _>(None::<i64>)
        .bind::<Nullable<Text>, _>(None::<String>)
        .bind::<BigInt, _>(reports::csv::PAGE_ROWS)
        .bind::<Nullable<Timestamptz>, _>(None::<chrono::DateTime<chrono::Utc>>)
        .load(&mut conn)
        .unwrap();
        for p in plan {
            println!("{}", p.line);
        }
    }
    println!(
        "per-conversation CSV of a year: {} bytes in {:.0} ms, {} pages of {} rows, page p95 {:.1} ms (first bytes after one page)",
        out.len(),
        t.elapsed().as_secs_f64() * 1000.0,
        pages.len(),
        reports::csv::PAGE_ROWS,
        p95(pages)
    );
}

/// Issue 14: the rollup trigger keeps up with ingest. Inserts BENCH_FACTS (default 20,000)
/// message facts one statement at a time, in transactions of BENCH_BATCH (default 50: the
/// ingest worker commits a claimed batch of webhook events; one commit per fact measures
/// the disk's fsync instead), with the trigger (which only appends to `reporting_pending`)
/// and without, then times the fold of all of them into the rollups (hourly, three daily
/// grains, labels) as the reports worker does every second; into
/// conversations half of which carry two labels, first with the trigger (hourly, three daily
/// grains and the label rollups) and then without it; prints facts per second and the
/// trigger's cost per fact. A WhatsApp message records one fact (received or sent), a reply
/// at most two, so 1,000 messages/s needs at most ~2,000 facts/s.
#[actix_rt::test]
#[ignore]
async fn bench_rollup_ingest() {
    use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
    use diesel::RunQueryDsl;
    let app = TestApp::start();
    let mut conn = app.conn();
    let a = app.account_id;
    let inbox = app.create_inbox_direct().0.id;
    let n: usize = std::env::var("BENCH_FACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    conn.batch_execute(&format!(
        "INSERT INTO contacts (account_id, name) VALUES ({a}, 'Ingest');
         INSERT INTO conversations (account_id, inbox_id, contact_id, labels, last_activity_at)
           SELECT {a}, {inbox}, (SELECT max(id) FROM contacts),
             CASE WHEN g % 2 = 0 THEN ARRAY['billing', 'vip'] ELSE ARRAY[]::text[] END, now()
           FROM generate_series(1, 200) g;"
    ))
    .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let convs: Vec<i64> = diesel::sql_query(format!(
        "SELECT id FROM conversations WHERE account_id = {a} ORDER BY id"
    ))
    .load::<Id>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect();
    let start = chrono::Utc::now() - chrono::Duration::days(2);
    let batch: usize = std::env::var("BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let run = |label: &str, conn: &mut diesel::PgConnection| -> f64 {
        let t = Instant::now();
        for i in 0..n {
            if i % batch == 0 {
                if i > 0 {
                    conn.batch_execute("COMMIT").unwrap();
                }
                conn.batch_execute("BEGIN").unwrap();
            }
            diesel::sql_query(
                "INSERT INTO reporting_events (account_id, inbox_id, conversation_id, user_id, \
                 team_id, name, event_end_time) VALUES ($1, $2, $3, $4, NULL, $5, $6)",
            )
            .bind::<BigInt, _>(a)
            .bind::<BigInt, _>(inbox)
            .bind::<BigInt, _>(convs[i % convs.len()])
            .bind::<Nullable<BigInt>, _>((i % 3 != 0).then_some((i % 20) as i64 + 1))
            .bind::<Text, _>(if i % 2 == 0 {
                "message_received"
            } else {
                "message_sent"
            })
            .bind::<Timestamptz, _>(start + chrono::Duration::milliseconds(i as i64 * 7))
            .execute(conn)
            .unwrap();
        }
        conn.batch_execute("COMMIT").unwrap();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{label:<34} {n} facts in {secs:.2} s: {:>7.0} facts/s, {:>6.1} µs per fact",
            n as f64 / secs,
            secs * 1e6 / n as f64
        );
        secs
    };
    let with = run("with the rollup trigger", &mut conn);
    let t = Instant::now();
    let folded = switchboard::domain::reporting::fold(&mut conn).unwrap();
    let fold_secs = t.elapsed().as_secs_f64();
    println!(
        "fold of {folded} pending facts into the rollups: {:.0} ms, {:.1} µs per fact",
        fold_secs * 1000.0,
        fold_secs * 1e6 / folded.max(1) as f64
    );
    conn.batch_execute("ALTER TABLE reporting_events DISABLE TRIGGER reporting_events_added")
        .unwrap();
    let without = run("without it", &mut conn);
    conn.batch_execute("ALTER TABLE reporting_events ENABLE TRIGGER reporting_events_added")
        .unwrap();
    let per_fact_us = (with - without + fold_secs) * 1e6 / n as f64;
    println!(
        "rollup cost (trigger + fold) {per_fact_us:.1} µs per fact: at 1,000 messages/s (~2,000 facts/s) it takes {:.1}% of one connection's time",
        per_fact_us * 2000.0 / 1e4
    );
}
