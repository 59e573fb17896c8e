use crate::browser_kit::*;
use crate::common::*;

// Custom attributes in the browser (issue 11): an administrator defines a list attribute in
// Settings → Custom attributes (values typed as chips), sets it in the conversation's contact
// panel, and a bad number is refused inline with the server's message. Axe on the settings
// page; screenshots at 1440×900, 390×844 and in the dark theme.

use fantoccini::Locator;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn define_a_list_attribute_set_it_in_the_panel_and_see_a_bad_number_refused() {
    let env = Env::start().await;
    env.create_inbox().await;
    env.post_webhook(with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    env.wait_conversations(1).await;
    let account = env.account_id;
    let settings = env.url(&format!(
        "/app/accounts/{account}/settings/custom_attributes"
    ));

    let c = env.browser(1440, 900).await;
    env.sign_in_admin(&c).await;
    c.goto(&settings).await.unwrap();
    wait_js(
        &c,
        "document.getElementById('ca-form')",
        "the settings page",
    )
    .await;
    assert_eq!(
        js(
            &c,
            "return document.querySelector('.settings-nav a.active').textContent"
        )
        .await,
        json!("Custom attributes")
    );

    // A contact attribute of type list, its values typed as chips.
    focus_click(&c, "[data-ca-add='contact_attribute']").await;
    type_into(&c, "#ca-name", "Plan tier").await;
    assert_eq!(
        js(&c, "return document.getElementById('ca-key').value").await,
        json!("plan_tier"),
        "the key follows the name"
    );
    c.find(Locator::Id("ca-type"))
        .await
        .unwrap()
        .select_by_value("list")
        .await
        .unwrap();
    wait_js(
        &c,
        "!document.querySelector('[data-ca-only=list]').hidden && document.querySelector('[data-ca-only=text]').hidden",
        "the list values field",
    )
    .await;
    focus_click(&c, "#ca-value-input").await;
    type_into(&c, "#ca-value-input", "Gold\u{E007}Silver,Bronze\u{E007}").await;
    wait_js(
        &c,
        "document.querySelectorAll('#ca-value-chips .chip').length === 3",
        "three chips",
    )
    .await;
    // A chip's × removes it.
    focus_click(&c, "#ca-value-chips .chip:last-child .chip-remove").await;
    wait_js(
        &c,
        "document.querySelectorAll('#ca-value-chips .chip').length === 2",
        "two chips",
    )
    .await;
    screenshot(&c, "custom-attributes-form-1440").await;
    focus_click(&c, "[data-ca-submit]").await;
    wait_js(
        &c,
        "document.querySelector('#ca-contact_attribute .ca-rows tbody tr code')?.textContent === 'plan_tier'",
        "the new attribute listed",
    )
    .await;
    assert!(
        js(&c, "return document.querySelector('.notice').textContent")
            .await
            .as_str()
            .unwrap()
            .contains("Plan tier added")
    );

    // The same key again is refused next to the key field.
    focus_click(&c, "[data-ca-add='contact_attribute']").await;
    type_into(&c, "#ca-name", "Plan tier").await;
    focus_click(&c, "[data-ca-submit]").await;
    wait_js(
        &c,
        "!document.getElementById('ca-error-attribute_key').hidden",
        "the key error",
    )
    .await;
    assert!(js(
        &c,
        "return document.getElementById('ca-error-attribute_key').textContent"
    )
    .await
    .as_str()
    .unwrap()
    .contains("already exists"));

    // A conversation attribute of type number (through the API) and a text with a regex.
    env.api(
        "POST",
        "/custom_attribute_definitions",
        Some(
            json!({"attribute_display_name": "Seats", "attribute_key": "seats",
                    "attribute_display_type": "number", "attribute_model": 0}),
        ),
    )
    .await;
    env.api(
        "POST",
        "/custom_attribute_definitions",
        Some(
            json!({"attribute_display_name": "Order number", "attribute_key": "order_number",
                    "attribute_display_type": "text", "attribute_model": 0,
                    "regex_pattern": "^ORD-[0-9]+$", "regex_cue": "Use the form ORD-123",
                    "attribute_description": "From the shop"}),
        ),
    )
    .await;
    c.refresh().await.unwrap();
    wait_js(
        &c,
        "document.querySelectorAll('.ca-rows tbody tr[id]').length === 3",
        "three rows",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let violations = axe_violations(&c).await;
    assert!(
        violations.is_empty(),
        "axe on the settings page: {violations:#?}"
    );
    assert_eq!(js(&c, &format!("return {NO_OVERFLOW}")).await, json!(true));
    js(&c, "window.scrollTo(0, 0); return true").await;
    screenshot(&c, "custom-attributes-settings-1440").await;

    // Edit: the key and model are fixed, the rest changes.
    focus_click(&c, "#ca-contact_attribute [data-ca-edit]").await;
    wait_js(
        &c,
        "document.getElementById('ca-key').disabled && document.querySelectorAll('#ca-value-chips .chip').length === 2",
        "the edit form",
    )
    .await;
    focus_click(&c, "[data-ca-cancel]").await;

    // The contact panel: set the plan from its select.
    c.goto(&env.url(&format!("/app/accounts/{account}/conversations/1")))
        .await
        .unwrap();
    wait_js(
        &c,
        "document.getElementById('ca-contact-plan_tier')",
        "the contact attribute editor",
    )
    .await;
    // The panel may re-render once more as the page's live stream connects, leaving the
    // element found a moment ago stale: find it again until the choice is made.
    let mut chosen = false;
    for _ in 0..50 {
        let picked = match c.find(Locator::Id("ca-contact-plan_tier")).await {
            Ok(select) => select.select_by_value("Gold").await,
            Err(e) => Err(e),
        };
        if picked.is_ok() {
            chosen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(chosen, "the plan select could be used");
    // "Saved" shows under it (unless a live update re-rendered the panel meanwhile).
    let conv = env.api("GET", "/conversations/1", None).await;
    let contact_id = conv["meta"]["sender"]["id"]
        .as_i64()
        .expect("the contact's id");
    let mut contact = Value::Null;
    for _ in 0..50 {
        contact = env
            .api("GET", &format!("/contacts/{contact_id}"), None)
            .await;
        if contact["payload"]["custom_attributes"]["plan_tier"] == "Gold" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        contact["payload"]["custom_attributes"]["plan_tier"], "Gold",
        "{contact}"
    );

    // A bad number is refused inline with the server's message; a good one is saved.
    focus_click(&c, "#ca-conv-seats").await;
    type_into(&c, "#ca-conv-seats", "a dozen\u{E007}").await;
    wait_js(
        &c,
        "!document.getElementById('ca-conv-seats-error').hidden",
        "the number error",
    )
    .await;
    // A live re-render of the panel (the list and header refresh after events) keeps it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        js(
            &c,
            "return [document.getElementById('ca-conv-seats-error').textContent, document.getElementById('ca-conv-seats').getAttribute('aria-invalid')]"
        )
        .await,
        json!(["Seats must be a number", "true"])
    );
    js(&c, "const b = document.querySelector('[data-ca-block]'); const p = b.closest('.contact-panel'); p.scrollTop += b.getBoundingClientRect().top - p.getBoundingClientRect().top - 16; return true").await;
    screenshot(&c, "custom-attributes-panel-error-1440").await;
    js(
        &c,
        "const e = document.getElementById('ca-conv-seats'); e.value = ''; return true",
    )
    .await;
    type_into(&c, "#ca-conv-seats", "12\u{E007}").await;
    wait_js(
        &c,
        "document.getElementById('ca-conv-seats-error').hidden",
        "the error gone",
    )
    .await;
    for _ in 0..50 {
        let conv = env.api("GET", "/conversations/1", None).await;
        if conv["custom_attributes"]["seats"] == json!(12) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The regex cue shows as the hint and as the refusal.
    focus_click(&c, "#ca-conv-order_number").await;
    type_into(&c, "#ca-conv-order_number", "7\u{E007}").await;
    wait_js(
        &c,
        "document.getElementById('ca-conv-order_number-error').textContent.includes('Use the form ORD-123')",
        "the regex cue",
    )
    .await;
    let conv = env.api("GET", "/conversations/1", None).await;
    assert_eq!(conv["custom_attributes"], json!({"seats": 12}), "{conv}");
    assert_eq!(js(&c, &format!("return {NO_OVERFLOW}")).await, json!(true));
    screenshot(&c, "custom-attributes-panel-1440").await;
    // The attribute editors (the rest of the thread page is `tests/browser/browser.rs`'s).
    let violations = axe_in(&c, "{include: [['[data-ca-block]']]}").await;
    assert!(
        violations.is_empty(),
        "axe on the attribute editors: {violations:#?}"
    );

    // The filter builder offers conversation attributes, with their type's operators.
    c.goto(&env.url(&format!("/app/accounts/{account}/conversations")))
        .await
        .unwrap();
    wait_js(
        &c,
        "document.querySelector('.conversation-row')",
        "the list",
    )
    .await;
    focus_click(&c, "[data-open-filter]").await;
    wait_js(
        &c,
        "document.querySelector('[data-filter-dialog]').open && document.querySelector('[data-conditions] [data-attribute] optgroup option[value=seats]')",
        "the custom attributes in the filter",
    )
    .await;
    c.find(Locator::Css("[data-conditions] [data-attribute]"))
        .await
        .unwrap()
        .select_by_value("seats")
        .await
        .unwrap();
    wait_js(
        &c,
        "[...document.querySelectorAll('[data-conditions] [data-operator] option')].some(o => o.value === 'is_greater_than') && !document.querySelector('[data-conditions] [data-value-text]').hidden",
        "the number operators",
    )
    .await;
    c.find(Locator::Css("[data-conditions] [data-operator]"))
        .await
        .unwrap()
        .select_by_value("is_greater_than")
        .await
        .unwrap();
    c.find(Locator::Css("[data-conditions] [data-value-text]"))
        .await
        .unwrap()
        .send_keys("10")
        .await
        .unwrap();
    screenshot(&c, "custom-attributes-filter-1440").await;
    focus_click(&c, "[data-apply-filter]").await;
    wait_js(
        &c,
        "location.search.includes('seats') && document.querySelectorAll('.conversation-row').length === 1",
        "the filtered list",
    )
    .await;
    c.close().await.unwrap();

    // Phone width: the settings page and the panel sheet.
    let p = env.browser(390, 844).await;
    env.sign_in_admin(&p).await;
    p.goto(&settings).await.unwrap();
    wait_js(
        &p,
        "document.getElementById('ca-form')",
        "the settings page",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(js(&p, &format!("return {NO_OVERFLOW}")).await, json!(true));
    let violations = axe_violations(&p).await;
    assert!(violations.is_empty(), "axe at phone width: {violations:#?}");
    screenshot(&p, "custom-attributes-settings-390").await;
    focus_click(&p, "[data-ca-add='conversation_attribute']").await;
    p.find(Locator::Id("ca-type"))
        .await
        .unwrap()
        .select_by_value("text")
        .await
        .unwrap();
    focus_click(&p, "#ca-regex-on").await;
    wait_js(
        &p,
        "!document.querySelector('[data-ca-regex]').hidden",
        "the regex fields",
    )
    .await;
    screenshot(&p, "custom-attributes-form-390").await;
    p.goto(&env.url(&format!("/app/accounts/{account}/conversations/1")))
        .await
        .unwrap();
    wait_js(
        &p,
        "document.querySelector('[data-panel-toggle]')",
        "the thread",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    focus_click(&p, "[data-panel-toggle]").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    js(
        &p,
        "const b = document.querySelector('[data-ca-block]'); const p = b.closest('.contact-panel'); p.scrollTop += b.getBoundingClientRect().top - p.getBoundingClientRect().top - 16; return true",
    )
    .await;
    assert_eq!(js(&p, &format!("return {NO_OVERFLOW}")).await, json!(true));
    screenshot(&p, "custom-attributes-panel-390").await;
    p.close().await.unwrap();

    // Dark theme.
    let d = env.browser_with(1440, 900, &["--force-dark-mode"]).await;
    env.sign_in_admin(&d).await;
    d.goto(&settings).await.unwrap();
    wait_js(
        &d,
        "document.getElementById('ca-form')",
        "the settings page",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let violations = axe_violations(&d).await;
    assert!(
        violations.is_empty(),
        "axe in the dark theme: {violations:#?}"
    );
    screenshot(&d, "custom-attributes-settings-dark").await;
    // Delete, after the confirmation dialog.
    focus_click(
        &d,
        "#ca-conversation_attribute tr:last-child [data-ca-delete]",
    )
    .await;
    wait_js(
        &d,
        "document.querySelector('[data-ca-confirm]').open",
        "the confirmation",
    )
    .await;
    assert!(js(
        &d,
        "return document.querySelector('[data-ca-confirm-text]').textContent"
    )
    .await
    .as_str()
    .unwrap()
    .starts_with("Order number"));
    screenshot(&d, "custom-attributes-delete-dark").await;
    focus_click(&d, "[data-ca-confirm-delete]").await;
    wait_js(
        &d,
        "document.querySelector('.notice')?.textContent === 'Attribute deleted.' && document.querySelectorAll('.ca-rows tbody tr[id]').length === 2",
        "the attribute deleted",
    )
    .await;
    d.goto(&env.url(&format!("/app/accounts/{account}/conversations/1")))
        .await
        .unwrap();
    wait_js(&d, "document.getElementById('ca-conv-seats')", "the panel").await;
    js(
        &d,
        "const b = document.querySelector('[data-ca-block]'); const p = b.closest('.contact-panel'); p.scrollTop += b.getBoundingClientRect().top - p.getBoundingClientRect().top - 16; return true",
    )
    .await;
    screenshot(&d, "custom-attributes-panel-dark").await;
    d.close().await.unwrap();
}
