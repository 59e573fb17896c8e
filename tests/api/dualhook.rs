//! Dualhook (issue 12): the integration settings API, the signed lifecycle route with every
//! fixture of `../shared/fixtures/dualhook/` (and every negative case its README lists), what
//! each event does to the inbox, and "Connect WhatsApp via Dualhook" end to end: a Dualhook
//! stand-in (wiremock, the fixtures' `rest/` bodies) and a Graph stand-in, an inbox that
//! receives a message on its connection URL and sends a reply.

use crate::common::session::Browser;
use crate::common::*;
use actix_web::{test, App};
use serde_json::{json, Value};
use switchboard::app;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "dh_test_partner_secret_0123456789abcdef";
const API_KEY: &str = "dh_live_test_key_0123456789";
const TOKEN: &str = "EAAGswitchboardTESTtokenNOTreal0123456789abcdefABCDEFghijklmnopQRSTUV";
const CONNECTION: &str = "conn_3Zt8pLw5QeN1";

fn dualhook_fixture(name: &str) -> Vec<u8> {
    let p = format!(
        "{}/../shared/fixtures/dualhook/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn rest(name: &str) -> Value {
    serde_json::from_slice(&dualhook_fixture(&format!("rest/{name}"))).unwrap()
}

/// `(file, event, event id, signature)` of every lifecycle fixture, from `signatures.json`.
fn lifecycle_fixtures() -> Vec<(String, String, String, String)> {
    let table: Value = serde_json::from_slice(&dualhook_fixture("signatures.json")).unwrap();
    assert_eq!(table["secret"], SECRET);
    let mut out: Vec<_> = table["files"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(file, v)| {
            (
                file.clone(),
                v["X-Dualhook-Event"].as_str().unwrap().to_string(),
                v["X-Dualhook-Event-Id"].as_str().unwrap().to_string(),
                v["X-Dualhook-Signature"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    assert_eq!(out.len(), 10);
    out
}

/// The fixture `lifecycle/<name>.json`: bytes, event id and signature.
fn event(name: &str) -> (Vec<u8>, String, String) {
    let file = format!("lifecycle/{name}.json");
    let (_, _, id, sig) = lifecycle_fixtures()
        .into_iter()
        .find(|(f, ..)| *f == file)
        .unwrap_or_else(|| panic!("{file} in signatures.json"));
    (dualhook_fixture(&file), id, sig)
}

async fn post_raw(
    app: &TestApp,
    uri: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> (u16, Value, String) {
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let mut req = test::TestRequest::post()
        .uri(uri)
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_vec());
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let resp = test::call_service(&svc, req.to_request()).await;
    let status = resp.status().as_u16();
    let bytes = test::read_body(resp).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        String::from_utf8_lossy(&bytes).to_string(),
    )
}

/// POSTs a lifecycle body to the account's event URL.
async fn post_event(
    app: &TestApp,
    body: &[u8],
    event_id: Option<&str>,
    signature: Option<&str>,
) -> (u16, Value) {
    let mut headers = vec![];
    if let Some(id) = event_id {
        headers.push(("x-dualhook-event-id", id));
    }
    if let Some(s) = signature {
        headers.push(("x-dualhook-signature", s));
    }
    let uri = format!("/webhooks/dualhook/{}", app.account_id);
    let (status, json, text) = post_raw(app, &uri, body, &headers).await;
    (status, if json.is_null() { json!(text) } else { json })
}

/// Posts a fixture verbatim with its headers; asserts 200 and returns `status`.
async fn deliver_event(app: &TestApp, name: &str) -> String {
    let (body, id, sig) = event(name);
    let (status, json) = post_event(app, &body, Some(&id), Some(&sig)).await;
    assert_eq!(status, 200, "{name}: {json}");
    json["status"].as_str().unwrap().to_string()
}

async fn put_integration(app: &TestApp, body: Value) -> (u16, Value) {
    app.api(
        "PUT",
        &format!("/api/v1/accounts/{}/integrations/dualhook", app.account_id),
        Some(body),
        &app.token.clone(),
    )
    .await
}

async fn configure(app: &TestApp) {
    let (status, json) =
        put_integration(app, json!({"api_key": API_KEY, "partner_secret": SECRET})).await;
    assert_eq!(status, 200, "{json}");
}

async fn run_events(app: &TestApp) -> usize {
    switchboard::jobs::dualhook::run_due(&app.state)
        .await
        .expect("dualhook jobs")
}

/// A Dualhook stand-in: sessions and reveal-secrets with the fixtures' bodies.
async fn dualhook_standin() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/onboarding/sessions"))
        .and(header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(rest("onboarding_session_create_response.json")),
        )
        .mount(&server)
        .await;
    for conn in [CONNECTION, "conn_8Yd4rHs2KuM6"] {
        Mock::given(method("POST"))
            .and(path(format!("/api/v1/connections/{conn}/reveal-secrets")))
            .and(header(
                "authorization",
                format!("Bearer {API_KEY}").as_str(),
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("cache-control", "no-store")
                    .set_body_json(rest("reveal_secrets_response.json")),
            )
            .mount(&server)
            .await;
    }
    server
}

/// A Graph stand-in: template list, the number's fields and sends.
async fn graph_standin() -> MockServer {
    let server = MockServer::start().await;
    mount_graph_defaults(&server).await;
    let number: Value = serde_json::from_slice(
        &std::fs::read(shared_fixture("graph/phone_number_health.json")).unwrap(),
    )
    .unwrap();
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{PHONE_NUMBER_ID}")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(number))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{PHONE_NUMBER_ID}/messages")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
            "messages": [{"id": "wamid.dualhook-reply-1"}]
        })))
        .mount(&server)
        .await;
    server
}

