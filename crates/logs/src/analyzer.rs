//! The analyzer: list a source, register what is new, and process the waiting files in
//! batches: read (with retries on transient errors), decompress, parse and aggregate each file
//! (a bad file is quarantined whole), then commit the batch's aggregates and every file's state
//! in one transaction. One analyzer per source at a time, by a lease that expires if the
//! analyzer dies.

use std::sync::Arc;
use std::time::{Duration, Instant};

use adpool_core::{OrgId, SharedClock};
use adpool_store::{Db, Dialect};
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt};

use crate::aggregate::Aggregates;
use crate::store::{
    FileOutcome, Listed, claim_files, commit_batch, commit_batch_in, load_metadata, register,
    release_lease, take_lease,
};
use crate::{Compression, LogsError, aggregate_object};

/// How long a lease lasts without renewal (renewed every batch).
const LEASE_MS: i64 = 120_000;
/// Reads of one object before it is marked failed.
const READ_ATTEMPTS: u32 = 4;

/// Where S3 sources connect and with which credentials. With `from_environment` (the server's
/// own settings), every field left empty falls back to the usual AWS environment variables
/// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), then to AWS's defaults; without it (an organization's own credentials)
/// nothing comes from the server's environment.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// `https://s3.ap-northeast-2.amazonaws.com`, `http://127.0.0.1:9000` (http is allowed only
    /// when the endpoint says so), ...
    pub endpoint: Option<String>,
    /// `ap-northeast-2`, ...
    pub region: Option<String>,
    /// The access key id.
    pub access_key_id: Option<String>,
    /// The secret access key (never shown by `Debug`).
    pub secret_access_key: Option<String>,
    /// Fill what is unset from the server's AWS environment (the server's own settings only).
    pub from_environment: bool,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "(set)"),
            )
            .field("from_environment", &self.from_environment)
            .finish()
    }
}

/// A log source: a local folder (`/path`, `file:///path`) or an S3-compatible bucket
/// (`s3://bucket/prefix`).
#[derive(Debug, Clone)]
pub struct Source {
    /// The URL as given, normalised (the registry's key).
    pub url: String,
    /// The canonical folder of a folder source.
    folder: Option<std::path::PathBuf>,
    store: Arc<dyn ObjectStore>,
}

impl Source {
    /// Opens a folder, or a bucket with the AWS environment variables' settings.
    pub fn open(url: &str) -> Result<Source, LogsError> {
        Source::open_with(
            url,
            &S3Settings {
                from_environment: true,
                ..S3Settings::default()
            },
        )
    }

    /// The canonical folder of a folder source (`None` for a bucket).
    pub fn folder(&self) -> Option<&std::path::Path> {
        self.folder.as_deref()
    }

    /// Opens a source URL; `s3` settings apply to `s3://` URLs.
    pub fn open_with(url: &str, s3: &S3Settings) -> Result<Source, LogsError> {
        let trimmed = url.trim();
        let error = |message: String| LogsError::Source {
            source_url: trimmed.to_owned(),
            message,
        };
        if let Some(rest) = trimmed.strip_prefix("s3://") {
            return open_bucket(rest, s3).map_err(error);
        }
        let path = match trimmed.strip_prefix("file://") {
            Some(rest) => std::path::PathBuf::from(rest),
            None if trimmed.contains("://") => {
                return Err(error(
                    "use a folder path, file:///absolute/path or s3://bucket/prefix".into(),
                ));
            }
            None => std::path::PathBuf::from(trimmed),
        };
        let canonical = std::fs::canonicalize(&path)
            .map_err(|e| error(format!("the folder cannot be opened: {e}")))?;
        if !canonical.is_dir() {
            return Err(error("is not a folder".into()));
        }
        let store = object_store::local::LocalFileSystem::new_with_prefix(&canonical)
            .map_err(|e| error(e.to_string()))?;
        Ok(Source {
            url: format!("file://{}", canonical.display()),
            store: Arc::new(store),
            folder: Some(canonical),
        })
    }

