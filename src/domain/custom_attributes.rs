//! Custom attributes (Chatwoot's `custom_attribute_definitions`): typed fields an account adds
//! to its contacts (`contact_attribute`, model 1) and conversations (`conversation_attribute`,
//! model 0). A definition names a key (lowercase snake case, unique per account and model), a
//! display name, a type (`text`, `number`, `currency`, `percent`, `link`, `date`, `list`,
//! `checkbox`; Chatwoot's enum order 0 to 7), the choices of a list and, for text, a regex with
//! the cue shown when a value does not match.
//!
//! Values live in `contacts.custom_attributes` and `conversations.custom_attributes` (JSONB
//! keyed by `attribute_key`). Every door that writes them (the conversation's
//! `POST …/custom_attributes`, the contact routes, CSV import) calls [`validate`] on what it
//! is given: each key must be defined for the model and each value must fit its type, or the
//! answer is a 422 whose `field` is `custom_attributes.<key>` and whose message says why. A
//! `null` (or blank) value means "remove this key"; [`merge`] applies such a patch.
//!
//! Stored shapes (what [`validate`] normalises to): text, link and list as strings; number,
//! currency and percent as JSON numbers; date as `YYYY-MM-DD`; checkbox as `true`/`false`.
//!
//! The conversation filter and the contacts filter accept custom attributes by key
//! ([`parse_condition`] and [`predicate`], see the operators in [`operators_of`]).
//!
//! Who may do what follows Chatwoot's `CustomAttributeDefinitionPolicy`: every member lists
//! and reads the definitions (the contact panel needs them); administrators create, change
//! and delete them (403 otherwise). Deleting a definition keeps the stored values (as
//! Chatwoot does); they are no longer shown or editable.

use super::accounts::{Role, Viewer};
use crate::db::schema::{contacts, custom_attribute_definitions as defs};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Double, Nullable, Text};
use serde_json::{json, Map, Value};

/// Longest `attribute_key`, in characters.
pub const MAX_KEY_CHARS: usize = 64;
/// Longest display name, regex cue and list value, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Longest description and regex pattern, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
/// Most choices of a list attribute.
pub const MAX_LIST_VALUES: usize = 200;
/// Longest text or link value, in characters.
pub const MAX_TEXT_CHARS: usize = 5000;
/// Most keys in one write.
pub const MAX_KEYS: usize = 100;
/// Most definitions per account and model.
pub const MAX_DEFINITIONS: i64 = 200;

/// Which records an attribute belongs to (Chatwoot's `attribute_model` enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// `conversation_attribute` (0).
    Conversation,
    /// `contact_attribute` (1).
    Contact,
}

impl Model {
    /// Chatwoot's name: `conversation_attribute` or `contact_attribute`.
    pub fn as_str(self) -> &'static str {
        match self {
            Model::Conversation => "conversation_attribute",
            Model::Contact => "contact_attribute",
        }
    }

    /// Reads `0`, `1`, `"0"`, `"1"`, `conversation_attribute`, `contact_attribute` (also
    /// `conversation`, `contact`).
    pub fn parse(s: &str) -> Option<Model> {
        match s.trim() {
            "0" | "conversation_attribute" | "conversation" => Some(Model::Conversation),
            "1" | "contact_attribute" | "contact" => Some(Model::Contact),
            _ => None,
        }
    }

    /// [`Model::parse`] of a JSON value (a number or a string). Errors: 422 naming `field`.
    pub fn from_json(v: &Value, field: &str) -> AppResult<Model> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        Model::parse(&text).ok_or_else(|| {
            AppError::invalid(
                field,
                format!(
                    "{field} must be conversation_attribute (0) or contact_attribute (1), not {}",
                    short(&v.to_string())
                ),
            )
        })
    }

    /// "conversations" or "contacts", for messages.
    pub fn plural(self) -> &'static str {
        match self {
            Model::Conversation => "conversations",
            Model::Contact => "contacts",
        }
    }

    /// Keys of the model's standard fields, which a custom attribute may not take (they would
    /// be ambiguous in filters; Chatwoot's `attribute_must_not_conflict`).
    pub fn reserved_keys(self) -> &'static [&'static str] {
        match self {
            Model::Conversation => &[
                "status",
                "priority",
                "assignee_id",
                "inbox_id",
                "team_id",
                "display_id",
                "campaign_id",
                "labels",
                "browser_language",
                "country_code",
                "referer",
                "created_at",
                "last_activity_at",
                "customer_service_window",
                "id",
                "contact_id",
            ],
            Model::Contact => &[
                "name",
                "email",
                "phone_number",
                "identifier",
                "country_code",
                "city",
                "company",
                "created_at",
                "last_activity_at",
                "referer",
                "blocked",
                "labels",
                "id",
                "bsuid",
                "username",
            ],
        }
    }
}

/// How an attribute is shown and validated (Chatwoot's `attribute_display_type` enum, in its
/// order: text 0, number 1, currency 2, percent 3, link 4, date 5, list 6, checkbox 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayType {
    Text,
    Number,
    Currency,
    Percent,
    Link,
    Date,
    List,
    Checkbox,
}

/// Every display type, in Chatwoot's enum order.
pub const DISPLAY_TYPES: [DisplayType; 8] = [
    DisplayType::Text,
    DisplayType::Number,
    DisplayType::Currency,
    DisplayType::Percent,
    DisplayType::Link,
    DisplayType::Date,
    DisplayType::List,
    DisplayType::Checkbox,
];

