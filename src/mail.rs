//! Outgoing email through lettre: SMTP when `SMTP_ADDRESS` is set, otherwise an `.eml` file
//! per email in `MAIL_DIR` (lettre's file transport), so a fresh install can read its
//! invitations without a mail server.
//!
//! [`send`] delivers one email and nothing more: retries belong to the `email` job
//! ([`crate::jobs::email`]), which tells transient failures from permanent ones through
//! [`MailError::permanent`]. Neither the SMTP password nor a message body (which may hold a
//! password link) is ever logged.

use crate::config::{Config, SmtpTls};
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

/// How long one SMTP exchange (connect, TLS, authenticate, send) may take.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Where an email went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by the SMTP server at `SMTP_ADDRESS`.
    Smtp,
    /// Written to this `.eml` file in `MAIL_DIR` (no `SMTP_ADDRESS`).
    File(PathBuf),
}

/// Why an email could not be delivered. `permanent` failures (a malformed address, a 5xx
/// SMTP reply) will not succeed on a retry; the others (connection, timeout, 4xx) may.
/// The message never contains the SMTP password or the email's body.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct MailError {
    /// What went wrong, for logs and the job's `last_error`.
    pub message: String,
    /// True when retrying cannot help.
    pub permanent: bool,
}

impl MailError {
    fn permanent(message: impl Into<String>) -> Self {
        MailError {
            message: message.into(),
            permanent: true,
        }
    }

    fn transient(message: impl Into<String>) -> Self {
        MailError {
            message: message.into(),
            permanent: false,
        }
    }
}

/// Builds the message: `From` is `MAILER_SENDER_EMAIL`; the body is `text_body` alone, or
/// `multipart/alternative` with `html_body` when given.
/// Errors: permanent, when `to` or the sender is not an address.
pub fn build(
    config: &Config,
    to: &str,
    subject: &str,
    text_body: &str,
    html_body: Option<&str>,
) -> Result<Message, MailError> {
    let from: Mailbox = config
        .mailer_sender_email
        .parse()
        .map_err(|e| MailError::permanent(format!("MAILER_SENDER_EMAIL is not an address: {e}")))?;
    let to: Mailbox = to
        .trim()
        .parse()
        .map_err(|e| MailError::permanent(format!("{to:?} is not an email address: {e}")))?;
    let builder = Message::builder().from(from).to(to).subject(subject);
    let built = match html_body {
        Some(html) => builder.multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(text_body.to_string()))
                .singlepart(SinglePart::html(html.to_string())),
        ),
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(text_body.to_string()),
    };
    built.map_err(|e| MailError::permanent(format!("the email could not be built: {e}")))
}

fn smtp_transport(
    config: &Config,
    host: &str,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let builder = match config.smtp_tls {
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            host,
        )),
    }
    .map_err(|e| MailError::permanent(format!("SMTP_ADDRESS {host:?} cannot be used: {e}")))?;
    let mut builder = builder.port(config.smtp_port).timeout(Some(SMTP_TIMEOUT));
    if let Some(user) = &config.smtp_username {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            config.smtp_password.clone().unwrap_or_default(),
        ));
    }
    Ok(builder.build())
}

/// Sends one email: through SMTP when `SMTP_ADDRESS` is set, otherwise written as
/// `MAIL_DIR/<uuid>.eml` (the directory is created when missing) and its path logged.
/// Returns where it went. Errors: [`MailError`], permanent or not as described there.
pub async fn send(
    config: &Config,
    to: &str,
    subject: &str,
    text_body: &str,
    html_body: Option<&str>,
) -> Result<Delivery, MailError> {
    let message = build(config, to, subject, text_body, html_body)?;
    match config.smtp_address.as_deref() {
        Some(host) => {
            let transport = smtp_transport(config, host)?;
            transport.send(message).await.map_err(|e| {
                let text = format!("SMTP {host}:{} refused the email: {e}", config.smtp_port);
                if e.is_permanent() {
                    MailError::permanent(text)
                } else {
                    MailError::transient(text)
                }
            })?;
            tracing::info!(to, subject, smtp = host, "email sent");
            Ok(Delivery::Smtp)
        }
        None => {
            let dir = config.mail_dir.clone();
            tokio::fs::create_dir_all(&dir).await.map_err(|e| {
                MailError::transient(format!("MAIL_DIR {} cannot be created: {e}", dir.display()))
            })?;
            let id = AsyncFileTransport::<Tokio1Executor>::new(&dir)
                .send(message)
                .await
                .map_err(|e| {
                    MailError::transient(format!(
                        "the email could not be written to {}: {e}",
                        dir.display()
                    ))
                })?;
            let path = dir.join(format!("{id}.eml"));
            tracing::info!(to, subject, path = %path.display(), "SMTP_ADDRESS is not set: email written to a file");
            Ok(Delivery::File(path))
        }
    }
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path) -> Config {
        let mut c = Config::from_lookup(|k| {
            match k {
                "DATABASE_URL" => Some("postgres://localhost/x"),
                "FRONTEND_URL" => Some("https://support.example.com"),
                "SECRET_KEY_BASE" => Some("0123456789abcdef0123456789abcdef"),
                _ => None,
            }
            .map(str::to_string)
        })
        .unwrap();
        c.mail_dir = dir.to_path_buf();
        c
    }

    #[tokio::test]
    async fn without_smtp_the_email_is_a_file() {
        let dir =
            std::env::temp_dir().join(format!("switchboard-mail-{}", crate::crypto::random_hex(6)));
        let c = config(&dir);
        let Delivery::File(path) = send(
            &c,
            "Ben <ben@example.com>",
            "Hello",
            "plain body",
            Some("<p>html body</p>"),
        )
        .await
        .unwrap() else {
            panic!("expected a file")
        };
        let eml = std::fs::read_to_string(&path).unwrap();
        assert!(eml.contains("Subject: Hello"));
        assert!(eml.contains("To: Ben <ben@example.com>"));
        assert!(eml.contains("From: Switchboard <notifications@localhost>"));
        assert!(eml.contains("plain body") && eml.contains("<p>html body</p>"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_bad_address_is_permanent() {
        let dir = std::env::temp_dir();
        let err = send(&config(&dir), "not an address", "s", "b", None)
            .await
            .unwrap_err();
        assert!(err.permanent);
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<a href=\"x\">Tom & 'Jerry'</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }
}
