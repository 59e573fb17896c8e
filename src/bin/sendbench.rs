//! `sendbench`: benchmarks outbound sends against a running Switchboard, with a local Graph
//! API stand-in that answers after a fixed latency.
//!
//! ```text
//! sendbench graph --listen 127.0.0.1:3191 [--latency-ms 20]
//! sendbench run --api-token TOKEN --database-url URL --graph-listen 127.0.0.1:3191
//!               [--base-url http://127.0.0.1:3190] [--account-id 1] [--phone +15550003333]
//!               [-n 2000] [-c 32] [--conversations 200] [--latency-ms 20] [--offered-rate 0]
//! ```
//!
//! `graph` only serves the stand-in (other benchmarks use it so inbox creation can check its
//! credentials). `run` serves the stand-in too; the server under test must have
//! `WHATSAPP_CLOUD_BASE_URL` pointing at `--graph-listen`. A run:
//!
//! 1. creates the inbox through the API (the stand-in accepts any token and lists demo
//!    templates) and opens `--conversations` conversations with a webhook delivery each, so
//!    every customer service window is open;
//! 2. posts `-n` text replies through `POST …/conversations/{id}/messages` with `-c` requests
//!    in flight, round-robin over the conversations, recording when each call started;
//! 3. waits until every reply is `sent`, reading `messages.updated_at` (the moment the send
//!    job stored the wamid) from PostgreSQL at `--database-url`;
//! 4. prints messages/s (replies / (last sent − first API call)), the latency from API call to
//!    `sent` (p50, p90, p99, max, in milliseconds), and the busiest one-second window the
//!    stand-in saw (which must hold to `SEND_RATE_PER_SECOND`), then one JSON line.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use diesel::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(
    name = "sendbench",
    about = "Benchmarks outbound sends with a local Graph stand-in"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve only the Graph stand-in, until killed.
    Graph {
        #[arg(long, default_value = "127.0.0.1:3191")]
        listen: String,
        /// Milliseconds each Graph answer waits.
        #[arg(long, default_value_t = 20)]
        latency_ms: u64,
    },
    /// Serve the stand-in and run the send benchmark.
    Run(RunArgs),
}

#[derive(Debug, Clone, clap::Args)]
struct RunArgs {
    #[arg(long, default_value = "http://127.0.0.1:3190")]
    base_url: String,
    #[arg(long)]
    api_token: String,
    #[arg(long, default_value_t = 1)]
    account_id: i64,
    /// The server's database (read-only use: the `sent` times).
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value = "127.0.0.1:3191")]
    graph_listen: String,
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    #[arg(long, default_value = "+15550003333")]
    phone: String,
    #[arg(short = 'n', default_value_t = 2000)]
    n: usize,
    #[arg(short = 'c', default_value_t = 32)]
    c: usize,
    #[arg(long, default_value_t = 200)]
    conversations: usize,
    #[arg(long, default_value_t = 300)]
    wait_seconds: u64,
    /// Replies offered per second (0: as fast as the API answers). Below the send throttle,
    /// the latency shows the pipeline itself rather than the queue behind the throttle.
    #[arg(long, default_value_t = 0.0)]
    offered_rate: f64,
}

use switchboard::demo::graph::{now_ms, Seen};

