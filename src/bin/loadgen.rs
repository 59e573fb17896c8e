//! `loadgen`: a load generator that benchmarks webhook ingest against a running Switchboard.
//!
//! It posts `-n` WhatsApp Cloud webhook deliveries (one text message each, shaped like
//! `fixtures/meta/webhooks/text.json`) to `POST {base}/webhooks/whatsapp/{phone}` with exactly
//! `-c` requests in flight, then checks through the `/api/v1` API that the server turned every
//! delivery into exactly one message.
//!
//! ```text
//! loadgen --api-token TOKEN [--base-url http://127.0.0.1:3000] [--account-id 1]
//!         [--phone +15551234567] [-n 20000] [-c 64] [--app-secret SECRET]
//!         [--server-pid PID] [--wait-seconds 300]
//! ```
//!
//! How a run goes:
//!
//! 1. **Setup.** The inbox for `--phone` is looked up (`GET /inboxes`) and created when absent
//!    (`POST /inboxes`, with `app_secret` when `--app-secret` is given). Its
//!    `provider_config.phone_number_id` goes into every body.
//! 2. **Load.** Every run has a run id (unix milliseconds). Delivery `i` comes from its own
//!    user: `wa_id` is 12 digits derived from the run id and `i`, the profile name is
//!    `lg<run>n<i:06>x` and the message id is `wamid.LOADGEN<run>_<i>`, so each delivery makes
//!    one contact, one conversation and one message, and re-runs against the same database
//!    never collide. Bodies are signed (`X-Hub-Signature-256`) when `--app-secret` is given.
//!    Every acknowledgement's latency is recorded; any answer but 200 is an error. The
//!    server's RSS is sampled every 100 ms from `/proc/<pid>/status` (the pid comes from
//!    `--server-pid`, else from the process listening on the base URL's port, else from
//!    `pgrep -f "switchboard serve"`).
//! 3. **Ingest.** `GET /health` is polled every 100 ms until its `ingest_backlog` is 0 (a
//!    delivery's contact, conversation and message are committed in one transaction with its
//!    journal row), then `GET /contacts/search?q=lg<run>n` must count N; when it does not,
//!    the search is polled every 500 ms until it does or `--wait-seconds` pass.
//! 4. **Exact check.** The inbox's conversations are paged (`GET /conversations?status=all`)
//!    until all N of the run are seen: each must have exactly one incoming message
//!    (`unread_count`), whose `content` and `source_id` match the delivery.
//! 5. **Duplicates.** 100 deliveries are posted again (same wamid), followed by a sentinel
//!    delivery; once the sentinel is visible, each re-posted conversation must still hold
//!    exactly one message and the run's contact count must still be N.
//!
//! The report is human-readable lines followed by one JSON line with every figure. The exit
//! status is non-zero when any POST was not answered 200 or any check failed.
//!
//! **Batched and paced modes** (`--batch B`, `--customers K`, `--rate R`, both need
//! `--database-url` of the server's database, read only):
//!
//! ```text
//! loadgen … --database-url URL -n 200 --batch 100 --customers 100   # Meta-style batches
//! loadgen … --database-url URL -n 10000 --rate 500 -c 256           # paced, 1 message each
//! ```
//!
//! Delivery `i` carries `B` text messages from customers `(i + j·stride) % K` (the stride
//! varies per delivery, so deliveries name overlapping customers in different orders), with
//! wamids `wamid.LOADGEN<run>_<i>_<j>`. With `--rate`, delivery `i` is posted `i / R` seconds
//! after the start (at most `-c` in flight), otherwise as fast as `-c` allows. The run's
//! messages are polled from the database every 10 ms while posting and after; the report
//! gives deliveries acknowledged per second, messages visible per second (all messages over
//! the time from the first POST to the last one visible, i.e. while the journal drains) and
//! the webhook-to-visible latency per delivery (its POST sent → its last message visible,
//! p50/p90/p99, ±10 ms), then checks that every message is stored exactly once and the run
//! made exactly `K` contacts.

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use futures_util::future::join_all;
use hmac::{Hmac, Mac};
use rand::seq::SliceRandom;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Command-line options.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "loadgen",
    version,
    about = "Benchmarks WhatsApp webhook ingest against a running Switchboard server"
)]
pub struct Args {
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub base_url: String,
    /// An administrator's API access token (sent as the `api_access_token` header).
    #[arg(long)]
    pub api_token: String,
    /// Account whose inbox receives the deliveries.
    #[arg(long, default_value_t = 1)]
    pub account_id: i64,
    /// The inbox's WhatsApp number (E.164); the webhook path is `/webhooks/whatsapp/{phone}`.
    #[arg(long, default_value = "+15551234567")]
    pub phone: String,
    /// Number of webhook deliveries to post (at most 999 999).
    #[arg(short = 'n', long, default_value_t = 20_000)]
    pub deliveries: usize,
    /// Requests in flight at any time.
    #[arg(short = 'c', long, default_value_t = 64)]
    pub concurrency: usize,
    /// Meta app secret: when given, bodies are signed with `X-Hub-Signature-256` and a newly
    /// created inbox stores it.
    #[arg(long)]
    pub app_secret: Option<String>,
    /// Server process id for RSS sampling; found from the listening port or
    /// `pgrep -f "switchboard serve"` when absent.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Longest wait, in seconds, for ingest to make all N deliveries visible.
    #[arg(long, default_value_t = 300)]
    pub wait_seconds: u64,
    /// Messages per delivery (batched mode when above 1): Meta batches many messages into
    /// one POST. Needs `--database-url`.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Distinct customers the messages come from (default: `--batch` when batched, so each
    /// delivery carries one message from every customer, in its own order; otherwise one
    /// customer per delivery).
    #[arg(long)]
    pub customers: Option<usize>,
    /// Paced mode: post this many deliveries per second (on a fixed schedule, up to `-c` in
    /// flight) instead of as fast as possible, and report webhook-to-visible latency.
    /// Needs `--database-url`.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// The server's database (read only: polled for the run's messages in the batched and
    /// paced modes).
    #[arg(long)]
    pub database_url: Option<String>,
}

