//! Uploads refused by their declared size before the body is read, streamed to disk with a
//! running limit when no size is declared; and the database circuit breaker: after the
//! first failed checkout, `/health` and webhook posts answer 503 at once, and service
//! resumes when the database returns.

use crate::common::*;
use actix_web::{test, App};
use std::time::{Duration, Instant};
use switchboard::app::{self, AppState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves the app on a free local port (a real HTTP/1.1 server, as in production); returns
/// its address.
async fn serve(state: AppState) -> std::net::SocketAddr {
    let server =
        actix_web::HttpServer::new(move || App::new().configure(app::configure(state.clone())))
            .workers(1)
            .bind(("127.0.0.1", 0))
            .unwrap();
    let addr = server.addrs()[0];
    actix_rt::spawn(server.run());
    addr
}

/// Reads from `stream` until a whole status line arrived (or 20 s pass); returns what came.
async fn read_status(reader: &mut tokio::net::tcp::OwnedReadHalf) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&got).contains("\r\n") && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(20), reader.read(&mut buf)).await {
            Ok(Ok(0)) => {
                eprintln!("read_status: closed after {} bytes", got.len());
                break;
            }
            Ok(Err(e)) => {
                eprintln!("read_status: {e} after {} bytes", got.len());
                break;
            }
            Err(_) => {
                eprintln!("read_status: timed out");
                break;
            }
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).to_string()
}

fn messages_path(app: &TestApp) -> String {
    format!(
        "/api/v1/accounts/{}/conversations/1/messages",
        app.account_id
    )
}

/// Peak resident memory of this process (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

const BOUNDARY: &str = "sbBoundary7d93";

#[actix_rt::test]
async fn a_declared_oversize_upload_is_refused_before_its_body() {
    let app = TestApp::start();
    app.create_inbox_direct();
    app.deliver("text.json").await;
    let addr = serve(app.state.clone()).await;
    {
        // Other bodies too: the input guard refuses a declared 10 MiB JSON body unread.
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let head = format!(
            "POST /api/v1/accounts/{}/teams HTTP/1.1\r\nHost: localhost\r\napi_access_token: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            app.account_id,
            app.token,
            10 * 1024 * 1024
        );
        writer.write_all(head.as_bytes()).await.unwrap();
        let answer = read_status(&mut reader).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    }
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: localhost\r\napi_access_token: {}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        messages_path(&app),
        app.token,
        101 * 1024 * 1024
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    // No byte of the body is sent: the answer can only come from the declared length.
    let answer = read_status(&mut reader).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(app.count("messages WHERE message_type = 1"), 0);
}

#[actix_rt::test]
async fn a_chunked_upload_past_the_limit_is_refused_while_it_streams() {
    let app = TestApp::start();
    app.create_inbox_direct();
    app.deliver("text.json").await;
    let addr = serve(app.state.clone()).await;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: localhost\r\napi_access_token: {}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n",
        messages_path(&app),
        app.token,
    );
    let rss_before = peak_rss_kib();
    writer.write_all(head.as_bytes()).await.unwrap();
    let writing = actix_rt::spawn(async move {
        let preamble = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachments[]\"; filename=\"big.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        );
        let mib = vec![b'x'; 1024 * 1024];
        let send = |chunk: &[u8]| {
            [
                format!("{:x}\r\n", chunk.len()).into_bytes(),
                chunk.to_vec(),
                b"\r\n".to_vec(),
            ]
            .concat()
        };
        if writer.write_all(&send(preamble.as_bytes())).await.is_err() {
            return false;
        }
        // 101 MiB of file, sent without any declared length (the client holds 1 MiB).
        let framed = send(&mib);
        for _ in 0..101 {
            if writer.write_all(&framed).await.is_err() {
                return false;
            }
        }
        let end = format!("\r\n--{BOUNDARY}--\r\n");
        if writer.write_all(&send(end.as_bytes())).await.is_err() {
            return false;
        }
        let _ = writer.write_all(b"0\r\n\r\n").await;
        true
    });
    let answer = read_status(&mut reader).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let _ = writing.await;
    let grown_mib = peak_rss_kib().saturating_sub(rss_before) / 1024;
    eprintln!("peak RSS grew by {grown_mib} MiB during a 101 MiB chunked upload");
    assert!(
        grown_mib < 60,
        "the upload was held in memory: peak RSS grew by {grown_mib} MiB"
    );
    // The partial file is gone, and nothing was stored.
    let outgoing = app.storage.join("outgoing");
    let leftovers: Vec<_> = std::fs::read_dir(&outgoing)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(app.count("attachments"), 0);
}

