//! WhatsApp message templates: the copy synced from Graph (`GET /{waba_id}/message_templates`),
//! status changes from the `message_template_status_update` webhook, and turning Chatwoot's
//! `template_params` into the `template` object of a Graph send.
//!
//! Meta: cloud-api/guides/send-message-templates, business-management-api/message-templates.

use crate::db::schema::{inboxes, message_templates};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------------------------

/// A `message_templates` row: one template (name + language) of an inbox's WhatsApp Business
/// Account, as Graph last described it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize)]
#[diesel(table_name = message_templates)]
pub struct Template {
    pub id: i64,
    pub account_id: i64,
    pub inbox_id: i64,
    /// Meta's template id (`id` in Graph, `message_template_id` in webhooks).
    pub external_id: Option<String>,
    pub name: String,
    /// Language and locale code, e.g. `en_US`.
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, … as Meta writes it.
    pub status: String,
    /// `UTILITY`, `MARKETING` or `AUTHENTICATION`.
    pub category: Option<String>,
    /// `POSITIONAL` (`{{1}}`) or `NAMED` (`{{first_name}}`).
    pub parameter_format: String,
    /// Meta's `components` array, verbatim (HEADER, BODY, FOOTER, BUTTONS).
    pub components: Value,
    pub synced_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One template as read from an item of Graph's `GET /{waba_id}/message_templates` `data`
/// array, ready for [`replace_all`].
#[derive(Debug, Clone, PartialEq)]
pub struct SyncedTemplate {
    pub external_id: Option<String>,
    pub name: String,
    pub language: String,
    pub status: String,
    pub category: Option<String>,
    /// `POSITIONAL` unless Graph says otherwise.
    pub parameter_format: String,
    /// Meta's `components` array (`[]` when absent).
    pub components: Value,
}

/// Reads one item of Graph's `data` array (`id`, `name`, `language`, `status`, `category`,
/// `parameter_format`, `components`). `parameter_format` defaults to `POSITIONAL` and
/// `components` to `[]`; a missing `status` is kept as `UNKNOWN` (so it cannot be sent).
/// `None` when `name` or `language` is missing or empty.
pub fn from_graph(item: &Value) -> Option<SyncedTemplate> {
    let text = |key: &str| {
        item.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let name = text("name")?;
    let language = text("language")?;
    Some(SyncedTemplate {
        external_id: item.get("id").and_then(id_string),
        name,
        language,
        status: text("status").unwrap_or_else(|| "UNKNOWN".into()),
        category: text("category"),
        parameter_format: text("parameter_format")
            .map(|f| f.to_ascii_uppercase())
            .unwrap_or_else(|| "POSITIONAL".into()),
        components: item
            .get("components")
            .filter(|c| c.is_array())
            .cloned()
            .unwrap_or_else(|| json!([])),
    })
}

/// A Meta id written as a string or as a JSON number.
fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Makes `templates` the inbox's whole template list, in one transaction: upserts each on
/// (inbox_id, name, language), deletes the inbox's other templates, and records the sync
/// (`inboxes.templates_synced_at = at`, `templates_sync_error = NULL`).
/// Returns how many templates the inbox now has (duplicates in the input count once).
pub fn replace_all(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
    templates: &[SyncedTemplate],
    at: DateTime<Utc>,
) -> AppResult<usize> {
    use message_templates::dsl as t;
    conn.transaction(|conn| {
        let mut kept: Vec<i64> = Vec::with_capacity(templates.len());
        for tpl in templates {
            let id = upsert(conn, account_id, inbox_id, tpl, at)?.id;
            if !kept.contains(&id) {
                kept.push(id);
            }
        }
        diesel::delete(
            t::message_templates
                .filter(t::inbox_id.eq(inbox_id))
                .filter(t::id.ne_all(&kept)),
        )
        .execute(conn)?;
        diesel::update(inboxes::table.find(inbox_id))
            .set((
                inboxes::templates_synced_at.eq(Some(at)),
                inboxes::templates_sync_error.eq(None::<String>),
            ))
            .execute(conn)?;
        Ok(kept.len())
    })
}

/// Stores one template of the inbox: inserts it, or updates the row with the same
/// `(inbox_id, name, language)` (Meta's id, status, category, parameter format, components,
/// `synced_at = at`). The one upsert behind a sync ([`replace_all`]) and a template created
/// in Switchboard (`template_builder::store_created`). Returns the row.
pub fn upsert(
    conn: &mut PgConnection,
    account_id: i64,
    inbox_id: i64,
    tpl: &SyncedTemplate,
    at: DateTime<Utc>,
) -> AppResult<Template> {
    use diesel::upsert::excluded;
    use message_templates::dsl as t;
    Ok(diesel::insert_into(t::message_templates)
        .values((
            t::account_id.eq(account_id),
            t::inbox_id.eq(inbox_id),
            t::external_id.eq(&tpl.external_id),
            t::name.eq(&tpl.name),
            t::language.eq(&tpl.language),
            t::status.eq(&tpl.status),
            t::category.eq(&tpl.category),
            t::parameter_format.eq(&tpl.parameter_format),
            t::components.eq(&tpl.components),
            t::synced_at.eq(at),
        ))
        .on_conflict((t::inbox_id, t::name, t::language))
        .do_update()
        .set((
            t::external_id.eq(excluded(t::external_id)),
            t::status.eq(excluded(t::status)),
            t::category.eq(excluded(t::category)),
            t::parameter_format.eq(excluded(t::parameter_format)),
            t::components.eq(excluded(t::components)),
            t::synced_at.eq(excluded(t::synced_at)),
            t::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Template::as_returning())
        .get_result(conn)?)
}

/// Records why the inbox's last template sync failed (`inboxes.templates_sync_error`);
/// the templates and `templates_synced_at` of the last good sync stay.
pub fn record_sync_error(conn: &mut PgConnection, inbox_id: i64, error: &str) -> AppResult<()> {
    diesel::update(inboxes::table.find(inbox_id))
        .set(inboxes::templates_sync_error.eq(Some(error)))
        .execute(conn)?;
    Ok(())
}

/// The inbox's templates, ordered by name then language.
pub fn list(conn: &mut PgConnection, inbox_id: i64) -> AppResult<Vec<Template>> {
    Ok(message_templates::table
        .filter(message_templates::inbox_id.eq(inbox_id))
        .order((message_templates::name, message_templates::language))
        .select(Template::as_select())
        .load(conn)?)
}

/// The inbox's template `name` in `language` (exact match, e.g. `en_US`), if synced.
pub fn find(
    conn: &mut PgConnection,
    inbox_id: i64,
    name: &str,
    language: &str,
) -> AppResult<Option<Template>> {
    Ok(message_templates::table
        .filter(message_templates::inbox_id.eq(inbox_id))
        .filter(message_templates::name.eq(name))
        .filter(message_templates::language.eq(language))
        .select(Template::as_select())
        .first(conn)
        .optional()?)
}

/// The template status a `message_template_status_update` `event` leaves, or `None` for
/// events that do not change whether the template can be sent.
///
/// Meta: whatsapp/webhooks/reference/message_template_status_update. Most events name the new
/// status (APPROVED, REJECTED, PENDING, PAUSED, DISABLED, IN_APPEAL, ARCHIVED, DELETED,
/// PENDING_DELETION). `REINSTATED` (no longer flagged or disabled) and `UNARCHIVED` leave the
/// template sendable again, so they store `APPROVED`; `FLAGGED` (at risk, still approved),
/// `LOCKED`/`UNLOCKED` (editing only) and `LIMIT_EXCEEDED` (the account's template limit)
/// change nothing.
pub fn status_for_event(event: &str) -> Option<String> {
    let event = event.trim().to_ascii_uppercase();
    match event.as_str() {
        "" | "FLAGGED" | "LOCKED" | "UNLOCKED" | "LIMIT_EXCEEDED" => None,
        "REINSTATED" | "UNARCHIVED" => Some("APPROVED".into()),
        _ => Some(event),
    }
}

/// Applies one `message_template_status_update` change value to the inbox's copy:
/// `event` is the new status (see [`status_for_event`]), `message_template_id` (a number or a
/// string) finds the row, else `message_template_name` + `message_template_language` do.
/// `reason` and the other details are not kept.
///
/// Returns true when a stored template got the new status; false for a template not synced
/// yet (the next sync brings it) or an event that changes no status.
pub fn apply_status_update(
    conn: &mut PgConnection,
    inbox_id: i64,
    value: &Value,
) -> AppResult<bool> {
    use message_templates::dsl as t;
    let event = value
        .get("event")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(status) = status_for_event(event) else {
        tracing::info!(inbox_id, event, "template event changes no status");
        return Ok(false);
    };
    let external_id = value.get("message_template_id").and_then(id_string);
    if let Some(ext) = &external_id {
        let n = diesel::update(
            t::message_templates
                .filter(t::inbox_id.eq(inbox_id))
                .filter(t::external_id.eq(ext)),
        )
        .set((t::status.eq(&status), t::updated_at.eq(diesel::dsl::now)))
        .execute(conn)?;
        if n > 0 {
            return Ok(true);
        }
    }
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::trim);
    let (Some(name), Some(language)) = (
        text("message_template_name"),
        text("message_template_language"),
    ) else {
        tracing::info!(
            inbox_id,
            ?external_id,
            "template status update for an unknown template"
        );
        return Ok(false);
    };
    let target = t::message_templates
        .filter(t::inbox_id.eq(inbox_id))
        .filter(t::name.eq(name))
        .filter(t::language.eq(language));
    let n = match &external_id {
        // Matched by name: the template was recreated under a new id, or synced without one.
        Some(ext) => diesel::update(target)
            .set((
                t::status.eq(&status),
                t::external_id.eq(ext),
                t::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((t::status.eq(&status), t::updated_at.eq(diesel::dsl::now)))
            .execute(conn)?,
    };
    if n == 0 {
        tracing::info!(
            inbox_id,
            name,
            language,
            "template status update for a template not synced yet"
        );
    }
    Ok(n > 0)
}

// ---------------------------------------------------------------------------------------------
// Building a send from Chatwoot's template_params
// ---------------------------------------------------------------------------------------------

/// Chatwoot's `template_params` of a message send: which template, and the values for its
/// placeholders.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TemplateParams {
    pub name: String,
    #[serde(default)]
    pub category: Option<String>,
    /// Language and locale code, e.g. `en_US`.
    pub language: String,
    #[serde(default)]
    pub processed_params: ProcessedParams,
}

/// Chatwoot's `processed_params`: body and header values keyed by placeholder (`"1"` or
/// `"first_name"`; strings or numbers), the header's media (`media_url`, `media_type`,
/// `filename`/`media_name`), and button parameters.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ProcessedParams {
    #[serde(default)]
    pub body: Option<Map<String, Value>>,
    #[serde(default)]
    pub header: Option<Map<String, Value>>,
    #[serde(default)]
    pub buttons: Option<Vec<ButtonParam>>,
}

/// One button parameter: `type` is `url` (the variable end of a URL button), `copy_code`
/// (the coupon of a COPY_CODE button) or `quick_reply` (a payload); `index` optionally names
/// the template button (0-based, across all buttons).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ButtonParam {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub parameter: Option<String>,
    #[serde(default, deserialize_with = "lenient_index")]
    pub index: Option<u32>,
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

fn lenient_index<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    use serde::de::Error;
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("button index {n} is not a whole number"))),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("button index {s:?} is not a whole number"))),
        other => Err(D::Error::custom(format!(
            "button index must be a number, got {other}"
        ))),
    }
}

