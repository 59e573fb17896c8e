//! Chatwoot API parity (issue 11): outgoing webhook bodies against golden files, PATCH a
//! conversation, DELETE a message, trailing/doubled slashes, Rails-wrapped bodies, error
//! bodies with `message`, last-seen timestamps as numbers.
//!
//! Golden files: `tests/golden/webhooks/<name>.json`, one per event body, ids and times
//! normalised (see [`normalise`]); `tests/golden/webhooks/FIELDS.md` lists each field with
//! its Chatwoot source. `UPDATE_GOLDEN=1 cargo test --test api parity::` rewrites them.

use crate::common::{Options, TestApp};
use serde_json::{json, Value};

fn golden_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/webhooks")
}

const TIME_KEYS: [&str; 10] = [
    "created_at",
    "updated_at",
    "timestamp",
    "last_activity_at",
    "agent_last_seen_at",
    "contact_last_seen_at",
    "waiting_since",
    "first_reply_created_at",
    "snoozed_until",
    "last_activity_at",
];

/// Replaces what differs between runs: a non-zero time under a time key becomes
/// `"<unix>"`, `"<unix.f>"` or `"<iso>"`, a number under `id` or `*_id` becomes `"<id>"`
/// (display ids too: a fresh database gives 1 anyway).
fn normalise(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if TIME_KEYS.contains(&k.as_str()) {
                    *val = match &*val {
                        Value::Number(n) if n.as_f64() == Some(0.0) => json!(0),
                        Value::Number(n) if n.is_f64() => json!("<unix.f>"),
                        Value::Number(_) => json!("<unix>"),
                        Value::String(_) => json!("<iso>"),
                        other => other.clone(),
                    };
                } else if (k == "id" || k.ends_with("_id")) && val.is_number() {
                    *val = json!("<id>");
                } else {
                    normalise(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

fn check_golden(name: &str, body: &Value) {
    let mut got = body.clone();
    normalise(&mut got);
    let path = golden_dir().join(format!("{name}.json"));
    let pretty = serde_json::to_string_pretty(&got).unwrap() + "\n";
    if std::env::var("UPDATE_GOLDEN").is_ok() || !path.exists() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, &pretty).unwrap();
        return;
    }
    let want: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        got,
        want,
        "{name}: body differs from {}:\n{pretty}",
        path.display()
    );
}

fn app() -> TestApp {
    TestApp::start_with(Options {
        webhooks_allow_local: true,
        ..Default::default()
    })
}

/// The queued webhook bodies, oldest first.
fn bodies(app: &TestApp) -> Vec<Value> {
    app.query_json(
        "SELECT coalesce(jsonb_agg(payload->'body' ORDER BY id), '[]') FROM jobs \
         WHERE kind = 'webhook_delivery'",
    )
    .as_array()
    .cloned()
    .unwrap()
}

async fn open_conversation(app: &TestApp) {
    app.deliver_bytes(&crate::common::with_current_timestamps(
        &crate::common::webhook_fixture("text.json"),
    ))
    .await;
}

fn conv_path(app: &TestApp, rest: &str) -> String {
    format!("/api/v1/accounts/{}/conversations/1{rest}", app.account_id)
}