/// Deliveries re-posted by the duplicate check.
const DUPLICATE_SAMPLE: usize = 100;
/// Conversations per page of `GET /conversations` (the server's page size).
const CONVERSATIONS_PER_PAGE: usize = 25;
/// Pages of `GET /conversations` fetched at once during the exact check.
const VERIFY_PAGE_CONCURRENCY: usize = 8;

// ---------------------------------------------------------------------------------------------
// The API client
// ---------------------------------------------------------------------------------------------

/// A thin client for the `/api/v1` and webhook routes of one server.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
    account_id: i64,
}

impl Api {
    /// `{base}/api/v1/accounts/{account_id}{path}`.
    fn account_url(&self, path: &str) -> String {
        format!("{}/api/v1/accounts/{}{}", self.base, self.account_id, path)
    }

    /// GETs an account path and parses the 200 JSON answer.
    async fn get(&self, path: &str) -> Result<Value> {
        let url = self.account_url(path);
        let res = self
            .client
            .get(&url)
            .header("api_access_token", &self.token)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = res.status();
        let text = res
            .text()
            .await
            .with_context(|| format!("GET {url}: reading the body"))?;
        if !status.is_success() {
            bail!("GET {url} answered {status}: {}", truncate(&text, 300));
        }
        serde_json::from_str(&text).with_context(|| format!("GET {url}: the answer is not JSON"))
    }

