//! Issue 12: sibling numbers on one webhook URL, management events (on the message route and
//! at the app-level callback) and number health (Graph refresh, banner, one email per drop).

use crate::common::session::Browser;
use crate::common::*;
use actix_web::{test, App};
use serde_json::{json, Value};
use switchboard::app;
use switchboard::domain::{inboxes, templates};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SIBLING_PHONE: &str = "+15557654321";
const SIBLING_PNID: &str = "106540352242999";

/// A second inbox of the fixtures' WABA (a sibling number).
fn create_sibling(app: &TestApp, waba: &str) -> i64 {
    let (inbox, _) = inboxes::create(
        &mut app.conn(),
        &app.state.secrets,
        app.account_id,
        inboxes::NewWhatsappInbox {
            name: "Sales".into(),
            phone_number: SIBLING_PHONE.into(),
            phone_number_id: SIBLING_PNID.into(),
            business_account_id: waba.into(),
            api_key: "EAAG-sibling-token-5678".into(),
            ..Default::default()
        },
    )
    .expect("sibling inbox");
    app.state.phone_cache.clear();
    inbox.id
}

/// The text fixture as sent to another number (`pnid`) of WABA `waba`, with its own wamid.
fn text_for(pnid: &str, waba: &str, wamid_suffix: &str) -> Vec<u8> {
    let body = String::from_utf8(webhook_fixture("text.json")).unwrap();
    let mut v: Value = serde_json::from_str(&body).unwrap();
    v["entry"][0]["id"] = json!(waba);
    let value = &mut v["entry"][0]["changes"][0]["value"];
    value["metadata"]["phone_number_id"] = json!(pnid);
    let id = value["messages"][0]["id"].as_str().unwrap().to_string();
    value["messages"][0]["id"] = json!(format!("{id}{wamid_suffix}"));
    serde_json::to_vec(&v).unwrap()
}

fn dualhook_management(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../shared/fixtures/dualhook/management/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn meta_management(name: &str) -> Vec<u8> {
    std::fs::read(shared_fixture(&format!("management/{name}"))).unwrap()
}

async fn post_with_headers(
    app: &TestApp,
    uri: &str,
    body: &[u8],
    headers: &[(&str, String)],
) -> (u16, String) {
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let mut req = test::TestRequest::post()
        .uri(uri)
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_vec());
    for (k, v) in headers {
        req = req.insert_header((*k, v.clone()));
    }
    let resp = test::call_service(&svc, req.to_request()).await;
    let status = resp.status().as_u16();
    let bytes = test::read_body(resp).await;
    (status, String::from_utf8_lossy(&bytes).to_string())
}

async fn admin(app: &TestApp) -> Browser<'_> {
    let mut b = Browser::new(app);
    b.sign_in("ana@example.com", "correct horse").await;
    b
}

async fn settings_page(b: &mut Browser<'_>, inbox_id: i64, query: &str) -> String {
    let app = b.app;
    let (status, html, _) = b
        .get(&format!(
            "/app/accounts/{}/settings/inboxes/{inbox_id}{query}",
            app.account_id
        ))
        .await;
    assert_eq!(status, 200, "{html}");
    html
}

fn seed_templates(app: &TestApp, inbox_id: i64) {
    let t = |id: &str, name: &str, lang: &str, status: &str, cat: &str| templates::SyncedTemplate {
        external_id: Some(id.into()),
        name: name.into(),
        language: lang.into(),
        status: status.into(),
        category: Some(cat.into()),
        parameter_format: "POSITIONAL".into(),
        components: json!([{"type": "BODY", "text": "Hello"}]),
    };
    templates::replace_all(
        &mut app.conn(),
        app.account_id,
        inbox_id,
        &[
            t(
                "1689556908129832",
                "order_update_v1",
                "en_US",
                "PENDING",
                "UTILITY",
            ),
            t(
                "1689556908129835",
                "abandoned_cart",
                "en",
                "PENDING",
                "MARKETING",
            ),
            t(
                "278077987957091",
                "welcome_template",
                "en_US",
                "APPROVED",
                "UTILITY",
            ),
            t(
                "1304694804498707",
                "reservation_confirmation",
                "en_US",
                "APPROVED",
                "UTILITY",
            ),
        ],
        chrono::Utc::now(),
    )
    .unwrap();
}

