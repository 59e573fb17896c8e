//! Everything Meta-specific: webhook payload types, signatures, Graph API, ingest and the
//! 24-hour window.

pub mod content;
pub mod graph;
pub mod ingest;
pub mod interactive;
pub mod management;
pub mod outbound;
pub mod payload;
pub mod receive;
pub mod resumable_upload;
pub mod setup;
pub mod signature;
pub mod template_management;
pub mod window;
// Issue 12 (profile-typing): the business profile.
pub mod business_profile;

// Issue 12 (h12): the business profile picture, fetched for the settings page.
pub mod profile_picture;
