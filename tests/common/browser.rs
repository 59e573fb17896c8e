//! The browser-test kit shared by every `tests/browser*.rs` scenario file: the real server
//! binary, a real PostgreSQL, a wiremock Graph stand-in and Debian's `chromium` driven through
//! `chromedriver` with fantoccini. Included by `#[path = "common/browser.rs"] mod browser_kit;`
//! (the scenario files only), so other test binaries do not build it.
//!
//! Scenarios of one binary run one at a time ([`SERIAL`]); cargo runs test binaries one after
//! another, so two browsers never share the two cores.
#![allow(dead_code)]

use crate::common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use switchboard::db::testing::TestDatabase;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");
pub const MESSAGES_PATH: &str = "/v25.0/106540352242922/messages";
pub const TEMPLATES_PATH: &str = "/v25.0/102290129340398/message_templates";

/// Real, decodable media the Graph stand-in serves (`tests/fixtures/media/`): Chromium must
/// be able to show them, so a broken media route cannot pass unnoticed.
pub struct MediaFile {
    /// The shared webhook fixture announcing it.
    pub fixture: &'static str,
    /// Its media id in that fixture.
    pub media_id: &'static str,
    /// The fixture's sha256 (replaced by the file's).
    pub fixture_sha256: &'static str,
    /// The fixture's mime type, and the file's.
    pub fixture_mime: &'static str,
    pub mime: &'static str,
    pub bytes: &'static [u8],
}

pub const MEDIA: [MediaFile; 4] = [
    MediaFile {
        fixture: "image.json",
        media_id: "1003383421387256",
        fixture_sha256: "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=",
        fixture_mime: "image/jpeg",
        mime: "image/png",
        bytes: include_bytes!("../fixtures/media/box.png"),
    },
    MediaFile {
        fixture: "audio_voice.json",
        media_id: "1234567890987654",
        fixture_sha256: "m04pFf2ERdaopTyFkGPA0+bX3i+YY2dYgVFwOgDLSDI=",
        fixture_mime: "audio/ogg; codecs=opus",
        mime: "audio/ogg; codecs=opus",
        bytes: include_bytes!("../fixtures/media/voice.ogg"),
    },
    MediaFile {
        fixture: "video.json",
        media_id: "765756756123456",
        fixture_sha256: "Jh+2ij6PzUv/J2y+grrtegr/ZMzRxkEPwc24Oyib4s0=",
        fixture_mime: "video/mp4",
        mime: "video/webm",
        bytes: include_bytes!("../fixtures/media/unboxing.webm"),
    },
    MediaFile {
        fixture: "document.json",
        media_id: "622684793477189",
        fixture_sha256: "V5OPpLD/gEG6Xjg0MbmQDLFgcKsL+j5LfY4ny/pZ4MY=",
        fixture_mime: "application/pdf",
        mime: "application/pdf",
        bytes: include_bytes!("../fixtures/media/receipt.pdf"),
    },
];

/// Media id of a second photo, whose first lookup fails for good (Meta's 404).
pub const EXPIRED_MEDIA_ID: &str = "1003383421387999";

impl MediaFile {
    /// The fixture's webhook body announcing this file (its sha256 and mime type), with
    /// current timestamps.
    pub fn webhook(&self) -> Vec<u8> {
        use base64::Engine;
        use sha2::Digest;
        let sha =
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(self.bytes));
        let body = String::from_utf8(webhook_fixture(self.fixture))
            .unwrap()
            .replace(self.fixture_sha256, &sha)
            .replace(self.fixture_mime, self.mime);
        with_current_timestamps(body.as_bytes())
    }

    /// Mounts Graph's media lookup and the file download for `media_id`.
    pub async fn mount(&self, graph: &MockServer, media_id: &str) {
        use sha2::Digest;
        Mock::given(method("GET"))
            .and(path(format!("/v25.0/{media_id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "messaging_product": "whatsapp",
                "url": format!("{}/lookaside/{media_id}", graph.uri()),
                "mime_type": self.mime,
                "sha256": hex::encode(sha2::Sha256::digest(self.bytes)),
                "file_size": self.bytes.len(),
                "id": media_id,
            })))
            .with_priority(5)
            .mount(graph)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/lookaside/{media_id}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_bytes(self.bytes)
                    .insert_header("content-type", self.mime),
            )
            .with_priority(5)
            .mount(graph)
            .await;
    }
}