fn count_messages(app: &TestApp, inbox_id: i64) -> i64 {
    app.count(&format!(
        "messages WHERE inbox_id = {inbox_id} AND message_type = 0"
    ))
}

#[actix_rt::test]
async fn sibling_numbers_share_one_url_and_strangers_are_refused_and_shown() {
    let app = TestApp::start();
    let (own, _) = app.create_inbox_direct();
    let sibling = create_sibling(&app, WABA_ID);

    // Both numbers' messages arrive at the first number's URL: each lands in its own inbox.
    let (status, text) = app
        .post_webhook(PHONE, &text_for(PHONE_NUMBER_ID, WABA_ID, ""), None)
        .await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = app
        .post_webhook(PHONE, &text_for(SIBLING_PNID, WABA_ID, "-sib"), None)
        .await;
    assert_eq!(status, 200, "{text}");
    app.ingest();
    assert_eq!(count_messages(&app, own.id), 1);
    assert_eq!(count_messages(&app, sibling), 1);

    // One POST carrying both numbers' changes: both processed.
    let mut both: Value =
        serde_json::from_slice(&text_for(PHONE_NUMBER_ID, WABA_ID, "-b1")).unwrap();
    let other: Value = serde_json::from_slice(&text_for(SIBLING_PNID, WABA_ID, "-b2")).unwrap();
    both["entry"][0]["changes"]
        .as_array_mut()
        .unwrap()
        .push(other["entry"][0]["changes"][0].clone());
    app.deliver_bytes(&serde_json::to_vec(&both).unwrap()).await;
    assert_eq!(count_messages(&app, own.id), 2);
    assert_eq!(count_messages(&app, sibling), 2);

    // An unknown number of the same WABA: refused, recorded with its ids.
    let (status, text) = app
        .post_webhook(PHONE, &text_for("1065999999", WABA_ID, "-x"), None)
        .await;
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("create an inbox for it"), "{text}");
    // The sibling's number under another WABA: refused too (never routed across WABAs).
    let (status, text) = app
        .post_webhook(PHONE, &text_for(SIBLING_PNID, "999000111", "-y"), None)
        .await;
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("\"field\":\"entry.id\""), "{text}");
    app.ingest();
    assert_eq!(count_messages(&app, sibling), 2, "nothing crossed WABAs");

    // A mixed body (a sibling's message and a stranger's) is accepted: the sibling's message is
    // never dropped, the stranger's change is recorded.
    let mut mixed: Value = serde_json::from_slice(&text_for(SIBLING_PNID, WABA_ID, "-m1")).unwrap();
    let stranger: Value = serde_json::from_slice(&text_for("1065888888", WABA_ID, "-m2")).unwrap();
    mixed["entry"][0]["changes"]
        .as_array_mut()
        .unwrap()
        .push(stranger["entry"][0]["changes"][0].clone());
    app.deliver_bytes(&serde_json::to_vec(&mixed).unwrap())
        .await;
    assert_eq!(count_messages(&app, sibling), 3);

    // Management events of another WABA: refused too, named by WABA.
    let foreign = String::from_utf8(dualhook_management("account_alerts.json"))
        .unwrap()
        .replace(WABA_ID, "777000777");
    let (status, text) = app.post_webhook(PHONE, foreign.as_bytes(), None).await;
    assert_eq!(status, 422, "{text}");
    assert!(
        text.contains("WABA 777000777 is not +15551234567"),
        "{text}"
    );

    let mut b = admin(&app).await;
    let html = settings_page(&mut b, own.id, "").await;
    assert!(
        html.contains("Account events for WABA 777000777 arrive here"),
        "{html}"
    );
    assert!(
        html.contains(
            "Messages for 1065999999 (WABA 102290129340398) arrive here: create an inbox for it"
        ),
        "{html}"
    );
    assert!(html.contains("Messages for 106540352242999 (WABA 999000111)"));
    assert!(html.contains("Messages for 1065888888"));

    // The API shows the same in the inbox's own `health` object; existing fields unchanged.
    let json = app
        .get(&format!(
            "/api/v1/accounts/{}/inboxes/{}",
            app.account_id, own.id
        ))
        .await;
    assert_eq!(json["id"], json!(own.id));
    let refused = json["health"]["refused_routes"].as_array().unwrap();
    assert!(refused
        .iter()
        .any(|r| r["phone_number_id"] == json!("1065999999") && r["count"] == json!(1)));
}

