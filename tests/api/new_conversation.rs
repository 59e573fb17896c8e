//! Starting a conversation (issue 11): Chatwoot's `POST /api/v1/accounts/{id}/conversations`
//! by `contact_id` + `inbox_id`, by `source_id`, and (Switchboard) by a new `phone_number`;
//! the first message as a template through the send job to Graph; the 24-hour window
//! refusing free text; 422 naming the field; 404 across accounts.

use crate::common::*;
use serde_json::{json, Value};
use switchboard::domain::accounts::{self, Role};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MESSAGES_PATH: &str = "/v25.0/106540352242922/messages";
const TEMPLATES_PATH: &str = "/v25.0/102290129340398/message_templates";

fn graph_fixture(name: &str) -> Value {
    let raw = std::fs::read(shared_fixture(&format!("graph/{name}")))
        .unwrap_or_else(|e| panic!("graph fixture {name}: {e}"));
    serde_json::from_slice(&raw).unwrap()
}

/// Graph: inbox setup, the template list (one page), and sends answered with a wamid.
async fn graph() -> MockServer {
    let server = MockServer::start().await;
    mount_graph_defaults(&server).await;
    Mock::given(method("GET"))
        .and(path(TEMPLATES_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(graph_fixture("message_templates_page1.json")),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(graph_fixture("send_ok_phone.json")))
        .with_priority(9)
        .mount(&server)
        .await;
    server
}

async fn sent(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r: &&Request| r.url.path() == MESSAGES_PATH && r.method.as_str() == "POST")
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

async fn start(server: &MockServer) -> (TestApp, i64) {
    let app = TestApp::start_with(Options {
        graph_base_url: Some(server.uri()),
        ..Default::default()
    });
    let inbox = app.create_inbox(json!({})).await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    (app, inbox_id)
}

async fn create(app: &TestApp, body: Value) -> (u16, Value) {
    app.api(
        "POST",
        &format!("/api/v1/accounts/{}/conversations", app.account_id),
        Some(body),
        &app.token.clone(),
    )
    .await
}

/// Runs an `INSERT … RETURNING id`; returns the id.
fn insert_id(app: &TestApp, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let row: Row = diesel::sql_query(sql)
        .get_result(&mut app.conn())
        .expect(sql);
    row.id
}

fn template(body2: Option<&str>) -> Value {
    let mut body = json!({"1": "Sheena"});
    if let Some(v) = body2 {
        body["2"] = json!(v);
    }
    json!({
        "content": "Hi {{1}}, your order is {{2}}.",
        "template_params": {
            "name": "order_update_v1", "category": "UTILITY", "language": "en_US",
            "processed_params": {"header": {"1": "#4521"}, "body": body,
                                 "buttons": [{"type": "url", "parameter": "4521"}]}
        }
    })
}

#[actix_rt::test]
async fn a_new_phone_number_gets_a_contact_a_conversation_and_the_template_goes_to_graph() {
    let server = graph().await;
    let (app, inbox_id) = start(&server).await;
    let (status, conv) = create(
        &app,
        json!({
            "inbox_id": inbox_id,
            "phone_number": "+1 (650) 555-9999",
            "name": "Sheena",
            "assignee_id": app.admin_id,
            "message": template(Some("on its way")),
        }),
    )
    .await;
    assert_eq!(status, 200, "{conv}");
    let display_id = conv["id"].as_i64().unwrap();
    assert_eq!(conv["inbox_id"], inbox_id);
    assert_eq!(conv["status"], "open");
    assert_eq!(conv["meta"]["assignee"]["id"], app.admin_id);
    assert_eq!(conv["meta"]["sender"]["phone_number"], "+16505559999");
    assert_eq!(conv["meta"]["sender"]["name"], "Sheena");
    assert_eq!(conv["can_reply"], false, "the customer never wrote");
    assert_eq!(
        conv["last_non_activity_message"]["content"],
        "Hi Sheena, your order is on its way. Reply here if you need anything."
    );
    // The same shape as GET /conversations/{id}.
    let shown = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations/{display_id}",
            app.account_id
        ))
        .await;
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&conv), keys(&shown));

    assert_eq!(
        app.query_json(&format!(
            "SELECT json_agg(json_build_object('source_id', ci.source_id, 'source_kind', ci.source_kind))::jsonb FROM contact_inboxes ci JOIN contacts c ON c.id = ci.contact_id WHERE c.phone_number = '+16505559999' AND ci.inbox_id = {inbox_id}"
        )),
        json!([{"source_id": "16505559999", "source_kind": "phone"}])
    );
    // Events for other browsers and the webhooks, in the same transaction.
    let names = app.query_json(
        "SELECT json_agg(name ORDER BY id)::jsonb FROM realtime_events WHERE name IN ('conversation.created', 'message.created')",
    );
    assert_eq!(names, json!(["conversation.created", "message.created"]));

    app.run_send_jobs().await;
    let bodies = sent(&server).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["to"], "+16505559999");
    assert_eq!(bodies[0]["type"], "template");
    assert_eq!(bodies[0]["template"]["name"], "order_update_v1");
    assert_eq!(
        bodies[0]["template"]["components"][1],
        json!({"type": "body", "parameters": [{"type": "text", "text": "Sheena"}, {"type": "text", "text": "on its way"}]})
    );

    // The same number again: the same contact, and its open conversation is reused.
    let (status, again) = create(
        &app,
        json!({"inbox_id": inbox_id, "phone_number": "+16505559999", "message": template(Some("ready"))}),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], display_id);
    assert_eq!(app.count("contacts WHERE phone_number = '+16505559999'"), 1);
    // What the inbox says matches: locked to a single (unresolved) conversation.
    let inbox = app
        .get(&format!(
            "/api/v1/accounts/{}/inboxes/{inbox_id}",
            app.account_id
        ))
        .await;
    assert_eq!(inbox["lock_to_single_conversation"], true, "{inbox}");
}