/// A template send ready for Graph, plus what the inbox shows of it.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedTemplate {
    /// The `template` object of Graph's POST /{phone_number_id}/messages body.
    pub graph: Value,
    /// The body text with the parameters filled in (what the customer reads), stored as the
    /// message content.
    pub content: String,
    /// The TEXT header with its parameter filled in.
    pub header: Option<String>,
    /// The FOOTER text.
    pub footer: Option<String>,
    /// Each template button for display: `{"type", "text", "url"?, "phone_number"?}`, URL
    /// filled in.
    pub buttons: Vec<Value>,
    /// Header media (IMAGE/VIDEO/DOCUMENT headers): (`image`|`video`|`document`, url).
    pub header_media: Option<(String, String)>,
}

/// The 422 a caller returns when `template_params` names a template the inbox does not have
/// (field `template_params.name`).
pub fn not_found_error(name: &str, language: &str) -> AppError {
    AppError::invalid(
        "template_params.name",
        format!(
            "template \"{name}\" ({language}) is not among this inbox's templates; \
             check the name and language, or sync the inbox's templates"
        ),
    )
}

/// The placeholder names in `text` (`{{1}}` → `1`, `{{ first_name }}` → `first_name`), in
/// order of first appearance, without repeats. A placeholder is letters, digits and `_`
/// between `{{` and `}}`, whitespace inside the braces tolerated; anything else is text.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for piece in scan(text) {
        if let Piece::Placeholder(name) = piece {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// The text of the template's BODY component, if it has one.
pub fn body_text(template: &Template) -> Option<&str> {
    component(template, "BODY").and_then(|c| c.get("text").and_then(Value::as_str))
}

/// Builds the Graph `template` object for a send, and the texts the inbox shows.
///
/// Meta: cloud-api/guides/send-message-templates and
/// cloud-api/reference/messages#template-object. Rules:
/// - only `APPROVED` templates can be sent;
/// - every placeholder of the BODY, of a TEXT header, and of a URL button's `url` needs a
///   non-empty value; keys that are not placeholders of the template are refused;
/// - POSITIONAL parameters go to Graph in placeholder order `1..n`, NAMED ones with their
///   `parameter_name`, in order of appearance;
/// - IMAGE/VIDEO/DOCUMENT headers need `processed_params.header.media_url` (http or https);
///   LOCATION headers are not supported;
/// - COPY_CODE buttons need a `copy_code` parameter; `quick_reply` payloads are optional;
///   button indexes go to Graph as strings.
///
/// Errors: 422 naming the offending `template_params…` field with a message saying what is
/// missing or wrong.
pub fn render(template: &Template, params: &TemplateParams) -> AppResult<RenderedTemplate> {
    let name = &template.name;
    if !template.status.eq_ignore_ascii_case("APPROVED") {
        return Err(AppError::invalid(
            "template_params.name",
            format!(
                "template \"{name}\" ({}) is {}; only APPROVED templates can be sent",
                template.language, template.status
            ),
        ));
    }
    let named = template.parameter_format.eq_ignore_ascii_case("NAMED");
    let processed = &params.processed_params;
    let mut components: Vec<Value> = Vec::new();

    // Header
    let (header, header_media) = match component(template, "HEADER") {
        Some(h) => render_header(
            template,
            h,
            named,
            processed.header.as_ref(),
            &mut components,
        )?,
        None => {
            refuse_header_without_component(template, processed.header.as_ref())?;
            (None, None)
        }
    };

    // Body
    let body = body_text(template).unwrap_or_default();
    let body_values = values_for(template, "body", body, named, processed.body.as_ref(), &[])?;
    if !body_values.is_empty() {
        components.push(json!({
            "type": "body",
            "parameters": graph_text_parameters(&body_values, named),
        }));
    }
    let content = fill(body, &body_values);

    // Buttons
    let buttons = template_buttons(template);
    let button_components = render_buttons(template, &buttons, processed.buttons.as_deref())?;
    let display_buttons = buttons
        .iter()
        .map(|b| {
            let mut shown = json!({
                "type": b.kind,
                "text": b.button.get("text").and_then(Value::as_str).unwrap_or_default(),
            });
            if let Some(url) = b.url() {
                let filled = button_components
                    .iter()
                    .find(|(i, _, _)| *i == b.index)
                    .and_then(|(_, _, v)| v.as_deref())
                    .map(|v| fill_all(url, v))
                    .unwrap_or_else(|| url.to_string());
                shown["url"] = json!(filled);
            }
            if let Some(phone) = b.button.get("phone_number").and_then(Value::as_str) {
                shown["phone_number"] = json!(phone);
            }
            shown
        })
        .collect();
    components.extend(button_components.into_iter().map(|(_, c, _)| c));

    let mut graph = json!({
        "name": template.name,
        "language": {"code": template.language},
    });
    if !components.is_empty() {
        graph["components"] = Value::Array(components);
    }
    let footer = component(template, "FOOTER")
        .and_then(|c| c.get("text").and_then(Value::as_str))
        .map(str::to_string);
    Ok(RenderedTemplate {
        graph,
        content,
        header,
        footer,
        buttons: display_buttons,
        header_media,
    })
}

/// The first component of `kind` (HEADER, BODY, FOOTER, BUTTONS; case-insensitive).
fn component<'a>(template: &'a Template, kind: &str) -> Option<&'a Value> {
    template.components.as_array()?.iter().find(|c| {
        c.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case(kind))
    })
}

