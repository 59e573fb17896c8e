//! An inbox's WhatsApp business profile (`whatsapp::business_profile::view`), the Dualhook
//! integration (`dualhook::integration::to_json`) and contact CSV imports
//! (`web::api::contact_csv::import_json`).

use utoipa::ToSchema;

/// `GET|PUT …/inboxes/{id}/business_profile`: the number's WhatsApp business profile, as
/// Graph describes it. A text Meta holds none of is `""`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BusinessProfile {
    pub inbox_id: i64,
    pub about: String,
    pub address: String,
    pub description: String,
    pub email: String,
    /// At most two, as Meta allows.
    pub websites: Vec<String>,
    /// Meta's category code (e.g. `RETAIL`, `PROF_SERVICES`); `""` when not set.
    #[schema(example = "RETAIL")]
    pub vertical: String,
    /// The category for people; `Not set` when none.
    pub vertical_label: String,
    /// The current picture's URL at Meta; null without one.
    #[schema(required = true)]
    pub profile_picture_url: Option<String>,
    /// Whether a new picture can be uploaded (`WHATSAPP_APP_ID` is set).
    pub picture_upload_available: bool,
}

/// `GET|PUT …/integrations/dualhook`: the secrets are write-only and only shown masked.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DualhookIntegration {
    /// Masked (`••••` and the last 4 characters); null when none is set.
    #[schema(required = true, example = "••••abcd")]
    pub api_key: Option<String>,
    pub api_key_set: bool,
    /// Masked; null when none is set.
    #[schema(required = true)]
    pub partner_secret: Option<String>,
    pub partner_secret_set: bool,
    /// Read-only: the URL to paste into Dualhook's dashboard (Platform tab).
    pub event_url: String,
}

/// A row of a contact import that was refused.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImportRowError {
    /// The line the row starts on (the header is line 1).
    pub line: i64,
    /// The column at fault, when one is.
    #[schema(required = true)]
    pub field: Option<String>,
    pub reason: String,
}

/// `POST /contacts/import` and `GET /contacts/imports/{import_id}`: a contact CSV import,
/// Chatwoot's `data_import` fields plus the row counts. Times are unix seconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactImport {
    pub id: i64,
    /// Always `contacts`.
    pub data_type: String,
    /// `pending`, `processing`, `completed` or `failed`.
    #[schema(example = "pending")]
    pub status: String,
    pub file_name: String,
    /// Bytes.
    pub file_size: i64,
    /// Data rows in the file.
    pub total_records: i64,
    /// Rows that created or updated a contact.
    pub processed_records: i64,
    /// The same as `total_records`.
    pub rows_total: i64,
    /// Rows read so far.
    pub rows_done: i64,
    /// The same as `processed_records`.
    pub imported: i64,
    pub created: i64,
    pub updated: i64,
    pub failed: i64,
    /// The refused rows (the first ones; empty in `POST`'s answer).
    pub failed_rows: Vec<ImportRowError>,
    /// True when more rows were refused than `failed_rows` lists (the CSV of
    /// `…/failed_rows` has them all).
    pub failed_rows_truncated: bool,
    /// Why the whole import failed (`status` `failed`).
    #[schema(required = true)]
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Null until it completed or failed.
    #[schema(required = true)]
    pub finished_at: Option<i64>,
}
