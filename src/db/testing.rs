//! Test databases: one migrated template per migration set, and one fresh clone per test.
//!
//! The server for tests is given by `TEST_DATABASE_URL` (falling back to `DATABASE_URL`,
//! then `postgres://postgres@127.0.0.1:5432/postgres`). The template is named after a hash
//! of the embedded migrations, so changing a migration builds a new template.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};

/// The admin connection URL the test helpers use.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Replaces the database name in a postgres URL.
pub fn with_database(url: &str, database: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("TEST_DATABASE_URL must be a URL");
    parsed.set_path(&format!("/{database}"));
    parsed.to_string()
}

fn template_name() -> String {
    let mut hasher = Sha256::new();
    for dir in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations dir")
        .flatten()
        .map(|e| e.path())
        .collect::<std::collections::BTreeSet<_>>()
    {
        hasher.update(dir.to_string_lossy().as_bytes());
        if let Ok(up) = std::fs::read(dir.join("up.sql")) {
            hasher.update(&up);
        }
    }
    format!("switchboard_tpl_{}", &hex::encode(hasher.finalize())[..12])
}

fn ensure_template(admin: &mut PgConnection, base_url: &str) -> String {
    let name = template_name();
    // A session-level advisory lock serialises template creation across test binaries.
    admin
        .batch_execute("SELECT pg_advisory_lock(727274)")
        .expect("advisory lock");
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let found: Found = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM pg_database WHERE datname = '{name}'"
    ))
    .get_result(admin)
    .expect("look up template");
    if found.n == 0 {
        let building = format!("{name}_building");
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .expect("drop half-built template");
        admin
            .batch_execute(&format!("CREATE DATABASE {building}"))
            .expect("create template database");
        {
            let mut conn = PgConnection::establish(&with_database(base_url, &building))
                .expect("connect to template");
            super::run_migrations(&mut conn).expect("migrate template");
        }
        admin
            .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
            .expect("publish template");
    }
    admin
        .batch_execute("SELECT pg_advisory_unlock(727274)")
        .expect("advisory unlock");
    name
}

/// A database of its own for one test, dropped when this value is dropped.
pub struct TestDatabase {
    /// Connection URL of the fresh database.
    pub url: String,
    /// Its name.
    pub name: String,
    admin_url: String,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDatabase {
    /// Clones the migrated template into a new uniquely named database.
    pub fn create() -> Self {
        let admin_url = admin_url();
        let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
            panic!("cannot reach the test PostgreSQL at {admin_url}: {e}. Run ./scripts/test, which starts one.")
        });
        let template = ensure_template(&mut admin, &admin_url);
        let name = format!(
            "switchboard_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            rand::random::<u32>()
        );
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .expect("clone template");
        TestDatabase {
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        }
    }

    /// Runs SQL on the server's admin database (e.g. to take this database offline).
    pub fn admin_execute(&self, sql: &str) {
        let mut admin = PgConnection::establish(&self.admin_url).expect("admin connection");
        admin.batch_execute(sql).expect("admin sql");
    }

    /// Makes the database refuse connections and drops existing ones: "the database is down".
    pub fn take_offline(&self) {
        self.admin_execute(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS false",
            self.name
        ));
        self.admin_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            self.name
        ));
    }

    /// Undoes [`TestDatabase::take_offline`].
    pub fn bring_online(&self) {
        self.admin_execute(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS true",
            self.name
        ));
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago, for a child process (a server, a
/// stand-in, chromedriver) to bind. Chosen at random in 20000–32767, below Linux's ephemeral
/// range (32768–60999), so a port that an outgoing connection or another test's `bind(0)`
/// holds for a moment is never handed out, and two test processes picking at once (nextest
/// runs many) rarely meet; a port that cannot be bound now is skipped.
pub fn free_port() -> u16 {
    loop {
        let port = rand::Rng::gen_range(&mut rand::thread_rng(), 20000..32768);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