/// Waits until every image in the thread has decoded (`naturalWidth > 0`) and every audio
/// and video element has loaded its metadata (`readyState >= 1`); each one is scrolled into
/// view first, as lazy images load only near the viewport. Returns how many were checked.
pub async fn assert_media_loaded(client: &Client) -> u64 {
    let pending =
        "[...document.querySelectorAll('#messages img, #messages audio, #messages video')]\
        .filter(e => e.tagName === 'IMG' ? !(e.complete && e.naturalWidth > 0) : e.readyState < 1)";
    let started = Instant::now();
    loop {
        let left = js(
            client,
            &format!(
                "const left = {pending}; left.forEach(e => e.scrollIntoView({{block: 'nearest'}})); \
                 return left.map(e => e.tagName + ' ' + (e.currentSrc || e.src) + (e.error ? ' error ' + e.error.code : ''));"
            ),
        )
        .await;
        if left.as_array().is_some_and(Vec::is_empty) {
            break;
        }
        if started.elapsed() > Duration::from_secs(15) {
            screenshot(client, "timeout-media").await;
            panic!("media did not load: {left}");
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    js(
        client,
        "const m = document.getElementById('messages'); if (m) m.scrollTop = m.scrollHeight; \
        return document.querySelectorAll('#messages img, #messages audio, #messages video').length",
    )
    .await
    .as_u64()
    .unwrap()
}

pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub use switchboard::db::testing::free_port;

pub fn graph_fixture(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(shared_fixture(&format!("graph/{name}"))).unwrap())
        .unwrap()
}

pub struct Killed(pub Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver, started in a process group of its own, and killed with every Chromium it
/// started when dropped: killing chromedriver alone left each test's Chromium (and its
/// renderer and GPU processes, ~300 MB) running to the end of the suite, sixty of them by
/// the end of a run, competing with the tests for the two cores and the memory.
pub struct DriverGroup(Child);

impl DriverGroup {
    /// Starts `command` as the leader of a new process group.
    pub fn spawn(command: &mut Command) -> std::io::Result<DriverGroup> {
        use std::os::unix::process::CommandExt;
        command.process_group(0).spawn().map(DriverGroup)
    }
}

impl Drop for DriverGroup {
    fn drop(&mut self) {
        // The group's id is the leader's pid; `kill -KILL -<pgid>` reaches every member.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

/// A running server with its database, Graph stand-in and chromedriver.
pub struct Env {
    pub db: TestDatabase,
    pub base: String,
    pub token: String,
    pub account_id: i64,
    pub graph: MockServer,
    pub driver_url: String,
    pub http: reqwest::Client,
    pub storage: std::path::PathBuf,
    pub server_env: Vec<(String, String)>,
    pub port: u16,
    pub server: std::sync::Mutex<Option<Killed>>,
    pub _driver: DriverGroup,
}

pub async fn wait_for_port(port: u16, what: &str) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what} did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn spawn_server(server_env: &[(String, String)]) -> Killed {
    let mut serve = Command::new(BIN);
    serve
        .env_clear()
        .envs(server_env.iter().map(|(k, v)| (k, v)))
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Killed(serve.spawn().unwrap())
}

impl Env {
    pub async fn start() -> Env {
        let db = TestDatabase::create();
        let storage = std::env::temp_dir().join(format!("sb-browser-{}", db.name));
        let graph = MockServer::start().await;
        mount_graph_defaults(&graph).await;
        for m in &MEDIA {
            m.mount(&graph, m.media_id).await;
        }
        Mock::given(method("POST"))
            .and(path(MESSAGES_PATH))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(graph_fixture("send_ok_phone.json")),
            )
            .with_priority(9)
            .mount(&graph)
            .await;
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let server_env: Vec<(String, String)> = vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("DATABASE_URL".into(), db.url.clone()),
            ("FRONTEND_URL".into(), base.clone()),
            (
                "SECRET_KEY_BASE".into(),
                "browser-test-secret-key-base-0123456789abcdef".into(),
            ),
            ("STORAGE_DIR".into(), storage.to_string_lossy().to_string()),
            ("PORT".into(), port.to_string()),
            ("WHATSAPP_CLOUD_BASE_URL".into(), graph.uri()),
            ("SEND_RETRY_BASE_MS".into(), "0".into()),
            (
                "MAIL_DIR".into(),
                storage.join("mail").to_string_lossy().to_string(),
            ),
            ("RUST_LOG".into(), "warn".into()),
        ];
        let env = |cmd: &mut Command| {
            cmd.env_clear().envs(server_env.iter().map(|(k, v)| (k, v)));
        };
        let mut admin = Command::new(BIN);
        env(&mut admin);
        let out = admin
            .args([
                "create-admin",
                "--account-name",
                "Acme",
                "--name",
                "Ana Admin",
                "--email",
                "ana@example.com",
                "--password",
                "correct horse",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let created: Value = serde_json::from_str(
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .last()
                .unwrap(),
        )
        .unwrap();
        let mut serve = Command::new(BIN);
        env(&mut serve);
        serve
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let server = Killed(serve.spawn().unwrap());
        wait_for_port(port, "the server").await;

        let driver_port = free_port();
        let driver = DriverGroup::spawn(
            Command::new("chromedriver")
                .arg(format!("--port={driver_port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .expect("chromedriver (apt-get install chromium-driver; scripts/test installs it)");
        wait_for_port(driver_port, "chromedriver").await;
        Env {
            db,
            base,
            token: created["api_access_token"].as_str().unwrap().to_string(),
            account_id: created["account_id"].as_i64().unwrap(),
            graph,
            driver_url: format!("http://127.0.0.1:{driver_port}"),
            // No idle connections: one that the server closes (its keep-alive ends) while a
            // request is put on it fails as an incomplete message on a busy machine.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            storage,
            server_env,
            port,
            server: std::sync::Mutex::new(Some(server)),
            _driver: driver,
        }
    }

    /// Stops the server process and starts a new one on the same port and database.
    pub async fn restart_server(&self) {
        drop(self.server.lock().unwrap().take());
        let next = spawn_server(&self.server_env);
        *self.server.lock().unwrap() = Some(next);
        wait_for_port(self.port, "the restarted server").await;
    }

    /// A new headless Chromium at `width`×`height`.
    pub async fn browser(&self, width: u32, height: u32) -> Client {
        self.browser_with(width, height, &[]).await
    }

    /// A Chromium session with extra command-line switches (e.g. `--force-dark-mode`, which
    /// makes `prefers-color-scheme: dark` match).
    pub async fn browser_with(&self, width: u32, height: u32, extra: &[&str]) -> Client {
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-background-networking".into(),
            "--disable-dev-shm-usage".into(),
            format!("--window-size={width},{height}"),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": "/usr/bin/chromium", "args": args}),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.driver_url)
            .await
            .expect("a Chromium session");
        client.set_window_size(width, height).await.ok();
        client
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn api(&self, method_: &str, path_: &str, body: Option<Value>) -> Value {
        let url = format!("{}/api/v1/accounts/{}{path_}", self.base, self.account_id);
        let mut req = match method_ {
            "GET" => self.http.get(url),
            "POST" => self.http.post(url),
            "PATCH" => self.http.patch(url),
            _ => panic!("{method_}"),
        }
        .header("api_access_token", &self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method_} {path_}: {status} {v}");
        v
    }

    pub async fn create_inbox(&self) -> Value {
        self.api(
            "POST",
            "/inboxes",
            Some(json!({"name": "Support", "channel": {"type": "whatsapp", "phone_number": PHONE, "provider": "whatsapp_cloud",
                "provider_config": {"api_key": "EAAG-browser", "phone_number_id": PHONE_NUMBER_ID, "business_account_id": WABA_ID}}})),
        )
        .await
    }

    /// Posts webhook bytes as Meta would.
    pub async fn post_webhook(&self, body: Vec<u8>) {
        let resp = self
            .http
            .post(self.url(&format!("/webhooks/whatsapp/{PHONE}")))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }

    /// Waits until the API shows `n` conversations (ingest is asynchronous).
    pub async fn wait_conversations(&self, n: usize) {
        let started = Instant::now();
        loop {
            let v = self.api("GET", "/conversations?status=all", None).await;
            if v["data"]["payload"].as_array().map(Vec::len) == Some(n) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "conversations: {v}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn create_agent(&self, email: &str) {
        use diesel::Connection;
        let mut conn = diesel::PgConnection::establish(&self.db.url).unwrap();
        switchboard::domain::accounts::create_user(
            &mut conn,
            self.account_id,
            "Ben Agent",
            email,
            "agent password",
            switchboard::domain::accounts::Role::Agent,
        )
        .unwrap();
    }

    pub fn add_member(&self, email: &str) {
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::PgConnection::establish(&self.db.url).unwrap();
        diesel::sql_query(format!(
            "INSERT INTO inbox_members (inbox_id, user_id) SELECT i.id, u.id FROM inboxes i, users u WHERE u.email = '{email}'"
        ))
        .execute(&mut conn)
        .unwrap();
    }

    /// Invites `name` <`email`> as an agent through Settings → Agents.
    pub async fn invite_agent(&self, admin: &Client, name: &str, email: &str) {
        admin
            .goto(&self.url(&format!(
                "/app/accounts/{}/settings/agents",
                self.account_id
            )))
            .await
            .unwrap();
        for (id, value) in [("agent-name", name), ("agent-email", email)] {
            admin
                .find(Locator::Id(id))
                .await
                .unwrap()
                .send_keys(value)
                .await
                .unwrap();
        }
        admin
            .find(Locator::Css("#invite-agent button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    pub async fn sign_in(&self, client: &Client, email: &str, password: &str) {
        client.goto(&self.url("/app/login")).await.unwrap();
        client
            .find(Locator::Id("email"))
            .await
            .unwrap()
            .send_keys(email)
            .await
            .unwrap();
        client
            .find(Locator::Id("password"))
            .await
            .unwrap()
            .send_keys(password)
            .await
            .unwrap();
        // Marks this document, so the wait below sees the answer's page (the inbox, or the
        // form again) replace it; a test's next `goto` could otherwise race the redirect.
        client
            .execute("window.__beforeSignIn = true; return true", vec![])
            .await
            .unwrap();
        client
            .find(Locator::Css("form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_js(
            client,
            "!window.__beforeSignIn && document.readyState === 'complete'",
            "the sign-in answer",
        )
        .await;
    }

    /// Graph message bodies received so far (read receipts aside).
    pub async fn sent(&self) -> Vec<Value> {
        self.graph
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == MESSAGES_PATH)
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
            .filter(|b| b["status"] != "read")
            .collect()
    }

    /// Waits for the first `.eml` the server's email worker writes into `MAIL_DIR`; returns
    /// it with its quoted-printable parts decoded.
    pub async fn wait_for_mail(&self) -> String {
        let dir = self.storage.join("mail");
        let started = Instant::now();
        loop {
            let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .find(|p| p.extension().is_some_and(|x| x == "eml"))
            });
            if let Some(path) = found {
                // The file transport writes the whole file at once; give it a moment anyway.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return decode_quoted_printable(&std::fs::read_to_string(path).unwrap());
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no email in {}",
                dir.display()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Read receipts Graph received so far (typing indicators aside).
    pub async fn read_receipts(&self) -> Vec<Value> {
        self.read_calls()
            .await
            .into_iter()
            .filter(|b| b.get("typing_indicator").is_none())
            .collect()
    }

    /// Typing indicators Graph received so far (read receipts carrying `typing_indicator`).
    pub async fn typing_indicators(&self) -> Vec<Value> {
        self.read_calls()
            .await
            .into_iter()
            .filter(|b| b.get("typing_indicator").is_some())
            .collect()
    }

    async fn read_calls(&self) -> Vec<Value> {
        self.graph
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == MESSAGES_PATH)
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
            .filter(|b| b["status"] == "read")
            .collect()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.storage);
    }
}

/// An email's text with quoted-printable soft line breaks joined and `=XX` bytes restored.
pub fn decode_quoted_printable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

pub async fn screenshot(client: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Polls `check` (a JavaScript expression returning a boolean) until true.
pub async fn wait_js(client: &Client, check: &str, what: &str) {
    let started = Instant::now();
    loop {
        let v = client
            .execute(&format!("return !!({check});"), vec![])
            .await
            .unwrap_or(Value::Bool(false));
        if v == Value::Bool(true) {
            return;
        }
        if started.elapsed() > Duration::from_secs(15) {
            screenshot(client, &format!("timeout-{}", what.replace(' ', "-"))).await;
            panic!("timed out waiting for {what} ({check})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn js(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.unwrap()
}

/// axe-core (from npm, `package-lock.json`; `scripts/test` runs `npm ci`) over the whole
/// page: the WCAG 2.1 A and AA rules' violations, as `"rule (impact): help — targets"` lines.
pub async fn axe_violations(c: &Client) -> Vec<String> {
    axe_in(c, "document").await
}

/// [`axe_violations`] within `context`, an axe context written as JavaScript (e.g.
/// `"document.querySelector('#new-conversation')"`).
pub async fn axe_in(c: &Client, context: &str) -> Vec<String> {
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/axe-core/axe.min.js"),
    )
    .expect("node_modules/axe-core: run `npm ci` (scripts/test does)");
    c.execute(&format!("{source}\nreturn true;"), vec![])
        .await
        .unwrap();
    let found = c
        .execute_async(
            &format!(
                "const done = arguments[arguments.length - 1];
                 axe.run({context}, {{runOnly: {{type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}}})
                   .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — '
                        + v.nodes.slice(0, 4).map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done(['axe failed: ' + e]));"
            ),
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap()
}

// ---- Steps the scenario files share (one copy each; find and act in one step where the
// page re-renders live) ----

/// A check (JavaScript) that the page does not scroll sideways: against `clientWidth` (the
/// viewport without a vertical scrollbar), so an overflow that only fits under the
/// scrollbar is caught too.
pub const NO_OVERFLOW: &str =
    "document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1";

/// The wamid of the customer's message in `text.json`.
pub const CUSTOMER_WAMID: &str = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTAwMDAwMDAwMDAwMDAwMDAwMQA=";

/// Clicks the element `css` matches with JavaScript after focusing it, in one step (a live
/// re-render cannot slip in between; the hover toolbars show on keyboard focus, as for a
/// keyboard user). Panics when nothing matches.
pub async fn focus_click(c: &Client, css: &str) {
    let found = js(
        c,
        &format!(
            "const e = document.querySelector({}); if (!e) return false; e.focus(); e.click(); return true;",
            serde_json::to_string(css).unwrap()
        ),
    )
    .await;
    assert_eq!(found, Value::Bool(true), "nothing matches {css}");
}

/// Clicks the element `css` as a mouse would (WebDriver), again when a live update replaced
/// it meanwhile; one in a dialog is scrolled to the middle first (a sticky bar would take
/// the click). Panics after 3 s.
pub async fn click(c: &Client, css: &str) {
    for _ in 0..20 {
        c.execute(
            "const e = document.querySelector(arguments[0]); if (e && e.closest('dialog')) e.scrollIntoView({block: 'center'}); return true",
            vec![json!(css)],
        )
        .await
        .ok();
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if e.click().await.is_ok() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    panic!("could not click {css}");
}

/// Types `text` (WebDriver keys: `\u{E007}` is Enter) into the element `css`, again when a
/// live update replaced it just before. Panics after 3 s.
pub async fn type_into(c: &Client, css: &str, text: &str) {
    send_keys(c, css, text, false).await;
}

/// Clears the input `css`, then types `text` into it (see [`type_into`]).
pub async fn fill(c: &Client, css: &str, text: &str) {
    send_keys(c, css, text, true).await;
}

async fn send_keys(c: &Client, css: &str, text: &str, clear_first: bool) {
    for _ in 0..20 {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if (!clear_first || e.clear().await.is_ok()) && e.send_keys(text).await.is_ok() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    panic!("could not type {text:?} into {css}");
}

/// Axe-core's serious and critical violations on the current page.
pub async fn serious_axe_violations(c: &Client) -> Vec<String> {
    axe_violations(c)
        .await
        .into_iter()
        .filter(|v| v.contains("(serious)") || v.contains("(critical)"))
        .collect()
}

impl Env {
    /// Signs `client` in as the account's administrator (Ana, made by [`Env::start`]).
    pub async fn sign_in_admin(&self, client: &Client) {
        self.sign_in(client, "ana@example.com", "correct horse")
            .await;
    }
}

/// Opens `/app/accounts/{account}{path}` once a sign-in just submitted has landed (its
/// redirect would otherwise replace the page opened here), and waits for it to load.
pub async fn goto_app(c: &Client, env: &Env, path: &str) {
    wait_js(
        c,
        "!location.pathname.endsWith('/login') && document.readyState === 'complete'",
        "the sign-in to land",
    )
    .await;
    c.goto(&env.url(&format!("/app/accounts/{}{path}", env.account_id)))
        .await
        .unwrap();
    wait_js(c, "document.readyState === 'complete'", "the page").await;
}

/// Opens conversation `display_id` (see [`goto_app`]) and waits for its thread.
pub async fn open_conversation(c: &Client, env: &Env, display_id: i64) {
    goto_app(c, env, &format!("/conversations/{display_id}")).await;
    wait_js(
        c,
        &format!("document.getElementById('thread') && document.getElementById('thread').dataset.displayId === '{display_id}'"),
        "the thread",
    )
    .await;
}

impl Env {
    /// Makes the Graph stand-in list the approved templates of
    /// `graph/message_templates_page1.json` (`order_update_v1` among them).
    pub async fn mount_approved_templates(&self) {
        Mock::given(method("GET"))
            .and(path(TEMPLATES_PATH))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(graph_fixture("message_templates_page1.json")),
            )
            .with_priority(1)
            .mount(&self.graph)
            .await;
    }
}

/// In the open "New conversation" dialog: finds `order_update_v1` by searching "order is",
/// picks it and fills its parameters (header `#4521`, body `name` and `on its way`, button
/// `4521`); waits for an enabled Send.
pub async fn pick_order_update_template(c: &Client, name: &str) {
    type_into(c, "#nc-template-search", "order is").await;
    wait_js(
        c,
        "document.querySelectorAll('#nc-template-list .template-choice').length === 1",
        "the template search",
    )
    .await;
    click(c, "#nc-template-list .template-choice").await;
    for (css, value) in [
        ("#nc-tpl-header-1", "#4521"),
        ("#nc-tpl-body-1", name),
        ("#nc-tpl-body-2", "on its way"),
        ("#nc-tpl-button-1", "4521"),
    ] {
        type_into(c, css, value).await;
    }
    wait_js(
        c,
        "!document.getElementById('nc-send').disabled",
        "an enabled Send",
    )
    .await;
}

/// The names in the Contacts list, in order.
pub async fn contact_row_names(c: &Client) -> Vec<String> {
    serde_json::from_value(
        js(
            c,
            "return Array.from(document.querySelectorAll('.contact-cell a')).map(a => a.textContent)",
        )
        .await,
    )
    .unwrap()
}

/// On a contact's page: opens "Merge…", searches `term` and picks the first candidate (the
/// confirmation, `[data-merge-confirm]`, is left to the caller).
pub async fn pick_merge_candidate(c: &Client, term: &str) {
    click(c, "[data-open-dialog=merge-contact-dialog]").await;
    type_into(c, "#merge-search", term).await;
    wait_js(
        c,
        "document.querySelector('.merge-pick')",
        "a merge candidate",
    )
    .await;
    click(c, ".merge-pick").await;
}
