use crate::browser_kit::*;
use crate::common::*;

// Automation in the browser (issue 13, rules): an administrator creates a rule in Settings →
// Automation (keyword → label), a new conversation arriving by webhook gets labelled live in
// the open list; a macro runs from the conversation header. Axe on the settings page and the
// editor; screenshots at 1440×900 and 390×844.

use serde_json::{json, Value};

/// An incoming text from `from` (a new contact) with `body`.
fn text(from: &str, wamid: &str, body: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
      "object": "whatsapp_business_account",
      "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15551234567", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Rafael Refund"}, "wa_id": from}],
        "messages": [{"id": wamid, "timestamp": chrono::Utc::now().timestamp().to_string(),
          "type": "text", "from": from, "text": {"body": body}}]
      }}]}]
    }))
    .unwrap()
}

async fn click(c: &fantoccini::Client, css: &str) {
    let found = js(
        c,
        &format!(
            "const e = document.querySelector({}); if (!e) return false; e.focus(); e.click(); return true;",
            serde_json::to_string(css).unwrap()
        ),
    )
    .await;
    assert_eq!(found, Value::Bool(true), "nothing matches {css}");
}

fn serious(v: Vec<String>) -> Vec<String> {
    v.into_iter()
        .filter(|l| l.contains("(serious)") || l.contains("(critical)"))
        .collect()
}

