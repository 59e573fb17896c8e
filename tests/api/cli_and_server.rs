//! The real binary: `create-admin`, configuration errors, and `serve` end to end (migrate,
//! inbox API, handshake, webhook, ingest worker, read API).

use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use switchboard::db::testing::{free_port, TestDatabase};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

fn base_env(cmd: &mut Command, db: &TestDatabase, port: u16, storage: &std::path::Path) {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("FRONTEND_URL", format!("http://127.0.0.1:{port}"))
        .env(
            "SECRET_KEY_BASE",
            "cli-test-secret-key-base-0123456789abcdef",
        )
        .env("STORAGE_DIR", storage)
        .env("PORT", port.to_string())
        .env("RUST_LOG", "warn");
}

#[test]
fn create_admin_prints_json_and_refuses_a_taken_email() {
    let db = TestDatabase::create();
    let storage = std::env::temp_dir().join(format!("sb-cli-{}", db.name));
    let run = || {
        let mut cmd = Command::new(BIN);
        base_env(&mut cmd, &db, 3999, &storage);
        cmd.args([
            "create-admin",
            "--account-name",
            "Acme",
            "--name",
            "Ana",
            "--email",
            "Ana@Example.com",
            "--password",
            "correct horse",
        ]);
        cmd.output().unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stdout = String::from_utf8(first.stdout).unwrap();
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["email"], "ana@example.com");
    assert!(last["account_id"].is_i64() && last["user_id"].is_i64());
    assert_eq!(last["api_access_token"].as_str().unwrap().len(), 48);

    let second = run();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn missing_configuration_names_the_variable() {
    let db = TestDatabase::create();
    let mut cmd = Command::new(BIN);
    base_env(&mut cmd, &db, 3998, std::path::Path::new("/tmp"));
    cmd.env_remove("FRONTEND_URL").arg("migrate");
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FRONTEND_URL is required"));

    let mut cmd = Command::new(BIN);
    base_env(&mut cmd, &db, 3998, std::path::Path::new("/tmp"));
    cmd.env("SECRET_KEY_BASE", "short").arg("serve");
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SECRET_KEY_BASE"));
}

struct Server(std::process::Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[actix_rt::test]
async fn serve_end_to_end() {
    let db = TestDatabase::create();
    let storage = std::env::temp_dir().join(format!("sb-serve-{}", db.name));
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");

    let mut admin = Command::new(BIN);
    base_env(&mut admin, &db, port, &storage);
    admin.args([
        "create-admin",
        "--account-name",
        "Acme",
        "--name",
        "Ana",
        "--email",
        "ana@example.com",
        "--password",
        "correct horse",
    ]);
    let out = admin.output().unwrap();
    let created: Value = serde_json::from_str(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    let token = created["api_access_token"].as_str().unwrap().to_string();
    let account = created["account_id"].as_i64().unwrap();

    let graph = wiremock::MockServer::start().await;
    crate::common::mount_graph_defaults(&graph).await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/v25.0/106540352242922/messages"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_raw(
            std::fs::read(crate::common::shared_fixture("graph/send_ok_phone.json")).unwrap(),
            "application/json",
        ))
        .mount(&graph)
        .await;
    let mut serve = Command::new(BIN);
    base_env(&mut serve, &db, port, &storage);
    serve
        .env("WHATSAPP_CLOUD_BASE_URL", graph.uri())
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _server = Server(serve.spawn().unwrap());

    let http = reqwest::Client::new();
    wait_healthy(&http, &base).await;

    let inbox: Value = http
        .post(format!("{base}/api/v1/accounts/{account}/inboxes"))
        .header("api_access_token", &token)
        .json(&json!({"name": "Support", "channel": {"type": "whatsapp", "phone_number": "+15551234567", "provider": "whatsapp_cloud",
            "provider_config": {"api_key": "EAAG-e2e", "phone_number_id": "106540352242922", "business_account_id": "102290129340398"}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let webhook_url = inbox["webhook_url"].as_str().unwrap().to_string();
    assert_eq!(
        webhook_url,
        format!("{base}/webhooks/whatsapp/+15551234567")
    );
    let verify = inbox["provider_config"]["webhook_verify_token"]
        .as_str()
        .unwrap();

    let challenge = http
        .get(format!(
            "{webhook_url}?hub.mode=subscribe&hub.verify_token={verify}&hub.challenge=424242"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.status(), 200);
    assert_eq!(challenge.text().await.unwrap(), "424242");

    let body = crate::common::with_current_timestamps(&crate::common::webhook_fixture("text.json"));
    let ack = http
        .post(&webhook_url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status(), 200);

    // The ingest worker picks it up without help.
    let started = Instant::now();
    loop {
        let thread: Value = http
            .get(format!(
                "{base}/api/v1/accounts/{account}/conversations/1/messages"
            ))
            .header("api_access_token", &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(m) = thread["payload"].as_array().and_then(|p| p.first()) {
            assert_eq!(m["content"], "Hi! Does the blue jacket come in size M?");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "message never appeared: {thread}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A reply goes out through the send worker without help.
    let reply: Value = http
        .post(format!(
            "{base}/api/v1/accounts/{account}/conversations/1/messages"
        ))
        .header("api_access_token", &token)
        .json(&json!({"content": "Yes, it does!", "message_type": "outgoing"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["status"], "progress", "{reply}");
    let started = Instant::now();
    loop {
        let thread: Value = http
            .get(format!(
                "{base}/api/v1/accounts/{account}/conversations/1/messages"
            ))
            .header("api_access_token", &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let sent = thread["payload"]
            .as_array()
            .and_then(|p| p.iter().find(|m| m["id"] == reply["id"]))
            .cloned()
            .unwrap_or_default();
        if sent["status"] == "sent" {
            assert_eq!(
                sent["source_id"],
                "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJPVVRHT0lOR18wMDAwMDEA"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "reply never sent: {sent}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = std::fs::remove_dir_all(storage);
}

/// Waits up to 20 s for `base/health` to answer 200.
async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/health")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The README's "Try it without Meta", step by step with the real binary: the Graph
/// stand-in says when it is ready, `demo-setup --demo-inbox` creates the admin and the
/// inbox, `demo-message` posts fresh messages that land (twice, not deduplicated), the
/// templates come from the stand-in, a reply is sent through it, and the shipped sample
/// bodies are accepted.
#[actix_rt::test]
async fn demo_mode_works_without_meta() {
    use std::io::BufRead;
    let db = TestDatabase::create();
    let storage = std::env::temp_dir().join(format!("sb-demo-{}", db.name));
    let port = free_port();
    let graph_port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let graph_url = format!("http://127.0.0.1:{graph_port}");

    // `demo-graph` needs no configuration at all.
    let mut graph = Command::new(BIN);
    graph
        .env_clear()
        .args(["demo-graph", "--listen", &format!("127.0.0.1:{graph_port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut graph = Server(graph.spawn().unwrap());
    let mut ready = String::new();
    std::io::BufReader::new(graph.0.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert!(
        ready.starts_with(&format!("Graph stand-in ready at {graph_url}")),
        "{ready}"
    );

    let mut setup = Command::new(BIN);
    base_env(&mut setup, &db, port, &storage);
    setup.env("WHATSAPP_CLOUD_BASE_URL", &graph_url).args([
        "demo-setup",
        "--demo-inbox",
        "+15551234567",
    ]);
    let out = setup.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let created: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert!(
        stdout.contains("Created the demo inbox +15551234567"),
        "{stdout}"
    );
    let token = created["api_access_token"].as_str().unwrap().to_string();
    let account = created["account_id"].as_i64().unwrap();
    // Running it again changes nothing and fails nothing.
    let mut again = Command::new(BIN);
    base_env(&mut again, &db, port, &storage);
    let out = again
        .args(["demo-setup", "--demo-inbox", "+15551234567"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "");

    let mut serve = Command::new(BIN);
    base_env(&mut serve, &db, port, &storage);
    // The server's log goes to a file, quoted when a step below times out.
    std::fs::create_dir_all(&storage).unwrap();
    let log_path = storage.join("serve.log");
    serve
        .env("WHATSAPP_CLOUD_BASE_URL", &graph_url)
        .env("RUST_LOG", "info")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()));
    let _server = Server(serve.spawn().unwrap());
    let server_log = || {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        log[log.len().saturating_sub(4000)..].to_string()
    };
    let http = reqwest::Client::new();
    wait_healthy(&http, &base).await;

    let demo_message = |text: &str| {
        let mut cmd = Command::new(BIN);
        base_env(&mut cmd, &db, port, &storage);
        cmd.args(["demo-message", text]);
        cmd.output().unwrap()
    };
    for text in ["Is the store open on Sunday?", "And on Monday?"] {
        let out = demo_message(text);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("200 OK"));
    }
    let api = format!("{base}/api/v1/accounts/{account}");
    let get = |path: &str| {
        http.get(format!("{api}/{path}"))
            .header("api_access_token", &token)
            .send()
    };
    let started = Instant::now();
    let thread = loop {
        let thread = get("conversations/1/messages")
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        if thread["payload"].as_array().map_or(0, Vec::len) == 2 {
            break thread;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "messages never appeared: {thread}\nserver log:\n{}",
            server_log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(thread["payload"][1]["content"], "And on Monday?");
    let conversation = get("conversations/1")
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(conversation["can_reply"], true, "{conversation}");

    // The stand-in's templates are synced, so the template picker has something to show.
    let started = Instant::now();
    loop {
        let inboxes = get("inboxes").await.unwrap().json::<Value>().await.unwrap();
        let names: Vec<String> = inboxes["payload"][0]["message_templates"]
            .as_array()
            .map(|t| {
                t.iter()
                    .map(|t| t["name"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
        if names.len() == 3 {
            assert!(names.contains(&"order_update".to_string()), "{names:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "templates never synced: {inboxes}\nserver log:\n{}",
            server_log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A reply goes out through the stand-in.
    let reply: Value = http
        .post(format!(
            "{base}/api/v1/accounts/{account}/conversations/1/messages"
        ))
        .header("api_access_token", &token)
        .json(&json!({"content": "Yes, 10 to 4."}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let thread = get("conversations/1/messages")
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        let sent = thread["payload"]
            .as_array()
            .and_then(|p| p.iter().find(|m| m["id"] == reply["id"]))
            .cloned()
            .unwrap_or_default();
        if sent["status"] == "sent" {
            assert!(sent["source_id"]
                .as_str()
                .unwrap()
                .starts_with("wamid.STANDIN"));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "reply never sent: {sent}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The sample bodies the README posts ship with the project and are accepted.
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/webhooks");
    for name in ["text.json", "location.json", "contacts.json"] {
        let body = std::fs::read(examples.join(name)).unwrap();
        let ack = http
            .post(format!("{base}/webhooks/whatsapp/+15551234567"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(ack.status(), 200, "{name}");
    }

    // A number without an inbox gets a message that says what to do.
    let mut cmd = Command::new(BIN);
    base_env(&mut cmd, &db, port, &storage);
    let out = cmd
        .args(["demo-message", "--to", "+15550009999", "hi"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no inbox has the number +15550009999"));
    let _ = std::fs::remove_dir_all(storage);
}
