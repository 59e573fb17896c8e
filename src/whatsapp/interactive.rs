//! Interactive messages an agent or integrator sends: **reply buttons**, a **list**, a
//! **call-to-action URL button** and a **location request** (Meta: messages/
//! interactive-reply-buttons-messages, interactive-list-messages, interactive-cta-url-messages,
//! location-request-messages; `../shared/reference/graph-api-notes.md` §2–§5).
//!
//! [`Interactive::from_request`] reads what `POST …/conversations/{id}/messages` carries and
//! checks every one of Meta's limits before anything is stored, naming the offending field;
//! [`Interactive::graph_object`] is the exact Graph `interactive` object, which is stored in
//! `content_attributes.interactive` and sent as is by the send job
//! ([`crate::whatsapp::outbound::interactive`]). Pure functions.
//!
//! The request, as Chatwoot's API has it plus fields of our own (README, "Interactive
//! messages"):
//! - `content_type: "input_select"` with `content_attributes.items: [{title, value}]` (Chatwoot)
//!   → reply buttons for 1–3 items, a list for 4–10; `content_attributes.sections:
//!   [{title, items: [{title, value, description?}]}]` (ours) → always a list, whose opening
//!   button is `content_attributes.button_text` (default Chatwoot's "Choose an item");
//! - `content_type: "cta_url"` (ours) with `content_attributes.display_text` and `url`;
//! - `content_type: "location_request"` (ours): the body only;
//! - `content` is the body; `content_attributes.header` and `footer` (ours) are the optional
//!   header and footer (not for a location request). The header is a string (text), or an
//!   object (h12): `{"type": "text", "text"}`, or `{"type": "image"|"video"|"document",
//!   "link": "https://…", "filename"?}` (`filename` for a document only) on reply buttons and
//!   CTA URL messages (Meta, graph-api-notes.md §2 and §4; a list's header is text only).
//!
//! A missing `value` takes the item's `title` (the id WhatsApp sends back with the answer).

use crate::error::{AppError, AppResult};
use serde_json::{json, Map, Value};

/// Chatwoot's content type for a message offering choices (buttons or a list).
pub const INPUT_SELECT: &str = "input_select";
/// Switchboard's content type for a call-to-action URL button message.
pub const CTA_URL: &str = "cta_url";
/// Switchboard's content type for a location request message.
pub const LOCATION_REQUEST: &str = "location_request";

/// Reply buttons per message: 1 to 3 (Meta, `action.buttons`).
pub const MAX_BUTTONS: usize = 3;
/// Characters in a reply button's title (Meta, `reply.title`).
pub const MAX_BUTTON_TITLE: usize = 20;
/// Characters in a reply button's id (Meta, `reply.id`).
pub const MAX_BUTTON_ID: usize = 256;
/// Characters in the body of reply buttons, a CTA URL or a location request (Meta, `body.text`).
pub const MAX_BODY: usize = 1024;
/// Characters in the body of a list message (Meta, list `body.text`).
pub const MAX_LIST_BODY: usize = 4096;
/// Characters in a text header (Meta, `header.text`).
pub const MAX_HEADER: usize = 60;
/// Characters in a footer (Meta, `footer.text`).
pub const MAX_FOOTER: usize = 60;
/// Characters in the button that opens a list (Meta, `action.button`).
pub const MAX_LIST_BUTTON: usize = 20;
/// Sections in a list (Meta, `action.sections`).
pub const MAX_SECTIONS: usize = 10;
/// Rows in a list, counted across all its sections (Meta).
pub const MAX_ROWS: usize = 10;
/// Characters in a section title (Meta, `section.title`).
pub const MAX_SECTION_TITLE: usize = 24;
/// Characters in a row's id (Meta, `row.id`).
pub const MAX_ROW_ID: usize = 200;
/// Characters in a row's title (Meta, `row.title`).
pub const MAX_ROW_TITLE: usize = 24;
/// Characters in a row's description (Meta, `row.description`).
pub const MAX_ROW_DESCRIPTION: usize = 72;
/// Characters in a CTA button's label (Meta, `parameters.display_text`).
pub const MAX_DISPLAY_TEXT: usize = 20;
/// Characters in a CTA URL. Meta names no limit; this is Switchboard's (browsers' practical one).
pub const MAX_URL: usize = 2000;
/// The list button's label when none is given: Chatwoot's
/// (`conversations.messages.whatsapp.list_button_label`).
pub const DEFAULT_LIST_BUTTON: &str = "Choose an item";

/// One choice: a reply button or a list row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The id WhatsApp sends back in `button_reply.id` / `list_reply.id` (Chatwoot's `value`).
    pub id: String,
    pub title: String,
    /// A list row's second line; reply buttons have none.
    pub description: Option<String>,
}

/// A list section: its title and rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub title: String,
    pub rows: Vec<Choice>,
}

