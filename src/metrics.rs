//! Prometheus metrics: one process-wide registry, the hooks that feed it, and the text
//! exposition served at `/metrics` (see `web::metrics` for the route and its protection).
//!
//! | metric | type | labels | fed by |
//! |---|---|---|---|
//! | `switchboard_webhooks_received_total` | counter | `field`, `result` | the Meta webhook route ([`record_webhook_received`]) |
//! | `switchboard_ingest_lag_seconds` | histogram | | the ingest worker: received → processed, per event ([`observe_ingest_lag`]) |
//! | `switchboard_ingest_backlog` | gauge | | pending journal events, read at scrape time |
//! | `switchboard_ingest_oldest_pending_age_seconds` | gauge | | age of the oldest pending journal event (0 when none), at scrape time |
//! | `switchboard_ingest_backlog_alarm` | gauge | | 1 while the backlog is above `INGEST_BACKLOG_ALERT`, else 0 (the backlog check, [`set_ingest_backlog_alarm`]) |
//! | `switchboard_whatsapp_sends_total` | counter | `result` (`sent`, `failed`, `retry`) | the send worker ([`record_send`]) |
//! | `switchboard_webhook_deliveries_total` | counter | `result` | outgoing webhook deliveries ([`record_webhook_delivery`]) |
//! | `switchboard_job_queue_depth` | gauge | `kind` | pending rows of `jobs` per kind, at scrape time ([`refresh_from_db`]) |
//! | `switchboard_http_request_duration_seconds` | histogram | `method`, `route`, `status` | every HTTP request ([`observe_http`]) |
//!
//! Label values are bounded: HTTP routes are route *patterns* (`/webhooks/whatsapp/{phone_number}`,
//! never the raw path, so no token or number in a path becomes a label), webhook fields come
//! from a fixed list, and free-form results are reduced to short lowercase words.

use crate::error::{AppError, AppResult};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};
use std::sync::LazyLock;

/// `switchboard_whatsapp_sends_total{result="sent"}`: Graph accepted the message.
pub const SEND_SENT: &str = "sent";
/// `switchboard_whatsapp_sends_total{result="failed"}`: the message failed for good.
pub const SEND_FAILED: &str = "failed";
/// `switchboard_whatsapp_sends_total{result="retry"}`: a transient failure, retried later.
pub const SEND_RETRY: &str = "retry";

/// The `content-type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Job kinds always reported by `switchboard_job_queue_depth` (0 when none is pending).
pub const KNOWN_JOB_KINDS: [&str; 3] = [
    crate::jobs::WHATSAPP_SEND,
    crate::jobs::MEDIA_DOWNLOAD,
    crate::jobs::email::EMAIL,
];

/// Webhook `field`s (Meta's subscription names) reported as themselves; any other is
/// `other`.
pub const KNOWN_WEBHOOK_FIELDS: [&str; 14] = [
    "messages",
    "smb_message_echoes",
    "smb_app_state_sync",
    "history",
    "message_echoes",
    "message_template_status_update",
    "message_template_quality_update",
    "message_template_components_update",
    "template_category_update",
    "phone_number_quality_update",
    "phone_number_name_update",
    "account_update",
    "account_alerts",
    "business_capability_update",
];

struct Metrics {
    registry: Registry,
    webhooks_received: IntCounterVec,
    ingest_lag: Histogram,
    ingest_backlog: IntGauge,
    ingest_oldest_age: Gauge,
    ingest_alarm: IntGauge,
    sends: IntCounterVec,
    webhook_deliveries: IntCounterVec,
    job_queue_depth: IntGaugeVec,
    http_duration: HistogramVec,
}

