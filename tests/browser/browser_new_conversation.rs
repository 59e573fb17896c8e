use crate::browser_kit::*;
use crate::common::*;

// Starting a conversation from the inbox (issue 11): "+ New", a new phone number, an
// approved template with its parameters, send → the conversation opens with the template
// bubble, Graph receives the template, and another agent's list shows it live. Screenshots
// at 1440×900 and 390×844 (dark), axe-core on the dialog.

use fantoccini::Client;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Opens the dialog from the list header, types a new number, picks `order_update_v1` and
/// fills its parameters.
async fn fill_dialog(c: &Client) {
    click(c, ".list-tools [data-new-conversation]").await;
    wait_js(
        c,
        "document.getElementById('new-conversation').open && document.querySelectorAll('#nc-template-list .template-choice').length >= 2",
        "the dialog with the inbox's approved templates",
    )
    .await;
    type_into(c, "#nc-phone", "+1 650 555 9999").await;
    pick_order_update_template(c, "Sheena").await;
    wait_js(
        c,
        "document.getElementById('nc-template-preview').textContent === 'Hi Sheena, your order is on its way. Reply here if you need anything.' && !document.getElementById('nc-send').disabled",
        "the preview and an enabled Send",
    )
    .await;
}

#[tokio::test]
async fn new_conversation_from_the_inbox_with_a_template_to_a_new_number() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    env.mount_approved_templates().await;
    env.create_inbox().await;
    let list_url = env.url(&format!("/app/accounts/{}/conversations", env.account_id));

    // Another agent's screen (a phone, dark theme) watches the list.
    let other = env.browser_with(390, 844, &["--force-dark-mode"]).await;
    env.sign_in_admin(&other).await;
    other.goto(&list_url).await.unwrap();
    wait_js(
        &other,
        "document.querySelector('.empty-list')",
        "an empty list",
    )
    .await;

    let c = env.browser(1440, 900).await;
    env.sign_in_admin(&c).await;
    c.goto(&list_url).await.unwrap();
    fill_dialog(&c).await;
    let inbox_option = js(
        &c,
        "return document.querySelector('#nc-inbox option').textContent",
    )
    .await;
    assert_eq!(inbox_option, json!(format!("Support ({PHONE})")));
    screenshot(&c, "new-conversation-dialog").await;
    let violations = axe_in(&c, "document.querySelector('#new-conversation')").await;
    assert!(violations.is_empty(), "axe: {violations:#?}");

    click(&c, "#nc-send").await;
    wait_js(
        &c,
        "/\\/conversations\\/\\d+$/.test(location.pathname) && document.querySelector('.message.outgoing .template-tag')",
        "the new conversation with the template bubble",
    )
    .await;
    let bubble = js(
        &c,
        "return document.querySelector('.message.outgoing').textContent",
    )
    .await;
    assert!(
        bubble
            .as_str()
            .unwrap()
            .contains("Hi Sheena, your order is on its way"),
        "{bubble}"
    );
    let started = Instant::now();
    let sent = loop {
        let s = env.sent().await;
        if !s.is_empty() || started.elapsed() > Duration::from_secs(10) {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["to"], "+16505559999");
    assert_eq!(sent[0]["template"]["name"], "order_update_v1");
    let note = js(
        &c,
        "return document.getElementById('window-closed-note').textContent",
    )
    .await;
    assert_eq!(
        note,
        json!("The customer has not written yet: start with an approved template.")
    );
    screenshot(&c, "new-conversation-sent").await;

    // Assigned to the sender.
    let conv: Value =
        env.api("GET", "/conversations?status=all", None).await["data"]["payload"][0].clone();
    assert_eq!(conv["meta"]["sender"]["phone_number"], "+16505559999");
    assert_eq!(conv["meta"]["assignee"]["email"], "ana@example.com");

    // A contact's button (as the Contacts screen renders it) opens the dialog for that
    // contact; the contact search finds it too.
    let contact_id = conv["meta"]["sender"]["id"].as_i64().unwrap();
    js(
        &c,
        &format!(
            "const b = document.createElement('button'); b.type = 'button'; b.id = 'from-contact'; \
             b.dataset.newConversation = ''; b.dataset.contactId = '{contact_id}'; b.textContent = 'Message'; \
             document.body.append(b); return true"
        ),
    )
    .await;
    click(&c, "#from-contact").await;
    wait_js(
        &c,
        "document.getElementById('new-conversation').open && !document.getElementById('nc-chosen').hidden \
         && document.getElementById('nc-chosen-name').textContent === '+16505559999'",
        "the dialog with the contact chosen",
    )
    .await;
    click(&c, "#nc-change").await;
    type_into(&c, "#nc-contact-search", "5559999").await;
    wait_js(
        &c,
        "document.querySelectorAll('#nc-contact-results .nc-result').length === 1",
        "the contact search",
    )
    .await;
    click(&c, "#nc-contact-results .nc-result").await;
    wait_js(
        &c,
        "!document.getElementById('nc-chosen').hidden",
        "the contact chosen from the search",
    )
    .await;
    screenshot(&c, "new-conversation-contact-chosen").await;
    c.execute(
        "document.getElementById('new-conversation').close(); return true",
        vec![],
    )
    .await
    .unwrap();

    // The other screen got it live.
    wait_js(
        &other,
        "document.querySelectorAll('.conversation-row').length === 1",
        "the new conversation in the other agent's list",
    )
    .await;
    fill_dialog(&other).await;
    screenshot(&other, "new-conversation-dialog-phone-dark").await;
    let violations = axe_in(&other, "document.querySelector('#new-conversation')").await;
    assert!(violations.is_empty(), "axe (phone, dark): {violations:#?}");
    other.close().await.unwrap();
    c.close().await.unwrap();
}
