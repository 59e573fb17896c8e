//! Ingest under concurrency and large deliveries (issue 9): batched deliveries from
//! overlapping customers never deadlock the workers, and a 3 MiB delivery is processed in
//! bounded units, so an ordinary message is not queued behind it and a crash mid-way
//! resumes without duplicates.

use crate::common::*;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard::jobs::ingest;
use switchboard::whatsapp::receive::MAX_BODY_BYTES;

/// One WhatsApp delivery carrying `messages` as `(customer, wamid, text)`, each customer with
/// its own `wa_id` and profile, as Meta batches them.
fn batched_body(messages: &[(usize, String, String)]) -> Vec<u8> {
    let contacts: Vec<Value> = messages
        .iter()
        .map(|(c, _, _)| json!({"profile": {"name": format!("Customer {c}")}, "wa_id": wa_id(*c)}))
        .collect();
    let msgs: Vec<Value> = messages
        .iter()
        .map(|(c, wamid, text)| {
            json!({"id": wamid, "timestamp": "1763712000", "type": "text",
                   "from": wa_id(*c), "text": {"body": text}})
        })
        .collect();
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15551234567", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": contacts, "messages": msgs}}]}]
    }))
    .unwrap()
}

fn wa_id(customer: usize) -> String {
    format!("4477009{customer:05}")
}

/// Deadlocks PostgreSQL detected in this test's database so far. Statistics reach the view
/// when a backend ends a transaction (at most once a second) or exits, so callers close
/// their worker connections and wait before the final reading.
fn deadlocks(url: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = PgConnection::establish(url).unwrap();
    diesel::sql_query("SELECT pg_stat_clear_snapshot()")
        .execute(&mut conn)
        .unwrap();
    let row: Row = diesel::sql_query(
        "SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()",
    )
    .get_result(&mut conn)
    .unwrap();
    row.n
}

/// `n` ingest workers, as `serve` runs them (each drains unit by unit with a connection of
/// its own), until `stop` is set and the journal is empty. Returns every error an event
/// reported and every database error a unit hit.
fn spawn_workers(
    url: &str,
    n: usize,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<String>>> {
    (0..n)
        .map(|_| {
            let url = url.to_string();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                let mut errors = Vec::new();
                loop {
                    match ingest::process_batch(&mut conn, ingest::BATCH_SIZE) {
                        Ok(outcomes) if !outcomes.is_empty() => {
                            errors.extend(outcomes.into_iter().filter_map(|(_, o)| o.err()))
                        }
                        Ok(_) => {
                            if stop.load(Ordering::SeqCst)
                                && ingest::backlog(&mut conn).unwrap() == 0
                            {
                                return errors;
                            }
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        Err(e) => errors.push(e.to_string()),
                    }
                }
            })
        })
        .collect()
}

fn journal(app: &TestApp, inbox_id: i64, body: &[u8]) -> i64 {
    let body = String::from_utf8(body.to_vec()).unwrap();
    ingest::journal_many(&mut app.conn(), &[(inbox_id, PHONE.to_string(), body)]).unwrap()[0]
}

#[actix_rt::test]
async fn four_workers_ingest_batched_deliveries_from_overlapping_customers_without_deadlock() {
    let app = TestApp::start();
    let (inbox, _) = app.create_inbox_direct();
    const CUSTOMERS: usize = 100;
    const DELIVERIES: usize = 12;
    let before = deadlocks(&app.db.url);

    let stop = Arc::new(AtomicBool::new(false));
    let workers = spawn_workers(&app.db.url, 4, stop.clone());
    // Deliveries keep arriving while the workers run, each from the same 100 customers in
    // its own order (Meta orders a batch as it pleases).
    for d in 0..DELIVERIES {
        let mut order: Vec<usize> = (0..CUSTOMERS).collect();
        order.rotate_left((d * 37) % CUSTOMERS);
        if d % 2 == 1 {
            order.reverse();
        }
        let messages: Vec<(usize, String, String)> = order
            .into_iter()
            .map(|c| {
                (
                    c,
                    format!("wamid.BATCH{d:03}C{c:03}"),
                    format!("delivery {d} from {c}"),
                )
            })
            .collect();
        journal(&app, inbox.id, &batched_body(&messages));
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::SeqCst);
    let errors: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    // The workers' connections are closed: their statistics are flushed.
    std::thread::sleep(Duration::from_millis(1500));
    let after = deadlocks(&app.db.url);

    assert!(
        errors.iter().all(|e| !e.contains("deadlock")),
        "ingest errors: {errors:?}"
    );
    assert_eq!(after - before, 0, "PostgreSQL detected deadlocks");
    assert!(errors.is_empty(), "ingest errors: {errors:?}");
    assert_eq!(
        app.count("whatsapp_events WHERE status = 'processed' AND last_error IS NULL"),
        DELIVERIES as i64
    );
    assert_eq!(app.count("messages"), (DELIVERIES * CUSTOMERS) as i64);
    assert_eq!(
        app.count("(SELECT DISTINCT source_id FROM messages) s"),
        (DELIVERIES * CUSTOMERS) as i64,
        "every message stored once"
    );
    assert_eq!(app.count("contacts"), CUSTOMERS as i64);
    assert_eq!(app.count("conversations"), CUSTOMERS as i64);
    assert_eq!(
        app.count(&format!("conversations WHERE (SELECT count(*) FROM messages m WHERE m.conversation_id = conversations.id) <> {DELIVERIES}")),
        0
    );
}

