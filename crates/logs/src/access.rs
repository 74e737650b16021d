//! Which log sources an organization may analyze, and with which S3 credentials.
//!
//! An organization works on a shared server: it must never read another organization's files
//! or the host's. So a folder source must lie, after its path is made canonical (no `..`, no
//! symlink leading out), under a root the deployment allows for that organization: its own
//! folder of the ad server's event log (`<event_log_folder>/org-<id>`) and the configured
//! `log_folder_roots`, where `{org}` stands for the organization's id. An `s3://` source uses the
//! organization's own credentials, saved here with the secret sealed by the deployment's
//! [`Vault`]; the server's own S3 settings (configuration and AWS environment) serve only the
//! organizations the deployment names. An organization's S3 endpoint is a URL a tenant sets, so
//! it must pass the [`OutboundRules`] when saved and when used.
//!
//! The CLI is an operator on the machine and opens any source with [`crate::Source::open_with`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use adpool_core::OrgId;
use adpool_outbound::OutboundRules;
use adpool_store::{Db, Vault};
use sqlx::Row;

use crate::{LogsError, S3Settings, Source, SourceRefusal};

/// What a deployment lets its organizations analyze.
#[derive(Debug, Clone, Default)]
pub struct SourceRules {
    /// Folder roots organizations' sources may lie under; `{org}` is replaced by the
    /// organization's id (`/srv/adlogs/org-{org}`). A root without `{org}` is open to every
    /// organization: only for single-tenant deployments.
    pub folder_roots: Vec<String>,
    /// The ad server's event-log folder: each organization may analyze its `org-<id>` folder.
    pub event_log_folder: Option<PathBuf>,
    /// The server's own S3 settings (configuration, then the AWS environment).
    pub server_s3: S3Settings,
    /// Organizations whose `s3://` sources without credentials of their own may use
    /// `server_s3`.
    pub server_s3_orgs: Vec<OrgId>,
    /// Where tenant-set endpoints may point.
    pub outbound: OutboundRules,
}

impl SourceRules {
    /// The folders `org` may analyze under, as configured (not yet canonical).
    pub fn folder_roots_of(&self, org: OrgId) -> Vec<PathBuf> {
        let id = org.get().to_string();
        let mut roots: Vec<PathBuf> = self
            .event_log_folder
            .iter()
            .map(|folder| folder.join(format!("org-{id}")))
            .collect();
        roots.extend(
            self.folder_roots
                .iter()
                .filter(|r| !r.trim().is_empty())
                .map(|r| PathBuf::from(r.trim().replace("{org}", &id))),
        );
        roots
    }

    /// Whether the canonical `folder` lies under one of `org`'s roots (each made canonical;
    /// a root that does not exist holds nothing).
    fn admits_folder(&self, org: OrgId, folder: &Path) -> bool {
        self.folder_roots_of(org)
            .iter()
            .filter_map(|root| std::fs::canonicalize(root).ok())
            .any(|root| folder.starts_with(root))
    }

    /// Whether `path`, written as a person typed it (it may not exist), names a place under one
    /// of `org`'s roots once `.` and `..` are resolved by their spelling: only then may the
    /// answer say that it cannot be opened, so no one learns which host paths exist.
    fn may_contain(&self, org: OrgId, path: &str) -> bool {
        let lexical = |p: &Path| -> Option<PathBuf> {
            let mut out = PathBuf::new();
            for part in std::path::absolute(p).ok()?.components() {
                match part {
                    std::path::Component::ParentDir => {
                        out.pop();
                    }
                    std::path::Component::CurDir => {}
                    other => out.push(other),
                }
            }
            Some(out)
        };
        let Some(path) = lexical(Path::new(path.strip_prefix("file://").unwrap_or(path))) else {
            return false;
        };
        self.folder_roots_of(org).iter().any(|root| {
            std::fs::canonicalize(root)
                .ok()
                .or_else(|| lexical(root))
                .is_some_and(|root| path.starts_with(root))
        })
    }
}

/// An organization's S3 credentials as entered (the secret in the clear, before sealing).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Credentials {
    /// `https://s3.ap-northeast-2.amazonaws.com`, a MinIO URL, ...; empty: AWS's endpoint for
    /// the region.
    pub endpoint: Option<String>,
    /// `ap-northeast-2`, ...
    pub region: Option<String>,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"(hidden)")
            .finish()
    }
}

/// What the page shows of saved credentials: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SavedS3Credentials {
    /// The endpoint, if any.
    pub endpoint: Option<String>,
    /// The region, if any.
    pub region: Option<String>,
    /// The access key id's first four characters and a mask.
    pub access_key_hint: String,
    /// When they were saved (UTC milliseconds).
    pub updated_at: i64,
}

/// Log sources as organizations reach them: the rules, and each organization's S3 credentials.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct LogSources {
    db: Db,
    vault: Vault,
    rules: Arc<SourceRules>,
}

/// A URL of another scheme than a folder's (`ftp://`): refused for its form, not its place.
fn is_other_scheme(url: &str) -> bool {
    url.contains("://") && !url.starts_with("file://")
}

fn seal_context(org: OrgId) -> String {
    format!("log-s3:org-{}", org.get())
}

impl LogSources {
    /// Sources on `db`, credentials sealed with `vault`, under `rules`.
    pub fn new(db: Db, vault: Vault, rules: SourceRules) -> Self {
        LogSources {
            db,
            vault,
            rules: Arc::new(rules),
        }
    }

    /// The rules.
    pub fn rules(&self) -> &SourceRules {
        &self.rules
    }

