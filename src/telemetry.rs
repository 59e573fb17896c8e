//! Logging with `tracing`: levels from `RUST_LOG` (default `info`), text or JSON lines from
//! `LOG_FORMAT`. Nothing secret is logged: tokens, secrets and bodies never reach a field.

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls are ignored.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The `tracing` target of the access log: one line per request.
pub const ACCESS_LOG_TARGET: &str = "switchboard::http";

/// One access-log line: `GET /app/login 401 1.25ms` (method, path without the query string,
/// status, duration in milliseconds). The query string is left out: it may carry tokens
/// (password reset links).
pub fn access_line(method: &str, path: &str, status: u16, elapsed: std::time::Duration) -> String {
    format!(
        "{method} {path} {status} {:.2}ms",
        elapsed.as_secs_f64() * 1000.0
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn access_line_has_the_method() {
        let line = super::access_line(
            "POST",
            "/app/login",
            401,
            std::time::Duration::from_micros(1250),
        );
        assert_eq!(line, "POST /app/login 401 1.25ms");
    }
}
