//! The notification centre (issue 10): Chatwoot's `/notifications` API (field names, unread
//! counts, read / read_all / unread / delete, 404 across users and accounts), its triggers
//! (assignment, @mention of an agent or a team in a private note, new customer messages for
//! the assignee and participants), their emails honouring the settings, the participants and
//! team members APIs, and `notification.*` events reaching only their user's SSE stream.

use crate::common::*;
use diesel::RunQueryDsl;
use serde_json::{json, Value};
use std::time::Duration;
use switchboard::app::{self, AppState};
use switchboard::domain::accounts;

fn sql(app: &TestApp, statement: &str) {
    diesel::sql_query(statement)
        .execute(&mut app.conn())
        .expect(statement);
}

/// An agent named `name`, member of `inbox_id` when given; returns (id, token).
fn agent(app: &TestApp, email: &str, name: &str, inbox_id: Option<i64>) -> (i64, String) {
    let (id, token) = app.create_agent(email);
    sql(
        app,
        &format!("UPDATE users SET name = '{name}' WHERE id = {id}"),
    );
    if let Some(inbox) = inbox_id {
        switchboard::domain::inboxes::add_member(&mut app.conn(), inbox, id).unwrap();
    }
    (id, token)
}

fn path(app: &TestApp, rest: &str) -> String {
    format!("/api/v1/accounts/{}{rest}", app.account_id)
}