impl DisplayType {
    /// Chatwoot's name (`text`, `number`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            DisplayType::Text => "text",
            DisplayType::Number => "number",
            DisplayType::Currency => "currency",
            DisplayType::Percent => "percent",
            DisplayType::Link => "link",
            DisplayType::Date => "date",
            DisplayType::List => "list",
            DisplayType::Checkbox => "checkbox",
        }
    }

    /// For people: "Text", "Number", …
    pub fn label(self) -> &'static str {
        match self {
            DisplayType::Text => "Text",
            DisplayType::Number => "Number",
            DisplayType::Currency => "Currency",
            DisplayType::Percent => "Percent",
            DisplayType::Link => "Link",
            DisplayType::Date => "Date",
            DisplayType::List => "List",
            DisplayType::Checkbox => "Checkbox",
        }
    }

    /// Reads a name or an enum index (`"0"` to `"7"`).
    pub fn parse(s: &str) -> Option<DisplayType> {
        let s = s.trim();
        if let Ok(i) = s.parse::<usize>() {
            return DISPLAY_TYPES.get(i).copied();
        }
        DISPLAY_TYPES.iter().copied().find(|t| t.as_str() == s)
    }

    /// Whether values are numbers (number, currency, percent).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            DisplayType::Number | DisplayType::Currency | DisplayType::Percent
        )
    }
}

/// A `custom_attribute_definitions` row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = defs)]
pub struct Definition {
    /// Its id (`/custom_attribute_definitions/{id}`).
    pub id: i64,
    /// The account it belongs to.
    pub account_id: i64,
    /// The key values are stored under; lowercase snake case.
    pub attribute_key: String,
    /// The name shown to people.
    pub attribute_display_name: String,
    /// [`DisplayType::as_str`].
    pub attribute_display_type: String,
    /// What it is for (optional).
    pub attribute_description: Option<String>,
    /// [`Model::as_str`].
    pub attribute_model: String,
    /// The choices of a list attribute, in order (empty for other types).
    pub attribute_values: Vec<String>,
    /// Text attributes: a value must match it (a regular expression; Rust `regex` syntax,
    /// which covers the JavaScript patterns Chatwoot's UI takes).
    pub regex_pattern: Option<String>,
    /// The hint shown when a value does not match `regex_pattern`.
    pub regex_cue: Option<String>,
    /// Chatwoot's `default_value` (kept and returned; not applied).
    pub default_value: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Definition {
    /// Its type ([`DisplayType::Text`] for an unreadable one, which the CHECK prevents).
    pub fn display_type(&self) -> DisplayType {
        DisplayType::parse(&self.attribute_display_type).unwrap_or(DisplayType::Text)
    }

    /// Its model.
    pub fn model(&self) -> Model {
        Model::parse(&self.attribute_model).unwrap_or(Model::Contact)
    }

    /// Chatwoot's JSON (`custom_attribute`): `id, attribute_display_name,
    /// attribute_display_type` (name), `attribute_description, attribute_key, regex_pattern,
    /// regex_cue, attribute_values` (array), `attribute_model` (name), `default_value,
    /// created_at, updated_at` (RFC 3339), plus `account_id`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "account_id": self.account_id,
            "attribute_display_name": self.attribute_display_name,
            "attribute_display_type": self.attribute_display_type,
            "attribute_description": self.attribute_description,
            "attribute_key": self.attribute_key,
            "regex_pattern": self.regex_pattern,
            "regex_cue": self.regex_cue,
            "attribute_values": self.attribute_values,
            "attribute_model": self.attribute_model,
            "default_value": self.default_value,
            "created_at": self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "updated_at": self.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        })
    }
}

/// The fields of `POST` and `PATCH /custom_attribute_definitions` (Chatwoot's
/// `custom_attribute_create_update_payload`). `None` keeps the stored value (required on
/// create for key, display name, type and model); `Some("")` clears an optional text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DefinitionInput {
    pub attribute_key: Option<String>,
    pub attribute_display_name: Option<String>,
    pub attribute_display_type: Option<DisplayType>,
    pub attribute_description: Option<String>,
    pub attribute_model: Option<Model>,
    pub attribute_values: Option<Vec<String>>,
    pub regex_pattern: Option<String>,
    pub regex_cue: Option<String>,
    pub default_value: Option<String>,
}

fn short(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

fn opt_text(body: &Map<String, Value>, field: &str) -> AppResult<Option<String>> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(String::new())),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Err(AppError::invalid(
            field,
            format!(
                "{field} must be a string, not {}",
                short(&other.to_string())
            ),
        )),
    }
}

impl DefinitionInput {
    /// Reads a JSON body: the fields at the top or wrapped in `custom_attribute_definition`
    /// (as Rails wraps them). `attribute_display_type` and `attribute_model` take Chatwoot's
    /// integers or names; `attribute_values` an array of strings (or one comma-separated
    /// string). Errors: 422 naming the mistyped field.
    pub fn from_json(mut body: Map<String, Value>) -> AppResult<DefinitionInput> {
        if let Some(Value::Object(inner)) = body.remove("custom_attribute_definition") {
            body.extend(inner);
        }
        let display_type = match body.get("attribute_display_type") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => String::new(),
                };
                Some(DisplayType::parse(&text).ok_or_else(|| {
                    AppError::invalid(
                        "attribute_display_type",
                        format!(
                            "attribute_display_type must be one of text, number, currency, \
                             percent, link, date, list, checkbox (or 0 to 7), not {}",
                            short(&v.to_string())
                        ),
                    )
                })?)
            }
        };
        let model = match body.get("attribute_model") {
            None | Some(Value::Null) => None,
            Some(v) => Some(Model::from_json(v, "attribute_model")?),
        };
        let values = match body.get("attribute_values") {
            None => None,
            Some(Value::Null) => Some(vec![]),
            Some(Value::String(s)) => Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(String::from)
                    .collect(),
            ),
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s.clone()),
                        Value::Number(n) => Ok(n.to_string()),
                        other => Err(AppError::invalid(
                            "attribute_values",
                            format!(
                                "attribute_values must be strings, not {}",
                                short(&other.to_string())
                            ),
                        )),
                    })
                    .collect::<AppResult<Vec<_>>>()?,
            ),
            Some(other) => {
                return Err(AppError::invalid(
                    "attribute_values",
                    format!(
                        "attribute_values must be an array of strings, not {}",
                        short(&other.to_string())
                    ),
                ))
            }
        };
        let key = match body.get("attribute_key") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(AppError::invalid(
                    "attribute_key",
                    format!(
                        "attribute_key must be a string, not {}",
                        short(&other.to_string())
                    ),
                ))
            }
        };
        let name = match body.get("attribute_display_name") {
            None | Some(Value::Null) => None,
            Some(_) => opt_text(&body, "attribute_display_name")?,
        };
        Ok(DefinitionInput {
            attribute_key: key,
            attribute_display_name: name,
            attribute_display_type: display_type,
            attribute_description: opt_text(&body, "attribute_description")?,
            attribute_model: model,
            attribute_values: values,
            regex_pattern: opt_text(&body, "regex_pattern")?,
            regex_cue: opt_text(&body, "regex_cue")?,
            default_value: opt_text(&body, "default_value")?,
        })
    }
}

