//! Outbound to Meta: replies, media, reactions, read receipts and templates through
//! `POST …/conversations/{id}/messages`, the send job's retries and failures, the 24-hour
//! window, template sync, and inbox setup against Graph. Wiremock plays Graph and the tests
//! assert the exact JSON it receives.

use crate::common::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MESSAGES_PATH: &str = "/v25.0/106540352242922/messages";
const MEDIA_PATH: &str = "/v25.0/106540352242922/media";
const TEMPLATES_PATH: &str = "/v25.0/102290129340398/message_templates";
const SUBSCRIBE_PATH: &str = "/v25.0/102290129340398/subscribed_apps";
const WAMID: &str = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJPVVRHT0lOR18wMDAwMDEA";
const INCOMING_WAMID: &str = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTAwMDAwMDAwMDAwMDAwMDAwMQA=";

fn graph_fixture(name: &str) -> Value {
    let shared = shared_fixture(&format!("graph/{name}"));
    let raw = std::fs::read(&shared)
        .or_else(|_| {
            std::fs::read(format!(
                "{}/tests/fixtures/graph/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
        })
        .unwrap_or_else(|e| panic!("graph fixture {name}: {e}"));
    serde_json::from_slice(&raw).unwrap()
}

/// A Graph stand-in that accepts inbox setup and answers sends with `send_ok_phone`.
async fn graph() -> MockServer {
    let server = MockServer::start().await;
    mount_graph_defaults(&server).await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(graph_fixture("send_ok_phone.json")))
        .with_priority(9)
        .mount(&server)
        .await;
    server
}

/// Mounts the two template pages (page 2 is asked for with the `after` cursor of page 1).
async fn mount_template_pages(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(TEMPLATES_PATH))
        .and(query_param("after", "QVFIUmFmdGVy"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(graph_fixture("message_templates_page2.json")),
        )
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(TEMPLATES_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(graph_fixture("message_templates_page1.json")),
        )
        .with_priority(2)
        .mount(server)
        .await;
}

/// Makes Graph answer sends with `status` and `body`, `times` times (or always), ahead of
/// the stand-in's success.
async fn answer_sends_with(server: &MockServer, status: u16, body: Value, times: Option<u64>) {
    let mut mock = Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .with_priority(1);
    if let Some(n) = times {
        mock = mock.up_to_n_times(n);
    }
    mock.mount(server).await;
}

fn app_for(server: &MockServer) -> TestApp {
    TestApp::start_with(Options {
        graph_base_url: Some(server.uri()),
        ..Default::default()
    })
}

/// Creates the inbox and a conversation whose customer wrote just now (window open);
/// returns the conversation's display id.
async fn open_conversation(app: &TestApp) -> i64 {
    app.create_inbox(json!({})).await;
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    first_display_id(app).await
}

async fn first_display_id(app: &TestApp) -> i64 {
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

async fn post_message(app: &TestApp, display_id: i64, body: Value) -> (u16, Value) {
    app.api(
        "POST",
        &format!(
            "/api/v1/accounts/{}/conversations/{display_id}/messages",
            app.account_id
        ),
        Some(body),
        &app.token.clone(),
    )
    .await
}

/// JSON bodies Graph received on `path_`, in order.
async fn received(server: &MockServer, path_: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r: &&Request| r.url.path() == path_ && r.method.as_str() == "POST")
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

fn message_row(app: &TestApp, id: i64) -> Value {
    app.query_json(&format!(
        "SELECT to_jsonb(m) FROM messages m WHERE id = {id}"
    ))
}

fn incoming_id(app: &TestApp) -> i64 {
    app.query_json("SELECT to_jsonb(id) FROM messages WHERE message_type = 0 LIMIT 1")
        .as_i64()
        .unwrap()
}

fn envelope(message_id: i64, kind: &str) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+16505551234",
        "type": kind,
        "biz_opaque_callback_data": format!("switchboard:message:{message_id}"),
    })
}

fn with(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

#[actix_rt::test]
async fn text_is_queued_then_sent_with_the_exact_graph_json() {
    let server = graph().await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;

    let (status, msg) = post_message(
        &app,
        display_id,
        json!({"content": "Yes, size M is in stock.", "message_type": "outgoing", "private": false}),
    )
    .await;
    assert_eq!(status, 200, "{msg}");
    assert_eq!(msg["status"], "progress");
    assert_eq!(msg["message_type"], 1);
    assert_eq!(msg["sender"]["type"], "user");
    assert_eq!(msg["conversation_id"], display_id);
    // Nothing was sent inside the request.
    assert!(received(&server, MESSAGES_PATH).await.is_empty());

    app.run_send_jobs().await;
    let id = msg["id"].as_i64().unwrap();
    assert_eq!(
        received(&server, MESSAGES_PATH).await,
        vec![with(
            envelope(id, "text"),
            json!({"text": {"preview_url": false, "body": "Yes, size M is in stock."}})
        )]
    );
    let req = &server.received_requests().await.unwrap();
    let send = req.iter().find(|r| r.url.path() == MESSAGES_PATH).unwrap();
    assert_eq!(
        send.headers.get("authorization").unwrap(),
        "Bearer EAAG-test-access-token-1234"
    );
    let row = message_row(&app, id);
    assert_eq!(row["status"], "sent");
    assert_eq!(row["source_id"], WAMID);
    // The thread shows who wrote it.
    let thread = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations/{display_id}/messages",
            app.account_id
        ))
        .await;
    let shown = thread["payload"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(shown["id"], id);
    assert_eq!(shown["status"], "sent");
    assert_eq!(shown["sender"]["type"], "user");
    assert_eq!(shown["sender"]["name"], "Ana Admin");
}

