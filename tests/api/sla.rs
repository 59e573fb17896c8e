//! Issue 13 (SLA policies) end to end: the `/sla_policies` API (Chatwoot's shapes, 422
//! naming the field, 403 for agents' writes, 404 across accounts), applying a policy by hand
//! (`sla_policy_id` on the conversation update) with `applied_sla` / `sla_events` in the
//! conversation JSON, deadlines moving with replies and customer messages, a missed deadline
//! recorded exactly once with two "processes" sweeping (one `sla_events` row, one `sla.missed`
//! event, one notification, one webhook delivery), hit/missed on resolve, and a rule that
//! applies an SLA (with the `business_hours` condition) and a rule running on `sla_missed`.

use crate::common::*;
use diesel::RunQueryDsl;
use serde_json::{json, Value};
use switchboard::domain::sla;

fn text(from: &str, wamid: &str, body: &str) -> Vec<u8> {
    text_delivery(from, wamid, body).into_bytes()
}

fn policies(app: &TestApp) -> String {
    format!("/api/v1/accounts/{}/sla_policies", app.account_id)
}

fn conversation(app: &TestApp, display_id: i32) -> String {
    format!(
        "/api/v1/accounts/{}/conversations/{display_id}",
        app.account_id
    )
}

async fn create_policy(app: &TestApp, body: Value) -> Value {
    let (s, v) = app
        .api("POST", &policies(app), Some(body), &app.token.clone())
        .await;
    assert_eq!(s, 200, "{v}");
    v["payload"].clone()
}

async fn apply(app: &TestApp, display_id: i32, policy: Value) -> (u16, Value) {
    app.api(
        "PATCH",
        &conversation(app, display_id),
        Some(json!({ "sla_policy_id": policy })),
        &app.token.clone(),
    )
    .await
}

/// `POST …/conversations/filter?sort_by=sla_due_asc` with `payload`.
async fn filter(app: &TestApp, payload: Value) -> (u16, Value) {
    app.api(
        "POST",
        &format!(
            "/api/v1/accounts/{}/conversations/filter?sort_by=sla_due_asc",
            app.account_id
        ),
        Some(json!({ "payload": payload })),
        &app.token.clone(),
    )
    .await
}

fn exec(app: &TestApp, sql: &str) {
    diesel::sql_query(sql).execute(&mut app.conn()).unwrap();
}

