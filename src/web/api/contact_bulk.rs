//! `POST /api/v1/accounts/{id}/bulk_actions` with `type: "Contact"` (Chatwoot's contact bulk
//! actions; `domain::contact_bulk`):
//!
//! ```json
//! {"type": "Contact", "ids": [12, 13], "labels": {"add": ["vip"]}}
//! {"type": "Contact", "ids": [12, 13], "action_name": "delete"}
//! {"type": "Contact", "matching": {"q": "silva", "label": "vip"}, "labels": {"add": ["lead"]}}
//! ```
//!
//! `matching` (Switchboard's addition, instead of `ids`) selects every contact the Contacts
//! screen lists for those parameters (its query string: `q`, `label`, `created_from`,
//! `created_to`, `active_from`, `active_to`, `attr`, `attr_op`, `attr_value`, all strings;
//! sort and paging are ignored): the ids are resolved on the server from the same filter.
//! Answers 200 `{"count": n, "changed": m}` once committed. Errors: 400 not a JSON object;
//! 422 naming `type`, `ids`, `matching`, `labels`, `action_name` (or a `matching` field);
//! 404 naming ids the viewer cannot see; 403 when an agent deletes.

use super::params::{body_object, id_field, string_field};
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::accounts::Viewer;
use crate::domain::contact_bulk::{self, Operation, Selection};
use crate::error::{AppError, AppResult};
use crate::web::ui::contacts::{matching_query, ListParams};
use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

/// True when a bulk action body names `type: "Contact"` (any case).
pub fn is_contact_body(body: &Wrapped) -> bool {
    body_object(body)
        .ok()
        .and_then(|b| b.get("type").and_then(Value::as_str).map(str::to_string))
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("contact"))
}

/// The selection as read from the body; `matching` becomes a query inside the transaction.
enum Chosen {
    Ids(Vec<i64>),
    Matching(Box<ListParams>),
}

fn selection(body: &Map<String, Value>) -> AppResult<Chosen> {
    let present = |k: &str| body.get(k).filter(|v| !v.is_null());
    match (present("ids"), present("matching")) {
        (Some(ids), None) => match ids {
            Value::Array(items) => Ok(Chosen::Ids(
                items
                    .iter()
                    .map(|v| {
                        id_field(v, "ids")?
                            .filter(|n| *n > 0)
                            .ok_or_else(|| AppError::invalid("ids", "ids must hold contact ids"))
                    })
                    .collect::<AppResult<Vec<i64>>>()?,
            )),
            other => Err(AppError::invalid(
                "ids",
                format!("ids must be an array of contact ids, not {other}"),
            )),
        },
        (None, Some(Value::Object(m))) => {
            for (k, v) in m {
                if !v.is_string() && !v.is_null() {
                    return Err(AppError::invalid(
                        &format!("matching.{k}"),
                        format!("matching.{k} must be a string, not {v}"),
                    ));
                }
            }
            let params: ListParams = serde_json::from_value(Value::Object(m.clone()))
                .map_err(|e| AppError::invalid("matching", format!("matching: {e}")))?;
            Ok(Chosen::Matching(Box::new(params)))
        }
        (None, Some(other)) => Err(AppError::invalid(
            "matching",
            format!("matching must be an object of the contact list's parameters, not {other}"),
        )),
        (Some(_), Some(_)) => Err(AppError::invalid(
            "ids",
            "give either ids or matching, not both",
        )),
        (None, None) => Err(AppError::invalid(
            "ids",
            "ids is required: an array of contact ids (or matching: the list's filters)",
        )),
    }
}

fn operation(body: &Map<String, Value>) -> AppResult<Operation> {
    let action = string_field(body, "action_name")?;
    let add = match body.get("labels") {
        None | Some(Value::Null) => None,
        Some(Value::Object(l)) => {
            if let Some(k) = l.keys().find(|k| k.as_str() != "add") {
                return Err(AppError::invalid(
                    "labels",
                    format!("labels.{k} is not supported on contacts; use labels.add"),
                ));
            }
            match l.get("add") {
                Some(Value::Array(items)) => Some(
                    items
                        .iter()
                        .map(|i| match i {
                            Value::String(s) => Ok(s.clone()),
                            other => Err(AppError::invalid(
                                "labels",
                                format!("labels.add must hold label names, not {other}"),
                            )),
                        })
                        .collect::<AppResult<Vec<String>>>()?,
                ),
                _ => {
                    return Err(AppError::invalid(
                        "labels",
                        "labels.add must be an array of label names",
                    ))
                }
            }
        }
        Some(other) => {
            return Err(AppError::invalid(
                "labels",
                format!("labels must be an object like {{\"add\": [\"vip\"]}}, not {other}"),
            ))
        }
    };
    match (action.as_deref().map(str::trim), add) {
        (Some("delete"), None) => Ok(Operation::Delete),
        (None, Some(labels)) => Ok(Operation::AddLabels(labels)),
        (Some("delete"), Some(_)) => Err(AppError::invalid(
            "action_name",
            "give either action_name delete or labels, not both",
        )),
        (Some(other), _) => Err(AppError::invalid(
            "action_name",
            format!("action_name {other:?} is not supported; use delete"),
        )),
        (None, None) => Err(AppError::invalid(
            "labels",
            "nothing to do: give labels.add or action_name delete",
        )),
    }
}

/// Applies a contact bulk action for `viewer` (the route is shared with conversations:
/// `conversation_filters::bulk` hands `type: "Contact"` bodies here).
pub async fn apply(
    state: web::Data<AppState>,
    viewer: Viewer,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let body = body_object(&body)?;
    let selection = selection(&body)?;
    let op = operation(&body)?;
    let out = state
        .db(move |conn| {
            let selection = match selection {
                Chosen::Ids(ids) => Selection::Ids(ids),
                Chosen::Matching(p) => {
                    Selection::Matching(matching_query(conn, viewer.account_id, &p)?)
                }
            };
            contact_bulk::apply(conn, &viewer, &selection, &op)
        })
        .await?;
    // The deleted contacts' media files go with them, from the disk or the bucket.
    state.storage.delete_all(&out.orphan_files).await;
    Ok(HttpResponse::Ok().json(json!({"count": out.count, "changed": out.changed})))
}