/// What the message offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// 1–3 reply buttons.
    Buttons(Vec<Choice>),
    /// A list opened by `button`, 1–10 sections with 1–10 rows in total.
    List {
        button: String,
        sections: Vec<Section>,
    },
    /// One button opening `url` (https).
    CtaUrl { display_text: String, url: String },
    /// A "Send location" button.
    LocationRequest,
}

/// Characters in a media header's document `filename` (Meta names no limit; Switchboard's).
pub const MAX_FILENAME: usize = 240;

/// The media kinds a header may carry (Meta: reply buttons and CTA URL `header.type`).
pub const MEDIA_HEADERS: [&str; 3] = ["image", "video", "document"];

/// An interactive message's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    /// `{"type": "text", "text"}`, at most [`MAX_HEADER`] characters.
    Text(String),
    /// `{"type": kind, kind: {"link", "filename"?}}`: an https link to the media; `filename`
    /// only for a document.
    Media {
        /// `image`, `video` or `document`.
        kind: &'static str,
        link: String,
        filename: Option<String>,
    },
}

/// Reads `content_attributes.header`: a string (text) or an object (see the module
/// documentation). Errors: 422 naming `content_attributes.header` or its `.type`, `.text`,
/// `.link` or `.filename`.
fn header_of(v: Option<&Value>, field: &str) -> AppResult<Option<Header>> {
    let Some(Value::Object(o)) = v else {
        return Ok(optional_text(v, field, "a header", MAX_HEADER)?.map(Header::Text));
    };
    let kind = o.get("type").and_then(Value::as_str).unwrap_or_default();
    let sub = |k: &str| format!("{field}.{k}");
    if let Some(k) = o
        .keys()
        .find(|k| !["type", "text", "link", "filename"].contains(&k.as_str()))
    {
        return Err(AppError::invalid(
            &sub(k),
            format!("{field}.{k} is not a header field: give type with text, or with link (and filename for a document)"),
        ));
    }
    if kind == "text" {
        if o.contains_key("link") || o.contains_key("filename") {
            return Err(AppError::invalid(
                &sub("link"),
                "a text header has text only, no link or filename",
            ));
        }
        return Ok(Some(Header::Text(required_text(
            o.get("text"),
            &sub("text"),
            "a header",
            MAX_HEADER,
        )?)));
    }
    let Some(kind) = MEDIA_HEADERS.into_iter().find(|m| *m == kind) else {
        return Err(AppError::invalid(
            &sub("type"),
            "the header's type must be text, image, video or document",
        ));
    };
    if o.get("text").is_some_and(|t| !t.is_null()) {
        return Err(AppError::invalid(
            &sub("text"),
            format!("an {kind} header has no text; put the words in the body"),
        ));
    }
    let link = required_text(o.get("link"), &sub("link"), "the media link", MAX_URL)?;
    let parsed = url::Url::parse(&link).map_err(|_| {
        AppError::invalid(
            &sub("link"),
            format!("\"{link}\" is not a URL; give a full https:// address of the {kind}"),
        )
    })?;
    if parsed.scheme() != "https" || parsed.host_str().is_none() {
        return Err(AppError::invalid(
            &sub("link"),
            "the media link must start with https:// and name a host (WhatsApp fetches it)",
        ));
    }
    let filename = optional_text(
        o.get("filename"),
        &sub("filename"),
        "the file name",
        MAX_FILENAME,
    )?;
    if filename.is_some() && kind != "document" {
        return Err(AppError::invalid(
            &sub("filename"),
            "only a document header has a file name",
        ));
    }
    Ok(Some(Header::Media {
        kind,
        link,
        filename,
    }))
}

/// A validated interactive message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interactive {
    /// Optional header (not for a location request; text only on a list).
    pub header: Option<Header>,
    pub body: String,
    /// Optional footer (not for a location request).
    pub footer: Option<String>,
    pub action: Action,
}

/// True for the content types sent as an interactive message.
pub fn is_interactive(content_type: &str) -> bool {
    matches!(content_type, INPUT_SELECT | CTA_URL | LOCATION_REQUEST)
}

/// The keys of `content_attributes` this module reads (they are not kept as extra attributes).
const OWN_KEYS: [&str; 7] = [
    "items",
    "sections",
    "header",
    "footer",
    "button_text",
    "display_text",
    "url",
];

fn too_long(field: &str, what: &str, max: usize, text: &str) -> AppError {
    AppError::invalid(
        field,
        format!(
            "{what} is limited to {max} characters on WhatsApp (\"{text}\" has {})",
            text.chars().count()
        ),
    )
}

/// A trimmed, non-empty string of at most `max` characters, or a 422 naming `field`.
fn required_text(v: Option<&Value>, field: &str, what: &str, max: usize) -> AppResult<String> {
    match optional_text(v, field, what, max)? {
        Some(t) => Ok(t),
        None => Err(AppError::invalid(field, format!("{what} is required"))),
    }
}