async fn app_with_standins() -> (TestApp, MockServer, MockServer) {
    let dualhook = dualhook_standin().await;
    let graph = graph_standin().await;
    let app = TestApp::start_with(Options {
        graph_base_url: Some(graph.uri()),
        dualhook_base_url: Some(dualhook.uri()),
        ..Default::default()
    });
    (app, dualhook, graph)
}

#[actix_rt::test]
async fn the_integration_api_stores_secrets_encrypted_and_shows_them_masked() {
    let app = TestApp::start();
    let url = format!("/api/v1/accounts/{}/integrations/dualhook", app.account_id);
    let empty = app.get(&url).await;
    assert_eq!(empty["api_key"], Value::Null);
    assert_eq!(empty["partner_secret_set"], false);
    assert_eq!(
        empty["event_url"],
        format!(
            "https://support.example.com/webhooks/dualhook/{}",
            app.account_id
        )
    );
    configure(&app).await;
    let shown = app.get(&url).await;
    assert_eq!(shown["api_key"], "••••6789");
    assert_eq!(shown["partner_secret"], "••••cdef");
    assert_eq!(shown["partner_secret_set"], true);
    assert!(!shown.to_string().contains(SECRET));
    let stored = app.query_json(
        "SELECT to_jsonb(api_key_ciphertext || partner_secret_ciphertext) FROM dualhook_integrations",
    );
    let stored = stored.as_str().unwrap();
    assert!(!stored.contains(SECRET) && !stored.contains(API_KEY));
    // A partial update keeps the other value; "" removes one.
    let (status, after) = put_integration(&app, json!({"api_key": ""})).await;
    assert_eq!(status, 200);
    assert_eq!(after["api_key"], Value::Null);
    assert_eq!(after["partner_secret"], "••••cdef");

    // Bad input: the right 4xx naming the field.
    for (body, field) in [
        (json!({"partner_secret": 42}), "partner_secret"),
        (json!({"api_key": "short"}), "api_key"),
        (json!({"api_key": "dh_live_with\u{0}nul_byte"}), "api_key"),
        (json!({"api_key": "dh live with spaces"}), "api_key"),
        (json!({"partner_secret": "x".repeat(513)}), "partner_secret"),
        (json!({"event_url": "https://evil.example"}), "event_url"),
    ] {
        let (status, json) = put_integration(&app, body.clone()).await;
        assert!(status == 422 || status == 400, "{body}: {status} {json}");
        if status == 422 {
            assert_eq!(json["field"], field, "{body}: {json}");
            assert!(json["message"].as_str().unwrap().contains(field), "{json}");
        }
    }
    let (status, _) = put_integration(&app, json!(["not", "an", "object"])).await;
    assert_eq!(status, 400);
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let req = test::TestRequest::put()
        .uri(&url)
        .insert_header(("api_access_token", app.token.as_str()))
        .insert_header(("content-type", "application/json"))
        .set_payload("{\"api_key\": ")
        .to_request();
    let resp = test::call_service(&svc, req).await;
    assert_eq!(resp.status().as_u16(), 400);

    // Agents may not read or change it; another account's id is not found.
    let (_, agent_token) = app.create_agent("ben@example.com");
    let (status, _) = app.api("GET", &url, None, &agent_token).await;
    assert_eq!(status, 403);
    let (status, _) = app
        .api("PUT", &url, Some(json!({"api_key": API_KEY})), &agent_token)
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .api(
            "GET",
            &format!(
                "/api/v1/accounts/{}/integrations/dualhook",
                app.account_id + 1
            ),
            None,
            &app.token.clone(),
        )
        .await;
    assert!(status == 404 || status == 403, "{status}");
    let (status, _) = app.api("GET", &url, None, "").await;
    assert_eq!(status, 401);
}

