//! The database side: metadata, the file registry, the analyzer's lease, and the additive
//! upsert of a batch's aggregates together with its files' states, in one transaction.

use std::collections::HashMap;
use std::path::Path;

use adpool_core::OrgId;
use adpool_store::bulk::{self, Cell, OnConflict};
use adpool_store::{Db, DbTx, Dialect};
use sqlx::Row;

use crate::LogsError;
use crate::aggregate::{Aggregates, InventoryInfo, MediaInfo, Metadata};
use crate::line::Device;

/// Rows of a metadata import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetadataImport {
    /// Media rows written.
    pub media: u64,
    /// Inventory rows written.
    pub inventory: u64,
}

fn row_error(file: &Path, row: u64, column: &str, value: &str, reason: &str) -> LogsError {
    LogsError::File {
        file: file.display().to_string(),
        message: format!(
            "row {row}, column {column}, value '{value}': {reason}; nothing was imported"
        ),
    }
}

fn read_csv(file: &Path, header: &[&str]) -> Result<Vec<(u64, Vec<String>)>, LogsError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(file)
        .map_err(|e| LogsError::File {
            file: file.display().to_string(),
            message: e.to_string(),
        })?;
    let found: Vec<String> = reader
        .headers()
        .map_err(|e| LogsError::File {
            file: file.display().to_string(),
            message: e.to_string(),
        })?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_owned())
        .collect();
    if found != header {
        return Err(LogsError::File {
            file: file.display().to_string(),
            message: format!(
                "the header is '{}', expected '{}'",
                found.join(","),
                header.join(",")
            ),
        });
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| LogsError::File {
            file: file.display().to_string(),
            message: format!("row {}: {e}", i + 2),
        })?;
        rows.push((i as u64 + 2, record.iter().map(str::to_owned).collect()));
    }
    Ok(rows)
}

