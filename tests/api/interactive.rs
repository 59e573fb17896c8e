//! Interactive messages from agents and integrators (issue 12): reply buttons, lists, a CTA
//! URL button and a location request through `POST …/conversations/{id}/messages`, Chatwoot's
//! `content_type: "input_select"` with `content_attributes.items` and our own fields. Wiremock
//! plays Graph and the tests assert the exact JSON it receives; Meta's limits are refused
//! before anything is stored, naming the field; the 24-hour window applies as for text; the
//! customer's tap threads back to the message.

use crate::common::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const MESSAGES_PATH: &str = "/v25.0/106540352242922/messages";
/// The wamid the fixture `interactive_button_reply.json` answers (`context.id`).
const BUTTONS_WAMID: &str = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJPVVRHT0lOR18wMDAwMDIA";

/// Answers each send with its own wamid: `BUTTONS_WAMID` first, then `wamid.SENT.<n>`.
struct Wamids(AtomicUsize);

impl Respond for Wamids {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        let id = if n == 0 {
            BUTTONS_WAMID.to_string()
        } else {
            format!("wamid.SENT.{n}")
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
            "messages": [{"id": id}],
        }))
    }
}

async fn graph() -> MockServer {
    let server = MockServer::start().await;
    mount_graph_defaults(&server).await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(Wamids(AtomicUsize::new(0)))
        .mount(&server)
        .await;
    server
}

/// An app whose inbox has one conversation; the customer wrote just now when `open`.
async fn conversation(server: &MockServer, open: bool) -> (TestApp, i64) {
    let app = TestApp::start_with(Options {
        graph_base_url: Some(server.uri()),
        ..Default::default()
    });
    app.create_inbox(json!({})).await;
    let text = webhook_fixture("text.json");
    if open {
        app.deliver_bytes(&with_current_timestamps(&text)).await;
    } else {
        app.deliver_bytes(&text).await;
    }
    let list = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations?status=all",
            app.account_id
        ))
        .await;
    let id = list["data"]["payload"][0]["id"].as_i64().expect("one");
    (app, id)
}

async fn post(app: &TestApp, display_id: i64, body: Value) -> (u16, Value) {
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

/// Message bodies Graph received, in order.
async fn sent(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == MESSAGES_PATH)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// Graph's body for message `id` carrying `interactive`.
fn body(id: &Value, interactive: Value) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+16505551234",
        "type": "interactive",
        "biz_opaque_callback_data": format!("switchboard:message:{}", id.as_i64().unwrap()),
        "interactive": interactive,
    })
}

