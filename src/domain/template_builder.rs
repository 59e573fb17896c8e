//! The template builder: a message template draft read from a request, checked against Meta's
//! rules **before** any Graph call, and written as Graph's create or edit body.
//!
//! Sources: graph-api-notes §7.2–§7.4 (Meta: whatsapp/templates/components,
//! template-management, reference/whatsapp-business-account/template-api). Every refusal
//! names its field, e.g. `name`, `components.body.text`, `components.body.examples.1`,
//! `components.buttons[2].url`.
//!
//! The draft's JSON shape (what `POST|PATCH …/message_templates` take; README documents it):
//!
//! ```json
//! {"name": "order_update_v2", "language": "en_US", "category": "UTILITY",
//!  "parameter_format": "positional",
//!  "message_send_ttl_seconds": 3600,
//!  "components": {
//!    "header": {"format": "TEXT", "text": "Order {{1}}", "examples": {"1": "#4521"}},
//!    "body": {"text": "Hi {{1}}, your order is {{2}}.", "examples": {"1": "Sheena", "2": "on its way"}},
//!    "footer": {"text": "Main Street Store"},
//!    "buttons": [{"type": "QUICK_REPLY", "text": "Talk to an agent"},
//!                {"type": "URL", "text": "Track", "url": "https://x.example/t/{{1}}", "example": "https://x.example/t/4521"}]}}
//! ```
//!
//! `header` is `{"format":"TEXT","text","examples"}`, `{"format":"IMAGE"|"VIDEO"|"DOCUMENT",
//! "handle"}` (a Resumable Upload handle) or `{"format":"LOCATION"}`. Positional `examples`
//! may also be an array (`["Sheena","on its way"]`). Buttons are Meta's own button objects.
//! `components` may instead be Meta's `components` array (as Graph returns it): it is read
//! through [`input_from_meta`] first. AUTHENTICATION templates have a body of
//! `{"add_security_recommendation": bool}`, a footer of `{"code_expiration_minutes": 1..90}`
//! and exactly one `OTP` button.

use crate::db::schema::message_templates;
use crate::domain::templates::Template;
use crate::error::AppResult;
use chrono::Utc;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Longest template name (Meta: 512 characters).
pub const MAX_NAME: usize = 512;
/// Longest TEXT header (60 characters, one parameter at most).
pub const MAX_HEADER_TEXT: usize = 60;
/// Longest body (1024 characters).
pub const MAX_BODY_TEXT: usize = 1024;
/// Longest footer (60 characters, no parameters).
pub const MAX_FOOTER_TEXT: usize = 60;
/// Most buttons in a template.
pub const MAX_BUTTONS: usize = 10;
/// Longest button label.
pub const MAX_BUTTON_TEXT: usize = 25;
/// Longest URL of a URL button.
pub const MAX_BUTTON_URL: usize = 2000;
/// Longest phone number of a PHONE_NUMBER button.
pub const MAX_BUTTON_PHONE: usize = 20;
/// Longest code of a COPY_CODE button (20 since December 2025, was 15).
pub const MAX_COPY_CODE: usize = 20;
/// Longest parameter example we accept (a sample value, not Meta's send-time limit).
pub const MAX_EXAMPLE: usize = 1024;

/// One refusal: the field (dotted path, `[i]` for list items) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Template category offered at creation (old pre-2022 categories are never offered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Marketing,
    Utility,
    Authentication,
}

impl Category {
    /// Meta's spelling: `MARKETING`, `UTILITY`, `AUTHENTICATION`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Marketing => "MARKETING",
            Category::Utility => "UTILITY",
            Category::Authentication => "AUTHENTICATION",
        }
    }
}

/// How placeholders are written: `{{1}}`, `{{2}}`… or `{{first_name}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterFormat {
    Positional,
    Named,
}

impl ParameterFormat {
    /// `positional` or `named` (Meta's create spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            ParameterFormat::Positional => "positional",
            ParameterFormat::Named => "named",
        }
    }
}

/// A template header.
#[derive(Debug, Clone, PartialEq)]
pub enum Header {
    /// ≤60 characters with at most one parameter, and its example (name, value).
    Text {
        text: String,
        example: Option<(String, String)>,
    },
    /// `IMAGE`, `VIDEO` or `DOCUMENT` with the sample's Resumable Upload handle.
    Media { format: String, handle: String },
    /// The location is given at send time (UTILITY and MARKETING only).
    Location,
}

/// The body: text with examples for every parameter, or (AUTHENTICATION) Meta's fixed text.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Text {
        text: String,
        /// (parameter, example) in Graph order: `1..n` or order of appearance.
        examples: Vec<(String, String)>,
    },
    Authentication {
        add_security_recommendation: bool,
    },
}

/// The footer: text, or (AUTHENTICATION) the code's expiry in minutes (1–90).
#[derive(Debug, Clone, PartialEq)]
pub enum Footer {
    Text(String),
    CodeExpiration(u32),
}

/// A validated template draft, ready to be written as Graph's create or edit body.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub name: String,
    pub language: String,
    pub category: Category,
    pub parameter_format: ParameterFormat,
    pub message_send_ttl_seconds: Option<i64>,
    pub header: Option<Header>,
    pub body: Body,
    pub footer: Option<Footer>,
    /// Meta's button objects, validated (`type` upper-case).
    pub buttons: Vec<Value>,
}