/// Reads and checks `media.csv` (`media_key,org_id,media_share_bp`) and `inventory.csv`
/// (`inventory_id,ad_type,device`), then writes both in one transaction: all or nothing.
pub async fn import_metadata(
    db: &Db,
    org: OrgId,
    now: i64,
    media: Option<&Path>,
    inventory: Option<&Path>,
) -> Result<MetadataImport, LogsError> {
    let mut media_rows = Vec::new();
    if let Some(file) = media {
        for (row, cells) in read_csv(file, &["media_key", "org_id", "media_share_bp"])? {
            let key = cells[0].clone();
            if key.is_empty() {
                return Err(row_error(file, row, "media_key", "", "is empty"));
            }
            let media_org: i64 = cells[1]
                .parse()
                .map_err(|_| row_error(file, row, "org_id", &cells[1], "is not a whole number"))?;
            let share: i64 = cells[2]
                .parse()
                .ok()
                .filter(|s| (0..=10_000).contains(s))
                .ok_or_else(|| {
                    row_error(
                        file,
                        row,
                        "media_share_bp",
                        &cells[2],
                        "is not 0 to 10000 basis points",
                    )
                })?;
            media_rows.push((key, media_org, share));
        }
    }
    let mut inventory_rows = Vec::new();
    if let Some(file) = inventory {
        for (row, cells) in read_csv(file, &["inventory_id", "ad_type", "device"])? {
            let id: i64 = cells[0].parse().map_err(|_| {
                row_error(
                    file,
                    row,
                    "inventory_id",
                    &cells[0],
                    "is not a whole number",
                )
            })?;
            let device = Device::parse(&cells[2]).ok_or_else(|| {
                row_error(file, row, "device", &cells[2], "is not PC, MOBILE or ALL")
            })?;
            inventory_rows.push((id, cells[1].clone(), device));
        }
    }
    let mut tx = db.begin_write().await?;
    for (key, media_org, share) in &media_rows {
        sqlx::query(
            "INSERT INTO log_media (org_id, media_key, media_org_id, media_share_bp, updated_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (org_id, media_key) DO UPDATE SET media_org_id = excluded.media_org_id, media_share_bp = excluded.media_share_bp, updated_at = excluded.updated_at",
        )
        .bind(org.get())
        .bind(key)
        .bind(media_org)
        .bind(share)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for (id, ad_type, device) in &inventory_rows {
        sqlx::query(
            "INSERT INTO log_inventory (org_id, inventory_id, ad_type, device, updated_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (org_id, inventory_id) DO UPDATE SET ad_type = excluded.ad_type, device = excluded.device, updated_at = excluded.updated_at",
        )
        .bind(org.get())
        .bind(id)
        .bind(ad_type)
        .bind(device.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(MetadataImport {
        media: media_rows.len() as u64,
        inventory: inventory_rows.len() as u64,
    })
}

/// The metadata of `org`.
pub async fn load_metadata(db: &Db, org: OrgId) -> Result<Metadata, LogsError> {
    let mut metadata = Metadata::default();
    for row in sqlx::query(
        "SELECT media_key, media_org_id, media_share_bp FROM log_media WHERE org_id = $1",
    )
    .bind(org.get())
    .fetch_all(db.pool())
    .await?
    {
        metadata.media.insert(
            row.try_get("media_key")?,
            MediaInfo {
                org_id: row.try_get("media_org_id")?,
                share_bp: u64::try_from(row.try_get::<i64, _>("media_share_bp")?).unwrap_or(0),
            },
        );
    }
    for row in
        sqlx::query("SELECT inventory_id, ad_type, device FROM log_inventory WHERE org_id = $1")
            .bind(org.get())
            .fetch_all(db.pool())
            .await?
    {
        metadata.inventory.insert(
            row.try_get("inventory_id")?,
            InventoryInfo {
                ad_type: row.try_get("ad_type")?,
                device: Device::parse(&row.try_get::<String, _>("device")?).unwrap_or(Device::All),
            },
        );
    }
    Ok(metadata)
}

/// Takes (or renews) the lease of `source` for `holder` until `now + lease_ms`; false when
/// another holder's lease has not expired.
pub async fn take_lease(
    db: &Db,
    org: OrgId,
    source: &str,
    holder: &str,
    now: i64,
    lease_ms: i64,
) -> Result<bool, LogsError> {
    let got: Option<String> = sqlx::query_scalar(
        "INSERT INTO log_locks (org_id, source, holder, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (org_id, source) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE log_locks.holder = excluded.holder OR log_locks.expires_at < $5
         RETURNING holder",
    )
    .bind(org.get())
    .bind(source)
    .bind(holder)
    .bind(now + lease_ms)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    Ok(got.as_deref() == Some(holder))
}

/// Gives the lease back.
pub async fn release_lease(
    db: &Db,
    org: OrgId,
    source: &str,
    holder: &str,
) -> Result<(), LogsError> {
    sqlx::query("DELETE FROM log_locks WHERE org_id = $1 AND source = $2 AND holder = $3")
        .bind(org.get())
        .bind(source)
        .bind(holder)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// An object as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: i64,
    /// ETag or modification time.
    pub version: String,
}

/// Records newly seen objects (`new`, or `skipped` when they are not log files) and returns
/// the keys waiting to be analyzed, in key order.
pub async fn register(
    db: &Db,
    org: OrgId,
    source: &str,
    listed: &[Listed],
    now: i64,
) -> Result<Vec<Listed>, LogsError> {
    let known: HashMap<String, String> =
        sqlx::query("SELECT object_key, state FROM log_files WHERE org_id = $1 AND source = $2")
            .bind(org.get())
            .bind(source)
            .fetch_all(db.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("object_key")?, r.try_get("state")?)))
            .collect::<Result<_, sqlx::Error>>()?;
    let mut tx = db.begin_write().await?;
    for object in listed.iter().filter(|o| !known.contains_key(&o.key)) {
        let state = if crate::Compression::of_key(&object.key).is_some() {
            "new"
        } else {
            "skipped"
        };
        sqlx::query(
            "INSERT INTO log_files (org_id, source, object_key, size, version, state, seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (org_id, source, object_key) DO NOTHING",
        )
        .bind(org.get())
        .bind(source)
        .bind(&object.key)
        .bind(object.size)
        .bind(&object.version)
        .bind(state)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let waiting: Vec<String> = sqlx::query_scalar(
        "SELECT object_key FROM log_files WHERE org_id = $1 AND source = $2 AND state = 'new' ORDER BY object_key",
    )
    .bind(org.get())
    .bind(source)
    .fetch_all(db.pool())
    .await?;
    let by_key: HashMap<&str, &Listed> = listed.iter().map(|l| (l.key.as_str(), l)).collect();
    Ok(waiting
        .iter()
        .filter_map(|k| by_key.get(k.as_str()).map(|l| (*l).clone()))
        .collect())
}

/// What happened to one file of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOutcome {
    /// Counted (its events).
    Done(u64),
    /// Refused whole: the line (0 for the stream) and why.
    Quarantined(u64, String),
    /// Could not be read after retries.
    Failed(String),
}

/// Commits a batch: the good files' merged aggregates (added to the reports) and every file's
/// new state, in one transaction. A crash before the commit leaves nothing; after it, the files
/// are done and are never counted again.
pub async fn commit_batch(
    db: &Db,
    org: OrgId,
    source: &str,
    files: &[(String, FileOutcome)],
    aggregates: &Aggregates,
    now: i64,
) -> Result<(), LogsError> {
    let mut tx = db.begin_write().await?;
    commit_batch_in(&mut tx, db.dialect(), org, source, files, aggregates, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Claims up to `limit` waiting files of a source for this transaction (PostgreSQL): rows
/// locked by another analyzer's open batch are skipped, so analyzers split the files and none
/// is counted twice.
pub async fn claim_files(
    tx: &mut DbTx,
    org: OrgId,
    source: &str,
    limit: usize,
) -> Result<Vec<String>, LogsError> {
    Ok(sqlx::query_scalar(
        "SELECT object_key FROM log_files WHERE org_id = $1 AND source = $2 AND state = 'new'
         ORDER BY object_key LIMIT $3 FOR UPDATE SKIP LOCKED",
    )
    .bind(org.get())
    .bind(source)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&mut **tx)
    .await?)
}

/// [`commit_batch`] inside a transaction the caller commits.
#[allow(clippy::too_many_arguments)]
pub async fn commit_batch_in(
    tx: &mut DbTx,
    dialect: Dialect,
    org: OrgId,
    source: &str,
    files: &[(String, FileOutcome)],
    aggregates: &Aggregates,
    now: i64,
) -> Result<(), LogsError> {
    let tx = &mut *tx;
    upsert_aggregates(tx, dialect, org, aggregates).await?;
    for (key, outcome) in files {
        let (state, error, line, events) = match outcome {
            FileOutcome::Done(events) => ("done", None, None, *events as i64),
            FileOutcome::Quarantined(line, reason) => {
                ("quarantined", Some(reason.as_str()), Some(*line as i64), 0)
            }
            FileOutcome::Failed(reason) => ("failed", Some(reason.as_str()), None, 0),
        };
        sqlx::query(
            "UPDATE log_files SET state = $1, last_error = $2, error_line = $3, events = $4, attempts = attempts + 1,
                    done_at = CASE WHEN $1 = 'done' THEN $5 ELSE done_at END
             WHERE org_id = $6 AND source = $7 AND object_key = $8 AND state IN ('new', 'failed', 'quarantined')",
        )
        .bind(state)
        .bind(error)
        .bind(line)
        .bind(events)
        .bind(now)
        .bind(org.get())
        .bind(source)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A map's entries in key order: rows inserted in (nearly) primary-key order touch each B-tree
/// page once, where hash order would hop between pages.
fn sorted<K: Ord, V, S>(map: &HashMap<K, V, S>) -> Vec<(&K, &V)> {
    let mut entries: Vec<(&K, &V)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    entries
}

async fn upsert_aggregates(
    tx: &mut DbTx,
    dialect: Dialect,
    org: OrgId,
    a: &Aggregates,
) -> Result<(), sqlx::Error> {
    let org = org.get();
    // The few distinct days, formatted once (not once per row).
    let days: std::collections::BTreeSet<adpool_core::BusinessDate> = a
        .demand
        .keys()
        .map(|k| k.0)
        .chain(a.ad_request.keys().map(|k| k.0))
        .collect();
    let dates: HashMap<adpool_core::BusinessDate, String> =
        days.into_iter().map(|d| (d, d.to_string())).collect();
    let date = |d: &adpool_core::BusinessDate| dates.get(d).map_or("", String::as_str);
    let rows: Vec<Vec<Cell<'_>>> = sorted(&a.ad_performance)
        .into_iter()
        .map(|((d, mo, mk, inv, ad, dem), v)| {
            vec![
                Cell::Int(org),
                Cell::Text(date(d)),
                Cell::Int(*mo),
                Cell::Text(mk),
                Cell::Int(*inv),
                Cell::Int(*ad),
                Cell::Int(*dem),
                Cell::Int(v.impressions),
                Cell::Int(v.clicks),
                Cell::Int(v.revenue_milli),
            ]
        })
        .collect();
    bulk::upsert(
        tx,
        dialect,
        "report_ad_performance",
        &[
            "org_id",
            "date",
            "media_org_id",
            "media_key",
            "inventory_id",
            "ad_id",
            "demand_id",
        ],
        &["impressions", "clicks", "revenue_milli"],
        &rows,
        OnConflict::Add,
    )
    .await?;
    let rows: Vec<Vec<Cell<'_>>> = sorted(&a.ad_request)
        .into_iter()
        .map(|((d, mo, mk, inv, dev, app), v)| {
            vec![
                Cell::Int(org),
                Cell::Text(date(d)),
                Cell::Int(*mo),
                Cell::Text(mk),
                Cell::Int(*inv),
                Cell::Text(dev.as_str()),
                Cell::Text(app.as_str()),
                Cell::Int(v.xreq),
                Cell::Int(v.xres),
                Cell::Int(v.xpsb),
            ]
        })
        .collect();
    bulk::upsert(
        tx,
        dialect,
        "report_ad_request",
        &[
            "org_id",
            "date",
            "media_org_id",
            "media_key",
            "inventory_id",
            "device",
            "app",
        ],
        &["xreq", "xres", "xpsb"],
        &rows,
        OnConflict::Add,
    )
    .await?;
    let rows: Vec<Vec<Cell<'_>>> = sorted(&a.demand)
        .into_iter()
        .map(|((d, dem), v)| {
            vec![
                Cell::Int(org),
                Cell::Text(date(d)),
                Cell::Int(*dem),
                Cell::Int(v.impressions),
                Cell::Int(v.clicks),
                Cell::Int(v.revenue_milli),
            ]
        })
        .collect();
    bulk::upsert(
        tx,
        dialect,
        "report_demand",
        &["org_id", "date", "demand_id"],
        &["impressions", "clicks", "revenue_milli"],
        &rows,
        OnConflict::Add,
    )
    .await?;
    let rows: Vec<Vec<Cell<'_>>> = sorted(&a.media)
        .into_iter()
        .map(|((d, mo, mk, dev), v)| {
            vec![
                Cell::Int(org),
                Cell::Text(date(d)),
                Cell::Int(*mo),
                Cell::Text(mk),
                Cell::Text(dev.as_str()),
                Cell::Int(v.delivery.impressions),
                Cell::Int(v.delivery.clicks),
                Cell::Int(v.delivery.revenue_milli),
                Cell::Int(v.agency_revenue_milli),
                Cell::Int(v.media_revenue_milli),
            ]
        })
        .collect();
    bulk::upsert(
        tx,
        dialect,
        "report_media",
        &["org_id", "date", "media_org_id", "media_key", "device"],
        &[
            "impressions",
            "clicks",
            "revenue_milli",
            "agency_revenue_milli",
            "media_revenue_milli",
        ],
        &rows,
        OnConflict::Add,
    )
    .await?;
    Ok(())
}

/// A file that did not count: failed (could not be read) or quarantined (refused whole).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProblemFile {
    /// The source URL.
    pub source: String,
    /// The object key.
    pub key: String,
    /// `failed` or `quarantined`.
    pub state: String,
    /// The line of a quarantined file (0: the stream).
    pub line: Option<i64>,
    /// Why.
    pub error: String,
    /// Attempts so far.
    pub attempts: i64,
}

/// Failed and quarantined files of `org` (of one source when given).
pub async fn problem_files(
    db: &Db,
    org: OrgId,
    source: Option<&str>,
) -> Result<Vec<ProblemFile>, LogsError> {
    let rows = sqlx::query(
        "SELECT source, object_key, state, error_line, last_error, attempts FROM log_files
         WHERE org_id = $1 AND state IN ('failed', 'quarantined') AND ($2 = '' OR source = $2) ORDER BY source, object_key",
    )
    .bind(org.get())
    .bind(source.unwrap_or(""))
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            Ok(ProblemFile {
                source: r.try_get("source")?,
                key: r.try_get("object_key")?,
                state: r.try_get("state")?,
                line: r.try_get("error_line")?,
                error: r
                    .try_get::<Option<String>, _>("last_error")?
                    .unwrap_or_default(),
                attempts: r.try_get("attempts")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?)
}

/// Puts failed and quarantined files of a source back in the queue (all of them, or the given
/// keys); returns how many. Done files are never requeued: that would count them twice.
pub async fn requeue(db: &Db, org: OrgId, source: &str, keys: &[String]) -> Result<u64, LogsError> {
    let mut tx = db.begin_write().await?;
    let mut n = 0;
    if keys.is_empty() {
        n += sqlx::query("UPDATE log_files SET state = 'new' WHERE org_id = $1 AND source = $2 AND state IN ('failed', 'quarantined')")
            .bind(org.get())
            .bind(source)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    for key in keys {
        let changed = sqlx::query("UPDATE log_files SET state = 'new' WHERE org_id = $1 AND source = $2 AND object_key = $3 AND state IN ('failed', 'quarantined')")
            .bind(org.get())
            .bind(source)
            .bind(key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(LogsError::Invalid {
                field: "key",
                message: format!("{key} is not a failed or quarantined file of {source}"),
            });
        }
        n += changed;
    }
    tx.commit().await?;
    Ok(n)
}

/// The sources `org` has analyzed.
pub async fn sources(db: &Db, org: OrgId) -> Result<Vec<String>, LogsError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT source FROM log_files WHERE org_id = $1 ORDER BY source",
    )
    .bind(org.get())
    .fetch_all(db.pool())
    .await?)
}

/// Files of `org` per source and state, for the overview.
pub async fn file_counts(
    db: &Db,
    org: OrgId,
) -> Result<Vec<(String, String, i64, i64)>, LogsError> {
    let rows = sqlx::query(
        "SELECT source, state, COUNT(*) AS n, CAST(COALESCE(SUM(events), 0) AS BIGINT) AS events FROM log_files WHERE org_id = $1 GROUP BY source, state ORDER BY source, state",
    )
    .bind(org.get())
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            Ok((
                r.try_get("source")?,
                r.try_get("state")?,
                r.try_get("n")?,
                r.try_get("events")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()?)
}
