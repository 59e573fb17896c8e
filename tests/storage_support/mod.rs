//! A real S3-compatible server for the storage tests: the server mode of the PyPI package
//! `moto` (`moto_server`, installed by `ensure_s3_server` in scripts/lib.sh), started once per
//! test binary on a free loopback port. Each test gets its own bucket. The server is stopped
//! when the test binary exits (its stdin pipe closes). Included with
//! `#[path = "storage_support/mod.rs"] mod storage_support;`.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use switchboard::storage::{StorageConfig, StorageService};

struct Server {
    endpoint: String,
    _child: Mutex<Child>,
}

static SERVER: OnceLock<Server> = OnceLock::new();

/// The `moto_server` to run: `$MOTO_SERVER`, `.data/moto/bin/moto_server` (scripts/lib.sh),
/// or `moto_server` on PATH.
fn moto_binary() -> String {
    if let Ok(b) = std::env::var("MOTO_SERVER") {
        if !b.trim().is_empty() {
            return b;
        }
    }
    let local = concat!(env!("CARGO_MANIFEST_DIR"), "/.data/moto/bin/moto_server");
    if std::path::Path::new(local).exists() {
        return local.into();
    }
    "moto_server".into()
}

/// The endpoint (`http://127.0.0.1:PORT`) of this binary's S3 server, started on first use.
pub fn endpoint() -> String {
    SERVER
        .get_or_init(|| {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            // `sh` keeps the server alive while our end of its stdin is open: when the test
            // binary exits, `cat` returns and the server is stopped.
            let script = format!(
                "\"$0\" -H 127.0.0.1 -p {port} >/dev/null 2>&1 & p=$!; cat >/dev/null; kill $p"
            );
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(script)
                .arg(moto_binary())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("sh for moto_server");
            let _ = child.stdin.as_mut().map(|s| s.flush());
            let started = Instant::now();
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    started.elapsed() < Duration::from_secs(90),
                    "moto_server did not start (pip install 'moto[server]'; scripts/test installs it)"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            Server {
                endpoint: format!("http://127.0.0.1:{port}"),
                _child: Mutex::new(child),
            }
        })
        .endpoint
        .clone()
}

/// A fresh, empty bucket on the test server.
pub struct Bucket {
    pub endpoint: String,
    pub name: String,
}

/// Creates a bucket named after `hint` (plus a random suffix).
pub async fn bucket(hint: &str) -> Bucket {
    let endpoint = endpoint();
    let name = format!("sb-{}-{}", hint.replace('_', "-"), rand::random::<u32>());
    let resp = reqwest::Client::new()
        .put(format!("{endpoint}/{name}"))
        .send()
        .await
        .expect("create bucket");
    assert!(
        resp.status().is_success(),
        "create bucket: {}",
        resp.status()
    );
    Bucket { endpoint, name }
}

impl Bucket {
    /// Storage settings for this bucket (`s3_compatible`, path style).
    pub fn config(&self, redirect_presigned: bool) -> StorageConfig {
        StorageConfig {
            service: StorageService::S3Compatible,
            bucket: Some(self.name.clone()),
            access_key_id: Some("test-access-key".into()),
            secret_access_key: Some("test-secret-key".into()),
            region: "us-east-1".into(),
            endpoint: Some(self.endpoint.clone()),
            force_path_style: true,
            redirect_presigned,
            presigned_expiry_seconds: 120,
        }
    }

    /// The same settings as environment variables, for a server process.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("ACTIVE_STORAGE_SERVICE", "s3_compatible"),
            ("S3_BUCKET_NAME", self.name.as_str()),
            ("AWS_ACCESS_KEY_ID", "test-access-key"),
            ("AWS_SECRET_ACCESS_KEY", "test-secret-key"),
            ("AWS_REGION", "us-east-1"),
            ("STORAGE_ENDPOINT", self.endpoint.as_str()),
            ("STORAGE_FORCE_PATH_STYLE", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Every key in the bucket, read straight from the server (not through Switchboard).
    pub async fn keys(&self) -> Vec<String> {
        let xml = reqwest::Client::new()
            .get(format!("{}/{}?list-type=2", self.endpoint, self.name))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let re = regex::Regex::new("<Key>([^<]*)</Key>").unwrap();
        let mut keys: Vec<String> = re.captures_iter(&xml).map(|c| c[1].to_string()).collect();
        keys.sort();
        keys
    }

    /// The object's bytes, read from the server with `object_store`'s own S3 client (objects
    /// are private: moto refuses unsigned reads); `None` when absent.
    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        use object_store::ObjectStore;
        let s3 = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&self.name)
            .with_region("us-east-1")
            .with_access_key_id("test-access-key")
            .with_secret_access_key("test-secret-key")
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .build()
            .unwrap();
        match s3.get(&object_store::path::Path::from(key)).await {
            Ok(r) => Some(r.bytes().await.unwrap().to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("{key}: {e}"),
        }
    }
}

/// Files under `dir` (relative paths, sorted), to show nothing was written locally.
pub fn local_files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                pending.push(p);
            } else if let Ok(r) = p.strip_prefix(dir) {
                out.push(r.to_string_lossy().to_string());
            }
        }
    }
    out.sort();
    out
}

/// Polls `check` every 200 ms for up to 30 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