#[actix_web::test]
async fn policies_api_crud_bad_input_and_other_accounts() {
    let app = TestApp::start();
    let t = app.token.clone();
    let p = policies(&app);
    let created = create_policy(
        &app,
        json!({"sla_policy": {"name": "Gold", "description": "VIP customers",
            "first_response_time_threshold": 900, "next_response_time_threshold": 1800,
            "resolution_time_threshold": 86400, "only_during_business_hours": true}}),
    )
    .await;
    assert_eq!(created["name"], "Gold");
    assert_eq!(created["first_response_time_threshold"], 900);
    assert_eq!(created["only_during_business_hours"], true);
    let id = created["id"].as_i64().unwrap();
    let one = format!("{p}/{id}");
    assert_eq!(app.get(&p).await["payload"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&one).await["payload"]["description"],
        "VIP customers"
    );

    let (s, v) = app
        .api(
            "PATCH",
            &one,
            Some(json!({"next_response_time_threshold": null, "name": "Gold 2"})),
            &t,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["payload"]["next_response_time_threshold"], Value::Null);
    assert_eq!(v["payload"]["name"], "Gold 2");
    assert_eq!(v["payload"]["first_response_time_threshold"], 900);

    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"name": "", "first_response_time_threshold": 60}),
            "name",
        ),
        (json!({"name": "X"}), "first_response_time_threshold"),
        (
            json!({"name": "X", "first_response_time_threshold": 0}),
            "first_response_time_threshold",
        ),
        (
            json!({"name": "X", "first_response_time_threshold": -5}),
            "first_response_time_threshold",
        ),
        (
            json!({"name": "X", "resolution_time_threshold": 1e300}),
            "resolution_time_threshold",
        ),
        (
            json!({"name": "X", "resolution_time_threshold": "soon"}),
            "resolution_time_threshold",
        ),
        (
            json!({"name": "X", "next_response_time_threshold": [1]}),
            "next_response_time_threshold",
        ),
        (
            json!({"name": "a\u{0}b", "first_response_time_threshold": 60}),
            "name",
        ),
        (
            json!({"name": 7, "first_response_time_threshold": 60}),
            "name",
        ),
        (
            json!({"name": "X", "first_response_time_threshold": 60, "only_during_business_hours": "maybe"}),
            "only_during_business_hours",
        ),
        (
            json!({"name": "X".repeat(300), "first_response_time_threshold": 60}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let (s, v) = app.api("POST", &p, Some(body.clone()), &t).await;
        // A NUL byte is refused by the input guard (400) before the handler (422).
        assert!(s == 422 || s == 400, "{body} → {s} {v}");
        assert_eq!(v["field"], field, "{body} → {v}");
    }
    let (s, _) = app.api("POST", &p, Some(json!("[1,2]")), &t).await;
    assert!(s == 400 || s == 422, "{s}");
    let (s, _) = app
        .api("GET", &format!("{p}/99999999999999999999999"), None, &t)
        .await;
    assert!((400..500).contains(&s), "{s}");
    let (s, _) = app
        .api(
            "PATCH",
            &one,
            Some(json!({"first_response_time_threshold": null,
            "resolution_time_threshold": null})),
            &t,
        )
        .await;
    assert_eq!(s, 422, "a policy keeps at least one target");

    // Agents read but do not write.
    let (_, agent) = app.create_agent("ben@example.com");
    let (s, _) = app.api("GET", &p, None, &agent).await;
    assert_eq!(s, 200);
    for (m, path) in [
        ("POST", p.clone()),
        ("PATCH", one.clone()),
        ("DELETE", one.clone()),
    ] {
        let (s, _) = app
            .api(
                m,
                &path,
                Some(json!({"name": "x", "first_response_time_threshold": 60})),
                &agent,
            )
            .await;
        assert_eq!(s, 403, "{m}");
    }

    // Another account sees nothing of it.
    let other = switchboard::domain::accounts::create_admin(
        &mut app.conn(),
        "Other",
        "Olga",
        "olga@example.com",
        "correct horse",
    )
    .unwrap();
    let theirs = format!("/api/v1/accounts/{}/sla_policies/{id}", other.account_id);
    for m in ["GET", "PATCH", "DELETE"] {
        let (s, _) = app
            .api(
                m,
                &theirs,
                Some(json!({"name": "x"})),
                &other.api_access_token,
            )
            .await;
        assert_eq!(s, 404, "{m}");
    }
    let (_, theirs_list) = app
        .api(
            "GET",
            &format!("/api/v1/accounts/{}/sla_policies", other.account_id),
            None,
            &other.api_access_token,
        )
        .await;
    assert_eq!(theirs_list["payload"], json!([]));

    let (s, _) = app.api("DELETE", &one, None, &t).await;
    assert_eq!(s, 200);
    let (s, _) = app.api("GET", &one, None, &t).await;
    assert_eq!(s, 404);
}

