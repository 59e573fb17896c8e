use crate::browser_kit::*;
use crate::common::*;

// Issue 13 (hours) in the browser: an administrator sets business hours (time zone, two
// ranges on Monday, a holiday, the out-of-office message) and CSAT on the inbox's settings
// page; a greeting turned on without a message is refused next to its field; the inbox page
// and the conversation header then say whether the team is open now. axe and screenshots at
// 1440×900 and 390×844.

use fantoccini::Client;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

/// Answers each send with its own wamid (the kit's stand-in answers one fixed wamid).
struct Wamids(AtomicUsize);

impl Respond for Wamids {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
            "messages": [{"id": format!("wamid.HOURS.{n}")}],
        }))
    }
}

const NO_OVERFLOW: &str = "document.documentElement.scrollWidth <= window.innerWidth + 1";

async fn open_settings(env: &Env, c: &Client, inbox_id: i64) {
    c.goto(&env.url(&format!(
        "/app/accounts/{}/settings/inboxes/{inbox_id}",
        env.account_id
    )))
    .await
    .unwrap();
    wait_js(
        c,
        "!document.getElementById('ih-form').hidden && document.querySelectorAll('#ih-days tr').length === 7",
        "the business hours form",
    )
    .await;
    js(
        c,
        "document.getElementById('inbox-hours').scrollIntoView({block: 'start'}); return true;",
    )
    .await;
}

