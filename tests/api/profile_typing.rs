//! Issue 12 (profile-typing): the business profile API
//! (`GET|PUT /api/v1/accounts/{id}/inboxes/{inbox_id}/business_profile`) with the exact Graph
//! bodies (profile update, Resumable Upload of the picture), Meta's limits refused before
//! Graph with the field named, Meta's refusals in words; and the typing indicator
//! (`POST …/conversations/{id}/toggle_typing_status`): the exact Graph body, the 20-second
//! throttle held in PostgreSQL across two app instances and concurrent callers, nothing for a
//! private note or outside the customer service window, and bad input.

use crate::common::*;
use actix_web::{test, App};
use serde_json::{json, Value};
use switchboard::app::AppState;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const APP_ID: &str = "670843887433847";
const PROFILE_PATH: &str = "/v25.0/106540352242922/whatsapp_business_profile";
const MESSAGES_PATH: &str = "/v25.0/106540352242922/messages";
const WAMID: &str = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTAwMDAwMDAwMDAwMDAwMDAwMQA=";
/// A tiny JPEG header (the server checks the magic bytes, Meta the rest).
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01,
];
const BOUNDARY: &str = "----switchboard-bp-test";

fn graph_fixture(name: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(shared_fixture(&format!("graph/{name}"))).unwrap(),
    )
    .unwrap()
}

