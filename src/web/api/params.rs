//! Reading the JSON bodies of the administration endpoints: the helpers of
//! [`super::conversation_actions`] plus booleans and id lists. Every error is a 422 naming
//! the field (400 when the body is not a JSON object).

pub(crate) use super::conversation_actions::{body_object, id_field, string_field};
use crate::error::{AppError, AppResult};
use serde_json::{Map, Value};

/// A boolean field; `null` and absent read as `None`. Errors: 422 naming `field` otherwise.
pub(crate) fn bool_field(body: &Map<String, Value>, field: &str) -> AppResult<Option<bool>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(AppError::invalid(
            field,
            format!("{field} must be true or false, not {other}"),
        )),
    }
}

/// A required id (a JSON integer or a string of digits, as Chatwoot accepts).
/// Errors: 422 naming `field` when absent, null or not an id.
pub(crate) fn required_id(body: &Map<String, Value>, field: &str) -> AppResult<i64> {
    id_field(body.get(field).unwrap_or(&Value::Null), field)?
        .ok_or_else(|| AppError::invalid(field, format!("{field} is required")))
}

/// A required array of ids (integers or strings of digits).
/// Errors: 422 naming `field` when absent or not such an array.
pub(crate) fn required_ids(body: &Map<String, Value>, field: &str) -> AppResult<Vec<i64>> {
    match body.get(field) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                id_field(v, field)?
                    .ok_or_else(|| AppError::invalid(field, format!("{field} must hold ids")))
            })
            .collect(),
        _ => Err(AppError::invalid(
            field,
            format!("{field} is required: an array of user ids"),
        )),
    }
}

/// A required, non-blank string. Errors: 422 naming `field`.
pub(crate) fn required_string(body: &Map<String, Value>, field: &str) -> AppResult<String> {
    string_field(body, field)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| AppError::invalid(field, format!("{field} is required")))
}
