//! Embedded schema migrations: one file per version in `migrations/`, shared by both
//! databases; the few spellings that differ are tokens rendered by
//! [`Dialect::render_migration`], so the schema has one source of truth. All pending migrations
//! apply in ONE
//! transaction, under an advisory lock on PostgreSQL, so concurrent starts never race and a
//! failure leaves the schema as it was.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Db, Dialect, StoreError};

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

macro_rules! migration {
    ($version:expr, $name:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../migrations/", $file)),
        }
    };
}

const MIGRATIONS: &[Migration] = &[
    migration!(1, "foundation", "0001_foundation.sql"),
    migration!(2, "inventory", "0002_inventory.sql"),
    migration!(3, "campaigns", "0003_campaigns.sql"),
    migration!(4, "cpc", "0004_cpc.sql"),
    migration!(5, "logs", "0005_logs.sql"),
    migration!(6, "commerce", "0006_commerce.sql"),
    migration!(7, "insight", "0007_insight.sql"),
    migration!(8, "scale_out", "0008_scale_out.sql"),
    migration!(9, "log_s3_credentials", "0009_log_s3_credentials.sql"),
    migration!(10, "cpc_ad_review", "0010_cpc_ad_review.sql"),
    migration!(11, "shop_order_lines", "0011_shop_order_lines.sql"),
    migration!(12, "insight_sources", "0012_insight_sources.sql"),
];

/// How many migrations this binary carries.
pub const MIGRATION_COUNT: usize = MIGRATIONS.len();

/// Arbitrary, fixed key of the PostgreSQL advisory lock that serializes migrators.
const MIGRATION_LOCK_KEY: i64 = 7_210_001;

/// A migration applied by one [`Db::migrate`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Its version.
    pub version: i64,
    /// Its name.
    pub name: &'static str,
}

impl Migration {
    fn sql(&self, dialect: Dialect) -> String {
        dialect.render_migration(self.sql)
    }

    fn checksum(&self, dialect: Dialect) -> String {
        hex::encode(Sha256::digest(self.sql(dialect).as_bytes()))
    }
}

impl Db {
    /// Applies every migration the database does not have yet and returns them; verifies that
    /// those already applied are unchanged.
    pub async fn migrate(&self) -> Result<Vec<AppliedMigration>, StoreError> {
        let dialect = self.dialect();
        let mut tx = self.begin_write().await?;
        if dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(MIGRATION_LOCK_KEY)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY,
                name TEXT NOT NULL,
                checksum TEXT NOT NULL,
                applied_at BIGINT NOT NULL
            )",
        )
        .execute(&mut *tx)
        .await?;
        let applied =
            sqlx::query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
                .fetch_all(&mut *tx)
                .await?;
        let newest_known = MIGRATIONS.last().map_or(0, |m| m.version);
        let mut done = std::collections::HashSet::new();
        for row in &applied {
            let version: i64 = row.try_get("version")?;
            let checksum: String = row.try_get("checksum")?;
            let Some(migration) = MIGRATIONS.iter().find(|m| m.version == version) else {
                return Err(StoreError::SchemaTooNew {
                    database: version,
                    binary: newest_known,
                });
            };
            let embedded = migration.checksum(dialect);
            if embedded != checksum {
                return Err(StoreError::ChecksumMismatch {
                    version,
                    name: row.try_get("name")?,
                    applied: checksum,
                    embedded,
                });
            }
            done.insert(version);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let mut newly_applied = Vec::new();
        for migration in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
            let failed = |source| StoreError::Migration {
                version: migration.version,
                name: migration.name,
                source,
            };
            sqlx::raw_sql(sqlx::AssertSqlSafe(migration.sql(dialect)))
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            sqlx::query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)")
                .bind(migration.version)
                .bind(migration.name)
                .bind(migration.checksum(dialect))
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            tracing::info!(
                version = migration.version,
                name = migration.name,
                "applied migration"
            );
            newly_applied.push(AppliedMigration {
                version: migration.version,
                name: migration.name,
            });
        }
        tx.commit().await?;
        Ok(newly_applied)
    }

    /// The highest migration version applied, 0 for an empty database.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let exists = match self.dialect() {
            Dialect::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            }
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
            }
        };
        let count: i64 = sqlx::query(exists)
            .fetch_one(self.pool())
            .await?
            .try_get(0)?;
        if count == 0 {
            return Ok(0);
        }
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("version")?)
    }
}
