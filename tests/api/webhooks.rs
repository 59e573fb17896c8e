//! Integration webhooks: the Chatwoot Webhooks API (CRUD and every error), the SSRF guard,
//! signed deliveries to a local receiver (verified in Rust and with the README's Python
//! snippet), retries with a stable delivery id, and disabling after repeated failures with
//! the administrators' email checked at an SMTP server on loopback.

use crate::common::{Options, TestApp};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A tiny HTTP/1.1 receiver on 127.0.0.1: records every request and answers with the next
/// scripted status (then `default_status`).
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(script: Vec<u16>, default_status: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let got2 = got.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (got, script) = (got2.clone(), script.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    let head_end = loop {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let headers: HashMap<String, String> = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    let len: usize = headers
                        .get("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let status = script.lock().unwrap().pop_front().unwrap_or(default_status);
                    got.lock().unwrap().push(Received {
                        headers,
                        body: buf[head_end..].to_vec(),
                    });
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Receiver { port, got }
    }

    fn url(&self, host: &str) -> String {
        format!("http://{host}:{}/hooks/switchboard", self.port)
    }

    fn requests(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn hmac_hex(secret: &str, message: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// The README's Python verification snippet, verbatim.
fn readme_snippet() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let after = readme
        .split("<!-- webhook-verify-snippet -->")
        .nth(1)
        .expect("snippet marker");
    let code = after.split("```python\n").nth(1).expect("python block");
    code.split("```").next().unwrap().to_string()
}

/// Runs the README snippet with `python3 -c` on a received delivery; returns its verdict.
fn python_verifies(secret: &str, r: &Received, body: &[u8]) -> bool {
    let dir = std::env::temp_dir().join(format!(
        "switchboard-hook-{}",
        switchboard::crypto::random_hex(6)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let body_file = dir.join("body.json");
    std::fs::write(&body_file, body).unwrap();
    let program = format!(
        "{}\nimport os, sys\nbody = open(os.environ['BODY_FILE'], 'rb').read()\n\
         sys.exit(0 if verify(os.environ['SECRET'], os.environ['TS'], body, os.environ['SIG']) else 1)\n",
        readme_snippet()
    );
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(program)
        .env("BODY_FILE", &body_file)
        .env("SECRET", secret)
        .env("TS", &r.headers["x-chatwoot-timestamp"])
        .env("SIG", &r.headers["x-chatwoot-signature"])
        .status()
        .expect("python3 runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(status.code().is_some(), "python3 crashed");
    status.success()
}

fn local_app(disable_after: Option<i32>, smtp_port: Option<u16>) -> TestApp {
    TestApp::start_with(Options {
        webhooks_allow_local: true,
        webhook_disable_after_failures: disable_after,
        smtp_port,
        ..Default::default()
    })
}

async fn create_hook(app: &TestApp, body: Value) -> Value {
    let (status, json) = app
        .api(
            "POST",
            &format!("/api/v1/accounts/{}/webhooks", app.account_id),
            Some(body),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200, "create webhook: {json}");
    // Chatwoot's create answer: `{"payload": {"webhook": {...}}}`.
    json["payload"]["webhook"].clone()
}

#[actix_rt::test]
async fn crud_and_every_error() {
    let app = TestApp::start();
    let acc = app.account_id;
    let token = app.token.clone();
    let base = format!("/api/v1/accounts/{acc}/webhooks");
    let inbox = app.create_inbox_direct();

    // Create (a public IP literal: no DNS needed).
    let (status, created) = app
        .api(
            "POST",
            &base,
            Some(
                json!({"webhook": {"url": "https://93.184.216.34/hook", "name": "CRM",
                "subscriptions": ["message_created", "conversation_status_changed"]}}),
            ),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let created = created["payload"]["webhook"].clone();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["url"], "https://93.184.216.34/hook");
    assert_eq!(created["name"], "CRM");
    assert_eq!(
        created["subscriptions"],
        json!(["message_created", "conversation_status_changed"])
    );
    assert_eq!(created["account_id"], acc);
    assert_eq!(created["inbox_id"], Value::Null);
    assert_eq!(created["enabled"], true);
    let secret = created["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);
    // Stored encrypted, not in clear.
    assert_eq!(
        app.count(&format!(
            "webhooks WHERE secret_ciphertext LIKE '%{secret}%'"
        )),
        0
    );

    // List.
    let (status, list) = app.api("GET", &base, None, &token).await;
    assert_eq!(status, 200);
    let list = &list["payload"]["webhooks"];
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["secret"], secret);

    // Update: inbox scope and subscriptions; the secret stays.
    let (status, updated) = app
        .api(
            "PATCH",
            &format!("{base}/{id}"),
            Some(
                json!({"webhook": {"subscriptions": ["contact_created"], "inbox_id": inbox.0.id}}),
            ),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    let updated = updated["payload"]["webhook"].clone();
    assert_eq!(updated["subscriptions"], json!(["contact_created"]));
    assert_eq!(updated["inbox_id"], inbox.0.id);
    assert_eq!(updated["url"], "https://93.184.216.34/hook");
    assert_eq!(updated["secret"], secret);

    // Deliveries: none yet.
    let (status, deliveries) = app
        .api("GET", &format!("{base}/{id}/deliveries"), None, &token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(deliveries["payload"], json!([]));

    // Errors, exactly as Chatwoot renders them.
    for (body, error) in [
        (
            json!({"webhook": {"url": "http://93.184.216.34/hook"}}),
            "Webhook URL must use HTTPS",
        ),
        (
            json!({"webhook": {"url": "ftp://93.184.216.34/hook"}}),
            "Webhook URL must use HTTPS",
        ),
        (
            json!({"webhook": {"url": "https://93.184.216.34/hook", "subscriptions": ["message_exploded"]}}),
            "Invalid subscription event type",
        ),
        (
            json!({"webhook": {"url": "https://93.184.216.34/hook", "subscriptions": "message_created"}}),
            "Invalid subscription event type",
        ),
    ] {
        let (status, json) = app.api("POST", &base, Some(body.clone()), &token).await;
        assert_eq!(status, 422, "{body}: {json}");
        assert_eq!(json, json!({ "error": error, "message": error }), "{body}");
        let (status, json) = app
            .api("PATCH", &format!("{base}/{id}"), Some(body.clone()), &token)
            .await;
        assert_eq!(status, 422, "PATCH {body}: {json}");
        assert_eq!(json, json!({ "error": error, "message": error }));
    }
    for (method, path) in [
        ("PATCH", format!("{base}/999999")),
        ("DELETE", format!("{base}/999999")),
        ("GET", format!("{base}/999999/deliveries")),
    ] {
        let body = (method == "PATCH").then(|| json!({"webhook": {"name": "x"}}));
        let (status, json) = app.api(method, &path, body, &token).await;
        assert_eq!(status, 404, "{method} {path}");
        assert_eq!(
            json,
            json!({"error": "Webhook not found", "message": "Webhook not found"})
        );
    }

    // SSRF: loopback, private, metadata, and a host name resolving to 127.0.0.1.
    for url in [
        "https://127.0.0.1/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://100.64.1.1/hook",
    ] {
        let (status, json) = app
            .api(
                "POST",
                &base,
                Some(json!({"webhook": {"url": url}})),
                &token,
            )
            .await;
        assert_eq!(status, 422, "{url}: {json}");
        assert_eq!(
            json,
            json!({"error": "Webhook URL must not point to a private or local address",
                "message": "Webhook URL must not point to a private or local address"}),
            "{url}"
        );
    }

    // Agents and strangers.
    let (_, agent_token) = app.create_agent("ben@example.com");
    for (method, path) in [
        ("GET", base.clone()),
        ("POST", base.clone()),
        ("PATCH", format!("{base}/{id}")),
        ("DELETE", format!("{base}/{id}")),
        ("GET", format!("{base}/{id}/deliveries")),
    ] {
        let body = (method != "GET" && method != "DELETE")
            .then(|| json!({"webhook": {"url": "https://93.184.216.34/x"}}));
        let (status, _) = app.api(method, &path, body.clone(), &agent_token).await;
        assert_eq!(status, 403, "agent {method} {path}");
        let (status, _) = app.api(method, &path, body, "").await;
        assert_eq!(status, 401, "anonymous {method} {path}");
    }

    // Delete: 200 with no body, then gone.
    let (status, json) = app
        .api("DELETE", &format!("{base}/{id}"), None, &token)
        .await;
    assert_eq!((status, json), (200, Value::Null));
    let (_, list) = app.api("GET", &base, None, &token).await;
    assert_eq!(list, json!({"payload": {"webhooks": []}}));
}

#[actix_rt::test]
async fn signed_delivery_verifies_in_rust_and_python() {
    let app = local_app(None, None);
    let receiver = Receiver::start(vec![], 200).await;
    app.create_inbox(json!({})).await;
    // A host name that resolves to 127.0.0.1: allowed here, and pinned per delivery.
    let hook = create_hook(
        &app,
        json!({"webhook": {"url": receiver.url("localhost"), "name": "local",
            "subscriptions": ["message_created"]}}),
    )
    .await;
    let secret = hook["secret"].as_str().unwrap().to_string();

    app.deliver("text.json").await;
    assert_eq!(app.run_webhook_jobs().await, 1);
    let got = receiver.requests();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.headers["user-agent"], "Switchboard");
    let delivery = &r.headers["x-chatwoot-delivery"];
    assert_eq!(delivery.len(), 32);
    let ts: i64 = r.headers["x-chatwoot-timestamp"].parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    // Rust verification: sha256=HMAC(secret, "<ts>.<raw body>").
    let mut signed = format!("{ts}.").into_bytes();
    signed.extend_from_slice(&r.body);
    assert_eq!(
        r.headers["x-chatwoot-signature"],
        format!("sha256={}", hmac_hex(&secret, &signed))
    );
    // The README's Python snippet: accepts the delivery, refuses a tampered body.
    assert!(python_verifies(&secret, r, &r.body));
    let mut tampered = r.body.clone();
    tampered.extend_from_slice(b" ");
    assert!(!python_verifies(&secret, r, &tampered));

    // Chatwoot's message_created payload (`Message#webhook_data`; every field is checked
    // in tests/api/parity.rs against tests/golden/webhooks/message_created.json).
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["event"], "message_created");
    assert_eq!(body["message_type"], "incoming");
    assert!(body["content"].as_str().is_some_and(|c| !c.is_empty()));
    assert_eq!(body["content_type"], "text");
    assert_eq!(body["sender"]["type"], "contact");
    assert_eq!(
        body["account"],
        json!({"id": app.account_id, "name": "Acme"})
    );
    assert_eq!(body["inbox"]["name"], "Support");
    assert!(body["conversation"]["id"].as_i64().is_some());
    assert_eq!(body["conversation"]["status"], "open");
    assert_eq!(body["conversation"]["meta"]["assignee"], Value::Null);
    assert_eq!(body["conversation"]["meta"]["sender"]["type"], "contact");
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));

    // The attempt is recorded.
    let (_, deliveries) = app
        .api(
            "GET",
            &format!(
                "/api/v1/accounts/{}/webhooks/{}/deliveries",
                app.account_id, hook["id"]
            ),
            None,
            &app.token.clone(),
        )
        .await;
    let rows = deliveries["payload"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status_code"], 200);
    assert_eq!(rows[0]["success"], true);
    assert_eq!(rows[0]["delivery_id"], delivery.as_str());

    // A private note is not sent as message_created.
    let display_id = body["conversation"]["id"].as_i64().unwrap();
    let (status, _) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/conversations/{display_id}/messages",
                app.account_id
            ),
            Some(json!({"content": "internal only", "private": true})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200);
    app.run_webhook_jobs().await;
    assert_eq!(receiver.requests().len(), 1);
}

#[actix_rt::test]
async fn events_and_inbox_scope() {
    let app = local_app(None, None);
    let receiver = Receiver::start(vec![], 200).await;
    let other = Receiver::start(vec![], 200).await;
    let inbox = app.create_inbox(json!({})).await;
    create_hook(
        &app,
        json!({"webhook": {"url": receiver.url("127.0.0.1"), "inbox_id": inbox["id"]}}),
    )
    .await;
    // Scoped to an inbox of the same account that never sees this event.
    let second = switchboard::domain::inboxes::create(
        &mut app.conn(),
        &app.state.secrets,
        app.account_id,
        switchboard::domain::inboxes::NewWhatsappInbox {
            name: "Sales".into(),
            phone_number: "+15550009999".into(),
            phone_number_id: "999".into(),
            business_account_id: "998".into(),
            api_key: "EAAG-other-1234".into(),
            ..Default::default()
        },
    )
    .unwrap();
    create_hook(
        &app,
        json!({"webhook": {"url": other.url("127.0.0.1"), "inbox_id": second.0.id}}),
    )
    .await;

    app.deliver("text.json").await;
    app.run_webhook_jobs().await;
    let events: Vec<String> = receiver
        .requests()
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        events.contains(&"contact_created".to_string()),
        "{events:?}"
    );
    assert!(
        events.contains(&"conversation_created".to_string()),
        "{events:?}"
    );
    assert!(
        events.contains(&"message_created".to_string()),
        "{events:?}"
    );
    let conv_created = events.iter().position(|e| e == "conversation_created");
    let msg_created = events.iter().position(|e| e == "message_created");
    assert!(conv_created < msg_created, "in order: {events:?}");
    assert!(other.requests().is_empty());

    // A status change carries Chatwoot's changed_attributes.
    let display_id = app.query_json("SELECT to_jsonb(display_id) FROM conversations LIMIT 1");
    let (status, _) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/conversations/{display_id}/toggle_status",
                app.account_id
            ),
            Some(json!({"status": "resolved"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200);
    app.run_webhook_jobs().await;
    let last: Value = receiver
        .requests()
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .find(|b| b["event"] == "conversation_status_changed")
        .expect("conversation_status_changed delivered");
    assert_eq!(last["event"], "conversation_status_changed");
    assert_eq!(last["status"], "resolved");
    assert_eq!(
        last["changed_attributes"],
        json!([{"status": {"previous_value": "open", "current_value": "resolved"}}])
    );
    assert_eq!(last["id"], display_id);
}

#[actix_rt::test]
async fn retries_keep_the_delivery_id_and_stop_after_three() {
    let app = local_app(None, None);
    let flaky = Receiver::start(vec![500, 500, 200], 200).await;
    let broken = Receiver::start(vec![], 500).await;
    app.create_inbox(json!({})).await;
    let subs = json!(["message_created"]);
    let flaky_hook = create_hook(
        &app,
        json!({"webhook": {"url": flaky.url("127.0.0.1"), "subscriptions": subs}}),
    )
    .await;
    create_hook(
        &app,
        json!({"webhook": {"url": broken.url("127.0.0.1"), "subscriptions": subs}}),
    )
    .await;

    app.deliver("text.json").await;
    app.run_webhook_jobs().await;
    // 500, 500, 200: three attempts, one delivery id, delivered once.
    let got = flaky.requests();
    assert_eq!(got.len(), 3);
    let ids: Vec<&String> = got
        .iter()
        .map(|r| &r.headers["x-chatwoot-delivery"])
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert!(got.iter().all(|r| r.body == got[0].body));
    // Always 500: 1 + 3 attempts, then no more.
    let got = broken.requests();
    assert_eq!(got.len(), 4);
    assert!(got
        .iter()
        .all(|r| r.headers["x-chatwoot-delivery"] == got[0].headers["x-chatwoot-delivery"]));
    assert_eq!(app.run_webhook_jobs().await, 0);
    assert_eq!(broken.requests().len(), 4);
    assert_eq!(
        app.count("jobs WHERE kind = 'webhook_delivery' AND status = 'failed'"),
        1
    );
    assert_eq!(
        app.count("jobs WHERE kind = 'webhook_delivery' AND status = 'done'"),
        1
    );

    let (_, deliveries) = app
        .api(
            "GET",
            &format!(
                "/api/v1/accounts/{}/webhooks/{}/deliveries",
                app.account_id, flaky_hook["id"]
            ),
            None,
            &app.token.clone(),
        )
        .await;
    let rows = deliveries["payload"].as_array().unwrap();
    let codes: Vec<i64> = rows
        .iter()
        .map(|r| r["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![200, 500, 500], "newest first");
    assert_eq!(rows[1]["error"], "HTTP 500 Internal Server Error");
    let attempts: Vec<i64> = rows
        .iter()
        .map(|r| r["attempt"].as_i64().unwrap())
        .collect();
    assert_eq!(attempts, vec![3, 2, 1]);
}

/// A real SMTP server on loopback: Python's `smtpd` (3.11's standard library), writing each
/// message to `<dir>/<n>.eml` with an `X-Rcpt` line first. Killed on drop.
struct SmtpServer {
    port: u16,
    dir: std::path::PathBuf,
    child: std::process::Child,
}

impl SmtpServer {
    fn start() -> Option<Self> {
        let port = switchboard::db::testing::free_port();
        let dir = std::env::temp_dir().join(format!(
            "switchboard-smtp-{}",
            switchboard::crypto::random_hex(6)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let script = r#"
import asyncore, os, smtpd, sys
class Sink(smtpd.SMTPServer):
    n = 0
    def process_message(self, peer, mailfrom, rcpttos, data, **kw):
        Sink.n += 1
        path = os.path.join(sys.argv[2], "%d.eml" % Sink.n)
        with open(path + ".tmp", "wb") as f:
            f.write(("X-Rcpt: %s\r\n" % ",".join(rcpttos)).encode() + data)
        os.rename(path + ".tmp", path)
Sink(("127.0.0.1", int(sys.argv[1])), None, decode_data=False)
asyncore.loop()
"#;
        let child = std::process::Command::new("python3")
            .args(["-W", "ignore", "-c", script, &port.to_string()])
            .arg(&dir)
            .spawn()
            .ok()?;
        let mut server = SmtpServer { port, dir, child };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            if let Ok(Some(_)) = server.child.try_wait() {
                return None; // no smtpd module (Python ≥ 3.12)
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = server.child.kill();
        None
    }

    fn messages(&self) -> Vec<String> {
        let mut out: Vec<(String, String)> = std::fs::read_dir(&self.dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
            .map(|e| {
                (
                    e.file_name().to_string_lossy().to_string(),
                    std::fs::read_to_string(e.path()).unwrap(),
                )
            })
            .collect();
        out.sort();
        out.into_iter().map(|(_, m)| m).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[actix_rt::test]
async fn repeated_failures_disable_the_webhook_and_email_administrators() {
    let smtp = SmtpServer::start();
    if smtp.is_none() {
        eprintln!("python3 smtpd unavailable: the email lands as an .eml file instead");
    }
    let app = local_app(Some(2), smtp.as_ref().map(|s| s.port));
    let broken = Receiver::start(vec![], 503).await;
    app.create_inbox(json!({})).await;
    let hook = create_hook(
        &app,
        json!({"webhook": {"url": broken.url("127.0.0.1"), "name": "Flaky CRM",
            "subscriptions": ["contact_created", "conversation_created", "message_created"]}}),
    )
    .await;

    app.deliver("text.json").await;
    app.run_webhook_jobs().await;
    // Two deliveries failed after 4 attempts each; the third found the webhook disabled.
    assert_eq!(broken.requests().len(), 8);
    let base = format!("/api/v1/accounts/{}/webhooks", app.account_id);
    let (_, list) = app.api("GET", &base, None, &app.token.clone()).await;
    let list = &list["payload"]["webhooks"];
    assert_eq!(list[0]["enabled"], false);
    assert_eq!(
        list[0]["disabled_reason"],
        "disabled after 2 failed deliveries in a row"
    );
    // Disabled: new events queue nothing.
    app.deliver("text_unicode.json").await;
    assert_eq!(app.run_webhook_jobs().await, 0);

    // The administrator is emailed.
    let files = app.run_email_jobs().await;
    let mails: Vec<String> = match &smtp {
        Some(s) => s.messages(),
        None => files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect(),
    };
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    if smtp.is_some() {
        assert!(mail.starts_with("X-Rcpt: ana@example.com\r\n"), "{mail}");
    }
    assert!(mail.contains("ana@example.com"), "{mail}");
    assert!(mail.contains("Webhook Flaky CRM was disabled"), "{mail}");

    // Saving it again enables it.
    let (status, saved) = app
        .api(
            "PATCH",
            &format!("{base}/{}", hook["id"]),
            Some(json!({"webhook": {"name": "Fixed CRM"}})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200);
    let saved = &saved["payload"]["webhook"];
    assert_eq!(saved["enabled"], true);
    assert_eq!(saved["disabled_reason"], Value::Null);
}
