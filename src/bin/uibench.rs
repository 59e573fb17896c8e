//! `uibench`: times the agent workspace's pages and API calls against a running Switchboard,
//! signed in through the real sign-in form (session cookie + CSRF token), as
//! `scripts/bench-ui` runs it on a seeded database.
//!
//! ```text
//! uibench --base-url http://127.0.0.1:3192 --account-id 1 --email agent01@bench.example \
//!         --password bench-password --ids-file ids.txt --requests-file requests.txt \
//!         [-n 200] [--warmup 10] [--server-log server.log] \
//!         [--pg-log pg.log --psql-url postgres://…/postgres] [--stmt-requests 20] \
//!         [--static-out static-urls.txt]
//! ```
//!
//! **Requests file**: one request kind per line, `NAME METHOD PATH [JSON BODY]` (blank lines
//! and `#` comments ignored). A name ending in `?` is optional: it is skipped when its first
//! answer is 404 or 405 (a route that does not exist yet). Placeholders, replaced anew for
//! every request:
//!
//! - `{account}`: the account id;
//! - `{display_id}`: a display id drawn from `--ids-file` (one per line; conversations the
//!   signed-in agent may see), in a fixed pseudo-random order;
//! - `{ids50}`: 50 distinct such display ids, comma-separated (for a JSON array);
//! - `{cycle:a|b|…}`: `a` on the first request, `b` on the next, and so on.
//!
//! **Figures** per kind, over `-n` sequential requests after `--warmup` unmeasured ones:
//! p50/p95/max of the time from sending the request to reading the whole body, measured at
//! the client (on loopback this is server time plus a fraction of a millisecond); with
//! `--server-log`, the same percentiles of the durations the server's access log
//! (`switchboard::http`, `GET /path 200 12.34ms`) wrote during the run; with `--pg-log` and
//! `--psql-url`, SQL statements per request: `log_statement = 'all'` is switched on (ALTER
//! SYSTEM + pg_reload_conf, reset afterwards), `--stmt-requests` requests are sent, and the
//! `statement:`/`execute` lines the database logged meanwhile are counted, less what an idle
//! interval as long logs (background jobs).
//!
//! Any answer other than 2xx (3xx for none) during a measured run is counted as an error;
//! the exit status is non-zero when there was one. The report ends with one JSON line.

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::json;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Command-line options.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "uibench",
    about = "Times the agent workspace against a running Switchboard"
)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:3192")]
    base_url: String,
    #[arg(long, default_value_t = 1)]
    account_id: i64,
    #[arg(long)]
    email: String,
    #[arg(long)]
    password: String,
    /// Display ids (one per line) the signed-in agent may see.
    #[arg(long)]
    ids_file: String,
    /// Request kinds (see the module documentation).
    #[arg(long)]
    requests_file: String,
    /// Measured requests per kind.
    #[arg(short = 'n', default_value_t = 200)]
    n: usize,
    /// Unmeasured requests per kind before the measured ones.
    #[arg(long, default_value_t = 10)]
    warmup: usize,
    /// The server's log file (its access log lines give server-side durations).
    #[arg(long)]
    server_log: Option<String>,
    /// The PostgreSQL server log (for statement counts), with `--psql-url`.
    #[arg(long)]
    pg_log: Option<String>,
    /// A superuser URL of the database server, for ALTER SYSTEM SET log_statement.
    #[arg(long)]
    psql_url: Option<String>,
    /// Requests per kind sent while statements are counted.
    #[arg(long, default_value_t = 20)]
    stmt_requests: usize,
    /// Writes the `/static/…` URLs the inbox page loads to this file, one per line.
    #[arg(long)]
    static_out: Option<String>,
}

/// One request kind of the requests file.
#[derive(Debug, Clone)]
struct Kind {
    name: String,
    optional: bool,
    method: reqwest::Method,
    path: String,
    body: Option<String>,
}

