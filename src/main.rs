//! The `switchboard` command line: `serve` (default), `migrate`, `create-admin`,
//! `retry-failed-events`, `export-contact`, and for trying it without Meta `demo-setup`, `demo-graph` and
//! `demo-message` (see `switchboard::demo`).

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
        /// Also create the demo inbox "Demo" for this number in the first account, when no
        /// inbox has it (no Graph check: run it with the stand-in of `demo-graph`).
        #[arg(long)]
        demo_inbox: Option<String>,
    },
    /// Serve a local Graph API stand-in (accepts any token, lists demo templates, answers
    /// sends with fresh wamids) until stopped. Point `WHATSAPP_CLOUD_BASE_URL` at it.
    DemoGraph {
        #[arg(long, default_value = "127.0.0.1:3191")]
        listen: String,
        /// Milliseconds each answer waits.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
    },
    /// Write everything held about one contact (JSON plus their files) to a zip, for a
    /// data-protection request (see the README's "Data retention and export"). Prints the
    /// path written.
    ExportContact {
        /// The contact's id (as in `/app/accounts/{account}/contacts/{id}`).
        id: i64,
        /// Where to write the zip; default `contact-{id}.zip` in the current directory.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// File storage commands (see the README's "File storage").
    Storage {
        #[command(subcommand)]
        action: StorageAction,
    },
    /// Post a fresh customer text message (new wamid, current time) to a local inbox's
    /// webhook URL, as Meta would, signed when the inbox has an app secret.
    DemoMessage {
        /// The text the customer writes.
        #[arg(default_value = "Hi! Does the blue jacket come in size M?")]
        text: String,
        /// The inbox's number (E.164), i.e. the webhook path.
        #[arg(long, default_value = "+15551234567")]
        to: String,
        /// The customer's number (digits, as Meta's `wa_id`).
        #[arg(long, default_value = "16505551234")]
        from: String,
        /// The customer's profile name.
        #[arg(long, default_value = "Sheena Nelson")]
        name: String,
    },
}

#[derive(Subcommand)]
enum StorageAction {
    /// Copy every file under STORAGE_DIR (but MAIL_DIR) to the configured S3 bucket, under the
    /// same keys. Safe to re-run: files already in the bucket with the same size and sha256
    /// are skipped. Prints one line per file and a summary; exits non-zero when a file failed.
    Migrate,
}

fn storage_migrate(config: &Config) -> anyhow::Result<()> {
    let target = switchboard::storage::Storage::from_config(config)?;
    if !target.is_bucket() {
        anyhow::bail!(
            "storage migrate copies STORAGE_DIR to a bucket: set ACTIVE_STORAGE_SERVICE=amazon or s3_compatible, S3_BUCKET_NAME and the other S3 variables first"
        );
    }
    println!(
        "Copying {} to {}",
        config.storage_dir.display(),
        target.describe()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let summary = runtime.block_on(switchboard::storage::migrate_local_to(
        &config.storage_dir,
        Some(&config.mail_dir),
        &target,
        |line| println!("{line}"),
    ))?;
    println!(
        "storage migrate: {} copied ({} bytes), {} already in the bucket, {} failed",
        summary.copied, summary.bytes, summary.skipped, summary.failed
    );
    if summary.failed > 0 {
        anyhow::bail!(
            "{} file(s) could not be copied (see above); run it again",
            summary.failed
        );
    }
    Ok(())
}

fn export_contact(
    config: &Config,
    id: i64,
    output: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    use switchboard::domain::contact_export;
    let mut conn = connect(config)?;
    let export = contact_export::collect(&mut conn, None, id)
        .map_err(|e| anyhow::anyhow!("contact {id}: {e}"))?;
    let storage = switchboard::storage::Storage::from_config(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let files = export.files.len();
    let bytes = runtime
        .block_on(contact_export::zip(&storage, export))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let path = output.unwrap_or_else(|| std::path::PathBuf::from(format!("contact-{id}.zip")));
    std::fs::write(&path, &bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    println!(
        "Wrote {} ({} bytes, {files} file(s)) for contact {id}",
        path.display(),
        bytes.len()
    );
    Ok(())
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
    // Checks the store now, with a clear message, rather than in AppState::new.
    let storage = switchboard::storage::Storage::from_config(&config)?;
    tracing::info!(storage = storage.describe(), "file storage");
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
            // Stopped by `drain` with the main server.
            .disable_signals()
            .run();
            tracing::info!(%address, "Prometheus metrics served at http://{address}/metrics");
            Some(server)
        }
    };
    let drain_state = state.clone();
    let main_server = actix_web::HttpServer::new(move || {
        // The access log is written by `web::metrics::track`, inside `configure`.
        actix_web::App::new().configure(app::configure(state.clone()))
    })
    .bind(bind.clone())
    .map_err(|e| anyhow::anyhow!("cannot listen on {}:{} (HOST/PORT): {e}", bind.0, bind.1))?
    // Signals are ours: see `drain`.
    .disable_signals()
    .shutdown_timeout(SHUTDOWN_HTTP_SECONDS)
    .run();
    let handles = std::iter::once(main_server.handle())
        .chain(metrics_server.as_ref().map(|m| m.handle()))
        .collect();
    let drained = actix_web::rt::spawn(drain(drain_state, handles));
    match metrics_server {
        None => main_server.await?,
        // Both stop together on a signal (`drain`); whichever ends first ends `serve`.
        Some(metrics) => {
            tokio::select! {
                r = main_server => r?,
                r = metrics => r?,
            }
        }
    }
    // The servers stopped: when that was a signal, let the drain hand back the leases.
    if switchboard::jobs::leases::draining() {
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(SHUTDOWN_SECONDS), drained).await;
    }
    Ok(())
}

