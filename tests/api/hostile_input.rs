//! Hostile input: NUL characters refused with a clear 400 where input enters (query, path,
//! JSON, forms, multipart), Meta's webhook bodies still journaled as sent; a deterministic
//! generator throwing hostile requests at every public route, asserting no 5xx; the access
//! log line carries the method; and the X-Hub-Signature-256 secret rules.

use crate::common::session::Browser;
use crate::common::*;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test, App};
use serde_json::{json, Value};
use switchboard::app;

/// Calls the service; a middleware error becomes its response, as the server would send it.
async fn send<S, R, B>(svc: &S, req: R) -> (u16, String)
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    match test::try_call_service(svc, req).await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body = test::read_body(resp).await;
            (status, String::from_utf8_lossy(&body).to_string())
        }
        Err(e) => {
            let resp = e.error_response();
            (resp.status().as_u16(), e.to_string())
        }
    }
}

fn assert_nul_refusal(what: &str, (status, body): &(u16, String), field: &str) {
    assert_eq!(*status, 400, "{what}: {body}");
    let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{what}: {body}"));
    assert!(
        v["error"]
            .as_str()
            .unwrap_or_default()
            .contains("NUL character"),
        "{what}: {body}"
    );
    assert_eq!(v["field"], field, "{what}: {body}");
}

