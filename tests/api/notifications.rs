//! Email notifications: assignment, new conversation and webhook-disabled emails, checked at
//! a real SMTP server on loopback (a minimal SMTP sink started by the test, spoken to by
//! lettre's SMTP transport), per-agent opt-out through the API and the profile page.

use crate::common::*;
use actix_web::cookie::Cookie;
use actix_web::{test, App};
use serde_json::json;
use std::sync::{Arc, Mutex};
use switchboard::config::SmtpTls;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// One email as the SMTP server received it.
#[derive(Debug, Clone)]
struct Received {
    rcpt: Vec<String>,
    data: String,
}

impl Received {
    /// The message with quoted-printable soft breaks and `=3D` undone, and base64 parts
    /// decoded, so assertions can look for plain text.
    fn text(&self) -> String {
        use base64::Engine;
        let mut out = self.data.replace("=\r\n", "").replace("=3D", "=");
        let mut decoded = String::new();
        for block in self.data.split("\r\n\r\n") {
            let joined: String = block.lines().collect();
            if joined.len() > 16 {
                if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&joined) {
                    decoded.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
        }
        out.push_str(&decoded);
        out
    }

    fn subject(&self) -> String {
        self.data
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_string()
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
                        } else if upper.starts_with("HELO") || upper.starts_with("MAIL FROM") {
                            b"250 OK\r\n"
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

/// A test app whose email goes to a fresh SMTP sink (`SMTP_TLS=none`).
async fn app_with_smtp() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let mut app = TestApp::start();
    let mut config = (*app.state.config).clone();
    config.smtp_address = Some("127.0.0.1".into());
    config.smtp_port = sink.port;
    config.smtp_tls = SmtpTls::None;
    app.state.config = Arc::new(config);
    (app, sink)
}

async fn add_inbox_member(app: &TestApp, inbox_id: i64, user_ids: &[i64]) {
    let (status, body) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/inbox_members", app.account_id),
            Some(json!({"inbox_id": inbox_id, "user_ids": user_ids})),
            &app.token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn assign(app: &TestApp, token: &str, assignee: Option<i64>) {
    let (status, body) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/conversations/1/assignments",
                app.account_id
            ),
            Some(json!({"assignee_id": assignee})),
            token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[actix_rt::test]
async fn assignment_email_reaches_the_assignee_unless_self_assigned_or_opted_out() {
    let (app, sink) = app_with_smtp().await;
    let inbox = app.create_inbox_direct().0;
    let (ben, ben_token) = app.create_agent("ben@example.com");
    app.deliver("text.json").await;
    add_inbox_member(&app, inbox.id, &[ben]).await;
    app.run_email_jobs().await;
    sink.take();

    // The administrator assigns Ben: one email, to Ben, with the conversation's link.
    assign(&app, &app.token, Some(ben)).await;
    app.run_email_jobs().await;
    let got = sink.take();
    assert_eq!(got.len(), 1, "{got:?}");
    let mail = &got[0];
    assert_eq!(mail.rcpt, vec!["ben@example.com".to_string()]);
    assert_eq!(mail.subject(), "Conversation #1 was assigned to you");
    let text = mail.text();
    assert!(text.contains("To: ben@example.com"), "{text}");
    assert!(
        text.contains("Ana Admin assigned conversation #1"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "https://support.example.com/app/accounts/{}/conversations/1",
            app.account_id
        )),
        "{text}"
    );
    assert!(text.contains("Content-Type: text/html"), "{text}");

    // Ben assigns it to himself after an unassignment: no email.
    assign(&app, &app.token, None).await;
    assign(&app, &ben_token, Some(ben)).await;
    app.run_email_jobs().await;
    assert!(sink.take().is_empty());

    // Ben turns the assignment email off (Chatwoot's flags): no email any more.
    let path = format!("/api/v1/accounts/{}/notification_settings", app.account_id);
    let (status, before) = app.api("GET", &path, None, &ben_token).await;
    assert_eq!(status, 200);
    assert_eq!(
        before["selected_email_flags"],
        json!([
            "email_conversation_assignment",
            "email_webhook_disabled",
            "email_conversation_mention"
        ])
    );
    let (status, after) = app
        .api(
            "PATCH",
            &path,
            Some(json!({"notification_settings": {"selected_email_flags": ["email_conversation_creation"]}})),
            &ben_token,
        )
        .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["email_conversation_assigned"], json!(false));
    assert_eq!(after["email_conversation_created"], json!(true));
    assert_eq!(
        after["selected_email_flags"],
        json!(["email_conversation_creation"])
    );
    assign(&app, &app.token, None).await;
    assign(&app, &app.token, Some(ben)).await;
    app.run_email_jobs().await;
    assert!(sink.take().is_empty());
    assert_eq!(
        app.query_json(
            "SELECT to_jsonb(count(*)) FROM jobs WHERE kind = 'email' AND status <> 'done'"
        ),
        json!(0)
    );

    // The boolean form works too, and a bad value is a 422 naming the field.
    let (status, back) = app
        .api(
            "PATCH",
            &path,
            Some(json!({"notification_settings": {"email_conversation_assigned": true}})),
            &ben_token,
        )
        .await;
    assert_eq!(
        (status, &back["email_conversation_assigned"]),
        (200, &json!(true))
    );
    let (status, _) = app
        .api(
            "PATCH",
            &path,
            Some(json!({"notification_settings": {"email_conversation_assigned": "yes"}})),
            &ben_token,
        )
        .await;
    assert_eq!(status, 422);
}

#[actix_rt::test]
async fn a_new_conversation_emails_the_inbox_members_who_want_it() {
    let (app, sink) = app_with_smtp().await;
    let inbox = app.create_inbox_direct().0;
    app.auto_assignment_off(inbox.id);
    let (ben, ben_token) = app.create_agent("ben@example.com");
    let (cy, _) = app.create_agent("cy@example.com"); // keeps the default: off
    let (_, dee_token) = app.create_agent("dee@example.com"); // not a member of the inbox
    add_inbox_member(&app, inbox.id, &[ben, cy]).await;
    for token in [&ben_token, &dee_token] {
        let (status, _) = app
            .api(
                "PATCH",
                &format!("/api/v1/accounts/{}/notification_settings", app.account_id),
                Some(json!({"notification_settings": {"email_conversation_created": true}})),
                token,
            )
            .await;
        assert_eq!(status, 200);
    }

    app.deliver("text.json").await;
    app.run_email_jobs().await;
    let got = sink.take();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].rcpt, vec!["ben@example.com".to_string()]);
    assert_eq!(got[0].subject(), "New conversation #1 in Support");
    let text = got[0].text();
    assert!(
        text.contains("started conversation #1 in Support (Acme)"),
        "{text}"
    );
    assert!(text.contains("/conversations/1"), "{text}");

    // A second message in the same conversation is no new conversation.
    app.deliver("text_reply_context.json").await;
    app.run_email_jobs().await;
    assert!(sink.take().is_empty());
}