#[actix_rt::test]
async fn management_events_change_what_the_inbox_and_templates_show() {
    let app = TestApp::start();
    let (inbox, _) = app.create_inbox_direct();
    seed_templates(&app, inbox.id);
    let dualhook = [("x-dualhook-event", "webhook.forward".to_string())];

    for name in [
        "message_template_status_update.json",
        "message_template_status_update_rejected.json",
        "message_template_quality_update.json",
        "template_category_update_scheduled.json",
        "phone_number_name_update.json",
        "account_alerts.json",
        "account_review_update.json",
        "business_capability_update.json",
        "security.json",
    ] {
        let (status, text) = post_with_headers(
            &app,
            &format!("/webhooks/whatsapp/{PHONE}"),
            &dualhook_management(name),
            &dualhook,
        )
        .await;
        assert_eq!(status, 200, "{name}: {text}");
    }
    // Meta's impending recategorisation of another template, forwarded without headers.
    let (status, _) = app
        .post_webhook(
            PHONE,
            &meta_management("template_category_update_impending.json"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    app.ingest();
    assert_eq!(app.count("whatsapp_events WHERE status <> 'processed'"), 0);

    let mut b = admin(&app).await;
    let html = settings_page(&mut b, inbox.id, "").await;
    // Template list: approved, rejected with its reason, quality, pending recategorisation.
    assert!(
        html.contains("INVALID_FORMAT: The body has a variable at the very start"),
        "{html}"
    );
    assert!(
        html.contains("Becomes MARKETING on 2026-05-09 08:00 UTC"),
        "{html}"
    );
    assert!(
        html.contains("Becomes MARKETING on 2025-11-21 08:00 UTC"),
        "{html}"
    );
    assert!(html.contains(">YELLOW<"), "{html}");
    // Number health: display name, alert, review, capabilities and security events.
    assert!(html.contains("Acme Support · APPROVED"), "{html}");
    assert!(html.contains("INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED"));
    assert!(html.contains("Decision: APPROVED"));
    assert!(html.contains("Capabilities: messaging limit 2000, numbers per WABA 25"));
    assert!(html.contains("Security: PIN_RESET_REQUEST"));

    // Filters by status, category and quality.
    let section = |html: String| {
        let from = html.find("id=\"template-signals\"").unwrap();
        let to = from + html[from..].find("</section>").unwrap();
        html[from..to].to_string()
    };
    let rejected = section(settings_page(&mut b, inbox.id, "?tpl_status=REJECTED").await);
    assert!(rejected.contains("abandoned_cart"));
    assert!(!rejected.contains(">order_update_v1<"));
    let yellow = section(settings_page(&mut b, inbox.id, "?tpl_quality=YELLOW").await);
    assert!(yellow.contains(">order_update_v1<"));
    assert!(!yellow.contains(">abandoned_cart<"));
    let marketing = section(settings_page(&mut b, inbox.id, "?tpl_category=MARKETING").await);
    assert!(marketing.contains(">abandoned_cart<"));
    assert!(!marketing.contains(">welcome_template<"));

    let status_of = |name: &str| {
        app.query_json(&format!(
            "SELECT to_jsonb(status) FROM message_templates WHERE name = '{name}'"
        ))
    };
    assert_eq!(status_of("order_update_v1"), json!("APPROVED"));
    assert_eq!(status_of("abandoned_cart"), json!("REJECTED"));

    // The completed recategorisation changes the category and clears the pending one.
    app.deliver_bytes(&dualhook_management("template_category_update.json"))
        .await;
    let html = settings_page(&mut b, inbox.id, "").await;
    assert!(!html.contains("Becomes MARKETING on 2026-05-09"), "{html}");
    assert!(html.contains("Was UTILITY"));

    // A flagged number and a partner removal: the banner shows, administrators are emailed
    // once per drop.
    for name in [
        "phone_number_quality_update_flagged.json",
        "phone_number_quality_update_flagged.json",
    ] {
        app.deliver_bytes(&dualhook_management(name)).await;
    }
    let html = settings_page(&mut b, inbox.id, "").await;
    assert!(
        html.contains("Needs attention:</strong> The number&#39;s status is FLAGGED"),
        "{html}"
    );
    let mails = app.run_email_jobs().await;
    assert_eq!(mails.len(), 1, "one email per drop");
    assert!(read_eml(&mails[0]).contains("status is FLAGGED"));
    app.deliver_bytes(&dualhook_management("account_update_partner_removed.json"))
        .await;
    assert_eq!(
        app.run_email_jobs().await.len(),
        1,
        "a new problem, a new email"
    );
    app.deliver_bytes(&dualhook_management(
        "phone_number_quality_update_upgrade.json",
    ))
    .await;
    let json = app
        .get(&format!(
            "/api/v1/accounts/{}/inboxes/{}",
            app.account_id, inbox.id
        ))
        .await;
    assert_eq!(json["health"]["messaging_limit"], json!("TIER_10K"));
    assert_eq!(json["health"]["status"], json!("DISCONNECTED"));
    assert!(json["health"]["problem"]
        .as_str()
        .unwrap()
        .contains("DISCONNECTED"));
}

#[actix_rt::test]
async fn the_app_level_callback_verifies_and_refuses_unsigned_posts() {
    let app = TestApp::start_with(Options {
        global_app_secret: Some("meta-app-secret".into()),
        app_verify_token: Some("app-level-verify-token".into()),
        ..Options::default()
    });
    let (inbox, _) = app.create_inbox_direct();
    seed_templates(&app, inbox.id);
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let get = |q: &str| {
        test::TestRequest::get()
            .uri(&format!("/webhooks/whatsapp?{q}"))
            .to_request()
    };
    let resp = test::call_service(
        &svc,
        get("hub.mode=subscribe&hub.verify_token=app-level-verify-token&hub.challenge=4242"),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(test::read_body(resp).await, "4242");
    let resp = test::call_service(
        &svc,
        get("hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1"),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 401);

    let body = meta_management("message_template_quality_update.json");
    let (status, text) = post_with_headers(&app, "/webhooks/whatsapp", &body, &[]).await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("missing"), "{text}");
    let (status, _) = post_with_headers(
        &app,
        "/webhooks/whatsapp",
        &body,
        &[("x-hub-signature-256", sign("wrong", &body))],
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        app.count("whatsapp_events"),
        0,
        "nothing journaled when refused"
    );

    // Signed: journaled, then applied to the inboxes of that WABA.
    let (status, text) = post_with_headers(
        &app,
        "/webhooks/whatsapp",
        &body,
        &[("x-hub-signature-256", sign("meta-app-secret", &body))],
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let quality = meta_management("phone_number_quality_update.json");
    let alerts = meta_management("account_alerts.json");
    let message = text_for(PHONE_NUMBER_ID, WABA_ID, "-app");
    for b in [&quality, &alerts, &message] {
        let (status, text) = post_with_headers(
            &app,
            "/webhooks/whatsapp",
            b,
            &[("x-hub-signature-256", sign("meta-app-secret", b))],
        )
        .await;
        assert_eq!(status, 200, "{text}");
    }
    app.ingest();
    // The quality fixture names template 1387372356726668 (not synced): matched by name.
    let q = app.query_json(
        "SELECT to_jsonb(s.quality_score) FROM whatsapp_template_signals s \
         JOIN message_templates t ON t.id = s.template_id WHERE t.name = 'order_update_v1'",
    );
    assert_eq!(q, json!("YELLOW"));
    assert_eq!(
        count_messages(&app, inbox.id),
        1,
        "messages route by phone_number_id"
    );
    let json = app
        .get(&format!(
            "/api/v1/accounts/{}/inboxes/{}",
            app.account_id, inbox.id
        ))
        .await;
    assert_eq!(json["health"]["messaging_limit"], json!("TIER_UNLIMITED"));
    assert_eq!(
        json["health"]["alerts"][0]["alert_info"]["alert_type"],
        json!("INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED")
    );

    // Bad input: signed garbage is 400, not stored.
    let garbage = b"{not json".to_vec();
    let (status, text) = post_with_headers(
        &app,
        "/webhooks/whatsapp",
        &garbage,
        &[("x-hub-signature-256", sign("meta-app-secret", &garbage))],
    )
    .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("not valid webhook JSON"), "{text}");
    let big = vec![b' '; 3 * 1024 * 1024 + 1];
    let (status, _) = post_with_headers(&app, "/webhooks/whatsapp", &big, &[]).await;
    assert_eq!(status, 413);
}

#[actix_rt::test]
async fn the_app_level_callback_is_closed_without_its_settings() {
    let app = TestApp::start();
    app.create_inbox_direct();
    let body = meta_management("account_alerts.json");
    let (status, _) = post_with_headers(
        &app,
        "/webhooks/whatsapp",
        &body,
        &[("x-hub-signature-256", sign("anything", &body))],
    )
    .await;
    assert_eq!(status, 401);
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let resp = test::call_service(
        &svc,
        test::TestRequest::get()
            .uri("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=&hub.challenge=1")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 401);
}

async fn graph_with_health(health: Value) -> MockServer {
    let server = MockServer::start().await;
    mount_graph_defaults(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{PHONE_NUMBER_ID}")))
        .and(query_param(
            "fields",
            switchboard::whatsapp::graph::HEALTH_FIELDS,
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(health))
        .mount(&server)
        .await;
    server
}

fn health_fixture() -> Value {
    serde_json::from_slice(
        &std::fs::read(shared_fixture("graph/phone_number_health.json")).unwrap(),
    )
    .unwrap()
}

#[actix_rt::test]
async fn number_health_refreshes_on_schedule_and_on_demand_and_a_drop_alerts_once() {
    let mut degraded = health_fixture();
    degraded["quality_rating"] = json!("YELLOW");
    degraded["health_status"]["can_send_message"] = json!("LIMITED");
    degraded["health_status"]["entities"][0]["can_send_message"] = json!("LIMITED");
    degraded["health_status"]["entities"][0]["additional_info"] =
        json!(["Your phone number's quality rating is low."]);
    let graph = graph_with_health(health_fixture()).await;
    let app = TestApp::start_with(Options {
        graph_base_url: Some(graph.uri()),
        ..Options::default()
    });
    let (inbox, _) = app.create_inbox_direct();

    // The schedule: claimed once (another process would skip it), refreshed.
    let due = switchboard::jobs::number_health::claim_due(&mut app.conn()).unwrap();
    assert_eq!(due, vec![inbox.id]);
    assert!(switchboard::jobs::number_health::claim_due(&mut app.conn())
        .unwrap()
        .is_empty());
    let health = switchboard::jobs::number_health::refresh_inbox(&app.state, inbox.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(health.quality_rating.as_deref(), Some("GREEN"));
    assert!(app.run_email_jobs().await.is_empty());
    let mut b = admin(&app).await;
    let html = settings_page(&mut b, inbox.id, "").await;
    assert!(
        html.contains("TIER_2K") && html.contains("STANDARD") && html.contains("Main Street Store")
    );
    assert!(!html.contains("Needs attention"));

    // On demand (the button) after a quality drop: banner, reasons, one email.
    graph.reset().await;
    mount_graph_defaults(&graph).await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{PHONE_NUMBER_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(degraded))
        .mount(&graph)
        .await;
    let page = format!(
        "/app/accounts/{}/settings/inboxes/{}",
        app.account_id, inbox.id
    );
    for _ in 0..2 {
        let (status, body, location) = b
            .submit(&page, &format!("{page}/refresh_health"), &[])
            .await;
        assert_eq!(status, 303, "{body}");
        assert!(location.unwrap().contains("Number+health+refreshed"));
    }
    let mails = app.run_email_jobs().await;
    assert_eq!(
        mails.len(),
        1,
        "one email per drop, however often it is seen"
    );
    let mail = read_eml(&mails[0]);
    assert!(mail.contains("Sending is LIMITED"), "{mail}");
    assert!(mail.contains("ana@example.com"));
    let (_, html, _) = b.get(&page).await;
    assert!(html.contains("Needs attention"), "{html}");
    assert!(html.contains("quality rating is low"), "{html}");
    // The workspace banner, for administrators only.
    let (_, ws, _) = b
        .get(&format!("/app/accounts/{}/conversations", app.account_id))
        .await;
    assert!(ws.contains("data-number-health-banner"), "{ws}");
    assert!(ws.contains("Sending is LIMITED"));
    app.create_agent("ben@example.com");
    let mut agent = Browser::new(&app);
    agent.sign_in("ben@example.com", "agent password").await;
    let (_, ws, _) = agent
        .get(&format!("/app/accounts/{}/conversations", app.account_id))
        .await;
    assert!(!ws.contains("data-number-health-banner"));

    // A Graph failure is shown, the last values kept.
    graph.reset().await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{PHONE_NUMBER_ID}")))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(
                json!({"error": {"code": 100, "message": "Unsupported get request."}}),
            ),
        )
        .mount(&graph)
        .await;
    let (status, body, _) = b
        .submit(&page, &format!("{page}/refresh_health"), &[])
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("Meta did not answer the health check: (#100) Unsupported get request."));
    let json = app
        .get(&format!(
            "/api/v1/accounts/{}/inboxes/{}",
            app.account_id, inbox.id
        ))
        .await;
    assert_eq!(json["health"]["quality_rating"], json!("YELLOW"));
    assert_eq!(json["health"]["can_send_message"], json!("LIMITED"));
    assert!(json["health"]["refresh_error"]
        .as_str()
        .unwrap()
        .contains("#100"));

    // Another account's inbox: 404, no Graph call.
    let (status, _, _) = b
        .submit(
            &page,
            &format!(
                "/app/accounts/{}/settings/inboxes/999999/refresh_health",
                app.account_id
            ),
            &[],
        )
        .await;
    assert_eq!(status, 404);

    // Healthy again: the banner goes, and the next drop emails again.
    graph.reset().await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{PHONE_NUMBER_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(health_fixture()))
        .mount(&graph)
        .await;
    switchboard::jobs::number_health::refresh_inbox(&app.state, inbox.id)
        .await
        .unwrap()
        .unwrap();
    let (_, ws, _) = b
        .get(&format!("/app/accounts/{}/conversations", app.account_id))
        .await;
    assert!(!ws.contains("data-number-health-banner"));
}
