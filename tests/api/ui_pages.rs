//! The agent UI's server side without a browser: sign-in (wrong password, rate limit, CSRF),
//! session-authenticated API calls, and the inbox screen's HTML (escaping, visibility).

use diesel::RunQueryDsl;

use crate::common::session::Browser;
use crate::common::*;
use actix_web::test;
use serde_json::{json, Value};

#[actix_rt::test]
async fn sign_in_wrong_then_right_then_out() {
    let app = TestApp::start();
    let mut b = Browser::new(&app);
    let (status, _, location) = b.get("/app").await;
    assert_eq!((status, location.as_deref()), (303, Some("/app/login")));

    let (status, page, _) = b.sign_in("ana@example.com", "wrong").await;
    assert_eq!(status, 401);
    assert!(page.contains("That email and password do not match"));
    // An unknown email gets the very same message.
    let (status, page2, _) = b.sign_in("nobody@example.com", "wrong").await;
    assert_eq!(status, 401);
    assert!(page2.contains("That email and password do not match"));

    let (status, _, location) = b.sign_in("ANA@example.com", "correct horse").await;
    assert_eq!((status, location.as_deref()), (303, Some("/app")));
    let (_, _, location) = b.get("/app").await;
    assert_eq!(
        location.unwrap(),
        format!("/app/accounts/{}/conversations", app.account_id)
    );
    let (status, page, _) = b
        .get(&format!("/app/accounts/{}/conversations", app.account_id))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("Conversations"));
    let cookie = b
        .cookies
        .iter()
        .find(|c| c.name() == "switchboard_session")
        .unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(actix_web::cookie::SameSite::Lax));
    assert_eq!(
        cookie.secure(),
        Some(true),
        "FRONTEND_URL is https in tests"
    );

    // Sign out needs the CSRF token; then the pages send us back to sign in.
    let csrf = Browser::csrf_from(&page);
    let (status, _, location) = b
        .request(
            test::TestRequest::post()
                .uri("/app/logout")
                .set_form([("csrf_token", csrf.as_str())]),
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/app/login?signed_out=1"));
    let (status, _, location) = b
        .get(&format!("/app/accounts/{}/conversations", app.account_id))
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/app/login")));
}

#[actix_rt::test]
async fn sign_in_needs_the_forms_csrf_token_and_is_rate_limited() {
    let app = TestApp::start();
    let mut b = Browser::new(&app);
    b.get("/app/login").await;
    let (status, page, _) = b
        .request(test::TestRequest::post().uri("/app/login").set_form([
            ("email", "ana@example.com"),
            ("password", "correct horse"),
            ("csrf_token", "forged"),
        ]))
        .await;
    assert_eq!(status, 403);
    assert!(page.contains("This form has expired"));

    for _ in 0..5 {
        assert_eq!(b.sign_in("ana@example.com", "guess").await.0, 401);
    }
    // Five attempts in a moment leave the email's bucket empty. On a loaded machine each
    // password check takes seconds and the bucket refills one attempt per 12 s, so the test
    // sets the state those five instant attempts leave (how the bucket counts is shown by
    // `domain::limits`' unit test and, across two nodes, by tests/api/nodes.rs).
    diesel::sql_query(
        "UPDATE rate_buckets SET tokens = 0, updated_at = now() WHERE key = 'sign_in_email:ana@example.com'",
    )
    .execute(&mut app.conn())
    .unwrap();
    assert_eq!(
        b.sign_in("ana@example.com", "guess").await.0,
        429,
        "the sixth attempt for one email within a minute is refused"
    );
    let (status, page, _) = b.sign_in("ana@example.com", "correct horse").await;
    assert_eq!(status, 429);
    assert!(page.contains("Too many sign-in attempts"));
}

