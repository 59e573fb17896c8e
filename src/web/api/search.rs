//! `GET /api/v1/accounts/{account_id}/search?q=` (Chatwoot's global search, which its
//! published reference omits): `{"payload":{"contacts":[…],"conversations":[…],"messages":[…]}}`,
//! limited to the inboxes the caller sees. See [`crate::domain::search`].

use super::conversations;
use super::views;
use crate::app::AppState;
use crate::domain::{accounts, contacts, messages, search};
use crate::error::AppResult;
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Results of each kind per search.
pub const RESULTS_PER_KIND: i64 = 15;

/// `?q=&before=`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    /// The term: words of a contact's name, phone number or BSUID, of a message's text, or a
    /// conversation number.
    pub q: Option<String>,
    /// The next page of messages: `meta.next_before` of the previous answer (a message id).
    pub before: Option<String>,
}

/// `GET /search?q=&before=` → contacts (Chatwoot's contact plus `conversation_ids`, the
/// display ids of their visible conversations), conversations (as the conversation list
/// renders them) and messages (incoming and outgoing, with `conversation_id` the display id,
/// plus `contact_id`, `contact_name` and `snippet`: safe HTML of the text around the match,
/// escaped, matches in `<mark>`), at most [`RESULTS_PER_KIND`] of each, newest first.
/// `meta.next_before` is the message id to pass as `before` for the next page of messages
/// (`null` on the last page). Matching ignores case and accents and wants every word
/// (see [`crate::domain::search`]). Errors: 422 naming `q` when blank, too long or too many
/// words; 422 naming `before` when it is not a message id of the account.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/search",
    tag = "search",
    operation_id = "search_index",
    params(("account_id" = i64, Path, description = "The account's id"), ("q" = Option<String>, Query, description = "The search text", example = "invoice")),
    responses(
        (status = 200, description = "What the search found", body = crate::web::openapi::schemas::SearchAnswer),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<SearchQuery>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let q = q.into_inner();
    let before = super::conversations::message_id_param(q.before.as_deref(), "before")?;
    let term = q.q.unwrap_or_default();
    let st = state.get_ref().clone();
    let body = state
        .db(move |conn| {
            let found = search::search(conn, &viewer, &term, before, RESULTS_PER_KIND)?;
            let contacts_json: Vec<Value> = found
                .contacts
                .iter()
                .map(|(c, ids)| {
                    let mut v = views::contact(c, None);
                    v["conversation_ids"] = json!(ids);
                    v
                })
                .collect();
            let conversations_json = conversations::render(conn, &st, &found.conversations)?;
            let ids: Vec<i64> = found.messages.iter().map(|r| r.message.id).collect();
            let mut atts: HashMap<i64, Vec<_>> = HashMap::new();
            for a in messages::attachments_of(conn, &ids)? {
                atts.entry(a.message_id).or_default().push(a);
            }
            let mut senders = HashMap::new();
            let mut agents = HashMap::new();
            for m in found.messages.iter().map(|r| &r.message) {
                match (m.sender_type.as_deref(), m.sender_id) {
                    (Some("Contact"), Some(id)) if !senders.contains_key(&id) => {
                        if let Ok(c) = contacts::find(conn, m.account_id, id) {
                            senders.insert(id, c);
                        }
                    }
                    (Some("User"), Some(id)) => {
                        agents.insert(id, ());
                    }
                    _ => {}
                }
            }
            let agent_ids: Vec<i64> = agents.keys().copied().collect();
            let users: HashMap<i64, Value> = accounts::users_by_ids(conn, &agent_ids)?
                .iter()
                .map(|u| (u.id, views::user_sender(u)))
                .collect();
            let messages_json: Vec<Value> = found
                .messages
                .iter()
                .map(|r| {
                    let m = &r.message;
                    let sender = m.sender_id.and_then(|id| senders.get(&id));
                    let mut v = views::message(
                        &st.config,
                        m,
                        r.display_id,
                        atts.get(&m.id).map(Vec::as_slice).unwrap_or(&[]),
                        sender,
                    );
                    if m.sender_type.as_deref() == Some("User") {
                        if let Some(u) = m.sender_id.and_then(|id| users.get(&id)) {
                            v["sender"] = u.clone();
                        }
                    }
                    v["contact_id"] = json!(r.contact.id);
                    v["contact_name"] = json!(contact_name(&r.contact));
                    v["snippet"] = json!(r.snippet_html);
                    v
                })
                .collect();
            Ok(json!({
                "meta": {"next_before": found.next_before},
                "payload": {
                    "contacts": contacts_json,
                    "conversations": conversations_json,
                    "messages": messages_json,
                }
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// What a result shows as the contact: the name, else the phone number, username or BSUID.
fn contact_name(c: &contacts::Contact) -> String {
    crate::web::ui::view::contact_name(c)
}