impl Draft {
    /// Meta's `components` array: HEADER, BODY, FOOTER, BUTTONS (each when present).
    pub fn components(&self) -> Value {
        let named = self.parameter_format == ParameterFormat::Named;
        let mut out = Vec::new();
        match &self.header {
            Some(Header::Text { text, example }) => {
                let mut h = json!({"type": "HEADER", "format": "TEXT", "text": text});
                if let Some((name, value)) = example {
                    h["example"] = if named {
                        json!({"header_text_named_params": [{"param_name": name, "example": value}]})
                    } else {
                        json!({ "header_text": [value] })
                    };
                }
                out.push(h);
            }
            Some(Header::Media { format, handle }) => out.push(json!({
                "type": "HEADER", "format": format, "example": {"header_handle": [handle]},
            })),
            Some(Header::Location) => out.push(json!({"type": "HEADER", "format": "LOCATION"})),
            None => {}
        }
        match &self.body {
            Body::Text { text, examples } => {
                let mut b = json!({"type": "BODY", "text": text});
                if !examples.is_empty() {
                    b["example"] = if named {
                        json!({"body_text_named_params": examples.iter()
                            .map(|(n, v)| json!({"param_name": n, "example": v}))
                            .collect::<Vec<_>>()})
                    } else {
                        json!({"body_text": [examples.iter().map(|(_, v)| v).collect::<Vec<_>>()]})
                    };
                }
                out.push(b);
            }
            Body::Authentication {
                add_security_recommendation,
            } => out.push(json!({
                "type": "BODY", "add_security_recommendation": add_security_recommendation,
            })),
        }
        match &self.footer {
            Some(Footer::Text(text)) => out.push(json!({"type": "FOOTER", "text": text})),
            Some(Footer::CodeExpiration(m)) => {
                out.push(json!({"type": "FOOTER", "code_expiration_minutes": m}))
            }
            None => {}
        }
        if !self.buttons.is_empty() {
            out.push(json!({"type": "BUTTONS", "buttons": self.buttons}));
        }
        Value::Array(out)
    }

    /// The body of `POST /{waba_id}/message_templates` (§7.2): `name`, `language`,
    /// `category`, `parameter_format` (not for AUTHENTICATION), `components`, and
    /// `message_send_ttl_seconds` when set.
    pub fn create_body(&self) -> Value {
        let mut body = json!({
            "name": self.name,
            "language": self.language,
            "category": self.category.as_str(),
        });
        if self.category != Category::Authentication {
            body["parameter_format"] = json!(self.parameter_format.as_str());
        }
        body["components"] = self.components();
        if let Some(ttl) = self.message_send_ttl_seconds {
            body["message_send_ttl_seconds"] = json!(ttl);
        }
        body
    }