#[actix_rt::test]
async fn nul_characters_answer_400_where_input_enters() {
    let app = TestApp::start();
    let inbox = app.create_inbox_direct();
    app.deliver("text.json").await;
    let a = app.account_id;
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let token = app.token.clone();
    let get = |uri: String| {
        test::TestRequest::get()
            .uri(&uri)
            .insert_header(("api_access_token", token.clone()))
            .to_request()
    };

    // Query strings (these answered 500: PostgreSQL refuses 0x00).
    for (uri, field) in [
        (
            format!("/api/v1/accounts/{a}/conversations?labels[]=%00"),
            "labels[]",
        ),
        (
            format!("/api/v1/accounts/{a}/conversations/meta?labels=%00"),
            "labels",
        ),
        (format!("/api/v1/accounts/{a}/contacts/search?q=%00"), "q"),
        (format!("/api/v1/accounts/{a}/search?q=a%00b"), "q"),
        (format!("/app/accounts/{a}/search?q=%00"), "q"),
        (format!("/app/accounts/{a}/contacts?label=%00"), "label"),
        // h11: the Contacts list's custom attribute filter.
        (
            format!("/app/accounts/{a}/contacts?attr=plan&attr_value=%00"),
            "attr_value",
        ),
    ] {
        assert_nul_refusal(&uri, &send(&svc, get(uri.clone())).await, field);
    }
    // Paths, even without authentication.
    for req in [
        test::TestRequest::get().uri("/webhooks/whatsapp/%00"),
        test::TestRequest::post()
            .uri("/webhooks/whatsapp/%00")
            .insert_header(("content-type", "application/json"))
            .set_payload(webhook_fixture("text.json")),
        test::TestRequest::get().uri(&format!("/api/v1/accounts/{a}/labels/%00")),
    ] {
        assert_nul_refusal("path", &send(&svc, req.to_request()).await, "path");
    }

    // JSON bodies: message content and notes, team, inbox, agent and webhook names.
    let json_req = |method: &str, uri: String, body: String| {
        let req = match method {
            "POST" => test::TestRequest::post(),
            _ => test::TestRequest::patch(),
        };
        req.uri(&uri)
            .insert_header(("api_access_token", token.clone()))
            .insert_header(("content-type", "application/json"))
            .set_payload(body)
            .to_request()
    };
    let messages = format!("/api/v1/accounts/{a}/conversations/1/messages");
    for (method, uri, body, field) in [
        ("POST", messages.clone(), r#"{"content":"hi\u0000"}"#.to_string(), "content"),
        (
            "POST",
            messages.clone(),
            r#"{"content":"note\u0000","private":true}"#.to_string(),
            "content",
        ),
        (
            "POST",
            format!("/api/v1/accounts/{a}/teams"),
            r#"{"name":"Sales\u0000"}"#.to_string(),
            "name",
        ),
        (
            "PATCH",
            format!("/api/v1/accounts/{a}/inboxes/{}", inbox.0.id),
            r#"{"name":"\u0000"}"#.to_string(),
            "name",
        ),
        (
            "POST",
            format!("/api/v1/accounts/{a}/agents"),
            r#"{"name":"Ben\u0000","email":"ben@example.com","role":"agent"}"#.to_string(),
            "name",
        ),
        (
            "POST",
            format!("/api/v1/accounts/{a}/webhooks"),
            r#"{"url":"https://hooks.example.com/x","name":"n\u0000","subscriptions":["message_created"]}"#
                .to_string(),
            "name",
        ),
        (
            "POST",
            format!("/api/v1/accounts/{a}/conversations/1/labels"),
            r#"{"labels":["ok","bad\u0000"]}"#.to_string(),
            "labels[1]",
        ),
    ] {
        let what = format!("{method} {uri} {body}");
        assert_nul_refusal(&what, &send(&svc, json_req(method, uri, body.clone())).await, field);
    }
    // `\\u0000` is an escaped backslash followed by text: accepted and stored as written.
    let (status, body) = send(
        &svc,
        json_req(
            "POST",
            messages.clone(),
            r#"{"content":"C:\\u0000 path","private":true}"#.into(),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let stored = app.query_json("SELECT to_jsonb(content) FROM messages ORDER BY id DESC LIMIT 1");
    assert_eq!(stored, "C:\\u0000 path");

    // Multipart text fields.
    let boundary = "XyZzY";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\nhi\0there\r\n--{boundary}--\r\n"
    );
    let req = test::TestRequest::post()
        .uri(&messages)
        .insert_header(("api_access_token", token.clone()))
        .insert_header((
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .set_payload(multipart)
        .to_request();
    assert_nul_refusal("multipart", &send(&svc, req).await, "content");
    assert_eq!(
        app.count("messages"),
        2,
        "only the escaped-backslash message was added"
    );

    // Forms of the UI: sign-in and settings.
    let mut browser = Browser::new(&app);
    let (_, form, _) = browser.get("/app/login").await;
    let csrf = Browser::csrf_from(&form);
    let (status, body, _) = browser
        .request(test::TestRequest::post().uri("/app/login").set_form([
            ("email", "ana@example.com\0"),
            ("password", "correct horse"),
            ("csrf_token", csrf.as_str()),
        ]))
        .await;
    assert_nul_refusal("login form", &(status, body), "email");
    browser.sign_in("ana@example.com", "correct horse").await;
    let teams = format!("/app/accounts/{a}/settings/teams");
    let (status, body, _) = browser.submit(&teams, &teams, &[("name", "Sa\0les")]).await;
    assert_nul_refusal("team form", &(status, body), "name");
    assert_eq!(app.count("teams"), 0);

    // Meta's webhook bodies keep working as before: journaled as sent, NUL removed at ingest.
    let with_nul = String::from_utf8(webhook_fixture("text.json"))
        .unwrap()
        .replace("Hi! Does", "Hi!\\u0000 Does")
        .replace("AAAAAAAAAAAAAAMQA=", "AAAAAAAAAAAAAAMgA=");
    let (status, text) = app.post_webhook(PHONE, with_nul.as_bytes(), None).await;
    assert_eq!(status, 200, "{text}");
    app.ingest();
    let last = app.query_json(
        "SELECT to_jsonb(content) FROM messages WHERE message_type = 0 ORDER BY id DESC LIMIT 1",
    );
    assert_eq!(last, "Hi! Does the blue jacket come in size M?");
}

/// A small deterministic generator (xorshift64*), so a failure names a reproducible seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Path segments standing for an id.
const HOSTILE_IDS: &[&str] = &[
    "1",
    "2",
    "0",
    "-1",
    "-9223372036854775808",
    "9223372036854775807",
    "99999999999999999999",
    "2147483648",
    "1e3",
    "abc",
    "%00",
    "%FF",
    "%C0%AF",
    "%E2%80%AE",
    "..",
    "%2e%2e",
    "%20",
    "1.5",
    "0x10",
];

/// Query values.
const HOSTILE_VALUES: &[&str] = &[
    "",
    "%00",
    "a%00b",
    "%FF%FE",
    "%C3%28",
    "99999999999999999999",
    "9223372036854775807",
    "2147483648",
    "-2147483649",
    "-1",
    "-9223372036854775808",
    "0",
    "1",
    "1e308",
    "NaN",
    "true",
    "open",
    "resolved",
    "all",
    "%27%3B--",
    "%25",
    "%5B%5D",
    "%E2%80%AE",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "1,2,3",
    "%2C%2C",
];

const QUERY_KEYS: &[&str] = &[
    "q",
    "page",
    "per_page",
    "status",
    "assignee_type",
    "inbox_id",
    "team_id",
    "labels[]",
    "labels",
    "sort",
    "before",
    "after",
    "since",
    "conversation_id",
    "hub.mode",
    "hub.verify_token",
    "hub.challenge",
    "%00",
    "%FF",
    "page[]",
];

/// JSON field names the API reads somewhere.
const JSON_KEYS: &[&str] = &[
    "content",
    "private",
    "message_type",
    "content_attributes",
    "template_params",
    "name",
    "description",
    "email",
    "role",
    "status",
    "priority",
    "assignee_id",
    "team_id",
    "labels",
    "user_ids",
    "inbox_id",
    "url",
    "subscriptions",
    "allow_auto_assign",
    "channel",
    "provider_config",
    "phone_number",
    "snoozed_until",
    "in_reply_to",
    "title",
    "color",
    "show_on_sidebar",
    "email_flags",
    "selected_email_flags",
    "availability",
    "password",
    "display_name",
    "custom_attributes",
    "attribute_key",
    "attribute_display_name",
    "attribute_display_type",
    "attribute_model",
    "attribute_values",
    "regex_pattern",
];

fn hostile_json_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 2 { 14 } else { 23 }) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(-1),
        3 => json!(0),
        4 => serde_json::from_str("99999999999999999999").unwrap(),
        5 => json!(-9223372036854775808i64),
        6 => json!(1.5e300),
        7 => json!(""),
        8 => json!("\u{0}"),
        9 => json!("x".repeat(300)),
        10 => json!("2026-13-45T99:99:99Z"),
        11 => json!("1"),
        12 => json!("agent"),
        13 => json!("\u{202e}\u{feff}é"),
        14 => Value::Array(
            (0..rng.below(4))
                .map(|_| hostile_json_value(rng, depth + 1))
                .collect(),
        ),
        15 => hostile_object(rng, depth + 1),
        17 => json!(i64::MAX),
        18 => json!(i64::MIN),
        19 => json!("9223372036854775807"),
        20 => json!(2147483648i64),
        21 => json!(-1e308),
        _ => json!([99999999999999999999u128 as f64, -1, "x"]),
    }
}

fn hostile_object(rng: &mut Rng, depth: usize) -> Value {
    let mut map = serde_json::Map::new();
    for _ in 0..rng.below(5) {
        let key = rng.pick(JSON_KEYS).to_string();
        map.insert(key, hostile_json_value(rng, depth));
    }
    Value::Object(map)
}

/// A hostile body: JSON of wrong types, deep nesting, broken or non-UTF-8 bytes, empty,
/// or oversize.
fn hostile_body(rng: &mut Rng) -> (Vec<u8>, &'static str) {
    let json_ct = "application/json";
    match rng.below(12) {
        0 => (Vec::new(), json_ct),
        1 => (b"{".to_vec(), json_ct),
        2 => (b"\xff\xfe\x00{}".to_vec(), json_ct),
        3 => ("[".repeat(5000).into_bytes(), json_ct),
        4 => (
            format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200)).into_bytes(),
            json_ct,
        ),
        5 => (vec![b' '; 1024 * 1024 + 10], json_ct),
        6 => (b"null".to_vec(), json_ct),
        7 => (b"[1,2]".to_vec(), json_ct),
        8 => (
            b"content=%00&name=%FF".to_vec(),
            "application/x-www-form-urlencoded",
        ),
        9 => (b"{\"content\":\"hi\"}".to_vec(), "text/plain"),
        _ => (
            serde_json::to_vec(&hostile_object(rng, 0)).unwrap(),
            json_ct,
        ),
    }
}

