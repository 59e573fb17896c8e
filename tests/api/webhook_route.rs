//! The webhook route: handshake, signature matrix, size and JSON errors, durability and
//! idempotency under concurrent duplicate deliveries.

use crate::common::*;
use actix_web::{test, App};
use serde_json::json;
use switchboard::app;

async fn handshake(app: &TestApp, phone: &str, query: &str) -> (u16, String) {
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let req = test::TestRequest::get()
        .uri(&format!("/webhooks/whatsapp/{phone}?{query}"))
        .to_request();
    let resp = test::call_service(&svc, req).await;
    let status = resp.status().as_u16();
    (
        status,
        String::from_utf8_lossy(&test::read_body(resp).await).to_string(),
    )
}

#[actix_rt::test]
async fn get_handshake_checks_the_verify_token() {
    let app = TestApp::start();
    let inbox = app.create_inbox(json!({})).await;
    let token = inbox["provider_config"]["webhook_verify_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(token.len(), 32);
    assert!(token
        .chars()
        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));

    let ok = handshake(
        &app,
        PHONE,
        &format!("hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"),
    )
    .await;
    assert_eq!(ok, (200, "1158201444".to_string()));
    let wrong = handshake(
        &app,
        PHONE,
        "hub.mode=subscribe&hub.verify_token=0123456789abcdef0123456789abcdef&hub.challenge=1",
    )
    .await;
    assert_eq!(wrong.0, 401);
    assert!(wrong.1.contains("verify token"));
    let unknown = handshake(
        &app,
        "+15550000000",
        &format!("hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1"),
    )
    .await;
    assert_eq!(unknown.0, 401);
    let bad_mode = handshake(
        &app,
        PHONE,
        &format!("hub.mode=unsubscribe&hub.verify_token={token}&hub.challenge=1"),
    )
    .await;
    assert_eq!(bad_mode.0, 401);
}

#[actix_rt::test]
async fn signature_matrix() {
    let body = webhook_fixture("text_unicode.json");
    assert!(
        std::str::from_utf8(&body).unwrap().contains("Olá"),
        "raw non-ASCII bytes are signed as posted"
    );

    // Manual inbox without a secret: unsigned → 200.
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    assert_eq!(app.post_webhook(PHONE, &body, None).await.0, 200);

    // Inbox with app_secret: valid → 200, wrong → 401, missing → 401.
    let app = TestApp::start();
    app.create_inbox(json!({"app_secret": "inbox-app-secret"}))
        .await;
    assert_eq!(
        app.post_webhook(PHONE, &body, Some(sign("inbox-app-secret", &body)))
            .await
            .0,
        200
    );
    let (status, text) = app
        .post_webhook(PHONE, &body, Some(sign("wrong-secret", &body)))
        .await;
    assert_eq!(status, 401);
    assert!(text.contains("X-Hub-Signature-256 is invalid"), "{text}");
    let (status, text) = app.post_webhook(PHONE, &body, None).await;
    assert_eq!(status, 401);
    assert!(text.contains("missing"), "{text}");
    // A signature over different bytes (re-serialised JSON) fails: the raw body counts.
    let reserialised =
        serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(&body).unwrap()).unwrap();
    assert_ne!(reserialised, body);
    assert_eq!(
        app.post_webhook(PHONE, &body, Some(sign("inbox-app-secret", &reserialised)))
            .await
            .0,
        401
    );
    // Other secret key names count as the app secret too.
    let app = TestApp::start();
    app.create_inbox(json!({"client_secret": "named-client-secret"}))
        .await;
    assert_eq!(app.post_webhook(PHONE, &body, None).await.0, 401);
    assert_eq!(
        app.post_webhook(PHONE, &body, Some(sign("named-client-secret", &body)))
            .await
            .0,
        200
    );

    // Embedded Signup without a secret: 401 unless the global secret signs it.
    let app = TestApp::start_with(Options {
        global_app_secret: Some("global-secret".into()),
        ..Default::default()
    });
    app.create_inbox(json!({"source": "embedded_signup"})).await;
    assert_eq!(app.post_webhook(PHONE, &body, None).await.0, 401);
    assert_eq!(
        app.post_webhook(PHONE, &body, Some(sign("other", &body)))
            .await
            .0,
        401
    );
    assert_eq!(
        app.post_webhook(PHONE, &body, Some(sign("global-secret", &body)))
            .await
            .0,
        200
    );
    let app = TestApp::start();
    app.create_inbox(json!({"source": "embedded_signup"})).await;
    assert_eq!(
        app.post_webhook(PHONE, &body, Some(sign("anything", &body)))
            .await
            .0,
        401
    );

    // Unknown number: no channel → enforce; unsigned → 401; signed by the global secret → 404.
    let app = TestApp::start_with(Options {
        global_app_secret: Some("global-secret".into()),
        ..Default::default()
    });
    app.create_inbox(json!({})).await;
    assert_eq!(app.post_webhook("+15550000000", &body, None).await.0, 401);
    let (status, text) = app
        .post_webhook("+15550000000", &body, Some(sign("global-secret", &body)))
        .await;
    assert_eq!(status, 404);
    assert!(text.contains("no WhatsApp inbox"), "{text}");
    assert_eq!(app.count("whatsapp_events"), 0);
}

