//! Hover actions on a message (issue 10, "The thread and the composer"): a reply quoting a
//! message reaches Graph with `context.message_id` and is stored the Chatwoot way
//! (`content_attributes.in_reply_to` + `in_reply_to_external_id`); reactions are sent and
//! removed; a failed message is retried through the send job (only when it failed); a
//! customer's reply shows the quoted message above the bubble.

use crate::common::session::Browser;
use crate::common::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MESSAGES_PATH: &str = "/v25.0/106540352242922/messages";
const INCOMING_WAMID: &str = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTAwMDAwMDAwMDAwMDAwMDAwMQA=";
/// The wamid `send_ok_phone.json` answers with, which `text_reply_context.json` replies to.
const OUTGOING_WAMID: &str = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJPVVRHT0lOR18wMDAwMDEA";

fn graph_fixture(name: &str) -> Value {
    let raw = std::fs::read(shared_fixture(&format!("graph/{name}"))).expect("graph fixture");
    serde_json::from_slice(&raw).unwrap()
}

/// A Graph stand-in: every send gets its own wamid (`wamid.OUT.<n>`), except that the first
/// one answers `send_ok_phone.json`'s wamid when `first_fixture` is set.
async fn graph(first_fixture: bool) -> MockServer {
    let server = MockServer::start().await;
    mount_graph_defaults(&server).await;
    if first_fixture {
        Mock::given(method("POST"))
            .and(path(MESSAGES_PATH))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(graph_fixture("send_ok_phone.json")),
            )
            .up_to_n_times(1)
            .with_priority(5)
            .mount(&server)
            .await;
    }
    let counter = std::sync::atomic::AtomicUsize::new(0);
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(move |_: &Request| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
                "messages": [{"id": format!("wamid.OUT.{n}")}]
            }))
        })
        .with_priority(9)
        .mount(&server)
        .await;
    server
}

fn app_for(server: &MockServer) -> TestApp {
    TestApp::start_with(Options {
        graph_base_url: Some(server.uri()),
        ..Default::default()
    })
}

/// The inbox and a conversation whose customer wrote just now; returns its display id.
async fn open_conversation(app: &TestApp) -> i64 {
    app.create_inbox(json!({})).await;
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    let list = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations?status=all",
            app.account_id
        ))
        .await;
    list["data"]["payload"][0]["id"]
        .as_i64()
        .expect("a conversation")
}

async fn post(app: &TestApp, path_: &str, body: Option<Value>) -> (u16, Value) {
    app.api("POST", path_, body, &app.token.clone()).await
}

fn messages_url(app: &TestApp, display_id: i64) -> String {
    format!(
        "/api/v1/accounts/{}/conversations/{display_id}/messages",
        app.account_id
    )
}

fn retry_url(app: &TestApp, display_id: i64, message_id: i64) -> String {
    format!("{}/{message_id}/retry", messages_url(app, display_id))
}

/// Graph `messages` requests received, in order.
async fn sent(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == MESSAGES_PATH && r.method.as_str() == "POST")
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

fn row(app: &TestApp, id: i64) -> Value {
    app.query_json(&format!(
        "SELECT to_jsonb(m) FROM messages m WHERE id = {id}"
    ))
}

fn incoming_id(app: &TestApp) -> i64 {
    app.query_json("SELECT to_jsonb(id) FROM messages WHERE message_type = 0 ORDER BY id LIMIT 1")
        .as_i64()
        .unwrap()
}

#[actix_rt::test]
async fn a_reply_quoting_a_message_reaches_graph_with_its_context() {
    let server = graph(false).await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let incoming = incoming_id(&app);

    let (status, msg) = post(
        &app,
        &messages_url(&app, display_id),
        Some(json!({"content": "Size M is in stock", "content_attributes": {"in_reply_to": incoming}})),
    )
    .await;
    assert_eq!(status, 200, "{msg}");
    // Stored the Chatwoot way.
    assert_eq!(msg["content_attributes"]["in_reply_to"], incoming);
    assert_eq!(
        msg["content_attributes"]["in_reply_to_external_id"],
        INCOMING_WAMID
    );
    app.run_send_jobs().await;
    let bodies = sent(&server).await;
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["type"], "text");
    assert_eq!(bodies[0]["context"], json!({"message_id": INCOMING_WAMID}));
    assert_eq!(bodies[0]["text"]["body"], "Size M is in stock");

    // A message of another conversation (or none) cannot be quoted: 422 naming the field.
    let (status, err) = post(
        &app,
        &messages_url(&app, display_id),
        Some(json!({"content": "x", "content_attributes": {"in_reply_to": 999_999}})),
    )
    .await;
    assert_eq!(status, 422, "{err}");
    assert!(err.to_string().contains("in_reply_to"), "{err}");
}

