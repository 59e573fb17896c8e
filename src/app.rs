//! Builds the actix `App`: shared state, routes, JSON error handling and background workers.
//! `serve` and the tests build the same app through [`configure`].

use crate::config::Config;
use crate::crypto::SecretBox;
use crate::db::{self, DbPool};
use crate::domain::inboxes::PhoneLookupCache;
use crate::error::AppError;
use crate::jobs;
use crate::jobs::journal_writer::JournalWriter;
use crate::web;
use actix_web::web as aw;
use std::sync::Arc;
use tokio::sync::Notify;

/// State shared by handlers and workers. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: DbPool,
    /// Opened when the database is unreachable: requests then answer 503 at once.
    pub db_breaker: Arc<db::Breaker>,
    pub secrets: Arc<SecretBox>,
    /// Outbound HTTP client for Graph (30 s timeout).
    pub http: reqwest::Client,
    /// Woken after a webhook is journaled, so ingest starts at once.
    pub ingest_wakeup: Arc<Notify>,
    /// Woken after an ingest unit left a new conversation's assignment to a drain job
    /// (`domain::auto_assignment::take_left`), so the auto-assignment worker runs it at once.
    pub assignment_wakeup: Arc<Notify>,
    /// Inbox lookups by webhook path number (5 s).
    pub phone_cache: Arc<PhoneLookupCache>,
    /// Group commit of accepted webhook bodies.
    pub journal: JournalWriter,
    /// Woken when a send job is queued (here or, through NOTIFY, by another process) or a
    /// send finishes.
    pub send_wakeup: Arc<Notify>,
    /// The realtime hub: domain events of every process, broadcast to this process's SSE
    /// connections. Fed by the listener [`web::realtime::spawn`] starts.
    pub realtime: Arc<web::realtime::Hub>,
    /// Files: `STORAGE_DIR` or the S3 bucket (issue 15, [`crate::storage`]).
    pub storage: crate::storage::Storage,
    /// Issue 15 (ingest): this process's ingest backlog alarm ([`jobs::ingest_lag`]).
    pub ingest_alarm: Arc<jobs::ingest_lag::BacklogAlarm>,
}

/// How long the webhook route trusts a cached inbox lookup.
pub const PHONE_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl AppState {
    /// Builds the state: a lazily connecting pool, the secret box from `SECRET_KEY_BASE`, and
    /// the journal writer tasks (so it must run inside a tokio runtime).
    pub fn new(config: Config) -> Self {
        let pool = db::build_pool(
            &config.database_url,
            config.database_pool_size,
            config.database_pool_timeout_ms,
        );
        let secrets = Arc::new(SecretBox::new(&config.secret_key_base));
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("HTTP client");
        let journal = JournalWriter::start(pool.clone(), 2);
        // Config::from_lookup has checked the settings; what is left is a STORAGE_DIR that
        // cannot be created, which `serve` reports before it gets here.
        let storage = crate::storage::Storage::from_config(&config)
            .unwrap_or_else(|e| panic!("file storage: {e}"));
        AppState {
            storage,
            send_wakeup: Arc::new(Notify::new()),
            config: Arc::new(config),
            journal,
            phone_cache: Arc::new(PhoneLookupCache::new(PHONE_CACHE_TTL)),
            pool,
            db_breaker: db::Breaker::new(),
            secrets,
            http,
            ingest_wakeup: Arc::new(Notify::new()),
            assignment_wakeup: Arc::new(Notify::new()),
            realtime: Arc::new(web::realtime::Hub::new()),
            ingest_alarm: Arc::new(jobs::ingest_lag::BacklogAlarm::new()),
        }
    }

    /// Runs `f` with a pooled connection on the blocking thread pool.
    /// Errors: 503 at once while [`AppState::db_breaker`] is open; 503 when no connection can
    /// be had within `DATABASE_POOL_TIMEOUT_MS` or the connection is lost (both may open the
    /// breaker, see [`db::Breaker`]).
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut db::DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        if self.db_breaker.is_open() {
            return Err(db::Breaker::open_error());
        }
        let pool = self.pool.clone();
        let breaker = self.db_breaker.clone();
        aw::block(move || {
            let mut conn = breaker.checkout(&pool)?;
            let result = f(&mut conn);
            if let Err(AppError::DatabaseUnavailable(detail)) = &result {
                breaker.record_unavailable(&pool, detail);
            }
            result
        })
        .await?
    }
}