/// A trimmed string of at most `max` characters; `None` when missing, null or blank.
fn optional_text(
    v: Option<&Value>,
    field: &str,
    what: &str,
    max: usize,
) -> AppResult<Option<String>> {
    let text = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(AppError::invalid(field, format!("{what} must be a string"))),
    };
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > max {
        return Err(too_long(field, what, max, &text));
    }
    Ok(Some(text))
}

/// An array given as JSON or as a JSON string (a multipart form's field).
fn array_of(v: &Value, field: &str) -> AppResult<Vec<Value>> {
    let parsed;
    let v = match v {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s)
                .map_err(|_| AppError::invalid(field, format!("{field} must be an array")))?;
            &parsed
        }
        other => other,
    };
    v.as_array()
        .cloned()
        .ok_or_else(|| AppError::invalid(field, format!("{field} must be an array")))
}

/// Reads one item (`{title, value?, description?}`) at `field` as a button or a row.
fn choice(v: &Value, field: &str, row: bool) -> AppResult<Choice> {
    if !v.is_object() {
        return Err(AppError::invalid(
            field,
            format!("{field} must be an object with a title and a value"),
        ));
    }
    let (what, max_title, max_id) = if row {
        ("a list row's title", MAX_ROW_TITLE, MAX_ROW_ID)
    } else {
        ("a reply button's title", MAX_BUTTON_TITLE, MAX_BUTTON_ID)
    };
    let title = required_text(v.get("title"), &format!("{field}.title"), what, max_title)?;
    let id = optional_text(
        v.get("value"),
        &format!("{field}.value"),
        "a value (the id WhatsApp sends back)",
        max_id,
    )?
    .unwrap_or_else(|| title.clone());
    let description = if row {
        optional_text(
            v.get("description"),
            &format!("{field}.description"),
            "a list row's description",
            MAX_ROW_DESCRIPTION,
        )?
    } else {
        if v.get("description").is_some_and(|d| !d.is_null()) {
            return Err(AppError::invalid(
                &format!("{field}.description"),
                "reply buttons have no description; send more than 3 items or sections for a list",
            ));
        }
        None
    };
    Ok(Choice {
        id,
        title,
        description,
    })
}

/// 422 when two choices share an id (or, for buttons, a title).
fn unique(choices: &[(String, &Choice)], buttons: bool) -> AppResult<()> {
    for (i, (field, c)) in choices.iter().enumerate() {
        for (_, earlier) in &choices[..i] {
            if earlier.id == c.id {
                return Err(AppError::invalid(
                    &format!("{field}.value"),
                    format!(
                        "two choices have the value \"{}\" (a choice without a value uses its title): each needs its own",
                        c.id
                    ),
                ));
            }
            if buttons && earlier.title == c.title {
                return Err(AppError::invalid(
                    &format!("{field}.title"),
                    format!(
                        "two reply buttons are titled \"{}\": WhatsApp needs each title to be different",
                        c.title
                    ),
                ));
            }
        }
    }
    Ok(())
}

