//! The `webhook_delivery` job: POSTs one event to one integration webhook, signed, with
//! retries (see `domain::webhooks` for how the jobs are queued).
//!
//! - Request: `POST <url>` with the event's JSON body and the headers `Content-Type:
//!   application/json`, `User-Agent: Switchboard`, `X-Chatwoot-Delivery: <id>` (the same on
//!   every retry), `X-Chatwoot-Timestamp: <unix seconds>` and `X-Chatwoot-Signature:
//!   sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>` (Chatwoot's documented
//!   scheme, `webhook.secret` in the reference). Timeout [`TIMEOUT`]; redirects are not
//!   followed; any 2xx is success.
//! - SSRF guard at connect time: the host is resolved once per attempt
//!   (`net_guard::resolve_checked`) and the request connects to that checked address
//!   (reqwest `ClientBuilder::resolve`), so DNS rebinding cannot redirect it; no proxy is used.
//! - Failure: retried after `WEBHOOK_RETRY_BASE_SECONDS` (60 s), then 120 s and 240 s (at most
//!   3 retries, `webhooks::MAX_ATTEMPTS` attempts in all). Every attempt is recorded in
//!   `webhook_deliveries`. A delivery that fails for good counts towards disabling the webhook
//!   (`webhooks::record_outcome`).
//! - One conversation's events reach a webhook in order: jobs share the ordering key
//!   `webhook:<id>:conversation:<id>`, and a retry waiting holds back the later ones.