#[actix_rt::test]
async fn links_preview_and_replies_carry_context() {
    let server = graph().await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let incoming = incoming_id(&app);

    let (_, a) = post_message(
        &app,
        display_id,
        json!({"content": "Track it at https://shop.example.com/track/4521"}),
    )
    .await;
    app.run_send_jobs().await;
    // Each send needs its own wamid: answer the reply with another one.
    server.reset().await;
    mount_graph_defaults(&server).await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"messaging_product":"whatsapp","messages":[{"id":"wamid.REPLY"}]}),
        ))
        .mount(&server)
        .await;
    let (status, b) = post_message(
        &app,
        display_id,
        json!({"content": "Replying to you", "content_attributes": {"in_reply_to": incoming}}),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["content_attributes"]["in_reply_to"], incoming);
    assert_eq!(
        b["content_attributes"]["in_reply_to_external_id"],
        INCOMING_WAMID
    );
    app.run_send_jobs().await;

    assert_eq!(
        message_row(&app, a["id"].as_i64().unwrap())["status"],
        "sent"
    );
    let sent = received(&server, MESSAGES_PATH).await;
    assert_eq!(
        sent,
        vec![with(
            envelope(b["id"].as_i64().unwrap(), "text"),
            json!({"text": {"preview_url": false, "body": "Replying to you"},
                   "context": {"message_id": INCOMING_WAMID}})
        )]
    );
    // The first one (sent before the reset) had preview_url on; check its stored content.
    assert_eq!(
        message_row(&app, a["id"].as_i64().unwrap())["content"],
        "Track it at https://shop.example.com/track/4521"
    );
}

#[actix_rt::test]
async fn link_preview_flag_is_sent() {
    let server = graph().await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let (_, m) = post_message(&app, display_id, json!({"content": "See www.example.com"})).await;
    app.run_send_jobs().await;
    assert_eq!(
        received(&server, MESSAGES_PATH).await,
        vec![with(
            envelope(m["id"].as_i64().unwrap(), "text"),
            json!({"text": {"preview_url": true, "body": "See www.example.com"}})
        )]
    );
}

