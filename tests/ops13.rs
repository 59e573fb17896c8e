//! Issue 13's loose ends (ops13): automated messages are no reply, mute, thread order,
//! durable automation webhooks, contact export filters.

mod common;

use common::*;
use serde_json::{json, Value};

/// An incoming text from `from` with `body` (a new contact per `from`).
fn text(from: &str, wamid: &str, body: &str) -> Vec<u8> {
    let v = json!({
      "object": "whatsapp_business_account",
      "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15551234567", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": format!("Customer {from}")}, "wa_id": from}],
        "messages": [{"id": wamid, "timestamp": chrono::Utc::now().timestamp().to_string(),
          "type": "text", "from": from, "text": {"body": body}}]
      }}]}]
    });
    serde_json::to_vec(&v).unwrap()
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
