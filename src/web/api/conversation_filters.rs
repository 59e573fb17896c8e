//! The conversation list beyond the fixed filters (issue 10), in Chatwoot's shapes:
//! `POST …/conversations/filter`, saved views (`…/custom_filters`) and
//! `POST …/bulk_actions`. The rules live in [`crate::domain::conversation_filter`],
//! [`crate::domain::custom_filters`] and [`crate::domain::bulk_actions`].

use super::conversations::render;
use super::params::{body_object, id_field, string_field};
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::bulk_actions::{self, BulkAction};
use crate::domain::conversation_filter::Filter;
use crate::domain::conversations::{self, ListCursor, ListFilter, ListSort};
use crate::domain::custom_filters::{self, CustomFilter, CustomFilterInput};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// `?page=&cursor=&sort_by=&assignee_type=` of `POST /conversations/filter`.
#[derive(Debug, Deserialize)]
pub struct FilterQuery {
    pub page: Option<i64>,
    /// `meta.next_cursor` of the previous page (wins over `page`).
    pub cursor: Option<String>,
    /// As `GET /conversations` (see [`ListSort::parse`]).
    pub sort_by: Option<String>,
    /// `me`, `unassigned`, `assigned` or `all` (default).
    pub assignee_type: Option<String>,
}

/// `POST /conversations/filter` `{"payload":[conditions…]}` →
/// `{"meta":{mine_count,unassigned_count,assigned_count,all_count,next_cursor},"payload":[conversation…]}`
/// (Chatwoot's filter answer), 25 per page in `sort_by` order. The payload alone decides
/// the status (none = any). Errors: 422 naming `payload[i].<key>`, `sort_by`, `cursor` or
/// `assignee_type`.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/conversations/filter",
    tag = "conversation_filters",
    operation_id = "conversation_filters_filter",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "A page of matching conversations with the list's counts", body = crate::web::openapi::schemas::ConversationFilterResult),
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
    let q = q.into_inner();
    let body = Value::Object(body_object(&body)?);
    let list = ListFilter {
        status: Some("all".into()),
        assignee_type: q.assignee_type,
        page: q.page.unwrap_or(1),
        cursor: ListCursor::parse_optional(q.cursor.as_deref())?,
        sort: ListSort::parse(q.sort_by.as_deref())?,
        ..Default::default()
    };
    let mut list = list;
    let st = state.get_ref().clone();
    let (payload, counts, next) = state
        .db(move |conn| {
            list.conditions = Some(Filter::parse_for(conn, viewer.account_id, &body)?);
            let page = conversations::list_page(conn, &viewer, &list)?;
            Ok((
                render(conn, &st, &page.rows)?,
                page.counts,
                page.next_cursor,
            ))
        })
        .await?;
    let mut meta = json!(counts);
    meta["next_cursor"] = json!(next.map(|c| c.to_param()));
    Ok(HttpResponse::Ok().json(json!({"meta": meta, "payload": payload})))
}

/// A saved view as Chatwoot renders a custom filter.
pub fn custom_filter_view(f: &CustomFilter) -> Value {
    json!({
        "id": f.id,
        "name": f.name,
        "filter_type": f.filter_type,
        "query": f.query,
        "created_at": f.created_at.to_rfc3339(),
        "updated_at": f.updated_at.to_rfc3339(),
    })
}

/// Reads `{"custom_filter":{name, filter_type|type, query}}` or the same keys unwrapped.
/// Errors: 400 for a non-object body; 422 naming a mistyped field.
fn custom_filter_input(body: &Wrapped) -> AppResult<CustomFilterInput> {
    let mut body = body_object(body)?;
    if let Some(Value::Object(inner)) = body.remove("custom_filter") {
        body = inner;
    }
    let filter_type = match string_field(&body, "filter_type")? {
        Some(t) => Some(t),
        None => string_field(&body, "type")?,
    };
    let query = match body.get("query") {
        None | Some(Value::Null) => None,
        Some(q @ Value::Object(_)) => Some(q.clone()),
        Some(Value::Array(a)) => Some(json!({ "payload": a })),
        Some(other) => {
            return Err(AppError::invalid(
                "query",
                format!("query must be an object {{\"payload\":[…]}}, not {other}"),
            ))
        }
    };
    Ok(CustomFilterInput {
        name: string_field(&body, "name")?,
        filter_type,
        query,
    })
}

