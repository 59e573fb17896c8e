//! Media for signed-in browsers and how the thread renders messages, on the server side:
//! the media file route with a session cookie, the retry of a failed download (API and the
//! bubble), location and contact cards, links and `dir="auto"`, the list preview and the
//! conversation JSON's `last_non_activity_message.sender`.

use crate::common::session::Browser;
use crate::common::*;
use actix_web::test;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MEDIA_ID: &str = "1003383421387256";
const PNG: &[u8] = include_bytes!("../fixtures/media/box.png");

/// image.json announcing the PNG fixture (its sha256), so a download can succeed.
fn png_image_body() -> Vec<u8> {
    use base64::Engine;
    let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(PNG));
    String::from_utf8(webhook_fixture("image.json"))
        .unwrap()
        .replace("SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=", &sha)
        .replace("image/jpeg", "image/png")
        .into_bytes()
}

/// Mounts the media lookup and the file. With `expired_first`, the first lookup answers
/// Meta's 404 (a permanent failure) before the file is served.
async fn serve_png(server: &MockServer, expired_first: bool) {
    if expired_first {
        Mock::given(method("GET"))
            .and(path(format!("/v25.0/{MEDIA_ID}")))
            .respond_with(ResponseTemplate::new(404).set_body_json(
                json!({"error": {"message": "Media not found or expired", "code": 100}}),
            ))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{MEDIA_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "url": format!("{}/lookaside/{MEDIA_ID}", server.uri()),
            "mime_type": "image/png",
            "sha256": hex::encode(Sha256::digest(PNG)),
            "file_size": PNG.len(),
            "id": MEDIA_ID,
        })))
        .with_priority(2)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/lookaside/{MEDIA_ID}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(PNG)
                .insert_header("content-type", "image/png"),
        )
        .mount(server)
        .await;
}

async fn app_with_png(expired_first: bool) -> (MockServer, TestApp) {
    let graph = MockServer::start().await;
    serve_png(&graph, expired_first).await;
    mount_graph_defaults(&graph).await;
    let app = TestApp::start_with(Options {
        graph_base_url: Some(graph.uri()),
        ..Default::default()
    });
    app.create_inbox(json!({})).await;
    app.deliver_bytes(&png_image_body()).await;
    (graph, app)
}

async fn run_media_job(app: &TestApp) -> bool {
    switchboard::jobs::media::run_next(&app.state)
        .await
        .expect("media worker")
}

fn attachment(app: &TestApp) -> Value {
    app.query_json("SELECT to_jsonb(a) FROM attachments a")
}

/// The attachment's `data_url` path (without `FRONTEND_URL`).
async fn media_path(app: &TestApp) -> String {
    let thread = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations/1/messages",
            app.account_id
        ))
        .await;
    thread["payload"][0]["attachments"][0]["data_url"]
        .as_str()
        .unwrap()
        .strip_prefix("https://support.example.com")
        .unwrap()
        .to_string()
}

fn thread_page(app: &TestApp) -> String {
    format!("/app/accounts/{}/conversations/1", app.account_id)
}

