//! Issue 13 (rules): Chatwoot's Automation Rules and Macros APIs.
//!
//! - `GET /automation_rules` → `{"payload": [rule…]}`; `POST` → `{"payload": rule}`;
//!   `GET|PATCH|DELETE /automation_rules/{id}`; ours: `GET /automation_rules/{id}/runs` →
//!   `{"payload": [run…]}` (latest 50). Administrators only (Chatwoot's policy).
//! - `GET /macros` → `{"payload": [macro…]}` (global ones and the caller's personal ones);
//!   `POST`, `GET|PATCH|DELETE /macros/{id}`; `POST /macros/{id}/execute`
//!   `{"conversation_ids": [display_id…]}` → `{"payload": [{conversation_id, actions_done}]}`.
//!   Every member.
//!
//! Bodies are bare or wrapped (`automation_rule`, `macro`). Shapes and errors: see
//! `domain::automation` (422 naming e.g. `conditions[0].filter_operator`; 404 for another
//! account's id).

use super::params::{body_object, required_ids};
use super::wrapped::Wrapped;
use crate::app::AppState;
use crate::domain::automation::{self, actions::RunSettings, macros};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

/// Registers the routes inside `/api/v1/accounts/{account_id}`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/automation_rules", web::get().to(index))
        .route("/automation_rules", web::post().to(create))
        .route("/automation_rules/{id}", web::get().to(show))
        .route("/automation_rules/{id}", web::patch().to(update))
        .route("/automation_rules/{id}", web::put().to(update))
        .route("/automation_rules/{id}", web::delete().to(destroy))
        .route("/automation_rules/{id}/runs", web::get().to(runs))
        .route("/macros", web::get().to(macro_index))
        .route("/macros", web::post().to(macro_create))
        .route("/macros/{id}", web::get().to(macro_show))
        .route("/macros/{id}", web::patch().to(macro_update))
        .route("/macros/{id}", web::put().to(macro_update))
        .route("/macros/{id}", web::delete().to(macro_destroy))
        .route("/macros/{id}/execute", web::post().to(macro_execute));
}

/// `GET /automation_rules` → `{"payload": [rule…]}`. Errors: 403 for agents.
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    viewer.require_admin()?;
    let list = state
        .db(move |conn| automation::list(conn, viewer.account_id))
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "payload": list.iter().map(automation::to_json).collect::<Vec<_>>() })))
}

/// `POST /automation_rules` `{name, description?, event_name, conditions, actions, active?,
/// unanswered_minutes?}` → `{"payload": rule}`. Errors: 403; 422 naming the field.
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    viewer.require_admin()?;
    let body = body_object(&body)?;
    let allow_http = state.config.webhooks_allow_http;
    let rule = state
        .db(move |conn| automation::create(conn, viewer.account_id, &body, allow_http))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": automation::to_json(&rule) })))
}

/// `GET /automation_rules/{id}` → `{"payload": rule}`. Errors: 403; 404.
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    viewer.require_admin()?;
    let rule = state
        .db(move |conn| automation::find(conn, account_id, id))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": automation::to_json(&rule) })))
}

/// `PATCH /automation_rules/{id}` with any create field (e.g. `{"active": false}`) →
/// `{"payload": rule}`. Errors: 403; 404; 422 naming the field.
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    viewer.require_admin()?;
    let body = body_object(&body)?;
    let allow_http = state.config.webhooks_allow_http;
    let rule = state
        .db(move |conn| automation::update(conn, account_id, id, &body, allow_http))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": automation::to_json(&rule) })))
}

/// `DELETE /automation_rules/{id}` → 200, empty body. Errors: 403; 404.
pub async fn destroy(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    viewer.require_admin()?;
    state
        .db(move |conn| automation::delete(conn, account_id, id))
        .await?;
    Ok(HttpResponse::Ok().finish())
}

/// `GET /automation_rules/{id}/runs` → `{"payload": [run…]}`, newest first (50).
/// Errors: 403; 404.
pub async fn runs(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    viewer.require_admin()?;
    let list = state
        .db(move |conn| automation::runs_of(conn, account_id, id, 50))
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "payload": list.iter().map(automation::run_json).collect::<Vec<_>>() })))
}

/// `GET /macros` → `{"payload": [macro…]}`.
pub async fn macro_index(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let list = state.db(move |conn| macros::list(conn, &viewer)).await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "payload": list.iter().map(macros::to_json).collect::<Vec<_>>() })))
}

/// `POST /macros` `{name, visibility?, actions}` → `{"payload": macro}`. Errors: 422.
pub async fn macro_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let viewer = auth::viewer(&state, &req, path.into_inner()).await?;
    let body = body_object(&body)?;
    let allow_http = state.config.webhooks_allow_http;
    let m = state
        .db(move |conn| macros::create(conn, &viewer, &body, allow_http))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": macros::to_json(&m) })))
}

/// `GET /macros/{id}` → `{"payload": macro}`. Errors: 404.
pub async fn macro_show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let m = state
        .db(move |conn| macros::find(conn, &viewer, id))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": macros::to_json(&m) })))
}

/// `PATCH /macros/{id}` → `{"payload": macro}`. Errors: 403; 404; 422.
pub async fn macro_update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let body = body_object(&body)?;
    let allow_http = state.config.webhooks_allow_http;
    let m = state
        .db(move |conn| macros::update(conn, &viewer, id, &body, allow_http))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": macros::to_json(&m) })))
}

/// `DELETE /macros/{id}` → 200, empty body. Errors: 403; 404.
pub async fn macro_destroy(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    state
        .db(move |conn| macros::delete(conn, &viewer, id))
        .await?;
    Ok(HttpResponse::Ok().finish())
}

/// `POST /macros/{id}/execute` `{"conversation_ids": [display_id…]}` → `{"payload":
/// [{conversation_id, actions_done}]}`; all or nothing. Errors: 404 (macro or a
/// conversation); 422 naming `conversation_ids` or the failing action.
pub async fn macro_execute(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = auth::viewer(&state, &req, account_id).await?;
    let body = body_object(&body)?;
    let ids: Vec<i32> = required_ids(&body, "conversation_ids")?
        .into_iter()
        .map(|i| {
            i32::try_from(i).map_err(|_| {
                AppError::invalid("conversation_ids", format!("{i} is not a conversation id"))
            })
        })
        .collect::<AppResult<_>>()?;
    let settings = RunSettings {
        send_max_attempts: state.config.send_max_attempts,
    };
    let (done, posts) = state
        .db(move |conn| macros::execute(conn, &viewer, id, &ids, settings))
        .await?;
    crate::jobs::automation::post_all(&state, posts).await;
    Ok(HttpResponse::Ok().json(json!({ "payload": done })))
}