/// Registers every route (timed by [`web::metrics::track`]) and the JSON/query error
/// handlers on `cfg`.
pub fn configure(state: AppState) -> impl FnOnce(&mut aw::ServiceConfig) {
    move |cfg| {
        let config = state.config.clone();
        cfg.app_data(aw::Data::new(state))
            .app_data(
                aw::JsonConfig::default()
                    .limit(1024 * 1024)
                    .error_handler(|err, _| {
                        use actix_web::error::JsonPayloadError;
                        match err {
                            JsonPayloadError::Overflow { .. }
                            | JsonPayloadError::OverflowKnownLength { .. } => {
                                AppError::PayloadTooLarge(
                                    "API request bodies are limited to 1 MiB".into(),
                                )
                            }
                            JsonPayloadError::ContentType => AppError::BadRequest(
                                "send the body as JSON with Content-Type: application/json".into(),
                            ),
                            other => AppError::BadRequest(format!("invalid JSON body: {other}")),
                        }
                        .into()
                    }),
            )
            .app_data(aw::QueryConfig::default().error_handler(|err, _| {
                AppError::BadRequest(format!("invalid query string: {err}")).into()
            }))
            .app_data(
                aw::PathConfig::default()
                    .error_handler(|err, _| AppError::NotFound(format!("not found: {err}")).into()),
            )
            // Every route inside one unprefixed scope, so the metrics middleware (outermost:
            // it also times and logs the guard's refusals) and the input guard cover them all
            // wherever the `App` is built (`serve`, the tests).
            .service(
                aw::scope("")
                    // Innermost: `/api/…` paths with a trailing or doubled slash route as
                    // Rails routes them (`web::api_path`).
                    .wrap(actix_web::middleware::from_fn(web::api_path::normalize))
                    .wrap(actix_web::middleware::from_fn(web::input_guard::guard))
                    .wrap(actix_web::middleware::from_fn(web::metrics::track))
                    .configure(|c| web::routes(c, &config)),
            );
    }
}