fn parse_kinds(text: &str) -> Result<Vec<Kind>> {
    let mut out = vec![];
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(4, char::is_whitespace);
        let (Some(name), Some(method), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            bail!(
                "requests file line {}: expected NAME METHOD PATH [BODY]",
                i + 1
            );
        };
        let body = parts.next().map(str::trim).filter(|b| !b.is_empty());
        out.push(Kind {
            optional: name.ends_with('?'),
            name: name.trim_end_matches('?').to_string(),
            method: method.parse().map_err(|_| anyhow!("bad method {method}"))?,
            path: path.to_string(),
            body: body.map(str::to_string),
        });
    }
    Ok(out)
}

/// A tiny deterministic generator (xorshift), so runs draw the same ids.
struct Draw(u64);

impl Draw {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Fills the placeholders of `template` for request number `i`.
fn fill(template: &str, account: i64, ids: &[i64], draw: &mut Draw, i: usize) -> String {
    let mut s = template.replace("{account}", &account.to_string());
    while let Some(at) = s.find("{display_id}") {
        let id = ids[draw.next(ids.len())];
        s.replace_range(at..at + "{display_id}".len(), &id.to_string());
    }
    while let Some(at) = s.find("{ids50}") {
        let mut chosen: Vec<i64> = vec![];
        while chosen.len() < 50.min(ids.len()) {
            let id = ids[draw.next(ids.len())];
            if !chosen.contains(&id) {
                chosen.push(id);
            }
        }
        let list = chosen
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        s.replace_range(at..at + "{ids50}".len(), &list);
    }
    while let Some(at) = s.find("{cycle:") {
        let Some(end) = s[at..].find('}') else { break };
        let choices: Vec<String> = s[at + "{cycle:".len()..at + end]
            .split('|')
            .map(str::to_string)
            .collect();
        let pick = choices[i % choices.len()].clone();
        s.replace_range(at..at + end + 1, &pick);
    }
    s
}

/// A signed-in browser session: its cookies and CSRF token.
struct Session {
    client: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
    csrf: String,
}

impl Session {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, headers: &HeaderMap) {
        for v in headers.get_all(SET_COOKIE) {
            if let Some((pair, _)) = v
                .to_str()
                .unwrap_or_default()
                .split_once(';')
                .or(Some((v.to_str().unwrap_or_default(), "")))
            {
                if let Some((k, val)) = pair.split_once('=') {
                    self.cookies.insert(k.trim().to_string(), val.to_string());
                }
            }
        }
    }

    async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
        form: Option<&[(&str, &str)]>,
    ) -> Result<(u16, String)> {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .header(COOKIE, HeaderValue::from_str(&self.cookie_header())?)
            .header("X-CSRF-Token", &self.csrf);
        if let Some(b) = body {
            req = req.header(CONTENT_TYPE, "application/json").body(b);
        }
        if let Some(f) = form {
            req = req.form(f);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        self.keep_cookies(resp.headers());
        let text = resp.text().await?;
        Ok((status, text))
    }
}

/// The value of `attr="…"` in the first tag of `html` that contains `marker`.
fn attr_after(html: &str, marker: &str, attr: &str) -> Option<String> {
    let at = html.find(marker)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let key = format!("{attr}=\"");
    let v = tag.find(&key)? + key.len();
    Some(tag[v..v + tag[v..].find('"')?].to_string())
}

