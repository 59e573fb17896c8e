//! The template builder's API (issue 12): every Meta limit refused before Graph, the exact
//! Graph create bodies, Meta's refusals in words, the Resumable Upload flow for header
//! samples, edit and delete, and a created template going PENDING → APPROVED with the
//! status webhook.

use crate::common::*;
use actix_web::{test, App};
use serde_json::{json, Value};
use switchboard::app;
use wiremock::matchers::{body_bytes, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const APP_ID: &str = "670843887433847";
const CREATED_ID: &str = "1520118394857203";
/// The id the status webhook fixture carries (it re-keys the template it finds by name).
const WEBHOOK_ID: &str = "1387372356726668";
const TEMPLATES_PATH: &str = "/v25.0/102290129340398/message_templates";

fn graph_fixture(name: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(shared_fixture(&format!("graph/{name}"))).unwrap(),
    )
    .unwrap()
}

async fn start(app_id: Option<&str>) -> (MockServer, TestApp, i64) {
    let server = MockServer::start().await;
    let app = TestApp::start_with(Options {
        graph_base_url: Some(server.uri()),
        app_id: app_id.map(str::to_string),
        ..Default::default()
    });
    let (inbox, _) = app.create_inbox_direct();
    (server, app, inbox.id)
}

fn templates_url(app: &TestApp, inbox_id: i64) -> String {
    format!(
        "/api/v1/accounts/{}/inboxes/{inbox_id}/message_templates",
        app.account_id
    )
}

async fn post_draft(app: &TestApp, inbox_id: i64, draft: Value) -> (u16, Value) {
    app.api(
        "POST",
        &templates_url(app, inbox_id),
        Some(draft),
        &app.token.clone(),
    )
    .await
}

/// A valid positional UTILITY draft to break one rule at a time.
fn base() -> Value {
    json!({
        "name": "order_update_v2",
        "language": "en_US",
        "category": "UTILITY",
        "parameter_format": "positional",
        "components": {
            "header": {"format": "TEXT", "text": "Order {{1}}", "examples": {"1": "#4521"}},
            "body": {"text": "Hi {{1}}, your order is {{2}}. Reply here if you need anything.",
                     "examples": {"1": "Sheena", "2": "on its way"}},
            "footer": {"text": "Main Street Store"},
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Talk to an agent"},
                {"type": "URL", "text": "Track order", "url": "https://shop.example.com/track/{{1}}",
                 "example": "https://shop.example.com/track/4521"}
            ]
        }
    })
}

fn with(mut draft: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match draft
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("{pointer}"))
    {
        Value::Array(a) => a[key.parse::<usize>().unwrap()] = value,
        Value::Object(o) => {
            o.insert(key.to_string(), value);
        }
        other => panic!("{pointer} in {other}"),
    }
    draft
}

fn qr(text: &str) -> Value {
    json!({"type": "QUICK_REPLY", "text": text})
}

