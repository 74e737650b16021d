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

/// What an injected fault looks like to the code under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The statement fails (a constraint, a full disk, a dropped connection: an error).
    Error,
    /// The statement gives up waiting (PostgreSQL's statement timeout, SQLite's busy lock).
    Timeout,
}

impl Fault {
    /// The message the database reports; tests look for it in what the code says.
    pub fn message(self) -> &'static str {
        match self {
            Fault::Error => "injected fault: the database failed this write",
            Fault::Timeout => "injected fault: canceling statement due to statement timeout",
        }
    }

    /// PostgreSQL's SQLSTATE for the fault.
    fn sqlstate(self) -> &'static str {
        match self {
            Fault::Error => "XX000",
            Fault::Timeout => "57014",
        }
    }
}

/// Where a fault strikes: a write to `table`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint<'a> {
    /// The insert into `table` after `after` more rows were inserted (0: the next insert), so a
    /// fault can strike in the middle of a multi-row write.
    InsertAfter(&'a str, u64),
    /// Every update of `table`.
    Update(&'a str),
}

/// A fault planted in the database by a trigger; it strikes every matching write until
/// [`InjectedFault::clear`].
pub struct InjectedFault {
    db: Db,
    name: String,
    table: String,
}

/// Plants `fault` at `point`: the database itself fails the write, inside whatever transaction
/// the code under test has open, exactly as a real failure would.
///
/// # Panics
/// When the trigger cannot be created.
pub async fn inject_fault(db: &Db, point: FaultPoint<'_>, fault: Fault) -> InjectedFault {
    let (table, operation, after) = match point {
        FaultPoint::InsertAfter(table, after) => (table, "INSERT", Some(after)),
        FaultPoint::Update(table) => (table, "UPDATE", None),
    };
    assert!(
        table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "a table name: {table}"
    );
    let name = format!("adpool_fault_{}_{table}", operation.to_ascii_lowercase());
    let condition = match after {
        Some(after) => {
            let count: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(db.pool())
                    .await
                    .expect("counting the rows of the faulted table");
            format!("(SELECT COUNT(*) FROM {table}) >= {}", count + after as i64)
        }
        None => "1 = 1".to_owned(),
    };
    let message = fault.message();
    let sql = match db.dialect() {
        Dialect::Sqlite => vec![format!(
            "CREATE TRIGGER {name} BEFORE {operation} ON {table} WHEN {condition} \
             BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )],
        Dialect::Postgres => vec![
            format!(
                "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF {condition} THEN RAISE EXCEPTION USING ERRCODE = '{}', MESSAGE = '{message}'; \
                 END IF; RETURN NEW; END $$",
                fault.sqlstate()
            ),
            format!(
                "CREATE TRIGGER {name} BEFORE {operation} ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {name}()"
            ),
        ],
    };
    for statement in sql {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(db.pool())
            .await
            .expect("planting the fault");
    }
    InjectedFault {
        db: db.clone(),
        name,
        table: table.to_owned(),
    }
}

impl InjectedFault {
    /// Removes the fault: the database works again.
    ///
    /// # Panics
    /// When the trigger cannot be dropped.
    pub async fn clear(self) {
        let mut sql = vec![format!(
            "DROP TRIGGER {}{}",
            self.name,
            match self.db.dialect() {
                Dialect::Sqlite => String::new(),
                Dialect::Postgres => format!(" ON {}", self.table),
            }
        )];
        if self.db.dialect() == Dialect::Postgres {
            sql.push(format!("DROP FUNCTION {}()", self.name));
        }
        for statement in sql {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(self.db.pool())
                .await
                .expect("clearing the fault");
        }
    }
}
