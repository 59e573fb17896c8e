//! The Contacts screen and a contact's page in Chromium (issue 11, contacts-ui): search
//! (accent-insensitive; BSUID-only and username-only contacts), open a contact, add a note,
//! selection and bulk bar, paging, axe-core (WCAG 2.1 AA) on both pages at 1440×900 and
//! 390×844 in the light and dark themes, with screenshots in `target/screenshots/contacts-*`.
//! The create / edit / label / merge / delete steps need contacts-api's routes and are
//! written below.

use crate::browser_kit::*;
use crate::common::*;

use fantoccini::{Client, Locator};
use std::time::Duration;

/// Contacts besides the one the webhook creates: a named one with email, company and
/// labels; a BSUID-only one; a username-only one; and 60 more so the list has two pages.
fn seed(env: &Env) {
    use diesel::{Connection, RunQueryDsl};
    let mut conn = diesel::PgConnection::establish(&env.db.url).unwrap();
    let acc = env.account_id;
    for sql in [
        format!("INSERT INTO labels (account_id, title, color) VALUES ({acc}, 'vip', '#20bf6b'), ({acc}, 'lead', '#ff9f43')"),
        format!(
            "INSERT INTO contacts (account_id, name, phone_number, email, labels, additional_attributes, custom_attributes, last_activity_at, created_at) VALUES
             ({acc}, 'Zoë Nakamura', '+447700900123', 'zoe@example.com', ARRAY['vip','lead'],
              '{{\"company_name\": \"Nakamura Ltd\", \"city\": \"London\", \"country\": \"United Kingdom\"}}',
              '{{\"plan\": \"gold\", \"seats\": 12}}', now() - interval '2 hours', now() - interval '3 days'),
             ({acc}, 'US.ONLYBSUID77', NULL, NULL, '{{}}', '{{}}', '{{}}', NULL, now() - interval '2 days'),
             ({acc}, 'quiet_fox', NULL, NULL, ARRAY['lead'], '{{}}', '{{}}', NULL, now() - interval '1 day')"
        ),
        format!("UPDATE contacts SET bsuid = 'US.ONLYBSUID77' WHERE name = 'US.ONLYBSUID77' AND account_id = {acc}"),
        format!("UPDATE contacts SET username = 'quiet_fox' WHERE name = 'quiet_fox' AND account_id = {acc}"),
        format!(
            "INSERT INTO contacts (account_id, name, phone_number, created_at)
             SELECT {acc}, format('Customer %s', lpad(n::text, 2, '0')), format('+1202555%s', lpad(n::text, 4, '0')),
                    now() - interval '10 days' - n * interval '1 minute'
             FROM generate_series(1, 60) n"
        ),
    ] {
        diesel::sql_query(sql).execute(&mut conn).unwrap();
    }
}

async fn search(c: &Client, env: &Env, q: &str) {
    c.goto(&env.url(&format!("/app/accounts/{}/contacts", env.account_id)))
        .await
        .unwrap();
    let input = c.find(Locator::Id("contacts-q")).await.unwrap();
    input.send_keys(q).await.unwrap();
    c.execute("window.__before = true; return true", vec![])
        .await
        .unwrap();
    click(c, ".contacts-search button[type=submit]").await;
    wait_js(
        c,
        "!window.__before && document.readyState === 'complete'",
        "the search answer",
    )
    .await;
}

