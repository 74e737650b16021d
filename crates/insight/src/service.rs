//! [`Insight`]: the organization's uploads, transactions, rules, mappings, analyses and
//! messages in the database. Every function takes the caller's organization.

use std::collections::HashMap;

use adpool_core::{BusinessDate, JobId, OrgId, SharedClock, UserId};
use adpool_jobs::{Jobs, NewJob};
use adpool_store::Db;
use adpool_store::bulk::{self, Cell, OnConflict};
use serde::Serialize;
use sqlx::Row;

use crate::InsightError;
use crate::analysis::{Report, Txn, analyze};
use crate::categories::{Categorizer, is_category};
use crate::llm::LlmSettings;
use crate::messages::{Channel, MessageRequest, enforce, facts, offline_messages};
use crate::statement::{ColumnMapping, LayoutError, Statement, line_keys, read_statement};

/// The job kind that runs an analysis; payload `{"analysis_id": N}`.
pub const ANALYZE_JOB: &str = "insight.analyze";

/// A saved column mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedMapping {
    /// Its name.
    pub name: String,
    /// The columns.
    pub mapping: ColumnMapping,
    /// When saved (UTC ms).
    pub created_at: i64,
}

/// An imported file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upload {
    /// Id.
    pub id: i64,
    /// The file's name.
    pub file_name: String,
    /// Its encoding.
    pub encoding: String,
    /// The layout recognised.
    pub layout: String,
    /// Lines read.
    pub lines: i64,
    /// New transactions.
    pub inserted: i64,
    /// Lines already imported before.
    pub duplicates: i64,
    /// Totals rows skipped.
    pub totals_skipped: i64,
    /// When (UTC ms).
    pub created_at: i64,
}

/// What an import did (or, in a preview, would do).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportSummary {
    /// The upload's id (none in a preview).
    pub upload_id: Option<i64>,
    /// The file.
    pub file: String,
    /// Its encoding.
    pub encoding: String,
    /// The layout recognised.
    pub layout: String,
    /// The header's row.
    pub header_row: u64,
    /// The worksheets whose lines were read (empty for a text file).
    pub sheets: Vec<String>,
    /// The header.
    pub header: Vec<String>,
    /// The columns used.
    pub mapping: ColumnMapping,
    /// Lines read.
    pub lines: usize,
    /// New transactions.
    pub new_lines: usize,
    /// Lines already imported (same content and occurrence).
    pub duplicates: usize,
    /// Totals rows skipped.
    pub totals_skipped: usize,
    /// Lines that cannot be read (an import refuses the file when there are any).
    pub rejected: Vec<String>,
    /// New lines without a category.
    pub uncategorized: usize,
    /// The first lines with their categories.
    pub sample: Vec<SampleLine>,
}

/// A line of a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SampleLine {
    /// Row in the file.
    pub row: u64,
    /// Day.
    pub day: String,
    /// Merchant.
    pub merchant: String,
    /// Won.
    pub amount: i64,
    /// purchase, cancelled, refund.
    pub kind: String,
    /// Installment months.
    pub installment_months: i64,
    /// Category id.
    pub category: String,
    /// Whether it was imported before.
    pub duplicate: bool,
}

/// A categorization rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Id.
    pub id: i64,
    /// Merchant keyword.
    pub keyword: String,
    /// Category id.
    pub category: String,
}

/// A stored transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transaction {
    /// Id.
    pub id: i64,
    /// KST day.
    pub day: String,
    /// Merchant.
    pub merchant: String,
    /// Won.
    pub amount: i64,
    /// purchase, cancelled, refund.
    pub kind: String,
    /// Installment months.
    pub installment_months: i64,
    /// Category id.
    pub category: String,
    /// rule, dictionary, industry, none.
    pub category_source: String,
    /// Customer id.
    pub customer_id: Option<String>,
}

/// An analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// Id.
    pub id: i64,
    /// `statement` or `shop` ([`Source`]).
    pub source: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// queued, running, done, failed.
    pub state: String,
    /// Its job.
    pub job_id: Option<i64>,
    /// The report once done.
    pub report: Option<Report>,
    /// Why it failed.
    pub error: Option<String>,
    /// Requested (UTC ms).
    pub created_at: i64,
    /// Finished (UTC ms).
    pub finished_at: Option<i64>,
}

/// What makes a transaction row the same row: its content and occurrence, per organization.
const TRANSACTION_KEY: [&str; 3] = ["org_id", "content_hash", "occurrence"];

/// The other columns every transaction row is written with, in the order of its cells.
const TRANSACTION_COLUMNS: [&str; 12] = [
    "upload_id",
    "occurred_on",
    "merchant",
    "amount",
    "kind",
    "installment_months",
    "industry",
    "customer_id",
    "card",
    "category",
    "category_source",
    "source",
];

/// Where an analysis's transactions come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Uploaded card statements.
    Statements,
    /// The organization's own shop orders (synced or imported stores).
    ShopOrders,
}

impl Source {
    /// The stored word: `statement` or `shop`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Statements => "statement",
            Source::ShopOrders => "shop",
        }
    }

    /// The stored word back.
    pub fn parse(text: &str) -> Option<Source> {
        match text {
            "statement" => Some(Source::Statements),
            "shop" => Some(Source::ShopOrders),
            _ => None,
        }
    }
}

/// One line of a shop order, as spending insight reads it: who bought, when, what (the
/// product and its category) and the net paid amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopPurchase {
    /// A key unique to the line: `platform:mall:order:item`.
    pub key: String,
    /// The store's customer id.
    pub customer: String,
    /// The KST order day.
    pub day: BusinessDate,
    /// What was bought (the report's "merchant" column).
    pub product: String,
    /// Its category, when known.
    pub category: Option<String>,
    /// Net paid in won.
    pub amount: i64,
}