async fn sign_in(args: &Args) -> Result<Session> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut s = Session {
        client,
        base: args.base_url.trim_end_matches('/').to_string(),
        cookies: BTreeMap::new(),
        csrf: String::new(),
    };
    let (status, page) = s
        .send(reqwest::Method::GET, "/app/login", None, None)
        .await?;
    if status != 200 {
        bail!("GET /app/login answered {status}");
    }
    let csrf = attr_after(&page, "name=\"csrf_token\"", "value")
        .ok_or_else(|| anyhow!("no csrf_token on the sign-in form"))?;
    let form = [
        ("email", args.email.as_str()),
        ("password", args.password.as_str()),
        ("csrf_token", csrf.as_str()),
    ];
    let (status, _) = s
        .send(reqwest::Method::POST, "/app/login", None, Some(&form))
        .await?;
    if !(300..400).contains(&status) {
        bail!(
            "signing in as {} answered {status} (expected a redirect)",
            args.email
        );
    }
    let inbox = format!("/app/accounts/{}/conversations", args.account_id);
    let (status, page) = s.send(reqwest::Method::GET, &inbox, None, None).await?;
    if status != 200 {
        bail!("GET {inbox} after signing in answered {status}");
    }
    s.csrf = attr_after(&page, "name=\"csrf-token\"", "content")
        .ok_or_else(|| anyhow!("no csrf-token meta on the inbox page"))?;
    if let Some(out) = &args.static_out {
        let mut urls: Vec<String> = vec![];
        for key in ["src=\"/static/", "href=\"/static/"] {
            let mut rest = page.as_str();
            while let Some(at) = rest.find(key) {
                let from = at + key.len() - "/static/".len();
                let end = rest[from..].find('"').map_or(rest.len(), |e| from + e);
                let url = rest[from..end].to_string();
                if !urls.contains(&url) {
                    urls.push(url);
                }
                rest = &rest[end..];
            }
        }
        std::fs::write(out, urls.join("\n") + "\n")?;
    }
    Ok(s)
}