/// Seconds in-flight HTTP requests get to finish after SIGTERM (then their connections close,
/// e.g. open realtime streams, which the browser reopens on another node).
const SHUTDOWN_HTTP_SECONDS: u64 = 5;
/// Seconds from SIGTERM to exit, at most.
const SHUTDOWN_SECONDS: u64 = 9;

/// Waits for SIGTERM or SIGINT, then shuts this node down gracefully (issue 15), within
/// [`SHUTDOWN_SECONDS`]:
/// 1. draining starts: `/ready` answers 503 and no job, schedule or journal event is claimed
///    any more; sends still waiting for their rate-limit slot hand their jobs back at once;
/// 2. the HTTP servers stop accepting and in-flight requests get [`SHUTDOWN_HTTP_SECONDS`];
/// 3. running jobs get until 7 s after the signal to finish;
/// 4. every lease still held and not started is made due now, so another node takes it
///    without waiting for the lease to expire (`jobs::leases::release_held`).
async fn drain(state: app::AppState, servers: Vec<actix_web::dev::ServerHandle>) {
    use switchboard::jobs::leases;
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let began = std::time::Instant::now();
    leases::start_draining();
    tracing::info!(
        held = leases::held_count(),
        "shutdown signal: draining (no new work, finishing in-flight requests and jobs)"
    );
    let stops = futures_util::future::join_all(servers.iter().map(|s| s.stop(true)));
    let jobs = async {
        let deadline = std::time::Duration::from_secs(7);
        while leases::held_count() > 0 && began.elapsed() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    tokio::join!(stops, jobs);
    let left = leases::held_count();
    match state.db(|conn| leases::release_held(conn)).await {
        Ok(n) => tracing::info!(
            still_held = left,
            handed_back = n,
            took_ms = began.elapsed().as_millis() as u64,
            "drained; exiting"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "could not hand back job leases; they expire on their own")
        }
    }
}

fn demo_graph(listen: &str, latency_ms: u64) -> anyhow::Result<()> {
    let ready = || {
        println!(
            "Graph stand-in ready at http://{listen} (set WHATSAPP_CLOUD_BASE_URL=http://{listen})"
        );
    };
    actix_web::rt::System::new().block_on(switchboard::demo::graph::serve(
        listen,
        std::time::Duration::from_millis(latency_ms),
        Default::default(),
        ready,
    ))
}