#[actix_web::test]
async fn applied_by_hand_deadlines_follow_replies_and_customer_messages() {
    let app = TestApp::start();
    app.create_inbox_direct();
    app.deliver_bytes(&text("16505550001", "wamid.a1", "Hello, my order?"))
        .await;
    let policy = create_policy(
        &app,
        json!({"name": "Standard", "first_response_time_threshold": 3600,
            "next_response_time_threshold": 600, "resolution_time_threshold": 86400}),
    )
    .await;
    let (s, v) = apply(&app, 1, policy["id"].clone()).await;
    assert_eq!(s, 200, "{v}");
    let a = &v["applied_sla"];
    assert_eq!(a["sla_id"], policy["id"]);
    assert_eq!(a["sla_status"], "active");
    assert_eq!(a["due_type"], "frt");
    assert_eq!(a["sla_first_response_time_threshold"], 3600);
    assert_eq!(v["sla_events"], json!([]));
    let due = a["due_at"].as_i64().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!((now + 3500..=now + 3700).contains(&due), "{due} vs {now}");
    // The list carries it too.
    let list = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations?status=open",
            app.account_id
        ))
        .await;
    assert_eq!(
        list["data"]["payload"][0]["applied_sla"]["sla_id"],
        policy["id"]
    );

    // A private note and an automated message are no reply.
    let msgs = format!("{}/messages", conversation(&app, 1));
    let (s, _) = app
        .api(
            "POST",
            &msgs,
            Some(json!({"content": "looking", "private": true})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        app.get(&conversation(&app, 1)).await["applied_sla"]["due_type"],
        "frt"
    );
    // An agent's reply meets the first response: the resolution is next.
    let (s, r) = app
        .api(
            "POST",
            &msgs,
            Some(json!({"content": "On its way!", "message_type": "outgoing"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let v = app.get(&conversation(&app, 1)).await;
    assert_eq!(v["applied_sla"]["due_type"], "rt", "{v}");
    // The customer writes again: the next response is due in 10 minutes.
    app.deliver_bytes(&text("16505550001", "wamid.a2", "Thanks, and the invoice?"))
        .await;
    let v = app.get(&conversation(&app, 1)).await;
    assert_eq!(v["applied_sla"]["due_type"], "nrt", "{v}");
    let due = v["applied_sla"]["due_at"].as_i64().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!((now + 500..=now + 700).contains(&due), "{due} vs {now}");

    // Bad input and another account's policy.
    let (s, v) = apply(&app, 1, json!("abc")).await;
    assert_eq!((s, v["field"].clone()), (422, json!("sla_policy_id")));
    let other = switchboard::domain::accounts::create_admin(
        &mut app.conn(),
        "Other",
        "Olga",
        "olga@example.com",
        "correct horse",
    )
    .unwrap();
    let (s, theirs) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/sla_policies", other.account_id),
            Some(json!({"name": "Theirs", "first_response_time_threshold": 60})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = apply(&app, 1, theirs["payload"]["id"].clone()).await;
    assert_eq!(s, 404);
    assert_eq!(
        app.get(&conversation(&app, 1)).await["applied_sla"]["sla_id"],
        policy["id"],
        "unchanged"
    );

    // Resolved in time: hit.
    let (s, _) = app
        .api(
            "POST",
            &format!("{}/toggle_status", conversation(&app, 1)),
            Some(json!({"status": "resolved"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(s, 200);
    let v = app.get(&conversation(&app, 1)).await;
    assert_eq!(v["applied_sla"]["sla_status"], "hit", "{v}");
    assert_eq!(v["applied_sla"]["due_at"], Value::Null);

    // Removed by hand.
    let (s, v) = apply(&app, 1, Value::Null).await;
    assert_eq!(s, 200);
    assert_eq!(v["applied_sla"], Value::Null);
    assert_eq!(app.count("applied_slas"), 0);
}

#[actix_web::test]
async fn a_missed_deadline_is_recorded_once_with_two_processes() {
    let app = TestApp::start();
    app.create_inbox_direct();
    let (s, hook) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/webhooks", app.account_id),
            Some(json!({"url": "https://93.184.216.34/hook", "subscriptions": ["sla_missed"]})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(s, 200, "{hook}");
    app.deliver_bytes(&text("16505550002", "wamid.b1", "Help!"))
        .await;
    let (s, _) = app
        .api(
            "POST",
            &format!("{}/assignments", conversation(&app, 1)),
            Some(json!({"assignee_id": app.admin_id})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(s, 200);
    let policy = create_policy(
        &app,
        json!({"name": "Fast", "first_response_time_threshold": 60,
            "resolution_time_threshold": 86400}),
    )
    .await;
    let (s, _) = apply(&app, 1, policy["id"].clone()).await;
    assert_eq!(s, 200);
    // Not due yet: nothing happens.
    assert_eq!(
        sla::process_due(&mut app.conn(), chrono::Utc::now()).unwrap(),
        0
    );
    // The SLA was applied two minutes ago.
    exec(
        &app,
        "UPDATE applied_slas SET created_at = now() - interval '2 minutes', \
         due_started_at = now() - interval '2 minutes', due_at = now() - interval '1 minute'",
    );
    let second = switchboard::db::build_pool(&app.db.url, 4, 5000);
    let mut handles = vec![];
    for pool in [
        app.state.pool.clone(),
        second.clone(),
        app.state.pool.clone(),
        second,
    ] {
        handles.push(std::thread::spawn(move || {
            let mut n = 0;
            for _ in 0..20 {
                n += sla::process_due(&mut pool.get().unwrap(), chrono::Utc::now()).unwrap();
            }
            n
        }));
    }
    let recorded: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(recorded, 1);
    assert_eq!(app.count("sla_events WHERE event_type = 'frt'"), 1);
    assert_eq!(app.count("realtime_events WHERE name = 'sla.missed'"), 1);
    assert_eq!(
        app.count("notifications WHERE notification_type = 'sla_missed_first_response'"),
        1
    );
    assert_eq!(
        app.count("jobs WHERE kind = 'webhook_delivery' AND payload->>'event' = 'sla_missed'"),
        1
    );
    let ev = app.query_json("SELECT payload FROM realtime_events WHERE name = 'sla.missed'");
    assert_eq!(ev["type"], "frt");
    assert_eq!(ev["display_id"], 1);
    assert_eq!(ev["applied_sla"]["sla_id"], policy["id"]);
    let v = app.get(&conversation(&app, 1)).await;
    assert_eq!(v["applied_sla"]["sla_status"], "active_with_misses", "{v}");
    assert_eq!(v["applied_sla"]["breached"], true);
    assert_eq!(
        v["applied_sla"]["due_type"], "rt",
        "the next target still counts"
    );
    assert_eq!(v["sla_events"][0]["event_type"], "frt");
    // The bell's title.
    let bell = app
        .get(&format!(
            "/api/v1/accounts/{}/notifications",
            app.account_id
        ))
        .await;
    assert!(
        bell.to_string().contains("sla_missed_first_response"),
        "{bell}"
    );

    // A late reply ends the breach but not the miss; resolving settles it as missed.
    let (s, _) = app
        .api(
            "POST",
            &format!("{}/messages", conversation(&app, 1)),
            Some(json!({"content": "Sorry for the wait", "message_type": "outgoing"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(s, 200);
    let v = app.get(&conversation(&app, 1)).await;
    assert_eq!(v["applied_sla"]["breached"], false, "{v}");
    let (s, _) = app
        .api(
            "POST",
            &format!("{}/toggle_status", conversation(&app, 1)),
            Some(json!({"status": "resolved"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(s, 200);
    let v = app.get(&conversation(&app, 1)).await;
    assert_eq!(v["applied_sla"]["sla_status"], "missed", "{v}");
    assert_eq!(app.count("sla_events"), 1);
}

#[actix_web::test]
async fn a_rule_applies_an_sla_and_a_rule_runs_on_sla_missed() {
    let app = TestApp::start();
    app.create_inbox_direct();
    let policy = create_policy(
        &app,
        json!({"name": "Rule SLA", "first_response_time_threshold": 120}),
    )
    .await;
    let rules = format!("/api/v1/accounts/{}/automation_rules", app.account_id);
    let t = app.token.clone();
    for body in [
        json!({"name": "SLA for everyone", "event_name": "conversation_created",
            "conditions": [{"attribute_key": "business_hours", "filter_operator": "equal_to", "values": ["during"]}],
            "actions": [{"action_name": "add_sla", "action_params": [policy["id"]]}]}),
        json!({"name": "Never (the inbox has no hours: always open)", "event_name": "conversation_created",
            "conditions": [{"attribute_key": "business_hours", "filter_operator": "equal_to", "values": ["outside"]}],
            "actions": [{"action_name": "add_label", "action_params": ["after-hours"]}]}),
        json!({"name": "Escalate", "event_name": "sla_missed",
            "actions": [{"action_name": "add_label", "action_params": ["sla-breached"]},
                        {"action_name": "change_priority", "action_params": ["urgent"]}]}),
    ] {
        let (s, v) = app.api("POST", &rules, Some(body), &t).await;
        assert_eq!(s, 200, "{v}");
    }
    let (s, v) = app
        .api(
            "POST",
            &rules,
            Some(json!({"name": "bad", "event_name": "conversation_created",
                "conditions": [{"attribute_key": "business_hours", "filter_operator": "equal_to", "values": ["lunch"]}],
                "actions": [{"action_name": "add_sla", "action_params": [policy["id"]]}]})),
            &t,
        )
        .await;
    assert_eq!(
        (s, v["field"].clone()),
        (422, json!("conditions[0].values"))
    );
    let (s, v) = app
        .api(
            "POST",
            &rules,
            Some(json!({"name": "bad", "event_name": "conversation_created",
                "actions": [{"action_name": "add_sla", "action_params": ["x"]}]})),
            &t,
        )
        .await;
    assert_eq!(
        (s, v["field"].clone()),
        (422, json!("actions[0].action_params"))
    );

    app.deliver_bytes(&text("16505550003", "wamid.c1", "Hi"))
        .await;
    switchboard::jobs::automation::drain(&app.state)
        .await
        .unwrap();
    let v = app.get(&conversation(&app, 1)).await;
    assert_eq!(v["applied_sla"]["sla_id"], policy["id"], "{v}");
    assert_eq!(v["labels"], json!([]));

    exec(
        &app,
        "UPDATE applied_slas SET created_at = now() - interval '5 minutes', \
         due_started_at = now() - interval '5 minutes', due_at = now() - interval '3 minutes'",
    );
    assert_eq!(
        sla::process_due(&mut app.conn(), chrono::Utc::now()).unwrap(),
        1
    );
    switchboard::jobs::automation::drain(&app.state)
        .await
        .unwrap();
    let v = app.get(&conversation(&app, 1)).await;
    assert_eq!(v["labels"], json!(["sla-breached"]), "{v}");
    assert_eq!(v["priority"], "urgent");
}

#[actix_web::test]
async fn the_list_sorts_by_sla_urgency_and_filters_by_policy_and_status() {
    let app = TestApp::start();
    app.create_inbox_direct();
    for (i, from) in ["16505550101", "16505550102", "16505550103", "16505550104"]
        .iter()
        .enumerate()
    {
        app.deliver_bytes(&text(from, &format!("wamid.s{i}"), "Hello"))
            .await;
    }
    let fast = create_policy(
        &app,
        json!({"name": "Fast", "first_response_time_threshold": 60,
            "resolution_time_threshold": 86400}),
    )
    .await;
    let slow = create_policy(
        &app,
        json!({"name": "Slow", "first_response_time_threshold": 3600}),
    )
    .await;
    for (display_id, policy) in [(1, &fast), (2, &fast), (3, &slow)] {
        let (s, v) = apply(&app, display_id, policy["id"].clone()).await;
        assert_eq!(s, 200, "{v}");
    }
    // Conversation 2's first response deadline passed a minute ago: a breach.
    exec(
        &app,
        "UPDATE applied_slas SET created_at = now() - interval '2 minutes', \
         due_started_at = now() - interval '2 minutes', due_at = now() - interval '1 minute' \
         WHERE conversation_id = (SELECT id FROM conversations WHERE display_id = 2)",
    );
    assert_eq!(
        sla::process_due(&mut app.conn(), chrono::Utc::now()).unwrap(),
        1
    );
    let list = |q: &str| {
        format!(
            "/api/v1/accounts/{}/conversations?status=all&{q}",
            app.account_id
        )
    };
    let display_ids = |v: &Value| -> Vec<i64> {
        v["data"]["payload"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    // Breached first (its missed deadline lies in the past), then the nearest deadline, the
    // later one, and the conversation without an SLA last.
    let page = app.get(&list("sort_by=sla_due_asc")).await;
    assert_eq!(display_ids(&page), vec![2, 1, 3, 4]);
    let (s, v) = filter(
        &app,
        json!([{"attribute_key": "sla_policy_id", "filter_operator": "equal_to",
        "values": [fast["id"]]}]),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![2, 1]
    );
    let (s, v) = filter(
        &app,
        json!([{"attribute_key": "sla_status", "filter_operator": "equal_to",
        "values": ["active_with_misses"]}]),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["payload"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["payload"][0]["id"], 2);
    let (s, v) = filter(
        &app,
        json!([{"attribute_key": "sla_policy_id", "filter_operator": "is_not_present",
        "values": []}]),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["payload"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["payload"][0]["id"], 4);
    // Bad values name the field.
    let (s, v) = filter(
        &app,
        json!([{"attribute_key": "sla_status", "filter_operator": "equal_to",
        "values": ["late"]}]),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["field"], "payload[0].values", "{v}");
    // Resolving ends the urgency; removing the SLA (a policy replaced by none) clears it.
    let (s, _) = app
        .api(
            "POST",
            &format!("{}/toggle_status", conversation(&app, 1)),
            Some(json!({"status": "resolved"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(s, 200);
    let due = |display_id: i32| {
        app.query_json(&format!(
            "SELECT to_jsonb(sla_due_at IS NOT NULL) FROM conversations WHERE display_id = {display_id}"
        ))
    };
    assert_eq!(due(1), json!(false));
    assert_eq!(due(3), json!(true));
    exec(
        &app,
        "DELETE FROM applied_slas WHERE conversation_id = \
         (SELECT id FROM conversations WHERE display_id = 3)",
    );
    assert_eq!(due(3), json!(false));
    let page = app.get(&list("sort_by=sla_due_asc")).await;
    assert_eq!(display_ids(&page), vec![2, 1, 3, 4]);
}
