//! Issue 15, object storage: files in an S3 bucket on a real S3-compatible server (moto's
//! server mode on loopback, see `tests/storage_support`), never on the node's disk.
//! Downloaded media lands in the bucket and is streamed back (ranges too) or redirected to a
//! presigned URL; an outgoing attachment is read from the bucket for Graph's upload; avatars;
//! the CSV export; a contact's deletion removes its files; `switchboard storage migrate` run
//! twice; and two server processes sharing the bucket: a file downloaded by A is served by B.

use crate::common::*;
use crate::storage_support::*;
use actix_web::{test, App};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::process::{Command, Stdio};
use switchboard::storage::Storage;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MEDIA_ID: &str = "1003383421387256";
const PNG: &[u8] = include_bytes!("../fixtures/media/box.png");
const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// Graph's media lookup and download for the image fixture's media id, serving [`PNG`].
async fn mount_media(server: &MockServer) {
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

/// image.json announcing [`PNG`] (its sha256 and type), with current timestamps.
fn image_webhook() -> Vec<u8> {
    use base64::Engine;
    let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(PNG));
    let body = String::from_utf8(webhook_fixture("image.json"))
        .unwrap()
        .replace("SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=", &sha)
        .replace("image/jpeg", "image/png");
    with_current_timestamps(body.as_bytes())
}

/// An app whose files go to `bucket`, with a Graph stand-in serving the image and accepting
/// sends and media uploads. Keep the server alive as long as the app.
async fn app_on(bucket: &Bucket, redirect: bool) -> (MockServer, TestApp) {
    let graph = MockServer::start().await;
    mount_graph_defaults(&graph).await;
    mount_media(&graph).await;
    let mut app = TestApp::start_with(Options {
        graph_base_url: Some(graph.uri()),
        ..Default::default()
    });
    app.state.storage = Storage::new(&app.storage, &bucket.config(redirect)).unwrap();
    app.create_inbox(json!({})).await;
    (graph, app)
}

/// Any request with a token: status, headers and body.
async fn call(
    app: &TestApp,
    req: test::TestRequest,
    token: &str,
) -> (u16, actix_web::http::header::HeaderMap, Vec<u8>) {
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
    let headers = resp.headers().clone();
    let body = test::read_body(resp).await.to_vec();
    (status, headers, body)
}

fn header(h: &actix_web::http::header::HeaderMap, name: &str) -> String {
    h.get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn local_path(url: &str) -> String {
    url.strip_prefix("https://support.example.com")
        .unwrap_or(url)
        .to_string()
}

/// Delivers the image webhook and runs the media job; returns the attachment row.
async fn download_image(app: &TestApp) -> Value {
    app.deliver_bytes(&image_webhook()).await;
    assert!(switchboard::jobs::media::run_next(&app.state)
        .await
        .expect("media worker"));
    let a = app.query_json("SELECT to_jsonb(a) FROM attachments a");
    assert_eq!(a["download_status"], "downloaded", "{a:#}");
    a
}

async fn data_url(app: &TestApp) -> String {
    let thread = app
        .get(&format!(
            "/api/v1/accounts/{}/conversations/1/messages",
            app.account_id
        ))
        .await;
    local_path(
        thread["payload"][0]["attachments"][0]["data_url"]
            .as_str()
            .unwrap(),
    )
}

#[actix_rt::test]
async fn downloaded_media_lands_in_the_bucket_and_is_streamed_with_ranges() {
    let bucket = bucket("media").await;
    let (_graph, app) = app_on(&bucket, false).await;
    let a = download_image(&app).await;
    let key = a["storage_path"].as_str().unwrap().to_string();
    assert!(key.starts_with("attachments/"), "{key}");
    assert_eq!(bucket.keys().await, vec![key.clone()]);
    assert_eq!(bucket.object(&key).await.unwrap(), PNG);
    assert!(
        local_files(&app.storage).is_empty(),
        "nothing on the node's disk: {:?}",
        local_files(&app.storage)
    );

    let url = data_url(&app).await;
    let (status, h, body) = call(&app, test::TestRequest::get().uri(&url), &app.token).await;
    assert_eq!(status, 200);
    assert_eq!(body, PNG);
    assert_eq!(header(&h, "content-type"), "image/png");
    assert_eq!(header(&h, "content-length"), PNG.len().to_string());
    assert_eq!(header(&h, "accept-ranges"), "bytes");
    assert!(header(&h, "content-disposition").starts_with("inline"));
    assert!(header(&h, "content-security-policy").contains("sandbox"));
    assert_eq!(header(&h, "cache-control"), "private, max-age=3600");

    // One range, an open-ended one, a suffix, and an unsatisfiable one.
    let ranged = |r: &'static str| {
        test::TestRequest::get()
            .uri(&url)
            .insert_header(("range", r))
    };
    let (status, h, body) = call(&app, ranged("bytes=0-7"), &app.token).await;
    assert_eq!(status, 206);
    assert_eq!(body, &PNG[..8]);
    assert_eq!(
        header(&h, "content-range"),
        format!("bytes 0-7/{}", PNG.len())
    );
    assert_eq!(header(&h, "content-length"), "8");
    let (status, _, body) = call(&app, ranged("bytes=100-"), &app.token).await;
    assert_eq!(status, 206);
    assert_eq!(body, &PNG[100..]);
    let (status, _, body) = call(&app, ranged("bytes=-10"), &app.token).await;
    assert_eq!(status, 206);
    assert_eq!(body, &PNG[PNG.len() - 10..]);
    let (status, h, _) = call(&app, ranged("bytes=999999-"), &app.token).await;
    assert_eq!(status, 416);
    assert_eq!(
        header(&h, "content-range"),
        format!("bytes */{}", PNG.len())
    );

    // Still behind the authorization check: 401 without credentials, 404 for a non-member.
    let (status, _, _) = call(&app, test::TestRequest::get().uri(&url), "").await;
    assert_eq!(status, 401);
    let (_, agent) = app.create_agent("ben@example.com");
    let (status, _, _) = call(&app, test::TestRequest::get().uri(&url), &agent).await;
    assert_eq!(status, 404);
}

