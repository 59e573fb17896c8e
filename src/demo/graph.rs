//! A local stand-in for the Graph API (`WHATSAPP_CLOUD_BASE_URL=http://127.0.0.1:3191`), so
//! inboxes can be created, templates synced and replies sent without Meta.
//!
//! Routes (any `{version}`, any access token):
//! - `POST /{version}/{phone_number_id}/messages` → `{"messaging_product":"whatsapp",
//!   "messages":[{"id":"wamid.…"}]}` (a fresh wamid per call);
//! - `GET /{version}/{waba_id}/message_templates` → [`demo_templates`], one page;
//! - `POST|GET /{version}/{waba_id}/subscribed_apps` → `{"success":true}` / `{"data":[]}`;
//! - `POST /{version}/{phone_number_id}/media` → `{"id":"<media id>"}`;
//! - `GET /{version}/{phone_number_id}` → the number's health ([`demo_number`]: connected,
//!   green quality, able to send), so the inbox page shows a healthy number;
//! - `GET|POST /{version}/{phone_number_id}/whatsapp_business_profile` → a demo profile /
//!   `{"success":true}`.
//!
//! Every answer waits `latency` first (the send benchmark uses 20 ms).

use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the stand-in saw: the arrival time (milliseconds since the Unix epoch) of every
/// message send, for the send benchmark's busiest-second figure.
#[derive(Default)]
pub struct Seen {
    /// Arrival times of `POST …/messages`, in milliseconds since the epoch.
    pub sends_ms: Mutex<Vec<u64>>,
    counter: AtomicU64,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

/// The demo's approved templates, in Graph's `message_templates` shape: a plain greeting, a
/// positional utility template with a URL button, and a named marketing template, so the
/// composer's template picker can be tried with and without variables.
pub fn demo_templates() -> Value {
    json!({
        "data": [
            {
                "name": "hello_world",
                "parameter_format": "POSITIONAL",
                "components": [
                    {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
                    {"type": "BODY", "text": "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API."},
                    {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"}
                ],
                "language": "en_US",
                "status": "APPROVED",
                "category": "UTILITY",
                "id": "900000000000001"
            },
            {
                "name": "order_update",
                "parameter_format": "POSITIONAL",
                "components": [
                    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}",
                     "example": {"header_text": ["#4521"]}},
                    {"type": "BODY", "text": "Hi {{1}}, your order is {{2}}. Reply here if you need anything.",
                     "example": {"body_text": [["Sheena", "on its way"]]}},
                    {"type": "BUTTONS", "buttons": [
                        {"type": "QUICK_REPLY", "text": "Talk to an agent"},
                        {"type": "URL", "text": "Track order", "url": "https://shop.example.com/track/{{1}}",
                         "example": ["https://shop.example.com/track/4521"]}
                    ]}
                ],
                "language": "en_US",
                "status": "APPROVED",
                "category": "UTILITY",
                "id": "900000000000002"
            },
            {
                "name": "winter_sale",
                "parameter_format": "NAMED",
                "components": [
                    {"type": "BODY", "text": "Hi {{first_name}}, our winter sale starts {{day}}: 20% off everything in store.",
                     "example": {"body_text_named_params": [
                         {"param_name": "first_name", "example": "Sheena"},
                         {"param_name": "day", "example": "tomorrow"}
                     ]}}
                ],
                "language": "en",
                "status": "APPROVED",
                "category": "MARKETING",
                "id": "900000000000003"
            }
        ],
        "paging": {}
    })
}

/// The demo number's health in Graph's `GET /{phone_number_id}` shape (the fields of
/// `whatsapp::graph::HEALTH_FIELDS`), echoing the asked `id`.
pub fn demo_number(id: &str) -> Value {
    json!({
        "id": id,
        "verified_name": "Switchboard Demo",
        "display_phone_number": "+1 555-123-4567",
        "status": "CONNECTED",
        "quality_rating": "GREEN",
        "name_status": "APPROVED",
        "code_verification_status": "VERIFIED",
        "platform_type": "CLOUD_API",
        "throughput": {"level": "STANDARD"},
        "whatsapp_business_manager_messaging_limit": "TIER_1K",
        "health_status": {
            "can_send_message": "AVAILABLE",
            "entities": [{"entity_type": "PHONE_NUMBER", "id": id, "can_send_message": "AVAILABLE"}]
        }
    })
}

/// Serves the stand-in on `listen` (`host:port`) until the process ends. Calls `ready` once
/// the socket is bound. Errors: the address cannot be bound.
pub async fn serve(
    listen: &str,
    latency: Duration,
    seen: Arc<Seen>,
    ready: impl FnOnce(),
) -> Result<()> {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let server = HttpServer::new(move || {
        let seen = seen.clone();
        App::new()
            .app_data(web::PayloadConfig::new(128 * 1024 * 1024))
            .route(
                "/{version}/{id}/messages",
                web::post().to(move || {
                    let seen = seen.clone();
                    async move {
                        seen.sends_ms.lock().expect("lock").push(now_ms());
                        tokio::time::sleep(latency).await;
                        let n = seen.counter.fetch_add(1, Ordering::Relaxed);
                        HttpResponse::Ok().json(json!({
                            "messaging_product": "whatsapp",
                            "messages": [{"id": format!("wamid.STANDIN{}_{n}", now_ms())}],
                        }))
                    }
                }),
            )
            .route(
                "/{version}/{id}/message_templates",
                web::get().to(move || async move {
                    tokio::time::sleep(latency).await;
                    HttpResponse::Ok().json(demo_templates())
                }),
            )
            .route(
                "/{version}/{id}/subscribed_apps",
                web::post().to(move || async move {
                    tokio::time::sleep(latency).await;
                    HttpResponse::Ok().json(json!({"success": true}))
                }),
            )
            .route(
                "/{version}/{id}/subscribed_apps",
                web::get().to(move || async move {
                    tokio::time::sleep(latency).await;
                    HttpResponse::Ok().json(json!({"data": []}))
                }),
            )
            .route(
                "/{version}/{id}/media",
                web::post().to(move || async move {
                    tokio::time::sleep(latency).await;
                    HttpResponse::Ok().json(json!({"id": format!("{}", 800_000_000_000_000u64 + now_ms() % 1_000_000_000)}))
                }),
            )
            .route(
                "/{version}/{id}/whatsapp_business_profile",
                web::get().to(move || async move {
                    tokio::time::sleep(latency).await;
                    HttpResponse::Ok().json(json!({"data": [{
                        "about": "Try Switchboard without Meta",
                        "description": "A demo number served by the local Graph stand-in.",
                        "vertical": "OTHER",
                        "messaging_product": "whatsapp"
                    }]}))
                }),
            )
            .route(
                "/{version}/{id}/whatsapp_business_profile",
                web::post().to(move || async move {
                    tokio::time::sleep(latency).await;
                    HttpResponse::Ok().json(json!({"success": true}))
                }),
            )
            .route(
                "/{version}/{id}",
                web::get().to(move |path: web::Path<(String, String)>| async move {
                    tokio::time::sleep(latency).await;
                    HttpResponse::Ok().json(demo_number(&path.1))
                }),
            )
    })
    .workers(2)
    .bind(listen)
    .with_context(|| format!("binding the Graph stand-in to {listen}"))?
    .run();
    ready();
    server.await?;
    Ok(())
}
