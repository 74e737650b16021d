//! The catalog as one document: the format of `adpool catalog import FILE.json`, of
//! `GET/POST /api/v1/catalog`, and of what the catalog pages submit (a page's form is a
//! one-item document). Applying a document upserts by code in ONE transaction; any invalid
//! entry rejects the whole document, with every problem named by its path
//! (`products[1].cpm.PC: ...`). The schema is documented in docs/catalog.md.

use std::collections::{BTreeMap, HashMap};

use adpool_store::DbTx;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::catalog::{
    CodeTable, ensure_part_platforms, ids_by_code, meta_ids, register_media, register_meta,
};
use crate::{Inventory, InventoryError, OrgId, Platform};

/// The whole catalog, or any part of it to add or change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogDocument {
    /// Content owners (broadcasters).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content_owners: Vec<ContentOwnerEntry>,
    /// Media (publishers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<MediaDoc>,
    /// meta_ids: programs, channels, keyword buckets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta_ids: Vec<MetaDoc>,
    /// Vendor part -> platform.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub part_platforms: BTreeMap<String, String>,
    /// Products.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<ProductDoc>,
    /// Targeting groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targeting_groups: Vec<TargetingGroupDoc>,
}

/// A content owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentOwnerEntry {
    /// Code, e.g. `KBS`.
    #[schema(pattern = "^[^/]*[^/\\s][^/]*$", max_length = 100)]
    pub code: String,
    /// Name, e.g. `한국방송공사`.
    pub name: String,
}

/// A media.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaDoc {
    /// Code used in forecast files.
    #[schema(pattern = "^[^/]*[^/\\s][^/]*$", max_length = 100)]
    pub code: String,
    /// Display name.
    pub name: String,
}

/// A meta_id of a media.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetaDoc {
    /// Media code (created when new).
    #[schema(pattern = "^[^/]*[^/\\s][^/]*$", max_length = 100)]
    pub media: String,
    /// meta_id code.
    #[schema(pattern = "^[^/]*[^/\\s][^/]*$", max_length = 100)]
    pub code: String,
    /// Display name.
    pub name: String,
    /// Content owner code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[^/]*[^/\\s][^/]*$", max_length = 100)]
    pub content_owner: Option<String>,
    /// `program`, `channel` or `keyword`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(program|channel|keyword)$")]
    pub kind: Option<String>,
}

/// A product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductDoc {
    /// Code.
    #[schema(pattern = "^[^/]*[^/\\s][^/]*$", max_length = 100)]
    pub code: String,
    /// Name.
    pub name: String,
    /// `program`, `channel`, `keyword` or `ron` (run of network).
    #[serde(rename = "type")]
    #[schema(pattern = "^(program|channel|keyword|ron)$")]
    pub product_type: String,
    /// Ad type, e.g. `pre-roll`.
    pub ad_type: String,
    /// CPM in won per platform (`PC`, `MOBILE`, `APP`, `CTV`); at least one.
    pub cpm: BTreeMap<String, i64>,
    /// Expected CTR in basis points (150 = 1.50%).
    #[schema(minimum = 0, maximum = 10000)]
    pub ctr_bp: i64,
    /// Expected VTR in basis points.
    #[schema(minimum = 0, maximum = 10000)]
    pub vtr_bp: i64,
}

/// A targeting group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetingGroupDoc {
    /// Code.
    #[schema(pattern = "^[^/]*[^/\\s][^/]*$", max_length = 100)]
    pub code: String,
    /// Name.
    pub name: String,
    /// Weight in basis points (4000 = 40%).
    #[schema(minimum = 0, maximum = 10000)]
    pub weight_bp: i64,
    /// Members as `MEDIA/META_ID`; replaces the group's members.
    pub members: Vec<String>,
}

/// What applying a document did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CatalogSummary {
    /// Content owners upserted.
    pub content_owners: usize,
    /// Media upserted.
    pub media: usize,
    /// meta_ids upserted.
    pub meta_ids: usize,
    /// Part mappings set.
    pub part_platforms: usize,
    /// Products upserted.
    pub products: usize,
    /// Targeting groups upserted.
    pub targeting_groups: usize,
}

const KINDS: [&str; 3] = ["program", "channel", "keyword"];
const PRODUCT_TYPES: [&str; 4] = ["program", "channel", "keyword", "ron"];

fn code_ok(code: &str) -> bool {
    !code.trim().is_empty() && code.chars().count() <= 100 && !code.contains('/')
}