#[actix_rt::test]
async fn the_media_file_is_served_to_a_session_cookie_that_may_see_the_inbox() {
    let (_graph, app) = app_with_png(false).await;
    assert!(run_media_job(&app).await);
    let media = media_path(&app).await;

    // The administrator's browser: the cookie alone gets the file.
    let mut ana = Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;
    let (status, body, _) = ana.get(&media).await;
    assert_eq!(status, 200, "{body}");
    let resp = {
        let svc = test::init_service(
            actix_web::App::new().configure(switchboard::app::configure(app.state.clone())),
        )
        .await;
        let mut req = test::TestRequest::get().uri(&media);
        for c in &ana.cookies {
            req = req.cookie(c.clone());
        }
        test::call_service(&svc, req.to_request()).await
    };
    assert_eq!(resp.headers().get("content-type").unwrap(), "image/png");
    assert_eq!(test::read_body(resp).await.as_ref(), PNG);

    // An agent: 404 until made a member of the inbox, then 200.
    let (ben_id, ben_token) = app.create_agent("ben@example.com");
    let mut ben = Browser::new(&app);
    ben.sign_in("ben@example.com", "agent password").await;
    assert_eq!(ben.get(&media).await.0, 404);
    let (status, _) = app.api("GET", &media, None, &ben_token).await;
    assert_eq!(status, 404);
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "INSERT INTO inbox_members (inbox_id, user_id) SELECT id, {ben_id} FROM inboxes"
        ))
        .execute(&mut app.conn())
        .unwrap();
    }
    assert_eq!(ben.get(&media).await.0, 200);

    // The administrator of another account: 404, with a cookie or a token.
    let other = switchboard::domain::accounts::create_admin(
        &mut app.conn(),
        "Other Co",
        "Olga Other",
        "olga@example.com",
        "other password",
    )
    .unwrap();
    let mut olga = Browser::new(&app);
    olga.sign_in("olga@example.com", "other password").await;
    let (status, body, _) = olga.get(&media).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = app.api("GET", &media, None, &other.api_access_token).await;
    assert_eq!(status, 404);

    // API tokens still work; nothing at all is still a 401.
    let (status, _) = app.api("GET", &media, None, &app.token.clone()).await;
    assert_eq!(status, 200);
    let (status, body) = app.api("GET", &media, None, "").await;
    assert_eq!(status, 401, "{body}");
    // An unknown attachment is a 404 for a signed-in browser too.
    assert_eq!(ana.get("/media/attachments/999999/x.png").await.0, 404);
}

#[actix_rt::test]
async fn a_failed_download_is_retried_through_the_api() {
    let (_graph, app) = app_with_png(true).await;
    let id = attachment(&app)["id"].as_i64().unwrap();
    let retry = format!(
        "/api/v1/accounts/{}/attachments/{id}/retry_download",
        app.account_id
    );
    let token = app.token.clone();

    // Still pending: nothing to retry.
    let (status, body) = app.api("POST", &retry, None, &token).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "download_status");

    // Meta answers 404: the download fails for good, with the reason stored.
    assert!(run_media_job(&app).await);
    let a = attachment(&app);
    assert_eq!(a["download_status"], "failed");
    assert!(
        a["download_error"]
            .as_str()
            .unwrap()
            .contains("Media not found or expired"),
        "{a}"
    );
    assert!(!run_media_job(&app).await, "a 4xx is not retried by itself");
    // Open threads were told: message.updated with update "attachment".
    assert_eq!(
        app.count(
            "realtime_events WHERE name = 'message.updated' AND payload->>'update' = 'attachment'"
        ),
        1
    );

    // Who may not see it gets a 404: an agent outside the inbox, another account, no such id.
    let (_, ben_token) = app.create_agent("ben@example.com");
    let (status, _) = app.api("POST", &retry, None, &ben_token).await;
    assert_eq!(status, 404);
    let other = switchboard::domain::accounts::create_admin(
        &mut app.conn(),
        "Other Co",
        "Olga Other",
        "olga@example.com",
        "other password",
    )
    .unwrap();
    let (status, _) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/attachments/{id}/retry_download",
                other.account_id
            ),
            None,
            &other.api_access_token,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/attachments/999999/retry_download",
                app.account_id
            ),
            None,
            &token,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/attachments/nope/retry_download",
                app.account_id
            ),
            None,
            &token,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(attachment(&app)["download_status"], "failed");

    // The administrator retries: pending again, one job queued, and it downloads.
    let (status, body) = app.api("POST", &retry, None, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], id);
    assert_eq!(body["download_status"], "pending");
    assert_eq!(body["download_error"], Value::Null);
    let (status, _) = app.api("POST", &retry, None, &token).await;
    assert_eq!(status, 422, "a second click queues nothing more");
    assert!(run_media_job(&app).await);
    assert_eq!(attachment(&app)["download_status"], "downloaded");
    assert!(!run_media_job(&app).await);
    let (status, body) = app.api("POST", &retry, None, &token).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("downloaded"));
}

