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
use crate::domain::accounts::Viewer;
use crate::domain::automation::{self, actions::RunSettings, macros};
use crate::error::{AppError, AppResult};
use crate::web::auth;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::PgConnection;
use serde_json::{json, Map, Value};

/// Registers the routes inside `/api/v1/accounts/{account_id}`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    crud::<Rules>(cfg, "/automation_rules");
    crud::<Macros>(cfg, "/macros");
    cfg.route("/automation_rules/{id}/runs", web::get().to(runs))
        .route("/macros/{id}/execute", web::post().to(macro_execute));
}

/// What the shared CRUD handlers need of a resource (automation rules, macros): its domain
/// calls, its JSON, and who may use it.
trait Resource: 'static {
    /// The stored row.
    type Row: Send + 'static;
    /// Administrators only (rules, Chatwoot's policy); otherwise every member (macros, whose
    /// domain checks visibility and ownership).
    const ADMIN_ONLY: bool;
    fn list(conn: &mut PgConnection, viewer: &Viewer) -> AppResult<Vec<Self::Row>>;
    fn find(conn: &mut PgConnection, viewer: &Viewer, id: i64) -> AppResult<Self::Row>;
    fn create(
        conn: &mut PgConnection,
        viewer: &Viewer,
        body: &Map<String, Value>,
        allow_http: bool,
    ) -> AppResult<Self::Row>;
    fn update(
        conn: &mut PgConnection,
        viewer: &Viewer,
        id: i64,
        body: &Map<String, Value>,
        allow_http: bool,
    ) -> AppResult<Self::Row>;
    fn delete(conn: &mut PgConnection, viewer: &Viewer, id: i64) -> AppResult<()>;
    fn to_json(row: &Self::Row) -> Value;
}

/// Automation rules: `automation::*` on the viewer's account.
struct Rules;

impl Resource for Rules {
    type Row = automation::Rule;
    const ADMIN_ONLY: bool = true;
    fn list(conn: &mut PgConnection, v: &Viewer) -> AppResult<Vec<Self::Row>> {
        automation::list(conn, v.account_id)
    }
    fn find(conn: &mut PgConnection, v: &Viewer, id: i64) -> AppResult<Self::Row> {
        automation::find(conn, v.account_id, id)
    }
    fn create(
        conn: &mut PgConnection,
        v: &Viewer,
        body: &Map<String, Value>,
        allow_http: bool,
    ) -> AppResult<Self::Row> {
        automation::create(conn, v.account_id, body, allow_http)
    }
    fn update(
        conn: &mut PgConnection,
        v: &Viewer,
        id: i64,
        body: &Map<String, Value>,
        allow_http: bool,
    ) -> AppResult<Self::Row> {
        automation::update(conn, v.account_id, id, body, allow_http)
    }
    fn delete(conn: &mut PgConnection, v: &Viewer, id: i64) -> AppResult<()> {
        automation::delete(conn, v.account_id, id)
    }
    fn to_json(row: &Self::Row) -> Value {
        automation::to_json(row)
    }
}

/// Macros: `macros::*` as the viewer (personal ones are their creator's).
struct Macros;

impl Resource for Macros {
    type Row = macros::Macro;
    const ADMIN_ONLY: bool = false;
    fn list(conn: &mut PgConnection, v: &Viewer) -> AppResult<Vec<Self::Row>> {
        macros::list(conn, v)
    }
    fn find(conn: &mut PgConnection, v: &Viewer, id: i64) -> AppResult<Self::Row> {
        macros::find(conn, v, id)
    }
    fn create(
        conn: &mut PgConnection,
        v: &Viewer,
        body: &Map<String, Value>,
        allow_http: bool,
    ) -> AppResult<Self::Row> {
        macros::create(conn, v, body, allow_http)
    }
    fn update(
        conn: &mut PgConnection,
        v: &Viewer,
        id: i64,
        body: &Map<String, Value>,
        allow_http: bool,
    ) -> AppResult<Self::Row> {
        macros::update(conn, v, id, body, allow_http)
    }
    fn delete(conn: &mut PgConnection, v: &Viewer, id: i64) -> AppResult<()> {
        macros::delete(conn, v, id)
    }
    fn to_json(row: &Self::Row) -> Value {
        macros::to_json(row)
    }
}

