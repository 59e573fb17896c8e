use crate::browser_kit::*;
use crate::common::*;

// Issue 12 (profile-typing) in the browser: an administrator edits the WhatsApp business
// profile on the inbox's settings page (loaded from the Graph stand-in; a bad email is refused
// next to its field, then only the changed field reaches Graph), with axe and screenshots at
// 1440×900 and 390×844; and typing a reply in the composer sends exactly one typing indicator
// to the Graph stand-in, a private note none.

use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const APP_ID: &str = "670843887433847";
const PROFILE_PATH: &str = "/v25.0/106540352242922/whatsapp_business_profile";
async fn profile_posts(env: &Env) -> Vec<Value> {
    env.graph
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == PROFILE_PATH)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

async fn typing_calls(env: &Env) -> usize {
    env.typing_indicators().await.len()
}

async fn open_profile(env: &Env, c: &Client, inbox_id: i64) {
    c.goto(&env.url(&format!(
        "/app/accounts/{}/settings/inboxes/{inbox_id}",
        env.account_id
    )))
    .await
    .unwrap();
    wait_js(
        c,
        "!document.getElementById('bp-form').hidden && document.getElementById('bp-about').value !== ''",
        "the business profile loaded",
    )
    .await;
    js(
        c,
        "document.getElementById('business-profile').scrollIntoView({block: 'start'}); return true;",
    )
    .await;
}

#[tokio::test]
async fn edit_the_business_profile_and_type_a_reply() {
    let mut env = Env::start().await;
    // The Meta app's ID enables the picture upload (Resumable Upload API).
    env.server_env
        .push(("WHATSAPP_APP_ID".into(), APP_ID.into()));
    env.restart_server().await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{APP_ID}/uploads")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(graph_fixture("upload_session_create.json")),
        )
        .mount(&env.graph)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path_regex(r"^/v25\.0/upload:"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(graph_fixture("upload_file_handle.json")),
        )
        .mount(&env.graph)
        .await;
    Mock::given(method("GET"))
        .and(path(PROFILE_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(graph_fixture("business_profile_get.json")),
        )
        .mount(&env.graph)
        .await;
    Mock::given(method("POST"))
        .and(path(PROFILE_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&env.graph)
        .await;
    let inbox = env.create_inbox().await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    env.post_webhook(with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    env.wait_conversations(1).await;

    let c = env.browser(1440, 900).await;
    env.sign_in_admin(&c).await;
    open_profile(&env, &c, inbox_id).await;
    assert_eq!(
        js(&c, "return document.getElementById('bp-vertical').value").await,
        "RETAIL"
    );
    assert_eq!(
        js(&c, "return document.getElementById('bp-website-0').value").await,
        "https://shop.example.com/"
    );
    screenshot(&c, "profile-typing-profile-1440").await;
    let violations = axe_violations(&c).await;
    assert!(violations.is_empty(), "axe: {violations:#?}");

    // A bad email: refused by the server next to the field, nothing sent to Graph.
    fill(
        &c,
        "#bp-about",
        "Hardware and garden. Agents reply 7am-9pm.",
    )
    .await;
    fill(&c, "#bp-email", "help at shop").await;
    click(&c, "#bp-save").await;
    wait_js(
        &c,
        "!document.getElementById('bp-email-error').hidden",
        "the email error",
    )
    .await;
    let message = js(
        &c,
        "return document.getElementById('bp-email-error').textContent",
    )
    .await;
    assert!(
        message.as_str().unwrap().contains("not an email address"),
        "{message}"
    );
    assert_eq!(
        js(
            &c,
            "return document.getElementById('bp-email').getAttribute('aria-invalid')"
        )
        .await,
        "true"
    );
    screenshot(&c, "profile-typing-profile-error-1440").await;
    assert!(profile_posts(&env).await.is_empty());

    // Fixed: only the changed field goes to Graph.
    fill(&c, "#bp-email", "help@shop.example.com").await;
    click(&c, "#bp-save").await;
    wait_js(
        &c,
        "document.getElementById('bp-saved').textContent.includes('Saved')",
        "the saved notice",
    )
    .await;
    assert!(
        js(
            &c,
            "return document.getElementById('bp-email-error').hidden"
        )
        .await
            == true
    );
    assert_eq!(
        profile_posts(&env).await,
        vec![
            json!({"messaging_product": "whatsapp", "about": "Hardware and garden. Agents reply 7am-9pm."})
        ]
    );

    // A new picture: uploaded, then set by its handle.
    let file = env.storage.join("logo.jpg");
    std::fs::create_dir_all(&env.storage).unwrap();
    std::fs::write(
        &file,
        [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0],
    )
    .unwrap();
    c.find(Locator::Id("bp-profile_picture"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    js(
        &c,
        "document.getElementById('bp-saved').textContent = ''; return true;",
    )
    .await;
    click(&c, "#bp-save").await;
    wait_js(
        &c,
        "document.getElementById('bp-saved').textContent.includes('Saved')",
        "the picture saved",
    )
    .await;
    let handle = graph_fixture("upload_file_handle.json")["h"].clone();
    assert_eq!(
        profile_posts(&env).await[1],
        json!({"messaging_product": "whatsapp", "profile_picture_handle": handle})
    );

    // A phone-sized screen.
    let phone = env.browser(390, 844).await;
    env.sign_in_admin(&phone).await;
    open_profile(&env, &phone, inbox_id).await;
    screenshot(&phone, "profile-typing-profile-390").await;
    assert_eq!(js(&phone, &format!("return {NO_OVERFLOW}")).await, true);
    let violations = axe_in(&phone, "document.getElementById('business-profile')").await;
    assert!(violations.is_empty(), "axe at 390: {violations:#?}");

    // Typing a reply: one typing indicator, however many keys.
    open_conversation(&c, &env, 1).await;
    let text = c.find(Locator::Id("composer-text")).await.unwrap();
    text.send_keys("Yes, we have").await.unwrap();
    text.send_keys(" size M in stock").await.unwrap();
    let started = Instant::now();
    while typing_calls(&env).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no typing indicator reached Graph"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let typed = env.typing_indicators().await.remove(0);
    assert_eq!(
        typed,
        json!({"messaging_product": "whatsapp", "status": "read",
               "message_id": "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTAwMDAwMDAwMDAwMDAwMDAwMQA=",
               "typing_indicator": {"type": "text"}})
    );
    screenshot(&c, "profile-typing-composer-1440").await;

    // A private note on another screen (its own 20-second client throttle): nothing more.
    let other = env.browser(1440, 900).await;
    env.sign_in_admin(&other).await;
    open_conversation(&other, &env, 1).await;
    js(
        &other,
        "const n = document.querySelector('input[name=mode][value=note]'); n.click(); return true;",
    )
    .await;
    other
        .find(Locator::Id("composer-text"))
        .await
        .unwrap()
        .send_keys("Customer asked twice about size M")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(typing_calls(&env).await, 1, "one typing call in all");
}