#[actix_rt::test]
async fn by_contact_id_and_by_source_id_following_the_ingest_rule() {
    let server = graph().await;
    let (app, inbox_id) = start(&server).await;
    app.deliver("text.json").await; // long ago: the window is closed
    let contact_id = app.contacts()[0]["id"].as_i64().unwrap();
    let existing = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations?status=all",
            app.account_id
        ))
        .await["data"]["payload"][0]["id"]
        .as_i64()
        .unwrap();

    // An unresolved conversation exists: it is the one the customer's reply would land in,
    // so it is reused (its status kept).
    let (status, conv) = create(
        &app,
        json!({"contact_id": contact_id.to_string(), "inbox_id": inbox_id, "status": "pending", "message": template(Some("packed"))}),
    )
    .await;
    assert_eq!(status, 200, "{conv}");
    assert_eq!(conv["id"], existing);
    assert_eq!(conv["status"], "open");

    // Resolved: a new conversation, with the requested fields.
    let (status, _) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/conversations/{existing}/toggle_status",
                app.account_id
            ),
            Some(json!({"status": "resolved"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200);
    let (status, fresh) = create(
        &app,
        json!({"source_id": MAIN_USER_PHONE, "status": "pending",
               "custom_attributes": {"order": 4521}, "additional_attributes": {"campaign": "spring"}}),
    )
    .await;
    assert_eq!(status, 200, "{fresh}");
    assert_ne!(fresh["id"], existing);
    assert_eq!(fresh["status"], "pending");
    assert_eq!(fresh["custom_attributes"]["order"], 4521);
    assert_eq!(fresh["meta"]["sender"]["id"], contact_id);

    // The customer's reply (a new wamid) lands in the new conversation.
    let reply = String::from_utf8(with_current_timestamps(&webhook_fixture("text.json")))
        .unwrap()
        .replace("wamid.", "wamid.REPLY");
    app.deliver_bytes(reply.as_bytes()).await;
    let replies = app.count(&format!(
        "messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.display_id = {} AND m.message_type = 0",
        fresh["id"]
    ));
    assert_eq!(replies, 1);
}

#[actix_rt::test]
async fn free_text_outside_the_window_and_missing_parameters_are_refused_and_nothing_is_kept() {
    let server = graph().await;
    let (app, inbox_id) = start(&server).await;
    let before = app.count("conversations");

    let (status, err) = create(
        &app,
        json!({"inbox_id": inbox_id, "phone_number": "+16505559999", "message": {"content": "Hello!"}}),
    )
    .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["field"], "message.content");
    let text = err["error"].as_str().unwrap();
    assert!(
        text.contains("24-hour") && text.contains("template"),
        "{text}"
    );

    let (status, err) = create(
        &app,
        json!({"inbox_id": inbox_id, "phone_number": "+16505559999", "message": template(None)}),
    )
    .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(
        err["field"],
        "message.template_params.processed_params.body.2"
    );
    assert_eq!(app.count("conversations"), before, "nothing kept");
    assert_eq!(app.count("contacts"), 0, "nothing kept");
    assert!(sent(&server).await.is_empty());
}

