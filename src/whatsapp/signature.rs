//! X-Hub-Signature-256 rules for `POST /webhooks/whatsapp/{phone_number}` (DESIGN.md, "The
//! webhook route"; Meta: webhooks/overview, "Validating payloads").

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Whether a POST must carry a valid signature, decided in DESIGN.md's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Verify the signature; reject with 401 when it is missing or wrong.
    Enforce,
    /// Accept without a signature (manual inbox without an app secret).
    Skip,
}

/// What the decision needs to know about the channel the path names.
pub struct ChannelFacts<'a> {
    /// `whatsapp_cloud` for every inbox Switchboard creates today.
    pub provider: &'a str,
    /// True when the channel carries its own app secret.
    pub has_app_secret: bool,
    /// True when the inbox was created through Embedded Signup.
    pub embedded_signup: bool,
}

/// The four-step decision:
/// 1. no channel → enforce; 2. provider not `whatsapp_cloud` → skip;
/// 3. channel has an app secret → enforce; 4. otherwise enforce only for Embedded Signup.
pub fn decide(channel: Option<&ChannelFacts<'_>>) -> Decision {
    match channel {
        None => Decision::Enforce,
        Some(c) if c.provider != "whatsapp_cloud" => Decision::Skip,
        Some(c) if c.has_app_secret => Decision::Enforce,
        Some(c) if c.embedded_signup => Decision::Enforce,
        Some(_) => Decision::Skip,
    }
}

/// `sha256=<lowercase hex HMAC-SHA256(secret, body)>`, the header value Meta sends.
///
/// ```
/// use switchboard::whatsapp::signature::{sign, verify};
/// let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
/// let header = sign("app-secret", body);
/// assert!(header.starts_with("sha256="));
/// assert!(verify(Some(&header), body, &["app-secret"]));
/// ```
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The secrets that may sign a POST for a channel (DESIGN.md, "The webhook route"): where
/// the channel carries its own app secret, only that one; otherwise (Embedded Signup, or no
/// channel at all) the global `WHATSAPP_APP_SECRET`. Empty when neither exists, so nothing
/// verifies.
pub fn signing_secrets<'a>(
    channel_secret: Option<&'a str>,
    global: Option<&'a str>,
) -> Vec<&'a str> {
    match channel_secret.filter(|s| !s.is_empty()) {
        Some(own) => vec![own],
        None => global.filter(|s| !s.is_empty()).into_iter().collect(),
    }
}

/// True when `header` is a valid signature of the raw `body` under any of `secrets`.
/// The header must be `sha256=` and 64 **lowercase** hex digits, as Meta sends it; any other
/// spelling (uppercase hex, a wrong length) is invalid. The comparison is constant-time
/// (`Mac::verify_slice` uses `subtle`).
pub fn verify(header: Option<&str>, body: &[u8], secrets: &[&str]) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    if hex_sig.len() != 64
        || !hex_sig
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return false;
    }
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    secrets.iter().filter(|s| !s.is_empty()).any(|secret| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_order() {
        let facts = |provider, has_app_secret, embedded_signup| ChannelFacts {
            provider,
            has_app_secret,
            embedded_signup,
        };
        assert_eq!(decide(None), Decision::Enforce);
        assert_eq!(
            decide(Some(&facts("360dialog", true, true))),
            Decision::Skip
        );
        assert_eq!(
            decide(Some(&facts("whatsapp_cloud", true, false))),
            Decision::Enforce
        );
        assert_eq!(
            decide(Some(&facts("whatsapp_cloud", false, true))),
            Decision::Enforce
        );
        assert_eq!(
            decide(Some(&facts("whatsapp_cloud", false, false))),
            Decision::Skip
        );
    }

    #[test]
    fn verify_over_raw_bytes() {
        let body = "{\"a\":\"Olá\"}".as_bytes();
        let sig = sign("s3cret", body);
        assert!(verify(Some(&sig), body, &["other", "s3cret"]));
        assert!(!verify(Some(&sig), b"{\"a\":\"Ola\"}", &["s3cret"]));
        assert!(!verify(None, body, &["s3cret"]));
        assert!(!verify(Some("sha256=zz"), body, &["s3cret"]));
    }

    #[test]
    fn uppercase_hex_is_refused() {
        let body = b"{}";
        let sig = sign("s3cret", body);
        assert!(verify(Some(&sig), body, &["s3cret"]));
        let upper = format!("sha256={}", sig["sha256=".len()..].to_ascii_uppercase());
        assert!(!verify(Some(&upper), body, &["s3cret"]));
        assert!(!verify(Some(&sig[..sig.len() - 2]), body, &["s3cret"]));
    }

    #[test]
    fn the_channel_secret_alone_signs_for_its_channel() {
        assert_eq!(signing_secrets(Some("own"), Some("global")), vec!["own"]);
        assert_eq!(signing_secrets(None, Some("global")), vec!["global"]);
        assert_eq!(signing_secrets(Some(""), Some("global")), vec!["global"]);
        assert!(signing_secrets(None, None).is_empty());
    }
}