    /// The body of `POST /{template_id}` editing `current` (§7.4): every component again,
    /// `category` only when it changes, `message_send_ttl_seconds` when set.
    ///
    /// Errors (field-named): `status` unless `current` is APPROVED, REJECTED or PAUSED;
    /// `name` / `language` when they differ (Meta never edits them); `category` when an
    /// APPROVED template's category would change.
    pub fn edit_body(&self, current: &Template) -> Result<Value, Vec<FieldError>> {
        let mut errors = Vec::new();
        let status = current.status.to_ascii_uppercase();
        if !matches!(status.as_str(), "APPROVED" | "REJECTED" | "PAUSED") {
            errors.push(err(
                "status",
                format!("this template is {status}: Meta allows edits only when it is APPROVED, REJECTED or PAUSED"),
            ));
        }
        if self.name != current.name {
            errors.push(err(
                "name",
                "a template's name cannot be changed: create a new template instead",
            ));
        }
        if self.language != current.language {
            errors.push(err("language", "a template's language cannot be changed: create the other language as a new template"));
        }
        let category_changes = current
            .category
            .as_deref()
            .is_none_or(|c| !c.eq_ignore_ascii_case(self.category.as_str()));
        if category_changes && status == "APPROVED" {
            errors.push(err(
                "category",
                "the category of an approved template cannot be changed",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut body = json!({ "components": self.components() });
        if category_changes {
            body["category"] = json!(self.category.as_str());
        }
        if let Some(ttl) = self.message_send_ttl_seconds {
            body["message_send_ttl_seconds"] = json!(ttl);
        }
        Ok(body)
    }
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Collects refusals while a draft is read.
struct Check(Vec<FieldError>);

impl Check {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(err(field, message));
    }

    /// The text at `key` of `obj`: `None` when absent, null or blank; refuses other types and
    /// NUL bytes.
    fn text(&mut self, obj: &Map<String, Value>, key: &str, field: &str) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.contains('\0') => {
                self.add(field, "must not contain NUL bytes");
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) if key == "example" || field.contains(".examples") => {
                Some(n.to_string())
            }
            Some(_) => {
                self.add(field, "must be text");
                None
            }
        }
    }

    /// Refuses text over `max` characters (Unicode scalar values, as Meta counts).
    fn max_len(&mut self, field: &str, text: &str, max: usize, what: &str) {
        let n = text.chars().count();
        if n > max {
            self.add(
                field,
                format!("{what} is {n} characters; Meta allows at most {max}"),
            );
        }
    }
}

/// Reads and checks a draft (shape in the module docs). Returns every refusal, each naming
/// its field, when anything breaks one of Meta's rules.
pub fn parse(input: &Value) -> Result<Draft, Vec<FieldError>> {
    let mut c = Check(Vec::new());
    let Some(obj) = input.as_object() else {
        return Err(vec![err("body", "send the template as a JSON object")]);
    };

    // name
    let name = c.text(obj, "name", "name").unwrap_or_default();
    if name.is_empty() {
        c.add("name", "give the template a name");
    } else if name.chars().count() > MAX_NAME {
        c.max_len("name", &name, MAX_NAME, "the name");
    } else if !name
        .chars()
        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
    {
        c.add(
            "name",
            "use only lowercase letters (a–z), digits and underscores, e.g. order_update_v2",
        );
    }

    // language
    let language = c.text(obj, "language", "language").unwrap_or_default();
    if language.is_empty() {
        c.add("language", "choose the template's language, e.g. en_US");
    } else if !is_language_code(&language) {
        c.add(
            "language",
            format!("{language:?} is not a language code such as en, en_US or pt_BR"),
        );
    }

    // category
    let category = match c
        .text(obj, "category", "category")
        .map(|s| s.trim().to_ascii_uppercase())
        .as_deref()
    {
        Some("MARKETING") => Some(Category::Marketing),
        Some("UTILITY") => Some(Category::Utility),
        Some("AUTHENTICATION") => Some(Category::Authentication),
        None => {
            c.add("category", "choose MARKETING, UTILITY or AUTHENTICATION");
            None
        }
        Some(other) => {
            c.add(
                "category",
                format!("{other:?} is not a category: choose MARKETING, UTILITY or AUTHENTICATION"),
            );
            None
        }
    };

    // parameter_format
    let parameter_format = match c
        .text(obj, "parameter_format", "parameter_format")
        .map(|s| s.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("positional") => ParameterFormat::Positional,
        Some("named") => ParameterFormat::Named,
        Some(other) => {
            c.add(
                "parameter_format",
                format!("{other:?} is not a parameter format: use positional ({{{{1}}}}) or named ({{{{first_name}}}})"),
            );
            ParameterFormat::Positional
        }
    };

    // message_send_ttl_seconds
    let ttl = match obj.get("message_send_ttl_seconds") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(n) => {
                if let Some(cat) = category {
                    check_ttl(&mut c, cat, n);
                }
                Some(n)
            }
            None => {
                c.add(
                    "message_send_ttl_seconds",
                    "must be a whole number of seconds",
                );
                None
            }
        },
    };

    // components
    let converted;
    let components = match obj.get("components") {
        Some(Value::Object(m)) => Some(m),
        Some(Value::Array(_)) => {
            converted = input_from_meta(obj.get("components").unwrap_or(&Value::Null));
            converted.as_object()
        }
        None | Some(Value::Null) => None,
        Some(_) => {
            c.add(
                "components",
                "must be an object with header, body, footer and buttons (or Meta's components array)",
            );
            None
        }
    };
    let empty = Map::new();
    let components = components.unwrap_or(&empty);
    let auth = category == Some(Category::Authentication);
    let section = |c: &mut Check, key: &str| -> Option<Map<String, Value>> {
        match components.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m.clone()),
            Some(_) => {
                c.add(&format!("components.{key}"), "must be an object");
                None
            }
        }
    };

    let header = section(&mut c, "header").and_then(|h| parse_header(&mut c, &h, parameter_format));
    if auth && header.is_some() {
        c.add(
            "components.header",
            "authentication templates have no header: Meta writes their text",
        );
    }

    let body_obj = section(&mut c, "body").unwrap_or_default();
    let body = if auth {
        if body_obj.get("text").is_some_and(|t| !t.is_null()) {
            c.add(
                "components.body.text",
                "authentication templates cannot have their own text: Meta writes it (choose whether to add the security recommendation)",
            );
        }
        let add = match body_obj.get("add_security_recommendation") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                c.add(
                    "components.body.add_security_recommendation",
                    "must be true or false",
                );
                false
            }
        };
        Body::Authentication {
            add_security_recommendation: add,
        }
    } else {
        let text = c
            .text(&body_obj, "text", "components.body.text")
            .unwrap_or_default();
        if text.is_empty() {
            c.add("components.body.text", "write the message body");
            Body::Text {
                text,
                examples: Vec::new(),
            }
        } else {
            c.max_len("components.body.text", &text, MAX_BODY_TEXT, "the body");
            let examples = parameters(
                &mut c,
                "components.body",
                &text,
                body_obj.get("examples"),
                parameter_format,
                TextRules {
                    max_params: None,
                    edges_allowed: false,
                },
            );
            Body::Text { text, examples }
        }
    };

    let footer = section(&mut c, "footer").and_then(|f| {
        if auth {
            if f.get("text").is_some_and(|t| !t.is_null()) {
                c.add(
                    "components.footer.text",
                    "authentication templates have no footer text: give code_expiration_minutes instead",
                );
            }
            match f.get("code_expiration_minutes") {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_u64().filter(|m| (1..=90).contains(m)) {
                    Some(m) => Some(Footer::CodeExpiration(m as u32)),
                    None => {
                        c.add(
                            "components.footer.code_expiration_minutes",
                            "must be a whole number of minutes from 1 to 90",
                        );
                        None
                    }
                },
            }
        } else {
            let text = c.text(&f, "text", "components.footer.text")?;
            c.max_len("components.footer.text", &text, MAX_FOOTER_TEXT, "the footer");
            if !find_placeholders(&text).is_empty() {
                c.add(
                    "components.footer.text",
                    "the footer cannot have parameters",
                );
            }
            Some(Footer::Text(text))
        }
    });

    let buttons = match components.get("buttons") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => parse_buttons(&mut c, list, category),
        Some(_) => {
            c.add("components.buttons", "must be a list of buttons");
            Vec::new()
        }
    };
    if auth && !buttons.iter().any(|b| b["type"] == "OTP") {
        c.add(
            "components.buttons",
            "authentication templates need one OTP button (copy code, one-tap or zero-tap)",
        );
    }

    match (c.0.is_empty(), category) {
        (true, Some(category)) => Ok(Draft {
            name,
            language,
            category,
            parameter_format,
            message_send_ttl_seconds: ttl,
            header,
            body,
            footer,
            buttons,
        }),
        _ => Err(c.0),
    }
}