#[actix_rt::test]
async fn webhook_bodies_match_the_golden_files() {
    let app = app();
    app.create_inbox_direct();
    let token = app.token.clone();
    let (status, hook) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/webhooks", app.account_id),
            Some(json!({"webhook": {"url": "http://127.0.0.1:9/hook"}})),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{hook}");
    assert_eq!(
        hook["payload"]["webhook"]["subscriptions"]
            .as_array()
            .unwrap()
            .len(),
        7
    );

    // The customer writes: contact_created, conversation_created, message_created.
    open_conversation(&app).await;
    // An agent replies: message_created (outgoing); Graph accepts it: message_updated.
    let (status, reply) = app
        .api(
            "POST",
            &conv_path(&app, "/messages"),
            Some(json!({"content": "Hello from Acme"})),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    // Priority (an activity line, never a message_created), then resolve.
    let (status, _) = app
        .api(
            "PATCH",
            &conv_path(&app, ""),
            Some(json!({"priority": "high"})),
            &token,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .api(
            "POST",
            &conv_path(&app, "/toggle_status"),
            Some(json!({"status": "resolved"})),
            &token,
        )
        .await;
    assert_eq!(status, 200);
    // The contact's name changes: contact_updated.
    let contact_id = app
        .query_json("SELECT to_jsonb(id) FROM contacts LIMIT 1")
        .as_i64()
        .unwrap();
    switchboard::domain::events::contact_updated_with(
        &mut app.conn(),
        app.account_id,
        None,
        contact_id,
        json!({"name": ["Old Name", "Jane Doe"]}),
    )
    .unwrap();
    // The agent deletes the reply: message_updated.
    let (status, deleted) = app
        .api(
            "DELETE",
            &conv_path(&app, &format!("/messages/{}", reply["id"])),
            None,
            &token,
        )
        .await;
    assert_eq!(status, 200, "{deleted}");

    let all = bodies(&app);
    let events: Vec<&str> = all.iter().map(|b| b["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        [
            "contact_created",
            "conversation_created",
            "message_created",
            "message_created",
            "conversation_updated",
            "conversation_status_changed",
            "contact_updated",
            "message_updated",
        ],
        "activity lines are not sent as message_created"
    );
    let names = [
        "contact_created",
        "conversation_created",
        "message_created",
        "message_created_outgoing",
        "conversation_updated",
        "conversation_status_changed",
        "contact_updated",
        "message_updated",
    ];
    for (name, body) in names.iter().zip(&all) {
        check_golden(name, body);
    }
    // A few facts spelled out (the golden files hold the rest).
    assert_eq!(all[2]["sender"]["type"], "contact");
    assert_eq!(all[3]["sender"]["type"], "user");
    assert_eq!(
        all[3]["status"], "sent",
        "progress reads as Chatwoot's sent"
    );
    assert!(all[1]["contact_inbox"]["source_id"].as_str().is_some());
    assert_eq!(
        all[4]["changed_attributes"],
        json!([{"priority": {"previous_value": null, "current_value": "high"}}])
    );
    assert_eq!(all[7]["content"], "This message was deleted");
    assert_eq!(all[7]["content_attributes"], json!({"deleted": true}));
}

#[actix_rt::test]
async fn patch_conversation() {
    let app = app();
    app.create_inbox_direct();
    open_conversation(&app).await;
    let token = app.token.clone();
    let (status, c) = app
        .api(
            "PATCH",
            &conv_path(&app, ""),
            Some(json!({"priority": "urgent", "custom_attributes": {"plan": "gold", "seats": 3}})),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["priority"], "urgent");
    assert_eq!(c["custom_attributes"], json!({"plan": "gold", "seats": 3}));
    assert_eq!(c["id"], 1);
    // Rails-wrapped, with an assignee.
    let (status, c) = app
        .api(
            "PATCH",
            &conv_path(&app, ""),
            Some(json!({"conversation": {"priority": "none", "assignee_id": app.admin_id}})),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["priority"], Value::Null);
    assert_eq!(c["assignee_id"], app.admin_id);
    assert_eq!(c["meta"]["assignee"]["id"], app.admin_id);
    // Bad input names the field, and changes nothing.
    for (body, field) in [
        (json!({"priority": "asap"}), "priority"),
        (json!({"priority": 3}), "priority"),
        (json!({"custom_attributes": "gold"}), "custom_attributes"),
        (json!({"assignee_id": "ben"}), "assignee_id"),
        (json!({"team_id": 999999}), "team_id"),
        (
            json!({"priority": "low", "assignee_id": 999999}),
            "assignee_id",
        ),
    ] {
        let (status, err) = app
            .api("PATCH", &conv_path(&app, ""), Some(body.clone()), &token)
            .await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["field"], field, "{body}: {err}");
        assert_eq!(err["message"], err["error"], "{err}");
    }
    let c = app.get(&conv_path(&app, "")).await;
    assert_eq!(
        c["priority"],
        Value::Null,
        "a refused PATCH changed nothing"
    );
    // Another account's conversation: 404.
    let other = switchboard::domain::accounts::create_admin(
        &mut app.conn(),
        "Other",
        "Olga",
        "olga@example.com",
        "correct horse",
    )
    .unwrap();
    let (status, _) = app
        .api(
            "PATCH",
            &format!("/api/v1/accounts/{}/conversations/1", other.account_id),
            Some(json!({"priority": "high"})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api(
            "PATCH",
            &conv_path(&app, ""),
            Some(json!({"priority": "high"})),
            &other.api_access_token,
        )
        .await;
    assert!(status == 401 || status == 404, "{status}");
}

#[actix_rt::test]
async fn delete_message() {
    let app = app();
    let inbox = app.create_inbox_direct();
    open_conversation(&app).await;
    let token = app.token.clone();
    let (agent_id, agent_token) = app.create_agent("ben@example.com");
    let (status, _) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/inbox_members", app.account_id),
            Some(json!({"inbox_id": inbox.0.id, "user_ids": [agent_id]})),
            &token,
        )
        .await;
    assert_eq!(status, 200);
    let send = |tok: String, content: &'static str| {
        let app = &app;
        async move {
            let (status, m) = app
                .api(
                    "POST",
                    &conv_path(app, "/messages"),
                    Some(json!({"message": {"content": content}})),
                    &tok,
                )
                .await;
            assert_eq!(status, 200, "{m}");
            assert_eq!(m["content"], content, "the message wrapper was lifted");
            m["id"].as_i64().unwrap()
        }
    };
    let admin_msg = send(token.clone(), "from the admin").await;
    let agent_msg = send(agent_token.clone(), "from the agent").await;
    let incoming = app
        .query_json("SELECT to_jsonb(id) FROM messages WHERE message_type = 0 LIMIT 1")
        .as_i64()
        .unwrap();
    let del = |id: i64| conv_path(&app, &format!("/messages/{id}"));

    // Another agent's message: 403 (the agent did not write the admin's message).
    let (status, err) = app.api("DELETE", &del(admin_msg), None, &agent_token).await;
    assert_eq!(status, 403, "{err}");
    // A customer's message: 422 naming message_id.
    let (status, err) = app.api("DELETE", &del(incoming), None, &agent_token).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["field"], "message_id");
    // No such message, another account: 404.
    let (status, _) = app.api("DELETE", &del(999_999_999), None, &token).await;
    assert_eq!(status, 404);
    let other = switchboard::domain::accounts::create_admin(
        &mut app.conn(),
        "Other",
        "Olga",
        "olga@example.com",
        "correct horse",
    )
    .unwrap();
    let (status, _) = app
        .api(
            "DELETE",
            &format!(
                "/api/v1/accounts/{}/conversations/1/messages/{agent_msg}",
                other.account_id
            ),
            None,
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404);

    // The agent's own message: deleted as Chatwoot does.
    let (status, m) = app.api("DELETE", &del(agent_msg), None, &agent_token).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["content"], "This message was deleted");
    assert_eq!(m["content_attributes"], json!({"deleted": true}));
    assert_eq!(m["attachments"], json!([]));
    // Again: nothing changes, still 200.
    let (status, _) = app.api("DELETE", &del(agent_msg), None, &agent_token).await;
    assert_eq!(status, 200);
    // An administrator may delete any agent's message.
    let (status, m) = app.api("DELETE", &del(admin_msg), None, &token).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(
        app.count(
            "realtime_events WHERE name = 'message.updated' AND payload->>'update' = 'delete'"
        ),
        2
    );
    // Deleted before the send job ran: never sent to WhatsApp.
    app.run_send_jobs().await;
    assert_eq!(
        app.count("messages WHERE message_type = 1 AND source_id IS NOT NULL"),
        0
    );
    let thread = app.get(&conv_path(&app, "/messages")).await;
    let shown = thread["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == agent_msg)
        .cloned()
        .unwrap();
    assert_eq!(shown["content"], "This message was deleted");
}