/// The public routes: (method, pattern). `{a}` is an account id, `{id}` any id.
const API_ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/profile"),
    ("GET", "/api/v1/accounts/{a}/inboxes"),
    ("POST", "/api/v1/accounts/{a}/inboxes"),
    ("GET", "/api/v1/accounts/{a}/inboxes/{id}"),
    // Issue 13 (hours): CSAT survey responses.
    ("GET", "/api/v1/accounts/{a}/csat_survey_responses"),
    ("PATCH", "/api/v1/accounts/{a}/inboxes/{id}"),
    ("POST", "/api/v1/accounts/{a}/inboxes/{id}/sync_templates"),
    // Issue 12 (templates): the template builder.
    (
        "POST",
        "/api/v1/accounts/{a}/inboxes/{id}/message_templates",
    ),
    (
        "POST",
        "/api/v1/accounts/{a}/inboxes/{id}/message_templates/header_sample",
    ),
    (
        "PATCH",
        "/api/v1/accounts/{a}/inboxes/{id}/message_templates/{id}",
    ),
    (
        "DELETE",
        "/api/v1/accounts/{a}/inboxes/{id}/message_templates/{id}",
    ),
    // Issue 12 (profile-typing).
    ("GET", "/api/v1/accounts/{a}/inboxes/{id}/business_profile"),
    ("PUT", "/api/v1/accounts/{a}/inboxes/{id}/business_profile"),
    // Issue 12 (h12).
    (
        "GET",
        "/api/v1/accounts/{a}/inboxes/{id}/business_profile/picture",
    ),
    (
        "POST",
        "/api/v1/accounts/{a}/conversations/{id}/toggle_typing_status",
    ),
    (
        "POST",
        "/api/v1/accounts/{a}/conversations/{id}/typing_status",
    ),
    ("GET", "/api/v1/accounts/{a}/conversations"),
    ("GET", "/api/v1/accounts/{a}/conversations/meta"),
    ("GET", "/api/v1/accounts/{a}/conversations/{id}"),
    ("GET", "/api/v1/accounts/{a}/conversations/{id}/messages"),
    ("POST", "/api/v1/accounts/{a}/conversations/{id}/messages"),
    (
        "POST",
        "/api/v1/accounts/{a}/conversations/{id}/update_last_seen",
    ),
    (
        "POST",
        "/api/v1/accounts/{a}/conversations/{id}/toggle_status",
    ),
    (
        "POST",
        "/api/v1/accounts/{a}/conversations/{id}/toggle_priority",
    ),
    (
        "POST",
        "/api/v1/accounts/{a}/conversations/{id}/assignments",
    ),
    ("GET", "/api/v1/accounts/{a}/conversations/{id}/labels"),
    ("POST", "/api/v1/accounts/{a}/conversations/{id}/labels"),
    ("GET", "/api/v1/accounts/{a}/contacts"),
    ("GET", "/api/v1/accounts/{a}/contacts/search"),
    ("GET", "/api/v1/accounts/{a}/contacts/{id}"),
    ("GET", "/api/v1/accounts/{a}/agents"),
    ("POST", "/api/v1/accounts/{a}/agents"),
    ("PATCH", "/api/v1/accounts/{a}/agents/{id}"),
    ("GET", "/api/v1/accounts/{a}/inbox_members/{id}"),
    ("POST", "/api/v1/accounts/{a}/inbox_members"),
    ("PATCH", "/api/v1/accounts/{a}/inbox_members"),
    ("DELETE", "/api/v1/accounts/{a}/inbox_members"),
    ("GET", "/api/v1/accounts/{a}/teams"),
    ("POST", "/api/v1/accounts/{a}/teams"),
    ("GET", "/api/v1/accounts/{a}/teams/{id}"),
    ("PATCH", "/api/v1/accounts/{a}/teams/{id}"),
    ("DELETE", "/api/v1/accounts/{a}/teams/{id}"),
    ("GET", "/api/v1/accounts/{a}/labels"),
    ("POST", "/api/v1/accounts/{a}/labels"),
    ("GET", "/api/v1/accounts/{a}/labels/{id}"),
    ("PATCH", "/api/v1/accounts/{a}/labels/{id}"),
    ("DELETE", "/api/v1/accounts/{a}/labels/{id}"),
    ("GET", "/api/v1/accounts/{a}/search"),
    ("GET", "/api/v1/accounts/{a}/notification_settings"),
    ("PATCH", "/api/v1/accounts/{a}/notification_settings"),
    ("GET", "/api/v1/accounts/{a}/webhooks"),
    ("POST", "/api/v1/accounts/{a}/webhooks"),
    ("PATCH", "/api/v1/accounts/{a}/webhooks/{id}"),
    ("DELETE", "/api/v1/accounts/{a}/webhooks/{id}"),
    ("GET", "/api/v1/accounts/{a}/webhooks/{id}/deliveries"),
    // Issue 11 (parity): PATCH a conversation, DELETE a message, slashes.
    ("PATCH", "/api/v1/accounts/{a}/conversations/{id}"),
    (
        "DELETE",
        "/api/v1/accounts/{a}/conversations/{id}/messages/{id}",
    ),
    ("GET", "/api/v1/accounts/{a}//conversations/{id}/"),
    // Issue 10: the workspace's routes.
    ("PUT", "/api/v1/profile"),
    ("POST", "/api/v1/profile/availability"),
    ("POST", "/api/v1/accounts/{a}/conversations/filter"),
    ("GET", "/api/v1/accounts/{a}/custom_filters"),
    ("POST", "/api/v1/accounts/{a}/custom_filters"),
    ("PATCH", "/api/v1/accounts/{a}/custom_filters/{id}"),
    ("DELETE", "/api/v1/accounts/{a}/custom_filters/{id}"),
    ("POST", "/api/v1/accounts/{a}/bulk_actions"),
    (
        "POST",
        "/api/v1/accounts/{a}/conversations/{id}/messages/{id}/retry",
    ),
    ("GET", "/api/v1/accounts/{a}/contacts/{id}/notes"),
    ("POST", "/api/v1/accounts/{a}/contacts/{id}/notes"),
    ("PATCH", "/api/v1/accounts/{a}/contacts/{id}/notes/{id}"),
    // Issue 11 (contacts-api): contact writes.
    ("POST", "/api/v1/accounts/{a}/contacts"),
    ("PATCH", "/api/v1/accounts/{a}/contacts/{id}"),
    ("PUT", "/api/v1/accounts/{a}/contacts/{id}"),
    ("GET", "/api/v1/accounts/{a}/contacts/{id}/labels"),
    ("POST", "/api/v1/accounts/{a}/contacts/{id}/labels"),
    ("GET", "/api/v1/accounts/{a}/contacts/{id}/conversations"),
    ("POST", "/api/v1/accounts/{a}/contacts/filter"),
    ("POST", "/api/v1/accounts/{a}/actions/contact_merge"),
    ("DELETE", "/api/v1/accounts/{a}/contacts/{id}"),
    // Issue 11, csv: contact CSV import and export.
    ("POST", "/api/v1/accounts/{a}/contacts/import"),
    ("GET", "/api/v1/accounts/{a}/contacts/imports/{id}"),
    ("GET", "/api/v1/accounts/{a}/contacts/export"),
    ("GET", "/api/v1/accounts/{a}/canned_responses"),
    ("POST", "/api/v1/accounts/{a}/canned_responses"),
    ("PATCH", "/api/v1/accounts/{a}/canned_responses/{id}"),
    ("DELETE", "/api/v1/accounts/{a}/canned_responses/{id}"),
    ("GET", "/api/v1/accounts/{a}/notifications"),
    ("GET", "/api/v1/accounts/{a}/notifications/unread_count"),
    ("POST", "/api/v1/accounts/{a}/notifications/read_all"),
    ("PATCH", "/api/v1/accounts/{a}/notifications/{id}"),
    (
        "GET",
        "/api/v1/accounts/{a}/conversations/{id}/participants",
    ),
    (
        "POST",
        "/api/v1/accounts/{a}/conversations/{id}/participants",
    ),
    // Issue 11 (custom-attrs).
    ("GET", "/api/v1/accounts/{a}/custom_attribute_definitions"),
    ("POST", "/api/v1/accounts/{a}/custom_attribute_definitions"),
    (
        "GET",
        "/api/v1/accounts/{a}/custom_attribute_definitions/{id}",
    ),
    (
        "PATCH",
        "/api/v1/accounts/{a}/custom_attribute_definitions/{id}",
    ),
    (
        "DELETE",
        "/api/v1/accounts/{a}/custom_attribute_definitions/{id}",
    ),
    (
        "POST",
        "/api/v1/accounts/{a}/conversations/{id}/custom_attributes",
    ),
    (
        "POST",
        "/api/v1/accounts/{a}/contacts/{id}/custom_attributes",
    ),
    // Issue 11 (newconv): starting a conversation.
    ("POST", "/api/v1/accounts/{a}/conversations"),
    // Issue 13 (rules): automation rules and macros.
    ("GET", "/api/v1/accounts/{a}/automation_rules"),
    ("POST", "/api/v1/accounts/{a}/automation_rules"),
    ("GET", "/api/v1/accounts/{a}/automation_rules/{id}"),
    ("PATCH", "/api/v1/accounts/{a}/automation_rules/{id}"),
    ("DELETE", "/api/v1/accounts/{a}/automation_rules/{id}"),
    ("GET", "/api/v1/accounts/{a}/automation_rules/{id}/runs"),
    ("GET", "/api/v1/accounts/{a}/macros"),
    ("POST", "/api/v1/accounts/{a}/macros"),
    ("GET", "/api/v1/accounts/{a}/macros/{id}"),
    ("PATCH", "/api/v1/accounts/{a}/macros/{id}"),
    ("DELETE", "/api/v1/accounts/{a}/macros/{id}"),
    ("POST", "/api/v1/accounts/{a}/macros/{id}/execute"),
    ("GET", "/media/attachments/{id}/{id}"),
    ("GET", "/webhooks/whatsapp/{phone}"),
    ("POST", "/webhooks/whatsapp/{phone}"),
    ("GET", "/no/such/{id}"),
];

