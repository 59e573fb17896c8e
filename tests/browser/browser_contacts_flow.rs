//! Contacts end to end in headless Chromium (issue 11's "Browser:" test, h11):
//!
//! - an agent creates a contact in the UI, adds a note and a custom attribute on the contact
//!   page, starts a conversation with an approved template from the contact (the Graph
//!   stand-in receives the template) and sees it open in the inbox; then merges two contacts
//!   and sees one thread list on the kept contact's page;
//! - the Contacts list's custom attribute filter (the contact filter of
//!   `POST /contacts/filter`), kept in the URL across a reload;
//! - the open Contacts list shows a new customer's contact (a webhook) and imported ones
//!   (CSV) without a reload.
//!
//! Screenshots at 1440×900 and 390×844 under `target/screenshots/contacts-flow-*.png`;
//! axe-core (no serious or critical violation) on each screen.

use crate::browser_kit::*;
use crate::common::*;

use fantoccini::Client;
use serde_json::json;
use std::time::{Duration, Instant};

const SIZES: [(u32, u32); 2] = [(1440, 900), (390, 844)];

/// Screenshots the page at both sizes as `contacts-flow-<name>-<width>` and checks axe and
/// sideways overflow at each; returns the findings.
async fn shoot(c: &Client, name: &str) -> Vec<String> {
    let mut report = vec![];
    for (w, h) in SIZES {
        c.set_window_size(w, h).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        screenshot(c, &format!("contacts-flow-{name}-{w}")).await;
        for v in serious_axe_violations(c).await {
            report.push(format!("{name}@{w}: {v}"));
        }
        if js(c, &format!("return {NO_OVERFLOW}")).await != json!(true) {
            report.push(format!("{name}@{w}: the page scrolls sideways"));
        }
    }
    c.set_window_size(1440, 900).await.unwrap();
    report
}

/// `text.json` from another customer (`wa_id`, `name`), so it makes another contact.
fn text_from(wa_id: &str, name: &str) -> Vec<u8> {
    let raw = String::from_utf8(with_current_timestamps(&webhook_fixture("text.json")))
        .unwrap()
        .replace("16505551234", wa_id)
        .replace("US.13491208655302741918", &format!("US.{wa_id}0"))
        .replace("Sheena Nelson", name)
        .replace(CUSTOMER_WAMID, &format!("wamid.{wa_id}"));
    raw.into_bytes()
}

async fn define_contact_attribute(env: &Env, key: &str, name: &str, kind: &str, values: &[&str]) {
    env.api(
        "POST",
        "/custom_attribute_definitions",
        Some(json!({"attribute_display_name": name, "attribute_key": key,
            "attribute_display_type": kind, "attribute_model": 1, "attribute_values": values})),
    )
    .await;
}

