use crate::browser_kit::*;
use crate::common::*;

// Issue 12 in headless Chromium: the inbox alerts at the top of the conversations workspace.
// An administrator sees one compact banner per affected inbox (a heartbeat overdue on one,
// a Dualhook disconnection on the other) with a link to its settings; an agent sees only a
// plain notice for the disconnected inbox (sends refused). Screenshots at 1440×900 and
// 390×844 under `target/screenshots/workspace-alerts-*.png`.

use serde_json::json;

fn sql(env: &Env, q: &str) {
    use diesel::{Connection, RunQueryDsl};
    let mut conn = diesel::PgConnection::establish(&env.db.url).unwrap();
    diesel::sql_query(q).execute(&mut conn).unwrap();
}

#[tokio::test]
async fn workspace_shows_inbox_alerts_to_administrators_and_refused_sends_to_agents() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    let support = env.create_inbox().await["id"].as_i64().unwrap();
    let sales = env
        .api(
            "POST",
            "/inboxes",
            Some(json!({"name": "Sales Europe", "channel": {"type": "whatsapp", "phone_number": "+15557654321", "provider": "whatsapp_cloud",
                "provider_config": {"api_key": "EAAG-browser-2", "phone_number_id": "106540352242923", "business_account_id": WABA_ID}}})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    sql(
        &env,
        &format!(
            "INSERT INTO dualhook_inboxes (inbox_id, account_id, dualhook_connection_id, connection_mode, heartbeat_status, heartbeat_next_due_at) \
             VALUES ({support}, {acc}, 'conn_a', 'coexistence', 'OVERDUE', '2026-05-14 10:00:00+00'), \
                    ({sales}, {acc}, 'conn_b', 'cloud_api', NULL, NULL)",
            acc = env.account_id
        ),
    );
    sql(
        &env,
        &format!("UPDATE dualhook_inboxes SET disconnected_at = '2026-05-20 08:30:00+00', disconnected_reason = 'token_revoked' WHERE inbox_id = {sales}"),
    );
    env.create_agent("ben@example.com");
    env.add_member("ben@example.com");

    let workspace = env.url(&format!("/app/accounts/{}/conversations", env.account_id));
    for (w, h, tag) in [(1440, 900, "desktop"), (390, 844, "phone")] {
        // The administrator: both inboxes, each with its settings link.
        let c = env.browser(w, h).await;
        env.sign_in(&c, "ana@example.com", "correct horse").await;
        c.goto(&workspace).await.unwrap();
        wait_js(
            &c,
            "document.querySelector('[data-inbox-alert]')",
            "the inbox alerts",
        )
        .await;
        let alerts = js(
            &c,
            "return [...document.querySelectorAll('[data-inbox-alert]')].map(a => ({id: a.dataset.inboxAlert, text: a.textContent.replace(/\\s+/g, ' ').trim(), href: a.querySelector('a') && a.querySelector('a').getAttribute('href'), refused: a.hasAttribute('data-sends-refused')}))",
        )
        .await;
        let alerts = alerts.as_array().unwrap();
        assert_eq!(alerts.len(), 2, "{alerts:?}");
        assert_eq!(alerts[0]["id"], support.to_string());
        let text = alerts[0]["text"].as_str().unwrap();
        assert!(text.contains("Support:"), "{text}");
        assert!(
            text.contains("Heartbeat overdue since 2026-05-14 10:00 UTC"),
            "{text}"
        );
        assert_eq!(
            alerts[0]["href"],
            format!(
                "/app/accounts/{}/settings/inboxes/{support}",
                env.account_id
            )
        );
        assert_eq!(alerts[0]["refused"], false);
        let text = alerts[1]["text"].as_str().unwrap();
        assert!(text.contains("Sales Europe:"), "{text}");
        assert!(
            text.contains("Disconnected in Dualhook on 2026-05-20 08:30 UTC (token revoked)"),
            "{text}"
        );
        assert_eq!(alerts[1]["refused"], true);
        // The link opens the inbox settings.
        js(
            &c,
            "document.querySelector('[data-inbox-alert] a').click(); return true",
        )
        .await;
        wait_js(
            &c,
            &format!("location.pathname.endsWith('/settings/inboxes/{support}') && document.readyState === 'complete'"),
            "the inbox settings",
        )
        .await;
        c.goto(&workspace).await.unwrap();
        wait_js(
            &c,
            "document.querySelector('[data-inbox-alert]')",
            "the inbox alerts",
        )
        .await;
        screenshot(&c, &format!("workspace-alerts-admin-{tag}")).await;
        let violations = axe_violations(&c).await;
        assert!(violations.is_empty(), "{violations:#?}");
        c.close().await.unwrap();

        // The agent: only the inbox whose sends are refused, without settings links.
        let c = env.browser(w, h).await;
        env.sign_in(&c, "ben@example.com", "agent password").await;
        c.goto(&workspace).await.unwrap();
        wait_js(
            &c,
            "document.querySelector('[data-inbox-alert]')",
            "the agent's notice",
        )
        .await;
        let alerts = js(
            &c,
            "return [...document.querySelectorAll('[data-inbox-alert]')].map(a => ({text: a.textContent.replace(/\\s+/g, ' ').trim(), links: a.querySelectorAll('a').length}))",
        )
        .await;
        let alerts = alerts.as_array().unwrap();
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let text = alerts[0]["text"].as_str().unwrap();
        assert!(text.contains("Sales Europe:"), "{text}");
        assert!(text.contains("replies cannot be sent"), "{text}");
        assert!(!text.contains("Heartbeat"), "{text}");
        assert_eq!(alerts[0]["links"], 0);
        screenshot(&c, &format!("workspace-alerts-agent-{tag}")).await;
        let violations = axe_violations(&c).await;
        assert!(violations.is_empty(), "{violations:#?}");
        c.close().await.unwrap();
    }
}
