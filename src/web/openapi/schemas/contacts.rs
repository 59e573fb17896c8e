//! Contacts (`views::contact`, `web::api::contacts`, `web::api::contact_notes`).

use utoipa::ToSchema;

/// A contact (`views::contact`). Times are unix seconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Contact {
    pub id: i64,
    /// Empty when the customer gave none.
    #[schema(example = "Maria Souza")]
    pub name: String,
    #[schema(required = true)]
    pub email: Option<String>,
    /// E.164, e.g. `+5511987654321`; null for a contact known only by its BSUID.
    #[schema(required = true, example = "+5511987654321")]
    pub phone_number: Option<String>,
    /// The caller's own identifier for the contact.
    #[schema(required = true)]
    pub identifier: Option<String>,
    /// Always `""`: Switchboard stores no contact avatars.
    pub thumbnail: String,
    /// Always `offline`.
    pub availability_status: String,
    /// Always false.
    pub blocked: bool,
    /// WhatsApp's business-scoped user id, when Meta sent one.
    #[schema(required = true)]
    pub bsuid: Option<String>,
    /// The parent BSUID of a managed business portfolio, when Meta sent one.
    #[schema(required = true)]
    pub parent_bsuid: Option<String>,
    /// The WhatsApp username, when Meta sent one.
    #[schema(required = true)]
    pub username: Option<String>,
    /// Free-form; `username` and `bsuid` repeat the fields above when set.
    #[schema(value_type = Object)]
    pub additional_attributes: serde_json::Value,
    /// The account's custom attributes, by `attribute_key`.
    #[schema(value_type = Object)]
    pub custom_attributes: serde_json::Value,
    /// Unix seconds; null before any conversation.
    #[schema(required = true)]
    pub last_activity_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// The contact's identities per inbox the caller may see: present on `GET
    /// /contacts/{id}`, create, update and merge, absent in lists.
    #[schema(required = false)]
    pub contact_inboxes: Vec<ContactInbox>,
}

/// A contact inbox of [`Contact::contact_inboxes`]: how an inbox reaches the contact.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactInbox {
    /// The WhatsApp id the inbox writes to: phone digits or a BSUID.
    pub source_id: String,
    /// `phone`, `bsuid` or `parent_bsuid`.
    pub source_kind: String,
    /// Null when the inbox is gone or hidden from the caller.
    #[schema(required = true)]
    pub inbox: Option<ContactInboxInbox>,
}

/// The inbox of a [`ContactInbox`].
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactInboxInbox {
    pub id: i64,
    pub name: String,
    pub channel_id: i64,
    /// `Channel::Whatsapp`.
    pub channel_type: String,
    /// `whatsapp_cloud` or `dualhook`.
    pub provider: String,
    /// Always `""`.
    pub avatar_url: String,
}

/// `meta` of `GET /contacts` and `GET /contacts/search`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactListMeta {
    /// Contacts matching; without a search term, counted up to a cap (see `contact_list`).
    pub count: i64,
    /// From 1.
    pub current_page: i64,
}

/// `GET /contacts`, `GET /contacts/search`: 15 contacts a page, without `contact_inboxes`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactList {
    pub meta: ContactListMeta,
    pub payload: Vec<Contact>,
}

/// `meta` of `POST /contacts/filter`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactFilterMeta {
    /// Exact up to 10,000 matches, then 10,000.
    pub count: i64,
    /// True when `count` is the 10,000 cap and more contacts match.
    pub count_is_lower_bound: bool,
    /// From 1.
    pub current_page: i64,
}

/// `POST /contacts/filter`: 15 contacts a page, newest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactFilterResult {
    pub meta: ContactFilterMeta,
    pub payload: Vec<Contact>,
}

/// `GET|PATCH|PUT /contacts/{id}`: `{"payload": contact}`, with `contact_inboxes`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactPayload {
    pub payload: Contact,
}

/// The inbox of a [`NewContactInbox`].
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InboxRef {
    pub id: i64,
    pub name: String,
    /// `Channel::Whatsapp`.
    pub channel_type: String,
}

/// The contact inbox `POST /contacts` opened on the given `inbox_id`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NewContactInbox {
    pub source_id: String,
    pub inbox: InboxRef,
}

/// `payload` of `POST /contacts`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactCreated {
    pub contact: Contact,
    /// Null without an `inbox_id` in the request.
    #[schema(required = true)]
    pub contact_inbox: Option<NewContactInbox>,
}

/// `POST /contacts`: `{"payload": {"contact", "contact_inbox"}}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactCreatedPayload {
    pub payload: ContactCreated,
}

/// A list of label titles: `{"payload": ["vip", …]}` (contact and conversation labels).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LabelTitles {
    #[schema(example = json!(["vip", "billing"]))]
    pub payload: Vec<String>,
}

/// A contact note (`web::api::contact_notes::note_json`). Times are unix seconds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactNote {
    pub id: i64,
    /// 1 to 10,000 characters, trimmed.
    pub content: String,
    pub account_id: i64,
    pub contact_id: i64,
    /// The author; null once that user is deleted.
    #[schema(required = true)]
    pub user: Option<NoteAuthor>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The author of a [`ContactNote`].
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NoteAuthor {
    pub id: i64,
    pub name: String,
    pub available_name: String,
    /// `user`.
    #[schema(rename = "type")]
    pub kind: String,
}