#[actix_rt::test]
async fn every_lifecycle_fixture_verifies_and_every_negative_case_is_refused() {
    let app = TestApp::start();
    // Without a partner secret nothing verifies.
    let (body, id, sig) = event("onboarding_started");
    let (status, json) = post_event(&app, &body, Some(&id), Some(&sig)).await;
    assert_eq!(status, 401, "{json}");
    assert!(json["message"].as_str().unwrap().contains("partner secret"));
    configure(&app).await;

    for (file, name, id, sig) in lifecycle_fixtures() {
        let body = dualhook_fixture(&file);
        // Wrong secret.
        let wrong = sign("dh_test_partner_secret_WRONG", &body);
        let (status, _) = post_event(&app, &body, Some(&id), Some(&wrong)).await;
        assert_eq!(status, 401, "{file}: wrong secret");
        // One byte changed after signing.
        let mut altered = body.clone();
        let at = altered.len() / 2;
        altered[at] ^= 0x01;
        let (status, _) = post_event(&app, &altered, Some(&id), Some(&sig)).await;
        assert_eq!(status, 401, "{file}: altered byte");
        // Header missing.
        let (status, json) = post_event(&app, &body, Some(&id), None).await;
        assert_eq!(status, 401, "{file}: missing header");
        assert!(
            json["message"].as_str().unwrap().contains("missing"),
            "{json}"
        );
        // No `sha256=` prefix.
        let bare = sig.trim_start_matches("sha256=");
        let (status, _) = post_event(&app, &body, Some(&id), Some(bare)).await;
        assert_eq!(status, 401, "{file}: no prefix");
        // Uppercase hex.
        let upper = format!("sha256={}", bare.to_ascii_uppercase());
        let (status, _) = post_event(&app, &body, Some(&id), Some(&upper)).await;
        assert_eq!(status, 401, "{file}: uppercase");
        // Nothing was journaled by any of those.
        assert_eq!(
            app.count(&format!("dualhook_events WHERE event_id = '{id}'")),
            0
        );

        // The conflict story is another account's (tenant `account_2`): refused, not
        // recorded, even though its signature is right.
        if file.ends_with("onboarding_failed_waba_webhook_conflict.json") {
            let (status, json) = post_event(&app, &body, Some(&id), Some(&sig)).await;
            assert_eq!(status, 422, "{file}: {json}");
            assert_eq!(json["field"], "data.tenantId");
            assert_eq!(
                app.count(&format!("dualhook_events WHERE event_id = '{id}'")),
                0
            );
            continue;
        }
        // The fixture as signed is accepted once; the second delivery is a duplicate.
        let (status, json) = post_event(&app, &body, Some(&id), Some(&sig)).await;
        assert_eq!(
            (status, json["status"].clone()),
            (200, json!("received")),
            "{file}"
        );
        let (status, json) = post_event(&app, &body, Some(&id), Some(&sig)).await;
        assert_eq!(
            (status, json["status"].clone()),
            (200, json!("duplicate")),
            "{file}"
        );
        assert_eq!(
            app.count(&format!(
                "dualhook_events WHERE event_id = '{id}' AND event = '{name}'"
            )),
            1
        );
        // The raw body is journaled byte for byte.
        let raw = app.query_json(&format!(
            "SELECT to_jsonb(raw_body) FROM dualhook_events WHERE event_id = '{id}'"
        ));
        assert_eq!(raw.as_str().unwrap().as_bytes(), body.as_slice(), "{file}");
    }
    // One job per stored event, none for the duplicates or the other tenant's event.
    assert_eq!(app.count("jobs WHERE kind = 'dualhook_event'"), 9);

    // A signed body without an event id, or that is not an event, is a 400.
    let (body, _, sig) = event("onboarding_started");
    let (status, json) = post_event(&app, &body, None, Some(&sig)).await;
    assert_eq!(status, 400, "{json}");
    assert_eq!(json["field"], "X-Dualhook-Event-Id");
    let junk = b"not json at all";
    let (status, _) = post_event(&app, junk, Some("evt_x"), Some(&sign(SECRET, junk))).await;
    assert_eq!(status, 400);
    let nul = b"{\"event\":\"a\x00\"}";
    let (status, _) = post_event(&app, nul, Some("evt_y"), Some(&sign(SECRET, nul))).await;
    assert!(status == 400 || status == 401, "{status}");
    // Another account's route does not accept this account's signature.
    let (status, _) = post_raw(
        &app,
        &format!("/webhooks/dualhook/{}", app.account_id + 1),
        &body,
        &[
            ("x-dualhook-event-id", "evt_z"),
            ("x-dualhook-signature", &sig),
        ],
    )
    .await
    .into_tuple2();
    assert_eq!(status, 401);
    let (status, _) = post_raw(&app, "/webhooks/dualhook/nope", &body, &[])
        .await
        .into_tuple2();
    assert_eq!(status, 404);
}

trait Tuple2 {
    fn into_tuple2(self) -> (u16, Value);
}
impl Tuple2 for (u16, Value, String) {
    fn into_tuple2(self) -> (u16, Value) {
        (self.0, self.1)
    }
}

