//! View models for the agent UI's askama templates: conversation rows and message bubbles,
//! built from domain rows. Every string here is rendered with askama's HTML escaping, so
//! customer-supplied text (names, messages, captions) always shows as literal text.

use crate::config::Config;
use crate::domain::accounts::User;
use crate::domain::contacts::Contact;
use crate::domain::conversations::Conversation;
use crate::domain::messages::{message_type, Attachment, Message};
use crate::web::api::views;
use crate::whatsapp::window;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;

/// "3m", "2h", "5d", or a date: how long ago `t` was, at `now`.
pub fn time_ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds().max(0);
    match secs {
        0..=59 => "now".into(),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h", secs / 3600),
        86_400..=604_799 => format!("{}d", secs / 86_400),
        _ => t.format("%b %-d").to_string(),
    }
}

/// Up to two initials of a name, for avatars.
pub fn initials(name: &str) -> String {
    let mut out: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .collect();
    if out.is_empty() {
        out.push('?');
    }
    out.to_uppercase()
}

/// An agent's avatar as `templates/partials/avatar.html` draws it: the uploaded image (an
/// `img` from `/media/avatars/…`) or the initials, with the availability dot (a coloured dot
/// with the value as text for screen readers and as `title`). The partial reads it as `av`.
#[derive(Debug, Clone, Default)]
pub struct AvatarView {
    /// The agent's user id (`data-user-id`, which `static/profile.js` updates live).
    pub user_id: i64,
    /// Shown as the wrapper's `title` (e.g. "Assigned to Ben"); `""` for none.
    pub title: String,
    /// Up to two initials, the fallback when there is no image.
    pub initials: String,
    /// `/media/avatars/{user_id}/{file}` when an avatar was uploaded.
    pub url: Option<String>,
    /// `online`, `busy` or `offline`; `""` draws no dot.
    pub availability: String,
    /// The small size (list rows).
    pub small: bool,
}

impl AvatarView {
    /// The avatar of `user` (the name colleagues see is their `available_name`).
    pub fn of(user: &User, availability: &str, small: bool) -> AvatarView {
        AvatarView {
            user_id: user.id,
            title: String::new(),
            initials: initials(user.available_name()),
            url: user.avatar_url(),
            availability: availability.to_string(),
            small,
        }
    }
}

/// A row of the conversation list.
#[derive(Debug, Clone)]
pub struct ConversationRow {
    /// Issue 13 (SLA): the next deadline's chip, when the conversation has an SLA pending.
    pub sla: Option<super::settings_sla::SlaChipView>,
    pub display_id: i32,
    pub name: String,
    pub preview: String,
    pub time_ago: String,
    /// Unix seconds of the latest activity.
    pub timestamp: i64,
    pub unread: i64,
    pub assignee_name: Option<String>,
    pub assignee_initials: Option<String>,
    /// The assignee's avatar (image or initials, availability dot filled in by the caller
    /// from one batch query).
    pub assignee: Option<AvatarView>,
    pub window_closed: bool,
    pub status: String,
    pub inbox_name: String,
    pub active: bool,
    pub labels: Vec<String>,
    pub priority: Option<String>,
}

/// The contact's display name: the profile name, else the phone, else the username or BSUID.
pub fn contact_name(c: &Contact) -> String {
    [
        Some(c.name.clone()),
        c.phone_number.clone(),
        c.username.clone(),
        c.bsuid.clone(),
    ]
    .into_iter()
    .flatten()
    .find(|s| !s.trim().is_empty())
    .unwrap_or_else(|| format!("Contact {}", c.id))
}