    /// Every object, in key order.
    pub async fn list(&self) -> Result<Vec<Listed>, LogsError> {
        let mut listed: Vec<Listed> = self
            .store
            .list(None)
            .map_ok(|meta| Listed {
                key: meta.location.to_string(),
                size: i64::try_from(meta.size).unwrap_or(i64::MAX),
                version: meta
                    .e_tag
                    .clone()
                    .unwrap_or_else(|| meta.last_modified.timestamp_millis().to_string()),
            })
            .try_collect()
            .await
            .map_err(|e| LogsError::Source {
                source_url: self.url.clone(),
                message: format!("listing failed: {e}{}", storage_hint(&e.to_string())),
            })?;
        listed.retain(|l| {
            !l.key
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .starts_with('.')
        });
        if let Some(folder) = &self.folder {
            // A symlink inside the folder must not lead the analyzer out of it.
            listed.retain(|l| {
                std::fs::canonicalize(folder.join(&l.key))
                    .is_ok_and(|path| path.starts_with(folder))
            });
        }
        listed.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(listed)
    }

    /// The bytes of one object, retried with exponential backoff (100 ms, 200 ms, 400 ms).
    pub async fn read(&self, key: &str) -> Result<Vec<u8>, String> {
        let path = object_store::path::Path::from(key);
        let mut delay = Duration::from_millis(100);
        let mut last = String::new();
        for attempt in 1..=READ_ATTEMPTS {
            match async { self.store.get(&path).await?.bytes().await }.await {
                Ok(bytes) => return Ok(bytes.to_vec()),
                Err(object_store::Error::NotFound { .. }) => {
                    return Err(format!("{key} disappeared from the source"));
                }
                Err(error) => {
                    last = error.to_string();
                    if attempt < READ_ATTEMPTS {
                        tracing::warn!(%key, attempt, %last, "reading a log file failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay *= 2;
                    }
                }
            }
        }
        Err(format!("{key}: {last} (after {READ_ATTEMPTS} attempts)"))
    }
}

/// `bucket/prefix` (after `s3://`) as a source whose keys are relative to the prefix. Path-style
/// requests, so S3-compatible servers (MinIO, Ceph, s3s) work as well as AWS.
fn open_bucket(rest: &str, s3: &S3Settings) -> Result<Source, String> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_matches('/');
    if bucket.is_empty() {
        return Err("no bucket: write s3://bucket/prefix".into());
    }
    adpool_jobs::install_tls_provider();
    let builder = if s3.from_environment {
        object_store::aws::AmazonS3Builder::from_env()
    } else {
        object_store::aws::AmazonS3Builder::new()
    };
    let mut builder = builder
        .with_bucket_name(bucket)
        .with_virtual_hosted_style_request(false)
        // The analyzer retries reads itself; the client only rides out short blips.
        .with_retry(object_store::RetryConfig {
            backoff: object_store::BackoffConfig::default(),
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
        });
    if let Some(endpoint) = s3.endpoint.as_deref().filter(|e| !e.is_empty()) {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    } else if s3.from_environment
        && std::env::var("AWS_ENDPOINT_URL")
            .or_else(|_| std::env::var("AWS_ENDPOINT"))
            .is_ok_and(|e| e.starts_with("http://"))
    {
        builder = builder.with_allow_http(true);
    }
    if let Some(region) = s3.region.as_deref().filter(|r| !r.is_empty()) {
        builder = builder.with_region(region);
    }
    if let Some(key) = s3.access_key_id.as_deref().filter(|k| !k.is_empty()) {
        builder = builder.with_access_key_id(key);
    }
    if let Some(secret) = s3.secret_access_key.as_deref().filter(|k| !k.is_empty()) {
        builder = builder.with_secret_access_key(secret);
    }
    let bucket_store = builder.build().map_err(|e| e.to_string())?;
    let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
        Arc::new(bucket_store)
    } else {
        Arc::new(object_store::prefix::PrefixStore::new(bucket_store, prefix))
    };
    let url = if prefix.is_empty() {
        format!("s3://{bucket}")
    } else {
        format!("s3://{bucket}/{prefix}")
    };
    Ok(Source {
        url,
        store,
        folder: None,
    })
}

/// What to check, for the storage errors people meet first.
fn storage_hint(message: &str) -> &'static str {
    if message.contains("error sending request") || message.contains("onnect") {
        " (is the endpoint reachable? s3_endpoint or AWS_ENDPOINT_URL)"
    } else if has_status(message, "403") || message.contains("SignatureDoesNotMatch") {
        " (check the access key and secret: s3_access_key_id / s3_secret_access_key or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
    } else if message.contains("NoSuchBucket") || has_status(message, "404") {
        " (check the bucket name and the endpoint)"
    } else {
        ""
    }
}

