//! `GET /app/accounts/{id}/search?q=`: contacts (name, phone, BSUID) and message text, backed
//! by trigram indexes (see `domain::search`), each result linking to its conversation.

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
    pub name: String,
    pub phone: String,
    pub bsuid: String,
    pub conversations: Vec<i32>,
}

/// A message hit.
#[derive(Debug, Clone)]
pub struct MessageHit {
    pub display_id: i32,
    pub snippet: String,
    pub when: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    error: String,
    contacts: Vec<ContactHit>,
    messages: Vec<MessageHit>,
}

/// `?q=`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
}

/// The search page. A too-short or empty term shows the domain's message instead of results.
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
    let term = q.into_inner().q;
    let mut page = SearchPage {
        layout,
        q: term.clone(),
        error: String::new(),
        contacts: vec![],
        messages: vec![],
    };
    if !term.trim().is_empty() {
        match state
            .db(move |conn| search::search(conn, &viewer, &term, RESULTS_PER_KIND))
            .await
        {
            Ok(found) => {
                page.contacts = found
                    .contacts
                    .into_iter()
                    .map(|(c, convs)| ContactHit {
                        name: super::view::contact_name(&c),
                        phone: c.phone_number.unwrap_or_default(),
                        bsuid: c.bsuid.unwrap_or_default(),
                        conversations: convs,
                    })
                    .collect();
                page.messages = found
                    .messages
                    .into_iter()
                    .map(|(m, display_id)| MessageHit {
                        display_id,
                        snippet: m.content.unwrap_or_default().chars().take(200).collect(),
                        when: m.created_at.format("%Y-%m-%d %H:%M").to_string(),
                    })
                    .collect();
            }
            Err(AppError::Unprocessable { message, .. }) => page.error = message,
            Err(e) => return actix_web::ResponseError::error_response(&e),
        }
    }
    html(&page).unwrap_or_else(|e| actix_web::ResponseError::error_response(&e))
}
