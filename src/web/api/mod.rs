//! The Chatwoot-compatible Application API under `/api/v1`
//! (`../shared/reference/chatwoot-application-api.json`): same paths, fields and
//! `api_access_token` header; conversations are addressed by `display_id`.

pub mod contacts;
pub mod conversation_actions;
pub mod conversations;
pub mod inboxes;
pub mod messages;
pub mod profile;
pub mod views;

use actix_web::{guard, web};

/// True for `multipart/form-data` requests (Chatwoot's attachment upload form).
fn is_multipart(ctx: &guard::GuardContext) -> bool {
    ctx.head()
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Registers `/api/v1/…`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route("/profile", web::get().to(profile::show))
            .service(
                web::scope("/accounts/{account_id}")
                    .route("/events", web::get().to(crate::web::realtime::stream))
                    .route("/inboxes", web::get().to(inboxes::index))
                    .route("/inboxes", web::post().to(inboxes::create))
                    .route("/inboxes/{id}", web::get().to(inboxes::show))
                    .route("/inboxes/{id}", web::patch().to(inboxes::update))
                    .route(
                        "/inboxes/{id}/sync_templates",
                        web::post().to(inboxes::sync_templates),
                    )
                    .route(
                        "/inboxes/{id}/register_webhook",
                        web::post().to(inboxes::register_webhook),
                    )
                    .route("/conversations", web::get().to(conversations::index))
                    .route("/conversations/meta", web::get().to(conversations::meta))
                    .route(
                        "/conversations/{display_id}",
                        web::get().to(conversations::show),
                    )
                    .route(
                        "/conversations/{display_id}/messages",
                        web::get().to(conversations::messages),
                    )
                    .route(
                        "/conversations/{display_id}/messages",
                        web::post()
                            .guard(guard::fn_guard(is_multipart))
                            .to(messages::create_multipart),
                    )
                    .route(
                        "/conversations/{display_id}/messages",
                        web::post().to(messages::create_json),
                    )
                    .route(
                        "/conversations/{display_id}/update_last_seen",
                        web::post().to(messages::update_last_seen),
                    )
                    .route(
                        "/conversations/{display_id}/toggle_status",
                        web::post().to(conversation_actions::toggle_status),
                    )
                    .route(
                        "/conversations/{display_id}/toggle_priority",
                        web::post().to(conversation_actions::toggle_priority),
                    )
                    .route(
                        "/conversations/{display_id}/assignments",
                        web::post().to(conversation_actions::assign),
                    )
                    .route(
                        "/conversations/{display_id}/labels",
                        web::get().to(conversation_actions::labels),
                    )
                    .route(
                        "/conversations/{display_id}/labels",
                        web::post().to(conversation_actions::set_labels),
                    )
                    .route("/contacts", web::get().to(contacts::index))
                    .route("/contacts/search", web::get().to(contacts::search))
                    .route("/contacts/{id}", web::get().to(contacts::show)),
            ),
    );
}
