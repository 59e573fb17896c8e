//! The business profile picture, fetched for the inbox settings page (issue 12, h12).
//!
//! Graph's `whatsapp_business_profile` gives `profile_picture_url`, a short-lived URL on
//! Meta's CDN (`https://pps.whatsapp.net/…`). The settings page's CSP loads images from
//! Switchboard only (`img-src 'self' data:`), so Switchboard fetches the picture and serves it
//! from `GET /api/v1/accounts/{account_id}/inboxes/{inbox_id}/business_profile/picture`
//! (administrators of the account; see `web::api::business_profile::picture`).
//!
//! The fetch is guarded like an outbound webhook ([`crate::net_guard`]): the URL must be
//! `https` and resolve to public addresses only, and the request connects to the address that
//! was checked (no DNS rebinding); redirects are not followed; the body is read up to
//! [`MAX_BYTES`] and must be a JPEG or PNG (its first bytes,
//! [`super::business_profile::picture_type`]). The one exception is the configured Graph base
//! URL's own origin (`WHATSAPP_CLOUD_BASE_URL`, which the operator chose and Switchboard
//! already trusts with access tokens): a stand-in on a private address may serve pictures.
//! Answers are cached by the browser for [`CACHE_SECONDS`] (`Cache-Control: private`).

use crate::config::Config;
use crate::error::{AppError, AppResult};
use std::time::Duration;

/// Largest picture served, in bytes (Meta's own upload limit, 5 MB).
pub const MAX_BYTES: usize = super::business_profile::MAX_PICTURE_BYTES;

/// How long the browser may keep the picture, in seconds (Meta's URL is short-lived too).
pub const CACHE_SECONDS: u64 = 300;

/// How long one fetch may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A fetched picture: `image/jpeg` or `image/png` and its bytes.
#[derive(Debug, Clone)]
pub struct Picture {
    pub mime: &'static str,
    pub bytes: Vec<u8>,
}

fn unavailable(why: impl std::fmt::Display) -> AppError {
    AppError::BadGateway(format!(
        "Could not load the profile picture from WhatsApp ({why}); please try again"
    ))
}

/// True when `url` has the same scheme, host and port as the configured Graph base URL.
fn is_graph_origin(config: &Config, url: &url::Url) -> bool {
    url::Url::parse(&config.whatsapp_cloud_base_url)
        .map(|g| g.origin() == url.origin())
        .unwrap_or(false)
}

/// Fetches `url` (see the module documentation). Errors: 502 naming why (not https, a private
/// or unresolvable host, a non-2xx answer, over [`MAX_BYTES`], not a JPEG or PNG, timeout).
pub async fn fetch(config: &Config, url: &str) -> AppResult<Picture> {
    let parsed = url::Url::parse(url).map_err(|e| unavailable(format!("bad URL: {e}")))?;
    let trusted = is_graph_origin(config, &parsed);
    if parsed.scheme() != "https" && !trusted {
        return Err(unavailable("the picture URL is not https"));
    }
    let addr = crate::net_guard::resolve_checked(&parsed, trusted)
        .await
        .map_err(unavailable)?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .resolve(&host, addr)
        .build()
        .map_err(|e| unavailable(format!("HTTP client: {e}")))?;
    let resp = client
        .get(parsed)
        .send()
        .await
        .map_err(|e| unavailable(e.without_url()))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(unavailable(format!("HTTP {}", status.as_u16())));
    }
    if resp.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
        return Err(unavailable("the picture is over 5 MB"));
    }
    let mut resp = resp;
    let mut bytes = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| unavailable(e.without_url()))?
    {
        if bytes.len() + chunk.len() > MAX_BYTES {
            return Err(unavailable("the picture is over 5 MB"));
        }
        bytes.extend_from_slice(&chunk);
    }
    let mime = super::business_profile::picture_type(&bytes)
        .map_err(|_| unavailable("the answer is not a JPEG or PNG image"))?;
    Ok(Picture { mime, bytes })
}
