//! The notification center (`web::api::notifications::view`) and its list.

use utoipa::ToSchema;

/// A notification, as Chatwoot's notifications index renders it. Times are unix seconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Notification {
    pub id: i64,
    pub account_id: i64,
    /// e.g. `conversation_assignment`, `conversation_mention`, `assigned_conversation_new_message`.
    pub notification_type: String,
    /// e.g. "A conversation (#12) has been assigned to you".
    pub push_message_title: String,
    /// Always `Conversation`.
    pub primary_actor_type: String,
    /// The conversation's `display_id`.
    pub primary_actor_id: i64,
    pub primary_actor: NotificationConversation,
    /// Unix seconds; null while unread.
    #[schema(required = true)]
    pub read_at: Option<i64>,
    /// Who or what caused it; null for a system assignment.
    #[schema(required = true)]
    pub secondary_actor: Option<NotificationActor>,
    pub user: NotificationUser,
    pub created_at: i64,
    /// The same as `created_at`.
    pub last_activity_at: i64,
}

/// `primary_actor` of a [`Notification`]: the conversation.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NotificationConversation {
    /// The `display_id`.
    pub id: i64,
    pub inbox_id: i64,
    /// `open`, `resolved`, `pending` or `snoozed`.
    pub status: String,
    /// `{"sender": {"name"}}`: the contact's name.
    #[schema(value_type = Object)]
    pub meta: serde_json::Value,
}

/// `secondary_actor` of a [`Notification`]: a user (`type` `User`, with `name`) or a
/// message (`type` `Message`, with `content` and `sender_name`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NotificationActor {
    /// `User` or `Message`.
    #[schema(rename = "type")]
    pub kind: String,
    pub id: i64,
    /// A user's name.
    pub name: Option<String>,
    /// A message's text, mentions as `@Name`.
    pub content: Option<String>,
    /// The agent who wrote the message; null for a customer's.
    pub sender_name: Option<String>,
}

/// `user` of a [`Notification`]: the recipient.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NotificationUser {
    pub id: i64,
}

/// `meta` of the notification list.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NotificationListMeta {
    pub unread_count: i64,
    pub count: i64,
    /// From 1.
    pub current_page: i64,
    /// The `before=` of the next (older) page; null on the last page.
    #[schema(required = true)]
    pub next_before: Option<i64>,
}

/// `data` of the notification list.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NotificationListData {
    pub meta: NotificationListMeta,
    pub payload: Vec<Notification>,
}

/// `GET /notifications`: `{"data": {"meta", "payload"}}`, newest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NotificationList {
    pub data: NotificationListData,
}