use super::Job;
use crate::app::AppState;
use crate::domain::webhooks::{self, DeliveryJob, WEBHOOK_DELIVERY};
use crate::error::{AppError, AppResult};
use chrono::{Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;
use tokio::sync::{Notify, Semaphore};

/// Per-attempt timeout: 10 seconds (the rule).
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Seconds a claimed delivery is leased: well above [`TIMEOUT`].
pub const LEASE_SECONDS: i64 = 60;

/// Deliveries in flight per process.
pub const CONCURRENCY: usize = 8;

/// `User-Agent` of every delivery.
pub const USER_AGENT: &str = "Switchboard";

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`: the `X-Chatwoot-Signature` value.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    /// The receiver's status, when it answered.
    pub status_code: Option<u16>,
    /// Milliseconds until the answer's headers (or the failure).
    pub duration_ms: i64,
    /// `None` when the receiver answered 2xx.
    pub error: Option<String>,
}

/// Sends one signed POST of `body` to `url`, connecting only to a checked address (see the
/// module documentation). Never errors: problems are in [`AttemptResult::error`].
pub async fn post(
    url: &str,
    secret: &str,
    delivery_id: &str,
    body: &[u8],
    allow_private: bool,
) -> AttemptResult {
    let started = std::time::Instant::now();
    let failed = |status: Option<u16>, e: String| AttemptResult {
        status_code: status,
        duration_ms: started.elapsed().as_millis() as i64,
        error: Some(e),
    };
    let parsed = match url::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return failed(None, format!("invalid URL: {e}")),
    };
    let addr = match crate::net_guard::resolve_checked(&parsed, allow_private).await {
        Ok(a) => a,
        Err(e) => return failed(None, e.to_string()),
    };
    let host = parsed.host_str().unwrap_or_default().to_string();
    let client = match reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .resolve(&host, addr)
        .build()
    {
        Ok(c) => c,
        Err(e) => return failed(None, format!("HTTP client: {e}")),
    };
    let timestamp = Utc::now().timestamp();
    let sent = client
        .post(parsed)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, USER_AGENT)
        .header("X-Chatwoot-Delivery", delivery_id)
        .header("X-Chatwoot-Timestamp", timestamp.to_string())
        .header("X-Chatwoot-Signature", signature(secret, timestamp, body))
        .body(body.to_vec())
        .send()
        .await;
    match sent {
        Ok(resp) => {
            let status = resp.status();
            let duration_ms = started.elapsed().as_millis() as i64;
            if status.is_success() {
                AttemptResult {
                    status_code: Some(status.as_u16()),
                    duration_ms,
                    error: None,
                }
            } else {
                AttemptResult {
                    status_code: Some(status.as_u16()),
                    duration_ms,
                    error: Some(format!("HTTP {status}")),
                }
            }
        }
        Err(e) if e.is_timeout() => failed(None, format!("timed out after {}s", TIMEOUT.as_secs())),
        Err(e) => failed(None, format!("request failed: {e}")),
    }
}

/// Runs one claimed delivery job: one attempt, recorded; then done, retried later, or failed
/// for good (counting towards disabling the webhook). A deleted or disabled webhook ends the
/// job without an attempt. Errors: database errors only (the lease then runs out and the job
/// runs again).
pub async fn run_job(state: &AppState, job: Job) -> AppResult<()> {
    let parsed: DeliveryJob = match serde_json::from_value(job.payload.clone()) {
        Ok(p) => p,
        Err(e) => {
            let text = format!("unreadable webhook delivery payload: {e}");
            return state
                .db(move |conn| {
                    super::fail_after(conn, &job, &text, false, Duration::zero(), false).map(|_| ())
                })
                .await;
        }
    };
    if let Some(url) = parsed.url.clone() {
        return run_url_job(state, job, parsed, url).await;
    }
    let webhook_id = parsed.webhook_id;
    let hook = state
        .db(move |conn| {
            use crate::db::schema::webhooks as w;
            use diesel::prelude::*;
            Ok(w::table
                .find(webhook_id)
                .select(webhooks::Webhook::as_select())
                .first(conn)
                .optional()?)
        })
        .await?;
    let Some(hook) = hook.filter(|h| h.enabled) else {
        let id = job.id;
        return state.db(move |conn| super::complete(conn, id)).await;
    };
    let secret = webhooks::secret(&state.secrets, &hook)?;
    let body = serde_json::to_vec(&parsed.body).map_err(|e| AppError::Internal(e.to_string()))?;
    let result = post(
        &hook.url,
        &secret,
        &parsed.delivery_id,
        &body,
        state.config.webhooks_allow_private_targets,
    )
    .await;
    let attempt = job.attempts + 1;
    let retry_delay = super::backoff(state.config.webhook_retry_base_seconds, attempt);
    let disable_after = state.config.webhook_disable_after_failures;
    let outcome = result.clone();
    let retrying = state
        .db(move |conn| {
            use diesel::Connection;
            conn.transaction(|conn| {
                webhooks::record_attempt(
                    conn,
                    &parsed,
                    attempt,
                    outcome.status_code.map(i32::from),
                    outcome.duration_ms,
                    outcome.error.as_deref(),
                )?;
                match &outcome.error {
                    None => {
                        super::complete(conn, job.id)?;
                        webhooks::record_outcome(conn, webhook_id, true, disable_after)?;
                        Ok(false)
                    }
                    Some(e) => {
                        let retry = super::fail_after(conn, &job, e, true, retry_delay, false)?;
                        if !retry {
                            webhooks::record_outcome(conn, webhook_id, false, disable_after)?;
                        }
                        Ok(retry)
                    }
                }
            })
        })
        .await?;
    crate::metrics::record_webhook_delivery(match (&result.error, retrying) {
        (None, _) => "success",
        (Some(_), true) => "retry",
        (Some(_), false) => "failed",
    });
    if let Some(e) = &result.error {
        tracing::info!(webhook_id, attempt, retrying, error = %e, "webhook delivery failed");
    }
    Ok(())
}

/// One attempt of an automation `send_webhook_event` delivery (`DeliveryJob::url`):
/// unsigned, then done, or retried with the integration webhooks' backoff until
/// `webhooks::MAX_ATTEMPTS`; each attempt is logged.
async fn run_url_job(
    state: &AppState,
    job: Job,
    parsed: DeliveryJob,
    url: String,
) -> AppResult<()> {
    let body = serde_json::to_vec(&parsed.body).map_err(|e| AppError::Internal(e.to_string()))?;
    let result = post(
        &url,
        "",
        &parsed.delivery_id,
        &body,
        state.config.webhooks_allow_private_targets,
    )
    .await;
    let attempt = job.attempts + 1;
    let retry_delay = super::backoff(state.config.webhook_retry_base_seconds, attempt);
    let error = result.error.clone();
    let retrying = state
        .db(move |conn| match &error {
            None => super::complete(conn, job.id).map(|_| false),
            Some(e) => super::fail_after(conn, &job, e, true, retry_delay, false),
        })
        .await?;
    crate::metrics::record_webhook_delivery(match (&result.error, retrying) {
        (None, _) => "success",
        (Some(_), true) => "retry",
        (Some(_), false) => "failed",
    });
    match &result.error {
        None => tracing::info!(url = %url, attempt, "automation webhook delivered"),
        Some(e) => {
            tracing::warn!(url = %url, attempt, retrying, error = %e, "automation webhook failed")
        }
    }
    Ok(())
}

/// Claims and runs every due delivery, one at a time, until none is due (a retry due at once,
/// as with `WEBHOOK_RETRY_BASE_SECONDS=0`, runs in the same call). Returns how many attempts
/// ran. For tests and tools; the server runs [`run_dispatcher`].
pub async fn run_due(state: &AppState) -> AppResult<usize> {
    let mut ran = 0;
    loop {
        let batch = state
            .db(|conn| super::claim_batch(conn, WEBHOOK_DELIVERY, 1, LEASE_SECONDS))
            .await?;
        let Some(job) = batch.into_iter().next() else {
            return Ok(ran);
        };
        run_job(state, job).await?;
        ran += 1;
    }
}

/// Runs the delivery dispatcher forever: claims due deliveries and runs up to
/// [`CONCURRENCY`] at once, polling every `jobs::POLL_INTERVAL` when idle.
pub async fn run_dispatcher(state: AppState) {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let finished = Arc::new(Notify::new());
    loop {
        let free = permits.available_permits();
        if free == 0 {
            drop(permits.clone().acquire_owned().await);
            continue;
        }
        let claimed = state
            .db(move |conn| super::claim_batch(conn, WEBHOOK_DELIVERY, free as i64, LEASE_SECONDS))
            .await;
        match claimed {
            Ok(batch) if !batch.is_empty() => {
                for job in batch {
                    let permit = permits.clone().acquire_owned().await.expect("semaphore");
                    let (st, done) = (state.clone(), finished.clone());
                    tokio::spawn(async move {
                        let id = job.id;
                        if let Err(e) = run_job(&st, job).await {
                            tracing::warn!(job_id = id, error = %e, "webhook delivery stopped; it runs again when its lease ends");
                        }
                        drop(permit);
                        // The conversation's next event may now be due.
                        done.notify_one();
                    });
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "webhook dispatcher could not reach the database"),
        }
        let _ = tokio::time::timeout(super::POLL_INTERVAL, finished.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"s3cret",b"1700000000.{}",hashlib.sha256).hexdigest())'
        assert_eq!(
            signature("s3cret", 1_700_000_000, b"{}"),
            format!("sha256={}", {
                let mut m = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
                m.update(b"1700000000.{}");
                hex::encode(m.finalize().into_bytes())
            })
        );
    }
}
