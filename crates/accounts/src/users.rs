//! Users: people who log in, each in exactly one organization with one role.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Accounts, AccountsError, OrgId, Role, UserId, password};

/// A user account (never carries the password hash out of this crate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The organization it belongs to.
    pub org_id: OrgId,
    /// Login email, lowercase.
    pub email: String,
    /// Name shown in the UI.
    pub display_name: String,
    /// What it may do.
    pub role: Role,
    /// When it was created (UTC ms).
    pub created_at: i64,
    /// Last successful login (UTC ms).
    pub last_login_at: Option<i64>,
    /// When it was disabled; a disabled user cannot log in or use tokens.
    pub disabled_at: Option<i64>,
}

/// What is needed to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The organization.
    pub org_id: OrgId,
    /// Login email.
    pub email: String,
    /// Name shown in the UI.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Plain password (hashed with argon2id before storing).
    pub password: String,
}

/// A change to a user; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// New display name.
    pub display_name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// `Some(true)` disables, `Some(false)` re-enables.
    pub disabled: Option<bool>,
    /// New password.
    pub password: Option<String>,
}

pub(crate) const USER_COLUMNS: &str =
    "id, org_id, email, display_name, role, created_at, last_login_at, disabled_at";

impl User {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let role: String = row.try_get("role")?;
        Ok(User {
            id: UserId(row.try_get("id")?),
            org_id: OrgId(row.try_get("org_id")?),
            email: row.try_get("email")?,
            display_name: row.try_get("display_name")?,
            role: Role::parse(&role).map_err(|e| sqlx::Error::Decode(e.to_string().into()))?,
            created_at: row.try_get("created_at")?,
            last_login_at: row.try_get("last_login_at")?,
            disabled_at: row.try_get("disabled_at")?,
        })
    }

    /// True while the user may log in.
    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none()
    }
}

/// Lowercases and checks an email address.
pub(crate) fn normalize_email(email: &str) -> Result<String, AccountsError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.contains(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(AccountsError::invalid(
            "email",
            format!("'{email}' is not an email address"),
        ))
    }
}

fn validate_display_name(name: &str) -> Result<String, AccountsError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AccountsError::invalid(
            "display_name",
            "must be 1 to 100 characters",
        ));
    }
    Ok(name.to_owned())
}

