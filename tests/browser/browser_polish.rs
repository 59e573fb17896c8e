use crate::browser_kit::*;
use crate::common::*;

// polish10 in headless Chromium: a sent reaction is a badge, not a bubble nor the list's
// preview; every time in the workspace (bubbles, the window note, the contact panel, live
// ones) reads in the viewer's zone and locale with one formatter; the active saved view is
// named; a contact note written in one browser appears in another's open panel; the bell
// loads older notifications. Screenshots at 1440×900 and 390×844 under
// `target/screenshots/polish-*.png`.

use serde_json::{json, Value};

/// The customer of `text.json` writes `body` now (a new wamid each time).
async fn customer_writes(env: &Env, wamid: &str, body: &str) {
    let raw = String::from_utf8(with_current_timestamps(&webhook_fixture("text.json")))
        .unwrap()
        .replace(CUSTOMER_WAMID, wamid)
        .replace("Hi! Does the blue jacket come in size M?", body);
    env.post_webhook(raw.into_bytes()).await;
}

/// Every `<time datetime>` that is not relative shows what the one formatter
/// (`static/local_time.js`) makes of its datetime, none reads "UTC", and the ones found are
/// returned as `[selector-ish, text]` pairs for the failure message.
const TIMES_CHECK: &str = "
  const times = [...document.querySelectorAll('#thread time[datetime], #thread-header time[datetime], .contact-panel time[datetime]')];
  const wrong = times.filter(t => t.dataset.time !== 'relative' && (
      t.textContent !== window.switchboardTime.text(new Date(t.getAttribute('datetime')), t.dataset.time || '')
      || t.textContent.includes('UTC')));
  return {count: times.length, wrong: wrong.map(t => t.outerHTML)};";

#[tokio::test]
async fn a_reaction_is_a_badge_times_read_one_way_and_the_view_is_named() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    env.create_inbox().await;
    env.post_webhook(with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    env.wait_conversations(1).await;

    let c = env.browser(1440, 900).await;
    env.sign_in_admin(&c).await;
    open_conversation(&c, &env, 1).await;

    // One formatter for the bubbles, the window note and the contact panel.
    wait_js(
        &c,
        "document.querySelectorAll('#messages time[data-localised]').length >= 1",
        "localised message times",
    )
    .await;
    let times = js(&c, TIMES_CHECK).await;
    assert!(times["count"].as_i64().unwrap() >= 3, "{times}");
    assert_eq!(times["wrong"], json!([]), "{times}");
    assert_eq!(
        js(
            &c,
            "return !!document.querySelector('.window-note time[datetime][data-localised]')"
        )
        .await,
        Value::Bool(true),
        "the window note's time is a localised <time>"
    );

    // React 👍 to the customer's message.
    let customer = js(
        &c,
        "return Number([...document.querySelectorAll('#messages li.incoming')][0].dataset.messageId)",
    )
    .await
    .as_i64()
    .unwrap();
    focus_click(&c, &format!("#m-{customer} [data-msg-action=react]")).await;
    wait_js(
        &c,
        "document.querySelector('#emoji-popover .react-menu')",
        "the reaction menu",
    )
    .await;
    focus_click(
        &c,
        "#emoji-popover .react-menu button[aria-label='React 👍']",
    )
    .await;
    wait_js(
        &c,
        &format!(
            "(document.querySelector('#m-{customer} .reactions') || {{}}).textContent === '👍'"
        ),
        "the badge on the customer's bubble",
    )
    .await;
    // Let the live events settle (message.created of the reaction, the list refresh).
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let shown = js(
        &c,
        "return {outgoing: document.querySelectorAll('#messages li.message.outgoing').length,
                 reacted: document.getElementById('messages').textContent.includes('Reacted'),
                 preview: document.querySelector('.conversation-row .row-preview').textContent}",
    )
    .await;
    assert_eq!(shown["outgoing"], 0, "no bubble of its own: {shown}");
    assert_eq!(shown["reacted"], false, "{shown}");
    assert!(
        shown["preview"].as_str().unwrap().contains("blue jacket"),
        "the preview stays the customer's message: {shown}"
    );

    // A message arriving live gets the same formatting.
    customer_writes(&env, "wamid.polish-live", "Thanks! And in red?").await;
    wait_js(
        &c,
        "[...document.querySelectorAll('#messages li.incoming')].some(li => li.textContent.includes('in red?') && li.querySelector('time[data-localised]'))",
        "the live message with a localised time",
    )
    .await;
    let times = js(&c, TIMES_CHECK).await;
    assert_eq!(times["wrong"], json!([]), "{times}");
    screenshot(&c, "polish-thread-1440").await;

    // A saved view, named above the list and in the phone's marker.
    let view = env
        .api(
            "POST",
            "/custom_filters",
            Some(json!({"name": "Hot leads", "type": "conversation", "query": {"payload": [
                {"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"], "query_operator": null}
            ]}})),
        )
        .await;
    let view_id = view["id"].as_i64().unwrap();
    goto_app(
        &c,
        &env,
        &format!("/conversations?assignee_type=all&view={view_id}"),
    )
    .await;
    wait_js(
        &c,
        "(document.querySelector('[data-view-summary]') || {}).textContent?.includes('View: Hot leads')",
        "the view's name above the list",
    )
    .await;
    screenshot(&c, "polish-view-1440").await;
    let violations = axe_violations(&c).await;
    assert!(violations.is_empty(), "{violations:#?}");

    let p = env.browser(390, 844).await;
    env.sign_in_admin(&p).await;
    goto_app(
        &p,
        &env,
        &format!("/conversations?assignee_type=all&view={view_id}"),
    )
    .await;
    let marker = js(
        &p,
        "return document.querySelector('.phone-filters summary').textContent",
    )
    .await;
    assert!(
        marker.as_str().unwrap().contains("View: Hot leads"),
        "{marker}"
    );
    screenshot(&p, "polish-view-390").await;
    open_conversation(&p, &env, 1).await;
    wait_js(
        &p,
        "document.querySelectorAll('#messages time[data-localised]').length >= 2",
        "localised times on the phone",
    )
    .await;
    screenshot(&p, "polish-thread-390").await;
    let violations = axe_violations(&p).await;
    assert!(violations.is_empty(), "{violations:#?}");

    // The dark theme.
    let d = env.browser_with(1440, 900, &["--force-dark-mode"]).await;
    env.sign_in_admin(&d).await;
    goto_app(
        &d,
        &env,
        &format!("/conversations/1?assignee_type=all&view={view_id}"),
    )
    .await;
    wait_js(
        &d,
        "document.querySelector('[data-view-summary]')",
        "the view line",
    )
    .await;
    screenshot(&d, "polish-view-dark-1440").await;
    let violations = axe_violations(&d).await;
    assert!(violations.is_empty(), "{violations:#?}");
    for b in [c, p, d] {
        b.close().await.ok();
    }
}

