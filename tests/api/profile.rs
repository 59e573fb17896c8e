//! The agent's profile (issue 10): name and display name, avatar upload and who may fetch it,
//! password change (current password, other sessions signed out), availability, the profile
//! API (`GET|PUT /api/v1/profile`, Chatwoot's shape) and the forgot-password email, checked at
//! a real SMTP server on loopback.

use crate::common::session::Browser;
use crate::common::*;
use actix_web::{test, App};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

const BOUNDARY: &str = "----switchboard-profile-test";

/// A multipart body of text `fields` and one file field.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((name, file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// Any API call with a token: status, JSON (Null when not JSON) and the raw body.
async fn call(app: &TestApp, req: test::TestRequest, token: &str) -> (u16, Value, Vec<u8>) {
    let svc =
        test::init_service(App::new().configure(switchboard::app::configure(app.state.clone())))
            .await;
    let req = if token.is_empty() {
        req
    } else {
        req.insert_header(("api_access_token", token))
    };
    let resp = test::call_service(&svc, req.to_request()).await;
    let status = resp.status().as_u16();
    let bytes = test::read_body(resp).await.to_vec();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        bytes,
    )
}

async fn put_json(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let (s, v, _) = call(
        app,
        test::TestRequest::put()
            .uri("/api/v1/profile")
            .set_json(body),
        token,
    )
    .await;
    (s, v)
}

async fn put_avatar(app: &TestApp, token: &str, file_name: &str, bytes: &[u8]) -> (u16, Value) {
    let (s, v, _) = call(
        app,
        test::TestRequest::put()
            .uri("/api/v1/profile")
            .insert_header(("content-type", multipart_type()))
            .set_payload(multipart(
                &[("profile[display_name]", "Benny")],
                Some(("profile[avatar]", file_name, bytes)),
            )),
        token,
    )
    .await;
    (s, v)
}

fn path_of(url: &str) -> String {
    url.strip_prefix("https://support.example.com")
        .unwrap_or(url)
        .to_string()
}