#[actix_rt::test]
async fn text_limits_private_notes_and_bad_input() {
    let server = graph().await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;

    let (status, err) = post_message(&app, display_id, json!({"content": "x".repeat(4097)})).await;
    assert_eq!(status, 422);
    assert_eq!(err["field"], "content");
    assert!(err["error"].as_str().unwrap().contains("4096"), "{err}");
    let (status, _) = post_message(&app, display_id, json!({"content": "é".repeat(4096)})).await;
    assert_eq!(
        status, 200,
        "4096 characters are allowed, whatever their bytes"
    );

    let (status, err) = post_message(&app, display_id, json!({"content": "  "})).await;
    assert_eq!(status, 422, "{err}");
    let (status, err) = post_message(
        &app,
        display_id,
        json!({"content": "hi", "message_type": "incoming"}),
    )
    .await;
    assert_eq!((status, err["field"].as_str()), (422, Some("message_type")));
    let (status, err) = post_message(
        &app,
        display_id,
        json!({"content": "hi", "content_attributes": {"in_reply_to": 999999}}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(err["field"], "content_attributes.in_reply_to");
    let (status, _) = post_message(&app, 424242, json!({"content": "hi"})).await;
    assert_eq!(status, 404);

    let (status, note) = post_message(
        &app,
        display_id,
        json!({"content": "Customer is a VIP", "private": true}),
    )
    .await;
    assert_eq!(status, 200, "{note}");
    assert_eq!(note["private"], true);
    assert_eq!(note["status"], "sent");
    server.reset().await;
    mount_graph_defaults(&server).await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(graph_fixture("send_ok_phone.json")))
        .mount(&server)
        .await;
    app.run_send_jobs().await;
    let bodies = received(&server, MESSAGES_PATH).await;
    assert_eq!(bodies.len(), 1, "only the 4096-character text goes out");
    assert!(bodies
        .iter()
        .all(|b| b["text"]["body"] != "Customer is a VIP"));
}

/// A multipart body with text fields and one file.
fn multipart(fields: &[(&str, &str)], file: (&str, &str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "switchboard-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    let (file_name, mime, bytes) = file;
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"attachments[]\"; filename=\"{file_name}\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(
    app: &TestApp,
    display_id: i64,
    content_type: String,
    body: Vec<u8>,
) -> (u16, Value) {
    use actix_web::{test, App};
    let svc =
        test::init_service(App::new().configure(switchboard::app::configure(app.state.clone())))
            .await;
    let req = test::TestRequest::post()
        .uri(&format!(
            "/api/v1/accounts/{}/conversations/{display_id}/messages",
            app.account_id
        ))
        .insert_header(("api_access_token", app.token.clone()))
        .insert_header(("content-type", content_type))
        .set_payload(body)
        .to_request();
    let resp = test::call_service(&svc, req).await;
    let status = resp.status().as_u16();
    let bytes = test::read_body(resp).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[actix_rt::test]
async fn every_media_kind_is_uploaded_then_sent_by_id() {
    let server = graph().await;
    Mock::given(method("POST"))
        .and(path(MEDIA_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "4490709327384033"})))
        .mount(&server)
        .await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;

    let cases: [(&str, &str, &str, &str, Value); 5] = [
        (
            "photo.jpg",
            "image/jpeg",
            "Look at this",
            "image",
            json!({"id": "4490709327384033", "caption": "Look at this"}),
        ),
        (
            "clip.mp4",
            "video/mp4",
            "A clip",
            "video",
            json!({"id": "4490709327384033", "caption": "A clip"}),
        ),
        (
            "note.ogg",
            "audio/ogg",
            "",
            "audio",
            json!({"id": "4490709327384033"}),
        ),
        (
            "invoice.pdf",
            "application/pdf",
            "Your invoice",
            "document",
            json!({"id": "4490709327384033", "caption": "Your invoice", "filename": "invoice.pdf"}),
        ),
        (
            "smile.webp",
            "image/webp",
            "",
            "sticker",
            json!({"id": "4490709327384033"}),
        ),
    ];
    for (file_name, mime, caption, kind, object) in cases {
        server.reset().await;
        mount_graph_defaults(&server).await;
        Mock::given(method("POST"))
            .and(path(MEDIA_PATH))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"id": "4490709327384033"})),
            )
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(MESSAGES_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"messaging_product":"whatsapp","messages":[{"id": format!("wamid.{kind}")}]}),
            ))
            .mount(&server)
            .await;
        let mut fields = vec![("message_type", "outgoing"), ("private", "false")];
        if !caption.is_empty() {
            fields.push(("content", caption));
        }
        let (ct, body) = multipart(&fields, (file_name, mime, b"file-bytes-0123456789"));
        let (status, msg) = post_multipart(&app, display_id, ct, body).await;
        assert_eq!(status, 200, "{kind}: {msg}");
        assert_eq!(msg["attachments"][0]["file_name"], file_name);
        assert_eq!(msg["attachments"][0]["mime_type"], mime);
        app.run_send_jobs().await;

        let requests = server.received_requests().await.unwrap();
        let upload = requests
            .iter()
            .find(|r| r.url.path() == MEDIA_PATH)
            .unwrap_or_else(|| panic!("{kind} was not uploaded"));
        let text = String::from_utf8_lossy(&upload.body);
        assert!(
            text.contains("name=\"messaging_product\"\r\n\r\nwhatsapp"),
            "{text}"
        );
        assert!(
            text.contains(&format!("name=\"type\"\r\n\r\n{mime}")),
            "{text}"
        );
        assert!(text.contains("file-bytes-0123456789"));
        assert_eq!(
            received(&server, MESSAGES_PATH).await,
            vec![with(
                envelope(msg["id"].as_i64().unwrap(), kind),
                json!({ kind: object })
            )],
            "{kind}"
        );
        let row = message_row(&app, msg["id"].as_i64().unwrap());
        assert_eq!(row["status"], "sent", "{kind}");
    }

    // Two files in one message, and a caption on audio, are refused with a reason.
    let (ct, body) = multipart(&[("content", "hello")], ("note.ogg", "audio/ogg", b"x"));
    let (status, err) = post_multipart(&app, display_id, ct, body).await;
    assert_eq!(status, 422);
    assert!(err["error"].as_str().unwrap().contains("caption"), "{err}");
}

#[actix_rt::test]
async fn agents_react_to_a_message() {
    let server = graph().await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let incoming = incoming_id(&app);
    let (status, msg) = post_message(
        &app,
        display_id,
        json!({"content": "👍", "content_attributes": {"in_reply_to": incoming, "is_reaction": true}}),
    )
    .await;
    assert_eq!(status, 200, "{msg}");
    app.run_send_jobs().await;
    assert_eq!(
        received(&server, MESSAGES_PATH).await,
        vec![with(
            envelope(msg["id"].as_i64().unwrap(), "reaction"),
            json!({"reaction": {"message_id": INCOMING_WAMID, "emoji": "👍"}})
        )]
    );
    // The reacted-to message shows the agent's reaction.
    let target = message_row(&app, incoming);
    let reactions = target["content_attributes"]["reactions"]
        .as_array()
        .unwrap();
    assert_eq!(reactions.len(), 1);
    assert_eq!(reactions[0]["emoji"], "👍");
    assert_eq!(reactions[0]["sender_type"], "User");
}

