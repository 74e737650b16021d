//! API tokens for machine clients: shown once, stored as a digest, sent as
//! `Authorization: Bearer adp_...`. A token acts as the user who created it.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::secrets::{random_hex, token_digest};
use crate::users::USER_COLUMNS;
use crate::{Accounts, AccountsError, OrgId, User, UserId};

/// Every token starts with this, so leaked tokens are easy to recognise and scan for.
const TOKEN_PREFIX: &str = "adp_";

/// A token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// Its id.
    pub id: i64,
    /// Its organization.
    pub org_id: OrgId,
    /// The user it acts as.
    pub user_id: UserId,
    /// What it is for.
    pub name: String,
    /// The first characters of the secret, to tell tokens apart.
    pub token_prefix: String,
    /// When it was created (UTC ms).
    pub created_at: i64,
    /// When it was last used (UTC ms).
    pub last_used_at: Option<i64>,
    /// When it was revoked (UTC ms).
    pub revoked_at: Option<i64>,
}

/// A token just created, with its secret: the only time the secret is visible.
#[derive(Debug, Clone, Serialize)]
pub struct NewApiToken {
    /// The listed token.
    pub token: ApiToken,
    /// The secret to send as `Authorization: Bearer <secret>`.
    pub secret: String,
}

const TOKEN_COLUMNS: &str =
    "id, org_id, user_id, name, token_prefix, created_at, last_used_at, revoked_at";

impl ApiToken {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(ApiToken {
            id: row.try_get("id")?,
            org_id: OrgId(row.try_get("org_id")?),
            user_id: UserId(row.try_get("user_id")?),
            name: row.try_get("name")?,
            token_prefix: row.try_get("token_prefix")?,
            created_at: row.try_get("created_at")?,
            last_used_at: row.try_get("last_used_at")?,
            revoked_at: row.try_get("revoked_at")?,
        })
    }
}

impl Accounts {
    /// Creates a token acting as `user` (who must be in `org`).
    pub async fn create_api_token(
        &self,
        org: OrgId,
        user: UserId,
        name: &str,
    ) -> Result<NewApiToken, AccountsError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AccountsError::invalid(
                "name",
                "must be 1 to 100 characters",
            ));
        }
        self.user(org, user).await?;
        let secret = format!("{TOKEN_PREFIX}{}", random_hex(32));
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO api_tokens (org_id, user_id, name, token_prefix, token_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TOKEN_COLUMNS}"
        )))
        .bind(org.get())
        .bind(user.get())
        .bind(name)
        .bind(&secret[..TOKEN_PREFIX.len() + 6])
        .bind(token_digest(&secret))
        .bind(self.now())
        .fetch_one(self.db.pool())
        .await?;
        Ok(NewApiToken {
            token: ApiToken::from_row(&row)?,
            secret,
        })
    }

    /// The organization's tokens, newest first.
    pub async fn api_tokens(&self, org: OrgId) -> Result<Vec<ApiToken>, AccountsError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE org_id = $1 ORDER BY id DESC"
        )))
        .bind(org.get())
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .iter()
            .map(ApiToken::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Revokes a token of the caller's organization; revoking twice is harmless.
    pub async fn revoke_api_token(&self, org: OrgId, id: i64) -> Result<ApiToken, AccountsError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND org_id = $3 RETURNING {TOKEN_COLUMNS}"
        )))
        .bind(self.now())
        .bind(id)
        .bind(org.get())
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(AccountsError::NotFound)?;
        Ok(ApiToken::from_row(&row)?)
    }

    /// The active user behind a bearer secret; `None` when unknown, revoked or the user is
    /// disabled.
    pub async fn api_token_user(&self, secret: &str) -> Result<Option<User>, AccountsError> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let columns = USER_COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let digest = token_digest(secret);
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {columns} FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.org_id = t.org_id
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL"
        )))
        .bind(&digest)
        .fetch_optional(self.db.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2")
            .bind(self.now())
            .bind(&digest)
            .execute(self.db.pool())
            .await?;
        Ok(Some(User::from_row(&row)?))
    }
}