#[actix_rt::test]
async fn the_lifecycle_story_creates_the_inbox_and_follows_mode_heartbeat_and_disconnect() {
    let (app, _dualhook, graph) = app_with_standins().await;
    configure(&app).await;
    assert_eq!(deliver_event(&app, "onboarding_started").await, "received");
    assert_eq!(
        deliver_event(&app, "onboarding_completed_coexistence").await,
        "received"
    );
    assert_eq!(run_events(&app).await, 2);

    // The inbox: number from Graph, source dualhook, token revealed and stored encrypted.
    let channel = app.query_json(
        "SELECT to_jsonb(c) FROM channel_whatsapp c WHERE phone_number_id = '106540352242922'",
    );
    assert_eq!(channel["phone_number"], PHONE);
    assert_eq!(channel["source"], "dualhook");
    assert_eq!(channel["business_account_id"], WABA_ID);
    let cipher = channel["api_key_ciphertext"].as_str().unwrap();
    assert!(!cipher.contains("EAAG"));
    assert_eq!(app.state.secrets.decrypt(cipher).unwrap(), TOKEN);
    let inbox_id = app
        .query_json("SELECT to_jsonb(inbox_id) FROM dualhook_inboxes")
        .as_i64()
        .unwrap();
    let inbox = app.query_json(&format!(
        "SELECT to_jsonb(i) FROM inboxes i WHERE id = {inbox_id}"
    ));
    assert_eq!(inbox["name"], "Acme Support");
    assert!(
        !inbox["templates_next_sync_at"].is_null(),
        "template sync scheduled"
    );
    // The template sync (existing job) runs against the Graph stand-in with the token.
    switchboard::jobs::template_sync::sync_inbox(&app.state, inbox_id)
        .await
        .expect("template sync");
    let template_calls = graph
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/message_templates"))
        .count();
    assert!(template_calls >= 1);
    // Both events are in the inbox's audit list (started joined it through its session).
    assert_eq!(
        app.count(&format!(
            "dualhook_events WHERE inbox_id = {inbox_id} AND status = 'processed'"
        )),
        2
    );

    // Meta's messages reach it without X-Hub-Signature-256 (Dualhook's app signs them).
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    assert_eq!(app.count("conversations"), 1);

    let mut b = Browser::new(&app);
    b.sign_in("ana@example.com", "correct horse").await;
    let page = format!(
        "/app/accounts/{}/settings/inboxes/{inbox_id}",
        app.account_id
    );

    deliver_event(&app, "connection_mode_resolved").await;
    deliver_event(&app, "connection_heartbeat_due_soon").await;
    run_events(&app).await;
    let (status, html, _) = b.get(&page).await;
    assert_eq!(status, 200);
    assert!(html.contains("Coexistence"), "mode shown");
    assert!(
        html.contains("Heartbeat due soon for Acme Support"),
        "{html}"
    );
    assert!(html.contains("before 2026-05-14 10:06 UTC"));
    assert!(html.contains("connection.heartbeat.due_soon"));

    deliver_event(&app, "connection_heartbeat_overdue").await;
    run_events(&app).await;
    let (_, html, _) = b.get(&page).await;
    assert!(html.contains("Heartbeat overdue for Acme Support"));
    // The integrations page shows the banner to administrators too.
    let (_, settings, _) = b
        .get(&format!(
            "/app/accounts/{}/settings/integrations/dualhook",
            app.account_id
        ))
        .await;
    assert!(settings.contains("Heartbeat overdue for Acme Support"));

    deliver_event(&app, "connection_heartbeat_confirmed").await;
    run_events(&app).await;
    let (_, html, _) = b.get(&page).await;
    assert!(
        !html.contains("Heartbeat overdue for"),
        "confirmed clears the banner"
    );
    assert!(!html.contains("Heartbeat due soon for"));
    assert!(!html.contains("warning dualhook-heartbeat"));
    assert!(html.contains("OK · next due 2026-05-27 15:20 UTC"));

    // An older event arriving late does not move the heartbeat back.
    let state = app.query_json(&format!(
        "SELECT to_jsonb(heartbeat_status) FROM dualhook_inboxes WHERE inbox_id = {inbox_id}"
    ));
    assert_eq!(state, "OK");

    // Disconnect: marked, administrators emailed, sends refused with the reason.
    let display_id = app
        .query_json("SELECT to_jsonb(display_id) FROM conversations LIMIT 1")
        .as_i64()
        .unwrap();
    let emails_before = app.count("jobs WHERE kind = 'email'");
    deliver_event(&app, "connection_disconnected").await;
    run_events(&app).await;
    assert_eq!(app.count("jobs WHERE kind = 'email'"), emails_before + 1);
    let mail =
        app.query_json("SELECT payload FROM jobs WHERE kind = 'email' ORDER BY id DESC LIMIT 1");
    assert!(mail.to_string().contains("ana@example.com"), "{mail}");
    assert!(mail.to_string().contains("token revoked"), "{mail}");
    let (status, json) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/conversations/{display_id}/messages",
                app.account_id
            ),
            Some(json!({"content": "Are you there?"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 422, "{json}");
    assert_eq!(json["field"], "inbox");
    assert!(json["message"]
        .as_str()
        .unwrap()
        .contains("disconnected in Dualhook"));
    // Private notes still work.
    let (status, _) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/conversations/{display_id}/messages",
                app.account_id
            ),
            Some(json!({"content": "call them instead", "private": true})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200);
    let (_, html, _) = b.get(&page).await;
    assert!(html.contains("Disconnected."));
    assert!(html.contains("connection.disconnected"));

    // A redelivered event changes nothing.
    let jobs = app.count("jobs");
    assert_eq!(
        deliver_event(&app, "connection_disconnected").await,
        "duplicate"
    );
    assert_eq!(app.count("jobs"), jobs);
}

