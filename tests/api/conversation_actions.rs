//! Conversation actions (Chatwoot's toggle_status, toggle_priority, assignments, labels):
//! the rules, the answers, the activity lines and how the conversation JSON shows the result.

use crate::common::*;
use diesel::RunQueryDsl;
use serde_json::{json, Value};
use switchboard::domain::accounts::{self, Role};

/// An app with the fixtures' inbox and one conversation (from `text.json`).
struct Setup {
    app: TestApp,
    inbox_id: i64,
    /// `/api/v1/accounts/{id}/conversations/{display_id}`.
    conv: String,
}

async fn setup() -> Setup {
    let app = TestApp::start();
    let (inbox, _) = app.create_inbox_direct();
    app.deliver("text.json").await;
    let list = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations",
            app.account_id
        ))
        .await;
    let payload = list["data"]["payload"].as_array().unwrap();
    assert_eq!(payload.len(), 1, "{list}");
    let display_id = payload[0]["id"].as_i64().unwrap();
    let conv = format!(
        "/api/v1/accounts/{}/conversations/{display_id}",
        app.account_id
    );
    Setup {
        app,
        inbox_id: inbox.id,
        conv,
    }
}

impl Setup {
    async fn post(&self, action: &str, body: Value) -> (u16, Value) {
        self.post_as(action, body, &self.app.token.clone()).await
    }

    async fn post_as(&self, action: &str, body: Value, token: &str) -> (u16, Value) {
        self.app
            .api(
                "POST",
                &format!("{}/{action}", self.conv),
                Some(body),
                token,
            )
            .await
    }

    async fn show(&self) -> Value {
        self.app.get(&self.conv).await
    }

    /// Contents of the activity messages, oldest first.
    fn activities(&self) -> Vec<String> {
        self.app
            .messages()
            .into_iter()
            .filter(|m| m["message_type"] == 2)
            .map(|m| m["content"].as_str().unwrap().to_string())
            .collect()
    }

    fn column(&self, name: &str) -> Value {
        self.app
            .query_json(&format!("SELECT to_jsonb({name}) FROM conversations"))
    }

    fn sql(&self, sql: &str) {
        diesel::sql_query(sql)
            .execute(&mut self.app.conn())
            .unwrap();
    }
}

fn assert_invalid(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], field, "{body}");
}