/// Checks a key: trimmed, 1 to [`MAX_KEY_CHARS`] characters of `a-z`, `0-9` and `_`, starting
/// with a letter, and not one of the model's standard fields. Errors: 422 naming
/// `attribute_key`.
pub fn validate_key(raw: &str, model: Model) -> AppResult<String> {
    let key = raw.trim();
    let bad = |m: String| AppError::invalid("attribute_key", m);
    if key.is_empty() {
        return Err(bad("attribute_key can't be blank".into()));
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(bad(format!(
            "attribute_key is too long (at most {MAX_KEY_CHARS} characters)"
        )));
    }
    let mut chars = key.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    if !first_ok
        || !key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(bad(format!(
            "attribute_key must be lowercase snake case (a-z, 0-9 and _, starting with a \
             letter), e.g. plan_tier, not {:?}",
            short(key)
        )));
    }
    if model.reserved_keys().contains(&key) {
        return Err(bad(format!(
            "attribute_key {key:?} is a standard field of {}; choose another key",
            model.plural()
        )));
    }
    Ok(key.to_string())
}

/// A key made from a display name ("Plan tier" → `plan_tier`), as the Settings form suggests.
pub fn key_from_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    match out.chars().next() {
        Some(c) if c.is_ascii_lowercase() => out.chars().take(MAX_KEY_CHARS).collect(),
        Some(_) => format!("attr_{out}").chars().take(MAX_KEY_CHARS).collect(),
        None => String::new(),
    }
}

fn compile(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
}

/// The definition a create or update would store, checked. Errors: 422 naming the field.
fn checked(
    current: Option<&Definition>,
    input: &DefinitionInput,
) -> AppResult<(String, String, DisplayType, Model, Vec<String>, Fields)> {
    let model =
        match (input.attribute_model, current) {
            (Some(m), Some(c)) if m != c.model() => {
                return Err(AppError::invalid(
                    "attribute_model",
                    "attribute_model cannot be changed; create a new attribute instead",
                ))
            }
            (Some(m), _) => m,
            (None, Some(c)) => c.model(),
            (None, None) => return Err(AppError::invalid(
                "attribute_model",
                "attribute_model is required: conversation_attribute (0) or contact_attribute (1)",
            )),
        };
    let name = match (&input.attribute_display_name, current) {
        (Some(n), _) => n.trim().to_string(),
        (None, Some(c)) => c.attribute_display_name.clone(),
        (None, None) => String::new(),
    };
    if name.is_empty() {
        return Err(AppError::invalid(
            "attribute_display_name",
            "attribute_display_name can't be blank",
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid(
            "attribute_display_name",
            format!("attribute_display_name is too long (at most {MAX_NAME_CHARS} characters)"),
        ));
    }
    let key = match (&input.attribute_key, current) {
        (Some(k), Some(c)) if k.trim() != c.attribute_key => {
            return Err(AppError::invalid(
                "attribute_key",
                "attribute_key cannot be changed: stored values are kept under it",
            ))
        }
        (Some(k), _) => validate_key(k, model)?,
        (None, Some(c)) => c.attribute_key.clone(),
        (None, None) => {
            return Err(AppError::invalid(
                "attribute_key",
                "attribute_key can't be blank",
            ))
        }
    };
    let kind = match (input.attribute_display_type, current) {
        (Some(t), _) => t,
        (None, Some(c)) => c.display_type(),
        (None, None) => {
            return Err(AppError::invalid(
                "attribute_display_type",
                "attribute_display_type is required: text, number, currency, percent, link, \
                 date, list or checkbox",
            ))
        }
    };
    let mut values: Vec<String> = match (&input.attribute_values, current) {
        (Some(v), _) => v.iter().map(|s| s.trim().to_string()).collect(),
        (None, Some(c)) => c.attribute_values.clone(),
        (None, None) => vec![],
    };
    if kind == DisplayType::List {
        values.retain(|v| !v.is_empty());
        if values.is_empty() {
            return Err(AppError::invalid(
                "attribute_values",
                "a list attribute needs at least one value",
            ));
        }
        if values.len() > MAX_LIST_VALUES {
            return Err(AppError::invalid(
                "attribute_values",
                format!("a list attribute takes at most {MAX_LIST_VALUES} values"),
            ));
        }
        for (i, v) in values.iter().enumerate() {
            if v.chars().count() > MAX_NAME_CHARS {
                return Err(AppError::invalid(
                    "attribute_values",
                    format!("list values are at most {MAX_NAME_CHARS} characters"),
                ));
            }
            if values[..i].iter().any(|w| w.eq_ignore_ascii_case(v)) {
                return Err(AppError::invalid(
                    "attribute_values",
                    format!("the value {:?} is listed twice", short(v)),
                ));
            }
        }
    } else {
        values.clear();
    }
    let pick = |given: &Option<String>, stored: Option<&Option<String>>| -> Option<String> {
        match given {
            Some(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            None => stored.cloned().flatten(),
        }
    };
    let description = pick(
        &input.attribute_description,
        current.map(|c| &c.attribute_description),
    );
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        return Err(AppError::invalid(
            "attribute_description",
            format!(
                "attribute_description is too long (at most {MAX_DESCRIPTION_CHARS} characters)"
            ),
        ));
    }
    let mut pattern = pick(&input.regex_pattern, current.map(|c| &c.regex_pattern));
    let mut cue = pick(&input.regex_cue, current.map(|c| &c.regex_cue));
    if kind != DisplayType::Text {
        pattern = None;
        cue = None;
    }
    if let Some(p) = &pattern {
        if p.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(AppError::invalid(
                "regex_pattern",
                format!("regex_pattern is too long (at most {MAX_DESCRIPTION_CHARS} characters)"),
            ));
        }
        if let Err(e) = compile(p) {
            let detail = e.to_string();
            let last = detail.lines().last().unwrap_or("").trim().to_string();
            return Err(AppError::invalid(
                "regex_pattern",
                format!(
                    "regex_pattern is not a valid regular expression: {}",
                    short(&last)
                ),
            ));
        }
    }
    if cue
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_NAME_CHARS)
    {
        return Err(AppError::invalid(
            "regex_cue",
            format!("regex_cue is too long (at most {MAX_NAME_CHARS} characters)"),
        ));
    }
    let default_value = pick(&input.default_value, current.map(|c| &c.default_value));
    if default_value
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_TEXT_CHARS)
    {
        return Err(AppError::invalid(
            "default_value",
            format!("default_value is too long (at most {MAX_TEXT_CHARS} characters)"),
        ));
    }
    Ok((
        key,
        name,
        kind,
        model,
        values,
        Fields {
            description,
            pattern,
            cue,
            default_value,
        },
    ))
}