#[actix_rt::test]
async fn each_kind_reaches_graph_with_the_exact_interactive_body() {
    let server = graph().await;
    let (app, display_id) = conversation(&server, true).await;

    // Chatwoot's input_select with 3 items: reply buttons.
    let (status, buttons) = post(
        &app,
        display_id,
        json!({"content": "Did we solve your problem?", "content_type": "input_select",
               "content_attributes": {"header": "Order #4521", "footer": "Main Street Store",
                   "items": [{"title": "Yes", "value": "csat:42:yes"}, {"title": "No", "value": "csat:42:no"},
                             {"title": "Cancel order", "value": "cancel-order-42"}]}}),
    )
    .await;
    assert_eq!(status, 200, "{buttons}");
    assert_eq!(buttons["content_type"], "input_select");
    assert_eq!(buttons["content"], "Did we solve your problem?");
    assert_eq!(buttons["status"], "progress");
    assert_eq!(
        buttons["content_attributes"]["items"][2],
        json!({"title": "Cancel order", "value": "cancel-order-42"}),
        "Chatwoot clients read the items back"
    );
    assert_eq!(
        buttons["content_attributes"]["interactive"]["type"],
        "button"
    );
    assert!(buttons["content_attributes"].get("header").is_none());

    // More than 3 items: a list with Chatwoot's button label.
    let items: Vec<Value> = ["Small", "Medium", "Large", "Extra large"]
        .iter()
        .map(|t| json!({"title": t, "value": t.to_lowercase()}))
        .collect();
    let (status, four) = post(
        &app,
        display_id,
        json!({"content": "Which size?", "content_type": "input_select", "content_attributes": {"items": items}}),
    )
    .await;
    assert_eq!(status, 200, "{four}");

    // Our sections: a list with titled sections, descriptions and its own button.
    let (status, list) = post(
        &app,
        display_id,
        json!({"content": "How should we ship it?", "content_type": "input_select",
               "content_attributes": {"header": "Shipping", "button_text": "Shipping options",
                   "sections": [
                       {"title": "Fast", "items": [{"title": "Priority Express", "value": "priority_express", "description": "Next day to 2 days"}]},
                       {"title": "Cheap", "items": [{"title": "Standard", "value": "standard", "description": "3 to 5 days"}, {"title": "Pick up in store"}]}]}}),
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list["content_attributes"]["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let (status, cta) = post(
        &app,
        display_id,
        json!({"content": "Track your order here.", "content_type": "cta_url",
               "content_attributes": {"display_text": "Track order", "url": "https://shop.example.com/track/4521", "footer": "Main Street Store"}}),
    )
    .await;
    assert_eq!(status, 200, "{cta}");
    assert_eq!(cta["content_type"], "cta_url");

    let (status, location) = post(
        &app,
        display_id,
        json!({"content": "Please share where we should deliver.", "content_type": "location_request"}),
    )
    .await;
    assert_eq!(status, 200, "{location}");
    assert_eq!(location["content_type"], "location_request");

    app.run_send_jobs().await;
    let got = sent(&server).await;
    let expected = vec![
        body(
            &buttons["id"],
            json!({"type": "button",
                   "header": {"type": "text", "text": "Order #4521"},
                   "body": {"text": "Did we solve your problem?"},
                   "footer": {"text": "Main Street Store"},
                   "action": {"buttons": [
                       {"type": "reply", "reply": {"id": "csat:42:yes", "title": "Yes"}},
                       {"type": "reply", "reply": {"id": "csat:42:no", "title": "No"}},
                       {"type": "reply", "reply": {"id": "cancel-order-42", "title": "Cancel order"}}]}}),
        ),
        body(
            &four["id"],
            json!({"type": "list",
                   "body": {"text": "Which size?"},
                   "action": {"button": "Choose an item", "sections": [{"title": "Choose an item", "rows": [
                       {"id": "small", "title": "Small"}, {"id": "medium", "title": "Medium"},
                       {"id": "large", "title": "Large"}, {"id": "extra large", "title": "Extra large"}]}]}}),
        ),
        body(
            &list["id"],
            json!({"type": "list",
                   "header": {"type": "text", "text": "Shipping"},
                   "body": {"text": "How should we ship it?"},
                   "action": {"button": "Shipping options", "sections": [
                       {"title": "Fast", "rows": [{"id": "priority_express", "title": "Priority Express", "description": "Next day to 2 days"}]},
                       {"title": "Cheap", "rows": [{"id": "standard", "title": "Standard", "description": "3 to 5 days"},
                                                    {"id": "Pick up in store", "title": "Pick up in store"}]}]}}),
        ),
        body(
            &cta["id"],
            json!({"type": "cta_url",
                   "body": {"text": "Track your order here."},
                   "footer": {"text": "Main Street Store"},
                   "action": {"name": "cta_url", "parameters": {"display_text": "Track order", "url": "https://shop.example.com/track/4521"}}}),
        ),
        body(
            &location["id"],
            json!({"type": "location_request_message",
                   "body": {"text": "Please share where we should deliver."},
                   "action": {"name": "send_location"}}),
        ),
    ];
    assert_eq!(got, expected);
    let statuses =
        app.query_json("SELECT jsonb_agg(status ORDER BY id) FROM messages WHERE message_type = 1");
    assert_eq!(statuses, json!(["sent", "sent", "sent", "sent", "sent"]));

    // The customer taps "Cancel order": the answer threads back to the buttons message.
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture(
        "interactive_button_reply.json",
    )))
    .await;
    let answer = app.query_json(
        "SELECT to_jsonb(m) FROM messages m WHERE message_type = 0 ORDER BY id DESC LIMIT 1",
    );
    assert_eq!(answer["content"], "Cancel order");
    assert_eq!(
        answer["content_attributes"]["in_reply_to"], buttons["id"],
        "{answer}"
    );
    assert_eq!(
        answer["content_attributes"]["interactive"]["id"],
        "cancel-order-42"
    );

    // The customer shares a location in answer to the request (Meta: a `location` message
    // whose `context.id` is the request's wamid): it quotes the request.
    let request_wamid = app.query_json(&format!(
        "SELECT to_jsonb(source_id) FROM messages WHERE id = {}",
        location["id"]
    ));
    let mut shared: Value =
        serde_json::from_slice(&with_current_timestamps(&webhook_fixture("location.json")))
            .unwrap();
    shared["entry"][0]["changes"][0]["value"]["messages"][0]["context"] =
        json!({"from": "15551234567", "id": request_wamid});
    app.deliver_bytes(&serde_json::to_vec(&shared).unwrap())
        .await;
    let place = app.query_json(
        "SELECT to_jsonb(m) FROM messages m WHERE message_type = 0 AND content_attributes ? 'location'",
    );
    assert_eq!(
        place["content_attributes"]["in_reply_to"], location["id"],
        "{place}"
    );

    // A quoted reply carries the context as every free-form message does.
    let incoming = answer["id"].as_i64().unwrap();
    let (status, quoted) = post(
        &app,
        display_id,
        json!({"content": "Sure?", "content_type": "input_select",
               "content_attributes": {"in_reply_to": incoming, "items": [{"title": "Yes, cancel"}, {"title": "No, keep it"}]}}),
    )
    .await;
    assert_eq!(status, 200, "{quoted}");
    app.run_send_jobs().await;
    let last = sent(&server).await.pop().unwrap();
    assert_eq!(
        last["context"]["message_id"],
        "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTAwMDAwMDAwMDAwMDAwMDAxMwA="
    );
    assert_eq!(
        last["interactive"]["action"]["buttons"][0]["reply"],
        json!({"id": "Yes, cancel", "title": "Yes, cancel"})
    );
}