#[actix_rt::test]
async fn onboarding_failures_and_side_stories_are_recorded() {
    let (app, _d, _g) = app_with_standins().await;
    configure(&app).await;
    deliver_event(&app, "onboarding_failed_expired").await;
    // The conflict fixture is tenant `account_2`'s: told as this account's own story.
    let (body, id, _) = event("onboarding_failed_waba_webhook_conflict");
    let body = as_tenant(&body, app.account_id);
    let (status, json) = post_event(&app, &body, Some(&id), Some(&sign(SECRET, &body))).await;
    assert_eq!(status, 200, "{json}");
    // Connection events for a connection without an inbox are recorded, not applied.
    deliver_event(&app, "connection_heartbeat_due_soon").await;
    assert_eq!(run_events(&app).await, 3);
    let summaries = app.query_json("SELECT jsonb_agg(summary ORDER BY id) FROM dualhook_events");
    assert_eq!(app.count("dualhook_events WHERE status = 'waiting'"), 1);
    let s = summaries.to_string();
    assert!(s.contains("onboarding link expired"), "{s}");
    assert!(
        s.contains("another account already connected WhatsApp Business Account 102290129340398"),
        "{s}"
    );
    assert!(s.contains("No inbox is connected"), "{s}");
    assert_eq!(app.count("inboxes"), 0);

    // The cloud API completion creates the inbox without heartbeat.
    deliver_event(&app, "onboarding_completed_cloud_api").await;
    run_events(&app).await;
    let state = app.query_json("SELECT to_jsonb(d) FROM dualhook_inboxes d");
    assert_eq!(state["connection_mode"], "cloud_api");
    assert_eq!(state["heartbeat_status"], Value::Null);
}

#[actix_rt::test]
async fn a_missing_api_key_fails_the_completion_with_a_reason() {
    let app = TestApp::start();
    let (status, _) = put_integration(&app, json!({"partner_secret": SECRET})).await;
    assert_eq!(status, 200);
    deliver_event(&app, "onboarding_completed_coexistence").await;
    run_events(&app).await;
    let row = app.query_json("SELECT to_jsonb(e) FROM dualhook_events e");
    assert_eq!(row["status"], "failed");
    assert!(row["error"].as_str().unwrap().contains("API key"));
}