#[actix_rt::test]
async fn toggle_status_moves_between_statuses_and_writes_activity() {
    let s = setup().await;
    let display_id = s.show().await["id"].clone();
    s.sql("UPDATE conversations SET updated_at = now() - interval '1 day'");
    let stale = s.column("updated_at");

    // Without a status: open → resolved.
    let (status, body) = s.post("toggle_status", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"meta": {}, "payload": {"success": true, "current_status": "resolved",
            "conversation_id": display_id, "snoozed_until": null}})
    );
    assert_ne!(s.column("updated_at"), stale, "updated_at moves");
    // … and back: resolved → open.
    let (_, body) = s.post("toggle_status", json!({})).await;
    assert_eq!(body["payload"]["current_status"], "open");

    let (_, body) = s.post("toggle_status", json!({"status": "pending"})).await;
    assert_eq!(body["payload"]["current_status"], "pending");
    // Chatwoot's toggle reopens a pending (or snoozed) conversation.
    let (_, body) = s.post("toggle_status", json!({"status": ""})).await;
    assert_eq!(body["payload"]["current_status"], "open");

    // Snoozed until the next reply, then until a time.
    let (_, body) = s.post("toggle_status", json!({"status": "snoozed"})).await;
    assert_eq!(body["payload"]["current_status"], "snoozed");
    assert_eq!(body["payload"]["snoozed_until"], Value::Null);
    let until = chrono::Utc::now().timestamp() + 3600;
    let (status, body) = s
        .post(
            "toggle_status",
            json!({"status": "snoozed", "snoozed_until": until}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["payload"]["snoozed_until"], until);
    assert_eq!(s.show().await["snoozed_until"], until);

    // A past time, a time without snoozed, or an unknown status: 422, nothing changes.
    let past = chrono::Utc::now().timestamp() - 60;
    let (status, body) = s
        .post(
            "toggle_status",
            json!({"status": "snoozed", "snoozed_until": past}),
        )
        .await;
    assert_invalid(status, &body, "snoozed_until");
    let (status, body) = s
        .post(
            "toggle_status",
            json!({"status": "open", "snoozed_until": until}),
        )
        .await;
    assert_invalid(status, &body, "snoozed_until");
    let (status, body) = s.post("toggle_status", json!({"status": "closed"})).await;
    assert_invalid(status, &body, "status");
    let (status, body) = s.post("toggle_status", json!({"status": 3})).await;
    assert_invalid(status, &body, "status");
    assert_eq!(s.column("status"), "snoozed");

    // Moving off snoozed clears snoozed_until.
    let (_, body) = s.post("toggle_status", json!({"status": "open"})).await;
    assert_eq!(body["payload"]["current_status"], "open");
    assert_eq!(body["payload"]["snoozed_until"], Value::Null);
    assert_eq!(s.column("snoozed_until"), Value::Null);
    // Setting the status it already has changes nothing and writes no activity.
    s.sql("UPDATE conversations SET updated_at = now() - interval '1 day'");
    let stale = s.column("updated_at");
    let (status, _) = s.post("toggle_status", json!({"status": "open"})).await;
    assert_eq!(status, 200);
    assert_eq!(s.column("updated_at"), stale);

    assert_eq!(
        s.activities(),
        vec![
            "Conversation was marked resolved by Ana Admin",
            "Conversation was reopened by Ana Admin",
            "Conversation was marked as pending by Ana Admin",
            "Conversation was reopened by Ana Admin",
            "Conversation was snoozed by Ana Admin",
            "Conversation was reopened by Ana Admin",
        ]
    );

    // Activity rows look like Chatwoot's: public, sent, no sender.
    let activity = s
        .app
        .messages()
        .into_iter()
        .find(|m| m["message_type"] == 2)
        .unwrap();
    assert_eq!(activity["private"], false);
    assert_eq!(activity["status"], "sent");
    assert_eq!(activity["sender_type"], Value::Null);
    assert_eq!(activity["sender_id"], Value::Null);
    assert_eq!(activity["source_id"], Value::Null);

    // The thread shows them; the preview stays the customer's message.
    let thread = s.app.get(&format!("{}/messages", s.conv)).await;
    let last = thread["payload"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["message_type"], 2);
    assert_eq!(last["content"], "Conversation was reopened by Ana Admin");
    let shown = s.show().await;
    assert_eq!(shown["messages"][0]["message_type"], 2);
    assert_eq!(shown["last_non_activity_message"]["message_type"], 0);
}