async fn graph() -> MockServer {
    let server = MockServer::start().await;
    mount_graph_defaults(&server).await;
    Mock::given(method("GET"))
        .and(path(PROFILE_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(graph_fixture("business_profile_get.json")),
        )
        .mount(&server)
        .await;
    server
}

fn start(server: &MockServer, app_id: Option<&str>) -> TestApp {
    TestApp::start_with(Options {
        graph_base_url: Some(server.uri()),
        app_id: app_id.map(str::to_string),
        ..Default::default()
    })
}

fn profile_url(app: &TestApp, inbox_id: i64) -> String {
    format!(
        "/api/v1/accounts/{}/inboxes/{inbox_id}/business_profile",
        app.account_id
    )
}

/// Any request with a token: status and JSON.
async fn call(app: &TestApp, req: test::TestRequest, token: &str) -> (u16, Value) {
    let svc =
        test::init_service(App::new().configure(switchboard::app::configure(app.state.clone())))
            .await;
    let resp = test::call_service(
        &svc,
        req.insert_header(("api_access_token", token)).to_request(),
    )
    .await;
    let status = resp.status().as_u16();
    let bytes = test::read_body(resp).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((file_name, bytes)) = file {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"profile_picture\"; filename=\"{file_name}\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn put_multipart(
    app: &TestApp,
    inbox_id: i64,
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> (u16, Value) {
    call(
        app,
        test::TestRequest::put()
            .uri(&profile_url(app, inbox_id))
            .insert_header((
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            ))
            .set_payload(multipart(fields, file)),
        &app.token,
    )
    .await
}

/// Requests Graph received on `p` with `verb`.
async fn received(server: &MockServer, verb: &str, p: &str) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == p)
        .collect()
}

#[actix_rt::test]
async fn the_profile_is_read_from_graph() {
    let server = graph().await;
    let app = start(&server, None);
    let (inbox, _) = app.create_inbox_direct();
    let v = app.get(&profile_url(&app, inbox.id)).await;
    assert_eq!(
        v["about"],
        "Hardware and garden supplies. Agents reply 8am-8pm."
    );
    assert_eq!(v["websites"], json!(["https://shop.example.com/"]));
    assert_eq!(v["vertical"], "RETAIL");
    assert_eq!(v["vertical_label"], "Shopping and retail");
    assert_eq!(v["email"], "help@shop.example.com");
    assert!(v["profile_picture_url"]
        .as_str()
        .unwrap()
        .starts_with("https://pps.whatsapp.net/"));
    assert_eq!(v["picture_upload_available"], false);
    let get = &received(&server, "GET", PROFILE_PATH).await[0];
    let fields = get
        .url
        .query_pairs()
        .find(|(k, _)| k == "fields")
        .unwrap()
        .1
        .to_string();
    assert_eq!(
        fields,
        "about,address,description,email,profile_picture_url,websites,vertical"
    );
    assert_eq!(
        get.headers.get("authorization").unwrap(),
        "Bearer EAAG-test-access-token-1234"
    );
}

#[actix_rt::test]
async fn an_update_sends_only_the_changed_fields() {
    let server = graph().await;
    Mock::given(method("POST"))
        .and(path(PROFILE_PATH))
        .and(body_json(json!({
            "messaging_product": "whatsapp",
            "about": "Open 8-20, every day",
            "websites": ["https://shop.example.com/", "http://blog.example.com"],
            "vertical": "RETAIL",
            "email": "",
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    let app = start(&server, None);
    let (inbox, _) = app.create_inbox_direct();
    let (status, v) = call(
        &app,
        test::TestRequest::put()
            .uri(&profile_url(&app, inbox.id))
            // Rails-style wrapper, as client libraries send it.
            .set_json(json!({"business_profile": {
                "about": "  Open 8-20, every day ",
                "websites": ["https://shop.example.com/", "http://blog.example.com"],
                "vertical": "retail",
                "email": "",
                "messaging_product": "whatsapp",
            }})),
        &app.token,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    // The answer is the profile read again from Graph.
    assert_eq!(v["vertical"], "RETAIL");
    server.verify().await;
}

#[actix_rt::test]
async fn metas_limits_are_refused_before_graph_with_the_field_named() {
    let server = graph().await;
    let app = start(&server, Some(APP_ID));
    let (inbox, _) = app.create_inbox_direct();
    let cases = [
        (json!({"about": ""}), "about"),
        (json!({"about": "x".repeat(140)}), "about"),
        (json!({"address": "x".repeat(257)}), "address"),
        (json!({"description": "x".repeat(513)}), "description"),
        (json!({"email": "help at shop"}), "email"),
        (json!({"websites": ["shop.example.com"]}), "websites[0]"),
        (
            json!({"websites": ["https://a.example.com", "https://b.example.com", "https://c.example.com"]}),
            "websites",
        ),
        (json!({"websites": "https://a.example.com"}), "websites"),
        (json!({"vertical": "CASINO"}), "vertical"),
        (json!({"about": 12}), "about"),
        (json!({"colour": "blue"}), "colour"),
        (json!({}), "business_profile"),
    ];
    for (body, field) in cases {
        let (status, v) = call(
            &app,
            test::TestRequest::put()
                .uri(&profile_url(&app, inbox.id))
                .set_json(body.clone()),
            &app.token,
        )
        .await;
        assert_eq!(status, 422, "{body}: {v}");
        assert_eq!(v["field"], field, "{body}: {v}");
        assert!(!v["message"].as_str().unwrap().is_empty());
    }
    // The picture: not an image, and too large, before any upload.
    let (status, v) = put_multipart(&app, inbox.id, &[], Some(("p.gif", b"GIF89a..."))).await;
    assert_eq!(
        (status, v["field"].as_str()),
        (422, Some("profile_picture"))
    );
    let big = vec![0xFFu8; 5 * 1024 * 1024 + 10];
    let (status, v) = put_multipart(&app, inbox.id, &[], Some(("p.jpg", &big))).await;
    assert_eq!(
        (status, v["field"].as_str()),
        (422, Some("profile_picture")),
        "{v}"
    );
    let (status, v) = put_multipart(
        &app,
        inbox.id,
        &[("websites[]", "ftp://x.example.com")],
        None,
    )
    .await;
    assert_eq!(
        (status, v["field"].as_str()),
        (422, Some("websites[0]")),
        "{v}"
    );
    assert!(
        received(&server, "POST", PROFILE_PATH).await.is_empty(),
        "nothing reached Graph"
    );
    assert!(server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .all(|r| !r.url.path().contains("upload")));
}

#[actix_rt::test]
async fn the_picture_goes_through_the_resumable_upload_api() {
    let server = graph().await;
    let session = graph_fixture("upload_session_create.json");
    let session_id = session["id"].as_str().unwrap().to_string();
    let handle = graph_fixture("upload_file_handle.json")["h"]
        .as_str()
        .unwrap()
        .to_string();
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{APP_ID}/uploads")))
        .and(query_param("file_name", "logo.jpg"))
        .and(query_param("file_length", JPEG.len().to_string()))
        .and(query_param("file_type", "image/jpeg"))
        .and(header(
            "authorization",
            "Bearer EAAG-test-access-token-1234",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(session.clone()))
        .expect(1)
        .mount(&server)
        .await;
    let (session_path, sig) = session_id.split_once('?').unwrap();
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{session_path}")))
        .and(query_param("sig", sig.trim_start_matches("sig=")))
        .and(header("authorization", "OAuth EAAG-test-access-token-1234"))
        .and(header("file_offset", "0"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(graph_fixture("upload_file_handle.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(PROFILE_PATH))
        .and(body_json(json!({
            "messaging_product": "whatsapp",
            "description": "Family hardware store",
            "websites": ["https://shop.example.com/", "https://garden.example.com/"],
            "profile_picture_handle": handle,
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    let app = start(&server, Some(APP_ID));
    let (inbox, _) = app.create_inbox_direct();
    let (status, v) = put_multipart(
        &app,
        inbox.id,
        &[
            ("description", "Family hardware store"),
            ("websites[]", "https://shop.example.com/"),
            ("websites[]", "https://garden.example.com/"),
        ],
        Some(("logo.jpg", JPEG)),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["picture_upload_available"], true);
    server.verify().await;
    let upload = received(&server, "POST", &format!("/v25.0/{session_path}")).await;
    assert_eq!(upload[0].body, JPEG, "the raw bytes are the body");
}

#[actix_rt::test]
async fn a_picture_needs_the_app_id_and_metas_refusals_are_shown_in_words() {
    let server = graph().await;
    Mock::given(method("POST"))
        .and(path(PROFILE_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100,
            "error_data": {"messaging_product": "whatsapp", "details": "Param email must be a valid email"},
            "fbtrace_id": "A1"}})))
        .mount(&server)
        .await;
    let app = start(&server, None);
    let (inbox, _) = app.create_inbox_direct();
    let (status, v) = put_multipart(&app, inbox.id, &[], Some(("logo.jpg", JPEG))).await;
    assert_eq!(status, 422);
    assert_eq!(v["field"], "profile_picture");
    assert!(
        v["message"].as_str().unwrap().contains("WHATSAPP_APP_ID"),
        "{v}"
    );

    let (status, v) = app
        .api(
            "PUT",
            &profile_url(&app, inbox.id),
            Some(json!({"email": "help@shop.example.com"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["field"], "business_profile");
    let message = v["message"].as_str().unwrap();
    assert!(message.contains("(#100) Invalid parameter"), "{message}");
    assert!(
        message.contains("Param email must be a valid email"),
        "{message}"
    );
}

#[actix_rt::test]
async fn an_expired_token_flags_the_inbox_and_an_unreachable_graph_is_502() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PROFILE_PATH))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(graph_fixture("error_190_token_expired.json")),
        )
        .mount(&server)
        .await;
    let app = start(&server, None);
    let (inbox, _) = app.create_inbox_direct();
    let (status, v) = app
        .api(
            "GET",
            &profile_url(&app, inbox.id),
            None,
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert!(v["message"].as_str().unwrap().contains("#190"), "{v}");
    assert_eq!(
        app.query_json(&format!(
            "SELECT to_jsonb(reauthorization_required) FROM inboxes WHERE id = {}",
            inbox.id
        )),
        json!(true)
    );
    drop(server);
    let down = TestApp::start_with(Options {
        graph_base_url: Some("http://127.0.0.1:9".into()),
        ..Default::default()
    });
    let (inbox, _) = down.create_inbox_direct();
    let (status, v) = down
        .api(
            "GET",
            &profile_url(&down, inbox.id),
            None,
            &down.token.clone(),
        )
        .await;
    assert_eq!(status, 502, "{v}");
}

#[actix_rt::test]
async fn the_profile_is_for_administrators_of_the_inbox_only() {
    let server = graph().await;
    let app = start(&server, None);
    let (inbox, _) = app.create_inbox_direct();
    let (_, agent_token) = app.create_agent("ben@example.com");
    let url = profile_url(&app, inbox.id);
    let (status, _) = app.api("GET", &url, None, &agent_token).await;
    assert_eq!(status, 403);
    let (status, _) = app
        .api("PUT", &url, Some(json!({"about": "x"})), &agent_token)
        .await;
    assert_eq!(status, 403);
    let (status, _) = app.api("GET", &url, None, "").await;
    assert_eq!(status, 401);
    // Another account's administrator, with their own account id and our inbox id: 404.
    let other = switchboard::domain::accounts::create_admin(
        &mut app.conn(),
        "Other",
        "Olga",
        "olga@example.com",
        "correct horse",
    )
    .unwrap();
    let (status, v) = app
        .api(
            "GET",
            &format!(
                "/api/v1/accounts/{}/inboxes/{}/business_profile",
                other.account_id, inbox.id
            ),
            None,
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404, "{v}");
    // Malformed JSON, a NUL, a wrong content type.
    for (payload, ct, want) in [
        (&b"{\"about\": "[..], "application/json", 400),
        (&b"{\"about\": \"a\\u0000b\"}"[..], "application/json", 400),
        (&b"about=x"[..], "text/plain", 400),
    ] {
        let (status, v) = call(
            &app,
            test::TestRequest::put()
                .uri(&url)
                .insert_header(("content-type", ct))
                .set_payload(payload.to_vec()),
            &app.token,
        )
        .await;
        assert_eq!(status, want, "{v}");
        assert!(v["error"].is_string(), "{v}");
    }
    assert!(received(&server, "POST", PROFILE_PATH).await.is_empty());
}

// ---------- the typing indicator ----------

async fn typing_graph() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(graph_fixture("typing_ok.json")))
        .mount(&server)
        .await;
    server
}

/// An app with the fixtures' inbox and one conversation (display id 1) whose customer wrote
/// just now (`fresh`) or at the fixture's old timestamp (window closed).
async fn typing_app(server: &MockServer, fresh: bool) -> TestApp {
    let app = start(server, None);
    app.create_inbox_direct();
    let body = webhook_fixture("text.json");
    let body = if fresh {
        with_current_timestamps(&body)
    } else {
        body
    };
    app.deliver_bytes(&body).await;
    app
}

async fn typing(app: &TestApp, body: Value) -> (u16, Value) {
    app.api(
        "POST",
        &format!(
            "/api/v1/accounts/{}/conversations/1/toggle_typing_status",
            app.account_id
        ),
        Some(body),
        &app.token.clone(),
    )
    .await
}

async fn typing_calls(server: &MockServer) -> Vec<Value> {
    received(server, "POST", MESSAGES_PATH)
        .await
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .collect()
}

fn typing_jobs(app: &TestApp) -> i64 {
    app.count("jobs WHERE payload->'mark_read'->>'typing_indicator' = 'true'")
}

#[actix_rt::test]
async fn typing_a_reply_sends_one_indicator_with_metas_exact_body() {
    let server = typing_graph().await;
    let app = typing_app(&server, true).await;
    let (status, v) = typing(&app, json!({"typing_status": "on"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["typing_indicator"], "queued");
    app.run_send_jobs().await;
    assert_eq!(
        typing_calls(&server).await,
        vec![
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": WAMID,
                     "typing_indicator": {"type": "text"}})
        ]
    );
    // Within 20 seconds: nothing more, on either route.
    let (_, v) = typing(&app, json!({"typing_status": "on", "is_private": false})).await;
    assert_eq!(v["typing_indicator"], "throttled");
    let (status, v) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/conversations/1/typing_status",
                app.account_id
            ),
            Some(json!({"typing_status": "on"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(
        (status, v["typing_indicator"].as_str()),
        (200, Some("throttled"))
    );
    app.run_send_jobs().await;
    assert_eq!(typing_calls(&server).await.len(), 1);
    // 20 seconds later (moved back in the database): one more.
    diesel::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE typing_indicator_sends SET sent_at = sent_at - interval '21 seconds'",
        ),
        &mut app.conn(),
    )
    .unwrap();
    let (_, v) = typing(&app, json!({"typing_status": "on"})).await;
    assert_eq!(v["typing_indicator"], "queued");
    app.run_send_jobs().await;
    assert_eq!(typing_calls(&server).await.len(), 2);
}

#[actix_rt::test]
async fn no_indicator_for_a_note_for_off_or_outside_the_window() {
    let server = typing_graph().await;
    let app = typing_app(&server, true).await;
    let (status, v) = typing(&app, json!({"typing_status": "on", "is_private": true})).await;
    assert_eq!(status, 200);
    assert_eq!(
        (v["typing_indicator"].as_str(), v["reason"].as_str()),
        (Some("not_sent"), Some("private_note"))
    );
    let (_, v) = typing(&app, json!({"typing_status": "off"})).await;
    assert_eq!(v["reason"], "off");
    app.run_send_jobs().await;
    assert_eq!(typing_jobs(&app), 0);
    assert!(typing_calls(&server).await.is_empty());

    let closed_server = typing_graph().await;
    let closed = typing_app(&closed_server, false).await;
    let (status, v) = typing(&closed, json!({"typing_status": "on"})).await;
    assert_eq!(status, 200);
    assert_eq!(v["typing_indicator"], "window_closed");
    closed.run_send_jobs().await;
    assert_eq!(typing_jobs(&closed), 0);
    assert!(typing_calls(&closed_server).await.is_empty());
}

#[actix_rt::test]
async fn the_throttle_holds_across_two_app_instances_and_concurrent_callers() {
    let server = typing_graph().await;
    let app = typing_app(&server, true).await;
    // A second server process: its own pool and state on the same database.
    let mut other_config = app.state.config.as_ref().clone();
    other_config.database_pool_size = 6;
    let other = AppState::new(other_config);
    let conversation = {
        let mut conn = app.conn();
        switchboard::domain::conversations::find_by_id(
            &mut conn,
            app.query_json("SELECT to_jsonb(id) FROM conversations")
                .as_i64()
                .unwrap(),
        )
        .unwrap()
    };
    let now = chrono::Utc::now();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let state = if i % 2 == 0 {
            app.state.clone()
        } else {
            other.clone()
        };
        let c = conversation.clone();
        tasks.push(tokio::spawn(async move {
            state
                .db(move |conn| switchboard::domain::typing::start(conn, &c, now))
                .await
                .unwrap()
        }));
    }
    let mut queued = 0;
    for t in tasks {
        if matches!(
            t.await.unwrap(),
            switchboard::domain::typing::Outcome::Queued(_)
        ) {
            queued += 1;
        }
    }
    assert_eq!(queued, 1, "exactly one caller wins");
    assert_eq!(typing_jobs(&app), 1);
    app.run_send_jobs().await;
    assert_eq!(typing_calls(&server).await.len(), 1);
}

#[actix_rt::test]
async fn typing_status_bad_input_answers_4xx_naming_the_field() {
    let server = typing_graph().await;
    let app = typing_app(&server, true).await;
    for (body, field) in [
        (json!({}), "typing_status"),
        (json!({"typing_status": "maybe"}), "typing_status"),
        (json!({"typing_status": true}), "typing_status"),
        (
            json!({"typing_status": "on", "is_private": "yes"}),
            "is_private",
        ),
    ] {
        let (status, v) = typing(&app, body.clone()).await;
        assert_eq!(status, 422, "{body}: {v}");
        assert_eq!(v["field"], field, "{body}: {v}");
    }
    let url = format!(
        "/api/v1/accounts/{}/conversations/1/toggle_typing_status",
        app.account_id
    );
    let (status, _) = call(
        &app,
        test::TestRequest::post()
            .uri(&url)
            .insert_header(("content-type", "application/json"))
            .set_payload("{\"typing_status\":"),
        &app.token,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/conversations/999/toggle_typing_status",
                app.account_id
            ),
            Some(json!({"typing_status": "on"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 404);
    // Another account's administrator cannot reach our conversation 1 through theirs.
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
            "POST",
            &format!(
                "/api/v1/accounts/{}/conversations/1/toggle_typing_status",
                other.account_id
            ),
            Some(json!({"typing_status": "on"})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api(
            "POST",
            &url,
            Some(json!({"typing_status": "on"})),
            &other.api_access_token,
        )
        .await;
    assert!(status == 401 || status == 403 || status == 404, "{status}");
    assert_eq!(typing_jobs(&app), 0);
}