/// A written message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Id.
    pub id: i64,
    /// Its analysis.
    pub analysis_id: i64,
    /// Segment key or none.
    pub segment: Option<String>,
    /// sms, lms, kakao, push.
    pub channel: String,
    /// The tone.
    pub tone: String,
    /// ko or en.
    pub lang: String,
    /// The text.
    pub body: String,
    /// Its size in the channel's unit.
    pub size: usize,
    /// The channel's limit.
    pub limit: usize,
    /// llm or offline.
    pub source: String,
    /// What happened while writing (the AI failed, the text was cut).
    pub note: Option<String>,
    /// Written (UTC ms).
    pub created_at: i64,
    /// Edited (UTC ms).
    pub edited_at: Option<i64>,
}

/// Spending insight for every organization.
#[derive(Debug, Clone)]
pub struct Insight {
    db: Db,
    clock: SharedClock,
    jobs: Jobs,
    llm: LlmSettings,
}

fn get<T>(row: &sqlx::any::AnyRow, column: &str) -> Result<T, InsightError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    Ok(row.try_get(column)?)
}

fn day(text: &str, field: &'static str) -> Result<BusinessDate, InsightError> {
    text.trim().parse().map_err(|_| InsightError::Invalid {
        field,
        message: format!("'{text}' is not a day (YYYY-MM-DD)"),
    })
}

impl Insight {
    /// Insight over `db`, writing messages offline until [`Insight::with_llm`].
    pub fn new(db: Db, clock: SharedClock) -> Self {
        let jobs = Jobs::new(db.clone(), clock.clone());
        Insight {
            db,
            clock,
            jobs,
            llm: LlmSettings::default(),
        }
    }

