//! Turns one WhatsApp message object into what an agent reads: `content`, `content_type`,
//! `content_attributes` and attachments. Pure functions, no database.
//!
//! Meta: webhooks/reference/messages (text, image, audio, video, document, sticker, location,
//! contacts, interactive, button, order, unsupported). Chatwoot's attachment `file_type`s
//! (`image`, `audio`, `video`, `file`, `location`, `contact`) and `meta.is_recorded_audio`
//! are kept so Chatwoot clients render them.

use super::payload::Message;
use crate::domain::messages::NewAttachment;
use serde_json::{json, Map, Value};

/// The readable form of a message.
#[derive(Debug, Clone)]
pub struct Built {
    pub content: Option<String>,
    pub content_type: String,
    pub content_attributes: Map<String, Value>,
    pub attachments: Vec<NewAttachment>,
}

/// Placeholder shown for messages WhatsApp could not deliver to the API.
pub const UNAVAILABLE: &str = "This message is unavailable.";

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|x| !x.is_empty())
}

/// Builds the readable form. Never fails: an unknown shape becomes the placeholder with the
/// raw object kept in `content_attributes`.
pub fn build(m: &Message) -> Built {
    let kind = m.kind.clone().unwrap_or_else(|| "unknown".into());
    let body = m.body_object().cloned().unwrap_or(Value::Null);
    let mut attrs = Map::new();
    let mut attachments = Vec::new();
    let mut content_type = "text".to_string();

    let content: Option<String> = match kind.as_str() {
        "text" => s(&body, "body"),
        "image" | "video" | "audio" | "document" | "sticker" => {
            let file_type = match kind.as_str() {
                "image" | "sticker" => "image",
                "video" => "video",
                "audio" => "audio",
                _ => "file",
            };
            let voice = body.get("voice").and_then(Value::as_bool).unwrap_or(false);
            let mut meta = Map::new();
            if kind == "audio" {
                meta.insert("is_recorded_audio".into(), json!(voice));
                meta.insert("voice".into(), json!(voice));
            }
            if kind == "sticker" {
                content_type = "sticker".into();
                meta.insert(
                    "animated".into(),
                    body.get("animated").cloned().unwrap_or(json!(false)),
                );
            }
            if voice {
                attrs.insert("is_voice_note".into(), json!(true));
            }
            attachments.push(NewAttachment {
                file_type: file_type.into(),
                media_id: s(&body, "id"),
                mime_type: s(&body, "mime_type"),
                sha256: s(&body, "sha256"),
                file_size: body.get("file_size").and_then(Value::as_i64),
                file_name: s(&body, "filename"),
                meta: Value::Object(meta),
                ..Default::default()
            });
            s(&body, "caption")
        }
        "location" => {
            let lat = body.get("latitude").and_then(Value::as_f64);
            let long = body.get("longitude").and_then(Value::as_f64);
            let name = s(&body, "name");
            let address = s(&body, "address");
            let map_url = match (lat, long) {
                (Some(a), Some(b)) => Some(format!("https://maps.google.com/?q={a},{b}")),
                _ => None,
            };
            attrs.insert("location".into(), body.clone());
            let title = [name.clone(), address.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            attachments.push(NewAttachment {
                file_type: "location".into(),
                coordinates_lat: lat,
                coordinates_long: long,
                fallback_title: Some(title.clone()).filter(|t| !t.is_empty()),
                external_url: map_url,
                meta: json!({}),
                ..Default::default()
            });
            let coords = match (lat, long) {
                (Some(a), Some(b)) => format!("{a}, {b}"),
                _ => String::new(),
            };
            let lines: Vec<String> = [name, address, Some(coords).filter(|c| !c.is_empty())]
                .into_iter()
                .flatten()
                .collect();
            Some(format!(
                "📍 {}",
                if lines.is_empty() {
                    "Location".into()
                } else {
                    lines.join("\n")
                }
            ))
        }
        "contacts" => {
            let cards = m
                .rest
                .get("contacts")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            attrs.insert("contacts".into(), Value::Array(cards.clone()));
            let mut lines = Vec::new();
            for card in &cards {
                let name = card
                    .get("name")
                    .and_then(|n| {
                        s(n, "formatted_name").or_else(|| {
                            let parts: Vec<String> = ["first_name", "last_name"]
                                .iter()
                                .filter_map(|k| s(n, k))
                                .collect();
                            Some(parts.join(" ")).filter(|p| !p.is_empty())
                        })
                    })
                    .unwrap_or_else(|| "Contact".into());
                let phones: Vec<String> = card
                    .get("phones")
                    .and_then(Value::as_array)
                    .map(|ps| {
                        ps.iter()
                            .filter_map(|p| s(p, "phone").or_else(|| s(p, "wa_id")))
                            .collect()
                    })
                    .unwrap_or_default();
                let first_phone = phones.first().cloned();
                lines.push(if phones.is_empty() {
                    name.clone()
                } else {
                    format!("{name}: {}", phones.join(", "))
                });
                attachments.push(NewAttachment {
                    file_type: "contact".into(),
                    fallback_title: first_phone.or(Some(name)),
                    meta: card.clone(),
                    ..Default::default()
                });
            }
            Some(format!(
                "👤 {}",
                if lines.is_empty() {
                    "Shared contact".into()
                } else {
                    lines.join("\n")
                }
            ))
        }
        "interactive" => {
            let itype = s(&body, "type").unwrap_or_default();
            let reply = body.get(&itype).cloned().unwrap_or(Value::Null);
            let mut info = json!({"type": itype});
            match itype.as_str() {
                "button_reply" | "list_reply" => {
                    info["id"] = reply.get("id").cloned().unwrap_or(Value::Null);
                    info["title"] = reply.get("title").cloned().unwrap_or(Value::Null);
                    if let Some(d) = reply.get("description") {
                        info["description"] = d.clone();
                    }
                    attrs.insert("interactive".into(), info);
                    s(&reply, "title")
                }
                "nfm_reply" => {
                    let response: Value = reply
                        .get("response_json")
                        .and_then(Value::as_str)
                        .and_then(|r| serde_json::from_str(r).ok())
                        .unwrap_or(Value::Null);
                    info["name"] = reply.get("name").cloned().unwrap_or(Value::Null);
                    info["body"] = reply.get("body").cloned().unwrap_or(Value::Null);
                    info["response"] = response.clone();
                    attrs.insert("interactive".into(), info);
                    let mut text = s(&reply, "body").unwrap_or_else(|| "Form submitted".into());
                    if let Value::Object(fields) = &response {
                        for (k, v) in fields.iter().filter(|(k, _)| k.as_str() != "flow_token") {
                            let shown = v
                                .as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string());
                            text.push_str(&format!("\n{k}: {shown}"));
                        }
                    }
                    Some(text)
                }
                _ => {
                    attrs.insert("interactive".into(), body.clone());
                    Some(UNAVAILABLE.into())
                }
            }
        }
        "button" => {
            attrs.insert("button".into(), body.clone());
            s(&body, "text").or_else(|| s(&body, "payload"))
        }
        "order" => {
            attrs.insert("order".into(), body.clone());
            let items = body
                .get("product_items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut text = String::from("🛒 Order");
            if let Some(t) = s(&body, "text") {
                text.push_str(&format!(": {t}"));
            }
            for item in items {
                let qty = item
                    .get("quantity")
                    .map(|q| q.to_string().trim_matches('"').to_string())
                    .unwrap_or_else(|| "1".into());
                let product = s(&item, "product_retailer_id").unwrap_or_else(|| "item".into());
                let price = item
                    .get("item_price")
                    .map(|p| p.to_string().trim_matches('"').to_string())
                    .unwrap_or_default();
                let currency = s(&item, "currency").unwrap_or_default();
                let line = format!("\n• {qty} × {product} @ {price} {currency}");
                text.push_str(line.trim_end());
            }
            Some(text)
        }
        "media_placeholder" => {
            attrs.insert("media_placeholder".into(), json!(true));
            Some("Media from before this inbox was connected (not available).".into())
        }
        "unsupported" | "unknown" => {
            attrs.insert("unsupported".into(), body.clone());
            Some(UNAVAILABLE.into())
        }
        other => {
            // A type this version does not know yet: keep the whole object, show the placeholder.
            attrs.insert("unsupported".into(), json!({"type": other, "raw": body}));
            Some(UNAVAILABLE.into())
        }
    };

    if let Some(errors) = &m.errors {
        attrs.insert("errors".into(), errors.clone());
    }
    if let Some(ctx) = &m.context {
        attrs.insert("context".into(), ctx.clone());
        if let Some(id) = ctx.get("id").and_then(Value::as_str) {
            attrs.insert("in_reply_to_external_id".into(), json!(id));
        }
        for flag in ["forwarded", "frequently_forwarded"] {
            if ctx.get(flag).and_then(Value::as_bool) == Some(true) {
                attrs.insert(flag.into(), json!(true));
            }
        }
    }
    if let Some(referral) = &m.referral {
        attrs.insert("referral".into(), referral.clone());
    }
    Built {
        content,
        content_type,
        content_attributes: attrs,
        attachments,
    }
}