/// Meta's time-to-live ranges (Meta: whatsapp/templates/time-to-live): AUTHENTICATION 30 s
/// to 15 min, UTILITY 30 s to 12 h, MARKETING 12 h to 30 days.
fn check_ttl(c: &mut Check, category: Category, n: i64) {
    let (min, max, words) = match category {
        Category::Authentication => (30, 900, "30 seconds to 15 minutes"),
        Category::Utility => (30, 43_200, "30 seconds to 12 hours"),
        Category::Marketing => (43_200, 2_592_000, "12 hours to 30 days"),
    };
    if !(min..=max).contains(&n) {
        c.add(
            "message_send_ttl_seconds",
            format!(
                "{} templates live {words} ({min}–{max} seconds)",
                category.as_str().to_ascii_lowercase()
            ),
        );
    }
}

/// `en`, `en_US`, `pt_BR`, `zh_HK`, `sr_Latn`…
fn is_language_code(code: &str) -> bool {
    let mut parts = code.split('_');
    let lang = parts.next().unwrap_or_default();
    let lang_ok = (2..=3).contains(&lang.len()) && lang.chars().all(|c| c.is_ascii_lowercase());
    let rest: Vec<&str> = parts.collect();
    lang_ok
        && rest.len() <= 1
        && rest
            .iter()
            .all(|r| (2..=4).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn parse_header(c: &mut Check, h: &Map<String, Value>, format: ParameterFormat) -> Option<Header> {
    let kind = c
        .text(h, "format", "components.header.format")
        .map(|s| s.trim().to_ascii_uppercase())
        .unwrap_or_else(|| "TEXT".into());
    match kind.as_str() {
        "TEXT" => {
            let Some(text) = c.text(h, "text", "components.header.text") else {
                c.add(
                    "components.header.text",
                    "write the header text, or remove the header",
                );
                return None;
            };
            c.max_len(
                "components.header.text",
                &text,
                MAX_HEADER_TEXT,
                "the header",
            );
            if text.contains(['\n', '\r']) {
                c.add("components.header.text", "the header must be one line");
            }
            if text.contains(['*', '~', '`']) {
                c.add(
                    "components.header.text",
                    "the header cannot use formatting (*, ~, `)",
                );
            }
            let examples = parameters(
                c,
                "components.header",
                &text,
                h.get("examples"),
                format,
                TextRules {
                    max_params: Some(1),
                    edges_allowed: true,
                },
            );
            Some(Header::Text {
                text,
                example: examples.into_iter().next(),
            })
        }
        "IMAGE" | "VIDEO" | "DOCUMENT" => {
            let Some(handle) = c.text(h, "handle", "components.header.handle") else {
                c.add(
                    "components.header.handle",
                    format!(
                        "upload a sample {} for the header (Meta reviews it)",
                        kind.to_ascii_lowercase()
                    ),
                );
                return None;
            };
            if handle.starts_with("http://") || handle.starts_with("https://") {
                c.add(
                    "components.header.handle",
                    "give the handle of an uploaded sample, not a URL: upload the file again",
                );
            }
            Some(Header::Media {
                format: kind,
                handle,
            })
        }
        // UTILITY and MARKETING only: AUTHENTICATION templates have no header at all.
        "LOCATION" => Some(Header::Location),
        other => {
            c.add(
                "components.header.format",
                format!(
                    "{other:?} is not a header type: use TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION"
                ),
            );
            None
        }
    }
}

/// A placeholder found in a text: byte range and the name between the braces (trimmed).
#[derive(Debug, Clone, PartialEq)]
struct Token {
    start: usize,
    end: usize,
    name: String,
}

/// Every `{{…}}` in `text`, in order.
fn find_placeholders(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("{{") {
        let start = from + i;
        let Some(j) = text[start + 2..].find("}}") else {
            break;
        };
        let end = start + 2 + j + 2;
        out.push(Token {
            start,
            end,
            name: text[start + 2..end - 2].trim().to_string(),
        });
        from = end;
    }
    out
}

struct TextRules {
    /// Most parameters (the header: 1).
    max_params: Option<usize>,
    /// Whether the text may start or end with a parameter (not the body: subcode 2388299).
    edges_allowed: bool,
}

/// Checks the parameters of `text` (at `{prefix}.text`) and reads their examples (at
/// `{prefix}.examples.<name>`). Returns (name, example) in Graph order.
fn parameters(
    c: &mut Check,
    prefix: &str,
    text: &str,
    examples: Option<&Value>,
    format: ParameterFormat,
    rules: TextRules,
) -> Vec<(String, String)> {
    let field = format!("{prefix}.text");
    let tokens = find_placeholders(text);
    let mut names: Vec<String> = Vec::new();
    let mut ok = true;
    for t in &tokens {
        let valid = match format {
            ParameterFormat::Positional => {
                !t.name.is_empty() && t.name.chars().all(|ch| ch.is_ascii_digit())
            }
            ParameterFormat::Named => {
                t.name.starts_with(|ch: char| ch.is_ascii_lowercase())
                    && t.name
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
            }
        };
        if !valid {
            ok = false;
            let raw = &text[t.start..t.end];
            c.add(
                &field,
                match format {
                    ParameterFormat::Positional => format!(
                        "{raw} is not a positional parameter: write {{{{1}}}}, {{{{2}}}}… (or switch the template to named parameters)"
                    ),
                    ParameterFormat::Named => format!(
                        "{raw} is not a named parameter: use lowercase letters, digits and underscores, e.g. {{{{first_name}}}}"
                    ),
                },
            );
        } else if !names.contains(&t.name) {
            names.push(t.name.clone());
        }
    }
    if !ok {
        return Vec::new();
    }
    if let Some(max) = rules.max_params {
        if tokens.len() > max {
            c.add(
                &field,
                format!("the header can have at most {max} parameter"),
            );
        }
    }
    if !rules.edges_allowed && !tokens.is_empty() {
        let trimmed_start = text.len() - text.trim_start().len();
        let trimmed_end = text.trim_end().len();
        if tokens[0].start == trimmed_start || tokens[tokens.len() - 1].end == trimmed_end {
            c.add(
                &field,
                "the text cannot start or end with a parameter: add words before and after it",
            );
        }
    }
    for pair in tokens.windows(2) {
        if text[pair[0].end..pair[1].start].trim().is_empty() {
            c.add(
                &field,
                format!(
                    "{} and {} are next to each other: put words between parameters",
                    &text[pair[0].start..pair[0].end],
                    &text[pair[1].start..pair[1].end]
                ),
            );
            break;
        }
    }
    if format == ParameterFormat::Positional {
        let mut numbers: Vec<u64> = names.iter().filter_map(|n| n.parse().ok()).collect();
        numbers.sort_unstable();
        let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
        if numbers != expected {
            c.add(
                &field,
                format!(
                    "number the parameters from {{{{1}}}} without gaps: found {}",
                    numbers
                        .iter()
                        .map(|n| format!("{{{{{n}}}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        names.sort_by_key(|n| n.parse::<u64>().unwrap_or(u64::MAX));
    }

    // Examples: an object keyed by parameter, or (positional) an array.
    let ex_field = format!("{prefix}.examples");
    let mut given: Map<String, Value> = Map::new();
    match examples {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => given = m.clone(),
        Some(Value::Array(a)) if format == ParameterFormat::Positional => {
            for (i, v) in a.iter().enumerate() {
                given.insert((i + 1).to_string(), v.clone());
            }
        }
        Some(_) => c.add(&ex_field, "must be an object of parameter → example value"),
    }
    for key in given.keys() {
        let key_name = key.trim().trim_start_matches("{{").trim_end_matches("}}");
        if !names.iter().any(|n| n == key_name) && !given[key].is_null() {
            c.add(
                &format!("{ex_field}.{key_name}"),
                format!("{{{{{key_name}}}}} is not a parameter of this text"),
            );
        }
    }
    let mut out = Vec::new();
    for n in names {
        let f = format!("{ex_field}.{n}");
        let value = given
            .iter()
            .find(|(k, _)| k.trim().trim_start_matches("{{").trim_end_matches("}}") == n)
            .map(|(_, v)| v.clone());
        let mut holder = Map::new();
        holder.insert("example".into(), value.unwrap_or(Value::Null));
        match c.text(&holder, "example", &f) {
            Some(v) => {
                c.max_len(&f, &v, MAX_EXAMPLE, "the example");
                out.push((n, v));
            }
            None => c.add(
                &f,
                format!("Meta requires an example value for {{{{{n}}}}} (e.g. a realistic name or number)"),
            ),
        }
    }
    out
}

/// Button types a template can be created with, and how many of each (§7.3).
const BUTTON_LIMITS: &[(&str, usize)] = &[
    ("QUICK_REPLY", 10),
    ("URL", 2),
    ("PHONE_NUMBER", 1),
    ("COPY_CODE", 1),
    ("OTP", 1),
    ("FLOW", 1),
    ("CATALOG", 1),
    ("MPM", 1),
];

fn parse_buttons(c: &mut Check, list: &[Value], category: Option<Category>) -> Vec<Value> {
    if list.len() > MAX_BUTTONS {
        c.add(
            "components.buttons",
            format!("{} buttons: Meta allows at most {MAX_BUTTONS}", list.len()),
        );
    }
    let mut out = Vec::new();
    let mut kinds: Vec<String> = Vec::new();
    for (i, b) in list.iter().enumerate() {
        let prefix = format!("components.buttons[{i}]");
        let Some(obj) = b.as_object() else {
            c.add(&prefix, "must be a button object with a type");
            continue;
        };
        let kind = c
            .text(obj, "type", &format!("{prefix}.type"))
            .map(|k| k.trim().to_ascii_uppercase())
            .unwrap_or_default();
        let Some((_, max)) = BUTTON_LIMITS.iter().find(|(k, _)| *k == kind) else {
            c.add(
                &format!("{prefix}.type"),
                if kind.is_empty() {
                    "choose the button's type".to_string()
                } else {
                    format!("{kind:?} is not a button type: use QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, FLOW, CATALOG or MPM")
                },
            );
            continue;
        };
        let count = kinds.iter().filter(|k| **k == kind).count() + 1;
        if count > *max {
            c.add(
                &format!("{prefix}.type"),
                format!(
                    "a template can have at most {max} {} button{}",
                    kind.replace('_', " ").to_ascii_lowercase(),
                    if *max == 1 { "" } else { "s" }
                ),
            );
        }
        match (kind.as_str(), category) {
            ("OTP", Some(cat)) if cat != Category::Authentication => c.add(
                &format!("{prefix}.type"),
                "OTP buttons belong to authentication templates only",
            ),
            (k, Some(Category::Authentication)) if k != "OTP" => c.add(
                &format!("{prefix}.type"),
                "authentication templates have only their OTP button",
            ),
            ("CATALOG" | "MPM", Some(cat)) if cat != Category::Marketing => c.add(
                &format!("{prefix}.type"),
                "catalog buttons belong to marketing templates only",
            ),
            _ => {}
        }
        kinds.push(kind.clone());
        if let Some(button) = parse_button(c, &prefix, &kind, obj) {
            out.push(button);
        }
    }
    // Quick replies must be one contiguous group.
    let qr: Vec<usize> = kinds
        .iter()
        .enumerate()
        .filter(|(_, k)| *k == "QUICK_REPLY")
        .map(|(i, _)| i)
        .collect();
    if let (Some(first), Some(last)) = (qr.first(), qr.last()) {
        if last - first + 1 != qr.len() {
            let gap = (*first..=*last)
                .find(|i| kinds[*i] != "QUICK_REPLY")
                .unwrap_or(*first);
            c.add(
                &format!("components.buttons[{gap}].type"),
                "quick replies must be next to each other: move the other buttons before or after them",
            );
        }
    }
    out
}

fn button_text(
    c: &mut Check,
    prefix: &str,
    obj: &Map<String, Value>,
    required: bool,
) -> Option<String> {
    let field = format!("{prefix}.text");
    let Some(text) = c.text(obj, "text", &field) else {
        if required {
            c.add(&field, "write the button's label");
        }
        return None;
    };
    c.max_len(&field, &text, MAX_BUTTON_TEXT, "the label");
    if text.contains(['\n', '\r']) {
        c.add(&field, "the label must be one line");
    }
    if !find_placeholders(&text).is_empty() {
        c.add(&field, "button labels cannot have parameters");
    }
    Some(text)
}

fn parse_button(
    c: &mut Check,
    prefix: &str,
    kind: &str,
    obj: &Map<String, Value>,
) -> Option<Value> {
    let mut out = json!({ "type": kind });
    match kind {
        "QUICK_REPLY" | "CATALOG" | "MPM" => {
            out["text"] = json!(button_text(c, prefix, obj, true)?);
        }
        "URL" => {
            let text = button_text(c, prefix, obj, true);
            let field = format!("{prefix}.url");
            let Some(url) = c.text(obj, "url", &field) else {
                c.add(&field, "give the button's web address");
                return None;
            };
            c.max_len(&field, &url, MAX_BUTTON_URL, "the URL");
            let tokens = find_placeholders(&url);
            let variable = !tokens.is_empty();
            if tokens.len() > 1 || tokens.iter().any(|t| t.name != "1") {
                c.add(&field, "a URL can have one parameter, {{1}}, at its end");
            } else if variable && tokens[0].end != url.trim_end().len() {
                c.add(&field, "the URL's parameter {{1}} must be at its end");
            }
            let fixed = url.replace("{{1}}", "x");
            match url::Url::parse(&fixed) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                    let host = u.host_str().unwrap_or_default().to_ascii_lowercase();
                    if host == "wa.me" || host.ends_with("whatsapp.com") {
                        c.add(&field, "URL buttons may not point at WhatsApp (wa.me): Meta refuses them (subcode 2388081)");
                    }
                }
                _ => c.add(&field, "give a full web address starting with https://"),
            }
            out["url"] = json!(url);
            let ex_field = format!("{prefix}.example");
            let example = match obj.get("example") {
                Some(Value::Array(a)) => a.first().and_then(Value::as_str).map(str::to_string),
                _ => c.text(obj, "example", &ex_field),
            };
            match (variable, example) {
                (true, Some(ex)) => {
                    c.max_len(&ex_field, &ex, MAX_BUTTON_URL, "the example URL");
                    out["example"] = json!([ex]);
                }
                (true, None) => c.add(
                    &ex_field,
                    "Meta requires an example of the full URL, e.g. https://shop.example.com/track/4521",
                ),
                (false, _) => {}
            }
            out["text"] = json!(text?);
        }
        "PHONE_NUMBER" => {
            let text = button_text(c, prefix, obj, true);
            let field = format!("{prefix}.phone_number");
            let Some(phone) = c.text(obj, "phone_number", &field) else {
                c.add(&field, "give the phone number to call, e.g. +15551234567");
                return None;
            };
            let digits = phone.chars().filter(char::is_ascii_digit).count();
            c.max_len(&field, &phone, MAX_BUTTON_PHONE, "the phone number");
            if digits < 5
                || !phone
                    .trim()
                    .trim_start_matches('+')
                    .chars()
                    .all(|ch| ch.is_ascii_digit() || " -()".contains(ch))
            {
                c.add(
                    &field,
                    "give a phone number with its country code, e.g. +15551234567",
                );
            }
            out["phone_number"] = json!(phone.trim());
            out["text"] = json!(text?);
        }
        "COPY_CODE" => {
            let field = format!("{prefix}.example");
            let Some(code) = c.text(obj, "example", &field) else {
                c.add(&field, "give an example code, e.g. SAVE20");
                return None;
            };
            c.max_len(&field, &code, MAX_COPY_CODE, "the code");
            out["example"] = json!(code);
        }
        "OTP" => {
            let field = format!("{prefix}.otp_type");
            let otp = c
                .text(obj, "otp_type", &field)
                .map(|s| s.trim().to_ascii_uppercase());
            match otp.as_deref() {
                Some("COPY_CODE") => {}
                Some("ONE_TAP" | "ZERO_TAP") => {
                    let apps = supported_apps(c, prefix, obj);
                    if apps.is_empty() {
                        c.add(
                            &format!("{prefix}.supported_apps"),
                            "one-tap and zero-tap buttons need your Android app's package_name and signature_hash",
                        );
                    } else {
                        out["supported_apps"] = Value::Array(apps);
                    }
                }
                Some(other) => {
                    c.add(
                        &field,
                        format!("{other:?} is not an OTP type: use COPY_CODE, ONE_TAP or ZERO_TAP"),
                    );
                    return None;
                }
                None => {
                    c.add(&field, "choose COPY_CODE, ONE_TAP or ZERO_TAP");
                    return None;
                }
            }
            out["otp_type"] = json!(otp);
            if let Some(text) = button_text(c, prefix, obj, false) {
                out["text"] = json!(text);
            }
            if let Some(t) = c.text(obj, "autofill_text", &format!("{prefix}.autofill_text")) {
                c.max_len(
                    &format!("{prefix}.autofill_text"),
                    &t,
                    MAX_BUTTON_TEXT,
                    "the autofill label",
                );
                out["autofill_text"] = json!(t);
            }
        }
        "FLOW" => {
            out["text"] = json!(button_text(c, prefix, obj, true)?);
            let mut named = 0;
            for key in ["flow_id", "flow_name", "flow_json"] {
                let value = match obj.get(key) {
                    Some(Value::Number(n)) if key == "flow_id" => Some(n.to_string()),
                    _ => c.text(obj, key, &format!("{prefix}.{key}")),
                };
                if let Some(v) = value {
                    named += 1;
                    out[key] = json!(v);
                }
            }
            if named != 1 {
                c.add(
                    &format!("{prefix}.flow_id"),
                    "give exactly one of flow_id, flow_name or flow_json",
                );
            }
            if let Some(action) = c.text(obj, "flow_action", &format!("{prefix}.flow_action")) {
                let action = action.trim().to_ascii_lowercase();
                if action != "navigate" && action != "data_exchange" {
                    c.add(
                        &format!("{prefix}.flow_action"),
                        "use navigate or data_exchange",
                    );
                }
                out["flow_action"] = json!(action);
            }
            if let Some(screen) =
                c.text(obj, "navigate_screen", &format!("{prefix}.navigate_screen"))
            {
                out["navigate_screen"] = json!(screen);
            }
        }
        _ => return None,
    }
    Some(out)
}

fn supported_apps(c: &mut Check, prefix: &str, obj: &Map<String, Value>) -> Vec<Value> {
    let mut apps: Vec<Map<String, Value>> = match obj.get("supported_apps") {
        Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_object().cloned()).collect(),
        _ => Vec::new(),
    };
    if apps.is_empty() && obj.contains_key("package_name") {
        apps.push(obj.clone());
    }
    let mut out = Vec::new();
    for (i, app) in apps.iter().enumerate() {
        let f = format!("{prefix}.supported_apps[{i}]");
        let pkg = c.text(app, "package_name", &format!("{f}.package_name"));
        let hash = c.text(app, "signature_hash", &format!("{f}.signature_hash"));
        match (pkg, hash) {
            (Some(p), Some(h)) => {
                if h.chars().count() != 11 {
                    c.add(
                        &format!("{f}.signature_hash"),
                        "Android app signature hashes are 11 characters",
                    );
                }
                out.push(json!({"package_name": p, "signature_hash": h}));
            }
            (None, _) => c.add(
                &format!("{f}.package_name"),
                "give the Android package name, e.g. com.example.app",
            ),
            (_, None) => c.add(
                &format!("{f}.signature_hash"),
                "give the app's 11-character signature hash",
            ),
        }
    }
    out
}

/// Meta's `components` array (as Graph returns it) in the draft's `components` shape, so a
/// stored template opens in the builder and API callers may send Meta's own form.
pub fn input_from_meta(components: &Value) -> Value {
    let mut out = Map::new();
    let examples_of = |ex: &Value, positional: &str, named: &str| -> Value {
        if let Some(list) = ex.get(named).and_then(Value::as_array) {
            let mut m = Map::new();
            for p in list {
                if let Some(n) = p.get("param_name").and_then(Value::as_str) {
                    m.insert(
                        n.to_string(),
                        p.get("example").cloned().unwrap_or(Value::Null),
                    );
                }
            }
            return Value::Object(m);
        }
        let values = match ex.get(positional) {
            // body_text is an array of arrays, header_text a flat array.
            Some(Value::Array(a)) if a.first().is_some_and(Value::is_array) => a[0].clone(),
            Some(v @ Value::Array(_)) => v.clone(),
            _ => return Value::Null,
        };
        let mut m = Map::new();
        for (i, v) in values.as_array().into_iter().flatten().enumerate() {
            m.insert((i + 1).to_string(), v.clone());
        }
        Value::Object(m)
    };
    for comp in components.as_array().into_iter().flatten() {
        let kind = comp["type"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let example = &comp["example"];
        match kind.as_str() {
            "HEADER" => {
                let format = comp["format"]
                    .as_str()
                    .unwrap_or("TEXT")
                    .to_ascii_uppercase();
                let mut h = json!({ "format": format });
                if format == "TEXT" {
                    h["text"] = comp["text"].clone();
                    h["examples"] = examples_of(example, "header_text", "header_text_named_params");
                } else if let Some(handle) = example["header_handle"][0].as_str() {
                    h["handle"] = json!(handle);
                }
                out.insert("header".into(), h);
            }
            "BODY" => {
                let mut b = Map::new();
                for key in ["text", "add_security_recommendation"] {
                    if let Some(v) = comp.get(key) {
                        b.insert(key.into(), v.clone());
                    }
                }
                b.insert(
                    "examples".into(),
                    examples_of(example, "body_text", "body_text_named_params"),
                );
                out.insert("body".into(), Value::Object(b));
            }
            "FOOTER" => {
                let mut f = Map::new();
                for key in ["text", "code_expiration_minutes"] {
                    if let Some(v) = comp.get(key) {
                        f.insert(key.into(), v.clone());
                    }
                }
                out.insert("footer".into(), Value::Object(f));
            }
            "BUTTONS" => {
                let buttons: Vec<Value> = comp["buttons"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|b| {
                        let mut b = b.clone();
                        if let Some(first) =
                            b["example"].as_array().and_then(|a| a.first()).cloned()
                        {
                            b["example"] = first;
                        }
                        b
                    })
                    .collect();
                out.insert("buttons".into(), Value::Array(buttons));
            }
            _ => {}
        }
    }
    Value::Object(out)
}

/// A stored template in the draft's JSON shape (for the builder's edit form).
pub fn input_from_template(t: &Template) -> Value {
    json!({
        "name": t.name,
        "language": t.language,
        "category": t.category,
        "parameter_format": t.parameter_format.to_ascii_lowercase(),
        "components": input_from_meta(&t.components),
    })
}

/// Stores a template just created through Graph (the one upsert on inbox, name and
/// language, [`crate::domain::templates::upsert`]):
/// Meta's id, the status it answered (`PENDING` until the status webhook), the category it
/// assigned (else the requested one) and the components sent. Returns the row.
pub fn store_created(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
    draft: &Draft,
    external_id: &str,
    status: &str,
    category: Option<&str>,
) -> AppResult<Template> {
    let category = category
        .unwrap_or(draft.category.as_str())
        .to_ascii_uppercase();
    crate::domain::templates::upsert(
        conn,
        account_id,
        inbox_id,
        &crate::domain::templates::SyncedTemplate {
            external_id: Some(external_id.to_string()),
            name: draft.name.clone(),
            language: draft.language.clone(),
            status: status.to_ascii_uppercase(),
            category: Some(category),
            parameter_format: draft.parameter_format.as_str().to_ascii_uppercase(),
            components: draft.components(),
        },
        Utc::now(),
    )
}

/// Stores an accepted edit: the new components (and category), and status `PENDING`, since
/// Meta reviews an edited template again; the status webhook brings the outcome.
pub fn store_edited(
    conn: &mut PgConnection,
    template_id: i64,
    draft: &Draft,
) -> AppResult<Template> {
    use message_templates::dsl as t;
    Ok(diesel::update(t::message_templates.find(template_id))
        .set((
            t::status.eq("PENDING"),
            t::category.eq(draft.category.as_str()),
            t::parameter_format.eq(draft.parameter_format.as_str().to_ascii_uppercase()),
            t::components.eq(draft.components()),
            t::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Template::as_returning())
        .get_result(conn)?)
}

/// The inbox's template `template_id` (our id). Errors: 404 when it is not the inbox's.
pub fn find_in_inbox(
    conn: &mut PgConnection,
    inbox_id: i64,
    template_id: i64,
) -> AppResult<Template> {
    message_templates::table
        .filter(message_templates::inbox_id.eq(inbox_id))
        .filter(message_templates::id.eq(template_id))
        .select(Template::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            crate::error::AppError::NotFound(format!(
                "template {template_id} not found in this inbox"
            ))
        })
}

/// Removes what a Graph delete removed: with `by_id`, that row only; else every language of
/// its name. Returns how many rows went.
pub fn remove(conn: &mut PgConnection, template: &Template, by_id: bool) -> AppResult<usize> {
    use message_templates::dsl as t;
    let rows = if by_id {
        diesel::delete(t::message_templates.find(template.id)).execute(conn)?
    } else {
        diesel::delete(
            t::message_templates
                .filter(t::inbox_id.eq(template.inbox_id))
                .filter(t::name.eq(&template.name)),
        )
        .execute(conn)?
    };
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(input: Value) -> Vec<String> {
        parse(&input)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn language_codes() {
        for ok in ["en", "en_US", "pt_BR", "zh_HK", "fil", "sr_Latn"] {
            assert!(is_language_code(ok), "{ok}");
        }
        for bad in ["", "EN", "en-US", "english", "en_US_x", "e"] {
            assert!(!is_language_code(bad), "{bad}");
        }
    }

    #[test]
    fn body_parameter_rules() {
        let base = |text: &str, examples: Value| {
            json!({"name": "a", "language": "en", "category": "UTILITY",
                   "components": {"body": {"text": text, "examples": examples}}})
        };
        assert_eq!(
            fields(base("{{1}} hi", json!({"1": "x"}))),
            ["components.body.text"]
        );
        assert_eq!(
            fields(base("Hi {{1}}{{2}} there", json!(["a", "b"]))),
            ["components.body.text"]
        );
        assert_eq!(
            fields(base("Hi {{1}} and {{3}} there", json!(["a", "b"]))),
            [
                "components.body.text",
                "components.body.examples.2",
                "components.body.examples.3"
            ]
        );
        assert_eq!(
            fields(base("Hi {{1}} there", json!({}))),
            ["components.body.examples.1"]
        );
        assert_eq!(
            fields(base("Hi {{name}} there", json!({}))),
            ["components.body.text"]
        );
        let ok = parse(&base("Hi {{2}}, {{1}} there", json!(["a", "b"]))).unwrap();
        assert_eq!(
            ok.body,
            Body::Text {
                text: "Hi {{2}}, {{1}} there".into(),
                examples: vec![("1".into(), "a".into()), ("2".into(), "b".into())]
            }
        );
    }
}
