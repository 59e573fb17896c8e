use crate::browser_kit::*;
use crate::common::*;

// Interactive messages from the composer (issue 12): the "Interactive" dialog builds reply
// buttons, a list, a location request and a link button with a live preview, the Graph stand-in receives the exact interactive
// bodies, the thread shows the buttons and the list, and the customer's tap threads back
// quoting the message. Closed window and private notes: the button says why it is
// unavailable. Screenshots at 1440×900 and 390×844 (dark), axe-core on the dialog and page.

use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

/// The wamid `interactive_button_reply.json` answers (its `context.id`).
const BUTTONS_WAMID: &str = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJPVVRHT0lOR18wMDAwMDIA";

/// Waits until Graph has received `n` interactive sends; returns their `interactive` objects.
async fn interactive_sent(env: &Env, n: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let sent: Vec<Value> = env
            .sent()
            .await
            .into_iter()
            .filter(|b| b["type"] == "interactive")
            .collect();
        if sent.len() >= n {
            for b in &sent {
                assert_eq!(b["to"], "+16505551234");
                assert_eq!(b["messaging_product"], "whatsapp");
            }
            return sent.into_iter().map(|b| b["interactive"].clone()).collect();
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "Graph got {sent:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn open_builder(c: &Client) {
    click(c, "#open-interactive").await;
    wait_js(
        c,
        "document.getElementById('interactive-builder').open && document.activeElement.id === 'ib-body'",
        "the interactive dialog, focus on its body",
    )
    .await;
}

#[tokio::test]
async fn reply_buttons_a_list_a_location_request_and_a_link_from_the_composer() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    // Each send gets its own wamid; the first is the one the fixture's tap answers.
    let sends = std::sync::atomic::AtomicUsize::new(0);
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(move |req: &wiremock::Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
            if body["status"] == "read" {
                return ResponseTemplate::new(200).set_body_json(json!({"success": true}));
            }
            let n = sends.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let id = if n == 0 {
                BUTTONS_WAMID.to_string()
            } else {
                format!("wamid.SENT.{n}")
            };
            ResponseTemplate::new(200)
                .set_body_json(json!({"messaging_product": "whatsapp", "messages": [{"id": id}]}))
        })
        .with_priority(1)
        .mount(&env.graph)
        .await;
    env.create_inbox().await;
    env.post_webhook(with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    env.wait_conversations(1).await;
    // A second customer who wrote long ago: the window is closed.
    env.post_webhook(webhook_fixture("text_username_no_phone.json"))
        .await;
    env.wait_conversations(2).await;

    let c = env.browser(1440, 900).await;
    env.sign_in_admin(&c).await;
    open_conversation(&c, &env, 1).await;
    wait_js(
        &c,
        "document.getElementById('open-interactive').getAttribute('aria-disabled') === 'false'",
        "the Interactive button, available",
    )
    .await;

    // ---- reply buttons ----
    open_builder(&c).await;
    type_into(&c, "#ib-body", "Did we solve your problem?").await;
    type_into(&c, "#ib-footer", "Main Street Store").await;
    type_into(&c, "#ib-buttons li:nth-child(1) input", "Yes").await;
    type_into(&c, "#ib-buttons li:nth-child(2) input", "Cancel order").await;
    // The button editor holds at most 3: a third one, then "Add a button" is gone.
    click(&c, "#ib-add-button").await;
    type_into(&c, "#ib-buttons li:nth-child(3) input", "Talk to a person").await;
    wait_js(
        &c,
        "document.getElementById('ib-add-button').hidden && document.activeElement.closest('#ib-buttons li:nth-child(3)')",
        "three buttons, no fourth",
    )
    .await;
    wait_js(
        &c,
        "[...document.querySelectorAll('#ib-preview .wa-action')].map(a => a.textContent).join('|') === '↩ Yes|↩ Cancel order|↩ Talk to a person' && document.querySelector('#ib-preview .wa-footer').textContent === 'Main Street Store'",
        "the preview's body, footer and buttons",
    )
    .await;
    screenshot(&c, "interactive-buttons-dialog").await;
    let violations = axe_in(&c, "document.querySelector('#interactive-builder')").await;
    assert!(violations.is_empty(), "axe: {violations:#?}");
    click(&c, "#ib-send").await;
    wait_js(
        &c,
        "!document.getElementById('interactive-builder').open && [...document.querySelectorAll('#messages .message.outgoing .interactive-button')].some(b => b.textContent === 'Cancel order')",
        "the buttons message in the thread",
    )
    .await;
    assert_eq!(
        js(&c, "return document.activeElement.id").await,
        json!("open-interactive"),
        "focus goes back to the opener"
    );
    let sent = interactive_sent(&env, 1).await;
    assert_eq!(
        sent[0],
        json!({"type": "button",
               "body": {"text": "Did we solve your problem?"},
               "footer": {"text": "Main Street Store"},
               "action": {"buttons": [
                   {"type": "reply", "reply": {"id": "Yes", "title": "Yes"}},
                   {"type": "reply", "reply": {"id": "Cancel order", "title": "Cancel order"}},
                   {"type": "reply", "reply": {"id": "Talk to a person", "title": "Talk to a person"}}]}})
    );

    // ---- a list, with a title over Meta's limit caught first ----
    open_builder(&c).await;
    click(&c, "input[name='ib-kind'][value='list']").await;
    type_into(&c, "#ib-header", "Shipping").await;
    type_into(&c, "#ib-body", "How should we ship it?").await;
    c.find(Locator::Id("ib-list-button"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(&c, "#ib-list-button", "Shipping options").await;
    type_into(&c, "#ib-sections .ib-section-title input", "Fast").await;
    type_into(
        &c,
        "#ib-sections .ib-row:nth-child(1) input",
        "Priority Express delivery option",
    )
    .await;
    type_into(
        &c,
        "#ib-sections .ib-row:nth-child(1) .field:nth-child(2) input",
        "Next day to 2 days",
    )
    .await;
    wait_js(
        &c,
        "document.querySelector('#ib-sections .ib-row .ib-count.over')",
        "the row title's counter, over 24",
    )
    .await;
    click(&c, "#ib-send").await;
    wait_js(
        &c,
        "document.getElementById('ib-error').textContent.includes('limited to 24') && document.activeElement.dataset.field === 'content_attributes.sections[0].items[0].title' && document.activeElement.getAttribute('aria-invalid') === 'true'",
        "the over-long row title named and focused",
    )
    .await;
    c.find(Locator::Css("#ib-sections .ib-row:nth-child(1) input"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(
        &c,
        "#ib-sections .ib-row:nth-child(1) input",
        "Priority Express",
    )
    .await;
    click(&c, "#ib-sections .ib-add-row").await;
    type_into(&c, "#ib-sections .ib-row:nth-child(2) input", "Standard").await;
    click(&c, "#ib-add-section").await;
    type_into(
        &c,
        "#ib-sections .ib-section:nth-child(2) .ib-section-title input",
        "Cheap",
    )
    .await;
    type_into(
        &c,
        "#ib-sections .ib-section:nth-child(2) .ib-row input",
        "Pick up in store",
    )
    .await;
    wait_js(
        &c,
        "document.getElementById('ib-row-count').textContent === '3 of 10 rows' && [...document.querySelectorAll('#ib-preview .wa-sheet .wa-row-title')].map(r => r.textContent).join('|') === 'Priority Express|Standard|Pick up in store' && document.querySelector('#ib-preview .wa-action').textContent === '☰ Shipping options'",
        "the list preview with its sheet",
    )
    .await;
    screenshot(&c, "interactive-list-dialog").await;
    let violations = axe_in(&c, "document.querySelector('#interactive-builder')").await;
    assert!(violations.is_empty(), "axe: {violations:#?}");
    click(&c, "#ib-send").await;
    wait_js(
        &c,
        "!document.getElementById('interactive-builder').open && document.querySelector('#messages .message.outgoing details.interactive-list summary')",
        "the list message in the thread",
    )
    .await;
    let sent = interactive_sent(&env, 2).await;
    assert_eq!(
        sent[1],
        json!({"type": "list",
               "header": {"type": "text", "text": "Shipping"},
               "body": {"text": "How should we ship it?"},
               "action": {"button": "Shipping options", "sections": [
                   {"title": "Fast", "rows": [
                       {"id": "Priority Express", "title": "Priority Express", "description": "Next day to 2 days"},
                       {"id": "Standard", "title": "Standard"}]},
                   {"title": "Cheap", "rows": [{"id": "Pick up in store", "title": "Pick up in store"}]}]}})
    );

    // ---- a location request: body only ----
    open_builder(&c).await;
    click(&c, "input[name='ib-kind'][value='location']").await;
    type_into(&c, "#ib-body", "Please share where we should deliver.").await;
    wait_js(
        &c,
        "document.getElementById('ib-header').closest('[hidden]') && document.getElementById('ib-footer').closest('[hidden]') && document.querySelector('#ib-preview .wa-action').textContent === '📍 Send location'",
        "the location request's editor and preview",
    )
    .await;
    click(&c, "#ib-send").await;
    wait_js(
        &c,
        "!document.getElementById('interactive-builder').open && [...document.querySelectorAll('#messages .message.outgoing .interactive-button')].some(b => b.textContent.includes('Send location'))",
        "the location request in the thread",
    )
    .await;
    let sent = interactive_sent(&env, 3).await;
    assert_eq!(
        sent[2],
        json!({"type": "location_request_message",
               "body": {"text": "Please share where we should deliver."},
               "action": {"name": "send_location"}})
    );

    // ---- the customer's tap threads back, quoting the buttons message ----
    env.post_webhook(with_current_timestamps(&webhook_fixture(
        "interactive_button_reply.json",
    )))
    .await;
    wait_js(
        &c,
        "[...document.querySelectorAll('#messages .message.incoming')].some(m => m.querySelector('.content')?.textContent === 'Cancel order' && m.querySelector('.quote')?.textContent === 'Did we solve your problem?')",
        "the customer's answer quoting the buttons",
    )
    .await;
    click(&c, "#messages details.interactive-list summary").await;
    wait_js(
        &c,
        "document.querySelector('#messages details.interactive-list').open",
        "the sent list, opened",
    )
    .await;
    screenshot(&c, "interactive-thread").await;
    let violations = axe_violations(&c).await;
    assert!(violations.is_empty(), "axe: {violations:#?}");

    // ---- a private note: unavailable, with the reason ----
    click(&c, "input[name='mode'][value='note']").await;
    wait_js(
        &c,
        "document.getElementById('open-interactive').getAttribute('aria-disabled') === 'true' && document.getElementById('interactive-reason').textContent.includes('Private notes')",
        "the button unavailable in a private note",
    )
    .await;
    click(&c, "input[name='mode'][value='reply']").await;

    // ---- the phone, dark: the thread and the dialog ----
    let phone = env.browser_with(390, 844, &["--force-dark-mode"]).await;
    env.sign_in_admin(&phone).await;
    open_conversation(&phone, &env, 1).await;
    wait_js(
        &phone,
        "document.querySelector('#messages details.interactive-list')",
        "the thread on the phone",
    )
    .await;
    click(&phone, "#messages details.interactive-list summary").await;
    js(
        &phone,
        "document.querySelector('#messages details.interactive-list').scrollIntoView({block: 'center'}); return true",
    )
    .await;
    screenshot(&phone, "interactive-thread-phone").await;
    open_builder(&phone).await;
    click(&phone, "input[name='ib-kind'][value='list']").await;
    type_into(&phone, "#ib-body", "Which size?").await;
    type_into(&phone, "#ib-sections .ib-row input", "Medium").await;
    screenshot(&phone, "interactive-list-dialog-phone").await;
    phone
        .find(Locator::Id("ib-body"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    click(&phone, "input[name='ib-kind'][value='cta']").await;
    type_into(&phone, "#ib-body", "Track your order here.").await;
    type_into(&phone, "#ib-cta-text", "Track order").await;
    type_into(&phone, "#ib-cta-url", "https://shop.example.com/track/4521").await;
    wait_js(
        &phone,
        "document.querySelector('#ib-preview .wa-action').textContent === '↗ Track order'",
        "the link button preview",
    )
    .await;
    screenshot(&phone, "interactive-cta-dialog-phone").await;
    let violations = axe_in(&phone, "document.querySelector('#interactive-builder')").await;
    assert!(violations.is_empty(), "axe (dark): {violations:#?}");
    click(&phone, "#ib-send").await;
    wait_js(
        &phone,
        "[...document.querySelectorAll('#messages a.interactive-button')].some(a => a.href === 'https://shop.example.com/track/4521')",
        "the link button in the thread",
    )
    .await;
    let sent = interactive_sent(&env, 4).await;
    assert_eq!(
        sent[3],
        json!({"type": "cta_url", "body": {"text": "Track your order here."},
               "action": {"name": "cta_url", "parameters": {"display_text": "Track order", "url": "https://shop.example.com/track/4521"}}})
    );

    // ---- the closed window: unavailable, and a click says why ----
    c.goto(&env.url(&format!("/app/accounts/{}/conversations/2", env.account_id)))
        .await
        .unwrap();
    wait_js(
        &c,
        "document.getElementById('open-interactive') && document.getElementById('open-interactive').getAttribute('aria-disabled') === 'true'",
        "the button unavailable outside the window",
    )
    .await;
    click(&c, "#open-interactive").await;
    wait_js(
        &c,
        "!document.getElementById('interactive-builder').open && document.getElementById('composer-error').textContent.includes('template')",
        "the reason, with the dialog closed",
    )
    .await;
    screenshot(&c, "interactive-window-closed").await;
    assert_eq!(interactive_sent(&env, 4).await.len(), 4);
}
