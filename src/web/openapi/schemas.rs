//! The schemas the document names: the error body every handler answers with
//! (`crate::error::AppError`), and the generic JSON shapes of operations whose bodies are read
//! field by field (`web::api::wrapped`, `web::api::params`) rather than into one struct.

use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// The JSON body of every error (`AppError::error_response`): `error` and `message` hold the
/// same text; on 400/422 `field` names the offending input and `attributes` lists it.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub error: String,
    /// The same text (Chatwoot's clients read `message`).
    pub message: String,
    /// The offending input (a JSON key, a query parameter, `path` or `body`), on 400/422.
    pub field: Option<String>,
    /// `[field]`, as Rails' validation errors list attributes.
    pub attributes: Option<Vec<String>>,
}

/// Any JSON object (`{…}`): bodies read field by field, described in the operation's text.
pub struct JsonObject;

impl PartialSchema for JsonObject {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some("A JSON object; the operation's text names its fields."))
            .into()
    }
}

impl ToSchema for JsonObject {}

/// Any JSON value: a response whose shape the operation's text describes.
pub struct JsonValue;

impl PartialSchema for JsonValue {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::AnyValue)
            .description(Some("Chatwoot's JSON shape for this resource."))
            .into()
    }
}

impl ToSchema for JsonValue {}

/// A `multipart/form-data` form: the JSON body's fields as parts, plus files
/// (`attachments[]`, `avatar`, `file`).
pub struct MultipartForm;

impl PartialSchema for MultipartForm {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some("Form fields as parts; files as binary parts."))
            .into()
    }
}

impl ToSchema for MultipartForm {}