/// The optional texts of a definition, checked.
struct Fields {
    description: Option<String>,
    pattern: Option<String>,
    cue: Option<String>,
    default_value: Option<String>,
}

const KEY_TAKEN: &str = "an attribute with this attribute_key already exists for this model";

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("custom attribute definition {id} not found"))
}

fn require_admin(viewer: &Viewer) -> AppResult<()> {
    if viewer.role == Role::Administrator {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only administrators manage custom attributes".into(),
        ))
    }
}

/// The definitions of `account_id`, of one model or all, oldest first
/// (Chatwoot: `GET /custom_attribute_definitions?attribute_model=`).
pub fn list(
    conn: &mut PgConnection,
    account_id: i64,
    model: Option<Model>,
) -> AppResult<Vec<Definition>> {
    let mut q = defs::table
        .filter(defs::account_id.eq(account_id))
        .select(Definition::as_select())
        .order(defs::id)
        .into_boxed();
    if let Some(m) = model {
        q = q.filter(defs::attribute_model.eq(m.as_str()));
    }
    Ok(q.load(conn)?)
}

/// Definition `id` of `account_id`. Errors: 404 when absent or another account's.
pub fn find(conn: &mut PgConnection, account_id: i64, id: i64) -> AppResult<Definition> {
    defs::table
        .filter(defs::account_id.eq(account_id))
        .filter(defs::id.eq(id))
        .select(Definition::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(id))
}

/// Creates a definition (administrators). Errors: 403; 422 naming `attribute_key` (blank,
/// not snake case, a standard field, or taken for the model), `attribute_display_name`,
/// `attribute_display_type`, `attribute_model`, `attribute_values` (a list without values),
/// `regex_pattern` (not a regular expression) or `regex_cue`.
pub fn create(
    conn: &mut PgConnection,
    viewer: &Viewer,
    input: &DefinitionInput,
) -> AppResult<Definition> {
    require_admin(viewer)?;
    let (key, name, kind, model, values, f) = checked(None, input)?;
    conn.transaction(|conn| {
        super::xact_lock(
            conn,
            &format!("custom_attributes:{}:{}", viewer.account_id, model.as_str()),
        )?;
        let taken: i64 = defs::table
            .filter(defs::account_id.eq(viewer.account_id))
            .filter(defs::attribute_model.eq(model.as_str()))
            .filter(defs::attribute_key.eq(&key))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(AppError::invalid("attribute_key", KEY_TAKEN));
        }
        let count: i64 = defs::table
            .filter(defs::account_id.eq(viewer.account_id))
            .filter(defs::attribute_model.eq(model.as_str()))
            .count()
            .get_result(conn)?;
        if count >= MAX_DEFINITIONS {
            return Err(AppError::invalid(
                "attribute_key",
                format!("an account keeps at most {MAX_DEFINITIONS} attributes per model"),
            ));
        }
        diesel::insert_into(defs::table)
            .values((
                defs::account_id.eq(viewer.account_id),
                defs::attribute_key.eq(&key),
                defs::attribute_display_name.eq(&name),
                defs::attribute_display_type.eq(kind.as_str()),
                defs::attribute_description.eq(&f.description),
                defs::attribute_model.eq(model.as_str()),
                defs::attribute_values.eq(&values),
                defs::regex_pattern.eq(&f.pattern),
                defs::regex_cue.eq(&f.cue),
                defs::default_value.eq(&f.default_value),
            ))
            .returning(Definition::as_returning())
            .get_result(conn)
            .map_err(|e| super::unique_violation_as(e, "attribute_key", KEY_TAKEN))
    })
}