    /// Opens `url` for `org`, refusing a folder outside its roots and an `s3://` source it has
    /// no credentials for. The error names the source and says what to do.
    pub async fn open(&self, org: OrgId, url: &str) -> Result<Source, LogsError> {
        let trimmed = url.trim();
        if trimmed.starts_with("s3://") {
            let settings = match self.s3_settings(org).await? {
                Some(own) => own,
                None if self.rules.server_s3_orgs.contains(&org) => self.rules.server_s3.clone(),
                None => {
                    return Err(LogsError::Refused {
                        source_url: trimmed.to_owned(),
                        refusal: SourceRefusal::NoS3Credentials,
                    });
                }
            };
            return Source::open_with(trimmed, &settings);
        }
        let refused = || LogsError::Refused {
            source_url: trimmed.to_owned(),
            refusal: SourceRefusal::FolderOutsideRoots,
        };
        let source = match Source::open_with(trimmed, &S3Settings::default()) {
            Ok(source) => source,
            // A path outside the organization's folders gets the same answer whether or not
            // it exists on the host.
            Err(_) if !self.rules.may_contain(org, trimmed) && !is_other_scheme(trimmed) => {
                return Err(refused());
            }
            Err(error) => return Err(error),
        };
        // Not `s3://`, so `open_with` opened a folder or refused.
        if !source
            .folder()
            .is_some_and(|folder| self.rules.admits_folder(org, folder))
        {
            return Err(refused());
        }
        Ok(source)
    }

    /// `org`'s own S3 settings (secret opened), if it saved any; the endpoint checked again.
    async fn s3_settings(&self, org: OrgId) -> Result<Option<S3Settings>, LogsError> {
        let row = sqlx::query(
            "SELECT endpoint, region, access_key_id, secret_sealed FROM log_s3_credentials WHERE org_id = $1",
        )
        .bind(org.get())
        .fetch_optional(self.db.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let endpoint: Option<String> = row.try_get("endpoint")?;
        if let Some(endpoint) = endpoint.as_deref() {
            self.check_endpoint(endpoint).await?;
        }
        let sealed: String = row.try_get("secret_sealed")?;
        let secret =
            self.vault
                .open(&seal_context(org), &sealed)
                .map_err(|e| LogsError::Invalid {
                    field: "s3_secret_access_key",
                    message: format!("the saved secret cannot be opened: {e}"),
                })?;
        Ok(Some(S3Settings {
            endpoint,
            region: row.try_get("region")?,
            access_key_id: Some(row.try_get("access_key_id")?),
            secret_access_key: Some(secret),
            from_environment: false,
        }))
    }

    async fn check_endpoint(&self, endpoint: &str) -> Result<(), LogsError> {
        self.rules
            .outbound
            .check(endpoint)
            .await
            .map(|_| ())
            .map_err(|error| LogsError::Outbound {
                field: "s3_endpoint",
                error,
            })
    }

    /// Saves `org`'s S3 credentials (replacing any), the secret sealed.
    pub async fn save_s3_credentials(
        &self,
        org: OrgId,
        credentials: S3Credentials,
        now_millis: i64,
    ) -> Result<(), LogsError> {
        let tidy = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let endpoint = tidy(credentials.endpoint);
        let region = tidy(credentials.region);
        if let Some(endpoint) = endpoint.as_deref() {
            self.check_endpoint(endpoint).await?;
        }
        if region.as_deref().is_some_and(|r| {
            r.len() > 40 || !r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }) {
            return Err(LogsError::Invalid {
                field: "s3_region",
                message: "a region is letters, digits and hyphens, like ap-northeast-2".into(),
            });
        }
        let key = credentials.access_key_id.trim();
        let secret = credentials.secret_access_key.trim();
        for (field, value) in [("s3_access_key_id", key), ("s3_secret_access_key", secret)] {
            if value.is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
                return Err(LogsError::Invalid {
                    field,
                    message: "is required (up to 256 characters, no control characters)".into(),
                });
            }
        }
        let sealed = self.vault.seal(&seal_context(org), secret);
        sqlx::query(
            "INSERT INTO log_s3_credentials (org_id, endpoint, region, access_key_id, secret_sealed, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (org_id) DO UPDATE SET endpoint = excluded.endpoint, region = excluded.region,
               access_key_id = excluded.access_key_id, secret_sealed = excluded.secret_sealed,
               updated_at = excluded.updated_at",
        )
        .bind(org.get())
        .bind(endpoint)
        .bind(region)
        .bind(key)
        .bind(sealed)
        .bind(now_millis)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// What `org` saved, without the secret.
    pub async fn saved_s3_credentials(
        &self,
        org: OrgId,
    ) -> Result<Option<SavedS3Credentials>, LogsError> {
        let row = sqlx::query(
            "SELECT endpoint, region, access_key_id, updated_at FROM log_s3_credentials WHERE org_id = $1",
        )
        .bind(org.get())
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|row| -> Result<_, LogsError> {
            let key: String = row.try_get("access_key_id")?;
            Ok(SavedS3Credentials {
                endpoint: row.try_get("endpoint")?,
                region: row.try_get("region")?,
                access_key_hint: format!("{}…", key.chars().take(4).collect::<String>()),
                updated_at: row.try_get("updated_at")?,
            })
        })
        .transpose()
    }

    /// Forgets `org`'s S3 credentials; true when there were some.
    pub async fn delete_s3_credentials(&self, org: OrgId) -> Result<bool, LogsError> {
        Ok(
            sqlx::query("DELETE FROM log_s3_credentials WHERE org_id = $1")
                .bind(org.get())
                .execute(self.db.pool())
                .await?
                .rows_affected()
                > 0,
        )
    }
}