#[actix_rt::test]
async fn presigned_mode_redirects_authorized_callers_to_a_short_lived_url() {
    let bucket = bucket("presign").await;
    let (_graph, app) = app_on(&bucket, true).await;
    download_image(&app).await;
    let url = data_url(&app).await;
    let (status, h, _) = call(&app, test::TestRequest::get().uri(&url), &app.token).await;
    assert_eq!(status, 302);
    let location = header(&h, "location");
    assert!(
        location.starts_with(&format!("{}/{}/attachments/", bucket.endpoint, bucket.name)),
        "{location}"
    );
    assert!(location.contains("X-Amz-Expires=120"), "{location}");
    assert!(location.contains("X-Amz-Signature="), "{location}");
    assert_eq!(header(&h, "cache-control"), "private, no-store");
    let fetched = reqwest::get(&location).await.unwrap();
    assert_eq!(fetched.status().as_u16(), 200);
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), PNG);
    // No redirect without authorization.
    let (status, _, _) = call(&app, test::TestRequest::get().uri(&url), "").await;
    assert_eq!(status, 401);
    let (_, agent) = app.create_agent("ben@example.com");
    let (status, _, _) = call(&app, test::TestRequest::get().uri(&url), &agent).await;
    assert_eq!(status, 404);
}

fn multipart_body(
    boundary: &str,
    fields: &[(&str, &str)],
    file: (&str, &str, &str, &[u8]),
) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    let (field, file_name, mime, bytes) = file;
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

