//! Switchboard: a self-hostable shared inbox for the WhatsApp Business Cloud API.
//!
//! Layout (see DESIGN.md): `config` (environment), `db` (pool, schema, migrations),
//! `whatsapp` (everything Meta-specific), `domain` (inbox rules without HTTP), `jobs`
//! (Postgres queue and workers), `web` (actix handlers), `app` (wiring).

pub mod app;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod domain;
/// Issue 12: everything Dualhook-specific.
pub mod dualhook;
pub mod error;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod net_guard;
/// Issue 15: files on the local disk or in an S3 bucket.
pub mod storage;
pub mod telemetry;
pub mod web;
pub mod whatsapp;
