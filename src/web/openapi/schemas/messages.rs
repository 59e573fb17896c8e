//! Messages and their attachments (`views::message`, `views::attachment`,
//! `web::api::messages`, `web::api::conversations::messages`).

use super::contacts::Contact;
use super::Agent;
use utoipa::ToSchema;

/// A message (`views::message`). Times are unix seconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Message {
    pub id: i64,
    /// The text; null for a media message without caption.
    #[schema(required = true)]
    pub content: Option<String>,
    pub account_id: i64,
    pub inbox_id: i64,
    /// The conversation's `display_id`, as in Chatwoot.
    pub conversation_id: i64,
    /// `0` incoming, `1` outgoing, `2` activity, `3` template.
    #[schema(example = 1)]
    pub message_type: i64,
    /// `text`, or e.g. `input_select`, `cta_url`, `location_request` for interactive messages.
    pub content_type: String,
    /// Free-form: `in_reply_to`, `is_reaction`, `deleted`, `template_params`, `played_at`, …
    #[schema(value_type = Object)]
    pub content_attributes: serde_json::Value,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// A private note: stored, never sent.
    pub private: bool,
    /// `progress` (queued), `sent`, `delivered`, `read` or `failed`.
    #[schema(example = "sent")]
    pub status: String,
    /// WhatsApp's message id (`wamid.…`), once known.
    #[schema(required = true)]
    pub source_id: Option<String>,
    /// Why sending failed, for a `failed` message.
    #[schema(required = true)]
    pub external_error: Option<String>,
    /// `Contact` or `User`; null for activity lines and automated messages.
    #[schema(required = true)]
    pub sender_type: Option<String>,
    #[schema(required = true)]
    pub sender_id: Option<i64>,
    /// The contact or agent who wrote it; null when unknown or for activity lines.
    #[schema(required = true)]
    pub sender: Option<MessageSender>,
    pub attachments: Vec<Attachment>,
}

/// The `sender` of a [`Message`]: a contact (`type` `contact`, with `phone_number`) or an
/// agent (`type` `user`, with `available_name`, `avatar_url`, `availability_status`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MessageSender {
    pub id: i64,
    pub name: String,
    /// Always `""`.
    pub thumbnail: String,
    /// `contact` or `user`.
    #[schema(rename = "type")]
    pub kind: String,
    /// A contact's E.164 number.
    pub phone_number: Option<String>,
    /// An agent's name.
    pub available_name: Option<String>,
    /// An agent's: always `""`.
    pub avatar_url: Option<String>,
    /// An agent's: always null.
    pub availability_status: Option<String>,
}

/// An attachment of a [`Message`] (`views::attachment`): Chatwoot's fields plus
/// `download_status`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Attachment {
    pub id: i64,
    pub message_id: i64,
    pub account_id: i64,
    /// `image`, `audio`, `video`, `file`, `sticker`, `location`, `contact`, ….
    #[schema(example = "image")]
    pub file_type: String,
    /// From the file name, else the MIME subtype.
    #[schema(required = true)]
    pub extension: Option<String>,
    /// `{FRONTEND_URL}/media/attachments/{id}/{name}`; a location's map URL; null for a
    /// shared contact.
    #[schema(required = true)]
    pub data_url: Option<String>,
    /// `data_url` for an image, else `""`.
    pub thumb_url: String,
    /// Bytes.
    #[schema(required = true)]
    pub file_size: Option<i64>,
    #[schema(required = true)]
    pub file_name: Option<String>,
    #[schema(required = true)]
    pub mime_type: Option<String>,
    /// Always null.
    #[schema(required = true)]
    pub width: Option<i64>,
    /// Always null.
    #[schema(required = true)]
    pub height: Option<i64>,
    /// A location's latitude.
    #[schema(required = true)]
    pub coordinates_lat: Option<f64>,
    /// A location's longitude.
    #[schema(required = true)]
    pub coordinates_long: Option<f64>,
    /// A location's name or address.
    #[schema(required = true)]
    pub fallback_title: Option<String>,
    #[schema(required = true)]
    pub external_url: Option<String>,
    /// Free-form details (a shared contact's card, …).
    #[schema(value_type = Object)]
    pub meta: serde_json::Value,
    /// `pending`, `downloaded`, `failed`, or `none` (no media to download): the media
    /// download from WhatsApp.
    pub download_status: String,
    #[schema(required = true)]
    pub download_error: Option<String>,
}

/// `meta` of `GET /conversations/{display_id}/messages`: the conversation's context.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MessageListMeta {
    pub labels: Vec<String>,
    #[schema(value_type = Object)]
    pub additional_attributes: serde_json::Value,
    pub contact: Contact,
    #[schema(required = true)]
    pub assignee: Option<Agent>,
    /// Unix seconds; null before an agent read the conversation.
    #[schema(required = true)]
    pub agent_last_seen_at: Option<i64>,
    /// Unix seconds; the same as `agent_last_seen_at`.
    #[schema(required = true)]
    pub assignee_last_seen_at: Option<i64>,
}

/// `GET /conversations/{display_id}/messages`: a page of the thread, oldest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MessageList {
    pub meta: MessageListMeta,
    pub payload: Vec<Message>,
}

/// `POST /conversations/{display_id}/update_last_seen`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LastSeen {
    /// Unix seconds: now.
    pub agent_last_seen_at: i64,
    /// The `wamid` a read receipt is sent for; null when nothing was unread.
    #[schema(required = true)]
    pub read_receipt_for: Option<String>,
}

/// `POST …/toggle_typing_status` (`web::api::typing`): what became of the typing indicator.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TypingStatus {
    /// `on` or `off`, as asked.
    pub typing_status: String,
    pub is_private: bool,
    /// `queued`, `throttled`, `window_closed`, `no_incoming_message`, or `not_sent`.
    pub typing_indicator: String,
    /// Why nothing was sent: `off` or `private_note`; absent otherwise.
    #[schema(required = false)]
    pub reason: String,
}
