//! Issue 13's loose ends (ops13): automated messages are no reply, mute, thread order,
//! durable automation webhooks, contact export filters.

use crate::common::*;
use serde_json::{json, Value};

/// An incoming text from `from` with `body` (a new contact per `from`).
fn text(from: &str, wamid: &str, body: &str) -> Vec<u8> {
    text_delivery(from, wamid, body).into_bytes()
}

fn rules_path(app: &TestApp) -> String {
    format!("/api/v1/accounts/{}/automation_rules", app.account_id)
}

async fn create_rule(app: &TestApp, body: Value) -> Value {
    let (s, v) = app
        .api("POST", &rules_path(app), Some(body), &app.token.clone())
        .await;
    assert_eq!(s, 200, "{v}");
    v["payload"].clone()
}

async fn drain(app: &TestApp) -> usize {
    switchboard::jobs::automation::drain(&app.state)
        .await
        .expect("automation jobs")
}

fn conversation_id(app: &TestApp, display_id: i32) -> i64 {
    app.query_json(&format!(
        "SELECT to_jsonb(id) FROM conversations WHERE display_id = {display_id}"
    ))
    .as_i64()
    .unwrap()
}

#[actix_web::test]
async fn a_rules_message_is_no_first_reply_and_the_customer_still_waits() {
    let app = TestApp::start();
    app.create_inbox_direct();
    create_rule(
        &app,
        json!({"automation_rule": {
            "name": "Ack", "event_name": "conversation_created", "conditions": [],
            "actions": [{"action_name": "send_message", "action_params": ["We got your message"]}]
        }}),
    )
    .await;
    app.deliver_bytes(&text("16505550101", "wamid.a1", "Hello"))
        .await;
    drain(&app).await;
    let sent = app.query_json(
        "SELECT content_attributes FROM messages WHERE content = 'We got your message'",
    );
    assert_eq!(sent["automated"], "automation_rule", "{sent}");
    assert_eq!(
        app.count("conversations WHERE display_id = 1 AND waiting_since IS NOT NULL"),
        1,
        "a rule's message does not end waiting since"
    );
    let id = conversation_id(&app, 1);
    let times =
        switchboard::domain::conversations::reply_times(&mut app.conn(), id).expect("times");
    assert_eq!(times.first_reply_at, None, "{times:?}");
    assert!(times.waiting_since.is_some());

    // A client can't mark its own reply as automated: an agent's reply counts.
    let (s, v) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/conversations/1/messages",
                app.account_id
            ),
            Some(json!({"content": "Hi, Ann here", "content_attributes": {"automated": "x"}})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["content_attributes"].get("automated").is_none(), "{v}");
    let times =
        switchboard::domain::conversations::reply_times(&mut app.conn(), id).expect("times");
    assert!(times.first_reply_at.is_some());
    assert_eq!(times.waiting_since, None);
    assert_eq!(
        app.count("conversations WHERE display_id = 1 AND waiting_since IS NULL"),
        1
    );

    // A macro an agent runs is their reply (not automated).
    let mp = format!("/api/v1/accounts/{}/macros", app.account_id);
    app.deliver_bytes(&text("16505550101", "wamid.a2", "Still there?"))
        .await;
    let (_, m) = app
        .api(
            "POST",
            &mp,
            Some(json!({"name": "Reply", "actions": [
                {"action_name": "send_message", "action_params": ["Yes!"]}]})),
            &app.token.clone(),
        )
        .await;
    let (s, v) = app
        .api(
            "POST",
            &format!("{mp}/{}/execute", m["payload"]["id"]),
            Some(json!({"conversation_ids": [1]})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        app.count("messages WHERE content = 'Yes!' AND NOT (content_attributes ? 'automated')"),
        1
    );
    assert_eq!(
        app.count("conversations WHERE display_id = 1 AND waiting_since IS NULL"),
        1
    );
}

/// An incoming text at unix second `ts`.
fn text_at(from: &str, wamid: &str, body: &str, ts: i64) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&text(from, wamid, body)).unwrap();
    v["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = json!(ts.to_string());
    serde_json::to_vec(&v).unwrap()
}

fn conv_path(app: &TestApp, rest: &str) -> String {
    format!("/api/v1/accounts/{}/conversations/{rest}", app.account_id)
}