#[actix_rt::test]
async fn opening_a_conversation_marks_the_latest_message_read() {
    let server = graph().await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let path_ = format!(
        "/api/v1/accounts/{}/conversations/{display_id}/update_last_seen",
        app.account_id
    );
    let (status, body) = app.api("POST", &path_, None, &app.token.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["read_receipt_for"], INCOMING_WAMID);
    app.run_send_jobs().await;
    assert_eq!(
        received(&server, MESSAGES_PATH).await,
        vec![
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": INCOMING_WAMID})
        ]
    );
    // Nothing new since: no second receipt.
    let (_, body) = app.api("POST", &path_, None, &app.token.clone()).await;
    assert_eq!(body["read_receipt_for"], Value::Null);
    app.run_send_jobs().await;
    assert_eq!(received(&server, MESSAGES_PATH).await.len(), 1);
    let conv = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations/{display_id}",
            app.account_id
        ))
        .await;
    assert_eq!(conv["unread_count"], 0);
}

#[actix_rt::test]
async fn a_contact_known_only_by_bsuid_gets_recipient() {
    let server = MockServer::start().await;
    mount_graph_defaults(&server).await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(graph_fixture("send_ok_bsuid.json")))
        .mount(&server)
        .await;
    let app = app_for(&server);
    app.create_inbox(json!({})).await;
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture(
        "text_username_no_phone.json",
    )))
    .await;
    let display_id = first_display_id(&app).await;
    let (status, msg) = post_message(&app, display_id, json!({"content": "Hi Pablo"})).await;
    assert_eq!(status, 200, "{msg}");
    app.run_send_jobs().await;
    assert_eq!(
        received(&server, MESSAGES_PATH).await,
        vec![json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "recipient": "US.40011122233344455566",
            "type": "text",
            "text": {"preview_url": false, "body": "Hi Pablo"},
            "biz_opaque_callback_data": format!("switchboard:message:{}", msg["id"]),
        })]
    );
    assert_eq!(
        message_row(&app, msg["id"].as_i64().unwrap())["source_id"],
        "wamid.HBgLVVNFUk5BTUVfT05MWRUCABEYEk9VVEdPSU5HXzAwMDAwNAA="
    );
}

#[actix_rt::test]
async fn a_500_then_200_is_sent_once() {
    let server = graph().await;
    answer_sends_with(&server, 500, json!({"error": {"message": "An unknown error occurred", "code": 1, "type": "OAuthException"}}), Some(1)).await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let (_, msg) = post_message(&app, display_id, json!({"content": "Retry me"})).await;
    app.run_send_jobs().await;
    let bodies = received(&server, MESSAGES_PATH).await;
    assert_eq!(bodies.len(), 2, "one failed attempt, one success");
    assert_eq!(bodies[0], bodies[1]);
    let row = message_row(&app, msg["id"].as_i64().unwrap());
    assert_eq!(row["status"], "sent");
    assert_eq!(row["source_id"], WAMID);
    assert_eq!(row["external_error"], Value::Null);
    // Running the queue again sends nothing more.
    app.run_send_jobs().await;
    assert_eq!(received(&server, MESSAGES_PATH).await.len(), 2);
}

#[actix_rt::test]
async fn a_rate_limit_then_200_is_sent() {
    let server = graph().await;
    answer_sends_with(
        &server,
        400,
        graph_fixture("error_130429_rate_limit.json"),
        Some(1),
    )
    .await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let (_, msg) = post_message(&app, display_id, json!({"content": "Busy hour"})).await;
    app.run_send_jobs().await;
    assert_eq!(received(&server, MESSAGES_PATH).await.len(), 2);
    assert_eq!(
        message_row(&app, msg["id"].as_i64().unwrap())["status"],
        "sent"
    );
}

#[actix_rt::test]
async fn a_permanent_error_fails_at_once_and_keeps_metas_error() {
    let server = graph().await;
    answer_sends_with(
        &server,
        400,
        graph_fixture("error_131047_window_closed.json"),
        None,
    )
    .await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let (_, msg) = post_message(&app, display_id, json!({"content": "Too late?"})).await;
    app.run_send_jobs().await;
    assert_eq!(received(&server, MESSAGES_PATH).await.len(), 1, "no retry");
    let row = message_row(&app, msg["id"].as_i64().unwrap());
    assert_eq!(row["status"], "failed");
    assert_eq!(row["external_error"], "(#131047) Re-engagement message");
    assert_eq!(
        row["content_attributes"]["external_error_details"],
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
    );
    let thread = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations/{display_id}/messages",
            app.account_id
        ))
        .await;
    let shown = thread["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == msg["id"])
        .unwrap()
        .clone();
    assert_eq!(shown["status"], "failed");
    assert_eq!(shown["external_error"], "(#131047) Re-engagement message");
}

