//! File storage (issue 15, "Object storage"): every file Switchboard keeps (downloaded media,
//! outgoing attachments, canned response attachments, avatars) is written, read, served and
//! deleted through [`Storage`], over the `object_store` crate.
//!
//! Two backends, chosen with Chatwoot's variable names (`ACTIVE_STORAGE_SERVICE`):
//! - `local` (the default): the directory `STORAGE_DIR`, laid out as before this module
//!   (`attachments/{account}/{attachment}/{name}`, `outgoing/{random}/{name}`,
//!   `avatars/{user}/{random}.{ext}`), so existing files keep working.
//! - `amazon` or `s3_compatible`: an S3 bucket (`S3_BUCKET_NAME`, `AWS_ACCESS_KEY_ID`,
//!   `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `STORAGE_ENDPOINT`, `STORAGE_FORCE_PATH_STYLE`)
//!   with the same keys, so any node sharing the bucket serves any file.
//!
//! Keys are the `storage_path` values kept in the database: relative, `/`-separated, made of
//! ASCII letters, digits, `.`, `-` and `_` (every writer sanitises its names).

use crate::config::ConfigError;
use crate::error::AppError;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{
    Attribute, AttributeValue, Attributes, GetOptions, GetRange, ObjectStore, PutOptions,
    PutPayload,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Which backend `ACTIVE_STORAGE_SERVICE` names (Chatwoot's values; `s3_compatible` needs
/// `STORAGE_ENDPOINT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StorageService {
    /// `local` (default): files under `STORAGE_DIR`.
    #[default]
    Local,
    /// `amazon`: AWS S3 in `AWS_REGION`.
    Amazon,
    /// `s3_compatible`: any S3 API at `STORAGE_ENDPOINT` (MinIO, Ceph, R2, s3s, moto…).
    S3Compatible,
}

/// Storage settings, read by [`crate::config::Config::from_lookup`]. `Default` is the local
/// directory with streaming (no redirects).
#[derive(Clone, Default)]
pub struct StorageConfig {
    /// `ACTIVE_STORAGE_SERVICE`: `local` (default), `amazon` or `s3_compatible`.
    pub service: StorageService,
    /// `S3_BUCKET_NAME`: required for `amazon` and `s3_compatible`.
    pub bucket: Option<String>,
    /// `AWS_ACCESS_KEY_ID`: required for `s3_compatible`; for `amazon`, unset means the
    /// instance's credentials (environment, web identity, instance metadata).
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`: set together with `AWS_ACCESS_KEY_ID`. Never logged.
    pub secret_access_key: Option<String>,
    /// `AWS_REGION`, default `us-east-1`.
    pub region: String,
    /// `STORAGE_ENDPOINT`: the S3 API's base URL (`http(s)://host:port`), required for
    /// `s3_compatible`, optional for `amazon`.
    pub endpoint: Option<String>,
    /// `STORAGE_FORCE_PATH_STYLE`, default false: `https://endpoint/bucket/key` instead of
    /// `https://bucket.endpoint/key` (most self-hosted servers need true).
    pub force_path_style: bool,
    /// `STORAGE_REDIRECT_PRESIGNED`, default false: file routes answer `302` to a presigned
    /// bucket URL (after the same authorization check) instead of streaming the bytes through
    /// Switchboard. Ignored with the local backend.
    pub redirect_presigned: bool,
    /// `STORAGE_PRESIGNED_EXPIRY_SECONDS`, default 300 (1 to 604800): how long a presigned
    /// URL stays valid.
    pub presigned_expiry_seconds: u64,
}

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageConfig")
            .field("service", &self.service)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "[redacted]"),
            )
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("force_path_style", &self.force_path_style)
            .field("redirect_presigned", &self.redirect_presigned)
            .field("presigned_expiry_seconds", &self.presigned_expiry_seconds)
            .finish()
    }
}

