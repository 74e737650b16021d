//! The dialect seam: the few real differences between SQLite and PostgreSQL.
//!
//! Everything else is one portable SQL. When a domain crate needs a difference that is not here,
//! it is added here, with a test in both dialects, rather than forked in the domain crate.

/// Which database a [`crate::Db`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Embedded SQLite: one writer at a time, so row locks are unnecessary.
    Sqlite,
    /// PostgreSQL: many writers; rows are locked explicitly.
    Postgres,
}

impl Dialect {
    /// Reads the dialect from a URL scheme.
    pub fn from_url(url: &str) -> Option<Dialect> {
        if url.starts_with("sqlite:") {
            Some(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Dialect::Postgres)
        } else {
            None
        }
    }

    /// Short name for logs and `/readyz`.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    /// Suffix for a `SELECT` that claims rows other workers must skip (job queues, work
    /// sharing). SQLite serializes writers, so it needs nothing.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Suffix for a `SELECT` that locks the rows it reads until the transaction ends.
    pub fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// The statement that opens a transaction which will write. SQLite takes the write lock at
    /// once (`BEGIN IMMEDIATE`) so a read-then-write transaction never fails to upgrade its lock;
    /// PostgreSQL locks rows as it goes.
    pub fn begin_write(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }

    /// How many rows one multi-row `INSERT` may carry, so that bulk loads stay under each
    /// database's bound-parameter limit (SQLite 32,766; PostgreSQL 65,535).
    pub fn max_rows_per_insert(self, columns: usize) -> usize {
        let limit = match self {
            Dialect::Sqlite => 32_766,
            Dialect::Postgres => 65_535,
        };
        (limit / columns.max(1)).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_follows_the_url_scheme() {
        assert_eq!(Dialect::from_url("sqlite://./a.db"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::from_url("sqlite::memory:"), Some(Dialect::Sqlite));
        assert_eq!(
            Dialect::from_url("postgres://u@h/db"),
            Some(Dialect::Postgres)
        );
        assert_eq!(
            Dialect::from_url("postgresql://u@h/db"),
            Some(Dialect::Postgres)
        );
        assert_eq!(Dialect::from_url("mysql://u@h/db"), None);
        assert_eq!(Dialect::Sqlite.max_rows_per_insert(6), 5461);
    }
}