/// Changes a definition (administrators): any field but `attribute_key` and
/// `attribute_model`, which stay (sending the same value is fine). Errors: 404; 403; 422 as
/// [`create`], and naming `attribute_key`/`attribute_model` when asked to change them.
pub fn update(
    conn: &mut PgConnection,
    viewer: &Viewer,
    id: i64,
    input: &DefinitionInput,
) -> AppResult<Definition> {
    let current = find(conn, viewer.account_id, id)?;
    require_admin(viewer)?;
    let (_, name, kind, _, values, f) = checked(Some(&current), input)?;
    Ok(diesel::update(defs::table.find(id))
        .set((
            defs::attribute_display_name.eq(&name),
            defs::attribute_display_type.eq(kind.as_str()),
            defs::attribute_description.eq(&f.description),
            defs::attribute_values.eq(&values),
            defs::regex_pattern.eq(&f.pattern),
            defs::regex_cue.eq(&f.cue),
            defs::default_value.eq(&f.default_value),
            defs::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Definition::as_returning())
        .get_result(conn)?)
}

/// Deletes a definition (administrators); stored values are kept. Errors: 404; 403.
pub fn delete(conn: &mut PgConnection, viewer: &Viewer, id: i64) -> AppResult<Definition> {
    let current = find(conn, viewer.account_id, id)?;
    require_admin(viewer)?;
    diesel::delete(defs::table.find(id)).execute(conn)?;
    Ok(current)
}

// ------------------------------------------------------------------ values

/// Checks one value against its definition. Returns the stored form, or `Value::Null` for
/// "remove" (`null`, or a blank string). Errors: the reason, a sentence starting with the
/// display name ("Plan must be one of: Gold, Silver").
pub fn check_value(def: &Definition, v: &Value) -> Result<Value, String> {
    let name = &def.attribute_display_name;
    let kind = def.display_type();
    let text: Option<String> = match v {
        Value::Null => return Ok(Value::Null),
        Value::String(s) if s.trim().is_empty() => return Ok(Value::Null),
        Value::String(s) => Some(s.clone()),
        _ => None,
    };
    if text.as_ref().is_some_and(|t| t.contains('\0')) {
        return Err(format!("{name} must not contain NUL characters"));
    }
    match kind {
        DisplayType::Text => {
            let t = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(format!("{name} must be text")),
            };
            if t.chars().count() > MAX_TEXT_CHARS {
                return Err(format!(
                    "{name} is too long (at most {MAX_TEXT_CHARS} characters)"
                ));
            }
            if let Some(p) = def.regex_pattern.as_deref().filter(|p| !p.is_empty()) {
                if let Ok(re) = compile(p) {
                    if !re.is_match(&t) {
                        return Err(match def.regex_cue.as_deref().filter(|c| !c.is_empty()) {
                            Some(cue) => format!("{name}: {cue}"),
                            None => format!("{name} must match {p}"),
                        });
                    }
                }
            }
            Ok(Value::String(t))
        }
        DisplayType::Number | DisplayType::Currency | DisplayType::Percent => {
            let n = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|f| f.is_finite() && f.abs() < 1e15);
            let Some(n) = n else {
                return Err(format!("{name} must be a number"));
            };
            if n.fract() == 0.0 {
                Ok(json!(n as i64))
            } else {
                Ok(json!(n))
            }
        }
        DisplayType::Link => {
            let Some(t) = text.map(|t| t.trim().to_string()) else {
                return Err(format!("{name} must be a URL starting with http(s)://"));
            };
            let ok = t.chars().count() <= MAX_TEXT_CHARS
                && (t.starts_with("http://") || t.starts_with("https://"))
                && url::Url::parse(&t).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()));
            if ok {
                Ok(Value::String(t))
            } else {
                Err(format!("{name} must be a URL starting with http(s)://"))
            }
        }
        DisplayType::Date => {
            let t = text.map(|t| t.trim().to_string()).unwrap_or_default();
            let day = NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok().or_else(|| {
                DateTime::parse_from_rfc3339(&t)
                    .ok()
                    .map(|d| d.with_timezone(&Utc).date_naive())
            });
            match day {
                Some(d) => Ok(Value::String(d.format("%Y-%m-%d").to_string())),
                None => Err(format!("{name} must be a date like 2026-11-30")),
            }
        }
        DisplayType::List => {
            let t = match v {
                Value::String(s) => s.trim().to_string(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            };
            match def
                .attribute_values
                .iter()
                .find(|c| c.eq_ignore_ascii_case(&t))
            {
                Some(c) => Ok(Value::String(c.clone())),
                None => Err(format!(
                    "{name} must be one of: {}",
                    short(&def.attribute_values.join(", "))
                )),
            }
        }
        DisplayType::Checkbox => match v {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::Number(n) if n.as_i64() == Some(1) => Ok(Value::Bool(true)),
            Value::Number(n) if n.as_i64() == Some(0) => Ok(Value::Bool(false)),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(Value::Bool(true)),
                "false" | "0" | "no" | "off" => Ok(Value::Bool(false)),
                _ => Err(format!("{name} must be true or false")),
            },
            _ => Err(format!("{name} must be true or false")),
        },
    }
}

/// [`validate`] against already loaded definitions (of the right model).
pub fn validate_with(
    definitions: &[Definition],
    model: Model,
    patch: &Value,
) -> AppResult<Map<String, Value>> {
    let Value::Object(map) = patch else {
        return Err(AppError::invalid(
            "custom_attributes",
            "custom_attributes must be an object of attribute keys and values",
        ));
    };
    if map.len() > MAX_KEYS {
        return Err(AppError::invalid(
            "custom_attributes",
            format!("custom_attributes may hold at most {MAX_KEYS} keys at once"),
        ));
    }
    let mut out = Map::new();
    for (key, value) in map {
        let field = format!("custom_attributes.{}", short(key));
        let Some(def) = definitions.iter().find(|d| d.attribute_key == *key) else {
            return Err(AppError::invalid(
                &field,
                format!(
                    "there is no custom attribute {:?} for {}; an administrator defines them \
                     in Settings → Custom attributes",
                    short(key),
                    model.plural()
                ),
            ));
        };
        let normal = check_value(def, value).map_err(|m| AppError::invalid(&field, m))?;
        out.insert(key.clone(), normal);
    }
    Ok(out)
}