/// Create → note → custom attribute → template conversation → inbox; merge → one thread list.
#[tokio::test]
async fn create_a_contact_note_it_start_a_template_conversation_and_merge() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    env.mount_approved_templates().await;
    env.create_inbox().await;
    define_contact_attribute(&env, "plan_tier", "Plan tier", "list", &["Free", "Gold"]).await;
    // Sheena writes: her contact has a conversation (#1), the one merged later.
    env.post_webhook(with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    env.wait_conversations(1).await;
    let mut report = vec![];

    let c = env.browser(1440, 900).await;
    env.sign_in_admin(&c).await;
    goto_app(&c, &env, "/contacts").await;
    wait_js(&c, "document.querySelector('.contacts-table')", "the list").await;
    report.extend(shoot(&c, "list").await);

    // Create a contact.
    click(&c, "[data-open-dialog=new-contact-dialog]").await;
    wait_js(
        &c,
        "document.getElementById('new-contact-dialog').open",
        "the new-contact dialog",
    )
    .await;
    type_into(&c, "#new-contact-name", "Renée Dubois").await;
    type_into(&c, "#new-contact-phone", "+33612345678").await;
    report.extend(shoot(&c, "new-contact-dialog").await);
    click(&c, "#new-contact-form button[type=submit]").await;
    wait_js(
        &c,
        "document.querySelector('[data-contact-page]') && document.querySelector('h1').textContent === 'Renée Dubois'",
        "the new contact's page",
    )
    .await;
    let renee_id = js(
        &c,
        "return Number(document.querySelector('[data-contact-page]').dataset.contactId)",
    )
    .await
    .as_i64()
    .unwrap();

    // A note, then the custom attribute.
    type_into(&c, "#contact-note-input", "Prefers French; call after 6pm").await;
    click(&c, "#contact-note-form button[type=submit]").await;
    wait_js(
        &c,
        "document.getElementById('contact-note-list').textContent.includes('Prefers French')",
        "the note",
    )
    .await;
    wait_js(
        &c,
        "document.getElementById('ca-contact-plan_tier')",
        "the attribute editor",
    )
    .await;
    js(
        &c,
        "const s = document.getElementById('ca-contact-plan_tier'); s.value = 'Gold'; s.dispatchEvent(new Event('change', {bubbles: true})); return true",
    )
    .await;
    let started = Instant::now();
    loop {
        let v = env.api("GET", &format!("/contacts/{renee_id}"), None).await;
        if v["payload"]["custom_attributes"]["plan_tier"] == "Gold" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.refresh().await.unwrap();
    wait_js(
        &c,
        "document.getElementById('ca-contact-plan_tier').value === 'Gold' && document.getElementById('contact-note-list').textContent.includes('Prefers French')",
        "the note and the attribute after a reload",
    )
    .await;
    report.extend(shoot(&c, "contact-page").await);

    // New conversation from the contact: an approved template with its parameters.
    click(&c, "[data-new-conversation]").await;
    wait_js(
        &c,
        "document.getElementById('new-conversation').open && !document.getElementById('nc-chosen').hidden \
         && document.querySelectorAll('#nc-template-list .template-choice').length >= 2",
        "the dialog with the contact chosen and the templates",
    )
    .await;
    pick_order_update_template(&c, "Renée").await;
    report.extend(shoot(&c, "new-conversation-dialog").await);
    click(&c, "#nc-send").await;
    wait_js(
        &c,
        "/\\/conversations\\/\\d+$/.test(location.pathname) && document.querySelector('.message.outgoing .template-tag')",
        "the new conversation open in the inbox",
    )
    .await;
    let started = Instant::now();
    let template = loop {
        if let Some(b) = env
            .sent()
            .await
            .into_iter()
            .find(|b| b["type"] == "template")
        {
            break b;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "Graph got no template"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(template["to"], "+33612345678");
    assert_eq!(template["template"]["name"], "order_update_v1");
    wait_js(
        &c,
        "Array.from(document.querySelectorAll('.conversation-row')).some(r => r.innerText.includes('Renée Dubois'))",
        "the conversation in the inbox list",
    )
    .await;
    report.extend(shoot(&c, "inbox-after-template").await);

    // Merge Sheena into Renée: one thread list with both conversations.
    goto_app(&c, &env, &format!("/contacts/{renee_id}")).await;
    wait_js(
        &c,
        "document.querySelector('[data-contact-page]')",
        "Renée's page",
    )
    .await;
    pick_merge_candidate(&c, "sheena").await;
    report.extend(shoot(&c, "merge-dialog").await);
    click(&c, "[data-merge-confirm]").await;
    wait_js(
        &c,
        "document.querySelector('main').innerText.includes('16505551234')",
        "the merged identity",
    )
    .await;
    let threads = js(
        &c,
        "const s = document.querySelector('[aria-labelledby=contact-convs-title]'); \
         return Array.from(s.querySelectorAll('a[href*=\"/conversations/\"]')).map(a => a.getAttribute('href'))",
    )
    .await;
    let threads: Vec<String> = serde_json::from_value(threads).unwrap();
    assert_eq!(threads.len(), 2, "one list with both threads: {threads:?}");
    assert!(threads.iter().any(|h| h.contains("/conversations/1?")));
    report.extend(shoot(&c, "merged-contact").await);
    // Sheena's page is gone; the list has one of them.
    let v = env.api("GET", "/contacts/search?q=sheena", None).await;
    assert_eq!(v["payload"].as_array().map(Vec::len), Some(0), "{v}");
    c.close().await.unwrap();
    assert!(report.is_empty(), "{}", report.join("\n"));
}

/// The custom attribute filter: pick an attribute, an operator of its type and a value; the
/// rows are the contact filter's; the URL keeps it across a reload.
#[tokio::test]
async fn the_contacts_list_filters_on_a_custom_attribute_and_the_url_keeps_it() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    define_contact_attribute(&env, "plan_tier", "Plan tier", "list", &["Free", "Gold"]).await;
    define_contact_attribute(&env, "seats", "Seats", "number", &[]).await;
    for (name, phone, attrs) in [
        (
            "Ada Gold",
            "+15550000001",
            json!({"plan_tier": "Gold", "seats": 12}),
        ),
        (
            "Bo Gold",
            "+15550000002",
            json!({"plan_tier": "Gold", "seats": 3}),
        ),
        (
            "Cy Free",
            "+15550000003",
            json!({"plan_tier": "Free", "seats": 40}),
        ),
        ("Di None", "+15550000004", json!({})),
    ] {
        env.api(
            "POST",
            "/contacts",
            Some(json!({"name": name, "phone_number": phone, "custom_attributes": attrs})),
        )
        .await;
    }
    let mut report = vec![];
    let c = env.browser(1440, 900).await;
    env.sign_in_admin(&c).await;
    goto_app(&c, &env, "/contacts").await;
    wait_js(&c, "document.querySelector('.contacts-table')", "the list").await;
    js(
        &c,
        "document.querySelector('.contacts-more').open = true; return true",
    )
    .await;
    // A list attribute offers the list's operators and values.
    js(
        &c,
        "const s = document.getElementById('contacts-attr'); s.value = 'plan_tier'; s.dispatchEvent(new Event('change')); return true",
    )
    .await;
    let offered = js(
        &c,
        "return [Array.from(document.querySelectorAll('#contacts-attr-op option')).filter(o => !o.disabled).map(o => o.value), \
                 Array.from(document.querySelectorAll('#contacts-attr-values option')).map(o => o.value)]",
    )
    .await;
    assert_eq!(
        offered,
        json!([
            ["equal_to", "not_equal_to", "is_present", "is_not_present"],
            ["Free", "Gold"]
        ])
    );
    type_into(&c, "#contacts-attr-value", "Gold").await;
    report.extend(shoot(&c, "attr-filter-form").await);
    js(&c, "window.__before = true; return true").await;
    click(&c, ".contacts-filter-bar button[type=submit]").await;
    wait_js(
        &c,
        "!window.__before && document.readyState === 'complete'",
        "the filtered list",
    )
    .await;
    let mut names = contact_row_names(&c).await;
    names.sort();
    assert_eq!(names, ["Ada Gold", "Bo Gold"]);
    let url = c.current_url().await.unwrap();
    assert!(
        url.query().unwrap_or("").contains("attr=plan_tier")
            && url.query().unwrap_or("").contains("attr_value=Gold"),
        "{url}"
    );
    report.extend(shoot(&c, "attr-filter-gold").await);

    // The same rows as POST /contacts/filter with the same condition.
    let api = env
        .api(
            "POST",
            "/contacts/filter",
            Some(json!({"payload": [{"attribute_key": "plan_tier", "filter_operator": "equal_to", "values": ["Gold"]}]})),
        )
        .await;
    let mut api_names: Vec<String> = api["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    api_names.sort();
    assert_eq!(api_names, names);

    // A number attribute compares as a number; the URL survives a reload.
    goto_app(
        &c,
        &env,
        "/contacts?attr=seats&attr_op=is_greater_than&attr_value=10",
    )
    .await;
    c.refresh().await.unwrap();
    wait_js(&c, "document.readyState === 'complete'", "the reload").await;
    let mut names = contact_row_names(&c).await;
    names.sort();
    assert_eq!(names, ["Ada Gold", "Cy Free"]);
    assert_eq!(
        js(
            &c,
            "return [document.getElementById('contacts-attr').value, document.getElementById('contacts-attr-op').value, document.getElementById('contacts-attr-value').value, document.getElementById('contacts-attr-value').type]"
        )
        .await,
        json!(["seats", "is_greater_than", "10", "number"])
    );
    // A bad value is a 422 with the filter's reason, the form still there.
    goto_app(
        &c,
        &env,
        "/contacts?attr=nope&attr_op=equal_to&attr_value=1",
    )
    .await;
    let error = js(
        &c,
        "return document.querySelector('main > p.error').textContent",
    )
    .await;
    assert!(
        error.as_str().unwrap().contains("not a contact attribute"),
        "{error}"
    );
    assert_eq!(
        js(&c, "return !!document.getElementById('contacts-attr')").await,
        json!(true)
    );
    c.close().await.unwrap();
    assert!(report.is_empty(), "{}", report.join("\n"));
}

/// With the Contacts list open, a new customer's webhook and a CSV import add rows live.
#[tokio::test]
async fn the_open_contacts_list_shows_new_and_imported_contacts_without_a_reload() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    env.create_inbox().await;
    env.api(
        "POST",
        "/contacts",
        Some(json!({"name": "Existing Person", "phone_number": "+15550001111"})),
    )
    .await;
    let c = env.browser(1440, 900).await;
    env.sign_in_admin(&c).await;
    goto_app(&c, &env, "/contacts").await;
    wait_js(
        &c,
        "document.querySelector('.contacts-table') && document.body.dataset.live === 'connected'",
        "the list, live",
    )
    .await;
    js(&c, "window.__sameDocument = true; return true").await;

    // A new customer writes.
    env.post_webhook(text_from("4477009001", "Nia Customer"))
        .await;
    wait_js(
        &c,
        "Array.from(document.querySelectorAll('.contact-cell a')).some(a => a.textContent === 'Nia Customer')",
        "the webhook's contact in the open list",
    )
    .await;

    // A CSV import.
    let csv = "name,email,phone_number\nImported One,one@example.com,+15550002222\nImported Two,two@example.com,+15550003333\n";
    let form = reqwest::multipart::Form::new().part(
        "import_file",
        reqwest::multipart::Part::bytes(csv.as_bytes().to_vec())
            .file_name("contacts.csv")
            .mime_str("text/csv")
            .unwrap(),
    );
    let resp = env
        .http
        .post(env.url(&format!(
            "/api/v1/accounts/{}/contacts/import",
            env.account_id
        )))
        .header("api_access_token", &env.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
    wait_js(
        &c,
        "['Imported One', 'Imported Two'].every(n => Array.from(document.querySelectorAll('.contact-cell a')).some(a => a.textContent === n))",
        "the imported contacts in the open list",
    )
    .await;
    assert_eq!(
        js(&c, "return window.__sameDocument === true").await,
        json!(true),
        "the page was not reloaded"
    );
    let names = contact_row_names(&c).await;
    assert_eq!(names.len(), 4, "{names:?}");
    screenshot(&c, "contacts-flow-live-1440").await;
    c.set_window_size(390, 844).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    screenshot(&c, "contacts-flow-live-390").await;
    c.close().await.unwrap();
}