/// Header keys that are not placeholder values.
const HEADER_MEDIA_KEYS: &[&str] = &["media_url", "media_type", "filename", "media_name"];

/// A header value given as a non-empty string.
fn header_str<'a>(header: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a str> {
    header
        .and_then(|h| h.get(key))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn refuse_header_without_component(
    template: &Template,
    header: Option<&Map<String, Value>>,
) -> AppResult<()> {
    if header_str(header, "media_url").is_some() {
        return Err(AppError::invalid(
            "template_params.processed_params.header.media_url",
            format!(
                "template \"{}\" has no media header: leave out processed_params.header.media_url",
                template.name
            ),
        ));
    }
    // Placeholder keys for a header the template does not have.
    values_for(template, "header", "", false, header, HEADER_MEDIA_KEYS).map(|_| ())
}

/// A rendered header: (filled TEXT header, (media type, url) of a media header).
type RenderedHeader = (Option<String>, Option<(String, String)>);

/// Renders the HEADER component into `components`.
fn render_header(
    template: &Template,
    h: &Value,
    named: bool,
    header: Option<&Map<String, Value>>,
    components: &mut Vec<Value>,
) -> AppResult<RenderedHeader> {
    let name = &template.name;
    let format = h
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("TEXT")
        .to_ascii_uppercase();
    match format.as_str() {
        "TEXT" => {
            if header_str(header, "media_url").is_some() {
                return Err(AppError::invalid(
                    "template_params.processed_params.header.media_url",
                    format!(
                        "template \"{name}\" has a TEXT header: leave out processed_params.header.media_url"
                    ),
                ));
            }
            let text = h.get("text").and_then(Value::as_str).unwrap_or_default();
            let values = values_for(template, "header", text, named, header, HEADER_MEDIA_KEYS)?;
            if !values.is_empty() {
                components.push(json!({
                    "type": "header",
                    "parameters": graph_text_parameters(&values, named),
                }));
            }
            Ok((Some(fill(text, &values)), None))
        }
        "IMAGE" | "VIDEO" | "DOCUMENT" => {
            let media_type = format.to_ascii_lowercase();
            let Some(url) = header_str(header, "media_url") else {
                return Err(AppError::invalid(
                    "template_params.processed_params.header.media_url",
                    format!(
                        "template \"{name}\" has an {format} header: give processed_params.header.media_url"
                    ),
                ));
            };
            if !is_http_url(url) {
                return Err(AppError::invalid(
                    "template_params.processed_params.header.media_url",
                    format!(
                        "the {media_type} for the header of template \"{name}\" must be an http or https URL, got {url:?}"
                    ),
                ));
            }
            if let Some(given) = header_str(header, "media_type") {
                if !given.eq_ignore_ascii_case(&media_type) {
                    return Err(AppError::invalid(
                        "template_params.processed_params.header.media_type",
                        format!(
                            "template \"{name}\" has an {format} header, not {given:?}: give media_type {media_type:?} or leave it out"
                        ),
                    ));
                }
            }
            // No placeholder keys belong to a media header.
            values_for(template, "header", "", named, header, HEADER_MEDIA_KEYS)?;
            let mut media = json!({ "link": url });
            if media_type == "document" {
                if let Some(file) =
                    header_str(header, "filename").or_else(|| header_str(header, "media_name"))
                {
                    media["filename"] = json!(file);
                }
            }
            let mut parameter = Map::new();
            parameter.insert("type".into(), json!(media_type));
            parameter.insert(media_type.clone(), media);
            components.push(json!({"type": "header", "parameters": [parameter]}));
            Ok((None, Some((media_type, url.to_string()))))
        }
        other => Err(AppError::invalid(
            "template_params.processed_params.header",
            format!(
                "template \"{name}\" has a {other} header, which Switchboard cannot send yet; \
                 choose a template with a text, image, video or document header"
            ),
        )),
    }
}

