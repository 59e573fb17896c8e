//! How the thread shows an interactive message the business sent (reply buttons, a list, a
//! CTA URL button, a location request), read from the Graph `interactive` object stored in
//! `content_attributes.interactive` ([`crate::whatsapp::interactive`]); echoes of such messages
//! sent from the WhatsApp Business app carry the same object. The customer's answers
//! (`button_reply`, `list_reply`) are ordinary incoming bubbles quoting the message.

use serde_json::Value;

/// A list section as shown: its title and rows.
#[derive(Debug, Clone)]
pub struct SectionView {
    pub title: String,
    pub rows: Vec<RowView>,
}

/// A list row as shown.
#[derive(Debug, Clone)]
pub struct RowView {
    pub title: String,
    pub description: Option<String>,
}

/// What the bubble shows besides the body (the message's `content`).
#[derive(Debug, Clone)]
pub struct InteractiveView {
    /// "Reply buttons", "List", "Link button" or "Location request".
    pub label: &'static str,
    pub header: Option<String>,
    pub footer: Option<String>,
    /// Reply button titles.
    pub buttons: Vec<String>,
    /// The button that opens a list, with the list's sections.
    pub list_button: Option<String>,
    pub sections: Vec<SectionView>,
    /// A CTA button's text and its https URL (`None` for any other scheme: not a link).
    pub link_text: Option<String>,
    pub link_url: Option<String>,
    /// A location request's "Send location" button.
    pub location: bool,
}

fn text(v: &Value) -> Option<String> {
    v.as_str()
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
}

/// The view of `content_attributes.interactive` when it is an interactive message the
/// business sent (`type` `button`, `list`, `cta_url` or `location_request_message`);
/// `None` for anything else (a customer's `button_reply`, a flow answer, no object).
pub fn interactive_view(attrs: &Value) -> Option<InteractiveView> {
    let i = attrs.get("interactive").filter(|i| i.is_object())?;
    let action = &i["action"];
    let label = match i["type"].as_str()? {
        "button" => "Reply buttons",
        "list" => "List",
        "cta_url" => "Link button",
        "location_request_message" => "Location request",
        _ => return None,
    };
    // A media header (h12: image, video or document by link) is named, not loaded.
    let header = match i["header"]["type"].as_str() {
        Some("text") => text(&i["header"]["text"]),
        Some(kind @ ("image" | "video" | "document")) => {
            let media = &i["header"][kind];
            let name = text(&media["filename"]).or_else(|| {
                media["link"]
                    .as_str()
                    .and_then(|l| url::Url::parse(l).ok())
                    .and_then(|u| u.path_segments()?.next_back().map(str::to_string))
                    .filter(|n| !n.is_empty())
            });
            let label = match kind {
                "image" => "Image",
                "video" => "Video",
                _ => "Document",
            };
            Some(match name {
                Some(n) => format!("{label}: {n}"),
                None => label.to_string(),
            })
        }
        _ => None,
    };
    let buttons = action["buttons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| text(&b["reply"]["title"]))
        .collect();
    let sections = action["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| SectionView {
            title: text(&s["title"]).unwrap_or_default(),
            rows: s["rows"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| {
                    Some(RowView {
                        title: text(&r["title"])?,
                        description: text(&r["description"]),
                    })
                })
                .collect(),
        })
        .collect();
    let params = &action["parameters"];
    Some(InteractiveView {
        label,
        header,
        footer: text(&i["footer"]["text"]),
        buttons,
        list_button: (label == "List").then(|| text(&action["button"])).flatten(),
        sections,
        link_text: text(&params["display_text"]),
        link_url: text(&params["url"]).filter(|u| u.starts_with("https://")),
        location: label == "Location request",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_was_sent_and_ignores_answers() {
        let list = interactive_view(&json!({"interactive": {"type": "list", "header": {"type": "text", "text": "Shipping"},
            "body": {"text": "How?"}, "footer": {"text": "Store"},
            "action": {"button": "Options", "sections": [{"title": "Fast", "rows": [{"id": "x", "title": "Express", "description": "1 day"}]}]}}}))
        .unwrap();
        assert_eq!(list.label, "List");
        assert_eq!(list.header.as_deref(), Some("Shipping"));
        assert_eq!(list.footer.as_deref(), Some("Store"));
        assert_eq!(list.list_button.as_deref(), Some("Options"));
        assert_eq!(
            list.sections[0].rows[0].description.as_deref(),
            Some("1 day")
        );
        let cta = interactive_view(
            &json!({"interactive": {"type": "cta_url", "action": {"name": "cta_url",
            "parameters": {"display_text": "Go", "url": "javascript:alert(1)"}}}}),
        )
        .unwrap();
        assert_eq!(cta.link_text.as_deref(), Some("Go"));
        assert_eq!(cta.link_url, None, "only https links");
        assert!(
            interactive_view(&json!({"interactive": {"type": "button_reply", "id": "a"}}))
                .is_none()
        );
        assert!(interactive_view(&json!({})).is_none());
    }
}