#[actix_rt::test]
async fn toggle_priority_sets_changes_and_removes() {
    let s = setup().await;
    let (status, body) = s
        .post("toggle_priority", json!({"priority": "urgent"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, Value::Null, "Chatwoot answers an empty body");
    assert_eq!(s.column("priority"), "urgent");
    assert_eq!(s.show().await["priority"], "urgent");

    let (status, _) = s.post("toggle_priority", json!({"priority": "high"})).await;
    assert_eq!(status, 200);
    // Same again: no activity.
    s.post("toggle_priority", json!({"priority": "high"})).await;

    let (status, body) = s
        .post("toggle_priority", json!({"priority": "critical"}))
        .await;
    assert_invalid(status, &body, "priority");
    let (status, body) = s.post("toggle_priority", json!({})).await;
    assert_invalid(status, &body, "priority");
    assert_eq!(s.column("priority"), "high");

    let (status, _) = s.post("toggle_priority", json!({"priority": "none"})).await;
    assert_eq!(status, 200);
    assert_eq!(s.column("priority"), Value::Null);
    assert_eq!(s.show().await["priority"], Value::Null);

    assert_eq!(
        s.activities(),
        vec![
            "Ana Admin set the priority to urgent",
            "Ana Admin changed the priority from urgent to high",
            "Ana Admin removed the priority",
        ]
    );
}

#[actix_rt::test]
async fn assignments_follow_account_and_inbox_membership() {
    let s = setup().await;
    let app = &s.app;
    let (ben, ben_token) = app.create_agent("ben@example.com");
    let (cleo, _) = accounts::create_user(
        &mut app.conn(),
        app.account_id,
        "Cleo Admin",
        "cleo@example.com",
        "cleo password",
        Role::Administrator,
    )
    .unwrap();

    // An agent must be a member of the inbox.
    let (status, body) = s.post("assignments", json!({"assignee_id": ben})).await;
    assert_invalid(status, &body, "assignee_id");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("is not a member of this inbox"),
        "{body}"
    );
    // Unknown users and other accounts' users are not agents of this account.
    let (status, body) = s.post("assignments", json!({"assignee_id": 999999})).await;
    assert_invalid(status, &body, "assignee_id");
    assert_eq!(body["error"], "no agent with id 999999 in this account");
    let other = accounts::create_admin(
        &mut app.conn(),
        "Other Co",
        "Olga",
        "olga@example.com",
        "password123",
    )
    .unwrap();
    let (status, body) = s
        .post("assignments", json!({"assignee_id": other.user_id}))
        .await;
    assert_invalid(status, &body, "assignee_id");
    assert_eq!(s.column("assignee_id"), Value::Null);

    // Once a member, the agent can be assigned; the answer is Chatwoot's agent JSON.
    switchboard::domain::inboxes::add_member(&mut app.conn(), s.inbox_id, ben).unwrap();
    let (status, body) = s.post("assignments", json!({"assignee_id": ben})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], ben);
    assert_eq!(body["account_id"], app.account_id);
    assert_eq!(body["name"], "Ben Agent");
    assert_eq!(body["available_name"], "Ben Agent");
    assert_eq!(body["email"], "ben@example.com");
    assert_eq!(body["role"], "agent");
    assert_eq!(body["confirmed"], true);
    assert_eq!(body["thumbnail"], "");
    assert!(body.get("availability_status").is_some());
    assert!(body.get("auto_offline").is_some());
    // The conversation shows the assignee, in the list and the thread too.
    let shown = s.show().await;
    assert_eq!(shown["assignee_id"], ben);
    assert_eq!(shown["meta"]["assignee"], body);
    let thread = app.get(&format!("{}/messages", s.conv)).await;
    assert_eq!(thread["meta"]["assignee"]["id"], ben);
    let mine = app
        .api(
            "GET",
            &format!(
                "/api/v1/accounts/{}/conversations?assignee_type=me",
                app.account_id
            ),
            None,
            &ben_token,
        )
        .await
        .1;
    assert_eq!(mine["data"]["meta"]["mine_count"], 1, "{mine}");
    // The same assignee again changes nothing.
    let (status, _) = s.post("assignments", json!({"assignee_id": ben})).await;
    assert_eq!(status, 200);

    // Administrators can be assigned without inbox membership; string ids are accepted.
    let (status, body) = s
        .post("assignments", json!({"assignee_id": cleo.id.to_string()}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "administrator");
    // Self-assignment, then unassignment (null and 0).
    let (_, body) = s
        .post("assignments", json!({"assignee_id": app.admin_id}))
        .await;
    assert_eq!(body["name"], "Ana Admin");
    let (status, body) = s.post("assignments", json!({"assignee_id": null})).await;
    assert_eq!(status, 200);
    assert_eq!(body, Value::Null);
    assert_eq!(s.show().await["meta"]["assignee"], Value::Null);
    let (status, _) = s.post("assignments", json!({"assignee_id": 0})).await;
    assert_eq!(status, 200);

    // An agent who is a member may act too.
    let (status, body) = s
        .post_as("assignments", json!({"assignee_id": ben}), &ben_token)
        .await;
    assert_eq!(status, 200, "{body}");

    assert_eq!(
        s.activities(),
        vec![
            "Assigned to Ben Agent by Ana Admin",
            "Assigned to Cleo Admin by Ana Admin",
            "Ana Admin self-assigned this conversation",
            "Conversation unassigned by Ana Admin",
            "Ben Agent self-assigned this conversation",
        ]
    );
}

#[actix_rt::test]
async fn team_assignments_stay_within_the_account() {
    let s = setup().await;
    let app = &s.app;
    let billing =
        accounts::create_team(&mut app.conn(), app.account_id, "Billing", Some("Invoices"))
            .unwrap();
    let other = accounts::create_admin(
        &mut app.conn(),
        "Other Co",
        "Olga",
        "olga@example.com",
        "password123",
    )
    .unwrap();
    let foreign = accounts::create_team(&mut app.conn(), other.account_id, "Theirs", None).unwrap();

    let (status, body) = s.post("assignments", json!({"team_id": foreign.id})).await;
    assert_invalid(status, &body, "team_id");
    assert_eq!(s.column("team_id"), Value::Null);

    let (status, body) = s.post("assignments", json!({"team_id": billing.id})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"id": billing.id, "name": "Billing", "description": "Invoices",
            "allow_auto_assign": true, "account_id": app.account_id, "is_member": false})
    );
    let shown = s.show().await;
    assert_eq!(shown["team_id"], billing.id);
    assert_eq!(shown["meta"]["team"], body);

    // assignee_id wins when both are given.
    let (status, body) = s
        .post(
            "assignments",
            json!({"assignee_id": app.admin_id, "team_id": null}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], app.admin_id);
    assert_eq!(s.column("team_id"), billing.id);

    // Neither key: Chatwoot answers null and changes nothing.
    let (status, body) = s.post("assignments", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body, Value::Null);

    let (status, body) = s.post("assignments", json!({"team_id": null})).await;
    assert_eq!(status, 200);
    assert_eq!(body, Value::Null);
    assert_eq!(s.column("team_id"), Value::Null);
    assert_eq!(s.show().await["meta"]["team"], Value::Null);

    assert_eq!(
        s.activities(),
        vec![
            "Assigned to Billing by Ana Admin",
            "Ana Admin self-assigned this conversation",
            "Unassigned from Billing by Ana Admin",
        ]
    );
}

