//! Opening the pool and handing out transactions.

use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Acquire, Any, AnyPool, Connection, Transaction};

use crate::{Dialect, StoreError};

/// The database used when none is configured: a SQLite file beside the working directory,
/// created on first run.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./adpool-data/adpool.db";

/// A transaction on the adpool database.
pub type DbTx = Transaction<'static, Any>;

/// A pool of connections to adpool's database (SQLite or PostgreSQL). Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    dialect: Dialect,
    display_url: Arc<str>,
    /// Keeps a test database's temporary folder alive as long as any clone of the pool.
    _scratch: Option<Arc<tempfile::TempDir>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("dialect", &self.dialect)
            .field("url", &self.display_url)
            .finish()
    }
}

impl Db {
    /// Opens a pool for `url` (`sqlite://PATH` or `postgres://...`). A SQLite file and its folder
    /// are created when missing. Fails with the URL (password masked) when the database cannot
    /// be reached.
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        Self::open(url, None, None).await
    }

    pub(crate) async fn open(
        url: &str,
        search_path: Option<String>,
        scratch: Option<Arc<tempfile::TempDir>>,
    ) -> Result<Db, StoreError> {
        install_default_drivers();
        let dialect =
            Dialect::from_url(url).ok_or_else(|| StoreError::UnsupportedUrl(mask_url(url)))?;
        let connect_url = match dialect {
            Dialect::Sqlite => prepare_sqlite_file(url)?,
            Dialect::Postgres => url.to_owned(),
        };
        // One direct attempt first: an unreachable database fails at once with the driver's
        // reason, instead of after the pool's acquire timeout.
        let probe = AnyConnection::connect(&connect_url)
            .await
            .map_err(|source| StoreError::Connect {
                url: mask_url(url),
                source,
            })?;
        let _ = probe.close().await;
        let options = AnyPoolOptions::new()
            .max_connections(match dialect {
                Dialect::Sqlite => 8,
                Dialect::Postgres => 16,
            })
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                let search_path = search_path.clone();
                Box::pin(async move {
                    configure_connection(conn, dialect, search_path.as_deref()).await
                })
            });
        let pool = options
            .connect(&connect_url)
            .await
            .map_err(|source| StoreError::Connect {
                url: mask_url(url),
                source,
            })?;
        Ok(Db {
            pool,
            dialect,
            display_url: mask_url(url).into(),
            _scratch: scratch,
        })
    }

    /// The connection pool, for `sqlx::query(...).execute(db.pool())`.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The URL with any password masked, safe for logs.
    pub fn display_url(&self) -> &str {
        &self.display_url
    }

    /// Begins a transaction for reads (or writes that cannot conflict).
    pub async fn begin(&self) -> Result<DbTx, sqlx::Error> {
        self.pool.begin().await
    }

    /// Begins a transaction that will write: on SQLite it takes the write lock at once, so a
    /// read-check-write sequence cannot fail half-way on a lock upgrade.
    pub async fn begin_write(&self) -> Result<DbTx, sqlx::Error> {
        self.pool.begin_with(self.dialect.begin_write()).await
    }

    /// Checks that the database answers (`/readyz`).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Closes every connection (waits for those in use).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Opens a savepoint inside `tx`: committing it releases the savepoint, dropping or rolling it
/// back undoes only what was done since it was opened.
pub async fn savepoint<'t>(tx: &'t mut DbTx) -> Result<Transaction<'t, Any>, sqlx::Error> {
    tx.begin().await
}

async fn configure_connection(
    conn: &mut AnyConnection,
    dialect: Dialect,
    search_path: Option<&str>,
) -> Result<(), sqlx::Error> {
    match dialect {
        Dialect::Sqlite => {
            // WAL lets readers run beside the one writer; the busy timeout makes a second writer
            // wait instead of failing; foreign keys are off by default in SQLite. A page cache
            // of up to 64 MiB per connection (SQLite's default is 2 MiB, allocated as used)
            // keeps big report upserts from re-reading their pages from the OS.
            sqlx::raw_sql(
                "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                 PRAGMA busy_timeout = 15000; PRAGMA synchronous = NORMAL; \
                 PRAGMA cache_size = -65536;",
            )
            .execute(&mut *conn)
            .await?;
        }
        Dialect::Postgres => {
            if let Some(schema) = search_path {
                // Only test schemas come here; their names are generated hex, never user input.
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET search_path TO {schema}")))
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    conn.ping().await
}

/// Creates the folder of a SQLite database file and returns a URL that creates the file.
fn prepare_sqlite_file(url: &str) -> Result<String, StoreError> {
    let Some(path) = crate::sqlite_path(url) else {
        return Ok(url.to_owned());
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| StoreError::File {
            path: parent.display().to_string(),
            source,
        })?;
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else {
        format!("{url}{separator}mode=rwc")
    })
}

/// Masks the password of a database URL: `postgres://app:secret@h/db` -> `postgres://app:***@h/db`.
pub fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_log() {
        assert_eq!(
            mask_url("postgres://app:s3cret@db.internal:5432/adpool"),
            "postgres://app:***@db.internal:5432/adpool"
        );
        assert_eq!(
            mask_url("postgres://app@db/adpool"),
            "postgres://app@db/adpool"
        );
        assert_eq!(
            mask_url("sqlite://./adpool-data/adpool.db"),
            "sqlite://./adpool-data/adpool.db"
        );
    }

    #[tokio::test]
    async fn unreachable_database_names_the_masked_url() {
        let error = Db::connect("postgres://app:s3cret@127.0.0.1:1/nowhere")
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("postgres://app:***@127.0.0.1:1/nowhere"),
            "{message}"
        );
        assert!(!message.contains("s3cret"));
        assert!(matches!(
            Db::connect("mysql://x").await,
            Err(StoreError::UnsupportedUrl(_))
        ));
    }
}
