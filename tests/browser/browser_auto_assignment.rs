use crate::browser_kit::*;
use crate::common::*;

// Issue 13 (avail) in the browser: an administrator turns auto-assignment on (with a limit)
// on the inbox's settings page; a conversation arriving by webhook is assigned to the online
// agent live (the list row's avatar, the header and the activity line follow without a
// reload); the availability menu on the rail's avatar sets busy and back online (the dot
// follows). Screenshots at 1440×900 and 390×844, axe on each screen.

use serde_json::Value;

async fn no_serious_axe(c: &fantoccini::Client, what: &str) {
    let found = axe_violations(c).await;
    let serious: Vec<&String> = found
        .iter()
        .filter(|v| v.contains("(serious)") || v.contains("(critical)"))
        .collect();
    assert!(serious.is_empty(), "{what}: {serious:#?}");
}

#[tokio::test]
async fn auto_assignment_settings_live_assignment_and_the_availability_menu() {
    let env = Env::start().await;
    let inbox = env.create_inbox().await;
    let inbox_id = inbox["id"].as_i64().unwrap();
    env.create_agent("ben@example.com");
    env.add_member("ben@example.com");

    // The administrator turns auto-assignment on with a limit of 2.
    let admin = env.browser(1440, 900).await;
    env.sign_in(&admin, "ana@example.com", "correct horse")
        .await;
    admin
        .goto(&env.url(&format!(
            "/app/accounts/{}/settings/inboxes/{inbox_id}",
            env.account_id
        )))
        .await
        .unwrap();
    wait_js(
        &admin,
        "document.getElementById('auto-assignment-form')",
        "the card",
    )
    .await;
    js(
        &admin,
        "const f = document.getElementById('auto-assignment-form'); \
         document.getElementById('auto-assignment-enabled').checked = true; \
         document.getElementById('auto-assignment-limit').value = '2'; \
         f.requestSubmit(); return true;",
    )
    .await;
    wait_js(
        &admin,
        "document.querySelector('.notice') && document.querySelector('.notice').textContent.includes('Auto-assignment is on')",
        "the saved notice",
    )
    .await;
    let api = env.api("GET", &format!("/inboxes/{inbox_id}"), None).await;
    assert_eq!(api["enable_auto_assignment"], Value::Bool(true));
    assert_eq!(api["auto_assignment_config"]["max_assignment_limit"], 2);
    js(
        &admin,
        "document.getElementById('auto-assignment-title').scrollIntoView({block: 'start'}); return true;",
    )
    .await;
    screenshot(&admin, "avail-settings-1440").await;
    no_serious_axe(&admin, "inbox settings").await;

    // The conversation list is open when the customer writes: assigned live.
    admin
        .goto(&env.url(&format!("/app/accounts/{}/conversations", env.account_id)))
        .await
        .unwrap();
    wait_js(
        &admin,
        "document.getElementById('connection') && document.readyState === 'complete'",
        "the workspace",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    // The open stream recorded the administrator's presence (the automatic offline's heartbeat).
    {
        use diesel::{Connection, RunQueryDsl};
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = diesel::PgConnection::establish(&env.db.url).unwrap();
        let seen: N = diesel::sql_query(
            "SELECT count(*) AS n FROM account_users au JOIN users u ON u.id = au.user_id \
             WHERE u.email = 'ana@example.com' AND au.last_seen_online_at IS NOT NULL \
             AND au.presence_expires_at > now() + interval '4 minutes'",
        )
        .get_result(&mut conn)
        .unwrap();
        assert_eq!(seen.n, 1, "the realtime stream records presence");
    }
    env.post_webhook(with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    let ben_id = env
        .api("GET", "/agents", None)
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "ben@example.com")
        .map(|a| a["id"].as_i64().unwrap())
        .unwrap();
    wait_js(
        &admin,
        &format!(
            "document.querySelector('.conversation-row .avatar-wrap[data-user-id=\"{ben_id}\"]')"
        ),
        "the row shows Ben as assignee",
    )
    .await;
    // Open it: the header and the activity line say who and why.
    js(
        &admin,
        "document.querySelector('.conversation-row a').click(); return true;",
    )
    .await;
    wait_js(
        &admin,
        "document.body.textContent.includes('Assigned to Ben Agent by round-robin')",
        "the activity line",
    )
    .await;
    wait_js(
        &admin,
        &format!("document.querySelector('.thread-header[data-assignee-id=\"{ben_id}\"]')"),
        "the header's assignee",
    )
    .await;
    screenshot(&admin, "avail-assigned-1440").await;
    no_serious_axe(&admin, "assigned conversation").await;

    // The availability menu on the avatar: busy, then online again.
    js(
        &admin,
        "document.querySelector('.topnav .me').click(); return true;",
    )
    .await;
    wait_js(
        &admin,
        "!document.getElementById('availability-menu').hidden",
        "the menu opens",
    )
    .await;
    wait_js(
        &admin,
        "document.querySelector('#availability-menu [data-availability=\"online\"]').getAttribute('aria-checked') === 'true'",
        "online is checked",
    )
    .await;
    screenshot(&admin, "avail-menu-1440").await;
    no_serious_axe(&admin, "availability menu").await;
    js(
        &admin,
        "document.querySelector('#availability-menu [data-availability=\"busy\"]').click(); return true;",
    )
    .await;
    wait_js(
        &admin,
        "document.getElementById('availability-menu').hidden && document.querySelector('.me .presence').dataset.presence === 'busy'",
        "the rail dot is busy",
    )
    .await;
    let agents = env.api("GET", "/agents", None).await;
    let ana = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "ana@example.com")
        .unwrap()
        .clone();
    assert_eq!(ana["availability_status"], "busy");
    assert_eq!(ana["auto_offline"], Value::Bool(true));
    // Keyboard: Space opens on the avatar, Escape closes and returns focus.
    js(&admin, "document.querySelector('.topnav .me').focus(); document.querySelector('.topnav .me').dispatchEvent(new KeyboardEvent('keydown', {key: ' ', bubbles: true})); return true;").await;
    wait_js(
        &admin,
        "!document.getElementById('availability-menu').hidden && document.activeElement.closest('#availability-menu')",
        "the menu opens with focus inside",
    )
    .await;
    js(&admin, "document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true})); return true;").await;
    wait_js(
        &admin,
        "document.getElementById('availability-menu').hidden && document.activeElement === document.querySelector('.topnav .me')",
        "Escape closes and returns focus",
    )
    .await;
    js(&admin, "document.querySelector('.topnav .me').click(); document.querySelector('#availability-menu [data-availability=\"online\"]').click(); return true;").await;
    wait_js(
        &admin,
        "document.querySelector('.me .presence').dataset.presence === 'online'",
        "back online",
    )
    .await;

    // Phone width: the settings card and the menu (inside the opened rail menu).
    let phone = env.browser(390, 844).await;
    env.sign_in(&phone, "ana@example.com", "correct horse")
        .await;
    phone
        .goto(&env.url(&format!(
            "/app/accounts/{}/settings/inboxes/{inbox_id}",
            env.account_id
        )))
        .await
        .unwrap();
    js(
        &phone,
        "document.getElementById('auto-assignment-title').scrollIntoView({block: 'start'}); return true;",
    )
    .await;
    assert_eq!(
        js(
            &phone,
            "return document.documentElement.scrollWidth <= window.innerWidth + 1"
        )
        .await,
        Value::Bool(true),
        "no sideways scroll at 390 px"
    );
    screenshot(&phone, "avail-settings-390").await;
    no_serious_axe(&phone, "inbox settings at 390").await;
    js(
        &phone,
        "document.getElementById('menu-button').click(); return true;",
    )
    .await;
    wait_js(
        &phone,
        "document.querySelector('.topnav .me').getBoundingClientRect().height > 0",
        "the rail menu",
    )
    .await;
    js(
        &phone,
        "document.querySelector('.topnav .me').click(); return true;",
    )
    .await;
    wait_js(
        &phone,
        "!document.getElementById('availability-menu').hidden",
        "the menu at 390",
    )
    .await;
    let inside = js(
        &phone,
        "const r = document.getElementById('availability-menu').getBoundingClientRect(); return r.left >= 0 && r.right <= window.innerWidth && r.bottom <= window.innerHeight;",
    )
    .await;
    assert_eq!(inside, Value::Bool(true), "the menu fits the phone screen");
    screenshot(&phone, "avail-menu-390").await;
    no_serious_axe(&phone, "availability menu at 390").await;
}
