//! `GET /health`: 200 `{"status":"ok","database":"ok","ingest_backlog":N,"ingest_lag_seconds":S,
//! "ingest_backlog_alert":B,"ingest_backlog_alarm":bool,"draining":bool}`, where N is the
//! number of webhook events not yet ingested, S the age in seconds of the oldest of them (0
//! when none), B the `INGEST_BACKLOG_ALERT` bound (0 = off) and the alarm true when N > B > 0
//! (see [`crate::jobs::ingest_lag`]); or 503 with `"database":"unavailable"`: at once while
//! the database circuit breaker is open ([`crate::db::Breaker`]), so load balancers see an
//! outage without waiting for `DATABASE_POOL_TIMEOUT_MS`. A raised alarm does not make the
//! node unhealthy: it still acknowledges webhooks durably.

use crate::app::AppState;
use actix_web::{web, HttpResponse};

/// Checks the database by reading the ingest backlog and lag (one statement).
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    operation_id = "health_health",
    security(()),
    responses(
        (status = 200, description = "OK", body = crate::web::openapi::JsonValue),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let lag = state.db(|conn| crate::jobs::ingest_lag::read(conn)).await;
    if let Ok(lag) = lag {
        let bound = state.config.ingest_backlog_alert;
        HttpResponse::Ok().json(serde_json::json!({
            "status": "ok", "database": "ok",
            "ingest_backlog": lag.backlog,
            "ingest_lag_seconds": (lag.oldest_age_seconds * 1000.0).round() / 1000.0,
            "ingest_backlog_alert": bound,
            "ingest_backlog_alarm": bound > 0 && lag.backlog > bound,
            "draining": crate::jobs::leases::draining()}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "error", "database": "unavailable"}))
    }
}

/// `GET /ready` (issue 15): may a load balancer send this node traffic? 200
/// `{"status":"ready"}` when the database answers, every migration this build embeds is
/// applied and the node is not draining; otherwise 503 `{"status":"unavailable","reason":…}`
/// with `reason` one of `draining` (SIGTERM received: finishing in-flight work),
/// `database_unavailable`, `migrations_pending`. `/health` stays the liveness check.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "health",
    operation_id = "health_ready",
    security(()),
    responses(
        (status = 200, description = "OK", body = crate::web::openapi::JsonValue),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let unavailable = |reason: &str| {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "unavailable", "reason": reason}))
    };
    if crate::jobs::leases::draining() {
        return unavailable("draining");
    }
    let pending = state
        .db(|conn| {
            use diesel_migrations::MigrationHarness;
            conn.has_pending_migration(crate::db::MIGRATIONS)
                .map_err(|e| crate::error::AppError::DatabaseUnavailable(e.to_string()))
        })
        .await;
    match pending {
        Ok(false) => HttpResponse::Ok().json(serde_json::json!({"status": "ready"})),
        Ok(true) => unavailable("migrations_pending"),
        Err(_) => unavailable("database_unavailable"),
    }
}