/// The agent UI's routes (session cookie; POSTs carry the CSRF token).
const UI_ROUTES: &[(&str, &str)] = &[
    ("GET", "/app"),
    // Issue 13 (rules): Settings → Automation.
    ("GET", "/app/accounts/{a}/settings/automation"),
    ("GET", "/app/login"),
    ("POST", "/app/login"),
    ("GET", "/app/accounts/{a}/conversations"),
    ("GET", "/app/accounts/{a}/conversations/{id}"),
    ("GET", "/app/accounts/{a}/partials/conversations"),
    (
        "GET",
        "/app/accounts/{a}/partials/conversations/{id}/header",
    ),
    ("GET", "/app/accounts/{a}/partials/messages/{id}"),
    ("GET", "/app/accounts/{a}/search"),
    // Issue 12 (templates): the template list and builder.
    ("GET", "/app/accounts/{a}/settings/inboxes/{id}/templates"),
    (
        "GET",
        "/app/accounts/{a}/settings/inboxes/{id}/templates/new",
    ),
    (
        "GET",
        "/app/accounts/{a}/settings/inboxes/{id}/templates/{id}/edit",
    ),
    ("GET", "/app/accounts/{a}/contacts/import"),
    ("GET", "/app/accounts/{a}/settings/inboxes"),
    ("POST", "/app/accounts/{a}/settings/inboxes"),
    ("GET", "/app/accounts/{a}/settings/inboxes/new"),
    ("GET", "/app/accounts/{a}/settings/inboxes/{id}"),
    ("POST", "/app/accounts/{a}/settings/inboxes/{id}/{action}"),
    // Issue 13 (avail): the inbox's auto-assignment card.
    (
        "POST",
        "/app/accounts/{a}/settings/inboxes/{id}/auto_assignment/save",
    ),
    ("GET", "/app/accounts/{a}/settings/agents"),
    ("POST", "/app/accounts/{a}/settings/agents"),
    ("POST", "/app/accounts/{a}/settings/agents/{id}/update"),
    ("GET", "/app/accounts/{a}/settings/teams"),
    ("POST", "/app/accounts/{a}/settings/teams"),
    ("POST", "/app/accounts/{a}/settings/teams/{id}/update"),
    ("POST", "/app/accounts/{a}/settings/teams/{id}/delete"),
    ("GET", "/app/accounts/{a}/settings/labels"),
    ("POST", "/app/accounts/{a}/settings/labels"),
    ("POST", "/app/accounts/{a}/settings/labels/{id}/update"),
    ("POST", "/app/accounts/{a}/settings/labels/{id}/delete"),
    ("GET", "/app/password/forgot"),
    ("POST", "/app/password/forgot"),
    ("POST", "/app/accounts/{a}/profile/names"),
    ("POST", "/app/accounts/{a}/profile/availability"),
    ("POST", "/app/accounts/{a}/profile/password"),
    ("GET", "/app/accounts/{a}/settings/canned_responses"),
    ("POST", "/app/accounts/{a}/settings/canned_responses"),
    ("GET", "/app/accounts/{a}/partials/conversation_ids"),
    ("GET", "/app/password/reset"),
    ("POST", "/app/password/reset"),
    ("GET", "/app/accounts/{a}/profile"),
    ("POST", "/app/accounts/{a}/profile"),
    ("GET", "/app/accounts/{a}/settings/custom_attributes"),
    ("GET", "/app/accounts/{a}/settings/webhooks"),
    ("POST", "/app/accounts/{a}/settings/webhooks"),
    ("POST", "/app/accounts/{a}/settings/webhooks/{id}/{action}"),
    // Issue 11 (contacts-ui): the Contacts screen and a contact's page.
    ("GET", "/app/accounts/{a}/contacts"),
    ("GET", "/app/accounts/{a}/contacts/{id}"),
];

