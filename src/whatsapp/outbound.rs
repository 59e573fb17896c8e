//! Bodies of `POST /{phone_number_id}/messages`: text, media, reaction, template,
//! interactive and read receipts, addressed by the recipient rule. Pure functions; the send
//! job calls Graph.
//!
//! Meta: cloud-api/reference/messages and cloud-api/guides/send-messages.

use serde_json::{json, Map, Value};

/// Longest text body Meta accepts, in characters (Meta: messages reference, `text.body`).
pub const MAX_TEXT_CHARS: usize = 4096;
/// Longest media caption Meta accepts, in characters.
pub const MAX_CAPTION_CHARS: usize = 1024;

/// Who a message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// `to`: the contact's phone number (E.164, with or without '+').
    Phone(String),
    /// `recipient`: the business-scoped user id, for contacts known only by BSUID
    /// (Meta: business-scoped user IDs, 2026).
    Bsuid(String),
}

impl Recipient {
    /// The recipient rule: the phone when known, otherwise the BSUID; `None` when neither.
    pub fn choose(phone_number: Option<&str>, bsuid: Option<&str>) -> Option<Recipient> {
        match (
            phone_number.filter(|p| !p.is_empty()),
            bsuid.filter(|b| !b.is_empty()),
        ) {
            (Some(p), _) => Some(Recipient::Phone(p.to_string())),
            (None, Some(b)) => Some(Recipient::Bsuid(b.to_string())),
            (None, None) => None,
        }
    }
}

/// The media kinds Graph sends by uploaded id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Document,
    Sticker,
}

impl MediaKind {
    /// The Graph `type` value and object key.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
        }
    }

    /// The kind a file of `mime_type` is sent as: JPEG/PNG images, MP4/3GPP video, audio,
    /// WebP stickers (WhatsApp images cannot be WebP), anything else a document
    /// (Meta: cloud-api/reference/media#supported-media-types).
    pub fn for_mime(mime_type: &str) -> MediaKind {
        let m = mime_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match m.as_str() {
            "image/jpeg" | "image/png" => MediaKind::Image,
            "image/webp" => MediaKind::Sticker,
            "video/mp4" | "video/3gpp" => MediaKind::Video,
            "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" => {
                MediaKind::Audio
            }
            _ => MediaKind::Document,
        }
    }

    /// Meta's size limit for the kind, in bytes: image 5 MB, video and audio 16 MB,
    /// sticker 500 KB, document 100 MB.
    pub fn max_bytes(self) -> usize {
        const MB: usize = 1024 * 1024;
        match self {
            MediaKind::Image => 5 * MB,
            MediaKind::Video | MediaKind::Audio => 16 * MB,
            MediaKind::Sticker => 500 * 1024,
            MediaKind::Document => 100 * MB,
        }
    }

    /// True when Meta accepts a caption with this kind.
    pub fn takes_caption(self) -> bool {
        matches!(
            self,
            MediaKind::Image | MediaKind::Video | MediaKind::Document
        )
    }

    /// Chatwoot's attachment `file_type` for the kind.
    pub fn file_type(self) -> &'static str {
        match self {
            MediaKind::Image | MediaKind::Sticker => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Document => "file",
        }
    }
}

/// True when `body` contains a link, so Meta should render a preview (`preview_url`).
pub fn has_link(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    lower.contains("http://") || lower.contains("https://") || lower.contains("www.")
}

/// The envelope every send shares: product, recipient, type, optional reply context and
/// `biz_opaque_callback_data` (echoed in status webhooks, which lets a status identify a
/// message whose send answer was lost).
fn envelope(
    recipient: &Recipient,
    kind: &str,
    reply_to: Option<&str>,
    callback_data: Option<&str>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("messaging_product".into(), json!("whatsapp"));
    m.insert("recipient_type".into(), json!("individual"));
    match recipient {
        Recipient::Phone(p) => m.insert("to".into(), json!(p)),
        Recipient::Bsuid(b) => m.insert("recipient".into(), json!(b)),
    };
    m.insert("type".into(), json!(kind));
    if let Some(wamid) = reply_to {
        m.insert("context".into(), json!({ "message_id": wamid }));
    }
    if let Some(data) = callback_data {
        m.insert("biz_opaque_callback_data".into(), json!(data));
    }
    m
}

/// A text message; `preview_url` is set when the body has a link.
pub fn text(
    recipient: &Recipient,
    body: &str,
    reply_to: Option<&str>,
    callback_data: Option<&str>,
) -> Value {
    let mut m = envelope(recipient, "text", reply_to, callback_data);
    m.insert(
        "text".into(),
        json!({ "preview_url": has_link(body), "body": body }),
    );
    Value::Object(m)
}

