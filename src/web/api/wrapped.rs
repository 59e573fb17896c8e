//! [`Wrapped`]: the one extractor of JSON request bodies. Rails (Chatwoot) accepts a body
//! either bare (`{"name": "Ann"}`) or wrapped under the controller's resource name
//! (`{"contact": {"name": "Ann"}}`, `wrap_parameters`), and client libraries send both. The
//! wrapper names come from the route pattern that matched: each literal path segment after
//! `/api/v1/accounts/{account_id}` and its singular (`/contacts/{id}` → `contacts`,
//! `contact`; `/conversations/{id}/messages` → `conversation`, `message`;
//! `/canned_responses` → `canned_response`; `/teams/{id}/team_members` → `team`,
//! `team_member`; `/inboxes` → `inbox`; `/webhooks` → `webhook`; `/labels` → `label`;
//! `/agents` → `agent`). When the body holds such a key whose value is a JSON object, that
//! object's fields are lifted to the top (a field inside the wrapper wins over the same field
//! outside) and the wrapper key is dropped; the innermost resource is tried first. Anything
//! else is read as it is.
//!
//! A body sent with a `Content-Type` that is not JSON answers 400 ("send the body as JSON
//! with Content-Type: application/json"); a body without one is read as JSON.
//!
//! Reading the body never fails in the extractor (except a body over
//! [`MAX_BODY_BYTES`], 413): an unreadable body becomes a 400 when the handler asks for it
//! ([`RawBody::object`]), so a 404 for a resource the caller cannot see still comes first.

use crate::error::{AppError, AppResult};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Largest JSON body read: 1 MiB (as the JSON extractor's limit).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A request body as read, with the wrapper names its route accepts.
#[derive(Debug, Clone, Default)]
pub struct Wrapped {
    /// The raw body.
    pub bytes: actix_web::web::Bytes,
    /// Accepted wrapper keys, innermost resource first.
    pub names: Vec<String>,
    /// The request declared a `Content-Type` that is not JSON (`text/plain`, a form…).
    pub not_json: bool,
}

/// Something a JSON object can be read from: raw bytes (no unwrapping) or a [`Wrapped`] body.
pub(crate) trait RawBody {
    /// The body as a JSON object (empty or blank reads as `{}`). Errors: 400 when it is not
    /// a JSON object.
    fn object(&self) -> AppResult<Map<String, Value>>;
}

impl RawBody for actix_web::web::Bytes {
    fn object(&self) -> AppResult<Map<String, Value>> {
        parse_object(self)
    }
}

impl RawBody for Wrapped {
    fn object(&self) -> AppResult<Map<String, Value>> {
        if self.not_json && !self.bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(AppError::BadRequest(
                "send the body as JSON with Content-Type: application/json".into(),
            ));
        }
        Ok(unwrap(parse_object(&self.bytes)?, &self.names))
    }
}

impl Wrapped {
    /// The (unwrapped) body deserialised as `T`. Errors: 400 when it is not a JSON object or
    /// does not have `T`'s shape.
    pub fn typed<T: DeserializeOwned>(&self) -> AppResult<T> {
        serde_json::from_value(Value::Object(self.object()?))
            .map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))
    }

    /// The (unwrapped) body as a JSON object; see [`RawBody::object`].
    pub fn json_object(&self) -> AppResult<Map<String, Value>> {
        self.object()
    }
}

/// Parses a JSON object (blank reads as `{}`). Errors: 400.
pub(crate) fn parse_object(body: &[u8]) -> AppResult<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(AppError::BadRequest(
            "the request body must be a JSON object".into(),
        )),
        Err(e) => Err(AppError::BadRequest(format!("invalid JSON body: {e}"))),
    }
}

/// Lifts the first wrapper of `names` found in `body` holding an object (see the module
/// documentation).
pub fn unwrap(mut body: Map<String, Value>, names: &[String]) -> Map<String, Value> {
    for name in names {
        if matches!(body.get(name), Some(Value::Object(_))) {
            if let Some(Value::Object(inner)) = body.remove(name) {
                for (k, v) in inner {
                    body.insert(k, v);
                }
            }
            break;
        }
    }
    body
}

/// Rails' singular of a resource segment: `inboxes` → `inbox`, `contacts` → `contact`,
/// `notification_settings` → `notification_setting`; others unchanged.
fn singular(segment: &str) -> String {
    if let Some(stem) = segment.strip_suffix("xes") {
        format!("{stem}x")
    } else if let Some(stem) = segment.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = segment.strip_suffix('s') {
        stem.to_string()
    } else {
        segment.to_string()
    }
}

/// The wrapper names of a route pattern (`/api/v1/accounts/{account_id}/contacts/{id}`),
/// innermost first: each literal segment after the account, singular then as written.
pub fn wrapper_names(pattern: &str) -> Vec<String> {
    let literals: Vec<&str> = pattern
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .filter(|s| !matches!(*s, "api" | "v1" | "accounts"))
        .collect();
    let mut out = Vec::new();
    for s in literals.iter().rev() {
        for name in [singular(s), s.to_string()] {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

impl FromRequest for Wrapped {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let names = wrapper_names(&req.match_pattern().unwrap_or_else(|| req.path().into()));
        // No content type is read as JSON (several clients send none); a declared one must
        // be JSON (`application/json`, `…+json`).
        let not_json = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|t| !t.is_empty() && t != "application/json" && !t.ends_with("+json"));
        let mut payload = payload.take();
        Box::pin(async move {
            let mut body = actix_web::web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    actix_web::Error::from(AppError::BadRequest(format!(
                        "the request body could not be read: {e}"
                    )))
                })?;
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(AppError::PayloadTooLarge(
                        "API request bodies are limited to 1 MiB".into(),
                    )
                    .into());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Wrapped {
                bytes: body.freeze(),
                names,
                not_json,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_come_from_the_route() {
        assert_eq!(
            wrapper_names("/api/v1/accounts/{account_id}/conversations/{display_id}/messages"),
            ["message", "messages", "conversation", "conversations"]
        );
        assert_eq!(
            wrapper_names("/api/v1/accounts/{account_id}/inboxes/{id}")[0],
            "inbox"
        );
        assert_eq!(
            wrapper_names("/api/v1/accounts/{account_id}/canned_responses")[0],
            "canned_response"
        );
    }

    #[test]
    fn a_wrapper_is_lifted_and_bare_bodies_stay() {
        let names = wrapper_names("/api/v1/accounts/{account_id}/contacts/{id}");
        let m = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            Value::Object(unwrap(m(json!({"contact": {"name": "Ann"}})), &names)),
            json!({"name": "Ann"})
        );
        assert_eq!(
            Value::Object(unwrap(m(json!({"name": "Ann"})), &names)),
            json!({"name": "Ann"})
        );
        // A string under the wrapper key is a field, not a wrapper.
        assert_eq!(
            Value::Object(unwrap(m(json!({"contact": "x"})), &names)),
            json!({"contact": "x"})
        );
    }
}