/// Validates a patch of custom attributes for `model` in `account_id`: an object whose keys
/// are defined attribute keys and whose values fit their types. Returns the normalised map
/// (see the module documentation), with `null` for keys to remove. Validate what a caller is
/// given, before merging it ([`merge`]): stored keys whose definition was since deleted are
/// kept as they are.
/// Errors: 422 with `field` `custom_attributes` (not an object, too many keys) or
/// `custom_attributes.<key>` (unknown key, or a value of the wrong type, with the reason).
pub fn validate(
    conn: &mut PgConnection,
    account_id: i64,
    model: Model,
    patch: &Value,
) -> AppResult<Value> {
    let definitions = list(conn, account_id, Some(model))?;
    validate_with(&definitions, model, patch).map(Value::Object)
}

/// Validates the keys of `patch` that have a definition for `model` (as [`validate`]) and
/// keeps the other keys as given: what the Chatwoot-compatible API writes
/// (`POST|PATCH /contacts`, `PATCH /conversations/{id}`), because Chatwoot stores undefined
/// keys there and integrations rely on it. The panel's editors use the strict [`validate`].
/// Errors: as [`validate`], except that an unknown key is not one.
pub fn validate_defined(
    conn: &mut PgConnection,
    account_id: i64,
    model: Model,
    patch: &Value,
) -> AppResult<Value> {
    let Value::Object(map) = patch else {
        return validate(conn, account_id, model, patch);
    };
    let definitions = list(conn, account_id, Some(model))?;
    validate_defined_with(&definitions, model, map).map(Value::Object)
}

/// [`validate_defined`] against definitions already loaded (`list(conn, account_id,
/// Some(model))`): for callers that validate many patches at once (CSV import, one batch of
/// rows per query). Errors: as [`validate_defined`].
pub fn validate_defined_with(
    definitions: &[Definition],
    model: Model,
    map: &Map<String, Value>,
) -> AppResult<Map<String, Value>> {
    let (defined, other): (Map<String, Value>, Map<String, Value>) = map
        .clone()
        .into_iter()
        .partition(|(k, _)| definitions.iter().any(|d| d.attribute_key == *k));
    let mut out = validate_with(definitions, model, &Value::Object(defined))?;
    out.extend(other);
    Ok(out)
}