#[actix_rt::test]
async fn names_and_display_name_on_the_page_and_through_the_api() {
    let app = TestApp::start();
    let acc = app.account_id;
    let (ben, ben_token) = app.create_agent("ben@example.com");
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in("ben@example.com", "agent password").await.0, 303);
    let page = format!("/app/accounts/{acc}/profile");
    let action = format!("/app/accounts/{acc}/profile/names");

    // A blank name: 422, the message next to the field, nothing saved.
    let (status, html, _) = b
        .submit(&page, &action, &[("name", "  "), ("display_name", "")])
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("id=\"profile-name-error\""), "{html}");
    assert!(html.contains("name must not be empty"), "{html}");

    let (status, _, location) = b
        .submit(
            &page,
            &action,
            &[("name", "Benjamin Agent"), ("display_name", "Ben")],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some(&*format!("{page}?saved=names")));
    let (status, html, _) = b.get(&format!("{page}?saved=names")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Your name was saved."), "{html}");
    assert!(html.contains("value=\"Benjamin Agent\""), "{html}");
    assert!(html.contains("value=\"Ben\""), "{html}");
    // Colleagues see the display name: in the navigation too.
    assert!(html.contains("class=\"me\" title=\"Ben\""), "{html}");

    let me = app.get("/api/v1/profile").await;
    assert_eq!(me["name"], "Ana Admin");
    let (status, me, _) = call(
        &app,
        test::TestRequest::get().uri("/api/v1/profile"),
        &ben_token,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me["id"], ben);
    assert_eq!(me["name"], "Benjamin Agent");
    assert_eq!(me["display_name"], "Ben");
    assert_eq!(me["available_name"], "Ben");
    assert_eq!(me["avatar_url"], "");
    assert_eq!(me["accounts"][0]["availability"], "online");
    assert_eq!(me["accounts"][0]["availability_status"], "online");

    // PUT in Chatwoot's shape.
    let (status, me) = put_json(
        &app,
        &ben_token,
        json!({"profile": {"name": "Ben Agent", "display_name": ""}}),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["display_name"], Value::Null);
    assert_eq!(me["available_name"], "Ben Agent");
    let (status, err) = put_json(&app, &ben_token, json!({"profile": {"name": ""}})).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (422, Some("name")),
        "{err}"
    );
    let (status, err) = put_json(
        &app,
        &ben_token,
        json!({"profile": {"display_name": "x".repeat(300)}}),
    )
    .await;
    assert_eq!(
        (status, err["field"].as_str()),
        (422, Some("display_name")),
        "{err}"
    );
    // The email cannot change without a confirmation email: 422 saying so; the same address
    // is accepted.
    let (status, err) = put_json(
        &app,
        &ben_token,
        json!({"profile": {"email": "someone@else.example"}}),
    )
    .await;
    assert_eq!(
        (status, err["field"].as_str()),
        (422, Some("email")),
        "{err}"
    );
    assert!(err["error"].as_str().unwrap().contains("not supported"));
    let (status, _) = put_json(
        &app,
        &ben_token,
        json!({"profile": {"email": "BEN@example.com"}}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = put_json(&app, "", json!({"profile": {"name": "x"}})).await;
    assert_eq!(status, 401);
    let (status, _, _) = call(
        &app,
        test::TestRequest::put()
            .uri("/api/v1/profile")
            .insert_header(("content-type", "application/json"))
            .set_payload("[1, 2]"),
        &ben_token,
    )
    .await;
    assert_eq!(status, 400);
}

#[actix_rt::test]
async fn avatar_upload_checks_type_and_size_and_is_served_only_within_the_account() {
    let app = TestApp::start();
    let acc = app.account_id;
    let (ben, ben_token) = app.create_agent("ben@example.com");

    // Not an image (whatever the name says), and too large: 422 naming avatar.
    let (status, err) = put_avatar(&app, &ben_token, "me.png", b"<svg onload=alert(1)>").await;
    assert_eq!(
        (status, err["field"].as_str()),
        (422, Some("avatar")),
        "{err}"
    );
    let mut big = PNG.to_vec();
    big.resize(2 * 1024 * 1024 + 1, 0);
    let (status, err) = put_avatar(&app, &ben_token, "big.png", &big).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (422, Some("avatar")),
        "{err}"
    );
    assert!(err["error"].as_str().unwrap().contains("2 MiB"), "{err}");
    let (status, me, _) = call(
        &app,
        test::TestRequest::get().uri("/api/v1/profile"),
        &ben_token,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me["avatar_url"], "", "nothing stored after the refusals");

    // A PNG named .jpg: stored by its content.
    let (status, me) = put_avatar(&app, &ben_token, "photo.jpg", PNG).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["display_name"], "Benny");
    let url = me["avatar_url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("https://support.example.com/media/avatars/{ben}/"))
            && url.ends_with(".png"),
        "{url}"
    );
    let path = path_of(&url);

    // A colleague in the account fetches it; the agents API shows it as the thumbnail.
    let (status, _, bytes) = call(&app, test::TestRequest::get().uri(&path), &app.token).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, PNG);
    let agents = app.get(&format!("/api/v1/accounts/{acc}/agents")).await;
    let row = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == ben)
        .unwrap()
        .clone();
    assert_eq!(row["thumbnail"], url.as_str());
    assert_eq!(row["availability_status"], "online");
    assert_eq!(row["available_name"], "Benny");

    // Another account's member, or nobody: 404 / 401; a made-up file name: 404.
    let other = {
        let mut conn = app.conn();
        switchboard::domain::accounts::create_admin(
            &mut conn,
            "Other",
            "Olga",
            "olga@other.example",
            "olga password",
        )
        .unwrap()
    };
    let (status, _, _) = call(
        &app,
        test::TestRequest::get().uri(&path),
        &other.api_access_token,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = call(&app, test::TestRequest::get().uri(&path), "").await;
    assert_eq!(status, 401);
    let (status, _, _) = call(
        &app,
        test::TestRequest::get().uri(&format!("/media/avatars/{ben}/other.png")),
        &app.token,
    )
    .await;
    assert_eq!(status, 404);

    // The page: the image replaces the initials in the navigation; upload errors are shown
    // next to the field; remove brings the initials back and deletes the file.
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in("ben@example.com", "agent password").await.0, 303);
    let page = format!("/app/accounts/{acc}/profile");
    let (_, html, _) = b.get(&page).await;
    assert!(
        html.contains(&format!("<img class=\"avatar avatar-img\" src=\"{path}\"")),
        "{html}"
    );
    let csrf = Browser::csrf_from(&html);
    let (status, html, _) = b
        .request(
            test::TestRequest::post()
                .uri(&format!("{page}/avatar"))
                .insert_header(("content-type", multipart_type()))
                .set_payload(multipart(
                    &[("csrf_token", &csrf)],
                    Some(("avatar", "notes.png", b"just text")),
                )),
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("id=\"avatar-error\""), "{html}");
    let (status, _, _) = b
        .request(
            test::TestRequest::post()
                .uri(&format!("{page}/avatar"))
                .insert_header(("content-type", multipart_type()))
                .set_payload(multipart(&[], Some(("avatar", "a.png", PNG)))),
        )
        .await;
    assert_eq!(status, 403, "no CSRF token");
    let (status, _, location) = b
        .request(
            test::TestRequest::post()
                .uri(&format!("{page}/avatar"))
                .insert_header(("content-type", multipart_type()))
                .set_payload(multipart(
                    &[("csrf_token", &csrf)],
                    Some(("avatar", "a.png", PNG)),
                )),
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some(&*format!("{page}?saved=avatar")));
    let stored = app.query_json(&format!(
        "SELECT to_jsonb(avatar_path) FROM users WHERE id = {ben}"
    ));
    let stored = stored.as_str().unwrap().to_string();
    assert!(app.storage.join(&stored).exists());
    assert!(
        !app.storage
            .join(path.trim_start_matches("/media/"))
            .exists(),
        "the previous file is removed"
    );
    let (status, _, _) = b.submit(&page, &format!("{page}/avatar/remove"), &[]).await;
    assert_eq!(status, 303);
    assert!(!app.storage.join(&stored).exists());
    let (_, html, _) = b.get(&page).await;
    assert!(!html.contains("avatar-img"), "initials again");
}

