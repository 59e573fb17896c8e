//! The Chatwoot-compatible Application API under `/api/v1`
//! (`../shared/reference/chatwoot-application-api.json`): same paths, fields and
//! `api_access_token` header; conversations are addressed by `display_id`.

pub mod agents;
pub mod attachments;
// Issue 13 (rules): automation rules and macros.
pub mod automation;
// Issue 13 (SLA policies).
pub mod business_profile;
pub mod canned_responses;
pub mod contact_bulk;
pub mod contact_csv;
pub mod contact_notes;
pub mod contacts;
pub mod conversation_actions;
pub mod conversation_create;
pub mod conversation_filters;
pub mod conversations;
pub mod custom_attributes;
/// Issue 12: the Dualhook integration settings.
pub mod dualhook;
pub mod inbox_members;
pub mod inboxes;
pub mod labels;
pub mod sla_policies;
// Issue 12 (templates): the template builder's API.
pub mod message_templates;
pub mod messages;
pub mod notification_settings;
pub mod notifications;
mod params;
pub mod profile;
pub mod search;
pub mod teams;
pub mod typing;
pub mod views;
pub mod webhooks;
// Parity (issue 11): one extractor for bare and Rails-wrapped JSON bodies.
pub mod wrapped;
// Issue 13 (hours): CSAT survey responses.
pub mod csat;
// Issue 14 (reports): Chatwoot's v2 reports API.
pub mod reports;
// Issue 15 (retention): the account endpoint.
pub mod account;

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
pub fn routes(cfg: &mut web::ServiceConfig, config: &crate::config::Config) {
    cfg.service(
        web::scope("/api/v1")
            // The agent UI calls the API with its session cookie (see `web::auth`).
            .wrap(crate::web::session::middleware(config))
            .route("/profile", web::get().to(profile::show))
            .route(
                "/profile",
                web::put()
                    .guard(guard::fn_guard(is_multipart))
                    .to(profile::update_multipart),
            )
            .route("/profile", web::put().to(profile::update_json))
            .route("/profile/avatar", web::delete().to(profile::destroy_avatar))
            .route(
                "/profile/availability",
                web::post().to(profile::availability),
            )
            .service(
                web::scope("/accounts/{account_id}")
                    .route("/events", web::get().to(crate::web::realtime::stream))
                    .route("/inboxes", web::get().to(inboxes::index))
                    // Issue 13 (hours): CSAT survey responses.
                    .route("/csat_survey_responses", web::get().to(csat::index))
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
                    // Issue 12 (templates): create, edit and delete message templates.
                    .route(
                        "/inboxes/{inbox_id}/message_templates",
                        web::post().to(message_templates::create),
                    )
                    .route(
                        "/inboxes/{inbox_id}/message_templates/header_sample",
                        web::post().to(message_templates::upload_header_sample),
                    )
                    .route(
                        "/inboxes/{inbox_id}/message_templates/{template_id}",
                        web::patch().to(message_templates::update),
                    )
                    .route(
                        "/inboxes/{inbox_id}/message_templates/{template_id}",
                        web::delete().to(message_templates::destroy),
                    )
                    // Issue 12 (profile-typing): the business profile and the typing
                    // indicator.
                    .route(
                        "/inboxes/{id}/business_profile",
                        web::get().to(business_profile::show),
                    )
                    .route(
                        "/inboxes/{id}/business_profile",
                        web::put()
                            .guard(guard::fn_guard(is_multipart))
                            .to(business_profile::update_multipart),
                    )
                    .route(
                        "/inboxes/{id}/business_profile",
                        web::put().to(business_profile::update_json),
                    )
                    // Issue 12 (h12): the profile picture, served from Switchboard.
                    .route(
                        "/inboxes/{id}/business_profile/picture",
                        web::get().to(business_profile::picture),
                    )
                    .route(
                        "/conversations/{display_id}/toggle_typing_status",
                        web::post().to(typing::toggle),
                    )
                    .route(
                        "/conversations/{display_id}/typing_status",
                        web::post().to(typing::toggle),
                    )
                    .route("/conversations", web::get().to(conversations::index))
                    // Issue 11 (newconv): starting a conversation, outbound first.
                    .route(
                        "/conversations",
                        web::post().to(conversation_create::create),
                    )
                    .route("/conversations/meta", web::get().to(conversations::meta))
                    .route(
                        "/conversations/filter",
                        web::post().to(conversation_filters::filter),
                    )
                    .route(
                        "/custom_filters",
                        web::get().to(conversation_filters::custom_filters_index),
                    )
                    .route(
                        "/custom_filters",
                        web::post().to(conversation_filters::custom_filters_create),
                    )
                    .route(
                        "/custom_filters/{id}",
                        web::get().to(conversation_filters::custom_filters_show),
                    )
                    .route(
                        "/custom_filters/{id}",
                        web::patch().to(conversation_filters::custom_filters_update),
                    )
                    .route(
                        "/custom_filters/{id}",
                        web::delete().to(conversation_filters::custom_filters_destroy),
                    )
                    .route("/bulk_actions", web::post().to(conversation_filters::bulk))
                    .route(
                        "/conversations/{display_id}",
                        web::get().to(conversations::show),
                    )
                    // Parity (issue 11): PATCH a conversation, DELETE a message.
                    .route(
                        "/conversations/{display_id}",
                        web::patch().to(conversation_actions::update),
                    )
                    .route(
                        "/conversations/{display_id}/messages/{message_id}",
                        web::delete().to(messages::destroy),
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
                        "/conversations/{display_id}/messages/{message_id}/retry",
                        web::post().to(messages::retry),
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
                        "/conversations/{display_id}/mute",
                        web::post().to(conversation_actions::mute),
                    )
                    .route(
                        "/conversations/{display_id}/unmute",
                        web::post().to(conversation_actions::unmute),
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
                    .route(
                        "/attachments/{id}/retry_download",
                        web::post().to(attachments::retry_download),
                    )
                    .route("/contacts", web::get().to(contacts::index))
                    .route("/contacts/search", web::get().to(contacts::search))
                    // Issue 11, csv: contact CSV import and export (before `/contacts/{id}`).
                    .route("/contacts/import", web::post().to(contact_csv::import))
                    .route(
                        "/contacts/imports/{import_id}",
                        web::get().to(contact_csv::show_import),
                    )
                    .route(
                        "/contacts/imports/{import_id}/failed_rows",
                        web::get().to(contact_csv::failed_rows),
                    )
                    .route("/contacts/export", web::get().to(contact_csv::export))
                    .route("/contacts/{id}", web::get().to(contacts::show))
                    // Issue 11 (contacts-api): contact writes, labels, conversations,
                    // filter and merge.
                    .route("/contacts", web::post().to(contacts::create))
                    .route("/contacts/filter", web::post().to(contacts::filter))
                    .route("/contacts/{id}", web::patch().to(contacts::update))
                    .route("/contacts/{id}", web::put().to(contacts::update))
                    .route("/contacts/{id}", web::delete().to(contacts::destroy))
                    .route("/contacts/{id}/labels", web::get().to(contacts::labels))
                    .route(
                        "/contacts/{id}/labels",
                        web::post().to(contacts::set_labels),
                    )
                    .route(
                        "/contacts/{id}/conversations",
                        web::get().to(contacts::conversations),
                    )
                    .route("/actions/contact_merge", web::post().to(contacts::merge))
                    .route("/contacts/{id}/notes", web::get().to(contact_notes::index))
                    .route(
                        "/contacts/{id}/notes",
                        web::post().to(contact_notes::create),
                    )
                    .route(
                        "/contacts/{id}/notes/{note_id}",
                        web::patch().to(contact_notes::update),
                    )
                    .route(
                        "/contacts/{id}/notes/{note_id}",
                        web::delete().to(contact_notes::destroy),
                    )
                    .route("/agents", web::get().to(agents::index))
                    .route("/agents", web::post().to(agents::create))
                    .route("/agents/{id}", web::patch().to(agents::update))
                    .route("/agents/{id}", web::delete().to(agents::destroy))
                    .route(
                        "/inbox_members/{inbox_id}",
                        web::get().to(inbox_members::show),
                    )
                    .route("/inbox_members", web::post().to(inbox_members::create))
                    .route("/inbox_members", web::patch().to(inbox_members::update))
                    .route("/inbox_members", web::delete().to(inbox_members::destroy))
                    .route("/teams", web::get().to(teams::index))
                    .route("/teams", web::post().to(teams::create))
                    .route("/teams/{team_id}", web::get().to(teams::show))
                    .route("/teams/{team_id}", web::patch().to(teams::update))
                    .route("/teams/{team_id}", web::delete().to(teams::destroy))
                    .route("/labels", web::get().to(labels::index))
                    .route("/labels", web::post().to(labels::create))
                    .route("/labels/{id}", web::get().to(labels::show))
                    .route("/labels/{id}", web::patch().to(labels::update))
                    .route("/labels/{id}", web::delete().to(labels::destroy))
                    .route("/search", web::get().to(search::index))
                    .route("/canned_responses", web::get().to(canned_responses::index))
                    .route(
                        "/canned_responses",
                        web::post()
                            .guard(guard::fn_guard(is_multipart))
                            .to(canned_responses::create_multipart),
                    )
                    .route(
                        "/canned_responses",
                        web::post().to(canned_responses::create_json),
                    )
                    .route(
                        "/canned_responses/{id}",
                        web::patch()
                            .guard(guard::fn_guard(is_multipart))
                            .to(canned_responses::update_multipart),
                    )
                    .route(
                        "/canned_responses/{id}",
                        web::patch().to(canned_responses::update_json),
                    )
                    .route(
                        "/canned_responses/{id}",
                        web::delete().to(canned_responses::destroy),
                    )
                    .route(
                        "/canned_responses/{id}/attachments/{attachment_id}",
                        web::get().to(canned_responses::attachment_file),
                    )
                    .route(
                        "/notification_settings",
                        web::get().to(notification_settings::show),
                    )
                    .route(
                        "/notification_settings",
                        web::patch().to(notification_settings::update),
                    )
                    // Issue 11 (custom-attrs): custom attribute definitions and values.
                    .route(
                        "/custom_attribute_definitions",
                        web::get().to(custom_attributes::index),
                    )
                    .route(
                        "/custom_attribute_definitions",
                        web::post().to(custom_attributes::create),
                    )
                    .route(
                        "/custom_attribute_definitions/{id}",
                        web::get().to(custom_attributes::show),
                    )
                    .route(
                        "/custom_attribute_definitions/{id}",
                        web::patch().to(custom_attributes::update),
                    )
                    .route(
                        "/custom_attribute_definitions/{id}",
                        web::delete().to(custom_attributes::destroy),
                    )
                    .route(
                        "/conversations/{display_id}/custom_attributes",
                        web::post().to(custom_attributes::set_for_conversation),
                    )
                    .route(
                        "/contacts/{id}/custom_attributes",
                        web::post().to(custom_attributes::set_for_contact),
                    )
                    // Issue 10: the notification centre, participants, team members.
                    .route("/notifications", web::get().to(notifications::index))
                    .route(
                        "/notifications/unread_count",
                        web::get().to(notifications::unread_count),
                    )
                    .route(
                        "/notifications/read_all",
                        web::post().to(notifications::read_all),
                    )
                    .route(
                        "/notifications/{id}",
                        web::patch().to(notifications::update),
                    )
                    .route(
                        "/notifications/{id}/unread",
                        web::post().to(notifications::unread),
                    )
                    .route(
                        "/notifications/{id}",
                        web::delete().to(notifications::destroy),
                    )
                    .route(
                        "/conversations/{display_id}/participants",
                        web::get().to(notifications::participants),
                    )
                    .route(
                        "/conversations/{display_id}/participants",
                        web::post().to(notifications::add_participants),
                    )
                    .route(
                        "/conversations/{display_id}/participants",
                        web::patch().to(notifications::replace_participants),
                    )
                    .route(
                        "/conversations/{display_id}/participants",
                        web::delete().to(notifications::remove_participants),
                    )
                    .route(
                        "/assignable_agents",
                        web::get().to(notifications::assignable_agents),
                    )
                    .route(
                        "/teams/{team_id}/team_members",
                        web::get().to(notifications::team_members),
                    )
                    .route(
                        "/teams/{team_id}/team_members",
                        web::post().to(notifications::add_team_members),
                    )
                    .route(
                        "/teams/{team_id}/team_members",
                        web::patch().to(notifications::replace_team_members),
                    )
                    .route(
                        "/teams/{team_id}/team_members",
                        web::delete().to(notifications::remove_team_members),
                    )
                    // Issue 12 (dualhook): the account's Dualhook integration.
                    .route("/integrations/dualhook", web::get().to(dualhook::show))
                    .route("/integrations/dualhook", web::put().to(dualhook::update))
                    .route("/webhooks", web::get().to(webhooks::index))
                    .route("/webhooks", web::post().to(webhooks::create))
                    .route("/webhooks/{id}", web::patch().to(webhooks::update))
                    .route("/webhooks/{id}", web::delete().to(webhooks::destroy))
                    .route(
                        "/webhooks/{id}/deliveries",
                        web::get().to(webhooks::deliveries),
                    )
                    // Issue 13 (rules): automation rules and macros.
                    .configure(automation::routes)
                    // Issue 13 (SLA policies).
                    .configure(sla_policies::routes)
                    // Issue 15 (retention): the account and its data retention.
                    .route("", web::get().to(account::show))
                    .route("", web::patch().to(account::update)),
            ),
    );
    reports::routes(cfg, config);
}