#[actix_rt::test]
async fn titles_over_metas_limits_are_refused_naming_the_field() {
    let server = graph().await;
    let (app, display_id) = conversation(&server, true).await;
    let cases = [
        (
            json!({"content": "Pick", "content_type": "input_select",
                   "content_attributes": {"items": [{"title": "A title that is far too long", "value": "a"}]}}),
            "content_attributes.items[0].title",
            "20",
        ),
        (
            json!({"content": "Pick", "content_type": "input_select",
                   "content_attributes": {"items": (1..=5).map(|n| json!({"title": format!("Row {n} with a title over the limit")})).collect::<Vec<_>>()}}),
            "content_attributes.items[0].title",
            "24",
        ),
        (
            json!({"content": "Pick", "content_type": "input_select",
                   "content_attributes": {"sections": [{"title": "A section title over the limit", "items": [{"title": "a"}]}]}}),
            "content_attributes.sections[0].title",
            "24",
        ),
        (
            json!({"content": "Pick", "content_type": "input_select",
                   "content_attributes": {"sections": [{"title": "S", "items": [{"title": "a", "description": "d".repeat(73)}]}]}}),
            "content_attributes.sections[0].items[0].description",
            "72",
        ),
        (
            json!({"content": "Pick", "content_type": "input_select",
                   "content_attributes": {"button_text": "A list button too long", "sections": [{"title": "S", "items": [{"title": "a"}]}]}}),
            "content_attributes.button_text",
            "20",
        ),
        (
            json!({"content": "Go", "content_type": "cta_url",
                   "content_attributes": {"display_text": "Open the tracking page", "url": "https://shop.example.com"}}),
            "content_attributes.display_text",
            "20",
        ),
        (
            json!({"content": "Go", "content_type": "cta_url",
                   "content_attributes": {"display_text": "Track", "url": "http://shop.example.com"}}),
            "content_attributes.url",
            "https",
        ),
        (
            json!({"content": "x".repeat(1025), "content_type": "location_request"}),
            "content",
            "1024",
        ),
        (
            json!({"content": "Pick", "content_type": "input_select",
                   "content_attributes": {"items": (0..11).map(|n| json!({"title": n})).collect::<Vec<_>>()}}),
            "content_attributes.items",
            "10",
        ),
    ];
    for (request, field, limit) in cases {
        let (status, err) = post(&app, display_id, request.clone()).await;
        assert_eq!(status, 422, "{request}: {err}");
        assert_eq!(err["field"], field, "{err}");
        let text = err["error"].as_str().unwrap();
        assert!(text.contains(limit), "{text}");
        assert_eq!(err["message"], err["error"]);
    }
    assert_eq!(app.count("messages WHERE message_type = 1"), 0);
    app.run_send_jobs().await;
    assert!(sent(&server).await.is_empty());
}

