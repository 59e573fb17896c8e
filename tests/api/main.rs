//! Every test that drives Switchboard without a browser: the domain, the HTTP API, the
//! webhook routes, the CLI and two-process checks, one module per concern (one test binary, so
//! the crate and its dependencies are linked once). Run one module with e.g.
//! `scripts/test --test api webhooks::`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../storage_support/mod.rs"]
mod storage_support;

mod admin_api;
mod api_auth_and_inboxes;
mod auto_assignment;
mod automation;
mod canned_responses;
mod cli_and_server;
mod contact_csv;
mod contact_notes;
mod contacts_api;
mod contacts_list;
mod conversation_actions;
mod conversation_filters;
mod custom_attributes;
mod dualhook;
mod gaps;
mod hostile_input;
mod hours;
mod identity_and_statuses;
mod ingest_batch;
mod ingest_concurrency;
mod interactive;
mod media_download;
mod media_ui;
mod message_actions;
mod metrics;
mod new_conversation;
mod nodes;
mod notifications;
mod notifications_center;
mod number_health;
mod openapi;
mod openapi_shapes;
mod ops13;
mod ops13_bench;
mod outbound;
mod paging;
mod parity;
mod polish10;
mod profile;
mod profile_typing;
mod realtime;
mod reports_api;
mod reports_bench;
mod reports_scenario;
mod reports_times;
mod retention;
mod search;
mod search_bench;
mod settings_pages;
mod sla;
mod storage_s3;
mod template_builder;
mod templates_store;
mod ui_pages;
mod uploads_and_outage;
mod webhook_fixtures;
mod webhook_route;
mod webhooks;
mod workspace_speed;
mod workspace_statements;