/// A one-line preview of a message for the list.
pub fn preview(m: &Message, attachments: &[Attachment]) -> String {
    let mut text = m.content.clone().unwrap_or_default();
    if m.private {
        // Mention markup reads as `@Name` (issue 10).
        text = crate::domain::inbox_notifications::plain_text(&text);
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let body = if !text.is_empty() {
        text
    } else if let Some(a) = attachments.first() {
        match a.file_type.as_str() {
            "image" => "📷 Photo".into(),
            "audio" => "🎤 Audio".into(),
            "video" => "🎬 Video".into(),
            "location" => "📍 Location".into(),
            "contact" => "👤 Contact".into(),
            _ => "📄 File".into(),
        }
    } else {
        String::new()
    };
    let prefix = match (m.message_type, m.private) {
        (_, true) => "Note: ",
        (message_type::OUTGOING, _) => "You: ",
        _ => "",
    };
    let mut s = format!("{prefix}{body}");
    if s.chars().count() > 90 {
        s = s.chars().take(89).collect::<String>() + "…";
    }
    s
}

/// Builds a list row.
#[allow(clippy::too_many_arguments)]
pub fn conversation_row(
    c: &Conversation,
    contact: &Contact,
    last: Option<(&Message, &[Attachment])>,
    unread: i64,
    assignee: Option<&User>,
    inbox_name: &str,
    active: Option<i32>,
    now: DateTime<Utc>,
) -> ConversationRow {
    ConversationRow {
        sla: None,
        display_id: c.display_id,
        name: contact_name(contact),
        preview: last.map(|(m, a)| preview(m, a)).unwrap_or_default(),
        time_ago: time_ago(c.last_activity_at, now),
        timestamp: c.last_activity_at.timestamp(),
        unread,
        assignee_name: assignee.map(|u| u.name.clone()),
        assignee_initials: assignee.map(|u| initials(&u.name)),
        assignee: assignee.map(|u| AvatarView {
            title: format!("Assigned to {}", u.available_name()),
            ..AvatarView::of(u, "", true)
        }),
        window_closed: !window::is_open(c.last_incoming_at, now),
        status: c.status.clone(),
        inbox_name: inbox_name.to_string(),
        active: active == Some(c.display_id),
        labels: c.labels.clone(),
        priority: c.priority.clone(),
    }
}

/// An attachment as a bubble shows it.
#[derive(Debug, Clone)]
pub struct AttachmentView {
    /// The attachment's id (the Retry button's target).
    pub id: i64,
    /// image | audio | video | file | location | contact
    pub kind: String,
    pub url: String,
    pub name: String,
    /// What the file is, for people: "Photo", "Voice message", "Video", or the file name.
    pub label: String,
    /// A file's type in a few capitals for its badge ("PDF", "DOCX"), from the file name's
    /// extension or the mime subtype; "FILE" when neither says.
    pub badge: String,
    /// The file is not downloaded yet: "downloading…" is shown.
    pub pending: bool,
    /// The download failed for good: the reason and a Retry button are shown.
    pub failed: bool,
    /// The stored download error (`attachments.download_error`): why it failed, or why the
    /// last attempt of a pending download failed. Empty when there is none.
    pub error: String,
    pub map_url: String,
    pub lines: Vec<String>,
}

/// A run of message text: plain, a link (`href` set) to show as `<a>`, or an @mention
/// (`mention` set) to show as a chip.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextPart {
    pub text: String,
    /// The URL to link to: always `http:` or `https:`, as parsed and re-serialised by the
    /// `url` crate (so never `javascript:`). `None` for plain text.
    pub href: Option<String>,
    /// True for an @mention in a private note: `text` is its `@Name` label (a chip, not a
    /// link; see `inbox_notifications::parse_mentions`).
    pub mention: bool,
}

/// [`linkify`] for a private note, whose Chatwoot mention markup
/// (`[@Name](mention://user/ID/Name)`) becomes `@Name` chips; other messages are only
/// linkified (mentions are never parsed from replies).
pub fn message_parts(text: &str, private: bool) -> Vec<TextPart> {
    if !private {
        return linkify(text);
    }
    let mut parts = Vec::new();
    let mut at = 0;
    for m in crate::domain::inbox_notifications::parse_mentions(text) {
        parts.extend(linkify(&text[at..m.start]));
        parts.push(TextPart {
            text: m.label,
            href: None,
            mention: true,
        });
        at = m.end;
    }
    parts.extend(linkify(&text[at..]));
    parts
}