#[actix_rt::test]
async fn bad_input_names_the_field_and_other_accounts_ids_are_404() {
    let server = graph().await;
    let (app, inbox_id) = start(&server).await;
    app.deliver("text.json").await;
    let contact_id = app.contacts()[0]["id"].as_i64().unwrap();

    for (body, field) in [
        (json!({}), "source_id"),
        (json!({"contact_id": contact_id}), "inbox_id"),
        (
            json!({"inbox_id": "two", "contact_id": contact_id}),
            "inbox_id",
        ),
        (
            json!({"inbox_id": inbox_id, "contact_id": 99999999999999999999u128.to_string()}),
            "contact_id",
        ),
        (
            json!({"inbox_id": inbox_id, "contact_id": contact_id, "status": "bogus"}),
            "status",
        ),
        (
            json!({"inbox_id": inbox_id, "phone_number": "6505551234"}),
            "phone_number",
        ),
        (
            json!({"inbox_id": inbox_id, "contact_id": contact_id, "custom_attributes": [1]}),
            "custom_attributes",
        ),
        (
            json!({"inbox_id": inbox_id, "contact_id": contact_id, "message": "hi"}),
            "message",
        ),
        (
            json!({"inbox_id": inbox_id, "contact_id": contact_id, "source_id": "999"}),
            "source_id",
        ),
    ] {
        let (status, err) = create(&app, body.clone()).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["field"], field, "{body}: {err}");
        assert!(
            err["message"].is_string() || err["error"].is_string(),
            "{err}"
        );
    }

    // An agent who is not a member of the inbox cannot be assigned.
    let (agent_id, agent_token) = app.create_agent("ben@example.com");
    let (status, err) = create(
        &app,
        json!({"inbox_id": inbox_id, "contact_id": contact_id, "assignee_id": agent_id}),
    )
    .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["field"], "assignee_id");
    // Nor may such an agent start one there (the inbox looks absent).
    let (status, _) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/conversations", app.account_id),
            Some(json!({"inbox_id": inbox_id, "contact_id": contact_id})),
            &agent_token,
        )
        .await;
    assert_eq!(status, 404);

    // Another account's contact, inbox, agent and team.
    let other = {
        let mut conn = app.conn();
        accounts::create_admin(
            &mut conn,
            "Other",
            "Olga",
            "olga@example.com",
            "pass word 1",
        )
        .unwrap()
    };
    let (other_agent, _) = {
        let mut conn = app.conn();
        accounts::create_user(
            &mut conn,
            other.account_id,
            "Oscar",
            "oscar@example.com",
            "agent password",
            Role::Agent,
        )
        .unwrap()
    };
    let other_team = insert_id(
        &app,
        &format!(
            "INSERT INTO teams (account_id, name) VALUES ({}, 'Elsewhere') RETURNING id",
            other.account_id
        ),
    );
    let other_contact = insert_id(
        &app,
        &format!(
            "INSERT INTO contacts (account_id, name, phone_number) VALUES ({}, 'Far', '+4915112345678') RETURNING id",
            other.account_id
        ),
    );
    for body in [
        json!({"inbox_id": inbox_id, "contact_id": other_contact}),
        json!({"inbox_id": inbox_id, "contact_id": contact_id, "assignee_id": other_agent.id}),
        json!({"inbox_id": inbox_id, "contact_id": contact_id, "team_id": other_team}),
        json!({"source_id": "4915112345678"}),
    ] {
        let (status, err) = create(&app, body.clone()).await;
        assert_eq!(status, 404, "{body}: {err}");
    }
    let (status, _) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/conversations", other.account_id),
            Some(json!({"inbox_id": inbox_id, "contact_id": other_contact})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404, "our inbox from the other account");
}