#[actix_rt::test]
async fn an_expired_token_fails_the_send_and_flags_the_inbox() {
    let server = graph().await;
    answer_sends_with(
        &server,
        401,
        graph_fixture("error_190_token_expired.json"),
        None,
    )
    .await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let (_, msg) = post_message(&app, display_id, json!({"content": "Hello"})).await;
    app.run_send_jobs().await;
    let row = message_row(&app, msg["id"].as_i64().unwrap());
    assert_eq!(row["status"], "failed");
    assert!(row["external_error"]
        .as_str()
        .unwrap()
        .starts_with("(#190) Error validating access token"));
    let inboxes = app
        .get(&format!("/api/v1/accounts/{}/inboxes", app.account_id))
        .await;
    assert_eq!(inboxes["payload"][0]["reauthorization_required"], true);
    assert!(inboxes["payload"][0]["reauthorization_error"]
        .as_str()
        .unwrap()
        .contains("Session has expired"));
}

#[actix_rt::test]
async fn the_window_refuses_free_form_after_24_hours_but_allows_templates() {
    let server = graph().await;
    mount_template_pages(&server).await;
    let app = app_for(&server);
    app.create_inbox(json!({})).await;
    // The fixture's timestamp is long past: the window is closed.
    app.deliver("text.json").await;
    let display_id = first_display_id(&app).await;
    let conv = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations/{display_id}",
            app.account_id
        ))
        .await;
    assert_eq!(conv["can_reply"], false);
    assert_eq!(
        conv["customer_service_window_closes_at"],
        1763712000 + 86400
    );

    let (status, err) = post_message(&app, display_id, json!({"content": "Hello again"})).await;
    assert_eq!(status, 422);
    let text = err["error"].as_str().unwrap();
    assert!(
        text.contains("24-hour") && text.contains("template"),
        "{text}"
    );

    let (status, msg) = post_message(
        &app,
        display_id,
        json!({
            "content": "ignored: the server renders the template",
            "template_params": {
                "name": "order_update_v1", "category": "UTILITY", "language": "en_US",
                "processed_params": {"header": {"1": "#4521"}, "body": {"1": "Sheena", "2": "on its way"},
                                     "buttons": [{"type": "url", "parameter": "4521"}]}
            }
        }),
    )
    .await;
    assert_eq!(status, 200, "{msg}");
    assert_eq!(
        msg["content"],
        "Hi Sheena, your order is on its way. Reply here if you need anything."
    );
    app.run_send_jobs().await;
    assert_eq!(
        received(&server, MESSAGES_PATH).await,
        vec![with(
            envelope(msg["id"].as_i64().unwrap(), "template"),
            json!({"template": {
                "name": "order_update_v1",
                "language": {"code": "en_US"},
                "components": [
                    {"type": "header", "parameters": [{"type": "text", "text": "#4521"}]},
                    {"type": "body", "parameters": [{"type": "text", "text": "Sheena"}, {"type": "text", "text": "on its way"}]},
                    {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "4521"}]}
                ]
            }})
        )]
    );
    assert_eq!(
        message_row(&app, msg["id"].as_i64().unwrap())["status"],
        "sent"
    );
}

#[actix_rt::test]
async fn named_template_with_image_header_and_url_button() {
    let server = graph().await;
    Mock::given(method("GET"))
        .and(path(TEMPLATES_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(graph_fixture("message_templates_named_url.json")),
        )
        .mount(&server)
        .await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let (status, msg) = post_message(
        &app,
        display_id,
        json!({
            "content": "",
            "template_params": {
                "name": "appointment_reminder", "category": "UTILITY", "language": "en_US",
                "processed_params": {
                    "header": {"media_url": "https://cdn.example.com/clinic.jpg", "media_type": "image"},
                    "body": {"first_name": "Pablo", "time": "3 pm"},
                    "buttons": [{"type": "url", "parameter": "A123"}]
                }
            }
        }),
    )
    .await;
    assert_eq!(status, 200, "{msg}");
    assert_eq!(msg["content"], "Hi Pablo, see you at 3 pm tomorrow.");
    app.run_send_jobs().await;
    assert_eq!(
        received(&server, MESSAGES_PATH).await,
        vec![with(
            envelope(msg["id"].as_i64().unwrap(), "template"),
            json!({"template": {
                "name": "appointment_reminder",
                "language": {"code": "en_US"},
                "components": [
                    {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://cdn.example.com/clinic.jpg"}}]},
                    {"type": "body", "parameters": [
                        {"type": "text", "parameter_name": "first_name", "text": "Pablo"},
                        {"type": "text", "parameter_name": "time", "text": "3 pm"}
                    ]},
                    {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "A123"}]}
                ]
            }})
        )]
    );
}

