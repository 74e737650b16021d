//! Login throttling, stored in the database so that it holds across restarts and across
//! processes sharing one PostgreSQL.

use sqlx::Row;

use crate::AccountsError;
use adpool_store::Db;

/// Limits on failed logins inside a sliding window.
#[derive(Debug, Clone, Copy)]
pub struct LoginThrottle {
    /// Length of the window.
    pub window_millis: i64,
    /// Failures allowed per email inside the window.
    pub max_per_email: i64,
    /// Failures allowed per client address inside the window (many emails from one place).
    pub max_per_ip: i64,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            window_millis: 15 * 60 * 1000,
            max_per_email: 5,
            max_per_ip: 30,
        }
    }
}

/// One recorded failure (for tests and the admin view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    /// Email tried.
    pub email: String,
    /// Client address.
    pub client_ip: String,
    /// When (UTC ms).
    pub failed_at: i64,
}

impl LoginThrottle {
    pub(crate) async fn check(
        &self,
        db: &Db,
        now: i64,
        email: &str,
        client_ip: &str,
    ) -> Result<(), AccountsError> {
        let since = now - self.window_millis;
        for (column, key, limit) in [
            ("email", email, self.max_per_email),
            ("client_ip", client_ip, self.max_per_ip),
        ] {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) AS failures, MIN(failed_at) AS oldest FROM login_failures WHERE {column} = $1 AND failed_at > $2"
            )))
            .bind(key)
            .bind(since)
            .fetch_one(db.pool())
            .await?;
            let failures: i64 = row.try_get("failures")?;
            if failures >= limit {
                let oldest: Option<i64> = row.try_get("oldest")?;
                let retry_after_millis = oldest.unwrap_or(now) + self.window_millis - now;
                return Err(AccountsError::Throttled {
                    retry_after_secs: (retry_after_millis / 1000).max(1),
                });
            }
        }
        Ok(())
    }

    pub(crate) async fn record_failure(
        &self,
        db: &Db,
        now: i64,
        email: &str,
        client_ip: &str,
    ) -> Result<(), AccountsError> {
        sqlx::query("INSERT INTO login_failures (email, client_ip, failed_at) VALUES ($1, $2, $3)")
            .bind(email)
            .bind(client_ip)
            .bind(now)
            .execute(db.pool())
            .await?;
        Ok(())
    }
}

impl crate::Accounts {
    /// Forgets failures older than the throttle window (run by the daily maintenance job).
    pub async fn purge_expired(&self) -> Result<u64, AccountsError> {
        let now = self.now();
        let failures = sqlx::query("DELETE FROM login_failures WHERE failed_at <= $1")
            .bind(now - self.throttle.window_millis)
            .execute(self.db.pool())
            .await?
            .rows_affected();
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(self.db.pool())
            .await?
            .rows_affected();
        Ok(failures + sessions)
    }
}