/// Sends request number `*counter` of `kind` (placeholders filled) and times it.
async fn timed(
    s: &mut Session,
    kind: &Kind,
    args: &Args,
    ids: &[i64],
    draw: &mut Draw,
    counter: &mut usize,
) -> (Duration, Result<(u16, String)>, String) {
    let path = fill(&kind.path, args.account_id, ids, draw, *counter);
    let body = kind
        .body
        .as_ref()
        .map(|b| fill(b, args.account_id, ids, draw, *counter));
    *counter += 1;
    let t = Instant::now();
    let r = s.send(kind.method.clone(), &path, body, None).await;
    (t.elapsed(), r, path)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn file_len(path: &str) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn read_from(path: &str, offset: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let mut out = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        if f.seek(SeekFrom::Start(offset)).is_ok() {
            let mut bytes = vec![];
            let _ = f.read_to_end(&mut bytes);
            out = String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    out
}

/// Durations (ms) of the access-log lines in `text`.
fn access_durations(text: &str) -> Vec<f64> {
    text.lines()
        .filter(|l| l.contains("switchboard::http"))
        .filter_map(|l| {
            let last = l.split_whitespace().last()?;
            last.trim_end_matches('"')
                .strip_suffix("ms")?
                .parse::<f64>()
                .ok()
        })
        .collect()
}

/// Statements the database logged in `text` (log_statement = 'all').
fn statement_lines(text: &str) -> usize {
    text.lines()
        .filter(|l| l.contains("LOG:  statement: ") || l.contains("LOG:  execute "))
        .filter(|l| !l.contains("log_statement") && !l.contains("pg_reload_conf"))
        .count()
}

fn psql(url: &str, sql: &str) -> Result<()> {
    let out = std::process::Command::new("psql")
        .args(["-X", "-q", "-At", url, "-c", sql])
        .output()
        .context("running psql")?;
    if !out.status.success() {
        bail!("psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

#[derive(Debug, Default, serde::Serialize)]
struct Figures {
    name: String,
    requests: usize,
    errors: usize,
    client_p50_ms: f64,
    client_p95_ms: f64,
    client_max_ms: f64,
    server_p50_ms: Option<f64>,
    server_p95_ms: Option<f64>,
    server_max_ms: Option<f64>,
    statements_per_request: Option<f64>,
    skipped: Option<String>,
}

async fn run() -> Result<bool> {
    let args = Args::parse();
    let ids: Vec<i64> = std::fs::read_to_string(&args.ids_file)
        .with_context(|| format!("reading {}", args.ids_file))?
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    if ids.is_empty() {
        bail!("{} holds no display ids", args.ids_file);
    }
    let kinds = parse_kinds(&std::fs::read_to_string(&args.requests_file)?)?;
    let mut s = sign_in(&args).await?;
    println!(
        "signed in as {} ({} visible conversations drawn from)",
        args.email,
        ids.len()
    );
    let mut all = vec![];
    let mut draw = Draw(0x9e37_79b9_7f4a_7c15);
    for kind in &kinds {
        let mut f = Figures {
            name: kind.name.clone(),
            ..Default::default()
        };
        let mut counter = 0usize;
        // Probe (and warm up).
        let (_, r, path) = timed(&mut s, kind, &args, &ids, &mut draw, &mut counter).await;
        let (status, text) = r?;
        if kind.optional && matches!(status, 404 | 405) {
            println!(
                "{:<22} skipped: {} answered {status} (no such route yet)",
                kind.name, path
            );
            f.skipped = Some(format!("{status}"));
            all.push(f);
            continue;
        }
        if !(200..300).contains(&status) {
            bail!(
                "{}: {} {path} answered {status}: {}",
                kind.name,
                kind.method,
                text.chars().take(300).collect::<String>()
            );
        }
        for _ in 1..args.warmup {
            let _ = timed(&mut s, kind, &args, &ids, &mut draw, &mut counter).await;
        }
        let log_from = args.server_log.as_deref().map(file_len);
        let mut times = vec![];
        for _ in 0..args.n {
            let (d, r, path) = timed(&mut s, kind, &args, &ids, &mut draw, &mut counter).await;
            match r {
                Ok((st, _)) if (200..300).contains(&st) => {}
                Ok((st, body)) => {
                    f.errors += 1;
                    if f.errors <= 3 {
                        eprintln!(
                            "{}: {path} answered {st}: {}",
                            kind.name,
                            body.chars().take(200).collect::<String>()
                        );
                    }
                }
                Err(e) => {
                    f.errors += 1;
                    eprintln!("{}: {path}: {e}", kind.name);
                }
            }
            times.push(d.as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        f.requests = times.len();
        f.client_p50_ms = percentile(&times, 50.0);
        f.client_p95_ms = percentile(&times, 95.0);
        f.client_max_ms = *times.last().unwrap_or(&f64::NAN);
        if let (Some(path), Some(from)) = (args.server_log.as_deref(), log_from) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut d = access_durations(&read_from(path, from));
            d.sort_by(f64::total_cmp);
            if !d.is_empty() {
                f.server_p50_ms = Some(percentile(&d, 50.0));
                f.server_p95_ms = Some(percentile(&d, 95.0));
                f.server_max_ms = d.last().copied();
            }
        }
        if let (Some(pg_log), Some(url)) = (args.pg_log.as_deref(), args.psql_url.as_deref()) {
            psql(url, "ALTER SYSTEM SET log_statement = 'all'")?;
            psql(url, "SELECT pg_reload_conf()")?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            // Idle: what background jobs log over as long as the requests take.
            let started = Instant::now();
            let from = file_len(pg_log);
            let mut sent = 0;
            for _ in 0..args.stmt_requests {
                let _ = timed(&mut s, kind, &args, &ids, &mut draw, &mut counter).await;
                sent += 1;
            }
            let busy = started.elapsed();
            tokio::time::sleep(Duration::from_millis(300)).await;
            let during = statement_lines(&read_from(pg_log, from));
            let idle_from = file_len(pg_log);
            tokio::time::sleep(busy).await;
            let idle = statement_lines(&read_from(pg_log, idle_from));
            psql(url, "ALTER SYSTEM RESET log_statement")?;
            psql(url, "SELECT pg_reload_conf()")?;
            f.statements_per_request =
                Some((during.saturating_sub(idle)) as f64 / sent.max(1) as f64);
        }
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        println!(
            "{:<22} n={:<4} client p50 {:>6.1} p95 {:>6.1} max {:>6.1} ms | server p50 {:>6} p95 {:>6} max {:>6} ms | {:>5} statements/request{}",
            f.name,
            f.requests,
            f.client_p50_ms,
            f.client_p95_ms,
            f.client_max_ms,
            opt(f.server_p50_ms),
            opt(f.server_p95_ms),
            opt(f.server_max_ms),
            opt(f.statements_per_request),
            if f.errors > 0 { format!(" | {} ERRORS", f.errors) } else { String::new() }
        );
        all.push(f);
    }
    let ok = all.iter().all(|f| f.errors == 0);
    println!("{}", json!({ "uibench": all }));
    Ok(ok)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("uibench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