fn auth_draft() -> Value {
    json!({"name": "login_code", "language": "en", "category": "AUTHENTICATION",
           "components": {"body": {"add_security_recommendation": true},
                          "footer": {"code_expiration_minutes": 10},
                          "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]}})
}

#[actix_rt::test]
async fn every_limit_is_refused_before_graph_naming_the_field() {
    let (server, app, inbox_id) = start(Some(APP_ID)).await;
    let url_button = |url: &str| json!([{"type": "URL", "text": "Open", "url": url, "example": "https://x.example/1"}]);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "uppercase name",
            with(base(), "/name", json!("Order_Update")),
            "name",
        ),
        (
            "name over 512",
            with(base(), "/name", json!("a".repeat(513))),
            "name",
        ),
        ("no name", with(base(), "/name", json!("")), "name"),
        ("name not text", with(base(), "/name", json!(5)), "name"),
        (
            "language",
            with(base(), "/language", json!("english")),
            "language",
        ),
        (
            "category",
            with(base(), "/category", json!("PROMOTION")),
            "category",
        ),
        (
            "parameter format",
            with(base(), "/parameter_format", json!("numbered")),
            "parameter_format",
        ),
        (
            "ttl",
            with(base(), "/message_send_ttl_seconds", json!(86_400)),
            "message_send_ttl_seconds",
        ),
        (
            "components not an object",
            with(base(), "/components", json!("x")),
            "components",
        ),
        (
            "no body",
            with(base(), "/components/body", json!(null)),
            "components.body.text",
        ),
        (
            "body over 1024",
            with(
                base(),
                "/components/body",
                json!({"text": "a".repeat(1025)}),
            ),
            "components.body.text",
        ),
        (
            "body starts with a parameter",
            with(
                base(),
                "/components/body/text",
                json!("{{1}} is your order {{2}} now"),
            ),
            "components.body.text",
        ),
        (
            "body ends with a parameter",
            with(
                base(),
                "/components/body/text",
                json!("Hi {{1}}, your order is {{2}}"),
            ),
            "components.body.text",
        ),
        (
            "adjacent parameters",
            with(
                base(),
                "/components/body/text",
                json!("Hi {{1}}{{2}} there"),
            ),
            "components.body.text",
        ),
        (
            "gap in positions",
            with(
                base(),
                "/components/body",
                json!({"text": "Hi {{1}} and {{3}} there", "examples": ["a", "b"]}),
            ),
            "components.body.text",
        ),
        (
            "missing example",
            with(base(), "/components/body/examples", json!({"1": "Sheena"})),
            "components.body.examples.2",
        ),
        (
            "example of no parameter",
            with(base(), "/components/body/examples/7", json!("x")),
            "components.body.examples.7",
        ),
        (
            "named parameter in a positional template",
            with(
                base(),
                "/components/body",
                json!({"text": "Hi {{name}} there", "examples": {"name": "a"}}),
            ),
            "components.body.text",
        ),
        (
            "positional parameter in a named template",
            with(base(), "/parameter_format", json!("named")),
            "components.header.text",
        ),
        (
            "header over 60",
            with(
                base(),
                "/components/header",
                json!({"format": "TEXT", "text": "a".repeat(61)}),
            ),
            "components.header.text",
        ),
        (
            "header with two parameters",
            with(
                base(),
                "/components/header",
                json!({"format": "TEXT", "text": "Order {{1}} of {{2}}", "examples": ["a", "b"]}),
            ),
            "components.header.text",
        ),
        (
            "header without its example",
            with(base(), "/components/header/examples", json!({})),
            "components.header.examples.1",
        ),
        (
            "header formatting",
            with(
                base(),
                "/components/header",
                json!({"format": "TEXT", "text": "*Big* news"}),
            ),
            "components.header.text",
        ),
        (
            "image header without a sample",
            with(base(), "/components/header", json!({"format": "IMAGE"})),
            "components.header.handle",
        ),
        (
            "image header with a URL",
            with(
                base(),
                "/components/header",
                json!({"format": "IMAGE", "handle": "https://x.example/a.jpg"}),
            ),
            "components.header.handle",
        ),
        (
            "header type",
            with(base(), "/components/header", json!({"format": "GIFT"})),
            "components.header.format",
        ),
        (
            "footer over 60",
            with(base(), "/components/footer/text", json!("a".repeat(61))),
            "components.footer.text",
        ),
        (
            "footer parameter",
            with(base(), "/components/footer/text", json!("Store {{1}}")),
            "components.footer.text",
        ),
        (
            "eleven buttons",
            with(
                base(),
                "/components/buttons",
                json!((0..11)
                    .map(|i| qr(&format!("Option {i}")))
                    .collect::<Vec<_>>()),
            ),
            "components.buttons",
        ),
        (
            "eleven quick replies",
            with(
                base(),
                "/components/buttons",
                json!((0..11)
                    .map(|i| qr(&format!("Option {i}")))
                    .collect::<Vec<_>>()),
            ),
            "components.buttons[10].type",
        ),
        (
            "buttons not a list",
            with(base(), "/components/buttons", json!({"type": "URL"})),
            "components.buttons",
        ),
        (
            "button label over 25",
            with(base(), "/components/buttons", json!([qr(&"a".repeat(26))])),
            "components.buttons[0].text",
        ),
        (
            "button without label",
            with(
                base(),
                "/components/buttons",
                json!([{"type": "QUICK_REPLY"}]),
            ),
            "components.buttons[0].text",
        ),
        (
            "unknown button type",
            with(
                base(),
                "/components/buttons",
                json!([{"type": "VOICE_CALL", "text": "Call"}]),
            ),
            "components.buttons[0].type",
        ),
        (
            "three URL buttons",
            with(
                base(),
                "/components/buttons",
                json!([
            {"type": "URL", "text": "A", "url": "https://a.example"},
            {"type": "URL", "text": "B", "url": "https://b.example"},
            {"type": "URL", "text": "C", "url": "https://c.example"}]),
            ),
            "components.buttons[2].type",
        ),
        (
            "URL over 2000",
            with(
                base(),
                "/components/buttons",
                url_button(&format!("https://x.example/{}", "a".repeat(2000))),
            ),
            "components.buttons[0].url",
        ),
        (
            "URL parameter not at the end",
            with(
                base(),
                "/components/buttons",
                url_button("https://x.example/{{1}}/track"),
            ),
            "components.buttons[0].url",
        ),
        (
            "URL with {{2}}",
            with(
                base(),
                "/components/buttons",
                url_button("https://x.example/{{2}}"),
            ),
            "components.buttons[0].url",
        ),
        (
            "URL not http",
            with(
                base(),
                "/components/buttons",
                url_button("ftp://x.example/a"),
            ),
            "components.buttons[0].url",
        ),
        (
            "URL to wa.me",
            with(
                base(),
                "/components/buttons",
                url_button("https://wa.me/15551234567"),
            ),
            "components.buttons[0].url",
        ),
        (
            "URL variable without example",
            with(
                base(),
                "/components/buttons",
                json!([{"type": "URL", "text": "Track", "url": "https://x.example/{{1}}"}]),
            ),
            "components.buttons[0].example",
        ),
        (
            "phone over 20",
            with(
                base(),
                "/components/buttons",
                json!([{"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+1555123456789012345678"}]),
            ),
            "components.buttons[0].phone_number",
        ),
        (
            "phone not a number",
            with(
                base(),
                "/components/buttons",
                json!([{"type": "PHONE_NUMBER", "text": "Call", "phone_number": "call us"}]),
            ),
            "components.buttons[0].phone_number",
        ),
        (
            "two phone buttons",
            with(
                base(),
                "/components/buttons",
                json!([
            {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15551234567"},
            {"type": "PHONE_NUMBER", "text": "Call 2", "phone_number": "+15551234568"}]),
            ),
            "components.buttons[1].type",
        ),
        (
            "copy code over 20",
            with(
                base(),
                "/components/buttons",
                json!([{"type": "COPY_CODE", "example": "A".repeat(21)}]),
            ),
            "components.buttons[0].example",
        ),
        (
            "quick replies split",
            with(
                base(),
                "/components/buttons",
                json!([qr("Yes"), {"type": "URL", "text": "Web", "url": "https://a.example"}, qr("No")]),
            ),
            "components.buttons[1].type",
        ),
        (
            "OTP outside authentication",
            with(
                base(),
                "/components/buttons",
                json!([{"type": "OTP", "otp_type": "COPY_CODE"}]),
            ),
            "components.buttons[0].type",
        ),
        (
            "catalog outside marketing",
            with(
                base(),
                "/components/buttons",
                json!([{"type": "CATALOG", "text": "View catalog"}]),
            ),
            "components.buttons[0].type",
        ),
        (
            "flow without its flow",
            with(
                base(),
                "/components/buttons",
                json!([{"type": "FLOW", "text": "Book"}]),
            ),
            "components.buttons[0].flow_id",
        ),
        (
            "authentication without OTP",
            with(auth_draft(), "/components/buttons", json!([])),
            "components.buttons",
        ),
        (
            "authentication with its own text",
            with(
                auth_draft(),
                "/components/body",
                json!({"text": "Your code is {{1}}"}),
            ),
            "components.body.text",
        ),
        (
            "authentication with a header",
            with(
                auth_draft(),
                "/components/header",
                json!({"format": "TEXT", "text": "Code"}),
            ),
            "components.header",
        ),
        (
            "code expiry over 90",
            with(
                auth_draft(),
                "/components/footer/code_expiration_minutes",
                json!(91),
            ),
            "components.footer.code_expiration_minutes",
        ),
        (
            "one-tap without the app",
            with(
                auth_draft(),
                "/components/buttons/0/otp_type",
                json!("ONE_TAP"),
            ),
            "components.buttons[0].supported_apps",
        ),
        (
            "quick reply in authentication",
            with(
                auth_draft(),
                "/components/buttons",
                json!([{"type": "OTP", "otp_type": "COPY_CODE"}, qr("No")]),
            ),
            "components.buttons[1].type",
        ),
    ];
    for (what, draft, field) in cases {
        let (status, body) = post_draft(&app, inbox_id, draft).await;
        assert_eq!(status, 422, "{what}: {body}");
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: {body}"))
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&field),
            "{what}: expected {field} in {body}"
        );
        assert!(
            body["message"].as_str().is_some_and(|m| m.len() > 10),
            "{what}: {body}"
        );
        assert_eq!(body["field"], body["errors"][0]["field"], "{what}");
    }

    // A NUL byte is refused by the input guard, naming the field.
    let (status, body) = post_draft(
        &app,
        inbox_id,
        with(
            base(),
            "/components/body/text",
            json!("Hi\u{0} there {{1}} and {{2}} ok"),
        ),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("components.body.text")),
        "{body}"
    );

    // Unreadable bodies: 400, never 5xx.
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    for raw in [&b"{\"name\": "[..], b"[1,2]", b"\"text\""] {
        let req = test::TestRequest::post()
            .uri(&templates_url(&app, inbox_id))
            .insert_header(("api_access_token", app.token.clone()))
            .insert_header(("content-type", "application/json"))
            .set_payload(raw.to_vec())
            .to_request();
        let resp = test::call_service(&svc, req).await;
        assert_eq!(
            resp.status().as_u16(),
            400,
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }

    // Agents may not build templates; another account's inbox is not found.
    let (_, agent_token) = app.create_agent("ben@example.com");
    let (status, _) = app
        .api(
            "POST",
            &templates_url(&app, inbox_id),
            Some(base()),
            &agent_token,
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/inboxes/{}/message_templates",
                app.account_id,
                inbox_id + 99
            ),
            Some(base()),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 404);

    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "Graph got a request for a refused draft"
    );
}

