//! `/api/v1/accounts/{account_id}/contacts`: list, show and search. Agents see contacts of
//! their inboxes only.

use super::views;
use crate::app::AppState;
use crate::domain::contact_list;
use crate::domain::contacts;
use crate::domain::inboxes;
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

/// Contacts per page (Chatwoot's).
pub const PER_PAGE: i64 = 15;

/// `?page=&q=&sort=`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub page: Option<i64>,
    pub q: Option<String>,
    /// Chatwoot's `sort`: `name`, `last_activity_at` or `created_at`, descending with a
    /// leading `-` (default: `-created_at`). Errors: 422 naming `sort`.
    pub sort: Option<String>,
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    account_id: i64,
    q: ListQuery,
    require_query: bool,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, account_id).await?;
    if require_query && q.q.as_deref().map(str::trim).unwrap_or_default().is_empty() {
        return Err(AppError::invalid("q", "the search term q is required"));
    }
    let page = q.page.unwrap_or(1).clamp(1, 1_000_000);
    // contacts-ui (issue 11): sort, one query per page, a capped count (see contact_list).
    let (sort, descending) = match q.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => match s.strip_prefix('-') {
            Some(key) => (contact_list::SortKey::parse(key)?, true),
            None => (contact_list::SortKey::parse(s)?, false),
        },
        None => (contact_list::SortKey::Created, true),
    };
    let (rows, total) = state
        .db(move |conn| {
            let only = viewer.visible_inbox_ids(conn)?;
            let query = contact_list::ContactQuery {
                q: q.q,
                sort,
                descending,
                ..Default::default()
            };
            let cursor = contact_list::Cursor::Offset(page);
            let (rows, total) = if query.q.as_deref().is_some_and(|t| !t.trim().is_empty()) {
                // A search: the page and the exact count of matches in one statement.
                let only = only.as_deref();
                contact_list::page_counted(conn, viewer.account_id, only, &query, cursor, PER_PAGE)?
            } else {
                let only = only.as_deref();
                let (total, _) = contact_list::count_capped(
                    conn,
                    viewer.account_id,
                    only,
                    &query,
                    contact_list::COUNT_CAP,
                )?;
                let rows =
                    contact_list::page(conn, viewer.account_id, only, &query, cursor, PER_PAGE)?;
                (rows, total)
            };
            Ok((
                rows.rows.into_iter().map(|r| r.contact).collect::<Vec<_>>(),
                total,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "meta": {"count": total, "current_page": page},
        "payload": rows.iter().map(|c| views::contact(c, None)).collect::<Vec<_>>(),
    })))
}