#[actix_rt::test]
async fn a_disabled_webhook_emails_the_administrators_who_want_it() {
    let (app, sink) = app_with_smtp().await;
    app.create_agent("ben@example.com");
    let mut conn = app.conn();
    let queued = switchboard::domain::notifications::webhook_disabled(
        &mut conn,
        app.account_id,
        "CRM <sync>",
        "10 deliveries in a row failed; the last one: HTTP 500",
    )
    .unwrap();
    drop(conn);
    assert_eq!(queued, 1);
    app.run_email_jobs().await;
    let got = sink.take();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt, vec!["ana@example.com".to_string()]);
    assert_eq!(got[0].subject(), "Webhook CRM <sync> was disabled");
    let text = got[0].text();
    assert!(
        text.contains("Reason: 10 deliveries in a row failed"),
        "{text}"
    );
    assert!(
        text.contains("CRM &lt;sync&gt;"),
        "HTML escapes the name: {text}"
    );
    assert!(text.contains("/settings/webhooks"), "{text}");

    // Opted out: nothing is queued.
    let mut conn = app.conn();
    let mut s =
        switchboard::domain::notifications::settings(&mut conn, app.admin_id, app.account_id)
            .unwrap();
    s.email_webhook_disabled = false;
    switchboard::domain::notifications::save_settings(&mut conn, app.admin_id, app.account_id, &s)
        .unwrap();
    let queued =
        switchboard::domain::notifications::webhook_disabled(&mut conn, app.account_id, "x", "y")
            .unwrap();
    assert_eq!(queued, 0);
}