impl CatalogDocument {
    /// Every problem of the document, each named by its path.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        // No text column can store a NUL character (PostgreSQL refuses it outright).
        fn has_nul(value: &serde_json::Value) -> bool {
            match value {
                serde_json::Value::String(text) => text.contains('\0'),
                serde_json::Value::Array(items) => items.iter().any(has_nul),
                serde_json::Value::Object(map) => {
                    map.iter().any(|(k, v)| k.contains('\0') || has_nul(v))
                }
                _ => false,
            }
        }
        if serde_json::to_value(self).is_ok_and(|value| has_nul(&value)) {
            problems.push("the document holds a NUL character (\\u0000) in a text".to_owned());
        }
        let mut push = |path: String, message: &str| problems.push(format!("{path}: {message}"));
        for (i, co) in self.content_owners.iter().enumerate() {
            if !code_ok(&co.code) {
                push(
                    format!("content_owners[{i}].code"),
                    "must be 1 to 100 characters without '/'",
                );
            }
        }
        for (i, m) in self.media.iter().enumerate() {
            if !code_ok(&m.code) {
                push(
                    format!("media[{i}].code"),
                    "must be 1 to 100 characters without '/'",
                );
            }
        }
        for (i, m) in self.meta_ids.iter().enumerate() {
            if !code_ok(&m.media) {
                push(format!("meta_ids[{i}].media"), "must be a media code");
            }
            if !code_ok(&m.code) {
                push(
                    format!("meta_ids[{i}].code"),
                    "must be 1 to 100 characters without '/'",
                );
            }
            if m.content_owner.as_deref().is_some_and(|co| !code_ok(co)) {
                push(
                    format!("meta_ids[{i}].content_owner"),
                    "must be a content-owner code: 1 to 100 characters without '/'",
                );
            }
            if let Some(kind) = m.kind.as_deref().filter(|k| !KINDS.contains(k)) {
                push(
                    format!("meta_ids[{i}].kind"),
                    &format!("'{kind}' is not program, channel or keyword"),
                );
            }
        }
        for (part, platform) in &self.part_platforms {
            if part.trim().is_empty() || part != &part.to_ascii_uppercase() {
                push(
                    format!("part_platforms.{part}"),
                    "parts are upper-case codes such as PC_VOD",
                );
            }
            if Platform::parse(platform).is_none() {
                push(
                    format!("part_platforms.{part}"),
                    &format!("'{platform}' is not PC, MOBILE, APP or CTV"),
                );
            }
        }
        for (i, p) in self.products.iter().enumerate() {
            if !code_ok(&p.code) {
                push(
                    format!("products[{i}].code"),
                    "must be 1 to 100 characters without '/'",
                );
            }
            if p.name.trim().is_empty() {
                push(format!("products[{i}].name"), "must not be empty");
            }
            if !PRODUCT_TYPES.contains(&p.product_type.as_str()) {
                push(
                    format!("products[{i}].type"),
                    &format!(
                        "'{}' is not program, channel, keyword or ron",
                        p.product_type
                    ),
                );
            }
            if p.ad_type.trim().is_empty() {
                push(format!("products[{i}].ad_type"), "must not be empty");
            }
            if p.cpm.is_empty() {
                push(
                    format!("products[{i}].cpm"),
                    "needs a CPM for at least one platform",
                );
            }
            for (platform, cpm) in &p.cpm {
                if Platform::parse(platform).is_none() {
                    push(
                        format!("products[{i}].cpm.{platform}"),
                        "is not PC, MOBILE, APP or CTV",
                    );
                }
                if *cpm <= 0 {
                    push(
                        format!("products[{i}].cpm.{platform}"),
                        &format!("{cpm} must be a positive number of won"),
                    );
                }
            }
            for (name, value) in [("ctr_bp", p.ctr_bp), ("vtr_bp", p.vtr_bp)] {
                if !(0..=10_000).contains(&value) {
                    push(
                        format!("products[{i}].{name}"),
                        &format!("{value} is outside 0 to 10000 basis points"),
                    );
                }
            }
        }
        for (i, g) in self.targeting_groups.iter().enumerate() {
            if !code_ok(&g.code) {
                push(
                    format!("targeting_groups[{i}].code"),
                    "must be 1 to 100 characters without '/'",
                );
            }
            if !(0..=10_000).contains(&g.weight_bp) {
                push(
                    format!("targeting_groups[{i}].weight_bp"),
                    &format!("{} is outside 0 to 10000 basis points", g.weight_bp),
                );
            }
            for (j, member) in g.members.iter().enumerate() {
                if member
                    .split_once('/')
                    .is_none_or(|(m, c)| m.is_empty() || c.is_empty())
                {
                    push(
                        format!("targeting_groups[{i}].members[{j}]"),
                        &format!("'{member}' is not MEDIA/META_ID"),
                    );
                }
            }
        }
        problems
    }
}