#[actix_rt::test]
async fn slashes_route_as_rails_routes_them() {
    let app = app();
    app.create_inbox_direct();
    open_conversation(&app).await;
    let a = app.account_id;
    for path in [
        format!("/api/v1/accounts/{a}/conversations/"),
        format!("/api/v1//accounts/{a}/conversations"),
        format!("/api/v1/accounts/{a}//conversations/1/"),
        format!("/api/v1/accounts/{a}/conversations/1/messages//"),
        format!("/api/v1/accounts/{a}/contacts/?page=1"),
    ] {
        let (status, body) = app.api("GET", &path, None, &app.token.clone()).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, c) = app
        .api(
            "PATCH",
            &format!("/api/v1/accounts/{a}/conversations/1/"),
            Some(json!({"priority": "low"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["priority"], "low");
    // Outside /api/ nothing is rewritten: Meta's webhook route and health keep their paths.
    let (status, _) = app.post_webhook("+15551234567/", b"{}", None).await;
    assert_eq!(status, 404);
    let (status, _) = app.api("GET", "/health", None, "").await;
    assert_eq!(status, 200);
}

#[actix_rt::test]
async fn rails_wrapped_bodies_for_each_resource() {
    let app = app();
    let inbox = app.create_inbox_direct();
    open_conversation(&app).await;
    let a = app.account_id;
    let token = app.token.clone();
    let post = |path: String, body: Value| {
        let app = &app;
        let token = token.clone();
        async move {
            let (status, json) = app.api("POST", &path, Some(body.clone()), &token).await;
            assert_eq!(status, 200, "{path} {body}: {json}");
            json
        }
    };
    let team = post(
        format!("/api/v1/accounts/{a}/teams"),
        json!({"team": {"name": "Sales", "description": "Deals"}}),
    )
    .await;
    assert_eq!(team["name"], "Sales");
    let label = post(
        format!("/api/v1/accounts/{a}/labels"),
        json!({"label": {"title": "vip", "color": "#ff0000"}}),
    )
    .await;
    assert_eq!(label["title"], "vip");
    let agent = post(
        format!("/api/v1/accounts/{a}/agents"),
        json!({"agent": {"name": "Cleo", "email": "cleo@example.com", "role": "agent"}}),
    )
    .await;
    assert_eq!(agent["email"], "cleo@example.com");
    let canned = post(
        format!("/api/v1/accounts/{a}/canned_responses"),
        json!({"canned_response": {"short_code": "hi", "content": "Hello!"}}),
    )
    .await;
    assert_eq!(canned["short_code"], "hi");
    let hook = post(
        format!("/api/v1/accounts/{a}/webhooks"),
        json!({"webhook": {"url": "http://127.0.0.1:9/x"}}),
    )
    .await;
    assert_eq!(hook["payload"]["webhook"]["url"], "http://127.0.0.1:9/x");
    let contact_id = app
        .query_json("SELECT to_jsonb(id) FROM contacts LIMIT 1")
        .as_i64()
        .unwrap();
    let note = post(
        format!("/api/v1/accounts/{a}/contacts/{contact_id}/notes"),
        json!({"note": {"content": "Prefers mornings"}}),
    )
    .await;
    assert_eq!(note["content"], "Prefers mornings");
    let (status, ib) = app
        .api(
            "PATCH",
            &format!("/api/v1/accounts/{a}/inboxes/{}", inbox.0.id),
            Some(json!({"inbox": {"name": "Front desk"}})),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{ib}");
    assert_eq!(ib["name"], "Front desk");
    // The bare form still works, and a wrapper key holding a non-object is a field.
    let bare = post(
        format!("/api/v1/accounts/{a}/labels"),
        json!({"title": "bare"}),
    )
    .await;
    assert_eq!(bare["title"], "bare");
    let (status, err) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{a}/labels"),
            Some(json!({"label": "oops"})),
            &token,
        )
        .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["field"], "title");
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[actix_rt::test]
async fn last_seen_timestamps_are_numbers() {
    let app = app();
    app.create_inbox_direct();
    open_conversation(&app).await;
    let c = app.get(&conv_path(&app, "")).await;
    for key in [
        "agent_last_seen_at",
        "assignee_last_seen_at",
        "contact_last_seen_at",
        "waiting_since",
    ] {
        assert!(c[key].is_i64(), "{key}: {}", c[key]);
    }
    assert_eq!(c["agent_last_seen_at"], 0);
    assert!(c["waiting_since"].as_i64().unwrap() > 0);
    let list = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations",
            app.account_id
        ))
        .await;
    assert_eq!(list["data"]["payload"][0]["assignee_last_seen_at"], 0);
}