/// A media message by uploaded media id, with its caption (image, video, document) and the
/// document's file name.
pub fn media(
    recipient: &Recipient,
    kind: MediaKind,
    media_id: &str,
    caption: Option<&str>,
    file_name: Option<&str>,
    reply_to: Option<&str>,
    callback_data: Option<&str>,
) -> Value {
    let mut m = envelope(recipient, kind.as_str(), reply_to, callback_data);
    let mut object = Map::new();
    object.insert("id".into(), json!(media_id));
    if let Some(c) = caption.filter(|c| !c.is_empty() && kind.takes_caption()) {
        object.insert("caption".into(), json!(c));
    }
    if kind == MediaKind::Document {
        if let Some(n) = file_name.filter(|n| !n.is_empty()) {
            object.insert("filename".into(), json!(n));
        }
    }
    m.insert(kind.as_str().into(), Value::Object(object));
    Value::Object(m)
}

/// A reaction to the message `target_wamid`; an empty `emoji` removes the reaction.
pub fn reaction(
    recipient: &Recipient,
    target_wamid: &str,
    emoji: &str,
    callback_data: Option<&str>,
) -> Value {
    let mut m = envelope(recipient, "reaction", None, callback_data);
    m.insert(
        "reaction".into(),
        json!({ "message_id": target_wamid, "emoji": emoji }),
    );
    Value::Object(m)
}

/// A template message; `template` is the `template` object (name, language, components).
pub fn template(
    recipient: &Recipient,
    template: Value,
    reply_to: Option<&str>,
    callback_data: Option<&str>,
) -> Value {
    let mut m = envelope(recipient, "template", reply_to, callback_data);
    m.insert("template".into(), template);
    Value::Object(m)
}

/// An interactive message (reply buttons, list, CTA URL, location request); `interactive` is
/// the Graph `interactive` object ([`crate::whatsapp::interactive::Interactive::graph_object`]).
pub fn interactive(
    recipient: &Recipient,
    interactive: Value,
    reply_to: Option<&str>,
    callback_data: Option<&str>,
) -> Value {
    let mut m = envelope(recipient, "interactive", reply_to, callback_data);
    m.insert("interactive".into(), interactive);
    Value::Object(m)
}

/// A read receipt for the customer's message `wamid` (Meta marks earlier messages read too).
pub fn mark_read(wamid: &str) -> Value {
    json!({ "messaging_product": "whatsapp", "status": "read", "message_id": wamid })
}

/// The typing indicator: the read receipt for the customer's message `wamid` plus
/// `"typing_indicator": {"type": "text"}` (graph-api-notes.md §6; Meta:
/// whatsapp/typing-indicators). Shown until the next message or 25 seconds.
pub fn typing_indicator(wamid: &str) -> Value {
    let mut body = mark_read(wamid);
    body["typing_indicator"] = json!({ "type": "text" });
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_rule_prefers_the_phone() {
        assert_eq!(
            Recipient::choose(Some("+16505551234"), Some("US.1")),
            Some(Recipient::Phone("+16505551234".into()))
        );
        assert_eq!(
            Recipient::choose(None, Some("US.1")),
            Some(Recipient::Bsuid("US.1".into()))
        );
        assert_eq!(Recipient::choose(Some(""), None), None);
    }

    #[test]
    fn text_bodies() {
        let to = Recipient::Phone("+16505551234".into());
        assert_eq!(
            text(&to, "Hello", None, None),
            json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234",
                   "type":"text","text":{"preview_url":false,"body":"Hello"}})
        );
        let v = text(
            &Recipient::Bsuid("US.1".into()),
            "See https://example.com",
            Some("wamid.X"),
            Some("sb:1"),
        );
        assert_eq!(v["recipient"], "US.1");
        assert!(v.get("to").is_none());
        assert_eq!(v["text"]["preview_url"], true);
        assert_eq!(v["context"]["message_id"], "wamid.X");
        assert_eq!(v["biz_opaque_callback_data"], "sb:1");
    }

    #[test]
    fn media_kinds() {
        assert_eq!(MediaKind::for_mime("image/jpeg"), MediaKind::Image);
        assert_eq!(MediaKind::for_mime("image/webp"), MediaKind::Sticker);
        assert_eq!(
            MediaKind::for_mime("audio/ogg; codecs=opus"),
            MediaKind::Audio
        );
        assert_eq!(MediaKind::for_mime("application/pdf"), MediaKind::Document);
        let to = Recipient::Phone("+1".into());
        let doc = media(
            &to,
            MediaKind::Document,
            "123",
            Some("Invoice"),
            Some("invoice.pdf"),
            None,
            None,
        );
        assert_eq!(
            doc["document"],
            json!({"id":"123","caption":"Invoice","filename":"invoice.pdf"})
        );
        let audio = media(&to, MediaKind::Audio, "9", Some("x"), None, None, None);
        assert_eq!(audio["audio"], json!({"id":"9"}));
    }
}