#[actix_rt::test]
async fn outside_the_window_interactive_messages_are_refused_with_the_reason() {
    let server = graph().await;
    let (app, display_id) = conversation(&server, false).await;
    for request in [
        json!({"content": "Pick", "content_type": "input_select", "content_attributes": {"items": [{"title": "Yes"}]}}),
        json!({"content": "Go", "content_type": "cta_url", "content_attributes": {"display_text": "Go", "url": "https://a.example"}}),
        json!({"content": "Where?", "content_type": "location_request"}),
    ] {
        let (status, err) = post(&app, display_id, request).await;
        assert_eq!(status, 422, "{err}");
        assert_eq!(err["field"], "content");
        let text = err["error"].as_str().unwrap();
        assert!(
            text.contains("24-hour") && text.contains("template"),
            "{text}"
        );
    }
    assert_eq!(app.count("messages WHERE message_type = 1"), 0);
}

#[actix_rt::test]
async fn bad_input_answers_4xx_with_a_message() {
    let server = graph().await;
    let (app, display_id) = conversation(&server, true).await;
    let items = json!({"items": [{"title": "Yes"}]});
    let cases = [
        (
            json!({"content": "Pick", "content_type": 7}),
            "content_type",
        ),
        (
            json!({"content": "Pick", "content_type": "input_select", "content_attributes": {"items": {"title": "Yes"}}}),
            "content_attributes.items",
        ),
        (
            json!({"content": "Pick", "content_type": "input_select", "content_attributes": {"items": [null]}}),
            "content_attributes.items[0]",
        ),
        (
            json!({"content": "Pick", "content_type": "input_select", "content_attributes": {"items": [{"title": {"x": 1}}]}}),
            "content_attributes.items[0].title",
        ),
        (
            json!({"content": "Pick", "content_type": "input_select", "content_attributes": {"items": [{"title": "Yes"}, {"title": "Yes"}]}}),
            "content_attributes.items[1].value",
        ),
        (
            json!({"content": "Pick", "content_type": "input_select", "content_attributes": {"sections": "nope"}}),
            "content_attributes.sections",
        ),
        (
            json!({"content_type": "input_select", "content_attributes": items}),
            "content",
        ),
        (
            json!({"content": "Pick", "private": true, "content_type": "input_select", "content_attributes": items}),
            "content_type",
        ),
        (
            json!({"content": "Pick", "content_type": "input_select", "content_attributes": items,
                   "template_params": {"name": "x", "language": "en_US", "processed_params": {}}}),
            "content_type",
        ),
        (
            json!({"content": "Pick", "content_type": "location_request", "content_attributes": {"url": "https://a.example"}}),
            "content_attributes.url",
        ),
        (
            json!({"content": "Go", "content_type": "cta_url", "content_attributes": {"display_text": "Go", "url": "javascript:alert(1)"}}),
            "content_attributes.url",
        ),
    ];
    for (request, field) in cases {
        let (status, err) = post(&app, display_id, request.clone()).await;
        assert_eq!(status, 422, "{request}: {err}");
        assert_eq!(err["field"], field, "{request}: {err}");
        assert!(!err["error"].as_str().unwrap().is_empty());
    }

    // Malformed JSON and a NUL character: 400.
    let url = format!(
        "/api/v1/accounts/{}/conversations/{display_id}/messages",
        app.account_id
    );
    let svc = actix_web::test::init_service(
        actix_web::App::new().configure(switchboard::app::configure(app.state.clone())),
    )
    .await;
    let req = actix_web::test::TestRequest::post()
        .uri(&url)
        .insert_header(("api_access_token", app.token.as_str()))
        .insert_header(("content-type", "application/json"))
        .set_payload("{\"content\": \"x\", \"content_type\": \"input_select\", ")
        .to_request();
    let resp = actix_web::test::call_service(&svc, req).await;
    assert_eq!(resp.status().as_u16(), 400);
    let err: Value = actix_web::test::read_body_json(resp).await;
    assert!(!err["error"].as_str().unwrap().is_empty());
    let (status, err) = post(
        &app,
        display_id,
        json!({"content": "Pick", "content_type": "input_select", "content_attributes": {"items": [{"title": "Y\u{0}es"}]}}),
    )
    .await;
    assert_eq!(status, 400, "{err}");

    // Another account's conversation id: 404.
    let other = {
        let mut conn = app.conn();
        switchboard::domain::accounts::create_admin(
            &mut conn,
            "Beta",
            "Bo Beta",
            "bo@example.com",
            "another horse",
        )
        .unwrap()
    };
    let (status, err) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/conversations/{display_id}/messages",
                other.account_id
            ),
            Some(json!({"content": "Pick", "content_type": "input_select", "content_attributes": items})),
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404, "{err}");
    assert_eq!(app.count("messages WHERE message_type = 1"), 0);
}
