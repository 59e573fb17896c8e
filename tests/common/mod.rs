//! Shared test harness: a fresh database per test (cloned from a migrated template), the same
//! actix app `serve` builds, an administrator with an API token, and fixture helpers.
#![allow(dead_code)]

pub mod session;

use actix_web::{test, App};
use serde_json::json;
use serde_json::Value;
use switchboard::app::{self, AppState};
use switchboard::config::{Config, LogFormat};
use switchboard::db::testing::TestDatabase;
use switchboard::domain::accounts::{self, Role};
use switchboard::whatsapp::signature;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const PHONE: &str = "+15551234567";
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const WABA_ID: &str = "102290129340398";
pub const MAIN_USER_PHONE: &str = "16505551234";
pub const MAIN_USER_BSUID: &str = "US.13491208655302741918";

/// Path of a shared Meta webhook fixture.
pub fn shared_fixture(name: &str) -> String {
    format!(
        "{}/../shared/fixtures/meta/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Raw bytes of `../shared/fixtures/meta/webhooks/<name>` or, failing that,
/// `tests/fixtures/webhooks/<name>` (our own additions).
pub fn webhook_fixture(name: &str) -> Vec<u8> {
    let shared = shared_fixture(&format!("webhooks/{name}"));
    std::fs::read(&shared)
        .or_else(|_| {
            std::fs::read(format!(
                "{}/tests/fixtures/webhooks/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
        })
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Every webhook fixture name: the shared ones and ours.
pub fn all_webhook_fixtures() -> Vec<String> {
    let mut names = Vec::new();
    for dir in [
        shared_fixture("webhooks"),
        format!("{}/tests/fixtures/webhooks", env!("CARGO_MANIFEST_DIR")),
    ] {
        for e in std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .flatten()
        {
            let n = e.file_name().to_string_lossy().to_string();
            if n.ends_with(".json") {
                names.push(n);
            }
        }
    }
    names.sort();
    names
}

/// Options for [`TestApp::start`].
#[derive(Default, Clone)]
pub struct Options {
    pub graph_base_url: Option<String>,
    pub global_app_secret: Option<String>,
    /// `WHATSAPP_APP_ID` (the Resumable Upload API's app).
    pub app_id: Option<String>,
    /// `WHATSAPP_VERIFY_TOKEN` (the app-level callback's handshake).
    pub app_verify_token: Option<String>,
    pub inactive_numbers: Vec<String>,
    /// Sets `WEBHOOKS_ALLOW_HTTP` and `WEBHOOKS_ALLOW_PRIVATE_TARGETS` (a local receiver).
    pub webhooks_allow_local: bool,
    /// `WEBHOOK_DISABLE_AFTER_FAILURES` (default 10).
    pub webhook_disable_after_failures: Option<i32>,
    /// An SMTP server on 127.0.0.1 at this port, without TLS (unset: `.eml` files).
    pub smtp_port: Option<u16>,
    /// `FRONTEND_URL` (default `https://support.example.com`).
    pub frontend_url: Option<String>,
    /// `DUALHOOK_API_BASE_URL` (default `http://127.0.0.1:9`, nothing listens).
    pub dualhook_base_url: Option<String>,
    /// `INGEST_WORKERS` (default here 1; a server's default is 2).
    pub ingest_workers: Option<usize>,
    /// `DATABASE_POOL_SIZE` (default here 6; a server's default is 16).
    pub database_pool_size: Option<u32>,
}

pub struct TestApp {
    pub db: TestDatabase,
    pub state: AppState,
    pub token: String,
    pub account_id: i64,
    pub admin_id: i64,
    pub storage: std::path::PathBuf,
    /// The default Graph stand-in, when the test brought none.
    pub default_graph: Option<DefaultGraph>,
}

pub fn config_for(db_url: &str, storage: &std::path::Path, opts: &Options) -> Config {
    Config {
        database_url: db_url.to_string(),
        database_pool_size: opts.database_pool_size.unwrap_or(6),
        database_pool_timeout_ms: 1500,
        frontend_url: opts
            .frontend_url
            .clone()
            .unwrap_or_else(|| "https://support.example.com".into()),
        secret_key_base: "test-secret-key-base-0123456789abcdef0123456789".into(),
        whatsapp_cloud_base_url: opts
            .graph_base_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:9".into()),
        whatsapp_api_version: "v25.0".into(),
        whatsapp_app_secret: opts.global_app_secret.clone(),
        whatsapp_app_id: opts.app_id.clone(),
        whatsapp_verify_token: opts.app_verify_token.clone(),
        storage_dir: storage.to_path_buf(),
        storage: Default::default(),
        inactive_whatsapp_numbers: opts.inactive_numbers.clone(),
        host: "127.0.0.1".into(),
        port: 0,
        log_format: LogFormat::Text,
        ingest_workers: opts.ingest_workers.unwrap_or(1),
        ingest_yield_in_flight: 16,
        media_retry_base_seconds: 0,
        send_rate_per_second: 80,
        send_concurrency: 4,
        send_retry_base_ms: 0,
        send_max_attempts: 8,
        send_reconcile_seconds: 2,
        template_sync_interval_seconds: 10800,
        number_health_interval_seconds: 3600,
        smtp_address: opts.smtp_port.map(|_| "127.0.0.1".to_string()),
        smtp_port: opts.smtp_port.unwrap_or(587),
        smtp_username: None,
        smtp_password: None,
        smtp_tls: if opts.smtp_port.is_some() {
            switchboard::config::SmtpTls::None
        } else {
            switchboard::config::SmtpTls::Starttls
        },
        mailer_sender_email: "Switchboard <notifications@localhost>".into(),
        mail_dir: storage.join("mail"),
        metrics_token: None,
        metrics_address: None,
        webhooks_allow_http: opts.webhooks_allow_local,
        webhooks_allow_private_targets: opts.webhooks_allow_local,
        webhook_retry_base_seconds: 0,
        webhook_disable_after_failures: opts.webhook_disable_after_failures.unwrap_or(10),
        dualhook_api_base_url: opts
            .dualhook_base_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:9".into()),
        auto_offline_after_seconds: 300,
        retention: Default::default(),
        ingest_backlog_alert: 10_000,
    }
}

/// Mounts what inbox creation needs from Graph, at low priority so a test's own mocks win:
/// an empty template list and successful `subscribed_apps` calls.
pub async fn mount_graph_defaults(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path_regex(r"^/v25\.0/[0-9]+/message_templates$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [], "paging": {}})))
        .with_priority(10)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/v25\.0/[0-9]+/subscribed_apps$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .with_priority(10)
        .mount(server)
        .await;
}

/// A Graph stand-in with [`mount_graph_defaults`], alive until dropped (for tests that do not
/// bring their own).
pub struct DefaultGraph {
    pub uri: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl DefaultGraph {
    fn spawn() -> Self {
        let (uri_tx, uri_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let server = MockServer::start().await;
                mount_graph_defaults(&server).await;
                uri_tx.send(server.uri()).expect("send uri");
                let _ = stop_rx.await;
            });
        });
        DefaultGraph {
            uri: uri_rx.recv().expect("graph stand-in started"),
            _stop: stop_tx,
        }
    }
}

impl TestApp {
    pub fn start() -> Self {
        Self::start_with(Options::default())
    }

    pub fn start_with(mut opts: Options) -> Self {
        let default_graph = if opts.graph_base_url.is_none() {
            let g = DefaultGraph::spawn();
            opts.graph_base_url = Some(g.uri.clone());
            Some(g)
        } else {
            None
        };
        let db = TestDatabase::create();
        let storage = std::env::temp_dir().join(format!("switchboard-test-{}", db.name));
        let state = AppState::new(config_for(&db.url, &storage, &opts));
        let mut conn = state.pool.get().expect("test db connection");
        let admin = accounts::create_admin(
            &mut conn,
            "Acme",
            "Ana Admin",
            "ana@example.com",
            "correct horse",
        )
        .expect("admin");
        TestApp {
            db,
            state,
            token: admin.api_access_token,
            account_id: admin.account_id,
            admin_id: admin.user_id,
            storage,
            default_graph,
        }
    }

    pub fn conn(&self) -> switchboard::db::DbConn {
        self.state.pool.get().expect("connection")
    }

    /// Creates an agent in the account; returns (user id, token).
    pub fn create_agent(&self, email: &str) -> (i64, String) {
        let mut conn = self.conn();
        let (user, token) = accounts::create_user(
            &mut conn,
            self.account_id,
            "Ben Agent",
            email,
            "agent password",
            Role::Agent,
        )
        .unwrap();
        (user.id, token)
    }

    /// Creates the fixtures' inbox (+15551234567) through the API; returns its JSON.
    pub async fn create_inbox(&self, provider_config_extra: Value) -> Value {
        let mut config = serde_json::json!({
            "api_key": "EAAG-test-access-token-1234",
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
        });
        if let Value::Object(extra) = provider_config_extra {
            for (k, v) in extra {
                config[k] = v;
            }
        }
        let body = serde_json::json!({
            "name": "Support",
            "channel": {"type": "whatsapp", "phone_number": PHONE, "provider": "whatsapp_cloud", "provider_config": config},
        });
        let (status, json) = self
            .api(
                "POST",
                &format!("/api/v1/accounts/{}/inboxes", self.account_id),
                Some(body),
                &self.token.clone(),
            )
            .await;
        assert_eq!(status, 200, "create inbox: {json}");
        json
    }

    /// Turns auto-assignment off for `inbox_id`. Ingest assigns a new conversation in its own
    /// transaction when the inbox has online members (issue 13), so a test about something
    /// else (notifications, event streams) turns it off to see only what it checks.
    pub fn auto_assignment_off(&self, inbox_id: i64) {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "UPDATE inboxes SET enable_auto_assignment = false WHERE id = {inbox_id}"
        ))
        .execute(&mut self.conn())
        .unwrap();
    }

    /// Creates the fixtures' inbox (+15551234567) directly through the domain, without the
    /// API (and so without any Graph check); returns it with its channel.
    pub fn create_inbox_direct(&self) -> switchboard::domain::inboxes::InboxWithChannel {
        use switchboard::domain::inboxes;
        let created = inboxes::create(
            &mut self.conn(),
            &self.state.secrets,
            self.account_id,
            inboxes::NewWhatsappInbox {
                name: "Support".into(),
                phone_number: PHONE.into(),
                phone_number_id: PHONE_NUMBER_ID.into(),
                business_account_id: WABA_ID.into(),
                api_key: "EAAG-test-access-token-1234".into(),
                ..Default::default()
            },
        )
        .expect("create inbox");
        self.state.phone_cache.clear();
        created
    }

    /// Calls the API with a token; returns status and JSON (Null when the body is not JSON).
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: &str,
    ) -> (u16, Value) {
        let svc =
            test::init_service(App::new().configure(app::configure(self.state.clone()))).await;
        let mut req = match method {
            "GET" => test::TestRequest::get(),
            "POST" => test::TestRequest::post(),
            "PATCH" => test::TestRequest::patch(),
            "PUT" => test::TestRequest::put(),
            "DELETE" => test::TestRequest::delete(),
            other => panic!("method {other}"),
        }
        .uri(path);
        if !token.is_empty() {
            req = req.insert_header(("api_access_token", token));
        }
        if let Some(b) = body {
            req = req.set_json(b);
        }
        let resp = test::call_service(&svc, req.to_request()).await;
        let status = resp.status().as_u16();
        let bytes = test::read_body(resp).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// GET with the admin token.
    pub async fn get(&self, path: &str) -> Value {
        let (status, json) = self.api("GET", path, None, &self.token.clone()).await;
        assert_eq!(status, 200, "GET {path}: {json}");
        json
    }

    /// POSTs a raw webhook body; returns status and body text.
    pub async fn post_webhook(
        &self,
        phone: &str,
        body: &[u8],
        signature_header: Option<String>,
    ) -> (u16, String) {
        let svc =
            test::init_service(App::new().configure(app::configure(self.state.clone()))).await;
        let mut req = test::TestRequest::post()
            .uri(&format!("/webhooks/whatsapp/{phone}"))
            .insert_header(("content-type", "application/json"))
            .set_payload(body.to_vec());
        if let Some(sig) = signature_header {
            req = req.insert_header(("x-hub-signature-256", sig));
        }
        let resp = test::call_service(&svc, req.to_request()).await;
        let status = resp.status().as_u16();
        let bytes = test::read_body(resp).await;
        (status, String::from_utf8_lossy(&bytes).to_string())
    }

    /// Posts a fixture to the fixtures' number (unsigned), asserts 200, and ingests it.
    pub async fn deliver(&self, name: &str) {
        let body = webhook_fixture(name);
        self.deliver_bytes(&body).await;
    }

    /// Posts raw bytes, asserts 200, and ingests.
    pub async fn deliver_bytes(&self, body: &[u8]) {
        let (status, text) = self.post_webhook(PHONE, body, None).await;
        assert_eq!(status, 200, "webhook answered {status}: {text}");
        self.ingest();
    }

    /// Runs due integration webhook deliveries until none is due, one at a time, as the
    /// dispatcher would; retries are due at once (`WEBHOOK_RETRY_BASE_SECONDS=0`). Returns
    /// how many attempts ran.
    pub async fn run_webhook_jobs(&self) -> usize {
        switchboard::jobs::webhook_delivery::run_due(&self.state)
            .await
            .expect("webhook deliveries")
    }

    /// Runs due send jobs (sends and read receipts) until none is due, as the dispatcher
    /// would; retries with `SEND_RETRY_BASE_MS=0` are due at once.
    pub async fn run_send_jobs(&self) {
        for _ in 0..100 {
            let mut conn = self.conn();
            let batch = switchboard::jobs::claim_batch(
                &mut conn,
                switchboard::jobs::WHATSAPP_SEND,
                16,
                switchboard::jobs::send::LEASE_SECONDS,
            )
            .expect("claim");
            drop(conn);
            if batch.is_empty() {
                return;
            }
            for job in batch {
                switchboard::jobs::send::run_job(&self.state, job).await;
            }
        }
        panic!("send jobs kept coming back");
    }

    /// Runs every due email job (as the email worker would); returns the `.eml` files written
    /// to `MAIL_DIR`, in the order the jobs ran.
    pub async fn run_email_jobs(&self) -> Vec<std::path::PathBuf> {
        let mut written = Vec::new();
        for _ in 0..100 {
            let mut conn = self.conn();
            let job = switchboard::jobs::claim(
                &mut conn,
                switchboard::jobs::email::EMAIL,
                switchboard::jobs::email::LEASE_SECONDS,
            )
            .expect("claim");
            drop(conn);
            let Some(job) = job else {
                return written;
            };
            if let Some(switchboard::mail::Delivery::File(path)) =
                switchboard::jobs::email::run_job(&self.state, job)
                    .await
                    .expect("email job")
            {
                written.push(path);
            }
        }
        panic!("email jobs kept coming back");
    }

    /// Runs the ingest worker until the journal is empty; panics on a failed event.
    pub fn ingest(&self) {
        let mut conn = self.conn();
        loop {
            match switchboard::jobs::ingest::process_next(&mut conn).expect("ingest") {
                Some((id, Err(e))) => panic!("event {id} failed: {e}"),
                Some(_) => continue,
                None => break,
            }
        }
    }

    /// Runs a SQL query returning one JSON value (wrap with `to_jsonb(...)` or `json_agg`).
    pub fn query_json(&self, sql: &str) -> Value {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Jsonb>)]
            v: Option<Value>,
        }
        let mut conn = self.conn();
        let row: Row = diesel::sql_query(format!("SELECT ({sql}) AS v"))
            .get_result(&mut conn)
            .expect(sql);
        row.v.unwrap_or(Value::Null)
    }

    /// Count of rows matching a SQL `FROM … WHERE …` tail.
    pub fn count(&self, from_where: &str) -> i64 {
        self.query_json(&format!("SELECT to_jsonb(count(*)) FROM {from_where}"))
            .as_i64()
            .unwrap()
    }

    /// Runs one SQL statement (setup and fault injection in tests); panics on error.
    pub fn exec(&self, sql: &str) {
        use diesel::RunQueryDsl;
        diesel::sql_query(sql).execute(&mut self.conn()).expect(sql);
    }

    /// All messages as JSON rows, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        let v = self.query_json(
            "SELECT coalesce(json_agg(m ORDER BY m.created_at, m.id), '[]')::jsonb FROM messages m",
        );
        v.as_array().cloned().unwrap_or_default()
    }

    /// All contacts as JSON rows.
    pub fn contacts(&self) -> Vec<Value> {
        let v = self
            .query_json("SELECT coalesce(json_agg(c ORDER BY c.id), '[]')::jsonb FROM contacts c");
        v.as_array().cloned().unwrap_or_default()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.storage);
    }
}

