use crate::browser_kit::*;
use crate::common::*;

// Dualhook in the browser (issue 12): an administrator saves the API key and partner secret,
// sends a test event through the real route, clicks Connect and goes through a Dualhook
// stand-in (wiremock playing the Platform REST API with the fixtures' `rest/` bodies and a
// stand-in onboarding page), comes back, and once Dualhook's signed events arrive sees the
// connection, the inbox's audit list and the heartbeat banner. Axe on both pages;
// screenshots at 1440×900 and 390×844.

use fantoccini::Client;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "dh_test_partner_secret_0123456789abcdef";
const API_KEY: &str = "dh_live_browser_key_0123456789";
fn dualhook_fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../shared/fixtures/dualhook/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn rest(name: &str) -> Value {
    serde_json::from_slice(&dualhook_fixture(&format!("rest/{name}"))).unwrap()
}

/// Posts a lifecycle fixture verbatim with its signature from `signatures.json`.
async fn post_event(env: &Env, name: &str) {
    let file = format!("lifecycle/{name}.json");
    let table: Value = serde_json::from_slice(&dualhook_fixture("signatures.json")).unwrap();
    let meta = &table["files"][&file];
    let resp = env
        .http
        .post(env.url(&format!("/webhooks/dualhook/{}", env.account_id)))
        .header("content-type", "application/json")
        .header(
            "x-dualhook-event",
            meta["X-Dualhook-Event"].as_str().unwrap(),
        )
        .header(
            "x-dualhook-event-id",
            meta["X-Dualhook-Event-Id"].as_str().unwrap(),
        )
        .header(
            "x-dualhook-signature",
            meta["X-Dualhook-Signature"].as_str().unwrap(),
        )
        .body(dualhook_fixture(&file))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{name}");
}