impl Accounts {
    /// Creates a user in `new.org_id`.
    pub async fn create_user(&self, new: NewUser) -> Result<User, AccountsError> {
        let email = normalize_email(&new.email)?;
        let display_name = validate_display_name(&new.display_name)?;
        password::validate(&new.password, &email)?;
        self.organization(new.org_id).await?;
        let hash = password::hash(new.password).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO users (org_id, email, display_name, role, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {USER_COLUMNS}"
        )))
        .bind(new.org_id.get())
        .bind(&email)
        .bind(&display_name)
        .bind(new.role.as_str())
        .bind(hash)
        .bind(self.now())
        .fetch_one(self.db.pool())
        .await
        .map_err(|e| {
            if adpool_store::is_unique_violation(&e) {
                AccountsError::DuplicateEmail(email.clone())
            } else {
                e.into()
            }
        })?;
        Ok(User::from_row(&row)?)
    }

    /// One user of the caller's organization.
    pub async fn user(&self, org: OrgId, id: UserId) -> Result<User, AccountsError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND org_id = $2"
        )))
        .bind(id.get())
        .bind(org.get())
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(AccountsError::NotFound)?;
        Ok(User::from_row(&row)?)
    }

    /// Every user of the caller's organization, by email.
    pub async fn users(&self, org: OrgId) -> Result<Vec<User>, AccountsError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 ORDER BY email"
        )))
        .bind(org.get())
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.iter().map(User::from_row).collect::<Result<_, _>>()?)
    }

    /// Changes a user of the caller's organization. Refuses to leave the organization without
    /// an active admin.
    pub async fn update_user(
        &self,
        org: OrgId,
        id: UserId,
        update: UserUpdate,
    ) -> Result<User, AccountsError> {
        let display_name = update
            .display_name
            .as_deref()
            .map(validate_display_name)
            .transpose()?;
        if let Some(password) = &update.password {
            let current = self.user(org, id).await?;
            password::validate(password, &current.email)?;
        }
        let password_changed = update.password.is_some();
        let password_hash = match update.password {
            Some(password) => Some(password::hash(password).await?),
            None => None,
        };
        let mut tx = self.db.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND org_id = $2{}",
            self.db.dialect().for_update()
        )))
        .bind(id.get())
        .bind(org.get())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AccountsError::NotFound)?;
        let current = User::from_row(&row)?;
        let role = update.role.unwrap_or(current.role);
        let disabled_at = match update.disabled {
            Some(true) => current.disabled_at.or(Some(self.now())),
            Some(false) => None,
            None => current.disabled_at,
        };
        let stays_admin = role.is_admin() && disabled_at.is_none();
        if current.role.is_admin() && current.is_active() && !stays_admin {
            let other_admins: i64 = sqlx::query(
                "SELECT COUNT(*) FROM users WHERE org_id = $1 AND role = 'admin' AND disabled_at IS NULL AND id <> $2",
            )
            .bind(org.get())
            .bind(id.get())
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
            if other_admins == 0 {
                return Err(AccountsError::LastAdmin);
            }
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE users SET display_name = $1, role = $2, disabled_at = $3,
                    password_hash = COALESCE($4, password_hash)
             WHERE id = $5 AND org_id = $6 RETURNING {USER_COLUMNS}"
        )))
        .bind(display_name.unwrap_or(current.display_name))
        .bind(role.as_str())
        .bind(disabled_at)
        .bind(password_hash)
        .bind(id.get())
        .bind(org.get())
        .fetch_one(&mut *tx)
        .await?;
        if disabled_at.is_some() || password_changed {
            // A disabled user's sessions end at once, not when they expire; a new password ends
            // every session signed in with the old one.
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id.get())
                .execute(&mut *tx)
                .await?;
        }
        if disabled_at.is_some() && current.disabled_at.is_none() {
            // Disabling revokes the user's API tokens, so enabling the user again does not
            // bring back a token that was meant to stop working.
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(self.now())
            .bind(id.get())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(User::from_row(&row)?)
    }

    /// Checks an email and password. Fails with [`AccountsError::Throttled`] after too many
    /// recent failures for that email or client address, and otherwise with the generic
    /// [`AccountsError::InvalidCredentials`] for an unknown email, a wrong password or a disabled
    /// account; every failure counts toward throttling.
    pub async fn authenticate(
        &self,
        email: &str,
        password: &str,
        client_ip: &str,
    ) -> Result<User, AccountsError> {
        let email = email.trim().to_lowercase();
        self.throttle
            .check(&self.db, self.now(), &email, client_ip)
            .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1"
        )))
        .bind(&email)
        .fetch_optional(self.db.pool())
        .await?;
        let verified = match &row {
            Some(row) => {
                let stored: String = row.try_get("password_hash")?;
                password::verify(password.to_owned(), stored).await
            }
            None => {
                password::verify(password.to_owned(), password::decoy_hash().await.to_owned())
                    .await;
                false
            }
        };
        let user = row.as_ref().map(User::from_row).transpose()?;
        match user {
            Some(user) if verified && user.is_active() => {
                sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
                    .bind(self.now())
                    .bind(user.id.get())
                    .execute(self.db.pool())
                    .await?;
                Ok(user)
            }
            _ => {
                self.throttle
                    .record_failure(&self.db, self.now(), &email, client_ip)
                    .await?;
                Err(AccountsError::InvalidCredentials)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(normalize_email(" Ops@Demo.KR ").unwrap(), "ops@demo.kr");
        for bad in ["", "ops", "@demo.kr", "ops@demo", "ops@.kr", "o ps@demo.kr"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