/// One delivery to the fixtures' number (`PHONE_NUMBER_ID`) with one text message `body` from
/// `from` (also its `wa_id`, so a new contact per `from`), timestamped now: a webhook body.
pub fn text_delivery(from: &str, wamid: &str, body: &str) -> String {
    json!({
      "object": "whatsapp_business_account",
      "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15551234567", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": format!("Customer {from}")}, "wa_id": from}],
        "messages": [{"id": wamid, "timestamp": chrono::Utc::now().timestamp().to_string(),
          "type": "text", "from": from, "text": {"body": body}}]
      }}]}]
    })
    .to_string()
}

/// `sha256=…` for a body.
pub fn sign(secret: &str, body: &[u8]) -> String {
    signature::sign(secret, body)
}

/// Rewrites every `"timestamp"` in a fixture to now (for open-window tests).
pub fn with_current_timestamps(body: &[u8]) -> Vec<u8> {
    let now = chrono::Utc::now().timestamp().to_string();
    let mut v: Value = serde_json::from_slice(body).unwrap();
    fn walk(v: &mut Value, now: &str) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "timestamp" && x.is_string() {
                        *x = Value::String(now.to_string());
                    } else {
                        walk(x, now);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, now)),
            _ => {}
        }
    }
    walk(&mut v, &now);
    serde_json::to_vec(&v).unwrap()
}

/// The email file with its quoted-printable parts decoded (soft line breaks joined, `=XX`
/// bytes restored), as a mail client shows it.
pub fn read_eml(path: &std::path::Path) -> String {
    let raw = std::fs::read_to_string(path).unwrap();
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