impl Interactive {
    /// Reads an interactive message from a create-message request: `content_type`, `content`
    /// (the body) and `content_attributes`, whose keys this reads (`items`, `sections`,
    /// `header`, `footer`, `button_text`, `display_text`, `url`) are removed from `attrs`.
    /// Returns `None` (and leaves `attrs` alone) for any other content type (`text` and
    /// Chatwoot's web-widget types are sent as text).
    ///
    /// Errors: 422 naming the field (`content`, `content_attributes.items[1].title`,
    /// `content_attributes.sections[0].items[2].description`, `content_attributes.url`, …)
    /// with Meta's limit and the length given.
    pub fn from_request(
        content_type: Option<&str>,
        content: Option<&str>,
        attrs: &mut Map<String, Value>,
    ) -> AppResult<Option<Interactive>> {
        let Some(kind) = content_type.filter(|k| is_interactive(k)) else {
            return Ok(None);
        };
        let mut own = Map::new();
        for k in OWN_KEYS {
            if let Some(v) = attrs.remove(k) {
                own.insert(k.to_string(), v);
            }
        }
        let field = |k: &str| format!("content_attributes.{k}");
        let header = header_of(own.get("header"), &field("header"))?;
        let footer = optional_text(own.get("footer"), &field("footer"), "a footer", MAX_FOOTER)?;
        let refuse_others = |allowed: &[&str]| -> AppResult<()> {
            match OWN_KEYS
                .iter()
                .find(|k| !allowed.contains(k) && own.get(**k).is_some_and(|v| !v.is_null()))
            {
                Some(k) => Err(AppError::invalid(
                    &field(k),
                    format!("content_attributes.{k} does not apply to a {kind} message"),
                )),
                None => Ok(()),
            }
        };
        let action = match kind {
            INPUT_SELECT => {
                let items = own.get("items").filter(|v| !v.is_null());
                let sections = own.get("sections").filter(|v| !v.is_null());
                match (items, sections) {
                    (Some(_), Some(_)) => {
                        return Err(AppError::invalid(
                            &field("sections"),
                            "give either content_attributes.items or content_attributes.sections, not both",
                        ))
                    }
                    (None, None) => {
                        return Err(AppError::invalid(
                            &field("items"),
                            "an input_select message needs content_attributes.items: [{\"title\": …, \"value\": …}]",
                        ))
                    }
                    (Some(items), None) => {
                        let items = array_of(items, &field("items"))?;
                        if items.is_empty() || items.len() > MAX_ROWS {
                            return Err(AppError::invalid(
                                &field("items"),
                                format!(
                                    "content_attributes.items needs 1 to {MAX_BUTTONS} items (reply buttons) or up to {MAX_ROWS} (a list); it has {}",
                                    items.len()
                                ),
                            ));
                        }
                        if items.len() <= MAX_BUTTONS {
                            refuse_others(&["items", "header", "footer"])?;
                            let fields: Vec<String> = (0..items.len())
                                .map(|i| format!("content_attributes.items[{i}]"))
                                .collect();
                            let buttons = items
                                .iter()
                                .zip(&fields)
                                .map(|(v, f)| choice(v, f, false))
                                .collect::<AppResult<Vec<_>>>()?;
                            let named: Vec<(String, &Choice)> =
                                fields.iter().cloned().zip(buttons.iter()).collect();
                            unique(&named, true)?;
                            Action::Buttons(buttons)
                        } else {
                            refuse_others(&["items", "header", "footer", "button_text"])?;
                            let rows = items
                                .iter()
                                .enumerate()
                                .map(|(i, v)| {
                                    choice(v, &format!("content_attributes.items[{i}]"), true)
                                })
                                .collect::<AppResult<Vec<_>>>()?;
                            let named: Vec<(String, &Choice)> = rows
                                .iter()
                                .enumerate()
                                .map(|(i, c)| (format!("content_attributes.items[{i}]"), c))
                                .collect();
                            unique(&named, false)?;
                            let button = list_button(&own)?;
                            Action::List {
                                sections: vec![Section {
                                    title: button.clone(),
                                    rows,
                                }],
                                button,
                            }
                        }
                    }
                    (None, Some(sections)) => {
                        refuse_others(&["sections", "header", "footer", "button_text"])?;
                        list_from_sections(sections, list_button(&own)?)?
                    }
                }
            }
            CTA_URL => {
                refuse_others(&["display_text", "url", "header", "footer"])?;
                let display_text = required_text(
                    own.get("display_text"),
                    &field("display_text"),
                    "the button's text (display_text)",
                    MAX_DISPLAY_TEXT,
                )?;
                let url = required_text(own.get("url"), &field("url"), "the URL", MAX_URL)?;
                let parsed = url::Url::parse(&url).map_err(|_| {
                    AppError::invalid(
                        &field("url"),
                        format!("\"{url}\" is not a URL; give a full https:// address"),
                    )
                })?;
                if parsed.scheme() != "https" || parsed.host_str().is_none() {
                    return Err(AppError::invalid(
                        &field("url"),
                        "the URL must start with https:// and name a host",
                    ));
                }
                Action::CtaUrl { display_text, url }
            }
            _ => {
                refuse_others(&[])?;
                Action::LocationRequest
            }
        };
        if matches!(header, Some(Header::Media { .. })) && matches!(action, Action::List { .. }) {
            return Err(AppError::invalid(
                &field("header"),
                "a list message's header is text only on WhatsApp; media headers go on reply buttons or a link button",
            ));
        }
        let max_body = match action {
            Action::List { .. } => MAX_LIST_BODY,
            _ => MAX_BODY,
        };
        let body = content.map(str::trim).unwrap_or_default();
        if body.is_empty() {
            return Err(AppError::invalid(
                "content",
                "an interactive message needs its body text in content",
            ));
        }
        if body.chars().count() > max_body {
            return Err(AppError::invalid(
                "content",
                format!(
                    "the body of this message is limited to {max_body} characters on WhatsApp (this one has {})",
                    body.chars().count()
                ),
            ));
        }
        Ok(Some(Interactive {
            header,
            body: body.to_string(),
            footer,
            action,
        }))
    }