#[actix_rt::test]
async fn an_outgoing_attachment_is_stored_in_and_read_from_the_bucket_for_graphs_upload() {
    let bucket = bucket("outgoing").await;
    let (graph, app) = app_on(&bucket, false).await;
    Mock::given(method("POST"))
        .and(path("/v25.0/106540352242922/media"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "4490709327384033"})))
        .mount(&graph)
        .await;
    Mock::given(method("POST"))
        .and(path("/v25.0/106540352242922/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.doc"}]}),
        ))
        .mount(&graph)
        .await;
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    let file: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let boundary = "storage-test-boundary";
    let body = multipart_body(
        boundary,
        &[("content", "Your invoice")],
        ("attachments[]", "invoice.pdf", "application/pdf", &file),
    );
    let (status, _, answer) = call(
        &app,
        test::TestRequest::post()
            .uri(&format!(
                "/api/v1/accounts/{}/conversations/1/messages",
                app.account_id
            ))
            .insert_header((
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            ))
            .set_payload(body),
        &app.token,
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let key: String = serde_json::from_value(app.query_json(
        "SELECT to_jsonb(storage_path) FROM attachments WHERE storage_path LIKE 'outgoing/%'",
    ))
    .unwrap();
    assert_eq!(bucket.object(&key).await.unwrap(), file);
    assert!(
        local_files(&app.storage).is_empty(),
        "{:?}",
        local_files(&app.storage)
    );

    app.run_send_jobs().await;
    let requests = graph.received_requests().await.unwrap();
    let upload = requests
        .iter()
        .find(|r| r.url.path() == "/v25.0/106540352242922/media")
        .expect("the file was uploaded to Graph");
    assert!(
        upload
            .body
            .windows(file.len())
            .any(|w| w == file.as_slice()),
        "Graph got the bucket's bytes"
    );
    let sent: Value = serde_json::from_value(
        app.query_json("SELECT to_jsonb(status) FROM messages WHERE id = (SELECT message_id FROM attachments WHERE storage_path LIKE 'outgoing/%')"),
    )
    .unwrap();
    assert_eq!(sent, "sent");

    // Deleting the message removes its file from the bucket.
    let id: i64 = serde_json::from_value(app.query_json(
        "SELECT to_jsonb(message_id) FROM attachments WHERE storage_path LIKE 'outgoing/%'",
    ))
    .unwrap();
    let (status, _, _) = call(
        &app,
        test::TestRequest::delete().uri(&format!(
            "/api/v1/accounts/{}/conversations/1/messages/{id}",
            app.account_id
        )),
        &app.token,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        bucket.object(&key).await.is_none(),
        "{:?}",
        bucket.keys().await
    );
}

#[actix_rt::test]
async fn avatars_are_stored_served_replaced_and_removed_in_the_bucket() {
    let bucket = bucket("avatars").await;
    let (_graph, app) = app_on(&bucket, false).await;
    let put = |bytes: &'static [u8]| {
        let boundary = "avatar-boundary";
        test::TestRequest::put()
            .uri("/api/v1/profile")
            .insert_header((
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            ))
            .set_payload(multipart_body(
                boundary,
                &[("profile[display_name]", "Ana")],
                ("profile[avatar]", "me.png", "image/png", bytes),
            ))
    };
    // A refused file stores nothing.
    let (status, _, _) = call(&app, put(b"not an image"), &app.token).await;
    assert_eq!(status, 422);
    assert!(bucket.keys().await.is_empty());

    let (status, _, me) = call(&app, put(PNG), &app.token).await;
    assert_eq!(status, 200);
    let me: Value = serde_json::from_slice(&me).unwrap();
    let url = local_path(me["avatar_url"].as_str().unwrap());
    let first = bucket.keys().await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].starts_with(&format!("avatars/{}/", app.admin_id)));
    assert!(local_files(&app.storage).is_empty());
    let (status, h, body) = call(&app, test::TestRequest::get().uri(&url), &app.token).await;
    assert_eq!(status, 200);
    assert_eq!(body, PNG);
    assert_eq!(header(&h, "content-type"), "image/png");

    // A new avatar replaces the old file; removing it empties the bucket.
    let (status, _, _) = call(&app, put(PNG), &app.token).await;
    assert_eq!(status, 200);
    let second = bucket.keys().await;
    assert_eq!(second.len(), 1);
    assert_ne!(second, first);
    let (status, _, _) = call(
        &app,
        test::TestRequest::delete().uri("/api/v1/profile/avatar"),
        &app.token,
    )
    .await;
    assert_eq!(status, 200);
    assert!(bucket.keys().await.is_empty(), "{:?}", bucket.keys().await);
}

