//! `GET /app/accounts/{id}/search?q=&before=`: contacts (name, phone, BSUID) and message text,
//! ignoring case and accents and wanting every word (see `domain::search`), each result
//! linking to its conversation. Message results show the contact, the conversation and the
//! text around the match with the matches highlighted; "Older messages" pages on
//! `(created_at, id)`.

use super::{html, layout, Layout};
use crate::app::AppState;
use crate::domain::search;
use crate::error::AppError;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

/// Results shown per kind.
pub const RESULTS_PER_KIND: i64 = 25;

/// A contact hit.
#[derive(Debug, Clone)]
pub struct ContactHit {
    /// Safe HTML: the contact's name, escaped, the matches in `<mark>`.
    pub name_html: String,
    pub phone: String,
    pub bsuid: String,
    pub conversations: Vec<i32>,
}

/// A message hit.
#[derive(Debug, Clone)]
pub struct MessageHit {
    pub display_id: i32,
    pub contact_name: String,
    /// `Customer`, `Agent` or `Template` (who wrote it).
    pub direction: &'static str,
    /// Safe HTML from [`search::snippet_html`]: escaped text, matches in `<mark>`.
    pub snippet_html: String,
    pub when: String,
    pub iso: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    /// `q` for a link, URL-encoded.
    q_param: String,
    error: String,
    contacts: Vec<ContactHit>,
    messages: Vec<MessageHit>,
    /// Whether this is a later page of messages (`before=` given).
    paged: bool,
    /// `before=` of the next page of messages, when there is one.
    next_before: Option<i64>,
}

/// `?q=&before=`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
    /// The next page of messages: a message id from the previous page's "Older messages".
    pub before: Option<String>,
}

/// The search page. A blank, too long or too wordy term (or a bad `before`) shows the
/// domain's message instead of results, with status 422.
pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<SearchQuery>,
) -> HttpResponse {
    let (layout, viewer) = match layout(&state, &req, path.into_inner()).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let SearchQuery { q: term, before } = q.into_inner();
    let mut page = SearchPage {
        layout,
        q_param: url::form_urlencoded::byte_serialize(term.as_bytes()).collect(),
        q: term.clone(),
        error: String::new(),
        contacts: vec![],
        messages: vec![],
        paged: before.is_some(),
        next_before: None,
    };
    let mut status = actix_web::http::StatusCode::OK;
    if !term.trim().is_empty() {
        let result =
            match crate::web::api::conversations::message_id_param(before.as_deref(), "before") {
                Ok(before) => {
                    state
                        .db(move |conn| {
                            let words = search::words(&term)?;
                            let found =
                                search::search(conn, &viewer, &term, before, RESULTS_PER_KIND)?;
                            Ok((words, found))
                        })
                        .await
                }
                Err(e) => Err(e),
            };
        match result {
            Ok((words, found)) => {
                page.next_before = found.next_before;
                page.contacts = found
                    .contacts
                    .into_iter()
                    .map(|(c, convs)| ContactHit {
                        name_html: search::snippet_html(&super::view::contact_name(&c), &words),
                        phone: c.phone_number.unwrap_or_default(),
                        bsuid: c.bsuid.unwrap_or_default(),
                        conversations: convs,
                    })
                    .collect();
                page.messages = found
                    .messages
                    .into_iter()
                    .map(|r| MessageHit {
                        display_id: r.display_id,
                        contact_name: super::view::contact_name(&r.contact),
                        direction: match r.message.message_type {
                            crate::domain::messages::message_type::INCOMING => "Customer",
                            crate::domain::messages::message_type::TEMPLATE => "Template",
                            _ => "Agent",
                        },
                        snippet_html: r.snippet_html,
                        when: r
                            .message
                            .created_at
                            .format("%Y-%m-%d %H:%M UTC")
                            .to_string(),
                        iso: r.message.created_at.to_rfc3339(),
                    })
                    .collect();
            }
            Err(AppError::Unprocessable { message, .. }) => {
                page.error = message;
                status = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
            }
            Err(e) => return actix_web::ResponseError::error_response(&e),
        }
    }
    let mut resp = html(&page).unwrap_or_else(|e| actix_web::ResponseError::error_response(&e));
    if resp.status().is_success() {
        *resp.status_mut() = status;
    }
    resp
}
