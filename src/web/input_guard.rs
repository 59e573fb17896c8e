//! The input guard: one middleware around every route that refuses a NUL character (U+0000)
//! where input enters, before any handler or query sees it. PostgreSQL `text` and `jsonb`
//! cannot hold U+0000, so without this guard such input reached the database and answered 500.
//!
//! What it checks (each refusal is a 400 `{"error": NUL_MESSAGE, "field": …}`):
//! - the path, for a percent-encoded NUL (`%00`), `field` = `path`;
//! - the query string, percent-decoded as a form (`labels[]=%00`), `field` = the parameter;
//! - bodies other than multipart ones and Meta's webhook deliveries (read into memory, at most
//!   [`MAX_SCANNED_BODY_BYTES`]; larger answers 413 before it is read):
//!   - `application/x-www-form-urlencoded`: a decoded NUL in a name or value (`%00`),
//!     `field` = the form field;
//!   - anything else (JSON, or no content type: several API handlers parse JSON from raw
//!     bytes): a JSON `\u0000` escape that is not itself escaped (`\\u0000` is text), or a
//!     raw 0x00 byte; `field` = the JSON path of the string holding it (`content`,
//!     `channel.name`, `labels[0]`) or `body`.
//!
//! Not checked here: multipart bodies (their text fields are checked where they are parsed,
//! with [`check_text`]), and `POST /webhooks/…` bodies, which are journaled as Meta sent
//! them and whose NUL characters ingest removes (`whatsapp::ingest`).

use crate::error::AppError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError};
use futures_util::StreamExt;
use serde_json::Value;

/// The error text of every NUL refusal.
pub const NUL_MESSAGE: &str =
    "the request contains a NUL character (\\u0000), which Switchboard does not accept";

/// Largest body the guard reads to scan: 4 MiB (every JSON and form route accepts less; the
/// handlers' own limits still apply to what passes).
pub const MAX_SCANNED_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The 400 for a NUL in `field`.
pub fn nul_error(field: &str) -> AppError {
    AppError::bad_field(field, NUL_MESSAGE)
}

/// Refuses text holding U+0000 (for input parsed outside the guard: multipart text fields).
/// Errors: 400 naming `field`.
pub fn check_text(field: &str, text: &str) -> Result<(), AppError> {
    if text.contains('\0') {
        Err(nul_error(field))
    } else {
        Ok(())
    }
}

/// True when a raw (still percent-encoded) path holds a NUL: `%00`, or a raw 0x00.
pub fn nul_in_path(raw_path: &str) -> bool {
    raw_path.contains("%00") || raw_path.contains('\0')
}

/// The name of the first form/query parameter whose name or value decodes to text holding a
/// NUL (`a=%00` → `a`; a NUL in the name itself → the name without it, or `query` when
/// nothing is left), or `None`.
pub fn nul_in_form(raw: &[u8]) -> Option<String> {
    if !raw.contains(&0) && !contains_ci(raw, b"%00") {
        return None;
    }
    for (k, v) in url::form_urlencoded::parse(raw) {
        if k.contains('\0') || v.contains('\0') {
            let name: String = k.chars().filter(|&c| c != '\0').collect();
            return Some(if name.is_empty() {
                "query".into()
            } else {
                name
            });
        }
    }
    // A raw 0x00 between parameters.
    raw.contains(&0).then(|| "query".into())
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// True when a JSON text would decode to a NUL: a `\u0000` escape whose backslash is not
/// itself escaped, or a raw 0x00 byte. Works on invalid JSON too (it only scans escapes).
pub fn json_has_nul(raw: &[u8]) -> bool {
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            0 => return true,
            b'\\' => {
                if raw.get(i + 1) == Some(&b'u') && raw.get(i + 2..i + 6) == Some(b"0000") {
                    return true;
                }
                // Skip the escaped character, so `\\` never starts another escape.
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

/// Where the NUL of a JSON body is: the path of the first key or string holding one
/// (`content`, `channel.name`, `labels[0]`), or `body` when the JSON does not parse or the
/// NUL is outside any string.
pub fn nul_in_json(raw: &[u8]) -> Option<String> {
    if !json_has_nul(raw) {
        return None;
    }
    let found = serde_json::from_slice::<Value>(raw)
        .ok()
        .and_then(|v| json_nul_path(&v, ""));
    Some(
        found
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "body".into()),
    )
}

fn json_nul_path(v: &Value, at: &str) -> Option<String> {
    match v {
        Value::String(s) if s.contains('\0') => Some(at.to_string()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| json_nul_path(x, &format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, x)| {
            let key: String = k.chars().filter(|&c| c != '\0').collect();
            let path = if at.is_empty() {
                key
            } else {
                format!("{at}.{key}")
            };
            if k.contains('\0') {
                Some(path)
            } else {
                json_nul_path(x, &path)
            }
        }),
        _ => None,
    }
}

/// Which scan a body gets, from its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyScan {
    None,
    Form,
    Json,
}

fn body_scan(req: &ServiceRequest) -> BodyScan {
    if req.path().starts_with("/webhooks/") {
        return BodyScan::None;
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/") {
        BodyScan::None
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        BodyScan::Form
    } else {
        BodyScan::Json
    }
}

/// True when the request may carry a body (a `Content-Length` above 0, or chunked).
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return true;
    }
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() != "0")
}

