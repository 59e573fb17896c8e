//! Database access: the r2d2 connection pool, embedded migrations, and helpers that give each
//! test its own database cloned from a migrated template.

pub mod schema;
pub mod testing;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
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

/// Runs every pending migration. Returns the versions applied.
pub fn run_migrations(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("running migrations failed: {e}"))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}