async fn mount_create(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(TEMPLATES_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(graph_fixture("template_create_ok.json")),
        )
        .mount(server)
        .await;
}

async fn sent_bodies(server: &MockServer, http_method: &str, p: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r: &&Request| r.method.as_str() == http_method && r.url.path() == p)
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

#[actix_rt::test]
async fn creates_positional_and_named_templates_with_meta_bodies_then_approved_by_webhook() {
    let (server, app, inbox_id) = start(None).await;
    mount_create(&server).await;

    // Positional: the fixture's template, built here.
    let draft = with(base(), "/name", json!("order_update_v1"));
    let (status, created) = post_draft(&app, inbox_id, draft).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["status"], "PENDING");
    assert_eq!(created["external_id"], CREATED_ID);
    assert_eq!(created["category"], "UTILITY");
    let expected_positional = json!({
        "name": "order_update_v1",
        "language": "en_US",
        "category": "UTILITY",
        "parameter_format": "positional",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["#4521"]}},
            {"type": "BODY", "text": "Hi {{1}}, your order is {{2}}. Reply here if you need anything.",
             "example": {"body_text": [["Sheena", "on its way"]]}},
            {"type": "FOOTER", "text": "Main Street Store"},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Talk to an agent"},
                {"type": "URL", "text": "Track order", "url": "https://shop.example.com/track/{{1}}",
                 "example": ["https://shop.example.com/track/4521"]}]}
        ]
    });
    assert_eq!(
        sent_bodies(&server, "POST", TEMPLATES_PATH).await,
        std::slice::from_ref(&expected_positional)
    );
    // What is stored is what was sent, so the composer can send it once approved.
    assert_eq!(created["components"], expected_positional["components"]);

    // Named: §7.2's example, in lowercase category as Meta accepts it.
    let named = json!({
        "name": "csat_survey_v1", "language": "en_US", "category": "utility", "parameter_format": "named",
        "components": {
            "body": {"text": "Hi {{first_name}}, how would you rate your chat about {{topic}}?",
                     "examples": {"first_name": "Sheena", "topic": "order 4521"}},
            "footer": {"text": "Main Street Store"},
            "buttons": [qr("Great"), qr("Okay"), qr("Poor")]
        }
    });
    let (status, body) = post_draft(&app, inbox_id, named).await;
    assert_eq!(status, 200, "{body}");
    let bodies = sent_bodies(&server, "POST", TEMPLATES_PATH).await;
    assert_eq!(
        bodies[1],
        json!({
            "name": "csat_survey_v1", "language": "en_US", "category": "UTILITY", "parameter_format": "named",
            "components": [
                {"type": "BODY", "text": "Hi {{first_name}}, how would you rate your chat about {{topic}}?",
                 "example": {"body_text_named_params": [
                     {"param_name": "first_name", "example": "Sheena"},
                     {"param_name": "topic", "example": "order 4521"}]}},
                {"type": "FOOTER", "text": "Main Street Store"},
                {"type": "BUTTONS", "buttons": [
                    {"type": "QUICK_REPLY", "text": "Great"},
                    {"type": "QUICK_REPLY", "text": "Okay"},
                    {"type": "QUICK_REPLY", "text": "Poor"}]}
            ]
        })
    );

    // Authentication: Meta's fixed body, the expiry footer and the OTP button.
    let (status, body) = post_draft(&app, inbox_id, auth_draft()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        sent_bodies(&server, "POST", TEMPLATES_PATH).await[2],
        json!({"name": "login_code", "language": "en", "category": "AUTHENTICATION",
               "components": [
                   {"type": "BODY", "add_security_recommendation": true},
                   {"type": "FOOTER", "code_expiration_minutes": 10},
                   {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]}]})
    );

    // Meta's own components array is accepted too (as Graph returns it).
    let page = graph_fixture("message_templates_page1.json");
    let meta_form = json!({"name": "order_update_v3", "language": "es", "category": "UTILITY",
                           "components": page["data"][0]["components"]});
    let (status, body) = post_draft(&app, inbox_id, meta_form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        sent_bodies(&server, "POST", TEMPLATES_PATH).await[3]["components"],
        page["data"][0]["components"]
    );

    // PENDING until Meta's status webhook; then APPROVED (and sendable).
    let status_of = |name: &str| {
        app.query_json(&format!(
            "SELECT to_jsonb(status) FROM message_templates WHERE name = '{name}' AND language = 'en_US'"
        ))
    };
    assert_eq!(status_of("order_update_v1"), "PENDING");
    app.deliver("message_template_status_update.json").await;
    assert_eq!(status_of("order_update_v1"), "APPROVED");
    assert_eq!(status_of("csat_survey_v1"), "PENDING");
}

