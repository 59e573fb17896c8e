//! Issue 13's speed targets (ops13), as an ignored benchmark that prints its figures:
//! "with 500 rules, 200 agents and 1,000 messages per second arriving, rules add <= 2 ms p99
//! to ingest per message, and assignment decisions are made within 100 ms of the event".
//!
//! Run in release (`scripts/bench-rules`, or
//! `cargo test --release --test api ops13_bench:: -- --ignored --nocapture`). It starts every
//! worker of a server (`app::spawn_workers`: ingest, automation, auto-assignment, realtime
//! LISTEN/NOTIFY) with a server's defaults (2 ingest workers, 16 connections), journals `BENCH_RATE` (1,000) WhatsApp deliveries a second for `BENCH_SECONDS` (10;
//! one in ten from a new customer, so 100 new conversations per second to assign), and prints:
//! - what rules add to ingest per message: the time of `automation::enqueue_matched` for a
//!   unit of 100 messages (the one statement an ingest unit runs for rules, after the rule
//!   probe in `events::store`'s statement; every message of the unit waits for it, so its
//!   time is what rules add to each), sampled under that load;
//! - the ingest lag (webhook journaled → processed), with 500 rules;
//! - assignment: from a conversation's `conversation.created` to its `assignee.changed`
//!   (both `realtime_events.created_at`, the start of each transaction: this includes the
//!   rest of the ingest unit that created the conversation, up to 100 deliveries), and from
//!   the moment the conversation is visible (its unit committed) to the moment it is seen
//!   assigned, both polled every 10 ms.

use crate::common::*;
use diesel::prelude::*;
use serde_json::json;
use std::time::{Duration, Instant};
use switchboard::domain::automation;

fn body(from: &str, wamid: &str, text: &str) -> String {
    text_delivery(from, wamid, text)
}

fn pct(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[(((v.len() as f64) * q).ceil() as usize).clamp(1, v.len()) - 1]
}

/// Messages in one sampled ingest unit.
const UNIT: i64 = switchboard::jobs::ingest::BATCH_SIZE as i64;

#[derive(QueryableByName)]
struct Ms {
    #[diesel(sql_type = diesel::sql_types::Double)]
    ms: f64,
}