fn build() -> Metrics {
    let registry = Registry::new();
    let webhooks_received = IntCounterVec::new(
        Opts::new(
            "switchboard_webhooks_received_total",
            "Meta webhook deliveries received, by change field and result.",
        ),
        &["field", "result"],
    )
    .expect("metric");
    let ingest_lag = Histogram::with_opts(
        HistogramOpts::new(
            "switchboard_ingest_lag_seconds",
            "Seconds from receiving a webhook delivery to processing it.",
        )
        .buckets(vec![
            0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
        ]),
    )
    .expect("metric");
    let ingest_backlog = IntGauge::new(
        "switchboard_ingest_backlog",
        "Webhook deliveries journaled but not processed yet.",
    )
    .expect("metric");
    let ingest_oldest_age = Gauge::new(
        "switchboard_ingest_oldest_pending_age_seconds",
        "Age of the oldest unprocessed webhook delivery in seconds (0 when none).",
    )
    .expect("metric");
    let ingest_alarm = IntGauge::new(
        "switchboard_ingest_backlog_alarm",
        "1 while more webhook deliveries wait than INGEST_BACKLOG_ALERT allows, else 0.",
    )
    .expect("metric");
    let sends = IntCounterVec::new(
        Opts::new(
            "switchboard_whatsapp_sends_total",
            "Outgoing WhatsApp message send attempts, by result (sent, failed, retry).",
        ),
        &["result"],
    )
    .expect("metric");
    let webhook_deliveries = IntCounterVec::new(
        Opts::new(
            "switchboard_webhook_deliveries_total",
            "Outgoing (integration) webhook delivery attempts, by result.",
        ),
        &["result"],
    )
    .expect("metric");
    let job_queue_depth = IntGaugeVec::new(
        Opts::new(
            "switchboard_job_queue_depth",
            "Pending jobs (due or waiting for a retry), by kind.",
        ),
        &["kind"],
    )
    .expect("metric");
    let http_duration = HistogramVec::new(
        HistogramOpts::new(
            "switchboard_http_request_duration_seconds",
            "HTTP request latency in seconds, by method, route pattern and status.",
        ),
        &["method", "route", "status"],
    )
    .expect("metric");
    for c in [
        Box::new(webhooks_received.clone()) as Box<dyn prometheus::core::Collector>,
        Box::new(ingest_lag.clone()),
        Box::new(ingest_backlog.clone()),
        Box::new(ingest_oldest_age.clone()),
        Box::new(ingest_alarm.clone()),
        Box::new(sends.clone()),
        Box::new(webhook_deliveries.clone()),
        Box::new(job_queue_depth.clone()),
        Box::new(http_duration.clone()),
    ] {
        registry.register(c).expect("register metric");
    }
    Metrics {
        registry,
        webhooks_received,
        ingest_lag,
        ingest_backlog,
        ingest_oldest_age,
        ingest_alarm,
        sends,
        webhook_deliveries,
        job_queue_depth,
        http_duration,
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(build);

/// Reduces a free-form label value to at most 32 characters of `[a-z0-9_]`, or `other`, so a
/// caller's mistake cannot create unbounded series.
fn bounded(value: &str) -> &str {
    if !value.is_empty()
        && value.len() <= 32
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        value
    } else {
        "other"
    }
}

/// The label for a webhook change field: itself when in [`KNOWN_WEBHOOK_FIELDS`], `none`
/// when empty, otherwise `other`.
pub fn webhook_field_label(field: &str) -> &str {
    if field.is_empty() {
        "none"
    } else if KNOWN_WEBHOOK_FIELDS.contains(&field) {
        field
    } else {
        "other"
    }
}

/// Counts one Meta webhook delivery: `field` is a label from [`webhook_field_label`] (or
/// `unknown` when the body was not read), `result` e.g. `accepted`, `unauthorized`,
/// `not_found`, `invalid`, `too_large`, `unavailable`.
pub fn record_webhook_received(field: &str, result: &str) {
    METRICS
        .webhooks_received
        .with_label_values(&[webhook_field_label_or_keep(field), bounded(result)])
        .inc();
}

fn webhook_field_label_or_keep(field: &str) -> &str {
    match field {
        "unknown" | "none" | "other" => field,
        f => webhook_field_label(f),
    }
}

/// Records the lag of one processed webhook delivery: seconds from its arrival to now.
pub fn observe_ingest_lag(seconds: f64) {
    METRICS.ingest_lag.observe(seconds.max(0.0));
}

/// Sets `switchboard_ingest_backlog_alarm` (1 while the ingest backlog is above its bound).
pub fn set_ingest_backlog_alarm(on: bool) {
    METRICS.ingest_alarm.set(i64::from(on));
}

/// Counts one outgoing WhatsApp send attempt by result: [`SEND_SENT`], [`SEND_FAILED`] or
/// [`SEND_RETRY`].
pub fn record_send(result: &str) {
    METRICS.sends.with_label_values(&[bounded(result)]).inc();
}

/// The metrics hook of outgoing (integration) webhooks: call it once per delivery attempt
/// with its result, which becomes the label of `switchboard_webhook_deliveries_total{result}`.
/// Use a few fixed words, e.g. `success` (2xx), `retry` (failed, will be retried), `failed`
/// (failed, no retry left), `refused` (the target address was refused), `disabled` (the
/// webhook was disabled by this failure). Anything but 1–32 characters of `[a-z0-9_]` is
/// counted as `other`.
pub fn record_webhook_delivery(result: &str) {
    METRICS
        .webhook_deliveries
        .with_label_values(&[bounded(result)])
        .inc();
}

/// Records one HTTP request: `route` must be the matched route pattern (or `unmatched`),
/// never the raw path.
pub fn observe_http(method: &str, route: &str, status: u16, seconds: f64) {
    let method = match method {
        "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" => method,
        _ => "other",
    };
    METRICS
        .http_duration
        .with_label_values(&[method, route, &status.to_string()])
        .observe(seconds);
}

#[derive(QueryableByName)]
struct KindCount {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Backlog {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = Double)]
    oldest_age: f64,
}

