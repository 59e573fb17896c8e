//! Trying Switchboard without Meta: a Graph API stand-in ([`graph`]) that accepts any access
//! token, lists a few approved demo templates and answers every send with a fresh wamid, and
//! fresh customer deliveries to post to a local inbox ([`message`]). Used by
//! `switchboard demo-graph`, `switchboard demo-message`, `scripts/run --demo` and the
//! `sendbench` benchmark. Nothing here runs in a production `serve`.

pub mod graph;
pub mod message;