#[actix_rt::test]
#[ignore]
async fn bench_500_rules_200_agents_1000_messages_per_second() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let rate: u64 = std::env::var("BENCH_RATE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    // A server's defaults (`INGEST_WORKERS` 2, `DATABASE_POOL_SIZE` 16), not the tests' 1 and 6.
    let app = TestApp::start_with(Options {
        ingest_workers: Some(2),
        database_pool_size: Some(16),
        ..Default::default()
    });
    let inbox = app.create_inbox_direct();
    let inbox_id = inbox.0.id;
    let mut conn = app.conn();
    diesel::sql_query(format!(
        "UPDATE inboxes SET enable_auto_assignment = true WHERE id = {inbox_id}"
    ))
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(format!(
        "WITH u AS (INSERT INTO users (name, email, encrypted_password, access_token_digest) \
           SELECT 'Agent ' || k, 'bench' || k || '@example.com', 'x', md5('bench' || k) \
           FROM generate_series(1, 200) k RETURNING id), \
         au AS (INSERT INTO account_users (account_id, user_id, role) SELECT {acc}, id, 'agent' FROM u) \
         INSERT INTO inbox_members (inbox_id, user_id) SELECT {inbox_id}, id FROM u",
        acc = app.account_id
    ))
    .execute(&mut conn)
    .unwrap();
    for i in 0..500 {
        let rule = json!({"name": format!("rule {i}"), "event_name": "message_created",
            "conditions": [{"attribute_key": "content", "filter_operator": "contains",
                            "values": [format!("word{i}")]}],
            "actions": [{"action_name": "add_label", "action_params": [format!("l{i}")]}]});
        automation::create(&mut conn, app.account_id, rule.as_object().unwrap(), false).unwrap();
    }
    switchboard::app::spawn_workers(&app.state);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The load: `rate` deliveries a second, in ticks of 10 ms.
    let state = app.state.clone();
    let load = tokio::spawn(async move {
        let per_tick = (rate / 100).max(1) as usize;
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let mut n: u64 = 0;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(seconds) {
            tick.tick().await;
            let entries: Vec<(i64, String, String)> = (0..per_tick)
                .map(|_| {
                    n += 1;
                    let from = if n.is_multiple_of(10) {
                        format!("1650{:07}", n)
                    } else {
                        format!("1651{:07}", n % 100)
                    };
                    let text = format!("hello word{} how are you", n % 700);
                    (
                        inbox_id,
                        PHONE.to_string(),
                        body(&from, &format!("wamid.b{n}"), &text),
                    )
                })
                .collect();
            state
                .db(move |conn| switchboard::jobs::ingest::journal_many(conn, &entries))
                .await
                .expect("journal");
        }
        n
    });

    // Watcher: polls every 10 ms which conversations are visible and which are assigned, so
    // assignment is also measured from the moment its event is visible to anyone (the
    // ingest unit's commit), not only from the unit's transaction start.
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let pool = app.state.pool.clone();
        let watching = watching.clone();
        std::thread::spawn(move || {
            #[derive(QueryableByName)]
            struct Seen {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                id: i64,
                #[diesel(sql_type = diesel::sql_types::Bool)]
                assigned: bool,
            }
            let mut conn = pool.get().unwrap();
            let mut first: std::collections::HashMap<i64, (Instant, Option<Instant>)> =
                Default::default();
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                let rows: Vec<Seen> = diesel::sql_query(
                    "SELECT id, assignee_id IS NOT NULL AS assigned FROM conversations",
                )
                .load(&mut conn)
                .unwrap_or_default();
                let now = Instant::now();
                for r in rows {
                    let e = first.entry(r.id).or_insert((now, None));
                    if r.assigned && e.1.is_none() {
                        e.1 = Some(now);
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            first
                .values()
                .filter_map(|(v, a)| a.map(|a| (a - *v).as_secs_f64() * 1000.0))
                .collect::<Vec<f64>>()
        })
    };

    // Under the load: what rules add to one message's ingest transaction.
    let conversation_id: i64 = loop {
        let id: Option<i64> = switchboard::db::schema::conversations::table
            .select(switchboard::db::schema::conversations::id)
            .first(&mut conn)
            .optional()
            .unwrap();
        if let Some(id) = id {
            break id;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // One sample: the rules' statement of an ingest unit of 100 messages (`events::store`
    // queues a unit's rule jobs in one `enqueue_matched`), rolled back.
    let payloads: Vec<serde_json::Value> = (1..=UNIT)
        .map(|m| json!({"message_id": m, "message_type": 0, "private": false, "status": "sent"}))
        .collect();
    let unit: Vec<automation::RuleEvent<'_>> = payloads
        .iter()
        .map(|p| (app.account_id, conversation_id, "message.created", p))
        .collect();
    // The other half of what rules cost a unit: `events::store`'s statement asks, per event,
    // whether its account has an active rule for it. Here the same probe is its own
    // statement (a round trip that ingest does not pay), timed before each insert.
    let probe_accounts = vec![app.account_id; UNIT as usize];
    let probe_names = vec!["message_created"; UNIT as usize];
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut enqueue = vec![];
    let mut probe = vec![];
    let mut both = vec![];
    let mut floor = vec![];
    while !load.is_finished() {
        conn.transaction(|c| {
            for _ in 0..2 {
                // The floor: any round trip under this load (no rule in it).
                let t = Instant::now();
                diesel::sql_query("SELECT 1").execute(c).expect("select 1");
                floor.push(t.elapsed().as_secs_f64() * 1000.0);
                let t = Instant::now();
                let matched: Count = diesel::sql_query(
                    "SELECT count(*)::int8 AS n FROM unnest($1::int8[], $2::text[]) \
                       AS v(account_id, rule_events) \
                     WHERE v.rule_events <> '' AND EXISTS (SELECT 1 FROM automation_rules r \
                       WHERE r.account_id = v.account_id AND r.active \
                       AND r.event_name = ANY (string_to_array(v.rule_events, ',')))",
                )
                .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(&probe_accounts)
                .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&probe_names)
                .get_result(c)
                .expect("probe");
                assert_eq!(matched.n, UNIT);
                let probed = t.elapsed().as_secs_f64() * 1000.0;
                let t = Instant::now();
                let queued = automation::enqueue_matched(c, &unit).expect("enqueue");
                let inserted = t.elapsed().as_secs_f64() * 1000.0;
                probe.push(probed);
                enqueue.push(inserted);
                both.push(probed + inserted);
                assert_eq!(queued, unit.len());
            }
            Err::<(), diesel::result::Error>(diesel::result::Error::RollbackTransaction)
        })
        .ok();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent = load.await.unwrap();
    // Let ingest and the workers catch up (at most 60 s).
    let caught_up = Instant::now();
    loop {
        let left: i64 = switchboard::jobs::ingest::backlog(&mut conn).unwrap();
        let unassigned = app.count("conversations WHERE assignee_id IS NULL AND status = 'open'");
        if (left == 0 && unassigned == 0) || caught_up.elapsed() > Duration::from_secs(60) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut visible_to_assigned = watcher.join().unwrap();
    let stored = app.count("messages WHERE message_type = 0");
    let lag: Vec<Ms> = diesel::sql_query(
        "SELECT (EXTRACT(EPOCH FROM (processed_at - received_at)) * 1000.0)::float8 AS ms \
         FROM whatsapp_events WHERE processed_at IS NOT NULL",
    )
    .load(&mut conn)
    .unwrap_or_default();
    let mut lag: Vec<f64> = lag.into_iter().map(|m| m.ms).collect();
    let assign: Vec<Ms> = diesel::sql_query(
        "SELECT (EXTRACT(EPOCH FROM (a.at - c.created_at)) * 1000.0)::float8 AS ms \
         FROM realtime_events c \
         JOIN LATERAL (SELECT min(created_at) AS at FROM realtime_events a \
           WHERE a.conversation_id = c.conversation_id AND a.name = 'assignee.changed') a ON a.at IS NOT NULL \
         WHERE c.name = 'conversation.created'",
    )
    .load(&mut conn)
    .unwrap();
    let mut assign: Vec<f64> = assign.into_iter().map(|m| m.ms).collect();
    let conversations = app.count("conversations");
    let runs = app.count("automation_runs");
    let pending_rules = app.count("jobs WHERE kind = 'automation' AND status <> 'done'");
    println!(
        "load: {sent} deliveries in {seconds} s ({rate}/s offered); {stored} messages stored, \
         {conversations} conversations, {runs} rule runs, {pending_rules} rule jobs not done"
    );
    let per_message: Vec<f64> = both.iter().map(|ms| ms / UNIT as f64).collect();
    println!(
        "rules on the ingest path (enqueue_matched for a unit of {UNIT} messages, 500 rules, \
         under load): n={} p50 {:.3} ms p99 {:.3} ms max {:.3} ms per unit \
         (each message of the unit waits for it); probe + insert per message p99 {:.4} ms",
        enqueue.len(),
        pct(&mut enqueue, 0.5),
        pct(&mut enqueue, 0.99),
        pct(&mut enqueue, 1.0),
        pct(&mut per_message.clone(), 0.99)
    );
    println!(
        "rule probe for the same unit (its own round trip here): p50 {:.3} ms p99 {:.3} ms; \
         probe + insert: p50 {:.3} ms p99 {:.3} ms per unit",
        pct(&mut probe, 0.5),
        pct(&mut probe, 0.99),
        pct(&mut both, 0.5),
        pct(&mut both, 0.99)
    );
    println!(
        "any round trip under the same load (SELECT 1, the floor of each figure above): \
         p50 {:.3} ms p99 {:.3} ms",
        pct(&mut floor, 0.5),
        pct(&mut floor, 0.99)
    );
    if !lag.is_empty() {
        println!(
            "ingest lag (journaled -> processed): n={} p50 {:.1} ms p99 {:.1} ms",
            lag.len(),
            pct(&mut lag, 0.5),
            pct(&mut lag, 0.99)
        );
    }
    println!(
        "assignment (conversation.created -> assignee.changed, 200 agents): n={} p50 {:.1} ms p99 {:.1} ms max {:.1} ms",
        assign.len(),
        pct(&mut assign, 0.5),
        pct(&mut assign, 0.99),
        pct(&mut assign, 1.0)
    );
    println!(
        "assignment (conversation visible -> assigned, polled every 10 ms): n={} p50 {:.1} ms p99 {:.1} ms max {:.1} ms",
        visible_to_assigned.len(),
        pct(&mut visible_to_assigned, 0.5),
        pct(&mut visible_to_assigned, 0.99),
        pct(&mut visible_to_assigned, 1.0)
    );
}