#[actix_rt::test]
async fn the_session_calls_the_api_with_the_csrf_header() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    let mut b = Browser::new(&app);
    b.sign_in("ana@example.com", "correct horse").await;
    let (_, page, _) = b
        .get(&format!("/app/accounts/{}/conversations/1", app.account_id))
        .await;
    let csrf = Browser::csrf_from(&page);
    let path = format!(
        "/api/v1/accounts/{}/conversations/1/toggle_status",
        app.account_id
    );
    let (status, _, _) = b
        .request(
            test::TestRequest::post()
                .uri(&path)
                .set_json(json!({"status": "pending"})),
        )
        .await;
    assert_eq!(
        status, 403,
        "a cookie call without the CSRF header is refused"
    );
    let (status, body, _) = b
        .request(
            test::TestRequest::post()
                .uri(&path)
                .insert_header(("x-csrf-token", csrf))
                .set_json(json!({"status": "pending"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["payload"]["current_status"], "pending");
}

#[actix_rt::test]
async fn the_inbox_screen_escapes_customer_text_and_hides_other_inboxes() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture(
        "text_unicode.json",
    )))
    .await;
    let mut b = Browser::new(&app);
    b.sign_in("ana@example.com", "correct horse").await;
    let (status, page, _) = b
        .get(&format!("/app/accounts/{}/conversations/1", app.account_id))
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains("<script>alert"), "customer HTML is escaped");
    assert!(
        page.contains("&lt;script&gt;alert(1)") || page.contains("&#60;script&#62;alert(1)"),
        "customer HTML shows as text"
    );
    assert!(
        page.contains("O&#39;Brien") || page.contains("O&#x27;Brien"),
        "the name is escaped too"
    );

    // An agent who is not a member of the inbox sees neither the conversation nor its row.
    app.create_agent("ben@example.com");
    let mut ben = Browser::new(&app);
    ben.sign_in("ben@example.com", "agent password").await;
    let (status, _, _) = ben
        .get(&format!("/app/accounts/{}/conversations/1", app.account_id))
        .await;
    assert_eq!(status, 404);
    let (_, list, _) = ben
        .get(&format!("/app/accounts/{}/conversations", app.account_id))
        .await;
    assert!(list.contains("No conversations here."));
}

#[actix_rt::test]
async fn search_finds_contacts_and_message_text_and_links_to_the_conversation() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver("text.json").await;
    let mut b = Browser::new(&app);
    b.sign_in("ana@example.com", "correct horse").await;
    let base = format!("/app/accounts/{}/search", app.account_id);
    let (status, page, _) = b.get(&format!("{base}?q=sheena")).await;
    assert_eq!(status, 200);
    // The matching part of the name is highlighted.
    assert!(page.contains("<mark>Sheena</mark> Nelson"), "{page}");
    assert!(page.contains(&format!("/app/accounts/{}/conversations/1", app.account_id)));
    let (_, page, _) = b.get(&format!("{base}?q=blue+jacket")).await;
    assert!(
        page.contains("Does the <mark>blue</mark> <mark>jacket</mark> come in size M?"),
        "{page}"
    );
    let (_, page, _) = b.get(&format!("{base}?q=US.1349120865")).await;
    assert!(page.contains("Sheena Nelson"), "BSUID search");
    let (_, page, _) = b.get(&format!("{base}?q=zzzz-nothing")).await;
    assert!(page.contains("No contact matches.") && page.contains("No message matches."));
}

#[actix_rt::test]
async fn opening_a_conversation_clears_its_unread_badge() {
    let app = TestApp::start();
    app.create_inbox(json!({})).await;
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    let mut b = Browser::new(&app);
    b.sign_in("ana@example.com", "correct horse").await;
    let list = format!(
        "/app/accounts/{}/partials/conversations?status=open",
        app.account_id
    );
    let (_, before, _) = b.get(&list).await;
    assert!(before.contains("unread-badge"), "{before}");
    let (_, page, _) = b
        .get(&format!("/app/accounts/{}/conversations/1", app.account_id))
        .await;
    let csrf = Browser::csrf_from(&page);
    let (status, _, _) = b
        .request(
            test::TestRequest::post()
                .uri(&format!(
                    "/api/v1/accounts/{}/conversations/1/update_last_seen",
                    app.account_id
                ))
                .insert_header(("x-csrf-token", csrf)),
        )
        .await;
    assert_eq!(status, 200);
    let (_, after, _) = b.get(&list).await;
    assert!(!after.contains("unread-badge"), "{after}");
}
