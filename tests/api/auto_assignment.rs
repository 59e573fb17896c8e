//! Issue 13: agent availability (automatic offline) and auto-assignment (round-robin among
//! online members, capacity, the queue oldest first), called through the domain without
//! HTTP, plus the concurrency test (many connections and workers on one database) and the
//! assignment-decision benchmark (ignored; run with `--ignored --nocapture`).

use crate::common::*;
use diesel::prelude::*;
use diesel::RunQueryDsl;
use serde_json::Value;
use std::time::{Duration, Instant};
use switchboard::domain::accounts::{Role, Viewer};
use switchboard::domain::profile::{self, Availability};
use switchboard::domain::{auto_assignment, availability, conversations};

/// Adds `n` agents named "Agent 1"… (SQL, no password hashing) as members of `inbox_id`
/// with availability `online`; returns their ids in order.
fn agents(app: &TestApp, inbox_id: i64, n: usize, prefix: &str) -> Vec<i64> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let rows: Vec<Id> = diesel::sql_query(format!(
        "WITH u AS (INSERT INTO users (name, email, encrypted_password, access_token_digest) \
           SELECT 'Agent ' || k, '{prefix}' || k || '@example.com', 'x', md5('{prefix}' || k) \
           FROM generate_series(1, {n}) k RETURNING id), \
         au AS (INSERT INTO account_users (account_id, user_id, role) SELECT {acc}, id, 'agent' FROM u), \
         m AS (INSERT INTO inbox_members (inbox_id, user_id) SELECT {inbox_id}, id FROM u) \
         SELECT id FROM u ORDER BY id",
        acc = app.account_id
    ))
    .load(&mut app.conn())
    .unwrap();
    rows.into_iter().map(|r| r.id).collect()
}

/// The fixtures' inbox with auto-assignment on and `limit` as its capacity.
fn inbox(app: &TestApp, limit: Option<i32>) -> i64 {
    let created = app.create_inbox_direct();
    let id = created.0.id;
    diesel::sql_query(format!(
        "UPDATE inboxes SET enable_auto_assignment = true WHERE id = {id}"
    ))
    .execute(&mut app.conn())
    .unwrap();
    auto_assignment::set_limit(&mut app.conn(), id, limit).unwrap();
    id
}

/// Opens a conversation for a new contact `k` (as ingest does: `find_or_open` in a
/// transaction, which queues it); returns its id.
fn conversation(conn: &mut PgConnection, account_id: i64, inbox_id: i64, k: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Ids {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        contact_id: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        ci_id: i64,
    }
    conn.transaction(|conn| {
        let ids: Ids = diesel::sql_query(format!(
            "WITH c AS (INSERT INTO contacts (account_id, name) VALUES ({account_id}, 'Contact {k}') RETURNING id), \
             ci AS (INSERT INTO contact_inboxes (contact_id, inbox_id, source_id, source_kind) \
               SELECT id, {inbox_id}, 'src-{k}', 'phone' FROM c RETURNING id, contact_id) \
             SELECT contact_id, id AS ci_id FROM ci"
        ))
        .get_result(conn)?;
        let c = conversations::find_or_open(
            conn,
            account_id,
            inbox_id,
            ids.contact_id,
            ids.ci_id,
            chrono::Utc::now(),
            false,
        )?;
        Ok::<_, switchboard::error::AppError>(c.id)
    })
    .unwrap()
}

/// Runs drain jobs until none is due; returns how many ran.
async fn run_jobs(app: &TestApp) -> usize {
    switchboard::jobs::worker::drain(|| switchboard::jobs::assignment::run_next(&app.state))
        .await
        .unwrap()
}

fn assignee(app: &TestApp, conversation_id: i64) -> Option<i64> {
    app.query_json(&format!(
        "SELECT to_jsonb(assignee_id) FROM conversations WHERE id = {conversation_id}"
    ))
    .as_i64()
}

fn viewer(app: &TestApp) -> Viewer {
    Viewer {
        user_id: app.admin_id,
        account_id: app.account_id,
        role: Role::Administrator,
    }
}

fn display_id(app: &TestApp, id: i64) -> i32 {
    app.query_json(&format!(
        "SELECT to_jsonb(display_id) FROM conversations WHERE id = {id}"
    ))
    .as_i64()
    .unwrap() as i32
}

