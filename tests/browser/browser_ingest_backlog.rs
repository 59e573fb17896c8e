use crate::browser_kit::*;
use crate::common::*;

// Issue 15 (ingest) in headless Chromium: while more webhook deliveries wait than
// INGEST_BACKLOG_ALERT (default 10,000) allows, administrators see a banner at the top of the
// conversations workspace (the server's own 5-second backlog check raises it); agents do
// not. Screenshots at 1440×900 and 390×844 under `target/screenshots/ingest-backlog-*.png`.

#[tokio::test]
async fn administrators_see_the_ingest_backlog_banner() {
    let _one = SERIAL.lock().await;
    let env = Env::start().await;
    let inbox = env.create_inbox().await["id"].as_i64().unwrap();
    // 10,001 deliveries waiting, not yet due (so the server's workers leave them be).
    {
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::PgConnection::establish(&env.db.url).unwrap();
        diesel::sql_query(format!(
            "INSERT INTO whatsapp_events (inbox_id, phone_number, raw_body, run_after, received_at) \
             SELECT {inbox}, '{PHONE}', '{{}}', now() + interval '1 hour', now() - interval '95 seconds' \
             FROM generate_series(1, 10001)"
        ))
        .execute(&mut conn)
        .unwrap();
    }
    env.create_agent("ben@example.com");
    env.add_member("ben@example.com");
    let workspace = env.url(&format!("/app/accounts/{}/conversations", env.account_id));
    for (w, h, tag) in [(1440, 900, "desktop"), (390, 844, "phone")] {
        let c = env.browser(w, h).await;
        env.sign_in(&c, "ana@example.com", "correct horse").await;
        // The check runs every 5 s: reload until it has seen the backlog.
        let started = std::time::Instant::now();
        loop {
            c.goto(&workspace).await.unwrap();
            let shown = js(
                &c,
                "return !!document.querySelector('[data-ingest-backlog-banner]')",
            )
            .await;
            if shown == true {
                break;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "no banner"
            );
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        let text = js(
            &c,
            "return document.querySelector('[data-ingest-backlog-banner]').textContent.replace(/\\s+/g, ' ').trim()",
        )
        .await;
        let text = text.as_str().unwrap();
        assert!(text.contains("Ingest is behind."), "{text}");
        assert!(text.contains("10001 deliveries are waiting"), "{text}");
        assert!(text.contains("Nothing is lost"), "{text}");
        screenshot(&c, &format!("ingest-backlog-admin-{tag}")).await;
        let violations = axe_violations(&c).await;
        assert!(violations.is_empty(), "{violations:#?}");
        c.close().await.unwrap();

        let c = env.browser(w, h).await;
        env.sign_in(&c, "ben@example.com", "agent password").await;
        c.goto(&workspace).await.unwrap();
        let shown = js(
            &c,
            "return !!document.querySelector('[data-ingest-backlog-banner]')",
        )
        .await;
        assert_eq!(shown, false, "agents see no backlog banner");
        c.close().await.unwrap();
    }
}