#[actix_rt::test]
async fn password_change_needs_the_current_password_and_signs_out_other_sessions() {
    let app = TestApp::start();
    let acc = app.account_id;
    let (_, ben_token) = app.create_agent("ben@example.com");
    let page = format!("/app/accounts/{acc}/profile");
    let action = format!("{page}/password");
    let mut here = Browser::new(&app);
    let mut there = Browser::new(&app);
    assert_eq!(
        here.sign_in("ben@example.com", "agent password").await.0,
        303
    );
    assert_eq!(
        there.sign_in("ben@example.com", "agent password").await.0,
        303
    );

    // Wrong current password: 422 next to current_password, on the page and in the API.
    let (status, html, _) = here
        .submit(
            &page,
            &action,
            &[
                ("current_password", "not it at all"),
                ("password", "a new password"),
                ("password_confirmation", "a new password"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"current_password-error\""), "{html}");
    let (status, err) = put_json(
        &app,
        &ben_token,
        json!({"profile": {"current_password": "wrong", "password": "a new password", "password_confirmation": "a new password"}}),
    )
    .await;
    assert_eq!(
        (status, err["field"].as_str()),
        (422, Some("current_password")),
        "{err}"
    );
    let (status, err) = put_json(
        &app,
        &ben_token,
        json!({"profile": {"current_password": "agent password", "password": "short", "password_confirmation": "short"}}),
    )
    .await;
    assert_eq!(
        (status, err["field"].as_str()),
        (422, Some("password")),
        "{err}"
    );
    let (status, html, _) = here
        .submit(
            &page,
            &action,
            &[
                ("current_password", "agent password"),
                ("password", "a new password"),
                ("password_confirmation", "another one!"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("id=\"password_confirmation-error\""),
        "{html}"
    );

    let (status, _, location) = here
        .submit(
            &page,
            &action,
            &[
                ("current_password", "agent password"),
                ("password", "a new password"),
                ("password_confirmation", "a new password"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some(&*format!("{page}?saved=password"))
    );
    // This session stays; the other one is signed out (page and cookie API calls).
    let (status, html, _) = here.get(&format!("{page}?saved=password")).await;
    assert_eq!(status, 200);
    assert!(html.contains("other sessions were signed out"), "{html}");
    let (status, _, location) = there.get(&page).await;
    assert_eq!((status, location.as_deref()), (303, Some("/app/login")));
    let (status, _, _) = there.get("/api/v1/profile").await;
    assert_eq!(status, 401);

    let mut again = Browser::new(&app);
    assert_eq!(
        again.sign_in("ben@example.com", "agent password").await.0,
        401
    );
    assert_eq!(
        again.sign_in("ben@example.com", "a new password").await.0,
        303
    );
    assert_eq!(again.get(&page).await.0, 200);

    // Through the API with the token (which keeps working).
    let (status, _) = put_json(
        &app,
        &ben_token,
        json!({"profile": {"current_password": "a new password", "password": "third password", "password_confirmation": "third password"}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        again.get(&page).await.0,
        303,
        "signed out by the API change"
    );
}

#[actix_rt::test]
async fn availability_is_per_account_validated_and_announced() {
    let app = TestApp::start();
    let acc = app.account_id;
    let (ben, ben_token) = app.create_agent("ben@example.com");
    let (status, err) = put_json(
        &app,
        &ben_token,
        json!({"profile": {"availability": "away"}}),
    )
    .await;
    assert_eq!(
        (status, err["field"].as_str()),
        (422, Some("availability")),
        "{err}"
    );
    let (status, me, _) = call(
        &app,
        test::TestRequest::post()
            .uri("/api/v1/profile/availability")
            .set_json(json!({"profile": {"availability": "busy", "account_id": acc}})),
        &ben_token,
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["accounts"][0]["availability"], "busy");
    assert_eq!(me["accounts"][0]["availability_status"], "busy");
    let events = app.query_json(
        "SELECT jsonb_agg(payload ORDER BY id) FROM realtime_events WHERE name = 'presence.update'",
    );
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
    assert_eq!(events[0], json!({"user_id": ben, "availability": "busy"}));
    // Another account: 404.
    let (status, _, _) = call(
        &app,
        test::TestRequest::post()
            .uri("/api/v1/profile/availability")
            .set_json(json!({"profile": {"availability": "busy", "account_id": acc + 1000}})),
        &ben_token,
    )
    .await;
    assert_eq!(status, 404);

    // The page: radio buttons; the dot in the navigation and on the agents list says busy.
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in("ben@example.com", "agent password").await.0, 303);
    let page = format!("/app/accounts/{acc}/profile");
    let (_, html, _) = b.get(&page).await;
    assert!(html.contains("value=\"busy\" checked"), "{html}");
    assert!(
        html.contains("class=\"presence presence-busy\" data-presence=\"busy\" title=\"busy\""),
        "{html}"
    );
    let (status, html, _) = b
        .submit(
            &page,
            &format!("{page}/availability"),
            &[("availability", "sleeping")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"availability-error\""), "{html}");
    let (status, _, _) = b
        .submit(
            &page,
            &format!("{page}/availability"),
            &[("availability", "offline")],
        )
        .await;
    assert_eq!(status, 303);
    let mut admin = Browser::new(&app);
    assert_eq!(
        admin.sign_in("ana@example.com", "correct horse").await.0,
        303
    );
    let (_, html, _) = admin
        .get(&format!("/app/accounts/{acc}/settings/agents"))
        .await;
    assert!(
        html.contains(&format!("data-user-id=\"{ben}\"")) && html.contains("presence-offline"),
        "{html}"
    );
}

/// One email as the SMTP server received it.
#[derive(Debug, Clone)]
struct Received {
    rcpt: Vec<String>,
    data: String,
}

impl Received {
    /// The text with quoted-printable soft breaks and `=3D` undone.
    fn text(&self) -> String {
        self.data.replace("=\r\n", "").replace("=3D", "=")
    }

    /// The password link's token.
    fn token(&self) -> String {
        let text = self.text();
        let start = text.find("token=").expect("a link") + "token=".len();
        text[start..start + 64].to_string()
    }
}

/// A minimal SMTP server on 127.0.0.1: accepts every message and keeps it.
struct SmtpSink {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let store = received.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let store = store.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read);
                    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                    let mut rcpt = Vec::new();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("RCPT TO") {
                            let addr = line[8..].trim().trim_start_matches(':').trim();
                            rcpt.push(addr.trim_matches(|c| c == '<' || c == '>').to_string());
                            b"250 OK\r\n"
                        } else if upper.starts_with("DATA") {
                            let _ = write.write_all(b"354 go ahead\r\n").await;
                            let mut data = String::new();
                            loop {
                                line.clear();
                                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" {
                                    break;
                                }
                                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                            }
                            store.lock().unwrap().push(Received {
                                rcpt: std::mem::take(&mut rcpt),
                                data,
                            });
                            b"250 queued\r\n"
                        } else if upper.starts_with("QUIT") {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 OK\r\n"
                        };
                        let _ = write.write_all(reply).await;
                    }
                });
            }
        });
        SmtpSink { port, received }
    }

    fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