#[actix_rt::test]
async fn a_reaction_is_sent_and_removed() {
    let server = graph(false).await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let incoming = incoming_id(&app);
    let react = |emoji: &str| json!({"content": emoji, "content_attributes": {"in_reply_to": incoming, "is_reaction": true}});

    let (status, m) = post(&app, &messages_url(&app, display_id), Some(react("❤️"))).await;
    assert_eq!(status, 200, "{m}");
    app.run_send_jobs().await;
    let reactions = row(&app, incoming)["content_attributes"]["reactions"].clone();
    assert_eq!(reactions[0]["emoji"], "❤️", "{reactions}");

    // An empty emoji removes it, on WhatsApp and on the bubble.
    let (status, m) = post(&app, &messages_url(&app, display_id), Some(react(""))).await;
    assert_eq!(status, 200, "{m}");
    app.run_send_jobs().await;
    let bodies = sent(&server).await;
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["type"], "reaction");
    assert_eq!(
        bodies[0]["reaction"],
        json!({"message_id": INCOMING_WAMID, "emoji": "❤️"})
    );
    assert_eq!(
        bodies[1]["reaction"],
        json!({"message_id": INCOMING_WAMID, "emoji": ""})
    );
    let reactions = row(&app, incoming)["content_attributes"]["reactions"].clone();
    assert!(
        reactions
            .as_array()
            .is_none_or(|r| r.iter().all(|x| x["emoji"].is_null() || x["emoji"] == "")),
        "{reactions}"
    );
}

#[actix_rt::test]
async fn only_a_failed_message_is_retried_and_it_goes_out_again() {
    let server = graph(false).await;
    // The first send fails for good with Meta's error.
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(graph_fixture("error_131047_window_closed.json")),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let incoming = incoming_id(&app);

    let (_, m) = post(
        &app,
        &messages_url(&app, display_id),
        Some(json!({"content": "Are you there?"})),
    )
    .await;
    let id = m["id"].as_i64().unwrap();
    // Not failed (yet): 422.
    let (status, err) = post(&app, &retry_url(&app, display_id, id), None).await;
    assert_eq!(status, 422, "{err}");
    assert!(err.to_string().contains("message_id"), "{err}");

    app.run_send_jobs().await;
    let failed = row(&app, id);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["external_error"], "(#131047) Re-engagement message");

    // The thread shows Meta's error and a Retry button.
    let mut ana = Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;
    let (status, html, _) = ana
        .get(&format!(
            "/app/accounts/{}/partials/messages/{id}",
            app.account_id
        ))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("(#131047) Re-engagement message"), "{html}");
    assert!(html.contains("more than 24 hours have passed"), "{html}");
    assert!(html.contains(r#"data-msg-action="retry""#), "{html}");

    // Incoming messages and unknown ids: 422 and 404.
    let (status, _) = post(&app, &retry_url(&app, display_id, incoming), None).await;
    assert_eq!(status, 422);
    let (status, _) = post(&app, &retry_url(&app, display_id, 999_999), None).await;
    assert_eq!(status, 404);

    // Another account's administrator gets a 404 for this message.
    let other = switchboard::domain::accounts::create_admin(
        &mut app.conn(),
        "Other Co",
        "Olga Other",
        "olga@example.com",
        "other password",
    )
    .unwrap();
    let foreign = format!(
        "/api/v1/accounts/{}/conversations/{display_id}/messages/{id}/retry",
        other.account_id
    );
    let (status, body) = app
        .api("POST", &foreign, None, &other.api_access_token)
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(row(&app, id)["status"], "failed");

    // The retry: the same message goes back to progress, then out to Graph again.
    let (status, again) = post(&app, &retry_url(&app, display_id, id), None).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["status"], "progress");
    assert_eq!(again["id"], id);
    app.run_send_jobs().await;
    let bodies = sent(&server).await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["text"]["body"], "Are you there?");
    assert_eq!(
        bodies[1]["biz_opaque_callback_data"],
        format!("switchboard:message:{id}")
    );
    let done = row(&app, id);
    assert_eq!(done["status"], "sent");
    assert_eq!(done["external_error"], Value::Null);
    assert_eq!(
        done["content_attributes"]["previous_errors"][0]["external_error"],
        "(#131047) Re-engagement message"
    );
    // A sent message cannot be retried.
    let (status, _) = post(&app, &retry_url(&app, display_id, id), None).await;
    assert_eq!(status, 422);
    // Exactly one message: the retry did not create another.
    assert_eq!(app.count("messages WHERE message_type = 1"), 1);
}