#[actix_rt::test]
async fn connect_via_dualhook_end_to_end_receives_and_replies() {
    let (app, dualhook, graph) = app_with_standins().await;
    let mut b = Browser::new(&app);
    b.sign_in("ana@example.com", "correct horse").await;
    let page = format!(
        "/app/accounts/{}/settings/integrations/dualhook",
        app.account_id
    );
    // Without an API key Connect explains what to do.
    let (status, html, _) = b
        .submit(
            &page,
            &format!("{page}/connect"),
            &[("inbox_name", "Acme Support")],
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("save your Dualhook API key first"));
    // Save through the page (masked afterwards).
    let (status, _, location) = b
        .submit(
            &page,
            &page,
            &[("api_key", API_KEY), ("partner_secret", SECRET)],
        )
        .await;
    assert_eq!(status, 303);
    assert!(location.unwrap().contains("notice="));
    let (_, html, _) = b.get(&page).await;
    assert!(html.contains("••••6789") && !html.contains(API_KEY) && !html.contains(SECRET));
    // A bad value re-renders with the message.
    let (status, html, _) = b.submit(&page, &page, &[("api_key", "bad key")]).await;
    assert_eq!(status, 422);
    assert!(html.contains("api_key must not contain spaces"));
    let (status, _, _) = b
        .submit(&page, &format!("{page}/connect"), &[("inbox_name", "  ")])
        .await;
    assert_eq!(status, 422);

    // Connect: a session with an Idempotency-Key, and the browser goes to Dualhook.
    let (status, _, location) = b
        .submit(
            &page,
            &format!("{page}/connect"),
            &[("inbox_name", "Acme Support")],
        )
        .await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert!(
        location.contains("/settings/integrations/dualhook?connect="),
        "{location}"
    );
    let (_, forward, _) = b.get(&location).await;
    assert!(
        forward.contains("<meta http-equiv=\"refresh\" content=\"0;url="),
        "{forward}"
    );
    assert!(forward.contains("onboard") && forward.contains("ot_Jk3Wq8Zr5Tn2Vb6Xc9Md"));
    assert!(forward.contains("Continue to Dualhook"));
    let sessions: Vec<Request> = dualhook
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/api/v1/onboarding/sessions")
        .collect();
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0].headers.get("idempotency-key").is_some());
    let sent: Value = serde_json::from_slice(&sessions[0].body).unwrap();
    let expected_keys = rest("onboarding_session_create_request.json");
    for k in expected_keys.as_object().unwrap().keys() {
        assert!(sent.get(k).is_some(), "session request has {k}: {sent}");
    }
    assert_eq!(sent["tenantId"], format!("account_{}", app.account_id));
    let hook_url = sent["webhookOverrideUrl"].as_str().unwrap().to_string();
    let key = hook_url
        .strip_prefix("https://support.example.com/webhooks/whatsapp/c/")
        .expect("a connection URL")
        .to_string();
    assert_eq!(key.len(), 48);
    let verify_token = sent["webhookVerifyToken"].as_str().unwrap().to_string();
    assert!(sent["successRedirectUrl"]
        .as_str()
        .unwrap()
        .ends_with("/settings/integrations/dualhook?onboarding=completed"));
    let (_, html, _) = b.get(&page).await;
    assert!(html.contains(&hook_url) && html.contains("pending"));

    // The preflight handshake on the connection URL.
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let get = |q: String| test::TestRequest::get().uri(&q).to_request();
    let resp = test::call_service(
        &svc,
        get(format!(
            "/webhooks/whatsapp/c/{key}?hub.mode=subscribe&hub.verify_token={verify_token}&hub.challenge=8675309"
        )),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(test::read_body(resp).await, "8675309");
    for q in [
        format!("/webhooks/whatsapp/c/{key}?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1"),
        format!("/webhooks/whatsapp/c/{}?hub.mode=subscribe&hub.verify_token={verify_token}&hub.challenge=1", "0".repeat(48)),
        format!("/webhooks/whatsapp/c/short?hub.mode=subscribe&hub.verify_token={verify_token}&hub.challenge=1"),
    ] {
        let resp = test::call_service(&svc, get(q.clone())).await;
        assert_eq!(resp.status().as_u16(), 401, "{q}");
    }

    // Before the onboarding completes, no inbox answers on the URL.
    let text = with_current_timestamps(&webhook_fixture("text.json"));
    let conn_uri = format!("/webhooks/whatsapp/c/{key}");
    let (status, _, body) = post_raw(&app, &conn_uri, &text, &[]).await;
    assert_eq!(status, 404, "{body}");

    // onboarding.completed (its session is the one the stand-in created).
    deliver_event(&app, "onboarding_completed_coexistence").await;
    run_events(&app).await;
    let (_, html, _) = b.get(&page).await;
    assert!(html.contains("connected"), "{html}");
    let inbox_id = app
        .query_json(
            "SELECT to_jsonb(inbox_id) FROM dualhook_inboxes WHERE connection_row_id IS NOT NULL",
        )
        .as_i64()
        .expect("the inbox belongs to the connection");
    let (_, inboxes_html, _) = b
        .get(&format!(
            "/app/accounts/{}/settings/inboxes",
            app.account_id
        ))
        .await;
    assert!(inboxes_html.contains("Acme Support"));

    // A message on the connection URL is journaled for that inbox like the message route.
    let (status, json, body) = post_raw(&app, &conn_uri, &text, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json["status"], "received");
    app.ingest();
    let conv = app.query_json("SELECT to_jsonb(c) FROM conversations c LIMIT 1");
    assert_eq!(conv["inbox_id"], inbox_id);
    // Another WABA, an unknown number, junk and NUL bytes are refused.
    let mut foreign: Value = serde_json::from_slice(&text).unwrap();
    foreign["entry"][0]["id"] = json!("999999999999999");
    let (status, json, _) = post_raw(&app, &conn_uri, foreign.to_string().as_bytes(), &[]).await;
    assert_eq!(status, 422, "{json}");
    assert_eq!(json["field"], "entry.id");
    let mut unknown: Value = serde_json::from_slice(&text).unwrap();
    unknown["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] =
        json!("106500000000000");
    let (status, _, _) = post_raw(&app, &conn_uri, unknown.to_string().as_bytes(), &[]).await;
    assert_eq!(status, 404);
    let (status, _, _) = post_raw(&app, &conn_uri, b"{not json", &[]).await;
    assert_eq!(status, 400);
    let (status, _, _) = post_raw(&app, &conn_uri, b"{\"entry\":[]}\0", &[]).await;
    assert_eq!(status, 400);

    // A reply goes out through the Graph stand-in with the revealed token.
    let display_id = conv["display_id"].as_i64().unwrap();
    let (status, json) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/conversations/{display_id}/messages",
                app.account_id
            ),
            Some(json!({"content": "Hello from Switchboard"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200, "{json}");
    app.run_send_jobs().await;
    let sends: Vec<Value> = graph
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == format!("/v25.0/{PHONE_NUMBER_ID}/messages"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0]["text"]["body"], "Hello from Switchboard");
    let sent = app.query_json(&format!(
        "SELECT to_jsonb(source_id) FROM messages WHERE id = {}",
        json["id"]
    ));
    assert_eq!(sent, "wamid.dualhook-reply-1");
}

#[actix_rt::test]
async fn a_refused_session_is_shown_in_words() {
    let dualhook = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/onboarding/sessions"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(rest("error_webhook_preflight_failed.json")),
        )
        .mount(&dualhook)
        .await;
    let app = TestApp::start_with(Options {
        dualhook_base_url: Some(dualhook.uri()),
        ..Default::default()
    });
    configure(&app).await;
    let mut b = Browser::new(&app);
    b.sign_in("ana@example.com", "correct horse").await;
    let page = format!(
        "/app/accounts/{}/settings/integrations/dualhook",
        app.account_id
    );
    let (status, html, _) = b
        .submit(&page, &format!("{page}/connect"), &[("inbox_name", "Acme")])
        .await;
    assert_eq!(status, 502);
    assert!(html.contains("could not verify Switchboard"), "{html}");
    assert!(html.contains("endpoint_http_error"));
    assert_eq!(app.count("dualhook_connections WHERE status = 'failed'"), 1);
}