#[actix_rt::test]
async fn bad_input_gets_clear_errors_and_nothing_is_stored() {
    let app = TestApp::start_with(Options {
        inactive_numbers: vec!["+15557654321".into()],
        ..Default::default()
    });
    app.create_inbox(json!({})).await;

    let mut big = webhook_fixture("text.json");
    big.resize(3 * 1024 * 1024 + 1, b' ');
    let (status, text) = app.post_webhook(PHONE, &big, None).await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("limited to 3145728 bytes"), "{text}");
    // Exactly 3 MiB of valid JSON (padded with whitespace) is accepted.
    big.truncate(3 * 1024 * 1024);
    assert_eq!(app.post_webhook(PHONE, &big, None).await.0, 200);

    for bad in [&b"{not json"[..], b"", b"[1,2]", b"{\"entry\": 5}"] {
        let (status, text) = app.post_webhook(PHONE, bad, None).await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains("not valid webhook JSON"), "{text}");
    }

    let other_id = String::from_utf8(webhook_fixture("text.json"))
        .unwrap()
        .replace(PHONE_NUMBER_ID, "999999999");
    let (status, text) = app.post_webhook(PHONE, other_id.as_bytes(), None).await;
    assert_eq!(status, 422);
    assert!(
        text.contains("messages for phone_number_id 999999999 arrive at +15551234567")
            && text.contains("create an inbox for it"),
        "{text}"
    );

    let (status, text) = app
        .post_webhook("+15557654321", &webhook_fixture("text.json"), None)
        .await;
    assert_eq!(status, 422);
    assert!(text.contains("inactive"), "{text}");

    assert_eq!(
        app.count("whatsapp_events"),
        1,
        "only the 3 MiB body was journaled"
    );
}

#[actix_rt::test]
async fn database_down_answers_503_and_the_retry_is_stored_once() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    let body = webhook_fixture("text.json");

    app.db.take_offline();
    let (status, text) = app.post_webhook(PHONE, &body, None).await;
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("database is unavailable"), "{text}");
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let health =
        test::call_service(&svc, test::TestRequest::get().uri("/health").to_request()).await;
    assert_eq!(health.status().as_u16(), 503);

    app.db.bring_online();
    // The circuit breaker closes once its background probe reaches the database (about a
    // second); until then the route keeps answering 503 at once.
    let back = std::time::Instant::now();
    while test::call_service(&svc, test::TestRequest::get().uri("/health").to_request())
        .await
        .status()
        .as_u16()
        != 200
    {
        assert!(
            back.elapsed() < std::time::Duration::from_secs(15),
            "no recovery"
        );
        actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Meta retries the same delivery (twice, say): stored once.
    assert_eq!(app.post_webhook(PHONE, &body, None).await.0, 200);
    assert_eq!(app.post_webhook(PHONE, &body, None).await.0, 200);
    app.ingest();
    assert_eq!(app.messages().len(), 1);
    let health =
        test::call_service(&svc, test::TestRequest::get().uri("/health").to_request()).await;
    assert_eq!(health.status().as_u16(), 200);
}

#[actix_rt::test]
async fn twenty_concurrent_duplicates_yield_one_message() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    let body = with_current_timestamps(&webhook_fixture("text.json"));
    let posts = (0..20).map(|_| app.post_webhook(PHONE, &body, None));
    for (status, text) in futures_util::future::join_all(posts).await {
        assert_eq!(status, 200, "{text}");
    }
    assert_eq!(app.count("whatsapp_events"), 20);
    // Four workers drain the journal at once, as four processes would.
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let pool = app.state.pool.clone();
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                switchboard::jobs::ingest::drain(&mut conn, 100).unwrap()
            })
        })
        .collect();
    let processed: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(processed, 20);
    assert_eq!(app.messages().len(), 1);
    assert_eq!(app.count("contacts"), 1);
    assert_eq!(app.count("conversations"), 1);
    assert_eq!(app.count("contact_inboxes"), 2);
    let conv = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations/1",
            app.account_id
        ))
        .await;
    assert_eq!(
        conv["can_reply"], true,
        "a current message opens the window"
    );
}