const FORM_KEYS: &[&str] = &[
    "name",
    "description",
    "email",
    "password",
    "password_confirmation",
    "role",
    "title",
    "color",
    "url",
    "subscriptions",
    "phone_number",
    "phone_number_id",
    "business_account_id",
    "api_key",
    "token",
    "inbox_id",
    "availability",
    "confirm",
];

fn fill(rng: &mut Rng, pattern: &str, accounts: &[String]) -> String {
    let mut out = pattern.to_string();
    while let Some(i) = out.find("{a}") {
        let a = if rng.chance(70) {
            accounts[0].clone()
        } else if rng.chance(50) {
            accounts[1].clone()
        } else {
            rng.pick(HOSTILE_IDS).to_string()
        };
        out.replace_range(i..i + 3, &a);
    }
    for (slot, pick) in [
        ("{id}", None),
        (
            "{phone}",
            Some(&["+15551234567", "15551234567", "%2B1555", "%00", "%FF", "-1"][..]),
        ),
        (
            "{action}",
            Some(
                &[
                    "sync",
                    "delete",
                    "enable",
                    "disable",
                    "register_webhook",
                    "%00",
                    "x",
                ][..],
            ),
        ),
    ] {
        while let Some(i) = out.find(slot) {
            let v = match pick {
                Some(values) => rng.pick(values).to_string(),
                None => rng.pick(HOSTILE_IDS).to_string(),
            };
            out.replace_range(i..i + slot.len(), &v);
        }
    }
    if rng.chance(60) {
        let mut query = Vec::new();
        for _ in 0..=rng.below(3) {
            query.push(format!(
                "{}={}",
                rng.pick(QUERY_KEYS),
                rng.pick(HOSTILE_VALUES)
            ));
        }
        out = format!("{out}?{}", query.join("&"));
    }
    out
}

