//! The `switchboard` command line: `serve` (default), `migrate`, `create-admin`,
//! `retry-failed-events`, `demo-setup`.

use clap::{Parser, Subcommand};
use diesel::Connection;
use std::process::ExitCode;
use switchboard::{app, config::Config, db, domain::accounts, telemetry};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Shared inbox for the WhatsApp Business Cloud API"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run pending migrations, then serve HTTP on HOST:PORT (the default command).
    Serve,
    /// Run pending migrations and exit.
    Migrate,
    /// Create an account, its administrator and an API access token. Prints JSON last.
    CreateAdmin {
        #[arg(long)]
        account_name: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
    },
    /// Put webhook events that failed ingest (after every retry) back in the queue, e.g. after
    /// upgrading past the bug that failed them. Prints how many.
    RetryFailedEvents,
    /// Migrate, then create the demo administrator if the database has no user yet.
    /// Prints the created admin as JSON, or nothing when users already exist.
    DemoSetup {
        #[arg(long, default_value = "admin@switchboard.local")]
        email: String,
        #[arg(long, default_value = "switchboard-demo")]
        password: String,
    },
}

fn connect(config: &Config) -> anyhow::Result<diesel::PgConnection> {
    diesel::PgConnection::establish(&config.database_url).map_err(|e| {
        anyhow::anyhow!(
            "cannot connect to DATABASE_URL ({}): {e}",
            switchboard::config::redact_url(&config.database_url)
        )
    })
}

fn migrate(config: &Config) -> anyhow::Result<()> {
    let mut conn = connect(config)?;
    let applied = db::run_migrations(&mut conn)?;
    if applied.is_empty() {
        tracing::info!("database schema is up to date");
    } else {
        tracing::info!(?applied, "migrations applied");
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    migrate(&config)?;
    std::fs::create_dir_all(&config.storage_dir).map_err(|e| {
        anyhow::anyhow!(
            "STORAGE_DIR {} cannot be created: {e}",
            config.storage_dir.display()
        )
    })?;
    let bind = (config.host.clone(), config.port);
    let state = app::AppState::new(config);
    app::spawn_workers(&state);
    tracing::info!(host = %bind.0, port = bind.1, frontend_url = %state.config.frontend_url, "Switchboard listening");
    let metrics_server = match state.config.metrics_address.clone() {
        None => None,
        Some(address) => {
            let st = state.clone();
            let server = actix_web::HttpServer::new(move || {
                actix_web::App::new().configure(switchboard::web::metrics::listener_app(st.clone()))
            })
            .workers(1)
            .bind(address.as_str())
            .map_err(|e| anyhow::anyhow!("cannot listen on {address} (METRICS_ADDRESS): {e}"))?
            .run();
            tracing::info!(%address, "Prometheus metrics served at http://{address}/metrics");
            Some(server)
        }
    };
    let main_server = actix_web::HttpServer::new(move || {
        // The access log is written by `web::metrics::track`, inside `configure`.
        actix_web::App::new().configure(app::configure(state.clone()))
    })
    .bind(bind.clone())
    .map_err(|e| anyhow::anyhow!("cannot listen on {}:{} (HOST/PORT): {e}", bind.0, bind.1))?
    .run();
    match metrics_server {
        None => main_server.await?,
        // Both stop together on a signal; whichever ends first ends `serve`.
        Some(metrics) => {
            tokio::select! {
                r = main_server => r?,
                r = metrics => r?,
            }
        }
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    telemetry::init(config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => actix_web::rt::System::new().block_on(serve(config)),
        Command::Migrate => migrate(&config),
        Command::CreateAdmin {
            account_name,
            name,
            email,
            password,
        } => {
            migrate(&config)?;
            let mut conn = connect(&config)?;
            let created =
                accounts::create_admin(&mut conn, &account_name, &name, &email, &password)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "Created account {} with administrator {}.",
                created.account_id, created.email
            );
            println!("{}", serde_json::to_string(&created)?);
            Ok(())
        }
        Command::RetryFailedEvents => {
            let mut conn = connect(&config)?;
            let n = switchboard::jobs::ingest::retry_failed(&mut conn)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{n} failed webhook event(s) queued for ingest again");
            Ok(())
        }
        Command::DemoSetup { email, password } => {
            migrate(&config)?;
            let mut conn = connect(&config)?;
            if accounts::user_count(&mut conn).map_err(|e| anyhow::anyhow!("{e}"))? == 0 {
                let created =
                    accounts::create_admin(&mut conn, "Demo", "Demo Admin", &email, &password)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("{}", serde_json::to_string(&created)?);
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard: {e}");
            ExitCode::FAILURE
        }
    }
}