    /// POSTs JSON to an account path and parses the 2xx JSON answer.
    async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let url = self.account_url(path);
        let res = self
            .client
            .post(&url)
            .header("api_access_token", &self.token)
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = res.status();
        let text = res
            .text()
            .await
            .with_context(|| format!("POST {url}: reading the body"))?;
        if !status.is_success() {
            bail!("POST {url} answered {status}: {}", truncate(&text, 300));
        }
        serde_json::from_str(&text).with_context(|| format!("POST {url}: the answer is not JSON"))
    }

    /// `ingest_backlog` of `GET /health` (the journal's deliveries not yet ingested: one
    /// indexed count, where a contact search with a total count scans every match).
    async fn ingest_backlog(&self) -> Result<i64> {
        let url = format!("{}/health", self.base);
        let v: Value = self
            .client
            .get(&url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?
            .json()
            .await
            .with_context(|| format!("GET {url}: reading the body"))?;
        v["ingest_backlog"]
            .as_i64()
            .ok_or_else(|| anyhow!("/health answered without ingest_backlog: {v}"))
    }

    /// `meta.count` of `GET /contacts/search?q=term`.
    async fn contact_count(&self, term: &str) -> Result<i64> {
        let v = self
            .get(&format!("/contacts/search?q={}", urlencode(term)))
            .await?;
        v["meta"]["count"]
            .as_i64()
            .ok_or_else(|| anyhow!("contacts/search answered without meta.count: {v}"))
    }

    /// `all_count` of `GET /conversations/meta?status=all&inbox_id=…`.
    async fn conversation_count(&self, inbox_id: i64) -> Result<i64> {
        let v = self
            .get(&format!(
                "/conversations/meta?status=all&inbox_id={inbox_id}"
            ))
            .await?;
        v["meta"]["all_count"]
            .as_i64()
            .ok_or_else(|| anyhow!("conversations/meta answered without meta.all_count: {v}"))
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The inbox deliveries go to.
#[derive(Debug, Clone)]
pub struct InboxInfo {
    /// Inbox id.
    pub id: i64,
    /// `provider_config.phone_number_id`, echoed in every body's metadata.
    pub phone_number_id: String,
    /// Whether this run created it.
    pub created: bool,
}

fn inbox_info(v: &Value, created: bool) -> Result<InboxInfo> {
    let id = v["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("inbox without id: {v}"))?;
    let pnid = &v["provider_config"]["phone_number_id"];
    let phone_number_id = pnid
        .as_str()
        .map(str::to_string)
        .or_else(|| pnid.as_i64().map(|n| n.to_string()))
        .ok_or_else(|| anyhow!("inbox {id} has no provider_config.phone_number_id"))?;
    Ok(InboxInfo {
        id,
        phone_number_id,
        created,
    })
}

/// Finds the inbox for `phone`, creating it when absent.
pub async fn ensure_inbox(api: &Api, phone: &str, app_secret: Option<&str>) -> Result<InboxInfo> {
    let list = api.get("/inboxes").await.context("listing inboxes")?;
    let existing = list["payload"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["phone_number"].as_str() == Some(phone));
    if let Some(inbox) = existing {
        return inbox_info(inbox, false);
    }
    let mut provider_config = json!({
        "api_key": "loadgen-token",
        "phone_number_id": "106540352242922",
        "business_account_id": "102290129340398",
    });
    if let Some(secret) = app_secret {
        provider_config["app_secret"] = json!(secret);
    }
    let body = json!({
        "name": "Loadgen",
        "channel": {
            "type": "whatsapp",
            "phone_number": phone,
            "provider": "whatsapp_cloud",
            "provider_config": provider_config,
        },
    });
    let created = api
        .post("/inboxes", &body)
        .await
        .context("creating the inbox")?;
    inbox_info(&created, true)
}

// ---------------------------------------------------------------------------------------------
// Deliveries
// ---------------------------------------------------------------------------------------------

/// Builds the webhook bodies of one run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Unix milliseconds at start; part of every name and wamid.
    pub id: u128,
    /// Five digits of the run id that make `wa_id`s distinct between runs.
    wa_prefix: u64,
    phone_number_id: String,
    display_phone: String,
    timestamp: String,
}

impl Run {
    fn new(phone: &str, phone_number_id: &str) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Run {
            id: now.as_millis(),
            wa_prefix: (now.as_millis() / 100 % 100_000) as u64,
            phone_number_id: phone_number_id.to_string(),
            display_phone: phone.trim_start_matches('+').to_string(),
            timestamp: now.as_secs().to_string(),
        }
    }

    /// Search term matching every contact of this run (and nothing else: the 13 digits of the
    /// run id cannot occur in a 12-digit phone number).
    fn contact_prefix(&self) -> String {
        format!("lg{}n", self.id)
    }

    /// The profile name of delivery `i`; unique as a substring.
    fn name(&self, i: usize) -> String {
        format!("lg{}n{i:06}x", self.id)
    }

    /// Index of delivery from its profile name, when the name belongs to this run.
    fn index_of(&self, name: &str) -> Option<usize> {
        let rest = name.strip_prefix(&self.contact_prefix())?;
        let digits = rest.strip_suffix('x')?;
        if digits.len() != 6 {
            return None;
        }
        digits.parse().ok()
    }

    /// A 12-digit `wa_id`: `1`, five digits of the run id, six digits of `i`.
    fn wa_id(&self, i: usize) -> String {
        format!("1{:05}{i:06}", self.wa_prefix)
    }

    fn wamid(&self, i: usize) -> String {
        format!("wamid.LOADGEN{}_{i}", self.id)
    }

    fn text(i: usize) -> String {
        format!("load test message {i}")
    }

    /// The raw JSON body of delivery `i`, shaped like Meta's text-message webhook.
    fn body_for(&self, name: &str, wa_id: &str, wamid: &str, text: &str) -> Vec<u8> {
        let v = json!({
            "object": "whatsapp_business_account",
            "entry": [{
                "id": "102290129340398",
                "changes": [{
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {
                            "display_phone_number": self.display_phone,
                            "phone_number_id": self.phone_number_id,
                        },
                        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                        "messages": [{
                            "from": wa_id,
                            "id": wamid,
                            "timestamp": self.timestamp,
                            "type": "text",
                            "text": {"body": text},
                        }],
                    },
                    "field": "messages",
                }],
            }],
        });
        serde_json::to_vec(&v).expect("a JSON value serializes")
    }

    fn body(&self, i: usize) -> Vec<u8> {
        self.body_for(
            &self.name(i),
            &self.wa_id(i),
            &self.wamid(i),
            &Self::text(i),
        )
    }

    /// A delivery outside the numbered range, posted after the duplicates as a marker.
    fn sentinel_name(&self) -> String {
        format!("lg{}s", self.id)
    }

    fn sentinel_body(&self) -> Vec<u8> {
        self.body_for(
            &self.sentinel_name(),
            &format!("1{:05}999999", self.wa_prefix),
            &format!("wamid.LOADGEN{}_sentinel", self.id),
            "load test sentinel",
        )
    }
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts webhook bodies to one number.
#[derive(Clone)]
pub struct Poster {
    client: reqwest::Client,
    url: String,
    app_secret: Option<String>,
}

/// The outcome of one POST: the status (or a transport error) and its latency.
pub struct Ack {
    /// `Ok(status)` or the transport error.
    pub status: Result<u16, String>,
    /// The answer body (kept for errors).
    pub body: String,
    /// From sending the request to reading the whole answer.
    pub latency: Duration,
}

impl Poster {
    /// Posts one body and waits for the whole answer.
    async fn post(&self, body: Vec<u8>) -> Ack {
        let mut req = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(secret) = &self.app_secret {
            req = req.header("X-Hub-Signature-256", sign(secret, &body));
        }
        let started = Instant::now();
        let outcome = async {
            let res = req.body(body).send().await?;
            let status = res.status().as_u16();
            let text = res.text().await?;
            Ok::<_, reqwest::Error>((status, text))
        }
        .await;
        let latency = started.elapsed();
        match outcome {
            Ok((status, body)) => Ack {
                status: Ok(status),
                body,
                latency,
            },
            Err(e) => Ack {
                status: Err(e.to_string()),
                body: String::new(),
                latency,
            },
        }
    }
}

/// What the posting phase measured.
#[derive(Debug, Default)]
pub struct LoadStats {
    /// Ack latencies of every request, sorted.
    pub latencies: Vec<Duration>,
    /// Non-200 answers and transport errors, by kind.
    pub errors: BTreeMap<String, usize>,
    /// A few error bodies, to show what the server said.
    pub error_samples: Vec<String>,
    /// Wall time from the first POST to the last answer.
    pub wall: Duration,
}

impl LoadStats {
    fn error_count(&self) -> usize {
        self.errors.values().sum()
    }

    fn record(&mut self, ack: Ack) {
        self.latencies.push(ack.latency);
        let kind = match ack.status {
            Ok(200) => return,
            Ok(code) => format!("HTTP {code}"),
            Err(e) => format!("transport error: {e}"),
        };
        if self.error_samples.len() < 5 {
            self.error_samples
                .push(format!("{kind}: {}", truncate(&ack.body, 300)));
        }
        *self.errors.entry(kind).or_default() += 1;
    }

    fn merge(&mut self, other: LoadStats) {
        self.latencies.extend(other.latencies);
        for (k, n) in other.errors {
            *self.errors.entry(k).or_default() += n;
        }
        for s in other.error_samples {
            if self.error_samples.len() < 5 {
                self.error_samples.push(s);
            }
        }
    }

    /// The `q`-quantile (nearest rank) of the sorted latencies, in milliseconds.
    fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        ms(self.latencies[rank - 1])
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Posts deliveries `indices` with exactly `concurrency` workers pulling from a shared counter.
async fn post_all(
    poster: &Poster,
    run: &Arc<Run>,
    indices: Arc<Vec<usize>>,
    concurrency: usize,
) -> LoadStats {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (poster, run, indices, next) =
                (poster.clone(), run.clone(), indices.clone(), next.clone());
            tokio::spawn(async move {
                let mut stats = LoadStats::default();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = indices.get(k) else { break };
                    stats.record(poster.post(run.body(i)).await);
                }
                stats
            })
        })
        .collect();
    let mut total = LoadStats::default();
    for w in join_all(workers).await {
        match w {
            Ok(stats) => total.merge(stats),
            Err(e) => {
                *total
                    .errors
                    .entry(format!("worker panicked: {e}"))
                    .or_default() += 1
            }
        }
    }
    total.wall = started.elapsed();
    total.latencies.sort_unstable();
    total
}

