//! The global search (`web::api::search`).

use super::contacts::Contact;
use super::conversations::Conversation;
use super::messages::Message;
use crate::web::openapi::schema_ref;
use utoipa::openapi::schema::{AllOfBuilder, ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// A contact found by the search: a [`Contact`] (without `contact_inboxes`) plus
/// `conversation_ids`.
pub struct SearchContact;

impl PartialSchema for SearchContact {
    fn schema() -> RefOr<Schema> {
        let ids = ArrayBuilder::new()
            .items(ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some(
                "The `display_id`s of the contact's conversations the caller may see.",
            ));
        AllOfBuilder::new()
            .item(schema_ref("Contact"))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .property("conversation_ids", ids)
                    .required("conversation_ids"),
            )
            .description(Some(
                "A contact (as `Contact`, without `contact_inboxes`) and its visible conversations.",
            ))
            .into()
    }
}

impl ToSchema for SearchContact {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Contact::name().into(), Contact::schema()));
        <Contact as ToSchema>::schemas(schemas);
    }
}

/// A message found by the search: a [`Message`] (its `conversation_id` the `display_id`)
/// plus `contact_id`, `contact_name` and `snippet`.
pub struct SearchMessage;

impl PartialSchema for SearchMessage {
    fn schema() -> RefOr<Schema> {
        let text = |d: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(d.to_string()))
        };
        AllOfBuilder::new()
            .item(schema_ref("Message"))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .property(
                        "contact_id",
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                                utoipa::openapi::KnownFormat::Int64,
                            )))
                            .description(Some("The conversation's contact.")),
                    )
                    .required("contact_id")
                    .property(
                        "contact_name",
                        text(
                            "What the result shows as the contact: the name, else the phone \
                             number, username or BSUID.",
                        ),
                    )
                    .required("contact_name")
                    .property(
                        "snippet",
                        text(
                            "Safe HTML: the text around the match, escaped, with the matches \
                             in `<mark>`.",
                        ),
                    )
                    .required("snippet"),
            )
            .description(Some(
                "A matching message (as `Message`) with its contact and a highlighted snippet.",
            ))
            .into()
    }
}

impl ToSchema for SearchMessage {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Message::name().into(), Message::schema()));
        <Message as ToSchema>::schemas(schemas);
    }
}

/// `payload` of `GET /search`: at most 15 results of each kind, newest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SearchResults {
    pub contacts: Vec<SearchContact>,
    /// As the conversation list renders them.
    pub conversations: Vec<Conversation>,
    /// Incoming and outgoing messages (not private notes or activity lines).
    pub messages: Vec<SearchMessage>,
}

/// `meta` of `GET /search`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SearchMeta {
    /// The message id to pass as `before` for the next page of messages; null on the last
    /// page.
    #[schema(required = true)]
    pub next_before: Option<i64>,
}

/// `GET /search?q=`: `{"meta": {"next_before"}, "payload": {"contacts", "conversations",
/// "messages"}}`, limited to the inboxes the caller sees.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SearchAnswer {
    pub meta: SearchMeta,
    pub payload: SearchResults,
}