#[actix_rt::test]
async fn a_normal_upload_still_sends() {
    let app = TestApp::start();
    app.create_inbox_direct();
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    let file = vec![b'%'; 300 * 1024];
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\nthe invoice\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachments[]\"; filename=\"invoice.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let svc = test::init_service(App::new().configure(app::configure(app.state.clone()))).await;
    let req = test::TestRequest::post()
        .uri(&messages_path(&app))
        .insert_header(("api_access_token", app.token.clone()))
        .insert_header((
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        ))
        .set_payload(body)
        .to_request();
    let resp = test::call_service(&svc, req).await;
    let status = resp.status().as_u16();
    let json: serde_json::Value = test::read_body_json(resp).await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["content"], "the invoice");
    let path: String = serde_json::from_value(
        app.query_json("SELECT to_jsonb(storage_path) FROM attachments LIMIT 1"),
    )
    .unwrap();
    let stored = std::fs::read(app.storage.join(path)).unwrap();
    assert_eq!(stored, file);
    assert_eq!(app.count("jobs WHERE kind = 'whatsapp_send'"), 1);
}

/// `GET /health` on a fresh service of `state`: status and how long it took.
async fn timed_health(state: &AppState) -> (u16, Duration) {
    let svc = test::init_service(App::new().configure(app::configure(state.clone()))).await;
    let started = Instant::now();
    let resp = test::call_service(&svc, test::TestRequest::get().uri("/health").to_request()).await;
    (resp.status().as_u16(), started.elapsed())
}

#[actix_rt::test]
async fn a_closed_port_answers_503_at_once_after_the_first_try() {
    let storage = std::env::temp_dir().join("switchboard-test-closed-port");
    let mut config = config_for(
        "postgres://postgres@127.0.0.1:1/switchboard",
        &storage,
        &Options::default(),
    );
    config.database_pool_timeout_ms = 5000;
    let state = AppState::new(config);
    // The first call may wait for the pool; it answers 503.
    let (status, first) = timed_health(&state).await;
    assert_eq!(status, 503);
    assert!(first < Duration::from_secs(8), "{first:?}");
    // The pool now knows: later calls answer at once, well under the 5 s pool timeout.
    for _ in 0..3 {
        let (status, took) = timed_health(&state).await;
        assert_eq!(status, 503);
        assert!(took < Duration::from_secs(3), "health took {took:?}");
    }
    let svc = test::init_service(App::new().configure(app::configure(state.clone()))).await;
    let started = Instant::now();
    let req = test::TestRequest::post()
        .uri(&format!("/webhooks/whatsapp/{PHONE}"))
        .insert_header(("content-type", "application/json"))
        .set_payload(webhook_fixture("text.json"))
        .to_request();
    let resp = test::call_service(&svc, req).await;
    assert_eq!(resp.status().as_u16(), 503);
    assert!(resp.headers().contains_key("retry-after"));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[actix_rt::test]
async fn service_resumes_when_the_database_returns() {
    let app = TestApp::start();
    app.create_inbox_direct();
    let body = webhook_fixture("text.json");
    // Warm the inbox lookup, as a live server would have it.
    assert_eq!(timed_health(&app.state).await.0, 200);

    app.db.take_offline();
    let (status, text) = app.post_webhook(PHONE, &body, None).await;
    assert_eq!(status, 503, "{text}");
    for _ in 0..3 {
        let (status, took) = timed_health(&app.state).await;
        assert_eq!(status, 503);
        assert!(took < Duration::from_secs(3), "health took {took:?}");
        let started = Instant::now();
        let (status, _) = app.post_webhook(PHONE, &body, None).await;
        assert_eq!(status, 503);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    app.db.bring_online();
    let started = Instant::now();
    loop {
        if timed_health(&app.state).await.0 == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "service did not resume"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "service resumed {:?} after the database returned",
        started.elapsed()
    );
    assert_eq!(app.post_webhook(PHONE, &body, None).await.0, 200);
    app.ingest();
    assert_eq!(app.messages().len(), 1);
}