/// Splits `text` into plain runs and `http(s)://` links, for clickable links in bubbles.
/// A link starts at `http://` or `https://` (any case) not preceded by a letter or digit, runs
/// to the next whitespace, `<`, `>` or `"`, and leaves out trailing punctuation (`.,;:!?'`
/// and a closing `)` or `]` without its opening one), as chat apps do. A candidate that does
/// not parse as a URL with a host stays text. Concatenating every part's `text` gives `text`
/// back.
pub fn linkify(text: &str) -> Vec<TextPart> {
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` index `text`.
    let lower = text.to_ascii_lowercase();
    let mut parts = Vec::new();
    let mut plain_from = 0;
    let mut at = 0;
    while at < text.len() {
        let rest = &lower[at..];
        let Some(offset) = [rest.find("http://"), rest.find("https://")]
            .into_iter()
            .flatten()
            .min()
        else {
            break;
        };
        let start = at + offset;
        let after_word = text[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
            .map_or(text.len(), |e| start + e);
        let mut candidate = &text[start..end];
        while let Some(last) = candidate.chars().next_back() {
            let unbalanced = |open: char, close: char| {
                last == close && candidate.matches(open).count() < candidate.matches(close).count()
            };
            if matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '\'')
                || unbalanced('(', ')')
                || unbalanced('[', ']')
            {
                candidate = &candidate[..candidate.len() - last.len_utf8()];
            } else {
                break;
            }
        }
        let href = url::Url::parse(candidate).ok().filter(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        });
        match href {
            Some(u) if !after_word => {
                if plain_from < start {
                    parts.push(TextPart {
                        text: text[plain_from..start].to_string(),
                        href: None,
                        mention: false,
                    });
                }
                parts.push(TextPart {
                    text: candidate.to_string(),
                    href: Some(u.to_string()),
                    mention: false,
                });
                plain_from = start + candidate.len();
                at = plain_from;
            }
            _ => at = start + "http".len(),
        }
    }
    if plain_from < text.len() {
        parts.push(TextPart {
            text: text[plain_from..].to_string(),
            href: None,
            mention: false,
        });
    }
    parts
}

/// A message bubble (or an activity line).
#[derive(Debug, Clone)]
pub struct Bubble {
    pub id: i64,
    /// incoming | outgoing | note | activity
    pub kind: &'static str,
    pub sender: String,
    /// The text shown in the bubble. Empty for a location or a shared contact, whose card
    /// (an attachment) already shows what the stored content summarises.
    pub content: String,
    /// `content` split into text and clickable links ([`linkify`]).
    pub content_parts: Vec<TextPart>,
    /// The time as "14:05 UTC": the fallback text of its `<time>`, which
    /// `static/local_time.js` shows in the viewer's time zone and locale.
    pub time: String,
    /// RFC 3339, for the `<time>` element.
    pub iso: String,
    pub attachments: Vec<AttachmentView>,
    /// The quoted message a reply refers to.
    pub quote: Option<String>,
    /// The id of the quoted message (`content_attributes.in_reply_to`), for jumping to it.
    pub quote_id: Option<i64>,
    /// The message can be replied to or reacted to on WhatsApp: it has a wamid, is not a
    /// private note, an activity line or a reaction (Meta: messages API `context`).
    pub can_quote: bool,
    /// The agent's own reaction on this message (`content_attributes.reactions` entry with
    /// `sender_type: "User"`), empty when none: reacting with it again removes it.
    pub my_reaction: String,
    /// A failed outgoing WhatsApp message: the Retry action is offered.
    pub can_retry: bool,
    /// Meta's error on a failed message as stored in `external_error`: `"(#code) title"`.
    pub error_title: String,
    /// Meta's `error_data.details` (`content_attributes.external_error_details`); may be empty.
    pub error_details: String,
    pub reactions: Vec<String>,
    pub forwarded: bool,
    pub edited: bool,
    pub deleted: bool,
    /// progress | sent | delivered | read | failed
    pub status: String,
    /// Meta's error on a failed message, shown on hover.
    pub error: String,
    pub template_name: Option<String>,
    pub footer: Option<String>,
    pub buttons: Vec<String>,
    /// An interactive message the business sent: its header, footer, buttons or list.
    pub interactive: Option<super::interactive_view::InteractiveView>,
}

fn attachment_view(config: &Config, a: &Attachment) -> AttachmentView {
    let url = views::data_url(config, a)
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (lat, long) = (a.coordinates_lat, a.coordinates_long);
    let map_url = match (lat, long) {
        (Some(lat), Some(long)) => {
            format!("https://www.openstreetmap.org/?mlat={lat}&mlon={long}#map=16/{lat}/{long}")
        }
        _ => a.external_url.clone().unwrap_or_default(),
    };
    let mut lines = Vec::new();
    if a.file_type == "location" {
        for k in ["name", "address"] {
            if let Some(v) = a.meta.get(k).and_then(Value::as_str) {
                lines.push(v.to_string());
            }
        }
        if lines.is_empty() {
            lines.push(
                a.fallback_title
                    .clone()
                    .unwrap_or_else(|| "Location".into()),
            );
        }
    }
    if a.file_type == "contact" {
        let name = a.meta["name"]["formatted_name"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| a.fallback_title.clone().unwrap_or_else(|| "Contact".into()));
        lines.push(name);
        for p in a.meta["phones"].as_array().into_iter().flatten() {
            if let Some(ph) = p["phone"].as_str() {
                lines.push(ph.to_string());
            }
        }
    }
    let name = a
        .file_name
        .clone()
        .unwrap_or_else(|| format!("{} file", a.file_type));
    let label = match a.file_type.as_str() {
        "image" => "Photo".to_string(),
        "audio" if a.meta["is_recorded_audio"] == Value::Bool(true) => "Voice message".into(),
        "audio" => "Audio".into(),
        "video" => "Video".into(),
        _ => name.clone(),
    };
    let badge = a
        .extension()
        .filter(|e| (1..=5).contains(&e.len()) && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|e| e.to_ascii_uppercase())
        .unwrap_or_else(|| "FILE".into());
    let is_media = matches!(a.file_type.as_str(), "image" | "audio" | "video" | "file");
    AttachmentView {
        id: a.id,
        kind: a.file_type.clone(),
        url,
        name,
        label,
        badge,
        failed: is_media && a.download_status == "failed",
        pending: is_media && !matches!(a.download_status.as_str(), "downloaded" | "failed"),
        error: a.download_error.clone().unwrap_or_default(),
        map_url,
        lines,
    }
}

/// Builds a bubble. `quotes` maps message ids to their content, for reply context;
/// `agents` maps user ids to names.
pub fn bubble(
    config: &Config,
    m: &Message,
    attachments: &[Attachment],
    contact_name: &str,
    agents: &HashMap<i64, String>,
    quotes: &HashMap<i64, String>,
) -> Bubble {
    let attrs = &m.content_attributes;
    let kind = match (m.message_type, m.private) {
        (message_type::ACTIVITY, _) => "activity",
        (_, true) => "note",
        (message_type::INCOMING, _) => "incoming",
        _ => "outgoing",
    };
    let sender = match m.sender_type.as_deref() {
        Some("Contact") => contact_name.to_string(),
        Some("User") => m
            .sender_id
            .and_then(|id| agents.get(&id).cloned())
            .unwrap_or_else(|| "Agent".into()),
        _ if attrs["external_echo"] == Value::Bool(true) => "WhatsApp Business app".into(),
        // Issue 13 (hours): greeting, out of office and CSAT surveys have no sender.
        _ if attrs["automated"].is_string() => "Automatic reply".into(),
        _ => String::new(),
    };
    let quote_id = attrs["in_reply_to"]
        .as_i64()
        .filter(|id| quotes.contains_key(id));
    let quote = attrs["in_reply_to"]
        .as_i64()
        .and_then(|id| quotes.get(&id).cloned())
        .map(|q| {
            if q.chars().count() > 120 {
                q.chars().take(119).collect::<String>() + "…"
            } else {
                q
            }
        });
    let reactions = attrs["reactions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["emoji"].as_str().map(str::to_string))
        .collect();
    let my_reaction = attrs["reactions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["sender_type"] == "User")
        .filter_map(|r| r["emoji"].as_str().map(str::to_string))
        .next_back()
        .unwrap_or_default();
    let is_reaction = attrs["is_reaction"] == Value::Bool(true);
    let deleted = attrs["deleted"] == Value::Bool(true);
    let can_quote = m.source_id.is_some()
        && !m.private
        && !is_reaction
        && !deleted
        && matches!(kind, "incoming" | "outgoing");
    let error_title = m.external_error.clone().unwrap_or_default();
    let error_details = attrs["external_error_details"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let error = [
        m.external_error.clone(),
        attrs["external_error_details"].as_str().map(str::to_string),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" — ");
    let template = attrs.get("template").filter(|t| t.is_object());
    // A location or a shared contact is stored with a text summary as its content (for
    // previews, search and API clients) and shown by its card: showing both doubled it.
    let has_card = |kind: &str| attachments.iter().any(|a| a.file_type == kind);
    let summarised_by_card = (attrs["location"].is_object() && has_card("location"))
        || (attrs["contacts"].is_array() && has_card("contact"));
    let content = if summarised_by_card {
        String::new()
    } else {
        m.content.clone().unwrap_or_default()
    };
    Bubble {
        id: m.id,
        kind,
        sender,
        content_parts: message_parts(&content, m.private),
        content,
        time: m.created_at.format("%H:%M UTC").to_string(),
        iso: m.created_at.to_rfc3339(),
        attachments: attachments
            .iter()
            .map(|a| attachment_view(config, a))
            .collect(),
        quote,
        quote_id,
        can_quote,
        my_reaction,
        can_retry: kind == "outgoing" && m.status == "failed",
        error_title,
        error_details,
        reactions,
        forwarded: attrs["forwarded"] == Value::Bool(true)
            || attrs["frequently_forwarded"] == Value::Bool(true),
        edited: attrs["edited"] == Value::Bool(true),
        deleted,
        status: if m.status == "played" {
            "read".into()
        } else {
            m.status.clone()
        },
        error,
        template_name: template.and_then(|t| t["name"].as_str().map(str::to_string)),
        footer: template.and_then(|t| t["footer"].as_str().map(str::to_string)),
        buttons: template
            .and_then(|t| t["buttons"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|b| b["text"].as_str().map(str::to_string))
            .collect(),
        interactive: if kind == "outgoing" {
            super::interactive_view::interactive_view(attrs)
        } else {
            None
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_and_initials() {
        let now = Utc::now();
        assert_eq!(time_ago(now, now), "now");
        assert_eq!(time_ago(now - chrono::Duration::minutes(5), now), "5m");
        assert_eq!(time_ago(now - chrono::Duration::hours(3), now), "3h");
        assert_eq!(initials("Ana Admin"), "AA");
        assert_eq!(initials("  "), "?");
    }

    fn links(text: &str) -> Vec<(String, Option<String>)> {
        let parts = linkify(text);
        assert_eq!(
            parts.iter().map(|p| p.text.as_str()).collect::<String>(),
            text,
            "the parts give the text back"
        );
        parts.into_iter().map(|p| (p.text, p.href)).collect()
    }

    fn link(text: &str) -> (String, Option<String>) {
        (text.to_string(), Some(text.to_string()))
    }

    fn plain(text: &str) -> (String, Option<String>) {
        (text.to_string(), None)
    }

    #[test]
    fn mentions_are_chips_in_notes_only() {
        let t = "Hi [@Bo](mention://user/4/Bo) see https://example.com/x [x](mention://nope)";
        let parts = message_parts(t, true);
        let chips: Vec<&str> = parts
            .iter()
            .filter(|p| p.mention)
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(chips, vec!["@Bo"]);
        assert!(parts.iter().any(|p| p.href.is_some()), "links still work");
        assert!(parts.iter().all(|p| !(p.mention && p.href.is_some())));
        // A reply's markup stays text: mentions are never parsed outside notes.
        assert!(message_parts(t, false).iter().all(|p| !p.mention));
    }

    #[test]
    fn http_links_become_parts_and_nothing_else_does() {
        assert_eq!(links("no link here"), vec![plain("no link here")]);
        assert_eq!(links(""), vec![]);
        assert_eq!(
            links("See https://example.com/a?b=1&c=2."),
            vec![
                plain("See "),
                link("https://example.com/a?b=1&c=2"),
                plain(".")
            ]
        );
        assert_eq!(
            links("(http://example.com/x) and HTTPS://Example.com/Y!"),
            vec![
                plain("("),
                link("http://example.com/x"),
                plain(") and "),
                (
                    "HTTPS://Example.com/Y".into(),
                    Some("https://example.com/Y".into())
                ),
                plain("!"),
            ]
        );
        assert_eq!(
            links("https://en.wikipedia.org/wiki/Rust_(language)"),
            vec![link("https://en.wikipedia.org/wiki/Rust_(language)")]
        );
        // Only http(s): javascript:, data: and the like stay text.
        for t in [
            "javascript:alert(1)",
            "JavaScript://example.com/%0aalert(1)",
            "data:text/html,<b>x</b>",
            "xhttps://example.com",
            "https://",
            "http:// spaced",
        ] {
            assert!(links(t).iter().all(|(_, h)| h.is_none()), "{t}");
        }
        // A link ends at a quote or an angle bracket; the rest stays text (escaped later).
        assert_eq!(
            links("http://example.org/\"><script>"),
            vec![link("http://example.org/"), plain("\"><script>")]
        );
        // Multibyte text around links keeps its characters.
        assert_eq!(
            links("مرحبا https://example.com/ü שלום"),
            vec![
                plain("مرحبا "),
                (
                    "https://example.com/ü".into(),
                    Some("https://example.com/%C3%BC".into())
                ),
                plain(" שלום"),
            ]
        );
    }
}