impl Inventory {
    /// Applies a catalog document (upsert by code) in one transaction.
    pub async fn apply_catalog(
        &self,
        org: OrgId,
        document: &CatalogDocument,
    ) -> Result<CatalogSummary, InventoryError> {
        let mut problems = document.problems();
        if !problems.is_empty() {
            return Err(InventoryError::Catalog { problems });
        }
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        ensure_part_platforms(&mut tx, org).await?;
        let mut summary = CatalogSummary::default();
        for co in &document.content_owners {
            upsert_content_owner(&mut tx, org, &co.code, &co.name, now).await?;
            summary.content_owners += 1;
        }
        let mut media = ids_by_code(&mut tx, CodeTable::Media, org).await?;
        for m in &document.media {
            match media.get(&m.code) {
                Some(id) => {
                    sqlx::query("UPDATE media SET name = $1 WHERE id = $2")
                        .bind(m.name.trim())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                None => {
                    let id = register_media(&mut tx, org, &m.code, now).await?;
                    sqlx::query("UPDATE media SET name = $1 WHERE id = $2")
                        .bind(m.name.trim())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    media.insert(m.code.clone(), id);
                }
            }
            summary.media += 1;
        }
        let mut metas = meta_ids(&mut tx, org).await?;
        let mut owners = ids_by_code(&mut tx, CodeTable::ContentOwners, org).await?;
        for m in &document.meta_ids {
            let media_id = match media.get(&m.media) {
                Some(id) => *id,
                None => {
                    let id = register_media(&mut tx, org, &m.media, now).await?;
                    media.insert(m.media.clone(), id);
                    id
                }
            };
            let meta_id = match metas.get(&(media_id, m.code.clone())) {
                Some(id) => *id,
                None => {
                    let id = register_meta(&mut tx, org, media_id, &m.code, now).await?;
                    metas.insert((media_id, m.code.clone()), id);
                    id
                }
            };
            let co_id = match &m.content_owner {
                Some(code) => match owners.get(code) {
                    Some(id) => Some(*id),
                    None => {
                        let id = upsert_content_owner(&mut tx, org, code, code, now).await?;
                        owners.insert(code.clone(), id);
                        Some(id)
                    }
                },
                None => None,
            };
            sqlx::query("UPDATE meta_ids SET name = $1, co_id = $2, kind = $3 WHERE id = $4")
                .bind(if m.name.trim().is_empty() {
                    m.code.as_str()
                } else {
                    m.name.trim()
                })
                .bind(co_id)
                .bind(m.kind.as_deref())
                .bind(meta_id)
                .execute(&mut *tx)
                .await?;
            summary.meta_ids += 1;
        }
        for (part, platform) in &document.part_platforms {
            let platform = Platform::parse(platform).map_or("PC", Platform::as_str);
            sqlx::query(
                "INSERT INTO part_platforms (org_id, part, platform) VALUES ($1, $2, $3)
                 ON CONFLICT (org_id, part) DO UPDATE SET platform = excluded.platform",
            )
            .bind(org.get())
            .bind(part)
            .bind(platform)
            .execute(&mut *tx)
            .await?;
            summary.part_platforms += 1;
        }
        for p in &document.products {
            let id: i64 = sqlx::query(
                "INSERT INTO products (org_id, code, name, product_type, ad_type, ctr_bp, vtr_bp, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
                 ON CONFLICT (org_id, code) DO UPDATE SET name = excluded.name, product_type = excluded.product_type,
                   ad_type = excluded.ad_type, ctr_bp = excluded.ctr_bp, vtr_bp = excluded.vtr_bp, updated_at = excluded.updated_at
                 RETURNING id",
            )
            .bind(org.get())
            .bind(p.code.trim())
            .bind(p.name.trim())
            .bind(&p.product_type)
            .bind(p.ad_type.trim())
            .bind(p.ctr_bp)
            .bind(p.vtr_bp)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            sqlx::query("DELETE FROM product_cpms WHERE product_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            for (platform, cpm) in &p.cpm {
                let platform = Platform::parse(platform).map_or("PC", Platform::as_str);
                sqlx::query(
                    "INSERT INTO product_cpms (product_id, platform, cpm) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(platform)
                .bind(cpm)
                .execute(&mut *tx)
                .await?;
            }
            summary.products += 1;
        }
        for (i, g) in document.targeting_groups.iter().enumerate() {
            let id: i64 = sqlx::query(
                "INSERT INTO targeting_groups (org_id, code, name, weight_bp, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (org_id, code) DO UPDATE SET name = excluded.name, weight_bp = excluded.weight_bp RETURNING id",
            )
            .bind(org.get())
            .bind(g.code.trim())
            .bind(g.name.trim())
            .bind(g.weight_bp)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            sqlx::query("DELETE FROM targeting_group_members WHERE group_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            for (j, member) in g.members.iter().enumerate() {
                let (media_code, meta_code) = member.split_once('/').unwrap_or_default();
                let meta = media
                    .get(media_code)
                    .and_then(|m| metas.get(&(*m, meta_code.to_owned())));
                let Some(meta) = meta else {
                    problems.push(format!(
                        "targeting_groups[{i}].members[{j}]: '{member}' is not a known meta_id"
                    ));
                    continue;
                };
                sqlx::query("INSERT INTO targeting_group_members (group_id, meta_id) VALUES ($1, $2) ON CONFLICT (group_id, meta_id) DO NOTHING")
                    .bind(id)
                    .bind(meta)
                    .execute(&mut *tx)
                    .await?;
            }
            summary.targeting_groups += 1;
        }
        if !problems.is_empty() {
            tx.rollback().await?;
            return Err(InventoryError::Catalog { problems });
        }
        tx.commit().await?;
        Ok(summary)
    }

    /// The organization's whole catalog as a document (sorted by code), ready to edit and apply.
    pub async fn catalog(&self, org: OrgId) -> Result<CatalogDocument, InventoryError> {
        let pool = self.db.pool();
        let content_owners =
            sqlx::query("SELECT code, name FROM content_owners WHERE org_id = $1 ORDER BY code")
                .bind(org.get())
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(ContentOwnerEntry {
                        code: r.try_get("code")?,
                        name: r.try_get("name")?,
                    })
                })
                .collect::<Result<_, sqlx::Error>>()?;
        let media = self
            .media(org)
            .await?
            .into_iter()
            .map(|m| MediaDoc {
                code: m.code,
                name: m.name,
            })
            .collect();
        let meta_ids = sqlx::query(
            "SELECT m.code AS media, mi.code, mi.name, co.code AS co, mi.kind FROM meta_ids mi
             JOIN media m ON m.id = mi.media_id LEFT JOIN content_owners co ON co.id = mi.co_id
             WHERE mi.org_id = $1 ORDER BY m.code, mi.code",
        )
        .bind(org.get())
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(MetaDoc {
                media: r.try_get("media")?,
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                content_owner: r.try_get("co")?,
                kind: r.try_get("kind")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
        let part_platforms = self
            .part_mapping(org)
            .await?
            .into_iter()
            .map(|(part, platform)| (part, platform.as_str().to_owned()))
            .collect();
        let mut cpms: HashMap<i64, BTreeMap<String, i64>> = HashMap::new();
        for r in sqlx::query("SELECT c.product_id, c.platform, c.cpm FROM product_cpms c JOIN products p ON p.id = c.product_id WHERE p.org_id = $1")
            .bind(org.get())
            .fetch_all(pool)
            .await?
        {
            cpms.entry(r.try_get("product_id")?).or_default().insert(r.try_get("platform")?, r.try_get("cpm")?);
        }
        let products = sqlx::query("SELECT id, code, name, product_type, ad_type, ctr_bp, vtr_bp FROM products WHERE org_id = $1 ORDER BY code")
            .bind(org.get())
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                Ok(ProductDoc {
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                    product_type: r.try_get("product_type")?,
                    ad_type: r.try_get("ad_type")?,
                    cpm: cpms.remove(&id).unwrap_or_default(),
                    ctr_bp: r.try_get("ctr_bp")?,
                    vtr_bp: r.try_get("vtr_bp")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        let mut members: HashMap<i64, Vec<String>> = HashMap::new();
        for r in sqlx::query(
            "SELECT gm.group_id, m.code AS media, mi.code FROM targeting_group_members gm
             JOIN targeting_groups g ON g.id = gm.group_id JOIN meta_ids mi ON mi.id = gm.meta_id JOIN media m ON m.id = mi.media_id
             WHERE g.org_id = $1 ORDER BY m.code, mi.code",
        )
        .bind(org.get())
        .fetch_all(pool)
        .await?
        {
            let media: String = r.try_get("media")?;
            let code: String = r.try_get("code")?;
            members.entry(r.try_get("group_id")?).or_default().push(format!("{media}/{code}"));
        }
        let targeting_groups = sqlx::query("SELECT id, code, name, weight_bp FROM targeting_groups WHERE org_id = $1 ORDER BY code")
            .bind(org.get())
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                Ok(TargetingGroupDoc { code: r.try_get("code")?, name: r.try_get("name")?, weight_bp: r.try_get("weight_bp")?, members: members.remove(&id).unwrap_or_default() })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(CatalogDocument {
            content_owners,
            media,
            meta_ids,
            part_platforms,
            products,
            targeting_groups,
        })
    }
}

async fn upsert_content_owner(
    tx: &mut DbTx,
    org: OrgId,
    code: &str,
    name: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO content_owners (org_id, code, name, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (org_id, code) DO UPDATE SET name = excluded.name RETURNING id",
    )
    .bind(org.get())
    .bind(code.trim())
    .bind(if name.trim().is_empty() {
        code.trim()
    } else {
        name.trim()
    })
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")
}