    /// The stored `content_type`: `input_select` for buttons and lists (Chatwoot's),
    /// `cta_url`, `location_request`.
    pub fn content_type(&self) -> &'static str {
        match self.action {
            Action::Buttons(_) | Action::List { .. } => INPUT_SELECT,
            Action::CtaUrl { .. } => CTA_URL,
            Action::LocationRequest => LOCATION_REQUEST,
        }
    }

    /// Graph's `interactive` object (graph-api-notes.md §2–§5): `type` `button`, `list`,
    /// `cta_url` or `location_request_message`, with `header` (text), `body`, `footer` and
    /// `action` as Meta documents them.
    pub fn graph_object(&self) -> Value {
        let mut o = Map::new();
        let kind = match &self.action {
            Action::Buttons(_) => "button",
            Action::List { .. } => "list",
            Action::CtaUrl { .. } => "cta_url",
            Action::LocationRequest => "location_request_message",
        };
        o.insert("type".into(), json!(kind));
        match &self.header {
            Some(Header::Text(h)) => {
                o.insert("header".into(), json!({"type": "text", "text": h}));
            }
            Some(Header::Media {
                kind,
                link,
                filename,
            }) => {
                let mut media = json!({ "link": link });
                if let Some(f) = filename {
                    media["filename"] = json!(f);
                }
                let mut h = Map::new();
                h.insert("type".into(), json!(kind));
                h.insert((*kind).to_string(), media);
                o.insert("header".into(), Value::Object(h));
            }
            None => {}
        }
        o.insert("body".into(), json!({ "text": self.body }));
        if let Some(f) = &self.footer {
            o.insert("footer".into(), json!({ "text": f }));
        }
        let row = |c: &Choice| {
            let mut r = json!({"id": c.id, "title": c.title});
            if let Some(d) = &c.description {
                r["description"] = json!(d);
            }
            r
        };
        let action = match &self.action {
            Action::Buttons(buttons) => json!({"buttons": buttons
                .iter()
                .map(|b| json!({"type": "reply", "reply": {"id": b.id, "title": b.title}}))
                .collect::<Vec<_>>()}),
            Action::List { button, sections } => json!({
                "button": button,
                "sections": sections
                    .iter()
                    .map(|s| json!({"title": s.title, "rows": s.rows.iter().map(row).collect::<Vec<_>>()}))
                    .collect::<Vec<_>>(),
            }),
            Action::CtaUrl { display_text, url } => json!({
                "name": "cta_url",
                "parameters": {"display_text": display_text, "url": url},
            }),
            Action::LocationRequest => json!({"name": "send_location"}),
        };
        o.insert("action".into(), action);
        Value::Object(o)
    }

    /// What is stored in `content_attributes`: `interactive` (the Graph object, sent as is)
    /// and, for buttons and lists, Chatwoot's `items` (`[{title, value}]`, every row of every
    /// section, with a row's `description`), so Chatwoot clients read the choices.
    pub fn stored_attributes(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("interactive".into(), self.graph_object());
        let choices: Vec<&Choice> = match &self.action {
            Action::Buttons(b) => b.iter().collect(),
            Action::List { sections, .. } => sections.iter().flat_map(|s| &s.rows).collect(),
            _ => vec![],
        };
        if !choices.is_empty() {
            m.insert(
                "items".into(),
                Value::Array(
                    choices
                        .iter()
                        .map(|c| {
                            let mut item = json!({"title": c.title, "value": c.id});
                            if let Some(d) = &c.description {
                                item["description"] = json!(d);
                            }
                            item
                        })
                        .collect(),
                ),
            );
        }
        m
    }
}

/// `content_attributes.button_text`, or [`DEFAULT_LIST_BUTTON`].
fn list_button(own: &Map<String, Value>) -> AppResult<String> {
    Ok(optional_text(
        own.get("button_text"),
        "content_attributes.button_text",
        "the button that opens the list (button_text)",
        MAX_LIST_BUTTON,
    )?
    .unwrap_or_else(|| DEFAULT_LIST_BUTTON.to_string()))
}