/// Whether `message` has the HTTP status `code` as a number of its own: not inside another
/// number such as an elapsed time (`in 450.350404ms` once read as a 404).
fn has_status(message: &str, code: &str) -> bool {
    let part_of_number = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '.');
    message.match_indices(code).any(|(at, _)| {
        !part_of_number(message[..at].chars().next_back())
            && !part_of_number(message[at + code.len()..].chars().next())
    })
}

#[cfg(test)]
mod storage_hint_tests {
    use super::storage_hint;

    #[test]
    fn a_status_inside_an_elapsed_time_is_not_a_status() {
        let dead = "Error performing GET http://127.0.0.1:9/adlogs?list-type=2 in 450.350404ms, after 3 retries - HTTP error: error sending request";
        assert!(storage_hint(dead).contains("reachable"));
        assert!(
            storage_hint("Client error with status 403 Forbidden: SignatureDoesNotMatch")
                .contains("secret")
        );
        assert!(storage_hint("status 404 Not Found").contains("bucket name"));
        assert!(storage_hint("took 1.404 s").is_empty());
    }
}

/// Options of a run.
#[derive(Debug, Clone, Copy)]
pub struct AnalyzeOptions {
    /// Files per batch (one transaction each).
    pub batch_size: usize,
    /// Files read and parsed at once.
    pub workers: usize,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            batch_size: 10,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct AnalyzeSummary {
    /// Objects listed.
    pub listed: u64,
    /// Files counted now.
    pub done: u64,
    /// Objects that are not log files (never counted), in this run's listing.
    pub skipped: Vec<String>,
    /// Files refused whole (key, line, reason).
    pub quarantined: Vec<(String, u64, String)>,
    /// Files that could not be read (key, error).
    pub failed: Vec<(String, String)>,
    /// Events counted.
    pub events: u64,
    /// Media keys not in metadata.
    pub unknown_media: Vec<String>,
    /// Inventory ids not in metadata.
    pub unknown_inventory: Vec<i64>,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl AnalyzeSummary {
    /// Events per second of wall time.
    pub fn events_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.events as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Progress: files handled so far of the total waiting.
pub type Progress<'a> = dyn FnMut(u64, u64) + Send + 'a;

/// Analyzes every waiting file of `source` for `org`.
pub async fn analyze(
    db: &Db,
    clock: &SharedClock,
    org: OrgId,
    source: &Source,
    options: AnalyzeOptions,
    progress: &mut Progress<'_>,
) -> Result<AnalyzeSummary, LogsError> {
    let started = Instant::now();
    let holder = holder_name();
    // SQLite: one analyzer per source, by the lease. PostgreSQL: analyzers cooperate, each
    // batch claiming its files with FOR UPDATE SKIP LOCKED in the batch's transaction.
    let exclusive = db.dialect() == Dialect::Sqlite;
    if exclusive && !take_lease(db, org, &source.url, &holder, clock.now_millis(), LEASE_MS).await?
    {
        return Err(LogsError::Locked(source.url.clone()));
    }
    let result = run(db, clock, org, source, options, progress, &holder).await;
    if exclusive {
        release_lease(db, org, &source.url, &holder).await?;
    }
    let mut summary = result?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

async fn join_commit(
    commit: tokio::task::JoinHandle<Result<(), LogsError>>,
    url: &str,
) -> Result<(), LogsError> {
    commit.await.map_err(|e| LogsError::Source {
        source_url: url.to_owned(),
        message: format!("the commit task failed: {e}"),
    })?
}

/// Who holds the lease: the process and the moment it started, unique enough to tell
/// analyzers apart.
fn holder_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos:x}", std::process::id())
}

async fn run(
    db: &Db,
    clock: &SharedClock,
    org: OrgId,
    source: &Source,
    options: AnalyzeOptions,
    progress: &mut Progress<'_>,
    holder: &str,
) -> Result<AnalyzeSummary, LogsError> {
    let listed = source.list().await?;
    let mut summary = AnalyzeSummary {
        listed: listed.len() as u64,
        skipped: listed
            .iter()
            .filter(|l| Compression::of_key(&l.key).is_none())
            .map(|l| l.key.clone())
            .collect(),
        ..AnalyzeSummary::default()
    };
    let waiting = register(db, org, &source.url, &listed, clock.now_millis()).await?;
    let metadata = Arc::new(load_metadata(db, org).await?);
    let total = waiting.len() as u64;
    let mut handled = 0u64;
    progress(0, total);
    let mut unknown_media = std::collections::BTreeSet::new();
    let mut unknown_inventory = std::collections::BTreeSet::new();
    let by_key: std::collections::HashMap<String, Listed> =
        listed.iter().map(|l| (l.key.clone(), l.clone())).collect();
    let mut queue = waiting.chunks(options.batch_size.max(1));
    let mut in_flight: Option<tokio::task::JoinHandle<Result<(), LogsError>>> = None;
    loop {
        let (mut claim_tx, batch): (Option<adpool_store::DbTx>, Vec<Listed>) = if db.dialect()
            == Dialect::Postgres
        {
            let mut tx = db.begin().await?;
            let keys = claim_files(&mut tx, org, &source.url, options.batch_size.max(1)).await?;
            if keys.is_empty() {
                break;
            }
            let batch = keys
                .into_iter()
                .map(|key| {
                    by_key.get(&key).cloned().unwrap_or(Listed {
                        key,
                        size: 0,
                        version: String::new(),
                    })
                })
                .collect();
            (Some(tx), batch)
        } else {
            let Some(chunk) = queue.next() else { break };
            if !take_lease(db, org, &source.url, holder, clock.now_millis(), LEASE_MS).await? {
                return Err(LogsError::Locked(source.url.clone()));
            }
            (None, chunk.to_vec())
        };
        let batch = &batch;
        let mut outcomes: Vec<(String, FileOutcome)> = Vec::with_capacity(batch.len());
        let mut merged = Aggregates::default();
        // `workers` files in flight at once; the next starts as soon as one finishes.
        let keys: Vec<String> = batch.iter().map(|file| file.key.clone()).collect();
        let (shared_source, shared_metadata) = (source.clone(), metadata.clone());
        let mut results = futures::stream::iter(keys.into_iter().map(move |key| {
            let (source, metadata) = (shared_source.clone(), shared_metadata.clone());
            tokio::spawn(async move {
                let outcome = match source.read(&key).await {
                    Err(error) => Err(FileOutcome::Failed(error)),
                    Ok(bytes) => {
                        let compression = Compression::of_key(&key).unwrap_or(Compression::None);
                        tokio::task::spawn_blocking(move || {
                            aggregate_object(&bytes, compression, &metadata)
                        })
                        .await
                        .map_err(|e| FileOutcome::Failed(format!("worker failed: {e}")))
                        .and_then(|r| r.map_err(|e| FileOutcome::Quarantined(e.line, e.reason)))
                    }
                };
                (key, outcome)
            })
        }))
        .buffered(options.workers.max(1));
        while let Some(task) = results.next().await {
            let (key, outcome) = task.map_err(|e| LogsError::Source {
                source_url: source.url.clone(),
                message: format!("worker failed: {e}"),
            })?;
            match outcome {
                Ok(aggregates) => {
                    let events = aggregates.events;
                    merged.merge(aggregates);
                    outcomes.push((key, FileOutcome::Done(events)));
                }
                Err(outcome) => outcomes.push((key, outcome)),
            }
        }
        summary.events += merged.events;
        unknown_media.extend(merged.unknown_media.iter().cloned());
        unknown_inventory.extend(merged.unknown_inventory.iter().copied());
        for (key, outcome) in &outcomes {
            match outcome {
                FileOutcome::Done(_) => summary.done += 1,
                FileOutcome::Quarantined(line, reason) => {
                    summary
                        .quarantined
                        .push((key.clone(), *line, reason.clone()))
                }
                FileOutcome::Failed(error) => summary.failed.push((key.clone(), error.clone())),
            }
        }
        match claim_tx.take() {
            Some(mut tx) => {
                commit_batch_in(
                    &mut tx,
                    db.dialect(),
                    org,
                    &source.url,
                    &outcomes,
                    &merged,
                    clock.now_millis(),
                )
                .await?;
                tx.commit().await?;
            }
            None => {
                // SQLite: the commit runs while the next batch is read and parsed (the two
                // cores overlap); at most one commit is in flight.
                if let Some(previous) = in_flight.take() {
                    join_commit(previous, &source.url).await?;
                }
                let (db, url, now) = (db.clone(), source.url.clone(), clock.now_millis());
                in_flight = Some(tokio::spawn(async move {
                    commit_batch(&db, org, &url, &outcomes, &merged, now).await
                }));
            }
        }
        handled += batch.len() as u64;
        progress(handled.min(total), total);
    }
    if let Some(previous) = in_flight.take() {
        join_commit(previous, &source.url).await?;
    }
    summary.unknown_media = unknown_media.into_iter().collect();
    summary.unknown_inventory = unknown_inventory.into_iter().collect();
    Ok(summary)
}