#[actix_rt::test]
async fn template_sync_follows_pages_and_only_approved_complete_templates_send() {
    let server = graph().await;
    mount_template_pages(&server).await;
    let app = app_for(&server);
    let inbox = app.create_inbox(json!({})).await;
    // Created inboxes sync at once, across both pages.
    let names: Vec<(String, String, String)> = inbox["message_templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().into(),
                t["language"].as_str().unwrap().into(),
                t["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names.contains(&("winter_sale".into(), "en".into(), "PENDING".into())));
    assert!(inbox["message_templates_last_updated"].as_i64().is_some());
    let reservation = inbox["message_templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "reservation_confirmation")
        .unwrap();
    assert_eq!(reservation["parameter_format"], "NAMED");
    assert_eq!(reservation["category"], "UTILITY");
    assert_eq!(reservation["components"][0]["format"], "IMAGE");

    // On request, too.
    let inbox_id = inbox["id"].as_i64().unwrap();
    let (status, synced) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/inboxes/{inbox_id}/sync_templates",
                app.account_id
            ),
            None,
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200, "{synced}");
    assert_eq!(synced["message_templates"].as_array().unwrap().len(), 4);

    app.deliver_bytes(&with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    let display_id = first_display_id(&app).await;
    let (status, err) = post_message(
        &app,
        display_id,
        json!({"template_params": {"name": "winter_sale", "language": "en", "category": "MARKETING",
                                   "processed_params": {"body": {"1": "tomorrow"}}}}),
    )
    .await;
    assert_eq!(status, 422);
    assert!(err["error"].as_str().unwrap().contains("PENDING"), "{err}");

    let (status, err) = post_message(
        &app,
        display_id,
        json!({"template_params": {"name": "order_update_v1", "language": "es", "category": "UTILITY",
                                   "processed_params": {"body": {"1": "Sheena"}}}}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(err["field"], "template_params.processed_params.body.2");
    assert!(err["error"].as_str().unwrap().contains("{{2}}"), "{err}");

    let (status, err) = post_message(
        &app,
        display_id,
        json!({"template_params": {"name": "no_such_template", "language": "en_US", "category": "UTILITY",
                                   "processed_params": {}}}),
    )
    .await;
    assert_eq!(status, 422, "{err}");

    // A status webhook updates the stored template.
    let body = webhook_fixture("message_template_status_update.json");
    let paused = String::from_utf8(body)
        .unwrap()
        .replace("\"APPROVED\"", "\"PAUSED\"");
    app.deliver_bytes(paused.as_bytes()).await;
    let (status, err) = post_message(
        &app,
        display_id,
        json!({"template_params": {"name": "order_update_v1", "language": "en_US", "category": "UTILITY",
                                   "processed_params": {"header": {"1": "#1"}, "body": {"1": "A", "2": "B"},
                                                        "buttons": [{"type": "url", "parameter": "1"}]}}}),
    )
    .await;
    assert_eq!(status, 422);
    assert!(err["error"].as_str().unwrap().contains("PAUSED"), "{err}");
    assert!(received(&server, MESSAGES_PATH).await.is_empty());
}

#[actix_rt::test]
async fn round_trip_send_then_status_webhooks_end_read() {
    let server = graph().await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let (_, msg) = post_message(&app, display_id, json!({"content": "Your order shipped"})).await;
    app.run_send_jobs().await;
    let id = msg["id"].as_i64().unwrap();
    assert_eq!(message_row(&app, id)["source_id"], WAMID);
    for fixture in [
        "status_sent.json",
        "status_delivered.json",
        "status_read.json",
    ] {
        app.deliver(fixture).await;
    }
    let row = message_row(&app, id);
    assert_eq!(row["status"], "read");
    assert_eq!(row["content_attributes"]["read_at"], 1763712009);
}

#[actix_rt::test]
async fn statuses_that_arrive_before_the_send_answer_are_applied() {
    let server = graph().await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let (_, msg) = post_message(&app, display_id, json!({"content": "Fast network"})).await;
    // Meta's delivered status beats the send answer to us.
    app.deliver("status_delivered.json").await;
    app.run_send_jobs().await;
    let row = message_row(&app, msg["id"].as_i64().unwrap());
    assert_eq!(row["source_id"], WAMID);
    assert_eq!(row["status"], "delivered");
}

/// Simulates a crash after Graph accepted the message but before the answer was stored:
/// the job is claimed and marked started, then abandoned.
fn crash_mid_send(app: &TestApp) -> i64 {
    let mut conn = app.conn();
    let jobs = switchboard::jobs::claim_batch(&mut conn, switchboard::jobs::WHATSAPP_SEND, 1, 600)
        .unwrap();
    assert_eq!(jobs.len(), 1);
    switchboard::jobs::mark_started(&mut conn, jobs[0].id).unwrap();
    jobs[0].id
}

fn expire_lease(app: &TestApp, job_id: i64, started_seconds_ago: i64) {
    use diesel::RunQueryDsl;
    diesel::sql_query(format!(
        "UPDATE jobs SET run_at = now(), started_at = now() - interval '{started_seconds_ago} seconds' WHERE id = {job_id}"
    ))
    .execute(&mut app.conn())
    .unwrap();
}

#[actix_rt::test]
async fn a_crash_after_graph_answered_does_not_send_twice() {
    let server = graph().await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let (_, msg) = post_message(&app, display_id, json!({"content": "Exactly once"})).await;
    let id = msg["id"].as_i64().unwrap();
    let job_id = crash_mid_send(&app);

    // The lease ran out at once: the retry waits for Meta's status webhook.
    expire_lease(&app, job_id, 0);
    app.run_send_jobs().await;
    assert!(received(&server, MESSAGES_PATH).await.is_empty(), "waited");

    // The sent status carries our callback data and identifies the message.
    let status = String::from_utf8(webhook_fixture("status_sent.json"))
        .unwrap()
        .replace(
            "\"status\": \"sent\",",
            &format!(
                "\"status\": \"sent\", \"biz_opaque_callback_data\": \"switchboard:message:{id}\","
            ),
        );
    app.deliver_bytes(status.as_bytes()).await;
    let row = message_row(&app, id);
    assert_eq!(row["source_id"], WAMID);
    assert_eq!(row["status"], "sent");

    expire_lease(&app, job_id, 60);
    app.run_send_jobs().await;
    assert!(
        received(&server, MESSAGES_PATH).await.is_empty(),
        "never sent a second time"
    );
    let job = app.query_json(&format!(
        "SELECT to_jsonb(status) FROM jobs WHERE id = {job_id}"
    ));
    assert_eq!(job, "done");
}

#[actix_rt::test]
async fn a_crash_before_graph_answered_sends_after_the_reconcile_wait() {
    let server = graph().await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let (_, msg) = post_message(&app, display_id, json!({"content": "Not lost"})).await;
    let job_id = crash_mid_send(&app);
    // No status webhook came within SEND_RECONCILE_SECONDS (2 s in tests): send again.
    expire_lease(&app, job_id, 5);
    app.run_send_jobs().await;
    assert_eq!(received(&server, MESSAGES_PATH).await.len(), 1);
    assert_eq!(
        message_row(&app, msg["id"].as_i64().unwrap())["status"],
        "sent"
    );
}

#[actix_rt::test]
async fn one_conversations_messages_go_out_in_order() {
    let server = graph().await;
    let counter = std::sync::atomic::AtomicUsize::new(0);
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(move |_: &Request| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(
                json!({"messaging_product": "whatsapp", "messages": [{"id": format!("wamid.ORDER{n}")}]}),
            )
        })
        .with_priority(1)
        .mount(&server)
        .await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    for i in 0..5 {
        post_message(&app, display_id, json!({"content": format!("part {i}")})).await;
    }
    // Each claim takes at most one job of the conversation.
    let mut conn = app.conn();
    let batch = switchboard::jobs::claim_batch(&mut conn, switchboard::jobs::WHATSAPP_SEND, 16, 60)
        .unwrap();
    assert_eq!(batch.len(), 1);
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE jobs SET run_at = now()"),
        &mut conn,
    )
    .unwrap();
    drop(conn);
    app.run_send_jobs().await;
    let bodies: Vec<String> = received(&server, MESSAGES_PATH)
        .await
        .iter()
        .map(|b| b["text"]["body"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(bodies, ["part 0", "part 1", "part 2", "part 3", "part 4"]);
}

#[actix_rt::test]
async fn inbox_creation_checks_credentials_and_sets_up_the_webhook() {
    // Bad credentials: 422 with Meta's message, and no inbox.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(TEMPLATES_PATH))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(graph_fixture("error_190_token_expired.json")),
        )
        .mount(&server)
        .await;
    let app = app_for(&server);
    let body = json!({"name": "Support", "channel": {"type": "whatsapp", "phone_number": PHONE, "provider": "whatsapp_cloud",
        "provider_config": {"api_key": "EAAG-bad", "phone_number_id": PHONE_NUMBER_ID, "business_account_id": WABA_ID}}});
    let (status, err) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/inboxes", app.account_id),
            Some(body.clone()),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    let text = err["error"].as_str().unwrap();
    assert!(text.starts_with("Invalid credentials"), "{text}");
    assert!(text.contains("Session has expired"), "{text}");
    assert_eq!(app.count("inboxes"), 0);
    assert!(received(&server, SUBSCRIBE_PATH).await.is_empty());

    // Good credentials: subscribe, then override the callback with our URL and token.
    server.reset().await;
    mount_graph_defaults(&server).await;
    let inbox = app.create_inbox(json!({})).await;
    let verify_token = inbox["provider_config"]["webhook_verify_token"]
        .as_str()
        .unwrap();
    let calls = server.received_requests().await.unwrap();
    let subscribes: Vec<&Request> = calls
        .iter()
        .filter(|r| r.url.path() == SUBSCRIBE_PATH)
        .collect();
    assert_eq!(subscribes.len(), 2);
    assert!(subscribes[0].body.is_empty(), "the first call has no body");
    assert_eq!(
        serde_json::from_slice::<Value>(&subscribes[1].body).unwrap(),
        json!({
            "override_callback_uri": "https://support.example.com/webhooks/whatsapp/+15551234567",
            "verify_token": verify_token,
        })
    );
    assert_eq!(
        subscribes[1].headers.get("authorization").unwrap(),
        "Bearer EAAG-test-access-token-1234"
    );
    assert_eq!(inbox["webhook_setup_warning"], Value::Null);
    assert!(inbox["webhook_setup_at"].as_i64().is_some());
}

#[actix_rt::test]
async fn a_webhook_setup_error_is_a_warning_not_a_failure() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SUBSCRIBE_PATH))
        .and(wiremock::matchers::body_string_contains(
            "override_callback_uri",
        ))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100,
            "error_data": {"details": "override_callback_uri is managed by another app"}}})))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_graph_defaults(&server).await;
    let app = app_for(&server);
    let inbox = app.create_inbox(json!({})).await;
    let warning = inbox["webhook_setup_warning"].as_str().unwrap();
    assert!(warning.contains("(#100) Invalid parameter"), "{warning}");
    assert!(warning.contains("Tech Provider"), "{warning}");
    assert_eq!(app.count("inboxes"), 1);

    // register_webhook re-runs the setup; once Meta accepts, the warning clears.
    server.reset().await;
    mount_graph_defaults(&server).await;
    let (status, again) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/inboxes/{}/register_webhook",
                app.account_id, inbox["id"]
            ),
            None,
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["webhook_setup_warning"], Value::Null);
    assert_eq!(received(&server, SUBSCRIBE_PATH).await.len(), 2);
}