/// A list from `content_attributes.sections`: 1–10 sections, each titled (when more than one)
/// with at least one row, 1–10 rows in total, row values unique across the list.
fn list_from_sections(sections: &Value, button: String) -> AppResult<Action> {
    let field = "content_attributes.sections";
    let raw = array_of(sections, field)?;
    if raw.is_empty() || raw.len() > MAX_SECTIONS {
        return Err(AppError::invalid(
            field,
            format!(
                "a list has 1 to {MAX_SECTIONS} sections; this one has {}",
                raw.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut named: Vec<(String, Choice)> = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let sf = format!("{field}[{i}]");
        if !s.is_object() {
            return Err(AppError::invalid(
                &sf,
                format!("{sf} must be an object with a title and items"),
            ));
        }
        let title = optional_text(
            s.get("title"),
            &format!("{sf}.title"),
            "a section title",
            MAX_SECTION_TITLE,
        )?;
        let title = match title {
            Some(t) => t,
            None if raw.len() == 1 => button.clone(),
            None => {
                return Err(AppError::invalid(
                    &format!("{sf}.title"),
                    "each section of a list with several sections needs a title",
                ))
            }
        };
        let items_field = format!("{sf}.items");
        let items = match s.get("items").or_else(|| s.get("rows")) {
            Some(v) if !v.is_null() => array_of(v, &items_field)?,
            _ => vec![],
        };
        if items.is_empty() {
            return Err(AppError::invalid(
                &items_field,
                "each section needs at least one row in items",
            ));
        }
        let mut rows = Vec::with_capacity(items.len());
        for (j, v) in items.iter().enumerate() {
            let f = format!("{items_field}[{j}]");
            let c = choice(v, &f, true)?;
            named.push((f, c.clone()));
            rows.push(c);
        }
        out.push(Section { title, rows });
    }
    if named.len() > MAX_ROWS {
        return Err(AppError::invalid(
            field,
            format!(
                "a list holds at most {MAX_ROWS} rows across all its sections; this one has {}",
                named.len()
            ),
        ));
    }
    let refs: Vec<(String, &Choice)> = named.iter().map(|(f, c)| (f.clone(), c)).collect();
    unique(&refs, false)?;
    Ok(Action::List {
        button,
        sections: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(kind: &str, content: &str, attrs: Value) -> AppResult<Interactive> {
        let mut m = attrs.as_object().cloned().unwrap();
        Interactive::from_request(Some(kind), Some(content), &mut m).map(|i| i.unwrap())
    }

    fn field_of(e: AppError) -> String {
        match e {
            AppError::Unprocessable { field, .. } => field.unwrap_or_default(),
            other => panic!("not a 422: {other:?}"),
        }
    }

    // h12: media headers on reply buttons (Meta, graph-api-notes.md §2), exact Graph bodies.
    #[test]
    fn reply_buttons_carry_an_image_video_or_document_header_by_link() {
        let items = json!([{"title": "Yes", "value": "y"}, {"title": "No", "value": "n"}]);
        for (header, expected) in [
            (
                json!({"type": "image", "link": "https://shop.example.com/banner.png"}),
                json!({"type": "image", "image": {"link": "https://shop.example.com/banner.png"}}),
            ),
            (
                json!({"type": "video", "link": "https://shop.example.com/unboxing.mp4"}),
                json!({"type": "video", "video": {"link": "https://shop.example.com/unboxing.mp4"}}),
            ),
            (
                json!({"type": "document", "link": "https://shop.example.com/r.pdf", "filename": "Receipt 4521.pdf"}),
                json!({"type": "document", "document": {"link": "https://shop.example.com/r.pdf", "filename": "Receipt 4521.pdf"}}),
            ),
            (
                json!({"type": "text", "text": "Order #4521"}),
                json!({"type": "text", "text": "Order #4521"}),
            ),
        ] {
            let i = read(
                INPUT_SELECT,
                "Is this your order?",
                json!({"header": header, "footer": "Main Street Store", "items": items}),
            )
            .unwrap();
            assert_eq!(
                i.graph_object(),
                json!({"type": "button",
                       "header": expected,
                       "body": {"text": "Is this your order?"},
                       "footer": {"text": "Main Street Store"},
                       "action": {"buttons": [
                         {"type": "reply", "reply": {"id": "y", "title": "Yes"}},
                         {"type": "reply", "reply": {"id": "n", "title": "No"}}]}})
            );
        }
    }

    #[test]
    fn bad_media_headers_are_refused_naming_the_field() {
        let items = json!([{"title": "Yes"}]);
        let many = json!([{"title": "a"}, {"title": "b"}, {"title": "c"}, {"title": "d"}]);
        for (header, items, field) in [
            (
                json!({"type": "image", "link": "http://shop.example.com/a.png"}),
                &items,
                "content_attributes.header.link",
            ),
            (
                json!({"type": "image", "link": "not a url"}),
                &items,
                "content_attributes.header.link",
            ),
            (
                json!({"type": "image"}),
                &items,
                "content_attributes.header.link",
            ),
            (
                json!({"type": "audio", "link": "https://a.example/x.ogg"}),
                &items,
                "content_attributes.header.type",
            ),
            (
                json!({"type": "image", "link": "https://a.example/x.png", "filename": "x.png"}),
                &items,
                "content_attributes.header.filename",
            ),
            (
                json!({"type": "image", "link": "https://a.example/x.png", "text": "hi"}),
                &items,
                "content_attributes.header.text",
            ),
            (
                json!({"type": "text", "text": "x".repeat(61)}),
                &items,
                "content_attributes.header.text",
            ),
            (
                json!({"type": "image", "link": "https://a.example/x.png", "id": "1"}),
                &items,
                "content_attributes.header.id",
            ),
            // A list's header is text only.
            (
                json!({"type": "image", "link": "https://a.example/x.png"}),
                &many,
                "content_attributes.header",
            ),
        ] {
            let e = read(
                INPUT_SELECT,
                "Body",
                json!({"header": header, "items": items}),
            )
            .unwrap_err();
            assert_eq!(field_of(e), field, "{header}");
        }
    }

    #[test]
    fn three_items_are_reply_buttons_exactly_as_meta_documents() {
        let i = read(
            INPUT_SELECT,
            "Did we solve your problem?",
            json!({"header": "Order #4521", "footer": "Main Street Store",
                   "items": [{"title": "Yes", "value": "csat:42:yes"}, {"title": "No", "value": "csat:42:no"}]}),
        )
        .unwrap();
        assert_eq!(
            i.graph_object(),
            json!({"type":"button",
                   "header":{"type":"text","text":"Order #4521"},
                   "body":{"text":"Did we solve your problem?"},
                   "footer":{"text":"Main Street Store"},
                   "action":{"buttons":[
                     {"type":"reply","reply":{"id":"csat:42:yes","title":"Yes"}},
                     {"type":"reply","reply":{"id":"csat:42:no","title":"No"}}]}})
        );
        assert_eq!(i.content_type(), INPUT_SELECT);
        assert_eq!(
            i.stored_attributes()["items"],
            json!([{"title":"Yes","value":"csat:42:yes"},{"title":"No","value":"csat:42:no"}])
        );
    }

    #[test]
    fn sections_are_a_list_exactly_as_meta_documents() {
        let i = read(
            INPUT_SELECT,
            "How did we do?",
            json!({"header": "Rate this chat", "footer": "Main Street Store", "button_text": "Choose a score",
                   "sections": [{"title": "Your rating", "items": [
                       {"title": "5 - Excellent", "value": "csat:42:5", "description": "Everything was solved"},
                       {"title": "1 - Very poor", "value": "csat:42:1"}]}]}),
        )
        .unwrap();
        assert_eq!(
            i.graph_object(),
            json!({"type":"list",
                   "header":{"type":"text","text":"Rate this chat"},
                   "body":{"text":"How did we do?"},
                   "footer":{"text":"Main Street Store"},
                   "action":{"button":"Choose a score","sections":[
                     {"title":"Your rating","rows":[
                       {"id":"csat:42:5","title":"5 - Excellent","description":"Everything was solved"},
                       {"id":"csat:42:1","title":"1 - Very poor"}]}]}})
        );
    }

    #[test]
    fn more_than_three_items_are_a_list_titled_by_its_button() {
        let items: Vec<Value> = (1..=4)
            .map(|n| json!({"title": format!("Option {n}"), "value": n}))
            .collect();
        let i = read(INPUT_SELECT, "Pick one", json!({ "items": items })).unwrap();
        let o = i.graph_object();
        assert_eq!(o["type"], "list");
        assert_eq!(o["action"]["button"], DEFAULT_LIST_BUTTON);
        assert_eq!(o["action"]["sections"][0]["title"], DEFAULT_LIST_BUTTON);
        assert_eq!(
            o["action"]["sections"][0]["rows"][3],
            json!({"id": "4", "title": "Option 4"})
        );
    }

    #[test]
    fn cta_url_and_location_request_bodies() {
        let i = read(
            CTA_URL,
            "Track your order here.",
            json!({"display_text": "Track order", "url": "https://shop.example.com/track/4521", "footer": "Main Street Store"}),
        )
        .unwrap();
        assert_eq!(
            i.graph_object(),
            json!({"type":"cta_url","body":{"text":"Track your order here."},"footer":{"text":"Main Street Store"},
                   "action":{"name":"cta_url","parameters":{"display_text":"Track order","url":"https://shop.example.com/track/4521"}}})
        );
        let l = read(
            LOCATION_REQUEST,
            "Please share where we should deliver.",
            json!({}),
        )
        .unwrap();
        assert_eq!(
            l.graph_object(),
            json!({"type":"location_request_message","body":{"text":"Please share where we should deliver."},"action":{"name":"send_location"}})
        );
        assert!(l.stored_attributes().get("items").is_none());
    }

    #[test]
    fn every_limit_names_its_field() {
        let long = |n: usize| "x".repeat(n);
        let cases = [
            (
                INPUT_SELECT,
                "b".to_string(),
                json!({"items": [{"title": long(21)}]}),
                "content_attributes.items[0].title",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"items": [{"title": "a"}, {"title": "a"}]}),
                "content_attributes.items[1].value",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"items": [{"title": "a", "value": "1"}, {"title": "a", "value": "2"}]}),
                "content_attributes.items[1].title",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"items": []}),
                "content_attributes.items",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"items": (0..11).map(|n| json!({"title": n})).collect::<Vec<_>>()}),
                "content_attributes.items",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"items": (0..5).map(|n| json!({"title": format!("{n}{}", long(24))})).collect::<Vec<_>>()}),
                "content_attributes.items[0].title",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"items": [{"title": "a", "value": long(257)}]}),
                "content_attributes.items[0].value",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"items": [{"title": "a"}], "header": long(61)}),
                "content_attributes.header",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"items": [{"title": "a"}], "footer": long(61)}),
                "content_attributes.footer",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"items": [{"title": "a"}], "button_text": "x"}),
                "content_attributes.button_text",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"items": "nope"}),
                "content_attributes.items",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"items": [3]}),
                "content_attributes.items[0]",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"items": [{"title": ["x"]}]}),
                "content_attributes.items[0].title",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({}),
                "content_attributes.items",
            ),
            (
                INPUT_SELECT,
                long(1025),
                json!({"items": [{"title": "a"}]}),
                "content",
            ),
            (
                INPUT_SELECT,
                "  ".into(),
                json!({"items": [{"title": "a"}]}),
                "content",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"sections": [{"title": "s", "items": [{"title": "a"}]}], "button_text": long(21)}),
                "content_attributes.button_text",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"sections": [{"title": long(25), "items": [{"title": "a"}]}]}),
                "content_attributes.sections[0].title",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"sections": [{"title": "s", "items": [{"title": "a", "description": long(73)}]}]}),
                "content_attributes.sections[0].items[0].description",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"sections": [{"title": "s", "items": [{"title": "a", "value": long(201)}]}]}),
                "content_attributes.sections[0].items[0].value",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"sections": [{"title": "s", "items": [{"title": "a"}]}, {"items": [{"title": "b"}]}]}),
                "content_attributes.sections[1].title",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"sections": [{"title": "s", "items": []}]}),
                "content_attributes.sections[0].items",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"sections": [{"title": "s", "items": [{"title": "a"}]}, {"title": "t", "items": [{"title": "a"}]}]}),
                "content_attributes.sections[1].items[0].value",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"sections": (0..11).map(|n| json!({"title": n, "items": [{"title": n}]})).collect::<Vec<_>>()}),
                "content_attributes.sections",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"sections": [{"title": "s", "items": (0..11).map(|n| json!({"title": n})).collect::<Vec<_>>()}]}),
                "content_attributes.sections",
            ),
            (
                INPUT_SELECT,
                "b".into(),
                json!({"items": [{"title": "a"}], "sections": []}),
                "content_attributes.sections",
            ),
            (
                CTA_URL,
                "b".into(),
                json!({"display_text": long(21), "url": "https://a.example"}),
                "content_attributes.display_text",
            ),
            (
                CTA_URL,
                "b".into(),
                json!({"url": "https://a.example"}),
                "content_attributes.display_text",
            ),
            (
                CTA_URL,
                "b".into(),
                json!({"display_text": "Go", "url": "http://a.example"}),
                "content_attributes.url",
            ),
            (
                CTA_URL,
                "b".into(),
                json!({"display_text": "Go", "url": "not a url"}),
                "content_attributes.url",
            ),
            (
                CTA_URL,
                "b".into(),
                json!({"display_text": "Go"}),
                "content_attributes.url",
            ),
            (
                CTA_URL,
                long(1025),
                json!({"display_text": "Go", "url": "https://a.example"}),
                "content",
            ),
            (LOCATION_REQUEST, long(1025), json!({}), "content"),
            (
                LOCATION_REQUEST,
                "b".into(),
                json!({"header": "h"}),
                "content_attributes.header",
            ),
            (
                LOCATION_REQUEST,
                "b".into(),
                json!({"footer": "f"}),
                "content_attributes.footer",
            ),
        ];
        for (kind, content, attrs, field) in cases {
            let e = read(kind, &content, attrs.clone()).expect_err(&format!("{attrs}"));
            assert_eq!(field_of(e), field, "{kind} {attrs}");
        }
        // The limits themselves pass, counted in characters.
        assert!(read(
            INPUT_SELECT,
            &"é".repeat(1024),
            json!({"items": [{"title": "é".repeat(20)}]})
        )
        .is_ok());
        assert!(read(INPUT_SELECT, &"é".repeat(4096), json!({"sections": [{"title": "é".repeat(24), "items": (0..10).map(|n| json!({"title": format!("{n}{}", "é".repeat(23)), "description": "é".repeat(72)})).collect::<Vec<_>>()}]})).is_ok());
    }

    #[test]
    fn other_content_types_are_not_interactive() {
        let mut attrs = json!({"items": [{"title": "a"}]})
            .as_object()
            .cloned()
            .unwrap();
        assert_eq!(
            Interactive::from_request(Some("text"), Some("hi"), &mut attrs).unwrap(),
            None
        );
        assert_eq!(
            Interactive::from_request(None, Some("hi"), &mut attrs).unwrap(),
            None
        );
        assert!(attrs.contains_key("items"), "left alone");
    }
}