#[actix_web::test]
async fn a_muted_conversation_takes_new_messages_without_reopening_or_notifying() {
    let app = TestApp::start();
    app.create_inbox_direct();
    app.deliver_bytes(&text("16505550201", "wamid.m1", "Hello"))
        .await;
    let token = app.token.clone();
    let (s, v) = app
        .api(
            "POST",
            &conv_path(&app, "1/assignments"),
            Some(json!({"assignee_id": app.admin_id})),
            &token,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // The assignee is notified of a customer message while not muted.
    let before = app.count("notifications");
    app.deliver_bytes(&text("16505550201", "wamid.m2", "Anyone?"))
        .await;
    let notified = app.count("notifications");
    assert!(notified > before, "the assignee gets a notification");

    let (s, _) = app
        .api("POST", &conv_path(&app, "1/mute"), None, &token)
        .await;
    assert_eq!(s, 200);
    let c = app.get(&conv_path(&app, "1")).await;
    assert_eq!(c["muted"], true, "{c}");
    assert_eq!(c["status"], "resolved", "{c}");
    assert_eq!(
        app.count("messages WHERE message_type = 2 AND content LIKE '%has muted the conversation'"),
        1
    );
    // Muting twice changes nothing.
    app.api("POST", &conv_path(&app, "1/mute"), None, &token)
        .await;
    assert_eq!(
        app.count("messages WHERE content LIKE '%has muted the conversation'"),
        1
    );

    // A new message joins the muted conversation: no new conversation, not reopened, no bell.
    app.deliver_bytes(&text("16505550201", "wamid.m3", "Spam spam"))
        .await;
    assert_eq!(app.count("conversations"), 1);
    assert_eq!(
        app.count("conversations WHERE status = 'resolved' AND waiting_since IS NULL"),
        1
    );
    assert_eq!(app.count("messages WHERE content = 'Spam spam'"), 1);
    assert_eq!(app.count("notifications"), notified);

    // Unmuted, the customer's next message opens a conversation again.
    let (s, _) = app
        .api("POST", &conv_path(&app, "1/unmute"), None, &token)
        .await;
    assert_eq!(s, 200);
    let c = app.get(&conv_path(&app, "1")).await;
    assert_eq!(c["muted"], false, "{c}");
    assert_eq!(
        app.count("messages WHERE content LIKE '%has unmuted the conversation'"),
        1
    );
    app.deliver_bytes(&text("16505550201", "wamid.m4", "Hello again"))
        .await;
    assert_eq!(app.count("conversations WHERE status = 'open'"), 1);

    // Unknown or other account's conversation: 404.
    let (s, _) = app
        .api("POST", &conv_path(&app, "99/mute"), None, &token)
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .api("POST", &conv_path(&app, "99/unmute"), None, &token)
        .await;
    assert_eq!(s, 404);
}

#[actix_web::test]
async fn an_answer_in_the_same_second_as_its_question_sorts_after_it() {
    let app = TestApp::start();
    app.create_inbox_direct();
    let t = chrono::Utc::now().timestamp() - 5;
    app.deliver_bytes(&text_at("16505550301", "wamid.o1", "Hi", t - 60))
        .await;
    // The survey goes out at t + 0.7 s (our clock has microseconds)...
    let id = conversation_id(&app, 1);
    {
        let mut conn = app.conn();
        let c = switchboard::domain::conversations::find_by_id(&mut conn, id).unwrap();
        let at = chrono::DateTime::from_timestamp(t, 700_000_000).unwrap();
        let mut attrs = serde_json::Map::new();
        attrs.insert("automated".into(), json!("csat"));
        switchboard::domain::auto_replies::send_system(
            &mut conn,
            &c,
            "How did we do?",
            "text",
            attrs,
            at,
        )
        .unwrap();
    }
    // ...and the answer is stamped t (Graph's whole seconds), delivered after it.
    app.deliver_bytes(&text_at("16505550301", "wamid.o2", "Great", t))
        .await;
    app.deliver_bytes(&text_at("16505550301", "wamid.o3", "Thanks", t))
        .await;
    let page = app.get(&conv_path(&app, "1/messages")).await;
    let shown: Vec<String> = page["payload"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str().map(String::from))
        .collect();
    assert_eq!(shown, ["Hi", "How did we do?", "Great", "Thanks"]);
    // Still stamped in the same second (the API's created_at is unix seconds).
    for m in page["payload"].as_array().unwrap().iter().skip(1) {
        assert_eq!(m["created_at"], json!(t), "{m}");
    }
    // Paging with `before` = the last message's id gives the rest, in the same order.
    let last = page["payload"][3]["id"].as_i64().unwrap();
    let older = app
        .get(&conv_path(&app, &format!("1/messages?before={last}")))
        .await;
    let shown: Vec<&str> = older["payload"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(shown, ["Hi", "How did we do?", "Great"]);
}

#[actix_web::test]
async fn send_webhook_event_is_delivered_through_the_retried_queue() {
    use wiremock::matchers::{method, path};
    let receiver = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(wiremock::ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&receiver)
        .await;
    wiremock::Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let app = TestApp::start_with(Options {
        webhooks_allow_local: true,
        ..Default::default()
    });
    app.create_inbox_direct();
    create_rule(
        &app,
        json!({"automation_rule": {
            "name": "Tell the CRM", "event_name": "conversation_created", "conditions": [],
            "actions": [{"action_name": "send_webhook_event",
                         "action_params": [format!("{}/hook", receiver.uri())]}]
        }}),
    )
    .await;
    app.deliver_bytes(&text("16505550401", "wamid.w1", "Hello"))
        .await;
    drain(&app).await;
    // Queued durably in the rule's transaction; nothing was posted by the rule itself.
    assert_eq!(app.count("jobs WHERE kind = 'webhook_delivery'"), 1);
    assert!(receiver.received_requests().await.unwrap().is_empty());
    // The first attempt fails (500), the retry (base 0 s in tests) delivers.
    app.run_webhook_jobs().await;
    let got = receiver.received_requests().await.unwrap();
    assert_eq!(got.len(), 2, "one failure, one retry");
    let body: Value = serde_json::from_slice(&got[1].body).unwrap();
    assert_eq!(body["event"], "automation_event");
    assert_eq!(body["source"], "Tell the CRM");
    assert_eq!(body["conversation"]["id"], 1);
    assert_eq!(
        got[0].headers.get("x-chatwoot-delivery"),
        got[1].headers.get("x-chatwoot-delivery"),
        "one delivery id across retries"
    );
    assert_eq!(
        app.count("jobs WHERE kind = 'webhook_delivery' AND status = 'done'"),
        1
    );
}

#[actix_web::test]
async fn contacts_export_applies_the_lists_filters() {
    let app = TestApp::start();
    app.create_inbox_direct();
    let token = app.token.clone();
    let (s, v) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/custom_attribute_definitions",
                app.account_id
            ),
            Some(
                json!({"attribute_display_name": "Plan", "attribute_key": "plan",
                        "attribute_display_type": "text", "attribute_model": "contact_attribute"}),
            ),
            &token,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    for (i, plan) in ["gold", "silver", "gold"].iter().enumerate() {
        let (s, v) = app
            .api(
                "POST",
                &format!("/api/v1/accounts/{}/contacts", app.account_id),
                Some(
                    json!({"name": format!("Person {i}"), "phone_number": format!("+1650555070{i}"),
                            "custom_attributes": {"plan": plan}}),
                ),
                &token,
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    use diesel::RunQueryDsl;
    diesel::sql_query(
        "UPDATE contacts SET created_at = '2026-01-15T10:00:00Z' WHERE name = 'Person 2'",
    )
    .execute(&mut app.conn())
    .unwrap();
    let export = |qs: &'static str| export_csv(&app, qs);
    let (s, csv) = export("attr=plan&attr_op=equal_to&attr_value=gold").await;
    assert_eq!(s, 200, "{csv}");
    assert!(
        csv.contains("Person 0") && csv.contains("Person 2"),
        "{csv}"
    );
    assert!(!csv.contains("Person 1"), "{csv}");
    let (s, csv) =
        export("attr=plan&attr_value=gold&created_from=2026-01-01&created_to=2026-01-31").await;
    assert_eq!(s, 200, "{csv}");
    assert!(
        csv.contains("Person 2") && !csv.contains("Person 0"),
        "{csv}"
    );
    // The same bad parameters as the list: 422 naming the field.
    let (s, body) = export("created_from=yesterday").await;
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("created_from"), "{body}");
    let (s, body) = export("attr=nope").await;
    assert_eq!(s, 422, "{body}");

    // The Contacts screen's Export link carries every active filter.
    let mut ana = crate::common::session::Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;
    let (status, html, _) = ana
        .get(&format!(
            "/app/accounts/{}/contacts?attr=plan&attr_value=gold&created_from=2026-01-01",
            app.account_id
        ))
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("contacts/export?created_from=2026-01-01&#38;attr=plan&#38;attr_value=gold"),
        "export link: {}",
        html.lines()
            .filter(|l| l.contains("export"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// GETs the contacts export with `qs`; returns status and body.
async fn export_csv(app: &TestApp, qs: &str) -> (u16, String) {
    use actix_web::{test, App};
    let svc =
        test::init_service(App::new().configure(switchboard::app::configure(app.state.clone())))
            .await;
    let req = test::TestRequest::get()
        .uri(&format!(
            "/api/v1/accounts/{}/contacts/export?{qs}",
            app.account_id
        ))
        .insert_header(("api_access_token", app.token.as_str()))
        .to_request();
    let resp = test::call_service(&svc, req).await;
    let status = resp.status().as_u16();
    let body = test::read_body(resp).await;
    (status, String::from_utf8_lossy(&body).to_string())
}