async fn list(app: &TestApp, token: &str) -> Value {
    let (status, body) = app
        .api("GET", &path(app, "/notifications"), None, token)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn unread(app: &TestApp, token: &str) -> i64 {
    let (status, body) = app
        .api(
            "GET",
            &path(app, "/notifications/unread_count"),
            None,
            token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body.as_i64().expect("a bare integer")
}

async fn assign(app: &TestApp, token: &str, assignee: Option<i64>) {
    let (status, body) = app
        .api(
            "POST",
            &path(app, "/conversations/1/assignments"),
            Some(json!({ "assignee_id": assignee })),
            token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn post_message(app: &TestApp, token: &str, content: &str, private: bool) -> Value {
    let (status, body) = app
        .api(
            "POST",
            &path(app, "/conversations/1/messages"),
            Some(json!({"content": content, "message_type": "outgoing", "private": private})),
            token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Types of the user's notifications, oldest first.
fn types_of(app: &TestApp, user_id: i64) -> Vec<String> {
    let v = app.query_json(&format!(
        "SELECT coalesce(jsonb_agg(notification_type ORDER BY id), '[]') FROM notifications \
         WHERE user_id = {user_id}"
    ));
    serde_json::from_value(v).unwrap()
}

/// The text.json customer message again under a new wamid and text.
fn customer_message(n: u32, text: &str) -> Vec<u8> {
    let raw = String::from_utf8(webhook_fixture("text.json")).unwrap();
    raw.replace(
        "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTAwMDAwMDAwMDAwMDAwMDAwMQA=",
        &format!("wamid.NOTIFY{n:04}"),
    )
    .replace("Hi! Does the blue jacket come in size M?", text)
    .into_bytes()
}

#[actix_rt::test]
async fn the_notifications_api_speaks_chatwoot_and_only_to_the_owner() {
    let app = TestApp::start();
    let inbox = app.create_inbox_direct().0;
    app.auto_assignment_off(inbox.id);
    let (ben, ben_token) = agent(&app, "ben@example.com", "Ben Agent", Some(inbox.id));
    app.deliver("text.json").await;

    // Assigned by someone else: one `conversation_assignment` for Ben; self-assignment none.
    assign(&app, &app.token, Some(ben)).await;
    assign(&app, &app.token, None).await;
    assign(&app, &ben_token, Some(ben)).await;
    assert_eq!(types_of(&app, ben), vec!["conversation_assignment"]);
    assert_eq!(types_of(&app, app.admin_id), Vec::<String>::new());

    let body = list(&app, &ben_token).await;
    assert_eq!(
        body["data"]["meta"],
        // `next_before`: the bell's "Load more" cursor (null: no older page).
        json!({"unread_count": 1, "count": 1, "current_page": 1, "next_before": null})
    );
    let n = &body["data"]["payload"][0];
    let id = n["id"].as_i64().unwrap();
    assert_eq!(n["notification_type"], "conversation_assignment");
    assert_eq!(n["primary_actor_type"], "Conversation");
    assert_eq!(n["primary_actor_id"], 1);
    assert_eq!(n["primary_actor"]["id"], 1);
    assert_eq!(n["primary_actor"]["inbox_id"], inbox.id);
    assert!(
        n["primary_actor"]["meta"]["sender"]["name"].is_string(),
        "{n}"
    );
    assert_eq!(
        n["secondary_actor"],
        json!({"type": "User", "id": app.admin_id, "name": "Ana Admin"})
    );
    assert_eq!(n["user"]["id"], ben);
    assert_eq!(n["read_at"], Value::Null);
    assert_eq!(n["account_id"], app.account_id);
    assert!(n["created_at"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(
        n["push_message_title"],
        "A conversation (#1) has been assigned to you"
    );
    assert_eq!(unread(&app, &ben_token).await, 1);
    assert_eq!(unread(&app, &app.token).await, 0);

    // Nobody else reaches Ben's notification: the administrator, another account's admin.
    let other = accounts::create_admin(
        &mut app.conn(),
        "Other Co",
        "Olga",
        "olga@example.com",
        "password123",
    )
    .unwrap();
    for (method, p) in [
        ("PATCH", format!("/notifications/{id}")),
        ("POST", format!("/notifications/{id}/unread")),
        ("DELETE", format!("/notifications/{id}")),
    ] {
        let (status, _) = app.api(method, &path(&app, &p), None, &app.token).await;
        assert_eq!(status, 404, "{method} {p} as the admin");
        let (status, _) = app
            .api(
                method,
                &format!("/api/v1/accounts/{}{p}", other.account_id),
                None,
                &other.api_access_token,
            )
            .await;
        assert_eq!(status, 404, "{method} {p} from another account");
    }
    let (status, _) = app
        .api(
            "GET",
            &path(&app, "/notifications"),
            None,
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api("GET", &path(&app, "/notifications"), None, "")
        .await;
    assert_eq!(status, 401);

    // Read, unread, read_all, delete.
    let (status, read) = app
        .api(
            "PATCH",
            &path(&app, &format!("/notifications/{id}")),
            None,
            &ben_token,
        )
        .await;
    assert_eq!(status, 200, "{read}");
    assert!(read["read_at"].as_i64().is_some(), "{read}");
    assert_eq!(unread(&app, &ben_token).await, 0);
    let (status, back) = app
        .api(
            "POST",
            &path(&app, &format!("/notifications/{id}/unread")),
            None,
            &ben_token,
        )
        .await;
    assert_eq!((status, &back["read_at"]), (200, &Value::Null));
    assert_eq!(unread(&app, &ben_token).await, 1);
    let (status, _) = app
        .api(
            "POST",
            &path(&app, "/notifications/read_all"),
            None,
            &ben_token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(unread(&app, &ben_token).await, 0);
    assert_eq!(list(&app, &ben_token).await["data"]["meta"]["count"], 1);
    let (status, _) = app
        .api(
            "POST",
            &path(&app, "/notifications/read_all"),
            Some(json!({"primary_actor_type": "Contact", "primary_actor_id": 1})),
            &ben_token,
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = app
        .api(
            "GET",
            &path(&app, "/notifications?page=zero"),
            None,
            &ben_token,
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = app
        .api(
            "DELETE",
            &path(&app, &format!("/notifications/{id}")),
            None,
            &ben_token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list(&app, &ben_token).await["data"]["meta"]["count"], 0);
    let (status, _) = app
        .api(
            "PATCH",
            &path(&app, &format!("/notifications/{id}")),
            None,
            &ben_token,
        )
        .await;
    assert_eq!(status, 404);
}

#[actix_rt::test]
async fn a_note_mentioning_an_agent_or_a_team_notifies_them_and_makes_them_participants() {
    let app = TestApp::start();
    let inbox = app.create_inbox_direct().0;
    app.auto_assignment_off(inbox.id);
    let (ben, _) = agent(&app, "ben@example.com", "Ben Agent", Some(inbox.id));
    let (cy, cy_token) = agent(&app, "cy@example.com", "Cy Night", Some(inbox.id));
    let (dee, _) = agent(&app, "dee@example.com", "Dee Outside", None); // cannot see the inbox
    app.deliver("text.json").await;

    // A team with Cy and Dee, through Chatwoot's team_members API.
    let (status, team) = app
        .api(
            "POST",
            &path(&app, "/teams"),
            Some(json!({"name": "Night"})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{team}");
    let team_id = team["id"].as_i64().unwrap();
    let members = path(&app, &format!("/teams/{team_id}/team_members"));
    let (status, body) = app
        .api(
            "POST",
            &members,
            Some(json!({"user_ids": [cy, dee]})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().unwrap().len(), 2);
    let (status, _) = app
        .api("POST", &members, Some(json!({"user_ids": [cy]})), &cy_token)
        .await;
    assert_eq!(status, 403, "agents cannot change teams");
    let (status, body) = app
        .api(
            "POST",
            &members,
            Some(json!({"user_ids": [999999]})),
            &app.token,
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("user_ids")));
    let (status, _) = app
        .api(
            "GET",
            &path(&app, "/teams/999999/team_members"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(status, 404);

    // Cy does not want mention emails.
    let (status, _) = app
        .api(
            "PATCH",
            &path(&app, "/notification_settings"),
            Some(json!({"notification_settings": {"email_conversation_mention": false}})),
            &cy_token,
        )
        .await;
    assert_eq!(status, 200);
    app.run_email_jobs().await;

    // A reply carrying mention markup goes to WhatsApp: never parsed.
    let markup = format!(
        "[@Ben Agent](mention://user/{ben}/Ben%20Agent) can you check? \
         cc [@Night](mention://team/{team_id}/Night) [@Dee](mention://user/{dee}/Dee) \
         [@Ghost](mention://user/999999/Ghost) [@Me](mention://user/{}/Me)",
        app.admin_id
    );
    sql(&app, "UPDATE conversations SET last_incoming_at = now()");
    post_message(&app, &app.token, &markup, false).await;
    assert_eq!(app.count("notifications"), 0);

    // The same text as a private note: Ben (user mention) and Cy (team member) are
    // notified; Dee cannot see the inbox, the ghost is nobody, the author is skipped.
    post_message(&app, &app.token, &markup, true).await;
    assert_eq!(types_of(&app, ben), vec!["conversation_mention"]);
    assert_eq!(types_of(&app, cy), vec!["conversation_mention"]);
    assert!(types_of(&app, dee).is_empty());
    assert!(types_of(&app, app.admin_id).is_empty());

    // They became participants (and so did the author, who wrote in the conversation).
    let (status, people) = app
        .api(
            "GET",
            &path(&app, "/conversations/1/participants"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{people}");
    let mut ids: Vec<i64> = people
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    let mut want = vec![app.admin_id, ben, cy];
    want.sort();
    assert_eq!(ids, want);

    let n = &list(&app, &cy_token).await["data"]["payload"][0];
    assert_eq!(n["secondary_actor"]["type"], "Message");
    assert_eq!(n["secondary_actor"]["sender_name"], "Ana Admin");
    let content = n["secondary_actor"]["content"].as_str().unwrap();
    assert!(
        content.starts_with("@Ben Agent can you check? cc @Night"),
        "{content}"
    );
    assert!(!content.contains("mention://"), "{content}");
    assert_eq!(
        n["push_message_title"],
        "Ana Admin mentioned you in conversation #1"
    );

    // Email: Ben's (mentions are on by default), not Cy's (turned off).
    let mails = app.run_email_jobs().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = read_eml(&mails[0]);
    assert!(mail.contains("To: ben@example.com"), "{mail}");
    assert!(
        mail.contains("Subject: Ana Admin mentioned you in conversation #1"),
        "{mail}"
    );
    assert!(mail.contains("@Ben Agent can you check?"), "{mail}");
    assert!(!mail.contains("mention://"), "{mail}");
}

#[actix_rt::test]
async fn a_customer_message_notifies_the_assignee_and_the_participants_once() {
    let app = TestApp::start();
    let inbox = app.create_inbox_direct().0;
    app.auto_assignment_off(inbox.id);
    let (ben, ben_token) = agent(&app, "ben@example.com", "Ben Agent", Some(inbox.id));
    let (cy, cy_token) = agent(&app, "cy@example.com", "Cy Night", Some(inbox.id));
    app.deliver("text.json").await;
    // Nobody assigned and no participant: nothing is written.
    app.deliver_bytes(&customer_message(1, "anyone?")).await;
    assert_eq!(app.count("notifications"), 0);

    assign(&app, &app.token, Some(ben)).await;
    let (status, body) = app
        .api(
            "POST",
            &path(&app, "/conversations/1/participants"),
            Some(json!({"user_ids": [cy, ben]})),
            &ben_token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    sql(&app, "DELETE FROM notifications");
    app.run_email_jobs().await;

    app.deliver_bytes(&customer_message(2, "Still there?"))
        .await;
    assert_eq!(
        types_of(&app, ben),
        vec!["assigned_conversation_new_message"]
    );
    assert_eq!(
        types_of(&app, cy),
        vec!["participating_conversation_new_message"]
    );
    assert!(types_of(&app, app.admin_id).is_empty());
    let n = &list(&app, &cy_token).await["data"]["payload"][0];
    assert_eq!(n["secondary_actor"]["type"], "Message");
    assert_eq!(n["secondary_actor"]["content"], "Still there?");
    assert_eq!(
        n["push_message_title"],
        "New message in conversation #1: Still there?"
    );
    // New-message emails are off by default.
    assert!(app.run_email_jobs().await.is_empty());

    // Cy turns them on (Chatwoot's flag); Cy leaves the inbox later and hears no more.
    let (status, s) = app
        .api(
            "PATCH",
            &path(&app, "/notification_settings"),
            Some(json!({"notification_settings": {"selected_email_flags": [
                "email_participating_conversation_new_message"]}})),
            &cy_token,
        )
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["email_participating_conversation_new_message"], true);
    assert_eq!(s["email_conversation_mention"], false);
    app.deliver_bytes(&customer_message(3, "Hello again")).await;
    let mails = app.run_email_jobs().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = read_eml(&mails[0]);
    assert!(mail.contains("To: cy@example.com"), "{mail}");
    assert!(
        mail.contains("Subject: New message in conversation #1"),
        "{mail}"
    );
    assert!(mail.contains("Hello again"), "{mail}");

    switchboard::domain::inboxes::remove_member(&mut app.conn(), inbox.id, cy).unwrap();
    app.deliver_bytes(&customer_message(4, "last one")).await;
    assert_eq!(types_of(&app, cy).len(), 2);
    assert_eq!(types_of(&app, ben).len(), 3);
    // A duplicate delivery of the same message notifies nobody again.
    app.deliver_bytes(&customer_message(4, "last one")).await;
    assert_eq!(types_of(&app, ben).len(), 3);
}

#[actix_rt::test]
async fn the_participants_api_checks_visibility_and_eligibility() {
    let app = TestApp::start();
    let inbox = app.create_inbox_direct().0;
    let (ben, ben_token) = agent(&app, "ben@example.com", "Ben Agent", Some(inbox.id));
    let (dee, dee_token) = agent(&app, "dee@example.com", "Dee Outside", None);
    app.deliver("text.json").await;
    let p = path(&app, "/conversations/1/participants");

    let (status, body) = app.api("GET", &p, None, &ben_token).await;
    assert_eq!((status, body), (200, json!([])));
    // Dee cannot see the inbox: 404, whatever the body.
    for method in ["GET", "POST", "PATCH", "DELETE"] {
        let (status, _) = app
            .api(
                method,
                &p,
                Some(json!({"user_ids": "nonsense"})),
                &dee_token,
            )
            .await;
        assert_eq!(status, 404, "{method}");
    }
    let (status, _) = app
        .api(
            "GET",
            &path(&app, "/conversations/99/participants"),
            None,
            &app.token,
        )
        .await;
    assert_eq!(status, 404);
    // Dee cannot be a participant; a missing list is named too.
    let (status, body) = app
        .api("POST", &p, Some(json!({"user_ids": [dee]})), &app.token)
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("user_ids")),
        "{body}"
    );
    let (status, body) = app.api("POST", &p, Some(json!({})), &app.token).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("user_ids")));

    let (status, body) = app
        .api(
            "POST",
            &p,
            Some(json!({"user_ids": [ben, app.admin_id]})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().unwrap().len(), 2);
    assert_eq!(body[0]["name"], "Ana Admin");
    assert!(body[0]["email"].is_string());
    let (status, body) = app
        .api("PATCH", &p, Some(json!({"user_ids": [ben]})), &app.token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!([body[0].clone()]));
    assert_eq!(body[0]["id"], ben);
    let (status, _) = app
        .api("DELETE", &p, Some(json!({"user_ids": [ben]})), &app.token)
        .await;
    assert_eq!(status, 200);
    let (_, body) = app.api("GET", &p, None, &app.token).await;
    assert_eq!(body, json!([]));

    // Who can be mentioned or added: administrators and the inbox's members.
    let (status, body) = app
        .api(
            "GET",
            &path(
                &app,
                &format!("/assignable_agents?inbox_ids[]={}", inbox.id),
            ),
            None,
            &ben_token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Ana Admin", "Ben Agent"]);
    let (status, _) = app
        .api(
            "GET",
            &path(
                &app,
                &format!("/assignable_agents?inbox_ids[]={}", inbox.id),
            ),
            None,
            &dee_token,
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = app
        .api("GET", &path(&app, "/assignable_agents"), None, &ben_token)
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("inbox_ids")));
}

/// A real server with its realtime listener, for the SSE check.
async fn serve(state: &AppState) -> (String, actix_web::dev::ServerHandle) {
    switchboard::web::realtime::spawn(state);
    let st = state.clone();
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new().configure(app::configure(st.clone()))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    while !state.realtime.ready() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (format!("http://{addr}"), handle)
}

/// Event names read from `resp` until `stop` is seen (or 10 s pass).
async fn events_until(resp: &mut reqwest::Response, stop: &str) -> Vec<(String, Value)> {
    let mut buf = String::new();
    let mut out = vec![];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf[..end].to_string();
            buf.drain(..end + 2);
            let name = block.lines().find_map(|l| l.strip_prefix("event: "));
            let data = block.lines().find_map(|l| l.strip_prefix("data: "));
            if let (Some(name), Some(data)) = (name, data) {
                out.push((name.to_string(), serde_json::from_str(data).unwrap()));
                if name == stop {
                    return out;
                }
            }
        }
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(bytes))) => buf.push_str(&String::from_utf8_lossy(&bytes)),
            _ => panic!("no {stop} event; got {out:?}"),
        }
    }
}

#[actix_rt::test]
async fn notification_events_reach_only_their_users_stream() {
    let app = TestApp::start();
    let inbox = app.create_inbox_direct().0;
    app.auto_assignment_off(inbox.id);
    let (ben, ben_token) = agent(&app, "ben@example.com", "Ben Agent", Some(inbox.id));
    let (_, cy_token) = agent(&app, "cy@example.com", "Cy Night", Some(inbox.id));
    app.deliver("text.json").await;
    let (base, handle) = serve(&app.state).await;
    let open = |token: String| {
        let url = format!("{base}/api/v1/accounts/{}/events", app.account_id);
        async move {
            reqwest::Client::new()
                .get(url)
                .header("api_access_token", token)
                .send()
                .await
                .unwrap()
        }
    };
    let mut ben_stream = open(ben_token.clone()).await;
    let mut cy_stream = open(cy_token.clone()).await;
    let mut admin_stream = open(app.token.clone()).await;

    assign(&app, &app.token, Some(ben)).await;
    // A marker every member sees, after the assignment.
    switchboard::domain::events::emit(
        &mut app.conn(),
        app.account_id,
        None,
        None,
        "test.barrier",
        json!({}),
    )
    .unwrap();
    let ben_events = events_until(&mut ben_stream, "test.barrier").await;
    let created: Vec<&Value> = ben_events
        .iter()
        .filter(|(n, _)| n == "notification.created")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(created.len(), 1, "{ben_events:?}");
    assert_eq!(created[0]["user_id"], ben);
    assert_eq!(created[0]["notification_type"], "conversation_assignment");
    assert_eq!(created[0]["display_id"], 1);
    for stream in [&mut cy_stream, &mut admin_stream] {
        let seen = events_until(stream, "test.barrier").await;
        assert!(
            seen.iter().all(|(n, _)| !n.starts_with("notification.")),
            "{seen:?}"
        );
        assert!(seen.iter().any(|(n, _)| n == "assignee.changed"));
    }

    // Reading it tells Ben's other tabs the new count.
    let id = list(&app, &ben_token).await["data"]["payload"][0]["id"]
        .as_i64()
        .unwrap();
    let (status, _) = app
        .api(
            "PATCH",
            &path(&app, &format!("/notifications/{id}")),
            None,
            &ben_token,
        )
        .await;
    assert_eq!(status, 200);
    let updated = events_until(&mut ben_stream, "notification.updated").await;
    let last = &updated.last().unwrap().1;
    assert_eq!(
        (
            last["notification_id"].as_i64(),
            last["unread_count"].as_i64()
        ),
        (Some(id), Some(0))
    );
    handle.stop(false).await;
}