#[actix_rt::test]
async fn without_smtp_the_assignment_email_is_an_eml_file() {
    let app = TestApp::start();
    let inbox = app.create_inbox_direct().0;
    let (ben, _) = app.create_agent("ben@example.com");
    app.deliver("text.json").await;
    add_inbox_member(&app, inbox.id, &[ben]).await;
    app.run_email_jobs().await;
    assign(&app, &app.token, Some(ben)).await;
    let files = app.run_email_jobs().await;
    assert_eq!(files.len(), 1);
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(eml.contains("Subject: Conversation #1 was assigned to you"));
    assert!(eml.contains("To: ben@example.com"));
}

/// The profile page: three labelled checkboxes; posting saves them (CSRF checked).
#[actix_rt::test]
async fn the_profile_page_turns_emails_off() {
    let app = TestApp::start();
    let acc = app.account_id;
    let mut cookies: Vec<Cookie<'static>> = vec![];
    async fn call(
        app: &TestApp,
        cookies: &mut Vec<Cookie<'static>>,
        req: test::TestRequest,
    ) -> (u16, String, Option<String>) {
        let svc = test::init_service(
            App::new().configure(switchboard::app::configure(app.state.clone())),
        )
        .await;
        let mut req = req;
        for c in cookies.iter() {
            req = req.cookie(c.clone());
        }
        let resp = test::call_service(&svc, req.to_request()).await;
        for c in resp.response().cookies() {
            cookies.retain(|k| k.name() != c.name());
            if !c.value().is_empty() {
                cookies.push(c.into_owned());
            }
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let body = String::from_utf8_lossy(&test::read_body(resp).await).to_string();
        (status, body, location)
    }
    fn csrf_from(html: &str) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = html.find(marker).expect("a csrf field") + marker.len();
        html[start..start + html[start..].find('"').unwrap()].to_string()
    }
    let (_, form, _) = call(
        &app,
        &mut cookies,
        test::TestRequest::get().uri("/app/login"),
    )
    .await;
    let csrf = csrf_from(&form);
    let (status, _, _) = call(
        &app,
        &mut cookies,
        test::TestRequest::post().uri("/app/login").set_form([
            ("email", "ana@example.com"),
            ("password", "correct horse"),
            ("csrf_token", csrf.as_str()),
        ]),
    )
    .await;
    assert_eq!(status, 303);

    let page_path = format!("/app/accounts/{acc}/profile");
    let (status, page, _) =
        call(&app, &mut cookies, test::TestRequest::get().uri(&page_path)).await;
    assert_eq!(status, 200);
    for (id, on) in [
        ("email_conversation_assigned", true),
        ("email_conversation_created", false),
        ("email_webhook_disabled", true),
    ] {
        assert!(page.contains(&format!("<label for=\"{id}\">")), "{id}");
        assert_eq!(
            page.contains(&format!("id=\"{id}\" name=\"{id}\" value=\"1\" checked")),
            on,
            "{id}"
        );
    }
    let csrf = csrf_from(&page);

    // Without the CSRF token: refused, nothing saved.
    let (status, _, _) = call(
        &app,
        &mut cookies,
        test::TestRequest::post()
            .uri(&page_path)
            .set_form([("email_conversation_created", "1")]),
    )
    .await;
    assert_eq!(status, 403);

    // Only "new conversation" stays ticked.
    let (status, _, location) = call(
        &app,
        &mut cookies,
        test::TestRequest::post().uri(&page_path).set_form([
            ("csrf_token", csrf.as_str()),
            ("email_conversation_created", "1"),
        ]),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some(&*format!("{page_path}?saved=1")));
    let (_, page, _) = call(
        &app,
        &mut cookies,
        test::TestRequest::get().uri(&format!("{page_path}?saved=1")),
    )
    .await;
    assert!(page.contains("Saved."));
    assert!(page.contains(
        "id=\"email_conversation_created\" name=\"email_conversation_created\" value=\"1\" checked"
    ));
    assert!(!page.contains("id=\"email_conversation_assigned\" name=\"email_conversation_assigned\" value=\"1\" checked"));
    let s =
        switchboard::domain::notifications::settings(&mut app.conn(), app.admin_id, acc).unwrap();
    assert!(
        !s.email_conversation_assigned && s.email_conversation_created && !s.email_webhook_disabled
    );
}