fn is_http_url(s: &str) -> bool {
    url::Url::parse(s)
        .map(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .unwrap_or(false)
}

/// A parameter value as text: strings as they are, numbers (and booleans) in their string
/// form; `None` for null or an empty string. Objects and arrays are refused.
fn value_text(template: &Template, field: &str, key: &str, v: &Value) -> AppResult<Option<String>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(AppError::invalid(
            field,
            format!(
                "parameter {{{{{key}}}}} of template \"{}\" must be text or a number",
                template.name
            ),
        )),
    }
}

/// The values for the placeholders of `text` (a body or header), in Graph order:
/// POSITIONAL by number, NAMED by appearance. `part` is `body` or `header`; keys in `ignore`
/// are not placeholder values. Errors: 422 for a key that is no placeholder, or missing values.
fn values_for(
    template: &Template,
    part: &str,
    text: &str,
    named: bool,
    given: Option<&Map<String, Value>>,
    ignore: &[&str],
) -> AppResult<Vec<(String, String)>> {
    let name = &template.name;
    let mut wanted = placeholders(text);
    if !named {
        // {{1}}, {{2}}, … in number order; anything non-numeric keeps its place at the end.
        wanted.sort_by_key(|p| p.parse::<u64>().map_or((1, 0), |n| (0, n)));
    }
    let empty = Map::new();
    let given = given.unwrap_or(&empty);
    let listed = |names: &[String]| {
        names
            .iter()
            .map(|n| format!("{{{{{n}}}}}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for key in given.keys() {
        let key_name = key
            .trim()
            .trim_start_matches("{{")
            .trim_end_matches("}}")
            .trim();
        if ignore.contains(&key_name) || wanted.iter().any(|w| w == key_name) {
            continue;
        }
        let has = if wanted.is_empty() {
            format!("its {part} has no parameters")
        } else {
            format!("its {part} parameters are {}", listed(&wanted))
        };
        return Err(AppError::invalid(
            &format!("template_params.processed_params.{part}.{key_name}"),
            format!("template \"{name}\" has no {part} parameter {{{{{key_name}}}}}; {has}"),
        ));
    }
    let lookup = |w: &str| {
        given.iter().find(|(k, _)| {
            k.trim()
                .trim_start_matches("{{")
                .trim_end_matches("}}")
                .trim()
                == w
        })
    };
    let mut values = Vec::with_capacity(wanted.len());
    let mut missing = Vec::new();
    for w in &wanted {
        let field = format!("template_params.processed_params.{part}.{w}");
        match lookup(w) {
            Some((_, v)) => match value_text(template, &field, w, v)? {
                Some(text) => values.push((w.clone(), text)),
                None => missing.push(w.clone()),
            },
            None => missing.push(w.clone()),
        }
    }
    if let Some(first) = missing.first() {
        let plural = if missing.len() > 1 { "s" } else { "" };
        return Err(AppError::invalid(
            &format!("template_params.processed_params.{part}.{first}"),
            format!(
                "template \"{name}\" needs {part} parameter{plural} {}",
                listed(&missing)
            ),
        ));
    }
    Ok(values)
}

/// Graph `parameters` for text values: `{"type":"text","text":…}`, with `parameter_name`
/// for NAMED templates.
fn graph_text_parameters(values: &[(String, String)], named: bool) -> Vec<Value> {
    values
        .iter()
        .map(|(k, v)| {
            if named {
                json!({"type": "text", "parameter_name": k, "text": v})
            } else {
                json!({"type": "text", "text": v})
            }
        })
        .collect()
}

/// A piece of template text: literal text, or a placeholder name.
enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// Splits template text into literal text and `{{name}}` placeholders.
fn scan(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let inner = after[..end].trim();
        let valid = !inner.is_empty() && inner.chars().all(|c| c.is_alphanumeric() || c == '_');
        if valid {
            if start > 0 {
                pieces.push(Piece::Text(&rest[..start]));
            }
            pieces.push(Piece::Placeholder(inner));
            rest = &after[end + 2..];
        } else {
            // Not a placeholder: keep one "{" as text and look again from the next one.
            pieces.push(Piece::Text(&rest[..start + 1]));
            rest = &rest[start + 1..];
        }
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    pieces
}

/// `text` with each placeholder replaced by its value; unknown placeholders stay as written.
fn fill(text: &str, values: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in scan(text) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder(p) => match values.iter().find(|(k, _)| k == p) {
                Some((_, v)) => out.push_str(v),
                None => {
                    out.push_str("{{");
                    out.push_str(p);
                    out.push_str("}}");
                }
            },
        }
    }
    out
}

