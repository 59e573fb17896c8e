//! `GET /health`: 200 `{"status":"ok","database":"ok","ingest_backlog":N}` (webhook events
//! not yet ingested), or 503 with `"database":"unavailable"`: at once while the database
//! circuit breaker is open ([`crate::db::Breaker`]), so load balancers see an outage without
//! waiting for `DATABASE_POOL_TIMEOUT_MS`.

use crate::app::AppState;
use actix_web::{web, HttpResponse};

/// Checks the database by counting the ingest backlog.
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let backlog = state.db(|conn| crate::jobs::ingest::backlog(conn)).await;
    if let Ok(backlog) = backlog {
        HttpResponse::Ok()
            .json(serde_json::json!({"status": "ok", "database": "ok", "ingest_backlog": backlog}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "error", "database": "unavailable"}))
    }
}
