//! The OpenAPI 3.1 document of Switchboard's own HTTP API, generated from the code with
//! `utoipa`: every handler of `/api/v1`, the v2 reports, the webhook routes, health, metrics
//! and media carries a `#[utoipa::path]`; handlers that serve more than one path get a stub in
//! [`extra_paths`]. Served at `GET /api/v1/openapi.json` without authentication.
//!
//! `tests/api/openapi.rs` compares the document's paths and methods with the routes registered
//! in `src/web/mod.rs` and `src/web/api/` (a route without documentation fails it), and runs
//! schemathesis against a live server.

mod extra_paths;
pub mod schemas;

use actix_web::HttpResponse;
use std::sync::OnceLock;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{Modify, OpenApi};

pub use schemas::{ErrorBody, JsonObject, JsonValue, MultipartForm};

/// The security scheme's name in the document: Chatwoot's `api_access_token` header.
pub const SECURITY_SCHEME: &str = "api_access_token";

/// Adds the `api_access_token` header scheme (a user's access token, as in Chatwoot).
struct AccessToken;

impl Modify for AccessToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut key = ApiKeyValue::new(SECURITY_SCHEME);
        key.description = Some(
            "A user's access token (profile settings, or `create-admin`), as Chatwoot's \
             `api_access_token` header. The agent UI sends its session cookie instead."
                .into(),
        );
        components
            .add_security_scheme(SECURITY_SCHEME, SecurityScheme::ApiKey(ApiKey::Header(key)));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "The Chatwoot-compatible Application API (`/api/v1`, reports under `/api/v2`) \
                       and the routes that receive WhatsApp Cloud API and Dualhook webhooks. \
                       Conversations are addressed by their `display_id`. Errors are JSON: \
                       `{\"error\": …, \"message\": …}`, with `field` naming the offending input on \
                       400/422."
    ),
    modifiers(&AccessToken),
    security(("api_access_token" = [])),
    paths(
        document,
        crate::web::health::health,
        crate::web::health::ready,
        crate::web::metrics::scrape,
        crate::web::webhooks::verify_app,
        crate::web::webhooks::receive_app,
        crate::web::webhooks::verify,
        crate::web::webhooks::receive,
        crate::web::dualhook::lifecycle,
        crate::web::dualhook::connection_verify,
        crate::web::dualhook::connection_receive,
        crate::web::media::attachment_file,
        crate::web::media::avatar_file,
        crate::web::api::account::show,
        crate::web::api::account::update,
        crate::web::api::profile::show,
        crate::web::api::profile::update_json,
        crate::web::api::profile::destroy_avatar,
        crate::web::api::profile::availability,
        crate::web::realtime::stream,
        crate::web::api::inboxes::index,
        crate::web::api::csat::index,
        crate::web::api::inboxes::create,
        crate::web::api::inboxes::show,
        crate::web::api::inboxes::update,
        crate::web::api::inboxes::sync_templates,
        crate::web::api::inboxes::register_webhook,
        crate::web::api::message_templates::create,
        crate::web::api::message_templates::upload_header_sample,
        crate::web::api::message_templates::update,
        crate::web::api::message_templates::destroy,
        crate::web::api::business_profile::show,
        crate::web::api::business_profile::update_json,
        crate::web::api::business_profile::picture,
        crate::web::api::typing::toggle,
        crate::web::api::conversations::index,
        crate::web::api::conversation_create::create,
        crate::web::api::conversations::meta,
        crate::web::api::conversation_filters::filter,
        crate::web::api::conversation_filters::custom_filters_index,
        crate::web::api::conversation_filters::custom_filters_create,
        crate::web::api::conversation_filters::custom_filters_show,
        crate::web::api::conversation_filters::custom_filters_update,
        crate::web::api::conversation_filters::custom_filters_destroy,
        crate::web::api::conversation_filters::bulk,
        crate::web::api::conversations::show,
        crate::web::api::conversation_actions::update,
        crate::web::api::messages::destroy,
        crate::web::api::conversations::messages,
        crate::web::api::messages::create_json,
        crate::web::api::messages::retry,
        crate::web::api::messages::update_last_seen,
        crate::web::api::conversation_actions::toggle_status,
        crate::web::api::conversation_actions::mute,
        crate::web::api::conversation_actions::unmute,
        crate::web::api::conversation_actions::toggle_priority,
        crate::web::api::conversation_actions::assign,
        crate::web::api::conversation_actions::labels,
        crate::web::api::conversation_actions::set_labels,
        crate::web::api::attachments::retry_download,
        crate::web::api::contacts::index,
        crate::web::api::contacts::search,
        crate::web::api::contact_csv::import,
        crate::web::api::contact_csv::show_import,
        crate::web::api::contact_csv::failed_rows,
        crate::web::api::contact_csv::export,
        crate::web::api::contacts::show,
        crate::web::api::contacts::create,
        crate::web::api::contacts::filter,
        crate::web::api::contacts::update,
        crate::web::api::contacts::destroy,
        crate::web::api::contacts::labels,
        crate::web::api::contacts::set_labels,
        crate::web::api::contacts::conversations,
        crate::web::api::contacts::merge,
        crate::web::api::contact_notes::index,
        crate::web::api::contact_notes::create,
        crate::web::api::contact_notes::update,
        crate::web::api::contact_notes::destroy,
        crate::web::api::agents::index,
        crate::web::api::agents::create,
        crate::web::api::agents::update,
        crate::web::api::agents::destroy,
        crate::web::api::inbox_members::show,
        crate::web::api::inbox_members::create,
        crate::web::api::inbox_members::update,
        crate::web::api::inbox_members::destroy,
        crate::web::api::teams::index,
        crate::web::api::teams::create,
        crate::web::api::teams::show,
        crate::web::api::teams::update,
        crate::web::api::teams::destroy,
        crate::web::api::labels::index,
        crate::web::api::labels::create,
        crate::web::api::labels::show,
        crate::web::api::labels::update,
        crate::web::api::labels::destroy,
        crate::web::api::search::index,
        crate::web::api::canned_responses::index,
        crate::web::api::canned_responses::create_json,
        crate::web::api::canned_responses::update_json,
        crate::web::api::canned_responses::destroy,
        crate::web::api::canned_responses::attachment_file,
        crate::web::api::notification_settings::show,
        crate::web::api::notification_settings::update,
        crate::web::api::custom_attributes::index,
        crate::web::api::custom_attributes::create,
        crate::web::api::custom_attributes::show,
        crate::web::api::custom_attributes::update,
        crate::web::api::custom_attributes::destroy,
        crate::web::api::custom_attributes::set_for_conversation,
        crate::web::api::custom_attributes::set_for_contact,
        crate::web::api::notifications::index,
        crate::web::api::notifications::unread_count,
        crate::web::api::notifications::read_all,
        crate::web::api::notifications::update,
        crate::web::api::notifications::unread,
        crate::web::api::notifications::destroy,
        crate::web::api::notifications::participants,
        crate::web::api::notifications::add_participants,
        crate::web::api::notifications::replace_participants,
        crate::web::api::notifications::remove_participants,
        crate::web::api::notifications::assignable_agents,
        crate::web::api::notifications::team_members,
        crate::web::api::notifications::add_team_members,
        crate::web::api::notifications::replace_team_members,
        crate::web::api::notifications::remove_team_members,
        crate::web::api::dualhook::show,
        crate::web::api::dualhook::update,
        crate::web::api::webhooks::index,
        crate::web::api::webhooks::create,
        crate::web::api::webhooks::update,
        crate::web::api::webhooks::destroy,
        crate::web::api::webhooks::deliveries,
        crate::web::api::reports::timeseries,
        crate::web::api::reports::summary,
        crate::web::api::reports::conversations,
        crate::web::api::reports::conversation_rows,
        crate::web::api::reports::distribution,
        crate::web::api::reports::outgoing_messages,
        crate::web::api::reports::times,
        crate::web::api::reports::csat,
        crate::web::api::reports::whatsapp,
        crate::web::api::reports::sla,
        crate::web::api::reports::overview,
        crate::web::api::reports::export,
        crate::web::api::reports::breakdown_csv,
        crate::web::api::reports::summary_report,
        crate::web::api::automation::runs,
        crate::web::api::automation::macro_execute,
        crate::web::api::sla_policies::index,
        crate::web::api::sla_policies::create,
        crate::web::api::sla_policies::show,
        crate::web::api::sla_policies::update,
        crate::web::api::sla_policies::destroy,
        extra_paths::typing_toggle_alias,
        extra_paths::contacts_update_put,
        extra_paths::automation_index_rules,
        extra_paths::automation_create_rules,
        extra_paths::automation_show_rules,
        extra_paths::automation_update_rules,
        extra_paths::automation_update_rules_put,
        extra_paths::automation_destroy_rules,
        extra_paths::automation_index_macros,
        extra_paths::automation_create_macros,
        extra_paths::automation_show_macros,
        extra_paths::automation_update_macros,
        extra_paths::automation_update_macros_put,
        extra_paths::automation_destroy_macros,
        extra_paths::sla_policies_update_put,
    )
)]
struct ApiDoc;

/// The document, built once.
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(ApiDoc::openapi)
}

/// This document: the OpenAPI 3.1 description of every route above.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "openapi",
    operation_id = "openapi_document",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", body = JsonObject))
)]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(openapi())
}

/// A schema reference usable in hand-written schemas.
pub fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}