/// `GET /contacts?page=`.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/contacts",
    tag = "contacts",
    operation_id = "contacts_index",
    params(("account_id" = i64, Path, description = "The account's id"), ("page" = Option<i64>, Query, description = "Page, from 1"), ("sort" = Option<String>, Query, description = "`name`, `last_activity_at` or `created_at`, descending with a leading `-` (default `-created_at`)")),
    responses(
        (status = 200, description = "A page of contacts", body = crate::web::openapi::schemas::ContactList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    list(state, req, path.into_inner(), q.into_inner(), false).await
}

/// `GET /contacts/search?q=`: name, phone, email, BSUID or username.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/contacts/search",
    tag = "contacts",
    operation_id = "contacts_search",
    params(("account_id" = i64, Path, description = "The account's id"), ("q" = Option<String>, Query, description = "Name, email, phone number or identifier", example = "maria"), ("page" = Option<i64>, Query, description = "Page, from 1")),
    responses(
        (status = 200, description = "A page of matching contacts", body = crate::web::openapi::schemas::ContactList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn search(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    list(state, req, path.into_inner(), q.into_inner(), true).await
}

/// `GET /contacts/{id}` → `{"payload": contact}` with `contact_inboxes[].source_id`.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/contacts/{id}",
    tag = "contacts",
    operation_id = "contacts_show",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "The contact, with its contact inboxes", body = crate::web::openapi::schemas::ContactPayload),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, contact_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let (contact, cis) = state
        .db(move |conn| {
            let contact = contacts::find(conn, account_id, contact_id)?;
            let only = viewer.visible_inbox_ids(conn)?;
            let cis = contacts::contact_inboxes_of(conn, contact_id, only.as_deref())?;
            if only.is_some() && cis.is_empty() {
                return Err(AppError::NotFound(format!(
                    "contact {contact_id} not found"
                )));
            }
            let mut with_inbox = Vec::with_capacity(cis.len());
            for ci in cis {
                let ib = inboxes::find(conn, account_id, ci.inbox_id).ok();
                with_inbox.push((ci, ib));
            }
            Ok((contact, with_inbox))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": views::contact(&contact, Some(&cis)) })))
}

// ---- contacts-api (issue 11): the write paths, labels, conversations, filter, merge. ----

use super::params::{body_object, required_id};
use super::wrapped::Wrapped;
use crate::domain::accounts::Viewer;
use crate::domain::contact_filter;
use crate::domain::contact_writes::{self, ContactInput};
use crate::domain::contacts::Contact;
use serde_json::Value;

/// The contact as `GET /contacts/{id}` renders it, with the contact inboxes `viewer` may
/// see.
fn render_contact(
    conn: &mut crate::db::DbConn,
    viewer: &Viewer,
    contact: &Contact,
) -> AppResult<Value> {
    let only = viewer.visible_inbox_ids(conn)?;
    let cis = contacts::contact_inboxes_of(conn, contact.id, only.as_deref())?;
    let mut with_inbox = Vec::with_capacity(cis.len());
    for ci in cis {
        let ib = inboxes::find(conn, viewer.account_id, ci.inbox_id).ok();
        with_inbox.push((ci, ib));
    }
    Ok(views::contact(contact, Some(&with_inbox)))
}

/// `POST /contacts` (Chatwoot: contacts#create) `{name, email, phone_number, identifier,
/// avatar_url, additional_attributes, custom_attributes, inbox_id}` (bare or wrapped in
/// `{"contact": …}`) → `{"payload": {"contact": {…}, "contact_inbox": {"inbox", "source_id"}
/// | null}}`. Errors: 422 naming the field (invalid, or already held by another contact,
/// named in the message); 404 for another account's inbox.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/contacts",
    tag = "contacts",
    operation_id = "contacts_create",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::schemas::ContactBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The new contact, and the contact inbox opened on `inbox_id`", body = crate::web::openapi::schemas::ContactCreatedPayload),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let input = ContactInput::from_json(&body_object(&body)?)?;
    let payload = state
        .db(move |conn| {
            let (contact, ci) = contact_writes::create(conn, &viewer, &input)?;
            let contact_inbox = match ci {
                Some(ci) => {
                    let ib = inboxes::find(conn, viewer.account_id, ci.inbox_id)?;
                    json!({
                        "source_id": ci.source_id,
                        "inbox": {"id": ib.0.id, "name": ib.0.name, "channel_type": ib.0.channel_type},
                    })
                }
                None => Value::Null,
            };
            Ok(json!({
                "contact": render_contact(conn, &viewer, &contact)?,
                "contact_inbox": contact_inbox,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": payload })))
}

/// `PATCH|PUT /contacts/{id}` (Chatwoot: contacts#update): the given fields change (see
/// `contact_writes::update`) → `{"payload": contact}`. Errors: 422 naming the field; 404
/// for a contact the caller cannot see.
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/contacts/{id}",
    tag = "contacts",
    operation_id = "contacts_update",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::schemas::ContactBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The contact", body = crate::web::openapi::schemas::ContactPayload),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, contact_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let input = ContactInput::from_json(&body_object(&body)?)?;
    let payload = state
        .db(move |conn| {
            let contact = contact_writes::update(conn, &viewer, contact_id, &input)?;
            render_contact(conn, &viewer, &contact)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": payload })))
}

/// `DELETE /contacts/{id}` (Chatwoot: contacts#destroy, administrators only): deletes the
/// contact with its conversations, messages and notes, then its media files on disk →
/// 200 `{}`. Errors: 403 for an agent; 404 for another account's contact.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/contacts/{id}",
    tag = "contacts",
    operation_id = "contacts_destroy",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "Deleted: `{}`", body = crate::web::openapi::schemas::EmptyObject),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn destroy(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, contact_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    // The transaction has committed when `db` returns: only then do the files go.
    let paths = state
        .db(move |conn| contact_writes::delete(conn, &viewer, contact_id))
        .await?;
    state.storage.delete_all(&paths).await;
    Ok(HttpResponse::Ok().json(json!({})))
}

/// `GET /contacts/{id}/labels` → `{"payload": ["vip", …]}`. Errors: 404.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/contacts/{id}/labels",
    tag = "contacts",
    operation_id = "contacts_labels",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "The contact's labels", body = crate::web::openapi::schemas::LabelTitles),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn labels(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, contact_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let labels = state
        .db(move |conn| contact_writes::labels(conn, &viewer, contact_id))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": labels })))
}

/// `POST /contacts/{id}/labels` `{"labels": [...]}`: replaces the list (Chatwoot) →
/// `{"payload": [...]}`. Errors: 422 naming `labels`; 404.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/contacts/{id}/labels",
    tag = "contacts",
    operation_id = "contacts_set_labels",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::schemas::LabelsBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The contact's labels now", body = crate::web::openapi::schemas::LabelTitles),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn set_labels(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, contact_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let body = body_object(&body)?;
    let labels: Vec<String> = match body.get("labels") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(AppError::invalid(
                    "labels",
                    format!("labels must be strings, not {other}"),
                )),
            })
            .collect::<AppResult<_>>()?,
        Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
        _ => {
            return Err(AppError::invalid(
                "labels",
                "labels is required: an array of label names",
            ))
        }
    };
    let labels = state
        .db(move |conn| contact_writes::set_labels(conn, &viewer, contact_id, &labels))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": labels })))
}

/// `GET /contacts/{id}/conversations` → `{"payload": [conversation…]}` (as the conversation
/// list renders them), latest activity first, only those the caller may see. Errors: 404.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/contacts/{id}/conversations",
    tag = "contacts",
    operation_id = "contacts_conversations",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "The contact's conversations the caller may see", body = crate::web::openapi::schemas::ConversationPayloadList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn conversations(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, contact_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let st = state.get_ref().clone();
    let payload = state
        .db(move |conn| {
            let rows = contact_writes::conversations_of(conn, &viewer, contact_id)?;
            super::conversations::render(conn, &st, &rows)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": payload })))
}

/// `?page=` of `POST /contacts/filter`.
#[derive(Debug, Deserialize)]
pub struct FilterQuery {
    pub page: Option<i64>,
}

/// `POST /contacts/filter` `{"payload": [conditions…]}` (see `domain::contact_filter`) →
/// `{"meta": {"count", "count_is_lower_bound", "current_page"}, "payload": [contact…]}`, 15
/// a page, newest first. `count` is exact up to 10,000 matches; beyond, it is 10,000 with
/// `count_is_lower_bound: true` (an exact count of a broad filter would read every match).
/// Errors: 422 naming `payload[i].<key>`.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/contacts/filter",
    tag = "contacts",
    operation_id = "contacts_filter",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "A page of matching contacts", body = crate::web::openapi::schemas::ContactFilterResult),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn filter(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<FilterQuery>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let filter = contact_filter::Filter::parse(&Value::Object(body_object(&body)?))?;
    let page = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let (rows, total) = state
        .db(move |conn| contact_filter::page(conn, &viewer, &filter, page))
        .await?;
    let capped = total > contact_filter::COUNT_CAP;
    Ok(HttpResponse::Ok().json(json!({
        "meta": {
            "count": total.min(contact_filter::COUNT_CAP),
            "count_is_lower_bound": capped,
            "current_page": page,
        },
        "payload": rows.iter().map(|c| views::contact(c, None)).collect::<Vec<_>>(),
    })))
}

/// `POST /actions/contact_merge` `{"base_contact_id", "mergee_contact_id"}` (Chatwoot):
/// the mergee's conversations, notes, labels and identities move to the base, the mergee
/// is deleted → the base contact (Chatwoot answers the contact object itself). Errors: 422
/// naming `base_contact_id` / `mergee_contact_id`; 404 for a contact the caller cannot see.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/actions/contact_merge",
    tag = "contacts",
    operation_id = "contacts_merge",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::schemas::ContactMergeBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The base contact, after the merge", body = crate::web::openapi::schemas::Contact),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn merge(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let body = body_object(&body)?;
    let body = match body.get("contact_merge") {
        Some(Value::Object(inner)) => inner.clone(),
        _ => body,
    };
    let base = required_id(&body, "base_contact_id")?;
    let mergee = required_id(&body, "mergee_contact_id")?;
    let payload = state
        .db(move |conn| {
            let contact = contact_writes::merge(conn, &viewer, base, mergee)?;
            render_contact(conn, &viewer, &contact)
        })
        .await?;
    Ok(HttpResponse::Ok().json(payload))
}
