//! Custom attributes over the API (see [`crate::domain::custom_attributes`]):
//! - `GET /custom_attribute_definitions[?attribute_model=0|1|conversation_attribute|contact_attribute]`
//!   → a bare array of definitions (Chatwoot's `custom_attribute`), oldest first; without the
//!   parameter, all;
//! - `POST /custom_attribute_definitions`, `GET|PATCH|DELETE /custom_attribute_definitions/{id}`
//!   (Chatwoot's Custom Attributes API; administrators change, every member reads);
//! - `POST /conversations/{display_id}/custom_attributes` `{"custom_attributes":{…}}`
//!   (Chatwoot's) → `{"custom_attributes":{…}}` as stored;
//! - `POST /contacts/{id}/custom_attributes` `{"custom_attributes":{…}}` (ours; Chatwoot sets
//!   them through `PUT /contacts/{id}`) → `{"custom_attributes":{…}}` as stored.
//!
//! Writes merge: the keys sent are set, a `null` value removes its key, other keys stay.
//! (Chatwoot's conversation endpoint replaces the whole map; merging loses nothing when two
//! agents edit different attributes at once, and `null` removes.)

use super::params::body_object;
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::contacts;
use crate::domain::custom_attributes::{self as ca, DefinitionInput, Model};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

/// `?attribute_model=`.
#[derive(Debug, Default, Deserialize)]
pub struct ModelQuery {
    /// `0`/`conversation_attribute` or `1`/`contact_attribute`; absent or blank: all.
    pub attribute_model: Option<String>,
}

/// `GET /custom_attribute_definitions[?attribute_model=]` → `[custom_attribute…]`.
/// Errors: 422 naming `attribute_model` for another value.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/custom_attribute_definitions",
    tag = "custom_attributes",
    operation_id = "custom_attributes_index",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account's definitions", body = Vec<crate::web::openapi::schemas::CustomAttributeDefinition>),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<ModelQuery>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let model = match q.attribute_model.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(m) => Some(Model::parse(m).ok_or_else(|| {
            AppError::invalid(
                "attribute_model",
                "attribute_model must be 0 (conversation_attribute) or 1 (contact_attribute)",
            )
        })?),
    };
    let list = state
        .db(move |conn| ca::list(conn, viewer.account_id, model))
        .await?;
    Ok(HttpResponse::Ok().json(list.iter().map(ca::Definition::to_json).collect::<Vec<_>>()))
}

/// `GET /custom_attribute_definitions/{id}` → the definition. Errors: 404.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/custom_attribute_definitions/{id}",
    tag = "custom_attributes",
    operation_id = "custom_attributes_show",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "The definition", body = crate::web::openapi::schemas::CustomAttributeDefinition),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let d = state
        .db(move |conn| ca::find(conn, viewer.account_id, id))
        .await?;
    Ok(HttpResponse::Ok().json(d.to_json()))
}

/// `POST /custom_attribute_definitions` (Chatwoot's `custom_attribute_create_update_payload`,
/// bare or wrapped in `custom_attribute_definition`) → the definition. Errors: 403 for
/// agents; 422 naming the field (see [`ca::create`]).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/custom_attribute_definitions",
    tag = "custom_attributes",
    operation_id = "custom_attributes_create",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The new definition", body = crate::web::openapi::schemas::CustomAttributeDefinition),
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
    let input = DefinitionInput::from_json(body_object(&body)?)?;
    let d = state
        .db(move |conn| ca::create(conn, &viewer, &input))
        .await?;
    Ok(HttpResponse::Ok().json(d.to_json()))
}

/// `PATCH /custom_attribute_definitions/{id}` → the definition. Errors: 404 (another
/// account's id too); 403 for agents; 422 as [`create`], and for a changed `attribute_key`
/// or `attribute_model`.
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/custom_attribute_definitions/{id}",
    tag = "custom_attributes",
    operation_id = "custom_attributes_update",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The definition", body = crate::web::openapi::schemas::CustomAttributeDefinition),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let input = DefinitionInput::from_json(body_object(&body)?);
    let d = state
        .db(move |conn| {
            ca::find(conn, viewer.account_id, id)?;
            ca::update(conn, &viewer, id, &input?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(d.to_json()))
}

/// `DELETE /custom_attribute_definitions/{id}` → 200, empty body (stored values are kept).
/// Errors: 404; 403 for agents.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/custom_attribute_definitions/{id}",
    tag = "custom_attributes",
    operation_id = "custom_attributes_destroy",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "Done; the body is empty (Chatwoot answers `head :ok`)"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn destroy(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    state.db(move |conn| ca::delete(conn, &viewer, id)).await?;
    Ok(HttpResponse::Ok().finish())
}

/// The `custom_attributes` object of a body. Errors: 400 for a body that is not a JSON
/// object; 422 naming `custom_attributes` when it is missing or not an object.
/// (Read from the raw body: the route's last segment is `custom_attributes`, so the generic
/// Rails unwrapping of [`Wrapped`] would lift the very object this route takes.)
fn patch_of(body: &web::Bytes) -> AppResult<Value> {
    let mut body = body_object(body)?;
    match body.remove("custom_attributes") {
        Some(v @ Value::Object(_)) => Ok(v),
        _ => Err(AppError::invalid(
            "custom_attributes",
            "custom_attributes is required: an object of attribute keys and values",
        )),
    }
}

/// `POST /conversations/{display_id}/custom_attributes` `{"custom_attributes":{"plan":"Gold"}}`
/// → `{"custom_attributes":{…}}` (the whole map as stored). Emits `conversation_updated` when
/// it changed. Errors: 404 (a conversation the viewer cannot see, before any 422); 422 with
/// `field` `custom_attributes` or `custom_attributes.<key>`.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/conversations/{display_id}/custom_attributes",
    tag = "custom_attributes",
    operation_id = "custom_attributes_set_for_conversation",
    params(("account_id" = i64, Path, description = "The account's id"), ("display_id" = i64, Path, description = "The conversation's number in its account (Chatwoot's `display_id`)")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The conversation's custom attributes now", body = crate::web::openapi::schemas::CustomAttributeValues),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn set_for_conversation(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i32)>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let (account_id, display_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let patch = patch_of(&body);
    let c = state
        .db(move |conn| {
            crate::domain::conversations::find_for_viewer(conn, &viewer, display_id)?;
            ca::set_for_conversation(conn, &viewer, display_id, &patch?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "custom_attributes": c.custom_attributes })))
}

/// `POST /contacts/{id}/custom_attributes` `{"custom_attributes":{"plan":"Gold"}}` (ours) →
/// `{"custom_attributes":{…}}` as stored. Emits `contact_updated` when it changed. An agent
/// reaches only contacts of the inboxes they belong to. Errors: 404 (before any 422); 422 as
/// [`set_for_conversation`].
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/contacts/{id}/custom_attributes",
    tag = "custom_attributes",
    operation_id = "custom_attributes_set_for_contact",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The contact's custom attributes now", body = crate::web::openapi::schemas::CustomAttributeValues),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn set_for_contact(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let (account_id, contact_id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let patch = patch_of(&body);
    let c = state
        .db(move |conn| {
            contacts::find(conn, viewer.account_id, contact_id)?;
            if let Some(only) = viewer.visible_inbox_ids(conn)? {
                if contacts::contact_inboxes_of(conn, contact_id, Some(&only))?.is_empty() {
                    return Err(AppError::NotFound(format!(
                        "contact {contact_id} not found"
                    )));
                }
            }
            ca::set_for_contact(conn, viewer.account_id, contact_id, &patch?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "custom_attributes": c.custom_attributes })))
}