/// Throws 6,000 generated hostile requests at every route (API with a token, the UI with a
/// session cookie and CSRF token, the webhooks unauthenticated or signed wrongly) and
/// collects every 5xx. `HOSTILE_SEED` and `HOSTILE_CASES` override the defaults.
#[actix_rt::test]
async fn no_hostile_request_answers_5xx() {
    let app = TestApp::start();
    app.create_inbox_direct();
    app.deliver("text.json").await;
    // Another account, whose ids the generator also tries.
    let other = switchboard::domain::accounts::create_admin(
        &mut app.conn(),
        "Other",
        "Olga Other",
        "olga@example.com",
        "other password",
    )
    .unwrap();
    // Give the other account rows of its own, so generated ids hit them too.
    {
        let mut conn = app.conn();
        use diesel::RunQueryDsl;
        for sql in [
            "INSERT INTO teams (account_id, name) VALUES ($1, 'theirs')",
            "INSERT INTO labels (account_id, title, description, color) VALUES ($1, 'theirs', '', '#1f93ff')",
            "INSERT INTO custom_attribute_definitions (account_id, attribute_key, attribute_display_name, attribute_display_type, attribute_model) VALUES ($1, 'content', 'Theirs', 'number', 'conversation_attribute')",
        ] {
            diesel::sql_query(sql)
                .bind::<diesel::sql_types::BigInt, _>(other.account_id)
                .execute(&mut conn)
                .expect(sql);
        }
    }
    // Custom attributes of every type, under keys the generator sends inside
    // `custom_attributes`, so values reach each type's check.
    {
        let mut conn = app.conn();
        use diesel::RunQueryDsl;
        for (key, kind, model, extra) in [
            ("content", "number", "conversation_attribute", ""),
            ("url", "link", "conversation_attribute", ""),
            ("title", "date", "conversation_attribute", ""),
            ("private", "checkbox", "contact_attribute", ""),
            ("color", "list", "contact_attribute", "{Gold,Silver}"),
            ("description", "text", "contact_attribute", "^[a-z]+$"),
        ] {
            diesel::sql_query(
                "INSERT INTO custom_attribute_definitions (account_id, attribute_key, \
                 attribute_display_name, attribute_display_type, attribute_model, \
                 attribute_values, regex_pattern) VALUES ($1, $2, $2, $3, $4, \
                 CASE WHEN $3 = 'list' THEN $5::text[] ELSE '{}' END, \
                 CASE WHEN $3 = 'text' THEN $5 END)",
            )
            .bind::<diesel::sql_types::BigInt, _>(app.account_id)
            .bind::<diesel::sql_types::Text, _>(key)
            .bind::<diesel::sql_types::Text, _>(kind)
            .bind::<diesel::sql_types::Text, _>(model)
            .bind::<diesel::sql_types::Text, _>(extra)
            .execute(&mut conn)
            .expect(key);
        }
    }
    let accounts = vec![app.account_id.to_string(), other.account_id.to_string()];
    let mut browser = Browser::new(&app);
    browser.sign_in("ana@example.com", "correct horse").await;
    let (_, page, _) = browser
        .get(&format!("/app/accounts/{}/settings/teams", app.account_id))
        .await;
    let csrf = Browser::csrf_from(&page);
    let cookies = browser.cookies.clone();

    let seed: u64 = std::env::var("HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe_f00d_0001);
    let cases: usize = std::env::var("HOSTILE_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6000);
    let mut rng = Rng(seed);
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let mut statuses = std::collections::BTreeMap::new();
    for case in 0..cases {
        let ui = rng.chance(30);
        let (method, pattern) = *rng.pick(if ui { UI_ROUTES } else { API_ROUTES });
        let uri = fill(&mut rng, pattern, &accounts);
        let mut req = match method {
            "GET" => test::TestRequest::get(),
            "POST" => test::TestRequest::post(),
            "PATCH" => test::TestRequest::patch(),
            "PUT" => test::TestRequest::put(),
            _ => test::TestRequest::delete(),
        }
        .uri(&uri);
        let mut described = format!("#{case} {method} {uri}");
        if ui {
            for c in &cookies {
                req = req.cookie(c.clone());
            }
            if method == "POST" {
                let mut form: Vec<(String, String)> = (0..rng.below(5))
                    .map(|_| {
                        let v = rng.pick(HOSTILE_VALUES).replace("%00", "\0");
                        (rng.pick(FORM_KEYS).to_string(), v)
                    })
                    .collect();
                if rng.chance(90) {
                    form.push(("csrf_token".into(), csrf.clone()));
                }
                described = format!("{described} form {form:?}");
                req = req.set_form(form);
            }
        } else {
            if !uri.starts_with("/webhooks/") && rng.chance(90) {
                req = req.insert_header(("api_access_token", app.token.clone()));
            }
            if uri.starts_with("/webhooks/") && rng.chance(50) {
                let sig = *rng.pick(&["sha256=", "sha256=ZZ", "md5=1", "sha256=00", ""]);
                req = req.insert_header(("x-hub-signature-256", sig));
            }
            if method != "GET" {
                let (body, content_type) = if uri.starts_with("/webhooks/") && rng.chance(40) {
                    (webhook_fixture("text.json"), "application/json")
                } else {
                    hostile_body(&mut rng)
                };
                described = format!(
                    "{described} {content_type} {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                );
                req = req
                    .insert_header(("content-type", content_type))
                    .set_payload(body);
            }
        }
        let (status, body) = send(&svc, req.to_request()).await;
        *statuses.entry(status).or_insert(0usize) += 1;
        if status >= 500 {
            failures.push(format!("{described}\n  → {status} {body}"));
        }
    }
    eprintln!(
        "{cases} hostile requests (seed {seed:#x}) in {:.1}s; statuses {statuses:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} request(s) answered 5xx:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Found by the generator (seed 4): the inbox list multiplied a hostile `page` and
/// overflowed (500).
#[actix_rt::test]
async fn huge_page_numbers_do_not_overflow() {
    let app = TestApp::start();
    app.create_inbox_direct();
    app.deliver("text.json").await;
    let mut browser = Browser::new(&app);
    browser.sign_in("ana@example.com", "correct horse").await;
    let a = app.account_id;
    for page in [
        "9223372036854775807",
        "-9223372036854775808",
        "0",
        "1000001",
    ] {
        for uri in [
            format!("/app/accounts/{a}/partials/conversations?page={page}"),
            format!("/app/accounts/{a}/conversations?page={page}"),
        ] {
            let (status, body, _) = browser.get(&uri).await;
            assert_eq!(status, 200, "{uri}: {body}");
        }
        let uri = format!("/api/v1/accounts/{a}/conversations?page={page}");
        let (status, body) = app.api("GET", &uri, None, &app.token.clone()).await;
        assert_eq!(status, 200, "{uri}: {body}");
    }
}

/// A `MakeWriter` collecting log output.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The log output of this test binary. A global subscriber (not a scoped one): `tracing`
/// caches per call site whether anyone listens, and tests on other threads hit the same
/// call sites concurrently.
fn captured_log() -> &'static Captured {
    static LOG: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(captured.clone())
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        captured
    })
}

#[actix_rt::test]
async fn the_access_log_line_names_the_method() {
    let log = captured_log();
    let app = TestApp::start();
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let req = test::TestRequest::post()
        .uri("/app/access-log-probe")
        .set_form([("email", "ana@example.com")])
        .to_request();
    let (status, _) = send(&svc, req).await;
    let req = test::TestRequest::get()
        .uri("/app/accounts/424242/search?q=%00&token=secret")
        .to_request();
    let (refused, _) = send(&svc, req).await;
    assert_eq!(refused, 400);
    let text = String::from_utf8_lossy(&log.0.lock().unwrap()).to_string();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("access-log-probe") || l.contains("/424242/"))
        .collect();
    assert!(
        lines.iter().any(|l| l.contains(&format!(
            "switchboard::http: POST /app/access-log-probe {status} "
        ))),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("switchboard::http: GET /app/accounts/424242/search 400 ")),
        "the guard's refusals are logged too: {lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("secret")),
        "no query string in the log: {lines:?}"
    );
}

