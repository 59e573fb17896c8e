//! Paths of the API as Rails (Chatwoot) routes them: `/api/v1/accounts/1/contacts/` and
//! `/api/v1//accounts/1/contacts` reach `/api/v1/accounts/1/contacts` (Rails' router ignores
//! a trailing slash and empty segments). Only paths under `/api/` are rewritten: the UI,
//! static files, media and Meta's webhook routes are left exactly as they arrive.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::middleware::Next;

/// `path` with runs of `/` collapsed and a trailing `/` removed, when it starts with
/// `/api/` (or `//api/`) and needs it; `None` otherwise.
pub fn normalized(path: &str) -> Option<String> {
    let trimmed = path.trim_start_matches('/');
    if !(trimmed.starts_with("api/") || trimmed == "api") {
        return None;
    }
    let mut out = String::with_capacity(path.len());
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(segment);
    }
    (out != path).then_some(out)
}

/// The middleware (`actix_web::middleware::from_fn(api_path::normalize)`) rewriting the
/// request URI as [`normalized`] says, before routing; the query string is kept.
pub async fn normalize(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(path) = normalized(req.path()) {
        let pq = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let mut parts = req.head().uri.clone().into_parts();
        if let Ok(pq) = pq.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                req.match_info_mut().get_mut().update(&uri);
                req.head_mut().uri = uri;
            }
        }
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::normalized;

    #[test]
    fn api_paths_lose_extra_slashes_others_stay() {
        assert_eq!(
            normalized("/api/v1/accounts/1/contacts/").as_deref(),
            Some("/api/v1/accounts/1/contacts")
        );
        assert_eq!(
            normalized("/api/v1//accounts/1//contacts").as_deref(),
            Some("/api/v1/accounts/1/contacts")
        );
        assert_eq!(normalized("/api/v1/accounts/1/contacts"), None);
        assert_eq!(normalized("/app/accounts/1/"), None);
        assert_eq!(normalized("/static/app.css"), None);
        assert_eq!(normalized("/webhooks/whatsapp/+1555/"), None);
    }
}