/// A body just under the 3 MiB limit with `n` text messages from `n` customers (wamids
/// `wamid.<tag><i>`), padded with long texts.
fn huge_body(tag: &str, n: usize) -> Vec<u8> {
    let filler = |len: usize| "x".repeat(len);
    let probe = batched_body(
        &(0..n)
            .map(|i| (i, format!("wamid.{tag}{i:05}"), String::new()))
            .collect::<Vec<_>>(),
    );
    let pad = (MAX_BODY_BYTES - 4096 - probe.len()) / n;
    let body = batched_body(
        &(0..n)
            .map(|i| (i, format!("wamid.{tag}{i:05}"), filler(pad)))
            .collect::<Vec<_>>(),
    );
    assert!(body.len() <= MAX_BODY_BYTES && body.len() > MAX_BODY_BYTES - 8192);
    body
}

/// Messages in each huge body: six units of [`ingest::UNIT_ITEMS`] (the body is padded to
/// the 3 MiB limit whatever the count).
const HUGE_MESSAGES: usize = 600;

#[actix_rt::test]
async fn an_ordinary_message_is_not_queued_behind_two_huge_deliveries() {
    let app = TestApp::start();
    app.create_inbox_direct();
    // Two 3 MiB deliveries, then one ordinary message, all through the webhook route.
    for tag in ["HUGEA", "HUGEB"] {
        let (status, _) = app
            .post_webhook(PHONE, &huge_body(tag, HUGE_MESSAGES), None)
            .await;
        assert_eq!(status, 200);
    }
    let (status, _) = app
        .post_webhook(PHONE, &webhook_fixture("text.json"), None)
        .await;
    assert_eq!(status, 200);

    // The default number of workers (INGEST_WORKERS=2), both free when the huge ones are due.
    let stop = Arc::new(AtomicBool::new(true));
    let started = Instant::now();
    let workers = spawn_workers(&app.db.url, 2, stop);
    let normal = "source_id LIKE 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTAwMDAw%'";
    while app.count(&format!("messages WHERE {normal}")) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the ordinary message never became visible"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let waited = started.elapsed();
    let huge_done_then = app.count("messages WHERE source_id LIKE 'wamid.HUGE%'");
    let huge_events_left = app.count("whatsapp_events WHERE status = 'pending'");
    eprintln!(
        "ordinary message visible after {waited:?}, with {huge_done_then} of {} huge-delivery messages stored",
        2 * HUGE_MESSAGES
    );
    // Generous on a loaded machine: it only has to beat the huge deliveries, by far.
    assert!(
        huge_done_then < HUGE_MESSAGES as i64,
        "the ordinary message waited for {huge_done_then} messages of the huge deliveries"
    );
    assert_eq!(
        huge_events_left, 2,
        "both huge deliveries are still in progress"
    );

    let errors: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(errors.is_empty(), "ingest errors: {errors:?}");
    assert_eq!(app.count("messages"), (2 * HUGE_MESSAGES + 1) as i64);
    assert_eq!(
        app.count("(SELECT DISTINCT source_id FROM messages) s"),
        (2 * HUGE_MESSAGES + 1) as i64
    );
    assert_eq!(
        app.count(&format!(
            "whatsapp_events WHERE status = 'processed' AND items_done = {HUGE_MESSAGES}"
        )),
        2
    );
}

#[actix_rt::test]
async fn a_huge_delivery_resumes_after_a_crash_without_duplicates() {
    let app = TestApp::start();
    let (inbox, _) = app.create_inbox_direct();
    let body = huge_body("HUGEC", HUGE_MESSAGES);
    let id = journal(&app, inbox.id, &body);
    let mut conn = app.conn();

    // One unit: a bounded part of the delivery is committed with its progress.
    let (first, outcome) = ingest::process_next(&mut conn).unwrap().unwrap();
    assert_eq!(first, id);
    assert_eq!(outcome.unwrap().messages_created, ingest::UNIT_ITEMS);
    assert_eq!(app.count("messages"), ingest::UNIT_ITEMS as i64);
    assert_eq!(
        app.count(&format!(
            "whatsapp_events WHERE status = 'pending' AND items_done = {}",
            ingest::UNIT_ITEMS
        )),
        1
    );

    // The next unit crashes before its commit: nothing of it remains.
    let crashed = Mutex::new(0usize);
    let _ = conn.transaction::<(), _, _>(|c| {
        let outcomes = ingest::process_batch(c, ingest::BATCH_SIZE).unwrap();
        *crashed.lock().unwrap() = outcomes.len();
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert_eq!(*crashed.lock().unwrap(), 1);
    assert_eq!(app.count("messages"), ingest::UNIT_ITEMS as i64);

    // Workers resume where the last committed unit ended.
    let mut units = 0;
    while let Some((_, outcome)) = ingest::process_next(&mut conn).unwrap() {
        assert_eq!(outcome.unwrap().duplicates, 0, "no item is processed twice");
        units += 1;
    }
    assert_eq!(units, HUGE_MESSAGES / ingest::UNIT_ITEMS - 1);
    assert_eq!(app.count("messages"), HUGE_MESSAGES as i64);
    assert_eq!(
        app.count("(SELECT DISTINCT source_id FROM messages) s"),
        HUGE_MESSAGES as i64
    );
    assert_eq!(app.count("conversations"), HUGE_MESSAGES as i64);
    assert_eq!(
        app.count(&format!(
            "whatsapp_events WHERE status = 'processed' AND items_done = {HUGE_MESSAGES}"
        )),
        1
    );

    // Meta delivering the same body again changes nothing.
    journal(&app, inbox.id, &body);
    app.ingest();
    assert_eq!(app.count("messages"), HUGE_MESSAGES as i64);
}