/// Reloads `url` until the page's text contains `needle` (the event worker polls).
async fn reload_until(c: &Client, url: &str, needle: &str) {
    let started = Instant::now();
    loop {
        c.goto(url).await.unwrap();
        let text = js(c, "return document.body.innerText").await;
        if text.as_str().unwrap_or_default().contains(needle) {
            return;
        }
        if started.elapsed() > Duration::from_secs(20) {
            screenshot(c, "timeout-dualhook").await;
            panic!("{url} never showed {needle:?}: {text}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn connect_through_a_dualhook_standin_and_see_the_connection_audit_and_heartbeat() {
    let env = Env::start().await;
    let account = env.account_id;
    let page = env.url(&format!(
        "/app/accounts/{account}/settings/integrations/dualhook"
    ));

    // The Dualhook stand-in: the session answer (its onboarding URL is the stand-in's own
    // page), reveal-secrets, and an onboarding page that sends the browser back.
    let dualhook = MockServer::start().await;
    let mut session = rest("onboarding_session_create_response.json");
    session["onboardingUrl"] = json!(format!("{}/onboard/ot_browser", dualhook.uri()));
    Mock::given(method("POST"))
        .and(path("/api/v1/onboarding/sessions"))
        .respond_with(ResponseTemplate::new(201).set_body_json(session))
        .mount(&dualhook)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/connections/conn_3Zt8pLw5QeN1/reveal-secrets"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(rest("reveal_secrets_response.json")),
        )
        .mount(&dualhook)
        .await;
    let back = format!("{page}?onboarding=completed");
    Mock::given(method("GET"))
        .and(path("/onboard/ot_browser"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!("<!doctype html><html lang=en><title>Dualhook stand-in</title><h1>Dualhook onboarding (stand-in)</h1><a id=finish href=\"{back}\">Finish</a></html>"),
            "text/html",
        ))
        .mount(&dualhook)
        .await;
    // Graph: the number's fields for the revealed token.
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{PHONE_NUMBER_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "display_phone_number": "+1 555-123-4567",
            "verified_name": "Acme Support",
            "id": PHONE_NUMBER_ID
        })))
        .mount(&env.graph)
        .await;
    // The server again, now pointed at the Dualhook stand-in.
    let mut server_env = env.server_env.clone();
    server_env.push(("DUALHOOK_API_BASE_URL".into(), dualhook.uri()));
    drop(env.server.lock().unwrap().take());
    *env.server.lock().unwrap() = Some(spawn_server(&server_env));
    wait_for_port(env.port, "the server with the Dualhook stand-in").await;

    let c = env.browser(1440, 900).await;
    env.sign_in_admin(&c).await;
    c.goto(&page).await.unwrap();
    wait_js(
        &c,
        "document.getElementById('dualhook-settings')",
        "the Dualhook page",
    )
    .await;
    assert_eq!(
        js(
            &c,
            "return document.querySelector('.settings-nav a.active').textContent"
        )
        .await,
        json!("Integrations")
    );
    type_into(&c, "#dh-api-key", API_KEY).await;
    type_into(&c, "#dh-partner-secret", SECRET).await;
    click(&c, "#dualhook-settings button[type=submit]").await;
    wait_js(&c, "document.getElementById('dualhook-notice')", "saved").await;
    let shown = js(&c, "return document.body.innerText").await;
    let shown = shown.as_str().unwrap();
    assert!(shown.contains("••••6789") && !shown.contains(API_KEY) && !shown.contains(SECRET));

    // Send test: signed with the stored secret, through the real route.
    click(&c, "#dh-send-test").await;
    wait_js(
        &c,
        "(document.getElementById('dualhook-notice') || {}).textContent?.includes('verified its signature')",
        "the test result",
    )
    .await;
    assert!(js(
        &c,
        "return document.querySelector('.dualhook-events').innerText"
    )
    .await
    .as_str()
    .unwrap()
    .contains("switchboard.test"));

    // Connect: through the stand-in's onboarding page and back.
    type_into(&c, "#dh-inbox-name", "Acme Support").await;
    click(&c, "#dh-connect button[type=submit]").await;
    wait_js(
        &c,
        "document.getElementById('finish')",
        "the Dualhook stand-in page",
    )
    .await;
    click(&c, "#finish").await;
    wait_js(
        &c,
        "(document.getElementById('dualhook-notice') || {}).textContent?.includes('finished the onboarding')",
        "back in Switchboard",
    )
    .await;
    assert!(js(
        &c,
        "return document.querySelector('.dualhook-connections').innerText.toLowerCase()"
    )
    .await
    .as_str()
    .unwrap()
    .contains("pending"));

    // Dualhook's signed events arrive.
    post_event(&env, "onboarding_started").await;
    post_event(&env, "onboarding_completed_coexistence").await;
    post_event(&env, "connection_mode_resolved").await;
    post_event(&env, "connection_heartbeat_due_soon").await;
    reload_until(&c, &page, "Heartbeat due soon for Acme Support").await;
    let connections = js(
        &c,
        "return document.querySelector('.dualhook-connections').innerText.toLowerCase()",
    )
    .await;
    assert!(
        connections.as_str().unwrap().contains("connected"),
        "{connections}"
    );
    assert_eq!(axe_violations(&c).await, Vec::<String>::new());
    assert_eq!(js(&c, &format!("return {NO_OVERFLOW}")).await, json!(true));
    screenshot(&c, "dualhook-settings-1440").await;

    // The inbox's settings page: mode, heartbeat banner and audit list.
    let inboxes = env.api("GET", "/inboxes", None).await;
    let inbox_id = inboxes["payload"][0]["id"].as_i64().expect("the new inbox");
    let inbox_page = env.url(&format!(
        "/app/accounts/{account}/settings/inboxes/{inbox_id}"
    ));
    reload_until(&c, &inbox_page, "connection.heartbeat.due_soon").await;
    let card = js(
        &c,
        "return document.getElementById('dualhook-inbox').innerText",
    )
    .await;
    let card = card.as_str().unwrap();
    assert!(card.contains("Coexistence"), "{card}");
    assert!(
        card.contains("Heartbeat due soon for Acme Support"),
        "{card}"
    );
    assert!(card.contains("onboarding.completed") && card.contains("onboarding.started"));
    assert_eq!(axe_violations(&c).await, Vec::<String>::new());
    c.execute(
        "document.getElementById('dualhook-inbox').scrollIntoView(); return true",
        vec![],
    )
    .await
    .unwrap();
    screenshot(&c, "dualhook-inbox-1440").await;
    c.close().await.unwrap();

    // Phone width.
    let m = env.browser(390, 844).await;
    env.sign_in_admin(&m).await;
    m.goto(&page).await.unwrap();
    wait_js(
        &m,
        "document.getElementById('dualhook-settings')",
        "the Dualhook page (phone)",
    )
    .await;
    assert_eq!(js(&m, &format!("return {NO_OVERFLOW}")).await, json!(true));
    screenshot(&m, "dualhook-settings-390").await;
    m.goto(&inbox_page).await.unwrap();
    wait_js(
        &m,
        "document.getElementById('dualhook-inbox')",
        "the inbox page (phone)",
    )
    .await;
    assert_eq!(js(&m, &format!("return {NO_OVERFLOW}")).await, json!(true));
    m.execute(
        "document.getElementById('dualhook-inbox').scrollIntoView(); return true",
        vec![],
    )
    .await
    .unwrap();
    screenshot(&m, "dualhook-inbox-390").await;

    // Confirmed clears the banner.
    post_event(&env, "connection_heartbeat_confirmed").await;
    reload_until(&m, &inbox_page, "Heartbeat confirmed (via dashboard)").await;
    assert_eq!(
        js(
            &m,
            "return document.querySelectorAll('.dualhook-heartbeat').length"
        )
        .await,
        json!(0)
    );
    m.close().await.unwrap();
}
