//! actix handlers only: the Meta webhook, the Chatwoot-compatible `/api/v1`, health, media
//! files, the realtime event stream and `/metrics`. Logic lives in `domain` and `whatsapp`.

pub mod api;
/// Parity (issue 11): Rails-style trailing and doubled slashes under `/api/`.
pub mod api_path;
pub mod auth;
/// Issue 12: Dualhook's lifecycle and connection webhook routes.
pub mod dualhook;
pub mod health;
pub mod input_guard;
pub mod media;
pub mod metrics;
/// Issue 15 (operations): the OpenAPI document of this API.
pub mod openapi;
pub mod realtime;
pub mod session;
pub mod ui;
pub mod webhooks;

use actix_web::web;

/// Every route of the server.
pub fn routes(cfg: &mut web::ServiceConfig, config: &crate::config::Config) {
    cfg.route("/health", web::get().to(health::health))
        // Issue 15 (limits): readiness (database, migrations, not draining).
        .route("/ready", web::get().to(health::ready))
        .route("/metrics", web::get().to(metrics::scrape))
        // Issue 15 (openapi): before the `/api/v1` scope, which would answer 404 for it.
        .route("/api/v1/openapi.json", web::get().to(openapi::document))
        .service(
            // The app-level callback (issue 12): management fields, signed with the app secret.
            web::resource("/webhooks/whatsapp")
                .route(web::get().to(webhooks::verify_app))
                .route(web::post().to(webhooks::receive_app)),
        )
        .service(
            web::resource("/webhooks/whatsapp/{phone_number}")
                .route(web::get().to(webhooks::verify))
                .route(web::post().to(webhooks::receive)),
        )
        // Issue 12 (dualhook): lifecycle events and the WABA-scoped connection URL.
        .route(
            "/webhooks/dualhook/{account_id}",
            web::post().to(dualhook::lifecycle),
        )
        .service(
            web::resource("/webhooks/whatsapp/c/{connection_key}")
                .route(web::get().to(dualhook::connection_verify))
                .route(web::post().to(dualhook::connection_receive)),
        )
        .service(
            // The agent UI's `<img>`/`<audio>`/`<video>` carry the session cookie, not a token.
            web::scope("/media")
                .wrap(session::middleware(config))
                .route(
                    "/attachments/{id}/{file_name}",
                    web::get().to(media::attachment_file),
                )
                .route(
                    "/avatars/{user_id}/{file}",
                    web::get().to(media::avatar_file),
                ),
        )
        .configure(|c| api::routes(c, config))
        .configure(|c| ui::routes(c, config))
        .default_service(web::to(|| async {
            Err::<actix_web::HttpResponse, _>(crate::error::AppError::NotFound(
                "no such route".into(),
            ))
        }));
}