#[tokio::test]
async fn a_note_appears_in_another_browser_and_the_bell_loads_more() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    env.create_inbox().await;
    env.post_webhook(with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    env.wait_conversations(1).await;

    let a = env.browser(1440, 900).await;
    env.sign_in_admin(&a).await;
    open_conversation(&a, &env, 1).await;
    let b = env.browser(1440, 900).await;
    env.sign_in_admin(&b).await;
    open_conversation(&b, &env, 1).await;
    wait_js(
        &b,
        "document.body.dataset.live === 'connected'",
        "b's live stream",
    )
    .await;

    // A writes a note; B's open panel shows it without a reload.
    js(
        &a,
        "document.getElementById('contact-note-input').value = 'Prefers calls after 5pm'; document.getElementById('contact-note-form').requestSubmit(); return 0",
    )
    .await;
    wait_js(
        &b,
        "document.getElementById('contact-note-list').textContent.includes('Prefers calls after 5pm') && document.getElementById('contact-notes-empty').hidden",
        "the note in the other browser",
    )
    .await;
    let note_time = js(
        &b,
        "const t = document.querySelector('#contact-note-list time'); return [t.textContent, window.switchboardTime.text(new Date(t.getAttribute('datetime')), '')]",
    )
    .await;
    assert_eq!(note_time[0], note_time[1], "{note_time}");
    js(
        &b,
        "document.getElementById('contact-notes').scrollIntoView(); return 0",
    )
    .await;
    screenshot(&b, "polish-note-live-1440").await;

    // 20 notifications: the bell shows 15, then "Load more" the other 5.
    {
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::PgConnection::establish(&env.db.url).unwrap();
        diesel::sql_query(format!(
            "INSERT INTO notifications (account_id, user_id, notification_type, primary_actor_type, \
                                        primary_actor_id, created_at, updated_at) \
             SELECT {acc}, u.id, 'conversation_assignment', 'Conversation', c.id, \
                    now() - k * interval '1 minute', now() \
             FROM users u, conversations c, generate_series(1, 20) k WHERE u.email = 'ana@example.com'",
            acc = env.account_id
        ))
        .execute(&mut conn)
        .unwrap();
    }
    for (c, name) in [(&b, "polish-bell-1440")] {
        c.refresh().await.unwrap();
        wait_js(c, "document.readyState === 'complete'", "the reload").await;
        focus_click(c, "#bell-button").await;
        wait_js(
            c,
            "document.querySelectorAll('#bell-list .bell-item').length === 15 && !document.getElementById('bell-more').hidden",
            "15 notifications and Load more",
        )
        .await;
        focus_click(c, "#bell-more").await;
        wait_js(
            c,
            "document.querySelectorAll('#bell-list .bell-item').length === 20 && document.getElementById('bell-more').hidden",
            "all 20 notifications",
        )
        .await;
        let distinct = js(
            c,
            "return new Set([...document.querySelectorAll('#bell-list .bell-item')].map(li => li.dataset.notificationId)).size",
        )
        .await;
        assert_eq!(distinct, 20);
        screenshot(c, name).await;
    }
    let p = env.browser(390, 844).await;
    env.sign_in_admin(&p).await;
    open_conversation(&p, &env, 1).await;
    focus_click(&p, "#bell-button").await;
    wait_js(
        &p,
        "document.querySelectorAll('#bell-list .bell-item').length === 15",
        "the bell on the phone",
    )
    .await;
    js(
        &p,
        "const panel = document.getElementById('bell-panel'); panel.scrollTop = panel.scrollHeight; return 0",
    )
    .await;
    screenshot(&p, "polish-bell-390").await;
    let violations = axe_violations(&p).await;
    assert!(violations.is_empty(), "{violations:#?}");
    for c in [a, b, p] {
        c.close().await.ok();
    }
}