const ANSWER: &str = "If an account exists for that address, we have emailed a link";

async fn forgot(b: &mut Browser<'_>, email: &str) -> String {
    let (status, html, _) = b
        .submit(
            "/app/password/forgot",
            "/app/password/forgot",
            &[("email", email)],
        )
        .await;
    assert_eq!(status, 200, "{html}");
    html
}

/// Submits the reset page of `token` with a new password.
async fn reset(app: &TestApp, token: String) -> (u16, String, Option<String>) {
    let mut c = Browser::new(app);
    let page = format!("/app/password/reset?token={token}");
    c.submit(
        &page,
        "/app/password/reset",
        &[
            ("token", token.as_str()),
            ("password", "brand new secret"),
            ("password_confirmation", "brand new secret"),
        ],
    )
    .await
}

#[actix_rt::test]
async fn forgot_password_emails_a_one_time_link_and_never_tells_who_exists() {
    let sink = SmtpSink::start().await;
    let app = TestApp::start_with(Options {
        smtp_port: Some(sink.port),
        ..Default::default()
    });
    app.create_agent("ben@example.com");
    let mut other_session = Browser::new(&app);
    assert_eq!(
        other_session
            .sign_in("ben@example.com", "agent password")
            .await
            .0,
        303
    );
    let mut b = Browser::new(&app);
    let (_, login, _) = b.get("/app/login").await;
    assert!(login.contains("href=\"/app/password/forgot\""), "{login}");

    // A known address: the answer, and one email with the link.
    let known = forgot(&mut b, "Ben@Example.com ").await;
    assert!(known.contains(ANSWER), "{known}");
    app.run_email_jobs().await;
    let got = sink.take();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].rcpt, vec!["ben@example.com".to_string()]);
    assert!(got[0]
        .text()
        .contains("Subject: Set a new Switchboard password"));
    let first = got[0].token();
    let stored = app.query_json("SELECT jsonb_agg(token_digest) FROM password_reset_tokens");
    assert!(
        !stored.to_string().contains(&first),
        "only the digest is stored"
    );

    // An unknown address: the same page (bar the CSRF token), no email.
    let unknown = forgot(&mut b, "nobody@example.com").await;
    let strip = |h: &str| h.replace(&Browser::csrf_from(h), "");
    assert_eq!(strip(&unknown), strip(&known));
    app.run_email_jobs().await;
    assert!(sink.take().is_empty());
    // Not an email: 422, with the form.
    let (status, _, _) = b
        .submit(
            "/app/password/forgot",
            "/app/password/forgot",
            &[("email", "nope")],
        )
        .await;
    assert_eq!(status, 422);

    // A second request: a new link; the first one stops working.
    forgot(&mut b, "ben@example.com").await;
    app.run_email_jobs().await;
    let second = sink.take()[0].token();
    assert_ne!(first, second);
    let (status, html, _) = reset(&app, first).await;
    assert_eq!(status, 422);
    assert!(html.contains("expired or was already used"), "{html}");
    let (status, _, location) = reset(&app, second.clone()).await;
    assert_eq!((status, location.as_deref()), (303, Some("/app")));
    let (status, _, _) = reset(&app, second).await;
    assert_eq!(status, 422, "the link works once");
    // The new password signs in; the session from before the reset is over.
    let mut c = Browser::new(&app);
    assert_eq!(
        c.sign_in("ben@example.com", "brand new secret").await.0,
        303
    );
    assert_eq!(
        other_session.get("/app").await.2.as_deref(),
        Some("/app/login")
    );

    // Rate limit, per address, counted in the database: 5 an hour (2 used above), then the
    // same answer and no email.
    for _ in 0..4 {
        let html = forgot(&mut b, "ben@example.com").await;
        assert!(html.contains(ANSWER));
    }
    app.run_email_jobs().await;
    assert_eq!(sink.take().len(), 3, "requests 3 to 5 only");
    assert_eq!(
        app.count("password_reset_requests"),
        6,
        "five for ben, one for nobody; the over-limit request is not logged"
    );
}

#[actix_rt::test]
async fn forgot_password_is_rate_limited_per_ip_across_addresses() {
    let app = TestApp::start();
    for i in 0..25 {
        let mut conn = app.conn();
        switchboard::domain::profile::request_password_reset(
            &mut conn,
            &format!("user{i}@example.com"),
            "203.0.113.9",
        )
        .unwrap();
    }
    assert_eq!(
        app.count("password_reset_requests WHERE ip = '203.0.113.9'"),
        switchboard::domain::profile::RESETS_PER_IP_PER_HOUR
    );
    let mut conn = app.conn();
    switchboard::domain::profile::request_password_reset(
        &mut conn,
        "user0@example.com",
        "198.51.100.1",
    )
    .unwrap();
    assert_eq!(app.count("password_reset_requests"), 21);
}
