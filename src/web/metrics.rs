//! `GET /metrics` (Prometheus text format) and the middleware timing every request.
//!
//! Never public by default:
//! - on the main listener, `/metrics` answers 404 unless `METRICS_TOKEN` is set, and then
//!   requires `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise; compared in constant
//!   time);
//! - with `METRICS_ADDRESS` (e.g. `127.0.0.1:9464`), `serve` also starts a listener of its own
//!   answering only `/metrics` ([`listener_app`]); it requires the token too when one is set.

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use std::time::Instant;

/// Times the request, records it in `switchboard_http_request_duration_seconds` with its
/// method, matched route pattern (`unmatched` when no route matched) and status, and writes
/// the access-log line ([`crate::telemetry::access_line`], target `switchboard::http`).
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let path = req.path().to_string();
    // The pattern, never the path: path segments may hold tokens or phone numbers.
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let result = next.call(req).await;
    let status = match &result {
        Ok(res) => res.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    let elapsed = started.elapsed();
    crate::metrics::observe_http(&method, &route, status, elapsed.as_secs_f64());
    tracing::info!(
        target: crate::telemetry::ACCESS_LOG_TARGET,
        "{}",
        crate::telemetry::access_line(&method, &path, status, elapsed)
    );
    result
}

/// True when the request carries `Authorization: Bearer <token>` (constant-time compare).
fn bearer_matches(req: &HttpRequest, token: &str) -> bool {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| crate::crypto::secure_eq(given.trim().as_bytes(), token.as_bytes()))
}

async fn exposition(state: &AppState) -> AppResult<HttpResponse> {
    if let Err(e) = state.db(|conn| crate::metrics::refresh_from_db(conn)).await {
        // Still serve the in-process metrics; the gauges keep their last values.
        tracing::warn!(error = %e, "metrics: the database gauges could not be refreshed");
    }
    Ok(HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(crate::metrics::render()?))
}

/// `GET /metrics` on the main listener: 404 without `METRICS_TOKEN`, 401 without the right
/// bearer token, otherwise the metrics.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "metrics",
    operation_id = "metrics_scrape",
    security(()),
    responses(
        (status = 200, description = "Prometheus text exposition (needs `Authorization: Bearer <METRICS_TOKEN>`)", body = String, content_type = "text/plain"),
        (status = "4XX", description = "Refused: unreadable (400) or invalid (422) input, no or a wrong token (401), not allowed (403), not found (404)", body = crate::web::openapi::ErrorBody),
    )
)]
pub async fn scrape(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    let Some(token) = state.config.metrics_token.as_deref() else {
        return Err(AppError::NotFound("no such route".into()));
    };
    if !bearer_matches(&req, token) {
        return Err(AppError::Unauthorized(
            "send Authorization: Bearer <METRICS_TOKEN>".into(),
        ));
    }
    exposition(&state).await
}

/// `GET /metrics` on the `METRICS_ADDRESS` listener: the metrics, or 401 when
/// `METRICS_TOKEN` is set and not given.
pub async fn scrape_listener(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    if let Some(token) = state.config.metrics_token.as_deref() {
        if !bearer_matches(&req, token) {
            return Err(AppError::Unauthorized(
                "send Authorization: Bearer <METRICS_TOKEN>".into(),
            ));
        }
    }
    exposition(&state).await
}

/// The routes of the `METRICS_ADDRESS` listener: `GET /metrics`, 404 for anything else.
pub fn listener_app(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(state))
            .route("/metrics", web::get().to(scrape_listener))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(AppError::NotFound("no such route".into()))
            }));
    }
}