#[actix_rt::test]
async fn deleting_a_contact_removes_its_files_from_the_bucket_and_the_csv_export_still_works() {
    let bucket = bucket("contact").await;
    let (_graph, app) = app_on(&bucket, false).await;
    download_image(&app).await;
    assert_eq!(bucket.keys().await.len(), 1);

    // The CSV export streams from the database (no file): it works the same with a bucket.
    let (status, h, csv) = call(
        &app,
        test::TestRequest::get().uri(&format!(
            "/api/v1/accounts/{}/contacts/export",
            app.account_id
        )),
        &app.token,
    )
    .await;
    assert_eq!(status, 200);
    assert!(header(&h, "content-type").starts_with("text/csv"));
    assert!(
        String::from_utf8_lossy(&csv).contains("Sheena"),
        "{}",
        String::from_utf8_lossy(&csv)
    );

    let contact: i64 =
        serde_json::from_value(app.query_json("SELECT to_jsonb(id) FROM contacts LIMIT 1"))
            .unwrap();
    let (status, _, _) = call(
        &app,
        test::TestRequest::delete().uri(&format!(
            "/api/v1/accounts/{}/contacts/{contact}",
            app.account_id
        )),
        &app.token,
    )
    .await;
    assert_eq!(status, 200);
    assert!(bucket.keys().await.is_empty(), "{:?}", bucket.keys().await);
}

fn migrate_command(storage_dir: &std::path::Path, bucket: &Bucket) -> std::process::Output {
    Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/unused")
        .env("FRONTEND_URL", "https://support.example.com")
        .env(
            "SECRET_KEY_BASE",
            "storage-test-secret-key-base-0123456789abcdef",
        )
        .env("STORAGE_DIR", storage_dir)
        .env("MAIL_DIR", storage_dir.join("mail"))
        .envs(bucket.env())
        .args(["storage", "migrate"])
        .output()
        .unwrap()
}

