//! Everything Dualhook-specific (issue 12; `../shared/reference/dualhook.md`): the account's
//! Platform credentials ([`integration`]), the Platform REST client ([`client`]), the signed
//! lifecycle events and what they do ([`events`]), and "Connect WhatsApp via Dualhook" with
//! its WABA-scoped webhook URL and the state of each connected inbox ([`connect`]).
//!
//! Routes (handlers in `web`): `POST /webhooks/dualhook/{account_id}` (lifecycle events),
//! `GET|POST /webhooks/whatsapp/c/{connection_key}` (Meta's message path for a connection),
//! `GET|PUT /api/v1/accounts/{id}/integrations/dualhook` and Settings → Integrations →
//! Dualhook.

pub mod client;
pub mod connect;
pub mod events;
pub mod integration;