// ---------------------------------------------------------------------------------------------
// Server memory
// ---------------------------------------------------------------------------------------------

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in kB.
fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Socket inodes listening on TCP `port` (IPv4 and IPv6).
fn listening_inodes(port: u16) -> HashSet<String> {
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 || cols[3] != "0A" {
                continue;
            }
            let local_port = cols[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                inodes.insert(cols[9].to_string());
            }
        }
    }
    inodes
}

/// The process holding a listening socket on `port`, found through `/proc/*/fd`.
fn pid_listening_on(port: u16) -> Option<u32> {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return None;
    }
    let wanted: HashSet<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                if wanted.contains(target.to_string_lossy().as_ref()) {
                    return Some(pid);
                }
            }
        }
    }
    None
}

/// Best effort: the server's pid from the base URL's port, else `pgrep -f "switchboard serve"`
/// when it names exactly one process.
fn find_server_pid(base_url: &str) -> Option<(u32, &'static str)> {
    let port = url::Url::parse(base_url).ok()?.port_or_known_default()?;
    if let Some(pid) = pid_listening_on(port) {
        return Some((pid, "listening socket"));
    }
    let out = std::process::Command::new("pgrep")
        .args(["-f", "switchboard serve"])
        .output()
        .ok()?;
    let own = std::process::id();
    let pids: Vec<u32> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|&p| p != own)
        .collect();
    match pids.as_slice() {
        [pid] => Some((*pid, "pgrep -f \"switchboard serve\"")),
        _ => None,
    }
}

/// Samples a process's VmRSS every 100 ms until stopped, keeping the largest value.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    max_kb: Arc<AtomicU64>,
    samples: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let max_kb = Arc::new(AtomicU64::new(0));
        let samples = Arc::new(AtomicU64::new(0));
        let task = {
            let (stop, max_kb, samples) = (stop.clone(), max_kb.clone(), samples.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(100));
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    if let Some(kb) = proc_status_kb(pid, "VmRSS") {
                        max_kb.fetch_max(kb, Ordering::Relaxed);
                        samples.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        };
        RssSampler {
            stop,
            max_kb,
            samples,
            task,
        }
    }

    /// Stops sampling; returns the largest VmRSS seen (kB) and the number of samples.
    async fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        (
            self.max_kb.load(Ordering::Relaxed),
            self.samples.load(Ordering::Relaxed),
        )
    }
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

/// Waits for the run's `n` contacts (every delivery acknowledged before the call): polls
/// `/health` every 100 ms until the journal is drained (`ingest_backlog` 0: each delivery's
/// contact, conversation and message commit with its journal row's `processed`), then checks
/// the contact count once; when that is short (a failed event, another writer's backlog) or
/// `/health` cannot tell, falls back to [`wait_for_count`]. The benchmark's own poll then
/// costs the database one indexed count, not a trigram search over every contact of the run
/// (a fifth of PostgreSQL's samples during a burst, 2026-12-01). Returns as
/// [`wait_for_count`].
async fn wait_for_drain(
    api: &Api,
    term: &str,
    n: i64,
    deadline: Instant,
) -> Result<(i64, Option<Instant>)> {
    let mut last_print = Instant::now();
    loop {
        let backlog = match api.ingest_backlog().await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("  (/health poll failed: {e:#}; counting contacts instead)");
                break;
            }
        };
        let now = Instant::now();
        if backlog == 0 {
            let count = api.contact_count(term).await?;
            if count >= n {
                return Ok((count, Some(now)));
            }
            break;
        }
        if now.duration_since(last_print) >= Duration::from_secs(5) {
            println!("  … {backlog} deliveries waiting");
            last_print = now;
        }
        if now >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_count(api, term, n, deadline).await
}