#[actix_rt::test]
async fn the_lifecycle_route_answers_503_when_the_database_is_down() {
    let storage = std::env::temp_dir().join("switchboard-test-dualhook-down");
    let mut config = config_for(
        "postgres://postgres@127.0.0.1:1/switchboard",
        &storage,
        &Options::default(),
    );
    config.database_pool_timeout_ms = 500;
    let state = switchboard::app::AppState::new(config);
    let svc = test::init_service(App::new().configure(app::configure(state.clone()))).await;
    let (body, id, sig) = event("onboarding_started");
    let req = test::TestRequest::post()
        .uri("/webhooks/dualhook/1")
        .insert_header(("x-dualhook-event-id", id.as_str()))
        .insert_header(("x-dualhook-signature", sig.as_str()))
        .set_payload(body)
        .to_request();
    let resp = test::call_service(&svc, req).await;
    assert_eq!(resp.status().as_u16(), 503);
}

/// The fixture's bytes with its tenant (`account_1` or `account_2`) and
/// `switchboard_account_id` made `account_id`'s (re-sign before posting).
fn as_tenant(body: &[u8], account_id: i64) -> Vec<u8> {
    let text = String::from_utf8(body.to_vec()).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["data"]["tenantId"] = json!(format!("account_{account_id}"));
    if v["data"]["metadata"].is_object() {
        v["data"]["metadata"]["switchboard_account_id"] = json!(account_id);
    }
    serde_json::to_vec(&v).unwrap()
}

