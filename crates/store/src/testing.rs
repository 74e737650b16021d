//! A fresh, migrated database for every test.
//!
//! By default each test gets its own SQLite file in a temporary folder. When
//! `ADPOOL_TEST_DATABASE_URL` names a PostgreSQL database, each test gets a fresh schema in it
//! instead (`t_<random>`), so the same suite proves the same code on both databases. Under
//! `CI=true` an unreachable PostgreSQL fails the test; elsewhere it is a loud panic too, because a
//! test that silently ran on the wrong database would prove nothing.

use std::sync::Arc;

use crate::{Db, Dialect};

/// The environment variable that points tests at PostgreSQL.
pub const TEST_DATABASE_URL_ENV: &str = "ADPOOL_TEST_DATABASE_URL";

/// Opens a fresh, fully migrated database for one test.
///
/// # Panics
/// When the database cannot be created or migrated: the test fails with the reason.
pub async fn fresh_database() -> Db {
    let db = match std::env::var(TEST_DATABASE_URL_ENV)
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        Some(url) => fresh_postgres_schema(&url).await,
        None => fresh_sqlite_file().await,
    };
    db.migrate().await.expect("migrating the test database");
    db
}

/// Which dialect [`fresh_database`] will use in this process.
pub fn test_dialect() -> Dialect {
    match std::env::var(TEST_DATABASE_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => Dialect::from_url(&url).unwrap_or(Dialect::Sqlite),
        _ => Dialect::Sqlite,
    }
}

async fn fresh_sqlite_file() -> Db {
    let folder = tempfile::tempdir().expect("creating a temporary folder for the test database");
    let url = format!("sqlite://{}", folder.path().join("test.db").display());
    Db::open(&url, None, Some(Arc::new(folder)))
        .await
        .expect("opening the SQLite test database")
}

async fn fresh_postgres_schema(url: &str) -> Db {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).expect("random schema name");
    let schema = format!("t_{}", hex::encode(random));
    let admin = match Db::connect(url).await {
        Ok(db) => db,
        Err(error) => panic!(
            "{TEST_DATABASE_URL_ENV} is set but PostgreSQL is unreachable (CI={}): {error}",
            std::env::var("CI").unwrap_or_default()
        ),
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(admin.pool())
        .await
        .expect("creating the test schema");
    admin.close().await;
    Db::open(url, Some(schema), None)
        .await
        .expect("opening the PostgreSQL test schema")
}
