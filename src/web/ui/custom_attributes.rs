//! Custom attributes in the agent UI (issue 11):
//! - Settings → Custom attributes (`/app/accounts/{id}/settings/custom_attributes`,
//!   administrators): the conversation and contact attributes, each with its key, type and
//!   choices, and one form that adds or edits an attribute (list values as chips, regex with
//!   its cue for text). `static/custom_attributes.js` drives the form and the delete
//!   confirmation through `/api/v1/…/custom_attribute_definitions`, so the rules and messages
//!   are the API's; the page reloads with `?notice=` after a change.
//! - The editors of `templates/partials/custom_attributes.html`, built by [`block`] for any
//!   record: the conversation's contact panel shows one block per model, and a contact page
//!   can include the same partial with a contact block.

use super::scope::Admin;
use super::settings_people::NoticeQuery;
use super::{html, Layout};
use crate::app::AppState;
use crate::domain::custom_attributes::{self as ca, Definition, DisplayType, Model};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde_json::{json, Value};

/// One definition as the Settings page lists it.
#[derive(Debug, Clone)]
pub struct DefinitionRow {
    /// Its id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// `attribute_key`.
    pub key: String,
    /// "Text", "List", …
    pub type_label: String,
    /// Its description, empty when none.
    pub description: String,
    /// List choices (empty for other types).
    pub values: Vec<String>,
    /// Text: the regex pattern, empty when none.
    pub regex_pattern: String,
    /// The definition as the API answers it (the edit button hands it to the form script).
    pub json: String,
}

/// One model's section of the Settings page.
#[derive(Debug, Clone)]
pub struct ModelSection {
    /// `conversation_attribute` or `contact_attribute`.
    pub model: &'static str,
    /// "Conversation attributes" or "Contact attributes".
    pub title: &'static str,
    /// What these attributes are for.
    pub hint: &'static str,
    /// The definitions, oldest first.
    pub rows: Vec<DefinitionRow>,
}

#[derive(Template)]
#[template(path = "settings/custom_attributes.html")]
struct SettingsPage {
    layout: Layout,
    sections: Vec<ModelSection>,
    notice: String,
    /// `(value, label)` of every display type, in Chatwoot's order.
    types: Vec<(&'static str, &'static str)>,
}

fn row(d: &Definition) -> DefinitionRow {
    DefinitionRow {
        id: d.id,
        name: d.attribute_display_name.clone(),
        key: d.attribute_key.clone(),
        type_label: d.display_type().label().to_string(),
        description: d.attribute_description.clone().unwrap_or_default(),
        values: d.attribute_values.clone(),
        regex_pattern: d.regex_pattern.clone().unwrap_or_default(),
        json: d.to_json().to_string(),
    }
}

/// `GET /app/accounts/{id}/settings/custom_attributes`: both models' attributes and the form
/// (administrators; others are refused as on every settings page).
pub async fn settings_index(
    state: web::Data<AppState>,
    admin: Admin,
    q: web::Query<NoticeQuery>,
) -> HttpResponse {
    let account_id = admin.account_id();
    let list = match state.db(move |conn| ca::list(conn, account_id, None)).await {
        Ok(l) => l,
        Err(e) => return actix_web::ResponseError::error_response(&e),
    };
    let section = |model: Model, title, hint| ModelSection {
        model: model.as_str(),
        title,
        hint,
        rows: list
            .iter()
            .filter(|d| d.model() == model)
            .map(row)
            .collect(),
    };
    let page = SettingsPage {
        layout: admin.layout,
        sections: vec![
            section(
                Model::Conversation,
                "Conversation attributes",
                "Facts about one conversation, e.g. an order number or the reason for contact.",
            ),
            section(
                Model::Contact,
                "Contact attributes",
                "Facts about a customer that hold across conversations, e.g. a plan or a renewal date.",
            ),
        ],
        notice: q.into_inner().notice.unwrap_or_default(),
        types: ca::DISPLAY_TYPES
            .iter()
            .map(|t| (t.as_str(), t.label()))
            .collect(),
    };
    html(&page).unwrap_or_else(|e| actix_web::ResponseError::error_response(&e))
}

/// One attribute's editor in a block.
#[derive(Debug, Clone)]
pub struct AttributeRow {
    /// `attribute_key`.
    pub key: String,
    /// Display name (the editor's label).
    pub name: String,
    /// [`DisplayType::as_str`]: which editor.
    pub kind: &'static str,
    /// The value for a text-like editor (number as typed, date `YYYY-MM-DD`, list choice);
    /// empty when unset.
    pub value: String,
    /// Checkbox: whether it is ticked.
    pub checked: bool,
    /// List: the choices.
    pub options: Vec<String>,
    /// Its description, empty when none (shown as the editor's hint).
    pub description: String,
    /// Text with a regex: the cue to show as a hint, empty otherwise.
    pub cue: String,
    /// A unique element id for the editor (`ca-<model>-<key>`).
    pub input_id: String,
}

/// The editors of one record's custom attributes (the partial's `ca`).
#[derive(Debug, Clone)]
pub struct AttributeBlock {
    /// `conversation_attribute` or `contact_attribute`.
    pub model: &'static str,
    /// The section title ("Conversation attributes", "Contact attributes").
    pub title: &'static str,
    /// The API path the editors post to, relative to `/api/v1/accounts/{id}`
    /// (e.g. `/conversations/12/custom_attributes`).
    pub endpoint: String,
    /// The defined attributes with the record's values, in definition order.
    pub rows: Vec<AttributeRow>,
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The block of `model` for a record whose `custom_attributes` are `values`, given the
/// account's definitions (any model; the others are skipped). `object_id` is the
/// conversation's `display_id` or the contact's id.
pub fn block(
    definitions: &[Definition],
    model: Model,
    object_id: i64,
    values: &Value,
) -> AttributeBlock {
    let prefix = match model {
        Model::Conversation => "conv",
        Model::Contact => "contact",
    };
    let rows = definitions
        .iter()
        .filter(|d| d.model() == model)
        .map(|d| {
            let v = values.get(&d.attribute_key);
            let kind = d.display_type();
            let mut options = d.attribute_values.clone();
            // A stored value no longer among the choices stays visible (and selected).
            let current = text_of(v);
            if kind == DisplayType::List && !current.is_empty() && !options.contains(&current) {
                options.push(current);
            }
            AttributeRow {
                key: d.attribute_key.clone(),
                name: d.attribute_display_name.clone(),
                kind: kind.as_str(),
                value: if kind == DisplayType::Checkbox {
                    String::new()
                } else {
                    text_of(v)
                },
                checked: v == Some(&json!(true)),
                options,
                description: d.attribute_description.clone().unwrap_or_default(),
                cue: if kind == DisplayType::Text {
                    d.regex_cue.clone().unwrap_or_default()
                } else {
                    String::new()
                },
                input_id: format!("ca-{prefix}-{}", d.attribute_key),
            }
        })
        .collect();
    match model {
        Model::Conversation => AttributeBlock {
            model: model.as_str(),
            title: "Conversation attributes",
            endpoint: format!("/conversations/{object_id}/custom_attributes"),
            rows,
        },
        Model::Contact => AttributeBlock {
            model: model.as_str(),
            title: "Contact attributes",
            endpoint: format!("/contacts/{object_id}/custom_attributes"),
            rows,
        },
    }
}
