//! `GET /health`: 200 `{"status":"ok","database":"ok"}`, or 503 with `"database":"unavailable"`.

use crate::app::AppState;
use actix_web::{web, HttpResponse};
use diesel::RunQueryDsl;

/// Checks the database with `SELECT 1`.
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let ok = state
        .db(|conn| {
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok(())
        })
        .await
        .is_ok();
    if ok {
        HttpResponse::Ok().json(serde_json::json!({"status": "ok", "database": "ok"}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "error", "database": "unavailable"}))
    }
}