/// Updates the gauges read from the database: job queue depth by kind (every kind in
/// [`KNOWN_JOB_KINDS`] is reported, 0 when none is pending), the ingest backlog and the age of
/// its oldest event. Called at scrape time.
pub fn refresh_from_db(conn: &mut PgConnection) -> AppResult<()> {
    let counts: Vec<KindCount> = diesel::sql_query(
        "SELECT kind, count(*) AS n FROM jobs WHERE status = 'pending' GROUP BY kind",
    )
    .load(conn)?;
    let backlog: Backlog = diesel::sql_query(
        "SELECT count(*) AS n, COALESCE(EXTRACT(EPOCH FROM now() - min(received_at))::float8, 0) \
         AS oldest_age FROM whatsapp_events WHERE status = 'pending'",
    )
    .get_result(conn)?;
    let m = &*METRICS;
    m.job_queue_depth.reset();
    for kind in KNOWN_JOB_KINDS {
        m.job_queue_depth.with_label_values(&[kind]).set(0);
    }
    for c in counts {
        m.job_queue_depth
            .with_label_values(&[bounded(&c.kind)])
            .set(c.n);
    }
    m.ingest_backlog.set(backlog.n);
    m.ingest_oldest_age.set(backlog.oldest_age.max(0.0));
    Ok(())
}

/// Adds a collector owned by another module (e.g. `jobs::retention`'s counter) to the
/// registry. Registering the same metric twice is logged and ignored.
pub fn register(collector: Box<dyn prometheus::core::Collector>) {
    if let Err(e) = METRICS.registry.register(collector) {
        tracing::warn!(error = %e, "metric not registered");
    }
}

/// The registry in Prometheus' text exposition format.
/// Errors: 500 when encoding fails (it does not for these metric types).
pub fn render() -> AppResult<String> {
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&METRICS.registry.gather(), &mut out)
        .map_err(|e| AppError::Internal(format!("metrics encoding: {e}")))?;
    String::from_utf8(out).map_err(|e| AppError::Internal(format!("metrics encoding: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(bounded("success"), "success");
        assert_eq!(bounded("Success!"), "other");
        assert_eq!(bounded(&"a".repeat(40)), "other");
        assert_eq!(webhook_field_label("messages"), "messages");
        assert_eq!(webhook_field_label("x-secret"), "other");
        assert_eq!(webhook_field_label(""), "none");
    }

    #[test]
    fn hooks_show_up_in_the_exposition() {
        record_webhook_delivery("success");
        record_send(SEND_SENT);
        observe_http("GET", "/health", 200, 0.01);
        let text = render().unwrap();
        assert!(text.contains("switchboard_webhook_deliveries_total{result=\"success\"}"));
        assert!(text.contains("switchboard_whatsapp_sends_total{result=\"sent\"}"));
        assert!(text.contains("switchboard_http_request_duration_seconds_bucket{method=\"GET\",route=\"/health\",status=\"200\""));
    }
}