#[actix_rt::test]
async fn labels_are_replaced_normalised_and_validated() {
    let s = setup().await;
    let app = &s.app;
    let labels_path = format!("{}/labels", s.conv);
    assert_eq!(app.get(&labels_path).await, json!({"payload": []}));

    let (status, body) = s
        .post(
            "labels",
            json!({"labels": [" Support", "billing", "support", "BILLING"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"payload": ["billing", "support"]}));
    assert_eq!(
        app.get(&labels_path).await,
        json!({"payload": ["billing", "support"]})
    );

    // Replace, not add: support goes, vip comes (Unicode letters are letters).
    let (_, body) = s
        .post("labels", json!({"labels": ["vip", "billing", "café_1-a"]}))
        .await;
    assert_eq!(body, json!({"payload": ["billing", "café_1-a", "vip"]}));
    // The same list again: no activity.
    s.post("labels", json!({"labels": ["VIP", "billing", "café_1-a"]}))
        .await;

    for bad in [
        json!({"labels": ["two words"]}),
        json!({"labels": ["  "]}),
        json!({"labels": ["a/b"]}),
        json!({"labels": ["x".repeat(256)]}),
        json!({"labels": [7]}),
        json!({"labels": "billing"}),
        json!({}),
    ] {
        let (status, body) = s.post("labels", bad.clone()).await;
        assert_invalid(status, &body, "labels");
    }
    let (status, _) = s.post("labels", json!({"labels": ["x".repeat(255)]})).await;
    assert_eq!(status, 200);
    s.post("labels", json!({"labels": ["billing", "café_1-a", "vip"]}))
        .await;

    // The conversation and the thread show them; the list filters by them.
    let shown = s.show().await;
    assert_eq!(shown["labels"], json!(["billing", "café_1-a", "vip"]));
    let thread = app.get(&format!("{}/messages", s.conv)).await;
    assert_eq!(
        thread["meta"]["labels"],
        json!(["billing", "café_1-a", "vip"])
    );
    let list = |q: &str| format!("/api/v1/accounts/{}/conversations?{q}", app.account_id);
    assert_eq!(
        app.get(&list("labels[]=vip&labels[]=nope")).await["data"]["meta"]["all_count"],
        1
    );
    assert_eq!(
        app.get(&list("labels%5B%5D=VIP")).await["data"]["payload"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get(&list("labels=nope,other")).await["data"]["meta"]["all_count"],
        0
    );

    // An empty list removes them all.
    let (_, body) = s.post("labels", json!({"labels": []})).await;
    assert_eq!(body, json!({"payload": []}));

    let long = "x".repeat(255);
    assert_eq!(
        s.activities(),
        vec![
            "Ana Admin added billing, support".to_string(),
            "Ana Admin added café_1-a, vip".to_string(),
            "Ana Admin removed support".to_string(),
            format!("Ana Admin added {long}"),
            "Ana Admin removed billing, café_1-a, vip".to_string(),
            "Ana Admin added billing, café_1-a, vip".to_string(),
            format!("Ana Admin removed {long}"),
            "Ana Admin removed billing, café_1-a, vip".to_string(),
        ]
    );
}

#[actix_rt::test]
async fn only_viewers_of_the_conversation_may_act() {
    let s = setup().await;
    let app = &s.app;
    let (_, outsider) = app.create_agent("ben@example.com");
    let other = accounts::create_admin(
        &mut app.conn(),
        "Other Co",
        "Olga",
        "olga@example.com",
        "password123",
    )
    .unwrap();
    for token in [outsider.as_str(), other.api_access_token.as_str()] {
        for (action, body) in [
            ("toggle_status", json!({"status": "resolved"})),
            // Invalid input still answers 404: nothing is learnt about the conversation.
            ("toggle_status", json!({"status": "bogus"})),
            ("toggle_priority", json!({"priority": "urgent"})),
            ("assignments", json!({"assignee_id": app.admin_id})),
            ("assignments", json!({})),
            ("labels", json!({"labels": ["vip"]})),
            ("labels", json!({"labels": ["not valid"]})),
        ] {
            let (status, resp) = s.post_as(action, body.clone(), token).await;
            assert_eq!(status, 404, "{action} {body}: {resp}");
        }
        let (status, _) = app
            .api("GET", &format!("{}/labels", s.conv), None, token)
            .await;
        assert_eq!(status, 404);
    }
    assert_eq!(s.column("status"), "open");
    assert_eq!(s.column("priority"), Value::Null);
    assert_eq!(s.column("assignee_id"), Value::Null);
    assert_eq!(s.column("labels"), json!([]));
    assert!(s.activities().is_empty());

    // No token at all: 401.
    let (status, _) = s.post_as("toggle_status", json!({}), "").await;
    assert_eq!(status, 401);
}

#[actix_rt::test]
async fn snoozed_conversations_reopen_on_a_reply_or_when_the_time_comes() {
    let s = setup().await;
    let until = chrono::Utc::now().timestamp() + 3600;
    let (status, _) = s
        .post(
            "toggle_status",
            json!({"status": "snoozed", "snoozed_until": until}),
        )
        .await;
    assert_eq!(status, 200);
    // The customer writes again: the conversation is open, in the same thread.
    s.app.deliver("text_reply_context.json").await;
    let shown = s.show().await;
    assert_eq!(shown["status"], "open");
    assert_eq!(shown["snoozed_until"], Value::Null);
    assert_eq!(s.app.count("conversations"), 1);

    // Snoozed until a time that has passed: the housekeeping pass reopens it.
    s.post(
        "toggle_status",
        json!({"status": "snoozed", "snoozed_until": until}),
    )
    .await;
    let later = chrono::Utc::now() + chrono::Duration::hours(2);
    let reopened =
        switchboard::domain::conversations::reopen_due_snoozed(&mut s.app.conn(), later).unwrap();
    assert_eq!(reopened, 1);
    assert_eq!(s.show().await["status"], "open");
}