/// `current` (a JSON object; anything else reads as `{}`) with `patch` applied: each key set
/// to its value, keys whose value is `null` removed.
pub fn merge(current: &Value, patch: &Map<String, Value>) -> Value {
    let mut out = current.as_object().cloned().unwrap_or_default();
    for (k, v) in patch {
        if v.is_null() {
            out.remove(k);
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// Sets custom attributes of contact `contact_id` in `account_id`: validates `patch`
/// ([`validate`]), merges it (a `null` value removes the key), bumps `updated_at` and
/// announces `contact_updated` to the integration webhooks, in one transaction (the row is
/// locked, so two writers never lose each other's keys). Nothing changes (no event) when the
/// merge changes nothing. Returns the contact as stored.
/// Errors: 404 for a contact of another account; 422 as [`validate`].
pub fn set_for_contact(
    conn: &mut PgConnection,
    account_id: i64,
    contact_id: i64,
    patch: &Value,
) -> AppResult<super::contacts::Contact> {
    use super::contacts::Contact;
    conn.transaction(|conn| {
        let current: Contact = contacts::table
            .filter(contacts::id.eq(contact_id))
            .filter(contacts::account_id.eq(account_id))
            .for_update()
            .select(Contact::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::NotFound(format!("contact {contact_id} not found")))?;
        let valid = validate(conn, account_id, Model::Contact, patch)?;
        let merged = merge(
            &current.custom_attributes,
            valid.as_object().expect("validate returns an object"),
        );
        if merged == current.custom_attributes {
            return Ok(current);
        }
        let saved: Contact = diesel::update(contacts::table.find(contact_id))
            .set((
                contacts::custom_attributes.eq(&merged),
                contacts::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Contact::as_returning())
            .get_result(conn)?;
        super::events::contact_changed(conn, account_id, None, contact_id, false)?;
        Ok(saved)
    })
}

/// Sets custom attributes of conversation `display_id` (Chatwoot's
/// `POST /conversations/{id}/custom_attributes`): 404 first when the viewer cannot see it,
/// then validates `patch` ([`validate`]) and merges it (a `null` value removes the key),
/// emitting `conversation.updated` (`changed` holds `custom_attributes`) when something
/// changed. Returns the conversation as stored. Errors: 404; 422 as [`validate`].
pub fn set_for_conversation(
    conn: &mut PgConnection,
    viewer: &Viewer,
    display_id: i32,
    patch: &Value,
) -> AppResult<super::conversations::Conversation> {
    super::conversations::find_for_viewer(conn, viewer, display_id)?;
    let valid = validate(conn, viewer.account_id, Model::Conversation, patch)?;
    super::conversations::set_custom_attributes(
        conn,
        viewer,
        display_id,
        valid.as_object().expect("validate returns an object"),
    )
}

// ------------------------------------------------------------------ filtering

/// The filter operators a custom attribute of type `kind` takes (Chatwoot's filter types:
/// text and link as text, list as a list, numbers and dates compare, checkbox as a boolean).
pub fn operators_of(kind: DisplayType) -> &'static [&'static str] {
    match kind {
        DisplayType::Text | DisplayType::Link => &[
            "equal_to",
            "not_equal_to",
            "contains",
            "does_not_contain",
            "is_present",
            "is_not_present",
        ],
        DisplayType::List => &["equal_to", "not_equal_to", "is_present", "is_not_present"],
        DisplayType::Number | DisplayType::Currency | DisplayType::Percent | DisplayType::Date => {
            &[
                "equal_to",
                "not_equal_to",
                "is_greater_than",
                "is_less_than",
                "is_present",
                "is_not_present",
            ]
        }
        DisplayType::Checkbox => &["equal_to", "not_equal_to"],
    }
}

/// A condition on one custom attribute, validated against its definition.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomCondition {
    /// The attribute key (bound as a parameter, never written into SQL).
    pub key: String,
    /// Its type.
    pub kind: DisplayType,
    /// One of [`operators_of`]`(kind)`.
    pub operator: String,
    /// The values, normalised as stored values are: strings (text, link, list: lowercased
    /// for the case-insensitive text match; date `YYYY-MM-DD`; checkbox `true`/`false`).
    pub texts: Vec<String>,
    /// Number values (number, currency, percent).
    pub numbers: Vec<f64>,
}

/// Validates a filter condition on custom attribute `key` of `model`, given the account's
/// definitions of that model: `field` prefixes the error fields (e.g. `payload[2]`).
/// Returns `Ok(None)` when `key` is not a defined attribute (the caller reports the unknown
/// key its own way). Errors: 422 naming `<field>.filter_operator` or `<field>.values`.
pub fn parse_condition(
    definitions: &[Definition],
    field: &str,
    key: &str,
    operator: &str,
    raw: &[Value],
) -> AppResult<Option<CustomCondition>> {
    let Some(def) = definitions.iter().find(|d| d.attribute_key == key) else {
        return Ok(None);
    };
    let kind = def.display_type();
    let allowed = operators_of(kind);
    if !allowed.contains(&operator) {
        return Err(AppError::invalid(
            &format!("{field}.filter_operator"),
            format!(
                "filter_operator {:?} does not apply to {key} ({}); use {}",
                short(operator),
                kind.as_str(),
                allowed.join(", ")
            ),
        ));
    }
    let vfield = format!("{field}.values");
    let mut cond = CustomCondition {
        key: key.to_string(),
        kind,
        operator: operator.to_string(),
        texts: vec![],
        numbers: vec![],
    };
    if matches!(operator, "is_present" | "is_not_present") {
        return Ok(Some(cond));
    }
    if raw.is_empty() {
        return Err(AppError::invalid(
            &vfield,
            format!("values must not be empty for {key} {operator}"),
        ));
    }
    let compares = matches!(operator, "is_greater_than" | "is_less_than");
    if compares && raw.len() != 1 {
        return Err(AppError::invalid(
            &vfield,
            format!("{key} {operator} takes exactly one value"),
        ));
    }
    for v in raw {
        let v = match v {
            Value::Object(o) => o
                .get("id")
                .or_else(|| o.get("name"))
                .cloned()
                .unwrap_or(Value::Null),
            other => other.clone(),
        };
        if matches!(operator, "contains" | "does_not_contain") {
            let t = match &v {
                Value::String(s) => s.trim().to_lowercase(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            };
            if t.is_empty() || t.contains('\0') {
                return Err(AppError::invalid(&vfield, "values must be non-blank text"));
            }
            cond.texts.push(t);
            continue;
        }
        let normal = check_value(def, &v).map_err(|m| AppError::invalid(&vfield, m))?;
        match normal {
            Value::Null => {
                return Err(AppError::invalid(
                    &vfield,
                    format!("values of {key} must not be blank"),
                ))
            }
            Value::Number(n) => cond.numbers.push(n.as_f64().unwrap_or_default()),
            Value::Bool(b) => cond.texts.push(b.to_string()),
            Value::String(s) if kind == DisplayType::Text || kind == DisplayType::Link => {
                cond.texts.push(s.to_lowercase())
            }
            Value::String(s) => cond.texts.push(s),
            _ => {}
        }
    }
    Ok(Some(cond))
}

/// [`parse_condition`] for a contacts filter (`POST /contacts/filter`): loads the account's
/// contact attribute definitions. Use the result with
/// `predicate::<contacts::table>("contacts.custom_attributes", &c)`. `Ok(None)`: `key` is
/// not a contact attribute of the account. Errors as [`parse_condition`].
pub fn parse_contact_condition(
    conn: &mut PgConnection,
    account_id: i64,
    field: &str,
    key: &str,
    operator: &str,
    raw: &[Value],
) -> AppResult<Option<CustomCondition>> {
    let definitions = list(conn, account_id, Some(Model::Contact))?;
    parse_condition(&definitions, field, key, operator, raw)
}

/// Condition `c` as a parameterised SQL predicate on `column` (the `custom_attributes` JSONB
/// column, e.g. `conversations.custom_attributes`; a fixed string, never input). Null-safe: a
/// record without the key is "not equal to" anything; values of another JSON type (stored
/// before the definition existed) never match and never make the query fail. Text and link
/// compare case-insensitively; dates compare as `YYYY-MM-DD` text; a missing checkbox reads
/// as `false`.
pub fn predicate<QS: 'static>(
    column: &'static str,
    c: &CustomCondition,
) -> Box<dyn BoxableExpression<QS, Pg, SqlType = Nullable<Bool>>> {
    let key = c.key.clone();
    let negate = matches!(c.operator.as_str(), "not_equal_to" | "does_not_contain");
    let not = if negate { "NOT " } else { "" };
    match c.operator.as_str() {
        "is_present" => Box::new(
            sql::<Nullable<Bool>>(&format!("(NULLIF({column} ->> "))
                .bind::<Text, _>(key)
                .sql(", '') IS NOT NULL)"),
        ),
        "is_not_present" => Box::new(
            sql::<Nullable<Bool>>(&format!("(NULLIF({column} ->> "))
                .bind::<Text, _>(key)
                .sql(", '') IS NULL)"),
        ),
        _ if c.kind.is_numeric() => {
            let value = sql::<Nullable<Bool>>(&format!(
                "({not}COALESCE(CASE WHEN jsonb_typeof({column} -> "
            ))
            .bind::<Text, _>(key.clone())
            .sql(&format!(") = 'number' THEN ({column} ->> "))
            .bind::<Text, _>(key)
            .sql(")::float8 END ");
            let first = c.numbers.first().copied().unwrap_or_default();
            match c.operator.as_str() {
                "is_greater_than" => {
                    Box::new(value.sql("> ").bind::<Double, _>(first).sql(", FALSE))"))
                }
                "is_less_than" => {
                    Box::new(value.sql("< ").bind::<Double, _>(first).sql(", FALSE))"))
                }
                _ => Box::new(
                    value
                        .sql("= ANY(")
                        .bind::<Array<Double>, _>(c.numbers.clone())
                        .sql("), FALSE))"),
                ),
            }
        }
        "contains" | "does_not_contain" => {
            let patterns: Vec<String> = c.texts.iter().map(|t| like_pattern(t)).collect();
            Box::new(
                sql::<Nullable<Bool>>(&format!("({not}COALESCE(lower({column} ->> "))
                    .bind::<Text, _>(key)
                    .sql(") LIKE ANY(")
                    .bind::<Array<Text>, _>(patterns)
                    .sql("), FALSE))"),
            )
        }
        "is_greater_than" | "is_less_than" => {
            // Dates: YYYY-MM-DD text orders as the dates do.
            let op = if c.operator == "is_greater_than" {
                ">"
            } else {
                "<"
            };
            Box::new(
                sql::<Nullable<Bool>>(&format!("(COALESCE(({column} ->> "))
                    .bind::<Text, _>(key)
                    .sql(&format!(") {op} "))
                    .bind::<Text, _>(c.texts.first().cloned().unwrap_or_default())
                    .sql(", FALSE))"),
            )
        }
        _ if c.kind == DisplayType::Checkbox => Box::new(
            sql::<Nullable<Bool>>(&format!("({not}(COALESCE({column} ->> "))
                .bind::<Text, _>(key)
                .sql(", 'false') = ANY(")
                .bind::<Array<Text>, _>(c.texts.clone())
                .sql(")))"),
        ),
        _ => {
            let lower = matches!(c.kind, DisplayType::Text | DisplayType::Link);
            let (open, close) = if lower { ("lower(", ")") } else { ("(", ")") };
            Box::new(
                sql::<Nullable<Bool>>(&format!("({not}COALESCE({open}{column} ->> "))
                    .bind::<Text, _>(key)
                    .sql(&format!("{close} = ANY("))
                    .bind::<Array<Text>, _>(c.texts.clone())
                    .sql("), FALSE))"),
            )
        }
    }
}

/// `LIKE` pattern matching `term` anywhere, its `%`, `_` and `\` taken literally.
fn like_pattern(term: &str) -> String {
    let mut p = String::from("%");
    for ch in term.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(kind: &str, values: &[&str], pattern: Option<&str>) -> Definition {
        Definition {
            id: 1,
            account_id: 1,
            attribute_key: "k".into(),
            attribute_display_name: "Plan".into(),
            attribute_display_type: kind.into(),
            attribute_description: None,
            attribute_model: "contact_attribute".into(),
            attribute_values: values.iter().map(|s| s.to_string()).collect(),
            regex_pattern: pattern.map(String::from),
            regex_cue: None,
            default_value: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn keys() {
        assert_eq!(
            validate_key(" plan_tier ", Model::Contact).unwrap(),
            "plan_tier"
        );
        for bad in ["", "Plan", "1abc", "a-b", "a b", "email", "é"] {
            assert!(validate_key(bad, Model::Contact).is_err(), "{bad:?}");
        }
        assert!(validate_key("status", Model::Conversation).is_err());
        assert!(validate_key("status", Model::Contact).is_ok());
        assert_eq!(key_from_name("Plan tier!"), "plan_tier");
        assert_eq!(key_from_name("2nd line"), "attr_2nd_line");
    }

    #[test]
    fn values_by_type() {
        let n = def("number", &[], None);
        assert_eq!(check_value(&n, &json!("42")).unwrap(), json!(42));
        assert_eq!(check_value(&n, &json!(1.5)).unwrap(), json!(1.5));
        assert_eq!(
            check_value(&n, &json!("x")).unwrap_err(),
            "Plan must be a number"
        );
        assert_eq!(check_value(&n, &json!(null)).unwrap(), Value::Null);
        let l = def("list", &["Gold", "Silver"], None);
        assert_eq!(check_value(&l, &json!("gold")).unwrap(), json!("Gold"));
        assert_eq!(
            check_value(&l, &json!("Bronze")).unwrap_err(),
            "Plan must be one of: Gold, Silver"
        );
        let d = def("date", &[], None);
        assert_eq!(
            check_value(&d, &json!("2026-11-30")).unwrap(),
            json!("2026-11-30")
        );
        assert_eq!(
            check_value(&d, &json!("2026-11-30T10:00:00Z")).unwrap(),
            json!("2026-11-30")
        );
        assert!(check_value(&d, &json!("2026-02-30")).is_err());
        let u = def("link", &[], None);
        assert!(check_value(&u, &json!("https://example.com/x")).is_ok());
        assert!(check_value(&u, &json!("ftp://example.com")).is_err());
        assert!(check_value(&u, &json!("https://")).is_err());
        let c = def("checkbox", &[], None);
        assert_eq!(check_value(&c, &json!("true")).unwrap(), json!(true));
        assert!(check_value(&c, &json!("maybe")).is_err());
        let t = def("text", &[], Some("^[A-Z]{3}-\\d+$"));
        assert!(check_value(&t, &json!("ABC-12")).is_ok());
        assert!(check_value(&t, &json!("abc"))
            .unwrap_err()
            .contains("must match"));
    }

    #[test]
    fn merging() {
        let cur = json!({"a": 1, "b": 2});
        let patch = json!({"a": null, "c": 3});
        assert_eq!(
            merge(&cur, patch.as_object().unwrap()),
            json!({"b": 2, "c": 3})
        );
    }
}