#[actix_rt::test]
async fn the_bubble_shows_a_failed_download_with_its_reason_and_a_retry_button() {
    let (_graph, app) = app_with_png(true).await;
    let id = attachment(&app)["id"].as_i64().unwrap();
    let mut ana = Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;

    let (_, page, _) = ana.get(&thread_page(&app)).await;
    assert!(page.contains("Photo (downloading…)"), "{page}");
    assert!(!page.contains("data-retry-download"));

    assert!(run_media_job(&app).await);
    let (_, page, _) = ana.get(&thread_page(&app)).await;
    assert!(page.contains("⚠ Photo could not be downloaded"), "{page}");
    assert!(page.contains("Graph answered HTTP 404: Media not found or expired"));
    assert!(page.contains(&format!("data-retry-download=\"{id}\"")));
    assert!(!page.contains("(downloading…)"), "not downloading forever");

    // The page's script posts the retry with the session cookie and its CSRF token.
    let csrf = Browser::csrf_from(&page);
    let uri = format!(
        "/api/v1/accounts/{}/attachments/{id}/retry_download",
        app.account_id
    );
    let (status, body, _) = ana.request(test::TestRequest::post().uri(&uri)).await;
    assert_eq!(status, 403, "a cookie call needs the CSRF header: {body}");
    let (status, body, _) = ana
        .request(
            test::TestRequest::post()
                .uri(&uri)
                .insert_header(("x-csrf-token", csrf.as_str())),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(run_media_job(&app).await);
    let (_, page, _) = ana.get(&thread_page(&app)).await;
    assert!(page.contains("<img src=\"https://support.example.com/media/attachments/"));
    assert!(!page.contains("could not be downloaded"));
}

#[actix_rt::test]
async fn location_and_contact_cards_show_once() {
    let app = TestApp::start();
    app.create_inbox_direct();
    app.deliver("location.json").await;
    app.deliver("contacts.json").await;
    let mut ana = Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;
    let (_, page, _) = ana.get(&thread_page(&app)).await;
    let thread = &page[page.find("id=\"messages\"").unwrap()..];
    assert_eq!(thread.matches("Main Street Store").count(), 1, "{thread}");
    assert_eq!(thread.matches("1 Hacker Way").count(), 1, "{thread}");
    assert_eq!(thread.matches("Barbara J. Johnson").count(), 1, "{thread}");
    assert_eq!(thread.matches("+1 (415) 555-0829").count(), 1, "{thread}");
    assert_eq!(
        thread
            .matches("class=\"attachment attachment-card location\"")
            .count(),
        1
    );
    assert_eq!(
        thread
            .matches("class=\"attachment attachment-card contact-card\"")
            .count(),
        1
    );
    // The stored content (previews, search, API clients) is unchanged.
    let m = app.messages();
    assert!(m[0]["content"]
        .as_str()
        .unwrap()
        .contains("Main Street Store"));
    assert!(m[1]["content"]
        .as_str()
        .unwrap()
        .contains("Barbara J. Johnson"));
}

#[actix_rt::test]
async fn links_are_clickable_and_text_direction_follows_the_message() {
    let app = TestApp::start();
    app.create_inbox_direct();
    let text = |body: &str| {
        String::from_utf8(webhook_fixture("text.json"))
            .unwrap()
            .replace(
                "\"body\": \"Hi! Does the blue jacket come in size M?\"",
                &format!("\"body\": {}", serde_json::to_string(body).unwrap()),
            )
    };
    let first = text("See https://shop.example.com/item?id=1&size=m. Or javascript:alert(1) and JavaScript://x/%0aalert(1)");
    assert!(first.contains("shop.example.com"), "text.json changed");
    app.deliver_bytes(first.as_bytes()).await;
    let second =
        text("مرحبا، هل القميص الأزرق متوفر؟ http://example.org/\"><script>alert(1)</script>")
            .replace(
                "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTAwMDAwMDAwMDAwMDAwMDAwMQA=",
                "wamid.second",
            );
    app.deliver_bytes(second.as_bytes()).await;
    assert_eq!(app.messages().len(), 2);

    let mut ana = Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;
    let (_, page, _) = ana.get(&thread_page(&app)).await;
    let thread = &page[page.find("id=\"messages\"").unwrap()..];
    assert!(
        thread.contains(
            "<p class=\"content\" dir=\"auto\">See <a href=\"https://shop.example.com/item?id=1&#38;size=m\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">https://shop.example.com/item?id=1&#38;size=m</a>. Or javascript:alert(1) and JavaScript://x/%0aalert(1)</p>"
        ),
        "{thread}"
    );
    assert!(!thread.to_lowercase().contains("href=\"javascript"));
    assert!(
        thread.contains("<a href=\"http://example.org/\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">http://example.org/</a>&#34;&#62;&#60;script&#62;"),
        "{thread}"
    );
    assert!(!thread.contains("<script>"));
    assert_eq!(
        thread.matches("<p class=\"content\" dir=\"auto\">").count(),
        2
    );
}

#[actix_rt::test]
async fn the_list_preview_shows_the_last_message_someone_wrote_not_activity() {
    let app = TestApp::start();
    app.create_inbox_direct();
    app.deliver("text.json").await;
    let account = app.account_id;
    let token = app.token.clone();
    let (status, body) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{account}/conversations/1/messages"),
            Some(json!({"content": "Checking the stock now", "private": true})),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for status in ["resolved", "open"] {
        let (code, body) = app
            .api(
                "POST",
                &format!("/api/v1/accounts/{account}/conversations/1/toggle_status"),
                Some(json!({"status": status})),
                &token,
            )
            .await;
        assert_eq!(code, 200, "{body}");
    }
    assert!(
        app.count("messages WHERE message_type = 2") >= 1,
        "the status changes wrote activity lines"
    );

    // The list shows the note (the last thing written), not "Conversation was reopened by…".
    let mut ana = Browser::new(&app);
    ana.sign_in("ana@example.com", "correct horse").await;
    let (_, list, _) = ana
        .get(&format!(
            "/app/accounts/{account}/partials/conversations?status=all"
        ))
        .await;
    assert!(list.contains("Note: Checking the stock now"), "{list}");
    assert!(!list.contains("reopened"), "{list}");
}

#[actix_rt::test]
async fn last_non_activity_message_names_the_agent_who_wrote_it() {
    let app = TestApp::start();
    app.create_inbox_direct();
    app.deliver("text.json").await;
    let account = app.account_id;
    let token = app.token.clone();
    let (status, body) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{account}/conversations/1/messages"),
            Some(json!({"content": "Checking the stock now", "private": true})),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let c = app
        .get(&format!("/api/v1/accounts/{account}/conversations/1"))
        .await;
    let last = &c["last_non_activity_message"];
    assert_eq!(last["content"], "Checking the stock now");
    assert_eq!(last["sender_type"], "User");
    assert_eq!(last["sender"]["id"], app.admin_id);
    assert_eq!(last["sender"]["name"], "Ana Admin");
    assert_eq!(last["sender"]["type"], "user");
    let listed = app
        .get(&format!(
            "/api/v1/accounts/{account}/conversations?status=all"
        ))
        .await;
    assert_eq!(
        listed["data"]["payload"][0]["last_non_activity_message"]["sender"]["name"],
        "Ana Admin"
    );
    // The customer's message still names the contact.
    let thread = app
        .get(&format!(
            "/api/v1/accounts/{account}/conversations/1/messages"
        ))
        .await;
    assert_eq!(thread["payload"][0]["sender"]["type"], "contact");
}