/// `?filter_type=` of `GET /custom_filters`.
#[derive(Debug, Deserialize)]
pub struct CustomFilterQuery {
    pub filter_type: Option<String>,
}

/// `GET /custom_filters[?filter_type=conversation]` → the viewer's saved views, oldest
/// first (another `filter_type` lists none: only conversation views are kept).
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/custom_filters",
    tag = "conversation_filters",
    operation_id = "conversation_filters_custom_filters_index",
    params(("account_id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The caller's saved views, oldest first", body = Vec<crate::web::openapi::schemas::CustomFilter>),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn custom_filters_index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    q: web::Query<CustomFilterQuery>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let wanted = q.into_inner().filter_type;
    let list = state
        .db(move |conn| custom_filters::list(conn, &viewer))
        .await?;
    Ok(HttpResponse::Ok().json(
        list.iter()
            .filter(|f| wanted.as_deref().is_none_or(|t| t == f.filter_type))
            .map(custom_filter_view)
            .collect::<Vec<_>>(),
    ))
}

/// `POST /custom_filters` `{"name","filter_type":"conversation","query":{"payload":[…]}}` →
/// the saved view. Errors: 422 naming `name`, `filter_type` or `query`.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/custom_filters",
    tag = "conversation_filters",
    operation_id = "conversation_filters_custom_filters_create",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The saved view", body = crate::web::openapi::schemas::CustomFilter),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn custom_filters_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let input = custom_filter_input(&body)?;
    let f = state
        .db(move |conn| custom_filters::create(conn, &viewer, &input))
        .await?;
    Ok(HttpResponse::Ok().json(custom_filter_view(&f)))
}

/// `GET /custom_filters/{id}` → the saved view. Errors: 404 unless it is the viewer's.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/custom_filters/{id}",
    tag = "conversation_filters",
    operation_id = "conversation_filters_custom_filters_show",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "The saved view", body = crate::web::openapi::schemas::CustomFilter),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn custom_filters_show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let f = state
        .db(move |conn| custom_filters::find(conn, &viewer, id))
        .await?;
    Ok(HttpResponse::Ok().json(custom_filter_view(&f)))
}

/// `PATCH /custom_filters/{id}` (any of `name`, `query`) → the saved view.
/// Errors: 404 unless it is the viewer's; 422 as create.
#[utoipa::path(
    patch,
    path = "/api/v1/accounts/{account_id}/custom_filters/{id}",
    tag = "conversation_filters",
    operation_id = "conversation_filters_custom_filters_update",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "The saved view", body = crate::web::openapi::schemas::CustomFilter),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn custom_filters_update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let input = custom_filter_input(&body);
    let f = state
        .db(move |conn| {
            // 404 before 422: nobody learns of another's view from a validation error.
            custom_filters::find(conn, &viewer, id)?;
            custom_filters::update(conn, &viewer, id, &input?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(custom_filter_view(&f)))
}

/// `DELETE /custom_filters/{id}` → 200 with an empty body. Errors: 404 unless it is the
/// viewer's.
#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{account_id}/custom_filters/{id}",
    tag = "conversation_filters",
    operation_id = "conversation_filters_custom_filters_destroy",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "Done; the body is empty (Chatwoot answers `head :ok`)"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn custom_filters_destroy(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    state
        .db(move |conn| custom_filters::delete(conn, &viewer, id))
        .await?;
    Ok(HttpResponse::Ok().finish())
}

/// Reads `snoozed_until` (unix seconds, a number or digits). Errors: 422 naming it.
fn unix_time(v: &Value) -> AppResult<Option<DateTime<Utc>>> {
    let invalid = || AppError::invalid("snoozed_until", "snoozed_until must be unix seconds");
    let secs = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_f64().ok_or_else(invalid)?,
        Value::String(s) => s.trim().parse::<f64>().map_err(|_| invalid())?,
        _ => return Err(invalid()),
    };
    if !secs.is_finite() {
        return Err(invalid());
    }
    DateTime::from_timestamp(secs.floor() as i64, 0)
        .map(Some)
        .ok_or_else(invalid)
}