#[actix_rt::test]
async fn a_channel_secret_alone_signs_for_its_inbox() {
    let body = webhook_fixture("text.json");
    let app = TestApp::start_with(Options {
        global_app_secret: Some("global-secret".into()),
        ..Default::default()
    });
    app.create_inbox(json!({"app_secret": "inbox-app-secret"}))
        .await;
    // The global secret no longer signs for an inbox with a secret of its own.
    let (status, text) = app
        .post_webhook(PHONE, &body, Some(sign("global-secret", &body)))
        .await;
    assert_eq!(status, 401, "{text}");
    assert_eq!(
        app.post_webhook(PHONE, &body, Some(sign("inbox-app-secret", &body)))
            .await
            .0,
        200
    );
    // Uppercase hex is not how Meta signs: refused.
    let sig = sign("inbox-app-secret", &body);
    let upper = format!("sha256={}", sig["sha256=".len()..].to_ascii_uppercase());
    let (status, text) = app.post_webhook(PHONE, &body, Some(upper)).await;
    assert_eq!(status, 401, "{text}");
    assert_eq!(app.count("whatsapp_events"), 1);
}

#[actix_rt::test]
async fn the_global_secret_signs_for_inboxes_without_one() {
    let body = webhook_fixture("text.json");
    let app = TestApp::start_with(Options {
        global_app_secret: Some("global-secret".into()),
        ..Default::default()
    });
    app.create_inbox(json!({"source": "embedded_signup"})).await;
    assert_eq!(
        app.post_webhook(PHONE, &body, Some(sign("global-secret", &body)))
            .await
            .0,
        200
    );
    let sig = sign("global-secret", &body);
    let upper = format!("sha256={}", sig["sha256=".len()..].to_ascii_uppercase());
    assert_eq!(app.post_webhook(PHONE, &body, Some(upper)).await.0, 401);
    assert_eq!(
        app.post_webhook(PHONE, &body, Some(sign("inbox-app-secret", &body)))
            .await
            .0,
        401
    );
    // An unknown number is checked against the global secret too (then 404).
    let (status, _) = app
        .post_webhook("+15550000000", &body, Some(sign("global-secret", &body)))
        .await;
    assert_eq!(status, 404);
}
