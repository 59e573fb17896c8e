//! Typed configuration, read from the environment and validated at boot.
//!
//! Every variable is documented in the README's configuration table. A missing or invalid
//! value is a [`ConfigError`] whose message names the variable, and `serve` stops on it.
//! Variable names follow Chatwoot where Chatwoot has one (`FRONTEND_URL`, `DATABASE_URL`,
//! `WHATSAPP_CLOUD_BASE_URL`, `WHATSAPP_API_VERSION`, `SECRET_KEY_BASE`).

use std::path::PathBuf;

/// Log line format, from `LOG_FORMAT` (`text`, the default, or `json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// How the SMTP connection is secured, from `SMTP_TLS` (`starttls`, the default, `tls` or
/// `none`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    Starttls,
    /// TLS from the first byte, "implicit TLS" (port 465).
    Tls,
    /// No encryption at all: only for a relay on the same host or network.
    None,
}

/// The server's configuration. Secrets are redacted from `Debug`.
#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`, required: a `postgres://` URL.
    pub database_url: String,
    /// `DATABASE_POOL_SIZE`, default 16 connections.
    pub database_pool_size: u32,
    /// `DATABASE_POOL_TIMEOUT_MS`, default 5000 milliseconds: how long a request waits for a
    /// connection before it answers 503.
    pub database_pool_timeout_ms: u64,
    /// `FRONTEND_URL`, required: the public base URL (no trailing slash) of every callback
    /// URL, e.g. `https://support.example.com`.
    pub frontend_url: String,
    /// `SECRET_KEY_BASE`, required, at least 32 characters: key material for encryption at
    /// rest and for signing.
    pub secret_key_base: String,
    /// `WHATSAPP_CLOUD_BASE_URL`, default `https://graph.facebook.com` (no trailing slash).
    pub whatsapp_cloud_base_url: String,
    /// `WHATSAPP_API_VERSION`, default `v25.0`.
    pub whatsapp_api_version: String,
    /// `WHATSAPP_APP_SECRET`, optional: the global Meta app secret used to verify
    /// X-Hub-Signature-256 when an inbox has no secret of its own.
    pub whatsapp_app_secret: Option<String>,
    /// `WHATSAPP_APP_ID`, optional: the Meta app's id, needed by the Resumable Upload API
    /// (`POST /{app_id}/uploads`, graph-api-notes §8) for template header samples and the
    /// profile picture. Unset, those uploads are refused with a message naming it.
    pub whatsapp_app_id: Option<String>,
    /// `WHATSAPP_VERIFY_TOKEN`, optional: the verify token of the app-level callback
    /// `GET /webhooks/whatsapp` (Meta's App Dashboard → Webhooks). Unset, that handshake
    /// answers 401.
    pub whatsapp_verify_token: Option<String>,
    /// `STORAGE_DIR`, default `./storage`: where downloaded media files are written.
    pub storage_dir: PathBuf,
    /// Where files live: `ACTIVE_STORAGE_SERVICE` and the S3 variables (see
    /// [`crate::storage::StorageConfig`]); the local `STORAGE_DIR` by default.
    pub storage: crate::storage::StorageConfig,
    /// `INACTIVE_WHATSAPP_NUMBERS`, optional comma-separated E.164 numbers whose webhook POSTs
    /// answer 422 (Chatwoot's setting of the same name).
    pub inactive_whatsapp_numbers: Vec<String>,
    /// `HOST`, default `127.0.0.1`.
    pub host: String,
    /// `PORT`, default 3000.
    pub port: u16,
    /// `LOG_FORMAT`, `text` (default) or `json`. Levels come from `RUST_LOG`.
    pub log_format: LogFormat,
    /// `INGEST_WORKERS`, default 2: concurrent ingest workers per process. 0 makes a node that
    /// only journals and acknowledges webhooks, leaving ingest to the other nodes.
    pub ingest_workers: usize,
    /// `INGEST_YIELD_IN_FLIGHT`, default 16: while this many webhook deliveries of the process
    /// waited for their journal commit at once in the last 100 ms (a flood), its ingest workers wait between units (at most
    /// 1 s) so acknowledgements keep the CPU (`jobs::ingest::AckPriority`). 0: never wait.
    pub ingest_yield_in_flight: usize,
    /// `MEDIA_RETRY_BASE_SECONDS`, default 30: first retry delay of a failed media download,
    /// doubled on every further attempt.
    pub media_retry_base_seconds: u64,
    /// `SEND_RATE_PER_SECOND`, default 80: messages per second sent to Graph per business
    /// phone number (Meta: cloud-api/overview#throughput, 80 messages/s by default).
    pub send_rate_per_second: u32,
    /// `SEND_CONCURRENCY`, default 16: Graph send requests in flight per process.
    pub send_concurrency: usize,
    /// `SEND_RETRY_BASE_MS`, default 2000 milliseconds: first retry delay of a transient send
    /// failure, doubled on every further attempt.
    pub send_retry_base_ms: u64,
    /// `SEND_MAX_ATTEMPTS`, default 8: attempts before a transiently failing send is `failed`.
    pub send_max_attempts: i32,
    /// `SEND_RECONCILE_SECONDS`, default 60: after a crash (or timeout) mid-send, how long to
    /// wait for Meta's status webhook to identify the message before sending it again.
    pub send_reconcile_seconds: u64,
    /// `TEMPLATE_SYNC_INTERVAL_SECONDS`, default 10800 (3 hours): how often each inbox's
    /// templates are synced from Graph.
    pub template_sync_interval_seconds: u64,
    /// `NUMBER_HEALTH_INTERVAL_SECONDS`, default 3600 (1 hour, at least 60): how often each
    /// inbox's number health is refreshed from Graph `GET /{phone_number_id}?fields=…`.
    pub number_health_interval_seconds: u64,
    /// `SMTP_ADDRESS`, optional: the SMTP server's host name. Unset, every email is written as
    /// an `.eml` file into `MAIL_DIR` instead of being sent (Chatwoot's variable names).
    pub smtp_address: Option<String>,
    /// `SMTP_PORT`, default 587.
    pub smtp_port: u16,
    /// `SMTP_USERNAME`, optional: SMTP login (no authentication when unset).
    pub smtp_username: Option<String>,
    /// `SMTP_PASSWORD`, optional: SMTP password. Never logged.
    pub smtp_password: Option<String>,
    /// `SMTP_TLS`: `starttls` (default), `tls` or `none`.
    pub smtp_tls: SmtpTls,
    /// `MAILER_SENDER_EMAIL`, default `Switchboard <notifications@localhost>`: the `From` of
    /// every email, a mailbox such as `Acme Support <support@acme.example>`.
    pub mailer_sender_email: String,
    /// `MAIL_DIR`, default `storage/mail`: where emails are written as `.eml` files while
    /// `SMTP_ADDRESS` is unset.
    pub mail_dir: PathBuf,
    /// `METRICS_TOKEN`, optional: when set, `GET /metrics` on the main listener answers with
    /// `Authorization: Bearer <METRICS_TOKEN>` (401 without it). Unset, `/metrics` there is
    /// 404. Never logged.
    pub metrics_token: Option<String>,
    /// `METRICS_ADDRESS`, optional, e.g. `127.0.0.1:9464`: a separate listener serving only
    /// `GET /metrics` (requiring `METRICS_TOKEN` too when set). Unset, no such listener.
    pub metrics_address: Option<String>,
    /// `WEBHOOKS_ALLOW_HTTP`, default false: accept `http://` integration webhook URLs (for
    /// local development). Off, only `https://` URLs are saved.
    pub webhooks_allow_http: bool,
    /// `WEBHOOKS_ALLOW_PRIVATE_TARGETS`, default false: let integration webhooks reach
    /// loopback, private, link-local, CGNAT and metadata addresses (for local tests). Off,
    /// such targets are refused at save time and at connect time.
    pub webhooks_allow_private_targets: bool,
    /// `WEBHOOK_RETRY_BASE_SECONDS`, default 60: first retry delay of a failed webhook
    /// delivery, doubled on every further retry (60 s, 120 s, 240 s).
    pub webhook_retry_base_seconds: u64,
    /// `WEBHOOK_DISABLE_AFTER_FAILURES`, default 10: failed deliveries in a row (each after
    /// all its retries) that disable a webhook and email the account's administrators.
    pub webhook_disable_after_failures: i32,
    /// `DUALHOOK_API_BASE_URL`, default `https://dualhook.com`: the Dualhook Platform API's
    /// base (requests go to `{base}/api/v1/…`; tests point it at a stand-in). Dualhook's
    /// docs, https://dualhook.com/docs/platform-api.
    pub dualhook_api_base_url: String,
    /// `AUTO_OFFLINE_AFTER_SECONDS`, default 300 (5 minutes, at least 2): how long an agent
    /// with Chatwoot's `auto_offline` on may have no open realtime stream before they are
    /// shown offline (issue 13; see `domain::availability`).
    pub auto_offline_after_seconds: u64,
    /// Issue 15: the `RETENTION_*` variables (see `domain::retention`).
    pub retention: crate::domain::retention::RetentionConfig,
    /// `INGEST_BACKLOG_ALERT`, default 10000 journal events (0 turns the alarm off): when more
    /// webhook deliveries than this wait to be ingested, the process says so loudly (a warn
    /// log line once per crossing, the `switchboard_ingest_backlog_alarm` gauge, a banner for
    /// administrators) while still acknowledging durably (issue 15; `jobs::ingest_lag`).
    pub ingest_backlog_alert: i64,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("frontend_url", &self.frontend_url)
            .field("secret_key_base", &"[redacted]")
            .field("whatsapp_cloud_base_url", &self.whatsapp_cloud_base_url)
            .field("whatsapp_api_version", &self.whatsapp_api_version)
            .field(
                "whatsapp_app_secret",
                &self.whatsapp_app_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("whatsapp_app_id", &self.whatsapp_app_id)
            .field(
                "whatsapp_verify_token",
                &self.whatsapp_verify_token.as_ref().map(|_| "[redacted]"),
            )
            .field("storage_dir", &self.storage_dir)
            .field("storage", &self.storage)
            .field("inactive_whatsapp_numbers", &self.inactive_whatsapp_numbers)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("smtp_address", &self.smtp_address)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_username", &self.smtp_username)
            .field(
                "smtp_password",
                &self.smtp_password.as_ref().map(|_| "[redacted]"),
            )
            .field("smtp_tls", &self.smtp_tls)
            .field("mailer_sender_email", &self.mailer_sender_email)
            .field("mail_dir", &self.mail_dir)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "[redacted]"),
            )
            .field("metrics_address", &self.metrics_address)
            .field("webhooks_allow_http", &self.webhooks_allow_http)
            .field("dualhook_api_base_url", &self.dualhook_api_base_url)
            .field(
                "auto_offline_after_seconds",
                &self.auto_offline_after_seconds,
            )
            .field("ingest_backlog_alert", &self.ingest_backlog_alert)
            .field(
                "webhooks_allow_private_targets",
                &self.webhooks_allow_private_targets,
            )
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

