//! `adpool-store`: the one way adpool talks to its database.
//!
//! It owns:
//! - [`Db`]: a connection pool opened by URL, `sqlite://...` (the embedded default) or
//!   `postgres://...`, with SQLite set up for a server (WAL, foreign keys on, busy timeout);
//! - the migrations of both dialects (`migrations/sqlite`, `migrations/postgres`), embedded in
//!   the binary and applied by [`Db::migrate`];
//! - transactions ([`Db::begin`], [`Db::begin_write`]) and savepoints ([`savepoint`]);
//! - backups of the SQLite database ([`Db::backup_to`], [`restore_sqlite`]);
//! - [`bulk::upsert`]: many-row `INSERT ... ON CONFLICT` statements, additive or replacing;
//! - [`Vault`]: secrets sealed at rest (AES-256-GCM) for the crates that keep credentials;
//! - the [`Dialect`] seam: the few places where SQLite and PostgreSQL really differ;
//! - [`testing`]: a fresh database per test, on SQLite or, when `ADPOOL_TEST_DATABASE_URL`
//!   is set, in a fresh PostgreSQL schema.
//!
//! Domain crates write queries in the portable subset both databases speak (`$1` placeholders,
//! `ON CONFLICT ... DO UPDATE`, `RETURNING`, `BIGINT` money and UTC-millisecond timestamps,
//! `YYYY-MM-DD` text dates) and run them through `sqlx::query` on [`Db::pool`]. It must never
//! contain domain logic.
//!
//! ```no_run
//! # async fn demo() -> Result<(), adpool_store::StoreError> {
//! let db = adpool_store::Db::connect("sqlite://./adpool-data/adpool.db").await?;
//! db.migrate().await?;
//! let mut tx = db.begin_write().await?;
//! sqlx::query("UPDATE organizations SET name = $1 WHERE id = $2")
//!     .bind("Demo").bind(1_i64).execute(&mut *tx).await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```

mod backup;
pub mod bulk;
mod db;
mod dialect;
mod error;
mod migrate;
pub mod testing;
mod vault;

pub use backup::{BackupFile, check_backup, restore_sqlite, sqlite_path};
pub use db::{DEFAULT_DATABASE_URL, Db, DbTx, mask_url, savepoint};
pub use dialect::Dialect;
pub use error::{StoreError, is_foreign_key_violation, is_unique_violation};
pub use migrate::{AppliedMigration, MIGRATION_COUNT};
pub use vault::{Vault, VaultError};

/// Re-exported so domain crates name one sqlx.
pub use sqlx;