fn invalid(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

impl StorageConfig {
    /// Reads the storage variables through `get` (empty values already count as unset).
    /// Errors name the variable: an unknown service, a missing bucket, endpoint or key, an
    /// endpoint that is not an http(s) URL, a bad boolean or number.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let service = match get("ACTIVE_STORAGE_SERVICE")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("local") => StorageService::Local,
            Some("amazon") => StorageService::Amazon,
            Some("s3_compatible") => StorageService::S3Compatible,
            Some(other) => {
                return Err(invalid(
                    "ACTIVE_STORAGE_SERVICE",
                    format!("must be local, amazon or s3_compatible, got {other:?}"),
                ))
            }
        };
        let bool_var = |name: &'static str| -> Result<bool, ConfigError> {
            match get(name).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
                None | Some("false" | "0" | "no" | "off") => Ok(false),
                Some("true" | "1" | "yes" | "on") => Ok(true),
                Some(other) => Err(invalid(
                    name,
                    format!("must be true or false, got {other:?}"),
                )),
            }
        };
        let presigned_expiry_seconds = match get("STORAGE_PRESIGNED_EXPIRY_SECONDS") {
            None => 300,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if (1..=604_800).contains(&n) => n,
                _ => {
                    return Err(invalid(
                        "STORAGE_PRESIGNED_EXPIRY_SECONDS",
                        format!("must be a number of seconds from 1 to 604800 (7 days, S3's limit), got {v:?}"),
                    ))
                }
            },
        };
        let mut config = StorageConfig {
            service,
            bucket: get("S3_BUCKET_NAME").map(|v| v.trim().to_string()),
            access_key_id: get("AWS_ACCESS_KEY_ID").map(|v| v.trim().to_string()),
            secret_access_key: get("AWS_SECRET_ACCESS_KEY"),
            region: get("AWS_REGION")
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| "us-east-1".into()),
            endpoint: get("STORAGE_ENDPOINT").map(|v| v.trim().trim_end_matches('/').to_string()),
            force_path_style: bool_var("STORAGE_FORCE_PATH_STYLE")?,
            redirect_presigned: bool_var("STORAGE_REDIRECT_PRESIGNED")?,
            presigned_expiry_seconds,
        };
        if service == StorageService::Local {
            config.redirect_presigned = false;
            return Ok(config);
        }
        let which = if service == StorageService::Amazon {
            "amazon"
        } else {
            "s3_compatible"
        };
        if config.bucket.is_none() {
            return Err(invalid(
                "S3_BUCKET_NAME",
                format!("is required with ACTIVE_STORAGE_SERVICE={which}"),
            ));
        }
        match &config.endpoint {
            None if service == StorageService::S3Compatible => {
                return Err(invalid(
                    "STORAGE_ENDPOINT",
                    "is required with ACTIVE_STORAGE_SERVICE=s3_compatible (the S3 API's URL, e.g. http://127.0.0.1:9000)",
                ))
            }
            None => {}
            Some(raw) => {
                let ok = url::Url::parse(raw)
                    .ok()
                    .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
                if !ok {
                    return Err(invalid(
                        "STORAGE_ENDPOINT",
                        format!("must be an http(s) URL with a host, got {raw:?}"),
                    ));
                }
            }
        }
        match (&config.access_key_id, &config.secret_access_key) {
            (Some(_), Some(_)) => {}
            (None, None) if service == StorageService::Amazon => {}
            (None, _) => {
                return Err(invalid(
                    "AWS_ACCESS_KEY_ID",
                    format!(
                    "is required with ACTIVE_STORAGE_SERVICE={which} (with AWS_SECRET_ACCESS_KEY)"
                ),
                ))
            }
            (Some(_), None) => {
                return Err(invalid(
                    "AWS_SECRET_ACCESS_KEY",
                    "is required when AWS_ACCESS_KEY_ID is set",
                ))
            }
        }
        Ok(config)
    }
}

