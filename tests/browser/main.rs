//! Every test that drives the agent UI in headless Chromium, signed in with a session cookie,
//! one module per screen or story (one test binary; nextest runs at most two at once, see
//! `.config/nextest.toml`). Run one module with e.g. `scripts/test --test browser browser_sla::`.

#[path = "../common/browser.rs"]
mod browser_kit;
#[path = "../common/mod.rs"]
mod common;
#[path = "../storage_support/mod.rs"]
mod storage_support;

mod browser;
mod browser_auto_assignment;
mod browser_automation;
mod browser_contact_csv;
mod browser_contacts;
mod browser_contacts_flow;
mod browser_custom_attributes;
mod browser_dualhook;
mod browser_gaps;
mod browser_hours;
mod browser_ingest_backlog;
mod browser_interactive;
mod browser_interactive_media_header;
mod browser_macros;
mod browser_new_conversation;
mod browser_number_health;
mod browser_parity;
mod browser_polish;
mod browser_profile_picture;
mod browser_profile_typing;
mod browser_reports;
mod browser_retention;
mod browser_sla;
mod browser_templates;
mod browser_workspace_alerts;
mod storage_browser;
