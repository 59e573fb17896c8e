//! Serde types of the webhook envelope Meta posts (Graph API v25.0), deliberately lenient:
//! every field is optional, unknown fields are kept in `rest`, so no valid shape is lost.
//!
//! Meta: webhooks/payload-examples; 2026 fields `user_id` (BSUID), `from_user_id`,
//! `parent_user_id`, `recipient_user_id` and `profile.username`.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// The top-level body: `{"object":"whatsapp_business_account","entry":[…]}`.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

/// One WABA entry (`id` = WABA id) with its changes.
#[derive(Debug, Deserialize)]
pub struct Entry {
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: Option<String>,
    /// Unix seconds (a number; some forwarders write a string).
    #[serde(default)]
    pub time: Option<Value>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// One change: `field` names the subscription (`messages`, `smb_message_echoes`, `history`…).
#[derive(Debug, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub value: Value,
}

/// `value` of a change on this route.
#[derive(Debug, Default, Deserialize)]
pub struct ChangeValue {
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub contacts: Vec<ContactInfo>,
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(default)]
    pub statuses: Vec<Status>,
    #[serde(default)]
    pub errors: Vec<MetaError>,
    #[serde(default)]
    pub message_echoes: Vec<Message>,
    #[serde(default)]
    pub history: Vec<HistoryChunk>,
    #[serde(default)]
    pub state_sync: Vec<StateSyncItem>,
    #[serde(default)]
    pub user_id_update: Vec<UserIdUpdate>,
}

/// `value.metadata`: which business number the change is for.
#[derive(Debug, Default, Deserialize)]
pub struct Metadata {
    #[serde(default, deserialize_with = "string_or_number")]
    pub display_phone_number: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub phone_number_id: Option<String>,
}

/// `value.contacts[]`: the sender's profile and identifiers.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ContactInfo {
    #[serde(default)]
    pub profile: Option<Profile>,
    /// Phone number digits, absent for username-only users.
    #[serde(default, deserialize_with = "string_or_number")]
    pub wa_id: Option<String>,
    /// BSUID.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Parent BSUID.
    #[serde(default)]
    pub parent_user_id: Option<String>,
}

/// `profile` of a contact.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

/// A message, an echo or a history message. Type-specific objects stay in `rest`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Message {
    /// The wamid.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub from: Option<String>,
    #[serde(default)]
    pub from_user_id: Option<String>,
    #[serde(default)]
    pub from_parent_user_id: Option<String>,
    /// Echoes: the customer's phone.
    #[serde(default, deserialize_with = "string_or_number")]
    pub to: Option<String>,
    /// Echoes: the customer's BSUID.
    #[serde(default)]
    pub to_user_id: Option<String>,
    #[serde(default)]
    pub to_parent_user_id: Option<String>,
    /// Unix seconds.
    #[serde(default, deserialize_with = "string_or_number")]
    pub timestamp: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub context: Option<Value>,
    #[serde(default)]
    pub referral: Option<Value>,
    #[serde(default)]
    pub errors: Option<Value>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl Message {
    /// The type-specific object, e.g. `text` for `type: "text"`.
    pub fn body_object(&self) -> Option<&Value> {
        self.kind.as_deref().and_then(|k| self.rest.get(k))
    }

    /// A string field of the type-specific object.
    pub fn body_str(&self, field: &str) -> Option<&str> {
        self.body_object()
            .and_then(|o| o.get(field))
            .and_then(Value::as_str)
    }
}

/// `value.statuses[]`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Status {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub timestamp: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub recipient_id: Option<String>,
    #[serde(default)]
    pub recipient_user_id: Option<String>,
    #[serde(default)]
    pub errors: Vec<MetaError>,
    /// What the send put in `biz_opaque_callback_data` (Switchboard: the message id).
    #[serde(default)]
    pub biz_opaque_callback_data: Option<String>,
}

/// An error object as Meta sends it in `errors[]`.
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct MetaError {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error_data: Option<ErrorData>,
    #[serde(default)]
    pub href: Option<String>,
}

/// `error_data` of an error.
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct ErrorData {
    #[serde(default)]
    pub details: Option<String>,
}

impl MetaError {
    /// `"code: title"`, e.g. `"131047: Re-engagement message"`.
    pub fn summary(&self) -> String {
        let title = self
            .title
            .as_deref()
            .or(self.message.as_deref())
            .unwrap_or("Unknown error");
        match self.code {
            Some(code) => format!("{code}: {title}"),
            None => title.to_string(),
        }
    }

    /// `error_data.details`, when Meta sent one.
    pub fn details(&self) -> Option<&str> {
        self.error_data.as_ref().and_then(|d| d.details.as_deref())
    }
}

/// One `history` chunk (Coexistence): threads of past messages.
#[derive(Debug, Default, Deserialize)]
pub struct HistoryChunk {
    #[serde(default)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub threads: Vec<HistoryThread>,
    #[serde(default)]
    pub errors: Vec<MetaError>,
}

/// One conversation thread in a history chunk.
#[derive(Debug, Default, Deserialize)]
pub struct HistoryThread {
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: Option<String>,
    #[serde(default)]
    pub context: Option<HistoryThreadContext>,
    #[serde(default)]
    pub messages: Vec<Message>,
}

/// Who the thread is with.
#[derive(Debug, Default, Deserialize)]
pub struct HistoryThreadContext {
    #[serde(default, deserialize_with = "string_or_number")]
    pub wa_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub parent_user_id: Option<String>,
}

/// One `smb_app_state_sync` item: a contact added, edited or removed in the Business app.
#[derive(Debug, Default, Deserialize)]
pub struct StateSyncItem {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub contact: Option<StateSyncContact>,
    /// `add`, `edit` or `remove`.
    #[serde(default)]
    pub action: Option<String>,
}

/// The contact of a state sync item.
#[derive(Debug, Default, Deserialize)]
pub struct StateSyncContact {
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
}

/// One `user_id_update` item: a user's BSUID changed.
#[derive(Debug, Default, Deserialize)]
pub struct UserIdUpdate {
    #[serde(default, deserialize_with = "string_or_number")]
    pub wa_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<UserIdChange>,
}

/// `{"previous": …, "current": …}` BSUIDs.
#[derive(Debug, Default, Deserialize)]
pub struct UserIdChange {
    #[serde(default)]
    pub previous: Option<String>,
    #[serde(default)]
    pub current: Option<String>,
}

/// Accepts `"123"`, `123` or null as an optional string.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Parses Meta's unix-seconds timestamp; falls back to now when absent or invalid.
pub fn parse_timestamp(raw: Option<&str>) -> chrono::DateTime<chrono::Utc> {
    raw.and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .unwrap_or_else(chrono::Utc::now)
}