#[actix_rt::test]
async fn meta_refusals_are_shown_in_words_with_their_codes() {
    let (server, app, inbox_id) = start(None).await;
    for (fixture, field, words) in [
        (
            "template_create_error_duplicate_language.json",
            "name",
            "There is already English content for this template",
        ),
        (
            "template_create_error_missing_example.json",
            "template",
            "component of type BODY is missing expected field(s) (example)",
        ),
    ] {
        server.reset().await;
        Mock::given(method("POST"))
            .and(path(TEMPLATES_PATH))
            .respond_with(ResponseTemplate::new(400).set_body_json(graph_fixture(fixture)))
            .mount(&server)
            .await;
        let (status, body) = post_draft(&app, inbox_id, base()).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["field"], field, "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with("Meta refused to create the template: "),
            "{message}"
        );
        assert!(message.contains(words), "{message}");
        assert!(message.contains("(code 100, subcode 23880"), "{message}");
    }
    // Nothing stored for a refused template.
    assert_eq!(app.count("message_templates"), 0);

    // Graph unreachable: 502, nothing stored.
    server.reset().await;
    Mock::given(method("POST"))
        .and(path(TEMPLATES_PATH))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"error": {"message": "down", "code": 2}})),
        )
        .mount(&server)
        .await;
    let (status, body) = post_draft(&app, inbox_id, base()).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(app.count("message_templates"), 0);
}

