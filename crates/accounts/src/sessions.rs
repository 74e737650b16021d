//! Server-side sessions: the browser holds only a random token; the database holds its digest,
//! the user and the CSRF token bound to the session.

use sqlx::Row;

use crate::secrets::{random_hex, token_digest};
use crate::users::USER_COLUMNS;
use crate::{Accounts, AccountsError, User, UserId};

/// How long a session lives without use (sliding): 12 hours.
pub const SESSION_TTL_MILLIS: i64 = 12 * 60 * 60 * 1000;

/// Sessions are touched at most this often, to keep reads cheap.
const TOUCH_EVERY_MILLIS: i64 = 60 * 1000;

/// A session just created: the token goes into the cookie and is never stored in plain text.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The cookie value.
    pub token: String,
    /// The CSRF token to embed in forms of this session.
    pub csrf_token: String,
    /// When it expires if unused (UTC ms).
    pub expires_at: i64,
}

/// A live session and its user.
#[derive(Debug, Clone)]
pub struct Session {
    /// The signed-in user.
    pub user: User,
    /// The CSRF token every state-changing request of this session must carry.
    pub csrf_token: String,
    /// When it expires if unused (UTC ms).
    pub expires_at: i64,
}

impl Accounts {
    /// Starts a session for `user`.
    pub async fn create_session(&self, user: UserId) -> Result<NewSession, AccountsError> {
        let token = random_hex(32);
        let csrf_token = random_hex(32);
        let now = self.now();
        let expires_at = now + SESSION_TTL_MILLIS;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $5, $4)",
        )
        .bind(token_digest(&token))
        .bind(user.get())
        .bind(&csrf_token)
        .bind(now)
        .bind(expires_at)
        .execute(self.db.pool())
        .await?;
        Ok(NewSession {
            token,
            csrf_token,
            expires_at,
        })
    }

    /// The live session behind a cookie token, extending its life; `None` when unknown,
    /// expired or the user is disabled.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, AccountsError> {
        let now = self.now();
        let digest = token_digest(token);
        let columns = USER_COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {columns}, s.csrf_token, s.expires_at AS session_expires_at, s.last_seen_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL"
        )))
        .bind(&digest)
        .bind(now)
        .fetch_optional(self.db.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let last_seen: i64 = row.try_get("last_seen_at")?;
        let mut expires_at: i64 = row.try_get("session_expires_at")?;
        if now - last_seen >= TOUCH_EVERY_MILLIS {
            expires_at = now + SESSION_TTL_MILLIS;
            sqlx::query(
                "UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE token_hash = $3",
            )
            .bind(now)
            .bind(expires_at)
            .bind(&digest)
            .execute(self.db.pool())
            .await?;
        }
        Ok(Some(Session {
            user: User::from_row(&row)?,
            csrf_token: row.try_get("csrf_token")?,
            expires_at,
        }))
    }

    /// Ends a session (logout). Unknown tokens are ignored.
    pub async fn end_session(&self, token: &str) -> Result<(), AccountsError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_digest(token))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}