fn too_large() -> AppError {
    AppError::PayloadTooLarge(format!(
        "request bodies are limited to {} MiB",
        MAX_SCANNED_BODY_BYTES / (1024 * 1024)
    ))
}

/// Checks path, query and body of `req` (see the module doc). On success the body, if read,
/// is handed on unchanged.
async fn check(req: &mut ServiceRequest) -> Result<(), AppError> {
    if nul_in_path(req.path()) {
        return Err(nul_error("path"));
    }
    if let Some(field) = nul_in_form(req.query_string().as_bytes()) {
        return Err(nul_error(&field));
    }
    let scan = body_scan(req);
    if scan == BodyScan::None || !has_body(req) {
        return Ok(());
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_SCANNED_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let mut payload = req.take_payload();
    let mut body = actix_web::web::BytesMut::with_capacity(
        declared.unwrap_or(8 * 1024).min(64 * 1024) as usize,
    );
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| AppError::BadRequest(format!("could not read the body: {e}")))?;
        if body.len() + chunk.len() > MAX_SCANNED_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let found = match scan {
        BodyScan::Form => nul_in_form(&body),
        BodyScan::Json => nul_in_json(&body),
        BodyScan::None => None,
    };
    if let Some(field) = found {
        return Err(nul_error(&field));
    }
    req.set_payload(actix_web::dev::Payload::from(body));
    Ok(())
}

/// The middleware (`actix_web::middleware::from_fn(input_guard::guard)`): 400 with
/// [`NUL_MESSAGE`] for a NUL in path, query or a scanned body, 413 for a scanned body over
/// [`MAX_SCANNED_BODY_BYTES`]; otherwise the request goes on untouched.
pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    match check(&mut req).await {
        Ok(()) => Ok(next.call(req).await?.map_into_left_body()),
        Err(e) => Ok(req.into_response(e.error_response()).map_into_right_body()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes() {
        assert!(json_has_nul(br#"{"a":"x\u0000y"}"#));
        assert!(!json_has_nul(br#"{"a":"x\\u0000y"}"#));
        assert!(json_has_nul(br#"{"a":"x\\\u0000y"}"#));
        assert!(!json_has_nul(br#"{"a":"x\u0001y"}"#));
        assert!(json_has_nul(b"{\"a\":\"\x00\"}"));
        assert_eq!(
            nul_in_json(br#"{"content":"a\u0000"}"#).as_deref(),
            Some("content")
        );
        assert_eq!(
            nul_in_json(br#"{"channel":{"name":"a\u0000"}}"#).as_deref(),
            Some("channel.name")
        );
        assert_eq!(
            nul_in_json(br#"{"labels":["ok","\u0000"]}"#).as_deref(),
            Some("labels[1]")
        );
        assert_eq!(nul_in_json(br#"{"a\u0000":1}"#).as_deref(), Some("a"));
        assert_eq!(
            nul_in_json(br#"{"broken":"\u0000"#).as_deref(),
            Some("body")
        );
        assert_eq!(nul_in_json(br#"{"fine":"\\u0000"}"#), None);
    }

    #[test]
    fn forms_and_queries() {
        assert_eq!(nul_in_form(b"labels[]=%00").as_deref(), Some("labels[]"));
        assert_eq!(nul_in_form(b"q=a%00b&x=1").as_deref(), Some("q"));
        assert_eq!(nul_in_form(b"%00=1").as_deref(), Some("query"));
        assert_eq!(nul_in_form(b"q=%2500"), None);
        assert_eq!(nul_in_form(b"q=100"), None);
        assert!(nul_in_path("/webhooks/whatsapp/%00"));
        assert!(!nul_in_path("/webhooks/whatsapp/%2500"));
        assert!(check_text("content", "a\0").is_err());
    }
}
