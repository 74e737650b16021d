//! Store contract: runs on SQLite, and on PostgreSQL when ADPOOL_TEST_DATABASE_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

use adpool_store::testing::fresh_database;
use adpool_store::{Dialect, is_unique_violation, savepoint};
use sqlx::Row;

#[tokio::test]
async fn migrations_apply_once_and_report_the_version() {
    let db = fresh_database().await;
    assert_eq!(
        db.schema_version().await.unwrap(),
        adpool_store::MIGRATION_COUNT as i64
    );
    assert!(
        db.migrate().await.unwrap().is_empty(),
        "a second migrate applies nothing"
    );
    db.ping().await.unwrap();
}

#[tokio::test]
async fn a_changed_migration_is_refused() {
    let db = fresh_database().await;
    sqlx::query("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1")
        .execute(db.pool())
        .await
        .unwrap();
    let error = db.migrate().await.unwrap_err().to_string();
    assert!(
        error.contains("migration 1 (foundation) was changed"),
        "{error}"
    );
}

#[tokio::test]
async fn a_database_newer_than_the_binary_is_refused() {
    let db = fresh_database().await;
    sqlx::query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (9999, 'future', 'x', 0)")
        .execute(db.pool())
        .await
        .unwrap();
    let error = db.migrate().await.unwrap_err().to_string();
    assert!(error.contains("schema version 9999"), "{error}");
}

#[tokio::test]
async fn savepoints_undo_only_their_own_work() {
    let db = fresh_database().await;
    let mut tx = db.begin_write().await.unwrap();
    sqlx::query("INSERT INTO organizations (name, created_at) VALUES ('kept', 0)")
        .execute(&mut *tx)
        .await
        .unwrap();
    {
        let mut inner = savepoint(&mut tx).await.unwrap();
        sqlx::query("INSERT INTO organizations (name, created_at) VALUES ('undone', 0)")
            .execute(&mut *inner)
            .await
            .unwrap();
        inner.rollback().await.unwrap();
    }
    {
        let mut inner = savepoint(&mut tx).await.unwrap();
        sqlx::query("INSERT INTO organizations (name, created_at) VALUES ('released', 0)")
            .execute(&mut *inner)
            .await
            .unwrap();
        inner.commit().await.unwrap();
    }
    tx.commit().await.unwrap();
    let names: Vec<String> = sqlx::query("SELECT name FROM organizations ORDER BY name")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("name"))
        .collect();
    assert_eq!(names, vec!["kept".to_owned(), "released".to_owned()]);
}

#[tokio::test]
async fn constraints_hold_on_both_databases() {
    let db = fresh_database().await;
    sqlx::query("INSERT INTO organizations (name, created_at) VALUES ('a', 0)")
        .execute(db.pool())
        .await
        .unwrap();
    let duplicate = sqlx::query("INSERT INTO organizations (name, created_at) VALUES ('a', 0)")
        .execute(db.pool())
        .await
        .unwrap_err();
    assert!(is_unique_violation(&duplicate), "{duplicate}");
    let orphan = sqlx::query(
        "INSERT INTO users (org_id, email, display_name, role, password_hash, created_at) VALUES (424242, 'x@y.kr', 'x', 'admin', 'h', 0)",
    )
    .execute(db.pool())
    .await
    .unwrap_err();
    assert!(
        adpool_store::is_foreign_key_violation(&orphan),
        "foreign keys must be on: {orphan}"
    );
    let bad_role = sqlx::query("INSERT INTO users (org_id, email, display_name, role, password_hash, created_at) VALUES (1, 'x@y.kr', 'x', 'root', 'h', 0)")
        .execute(db.pool())
        .await;
    assert!(bad_role.is_err(), "role is checked by the schema");
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_a_busy_timeout() {
    let db = fresh_database().await;
    if db.dialect() != Dialect::Sqlite {
        return; // PostgreSQL has no such pragmas; this contract is SQLite's own.
    }
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode, "wal");
    let timeout: i64 = sqlx::query("PRAGMA busy_timeout")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
    assert!(timeout >= 5000);
}

#[tokio::test]
async fn big_sums_come_back_as_i64_on_both_databases() {
    // PostgreSQL's SUM(BIGINT) is NUMERIC, which the portable layer cannot read: queries CAST.
    let db = fresh_database().await;
    sqlx::query("INSERT INTO organizations (name, created_at) VALUES ('a', 9000000000000), ('b', 9000000000000)")
        .execute(db.pool())
        .await
        .unwrap();
    let total: i64 = sqlx::query("SELECT CAST(SUM(created_at) AS BIGINT) FROM organizations")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(total, 18_000_000_000_000);
}

#[tokio::test]
async fn sqlite_database_file_and_folder_are_created_on_first_run() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("nested/deeper/adpool.db");
    let db = adpool_store::Db::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    assert!(path.exists());
}
