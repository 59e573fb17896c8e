use crate::browser_kit::*;
use crate::common::*;

// Issue 12 in headless Chromium: an administrator checks a number's health from the inbox
// settings, sees Meta's quality drop with its reasons, the template list's review and
// quality signals from management webhooks, and the drop banner in the workspace.
// Screenshots at 1440×900 and 390×844 under `target/screenshots/number-health-*.png`.

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn degraded_health() -> Value {
    let mut h = graph_fixture("phone_number_health.json");
    h["quality_rating"] = json!("YELLOW");
    h["health_status"]["can_send_message"] = json!("LIMITED");
    h["health_status"]["entities"][0]["can_send_message"] = json!("LIMITED");
    h["health_status"]["entities"][0]["additional_info"] =
        json!(["Your phone number's quality rating is low: fewer customers can be reached."]);
    h
}

fn dualhook_management(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../shared/fixtures/dualhook/management/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[tokio::test]
async fn number_health_panel_and_quality_drop_banner() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{WABA_ID}/message_templates")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "1689556908129832", "name": "order_update_v1", "language": "en_US", "status": "PENDING", "category": "UTILITY", "components": [{"type": "BODY", "text": "Your order {{1}} is on its way."}]},
            {"id": "1689556908129835", "name": "abandoned_cart", "language": "en", "status": "PENDING", "category": "MARKETING", "components": [{"type": "BODY", "text": "{{1}}, you left something behind."}]},
            {"id": "278077987957091", "name": "welcome_template", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "components": [{"type": "BODY", "text": "Welcome!"}]}
        ], "paging": {}})))
        .mount(&env.graph)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{PHONE_NUMBER_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(degraded_health()))
        .mount(&env.graph)
        .await;
    let inbox = env.create_inbox().await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    for name in [
        "message_template_status_update.json",
        "message_template_status_update_rejected.json",
        "message_template_quality_update.json",
        "template_category_update_scheduled.json",
        "account_alerts.json",
        "account_review_update.json",
    ] {
        env.post_webhook(dualhook_management(name)).await;
    }

    for (width, height, tag) in [(1440, 900, "desktop"), (390, 844, "phone")] {
        let c = env.browser(width, height).await;
        env.sign_in_admin(&c).await;
        c.goto(&env.url(&format!(
            "/app/accounts/{}/settings/inboxes/{inbox_id}",
            env.account_id
        )))
        .await
        .unwrap();
        wait_js(&c, "document.readyState === 'complete'", "the inbox page").await;
        // Ingest is asynchronous: reload until the management events show.
        for _ in 0..50 {
            let shown = js(
                &c,
                "return document.body.textContent.includes('INVALID_FORMAT')",
            )
            .await;
            if shown == Value::Bool(true) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            c.refresh().await.unwrap();
        }
        // The button, by keyboard.
        js(
            &c,
            "const b = [...document.querySelectorAll('#number-health button')].find(b => b.textContent.includes('Check number health')); b.focus(); return true;",
        )
        .await;
        c.active_element()
            .await
            .unwrap()
            .send_keys("\u{E007}")
            .await
            .unwrap();
        wait_js(
            &c,
            "document.querySelector('.nh-banner') && document.body.textContent.includes('Number health refreshed')",
            "the health banner",
        )
        .await;
        let text = js(
            &c,
            "return document.getElementById('number-health').textContent",
        )
        .await;
        let text = text.as_str().unwrap();
        assert!(text.contains("Sending is LIMITED"), "{text}");
        assert!(text.contains("quality rating is low"), "{text}");
        assert!(
            text.contains("TIER_2K") && text.contains("STANDARD"),
            "{text}"
        );
        assert!(
            text.contains("INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED"),
            "{text}"
        );
        let signals = js(
            &c,
            "return document.getElementById('template-signals').textContent",
        )
        .await;
        let signals = signals.as_str().unwrap();
        assert!(signals.contains("INVALID_FORMAT"), "{signals}");
        assert!(
            signals.contains("Becomes MARKETING on 2026-05-09"),
            "{signals}"
        );
        assert!(signals.contains("YELLOW"), "{signals}");
        js(
            &c,
            "document.getElementById('number-health').scrollIntoView({block: 'start', behavior: 'instant'}); return true;",
        )
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        screenshot(&c, &format!("number-health-panel-{tag}")).await;
        js(
            &c,
            "document.getElementById('template-signals').scrollIntoView({block: 'start', behavior: 'instant'}); return true;",
        )
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        screenshot(&c, &format!("number-health-templates-{tag}")).await;
        let violations = axe_violations(&c).await;
        assert!(violations.is_empty(), "{violations:#?}");

        c.goto(&env.url(&format!("/app/accounts/{}/conversations", env.account_id)))
            .await
            .unwrap();
        wait_js(
            &c,
            "document.querySelector('[data-number-health-banner]')",
            "the workspace banner",
        )
        .await;
        screenshot(&c, &format!("number-health-workspace-{tag}")).await;
        let violations = axe_in(&c, "document.querySelector('[data-number-health-banner]')").await;
        assert!(violations.is_empty(), "{violations:#?}");
        c.close().await.unwrap();
    }
    // One email for the drop, however often it was seen.
    let mail = env.wait_for_mail().await;
    assert!(mail.contains("Sending is LIMITED"), "{mail}");
}
