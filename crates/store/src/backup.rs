//! Backups of the embedded SQLite database (`adpool backup`, `adpool restore`).
//!
//! A backup is written while adpool keeps serving: `VACUUM INTO` copies the database inside one
//! read transaction, so the copy is consistent (every committed transaction or none of it) and
//! writers are not blocked under WAL. The copy is then opened and checked
//! (`PRAGMA integrity_check`, its schema version) before it is reported written.
//!
//! A restore checks the backup the same way, moves the current database (with its WAL) aside
//! as `NAME.before-restore-MILLIS`, and puts a copy of the backup in its place through a
//! temporary file and a rename, so a failure half-way leaves the current database untouched.
//! The server must be stopped first. PostgreSQL deployments use `pg_dump` / `pg_restore`
//! (docs/operations.md).

use std::path::{Path, PathBuf};

use sqlx::{Connection, Row, SqliteConnection};

use crate::{Db, Dialect, MIGRATION_COUNT, StoreError};

/// What a backup or restore wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFile {
    /// The file.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// The schema version inside it.
    pub schema_version: i64,
}

/// The file of a `sqlite://PATH` URL; `None` for in-memory databases.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

impl Db {
    /// Writes a consistent copy of this SQLite database to `to` while it stays in use. Refuses
    /// to overwrite an existing file, and on PostgreSQL (use `pg_dump`).
    pub async fn backup_to(&self, to: &Path) -> Result<BackupFile, StoreError> {
        if self.dialect() != Dialect::Sqlite {
            return Err(StoreError::Backup {
                path: to.display().to_string(),
                reason: "adpool backup copies the embedded SQLite database; back PostgreSQL up \
                         with pg_dump (docs/operations.md)"
                    .into(),
            });
        }
        if to.exists() {
            return Err(StoreError::Backup {
                path: to.display().to_string(),
                reason: "the file exists; choose a new name or remove it first".into(),
            });
        }
        if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::File {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let target = to.to_str().ok_or_else(|| StoreError::Backup {
            path: to.display().to_string(),
            reason: "the path is not valid UTF-8".into(),
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(target.to_owned())
            .execute(self.pool())
            .await
            .map_err(|e| StoreError::Backup {
                path: to.display().to_string(),
                reason: e.to_string(),
            })?;
        match check_backup(to).await {
            Ok(file) => Ok(file),
            Err(error) => {
                let _ = std::fs::remove_file(to);
                Err(error)
            }
        }
    }
}

/// Opens `file` read-only and checks it is an intact adpool database this binary can run.
pub async fn check_backup(file: &Path) -> Result<BackupFile, StoreError> {
    let bad = |reason: String| StoreError::Backup {
        path: file.display().to_string(),
        reason,
    };
    let bytes = std::fs::metadata(file)
        .map_err(|e| bad(format!("cannot read it: {e}")))?
        .len();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(file)
        .read_only(true);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| bad(format!("not a SQLite database: {e}")))?;
    let checked = async {
        let integrity: String = sqlx::query("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| bad(format!("not a SQLite database: {e}")))?
            .try_get(0)?;
        if integrity != "ok" {
            return Err(bad(format!("integrity check failed: {integrity}")));
        }
        let version: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            .fetch_one(&mut conn)
            .await
            .map_err(|_| bad("not an adpool database (no schema_migrations table)".into()))?
            .try_get(0)?;
        if version > MIGRATION_COUNT as i64 {
            return Err(StoreError::SchemaTooNew {
                database: version,
                binary: MIGRATION_COUNT as i64,
            });
        }
        Ok(version)
    }
    .await;
    let _ = conn.close().await;
    Ok(BackupFile {
        path: file.to_path_buf(),
        bytes,
        schema_version: checked?,
    })
}

/// Replaces the SQLite database at `database_url` with a copy of `backup` (checked first). The
/// database it replaces, if any, is kept beside it as `NAME.before-restore-MILLIS`; its path
/// is returned. Stop every adpool process using the database before.
pub async fn restore_sqlite(
    database_url: &str,
    backup: &Path,
    now_millis: i64,
) -> Result<(BackupFile, Option<PathBuf>), StoreError> {
    let target = sqlite_path(database_url).ok_or_else(|| StoreError::Backup {
        path: crate::mask_url(database_url),
        reason: "adpool restore writes a SQLite database file; restore PostgreSQL with \
                 pg_restore (docs/operations.md)"
            .into(),
    })?;
    let checked = check_backup(backup).await?;
    let file_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| StoreError::File { path, source }
    };
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(file_error(parent))?;
    }
    // The copy goes to a temporary name first: a full disk leaves the current database alone.
    let staging = with_suffix(&target, ".restoring");
    std::fs::copy(backup, &staging).map_err(file_error(&staging))?;
    std::fs::File::open(&staging)
        .and_then(|f| f.sync_all())
        .map_err(file_error(&staging))?;
    let kept = if target.exists() {
        fold_wal_into(&target).await?;
        let kept = with_suffix(&target, &format!(".before-restore-{now_millis}"));
        std::fs::rename(&target, &kept).map_err(file_error(&target))?;
        Some(kept)
    } else {
        None
    };
    for stale in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&target, stale));
    }
    std::fs::rename(&staging, &target).map_err(file_error(&target))?;
    Ok((
        BackupFile {
            path: target,
            ..checked
        },
        kept,
    ))
}

/// Writes a database's WAL back into its main file, so the file alone is the whole database.
async fn fold_wal_into(file: &Path) -> Result<(), StoreError> {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(file);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let folded = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    folded.map(|_| ()).map_err(|e| StoreError::Backup {
        path: file.display().to_string(),
        reason: format!("the current database is in use or damaged ({e}); stop adpool first"),
    })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_path("sqlite://./adpool-data/adpool.db"),
            Some(PathBuf::from("./adpool-data/adpool.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:///var/lib/adpool.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/adpool.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://db/adpool"), None);
    }
}