#[actix_rt::test]
async fn storage_migrate_copies_local_files_and_is_safe_to_run_twice() {
    let bucket = bucket("migrate").await;
    let dir = std::env::temp_dir().join(format!("sb-storage-migrate-{}", rand::random::<u32>()));
    let files: [(&str, &[u8]); 3] = [
        ("attachments/1/7/photo.png", PNG),
        ("avatars/2/0123abcd.png", b"\x89PNG avatar"),
        ("outgoing/abcdef/invoice.pdf", b"%PDF-1.4 invoice"),
    ];
    for (k, bytes) in files {
        let p = dir.join(k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    std::fs::create_dir_all(dir.join("mail")).unwrap();
    std::fs::write(dir.join("mail/1.eml"), "Subject: not a stored file").unwrap();
    // A half-written temporary of the local store is not copied.
    std::fs::write(dir.join("attachments/1/7/photo.png#3"), "partial").unwrap();

    let first = migrate_command(&dir, &bucket);
    let out = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(
        first.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(out.contains("[1/"), "progress lines: {out}");
    assert!(out.contains("3 copied"), "{out}");
    assert!(out.contains("0 failed"), "{out}");
    let mut expected: Vec<String> = files.iter().map(|(k, _)| k.to_string()).collect();
    expected.sort();
    assert_eq!(bucket.keys().await, expected);
    for (k, bytes) in files {
        assert_eq!(bucket.object(k).await.unwrap(), bytes, "{k}");
    }

    // Again: everything is already there.
    let second = migrate_command(&dir, &bucket);
    let out = String::from_utf8_lossy(&second.stdout).to_string();
    assert!(second.status.success(), "{out}");
    assert!(out.contains("0 copied"), "{out}");
    assert!(out.contains("3 already in the bucket"), "{out}");

    // A file changed since (same size, other bytes) is copied again.
    std::fs::write(dir.join("outgoing/abcdef/invoice.pdf"), b"%PDF-1.4 INVOICE").unwrap();
    let third = migrate_command(&dir, &bucket);
    let out = String::from_utf8_lossy(&third.stdout).to_string();
    assert!(out.contains("1 copied"), "{out}");
    assert_eq!(
        bucket.object("outgoing/abcdef/invoice.pdf").await.unwrap(),
        b"%PDF-1.4 INVOICE"
    );

    // Without a bucket configured, a clear refusal; a missing setting names its variable.
    let local = Command::new(BIN)
        .env_clear()
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/unused")
        .env("FRONTEND_URL", "https://support.example.com")
        .env(
            "SECRET_KEY_BASE",
            "storage-test-secret-key-base-0123456789abcdef",
        )
        .env("STORAGE_DIR", &dir)
        .args(["storage", "migrate"])
        .output()
        .unwrap();
    assert!(!local.status.success());
    assert!(String::from_utf8_lossy(&local.stderr).contains("ACTIVE_STORAGE_SERVICE"));
    let missing = Command::new(BIN)
        .env_clear()
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/unused")
        .env("FRONTEND_URL", "https://support.example.com")
        .env(
            "SECRET_KEY_BASE",
            "storage-test-secret-key-base-0123456789abcdef",
        )
        .env("ACTIVE_STORAGE_SERVICE", "s3_compatible")
        .env("S3_BUCKET_NAME", "files")
        .args(["storage", "migrate"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("STORAGE_ENDPOINT"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `switchboard serve` process on `port`, its files in `bucket`, its own STORAGE_DIR.
fn spawn_node(db_url: &str, port: u16, graph: &str, bucket: &Bucket, tag: &str) -> Killed {
    let dir = std::env::temp_dir().join(format!("sb-storage-node-{tag}-{port}"));
    let child = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("FRONTEND_URL", format!("http://127.0.0.1:{port}"))
        .env(
            "SECRET_KEY_BASE",
            "storage-test-secret-key-base-0123456789abcdef",
        )
        .env("STORAGE_DIR", &dir)
        .env("MAIL_DIR", dir.join("mail"))
        .env("PORT", port.to_string())
        .env("WHATSAPP_CLOUD_BASE_URL", graph)
        .env("RUST_LOG", "warn")
        .envs(bucket.env())
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Killed(child)
}

/// Kills the process when dropped.
struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_port(port: u16) {
    eventually("the server to listen", || async move {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;
}

#[tokio::test]
async fn two_server_processes_share_the_bucket_a_file_downloaded_by_a_is_served_by_b() {
    let bucket = bucket("nodes").await;
    let db = switchboard::db::testing::TestDatabase::create();
    let graph = MockServer::start().await;
    mount_graph_defaults(&graph).await;
    mount_media(&graph).await;
    let admin = {
        let mut conn = <diesel::PgConnection as diesel::Connection>::establish(&db.url).unwrap();
        switchboard::domain::accounts::create_admin(
            &mut conn,
            "Acme",
            "Ana Admin",
            "ana@example.com",
            "correct horse",
        )
        .unwrap()
    };
    let http = reqwest::Client::new();
    let (port_a, port_b) = (free_port(), free_port());
    let node_a = spawn_node(&db.url, port_a, &graph.uri(), &bucket, "a");
    wait_port(port_a).await;
    let a = format!("http://127.0.0.1:{port_a}");
    let b = format!("http://127.0.0.1:{port_b}");
    let created = http
        .post(format!("{a}/api/v1/accounts/{}/inboxes", admin.account_id))
        .header("api_access_token", &admin.api_access_token)
        .json(&json!({
            "name": "Support",
            "channel": {"type": "whatsapp", "phone_number": PHONE, "provider": "whatsapp_cloud",
                "provider_config": {"api_key": "EAAG-test-access-token-1234", "phone_number_id": PHONE_NUMBER_ID, "business_account_id": WABA_ID}},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.status().as_u16(),
        200,
        "{}",
        created.text().await.unwrap()
    );
    // Only A runs: it ingests the webhook and downloads the file into the bucket.
    let posted = http
        .post(format!("{a}/webhooks/whatsapp/{PHONE}"))
        .header("content-type", "application/json")
        .body(image_webhook())
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status().as_u16(), 200);
    eventually("A to download the image into the bucket", || async {
        bucket.keys().await.len() == 1
    })
    .await;
    let key = bucket.keys().await.remove(0);
    drop(node_a); // A is gone: B must serve from the bucket alone.

    let _node_b = spawn_node(&db.url, port_b, &graph.uri(), &bucket, "b");
    wait_port(port_b).await;
    let thread: Value = http
        .get(format!(
            "{b}/api/v1/accounts/{}/conversations/1/messages",
            admin.account_id
        ))
        .header("api_access_token", &admin.api_access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let data_url = thread["payload"][0]["attachments"][0]["data_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(data_url.contains("/media/attachments/"), "{data_url}");
    assert!(key.ends_with(".png") || key.contains("media-"), "{key}");
    // The data_url names A's FRONTEND_URL (each node has its own here); ask B for the path.
    let path_only = url::Url::parse(&data_url).unwrap().path().to_string();
    let served = http
        .get(format!("{b}{path_only}"))
        .header("api_access_token", &admin.api_access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(served.status().as_u16(), 200);
    assert_eq!(
        served.headers()["content-type"].to_str().unwrap(),
        "image/png"
    );
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);
}