#[tokio::test]
async fn set_business_hours_in_settings_and_see_open_now() {
    let env = Env::start().await;
    let inbox = env.create_inbox().await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    env.post_webhook(with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    env.wait_conversations(1).await;

    let c = env.browser(1440, 900).await;
    env.sign_in(&c, "ana@example.com", "correct horse").await;
    open_settings(&env, &c, inbox_id).await;
    screenshot(&c, "hours-settings-empty-1440").await;

    // A greeting without a message: refused next to its field.
    js(
        &c,
        "document.getElementById('ih-greeting_enabled').click(); document.getElementById('ih-save').click(); return true;",
    )
    .await;
    wait_js(
        &c,
        "!document.getElementById('ih-greeting_message-error').hidden",
        "the greeting error",
    )
    .await;
    assert_eq!(
        js(
            &c,
            "return document.getElementById('ih-greeting_message').getAttribute('aria-invalid')"
        )
        .await,
        "true"
    );
    screenshot(&c, "hours-settings-error-1440").await;

    // Business hours: Berlin, Monday 09:00–12:00 and 13:00–17:30, every other weekday 9–5.
    js(
        &c,
        r#"
        document.getElementById('ih-greeting_enabled').click();
        document.getElementById('ih-working_hours_enabled').click();
        document.getElementById('ih-timezone').value = 'Europe/Berlin';
        const rows = [...document.querySelectorAll('#ih-days tr')];
        for (const tr of rows.slice(0, 5)) {
          const box = tr.querySelector('.ih-day-open');
          box.click();
        }
        const monday = rows[0];
        monday.querySelector('.ih-add').click();
        const ranges = monday.querySelectorAll('.ih-range');
        ranges[0].querySelector('.ih-close').value = '12:00';
        ranges[1].querySelector('.ih-open').value = '13:00';
        ranges[1].querySelector('.ih-close').value = '17:30';
        document.getElementById('ih-holidays').value = '2026-12-25, 2026-12-26';
        document.getElementById('ih-out_of_office_message').value = 'We are closed; we answer from 9:00 (Berlin).';
        document.getElementById('ih-csat_survey_enabled').click();
        document.getElementById('ih-csat_scale').value = 'thumbs';
        document.getElementById('ih-save').click();
        return true;
        "#,
    )
    .await;
    wait_js(
        &c,
        "document.getElementById('ih-saved').textContent.includes('Saved')",
        "the saved notice",
    )
    .await;
    let saved: Value = env.api("GET", &format!("/inboxes/{inbox_id}"), None).await;
    assert_eq!(saved["working_hours_enabled"], true, "{saved}");
    assert_eq!(saved["timezone"], "Europe/Berlin");
    assert_eq!(saved["csat_scale"], "thumbs");
    assert_eq!(
        saved["holidays"],
        serde_json::json!(["2026-12-25", "2026-12-26"])
    );
    let monday: Vec<&Value> = saved["working_hours"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["day_of_week"] == 1)
        .collect();
    assert_eq!(monday.len(), 2, "{saved}");
    assert_eq!(monday[1]["close_hour"], 17);
    assert_eq!(monday[1]["close_minutes"], 30);
    // The form shows what was saved (two Monday ranges).
    assert_eq!(
        js(
            &c,
            "return document.querySelectorAll('#ih-days tr')[0].querySelectorAll('.ih-range').length"
        )
        .await,
        2
    );
    js(
        &c,
        "document.getElementById('inbox-hours').scrollIntoView({block: 'start'}); return true;",
    )
    .await;
    screenshot(&c, "hours-settings-1440").await;
    let violations = axe_violations(&c).await;
    assert!(violations.is_empty(), "axe: {violations:#?}");

    // The inbox page and the conversation header say whether the team is open.
    c.goto(&env.url(&format!("/app/accounts/{}/conversations/1", env.account_id)))
        .await
        .unwrap();
    wait_js(
        &c,
        "document.querySelector('.hours-note') && document.querySelector('.hours-banner')",
        "the open-now notes",
    )
    .await;
    let note = js(
        &c,
        "return document.querySelector('.hours-note').textContent",
    )
    .await;
    let note = note.as_str().unwrap();
    assert!(
        note.starts_with("Open now") || note.starts_with("Closed now"),
        "{note}"
    );
    assert!(note.contains("Europe/Berlin"), "{note}");
    screenshot(&c, "hours-conversation-1440").await;
    let violations = axe_violations(&c).await;
    assert!(violations.is_empty(), "axe: {violations:#?}");

    // Phone width.
    let p = env.browser(390, 844).await;
    env.sign_in(&p, "ana@example.com", "correct horse").await;
    open_settings(&env, &p, inbox_id).await;
    assert_eq!(js(&p, &format!("return {NO_OVERFLOW}")).await, true);
    screenshot(&p, "hours-settings-390").await;
    let violations = axe_violations(&p).await;
    assert!(violations.is_empty(), "axe: {violations:#?}");
    js(
        &p,
        "document.querySelectorAll('#ih-days tr')[0].scrollIntoView({block: 'start'}); return true;",
    )
    .await;
    screenshot(&p, "hours-settings-week-390").await;
    p.goto(&env.url(&format!("/app/accounts/{}/conversations", env.account_id)))
        .await
        .unwrap();
    wait_js(&p, "document.querySelector('.hours-banner')", "the banner").await;
    assert_eq!(js(&p, &format!("return {NO_OVERFLOW}")).await, true);
    screenshot(&p, "hours-inbox-390").await;
    let violations = axe_violations(&p).await;
    assert!(violations.is_empty(), "axe: {violations:#?}");
}

/// A webhook body with one customer message (`message`: its `type` and payload), now.
fn incoming(n: usize, message: Value) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&webhook_fixture("text.json")).unwrap();
    let mut obj = serde_json::json!({"id": format!("wamid.IN.{n}"),
        "timestamp": chrono::Utc::now().timestamp().to_string(),
        "from": "16505551234", "from_user_id": "US.13491208655302741918"});
    for (k, x) in message.as_object().unwrap() {
        obj[k] = x.clone();
    }
    v["entry"][0]["changes"][0]["value"]["messages"][0] = obj;
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test]
async fn greeting_and_csat_rating_show_in_the_thread_and_contact_panel() {
    let env = Env::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(Wamids(AtomicUsize::new(0)))
        .with_priority(1)
        .mount(&env.graph)
        .await;
    let inbox = env.create_inbox().await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    env.api(
        "PATCH",
        &format!("/inboxes/{inbox_id}"),
        Some(serde_json::json!({"greeting_enabled": true, "greeting_message": "Welcome to Acme! An agent will answer shortly.",
            "csat_survey_enabled": true, "csat_scale": "thumbs", "csat_question": "Did we solve it?"})),
    )
    .await;
    env.post_webhook(incoming(
        1,
        serde_json::json!({"type": "text", "text": {"body": "Hi, my order is late"}}),
    ))
    .await;
    env.wait_conversations(1).await;
    let c = env.browser(1440, 900).await;
    env.sign_in(&c, "ana@example.com", "correct horse").await;
    c.goto(&env.url(&format!("/app/accounts/{}/conversations/1", env.account_id)))
        .await
        .unwrap();
    wait_js(
        &c,
        "[...document.querySelectorAll('.message.outgoing')].some(m => m.textContent.includes('Welcome to Acme'))",
        "the greeting in the thread",
    )
    .await;
    env.api(
        "POST",
        "/conversations/1/toggle_status",
        Some(serde_json::json!({"status": "resolved"})),
    )
    .await;
    wait_js(
        &c,
        "[...document.querySelectorAll('.message.outgoing')].some(m => m.textContent.includes('Did we solve it?'))",
        "the CSAT survey in the thread",
    )
    .await;
    // The internal id of the first conversation of a fresh database is 1.
    env.post_webhook(incoming(
        2,
        serde_json::json!({"type": "interactive", "interactive": {"type": "button_reply",
        "button_reply": {"id": "csat:1:up", "title": "Yes"}}}),
    ))
    .await;
    wait_js(
        &c,
        "[...document.querySelectorAll('.activity')].some(m => m.textContent.includes('rated the conversation'))",
        "the rating in the thread",
    )
    .await;
    c.refresh().await.unwrap();
    wait_js(
        &c,
        "document.querySelector('.csat-panel')",
        "the rating in the contact panel",
    )
    .await;
    screenshot(&c, "hours-csat-thread-1440").await;
    js(
        &c,
        "document.querySelector('.csat-panel').scrollIntoView({block: 'center'}); return true;",
    )
    .await;
    screenshot(&c, "hours-csat-panel-1440").await;
    let violations = axe_violations(&c).await;
    assert!(violations.is_empty(), "axe: {violations:#?}");

    let p = env.browser(390, 844).await;
    env.sign_in(&p, "ana@example.com", "correct horse").await;
    p.goto(&env.url(&format!("/app/accounts/{}/conversations/1", env.account_id)))
        .await
        .unwrap();
    wait_js(&p, "document.querySelector('.thread-header')", "the thread").await;
    assert_eq!(js(&p, &format!("return {NO_OVERFLOW}")).await, true);
    screenshot(&p, "hours-csat-thread-390").await;
    let violations = axe_violations(&p).await;
    assert!(violations.is_empty(), "axe: {violations:#?}");
}