/// `text` with every placeholder replaced by `value` (a URL button's single variable).
fn fill_all(text: &str, value: &str) -> String {
    scan(text)
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => t,
            Piece::Placeholder(_) => value,
        })
        .collect()
}

/// One button of the template's BUTTONS component.
struct TemplateButton<'a> {
    /// 0-based position across all buttons (Graph's `index`).
    index: usize,
    /// Meta's button type, upper case (QUICK_REPLY, URL, COPY_CODE, PHONE_NUMBER, …).
    kind: String,
    button: &'a Value,
}

impl TemplateButton<'_> {
    fn url(&self) -> Option<&str> {
        self.button.get("url").and_then(Value::as_str)
    }

    /// A URL button whose `url` has a placeholder, so a send must give its value.
    fn is_dynamic_url(&self) -> bool {
        self.kind == "URL" && self.url().is_some_and(|u| !placeholders(u).is_empty())
    }

    fn label(&self) -> String {
        let text = self
            .button
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or("");
        format!("{} button {} \"{text}\"", self.kind, self.index)
    }
}

fn template_buttons(template: &Template) -> Vec<TemplateButton<'_>> {
    component(template, "BUTTONS")
        .and_then(|c| c.get("buttons"))
        .and_then(Value::as_array)
        .map(|bs| {
            bs.iter()
                .enumerate()
                .map(|(index, button)| TemplateButton {
                    index,
                    kind: button
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_ascii_uppercase(),
                    button,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The Graph button components, in button order, each with its button index and (for URL
/// buttons) the value filled into the URL.
fn render_buttons(
    template: &Template,
    buttons: &[TemplateButton<'_>],
    given: Option<&[ButtonParam]>,
) -> AppResult<Vec<(usize, Value, Option<String>)>> {
    const FIELD: &str = "template_params.processed_params.buttons";
    let name = &template.name;
    let given = given.unwrap_or_default();
    // Which template button each given parameter goes to.
    let mut assigned: Vec<(usize, Option<String>)> = Vec::new();
    let taken = |index: usize, assigned: &[(usize, Option<String>)]| {
        assigned.iter().any(|(i, _)| *i == index)
    };
    let wants = |b: &TemplateButton, kind: &str| match kind {
        "url" => b.is_dynamic_url(),
        "copy_code" => b.kind == "COPY_CODE",
        "quick_reply" => b.kind == "QUICK_REPLY",
        _ => false,
    };
    // Explicit indexes first, then the rest in order.
    let mut ordered: Vec<&ButtonParam> = given.iter().filter(|p| p.index.is_some()).collect();
    ordered.extend(given.iter().filter(|p| p.index.is_none()));
    for p in ordered {
        let kind = p.kind.trim().to_ascii_lowercase();
        if !matches!(kind.as_str(), "url" | "copy_code" | "quick_reply") {
            return Err(AppError::invalid(
                FIELD,
                format!(
                    "button parameter type {:?} is not supported: use \"url\", \"copy_code\" or \"quick_reply\"",
                    p.kind
                ),
            ));
        }
        let value = p
            .parameter
            .as_deref()
            .filter(|v| !v.trim().is_empty())
            .map(str::to_string);
        let target = match p.index {
            Some(i) => {
                let Some(b) = buttons.get(i as usize) else {
                    return Err(AppError::invalid(
                        FIELD,
                        format!(
                            "template \"{name}\" has no button {i} (it has {} button{})",
                            buttons.len(),
                            if buttons.len() == 1 { "" } else { "s" }
                        ),
                    ));
                };
                if !wants(b, &kind) {
                    let why = if kind == "url" && b.kind == "URL" {
                        "its URL has no parameter".to_string()
                    } else {
                        format!("it is a {} button", b.kind)
                    };
                    return Err(AppError::invalid(
                        FIELD,
                        format!(
                            "template \"{name}\" takes no {kind} parameter for {}: {why}",
                            b.label()
                        ),
                    ));
                }
                if taken(b.index, &assigned) {
                    return Err(AppError::invalid(
                        FIELD,
                        format!(
                            "two parameters given for {} of template \"{name}\"",
                            b.label()
                        ),
                    ));
                }
                b.index
            }
            None => match buttons
                .iter()
                .find(|b| wants(b, &kind) && !taken(b.index, &assigned))
            {
                Some(b) => b.index,
                None => {
                    let what = match kind.as_str() {
                        "url" => "URL button with a parameter",
                        "copy_code" => "COPY_CODE button",
                        _ => "QUICK_REPLY button",
                    };
                    let more = if buttons.iter().any(|b| wants(b, &kind)) {
                        "more "
                    } else {
                        ""
                    };
                    return Err(AppError::invalid(
                        FIELD,
                        format!(
                            "template \"{name}\" has no {more}{what} for this {kind} parameter"
                        ),
                    ));
                }
            },
        };
        assigned.push((target, value));
    }
    let mut out = Vec::new();
    for b in buttons {
        let value = assigned
            .iter()
            .find(|(i, _)| *i == b.index)
            .and_then(|(_, v)| v.clone());
        let (sub_type, parameter) = if b.is_dynamic_url() {
            let Some(v) = value.clone() else {
                return Err(AppError::invalid(
                    FIELD,
                    format!(
                        "template \"{name}\" needs a url parameter for {} ({})",
                        b.label(),
                        b.url().unwrap_or_default()
                    ),
                ));
            };
            ("url", json!({"type": "text", "text": v}))
        } else if b.kind == "COPY_CODE" {
            let Some(v) = value.clone() else {
                return Err(AppError::invalid(
                    FIELD,
                    format!(
                        "template \"{name}\" needs a copy_code parameter (the coupon code) for {}",
                        b.label()
                    ),
                ));
            };
            (
                "copy_code",
                json!({"type": "coupon_code", "coupon_code": v}),
            )
        } else if b.kind == "QUICK_REPLY" {
            match value.clone() {
                Some(v) => ("quick_reply", json!({"type": "payload", "payload": v})),
                None => continue,
            }
        } else {
            continue;
        };
        out.push((
            b.index,
            json!({
                "type": "button",
                "sub_type": sub_type,
                "index": b.index.to_string(),
                "parameters": [parameter],
            }),
            value,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shared Graph fixture (`../shared/fixtures/meta/graph/<name>`), read at run time.
    fn graph_fixture(name: &str) -> String {
        let path = format!(
            "{}/../shared/fixtures/meta/graph/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn to_template(s: SyncedTemplate) -> Template {
        let at = Utc::now();
        Template {
            id: 1,
            account_id: 1,
            inbox_id: 1,
            external_id: s.external_id,
            name: s.name,
            language: s.language,
            status: s.status,
            category: s.category,
            parameter_format: s.parameter_format,
            components: s.components,
            synced_at: at,
            created_at: at,
            updated_at: at,
        }
    }

    fn fixture(name: &str, language: &str) -> Template {
        for page in [
            graph_fixture("message_templates_page1.json"),
            graph_fixture("message_templates_page2.json"),
        ] {
            let v: Value = serde_json::from_str(&page).unwrap();
            for item in v["data"].as_array().unwrap() {
                let s = from_graph(item).unwrap();
                if s.name == name && s.language == language {
                    return to_template(s);
                }
            }
        }
        panic!("no fixture template {name} {language}")
    }

    fn params(v: Value) -> TemplateParams {
        serde_json::from_value(v).unwrap()
    }

    /// (field, message) of a 422.
    fn invalid(e: AppError) -> (String, String) {
        match e {
            AppError::Unprocessable {
                field: Some(f),
                message,
            } => (f, message),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn from_graph_reads_items_and_defaults() {
        let t = fixture("order_update_v1", "en_US");
        assert_eq!(t.external_id.as_deref(), Some("1387372356726668"));
        assert_eq!(t.status, "APPROVED");
        assert_eq!(t.category.as_deref(), Some("UTILITY"));
        assert_eq!(t.parameter_format, "POSITIONAL");
        assert_eq!(t.components.as_array().unwrap().len(), 4);

        let bare = from_graph(&json!({"name": "x", "language": "en", "id": 42})).unwrap();
        assert_eq!(bare.parameter_format, "POSITIONAL");
        assert_eq!(bare.components, json!([]));
        assert_eq!(bare.external_id.as_deref(), Some("42"));
        assert_eq!(bare.category, None);
        assert!(from_graph(&json!({"name": "x"})).is_none());
        assert!(from_graph(&json!({"language": "en"})).is_none());
        assert!(from_graph(&json!({"name": "", "language": "en"})).is_none());
    }

    #[test]
    fn placeholders_in_order_without_repeats() {
        assert_eq!(placeholders("Hi {{1}}, {{2}} and {{1}}"), vec!["1", "2"]);
        assert_eq!(
            placeholders("{{ first_name }} at {{date}}{{first_name}}"),
            vec!["first_name", "date"]
        );
        assert!(placeholders("no {{ }} {{a-b}} {{ open").is_empty());
        assert_eq!(placeholders("{{{1}}}"), vec!["1"]);
    }

    #[test]
    fn fill_tolerates_whitespace_and_keeps_unknown() {
        let values = vec![("1".to_string(), "Sheena".to_string())];
        assert_eq!(
            fill("Hi {{ 1 }}, {{2}} {{x-y}}", &values),
            "Hi Sheena, {{2}} {{x-y}}"
        );
    }

    #[test]
    fn positional_with_text_header_and_url_button() {
        let t = fixture("order_update_v1", "en_US");
        let r = render(
            &t,
            &params(json!({
                "name": "order_update_v1",
                "language": "en_US",
                "category": "UTILITY",
                "processed_params": {
                    "body": {"1": "Sheena", "2": "on its way"},
                    "header": {"1": "#4521"},
                    "buttons": [{"type": "url", "parameter": "4521"}]
                }
            })),
        )
        .unwrap();
        assert_eq!(
            r.graph,
            json!({
                "name": "order_update_v1",
                "language": {"code": "en_US"},
                "components": [
                    {"type": "header", "parameters": [{"type": "text", "text": "#4521"}]},
                    {"type": "body", "parameters": [
                        {"type": "text", "text": "Sheena"},
                        {"type": "text", "text": "on its way"}
                    ]},
                    {"type": "button", "sub_type": "url", "index": "1",
                     "parameters": [{"type": "text", "text": "4521"}]}
                ]
            })
        );
        assert_eq!(
            r.content,
            "Hi Sheena, your order is on its way. Reply here if you need anything."
        );
        assert_eq!(r.header.as_deref(), Some("Order #4521"));
        assert_eq!(r.footer.as_deref(), Some("Main Street Store"));
        assert_eq!(
            r.buttons,
            vec![
                json!({"type": "QUICK_REPLY", "text": "Talk to an agent"}),
                json!({"type": "URL", "text": "Track order", "url": "https://shop.example.com/track/4521"}),
            ]
        );
        assert_eq!(r.header_media, None);
    }

    #[test]
    fn positional_body_order_follows_numbers_and_numbers_become_text() {
        let mut t = fixture("order_update_v1", "es");
        t.components = json!([{"type": "BODY", "text": "{{2}} then {{1}}"}]);
        let r = render(
            &t,
            &params(json!({"name": "order_update_v1", "language": "es",
                "processed_params": {"body": {"2": "second", "1": 7}}})),
        )
        .unwrap();
        assert_eq!(
            r.graph["components"][0]["parameters"],
            json!([{"type": "text", "text": "7"}, {"type": "text", "text": "second"}])
        );
        assert_eq!(r.content, "second then 7");
    }

    #[test]
    fn named_with_image_header() {
        let t = fixture("reservation_confirmation", "en_US");
        let r = render(
            &t,
            &params(json!({
                "name": "reservation_confirmation",
                "language": "en_US",
                "processed_params": {
                    "body": {"first_name": "Pablo", "number_of_guests": 4, "date": "Friday"},
                    "header": {"media_url": "https://cdn.example.com/table.jpg", "media_type": "image"}
                }
            })),
        )
        .unwrap();
        assert_eq!(
            r.graph,
            json!({
                "name": "reservation_confirmation",
                "language": {"code": "en_US"},
                "components": [
                    {"type": "header", "parameters": [
                        {"type": "image", "image": {"link": "https://cdn.example.com/table.jpg"}}
                    ]},
                    {"type": "body", "parameters": [
                        {"type": "text", "parameter_name": "first_name", "text": "Pablo"},
                        {"type": "text", "parameter_name": "number_of_guests", "text": "4"},
                        {"type": "text", "parameter_name": "date", "text": "Friday"}
                    ]}
                ]
            })
        );
        assert_eq!(
            r.content,
            "Hi Pablo, your table for 4 is booked for Friday."
        );
        assert_eq!(
            r.header_media,
            Some(("image".into(), "https://cdn.example.com/table.jpg".into()))
        );
        assert_eq!(r.header, None);
        assert_eq!(r.footer, None);
        assert!(r.buttons.is_empty());
    }

    #[test]
    fn missing_body_parameter_names_it() {
        let t = fixture("order_update_v1", "en_US");
        let e = render(
            &t,
            &params(
                json!({"name": "order_update_v1", "language": "en_US", "processed_params": {
                    "body": {"1": "Sheena", "2": ""},
                    "header": {"1": "#4521"},
                    "buttons": [{"type": "url", "parameter": "4521"}]
                }}),
            ),
        )
        .unwrap_err();
        let (field, message) = invalid(e);
        assert_eq!(field, "template_params.processed_params.body.2");
        assert_eq!(
            message,
            "template \"order_update_v1\" needs body parameter {{2}}"
        );
    }

    #[test]
    fn several_missing_parameters_in_one_message() {
        let t = fixture("reservation_confirmation", "en_US");
        let e = render(
            &t,
            &params(json!({"name": "reservation_confirmation", "language": "en_US", "processed_params": {
                "body": {"number_of_guests": "4"},
                "header": {"media_url": "https://cdn.example.com/t.jpg"}
            }})),
        )
        .unwrap_err();
        let (field, message) = invalid(e);
        assert_eq!(field, "template_params.processed_params.body.first_name");
        assert!(message.contains("{{first_name}}, {{date}}"), "{message}");
    }

    #[test]
    fn unknown_named_parameter_is_refused() {
        let t = fixture("reservation_confirmation", "en_US");
        let e = render(
            &t,
            &params(json!({"name": "reservation_confirmation", "language": "en_US", "processed_params": {
                "body": {"first_name": "Pablo", "number_of_guests": "4", "date": "Friday", "foo": "x"},
                "header": {"media_url": "https://cdn.example.com/t.jpg"}
            }})),
        )
        .unwrap_err();
        let (field, message) = invalid(e);
        assert_eq!(field, "template_params.processed_params.body.foo");
        assert!(
            message
                .starts_with("template \"reservation_confirmation\" has no body parameter {{foo}}"),
            "{message}"
        );
    }

    #[test]
    fn only_approved_templates_are_sent() {
        let t = fixture("winter_sale", "en");
        let e = render(
            &t,
            &params(json!({"name": "winter_sale", "language": "en",
                "processed_params": {"body": {"1": "tomorrow"}}})),
        )
        .unwrap_err();
        let (field, message) = invalid(e);
        assert_eq!(field, "template_params.name");
        assert_eq!(
            message,
            "template \"winter_sale\" (en) is PENDING; only APPROVED templates can be sent"
        );
    }

    #[test]
    fn image_header_needs_an_http_media_url_of_the_right_type() {
        let t = fixture("reservation_confirmation", "en_US");
        let body = json!({"first_name": "Pablo", "number_of_guests": "4", "date": "Friday"});
        let send = |header: Value| {
            render(
                &t,
                &params(
                    json!({"name": "reservation_confirmation", "language": "en_US",
                    "processed_params": {"body": body, "header": header}}),
                ),
            )
        };
        let (field, message) = invalid(send(json!({})).unwrap_err());
        assert_eq!(field, "template_params.processed_params.header.media_url");
        assert_eq!(
            message,
            "template \"reservation_confirmation\" has an IMAGE header: give processed_params.header.media_url"
        );
        let (field, _) = invalid(send(json!({"media_url": "ftp://x/y.jpg"})).unwrap_err());
        assert_eq!(field, "template_params.processed_params.header.media_url");
        let (field, _) = invalid(
            send(json!({"media_url": "https://x.example/y.mp4", "media_type": "video"}))
                .unwrap_err(),
        );
        assert_eq!(field, "template_params.processed_params.header.media_type");
        assert!(
            send(json!({"media_url": "https://x.example/y.jpg", "media_type": "IMAGE"})).is_ok()
        );
    }

    #[test]
    fn document_header_carries_filename() {
        let mut t = fixture("order_update_v1", "es");
        t.components = json!([
            {"type": "HEADER", "format": "DOCUMENT"},
            {"type": "BODY", "text": "Your invoice"}
        ]);
        let r = render(
            &t,
            &params(json!({"name": "order_update_v1", "language": "es", "processed_params": {
                "header": {"media_url": "https://x.example/inv.pdf", "media_name": "invoice.pdf"}
            }})),
        )
        .unwrap();
        assert_eq!(
            r.graph["components"],
            json!([{"type": "header", "parameters": [{"type": "document",
                "document": {"link": "https://x.example/inv.pdf", "filename": "invoice.pdf"}}]}])
        );
        assert_eq!(r.content, "Your invoice");
    }

    #[test]
    fn location_header_is_refused() {
        let mut t = fixture("order_update_v1", "es");
        t.components =
            json!([{"type": "HEADER", "format": "LOCATION"}, {"type": "BODY", "text": "Here"}]);
        let (field, message) = invalid(
            render(
                &t,
                &params(json!({"name": "order_update_v1", "language": "es"})),
            )
            .unwrap_err(),
        );
        assert_eq!(field, "template_params.processed_params.header");
        assert!(message.contains("LOCATION header"), "{message}");
    }

    fn coupon_template() -> Template {
        let mut t = fixture("order_update_v1", "es");
        t.name = "coupon".into();
        t.components = json!([
            {"type": "BODY", "text": "Use the code for 20% off"},
            {"type": "BUTTONS", "buttons": [
                {"type": "COPY_CODE", "example": "SAVE20"},
                {"type": "QUICK_REPLY", "text": "Stop promotions"},
                {"type": "URL", "text": "Shop", "url": "https://shop.example.com/"}
            ]}
        ]);
        t
    }

    #[test]
    fn copy_code_and_quick_reply_payload() {
        let t = coupon_template();
        let r = render(
            &t,
            &params(
                json!({"name": "coupon", "language": "es", "processed_params": {
                    "buttons": [
                        {"type": "quick_reply", "parameter": "STOP"},
                        {"type": "copy_code", "parameter": "SAVE20"}
                    ]
                }}),
            ),
        )
        .unwrap();
        assert_eq!(
            r.graph,
            json!({
                "name": "coupon",
                "language": {"code": "es"},
                "components": [
                    {"type": "button", "sub_type": "copy_code", "index": "0",
                     "parameters": [{"type": "coupon_code", "coupon_code": "SAVE20"}]},
                    {"type": "button", "sub_type": "quick_reply", "index": "1",
                     "parameters": [{"type": "payload", "payload": "STOP"}]}
                ]
            })
        );
        assert_eq!(
            r.buttons[2],
            json!({"type": "URL", "text": "Shop", "url": "https://shop.example.com/"})
        );

        // The coupon code is required; quick reply payloads are not.
        let (field, message) =
            invalid(render(&t, &params(json!({"name": "coupon", "language": "es"}))).unwrap_err());
        assert_eq!(field, "template_params.processed_params.buttons");
        assert!(message.contains("copy_code"), "{message}");
    }

    #[test]
    fn button_parameters_must_fit_a_button() {
        let t = coupon_template();
        let send = |buttons: Value| {
            render(
                &t,
                &params(json!({"name": "coupon", "language": "es",
                    "processed_params": {"buttons": buttons}})),
            )
        };
        // The URL button has no parameter.
        let (_, message) = invalid(
            send(
                json!([{"type": "copy_code", "parameter": "A"}, {"type": "url", "parameter": "x"}]),
            )
            .unwrap_err(),
        );
        assert!(
            message.contains("has no URL button with a parameter"),
            "{message}"
        );
        let (_, message) = invalid(
            send(json!([{"type": "copy_code", "parameter": "A"}, {"type": "url", "parameter": "x", "index": 2}]))
                .unwrap_err(),
        );
        assert!(message.contains("its URL has no parameter"), "{message}");
        let (_, message) = invalid(
            send(json!([{"type": "copy_code", "parameter": "A", "index": 1}])).unwrap_err(),
        );
        assert!(message.contains("it is a QUICK_REPLY button"), "{message}");
        let (_, message) =
            invalid(send(json!([{"type": "phone_number", "parameter": "1"}])).unwrap_err());
        assert!(message.contains("not supported"), "{message}");
    }

    #[test]
    fn missing_url_parameter_names_the_button() {
        let t = fixture("order_update_v1", "en_US");
        let (field, message) = invalid(
            render(
                &t,
                &params(
                    json!({"name": "order_update_v1", "language": "en_US", "processed_params": {
                        "body": {"1": "Sheena", "2": "on its way"},
                        "header": {"1": "#4521"}
                    }}),
                ),
            )
            .unwrap_err(),
        );
        assert_eq!(field, "template_params.processed_params.buttons");
        assert!(message.contains("\"Track order\""), "{message}");
    }

    #[test]
    fn missing_header_parameter_and_explicit_url_index() {
        let t = fixture("order_update_v1", "en_US");
        let (field, _) = invalid(
            render(
                &t,
                &params(
                    json!({"name": "order_update_v1", "language": "en_US", "processed_params": {
                        "body": {"1": "Sheena", "2": "on its way"},
                        "buttons": [{"type": "url", "parameter": "4521"}]
                    }}),
                ),
            )
            .unwrap_err(),
        );
        assert_eq!(field, "template_params.processed_params.header.1");
        let r = render(
            &t,
            &params(
                json!({"name": "order_update_v1", "language": "en_US", "processed_params": {
                    "body": {"1": "Sheena", "2": "on its way"},
                    "header": {"1": "#1"},
                    "buttons": [{"type": "url", "parameter": 99, "index": "1"}]
                }}),
            ),
        )
        .unwrap();
        assert_eq!(r.graph["components"][2]["parameters"][0]["text"], "99");
    }

    #[test]
    fn body_without_placeholders_has_no_components() {
        let mut t = fixture("order_update_v1", "es");
        t.components = json!([{"type": "BODY", "text": "Hello"}]);
        let r = render(
            &t,
            &params(json!({"name": "order_update_v1", "language": "es"})),
        )
        .unwrap();
        assert_eq!(
            r.graph,
            json!({"name": "order_update_v1", "language": {"code": "es"}})
        );
        assert_eq!(r.content, "Hello");
    }

    #[test]
    fn status_events() {
        assert_eq!(status_for_event("APPROVED").as_deref(), Some("APPROVED"));
        assert_eq!(status_for_event("PAUSED").as_deref(), Some("PAUSED"));
        assert_eq!(status_for_event("REINSTATED").as_deref(), Some("APPROVED"));
        assert_eq!(status_for_event("FLAGGED"), None);
        assert_eq!(status_for_event(""), None);
    }
}