#[actix_rt::test]
async fn new_credentials_are_checked_before_they_are_saved() {
    let server = graph().await;
    let app = app_for(&server);
    let inbox = app.create_inbox(json!({})).await;
    Mock::given(method("GET"))
        .and(path(TEMPLATES_PATH))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer EAAG-revoked",
        ))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(graph_fixture("error_190_token_expired.json")),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    let path_ = format!(
        "/api/v1/accounts/{}/inboxes/{}",
        app.account_id, inbox["id"]
    );
    let (status, err) = app
        .api(
            "PATCH",
            &path_,
            Some(json!({"channel": {"provider_config": {"api_key": "EAAG-revoked"}}})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    assert!(err["error"]
        .as_str()
        .unwrap()
        .starts_with("Invalid credentials"));
    let (status, ok) = app
        .api(
            "PATCH",
            &path_,
            Some(json!({"channel": {"provider_config": {"api_key": "EAAG-new-token-9876"}}})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(ok["provider_config"]["api_key"], "••••9876");
    // A name change alone does not call Graph.
    let before = server.received_requests().await.unwrap().len();
    let (status, _) = app
        .api(
            "PATCH",
            &path_,
            Some(json!({"name": "Sales"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(server.received_requests().await.unwrap().len(), before);
}

#[actix_rt::test]
async fn malformed_and_oversize_message_bodies_get_clear_errors_and_store_nothing() {
    use actix_web::{test, App};
    let server = graph().await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let before = app.count("messages");
    let svc =
        test::init_service(App::new().configure(switchboard::app::configure(app.state.clone())))
            .await;
    let uri = format!(
        "/api/v1/accounts/{}/conversations/{display_id}/messages",
        app.account_id
    );
    for (body, expected) in [
        (b"{\"content\": ".to_vec(), 400),
        (b"[1, 2]".to_vec(), 400),
        (vec![b'x'; 2 * 1024 * 1024], 413),
    ] {
        let req = test::TestRequest::post()
            .uri(&uri)
            .insert_header(("api_access_token", app.token.clone()))
            .insert_header(("content-type", "application/json"))
            .set_payload(body)
            .to_request();
        let resp = test::call_service(&svc, req).await;
        let status = resp.status().as_u16();
        let json: Value = serde_json::from_slice(&test::read_body(resp).await).unwrap();
        assert_eq!(status, expected, "{json}");
        assert!(!json["error"].as_str().unwrap().is_empty());
    }
    let (status, err) = post_message(&app, display_id, json!({})).await;
    assert_eq!((status, err["field"].as_str()), (422, Some("content")));
    assert_eq!(app.count("messages"), before);
}

/// Issue 15: simultaneous replies to one conversation (agents on several nodes, or one agent
/// double-clicking) all land, in order, with no deadlock: each answers 200, and PostgreSQL
/// detected no deadlock in this database.
#[actix_rt::test]
async fn simultaneous_replies_to_one_conversation_all_land_without_deadlock() {
    let server = graph().await;
    let app = app_for(&server);
    let display_id = open_conversation(&app).await;
    let deadlocks = || {
        app.query_json(
            "SELECT to_jsonb(deadlocks) FROM pg_stat_database WHERE datname = current_database()",
        )
        .as_i64()
        .unwrap_or(0)
    };
    let before = deadlocks();
    let replies = (0..16).map(|i| {
        let app = &app;
        async move {
            post_message(
                app,
                display_id,
                json!({"content": format!("Reply {i}"), "message_type": "outgoing"}),
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(replies).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    let stored = app.query_json(
        "SELECT to_jsonb(count(*)) FROM messages WHERE message_type = 1 AND content LIKE 'Reply %'",
    );
    assert_eq!(stored, json!(16));
    // Statistics reach pg_stat_database a moment later.
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(deadlocks() - before, 0, "PostgreSQL detected deadlocks");
}
