//! Template management (`web::api::message_templates`): the stored template Graph created or
//! changed, a deletion's count, and a header sample's upload handle.

use utoipa::ToSchema;

/// A stored message template (`templates::Template`, serialized as is): `id` is
/// Switchboard's own id (the one `PATCH|DELETE …/message_templates/{template_id}` take) and
/// `external_id` Meta's, unlike `MessageTemplate` of the inbox's template list,
/// whose `id` is Meta's. Times are RFC 3339.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StoredMessageTemplate {
    pub id: i64,
    pub account_id: i64,
    pub inbox_id: i64,
    /// Meta's template id.
    #[schema(required = true)]
    pub external_id: Option<String>,
    #[schema(example = "order_update_v1")]
    pub name: String,
    /// e.g. `en_US`.
    #[schema(example = "en_US")]
    pub language: String,
    /// `PENDING` after a create or an edit (the status webhook brings `APPROVED` or
    /// `REJECTED`), or what Meta answered.
    #[schema(example = "PENDING")]
    pub status: String,
    /// `UTILITY`, `MARKETING` or `AUTHENTICATION`.
    #[schema(required = true)]
    pub category: Option<String>,
    /// `POSITIONAL` or `NAMED`.
    pub parameter_format: String,
    /// The `components` sent to Meta (HEADER, BODY, FOOTER, BUTTONS objects), verbatim.
    pub components: Vec<serde_json::Value>,
    /// When Graph last described it.
    #[schema(format = DateTime)]
    pub synced_at: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// `DELETE …/message_templates/{template_id}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TemplatesDeleted {
    /// Stored templates removed: 1, or every language of the name for a template without a
    /// Meta id.
    pub deleted: i64,
}

/// `POST …/message_templates/header_sample`: the uploaded sample's handle.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct HeaderSample {
    /// Meta's upload handle: put it in the draft's `components.header.handle`.
    pub handle: String,
    /// `IMAGE`, `VIDEO` or `DOCUMENT`: the header format of the file's type.
    #[schema(example = "IMAGE")]
    pub format: String,
    pub file_name: String,
    /// `image/jpeg`, `image/png`, `video/mp4` or `application/pdf`.
    pub mime_type: String,
    /// Bytes.
    pub size: i64,
}