#[tokio::test]
async fn contacts_search_open_note_select_page_and_pass_axe() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    env.create_inbox().await;
    env.post_webhook(with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    env.wait_conversations(1).await;
    seed(&env);
    let acc = env.account_id;
    let mut report = vec![];

    let c = env.browser(1440, 900).await;
    env.sign_in_admin(&c).await;
    // The rail's Contacts entry leads here.
    let href = js(
        &c,
        "return document.querySelector('.topnav a[data-nav=search]').getAttribute('href')",
    )
    .await;
    assert_eq!(href, format!("/app/accounts/{acc}/contacts"));
    c.goto(&env.url(&format!("/app/accounts/{acc}/contacts")))
        .await
        .unwrap();
    wait_js(&c, "document.querySelector('.contacts-table')", "the list").await;
    assert_eq!(contact_row_names(&c).await.len(), 50, "a page of 50");
    let range = js(
        &c,
        "return document.getElementById('contacts-range').textContent",
    )
    .await;
    assert_eq!(range, "Contacts 1–50");
    let nav_current = js(
        &c,
        "return document.querySelector('.topnav a[data-nav=search]').getAttribute('aria-current')",
    )
    .await;
    assert_eq!(nav_current, "page");

    // Next page: the other 14 (64 in all), each once; Previous comes back.
    let first_page = contact_row_names(&c).await;
    click(&c, "a[rel=next]").await;
    wait_js(
        &c,
        "document.getElementById('contacts-range') && document.getElementById('contacts-range').textContent === 'Contacts 51–64'",
        "page 2",
    )
    .await;
    let second = contact_row_names(&c).await;
    assert_eq!(second.len(), 14);
    assert!(second.iter().all(|n| !first_page.contains(n)));
    click(&c, "a[rel=prev]").await;
    wait_js(
        &c,
        "document.getElementById('contacts-range') && document.getElementById('contacts-range').textContent === 'Contacts 1–50'",
        "page 1 again",
    )
    .await;
    assert_eq!(contact_row_names(&c).await, first_page);

    // Select-all shows the bulk bar with the count.
    click(&c, "#contacts-all").await;
    wait_js(
        &c,
        "!document.getElementById('contacts-bulk').hidden && document.getElementById('contacts-selected').textContent === '50 selected'",
        "the bulk bar",
    )
    .await;
    screenshot(&c, "contacts-list-selected-1440").await;

    // Search: accents and case ignored; BSUID-only and username-only contacts found.
    search(&c, &env, "ZOE naka").await;
    assert_eq!(contact_row_names(&c).await, ["Zoë Nakamura"]);
    search(&c, &env, "us.onlybsuid").await;
    assert_eq!(contact_row_names(&c).await, ["US.ONLYBSUID77"]);
    search(&c, &env, "quiet_f").await;
    assert_eq!(contact_row_names(&c).await, ["quiet_fox"]);
    search(&c, &env, "6505551234").await;
    assert_eq!(
        contact_row_names(&c).await,
        ["Sheena Nelson"],
        "phone digits"
    );
    search(&c, &env, "nobody at all").await;
    wait_js(
        &c,
        "document.querySelector('.empty-state')",
        "the empty state",
    )
    .await;
    // A filter by label.
    c.goto(&env.url(&format!(
        "/app/accounts/{acc}/contacts?label=lead&sort=name"
    )))
    .await
    .unwrap();
    wait_js(
        &c,
        "document.querySelector('.contacts-table')",
        "the label filter",
    )
    .await;
    assert_eq!(contact_row_names(&c).await, ["quiet_fox", "Zoë Nakamura"]);

    // Open a contact's page from the list.
    search(&c, &env, "zoe").await;
    c.find(Locator::LinkText("Zoë Nakamura"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        &c,
        "document.querySelector('[data-contact-page]')",
        "the contact page",
    )
    .await;
    let text = js(&c, "return document.querySelector('main').innerText").await;
    let text = text.as_str().unwrap();
    for want in [
        "+447700900123",
        "zoe@example.com",
        "Nakamura Ltd",
        "London",
        "United Kingdom",
        "plan",
        "gold",
        "vip",
        "lead",
        "New conversation",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    let new_conv = js(
        &c,
        "const b = document.querySelector('[data-new-conversation]'); return b && b.dataset.contactId",
    )
    .await;
    assert!(new_conv.as_str().unwrap().parse::<i64>().is_ok());
    // Add a note.
    c.find(Locator::Id("contact-note-input"))
        .await
        .unwrap()
        .send_keys("Prefers email; VIP since 2024")
        .await
        .unwrap();
    click(&c, "#contact-note-form button[type=submit]").await;
    wait_js(
        &c,
        "document.querySelector('#contact-note-list .contact-note-text') && document.querySelector('#contact-note-list .contact-note-text').textContent === 'Prefers email; VIP since 2024'",
        "the new note",
    )
    .await;
    c.refresh().await.unwrap();
    wait_js(
        &c,
        "document.querySelector('#contact-note-list .contact-note-text')",
        "the note after a reload",
    )
    .await;
    let zoe_url = c.current_url().await.unwrap().to_string();

    // The webhook's contact: its conversation and the inbox it is reachable on.
    search(&c, &env, "sheena").await;
    c.find(Locator::LinkText("Sheena Nelson"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        &c,
        "document.querySelector('[data-contact-page]')",
        "Sheena's page",
    )
    .await;
    let text = js(&c, "return document.querySelector('main').innerText").await;
    let text = text.as_str().unwrap().to_string();
    assert!(text.contains("#1"), "{text}");
    assert!(text.contains("Support"), "{text}");
    assert!(text.contains("16505551234"), "{text}");
    assert!(text.contains("US.13491208655302741918"), "{text}");
    let delete_text = js(
        &c,
        "return document.getElementById('delete-contact-dialog').innerText",
    )
    .await;
    assert!(
        delete_text.as_str().unwrap().contains("1 conversation,"),
        "{delete_text}"
    );
    // Another account's id, or a bad id: 404.
    c.goto(&env.url(&format!("/app/accounts/{acc}/contacts/999999")))
        .await
        .unwrap();
    let title = c.title().await.unwrap();
    assert!(!title.contains("Contacts ·"), "{title}");
    c.close().await.unwrap();

    // Screenshots and axe-core: both pages, desktop and phone, light and dark.
    let list_url = env.url(&format!("/app/accounts/{acc}/contacts"));
    for (w, h, dark) in [
        (1440, 900, false),
        (390, 844, false),
        (1440, 900, true),
        (390, 844, true),
    ] {
        let c = if dark {
            env.browser_with(w, h, &["--force-dark-mode"]).await
        } else {
            env.browser(w, h).await
        };
        env.sign_in_admin(&c).await;
        let tag = format!("{w}{}", if dark { "-dark" } else { "" });
        for (name, url) in [("list", &list_url), ("contact", &zoe_url)] {
            c.goto(url).await.unwrap();
            wait_js(&c, "document.readyState === 'complete'", name).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            for v in axe_violations(&c).await {
                report.push(format!("{name}@{tag}: {v}"));
            }
            screenshot(&c, &format!("contacts-{name}-{tag}")).await;
            // Nothing wider than the window (one pane at a time on a phone).
            let overflow = js(
                &c,
                "return document.documentElement.scrollWidth > window.innerWidth + 1",
            )
            .await;
            assert_eq!(overflow, false, "{name}@{tag} overflows sideways");
        }
        // The dialogs, open.
        c.goto(&zoe_url).await.unwrap();
        wait_js(&c, "document.readyState === 'complete'", "zoe").await;
        click(&c, "[data-open-dialog=edit-contact-dialog]").await;
        wait_js(
            &c,
            "document.getElementById('edit-contact-dialog').open",
            "edit dialog",
        )
        .await;
        for v in axe_violations(&c).await {
            report.push(format!("edit-dialog@{tag}: {v}"));
        }
        screenshot(&c, &format!("contacts-edit-dialog-{tag}")).await;
        c.close().await.unwrap();
    }
    assert!(report.is_empty(), "axe-core:\n{}", report.join("\n"));
}

/// Create (with a 422 shown next to the phone field), edit, label, merge and delete through
/// the UI: needs contacts-api's `POST /contacts`, `PUT /contacts/{id}`,
/// `POST /contacts/{id}/labels`, `POST /actions/contact_merge` and `DELETE /contacts/{id}`.
#[tokio::test]
async fn contacts_create_edit_label_merge_delete() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    env.create_inbox().await;
    env.post_webhook(with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    env.wait_conversations(1).await;
    seed(&env);
    let acc = env.account_id;
    let c = env.browser(1440, 900).await;
    env.sign_in_admin(&c).await;
    c.goto(&env.url(&format!("/app/accounts/{acc}/contacts")))
        .await
        .unwrap();
    wait_js(&c, "document.querySelector('.contacts-table')", "the list").await;

    // Create: a bad phone first, its message next to the field.
    click(&c, "[data-open-dialog=new-contact-dialog]").await;
    wait_js(
        &c,
        "document.getElementById('new-contact-dialog').open",
        "the dialog",
    )
    .await;
    c.find(Locator::Id("new-contact-name"))
        .await
        .unwrap()
        .send_keys("Renée Dubois")
        .await
        .unwrap();
    c.find(Locator::Id("new-contact-phone"))
        .await
        .unwrap()
        .send_keys("12")
        .await
        .unwrap();
    click(&c, "#new-contact-form button[type=submit]").await;
    wait_js(
        &c,
        "document.querySelector('[data-field-error=phone_number]').textContent.length > 0",
        "the phone error",
    )
    .await;
    screenshot(&c, "contacts-new-contact-422").await;
    c.execute(
        "document.getElementById('new-contact-phone').value = '+33612345678'; return true",
        vec![],
    )
    .await
    .unwrap();
    click(&c, "#new-contact-form button[type=submit]").await;
    wait_js(
        &c,
        "document.querySelector('[data-contact-page]') && document.querySelector('h1').textContent === 'Renée Dubois'",
        "the new contact's page",
    )
    .await;

    // Edit: the name and the city.
    click(&c, "[data-open-dialog=edit-contact-dialog]").await;
    c.execute(
        "document.getElementById('edit-name').value = 'Renée Dubois-Martin'; document.getElementById('edit-city').value = 'Lyon'; return true",
        vec![],
    )
    .await
    .unwrap();
    click(&c, "#edit-contact-form button[type=submit]").await;
    wait_js(
        &c,
        "document.querySelector('h1').textContent === 'Renée Dubois-Martin' && document.querySelector('main').innerText.includes('Lyon')",
        "the edited contact",
    )
    .await;

    // Label it with the picker.
    c.find(Locator::Id("label-search"))
        .await
        .unwrap()
        .send_keys("vi")
        .await
        .unwrap();
    click(&c, "#label-options [data-label=vip]").await;
    wait_js(
        &c,
        "document.querySelector('#label-chips [data-label=vip]')",
        "the vip chip",
    )
    .await;
    c.refresh().await.unwrap();
    wait_js(
        &c,
        "document.querySelector('#label-chips [data-label=vip]')",
        "the vip chip after a reload",
    )
    .await;

    // Merge Sheena (who has the conversation) into this contact.
    pick_merge_candidate(&c, "sheena").await;
    click(&c, "[data-merge-confirm]").await;
    wait_js(
        &c,
        "document.querySelector('main').innerText.includes('#1') && document.querySelector('main').innerText.includes('16505551234')",
        "the merged conversation and identity",
    )
    .await;

    // Delete: the dialog names what goes.
    let text = js(
        &c,
        "return document.getElementById('delete-contact-dialog').innerText",
    )
    .await;
    assert!(text.as_str().unwrap().contains("1 conversation,"), "{text}");
    click(&c, "[data-open-dialog=delete-contact-dialog]").await;
    click(&c, "[data-delete-confirm]").await;
    wait_js(
        &c,
        "location.pathname.endsWith('/contacts') && document.querySelector('.contacts-table')",
        "back on the list",
    )
    .await;
    search(&c, &env, "renee").await;
    assert!(contact_row_names(&c).await.is_empty());
    c.close().await.unwrap();
}
