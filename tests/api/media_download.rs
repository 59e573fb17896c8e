//! Media download against a local Graph stand-in (wiremock at WHATSAPP_CLOUD_BASE_URL).

use crate::common::*;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MEDIA_ID: &str = "1003383421387256";
const FILE: &[u8] = b"\xff\xd8\xff\xe0 pretend this is a JPEG of a damaged box";

/// image.json with its sha256 replaced by `sha256_b64`.
fn image_body(sha256_b64: &str) -> Vec<u8> {
    String::from_utf8(webhook_fixture("image.json"))
        .unwrap()
        .replace("SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=", sha256_b64)
        .into_bytes()
}

async fn graph_with_media(server: &MockServer, lookup_failures: u64) {
    let lookup = json!({
        "messaging_product": "whatsapp",
        "url": format!("{}/lookaside/{MEDIA_ID}", server.uri()),
        "mime_type": "image/jpeg",
        "sha256": hex::encode(Sha256::digest(FILE)),
        "file_size": FILE.len(),
        "id": MEDIA_ID,
    });
    if lookup_failures > 0 {
        Mock::given(method("GET"))
            .and(path(format!("/v25.0/{MEDIA_ID}")))
            .respond_with(
                ResponseTemplate::new(500)
                    .set_body_json(json!({"error": {"message": "temporary", "code": 1}})),
            )
            .up_to_n_times(lookup_failures)
            .with_priority(1)
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{MEDIA_ID}")))
        .and(header(
            "authorization",
            "Bearer EAAG-test-access-token-1234",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(lookup))
        .with_priority(2)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/lookaside/{MEDIA_ID}")))
        .and(header(
            "authorization",
            "Bearer EAAG-test-access-token-1234",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(FILE)
                .insert_header("content-type", "image/jpeg"),
        )
        .mount(server)
        .await;
}

fn attachment(app: &TestApp) -> serde_json::Value {
    app.query_json("SELECT to_jsonb(a) FROM attachments a")
}

async fn run_media_job(app: &TestApp) -> bool {
    switchboard::jobs::media::run_next(&app.state)
        .await
        .expect("media worker")
}

/// A Graph stand-in whose media lookup fails `lookup_failures` times, and an app with the
/// fixtures' inbox pointed at it. Keep the server alive as long as the app.
async fn app_with_graph(lookup_failures: u64) -> (MockServer, TestApp) {
    let graph = MockServer::start().await;
    graph_with_media(&graph, lookup_failures).await;
    crate::common::mount_graph_defaults(&graph).await;
    let app = TestApp::start_with(Options {
        graph_base_url: Some(graph.uri()),
        ..Default::default()
    });
    app.create_inbox(json!({})).await;
    (graph, app)
}

fn file_sha256_b64() -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(FILE))
}

#[actix_rt::test]
async fn download_succeeds_and_is_served_to_authenticated_users() {
    let (_graph, app) = app_with_graph(0).await;
    app.deliver_bytes(&image_body(&file_sha256_b64())).await;
    assert!(run_media_job(&app).await);
    let a = attachment(&app);
    assert_eq!(a["download_status"], "downloaded", "{a:#}");
    assert_eq!(a["file_size"], FILE.len());
    let stored = app.storage.join(a["storage_path"].as_str().unwrap());
    assert_eq!(std::fs::read(stored).unwrap(), FILE);
    assert_eq!(app.count("jobs WHERE status = 'done'"), 1);

    // The data_url serves the file to the admin, not without a token, not to a non-member agent.
    let thread = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations/1/messages",
            app.account_id
        ))
        .await;
    let data_url = thread["payload"][0]["attachments"][0]["data_url"]
        .as_str()
        .unwrap()
        .to_string();
    let path = data_url
        .strip_prefix("https://support.example.com")
        .unwrap()
        .to_string();
    let svc = actix_web::test::init_service(
        actix_web::App::new().configure(switchboard::app::configure(app.state.clone())),
    )
    .await;
    let req = actix_web::test::TestRequest::get()
        .uri(&path)
        .insert_header(("api_access_token", app.token.as_str()))
        .to_request();
    let resp = actix_web::test::call_service(&svc, req).await;
    assert_eq!(resp.status().as_u16(), 200);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(header("content-type").as_deref(), Some("image/jpeg"));
    assert!(header("content-disposition").unwrap().starts_with("inline"));
    assert!(header("content-security-policy")
        .unwrap()
        .contains("sandbox"));
    assert_eq!(actix_web::test::read_body(resp).await.as_ref(), FILE);
    let (status, _) = app.api("GET", &path, None, "").await;
    assert_eq!(status, 401);
    let (_, agent_token) = app.create_agent("ben@example.com");
    let (status, _) = app.api("GET", &path, None, &agent_token).await;
    assert_eq!(status, 404);
}

#[actix_rt::test]
async fn one_failure_then_success() {
    let (_graph, app) = app_with_graph(1).await;
    app.deliver_bytes(&image_body(&file_sha256_b64())).await;
    assert!(run_media_job(&app).await);
    let a = attachment(&app);
    assert_eq!(a["download_status"], "pending");
    assert!(a["download_error"].as_str().unwrap().contains("500"));
    assert_eq!(
        app.count("jobs WHERE status = 'pending' AND attempts = 1"),
        1
    );
    // The message is there meanwhile, readable.
    assert_eq!(app.messages().len(), 1);
    // The retry comes due (MEDIA_RETRY_BASE_SECONDS is 0 in tests) and succeeds.
    assert!(run_media_job(&app).await);
    assert_eq!(attachment(&app)["download_status"], "downloaded");
    assert_eq!(app.count("jobs WHERE status = 'done' AND attempts = 2"), 1);
}

#[actix_rt::test]
async fn sha256_mismatch_marks_the_attachment_failed_and_keeps_the_message() {
    let (_graph, app) = app_with_graph(0).await;
    app.deliver("image.json").await; // the fixture's sha256 is not the stand-in file's
    assert!(run_media_job(&app).await);
    let a = attachment(&app);
    assert_eq!(a["download_status"], "failed");
    assert!(a["download_error"]
        .as_str()
        .unwrap()
        .contains("sha256 mismatch"));
    assert_eq!(a["storage_path"], serde_json::Value::Null);
    assert_eq!(
        app.count("jobs WHERE status = 'failed'"),
        1,
        "a mismatch is not retried"
    );
    assert_eq!(app.messages()[0]["content"], "This is the damaged box");
    assert!(!run_media_job(&app).await, "nothing left to run");
}