#[actix_rt::test]
async fn round_robin_assigns_online_members_in_turn_with_an_activity_line() {
    let app = TestApp::start();
    let inbox_id = inbox(&app, None);
    let team = agents(&app, inbox_id, 3, "rr");
    let mut conn = app.conn();
    let convs: Vec<i64> = (0..6)
        .map(|k| conversation(&mut conn, app.account_id, inbox_id, &format!("rr{k}")))
        .collect();
    assert_eq!(
        auto_assignment::queued_count(&mut conn, inbox_id).unwrap(),
        6
    );
    assert!(run_jobs(&app).await >= 1);
    let got: Vec<Option<i64>> = convs.iter().map(|&c| assignee(&app, c)).collect();
    let want: Vec<Option<i64>> = [0, 1, 2, 0, 1, 2].iter().map(|&i| Some(team[i])).collect();
    assert_eq!(got, want, "round-robin order");
    // The next one continues after the last assigned agent.
    let next = conversation(&mut conn, app.account_id, inbox_id, "rr6");
    run_jobs(&app).await;
    assert_eq!(assignee(&app, next), Some(team[0]));
    // One activity line and one assignee.changed per conversation, none queued.
    assert_eq!(
        app.count(&format!(
            "messages WHERE conversation_id = {} AND message_type = 2 AND content = 'Assigned to Agent 1 by round-robin'",
            convs[0]
        )),
        1
    );
    assert_eq!(
        app.count("realtime_events WHERE name = 'assignee.changed'"),
        7
    );
    assert_eq!(
        auto_assignment::queued_count(&mut conn, inbox_id).unwrap(),
        0
    );
}

/// Sets the availability of `users` in the account by SQL (no presence event, so no drain).
fn set_availability(app: &TestApp, users: &[i64], availability: &str) {
    let ids: Vec<String> = users.iter().map(|u| u.to_string()).collect();
    diesel::sql_query(format!(
        "UPDATE account_users SET availability = '{availability}' WHERE user_id IN ({})",
        ids.join(", ")
    ))
    .execute(&mut app.conn())
    .unwrap();
}

/// One journal entry of `inbox_id` per customer `(wa_id, wamid)`: one text message each.
fn deliveries(inbox_id: i64, customers: &[(&str, &str)]) -> Vec<(i64, String, String)> {
    customers
        .iter()
        .map(|(from, wamid)| {
            (
                inbox_id,
                PHONE.to_string(),
                text_delivery(from, wamid, "hello"),
            )
        })
        .collect()
}

/// Journals one delivery per customer into `inbox_id` and ingests them as one unit.
fn ingest_unit(app: &TestApp, inbox_id: i64, customers: &[(&str, &str)]) {
    let mut conn = app.conn();
    let entries = deliveries(inbox_id, customers);
    switchboard::jobs::ingest::journal_many(&mut conn, &entries).unwrap();
    let outcomes = switchboard::jobs::ingest::process_batch(&mut conn, 50).unwrap();
    assert_eq!(outcomes.len(), customers.len());
    assert!(outcomes.iter().all(|(_, r)| r.is_ok()), "{outcomes:?}");
}

fn pending_drains(app: &TestApp) -> i64 {
    app.count(&format!(
        "jobs WHERE kind = '{}' AND status = 'pending'",
        auto_assignment::JOB
    ))
}

