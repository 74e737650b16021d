//! The catalog as the forecast pipeline needs it: media, meta_ids and the part -> platform
//! mapping. Media and meta_ids first seen in a forecast are registered by the import.

use std::collections::HashMap;

use adpool_store::DbTx;
use serde::Serialize;
use sqlx::Row;

use crate::{Inventory, InventoryError, OrgId, Platform};

/// DOMAIN.md's default mapping of the vendor's 6 parts to the 4 sellable platforms; seeded for
/// an organization the first time it needs one, then editable data.
pub const DEFAULT_PART_PLATFORMS: [(&str, Platform); 6] = [
    ("PC_VOD", Platform::Pc),
    ("PC_LIVE", Platform::Pc),
    ("MOBILE_VOD", Platform::Mobile),
    ("MOBILE_LIVE", Platform::Mobile),
    ("APP_VOD", Platform::App),
    ("CTV", Platform::Ctv),
];

/// A media (publisher) of the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaEntry {
    /// Its id.
    pub id: i64,
    /// The code used in forecast files, e.g. `KBS`.
    pub code: String,
    /// Display name.
    pub name: String,
}

/// A meta_id (program, channel or keyword bucket) of a media.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetaEntry {
    /// Its id.
    pub id: i64,
    /// Its media's code.
    pub media: String,
    /// The code used in forecast files.
    pub code: String,
    /// Display name.
    pub name: String,
}

/// Seeds the default part mapping for `org` when it has none yet.
pub(crate) async fn ensure_part_platforms(tx: &mut DbTx, org: OrgId) -> Result<(), sqlx::Error> {
    let existing: i64 = sqlx::query("SELECT COUNT(*) FROM part_platforms WHERE org_id = $1")
        .bind(org.get())
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    if existing > 0 {
        return Ok(());
    }
    for (part, platform) in DEFAULT_PART_PLATFORMS {
        sqlx::query("INSERT INTO part_platforms (org_id, part, platform) VALUES ($1, $2, $3) ON CONFLICT (org_id, part) DO NOTHING")
            .bind(org.get())
            .bind(part)
            .bind(platform.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The organization's part -> platform mapping.
pub(crate) async fn part_platforms(
    tx: &mut DbTx,
    org: OrgId,
) -> Result<HashMap<String, Platform>, InventoryError> {
    let rows = sqlx::query("SELECT part, platform FROM part_platforms WHERE org_id = $1")
        .bind(org.get())
        .fetch_all(&mut **tx)
        .await?;
    let mut map = HashMap::new();
    for row in rows {
        let platform: String = row.try_get("platform")?;
        let platform = Platform::parse(&platform)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown platform {platform}").into()))?;
        map.insert(row.try_get("part")?, platform);
    }
    Ok(map)
}

/// Ids by code of the organization's rows in a code-keyed catalog table.
pub(crate) async fn ids_by_code(
    tx: &mut DbTx,
    table: CodeTable,
    org: OrgId,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let sql = match table {
        CodeTable::Media => "SELECT id, code FROM media WHERE org_id = $1",
        CodeTable::ContentOwners => "SELECT id, code FROM content_owners WHERE org_id = $1",
    };
    let rows = sqlx::query(sql)
        .bind(org.get())
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("code")?, r.try_get("id")?)))
        .collect()
}

/// The catalog tables whose rows are looked up by code.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CodeTable {
    Media,
    ContentOwners,
}

/// Ids of the organization's meta_ids by (media id, code).
pub(crate) async fn meta_ids(
    tx: &mut DbTx,
    org: OrgId,
) -> Result<HashMap<(i64, String), i64>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, media_id, code FROM meta_ids WHERE org_id = $1")
        .bind(org.get())
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                (r.try_get("media_id")?, r.try_get("code")?),
                r.try_get("id")?,
            ))
        })
        .collect()
}

pub(crate) async fn register_media(
    tx: &mut DbTx,
    org: OrgId,
    code: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO media (org_id, code, name, created_at) VALUES ($1, $2, $2, $3) RETURNING id",
    )
    .bind(org.get())
    .bind(code)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")
}

pub(crate) async fn register_meta(
    tx: &mut DbTx,
    org: OrgId,
    media_id: i64,
    code: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query("INSERT INTO meta_ids (org_id, media_id, code, name, created_at) VALUES ($1, $2, $3, $3, $4) RETURNING id")
        .bind(org.get())
        .bind(media_id)
        .bind(code)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?
        .try_get("id")
}

impl Inventory {
    /// The organization's media, by code.
    pub async fn media(&self, org: OrgId) -> Result<Vec<MediaEntry>, InventoryError> {
        let rows = sqlx::query("SELECT id, code, name FROM media WHERE org_id = $1 ORDER BY code")
            .bind(org.get())
            .fetch_all(self.db.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(MediaEntry {
                    id: r.try_get("id")?,
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// The organization's meta_ids, by media and code.
    pub async fn meta_entries(&self, org: OrgId) -> Result<Vec<MetaEntry>, InventoryError> {
        let rows = sqlx::query(
            "SELECT mi.id, m.code AS media, mi.code, mi.name FROM meta_ids mi JOIN media m ON m.id = mi.media_id
             WHERE mi.org_id = $1 ORDER BY m.code, mi.code",
        )
        .bind(org.get())
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(MetaEntry {
                    id: r.try_get("id")?,
                    media: r.try_get("media")?,
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// The organization's part -> platform mapping (seeding the defaults on first use).
    pub async fn part_mapping(
        &self,
        org: OrgId,
    ) -> Result<Vec<(String, Platform)>, InventoryError> {
        let mut tx = self.db.begin_write().await?;
        ensure_part_platforms(&mut tx, org).await?;
        let map = part_platforms(&mut tx, org).await?;
        tx.commit().await?;
        let mut pairs: Vec<(String, Platform)> = map.into_iter().collect();
        pairs.sort();
        Ok(pairs)
    }
}
