//! Issue 15 (retention): the journal partitioned by day (conversion in place, partitions made
//! ahead, rows moved out of the default partition, whole partitions dropped), the pruning of
//! each table group with timestamps in the past (kept and pruned cases), the per-account
//! conversation retention (API, counters, reports, files), the pruning round running once
//! across two processes, and `switchboard export-contact`.

use crate::common::*;
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};
use std::io::Read;
use switchboard::domain::retention;
use switchboard::jobs::retention as job;

fn exec(app: &TestApp, sql: &str) {
    app.conn()
        .batch_execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn i(app: &TestApp, sql: &str) -> i64 {
    app.query_json(&format!("SELECT to_jsonb(({sql}))"))
        .as_i64()
        .unwrap_or_else(|| panic!("{sql}"))
}

fn partition_names(app: &TestApp) -> Vec<String> {
    retention::partitions(&mut app.conn())
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect()
}

/// A conversation of the fixture's contact (from `text.json`), with `n` messages.
async fn one_conversation(app: &TestApp) -> (i64, i64) {
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    let conv = i(app, "SELECT max(id) FROM conversations");
    let contact = i(
        app,
        &format!("SELECT contact_id FROM conversations WHERE id = {conv}"),
    );
    (conv, contact)
}

/// Stores `bytes` under `key` in the app's storage (local disk in tests).
async fn store(app: &TestApp, key: &str, bytes: &'static [u8]) {
    app.state
        .storage
        .put(key, bytes::Bytes::from_static(bytes), Some("image/jpeg"))
        .await
        .unwrap();
}

async fn stored(app: &TestApp, key: &str) -> bool {
    app.state.storage.head(key).await.unwrap().is_some()
}

#[tokio::test]
async fn journal_conversion_keeps_rows_then_days_are_partitions_dropped_whole() {
    let app = TestApp::start();
    // The migrated template had an empty journal: daily partitions and the default one only.
    let names = partition_names(&app);
    assert!(
        names.contains(&"whatsapp_events_default".to_string()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"whatsapp_events_legacy".to_string()),
        "{names:?}"
    );

    // --- conversion of a journal that has rows: back to the plain table, add rows, convert.
    let up = include_str!("../../migrations/2026-12-06-030000_retention/up.sql");
    let down = include_str!("../../migrations/2026-12-06-030000_retention/down.sql");
    exec(&app, down);
    assert_eq!(
        app.query_json(
            "SELECT to_jsonb(relkind::text) FROM pg_class WHERE relname = 'whatsapp_events'"
        ),
        json!("r")
    );
    exec(
        &app,
        // (the pending one is not due before the test ends: no ingest worker takes it)
        "INSERT INTO whatsapp_events (phone_number, raw_body, status, received_at, processed_at, run_after) VALUES
           ('+1', '{\"old\":\"processed\"}', 'processed', now() - interval '40 days', now() - interval '40 days', now()),
           ('+1', '{\"old\":\"failed\"}', 'failed', now() - interval '40 days', NULL, now()),
           ('+1', '{\"new\":\"pending\"}', 'pending', now(), NULL, now() + interval '1 day')",
    );
    let before = app.query_json("SELECT jsonb_agg(to_jsonb(w) ORDER BY id) FROM whatsapp_events w");
    exec(&app, up);
    let after = app.query_json("SELECT jsonb_agg(to_jsonb(w) ORDER BY id) FROM whatsapp_events w");
    assert_eq!(before, after, "every row kept, unchanged");
    assert_eq!(
        app.query_json(
            "SELECT to_jsonb(relkind::text) FROM pg_class WHERE relname = 'whatsapp_events'"
        ),
        json!("p")
    );
    assert_eq!(
        i(&app, "SELECT count(*) FROM whatsapp_events_legacy"),
        3,
        "the old table is the legacy partition, in place"
    );
    // New rows keep the same id sequence and land in today's partition.
    let max_before = i(&app, "SELECT max(id) FROM whatsapp_events");
    exec(&app, "INSERT INTO whatsapp_events (phone_number, raw_body, received_at, status, processed_at) VALUES ('+2', '{}', now() + interval '2 days', 'processed', now())");
    let row = app.query_json(
        "SELECT jsonb_build_object('id', id, 'part', tableoid::regclass::text) FROM whatsapp_events WHERE phone_number = '+2'",
    );
    assert!(row["id"].as_i64().unwrap() > max_before, "{row}");
    assert!(
        row["part"]
            .as_str()
            .unwrap()
            .starts_with("whatsapp_events_2"),
        "{row}"
    );
    // The ingest path (the journal writer and `find(id)` updates) works on the partitioned table.
    app.create_inbox_direct();
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    assert_eq!(app.count("messages"), 1);

    // Row-wise pruning inside a partition that cannot be dropped (its bound is after the cutoff).
    let cutoff = chrono::Utc::now() - chrono::Duration::days(30);
    let (dropped, deleted) = retention::prune_journal(&mut app.conn(), cutoff, 1000).unwrap();
    assert_eq!(
        (dropped, deleted),
        (0, 1),
        "only the old processed row goes"
    );
    assert_eq!(
        app.query_json("SELECT jsonb_agg(raw_body ORDER BY id) FROM whatsapp_events_legacy WHERE phone_number = '+1'"),
        json!(["{\"old\":\"failed\"}", "{\"new\":\"pending\"}"]),
        "failed and pending events are kept whatever their age"
    );

    // --- a fresh database: past days as their own partitions, then dropped whole.
    let app = TestApp::start();
    let mut conn = app.conn();
    let today = chrono::Utc::now().date_naive();
    // A row for a day with no partition yet lands in the default partition; making the day's
    // partition moves it there.
    exec(&app, "INSERT INTO whatsapp_events (phone_number, raw_body, received_at, status, processed_at) VALUES ('+9', '{}', now() - interval '40 days', 'processed', now() - interval '40 days')");
    assert_eq!(i(&app, "SELECT count(*) FROM whatsapp_events_default"), 1);
    let made =
        retention::ensure_partitions(&mut conn, today - chrono::Duration::days(41), 2).unwrap();
    assert_eq!(made, 3);
    assert_eq!(i(&app, "SELECT count(*) FROM whatsapp_events_default"), 0);
    let day = |back: i64| {
        format!(
            "whatsapp_events_{}",
            (today - chrono::Duration::days(back)).format("%Y%m%d")
        )
    };
    assert_eq!(i(&app, &format!("SELECT count(*) FROM {}", day(40))), 1);
    // Day -41: every event processed long ago → dropped. Day -40: processed rows, but one was
    // processed only yesterday → kept (past-retention means processed before the cutoff).
    // Day -39: a failed event → kept; its processed neighbour is deleted row-wise.
    exec(
        &app,
        "INSERT INTO whatsapp_events (phone_number, raw_body, received_at, status, processed_at) VALUES
          ('+9', '{}', now() - interval '41 days', 'processed', now() - interval '41 days'),
          ('+9', '{}', now() - interval '40 days', 'processed', now() - interval '1 day'),
          ('+9', '{\"keep\":\"failed\"}', now() - interval '39 days', 'failed', NULL),
          ('+9', '{}', now() - interval '39 days', 'processed', now() - interval '39 days')",
    );
    // Rounded to whole days: the day -41's partition ends before the 30-day cutoff.
    let (dropped, deleted) = retention::prune_journal(&mut conn, cutoff, 1000).unwrap();
    assert_eq!(dropped, 1, "{:?}", partition_names(&app));
    let names = partition_names(&app);
    assert!(!names.contains(&day(41)), "{names:?}");
    assert!(
        names.contains(&day(40)) && names.contains(&day(39)),
        "{names:?}"
    );
    assert_eq!(
        deleted, 2,
        "day -40's old processed row and day -39's processed row"
    );
    assert_eq!(
        app.query_json(&format!("SELECT jsonb_agg(raw_body) FROM {}", day(39))),
        json!(["{\"keep\":\"failed\"}"])
    );
    // The job makes today and the days ahead (the template's may be from another day).
    retention::ensure_partitions(&mut conn, today, 7).unwrap();
    let names = partition_names(&app);
    for d in 0..=7 {
        let n = format!(
            "whatsapp_events_{}",
            (today + chrono::Duration::days(d)).format("%Y%m%d")
        );
        assert!(names.contains(&n), "{n} in {names:?}");
    }
}

#[tokio::test]
async fn each_table_group_is_pruned_past_its_retention_and_kept_before() {
    let app = TestApp::start();
    let inbox = app.create_inbox_direct().0.id;
    let (conv, _) = one_conversation(&app).await;
    let acc = app.account_id;
    let admin = app.admin_id;
    // Webhook delivery logs: 40 days old → pruned; 1 day → kept.
    exec(&app, &format!(
        "INSERT INTO webhooks (account_id, url, subscriptions, secret_ciphertext) VALUES ({acc}, 'https://crm.example.com/h', ARRAY['message_created'], 'x');
         INSERT INTO webhook_deliveries (webhook_id, delivery_id, event, attempt, status_code, duration_ms, created_at)
         SELECT w.id, d, 'message_created', 1, 200, 5, now() - make_interval(days => age)
         FROM webhooks w, (VALUES ('old', 40), ('new', 1)) v(d, age);"
    ));
    // Pending updates whose message never came: 8 days → pruned (7-day default); 6 → kept.
    exec(
        &app,
        &format!(
        "INSERT INTO pending_message_updates (inbox_id, source_id, kind, payload, created_at) VALUES
          ({inbox}, 'wamid.never8', 'status', '{{}}', now() - interval '8 days'),
          ({inbox}, 'wamid.soon6', 'status', '{{}}', now() - interval '6 days')"
    ),
    );
    // Notifications: 31 days → pruned; 29 → kept.
    exec(&app, &format!(
        "INSERT INTO notifications (account_id, user_id, notification_type, primary_actor_id, created_at) VALUES
          ({acc}, {admin}, 'conversation_creation', {conv}, now() - interval '31 days'),
          ({acc}, {admin}, 'conversation_creation', {conv}, now() - interval '29 days')"
    ));
    // Outgoing files: failed 40 days ago → file removed; failed 2 days ago, sent 40 days ago,
    // and a failed send whose file a canned response also uses → kept.
    exec(&app, &format!(
        "INSERT INTO messages (account_id, inbox_id, conversation_id, message_type, status, content, created_at) VALUES
          ({acc}, {inbox}, {conv}, 1, 'failed', 'old failed', now() - interval '40 days'),
          ({acc}, {inbox}, {conv}, 1, 'failed', 'new failed', now() - interval '2 days'),
          ({acc}, {inbox}, {conv}, 1, 'sent', 'old sent', now() - interval '40 days'),
          ({acc}, {inbox}, {conv}, 3, 'failed', 'old template shared file', now() - interval '40 days');
         INSERT INTO attachments (message_id, account_id, file_type, storage_path, download_status, file_name)
         SELECT id, {acc}, 'image', 'outgoing/' || replace(content, ' ', '-') || '.jpg', 'downloaded', 'x.jpg'
         FROM messages WHERE message_type IN (1, 3);
         INSERT INTO canned_responses (account_id, short_code, content) VALUES ({acc}, 'shared', 'see file');
         INSERT INTO canned_response_attachments (canned_response_id, account_id, storage_path, file_name, mime_type, file_size)
         SELECT id, {acc}, 'outgoing/old-template-shared-file.jpg', 'x.jpg', 'image/jpeg', 3 FROM canned_responses;"
    ));
    for k in [
        "old-failed",
        "new-failed",
        "old-sent",
        "old-template-shared-file",
    ] {
        store(&app, &format!("outgoing/{k}.jpg"), b"jpg").await;
    }

    let report = job::prune_round(&app.state).await.unwrap();
    assert_eq!(report.webhook_deliveries, 1, "{report:?}");
    assert_eq!(report.pending_message_updates, 1, "{report:?}");
    assert_eq!(report.notifications, 1, "{report:?}");
    assert_eq!(report.failed_send_files, 2, "{report:?}");
    assert_eq!(
        report.conversations, 0,
        "conversation retention is off by default"
    );
    assert_eq!(
        app.query_json("SELECT jsonb_agg(delivery_id) FROM webhook_deliveries"),
        json!(["new"])
    );
    assert_eq!(
        app.query_json("SELECT jsonb_agg(source_id) FROM pending_message_updates"),
        json!(["wamid.soon6"])
    );
    assert_eq!(
        app.count("notifications WHERE created_at < now() - interval '30 days'"),
        0
    );
    assert_eq!(
        app.count("notifications WHERE created_at < now() - interval '28 days'"),
        1
    );
    assert!(
        !stored(&app, "outgoing/old-failed.jpg").await,
        "the failed send's file is gone"
    );
    assert!(stored(&app, "outgoing/new-failed.jpg").await);
    assert!(stored(&app, "outgoing/old-sent.jpg").await);
    assert!(
        stored(&app, "outgoing/old-template-shared-file.jpg").await,
        "a file a canned response still uses stays"
    );
    let old = app.query_json(
        "SELECT to_jsonb(a) FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.content = 'old failed'",
    );
    assert_eq!(old["storage_path"], Value::Null);
    assert_eq!(old["download_status"], "failed");
    assert_eq!(old["download_error"], retention::FAILED_SEND_FILE_REMOVED);
    // The messages themselves stay (only the file goes).
    assert_eq!(app.count("messages WHERE content = 'old failed'"), 1);
    // The metric counts rows per table.
    let text = switchboard::metrics::render().unwrap();
    assert!(
        text.contains("switchboard_retention_pruned_total{table=\"webhook_deliveries\"}"),
        "{text}"
    );

    // A second round finds nothing more; 0 days keeps for ever.
    let again = job::prune_round(&app.state).await.unwrap();
    assert_eq!(
        again
            .rows()
            .iter()
            .filter(|(t, _)| *t != "partitions_created")
            .map(|(_, n)| n)
            .sum::<u64>(),
        0,
        "{again:?}"
    );
    let c = retention::RetentionConfig::from_lookup(&|k: &str| match k {
        "RETENTION_PENDING_UPDATES_DAYS" => Some("0".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(c.pending_updates_days, 0);
    assert_eq!(retention::cutoff(chrono::Utc::now(), 0), None);
    let bad = retention::RetentionConfig::from_lookup(&|k: &str| {
        (k == "RETENTION_NOTIFICATIONS_DAYS").then(|| "a month".to_string())
    })
    .unwrap_err();
    assert_eq!(bad.variable, "RETENTION_NOTIFICATIONS_DAYS");
}

#[tokio::test]
async fn conversation_retention_per_account_deletes_old_resolved_threads_with_their_files() {
    let app = TestApp::start();
    let inbox = app.create_inbox_direct().0.id;
    let acc = app.account_id;
    let base = format!("/api/v1/accounts/{acc}");
    // Off by default; the API sets and refuses values; agents may read, not change.
    let shown = app.get(&base).await;
    assert_eq!(shown["conversation_retention_days"], Value::Null);
    assert_eq!(shown["name"], "Acme");
    let (_, agent_token) = app.create_agent("ben@example.com");
    let (status, _) = app
        .api(
            "PATCH",
            &base,
            Some(json!({"conversation_retention_days": 30})),
            &agent_token,
        )
        .await;
    assert_eq!(status, 403);
    for bad in [
        json!(0),
        json!(-3),
        json!(40000),
        json!("soon"),
        json!(true),
    ] {
        let (status, body) = app
            .api(
                "PATCH",
                &base,
                Some(json!({"conversation_retention_days": bad})),
                &app.token,
            )
            .await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert!(
            body.to_string().contains("conversation_retention_days"),
            "{body}"
        );
    }
    let (status, body) = app
        .api(
            "PATCH",
            &base,
            Some(json!({"account": {"conversation_retention_days": 30}})),
            &app.token,
        )
        .await;
    assert_eq!(
        (status, body["conversation_retention_days"].clone()),
        (200, json!(30))
    );

    // Three conversations of the fixture contact: resolved 40 days ago (deleted), resolved 10
    // days ago (kept), open and 40 days quiet (kept).
    let (c_old, contact) = one_conversation(&app).await;
    exec(&app, &format!(
        "INSERT INTO messages (account_id, inbox_id, conversation_id, message_type, content) VALUES ({acc}, {inbox}, {c_old}, 1, 'the old answer');
         INSERT INTO attachments (message_id, account_id, file_type, storage_path, download_status)
           SELECT id, {acc}, 'image', 'media/old-thread.jpg', 'downloaded' FROM messages WHERE content = 'the old answer';
         INSERT INTO reporting_events (account_id, inbox_id, conversation_id, name, value, event_end_time)
           VALUES ({acc}, {inbox}, {c_old}, 'conversation_resolved', 60, now() - interval '40 days');
         INSERT INTO conversations (account_id, inbox_id, contact_id, uuid, status, last_activity_at) VALUES
           ({acc}, {inbox}, {contact}, gen_random_uuid()::text, 'resolved', now() - interval '10 days'),
           ({acc}, {inbox}, {contact}, gen_random_uuid()::text, 'open', now() - interval '40 days');
         UPDATE conversations SET status = 'resolved', last_activity_at = now() - interval '40 days' WHERE id = {c_old};"
    ));
    store(&app, "media/old-thread.jpg", b"jpg").await;
    let counts = "SELECT coalesce(sum(n), 0) FROM conversation_counts";
    assert_eq!(i(&app, counts), app.count("conversations"));
    let facts = app.count("reporting_events");
    let rollups =
        app.query_json("SELECT jsonb_agg(to_jsonb(r) ORDER BY r) FROM reporting_rollups r");

    let report = job::prune_round(&app.state).await.unwrap();
    assert_eq!(report.conversations, 1, "{report:?}");
    assert_eq!(app.count(&format!("conversations WHERE id = {c_old}")), 0);
    assert_eq!(
        app.count(&format!("messages WHERE conversation_id = {c_old}")),
        0
    );
    assert_eq!(
        app.count("attachments WHERE storage_path = 'media/old-thread.jpg'"),
        0
    );
    assert!(
        !stored(&app, "media/old-thread.jpg").await,
        "the thread's file is deleted"
    );
    assert_eq!(
        app.count("conversations"),
        2,
        "the recent resolved and the open one stay"
    );
    assert_eq!(
        app.count(&format!("contacts WHERE id = {contact}")),
        1,
        "the contact stays"
    );
    assert_eq!(
        i(&app, counts),
        app.count("conversations"),
        "conversation_counts follow"
    );
    // Search no longer finds the thread's words.
    let found = app.get(&format!("{base}/search?q=answer")).await;
    assert!(!found.to_string().contains("the old answer"), "{found}");
    // Reporting facts stay as aggregates.
    assert_eq!(app.count("reporting_events"), facts);
    assert_eq!(
        app.query_json("SELECT jsonb_agg(to_jsonb(r) ORDER BY r) FROM reporting_rollups r"),
        rollups
    );
    // Off again: nothing more is deleted even when old.
    let (status, _) = app
        .api(
            "PATCH",
            &base,
            Some(json!({"conversation_retention_days": null})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200);
    exec(&app, "UPDATE conversations SET status = 'resolved', last_activity_at = now() - interval '400 days'");
    assert_eq!(job::prune_round(&app.state).await.unwrap().conversations, 0);
    assert_eq!(app.count("conversations"), 2);
}

#[tokio::test]
async fn the_pruning_round_runs_once_across_two_processes() {
    let app = TestApp::start();
    // A second "process": its own pool and state on the same database.
    let other =
        switchboard::app::AppState::new(config_for(&app.db.url, &app.storage, &Options::default()));
    app.create_inbox_direct();
    exec(
        &app,
        "INSERT INTO pending_message_updates (inbox_id, source_id, kind, payload, created_at)
                SELECT i.id, 'wamid.gone' || n, 'status', '{}', now() - interval '30 days'
                FROM inboxes i, generate_series(1, 2500) n",
    );
    // Both make sure the job exists: still one row.
    {
        let mut c = app.conn();
        job::ensure_job(&mut c).unwrap();
        let mut c2 = other.pool.get().unwrap();
        job::ensure_job(&mut c2).unwrap();
    }
    assert_eq!(app.count("jobs WHERE kind = 'retention_prune'"), 1);

    let (a, b) = tokio::join!(job::run_once(&app.state), job::run_once(&other));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(
        a.is_some() != b.is_some(),
        "exactly one process ran the round: {a:?} {b:?}"
    );
    let report = a.or(b).unwrap();
    assert_eq!(
        report.pending_message_updates, 2500,
        "in batches of 1000: {report:?}"
    );
    assert_eq!(app.count("pending_message_updates"), 0);
    // Not due again until the interval passed, on either process.
    assert!(job::run_once(&app.state).await.unwrap().is_none());
    assert!(job::run_once(&other).await.unwrap().is_none());
    let next = app.query_json("SELECT to_jsonb(run_at - now() > interval '50 minutes') FROM jobs WHERE kind = 'retention_prune'");
    assert_eq!(
        next,
        json!(true),
        "next round in RETENTION_INTERVAL_SECONDS (1 hour)"
    );
    assert_eq!(
        app.count("jobs WHERE kind = 'retention_prune' AND status = 'pending'"),
        1
    );
    // Due again: one of them takes it.
    exec(
        &app,
        "UPDATE jobs SET run_at = now() WHERE kind = 'retention_prune'",
    );
    let (a, b) = tokio::join!(job::run_once(&app.state), job::run_once(&other));
    assert_eq!(
        [a.unwrap().is_some(), b.unwrap().is_some()]
            .iter()
            .filter(|x| **x)
            .count(),
        1
    );
}

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// Reads `contact.json` and the file names out of an export zip.
pub fn read_export(bytes: &[u8]) -> (Value, Vec<(String, Vec<u8>)>) {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut json = Value::Null;
    let mut files = vec![];
    for n in 0..z.len() {
        let mut f = z.by_index(n).unwrap();
        let mut buf = vec![];
        f.read_to_end(&mut buf).unwrap();
        if f.name() == "contact.json" {
            json = serde_json::from_slice(&buf).unwrap();
        } else {
            files.push((f.name().to_string(), buf));
        }
    }
    (json, files)
}

#[tokio::test]
async fn export_contact_cli_writes_everything_about_the_person_as_one_zip() {
    let app = TestApp::start();
    let inbox = app.create_inbox_direct().0.id;
    let acc = app.account_id;
    let (conv, contact) = one_conversation(&app).await;
    exec(&app, &format!(
        "INSERT INTO messages (account_id, inbox_id, conversation_id, message_type, content) VALUES ({acc}, {inbox}, {conv}, 1, 'Here is your invoice');
         INSERT INTO attachments (message_id, account_id, file_type, storage_path, download_status, file_name)
           SELECT id, {acc}, 'file', 'uploads/inv/../invoice.pdf', 'downloaded', '../../invoice 7.pdf' FROM messages WHERE content = 'Here is your invoice';
         INSERT INTO contact_notes (account_id, contact_id, content) VALUES ({acc}, {contact}, 'Prefers email');
         UPDATE contacts SET custom_attributes = '{{\"plan\": \"gold\"}}' WHERE id = {contact};"
    ));
    // A key with `..` is refused by storage; use a plain one.
    exec(
        &app,
        "UPDATE attachments SET storage_path = 'uploads/invoice.pdf' WHERE file_type = 'file'",
    );
    store(&app, "uploads/invoice.pdf", b"%PDF-1.4 invoice").await;
    let out = app.storage.join("export.zip");
    let run = |id: i64| {
        std::process::Command::new(BIN)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &app.db.url)
            .env("FRONTEND_URL", "http://127.0.0.1:3999")
            .env(
                "SECRET_KEY_BASE",
                "cli-test-secret-key-base-0123456789abcdef",
            )
            .env("STORAGE_DIR", &app.storage)
            .env("RUST_LOG", "warn")
            .args(["export-contact", &id.to_string(), "--output"])
            .arg(&out)
            .output()
            .unwrap()
    };
    let done = run(contact);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(String::from_utf8_lossy(&done.stdout).contains("1 file(s)"));
    let (json, files) = read_export(&std::fs::read(&out).unwrap());
    assert_eq!(json["format"], "switchboard-contact-export/1");
    assert_eq!(json["contact"]["id"], contact);
    assert!(json["contact"].get("search_doc").is_none());
    assert!(!json["contact_inboxes"].as_array().unwrap().is_empty());
    assert_eq!(json["conversations"][0]["id"], conv);
    let texts: Vec<&str> = json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts.contains(&"Here is your invoice"), "{texts:?}");
    assert_eq!(json["notes"][0]["content"], "Prefers email");
    assert_eq!(json["custom_attributes"]["values"]["plan"], "gold");
    assert!(json["csat_survey_responses"].is_array());
    let name = json["attachments"][0]["file_in_export"].as_str().unwrap();
    assert!(name.starts_with("files/") && !name.contains(".."), "{name}");
    assert_eq!(
        files,
        vec![(name.to_string(), b"%PDF-1.4 invoice".to_vec())]
    );

    // An unknown contact: a clear error, non-zero exit.
    let missing = run(999_999);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("contact 999999"));
}

#[tokio::test]
async fn the_export_download_is_for_administrators_of_the_contacts_account() {
    let app = TestApp::start();
    app.create_inbox_direct();
    let (_, contact) = one_conversation(&app).await;
    app.create_agent("ben@example.com");
    let path = format!("/app/accounts/{}/contacts/{contact}/export", app.account_id);
    let mut admin = session::Browser::new(&app);
    admin.sign_in("ana@example.com", "correct horse").await;
    let (status, _, _) = admin.get(&path).await;
    assert_eq!(status, 200);
    let (status, _, _) = admin
        .get(&format!(
            "/app/accounts/{}/contacts/999999/export",
            app.account_id
        ))
        .await;
    assert_eq!(status, 404);
    let (status, page, _) = admin
        .get(&format!(
            "/app/accounts/{}/contacts/{contact}",
            app.account_id
        ))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("data-export-contact"));
    // Settings → Account refuses a bad value with the page and a 422.
    let settings = format!("/app/accounts/{}/settings/account", app.account_id);
    let (status, page, _) = admin
        .submit(
            &settings,
            &settings,
            &[("conversation_retention_days", "0")],
        )
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("from 1 to 36500"), "{page}");
    let (status, _, location) = admin
        .submit(
            &settings,
            &settings,
            &[("conversation_retention_days", "90")],
        )
        .await;
    assert_eq!(status, 303);
    assert!(location.unwrap().contains("notice"));
    assert_eq!(
        retention::conversation_retention(&mut app.conn(), app.account_id).unwrap(),
        Some(90)
    );

    let mut agent = session::Browser::new(&app);
    agent.sign_in("ben@example.com", "agent password").await;
    let (status, _, _) = agent.get(&path).await;
    assert_eq!(status, 403);
    let (_, page, _) = agent
        .get(&format!(
            "/app/accounts/{}/contacts/{contact}",
            app.account_id
        ))
        .await;
    assert!(
        !page.contains("data-export-contact"),
        "agents have no export button"
    );
}