/// Ingest decides new conversations in the transaction that makes them visible (issue 13,
/// "assignment decisions within 100 ms of the event"): the unit commits them assigned in
/// round-robin order, each activity line after the customer's first message, with no drain
/// job left. While another transaction holds the inbox's lock, ingest does not wait for it:
/// it queues a drain job, which assigns them once that transaction ends, and names the inbox
/// (`auto_assignment::take_left`) so the ingest worker wakes the drain worker at once.
#[actix_rt::test]
async fn ingest_assigns_new_conversations_in_the_unit_that_opens_them() {
    let app = TestApp::start();
    let inbox_id = inbox(&app, None);
    let team = agents(&app, inbox_id, 3, "now");
    ingest_unit(
        &app,
        inbox_id,
        &[
            ("447700900001", "wamid.NOW1"),
            ("447700900002", "wamid.NOW2"),
            ("447700900003", "wamid.NOW3"),
        ],
    );
    let got = app.query_json(&format!(
        "SELECT jsonb_agg(assignee_id ORDER BY id) FROM conversations WHERE inbox_id = {inbox_id}"
    ));
    assert_eq!(got, serde_json::json!(team), "assigned at once, in turn");
    assert_eq!(pending_drains(&app), 0, "no drain job left");
    assert!(
        auto_assignment::take_left().is_empty(),
        "nothing for the worker to wake the drain worker for"
    );
    assert_eq!(
        app.count(&format!(
            "conversations c WHERE c.inbox_id = {inbox_id} AND (SELECT m.message_type FROM messages m \
               WHERE m.conversation_id = c.id ORDER BY m.id LIMIT 1) <> 0"
        )),
        0,
        "the customer's message comes first, then the activity line"
    );
    assert_eq!(
        app.count(&format!(
            "messages WHERE inbox_id = {inbox_id} AND message_type = 2 AND content LIKE '%by round-robin'"
        )),
        3
    );
    assert_eq!(
        app.count("realtime_events WHERE name = 'assignee.changed'"),
        3
    );

    // Another transaction holds the inbox's lock (a drain job deciding, say).
    let mut holder = app.conn();
    holder
        .transaction(|h| {
            diesel::sql_query(format!(
                "SELECT 1 FROM inbox_auto_assignment WHERE inbox_id = {inbox_id} FOR UPDATE"
            ))
            .execute(h)?;
            ingest_unit(&app, inbox_id, &[("447700900004", "wamid.NOW4")]);
            assert_eq!(
                app.count(&format!(
                    "conversations WHERE inbox_id = {inbox_id} AND assignee_id IS NULL"
                )),
                1,
                "left waiting, not blocked"
            );
            assert_eq!(pending_drains(&app), 1, "its drain job is queued");
            // The ingest worker learns which inbox, to wake the drain worker at once.
            assert_eq!(auto_assignment::take_left(), vec![inbox_id]);
            assert!(auto_assignment::take_left().is_empty(), "taken once");
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    assert_eq!(run_jobs(&app).await, 1);
    assert_eq!(
        app.count(&format!(
            "conversations WHERE inbox_id = {inbox_id} AND assignee_id IS NULL"
        )),
        0
    );
    assert_eq!(
        app.query_json(&format!(
            "SELECT to_jsonb(assignee_id) FROM conversations WHERE inbox_id = {inbox_id} \
             ORDER BY id DESC LIMIT 1"
        )),
        serde_json::json!(team[0]),
        "round-robin continues"
    );
}

/// A queue longer than one drain batch is assigned whole by one drain (batch after batch,
/// oldest first), e.g. when the only agent comes back online to 250 waiting conversations.
#[actix_rt::test]
async fn one_drain_assigns_a_queue_longer_than_a_batch() {
    let app = TestApp::start();
    let inbox_id = inbox(&app, None);
    let team = agents(&app, inbox_id, 1, "long");
    let set = |availability: &str| set_availability(&app, &team, availability);
    set("offline");
    let mut conn = app.conn();
    let n = auto_assignment::DRAIN_BATCH as usize + 50;
    for k in 0..n {
        conversation(&mut conn, app.account_id, inbox_id, &format!("long{k}"));
    }
    run_jobs(&app).await;
    assert_eq!(
        auto_assignment::queued_count(&mut conn, inbox_id).unwrap(),
        n as i64
    );
    set("online");
    let drained = auto_assignment::drain(&mut conn, inbox_id).unwrap();
    assert_eq!(drained.assigned.len(), n);
    assert_eq!(
        auto_assignment::queued_count(&mut conn, inbox_id).unwrap(),
        0
    );
    let ids: Vec<i64> = drained.assigned.iter().map(|(c, _)| *c).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "oldest first");
}

/// Deciding at once never lets a new conversation pass an older waiting one: when the oldest
/// waiting conversation's row is held by another transaction, ingest assigns nothing and
/// queues a drain, which takes them oldest first once the row is free.
#[actix_rt::test]
async fn ingest_deciding_at_once_keeps_the_oldest_first_when_a_waiting_row_is_held() {
    let app = TestApp::start();
    let inbox_id = inbox(&app, None);
    let team = agents(&app, inbox_id, 2, "held");
    let set_all = |availability: &str| set_availability(&app, &team, availability);
    // Nobody online: two conversations wait in the queue.
    set_all("offline");
    let mut conn = app.conn();
    let old: Vec<i64> = (0..2)
        .map(|k| conversation(&mut conn, app.account_id, inbox_id, &format!("held{k}")))
        .collect();
    run_jobs(&app).await;
    assert_eq!(
        auto_assignment::queued_count(&mut conn, inbox_id).unwrap(),
        2
    );
    // Both come back (no presence event, so no drain is queued) and the oldest waiting row
    // is locked by someone else while a new customer writes.
    set_all("online");
    let mut holder = app.conn();
    holder
        .transaction(|h| {
            diesel::sql_query(format!(
                "SELECT 1 FROM conversations WHERE id = {} FOR UPDATE",
                old[0]
            ))
            .execute(h)?;
            ingest_unit(&app, inbox_id, &[("447700900011", "wamid.HELD1")]);
            assert_eq!(
                app.count(&format!(
                    "conversations WHERE inbox_id = {inbox_id} AND assignee_id IS NOT NULL"
                )),
                0,
                "nobody passes the oldest"
            );
            assert_eq!(pending_drains(&app), 1);
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    run_jobs(&app).await;
    let got = app.query_json(&format!(
        "SELECT jsonb_agg(assignee_id ORDER BY id) FROM conversations WHERE inbox_id = {inbox_id}"
    ));
    assert_eq!(got, serde_json::json!([team[0], team[1], team[0]]));
}

#[actix_rt::test]
async fn capacity_queues_the_rest_and_a_freed_slot_takes_the_oldest_first() {
    let app = TestApp::start();
    let inbox_id = inbox(&app, Some(1));
    let team = agents(&app, inbox_id, 2, "cap");
    let mut conn = app.conn();
    let convs: Vec<i64> = (0..4)
        .map(|k| conversation(&mut conn, app.account_id, inbox_id, &format!("cap{k}")))
        .collect();
    run_jobs(&app).await;
    assert_eq!(assignee(&app, convs[0]), Some(team[0]));
    assert_eq!(assignee(&app, convs[1]), Some(team[1]));
    assert_eq!(assignee(&app, convs[2]), None, "nobody has room");
    assert_eq!(assignee(&app, convs[3]), None);
    assert_eq!(
        auto_assignment::queued_count(&mut conn, inbox_id).unwrap(),
        2
    );
    // Agent 2 resolves theirs: the oldest waiting conversation goes to them.
    conversations::toggle_status(
        &mut conn,
        &viewer(&app),
        display_id(&app, convs[1]),
        Some("resolved"),
        None,
    )
    .unwrap();
    run_jobs(&app).await;
    assert_eq!(assignee(&app, convs[2]), Some(team[1]));
    assert_eq!(assignee(&app, convs[3]), None);
    // Agent 1's conversation is reassigned to the admin: agent 1 frees up for the last one.
    conversations::assign(
        &mut conn,
        &viewer(&app),
        display_id(&app, convs[0]),
        conversations::AssignTo::Agent(Some(app.admin_id)),
    )
    .unwrap();
    run_jobs(&app).await;
    assert_eq!(assignee(&app, convs[3]), Some(team[0]));
    assert_eq!(
        auto_assignment::queued_count(&mut conn, inbox_id).unwrap(),
        0
    );
    // A raised limit lets waiting conversations through at once (nothing waits now: check
    // that nobody passed the limit of 1 instead).
    let over = app.count(&format!(
        "(SELECT assignee_id FROM conversations WHERE inbox_id = {inbox_id} AND status = 'open' \
          AND assignee_id IN ({}, {}) GROUP BY assignee_id HAVING count(*) > 1) t",
        team[0], team[1]
    ));
    assert_eq!(over, 0);
}

#[actix_rt::test]
async fn busy_and_offline_agents_are_skipped_until_they_come_online() {
    let app = TestApp::start();
    let inbox_id = inbox(&app, Some(1));
    let team = agents(&app, inbox_id, 3, "skip");
    let mut conn = app.conn();
    profile::set_availability(&mut conn, app.account_id, team[1], Availability::Busy).unwrap();
    profile::set_availability(&mut conn, app.account_id, team[2], Availability::Offline).unwrap();
    let a = conversation(&mut conn, app.account_id, inbox_id, "s0");
    let b = conversation(&mut conn, app.account_id, inbox_id, "s1");
    run_jobs(&app).await;
    assert_eq!(assignee(&app, a), Some(team[0]));
    assert_eq!(
        assignee(&app, b),
        None,
        "busy and offline agents are skipped"
    );
    // Agent 3 comes online: the waiting conversation is theirs.
    profile::set_availability(&mut conn, app.account_id, team[2], Availability::Online).unwrap();
    run_jobs(&app).await;
    assert_eq!(assignee(&app, b), Some(team[2]));
    // Auto-assignment off: new conversations are not queued.
    diesel::sql_query(format!(
        "UPDATE inboxes SET enable_auto_assignment = false WHERE id = {inbox_id}"
    ))
    .execute(&mut conn)
    .unwrap();
    let c = conversation(&mut conn, app.account_id, inbox_id, "s2");
    run_jobs(&app).await;
    assert_eq!(assignee(&app, c), None);
    assert_eq!(
        auto_assignment::queued_count(&mut conn, inbox_id).unwrap(),
        0
    );
}

fn availability_of(app: &TestApp, user: i64) -> (String, Option<String>) {
    let v = app.query_json(&format!(
        "SELECT jsonb_build_array(availability, away_from) FROM account_users WHERE user_id = {user}"
    ));
    (
        v[0].as_str().unwrap().to_string(),
        v[1].as_str().map(str::to_string),
    )
}

#[actix_rt::test]
async fn agents_without_a_stream_go_offline_and_come_back_to_their_choice() {
    let app = TestApp::start();
    let inbox_id = inbox(&app, None);
    let team = agents(&app, inbox_id, 4, "away");
    let mut conn = app.conn();
    let acc = app.account_id;
    let after = Duration::from_secs(2);
    profile::set_availability(&mut conn, acc, team[1], Availability::Busy).unwrap();
    profile::set_availability(&mut conn, acc, team[2], Availability::Offline).unwrap();
    availability::set_auto_offline(&mut conn, acc, team[3], false).unwrap();
    for &u in &team {
        availability::heartbeat(&mut conn, acc, u, after).unwrap();
    }
    // Still within the delay: nobody is swept.
    assert!(availability::sweep_at(&mut conn, chrono::Utc::now())
        .unwrap()
        .is_empty());
    let later = chrono::Utc::now() + chrono::TimeDelta::seconds(3);
    let swept = availability::sweep_at(&mut conn, later).unwrap();
    assert_eq!(
        swept.len(),
        2,
        "online and busy agents with auto_offline on"
    );
    assert_eq!(
        availability_of(&app, team[0]),
        ("offline".into(), Some("online".into()))
    );
    assert_eq!(
        availability_of(&app, team[1]),
        ("offline".into(), Some("busy".into()))
    );
    assert_eq!(availability_of(&app, team[2]), ("offline".into(), None));
    assert_eq!(
        availability_of(&app, team[3]),
        ("online".into(), None),
        "auto_offline off"
    );
    assert_eq!(
        app.count(&format!(
            "realtime_events WHERE name = 'presence.update' AND payload->>'availability' = 'offline' \
             AND (payload->>'user_id')::bigint IN ({}, {})",
            team[0], team[1]
        )),
        2
    );
    // The API shows the choice and the effective status.
    let p = availability::presences(&mut conn, acc, &team).unwrap();
    assert_eq!(p[&team[1]].availability, "busy");
    assert_eq!(p[&team[1]].availability_status, "offline");
    // A conversation now waits: the only online agent is team[3].
    let c = conversation(&mut conn, acc, inbox_id, "away0");
    run_jobs(&app).await;
    assert_eq!(assignee(&app, c), Some(team[3]));
    // They come back: online and busy return, the chosen offline stays.
    for &u in &team[..3] {
        availability::heartbeat(&mut conn, acc, u, after).unwrap();
    }
    assert_eq!(availability_of(&app, team[0]), ("online".into(), None));
    assert_eq!(availability_of(&app, team[1]), ("busy".into(), None));
    assert_eq!(availability_of(&app, team[2]), ("offline".into(), None));
    // Away, then choosing offline: coming back keeps offline.
    availability::sweep_at(
        &mut conn,
        chrono::Utc::now() + chrono::TimeDelta::seconds(3),
    )
    .unwrap();
    profile::set_availability(&mut conn, acc, team[0], Availability::Offline).unwrap();
    availability::heartbeat(&mut conn, acc, team[0], after).unwrap();
    assert_eq!(availability_of(&app, team[0]), ("offline".into(), None));
}

/// 1,000 conversations arrive at once from 4 connections while 4 workers (each with its
/// own connection, as 4 processes would) drain the queue: every online agent ends within one
/// conversation of the others, nobody passes the limit, nobody is assigned twice.
#[actix_rt::test]
async fn four_workers_and_a_thousand_conversations_assign_each_once_and_evenly() {
    let app = TestApp::start();
    let inbox_id = inbox(&app, None);
    let team = agents(&app, inbox_id, 7, "conc");
    let url = app.db.url.clone();
    let acc = app.account_id;
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                for k in 0..250 {
                    conversation(&mut conn, acc, inbox_id, &format!("c{p}-{k}"));
                }
            })
        })
        .collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                let mut ran = 0;
                loop {
                    match switchboard::jobs::claim(&mut conn, auto_assignment::JOB, 60).unwrap() {
                        Some(job) => {
                            let inbox = job.payload["inbox_id"].as_i64().unwrap();
                            auto_assignment::drain(&mut conn, inbox).unwrap();
                            switchboard::jobs::complete(&mut conn, job.id).unwrap();
                            ran += 1;
                        }
                        None if stop.load(std::sync::atomic::Ordering::SeqCst) => return ran,
                        None => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let ran: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(ran >= 1);
    check_fair(&app, inbox_id, &team, 1000);
}

/// Every conversation of the inbox assigned exactly once (one activity line, one event), and
/// the agents' loads within one of each other.
fn check_fair(app: &TestApp, inbox_id: i64, team: &[i64], n: i64) {
    assert_eq!(
        app.count(&format!(
            "conversations WHERE inbox_id = {inbox_id} AND assignee_id IS NOT NULL"
        )),
        n,
        "every conversation assigned"
    );
    let twice = app.count(&format!(
        "(SELECT conversation_id FROM messages WHERE inbox_id = {inbox_id} AND message_type = 2 \
          AND content LIKE '%by round-robin' GROUP BY conversation_id HAVING count(*) <> 1) t"
    ));
    assert_eq!(twice, 0, "one activity line per conversation");
    assert_eq!(
        app.count(&format!(
            "realtime_events WHERE name = 'assignee.changed' AND inbox_id = {inbox_id}"
        )),
        n,
        "one assignee.changed per conversation"
    );
    let loads: Value = app.query_json(&format!(
        "SELECT jsonb_agg(n ORDER BY u) FROM (SELECT m.user_id AS u, \
           (SELECT count(*) FROM conversations c WHERE c.assignee_id = m.user_id AND c.inbox_id = {inbox_id}) AS n \
         FROM inbox_members m WHERE m.inbox_id = {inbox_id}) t"
    ));
    let loads: Vec<i64> = loads
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(loads.len(), team.len());
    let (min, max) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
    assert!(max - min <= 1, "loads within one of each other: {loads:?}");
}

/// A limit holds under the same concurrency: 4 agents × limit 50 take 200 of 300, 100 wait.
#[actix_rt::test]
async fn the_limit_holds_under_concurrency() {
    let app = TestApp::start();
    let inbox_id = inbox(&app, Some(50));
    agents(&app, inbox_id, 4, "lim");
    let url = app.db.url.clone();
    let acc = app.account_id;
    let threads: Vec<_> = (0..4)
        .map(|p| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                for k in 0..75 {
                    conversation(&mut conn, acc, inbox_id, &format!("l{p}-{k}"));
                    if let Some(job) =
                        switchboard::jobs::claim(&mut conn, auto_assignment::JOB, 60).unwrap()
                    {
                        auto_assignment::drain(&mut conn, inbox_id).unwrap();
                        switchboard::jobs::complete(&mut conn, job.id).unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    run_jobs(&app).await;
    let loads = app.query_json(&format!(
        "SELECT jsonb_agg(n) FROM (SELECT count(*) AS n FROM conversations \
         WHERE inbox_id = {inbox_id} AND assignee_id IS NOT NULL GROUP BY assignee_id) t"
    ));
    assert_eq!(loads, serde_json::json!([50, 50, 50, 50]));
    let mut conn = app.conn();
    assert_eq!(
        auto_assignment::queued_count(&mut conn, inbox_id).unwrap(),
        100
    );
}

/// Benchmark (issue 13 "Speed"): with 200 online agents, how long from the commit of
/// `conversation.created` to the committed assignment, with the worker running as in a
/// server (woken by the event through LISTEN/NOTIFY). Prints p50/p99/max over 200
/// conversations. Run: `cargo test --test api auto_assignment::bench -- --ignored --nocapture`.
#[actix_rt::test]
#[ignore]
async fn bench_assignment_decision_latency_with_200_agents() {
    let app = TestApp::start();
    let inbox_id = inbox(&app, Some(5));
    agents(&app, inbox_id, 200, "bench");
    switchboard::web::realtime::spawn(&app.state);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let worker = actix_rt::spawn(switchboard::jobs::assignment::run(app.state.clone()));
    let mut conn = app.conn();
    let mut took = vec![];
    for k in 0..200 {
        let id = conversation(&mut conn, app.account_id, inbox_id, &format!("b{k}"));
        // The event is committed now: measure from here to the committed assignment.
        let started = Instant::now();
        loop {
            if assignee(&app, id).is_some() {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "not assigned");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        took.push(started.elapsed());
    }
    worker.abort();
    // The decision alone (one drain of one queued conversation, no worker wake-up).
    let mut alone = vec![];
    for k in 0..50 {
        conversation(&mut conn, app.account_id, inbox_id, &format!("d{k}"));
        let started = Instant::now();
        auto_assignment::drain(&mut conn, inbox_id).unwrap();
        alone.push(started.elapsed());
    }
    alone.sort();
    println!(
        "one drain decision alone, 200 agents: p50 {:?}, max {:?}",
        alone[alone.len() / 2],
        alone[alone.len() - 1]
    );
    took.sort();
    println!(
        "assignment decision after the event, 200 agents: p50 {:?}, p99 {:?}, max {:?}",
        took[took.len() / 2],
        took[took.len() * 99 / 100],
        took[took.len() - 1]
    );
}

/// Kills a spawned server when the test ends (even on a failed assertion).
struct Server(std::process::Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Two `switchboard serve` processes on one database, each with its own auto-assignment
/// worker and realtime listener: 400 conversations arriving at once from 4 connections are
/// each assigned exactly once, evenly, whichever process decides.
#[actix_rt::test]
async fn two_server_processes_assign_each_conversation_exactly_once() {
    let app = TestApp::start();
    let inbox_id = inbox(&app, None);
    let team = agents(&app, inbox_id, 6, "two");
    let storage = app.storage.clone();
    let mut servers = vec![];
    let mut ports = vec![];
    for _ in 0..2 {
        let port = switchboard::db::testing::free_port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &app.db.url)
            .env("FRONTEND_URL", format!("http://127.0.0.1:{port}"))
            .env(
                "SECRET_KEY_BASE",
                "two-process-secret-key-base-0123456789abcdef",
            )
            .env("STORAGE_DIR", &storage)
            .env("MAIL_DIR", storage.join("mail"))
            .env("PORT", port.to_string())
            .env("WHATSAPP_CLOUD_BASE_URL", "http://127.0.0.1:9")
            .env("RUST_LOG", "warn")
            .arg("serve")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        servers.push(Server(child));
        ports.push(port);
    }
    for port in &ports {
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let url = app.db.url.clone();
    let acc = app.account_id;
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                for k in 0..100 {
                    conversation(&mut conn, acc, inbox_id, &format!("two{p}-{k}"));
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let started = Instant::now();
    loop {
        let left = app.count(&format!(
            "conversations WHERE inbox_id = {inbox_id} AND assignee_id IS NULL"
        ));
        if left == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{left} conversations still unassigned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every drain job ends done (most are answered by an earlier drain of the same inbox),
    // then nothing was assigned twice.
    let started = Instant::now();
    while app.count("jobs WHERE kind = 'auto_assignment' AND status <> 'done'") > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "drain jobs left undone"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    check_fair(&app, inbox_id, &team, 400);
    drop(servers);
}

/// Chatwoot's fields over the API: the inbox's `enable_auto_assignment` and
/// `auto_assignment_config.max_assignment_limit`, the agent's and profile's
/// `availability`, `availability_status` and `auto_offline`; bad values are 422s naming
/// the field.
#[actix_rt::test]
async fn the_api_reads_and_writes_chatwoots_fields() {
    let app = TestApp::start();
    let inbox_id = app.create_inbox_direct().0.id;
    let token = app.token.clone();
    let base = format!("/api/v1/accounts/{}", app.account_id);
    let (status, json) = app
        .api(
            "PATCH",
            &format!("{base}/inboxes/{inbox_id}"),
            Some(serde_json::json!({"inbox": {"enable_auto_assignment": true,
                "auto_assignment_config": {"max_assignment_limit": 3}}})),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["enable_auto_assignment"], true);
    assert_eq!(json["auto_assignment_config"]["max_assignment_limit"], 3);
    let listed = app.get(&format!("{base}/inboxes")).await;
    assert_eq!(
        listed["payload"][0]["auto_assignment_config"]["max_assignment_limit"],
        3
    );
    for bad in [
        serde_json::json!({"auto_assignment_config": {"max_assignment_limit": -2}}),
        serde_json::json!({"auto_assignment_config": {"max_assignment_limit": "lots"}}),
        serde_json::json!({"auto_assignment_config": {"max_assignment_limit": 1e40}}),
        serde_json::json!({"auto_assignment_config": 7}),
    ] {
        let (status, json) = app
            .api(
                "PATCH",
                &format!("{base}/inboxes/{inbox_id}"),
                Some(bad.clone()),
                &token,
            )
            .await;
        assert_eq!(status, 422, "{bad} → {json}");
        assert!(
            json["field"]
                .as_str()
                .unwrap_or_default()
                .starts_with("auto_assignment_config"),
            "{json}"
        );
    }
    // No limit again.
    let (_, json) = app
        .api(
            "PATCH",
            &format!("{base}/inboxes/{inbox_id}"),
            Some(serde_json::json!({"auto_assignment_config": {"max_assignment_limit": null}})),
            &token,
        )
        .await;
    assert_eq!(
        json["auto_assignment_config"]["max_assignment_limit"],
        Value::Null
    );

    // Profile: auto_offline off, then the effective status while auto-offline.
    let (status, me) = app
        .api(
            "PUT",
            "/api/v1/profile",
            Some(serde_json::json!({"profile": {"auto_offline": false}})),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["accounts"][0]["auto_offline"], false);
    let (status, json) = app
        .api(
            "PUT",
            "/api/v1/profile",
            Some(serde_json::json!({"profile": {"auto_offline": "maybe"}})),
            &token,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(json["field"], "auto_offline");

    // An administrator sets an agent's availability and auto_offline.
    let team = agents(&app, inbox_id, 1, "api");
    let (status, agent) = app
        .api(
            "PATCH",
            &format!("{base}/agents/{}", team[0]),
            Some(serde_json::json!({"availability": "busy", "auto_offline": true})),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{agent}");
    assert_eq!(agent["availability_status"], "busy");
    assert_eq!(agent["auto_offline"], true);
    let mut conn = app.conn();
    availability::heartbeat(&mut conn, app.account_id, team[0], Duration::from_secs(2)).unwrap();
    availability::sweep_at(
        &mut conn,
        chrono::Utc::now() + chrono::TimeDelta::seconds(3),
    )
    .unwrap();
    // The agent `id` in a JSON array of agents.
    let find = |list: &Value, id: i64| -> Value {
        list.as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap()
            .clone()
    };
    let row = find(&app.get(&format!("{base}/agents")).await, team[0]);
    assert_eq!(row["availability_status"], "offline");
    assert_eq!(row["availability"], "busy", "the choice, kept while away");
    // Every other answer that carries an agent shows the same presence (it said "online"
    // for everyone before): the inbox's members, an assignment, the conversation's assignee.
    let presence = |a: &Value| {
        (
            a["availability_status"].clone(),
            a["availability"].clone(),
            a["auto_offline"].clone(),
        )
    };
    let away = (
        Value::from("offline"),
        Value::from("busy"),
        Value::from(true),
    );
    let members = app.get(&format!("{base}/inbox_members/{inbox_id}")).await;
    assert_eq!(presence(&find(&members["payload"], team[0])), away);
    app.deliver_bytes(text_delivery("16505550777", "wamid.presence", "hi").as_bytes())
        .await;
    let (status, assigned) = app
        .api(
            "POST",
            &format!("{base}/conversations/1/assignments"),
            Some(serde_json::json!({"assignee_id": team[0]})),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(presence(&assigned), away);
    let conversation = app.get(&format!("{base}/conversations/1")).await;
    assert_eq!(presence(&conversation["meta"]["assignee"]), away);
    let thread = app.get(&format!("{base}/conversations/1/messages")).await;
    assert_eq!(presence(&thread["meta"]["assignee"]), away);
    let (status, json) = app
        .api(
            "PATCH",
            &format!("{base}/agents/{}", team[0]),
            Some(serde_json::json!({"auto_offline": "yes"})),
            &token,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(json["field"], "auto_offline");
}