/// Polls the run's contact count every 500 ms until it reaches `n` or `deadline` passes.
/// Returns the last count seen and when it reached `n`.
async fn wait_for_count(
    api: &Api,
    term: &str,
    n: i64,
    deadline: Instant,
) -> Result<(i64, Option<Instant>)> {
    let mut last = -1;
    let mut last_print = Instant::now();
    loop {
        let count = match api.contact_count(term).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("  (count poll failed: {e:#})");
                last
            }
        };
        let now = Instant::now();
        if count >= n {
            return Ok((count, Some(now)));
        }
        if count != last && now.duration_since(last_print) >= Duration::from_secs(5) {
            println!("  … {count}/{n} visible");
            last_print = now;
        }
        last = count;
        if now >= deadline {
            return Ok((count, None));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What paging the inbox's conversations found for this run.
#[derive(Debug, Default)]
pub struct ExactCheck {
    /// Distinct deliveries whose conversation was found.
    pub conversations: usize,
    /// Incoming messages in those conversations (sum of `unread_count`).
    pub messages: i64,
    /// Display id of each delivery's conversation.
    pub display_ids: HashMap<usize, i64>,
    /// Problems found (wrong content, extra messages, a delivery seen twice…).
    pub problems: Vec<String>,
    /// Pages fetched.
    pub pages: usize,
    /// Time spent paging.
    pub elapsed: Duration,
}

impl ExactCheck {
    fn ok(&self, n: usize) -> bool {
        self.conversations == n && self.messages == n as i64 && self.problems.is_empty()
    }

    fn problem(&mut self, p: String) {
        if self.problems.len() < 20 {
            self.problems.push(p);
        } else if self.problems.len() == 20 {
            self.problems.push("… (more problems not shown)".into());
        }
    }

    /// Checks one rendered conversation; ignores those of other runs.
    fn inspect(&mut self, run: &Run, c: &Value) {
        let name = c["meta"]["sender"]["name"].as_str().unwrap_or_default();
        let Some(i) = run.index_of(name) else { return };
        let display_id = c["id"].as_i64().unwrap_or(-1);
        if let Some(previous) = self.display_ids.insert(i, display_id) {
            self.problem(format!(
                "delivery {i} appears in two conversations ({previous} and {display_id})"
            ));
            return;
        }
        self.conversations += 1;
        let unread = c["unread_count"].as_i64().unwrap_or(-1);
        self.messages += unread;
        if unread != 1 {
            self.problem(format!(
                "conversation {display_id} (delivery {i}) holds {unread} incoming messages, not 1"
            ));
        }
        let last = &c["messages"][0];
        let content = last["content"].as_str().unwrap_or_default();
        let source_id = last["source_id"].as_str().unwrap_or_default();
        if content != Run::text(i) || source_id != run.wamid(i) {
            self.problem(format!(
                "conversation {display_id} (delivery {i}): last message is {content:?} / {source_id:?}"
            ));
        }
    }
}

/// Pages `GET /conversations?status=all&inbox_id=…` until every delivery of the run is seen
/// (the run's conversations are the most recent, so they come first) or the pages run out.
async fn exact_check(api: &Api, inbox_id: i64, run: &Run, n: usize) -> Result<ExactCheck> {
    let started = Instant::now();
    let total = api.conversation_count(inbox_id).await?.max(0) as usize;
    let last_page = total.div_ceil(CONVERSATIONS_PER_PAGE).max(1);
    let mut check = ExactCheck::default();
    let mut page = 1;
    while page <= last_page && check.display_ids.len() < n {
        let batch: Vec<usize> = (page..=last_page).take(VERIFY_PAGE_CONCURRENCY).collect();
        page += batch.len();
        let answers = join_all(batch.iter().map(|p| {
            let path =
                format!("/conversations?status=all&assignee_type=all&inbox_id={inbox_id}&page={p}");
            async move { api.get(&path).await }
        }))
        .await;
        let mut empty = false;
        for answer in answers {
            let v = answer?;
            check.pages += 1;
            let rows = v["data"]["payload"].as_array().cloned().unwrap_or_default();
            empty |= rows.is_empty();
            for c in &rows {
                check.inspect(run, c);
            }
        }
        if empty {
            break;
        }
    }
    check.elapsed = started.elapsed();
    Ok(check)
}

/// What re-posting deliveries found.
#[derive(Debug, Default)]
pub struct DuplicateCheck {
    /// Deliveries re-posted.
    pub reposted: usize,
    /// Non-200 answers to the re-posts and the sentinel.
    pub errors: usize,
    /// Re-posted conversations that no longer hold exactly one message.
    pub problems: Vec<String>,
    /// The run's contact count afterwards.
    pub contacts_after: i64,
    /// Whether the sentinel became visible in time.
    pub sentinel_seen: bool,
}

impl DuplicateCheck {
    fn ok(&self, n: usize) -> bool {
        self.errors == 0
            && self.problems.is_empty()
            && self.contacts_after == n as i64
            && self.sentinel_seen
    }
}

/// Re-posts up to [`DUPLICATE_SAMPLE`] deliveries (same wamid), then a sentinel; once the
/// sentinel is visible (plus a grace second for workers still finishing an earlier event),
/// each re-posted conversation must still hold exactly one incoming message.
async fn duplicate_check(
    api: &Api,
    poster: &Poster,
    run: &Arc<Run>,
    display_ids: &HashMap<usize, i64>,
    wait: Duration,
) -> Result<DuplicateCheck> {
    let mut sample: Vec<(usize, i64)> = display_ids.iter().map(|(&i, &d)| (i, d)).collect();
    sample.shuffle(&mut rand::thread_rng());
    sample.truncate(DUPLICATE_SAMPLE);
    let indices: Arc<Vec<usize>> = Arc::new(sample.iter().map(|(i, _)| *i).collect());
    let mut check = DuplicateCheck {
        reposted: indices.len(),
        ..Default::default()
    };
    let stats = post_all(poster, run, indices, 8).await;
    check.errors += stats.error_count();
    for s in &stats.error_samples {
        println!("  re-post error: {s}");
    }
    let sentinel = poster.post(run.sentinel_body()).await;
    if sentinel.status != Ok(200) {
        check.errors += 1;
        println!(
            "  sentinel POST failed: {:?} {}",
            sentinel.status,
            truncate(&sentinel.body, 300)
        );
    }
    let (seen, _) = wait_for_count(api, &run.sentinel_name(), 1, Instant::now() + wait).await?;
    check.sentinel_seen = seen >= 1;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let answers = join_all(
        sample
            .iter()
            .map(|(i, d)| async move { (*i, *d, api.get(&format!("/conversations/{d}")).await) }),
    )
    .await;
    for (i, d, answer) in answers {
        match answer {
            Ok(c) => {
                let unread = c["unread_count"].as_i64().unwrap_or(-1);
                if unread != 1 {
                    check
                        .problems
                        .push(format!("conversation {d} (delivery {i}) holds {unread} incoming messages after the re-post"));
                }
            }
            Err(e) => check.problems.push(format!("conversation {d}: {e:#}")),
        }
    }
    check.contacts_after = api.contact_count(&run.contact_prefix()).await?;
    Ok(check)
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async fn run(args: Args) -> Result<bool> {
    if args.batch > 1 || args.rate > 0.0 {
        return tracked::run(args).await;
    }
    let n = args.deliveries;
    let c = args.concurrency.max(1);
    if n == 0 || n > 999_999 {
        bail!("--deliveries must be between 1 and 999999");
    }
    let base = args.base_url.trim_end_matches('/').to_string();
    let client = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(c + 8)
        .timeout(Duration::from_secs(120))
        .build()
        .context("building the HTTP client")?;
    let api = Api {
        client: client.clone(),
        base: base.clone(),
        token: args.api_token.clone(),
        account_id: args.account_id,
    };

    let inbox = ensure_inbox(&api, &args.phone, args.app_secret.as_deref()).await?;
    println!(
        "inbox {} for {} ({}), phone_number_id {}",
        inbox.id,
        args.phone,
        if inbox.created { "created" } else { "existing" },
        inbox.phone_number_id
    );
    let run = Arc::new(Run::new(&args.phone, &inbox.phone_number_id));
    let baseline_conversations = api.conversation_count(inbox.id).await?;
    println!(
        "run {}: {n} deliveries, {c} in flight, {} bodies; inbox already holds {baseline_conversations} conversations",
        run.id,
        if args.app_secret.is_some() { "signed" } else { "unsigned" },
    );

    let server_pid = match args.server_pid {
        Some(pid) => Some((pid, "--server-pid")),
        None => find_server_pid(&base),
    };
    match server_pid {
        Some((pid, how)) => println!("server pid {pid} (from {how})"),
        None => println!("server pid unknown: RSS will not be reported (pass --server-pid)"),
    }
    let pid = server_pid.map(|(p, _)| p);
    let sampler = pid.map(RssSampler::start);
    let hwm_before = pid.and_then(|p| proc_status_kb(p, "VmHWM"));

    let poster = Poster {
        client,
        url: format!("{base}/webhooks/whatsapp/{}", args.phone),
        app_secret: args.app_secret.clone(),
    };
    let first_post = Instant::now();
    let stats = post_all(&poster, &run, Arc::new((0..n).collect()), c).await;
    let errors = stats.error_count();
    let acks_per_sec = n as f64 / stats.wall.as_secs_f64();
    let (p50, p90, p99) = (
        stats.quantile_ms(0.50),
        stats.quantile_ms(0.90),
        stats.quantile_ms(0.99),
    );
    let max = stats.latencies.last().copied().map(ms).unwrap_or(0.0);
    println!();
    println!(
        "posting: {n} deliveries in {:.2} s = {acks_per_sec:.0} deliveries/s",
        stats.wall.as_secs_f64()
    );
    println!("ack latency: p50 {p50:.2} ms, p90 {p90:.2} ms, p99 {p99:.2} ms, max {max:.2} ms");
    println!("errors: {errors}");
    for (kind, count) in &stats.errors {
        println!("  {kind}: {count}");
    }
    for s in &stats.error_samples {
        println!("  e.g. {s}");
    }

    println!();
    // When no POST was accepted there is nothing to wait for.
    let wait = if errors == n { 0 } else { args.wait_seconds };
    println!("waiting up to {wait} s for ingest …");
    let deadline = first_post + Duration::from_secs(wait);
    let (visible, done_at) =
        wait_for_drain(&api, &run.contact_prefix(), n as i64, deadline).await?;
    let ingest_seconds = done_at.map(|t| t.duration_since(first_post).as_secs_f64());
    match ingest_seconds {
        Some(s) => println!(
            "ingest: all {n} deliveries visible {s:.2} s after the first POST = {:.0} messages/s",
            n as f64 / s
        ),
        None => {
            println!("ingest: only {visible}/{n} deliveries visible {wait} s after the first POST")
        }
    }

    let (sampled_kb, samples) = match sampler {
        Some(s) => s.finish().await,
        None => (0, 0),
    };
    let hwm_kb = pid.and_then(|p| proc_status_kb(p, "VmHWM"));
    let rss_end_kb = pid.and_then(|p| proc_status_kb(p, "VmRSS"));
    if pid.is_some() {
        println!(
            "server memory: VmHWM {} MB (before the run {} MB), sampled max VmRSS {:.1} MB over {samples} samples, VmRSS now {} MB",
            hwm_kb.map(|k| format!("{:.1}", mb(k))).unwrap_or_else(|| "?".into()),
            hwm_before.map(|k| format!("{:.1}", mb(k))).unwrap_or_else(|| "?".into()),
            mb(sampled_kb),
            rss_end_kb.map(|k| format!("{:.1}", mb(k))).unwrap_or_else(|| "?".into()),
        );
    }
    let peak_rss_kb = hwm_kb.unwrap_or(sampled_kb).max(sampled_kb);

    let mut verified = ingest_seconds.is_some() && visible == n as i64;
    let mut exact = ExactCheck::default();
    let mut dup = DuplicateCheck::default();
    let after_conversations = api.conversation_count(inbox.id).await?;
    println!(
        "contacts of this run: {visible} (expected {n}); inbox conversations {baseline_conversations} → {after_conversations} (+{})",
        after_conversations - baseline_conversations
    );
    if verified {
        exact = exact_check(&api, inbox.id, &run, n).await?;
        println!(
            "exact check: {} pages in {:.1} s: {} conversations of this run holding {} incoming messages (expected {n} and {n})",
            exact.pages,
            exact.elapsed.as_secs_f64(),
            exact.conversations,
            exact.messages
        );
        for p in &exact.problems {
            println!("  problem: {p}");
        }
        verified = exact.ok(n);
        if verified {
            println!("verified: exactly {n} messages, one per delivery, each in its own conversation with the right text and wamid");
        }
    }
    if verified {
        dup = duplicate_check(
            &api,
            &poster,
            &run,
            &exact.display_ids,
            Duration::from_secs(args.wait_seconds),
        )
        .await?;
        println!(
            "duplicates: re-posted {} deliveries (same wamid) + 1 sentinel: {} errors, sentinel {}, contacts still {}, {} problems",
            dup.reposted,
            dup.errors,
            if dup.sentinel_seen { "seen" } else { "NOT seen" },
            dup.contacts_after,
            dup.problems.len()
        );
        for p in dup.problems.iter().take(20) {
            println!("  problem: {p}");
        }
        verified = dup.ok(n);
    }
    println!(
        "result: {}",
        if verified && errors == 0 {
            "PASS"
        } else {
            "FAIL"
        }
    );

    let round = |x: f64| (x * 100.0).round() / 100.0;
    let summary = json!({
        "run_id": run.id.to_string(),
        "deliveries": n,
        "concurrency": c,
        "signed": args.app_secret.is_some(),
        "post_seconds": round(stats.wall.as_secs_f64()),
        "acks_per_sec": round(acks_per_sec),
        "p50_ms": round(p50),
        "p90_ms": round(p90),
        "p99_ms": round(p99),
        "max_ms": round(max),
        "errors": errors,
        "server_pid": pid,
        "peak_rss_mb": pid.map(|_| round(mb(peak_rss_kb))),
        "vm_hwm_mb": hwm_kb.map(|k| round(mb(k))),
        "sampled_max_rss_mb": pid.map(|_| round(mb(sampled_kb))),
        "ingest_seconds": ingest_seconds.map(round),
        "ingest_per_sec": ingest_seconds.map(|s| round(n as f64 / s)),
        "contacts_visible": visible,
        "conversations_found": exact.conversations,
        "messages_found": exact.messages,
        "duplicates_reposted": dup.reposted,
        "duplicates_ok": dup.ok(n),
        "verified": verified,
    });
    println!("{summary}");
    Ok(verified && errors == 0)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("loadgen: {e:#}");
            ExitCode::from(2)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Batched and paced modes
// ---------------------------------------------------------------------------------------------

/// `--batch` and `--rate`: deliveries of several messages each, posted as fast as `-c`
/// allows or on a fixed schedule, with every message's visibility tracked in the database.
mod tracked {
    use super::*;
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Text};

    /// How often the database is polled for newly visible messages.
    const POLL: Duration = Duration::from_millis(10);
    /// Ids below the highest seen minus this are never looked at again: a message committed
    /// that late would be missed. An ingest unit holds at most `UNIT_ITEMS` (100) uncommitted
    /// ids, so this covers five workers (the server's default is two). (At 5,000, each 10 ms
    /// poll re-read up to 5,000 rows: the benchmark's own reads were the database's largest
    /// cost in the paced phase; at 1,000 still a tenth of PostgreSQL's statement time.)
    const ID_MARGIN: i64 = 500;

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        source_id: String,
    }

    /// The body of delivery `i`: `batch` text messages from customers `(i + j * stride) %
    /// customers`, each with its own wamid `wamid.LOADGEN<run>_<i>_<j>` and contact
    /// `lg<run>c<customer:06>x`.
    fn body(run: &Run, i: usize, batch: usize, customers: usize) -> Vec<u8> {
        // Every delivery names its customers in another order.
        let stride = [1, 7, 11, 13, 17, 19, 23, 29][i % 8];
        let mut contacts = Vec::with_capacity(batch);
        let mut messages = Vec::with_capacity(batch);
        for j in 0..batch {
            let c = (i + j * stride) % customers;
            let wa_id = format!("2{:05}{c:06}", run.wa_prefix);
            contacts.push(
                json!({"profile": {"name": format!("lg{}c{c:06}x", run.id)}, "wa_id": wa_id}),
            );
            messages.push(json!({
                "from": wa_id, "id": format!("wamid.LOADGEN{}_{i}_{j}", run.id),
                "timestamp": run.timestamp, "type": "text",
                "text": {"body": format!("load test message {i}/{j}")},
            }));
        }
        serde_json::to_vec(&json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": run.display_phone, "phone_number_id": run.phone_number_id},
                "contacts": contacts, "messages": messages}}]}],
        }))
        .expect("a JSON value serializes")
    }

    fn delivery_of(source_id: &str) -> Option<usize> {
        source_id
            .rsplit_once('_')?
            .0
            .rsplit_once('_')?
            .1
            .parse()
            .ok()
    }

    /// Polls the database until every message is visible or `deadline`; returns, per
    /// delivery, when its messages were last seen becoming visible, and how many were seen.
    fn track(
        url: &str,
        inbox_id: i64,
        prefix: String,
        expected: usize,
        deliveries: usize,
        stop: Arc<AtomicBool>,
    ) -> Result<(Vec<Vec<Instant>>, usize)> {
        let mut conn = PgConnection::establish(url).context("connecting to --database-url")?;
        let mut seen: HashSet<String> = HashSet::new();
        let mut at: Vec<Vec<Instant>> = vec![Vec::new(); deliveries];
        // Messages from before the run are never looked at: the first polls read from the
        // newest id at the start (minus the margin), not the whole inbox.
        #[derive(QueryableByName)]
        struct Max {
            #[diesel(sql_type = BigInt)]
            id: i64,
        }
        let start: Max = diesel::sql_query("SELECT COALESCE(max(id), 0) AS id FROM messages")
            .get_result(&mut conn)?;
        let mut floor = (start.id - ID_MARGIN).max(0);
        let mut max_id = start.id;
        while seen.len() < expected && !stop.load(Ordering::Relaxed) {
            let rows: Vec<Row> = diesel::sql_query(
                "SELECT id, source_id FROM messages WHERE inbox_id = $1 AND id > $2 \
                 AND source_id LIKE $3",
            )
            .bind::<BigInt, _>(inbox_id)
            .bind::<BigInt, _>(floor)
            .bind::<Text, _>(format!("{prefix}%"))
            .load(&mut conn)?;
            let now = Instant::now();
            for r in rows {
                max_id = max_id.max(r.id);
                if seen.insert(r.source_id.clone()) {
                    if let Some(d) = delivery_of(&r.source_id).filter(|d| *d < deliveries) {
                        at[d].push(now);
                    }
                }
            }
            floor = floor.max(max_id - ID_MARGIN);
            std::thread::sleep(POLL);
        }
        Ok((at, seen.len()))
    }

    pub async fn run(args: Args) -> Result<bool> {
        let n = args.deliveries;
        let batch = args.batch.max(1);
        // One-message deliveries come from a customer each, batches from `batch` customers.
        let customers = args
            .customers
            .unwrap_or(if batch > 1 { batch } else { n })
            .max(1);
        let c = args.concurrency.max(1);
        let url = args
            .database_url
            .clone()
            .ok_or_else(|| anyhow!("--batch and --rate need --database-url"))?;
        let base = args.base_url.trim_end_matches('/').to_string();
        let client = reqwest::Client::builder()
            .http1_only()
            .pool_max_idle_per_host(c + 8)
            .timeout(Duration::from_secs(120))
            .build()?;
        let api = Api {
            client: client.clone(),
            base: base.clone(),
            token: args.api_token.clone(),
            account_id: args.account_id,
        };
        let inbox = ensure_inbox(&api, &args.phone, args.app_secret.as_deref()).await?;
        let run = Arc::new(Run::new(&args.phone, &inbox.phone_number_id));
        let expected = n * batch;
        println!(
            "run {}: {n} deliveries × {batch} messages from {customers} customers = {expected} messages, {}",
            run.id,
            if args.rate > 0.0 {
                format!("paced at {} deliveries/s (up to {c} in flight)", args.rate)
            } else {
                format!("{c} in flight")
            }
        );
        let poster = Poster {
            client,
            url: format!("{base}/webhooks/whatsapp/{}", args.phone),
            app_secret: args.app_secret.clone(),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let tracker = {
            let (url, prefix, stop) = (
                url.clone(),
                format!("wamid.LOADGEN{}_", run.id),
                stop.clone(),
            );
            let inbox_id = inbox.id;
            tokio::task::spawn_blocking(move || track(&url, inbox_id, prefix, expected, n, stop))
        };
        // Bodies are built before the clock starts.
        let bodies: Arc<Vec<Vec<u8>>> =
            Arc::new((0..n).map(|i| body(&run, i, batch, customers)).collect());
        let started = Instant::now();
        let posted_at: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
        let next = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..c)
            .map(|_| {
                let (poster, bodies, posted_at, next) = (
                    poster.clone(),
                    bodies.clone(),
                    posted_at.clone(),
                    next.clone(),
                );
                let rate = args.rate;
                tokio::spawn(async move {
                    let mut stats = LoadStats::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= bodies.len() {
                            break;
                        }
                        if rate > 0.0 {
                            tokio::time::sleep_until(
                                (started + Duration::from_secs_f64(i as f64 / rate)).into(),
                            )
                            .await;
                        }
                        posted_at[i].store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                        stats.record(poster.post(bodies[i].clone()).await);
                    }
                    stats
                })
            })
            .collect();
        let mut stats = LoadStats::default();
        for t in join_all(tasks).await {
            stats.merge(t?);
        }
        stats.wall = started.elapsed();
        stats.latencies.sort_unstable();
        let errors = stats.error_count();
        let acks_per_sec = n as f64 / stats.wall.as_secs_f64();
        println!(
            "posting: {n} deliveries in {:.2} s = {acks_per_sec:.0} deliveries/s ({:.0} messages/s); ack p50 {:.2} ms, p99 {:.2} ms; errors {errors}",
            stats.wall.as_secs_f64(),
            expected as f64 / stats.wall.as_secs_f64(),
            stats.quantile_ms(0.5),
            stats.quantile_ms(0.99)
        );
        for s in &stats.error_samples {
            println!("  e.g. {s}");
        }
        let waiter = {
            let stop = stop.clone();
            let wait = Duration::from_secs(args.wait_seconds);
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                stop.store(true, Ordering::Relaxed);
            })
        };
        let (at, seen) = tracker.await??;
        waiter.abort();
        let last = at.iter().flatten().max().copied();
        let drain_seconds = last.map(|t| t.duration_since(started).as_secs_f64());
        // Webhook-to-visible: from a delivery's POST to its last message becoming visible.
        let mut latencies: Vec<f64> = at
            .iter()
            .enumerate()
            .filter_map(|(i, times)| {
                let visible = times.iter().max()?;
                let posted = Duration::from_micros(posted_at[i].load(Ordering::Relaxed));
                Some(ms(visible.duration_since(started).saturating_sub(posted)))
            })
            .collect();
        latencies.sort_by(f64::total_cmp);
        let q = |p: f64| {
            if latencies.is_empty() {
                return 0.0;
            }
            latencies[((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1]
        };
        let per_sec = drain_seconds.map(|s| seen as f64 / s);
        println!(
            "visible: {seen}/{expected} messages, the last {} after the first POST = {} messages/s",
            drain_seconds
                .map(|s| format!("{s:.2} s"))
                .unwrap_or_else(|| "?".into()),
            per_sec
                .map(|r| format!("{r:.0}"))
                .unwrap_or_else(|| "?".into())
        );
        println!(
            "webhook-to-visible (POST sent → last message of the delivery visible, ±{} ms): p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            POLL.as_millis(),
            q(0.5),
            q(0.9),
            q(0.99),
            latencies.last().copied().unwrap_or(0.0)
        );
        #[derive(QueryableByName)]
        struct Counts {
            #[diesel(sql_type = BigInt)]
            messages: i64,
            #[diesel(sql_type = BigInt)]
            distinct_ids: i64,
            #[diesel(sql_type = BigInt)]
            contacts: i64,
        }
        let counts: Counts = {
            let mut conn = PgConnection::establish(&url)?;
            diesel::sql_query(
                "SELECT (SELECT count(*) FROM messages WHERE inbox_id = $1 AND source_id LIKE $2) AS messages, \
                        (SELECT count(DISTINCT source_id) FROM messages WHERE inbox_id = $1 AND source_id LIKE $2) AS distinct_ids, \
                        (SELECT count(*) FROM contacts WHERE name LIKE $3) AS contacts",
            )
            .bind::<BigInt, _>(inbox.id)
            .bind::<Text, _>(format!("wamid.LOADGEN{}_%", run.id))
            .bind::<Text, _>(format!("lg{}c%", run.id))
            .get_result(&mut conn)?
        };
        let verified = errors == 0
            && counts.messages == expected as i64
            && counts.distinct_ids == expected as i64
            && counts.contacts == customers.min(expected) as i64;
        println!(
            "check: {} messages ({} distinct wamids), {} contacts (expected {expected}, {expected}, {}): {}",
            counts.messages,
            counts.distinct_ids,
            counts.contacts,
            customers.min(expected),
            if verified { "PASS" } else { "FAIL" }
        );
        let round = |x: f64| (x * 100.0).round() / 100.0;
        println!(
            "{}",
            json!({
                "run_id": run.id.to_string(), "deliveries": n, "batch": batch,
                "customers": customers, "rate": args.rate, "concurrency": c,
                "acks_per_sec": round(acks_per_sec), "ack_p99_ms": round(stats.quantile_ms(0.99)),
                "errors": errors, "messages_visible": seen,
                "drain_seconds": drain_seconds.map(round),
                "visible_per_sec": per_sec.map(round),
                "visible_p50_ms": round(q(0.5)), "visible_p99_ms": round(q(0.99)),
                "verified": verified,
            })
        );
        Ok(verified)
    }
}