/// A configuration problem, naming the variable and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {variable} {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn invalid(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

/// Strips the password from a database URL for logs.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "[unparseable]".into(),
    }
}

fn parse_http_base(variable: &'static str, raw: &str) -> Result<String, ConfigError> {
    let parsed = url::Url::parse(raw)
        .map_err(|e| invalid(variable, format!("is not a valid URL ({e}): {raw:?}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(invalid(
            variable,
            format!("must be an http(s) URL with a host, got {raw:?}"),
        ));
    }
    Ok(raw.trim_end_matches('/').to_string())
}

fn parse_bool(variable: &'static str, raw: Option<String>) -> Result<bool, ConfigError> {
    match raw.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(other) => Err(invalid(
            variable,
            format!("must be true or false, got {other:?}"),
        )),
    }
}

fn parse_number<T: std::str::FromStr>(
    variable: &'static str,
    raw: Option<String>,
    default: T,
) -> Result<T, ConfigError> {
    match raw {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| invalid(variable, format!("must be a positive number, got {v:?}"))),
    }
}

impl Config {
    /// Reads the process environment. Empty values count as unset.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (tests pass a map). Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required =
            |name: &'static str| get(name).ok_or_else(|| invalid(name, "is required but not set"));

        let database_url = required("DATABASE_URL")?;
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(invalid(
                "DATABASE_URL",
                "must start with postgres:// or postgresql://",
            ));
        }
        let frontend_url = parse_http_base("FRONTEND_URL", &required("FRONTEND_URL")?)?;
        let secret_key_base = required("SECRET_KEY_BASE")?;
        if secret_key_base.len() < 32 {
            return Err(invalid(
                "SECRET_KEY_BASE",
                "must be at least 32 characters (try `openssl rand -hex 64`)",
            ));
        }
        let whatsapp_cloud_base_url = parse_http_base(
            "WHATSAPP_CLOUD_BASE_URL",
            &get("WHATSAPP_CLOUD_BASE_URL").unwrap_or_else(|| "https://graph.facebook.com".into()),
        )?;
        let whatsapp_api_version = get("WHATSAPP_API_VERSION").unwrap_or_else(|| "v25.0".into());
        let version_ok = whatsapp_api_version.strip_prefix('v').is_some_and(|rest| {
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
        });
        if !version_ok {
            return Err(invalid(
                "WHATSAPP_API_VERSION",
                format!("must look like v25.0, got {whatsapp_api_version:?}"),
            ));
        }
        let inactive_whatsapp_numbers = get("INACTIVE_WHATSAPP_NUMBERS")
            .map(|v| {
                v.split(',')
                    .map(|n| n.trim())
                    .filter(|n| !n.is_empty())
                    .map(|n| {
                        if n.starts_with('+') {
                            n.to_string()
                        } else {
                            format!("+{n}")
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let whatsapp_app_id = get("WHATSAPP_APP_ID").map(|v| v.trim().to_string());
        if let Some(id) = &whatsapp_app_id {
            if !id.chars().all(|c| c.is_ascii_digit()) {
                return Err(invalid(
                    "WHATSAPP_APP_ID",
                    format!("must be the numeric Meta app ID, got {id:?}"),
                ));
            }
        }
        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    "LOG_FORMAT",
                    format!("must be text or json, got {other:?}"),
                ))
            }
        };
        let port: u16 = parse_number("PORT", get("PORT"), 3000)?;
        let database_pool_size: u32 =
            parse_number("DATABASE_POOL_SIZE", get("DATABASE_POOL_SIZE"), 16)?;
        if database_pool_size == 0 {
            return Err(invalid("DATABASE_POOL_SIZE", "must be at least 1"));
        }
        let ingest_workers: usize = parse_number("INGEST_WORKERS", get("INGEST_WORKERS"), 2)?;
        let ingest_yield_in_flight: usize =
            parse_number("INGEST_YIELD_IN_FLIGHT", get("INGEST_YIELD_IN_FLIGHT"), 16)?;
        let smtp_tls = match get("SMTP_TLS")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("starttls") => SmtpTls::Starttls,
            Some("tls") => SmtpTls::Tls,
            Some("none") => SmtpTls::None,
            Some(other) => {
                return Err(invalid(
                    "SMTP_TLS",
                    format!("must be starttls, tls or none, got {other:?}"),
                ))
            }
        };
        let mailer_sender_email = get("MAILER_SENDER_EMAIL")
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| "Switchboard <notifications@localhost>".into());
        if mailer_sender_email
            .parse::<lettre::message::Mailbox>()
            .is_err()
        {
            return Err(invalid(
                "MAILER_SENDER_EMAIL",
                format!(
                    "must be an email address or \"Name <address>\", got {mailer_sender_email:?}"
                ),
            ));
        }
        let metrics_token = get("METRICS_TOKEN")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(invalid(
                "METRICS_TOKEN",
                "must be at least 16 characters (e.g. `openssl rand -hex 32`)",
            ));
        }
        let metrics_address = get("METRICS_ADDRESS")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        if let Some(addr) = &metrics_address {
            if addr.parse::<std::net::SocketAddr>().is_err() {
                return Err(invalid(
                    "METRICS_ADDRESS",
                    format!("must be IP:PORT such as 127.0.0.1:9464, got {addr:?}"),
                ));
            }
        }
        Ok(Config {
            database_url,
            database_pool_size,
            database_pool_timeout_ms: parse_number(
                "DATABASE_POOL_TIMEOUT_MS",
                get("DATABASE_POOL_TIMEOUT_MS"),
                5000,
            )?,
            frontend_url,
            secret_key_base,
            whatsapp_cloud_base_url,
            whatsapp_api_version,
            whatsapp_app_secret: get("WHATSAPP_APP_SECRET"),
            whatsapp_app_id,
            whatsapp_verify_token: get("WHATSAPP_VERIFY_TOKEN").filter(|t| !t.trim().is_empty()),
            storage_dir: PathBuf::from(get("STORAGE_DIR").unwrap_or_else(|| "storage".into())),
            storage: crate::storage::StorageConfig::from_lookup(&get)?,
            inactive_whatsapp_numbers,
            host: get("HOST").unwrap_or_else(|| "127.0.0.1".into()),
            port,
            log_format,
            ingest_workers,
            ingest_yield_in_flight,
            media_retry_base_seconds: parse_number(
                "MEDIA_RETRY_BASE_SECONDS",
                get("MEDIA_RETRY_BASE_SECONDS"),
                30,
            )?,
            send_rate_per_second: parse_number(
                "SEND_RATE_PER_SECOND",
                get("SEND_RATE_PER_SECOND"),
                80u32,
            )?
            .max(1),
            send_concurrency: parse_number::<usize>(
                "SEND_CONCURRENCY",
                get("SEND_CONCURRENCY"),
                16,
            )?
            .max(1),
            send_retry_base_ms: parse_number(
                "SEND_RETRY_BASE_MS",
                get("SEND_RETRY_BASE_MS"),
                2000,
            )?,
            send_max_attempts: parse_number::<i32>(
                "SEND_MAX_ATTEMPTS",
                get("SEND_MAX_ATTEMPTS"),
                8,
            )?
            .max(1),
            send_reconcile_seconds: parse_number(
                "SEND_RECONCILE_SECONDS",
                get("SEND_RECONCILE_SECONDS"),
                60,
            )?,
            template_sync_interval_seconds: parse_number(
                "TEMPLATE_SYNC_INTERVAL_SECONDS",
                get("TEMPLATE_SYNC_INTERVAL_SECONDS"),
                10800,
            )?
            .max(60),
            number_health_interval_seconds: parse_number(
                "NUMBER_HEALTH_INTERVAL_SECONDS",
                get("NUMBER_HEALTH_INTERVAL_SECONDS"),
                3600,
            )?
            .max(60),
            smtp_address: get("SMTP_ADDRESS").map(|v| v.trim().to_string()),
            smtp_port: parse_number("SMTP_PORT", get("SMTP_PORT"), 587)?,
            smtp_username: get("SMTP_USERNAME"),
            smtp_password: get("SMTP_PASSWORD"),
            smtp_tls,
            mailer_sender_email,
            mail_dir: PathBuf::from(get("MAIL_DIR").unwrap_or_else(|| "storage/mail".into())),
            metrics_token,
            metrics_address,
            webhooks_allow_http: parse_bool("WEBHOOKS_ALLOW_HTTP", get("WEBHOOKS_ALLOW_HTTP"))?,
            webhooks_allow_private_targets: parse_bool(
                "WEBHOOKS_ALLOW_PRIVATE_TARGETS",
                get("WEBHOOKS_ALLOW_PRIVATE_TARGETS"),
            )?,
            webhook_retry_base_seconds: parse_number(
                "WEBHOOK_RETRY_BASE_SECONDS",
                get("WEBHOOK_RETRY_BASE_SECONDS"),
                60,
            )?,
            webhook_disable_after_failures: parse_number::<i32>(
                "WEBHOOK_DISABLE_AFTER_FAILURES",
                get("WEBHOOK_DISABLE_AFTER_FAILURES"),
                10,
            )?
            .max(1),
            dualhook_api_base_url: parse_http_base(
                "DUALHOOK_API_BASE_URL",
                &get("DUALHOOK_API_BASE_URL").unwrap_or_else(|| "https://dualhook.com".into()),
            )?,
            auto_offline_after_seconds: parse_number(
                "AUTO_OFFLINE_AFTER_SECONDS",
                get("AUTO_OFFLINE_AFTER_SECONDS"),
                300,
            )?
            .max(2),
            retention: crate::domain::retention::RetentionConfig::from_lookup(&get)?,
            ingest_backlog_alert: parse_number(
                "INGEST_BACKLOG_ALERT",
                get("INGEST_BACKLOG_ALERT"),
                10_000i64,
            )?
            .max(0),
        })
    }

    /// The callback URL Meta must post to for `phone_number` (E.164 with '+').
    pub fn webhook_url(&self, phone_number: &str) -> String {
        format!("{}/webhooks/whatsapp/{}", self.frontend_url, phone_number)
    }

    /// `{WHATSAPP_CLOUD_BASE_URL}/{WHATSAPP_API_VERSION}/{path}`.
    pub fn graph_url(&self, path: &str) -> String {
        format!(
            "{}/{}/{}",
            self.whatsapp_cloud_base_url,
            self.whatsapp_api_version,
            path.trim_start_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("DATABASE_URL", "postgres://localhost/x"),
            ("FRONTEND_URL", "https://support.example.com/"),
            ("SECRET_KEY_BASE", "0123456789abcdef0123456789abcdef"),
        ])
    }

    fn load(map: &HashMap<&str, &str>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| map.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn defaults_apply() {
        let c = load(&base()).unwrap();
        assert_eq!(c.frontend_url, "https://support.example.com");
        assert_eq!(c.whatsapp_api_version, "v25.0");
        assert_eq!(c.port, 3000);
        assert_eq!(c.smtp_address, None);
        assert_eq!(c.smtp_port, 587);
        assert_eq!(c.smtp_tls, SmtpTls::Starttls);
        assert_eq!(
            c.mailer_sender_email,
            "Switchboard <notifications@localhost>"
        );
        assert_eq!(c.mail_dir, PathBuf::from("storage/mail"));
        assert!(!c.webhooks_allow_http && !c.webhooks_allow_private_targets);
        assert_eq!(c.webhook_retry_base_seconds, 60);
        assert_eq!(c.webhook_disable_after_failures, 10);
        assert_eq!(c.dualhook_api_base_url, "https://dualhook.com");
        assert_eq!(
            c.webhook_url("+15551234567"),
            "https://support.example.com/webhooks/whatsapp/+15551234567"
        );
    }

    #[test]
    fn errors_name_the_variable() {
        for (var, value) in [
            ("DATABASE_URL", ""),
            ("FRONTEND_URL", "not a url"),
            ("SECRET_KEY_BASE", "short"),
            ("PORT", "abc"),
            ("WHATSAPP_API_VERSION", "25"),
            ("LOG_FORMAT", "xml"),
            ("SMTP_TLS", "ssl3"),
            ("SMTP_PORT", "smtp"),
            ("MAILER_SENDER_EMAIL", "not an address"),
            ("WEBHOOKS_ALLOW_HTTP", "maybe"),
            ("WHATSAPP_APP_ID", "my-app"),
        ] {
            let mut m = base();
            m.insert(var, value);
            let err = load(&m).unwrap_err();
            assert_eq!(err.variable, var);
            assert!(err.to_string().contains(var));
        }
    }

    #[test]
    fn smtp_settings_and_redaction() {
        let mut m = base();
        m.insert("SMTP_ADDRESS", "smtp.example.com");
        m.insert("SMTP_PORT", "465");
        m.insert("SMTP_TLS", "TLS");
        m.insert("SMTP_USERNAME", "mailer");
        m.insert("SMTP_PASSWORD", "hunter2-smtp");
        m.insert("MAILER_SENDER_EMAIL", "Acme <support@acme.example>");
        let c = load(&m).unwrap();
        assert_eq!(c.smtp_address.as_deref(), Some("smtp.example.com"));
        assert_eq!(c.smtp_port, 465);
        assert_eq!(c.smtp_tls, SmtpTls::Tls);
        assert!(!format!("{c:?}").contains("hunter2-smtp"));
    }

    #[test]
    fn inactive_numbers_are_normalised() {
        let mut m = base();
        m.insert("INACTIVE_WHATSAPP_NUMBERS", "15551234567, +15550000000");
        let c = load(&m).unwrap();
        assert_eq!(
            c.inactive_whatsapp_numbers,
            vec!["+15551234567", "+15550000000"]
        );
    }
}
