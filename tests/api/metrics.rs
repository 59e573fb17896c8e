//! `/metrics`: 404 unless `METRICS_TOKEN` is set, 401 with a wrong token, and with the right
//! one the Prometheus text with every Switchboard metric after a webhook and a send. The
//! `METRICS_ADDRESS` listener's routes answer only `/metrics`.

use crate::common::*;
use actix_web::{test, App};
use serde_json::json;
use std::sync::Arc;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "metrics-token-0123456789abcdef";

async fn scrape(app: &TestApp, authorization: Option<&str>) -> (u16, String) {
    let svc =
        test::init_service(App::new().configure(switchboard::app::configure(app.state.clone())))
            .await;
    let mut req = test::TestRequest::get().uri("/metrics");
    if let Some(a) = authorization {
        req = req.insert_header(("authorization", a));
    }
    let resp = test::call_service(&svc, req.to_request()).await;
    let status = resp.status().as_u16();
    let body = String::from_utf8_lossy(&test::read_body(resp).await).to_string();
    (status, body)
}

fn with_token(app: &mut TestApp, token: Option<&str>) {
    let mut config = (*app.state.config).clone();
    config.metrics_token = token.map(str::to_string);
    app.state.config = Arc::new(config);
}

#[actix_rt::test]
async fn metrics_are_off_without_a_token() {
    let app = TestApp::start();
    assert_eq!(scrape(&app, None).await.0, 404);
    assert_eq!(scrape(&app, Some(&format!("Bearer {TOKEN}"))).await.0, 404);
}

#[actix_rt::test]
async fn metrics_need_the_token_and_show_webhooks_sends_jobs_and_http() {
    let graph = MockServer::start().await;
    mount_graph_defaults(&graph).await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{PHONE_NUMBER_ID}/messages")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": MAIN_USER_PHONE, "wa_id": MAIN_USER_PHONE}],
            "messages": [{"id": "wamid.metrics-test-1"}],
        })))
        .mount(&graph)
        .await;
    let mut app = TestApp::start_with(Options {
        graph_base_url: Some(graph.uri()),
        ..Default::default()
    });
    with_token(&mut app, Some(TOKEN));

    assert_eq!(scrape(&app, None).await.0, 401);
    assert_eq!(
        scrape(&app, Some("Bearer wrong-token-0123456789abcdef"))
            .await
            .0,
        401
    );
    assert_eq!(
        scrape(&app, Some(TOKEN)).await.0,
        401,
        "the Bearer scheme is required"
    );

    // A fixture POST, then an agent's reply sent through Graph.
    app.create_inbox(json!({})).await;
    app.deliver_bytes(&with_current_timestamps(&webhook_fixture("text.json")))
        .await;
    let (status, body) = app
        .api(
            "POST",
            &format!(
                "/api/v1/accounts/{}/conversations/1/messages",
                app.account_id
            ),
            Some(json!({"content": "Hello from the metrics test"})),
            &app.token.clone(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.run_send_jobs().await;
    // A delivery to an unknown number is counted too, by result.
    let (status, _) = app
        .post_webhook("+15550000000", &webhook_fixture("text.json"), None)
        .await;
    assert_eq!(status, 401);
    switchboard::metrics::record_webhook_delivery("success");

    let (status, text) = scrape(&app, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(status, 200, "{text}");
    for needle in [
        "switchboard_webhooks_received_total{field=\"messages\",result=\"accepted\"}",
        "switchboard_webhooks_received_total{field=\"unknown\",result=\"unauthorized\"}",
        "switchboard_ingest_lag_seconds_bucket",
        "switchboard_ingest_lag_seconds_count",
        "switchboard_ingest_backlog 0",
        "switchboard_ingest_oldest_pending_age_seconds 0",
        "switchboard_whatsapp_sends_total{result=\"sent\"}",
        "switchboard_webhook_deliveries_total{result=\"success\"}",
        "switchboard_job_queue_depth{kind=\"whatsapp_send\"} 0",
        "switchboard_job_queue_depth{kind=\"email\"}",
        "switchboard_http_request_duration_seconds_bucket{method=\"POST\",route=\"/webhooks/whatsapp/{phone_number}\",status=\"200\"",
        "switchboard_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/accounts/{account_id}/conversations/{display_id}/messages\",status=\"200\"}",
    ] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
    // Raw paths never become labels.
    assert!(!text.contains("15551234567"), "{text}");
    assert!(!text.contains("15550000000"), "{text}");
}

#[actix_rt::test]
async fn the_metrics_listener_serves_only_metrics() {
    let mut app = TestApp::start();
    let svc = test::init_service(
        App::new().configure(switchboard::web::metrics::listener_app(app.state.clone())),
    )
    .await;
    let resp =
        test::call_service(&svc, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(resp.status().as_u16(), 200);
    let body = String::from_utf8_lossy(&test::read_body(resp).await).to_string();
    assert!(body.contains("switchboard_job_queue_depth"), "{body}");
    let resp = test::call_service(&svc, test::TestRequest::get().uri("/health").to_request()).await;
    assert_eq!(resp.status().as_u16(), 404);

    // With a token set, the listener requires it too.
    with_token(&mut app, Some(TOKEN));
    let svc = test::init_service(
        App::new().configure(switchboard::web::metrics::listener_app(app.state.clone())),
    )
    .await;
    let resp =
        test::call_service(&svc, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(resp.status().as_u16(), 401);
}