async fn serve_graph(listen: String, latency_ms: u64, seen: Arc<Seen>) -> Result<()> {
    switchboard::demo::graph::serve(&listen, Duration::from_millis(latency_ms), seen, || {}).await
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// The largest number of sends inside any one-second window.
fn busiest_second(times_ms: &mut [u64]) -> usize {
    times_ms.sort_unstable();
    let mut best = 0;
    let mut start = 0;
    for end in 0..times_ms.len() {
        while times_ms[end] - times_ms[start] >= 1000 {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

struct Api {
    http: reqwest::Client,
    args: RunArgs,
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!(
            "{}/api/v1/accounts/{}{path}",
            self.args.base_url, self.args.account_id
        )
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("api_access_token", &self.args.api_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path} answered {status}: {v}");
        }
        Ok(v)
    }
}

async fn run(args: RunArgs) -> Result<()> {
    let seen = Arc::new(Seen::default());
    let (listen, latency, seen2) = (args.graph_listen.clone(), args.latency_ms, seen.clone());
    std::thread::spawn(move || {
        if let Err(e) = actix_web::rt::System::new().block_on(serve_graph(listen, latency, seen2)) {
            eprintln!("Graph stand-in stopped: {e:#}");
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let api = Arc::new(Api {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(args.c)
            .build()?,
        args: args.clone(),
    });

    // 1. Inbox and open conversations.
    let inboxes = api.call(reqwest::Method::GET, "/inboxes", None).await?;
    let existing = inboxes["payload"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["phone_number"] == args.phone.as_str()))
        .cloned();
    let inbox = match existing {
        Some(i) => i,
        None => api
            .call(
                reqwest::Method::POST,
                "/inboxes",
                Some(json!({"name": "Send bench", "channel": {"type": "whatsapp", "phone_number": args.phone,
                    "provider": "whatsapp_cloud", "provider_config": {"api_key": "EAAG-sendbench",
                    "phone_number_id": "990000000000001", "business_account_id": "990000000000002"}}})),
            )
            .await
            .context("creating the inbox")?,
    };
    let inbox_id = inbox["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("inbox without id"))?;
    let phone_number_id = inbox["provider_config"]["phone_number_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let run_id = now_ms();
    let ts = (now_ms() / 1000).to_string();
    for i in 0..args.conversations {
        let wa_id = format!("1{:011}", (run_id % 1_000_000) * 1000 + i as u64);
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "990000000000002", "changes": [{
            "field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": args.phone.trim_start_matches('+'), "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": format!("sb{run_id}c{i}")}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": format!("wamid.SBIN{run_id}_{i}"), "timestamp": ts, "type": "text", "text": {"body": "hi"}}]}}]}]});
        let resp = api
            .http
            .post(format!(
                "{}/webhooks/whatsapp/{}",
                args.base_url, args.phone
            ))
            .json(&body)
            .send()
            .await?;
        if resp.status() != 200 {
            bail!("webhook answered {}", resp.status());
        }
    }
    let mut display_ids: Vec<i64> = Vec::new();
    let started = Instant::now();
    while display_ids.len() < args.conversations {
        display_ids.clear();
        let mut page = 1;
        loop {
            let list = api
                .call(
                    reqwest::Method::GET,
                    &format!("/conversations?status=all&inbox_id={inbox_id}&page={page}"),
                    None,
                )
                .await?;
            let rows = list["data"]["payload"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if rows.is_empty() {
                break;
            }
            for c in rows {
                let name = c["meta"]["sender"]["name"].as_str().unwrap_or_default();
                if name.starts_with(&format!("sb{run_id}c")) && c["can_reply"] == true {
                    display_ids.push(c["id"].as_i64().unwrap_or_default());
                }
            }
            page += 1;
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!(
                "only {} of {} conversations appeared",
                display_ids.len(),
                args.conversations
            );
        }
        if display_ids.len() < args.conversations {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    println!(
        "setup: inbox {inbox_id}, {} open conversations",
        display_ids.len()
    );

    // 2. The replies, C in flight.
    let calls: Arc<Mutex<HashMap<i64, u64>>> = Arc::default();
    let next = Arc::new(AtomicU64::new(0));
    let display_ids = Arc::new(display_ids);
    let first_call = now_ms();
    let mut tasks = Vec::new();
    for _ in 0..args.c {
        let (api, calls, next, ids) = (
            api.clone(),
            calls.clone(),
            next.clone(),
            display_ids.clone(),
        );
        let n = args.n as u64;
        let offered_rate = args.offered_rate;
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<(), anyhow::Error>(());
                }
                if offered_rate > 0.0 {
                    // Reply i is due i / rate seconds after the first.
                    let due = first_call + (i as f64 * 1000.0 / offered_rate) as u64;
                    let now = now_ms();
                    if due > now {
                        tokio::time::sleep(Duration::from_millis(due - now)).await;
                    }
                }
                let display_id = ids[(i as usize) % ids.len()];
                let at = now_ms();
                let msg = api
                    .call(
                        reqwest::Method::POST,
                        &format!("/conversations/{display_id}/messages"),
                        Some(json!({"content": format!("reply {i}"), "message_type": "outgoing"})),
                    )
                    .await?;
                let id = msg["id"]
                    .as_i64()
                    .ok_or_else(|| anyhow!("no id in {msg}"))?;
                calls.lock().expect("lock").insert(id, at);
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let api_done = now_ms();

    // 3. Wait for every reply to be sent.
    let ids: Vec<i64> = calls.lock().expect("lock").keys().copied().collect();
    let db_url = args.database_url.clone();
    let wait = Duration::from_secs(args.wait_seconds);
    let sent: Vec<(i64, f64)> = tokio::task::spawn_blocking(move || -> Result<Vec<(i64, f64)>> {
        let mut conn = PgConnection::establish(&db_url)?;
        let started = Instant::now();
        loop {
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                id: i64,
                #[diesel(sql_type = diesel::sql_types::Double)]
                sent_ms: f64,
                #[diesel(sql_type = diesel::sql_types::Text)]
                status: String,
            }
            let rows: Vec<Row> = diesel::sql_query(
                "SELECT id, (extract(epoch FROM updated_at) * 1000)::float8 AS sent_ms, status \
                 FROM messages WHERE id = ANY($1)",
            )
            .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(&ids)
            .load(&mut conn)?;
            let failed = rows.iter().filter(|r| r.status == "failed").count();
            if failed > 0 {
                bail!("{failed} replies failed");
            }
            let done: Vec<(i64, f64)> = rows
                .iter()
                .filter(|r| r.status == "sent")
                .map(|r| (r.id, r.sent_ms))
                .collect();
            if done.len() == ids.len() {
                return Ok(done);
            }
            if started.elapsed() > wait {
                bail!("only {} of {} replies were sent", done.len(), ids.len());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await??;

    // 4. Figures.
    let calls = calls.lock().expect("lock").clone();
    let mut latencies: Vec<f64> = sent
        .iter()
        .map(|(id, sent_ms)| sent_ms - calls[id] as f64)
        .collect();
    latencies.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    let last_sent = sent.iter().map(|(_, t)| *t).fold(0.0, f64::max);
    let seconds = (last_sent - first_call as f64) / 1000.0;
    let rate = args.n as f64 / seconds;
    let mut times = seen.sends_ms.lock().expect("lock").clone();
    let busiest = busiest_second(&mut times);
    println!(
        "sent {} replies over {} conversations in {seconds:.2} s: {rate:.1} messages/s (API calls took {:.2} s)",
        args.n,
        display_ids.len(),
        (api_done - first_call) as f64 / 1000.0
    );
    println!(
        "API call -> sent: p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms (Graph latency {} ms)",
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0),
        args.latency_ms
    );
    println!("busiest one-second window at the Graph stand-in: {busiest} sends");
    println!(
        "{}",
        json!({"n": args.n, "offered_rate": args.offered_rate, "conversations": display_ids.len(), "concurrency": args.c,
               "graph_latency_ms": args.latency_ms, "seconds": seconds, "messages_per_second": rate,
               "p50_ms": percentile(&latencies, 50.0), "p90_ms": percentile(&latencies, 90.0),
               "p99_ms": percentile(&latencies, 99.0), "max_ms": percentile(&latencies, 100.0),
               "busiest_second": busiest})
    );
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Graph { listen, latency_ms } => actix_web::rt::System::new()
            .block_on(serve_graph(listen, latency_ms, Arc::new(Seen::default()))),
        Command::Run(args) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(run(args)),
    }
}