/// `GET|POST {base}`, `GET|PATCH|PUT|DELETE {base}/{id}` for resource `R`.
fn crud<R: Resource>(cfg: &mut web::ServiceConfig, base: &str) {
    let one = format!("{base}/{{id}}");
    cfg.route(base, web::get().to(index::<R>))
        .route(base, web::post().to(create::<R>))
        .route(&one, web::get().to(show::<R>))
        .route(&one, web::patch().to(update::<R>))
        .route(&one, web::put().to(update::<R>))
        .route(&one, web::delete().to(destroy::<R>));
}

/// The caller in `account_id`, refused with 403 when `R` is for administrators only.
async fn viewer_for<R: Resource>(
    state: &AppState,
    req: &HttpRequest,
    account_id: i64,
) -> AppResult<Viewer> {
    let viewer = auth::viewer(state, req, account_id).await?;
    if R::ADMIN_ONLY {
        viewer.require_admin()?;
    }
    Ok(viewer)
}

fn payload<R: Resource>(row: &R::Row) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "payload": R::to_json(row) }))
}

/// `GET {base}` → `{"payload": [item…]}`. Errors: 403 (rules, for agents).
async fn index<R: Resource>(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let viewer = viewer_for::<R>(&state, &req, path.into_inner()).await?;
    let list = state.db(move |conn| R::list(conn, &viewer)).await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "payload": list.iter().map(R::to_json).collect::<Vec<_>>() })))
}

/// `POST {base}` (bare or wrapped body) → `{"payload": item}`. Errors: 403; 422 naming the
/// field.
async fn create<R: Resource>(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let viewer = viewer_for::<R>(&state, &req, path.into_inner()).await?;
    let body = body_object(&body)?;
    let allow_http = state.config.webhooks_allow_http;
    let row = state
        .db(move |conn| R::create(conn, &viewer, &body, allow_http))
        .await?;
    Ok(payload::<R>(&row))
}

/// `GET {base}/{id}` → `{"payload": item}`. Errors: 403; 404 (also another account's id).
async fn show<R: Resource>(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = viewer_for::<R>(&state, &req, account_id).await?;
    let row = state.db(move |conn| R::find(conn, &viewer, id)).await?;
    Ok(payload::<R>(&row))
}

/// `PATCH|PUT {base}/{id}` with any create field → `{"payload": item}`. Errors: 403; 404;
/// 422 naming the field.
async fn update<R: Resource>(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: Wrapped,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = viewer_for::<R>(&state, &req, account_id).await?;
    let body = body_object(&body)?;
    let allow_http = state.config.webhooks_allow_http;
    let row = state
        .db(move |conn| R::update(conn, &viewer, id, &body, allow_http))
        .await?;
    Ok(payload::<R>(&row))
}

/// `DELETE {base}/{id}` → 200, empty body. Errors: 403; 404.
async fn destroy<R: Resource>(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = viewer_for::<R>(&state, &req, account_id).await?;
    state.db(move |conn| R::delete(conn, &viewer, id)).await?;
    Ok(HttpResponse::Ok().finish())
}

/// `GET /automation_rules/{id}/runs` → `{"payload": [run…]}`, newest first (50).
/// Errors: 403; 404.
#[utoipa::path(
    get,
    path = "/api/v1/accounts/{account_id}/automation_rules/{id}/runs",
    tag = "automation",
    operation_id = "automation_runs",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    responses(
        (status = 200, description = "The rule's latest runs", body = crate::web::openapi::schemas::AutomationRunList),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn runs(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (account_id, id) = path.into_inner();
    let viewer = viewer_for::<Rules>(&state, &req, account_id).await?;
    let list = state
        .db(move |conn| automation::runs_of(conn, viewer.account_id, id, 50))
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "payload": list.iter().map(automation::run_json).collect::<Vec<_>>() })))
}

/// `POST /macros/{id}/execute` `{"conversation_ids": [display_id…]}` → `{"payload":
/// [{conversation_id, actions_done}]}`; all or nothing. Errors: 404 (macro or a
/// conversation); 422 naming `conversation_ids` or the failing action.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{account_id}/macros/{id}/execute",
    tag = "automation",
    operation_id = "automation_macro_execute",
    params(("account_id" = i64, Path, description = "The account's id"), ("id" = i64, Path, description = "The resource's id")),
    request_body(content = crate::web::openapi::JsonObject, content_type = "application/json"),
    responses(
        (status = 200, description = "What the macro did to each conversation", body = crate::web::openapi::schemas::MacroExecution),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
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
    let done = state
        .db(move |conn| macros::execute(conn, &viewer, id, &ids, settings))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "payload": done })))
}