/// How often old realtime events are pruned: every 10 minutes.
pub const EVENT_PRUNE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// Spawns the background workers on the current tokio runtime: `INGEST_WORKERS` ingest loops,
/// one media download loop, the send dispatcher, the integration webhook delivery dispatcher,
/// the template sync loop, the email worker, the contact import worker,
/// a thread LISTENing for other processes' journal events and send jobs, the realtime listener
/// ([`web::realtime::spawn`]) and the loop pruning realtime events older than 24 hours.
pub fn spawn_workers(state: &AppState) {
    web::realtime::spawn(state);
    let st = state.clone();
    tokio::spawn(async move {
        loop {
            let cutoff = chrono::Utc::now() - crate::domain::events::RETENTION;
            match st
                .db(move |conn| crate::domain::events::prune(conn, cutoff))
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, "old realtime events pruned"),
                Err(e) => tracing::warn!(error = %e, "could not prune realtime events"),
            }
            tokio::time::sleep(EVENT_PRUNE_INTERVAL).await;
        }
    });
    let ingest_wakeup = state.ingest_wakeup.clone();
    let send_wakeup = state.send_wakeup.clone();
    let database_url = state.config.database_url.clone();
    std::thread::Builder::new()
        .name("job-listener".into())
        .spawn(move || {
            jobs::listen_for_work(
                &database_url,
                &[jobs::INGEST_CHANNEL, jobs::SEND_CHANNEL],
                |channel| {
                    if channel == jobs::SEND_CHANNEL {
                        send_wakeup.notify_one();
                    } else {
                        ingest_wakeup.notify_waiters();
                    }
                },
            )
        })
        .expect("spawn the job listener thread");
    tokio::spawn(jobs::send::run_dispatcher(state.clone()));
    tokio::spawn(jobs::template_sync::run(state.clone()));
    tokio::spawn(jobs::number_health::run(state.clone()));
    tokio::spawn(jobs::email::run(state.clone()));
    tokio::spawn(jobs::contact_import::run(state.clone()));
    // Issue 13 (hours): greeting, out of office and CSAT.
    tokio::spawn(jobs::hours::run(state.clone()));
    tokio::spawn(jobs::dualhook::run(state.clone()));
    tokio::spawn(jobs::webhook_delivery::run_dispatcher(state.clone()));
    // Issue 13 (avail): auto-assignment drains and the presence sweep.
    tokio::spawn(jobs::assignment::run(state.clone()));
    tokio::spawn(jobs::assignment::run_presence_sweep(state.clone()));
    // Issue 13 (rules): automation rules.
    tokio::spawn(jobs::automation::run(state.clone()));
    // Issue 13 (SLA): missed deadlines.
    tokio::spawn(jobs::sla::run(state.clone()));
    // Issue 15 (limits): idle shared rate-limit buckets.
    tokio::spawn(jobs::limits::run_prune(state.clone()));
    // Issue 15 (retention): the pruning job (one round at a time across processes).
    tokio::spawn(jobs::retention::run(state.clone()));
    // Issue 15 (ingest): the backlog alarm.
    tokio::spawn(jobs::ingest_lag::run(state.clone()));
    // Issue 14 (reports): closed customer service windows.
    tokio::spawn(jobs::reports::run(state.clone()));
    let st = state.clone();
    tokio::spawn(async move {
        loop {
            let now = chrono::Utc::now();
            match st
                .db(move |conn| crate::domain::conversations::reopen_due_snoozed(conn, now))
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(reopened = n, "snoozed conversations reopened"),
                Err(e) => tracing::warn!(error = %e, "could not reopen snoozed conversations"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        }
    });
    for worker in 0..state.config.ingest_workers {
        let state = state.clone();
        tokio::spawn(async move {
            let mut gate = jobs::ingest::AckPriority::new(state.config.ingest_yield_in_flight);
            loop {
                // Issue 15 (limits): a draining process claims no more journal events.
                if jobs::leases::draining() {
                    tokio::time::sleep(jobs::POLL_INTERVAL).await;
                    continue;
                }
                // Issue 15: acknowledgements first during a flood (see `AckPriority`).
                if let Some(wait) =
                    gate.wait(state.journal.recent_peak(), std::time::Instant::now())
                {
                    tokio::time::sleep(wait).await;
                    continue;
                }
                let pool = state.pool.clone();
                let assignment_wakeup = state.assignment_wakeup.clone();
                // One unit per turn, so the gate is looked at between units.
                let drained = aw::block(move || -> Result<usize, AppError> {
                    let mut conn = pool.get()?;
                    let _ = crate::domain::auto_assignment::take_left();
                    let n = jobs::ingest::drain(&mut conn, jobs::ingest::BATCH_SIZE)?;
                    // Issue 13: a drain job the unit queued (another transaction held the
                    // inbox's lock) runs now, not when the realtime hub catches up.
                    if !crate::domain::auto_assignment::take_left().is_empty() {
                        assignment_wakeup.notify_one();
                    }
                    Ok(n)
                })
                .await;
                match drained {
                    Ok(Ok(n)) if n > 0 => continue,
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(worker, error = %e, "ingest worker could not reach the database")
                    }
                    Err(e) => tracing::error!(worker, error = %e, "ingest worker failed"),
                }
                let _ =
                    tokio::time::timeout(jobs::POLL_INTERVAL, state.ingest_wakeup.notified()).await;
            }
        });
    }
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            match jobs::media::run_next(&state).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "media worker could not reach the database"),
            }
            tokio::time::sleep(jobs::POLL_INTERVAL).await;
        }
    });
}
