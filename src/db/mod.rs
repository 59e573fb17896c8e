//! Database access: the r2d2 connection pool, embedded migrations, and helpers that give each
//! test its own database cloned from a migrated template.

pub mod prepared;
pub mod schema;
pub mod testing;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// A pool of synchronous diesel connections. Handlers use it through `web::block`.
pub type DbPool = Pool<ConnectionManager<PgConnection>>;
/// One checked-out connection.
pub type DbConn = PooledConnection<ConnectionManager<PgConnection>>;

/// Builds a pool of `size` connections that waits at most `timeout_ms` milliseconds for a
/// free or new connection. Connections are opened lazily, so the pool builds even while the
/// database is down; requests then fail with [`crate::error::AppError::DatabaseUnavailable`].
pub fn build_pool(database_url: &str, size: u32, timeout_ms: u64) -> DbPool {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(size.min(4)))
        .connection_timeout(Duration::from_millis(timeout_ms))
        .test_on_check_out(true)
        .build_unchecked(ConnectionManager::new(database_url))
}

/// How often the background probe of an open [`Breaker`] tries the database: every second.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// How long one probe waits for a connection.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The database circuit breaker. Without it, every request during an outage waits the whole
/// `DATABASE_POOL_TIMEOUT_MS` before answering 503; with it, once a checkout has shown the
/// database unreachable, requests answer 503 at once (so Meta backs off and load balancers
/// notice) while a background thread probes every [`PROBE_INTERVAL`] and closes the breaker
/// when a connection succeeds again.
///
/// "Unreachable" means a checkout timed out after a failed connection attempt, or with no
/// connection open at all; a pool merely busy (every connection checked out) does not trip
/// it, nor does an error of a query on a live connection unless it is a connection loss.
#[derive(Debug, Default)]
pub struct Breaker {
    open: AtomicBool,
    probing: AtomicBool,
}

impl Breaker {
    /// A closed breaker (requests go to the pool).
    pub fn new() -> Arc<Self> {
        Arc::new(Breaker::default())
    }

    /// The 503 answered while the breaker is open.
    pub fn open_error() -> crate::error::AppError {
        crate::error::AppError::DatabaseUnavailable(
            "the database was unreachable at the last attempt (circuit open)".into(),
        )
    }

    /// True while the database is known to be unreachable.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Opens the breaker and, unless one runs already, starts the probe thread. The thread
    /// ends when the database answers again or when the breaker is dropped.
    pub fn trip(self: &Arc<Self>, pool: &DbPool) {
        if !self.open.swap(true, Ordering::AcqRel) {
            tracing::warn!("the database is unreachable: answering 503 at once until a background probe reaches it");
        }
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak: Weak<Breaker> = Arc::downgrade(self);
        let pool = pool.clone();
        let spawned = std::thread::Builder::new()
            .name("db-probe".into())
            .spawn(move || loop {
                std::thread::sleep(PROBE_INTERVAL);
                let Some(breaker) = weak.upgrade() else {
                    return;
                };
                if pool.get_timeout(PROBE_TIMEOUT).is_ok() {
                    breaker.open.store(false, Ordering::Release);
                    breaker.probing.store(false, Ordering::Release);
                    tracing::info!("the database is reachable again");
                    return;
                }
            });
        if spawned.is_err() {
            self.probing.store(false, Ordering::Release);
        }
    }

    /// Checks a connection out of `pool`. Errors: 503 at once while the breaker is open; 503
    /// after the pool timeout when none can be had, opening the breaker when the database
    /// looks unreachable (see the type's doc).
    pub fn checkout(self: &Arc<Self>, pool: &DbPool) -> Result<DbConn, crate::error::AppError> {
        if self.is_open() {
            return Err(Breaker::open_error());
        }
        pool.get().map_err(|e| {
            let text = e.to_string();
            self.record_unavailable(pool, &text);
            crate::error::AppError::DatabaseUnavailable(text)
        })
    }

    /// Records a 503 whose detail is `detail` (a pool timeout or a lost connection) and trips
    /// the breaker unless it only says the pool was busy: r2d2's bare "timed out waiting for
    /// connection" while connections are open (it appends the last connection error when
    /// connecting failed).
    pub fn record_unavailable(self: &Arc<Self>, pool: &DbPool, detail: &str) {
        if detail != "timed out waiting for connection" || pool.state().connections == 0 {
            self.trip(pool);
        }
    }
}

/// Runs every pending migration. Returns the versions applied.
pub fn run_migrations(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("running migrations failed: {e}"))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}