/// A list of label names. Errors: 422 naming `field`.
fn label_list(v: Option<&Value>, field: &str) -> AppResult<Vec<String>> {
    match v {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(AppError::invalid(
                    field,
                    format!("{field} must hold label names, not {other}"),
                )),
            })
            .collect(),
        Some(other) => Err(AppError::invalid(
            field,
            format!("{field} must be an array of label names, not {other}"),
        )),
    }
}

/// Reads Chatwoot's bulk action body. Errors: 422 naming `type`, `ids`, `fields`, a field,
/// or `labels`.
fn bulk_input(body: &Map<String, Value>) -> AppResult<BulkAction> {
    if let Some(t) = string_field(body, "type")? {
        if !t.trim().eq_ignore_ascii_case("conversation") {
            return Err(AppError::invalid(
                "type",
                format!("type {t:?} is not supported; use Conversation or Contact"),
            ));
        }
    }
    let ids = match body.get("ids") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                id_field(v, "ids")?
                    .and_then(|n| i32::try_from(n).ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| AppError::invalid("ids", "ids must hold conversation ids"))
            })
            .collect::<AppResult<Vec<i32>>>()?,
        _ => {
            return Err(AppError::invalid(
                "ids",
                "ids is required: an array of conversation ids (display_id)",
            ))
        }
    };
    let empty = Map::new();
    let fields = match body.get("fields") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(f)) => f,
        Some(other) => {
            return Err(AppError::invalid(
                "fields",
                format!("fields must be an object, not {other}"),
            ))
        }
    };
    const KNOWN: [&str; 4] = ["status", "assignee_id", "team_id", "snoozed_until"];
    if let Some(k) = fields.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(AppError::invalid(
            k,
            format!("unknown field {k:?}; use status, assignee_id, team_id or snoozed_until"),
        ));
    }
    let (add, remove) = match body.get("labels") {
        None | Some(Value::Null) => (vec![], vec![]),
        Some(Value::Object(l)) => (
            label_list(l.get("add"), "labels")?,
            label_list(l.get("remove"), "labels")?,
        ),
        Some(other) => {
            return Err(AppError::invalid(
                "labels",
                format!("labels must be {{\"add\":[…],\"remove\":[…]}}, not {other}"),
            ))
        }
    };
    Ok(BulkAction {
        ids,
        status: string_field(fields, "status")?.map(|s| s.trim().to_string()),
        snoozed_until: unix_time(fields.get("snoozed_until").unwrap_or(&Value::Null))?,
        assignee_id: fields
            .get("assignee_id")
            .map(|v| id_field(v, "assignee_id"))
            .transpose()?,
        team_id: fields
            .get("team_id")
            .map(|v| id_field(v, "team_id"))
            .transpose()?,
        add_labels: add,
        remove_labels: remove,
    })
}

/// `POST /bulk_actions` `{"type":"Conversation","ids":[display_id…],"fields":{"status"?,
/// "snoozed_until"?,"assignee_id"?,"team_id"?},"labels":{"add"?:[…],"remove"?:[…]}}` →
/// `{"updated_ids":[display_id…]}` (Chatwoot answers 200 too). One transaction: all or
/// nothing. Errors: 404 naming ids the viewer cannot see (nothing changes); 422 naming the
/// field; 422 naming `ids` past [`bulk_actions::MAX_IDS`]. A `"type":"Contact"` body is a
/// contact bulk action instead (`super::contact_bulk`).
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/bulk_actions",
    tag = "conversation_filters",
    operation_id = "conversation_filters_bulk",
    params(("account_id" = i64, Path, description = "The account's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "What changed", body = crate::web::openapi::schemas::BulkActionResult),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn bulk(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    if super::contact_bulk::is_contact_body(&body) {
        return super::contact_bulk::apply(state, viewer, body).await;
    }
    let action = bulk_input(&body_object(&body)?)?;
    let out = state
        .db(move |conn| bulk_actions::apply(conn, &viewer, &action))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}