#[tokio::test]
async fn create_a_rule_in_settings_see_a_new_conversation_labelled_live_and_run_a_macro() {
    let env = Env::start().await;
    env.create_inbox().await;
    let account = env.account_id;
    let c = env.browser(1440, 900).await;
    env.sign_in(&c, "ana@example.com", "correct horse").await;
    c.goto(&env.url(&format!("/app/accounts/{account}/settings/automation")))
        .await
        .unwrap();
    wait_js(
        &c,
        "document.getElementById('new-rule')",
        "the automation page",
    )
    .await;
    assert_eq!(
        js(
            &c,
            "return document.querySelector('.settings-nav a.active').textContent"
        )
        .await,
        json!("Automation")
    );
    click(&c, "#new-rule").await;
    wait_js(
        &c,
        "document.getElementById('automation-editor').open",
        "the editor",
    )
    .await;
    js(
        &c,
        "document.getElementById('ed-name').value = 'Refund requests';
         document.getElementById('ed-description').value = 'Label conversations asking for a refund';
         document.querySelector('#ed-conditions .cond-value').value = 'refund, money back';
         document.querySelector('#ed-actions .act-value').value = 'refund';
         return true;",
    )
    .await;
    click(&c, "#ed-add-action").await;
    js(
        &c,
        "const sel = document.querySelector('#ed-actions li:nth-child(2) select');
         sel.value = 'change_priority'; sel.dispatchEvent(new Event('change'));
         document.querySelector('#ed-actions li:nth-child(2) .act-value').value = 'high';
         return true;",
    )
    .await;
    screenshot(&c, "automation-editor-1440").await;
    let v = serious(axe_in(&c, "document.getElementById('automation-editor')").await);
    assert!(v.is_empty(), "axe (editor): {v:?}");
    click(&c, "#ed-save").await;
    wait_js(
        &c,
        "document.querySelector('#rule-list .automation-name') && document.querySelector('#rule-list .automation-name').textContent === 'Refund requests'",
        "the saved rule",
    )
    .await;
    let rules = env.api("GET", "/automation_rules", None).await;
    assert_eq!(
        rules["payload"][0]["conditions"][0]["values"],
        json!(["refund", "money back"])
    );
    assert_eq!(
        rules["payload"][0]["actions"][1],
        json!({"action_name": "change_priority", "action_params": ["high"]})
    );

    // A macro (API), listed on the page.
    env.api(
        "POST",
        "/macros",
        Some(
            json!({"name": "Mark VIP", "visibility": "global", "actions": [
            {"action_name": "add_label", "action_params": ["vip"]},
            {"action_name": "add_private_note", "action_params": ["VIP: answer first"]}]}),
        ),
    )
    .await;
    c.refresh().await.unwrap();
    wait_js(
        &c,
        "document.querySelector('#macro-list [data-macro-id]')",
        "the macro",
    )
    .await;
    screenshot(&c, "automation-settings-1440").await;
    let v = serious(axe_violations(&c).await);
    assert!(v.is_empty(), "axe (settings): {v:?}");

    // Runs show in the rule's log after it ran (below).
    // The list is open; a new conversation arrives and is labelled live.
    c.goto(&env.url(&format!("/app/accounts/{account}/conversations")))
        .await
        .unwrap();
    wait_js(
        &c,
        "document.getElementById('conversation-list')",
        "the list",
    )
    .await;
    env.post_webhook(text(
        "16505559876",
        "wamid.browser-refund",
        "Hi, I want a refund for my order",
    ))
    .await;
    wait_js(
        &c,
        "document.getElementById('conversation-list').textContent.includes('#refund')",
        "the live label",
    )
    .await;
    screenshot(&c, "automation-labelled-live-1440").await;

    // Run the macro from the header.
    c.goto(&env.url(&format!("/app/accounts/{account}/conversations/1")))
        .await
        .unwrap();
    wait_js(
        &c,
        "document.querySelector('.thread-header [data-macro-menu]')",
        "the header",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    click(&c, ".thread-header [data-macro-menu]").await;
    wait_js(
        &c,
        "document.querySelector('.macro-menu [data-macro-id]')",
        "the macro menu",
    )
    .await;
    screenshot(&c, "automation-macro-menu-1440").await;
    let v = serious(axe_in(&c, "document.querySelector('.macro-menu')").await);
    assert!(v.is_empty(), "axe (menu): {v:?}");
    click(&c, ".macro-menu [data-macro-id]").await;
    wait_js(
        &c,
        "document.getElementById('macro-toast') && document.getElementById('macro-toast').textContent.includes('Ran')",
        "the macro's toast",
    )
    .await;
    let conv = env.api("GET", "/conversations/1", None).await;
    let labels = conv["labels"].as_array().cloned().unwrap_or_default();
    assert!(
        labels.contains(&json!("vip")) && labels.contains(&json!("refund")),
        "{conv}"
    );
    wait_js(
        &c,
        "document.getElementById('thread').textContent.includes('VIP: answer first')",
        "the macro's note in the thread",
    )
    .await;
    screenshot(&c, "automation-macro-ran-1440").await;

    // The rule's run log.
    c.goto(&env.url(&format!("/app/accounts/{account}/settings/automation")))
        .await
        .unwrap();
    wait_js(&c, "document.querySelector('.rule-runs')", "the page").await;
    js(
        &c,
        "document.querySelector('.rule-runs').open = true; return true;",
    )
    .await;
    wait_js(
        &c,
        "document.querySelector('.rule-runs table') && document.querySelector('.rule-runs').textContent.includes('done')",
        "the runs",
    )
    .await;
    screenshot(&c, "automation-runs-1440").await;
    c.close().await.unwrap();

    // Phone width.
    let p = env.browser(390, 844).await;
    env.sign_in(&p, "ana@example.com", "correct horse").await;
    p.goto(&env.url(&format!("/app/accounts/{account}/settings/automation")))
        .await
        .unwrap();
    wait_js(
        &p,
        "document.getElementById('new-rule')",
        "the page (phone)",
    )
    .await;
    assert_eq!(
        js(
            &p,
            "return document.documentElement.scrollWidth <= window.innerWidth + 1"
        )
        .await,
        json!(true),
        "no sideways scroll"
    );
    screenshot(&p, "automation-settings-390").await;
    js(
        &p,
        "document.querySelector('.rule-edit').click(); return true;",
    )
    .await;
    wait_js(
        &p,
        "document.getElementById('automation-editor').open",
        "the editor (phone)",
    )
    .await;
    screenshot(&p, "automation-editor-390").await;
    p.goto(&env.url(&format!("/app/accounts/{account}/conversations/1")))
        .await
        .unwrap();
    wait_js(
        &p,
        "document.querySelector('.thread-header [data-macro-menu]')",
        "the header (phone)",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    click(&p, ".thread-header [data-macro-menu]").await;
    wait_js(
        &p,
        "document.querySelector('.macro-menu [data-macro-id]')",
        "the menu (phone)",
    )
    .await;
    screenshot(&p, "automation-macro-menu-390").await;
    p.close().await.unwrap();
}