fn demo_inbox(config: &Config, conn: &mut diesel::PgConnection, phone: &str) -> anyhow::Result<()> {
    use switchboard::domain::inboxes;
    let phone =
        inboxes::validate_phone_number("demo_inbox", phone).map_err(|e| anyhow::anyhow!("{e}"))?;
    if inboxes::find_by_phone(conn, &phone)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .is_some()
    {
        return Ok(());
    }
    let Some(account_id) = accounts::first_account_id(conn).map_err(|e| anyhow::anyhow!("{e}"))?
    else {
        anyhow::bail!("no account yet: run demo-setup without --demo-inbox first");
    };
    let secrets = switchboard::crypto::SecretBox::new(&config.secret_key_base);
    let (inbox, _) = inboxes::create(
        conn,
        &secrets,
        account_id,
        inboxes::NewWhatsappInbox {
            name: "Demo".into(),
            phone_number: phone.clone(),
            phone_number_id: "106540352242922".into(),
            business_account_id: "102290129340398".into(),
            api_key: "demo-access-token".into(),
            app_secret: None,
            source: None,
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    inboxes::schedule_template_sync(conn, inbox.id, chrono::Utc::now())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "Created the demo inbox {phone} (inbox {}) in account {account_id}.",
        inbox.id
    );
    Ok(())
}

fn demo_message(
    config: &Config,
    to: &str,
    from: &str,
    name: &str,
    text: &str,
) -> anyhow::Result<()> {
    use switchboard::demo::message::{fresh_wamid, text_delivery, DemoCustomer};
    use switchboard::domain::inboxes;
    let mut conn = connect(config)?;
    let Some(inbox) = inboxes::find_by_phone(&mut conn, to).map_err(|e| anyhow::anyhow!("{e}"))?
    else {
        anyhow::bail!("no inbox has the number {to}; create one first (scripts/run --demo creates +15551234567)");
    };
    let channel = &inbox.1;
    let customer = DemoCustomer {
        wa_id: from.trim_start_matches('+').to_string(),
        name: name.to_string(),
    };
    let body = text_delivery(
        &channel.business_account_id,
        &channel.phone_number_id,
        &channel.phone_number,
        &customer,
        text,
        &fresh_wamid(),
        chrono::Utc::now().timestamp(),
    );
    let body = serde_json::to_vec(&body)?;
    let secrets = switchboard::crypto::SecretBox::new(&config.secret_key_base);
    let secret = channel
        .app_secret(&secrets)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .or_else(|| config.whatsapp_app_secret.clone());
    let url = format!(
        "{}/webhooks/whatsapp/{}",
        config.frontend_url.trim_end_matches('/'),
        channel.phone_number
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (status, answer) = rt
        .block_on(async {
            let mut req = reqwest::Client::new()
                .post(&url)
                .header("content-type", "application/json")
                .body(body.clone());
            if let Some(secret) = secret {
                req = req.header(
                    "x-hub-signature-256",
                    switchboard::whatsapp::signature::sign(&secret, &body),
                );
            }
            let resp = req.send().await?;
            let status = resp.status();
            anyhow::Ok((status, resp.text().await.unwrap_or_default()))
        })
        .map_err(|e| anyhow::anyhow!("cannot reach {url} (is the server running?): {e}"))?;
    if !status.is_success() {
        anyhow::bail!("{url} answered {status}: {answer}");
    }
    println!(
        "Posted \"{text}\" from +{} to {url}: {status} {answer}",
        customer.wa_id
    );
    println!(
        "Open {}/app to see it.",
        config.frontend_url.trim_end_matches('/')
    );
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::DemoGraph { listen, latency_ms }) = &cli.command {
        return demo_graph(listen, *latency_ms);
    }
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
        Command::ExportContact { id, output } => export_contact(&config, id, output),
        Command::RetryFailedEvents => {
            let mut conn = connect(&config)?;
            let n = switchboard::jobs::ingest::retry_failed(&mut conn)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{n} failed webhook event(s) queued for ingest again");
            Ok(())
        }
        Command::DemoSetup {
            email,
            password,
            demo_inbox: inbox_number,
        } => {
            migrate(&config)?;
            let mut conn = connect(&config)?;
            if accounts::user_count(&mut conn).map_err(|e| anyhow::anyhow!("{e}"))? == 0 {
                let created =
                    accounts::create_admin(&mut conn, "Demo", "Demo Admin", &email, &password)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("{}", serde_json::to_string(&created)?);
            }
            if let Some(number) = inbox_number {
                demo_inbox(&config, &mut conn, &number)?;
            }
            Ok(())
        }
        Command::DemoGraph { .. } => unreachable!("handled before the configuration is read"),
        Command::DemoMessage {
            text,
            to,
            from,
            name,
        } => demo_message(&config, &to, &from, &name, &text),
        Command::Storage {
            action: StorageAction::Migrate,
        } => storage_migrate(&config),
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