/// A tiny valid JPEG start (SOI + APP0) padded out.
fn jpeg() -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    b.resize(2048, 0x42);
    b
}

async fn upload(app: &TestApp, inbox_id: i64, content_type: &str, bytes: Vec<u8>) -> (u16, Value) {
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let mut body = format!(
        "--XBOUNDARY\r\ncontent-disposition: form-data; name=\"file\"; filename=\"menu.jpg\"\r\ncontent-type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(b"\r\n--XBOUNDARY--\r\n");
    let req = test::TestRequest::post()
        .uri(&format!("{}/header_sample", templates_url(app, inbox_id)))
        .insert_header(("api_access_token", app.token.clone()))
        .insert_header(("content-type", "multipart/form-data; boundary=XBOUNDARY"))
        .set_payload(body)
        .to_request();
    let resp = test::call_service(&svc, req).await;
    let status = resp.status().as_u16();
    let body = test::read_body(resp).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[actix_rt::test]
async fn header_sample_uploads_through_the_resumable_upload_api() {
    let (server, app, inbox_id) = start(Some(APP_ID)).await;
    let session = graph_fixture("upload_session_create.json");
    let session_id = session["id"].as_str().unwrap().to_string();
    let (session_path, sig) = session_id.split_once('?').unwrap();
    let sig = sig.trim_start_matches("sig=").to_string();
    let file = jpeg();
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{APP_ID}/uploads")))
        .and(query_param("file_name", "menu.jpg"))
        .and(query_param("file_length", file.len().to_string()))
        .and(query_param("file_type", "image/jpeg"))
        .and(header(
            "authorization",
            "Bearer EAAG-test-access-token-1234",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(session.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{session_path}")))
        .and(query_param("sig", sig.as_str()))
        .and(header("authorization", "OAuth EAAG-test-access-token-1234"))
        .and(header("file_offset", "0"))
        .and(body_bytes(file.clone()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(graph_fixture("upload_file_handle.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_create(&server).await;

    let (status, body) = upload(&app, inbox_id, "image/jpeg", file.clone()).await;
    assert_eq!(status, 200, "{body}");
    let handle = graph_fixture("upload_file_handle.json")["h"].clone();
    assert_eq!(body["handle"], handle);
    assert_eq!(body["format"], "IMAGE");
    assert_eq!(body["size"], file.len());

    // The handle becomes the header's sample in the create body.
    let draft = with(
        base(),
        "/components/header",
        json!({"format": "IMAGE", "handle": handle}),
    );
    let (status, created) = post_draft(&app, inbox_id, draft).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        sent_bodies(&server, "POST", TEMPLATES_PATH).await[0]["components"][0],
        json!({"type": "HEADER", "format": "IMAGE", "example": {"header_handle": [handle]}})
    );

    // Bad files are refused before Meta: wrong type, content not matching, empty, too big.
    let (status, body) = upload(&app, inbox_id, "image/gif", b"GIF89a....".to_vec()).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("file")),
        "{body}"
    );
    let (status, body) = upload(&app, inbox_id, "image/png", jpeg()).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("not image/png"),
        "{body}"
    );
    let (status, _) = upload(&app, inbox_id, "application/pdf", Vec::new()).await;
    assert_eq!(status, 422);
    let mut big = jpeg();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let (status, body) = upload(&app, inbox_id, "image/jpeg", big).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(
        server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path().ends_with("/uploads"))
            .count(),
        1
    );
}

#[actix_rt::test]
async fn header_upload_without_app_id_says_which_setting() {
    let (server, app, inbox_id) = start(None).await;
    let (status, body) = upload(&app, inbox_id, "image/jpeg", jpeg()).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("WHATSAPP_APP_ID"),
        "{body}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[actix_rt::test]
async fn edit_and_delete_follow_meta_rules() {
    let (server, app, inbox_id) = start(None).await;
    mount_create(&server).await;
    let (status, created) = post_draft(
        &app,
        inbox_id,
        with(base(), "/name", json!("order_update_v1")),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_i64().unwrap();
    let one = format!("{}/{id}", templates_url(&app, inbox_id));
    let token = app.token.clone();
    let edit_path = format!("/v25.0/{WEBHOOK_ID}");
    Mock::given(method("POST"))
        .and(path(edit_path.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&server)
        .await;

    // PENDING: Meta allows no edit yet.
    let changed = with(
        base(),
        "/components/footer/text",
        json!("Main Street Store · since 1990"),
    );
    let mut patch = changed.clone();
    patch.as_object_mut().unwrap().remove("name");
    let (status, body) = app.api("PATCH", &one, Some(patch.clone()), &token).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("status")),
        "{body}"
    );
    assert!(sent_bodies(&server, "POST", &edit_path).await.is_empty());

    app.deliver("message_template_status_update.json").await;

    // Approved: name, language and category stay.
    let (status, body) = app
        .api(
            "PATCH",
            &one,
            Some(with(patch.clone(), "/category", json!("MARKETING"))),
            &token,
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("category")),
        "{body}"
    );
    let (status, body) = app
        .api(
            "PATCH",
            &one,
            Some(with(changed.clone(), "/name", json!("order_update_v9"))),
            &token,
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("name")),
        "{body}"
    );
    let (status, body) = app
        .api(
            "PATCH",
            &one,
            Some(with(
                patch.clone(),
                "/components/footer/text",
                json!("x".repeat(61)),
            )),
            &token,
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("components.footer.text")),
        "{body}"
    );
    assert!(sent_bodies(&server, "POST", &edit_path).await.is_empty());

    // A good edit resends every component; the template goes back to review.
    let (status, edited) = app.api("PATCH", &one, Some(patch), &token).await;
    assert_eq!(status, 200, "{edited}");
    let sent = sent_bodies(&server, "POST", &edit_path).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["components"]
    );
    assert_eq!(
        sent[0]["components"][2],
        json!({"type": "FOOTER", "text": "Main Street Store · since 1990"})
    );
    assert_eq!(sent[0]["components"].as_array().unwrap().len(), 4);
    assert_eq!(edited["status"], "PENDING");
    assert_eq!(
        edited["components"][2]["text"],
        "Main Street Store · since 1990"
    );

    // Delete: only this language (hsm_id and name).
    Mock::given(method("DELETE"))
        .and(path(TEMPLATES_PATH))
        .and(query_param("hsm_id", WEBHOOK_ID))
        .and(query_param("name", "order_update_v1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(graph_fixture("template_delete_ok.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (status, body) = app
        .api(
            "DELETE",
            &format!("{}/{}", templates_url(&app, inbox_id), id + 1000),
            None,
            &token,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (_, agent) = app.create_agent("ben@example.com");
    let (status, _) = app.api("DELETE", &one, None, &agent).await;
    assert_eq!(status, 403);
    let (status, body) = app.api("DELETE", &one, None, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deleted"], 1);
    assert_eq!(app.count("message_templates"), 0);
    let (status, _) = app.api("DELETE", &one, None, &token).await;
    assert_eq!(status, 404);
}