/// A failed storage operation.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No object under this key.
    #[error("file not found in storage: {0}")]
    NotFound(String),
    /// A key that is not a relative `/`-separated path of safe names.
    #[error("invalid storage key {0:?}")]
    InvalidKey(String),
    /// The backend failed (disk, network, credentials, bucket).
    #[error("storage failed: {0}")]
    Backend(String),
}

impl From<object_store::Error> for StorageError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { path, .. } => StorageError::NotFound(path),
            other => StorageError::Backend(other.to_string()),
        }
    }
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(_) => AppError::NotFound(e.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// What [`Storage::head`] tells about a stored object.
#[derive(Clone, Debug)]
pub struct Head {
    /// Size in bytes.
    pub size: u64,
    /// The hex sha256 recorded with the object when it was written (bucket objects written by
    /// Switchboard carry it as `x-amz-meta-sha256`); `None` on the local disk.
    pub sha256: Option<String>,
}

/// An object (or a byte range of it) being read.
pub struct Object {
    /// The whole object's size in bytes.
    pub size: u64,
    /// The byte range the stream holds (`0..size` when no range was asked).
    pub range: std::ops::Range<u64>,
    /// The bytes.
    pub stream: BoxStream<'static, Result<Bytes, std::io::Error>>,
}

/// The configured file store, cheap to clone (shared by the whole process).
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    s3: Option<Arc<AmazonS3>>,
    local_root: Option<PathBuf>,
    redirect: Option<Duration>,
    label: String,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

/// Parses a storage key. Errors: [`StorageError::InvalidKey`] for an empty, absolute or
/// `..`-bearing key, or one with characters outside the safe set.
pub fn key(raw: &str) -> Result<Key, StorageError> {
    if unsafe_key(raw) {
        return Err(StorageError::InvalidKey(raw.into()));
    }
    Key::parse(raw).map_err(|_| StorageError::InvalidKey(raw.into()))
}

fn unsafe_key(raw: &str) -> bool {
    raw.is_empty()
        || raw.starts_with('/')
        || raw.contains('\\')
        || raw.contains('\0')
        || raw
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
}

impl Storage {
    /// The store for `storage_dir` (local backend) or the bucket `config` names. Creates the
    /// local directory when missing. Errors: the directory cannot be created, or the S3
    /// settings are rejected by the client.
    pub fn new(storage_dir: &Path, config: &StorageConfig) -> Result<Self, StorageError> {
        match config.service {
            StorageService::Local => {
                std::fs::create_dir_all(storage_dir).map_err(|e| {
                    StorageError::Backend(format!(
                        "STORAGE_DIR {} cannot be created: {e}",
                        storage_dir.display()
                    ))
                })?;
                let local = LocalFileSystem::new_with_prefix(storage_dir).map_err(|e| {
                    StorageError::Backend(format!("STORAGE_DIR {}: {e}", storage_dir.display()))
                })?;
                Ok(Storage {
                    store: Arc::new(local),
                    s3: None,
                    local_root: Some(storage_dir.to_path_buf()),
                    redirect: None,
                    label: format!("local directory {}", storage_dir.display()),
                })
            }
            StorageService::Amazon | StorageService::S3Compatible => {
                let bucket = config.bucket.clone().unwrap_or_default();
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(&bucket)
                    .with_region(&config.region)
                    .with_virtual_hosted_style_request(!config.force_path_style);
                if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key)
                {
                    builder = builder
                        .with_access_key_id(id)
                        .with_secret_access_key(secret);
                } else {
                    // The instance's credentials (environment, web identity, IMDS).
                    builder = AmazonS3Builder::from_env()
                        .with_bucket_name(&bucket)
                        .with_region(&config.region)
                        .with_virtual_hosted_style_request(!config.force_path_style);
                }
                if let Some(endpoint) = &config.endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                let s3 = Arc::new(
                    builder
                        .build()
                        .map_err(|e| StorageError::Backend(format!("S3 settings: {e}")))?,
                );
                let label = format!(
                    "bucket {bucket} at {}",
                    config
                        .endpoint
                        .clone()
                        .unwrap_or_else(|| format!("AWS {}", config.region))
                );
                Ok(Storage {
                    store: s3.clone(),
                    s3: Some(s3),
                    local_root: None,
                    redirect: config
                        .redirect_presigned
                        .then(|| Duration::from_secs(config.presigned_expiry_seconds)),
                    label,
                })
            }
        }
    }

    /// The store [`crate::config::Config`] describes (`STORAGE_DIR` and the storage variables).
    pub fn from_config(config: &crate::config::Config) -> Result<Self, StorageError> {
        Self::new(&config.storage_dir, &config.storage)
    }

    /// "local directory …" or "bucket … at …", for logs and the CLI.
    pub fn describe(&self) -> &str {
        &self.label
    }

    /// True for an S3 bucket.
    pub fn is_bucket(&self) -> bool {
        self.s3.is_some()
    }

    /// The file behind `key` on the local disk (local backend only; `None` for a bucket or a
    /// key that is absolute or climbs with `..`).
    pub fn local_path(&self, raw_key: &str) -> Option<PathBuf> {
        let root = self.local_root.as_ref()?;
        if unsafe_key(raw_key) {
            return None;
        }
        Some(root.join(raw_key))
    }

    /// How long presigned redirects live, when file routes redirect (`STORAGE_REDIRECT_PRESIGNED`
    /// with a bucket); `None` when they stream.
    pub fn redirect_expiry(&self) -> Option<Duration> {
        self.redirect
    }

    fn attributes(&self, content_type: Option<&str>, sha256: Option<&str>) -> Attributes {
        let mut attributes = Attributes::new();
        if self.s3.is_some() {
            if let Some(ct) = content_type {
                attributes.insert(Attribute::ContentType, AttributeValue::from(ct.to_string()));
            }
            if let Some(sum) = sha256 {
                attributes.insert(
                    Attribute::Metadata("sha256".into()),
                    AttributeValue::from(sum.to_string()),
                );
            }
        }
        attributes
    }

    /// Writes `bytes` under `key` (replacing any object there), recording `content_type` and
    /// the bytes' sha256 with a bucket object. The local backend writes a temporary file and
    /// renames it, so readers never see half a file.
    pub async fn put(
        &self,
        raw_key: &str,
        bytes: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), StorageError> {
        use sha2::Digest;
        let location = key(raw_key)?;
        let sum = self
            .s3
            .is_some()
            .then(|| hex::encode(sha2::Sha256::digest(&bytes)));
        let opts = PutOptions {
            attributes: self.attributes(content_type, sum.as_deref()),
            ..Default::default()
        };
        self.store
            .put_opts(&location, PutPayload::from_bytes(bytes), opts)
            .await?;
        Ok(())
    }

    /// A streaming writer for `key`: a file up to [`UPLOAD_PART_BYTES`] is written in one go,
    /// a larger one as a multipart upload with at most two parts in flight (so an upload
    /// holds at most about three parts in memory). Call [`Upload::finish`] to commit,
    /// [`Upload::abort`] to drop what was written.
    pub fn upload(
        &self,
        raw_key: &str,
        content_type: Option<&str>,
    ) -> Result<Upload, StorageError> {
        let location = key(raw_key)?;
        let writer = object_store::buffered::BufWriter::with_capacity(
            self.store.clone(),
            location,
            UPLOAD_PART_BYTES,
        )
        .with_max_concurrency(2)
        .with_attributes(self.attributes(content_type, None));
        Ok(Upload {
            writer,
            storage: self.clone(),
            key: raw_key.to_string(),
        })
    }

    /// The whole object in memory (outgoing attachments for Graph's upload, the migrate
    /// command). Errors: [`StorageError::NotFound`], or the backend's.
    pub async fn read(&self, raw_key: &str) -> Result<Bytes, StorageError> {
        let location = key(raw_key)?;
        Ok(self.store.get(&location).await?.bytes().await?)
    }

    /// Streams the object, or `range` of it (`start..end`, end exclusive, clamped to the
    /// object). Errors: [`StorageError::NotFound`], or the backend's.
    pub async fn get(
        &self,
        raw_key: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<Object, StorageError> {
        let location = key(raw_key)?;
        let opts = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let result = self.store.get_opts(&location, opts).await?;
        let size = result.meta.size;
        let range = result.range.clone();
        let stream = result
            .into_stream()
            .map(|chunk| chunk.map_err(std::io::Error::other))
            .boxed();
        Ok(Object {
            size,
            range,
            stream,
        })
    }

    /// Size (and recorded sha256) of the object, `None` when there is none.
    pub async fn head(&self, raw_key: &str) -> Result<Option<Head>, StorageError> {
        let location = key(raw_key)?;
        let opts = GetOptions {
            head: true,
            ..Default::default()
        };
        match self.store.get_opts(&location, opts).await {
            Ok(result) => Ok(Some(Head {
                size: result.meta.size,
                sha256: result
                    .attributes
                    .get(&Attribute::Metadata("sha256".into()))
                    .map(|v| v.to_string()),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes the object (absent is fine). On the local disk the emptied directory goes too,
    /// as before this module.
    pub async fn delete(&self, raw_key: &str) -> Result<(), StorageError> {
        let location = key(raw_key)?;
        match self.store.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(dir) = self
            .local_path(raw_key)
            .and_then(|p| p.parent().map(Path::to_path_buf))
        {
            let _ = tokio::fs::remove_dir(dir).await;
        }
        Ok(())
    }

    /// Deletes each key, logging (not returning) failures: used after the database change
    /// that dropped the files' rows has committed.
    pub async fn delete_all<S: AsRef<str>>(&self, keys: &[S]) {
        for k in keys {
            if let Err(e) = self.delete(k.as_ref()).await {
                tracing::warn!(key = k.as_ref(), error = %e, "could not delete a stored file");
            }
        }
    }

    /// A presigned `GET` URL for `key`, valid for `expires_in`; `None` on the local disk.
    pub async fn presigned_get(
        &self,
        raw_key: &str,
        expires_in: Duration,
    ) -> Result<Option<url::Url>, StorageError> {
        use object_store::signer::Signer;
        let Some(s3) = &self.s3 else {
            return Ok(None);
        };
        let location = key(raw_key)?;
        Ok(Some(
            s3.signed_url(reqwest::Method::GET, &location, expires_in)
                .await?,
        ))
    }
}

/// Part size of streamed uploads (S3 wants at least 5 MiB per part but the last).
pub const UPLOAD_PART_BYTES: usize = 8 * 1024 * 1024;

/// A streaming write in progress ([`Storage::upload`]).
pub struct Upload {
    writer: object_store::buffered::BufWriter,
    storage: Storage,
    key: String,
}

impl Upload {
    /// Appends `chunk`.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), StorageError> {
        use tokio::io::AsyncWriteExt;
        self.writer
            .write_all(chunk)
            .await
            .map_err(|e| StorageError::Backend(e.to_string()))
    }

    /// Commits the object.
    pub async fn finish(mut self) -> Result<(), StorageError> {
        use tokio::io::AsyncWriteExt;
        self.writer
            .shutdown()
            .await
            .map_err(|e| StorageError::Backend(e.to_string()))
    }

    /// Drops what was written (nothing is stored; on the local disk the directory a
    /// multipart upload created goes too).
    pub async fn abort(mut self) {
        let _ = self.writer.abort().await;
        let _ = self.storage.delete(&self.key).await;
    }
}

/// One line of the `storage migrate` summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MigrateSummary {
    /// Files copied to the bucket.
    pub copied: u64,
    /// Files already in the bucket with the same size and sha256.
    pub skipped: u64,
    /// Files that could not be read or written (named on stderr).
    pub failed: u64,
    /// Bytes copied.
    pub bytes: u64,
}

/// `switchboard storage migrate`: copies every file under `local_dir` (except `skip_dir`, the
/// mail directory, and object_store's half-written `name#N` temporaries) to `target` under
/// the same key. Safe to re-run: an object already there with the same size and sha256 (or
/// the same size when the object records no sha256) is skipped. `progress` gets one line per
/// file. Errors only when `target` is not a bucket or `local_dir` cannot be listed.
pub async fn migrate_local_to(
    local_dir: &Path,
    skip_dir: Option<&Path>,
    target: &Storage,
    mut progress: impl FnMut(&str),
) -> Result<MigrateSummary, StorageError> {
    use sha2::Digest;
    if !target.is_bucket() {
        return Err(StorageError::Backend(
            "storage migrate copies STORAGE_DIR to a bucket: set ACTIVE_STORAGE_SERVICE=amazon or s3_compatible and the S3 variables".into(),
        ));
    }
    let skip = skip_dir.and_then(|d| std::fs::canonicalize(d).ok());
    let mut files = Vec::new();
    let mut pending = vec![local_dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        if skip.is_some() && std::fs::canonicalize(&dir).ok() == skip {
            continue;
        }
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| StorageError::Backend(format!("cannot list {}: {e}", dir.display())))?;
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push(path),
                Ok(t) if t.is_file() => files.push(path),
                _ => {}
            }
        }
    }
    files.sort();
    let total = files.len();
    let mut summary = MigrateSummary::default();
    for (i, path) in files.iter().enumerate() {
        let Ok(relative) = path.strip_prefix(local_dir) else {
            continue;
        };
        let raw: String = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().to_string())
            .collect::<Vec<_>>()
            .join("/");
        let n = i + 1;
        if raw.rsplit('/').next().is_some_and(|name| {
            name.rsplit_once('#')
                .is_some_and(|(_, d)| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
        }) {
            continue;
        }
        if key(&raw).is_err() {
            summary.failed += 1;
            progress(&format!(
                "[{n}/{total}] FAILED {raw}: not a valid storage key"
            ));
            continue;
        }
        let bytes = match tokio::fs::read(path).await {
            Ok(b) => Bytes::from(b),
            Err(e) => {
                summary.failed += 1;
                progress(&format!("[{n}/{total}] FAILED {raw}: {e}"));
                continue;
            }
        };
        let sum = hex::encode(sha2::Sha256::digest(&bytes));
        match target.head(&raw).await {
            Ok(Some(h))
                if h.size == bytes.len() as u64 && h.sha256.as_deref().is_none_or(|s| s == sum) =>
            {
                summary.skipped += 1;
                progress(&format!(
                    "[{n}/{total}] skipped {raw} (already in the bucket)"
                ));
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                summary.failed += 1;
                progress(&format!("[{n}/{total}] FAILED {raw}: {e}"));
                continue;
            }
        }
        let size = bytes.len() as u64;
        let content_type = guess_content_type(&raw);
        match target.put(&raw, bytes, content_type).await {
            Ok(()) => {
                summary.copied += 1;
                summary.bytes += size;
                progress(&format!("[{n}/{total}] copied {raw} ({size} bytes)"));
            }
            Err(e) => {
                summary.failed += 1;
                progress(&format!("[{n}/{total}] FAILED {raw}: {e}"));
            }
        }
    }
    Ok(summary)
}

/// A content type from a file name's extension (for objects copied by the migrate command;
/// the routes serving them set the type from the database anyway).
pub fn guess_content_type(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "3gp" => "video/3gpp",
        "ogg" | "opus" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "amr" => "audio/amr",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned().filter(|v| !v.trim().is_empty())
    }

    #[test]
    fn local_is_the_default() {
        let c = StorageConfig::from_lookup(&lookup(&[])).unwrap();
        assert_eq!(c.service, StorageService::Local);
        assert!(!c.redirect_presigned);
        assert_eq!(c.presigned_expiry_seconds, 300);
    }

    #[test]
    fn s3_compatible_needs_bucket_endpoint_and_keys() {
        let e = StorageConfig::from_lookup(&lookup(&[("ACTIVE_STORAGE_SERVICE", "s3_compatible")]))
            .unwrap_err();
        assert_eq!(e.variable, "S3_BUCKET_NAME");
        let e = StorageConfig::from_lookup(&lookup(&[
            ("ACTIVE_STORAGE_SERVICE", "s3_compatible"),
            ("S3_BUCKET_NAME", "b"),
        ]))
        .unwrap_err();
        assert_eq!(e.variable, "STORAGE_ENDPOINT");
        let e = StorageConfig::from_lookup(&lookup(&[
            ("ACTIVE_STORAGE_SERVICE", "s3_compatible"),
            ("S3_BUCKET_NAME", "b"),
            ("STORAGE_ENDPOINT", "ftp://x"),
        ]))
        .unwrap_err();
        assert_eq!(e.variable, "STORAGE_ENDPOINT");
        let e = StorageConfig::from_lookup(&lookup(&[
            ("ACTIVE_STORAGE_SERVICE", "s3_compatible"),
            ("S3_BUCKET_NAME", "b"),
            ("STORAGE_ENDPOINT", "http://127.0.0.1:9000"),
        ]))
        .unwrap_err();
        assert_eq!(e.variable, "AWS_ACCESS_KEY_ID");
        let c = StorageConfig::from_lookup(&lookup(&[
            ("ACTIVE_STORAGE_SERVICE", "s3_compatible"),
            ("S3_BUCKET_NAME", "b"),
            ("STORAGE_ENDPOINT", "http://127.0.0.1:9000/"),
            ("AWS_ACCESS_KEY_ID", "id"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("STORAGE_FORCE_PATH_STYLE", "true"),
            ("STORAGE_REDIRECT_PRESIGNED", "true"),
            ("STORAGE_PRESIGNED_EXPIRY_SECONDS", "60"),
        ]))
        .unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(c.force_path_style && c.redirect_presigned);
        assert_eq!(c.presigned_expiry_seconds, 60);
        assert!(!format!("{c:?}").contains("secret\""));
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (pairs, var) in [
            (
                vec![("ACTIVE_STORAGE_SERVICE", "gcs")],
                "ACTIVE_STORAGE_SERVICE",
            ),
            (
                vec![("STORAGE_FORCE_PATH_STYLE", "maybe")],
                "STORAGE_FORCE_PATH_STYLE",
            ),
            (
                vec![("STORAGE_PRESIGNED_EXPIRY_SECONDS", "0")],
                "STORAGE_PRESIGNED_EXPIRY_SECONDS",
            ),
            (
                vec![("STORAGE_PRESIGNED_EXPIRY_SECONDS", "99999999999999999999")],
                "STORAGE_PRESIGNED_EXPIRY_SECONDS",
            ),
            (
                vec![
                    ("ACTIVE_STORAGE_SERVICE", "amazon"),
                    ("S3_BUCKET_NAME", "b"),
                    ("AWS_ACCESS_KEY_ID", "id"),
                ],
                "AWS_SECRET_ACCESS_KEY",
            ),
        ] {
            let e = StorageConfig::from_lookup(&lookup(&pairs)).unwrap_err();
            assert_eq!(e.variable, var, "{pairs:?}");
        }
        // amazon without keys: the instance's credentials.
        StorageConfig::from_lookup(&lookup(&[
            ("ACTIVE_STORAGE_SERVICE", "amazon"),
            ("S3_BUCKET_NAME", "b"),
        ]))
        .unwrap();
    }

    #[test]
    fn keys_are_relative_safe_paths() {
        for bad in ["", "/etc/passwd", "a/../b", "a//b", "a\\b", "./a", "a/"] {
            assert!(key(bad).is_err(), "{bad}");
        }
        key("attachments/1/2/photo_1.jpg").unwrap();
        key("outgoing/abc/file").unwrap();
    }
}
