//! Organizations: the tenants. Every other account object belongs to one.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Accounts, AccountsError, OrgId};

/// A tenant: a media company, an agency, an advertiser or a shop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organization {
    /// Its id.
    pub id: OrgId,
    /// Its unique display name.
    pub name: String,
    /// Where notifications are also POSTed as JSON, if set.
    pub webhook_url: Option<String>,
    /// When it was created (UTC ms).
    pub created_at: i64,
}

/// A change to an organization's settings; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct OrganizationUpdate {
    /// New name.
    pub name: Option<String>,
    /// New webhook URL; `Some("")` clears it.
    pub webhook_url: Option<String>,
}

impl Organization {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Organization {
            id: OrgId(row.try_get("id")?),
            name: row.try_get("name")?,
            webhook_url: row.try_get("webhook_url")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

const COLUMNS: &str = "id, name, webhook_url, created_at";

fn validate_name(name: &str) -> Result<String, AccountsError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AccountsError::invalid(
            "name",
            "must be 1 to 100 characters",
        ));
    }
    Ok(name.to_owned())
}

/// An empty URL clears the webhook; any other must be an `http(s)` URL whose host is public
/// (or allowed by the deployment) now. Delivery checks it again.
async fn validate_webhook(
    rules: &adpool_outbound::OutboundRules,
    url: &str,
) -> Result<Option<String>, AccountsError> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(None);
    }
    rules
        .check(url)
        .await
        .map_err(|error| AccountsError::Outbound {
            field: "webhook_url",
            error,
        })?;
    Ok(Some(url.to_owned()))
}

impl Accounts {
    /// Creates an organization.
    pub async fn create_organization(&self, name: &str) -> Result<Organization, AccountsError> {
        let name = validate_name(name)?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO organizations (name, created_at) VALUES ($1, $2) RETURNING {COLUMNS}"
        )))
        .bind(&name)
        .bind(self.now())
        .fetch_one(self.db.pool())
        .await
        .map_err(|e| {
            if adpool_store::is_unique_violation(&e) {
                AccountsError::DuplicateOrganization(name.clone())
            } else {
                e.into()
            }
        })?;
        Ok(Organization::from_row(&row)?)
    }

    /// The caller's own organization.
    pub async fn organization(&self, org: OrgId) -> Result<Organization, AccountsError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM organizations WHERE id = $1"
        )))
        .bind(org.get())
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(AccountsError::NotFound)?;
        Ok(Organization::from_row(&row)?)
    }

    /// Finds an organization by its exact name (CLI and demo set-up).
    pub async fn organization_by_name(
        &self,
        name: &str,
    ) -> Result<Option<Organization>, AccountsError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM organizations WHERE name = $1"
        )))
        .bind(name.trim())
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.as_ref().map(Organization::from_row).transpose()?)
    }

    /// Every organization, by name: for operators at the machine (the CLI), never for requests.
    pub async fn all_organizations(&self) -> Result<Vec<Organization>, AccountsError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM organizations ORDER BY name"
        )))
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .iter()
            .map(Organization::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Changes the caller's own organization.
    pub async fn update_organization(
        &self,
        org: OrgId,
        update: OrganizationUpdate,
    ) -> Result<Organization, AccountsError> {
        let current = self.organization(org).await?;
        let name = match update.name {
            Some(name) => validate_name(&name)?,
            None => current.name,
        };
        let webhook_url = match update.webhook_url {
            Some(url) => validate_webhook(&self.outbound, &url).await?,
            None => current.webhook_url,
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE organizations SET name = $1, webhook_url = $2 WHERE id = $3 RETURNING {COLUMNS}"
        )))
        .bind(&name)
        .bind(&webhook_url)
        .bind(org.get())
        .fetch_one(self.db.pool())
        .await
        .map_err(|e| {
            if adpool_store::is_unique_violation(&e) {
                AccountsError::DuplicateOrganization(name.clone())
            } else {
                e.into()
            }
        })?;
        Ok(Organization::from_row(&row)?)
    }
}
