//! Sites: the shop front ends that query ads. Each has its own API key (`adk_...`, shown once;
//! only its SHA-256 digest is stored), the media key its traffic is logged under, and the
//! origins allowed to call from a browser.

use std::sync::Arc;

use adpool_core::OrgId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Serving, ServingError};

/// A site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Site {
    /// Its id.
    pub id: i64,
    /// Its organization.
    pub org_id: i64,
    /// Name.
    pub name: String,
    /// The media key of its traffic in the event log.
    pub media_key: String,
    /// The first characters of its key, to tell keys apart.
    pub key_prefix: String,
    /// Origins allowed by CORS (empty: any).
    pub allowed_origins: Vec<String>,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
}

impl Site {
    /// The CORS `Access-Control-Allow-Origin` value for a request from `origin`: the origin
    /// itself when it is allowed, `*` when any origin is.
    pub fn allow_origin(&self, origin: Option<&str>) -> Option<String> {
        if self.allowed_origins.is_empty() {
            return Some("*".into());
        }
        let origin = origin?;
        self.allowed_origins
            .iter()
            .any(|o| o == origin)
            .then(|| origin.to_owned())
    }
}

/// What is needed to add a site.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct NewSite {
    /// Name.
    #[schema(pattern = "[^\\s\\u0085]")]
    pub name: String,
    /// Media key (letters, digits, `_`, `-`, `.`).
    #[schema(pattern = "^[A-Za-z0-9_.-]+$")]
    pub media_key: String,
    /// Allowed origins (`https://shop.example.com`), empty for any.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

/// A new site with its key, shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct SiteKey {
    /// The site.
    pub site: Site,
    /// The API key.
    pub key: String,
}

pub(crate) fn key_digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Serving {
    /// Adds a site and returns its API key (only its digest is kept).
    pub async fn create_site(&self, org: OrgId, new: &NewSite) -> Result<SiteKey, ServingError> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ServingError::invalid(
                "name",
                "is required, at most 100 characters",
            ));
        }
        let media_key = new.media_key.trim();
        if media_key.is_empty()
            || media_key.len() > 64
            || !media_key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(ServingError::invalid(
                "media_key",
                format!("'{media_key}' is not a media key (letters, digits, _ - ., at most 64)"),
            ));
        }
        let mut origins = Vec::new();
        for origin in &new.allowed_origins {
            let origin = origin.trim().trim_end_matches('/');
            if origin.is_empty() {
                continue;
            }
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            if host.is_none_or(|h| h.is_empty() || h.contains('/')) {
                return Err(ServingError::invalid(
                    "allowed_origins",
                    format!("'{origin}' is not an origin like https://shop.example.com"),
                ));
            }
            origins.push(origin.to_owned());
        }
        let mut secret = [0u8; 24];
        getrandom::fill(&mut secret).expect("the operating system\'s random source");
        let key = format!("adk_{}", hex::encode(secret));
        let prefix: String = key.chars().take(10).collect();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cpc_sites (org_id, name, media_key, key_digest, key_prefix, allowed_origins, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(org.get())
        .bind(name)
        .bind(media_key)
        .bind(key_digest(&key))
        .bind(&prefix)
        .bind(origins.join(" "))
        .bind(self.now())
        .fetch_one(self.db().pool())
        .await?;
        self.refresh_quietly().await;
        Ok(SiteKey {
            site: Site {
                id,
                org_id: org.get(),
                name: name.to_owned(),
                media_key: media_key.to_owned(),
                key_prefix: prefix,
                allowed_origins: origins,
                revoked_at: None,
            },
            key,
        })
    }

    /// The sites of `org`.
    pub async fn sites(&self, org: OrgId) -> Result<Vec<Site>, ServingError> {
        let rows = sqlx::query(
            "SELECT id, org_id, name, media_key, key_prefix, allowed_origins, revoked_at FROM cpc_sites WHERE org_id = $1 ORDER BY id",
        )
        .bind(org.get())
        .fetch_all(self.db().pool())
        .await?;
        Ok(rows.iter().map(site_from_row).collect::<Result<_, _>>()?)
    }

    /// The organizations that have at least one live site (whose traffic the event log holds).
    pub async fn organizations_with_sites(&self) -> Result<Vec<OrgId>, ServingError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT org_id FROM cpc_sites WHERE revoked_at IS NULL ORDER BY org_id",
        )
        .fetch_all(self.db().pool())
        .await?;
        Ok(ids.into_iter().map(OrgId).collect())
    }

    /// Revokes a site's key at once.
    pub async fn revoke_site(&self, org: OrgId, id: i64) -> Result<(), ServingError> {
        let changed = sqlx::query(
            "UPDATE cpc_sites SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(self.now())
        .bind(org.get())
        .bind(id)
        .execute(self.db().pool())
        .await?;
        if changed.rows_affected() == 0 {
            return Err(ServingError::NotFound);
        }
        self.refresh_quietly().await;
        Ok(())
    }

    /// The live site with this API key, from memory (no database access).
    pub fn site_by_key(&self, key: &str) -> Option<Arc<Site>> {
        if !key.starts_with("adk_") || key.len() > 100 {
            return None;
        }
        self.inner.sites.load().get(&key_digest(key)).cloned()
    }

    /// What a CORS preflight from `origin` may be told: the origin when a live site allows it
    /// (a site without a list allows every origin), `None` otherwise. The key is not in a
    /// preflight, so the real request checks the site's own list again.
    pub fn preflight_origin(&self, origin: &str) -> Option<String> {
        self.inner
            .sites
            .load()
            .values()
            .find_map(|site| site.allow_origin(Some(origin)))
            .map(|_| origin.to_owned())
    }

    /// Loads the live sites into memory.
    pub(crate) async fn load_sites(&self) -> Result<(), ServingError> {
        let rows = sqlx::query(
            "SELECT id, org_id, name, media_key, key_prefix, allowed_origins, revoked_at, key_digest FROM cpc_sites WHERE revoked_at IS NULL",
        )
        .fetch_all(self.db().pool())
        .await?;
        let mut sites = std::collections::HashMap::new();
        for row in &rows {
            sites.insert(
                row.try_get::<String, _>("key_digest")?,
                Arc::new(site_from_row(row)?),
            );
        }
        self.inner.sites.store(Arc::new(sites));
        Ok(())
    }
}

fn site_from_row(row: &sqlx::any::AnyRow) -> Result<Site, sqlx::Error> {
    Ok(Site {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        name: row.try_get("name")?,
        media_key: row.try_get("media_key")?,
        key_prefix: row.try_get("key_prefix")?,
        allowed_origins: row
            .try_get::<String, _>("allowed_origins")?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        revoked_at: row.try_get("revoked_at")?,
    })
}
