//! Everything Meta-specific: webhook payload types, signatures, Graph API, ingest and the
//! 24-hour window.

pub mod content;
pub mod graph;
pub mod ingest;
pub mod outbound;
pub mod payload;
pub mod receive;
pub mod setup;
pub mod signature;
pub mod window;
// Issue 12 (profile-typing): the business profile and the Resumable Upload API.
pub mod business_profile;
pub mod resumable_upload;