    /// Writes messages through the AI at `settings` (when it has a base URL).
    pub fn with_llm(mut self, settings: LlmSettings) -> Self {
        self.llm = settings;
        self
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Whether an AI endpoint is configured.
    pub fn llm_configured(&self) -> bool {
        self.llm.base_url.is_some()
    }

    // ---- mappings -------------------------------------------------------------------------

    /// Saves (or replaces) a mapping by name.
    pub async fn save_mapping(
        &self,
        org: OrgId,
        name: &str,
        mapping: &ColumnMapping,
        user: Option<UserId>,
    ) -> Result<(), InsightError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(InsightError::Invalid {
                field: "name",
                message: "give the mapping a name of 1 to 80 characters".into(),
            });
        }
        for (field, header) in mapping.fields() {
            if header.trim().is_empty() {
                return Err(InsightError::Invalid {
                    field: "mapping",
                    message: format!("choose the column of {field}"),
                });
            }
        }
        sqlx::query(
            "INSERT INTO insight_mappings (org_id, name, mapping, created_by, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (org_id, name) DO UPDATE SET mapping = excluded.mapping, created_at = excluded.created_at",
        )
        .bind(org.get())
        .bind(name)
        .bind(serde_json::to_string(mapping).unwrap_or_default())
        .bind(user.map(UserId::get))
        .bind(self.clock.now_millis())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The saved mappings.
    pub async fn mappings(&self, org: OrgId) -> Result<Vec<SavedMapping>, InsightError> {
        let rows = sqlx::query(
            "SELECT name, mapping, created_at FROM insight_mappings WHERE org_id = $1 ORDER BY name",
        )
        .bind(org.get())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SavedMapping {
                    name: get(r, "name")?,
                    mapping: serde_json::from_str(&get::<String>(r, "mapping")?)
                        .unwrap_or_default(),
                    created_at: get(r, "created_at")?,
                })
            })
            .collect()
    }

    async fn mapping(&self, org: OrgId, name: &str) -> Result<ColumnMapping, InsightError> {
        self.mappings(org)
            .await?
            .into_iter()
            .find(|m| m.name == name.trim())
            .map(|m| m.mapping)
            .ok_or_else(|| InsightError::NotFound("mapping", name.to_owned()))
    }

    // ---- reading and importing ------------------------------------------------------------

    /// Reads a file: a named mapping when given, else a known layout, else a saved mapping
    /// whose columns are all in the file.
    pub async fn read(
        &self,
        org: OrgId,
        file_name: &str,
        bytes: &[u8],
        mapping: Option<&str>,
    ) -> Result<Statement, InsightError> {
        let (encoding, sheets) = adpool_tables::read_workbook(file_name, bytes)?;
        let named = match mapping.filter(|m| !m.trim().is_empty()) {
            Some(name) => Some((name.trim().to_owned(), self.mapping(org, name).await?)),
            None => None,
        };
        let saved = self.mappings(org).await?;
        // Every sheet that holds lines is read (a summary sheet before them is not); when none
        // does, the first sheet with any rows says why.
        let mut read: Option<Statement> = None;
        let mut first_error: Option<InsightError> = None;
        for sheet in sheets.iter().filter(|s| !s.rows.is_empty()) {
            match self.read_sheet(file_name, encoding, &sheet.rows, named.as_ref(), &saved) {
                Ok(statement) => {
                    let statement = statement.on_sheet(&sheet.name);
                    match read.as_mut() {
                        Some(first) => first.absorb(statement),
                        None => read = Some(statement),
                    }
                }
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        match (read, first_error) {
            (Some(statement), _) => Ok(statement),
            (None, Some(error)) => Err(error),
            (None, None) => Err(InsightError::Invalid {
                field: "file",
                message: format!("{file_name}: the file has no rows"),
            }),
        }
    }

    /// Reads one sheet: a named mapping when given, else a known layout, else a saved mapping
    /// whose columns are all in the sheet.
    fn read_sheet(
        &self,
        file_name: &str,
        encoding: &'static str,
        rows: &[(u64, Vec<String>)],
        named: Option<&(String, ColumnMapping)>,
        saved: &[SavedMapping],
    ) -> Result<Statement, InsightError> {
        let attempt = read_statement(
            file_name,
            encoding,
            rows,
            named.map(|(n, m)| (n.as_str(), m)),
        );
        match attempt {
            Ok(statement) => Ok(statement),
            Err(LayoutError::MappingDoesNotFit { missing }) => Err(InsightError::Invalid {
                field: "mapping",
                message: format!(
                    "{file_name}: the mapping '{}' needs columns the file does not have: {}",
                    named.map(|(n, _)| n.as_str()).unwrap_or_default(),
                    missing.join(", ")
                ),
            }),
            Err(LayoutError::Unknown { row, candidates }) => {
                // A saved mapping that fits is used without asking again.
                for saved in saved {
                    if let Ok(statement) = read_statement(
                        file_name,
                        encoding,
                        rows,
                        Some((&saved.name, &saved.mapping)),
                    ) {
                        return Ok(statement);
                    }
                }
                Err(InsightError::UnknownLayout {
                    file: file_name.to_owned(),
                    row,
                    candidates,
                })
            }
        }
    }

    async fn categorizer(&self, org: OrgId) -> Result<Categorizer, InsightError> {
        let rules: Vec<(String, String)> = self
            .rules(org)
            .await?
            .into_iter()
            .map(|r| (r.keyword, r.category))
            .collect();
        Ok(Categorizer::new(&rules))
    }

    /// Which (hash, occurrence) keys of `keys` are stored already.
    async fn existing(
        &self,
        org: OrgId,
        keys: &[(String, i64)],
    ) -> Result<std::collections::HashSet<(String, i64)>, InsightError> {
        let mut found = std::collections::HashSet::new();
        let mut hashes: Vec<&str> = keys.iter().map(|(h, _)| h.as_str()).collect();
        hashes.sort_unstable();
        hashes.dedup();
        for chunk in hashes.chunks(500) {
            let dialect = self.db.dialect();
            let sql = format!(
                "SELECT content_hash, occurrence FROM insight_transactions WHERE org_id = {} AND content_hash IN ({})",
                dialect.placeholders(1, 1),
                dialect.placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.get());
            for hash in chunk {
                query = query.bind(*hash);
            }
            for row in query.fetch_all(self.db.pool()).await? {
                found.insert((get(&row, "content_hash")?, get(&row, "occurrence")?));
            }
        }
        Ok(found)
    }

    /// What importing the file would do, changing nothing.
    pub async fn preview(
        &self,
        org: OrgId,
        file_name: &str,
        bytes: &[u8],
        mapping: Option<&str>,
    ) -> Result<ImportSummary, InsightError> {
        let statement = self.read(org, file_name, bytes, mapping).await?;
        let categorizer = self.categorizer(org).await?;
        let keys = line_keys(&statement.lines);
        let existing = self.existing(org, &keys).await?;
        let duplicate: Vec<bool> = keys.iter().map(|k| existing.contains(k)).collect();
        let mut summary = summary_of(&statement, None);
        summary.duplicates = duplicate.iter().filter(|d| **d).count();
        summary.new_lines = statement.lines.len() - summary.duplicates;
        summary.uncategorized = statement
            .lines
            .iter()
            .zip(&duplicate)
            .filter(|(l, d)| {
                !**d && categorizer.categorize(&l.merchant, l.industry.as_deref()).0
                    == crate::categories::UNCATEGORIZED
            })
            .count();
        summary.sample = statement
            .lines
            .iter()
            .zip(&duplicate)
            .take(20)
            .map(|(l, d)| SampleLine {
                row: l.row,
                day: l.day.to_string(),
                merchant: l.merchant.clone(),
                amount: l.amount,
                kind: l.kind.as_str().into(),
                installment_months: l.installment_months,
                category: categorizer
                    .categorize(&l.merchant, l.industry.as_deref())
                    .0
                    .to_owned(),
                duplicate: *d,
            })
            .collect();
        Ok(summary)
    }

    /// Imports a file, all or nothing: a file with unreadable lines is refused whole (every
    /// line listed); lines imported before (same content and occurrence) are left alone.
    pub async fn import(
        &self,
        org: OrgId,
        file_name: &str,
        bytes: &[u8],
        mapping: Option<&str>,
        user: Option<UserId>,
    ) -> Result<ImportSummary, InsightError> {
        let statement = self.read(org, file_name, bytes, mapping).await?;
        if !statement.rejected.is_empty() {
            return Err(InsightError::Rows {
                file: file_name.to_owned(),
                errors: statement.rejected.iter().map(ToString::to_string).collect(),
            });
        }
        if statement.lines.is_empty() {
            return Err(InsightError::Invalid {
                field: "file",
                message: format!(
                    "{file_name}: no transactions below the header (row {})",
                    statement.header_row
                ),
            });
        }
        let categorizer = self.categorizer(org).await?;
        let keys = line_keys(&statement.lines);
        // A statement repeats its merchants: each (merchant, industry) is matched once.
        let mut known: HashMap<(&str, Option<&str>), (&str, &str), foldhash::fast::RandomState> =
            HashMap::default();
        let categories: Vec<(&str, &str)> = statement
            .lines
            .iter()
            .map(|l| {
                *known
                    .entry((l.merchant.as_str(), l.industry.as_deref()))
                    .or_insert_with(|| {
                        let (category, source) =
                            categorizer.categorize(&l.merchant, l.industry.as_deref());
                        (category, source.as_str())
                    })
            })
            .collect();
        let now = self.clock.now_millis();
        let mut tx = self.db.begin_write().await?;
        let upload_id: i64 = sqlx::query(
            "INSERT INTO insight_uploads (org_id, file_name, encoding, layout, header_row, lines, inserted, duplicates, totals_skipped, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7, $8, $9) RETURNING id",
        )
        .bind(org.get())
        .bind(file_name)
        .bind(statement.encoding)
        .bind(&statement.layout)
        .bind(statement.header_row as i64)
        .bind(statement.lines.len() as i64)
        .bind(statement.totals_skipped as i64)
        .bind(user.map(UserId::get))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        // Rows go in key order, so the unique index grows at its end instead of splitting
        // pages at random, and a chunk at a time, so memory holds one chunk of rows.
        let mut order: Vec<usize> = (0..statement.lines.len()).collect();
        order.sort_unstable_by(|a, b| keys[*a].cmp(&keys[*b]));
        let mut inserted = 0u64;
        for chunk in order.chunks(20_000) {
            let days: Vec<String> = chunk
                .iter()
                .map(|&i| statement.lines[i].day.to_string())
                .collect();
            let rows: Vec<Vec<Cell<'_>>> = chunk
                .iter()
                .zip(&days)
                .map(|(&i, day)| {
                    let (l, (hash, occurrence), (category, source)) =
                        (&statement.lines[i], &keys[i], &categories[i]);
                    vec![
                        Cell::Int(org.get()),
                        Cell::Text(hash),
                        Cell::Int(*occurrence),
                        Cell::Int(upload_id),
                        Cell::Text(day),
                        Cell::Text(&l.merchant),
                        Cell::Int(l.amount),
                        Cell::Text(l.kind.as_str()),
                        Cell::Int(l.installment_months),
                        Cell::OptText(l.industry.as_deref()),
                        Cell::OptText(l.customer.as_deref()),
                        Cell::OptText(l.card.as_deref()),
                        Cell::Text(category),
                        Cell::Text(source),
                        Cell::Text(Source::Statements.as_str()),
                    ]
                })
                .collect();
            inserted += bulk::upsert(
                &mut tx,
                self.db.dialect(),
                "insight_transactions",
                &TRANSACTION_KEY,
                &TRANSACTION_COLUMNS,
                &rows,
                // A line imported before is left as it is: a duplicate changes nothing.
                OnConflict::Ignore,
            )
            .await?;
        }
        let duplicates = statement.lines.len() as i64 - inserted as i64;
        sqlx::query("UPDATE insight_uploads SET inserted = $1, duplicates = $2 WHERE id = $3")
            .bind(inserted as i64)
            .bind(duplicates)
            .bind(upload_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut summary = summary_of(&statement, Some(upload_id));
        summary.new_lines = inserted as usize;
        summary.duplicates = duplicates as usize;
        summary.uncategorized = categories
            .iter()
            .filter(|(c, _)| *c == crate::categories::UNCATEGORIZED)
            .count();
        tracing::info!(
            file = file_name,
            upload_id,
            inserted,
            duplicates,
            "transactions imported"
        );
        Ok(summary)
    }

    /// Takes the organization's shop purchases in as the transactions of source
    /// [`Source::ShopOrders`], replacing those taken in before (orders settle: statuses and
    /// amounts change), in one transaction; recorded as an upload named `label`. Statement
    /// transactions are untouched. Returns how many lines were taken.
    pub async fn take_shop_purchases(
        &self,
        org: OrgId,
        label: &str,
        purchases: &[ShopPurchase],
        user: Option<UserId>,
    ) -> Result<u64, InsightError> {
        use sha2::{Digest, Sha256};
        let now = self.clock.now_millis();
        let mut tx = self.db.begin_write().await?;
        sqlx::query("DELETE FROM insight_transactions WHERE org_id = $1 AND source = 'shop'")
            .bind(org.get())
            .execute(&mut *tx)
            .await?;
        let upload_id: i64 = sqlx::query(
            "INSERT INTO insight_uploads (org_id, file_name, encoding, layout, header_row, lines, inserted, duplicates, totals_skipped, created_by, created_at)
             VALUES ($1, $2, 'shop', 'shop orders', 0, $3, $3, 0, 0, $4, $5) RETURNING id",
        )
        .bind(org.get())
        .bind(label)
        .bind(purchases.len() as i64)
        .bind(user.map(UserId::get))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        let mut inserted = 0u64;
        for chunk in purchases.chunks(20_000) {
            let keys: Vec<(String, String, String)> = chunk
                .iter()
                .map(|p| {
                    (
                        hex::encode(Sha256::digest(format!("shop\u{1f}{}", p.key).as_bytes())),
                        p.day.to_string(),
                        p.category
                            .clone()
                            .unwrap_or_else(|| crate::categories::UNCATEGORIZED.to_owned()),
                    )
                })
                .collect();
            let rows: Vec<Vec<Cell<'_>>> = chunk
                .iter()
                .zip(&keys)
                .map(|(p, (hash, day, category))| {
                    vec![
                        Cell::Int(org.get()),
                        Cell::Text(hash),
                        Cell::Int(0),
                        Cell::Int(upload_id),
                        Cell::Text(day),
                        Cell::Text(&p.product),
                        Cell::Int(p.amount),
                        Cell::Text("purchase"),
                        Cell::Int(0),
                        Cell::OptText(None),
                        Cell::Text(&p.customer),
                        Cell::OptText(None),
                        Cell::Text(category),
                        Cell::Text("shop"),
                        Cell::Text("shop"),
                    ]
                })
                .collect();
            inserted += bulk::upsert(
                &mut tx,
                self.db.dialect(),
                "insight_transactions",
                &TRANSACTION_KEY,
                &TRANSACTION_COLUMNS,
                &rows,
                OnConflict::Ignore,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// The imported files, newest first.
    pub async fn uploads(&self, org: OrgId) -> Result<Vec<Upload>, InsightError> {
        let rows = sqlx::query(
            "SELECT id, file_name, encoding, layout, lines, inserted, duplicates, totals_skipped, created_at
             FROM insight_uploads WHERE org_id = $1 ORDER BY id DESC LIMIT 200",
        )
        .bind(org.get())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Upload {
                    id: get(r, "id")?,
                    file_name: get(r, "file_name")?,
                    encoding: get(r, "encoding")?,
                    layout: get(r, "layout")?,
                    lines: get(r, "lines")?,
                    inserted: get(r, "inserted")?,
                    duplicates: get(r, "duplicates")?,
                    totals_skipped: get(r, "totals_skipped")?,
                    created_at: get(r, "created_at")?,
                })
            })
            .collect()
    }

    /// Transactions between two days (newest first), optionally of one category.
    pub async fn transactions(
        &self,
        org: OrgId,
        from: Option<BusinessDate>,
        to: Option<BusinessDate>,
        category: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Transaction>, InsightError> {
        let rows = sqlx::query(
            "SELECT id, occurred_on, merchant, amount, kind, installment_months, category, category_source, customer_id
             FROM insight_transactions
             WHERE org_id = $1 AND source = 'statement' AND occurred_on >= $2 AND occurred_on <= $3 AND ($4 = '' OR category = $4)
             ORDER BY occurred_on DESC, id DESC LIMIT $5",
        )
        .bind(org.get())
        .bind(from.map_or_else(|| "0000-00-00".to_owned(), |d| d.to_string()))
        .bind(to.map_or_else(|| "9999-99-99".to_owned(), |d| d.to_string()))
        .bind(category.unwrap_or(""))
        .bind(limit.clamp(1, 10_000))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(transaction_of).collect()
    }

    /// Merchants without a category, by spend.
    pub async fn uncategorized_merchants(
        &self,
        org: OrgId,
        limit: i64,
    ) -> Result<Vec<(String, i64, i64)>, InsightError> {
        let rows = sqlx::query(
            "SELECT merchant, CAST(SUM(amount) AS BIGINT) AS spend, COUNT(*) AS lines FROM insight_transactions
             WHERE org_id = $1 AND source = 'statement' AND category = 'uncategorized' AND kind <> 'cancelled'
             GROUP BY merchant ORDER BY spend DESC, merchant LIMIT $2",
        )
        .bind(org.get())
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((get(r, "merchant")?, get(r, "spend")?, get(r, "lines")?)))
            .collect()
    }

    // ---- rules ----------------------------------------------------------------------------

    /// The organization's rules.
    pub async fn rules(&self, org: OrgId) -> Result<Vec<Rule>, InsightError> {
        let rows = sqlx::query(
            "SELECT id, keyword, category FROM insight_rules WHERE org_id = $1 ORDER BY keyword",
        )
        .bind(org.get())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Rule {
                    id: get(r, "id")?,
                    keyword: get(r, "keyword")?,
                    category: get(r, "category")?,
                })
            })
            .collect()
    }

    /// Adds (or changes) a rule, then categorizes every transaction again; returns how many
    /// changed category. An override of one merchant is a rule with its whole name.
    pub async fn set_rule(
        &self,
        org: OrgId,
        keyword: &str,
        category: &str,
        user: Option<UserId>,
    ) -> Result<u64, InsightError> {
        let keyword = keyword.trim();
        if keyword.is_empty() || keyword.chars().count() > 100 {
            return Err(InsightError::Invalid {
                field: "keyword",
                message: "a merchant keyword of 1 to 100 characters".into(),
            });
        }
        if !is_category(category) {
            return Err(InsightError::Invalid {
                field: "category",
                message: format!("'{category}' is not a category"),
            });
        }
        sqlx::query(
            "INSERT INTO insight_rules (org_id, keyword, category, created_by, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (org_id, keyword) DO UPDATE SET category = excluded.category",
        )
        .bind(org.get())
        .bind(keyword)
        .bind(category)
        .bind(user.map(UserId::get))
        .bind(self.clock.now_millis())
        .execute(self.db.pool())
        .await?;
        self.recategorize(org).await
    }

    /// Removes a rule and categorizes again.
    pub async fn delete_rule(&self, org: OrgId, id: i64) -> Result<u64, InsightError> {
        let deleted = sqlx::query("DELETE FROM insight_rules WHERE org_id = $1 AND id = $2")
            .bind(org.get())
            .bind(id)
            .execute(self.db.pool())
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(InsightError::NotFound("rule", id.to_string()));
        }
        self.recategorize(org).await
    }

    /// Categorizes every transaction of `org` again with its current rules: one pass in id
    /// order, then updates by id of the lines whose category changed.
    pub async fn recategorize(&self, org: OrgId) -> Result<u64, InsightError> {
        let categorizer = self.categorizer(org).await?;
        let mut tx = self.db.begin_write().await?;
        let mut changes: HashMap<(&'static str, &'static str), Vec<i64>> = HashMap::new();
        let mut known: HashMap<(String, Option<String>), (&'static str, &'static str)> =
            HashMap::new();
        let mut after = 0i64;
        loop {
            let rows = sqlx::query(
                "SELECT id, merchant, industry, category, category_source FROM insight_transactions
                 WHERE org_id = $1 AND source = 'statement' AND id > $2 ORDER BY id LIMIT 50000",
            )
            .bind(org.get())
            .bind(after)
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                after = get(row, "id")?;
                let key: (String, Option<String>) = (get(row, "merchant")?, get(row, "industry")?);
                let new = match known.get(&key) {
                    Some(new) => *new,
                    None => {
                        let (category, source) = categorizer.categorize(&key.0, key.1.as_deref());
                        let category = crate::categories::CATEGORIES
                            .iter()
                            .find(|(c, _, _)| *c == category)
                            .map_or(crate::categories::UNCATEGORIZED, |(c, _, _)| *c);
                        known.insert(key, (category, source.as_str()));
                        (category, source.as_str())
                    }
                };
                let old: (String, String) = (get(row, "category")?, get(row, "category_source")?);
                if old.0 != new.0 || old.1 != new.1 {
                    changes.entry(new).or_default().push(after);
                }
            }
        }
        let mut changed = 0;
        for ((category, source), ids) in changes {
            for chunk in ids.chunks(500) {
                let dialect = self.db.dialect();
                let sql = format!(
                    "UPDATE insight_transactions SET category = {}, category_source = {} WHERE id IN ({})",
                    dialect.placeholders(1, 1),
                    dialect.placeholders(2, 1),
                    dialect.placeholders(3, chunk.len())
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(category)
                    .bind(source);
                for id in chunk {
                    query = query.bind(*id);
                }
                changed += query.execute(&mut *tx).await?.rows_affected();
            }
        }
        tx.commit().await?;
        Ok(changed)
    }

    // ---- analyses -------------------------------------------------------------------------

    /// The first and last day with statement transactions.
    pub async fn span(
        &self,
        org: OrgId,
    ) -> Result<Option<(BusinessDate, BusinessDate)>, InsightError> {
        self.span_of(org, Source::Statements).await
    }

    /// The first and last day with transactions from `source`.
    pub async fn span_of(
        &self,
        org: OrgId,
        source: Source,
    ) -> Result<Option<(BusinessDate, BusinessDate)>, InsightError> {
        let row = sqlx::query(
            "SELECT MIN(occurred_on) AS first, MAX(occurred_on) AS last FROM insight_transactions WHERE org_id = $1 AND source = $2",
        )
        .bind(org.get())
        .bind(source.as_str())
        .fetch_one(self.db.pool())
        .await?;
        let (first, last): (Option<String>, Option<String>) =
            (get(&row, "first")?, get(&row, "last")?);
        Ok(match (first, last) {
            (Some(f), Some(l)) => Some((day(&f, "from")?, day(&l, "to")?)),
            _ => None,
        })
    }

    /// The days an analysis covers: those given, else the first and last transaction's.
    async fn analysis_days(
        &self,
        org: OrgId,
        source: Source,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<(BusinessDate, BusinessDate), InsightError> {
        let span = self.span_of(org, source).await?;
        let pick = |text: Option<&str>,
                    field,
                    fallback: Option<BusinessDate>|
         -> Result<BusinessDate, InsightError> {
            match text.map(str::trim).filter(|t| !t.is_empty()) {
                Some(text) => day(text, field),
                None => fallback.ok_or_else(|| InsightError::Invalid {
                    field: "file",
                    message: match source {
                        Source::Statements => {
                            "there are no transactions yet: import a statement first".into()
                        }
                        Source::ShopOrders => {
                            "there are no shop orders with a customer yet: sync or import a store, then take its orders into insight".into()
                        }
                    },
                }),
            }
        };
        let from = pick(from, "from", span.map(|s| s.0))?;
        let to = pick(to, "to", span.map(|s| s.1))?;
        if from > to {
            return Err(InsightError::Invalid {
                field: "to",
                message: format!("{to} is before {from}"),
            });
        }
        Ok((from, to))
    }

    /// Inserts a queued analysis row inside `tx`.
    async fn record_analysis_in(
        &self,
        tx: &mut adpool_store::DbTx,
        org: OrgId,
        source: Source,
        (from, to): (BusinessDate, BusinessDate),
        user: Option<UserId>,
    ) -> Result<i64, InsightError> {
        Ok(sqlx::query(
            "INSERT INTO insight_analyses (org_id, source, from_day, to_day, state, created_by, created_at)
             VALUES ($1, $6, $2, $3, 'queued', $4, $5) RETURNING id",
        )
        .bind(org.get())
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(user.map(UserId::get))
        .bind(self.clock.now_millis())
        .bind(source.as_str())
        .fetch_one(&mut **tx)
        .await?
        .try_get("id")?)
    }

    /// Records an analysis and queues its job (in one transaction); the requester is notified
    /// when it ends. Without days, it covers every transaction.
    pub async fn request_analysis(
        &self,
        org: OrgId,
        from: Option<&str>,
        to: Option<&str>,
        user: Option<UserId>,
    ) -> Result<(i64, JobId), InsightError> {
        self.request_analysis_of(org, Source::Statements, from, to, user)
            .await
    }

    /// [`Insight::request_analysis`] of the transactions from `source` (statements, or the
    /// shop orders taken in with [`Insight::take_shop_purchases`]).
    pub async fn request_analysis_of(
        &self,
        org: OrgId,
        source: Source,
        from: Option<&str>,
        to: Option<&str>,
        user: Option<UserId>,
    ) -> Result<(i64, JobId), InsightError> {
        let days = self.analysis_days(org, source, from, to).await?;
        let mut tx = self.db.begin_write().await?;
        let id = self
            .record_analysis_in(&mut tx, org, source, days, user)
            .await?;
        let job = self
            .jobs
            .enqueue_in(
                &mut tx,
                NewJob::new(ANALYZE_JOB, serde_json::json!({ "analysis_id": id }))
                    .for_org(org)
                    .max_attempts(3),
            )
            .await
            .map_err(|e| InsightError::Invalid {
                field: "job",
                message: e.to_string(),
            })?;
        sqlx::query("UPDATE insight_analyses SET job_id = $1 WHERE id = $2")
            .bind(job.get())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((id, job))
    }

    /// Records an analysis and runs it here, now, without a job (the CLI and the demo).
    pub async fn analyze_now(
        &self,
        org: OrgId,
        from: Option<&str>,
        to: Option<&str>,
        user: Option<UserId>,
        progress: &mut (dyn FnMut(i64, Option<i64>, &str) + Send),
    ) -> Result<(i64, Report), InsightError> {
        self.analyze_now_of(org, Source::Statements, from, to, user, progress)
            .await
    }

    /// [`Insight::analyze_now`] of the transactions from `source`.
    pub async fn analyze_now_of(
        &self,
        org: OrgId,
        source: Source,
        from: Option<&str>,
        to: Option<&str>,
        user: Option<UserId>,
        progress: &mut (dyn FnMut(i64, Option<i64>, &str) + Send),
    ) -> Result<(i64, Report), InsightError> {
        let days = self.analysis_days(org, source, from, to).await?;
        let mut tx = self.db.begin_write().await?;
        let id = self
            .record_analysis_in(&mut tx, org, source, days, user)
            .await?;
        tx.commit().await?;
        match self.run_analysis(id, progress).await {
            Ok((_, _, report)) => Ok((id, report)),
            Err(error) => {
                self.fail_analysis(id, &error.to_string()).await?;
                Err(error)
            }
        }
    }

    /// Runs analysis `id`: loads its transactions (reporting progress), computes the report,
    /// stores it. Returns the organization, the requester and the report.
    pub async fn run_analysis(
        &self,
        id: i64,
        progress: &mut (dyn FnMut(i64, Option<i64>, &str) + Send),
    ) -> Result<(OrgId, Option<UserId>, Report), InsightError> {
        let row = sqlx::query(
            "SELECT org_id, source, from_day, to_day, created_by FROM insight_analyses WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| InsightError::NotFound("analysis", id.to_string()))?;
        let org = OrgId(get(&row, "org_id")?);
        let source: String = get(&row, "source")?;
        let user: Option<i64> = get(&row, "created_by")?;
        let (from, to) = (
            day(&get::<String>(&row, "from_day")?, "from")?,
            day(&get::<String>(&row, "to_day")?, "to")?,
        );
        sqlx::query("UPDATE insight_analyses SET state = 'running' WHERE id = $1")
            .bind(id)
            .execute(self.db.pool())
            .await?;
        let total: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM insight_transactions WHERE org_id = $1 AND source = $4 AND occurred_on >= $2 AND occurred_on <= $3",
        )
        .bind(org.get())
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(&source)
        .fetch_one(self.db.pool())
        .await?
        .try_get("n")?;
        progress(0, Some(total), "reading transactions");
        let mut txns = Vec::with_capacity(total.max(0) as usize);
        let mut after = 0i64;
        loop {
            let rows = sqlx::query(
                "SELECT id, occurred_on, merchant, amount, kind, installment_months, category, customer_id
                 FROM insight_transactions WHERE org_id = $1 AND source = $5 AND occurred_on >= $2 AND occurred_on <= $3 AND id > $4
                 ORDER BY id LIMIT 20000",
            )
            .bind(org.get())
            .bind(from.to_string())
            .bind(to.to_string())
            .bind(after)
            .bind(&source)
            .fetch_all(self.db.pool())
            .await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                after = get(r, "id")?;
                txns.push(Txn {
                    day: day(&get::<String>(r, "occurred_on")?, "occurred_on")?,
                    merchant: get(r, "merchant")?,
                    amount: get(r, "amount")?,
                    kind: get(r, "kind")?,
                    installment_months: get(r, "installment_months")?,
                    category: get(r, "category")?,
                    customer: get(r, "customer_id")?,
                });
            }
            progress(txns.len() as i64, Some(total), "reading transactions");
        }
        let report = tokio::task::spawn_blocking(move || analyze(from, to, &txns))
            .await
            .map_err(|e| InsightError::Invalid {
                field: "analysis",
                message: e.to_string(),
            })?;
        sqlx::query("UPDATE insight_analyses SET state = 'done', result = $1, error = NULL, finished_at = $2 WHERE id = $3")
            .bind(serde_json::to_string(&report).unwrap_or_default())
            .bind(self.clock.now_millis())
            .bind(id)
            .execute(self.db.pool())
            .await?;
        progress(total, Some(total), "done");
        Ok((org, user.map(UserId), report))
    }

    /// Who asked for analysis `id` (organization, user), when it exists.
    pub async fn owner(&self, id: i64) -> Result<Option<(OrgId, Option<UserId>)>, InsightError> {
        let row = sqlx::query("SELECT org_id, created_by FROM insight_analyses WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| {
            Ok((
                OrgId(get(&r, "org_id")?),
                get::<Option<i64>>(&r, "created_by")?.map(UserId),
            ))
        })
        .transpose()
    }

    /// Marks analysis `id` failed with `error`.
    pub async fn fail_analysis(&self, id: i64, error: &str) -> Result<(), InsightError> {
        sqlx::query("UPDATE insight_analyses SET state = 'failed', error = $1, finished_at = $2 WHERE id = $3")
            .bind(error)
            .bind(self.clock.now_millis())
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Analysis `id` of `org`.
    pub async fn analysis(&self, org: OrgId, id: i64) -> Result<Analysis, InsightError> {
        let row = sqlx::query(
            "SELECT id, source, from_day, to_day, state, job_id, result, error, created_at, finished_at
             FROM insight_analyses WHERE org_id = $1 AND id = $2",
        )
        .bind(org.get())
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| InsightError::NotFound("analysis", id.to_string()))?;
        analysis_of(&row, true)
    }

    /// The organization's analyses, newest first (without their reports).
    pub async fn analyses(&self, org: OrgId) -> Result<Vec<Analysis>, InsightError> {
        let rows = sqlx::query(
            "SELECT id, source, from_day, to_day, state, job_id, NULL AS result, error, created_at, finished_at
             FROM insight_analyses WHERE org_id = $1 ORDER BY id DESC LIMIT 100",
        )
        .bind(org.get())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(|r| analysis_of(r, false)).collect()
    }

    // ---- messages -------------------------------------------------------------------------

    /// Writes `request.count` messages for a done analysis: through the AI when configured
    /// (its failure is noted and the offline writer takes over), then fitted to the channel,
    /// and kept in the history.
    pub async fn write_messages(
        &self,
        org: OrgId,
        analysis_id: i64,
        request: &MessageRequest,
        user: Option<UserId>,
    ) -> Result<Vec<Message>, InsightError> {
        if !(1..=10).contains(&request.count) {
            return Err(InsightError::Invalid {
                field: "count",
                message: format!("{} messages: ask for 1 to 10", request.count),
            });
        }
        if !["ko", "en"].contains(&request.lang.as_str()) {
            return Err(InsightError::Invalid {
                field: "lang",
                message: format!("'{}' is not ko or en", request.lang),
            });
        }
        let analysis = self.analysis(org, analysis_id).await?;
        let report = analysis.report.ok_or_else(|| InsightError::Invalid {
            field: "analysis",
            message: format!(
                "analysis {analysis_id} is {}; messages need a finished analysis",
                analysis.state
            ),
        })?;
        if let Some(segment) = &request.segment
            && !report.segments.iter().any(|s| &s.key == segment)
        {
            return Err(InsightError::Invalid {
                field: "segment",
                message: format!("analysis {analysis_id} has no segment '{segment}'"),
            });
        }
        let facts = facts(&report, request);
        let (mut texts, source, mut note) = if self.llm_configured() {
            match crate::llm::generate(&self.llm, &facts, request).await {
                Ok(texts) => (texts, "llm", None),
                Err(error) => {
                    tracing::warn!(%error, "AI messages failed; writing offline");
                    (
                        offline_messages(&facts, request),
                        "offline",
                        Some(format!("{error}; written by the built-in writer instead")),
                    )
                }
            }
        } else {
            (offline_messages(&facts, request), "offline", None)
        };
        if texts.len() < request.count {
            let extra = offline_messages(&facts, request);
            texts.extend(extra.into_iter().skip(texts.len()));
            note.get_or_insert_with(|| {
                "the AI wrote fewer messages than asked; the built-in writer added the rest".into()
            });
        }
        texts.truncate(request.count);
        let now = self.clock.now_millis();
        let mut tx = self.db.begin_write().await?;
        let mut ids = Vec::new();
        for text in &texts {
            let (body, cut) = enforce(request.channel, text);
            let line_note = match (&note, cut) {
                (Some(n), true) => Some(format!("{n}; cut to fit the channel")),
                (Some(n), false) => Some(n.clone()),
                (None, true) => Some("cut to fit the channel".to_owned()),
                (None, false) => None,
            };
            let id: i64 = sqlx::query(
                "INSERT INTO insight_messages (org_id, analysis_id, segment, channel, tone, lang, body, source, note, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(org.get())
            .bind(analysis_id)
            .bind(request.segment.as_deref())
            .bind(request.channel.as_str())
            .bind(request.tone.as_str())
            .bind(&request.lang)
            .bind(&body)
            .bind(source)
            .bind(line_note)
            .bind(user.map(UserId::get))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            ids.push(id);
        }
        tx.commit().await?;
        let all = self.messages(org, analysis_id).await?;
        Ok(all.into_iter().filter(|m| ids.contains(&m.id)).collect())
    }

    /// Messages of an analysis, newest first.
    pub async fn messages(
        &self,
        org: OrgId,
        analysis_id: i64,
    ) -> Result<Vec<Message>, InsightError> {
        let rows = sqlx::query(
            "SELECT id, analysis_id, segment, channel, tone, lang, body, source, note, created_at, edited_at
             FROM insight_messages WHERE org_id = $1 AND analysis_id = $2 ORDER BY id DESC",
        )
        .bind(org.get())
        .bind(analysis_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(message_of).collect()
    }

    /// Replaces a message's text; a text over the channel's limit is refused with its size.
    pub async fn edit_message(
        &self,
        org: OrgId,
        id: i64,
        body: &str,
    ) -> Result<Message, InsightError> {
        let row = sqlx::query("SELECT channel FROM insight_messages WHERE org_id = $1 AND id = $2")
            .bind(org.get())
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| InsightError::NotFound("message", id.to_string()))?;
        let channel = Channel::parse(&get::<String>(&row, "channel")?).unwrap_or(Channel::Lms);
        let body = body.trim();
        let limit = channel.limit();
        let (fitted, cut) = enforce(channel, body);
        if body.is_empty() || cut || fitted != body {
            return Err(InsightError::Invalid {
                field: "body",
                message: if body.is_empty() {
                    "the message is empty".into()
                } else if fitted != body && !cut {
                    format!(
                        "{} cannot carry emoji or characters EUC-KR cannot write",
                        channel.as_str().to_uppercase()
                    )
                } else {
                    format!(
                        "{} {} over the {} limit of {}",
                        limit.measure(body),
                        if matches!(limit, crate::messages::Limit::EucKrBytes(_)) {
                            "bytes (EUC-KR) is"
                        } else {
                            "characters is"
                        },
                        channel.as_str().to_uppercase(),
                        limit.max()
                    )
                },
            });
        }
        sqlx::query(
            "UPDATE insight_messages SET body = $1, edited_at = $2 WHERE org_id = $3 AND id = $4",
        )
        .bind(body)
        .bind(self.clock.now_millis())
        .bind(org.get())
        .bind(id)
        .execute(self.db.pool())
        .await?;
        let row = sqlx::query(
            "SELECT id, analysis_id, segment, channel, tone, lang, body, source, note, created_at, edited_at
             FROM insight_messages WHERE org_id = $1 AND id = $2",
        )
        .bind(org.get())
        .bind(id)
        .fetch_one(self.db.pool())
        .await?;
        message_of(&row)
    }
}