// Issue 12 (h12): connection events that arrive before `onboarding.completed` created their
// inbox wait, and are applied in order when it is created.
#[actix_rt::test]
async fn connection_events_before_their_inbox_are_applied_when_it_is_created() {
    let (app, _dualhook, _graph) = app_with_standins().await;
    configure(&app).await;
    // Dualhook delivers the mode and a heartbeat before the completion (ordering is not
    // promised); an event naming only the number waits too.
    deliver_event(&app, "connection_heartbeat_due_soon").await;
    deliver_event(&app, "connection_mode_resolved").await;
    let (body, _, _) = event("connection_heartbeat_overdue");
    let mut only_number: Value = serde_json::from_slice(&body).unwrap();
    only_number["data"]
        .as_object_mut()
        .unwrap()
        .remove("connectionId");
    let only_number = serde_json::to_vec(&only_number).unwrap();
    let (status, json) = post_event(
        &app,
        &only_number,
        Some("evt_number_only"),
        Some(&sign(SECRET, &only_number)),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(run_events(&app).await, 3);
    assert_eq!(app.count("inboxes"), 0);
    assert_eq!(app.count("dualhook_events WHERE status = 'waiting'"), 3);
    let summary = app.query_json(
        "SELECT to_jsonb(summary) FROM dualhook_events WHERE event = 'connection.mode_resolved'",
    );
    assert!(
        summary
            .as_str()
            .unwrap()
            .contains("applied when onboarding creates the inbox"),
        "{summary}"
    );
    // Running the jobs again changes nothing.
    assert_eq!(run_events(&app).await, 0);

    deliver_event(&app, "onboarding_completed_coexistence").await;
    run_events(&app).await;
    let state = app.query_json("SELECT to_jsonb(d) FROM dualhook_inboxes d");
    let inbox_id = state["inbox_id"].as_i64().unwrap();
    // The mode from `connection.mode_resolved` (10:07:30, after the completion at 10:06:47).
    assert_eq!(state["connection_mode"], "coexistence");
    assert!(
        state["mode_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-05-01T10:07:30"),
        "{state}"
    );
    // The heartbeats in `createdAt` order: due soon (05-11), then overdue (05-14) wins.
    assert_eq!(state["heartbeat_status"], "OVERDUE", "{state}");
    assert!(
        state["heartbeat_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-05-14T10:07:03"),
        "{state}"
    );
    assert_eq!(app.count("dualhook_events WHERE status = 'waiting'"), 0);
    assert_eq!(
        app.count(&format!(
            "dualhook_events WHERE status = 'processed' AND inbox_id = {inbox_id}"
        )),
        4
    );
    // A disconnection older than a new completion is superseded, not applied.
    let (body, _, _) = event("connection_disconnected");
    let mut old: Value = serde_json::from_slice(&body).unwrap();
    old["createdAt"] = json!("2026-04-30T00:00:00Z");
    old["data"]["connectionId"] = json!("conn_8Yd4rHs2KuM6");
    let old = serde_json::to_vec(&old).unwrap();
    let (status, _) = post_event(&app, &old, Some("evt_old_disc"), Some(&sign(SECRET, &old))).await;
    assert_eq!(status, 200);
    run_events(&app).await;
    let (body, _, _) = event("onboarding_completed_cloud_api");
    let mut again: Value = serde_json::from_slice(&body).unwrap();
    again["id"] = json!("evt_again");
    let again = serde_json::to_vec(&again).unwrap();
    let (status, _) =
        post_event(&app, &again, Some("evt_again"), Some(&sign(SECRET, &again))).await;
    assert_eq!(status, 200);
    run_events(&app).await;
    let state = app.query_json("SELECT to_jsonb(d) FROM dualhook_inboxes d");
    assert_eq!(state["disconnected_at"], Value::Null, "{state}");
    let summary = app.query_json(
        "SELECT to_jsonb(summary) FROM dualhook_events WHERE event_id = 'evt_old_disc'",
    );
    assert!(
        summary.as_str().unwrap().starts_with("Superseded"),
        "{summary}"
    );
}

// Issue 12 (h12): `tenantId` is Switchboard's `account_<id>`; an event for another tenant is
// refused on this account's URL, with nothing recorded or applied.
#[actix_rt::test]
async fn an_event_for_another_tenant_is_refused() {
    let app = TestApp::start();
    configure(&app).await;
    let (body, id, _) = event("connection_disconnected");
    let other = as_tenant(&body, app.account_id + 41);
    let (status, json) = post_event(&app, &other, Some(&id), Some(&sign(SECRET, &other))).await;
    assert_eq!(status, 422, "{json}");
    assert_eq!(json["field"], "data.tenantId");
    let message = json["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("account_{}", app.account_id + 41))
            && message.contains(&format!("account_{}", app.account_id)),
        "{message}"
    );
    // A tenantId that is not even a string, and metadata naming another account.
    let mut v: Value = serde_json::from_slice(&body).unwrap();
    v["data"]["tenantId"] = json!(7);
    let odd = serde_json::to_vec(&v).unwrap();
    let (status, _) = post_event(&app, &odd, Some("evt_odd"), Some(&sign(SECRET, &odd))).await;
    assert_eq!(status, 422);
    let (body, _, _) = event("onboarding_started");
    let mut v: Value = serde_json::from_slice(&as_tenant(&body, app.account_id)).unwrap();
    v["data"]["metadata"]["switchboard_account_id"] = json!(app.account_id + 1);
    let meta = serde_json::to_vec(&v).unwrap();
    let (status, json) =
        post_event(&app, &meta, Some("evt_meta"), Some(&sign(SECRET, &meta))).await;
    assert_eq!(status, 422, "{json}");
    assert_eq!(json["field"], "data.metadata.switchboard_account_id");
    assert_eq!(app.count("dualhook_events"), 0);
    assert_eq!(app.count("jobs WHERE kind = 'dualhook_event'"), 0);
    // Its own tenant is accepted.
    let own = as_tenant(&body, app.account_id);
    let (status, _) = post_event(&app, &own, Some(&id), Some(&sign(SECRET, &own))).await;
    assert_eq!(status, 200);
    assert_eq!(app.count("dualhook_events"), 1);
}