#[actix_rt::test]
async fn a_retry_honours_the_24_hour_window() {
    let server = graph(false).await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(graph_fixture("error_131047_window_closed.json")),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let (_, m) = post(
        &app,
        &messages_url(&app, display_id),
        Some(json!({"content": "Hello?"})),
    )
    .await;
    let id = m["id"].as_i64().unwrap();
    app.run_send_jobs().await;
    assert_eq!(row(&app, id)["status"], "failed");
    // The customer's last message is now 25 hours old.
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "UPDATE conversations SET last_incoming_at = now() - interval '25 hours'",
        )
        .execute(&mut app.conn())
        .unwrap();
    }
    let (status, err) = post(&app, &retry_url(&app, display_id, id), None).await;
    assert_eq!(status, 422, "{err}");
    assert!(err.to_string().contains("24-hour"), "{err}");
    assert_eq!(row(&app, id)["status"], "failed");
}

#[actix_rt::test]
async fn a_customers_reply_shows_the_quoted_message() {
    let server = graph(true).await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let (_, m) = post(
        &app,
        &messages_url(&app, display_id),
        Some(json!({"content": "Which colour would you like?"})),
    )
    .await;
    let ours = m["id"].as_i64().unwrap();
    app.run_send_jobs().await;
    assert_eq!(row(&app, ours)["source_id"], OUTGOING_WAMID);

    // The customer replies to it (the webhook's `context.id` is our wamid).
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture(
        "text_reply_context.json",
    )))
    .await;
    let reply =
        app.query_json("SELECT to_jsonb(m) FROM messages m WHERE content = 'Yes, that one please'");
    assert_eq!(reply["content_attributes"]["in_reply_to"], ours, "{reply}");
    assert_eq!(
        reply["content_attributes"]["in_reply_to_external_id"],
        OUTGOING_WAMID
    );

    let mut ana = Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;
    let (status, html, _) = ana
        .get(&format!(
            "/app/accounts/{}/conversations/{display_id}",
            app.account_id
        ))
        .await;
    assert_eq!(status, 200);
    let quote = format!(
        r#"<blockquote class="quote" dir="auto" data-quote-of="{ours}">Which colour would you like?</blockquote>"#
    );
    assert!(html.contains(&quote), "{html}");
    // Every message text reads in its own direction, and replies/reactions are offered.
    assert!(html.contains(r#"<p class="content" dir="auto">Yes, that one please</p>"#));
    assert!(html.contains(r#"data-msg-action="reply""#));
    assert!(html.contains(r#"data-msg-action="react""#));
}

#[actix_rt::test]
async fn the_emoji_data_is_served_from_one_fixed_route() {
    let app = TestApp::start();
    let srv = actix_web::test::init_service(
        actix_web::App::new().configure(switchboard::app::configure(app.state.clone())),
    )
    .await;
    let req = actix_web::test::TestRequest::get()
        .uri("/static/vendor/emoji-data.json")
        .to_request();
    let resp = actix_web::test::call_service(&srv, req).await;
    assert_eq!(resp.status(), 200);
    let body = actix_web::test::read_body(resp).await;
    let data: Value = serde_json::from_slice(&body).expect("JSON");
    assert!(data.as_array().unwrap().len() > 1000);
    assert!(data[0]["emoji"].is_string() && data[0]["annotation"].is_string());
    // Compressed for browsers (440 KB of JSON, about 75 KB gzipped).
    let req = actix_web::test::TestRequest::get()
        .uri("/static/vendor/emoji-data.json")
        .insert_header(("accept-encoding", "gzip"))
        .to_request();
    let resp = actix_web::test::call_service(&srv, req).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("content-encoding").unwrap(), "gzip");
    let zipped = actix_web::test::read_body(resp).await;
    assert!(
        zipped.len() < body.len() / 4,
        "{} of {}",
        zipped.len(),
        body.len()
    );
    for bad in [
        "/static/vendor/",
        "/static/vendor/../package.json",
        "/static/vendor/emoji-data.json/../../Cargo.toml",
        "/static/vendor/%2e%2e/%2e%2e/Cargo.toml",
    ] {
        let req = actix_web::test::TestRequest::get().uri(bad).to_request();
        let resp = actix_web::test::call_service(&srv, req).await;
        assert_ne!(resp.status(), 200, "{bad}");
    }
}

/// polish10 item 1: an agent's reaction shows only as a badge on the message it reacts to:
/// no bubble of its own in the thread or through the live-update fragment, and never the
/// list's preview or `last_non_activity_message`; the API still lists it as a message with
/// `content_attributes.is_reaction` (as Chatwoot does).
#[actix_rt::test]
async fn a_sent_reaction_is_a_badge_not_a_bubble_nor_the_preview() {
    let server = graph(false).await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let incoming = incoming_id(&app);
    let (status, m) = post(
        &app,
        &messages_url(&app, display_id),
        Some(json!({"content": "👍", "content_attributes": {"in_reply_to": incoming, "is_reaction": true}})),
    )
    .await;
    assert_eq!(status, 200, "{m}");
    let reaction_id = m["id"].as_i64().unwrap();
    app.run_send_jobs().await;

    let acc = app.account_id;
    let mut ana = Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;
    let (status, page, _) = ana
        .get(&format!("/app/accounts/{acc}/conversations/{display_id}"))
        .await;
    assert_eq!(status, 200);
    assert!(
        !page.contains(&format!(r#"id="m-{reaction_id}""#)),
        "the reaction has no bubble of its own"
    );
    assert!(!page.contains("Reacted"), "no 'Reacted 👍' line");
    // A reaction is no answer: the panel still says the customer waits.
    assert!(page.contains("no reply yet"), "first reply");
    assert!(!page.contains("not waiting"), "waiting since");
    let badge = format!(r#"id="m-{incoming}""#);
    let bubble = &page[page.find(&badge).expect("the customer's bubble")..];
    let bubble = &bubble[..bubble.find("</li>").unwrap()];
    assert!(
        bubble.contains(r#"<span class="reactions" aria-label="Reactions">👍</span>"#),
        "{bubble}"
    );
    // The live-update fragment of the reaction is empty (the target's own update redraws it).
    let (status, frag, _) = ana
        .get(&format!(
            "/app/accounts/{acc}/partials/messages/{reaction_id}"
        ))
        .await;
    assert_eq!(status, 200);
    assert!(frag.trim().is_empty(), "{frag}");
    let (_, frag, _) = ana
        .get(&format!("/app/accounts/{acc}/partials/messages/{incoming}"))
        .await;
    assert!(frag.contains("👍"), "{frag}");

    // The list's preview stays the customer's message.
    let (_, list, _) = ana
        .get(&format!(
            "/app/accounts/{acc}/partials/conversations?assignee_type=all&status=all"
        ))
        .await;
    assert!(!list.contains("👍"), "{list}");
    assert!(list.contains("Does the blue jacket"), "{list}");
    let conversations = app
        .get(&format!("/api/v1/accounts/{acc}/conversations?status=all"))
        .await;
    let last = &conversations["data"]["payload"][0]["last_non_activity_message"];
    assert_eq!(last["id"], incoming, "{last}");

    // The API keeps the reaction as a message, as Chatwoot does.
    let listed = app
        .get(&format!(
            "/api/v1/accounts/{acc}/conversations/{display_id}/messages"
        ))
        .await;
    let found = listed["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == reaction_id)
        .cloned()
        .unwrap_or_default();
    assert_eq!(found["content_attributes"]["is_reaction"], true, "{listed}");
}