fn summary_of(statement: &Statement, upload_id: Option<i64>) -> ImportSummary {
    ImportSummary {
        upload_id,
        file: statement.file.clone(),
        encoding: statement.encoding.to_owned(),
        layout: statement.layout.clone(),
        header_row: statement.header_row,
        sheets: statement.sheets.clone(),
        header: statement.header.clone(),
        mapping: statement.mapping.clone(),
        lines: statement.lines.len(),
        new_lines: 0,
        duplicates: 0,
        totals_skipped: statement.totals_skipped,
        rejected: statement.rejected.iter().map(ToString::to_string).collect(),
        uncategorized: 0,
        sample: Vec::new(),
    }
}

fn transaction_of(r: &sqlx::any::AnyRow) -> Result<Transaction, InsightError> {
    Ok(Transaction {
        id: get(r, "id")?,
        day: get(r, "occurred_on")?,
        merchant: get(r, "merchant")?,
        amount: get(r, "amount")?,
        kind: get(r, "kind")?,
        installment_months: get(r, "installment_months")?,
        category: get(r, "category")?,
        category_source: get(r, "category_source")?,
        customer_id: get(r, "customer_id")?,
    })
}

fn analysis_of(r: &sqlx::any::AnyRow, with_report: bool) -> Result<Analysis, InsightError> {
    let result: Option<String> = if with_report { get(r, "result")? } else { None };
    Ok(Analysis {
        id: get(r, "id")?,
        source: get(r, "source")?,
        from: get(r, "from_day")?,
        to: get(r, "to_day")?,
        state: get(r, "state")?,
        job_id: get(r, "job_id")?,
        report: result.and_then(|text| serde_json::from_str(&text).ok()),
        error: get(r, "error")?,
        created_at: get(r, "created_at")?,
        finished_at: get(r, "finished_at")?,
    })
}

fn message_of(r: &sqlx::any::AnyRow) -> Result<Message, InsightError> {
    let channel: String = get(r, "channel")?;
    let body: String = get(r, "body")?;
    let limit = Channel::parse(&channel).unwrap_or(Channel::Lms).limit();
    Ok(Message {
        id: get(r, "id")?,
        analysis_id: get(r, "analysis_id")?,
        segment: get(r, "segment")?,
        size: limit.measure(&body),
        limit: limit.max(),
        channel,
        tone: get(r, "tone")?,
        lang: get(r, "lang")?,
        body,
        source: get(r, "source")?,
        note: get(r, "note")?,
        created_at: get(r, "created_at")?,
        edited_at: get(r, "edited_at")?,
    })
}