#[actix_rt::test]
async fn concurrent_different_messages_from_one_new_user_share_one_conversation() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    let base = String::from_utf8(webhook_fixture("text.json")).unwrap();
    for i in 0..12 {
        let body = base.replace(
            "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTAwMDAwMDAwMDAwMDAwMDAwMQA=",
            &format!("wamid.CONCURRENT{i}"),
        );
        assert_eq!(app.post_webhook(PHONE, body.as_bytes(), None).await.0, 200);
    }
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let pool = app.state.pool.clone();
            std::thread::spawn(move || {
                switchboard::jobs::ingest::drain(&mut pool.get().unwrap(), 100).unwrap()
            })
        })
        .collect();
    handles.into_iter().for_each(|h| {
        h.join().unwrap();
    });
    assert_eq!(app.messages().len(), 12);
    assert_eq!(app.count("contacts"), 1);
    assert_eq!(app.count("conversations"), 1);
}

#[actix_rt::test]
async fn an_event_that_cannot_be_processed_is_retried_then_kept_as_failed() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    assert_eq!(
        app.post_webhook(PHONE, &webhook_fixture("text.json"), None)
            .await
            .0,
        200
    );
    // The inbox disappears before ingest (its events keep their raw body).
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE whatsapp_events SET inbox_id = NULL"),
        &mut app.conn(),
    )
    .unwrap();
    let mut conn = app.conn();
    let (_, outcome) = switchboard::jobs::ingest::process_next(&mut conn)
        .unwrap()
        .unwrap();
    assert!(outcome.unwrap_err().contains("inbox"));
    assert_eq!(
        app.count(
            "whatsapp_events WHERE status = 'pending' AND attempts = 1 AND run_after > now()"
        ),
        1
    );
    assert!(
        switchboard::jobs::ingest::process_next(&mut conn)
            .unwrap()
            .is_none(),
        "not due yet"
    );
    // On its last allowed attempt it is marked failed, with the error and the body kept.
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE whatsapp_events SET attempts = 9, run_after = now()"),
        &mut conn,
    )
    .unwrap();
    let (_, last) = switchboard::jobs::ingest::process_next(&mut conn)
        .unwrap()
        .unwrap();
    assert!(last.is_err());
    assert_eq!(app.count("whatsapp_events WHERE status = 'failed' AND attempts = 10 AND last_error IS NOT NULL AND raw_body <> ''"), 1);
    // Once the cause is fixed, `switchboard retry-failed-events` ingests it after all.
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE whatsapp_events SET inbox_id = 1"),
        &mut conn,
    )
    .unwrap();
    assert_eq!(
        switchboard::jobs::ingest::retry_failed(&mut conn).unwrap(),
        1
    );
    drop(conn);
    app.ingest();
    assert_eq!(app.messages().len(), 1);
}

#[actix_rt::test]
async fn journal_commits_wake_listeners_in_other_processes() {
    let app = TestApp::start();
    let inbox = app.create_inbox(json!({})).await;
    let (tx, rx) = std::sync::mpsc::channel();
    let url = app.db.url.clone();
    std::thread::spawn(move || {
        switchboard::jobs::listen_for_work(&url, &[switchboard::jobs::INGEST_CHANNEL], move |_| {
            let _ = tx.send(());
        })
    });
    // Give the listener time to LISTEN, then commit from another connection.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let body = String::from_utf8(webhook_fixture("text.json")).unwrap();
    switchboard::jobs::ingest::journal_many(
        &mut app.conn(),
        &[(inbox["id"].as_i64().unwrap(), PHONE.into(), body)],
    )
    .unwrap();
    rx.recv_timeout(std::time::Duration::from_secs(5))
        .expect("the listener was woken");
    // Through the webhook route: the journal writer commits without NOTIFY (it would
    // serialize commits) and its announcer notifies once the batch is durable.
    while rx.try_recv().is_ok() {}
    let body = text_delivery("15550001111", "wamid.ANNOUNCED", "hello");
    let (status, text) = app.post_webhook(PHONE, body.as_bytes(), None).await;
    assert_eq!(status, 200, "{text}");
    rx.recv_timeout(std::time::Duration::from_secs(5))
        .expect("the announcer woke the listener");
}
