//! `/api/v1/accounts/{account_id}/contacts/{contact_id}/notes` (Chatwoot's contact notes):
//! list, create, update and delete. A note answers as
//! `{"id", "content", "account_id", "contact_id", "user": {"id", "name", …} | null,
//! "created_at", "updated_at"}` with times in Unix seconds, as Chatwoot's note view.
//! Errors: 404 for another account's (or an unseen) contact or note, 422 `content`.

use super::conversation_actions::{body_object, string_field};
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::contact_notes::{self, NoteWithAuthor};
use crate::error::AppResult;
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

/// A note in Chatwoot's shape (`created_at`/`updated_at` in Unix seconds).
pub fn note_json(n: &NoteWithAuthor) -> Value {
    json!({
        "id": n.note.id,
        "content": n.note.content,
        "account_id": n.note.account_id,
        "contact_id": n.note.contact_id,
        "user": match (n.note.user_id, &n.author_name) {
            (Some(id), Some(name)) => json!({
                "id": id,
                "name": name,
                "available_name": name,
                "type": "user",
            }),
            _ => Value::Null,
        },
        "created_at": n.note.created_at.timestamp(),
        "updated_at": n.note.updated_at.timestamp(),
    })
}

/// `content` from `{"content"}` or Rails' wrapped `{"note": {"content"}}`. Errors: 422
/// `content` when it is not a string.
fn content_of(body: &Map<String, Value>) -> AppResult<Option<String>> {
    match body.get("note") {
        Some(Value::Object(inner)) => string_field(inner, "content"),
        _ => string_field(body, "content"),
    }
}

/// `GET /contacts/{contact_id}/notes` → a bare array of notes, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/contacts/{id}/notes",
    tag = "contact_notes",
    operation_id = "contact_notes_index",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "The contact's notes, newest first", body = Vec<crate::web::openapi::schemas::ContactNote>),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, contact_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let notes = state
        .db(move |conn| contact_notes::list(conn, &viewer, contact_id))
        .await?;
    Ok(HttpResponse::Ok().json(notes.iter().map(note_json).collect::<Vec<_>>()))
}

/// `POST /contacts/{contact_id}/notes` `{"content"}` → the note, written by the caller.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/contacts/{id}/notes",
    tag = "contact_notes",
    operation_id = "contact_notes_create",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::schemas::NoteBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The new note", body = crate::web::openapi::schemas::ContactNote),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, contact_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let content = content_of(&body_object(&body)?)?;
    let note = state
        .db(move |conn| contact_notes::create(conn, &viewer, contact_id, content.as_deref()))
        .await?;
    Ok(HttpResponse::Ok().json(note_json(&note)))
}

/// `PATCH /contacts/{contact_id}/notes/{id}` `{"content"}` → the note.
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/contacts/{id}/notes/{note_id}",
    tag = "contact_notes",
    operation_id = "contact_notes_update",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id"), ("note_id" = i64, Path, description = "The note's id")),
    request_body(content = crate::web::openapi::schemas::NoteBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The note", body = crate::web::openapi::schemas::ContactNote),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, contact_id, note_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let content = content_of(&body_object(&body)?)?;
    let note = state
        .db(move |conn| {
            contact_notes::update(conn, &viewer, contact_id, note_id, content.as_deref())
        })
        .await?;
    Ok(HttpResponse::Ok().json(note_json(&note)))
}

/// `DELETE /contacts/{contact_id}/notes/{id}` → 200 with an empty body, as Chatwoot.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/contacts/{id}/notes/{note_id}",
    tag = "contact_notes",
    operation_id = "contact_notes_destroy",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id"), ("note_id" = i64, Path, description = "The note's id")),
    responses(
        (status = 200, description = "Done; the body is empty (Chatwoot answers `head :ok`)"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn destroy(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, contact_id, note_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    state
        .db(move |conn| contact_notes::delete(conn, &viewer, contact_id, note_id))
        .await?;
    Ok(HttpResponse::Ok().finish())
}
