//! Campaign purchases (DOMAIN.md section A): a won amount of a product over a date range,
//! split three levels deep and deducted from unit inventory in ONE transaction.
//!
//! amount -> platforms (equal weights) -> targeting groups (their weights) -> content owners
//! (their ratios), every level with the one `apportion`. A leaf's impressions are
//! `floor(amount * 1000 / cpm)`, spread over the days in proportion to each day's availability
//! of the leaf's meta_ids, then over the meta_ids in proportion to theirs, so no allocation can
//! exceed what is available. All candidate unit rows are locked once, in id order, before any
//! leaf runs (concurrent purchases queue instead of deadlocking); each leaf pre-deducts under its
//! own savepoint and verifies every deduction (`reserved + x <= total`, also a schema
//! constraint); a short leaf is rolled back to its savepoint and reported with its shortage.
//! Policy `all-or-nothing` (default) then rolls the whole purchase back; `partial` keeps the
//! leaves that fit. A dry run computes the same tree and commits nothing.

use std::collections::{BTreeMap, HashMap};

use adpool_core::{BusinessDate, UserId, apportion};
use adpool_store::{DbTx, savepoint};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{Inventory, InventoryError, OrgId, Platform};

/// A targeting group of a purchase and its weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupShare {
    /// Targeting-group code.
    pub code: String,
    /// Weight in basis points; the weights add up to 10000.
    #[schema(minimum = 1, maximum = 10000)]
    pub weight_bp: i64,
}

/// A content owner of a purchase and its ratio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoShare {
    /// Content-owner code.
    pub code: String,
    /// Ratio in basis points; the ratios add up to 10000.
    #[schema(minimum = 1, maximum = 10000)]
    pub ratio_bp: i64,
}

/// What to do when some leaves cannot be booked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Book everything or nothing.
    #[default]
    AllOrNothing,
    /// Book the leaves that fit.
    Partial,
}

impl Policy {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::AllOrNothing => "all-or-nothing",
            Policy::Partial => "partial",
        }
    }
}

/// A purchase as submitted (the JSON of `adpool purchase apply FILE.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseRequest {
    /// Product code.
    pub product: String,
    /// Amount in won.
    #[schema(minimum = 1)]
    pub amount: i64,
    /// First day, `YYYY-MM-DD` (KST).
    #[schema(format = Date)]
    pub start: String,
    /// Last day, included.
    #[schema(format = Date)]
    pub end: String,
    /// Platforms (PC, MOBILE, APP, CTV), split equally.
    #[schema(min_items = 1)]
    pub platforms: Vec<String>,
    /// Targeting groups and their weights.
    pub targeting_groups: Vec<GroupShare>,
    /// Content owners and their ratios.
    pub content_owners: Vec<CoShare>,
    /// `all-or-nothing` (default) or `partial`.
    #[serde(default)]
    pub policy: Policy,
}

/// One day of a leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayNode {
    /// KST date.
    pub date: String,
    /// Impressions booked that day.
    pub impressions: i64,
}

/// A leaf: one content owner of one group of one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoNode {
    /// Content-owner code.
    pub code: String,
    /// Its ratio.
    pub ratio_bp: i64,
    /// Won.
    pub amount: i64,
    /// Impressions wanted (`floor(amount * 1000 / cpm)`).
    pub impressions: i64,
    /// How many impressions more than available the leaf wanted (0 when booked). A short leaf
    /// books nothing: leaves are booked whole.
    pub shortage: i64,
    /// True when the leaf's impressions fit the available inventory; they are reserved when
    /// the purchase is committed.
    pub fits: bool,
    /// Per day.
    pub days: Vec<DayNode>,
}

/// A targeting group of one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupNode {
    /// Group code.
    pub code: String,
    /// Group name.
    pub name: String,
    /// Its weight.
    pub weight_bp: i64,
    /// Won.
    pub amount: i64,
    /// Impressions wanted.
    pub impressions: i64,
    /// Impressions short.
    pub shortage: i64,
    /// Per content owner.
    pub content_owners: Vec<CoNode>,
}

/// One platform of a purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformNode {
    /// Platform.
    pub platform: String,
    /// The product's CPM there.
    pub cpm: i64,
    /// Won.
    pub amount: i64,
    /// Impressions wanted.
    pub impressions: i64,
    /// Impressions short.
    pub shortage: i64,
    /// Per group.
    pub groups: Vec<GroupNode>,
}

/// The result tree of a purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseResult {
    /// The booking, when committed.
    pub booking_id: Option<i64>,
    /// True when the reservation was committed.
    pub committed: bool,
    /// True for a dry run (nothing is ever committed).
    pub dry_run: bool,
    /// Policy applied.
    pub policy: Policy,
    /// Product code.
    pub product: String,
    /// First day.
    pub start: String,
    /// Last day.
    pub end: String,
    /// Won.
    pub amount: i64,
    /// Impressions wanted.
    pub impressions: i64,
    /// Impressions reserved by this purchase (or that would be, in a dry run); 0 when refused.
    pub booked: i64,
    /// Impressions short.
    pub shortage: i64,
    /// Per platform.
    pub platforms: Vec<PlatformNode>,
}

/// A candidate unit row, locked for the purchase.
struct Unit {
    id: i64,
    available: i64,
}

/// Everything a purchase needs, read and checked before any deduction.
struct Plan {
    product_id: i64,
    cpms: BTreeMap<Platform, i64>,
    platforms: Vec<Platform>,
    days: Vec<BusinessDate>,
    groups: Vec<(GroupShare, i64, String)>,
    cos: Vec<(CoShare, i64)>,
    /// (group id, co id) -> meta ids
    members: HashMap<(i64, i64), Vec<i64>>,
}

fn sum_problem(label: &str, field: &str, values: &[i64], problems: &mut Vec<String>) {
    for (i, v) in values.iter().enumerate() {
        if *v <= 0 {
            problems.push(format!("{label}[{i}].{field}: must be more than 0"));
        }
    }
    let total: i64 = values.iter().sum();
    if !values.is_empty() && total != 10_000 {
        problems.push(format!(
            "{label}: {field}s add up to {total} basis points, not 10000"
        ));
    }
}

impl Inventory {
    /// Validates a purchase; every problem named by its field, nothing touched.
    async fn plan(
        &self,
        tx: &mut DbTx,
        org: OrgId,
        request: &PurchaseRequest,
    ) -> Result<Plan, InventoryError> {
        let mut problems = Vec::new();
        if request.amount <= 0 {
            problems.push(format!(
                "amount: {} must be more than 0 won",
                request.amount
            ));
        }
        let product = sqlx::query("SELECT id FROM products WHERE org_id = $1 AND code = $2")
            .bind(org.get())
            .bind(&request.product)
            .fetch_optional(&mut **tx)
            .await?;
        let product_id: Option<i64> = product.map(|r| r.try_get("id")).transpose()?;
        let mut cpms = BTreeMap::new();
        match product_id {
            None => problems.push(format!("product: '{}' is not a product", request.product)),
            Some(id) => {
                for row in
                    sqlx::query("SELECT platform, cpm FROM product_cpms WHERE product_id = $1")
                        .bind(id)
                        .fetch_all(&mut **tx)
                        .await?
                {
                    let platform: String = row.try_get("platform")?;
                    if let Some(platform) = Platform::parse(&platform) {
                        cpms.insert(platform, row.try_get::<i64, _>("cpm")?);
                    }
                }
            }
        }
        let mut platforms = Vec::new();
        if request.platforms.is_empty() {
            problems.push("platforms: choose at least one".to_owned());
        }
        for (i, name) in request.platforms.iter().enumerate() {
            match Platform::parse(name) {
                None => problems.push(format!(
                    "platforms[{i}]: '{name}' is not PC, MOBILE, APP or CTV"
                )),
                Some(p) if platforms.contains(&p) => {
                    problems.push(format!("platforms[{i}]: {p} is listed twice"))
                }
                Some(p) if product_id.is_some() && !cpms.contains_key(&p) => {
                    problems.push(format!(
                        "platforms[{i}]: product {} has no CPM for {p}",
                        request.product
                    ));
                }
                Some(p) => platforms.push(p),
            }
        }
        let dates = (
            request.start.parse::<BusinessDate>(),
            request.end.parse::<BusinessDate>(),
        );
        let mut days = Vec::new();
        match dates {
            (Ok(start), Ok(end)) if start <= end => days = start.days_through(end).collect(),
            (Ok(_), Ok(_)) => problems.push(format!(
                "end: {} is before start {}",
                request.end, request.start
            )),
            (start, end) => {
                if start.is_err() {
                    problems.push(format!(
                        "start: '{}' is not a date (YYYY-MM-DD)",
                        request.start
                    ));
                }
                if end.is_err() {
                    problems.push(format!("end: '{}' is not a date (YYYY-MM-DD)", request.end));
                }
            }
        }
        if days.len() > 366 {
            problems.push("end: a purchase spans at most 366 days".to_owned());
            days.clear();
        }
        if let (Some(first), Some(last)) = (days.first(), days.last()) {
            let built: Vec<String> = sqlx::query("SELECT DISTINCT date FROM unit_inventory WHERE org_id = $1 AND date >= $2 AND date <= $3")
                .bind(org.get())
                .bind(first.to_string())
                .bind(last.to_string())
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|r| r.try_get("date"))
                .collect::<Result<_, _>>()?;
            let missing: Vec<String> = days
                .iter()
                .map(ToString::to_string)
                .filter(|d| !built.contains(d))
                .collect();
            if let Some(first_missing) = missing.first() {
                problems.push(format!(
                    "start..end: {} day(s) have no built unit inventory, first {first_missing}",
                    missing.len()
                ));
            }
        }
        let mut groups = Vec::new();
        if request.targeting_groups.is_empty() {
            problems.push("targeting_groups: choose at least one".to_owned());
        }
        for (i, share) in request.targeting_groups.iter().enumerate() {
            let row = sqlx::query(
                "SELECT id, name FROM targeting_groups WHERE org_id = $1 AND code = $2",
            )
            .bind(org.get())
            .bind(&share.code)
            .fetch_optional(&mut **tx)
            .await?;
            match row {
                Some(row) => groups.push((
                    share.clone(),
                    row.try_get::<i64, _>("id")?,
                    row.try_get::<String, _>("name")?,
                )),
                None => problems.push(format!(
                    "targeting_groups[{i}].code: '{}' is not a targeting group",
                    share.code
                )),
            }
        }
        sum_problem(
            "targeting_groups",
            "weight_bp",
            &request
                .targeting_groups
                .iter()
                .map(|g| g.weight_bp)
                .collect::<Vec<_>>(),
            &mut problems,
        );
        let mut cos = Vec::new();
        if request.content_owners.is_empty() {
            problems.push("content_owners: choose at least one".to_owned());
        }
        for (i, share) in request.content_owners.iter().enumerate() {
            let row = sqlx::query("SELECT id FROM content_owners WHERE org_id = $1 AND code = $2")
                .bind(org.get())
                .bind(&share.code)
                .fetch_optional(&mut **tx)
                .await?;
            match row {
                Some(row) => cos.push((share.clone(), row.try_get::<i64, _>("id")?)),
                None => problems.push(format!(
                    "content_owners[{i}].code: '{}' is not a content owner",
                    share.code
                )),
            }
        }
        sum_problem(
            "content_owners",
            "ratio_bp",
            &request
                .content_owners
                .iter()
                .map(|c| c.ratio_bp)
                .collect::<Vec<_>>(),
            &mut problems,
        );
        let max_cpm = platforms.iter().filter_map(|p| cpms.get(p)).max().copied();
        let too_small = |cpm: &i64| {
            request.amount > 0 && i128::from(request.amount) * 1000 / i128::from(*cpm) < 1
        };
        if let Some(max_cpm) = max_cpm.filter(too_small) {
            problems.push(format!(
                "amount: ₩{} buys less than one impression at a CPM of ₩{max_cpm}",
                request.amount
            ));
        }
        if !problems.is_empty() {
            return Err(InventoryError::PurchaseRefused { problems });
        }
        let mut members: HashMap<(i64, i64), Vec<i64>> = HashMap::new();
        for (_, group_id, _) in &groups {
            for row in sqlx::query(
                "SELECT gm.meta_id, mi.co_id FROM targeting_group_members gm JOIN meta_ids mi ON mi.id = gm.meta_id
                 WHERE gm.group_id = $1 AND mi.co_id IS NOT NULL ORDER BY gm.meta_id",
            )
            .bind(group_id)
            .fetch_all(&mut **tx)
            .await?
            {
                members.entry((*group_id, row.try_get("co_id")?)).or_default().push(row.try_get("meta_id")?);
            }
        }
        Ok(Plan {
            product_id: product_id.unwrap_or_default(),
            cpms,
            platforms,
            days,
            groups,
            cos,
            members,
        })
    }

    /// Executes (or, with `dry_run`, only computes) a purchase. Returns the result tree whether
    /// or not it was booked; invalid requests fail with [`InventoryError::PurchaseRefused`].
    pub async fn purchase(
        &self,
        org: OrgId,
        request: &PurchaseRequest,
        dry_run: bool,
        user: Option<UserId>,
    ) -> Result<PurchaseResult, InventoryError> {
        let dialect = self.db.dialect();
        let mut tx = self.db.begin_write().await?;
        let plan = self.plan(&mut tx, org, request).await?;

        // Lock every candidate row once, in id order.
        let meta_ids: Vec<i64> = {
            let mut ids: Vec<i64> = plan.members.values().flatten().copied().collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let mut units: HashMap<(Platform, i64, usize), Unit> = HashMap::new();
        if !meta_ids.is_empty() {
            let day_index: HashMap<String, usize> = plan
                .days
                .iter()
                .enumerate()
                .map(|(i, d)| (d.to_string(), i))
                .collect();
            let platform_list: Vec<&str> = plan.platforms.iter().map(|p| p.as_str()).collect();
            let mut sql = String::from(
                "SELECT id, meta_id, platform, date, total, reserved FROM unit_inventory WHERE org_id = $1 AND date >= $2 AND date <= $3 AND platform IN (",
            );
            let mut n = 4;
            for (i, _) in platform_list.iter().enumerate() {
                sql.push_str(&format!("{}${n}", if i > 0 { "," } else { "" }));
                n += 1;
            }
            sql.push_str(") AND meta_id IN (");
            for (i, _) in meta_ids.iter().enumerate() {
                sql.push_str(&format!("{}${n}", if i > 0 { "," } else { "" }));
                n += 1;
            }
            sql.push_str(") ORDER BY id");
            sql.push_str(dialect.for_update());
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.get())
                .bind(plan.days.first().map(ToString::to_string))
                .bind(plan.days.last().map(ToString::to_string));
            for p in &platform_list {
                query = query.bind(*p);
            }
            for id in &meta_ids {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *tx).await? {
                let date: String = row.try_get("date")?;
                let platform: String = row.try_get("platform")?;
                let (Some(&day), Some(platform)) =
                    (day_index.get(&date), Platform::parse(&platform))
                else {
                    continue;
                };
                let total: i64 = row.try_get("total")?;
                let reserved: i64 = row.try_get("reserved")?;
                units.insert(
                    (platform, row.try_get("meta_id")?, day),
                    Unit {
                        id: row.try_get("id")?,
                        available: (total - reserved).max(0),
                    },
                );
            }
        }

        let booking_id: i64 = sqlx::query(
            "INSERT INTO bookings (org_id, product_id, amount, start_date, end_date, policy, state, impressions, shortage, request, result, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'booked', 0, 0, $7, '{}', $8, $9) RETURNING id",
        )
        .bind(org.get())
        .bind(plan.product_id)
        .bind(request.amount)
        .bind(&request.start)
        .bind(&request.end)
        .bind(request.policy.as_str())
        .bind(serde_json::to_string(request).unwrap_or_default())
        .bind(user.map(UserId::get))
        .bind(self.now())
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;

        let split = |amount: i64, weights: &[u64]| {
            apportion(amount, weights).map_err(|e| InventoryError::Invalid {
                field: "weights",
                message: e.to_string(),
            })
        };
        let platform_amounts = split(request.amount, &vec![1; plan.platforms.len()])?;
        let group_weights: Vec<u64> = plan
            .groups
            .iter()
            .map(|(g, _, _)| g.weight_bp.unsigned_abs())
            .collect();
        let co_ratios: Vec<u64> = plan
            .cos
            .iter()
            .map(|(c, _)| c.ratio_bp.unsigned_abs())
            .collect();
        let mut platform_nodes = Vec::new();
        for (platform, platform_amount) in plan.platforms.iter().zip(platform_amounts) {
            let cpm = plan.cpms[platform];
            let mut group_nodes = Vec::new();
            for ((share, group_id, name), group_amount) in plan
                .groups
                .iter()
                .zip(split(platform_amount, &group_weights)?)
            {
                let mut co_nodes = Vec::new();
                for ((co, co_id), co_amount) in
                    plan.cos.iter().zip(split(group_amount, &co_ratios)?)
                {
                    let impressions = i64::try_from(i128::from(co_amount) * 1000 / i128::from(cpm))
                        .unwrap_or(i64::MAX);
                    let metas = plan
                        .members
                        .get(&(*group_id, *co_id))
                        .cloned()
                        .unwrap_or_default();
                    let node = book_leaf(
                        &mut tx,
                        booking_id,
                        *platform,
                        &metas,
                        &plan.days,
                        &mut units,
                        co,
                        co_amount,
                        impressions,
                    )
                    .await?;
                    co_nodes.push(node);
                }
                group_nodes.push(GroupNode {
                    code: share.code.clone(),
                    name: name.clone(),
                    weight_bp: share.weight_bp,
                    amount: group_amount,
                    impressions: co_nodes.iter().map(|c| c.impressions).sum(),
                    shortage: co_nodes.iter().map(|c| c.shortage).sum(),
                    content_owners: co_nodes,
                });
            }
            platform_nodes.push(PlatformNode {
                platform: platform.as_str().to_owned(),
                cpm,
                amount: platform_amount,
                impressions: group_nodes.iter().map(|g| g.impressions).sum(),
                shortage: group_nodes.iter().map(|g| g.shortage).sum(),
                groups: group_nodes,
            });
        }
        let impressions: i64 = platform_nodes.iter().map(|p| p.impressions).sum();
        let shortage: i64 = platform_nodes.iter().map(|p| p.shortage).sum();
        // A leaf is booked whole or not at all: only booked leaves count.
        let booked: i64 = platform_nodes
            .iter()
            .flat_map(|p| &p.groups)
            .flat_map(|g| &g.content_owners)
            .filter(|c| c.fits)
            .map(|c| c.impressions)
            .sum();
        let keep = !dry_run && booked > 0 && (shortage == 0 || request.policy == Policy::Partial);
        let mut result = PurchaseResult {
            booking_id: keep.then_some(booking_id),
            committed: keep,
            dry_run,
            policy: request.policy,
            product: request.product.clone(),
            start: request.start.clone(),
            end: request.end.clone(),
            amount: request.amount,
            impressions,
            booked,
            shortage,
            platforms: platform_nodes,
        };
        if keep {
            sqlx::query(
                "UPDATE bookings SET impressions = $1, shortage = $2, result = $3 WHERE id = $4",
            )
            .bind(booked)
            .bind(shortage)
            .bind(serde_json::to_string(&result).unwrap_or_default())
            .bind(booking_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(booking_id, booked, shortage, "purchase booked");
        } else {
            tx.rollback().await?;
            result.booking_id = None;
            if !dry_run {
                result.booked = 0;
            }
        }
        Ok(result)
    }

    /// Cancels a booking, releasing exactly what it reserved.
    pub async fn cancel_booking(&self, org: OrgId, booking_id: i64) -> Result<i64, InventoryError> {
        let mut tx = self.db.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT state FROM bookings WHERE id = $1 AND org_id = $2{}",
            self.db.dialect().for_update()
        )))
        .bind(booking_id)
        .bind(org.get())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(InventoryError::NotFound)?;
        let state: String = row.try_get("state")?;
        if state == "cancelled" {
            return Err(InventoryError::Conflict(format!(
                "booking {booking_id} is already cancelled"
            )));
        }
        let allocations = sqlx::query("SELECT unit_id, impressions FROM booking_allocations WHERE booking_id = $1 ORDER BY unit_id")
            .bind(booking_id)
            .fetch_all(&mut *tx)
            .await?;
        let mut released = 0;
        for allocation in &allocations {
            let unit: i64 = allocation.try_get("unit_id")?;
            let impressions: i64 = allocation.try_get("impressions")?;
            // The rebuilt figure (total - shortfall) stays; total never drops below reserved.
            sqlx::query(
                "UPDATE unit_inventory SET reserved = reserved - $1,
                    total = CASE WHEN total - shortfall > reserved - $1 THEN total - shortfall ELSE reserved - $1 END,
                    shortfall = CASE WHEN reserved - $1 > total - shortfall THEN reserved - $1 - (total - shortfall) ELSE 0 END,
                    updated_at = $2
                 WHERE id = $3",
            )
            .bind(impressions)
            .bind(self.now())
            .bind(unit)
            .execute(&mut *tx)
            .await?;
            released += impressions;
        }
        sqlx::query("UPDATE bookings SET state = 'cancelled', cancelled_at = $1 WHERE id = $2")
            .bind(self.now())
            .bind(booking_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(released)
    }

    /// A booking's stored result tree and state.
    pub async fn booking(
        &self,
        org: OrgId,
        booking_id: i64,
    ) -> Result<(PurchaseResult, String), InventoryError> {
        let row = sqlx::query("SELECT result, state FROM bookings WHERE id = $1 AND org_id = $2")
            .bind(booking_id)
            .bind(org.get())
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(InventoryError::NotFound)?;
        let result: String = row.try_get("result")?;
        let result = serde_json::from_str(&result).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        Ok((result, row.try_get("state")?))
    }
}

/// Books one leaf under a savepoint: spread over days by availability, then over meta_ids.
#[allow(clippy::too_many_arguments)]
async fn book_leaf(
    tx: &mut DbTx,
    booking_id: i64,
    platform: Platform,
    metas: &[i64],
    days: &[BusinessDate],
    units: &mut HashMap<(Platform, i64, usize), Unit>,
    co: &CoShare,
    amount: i64,
    impressions: i64,
) -> Result<CoNode, InventoryError> {
    let available_on = |day: usize, units: &HashMap<(Platform, i64, usize), Unit>| -> Vec<i64> {
        metas
            .iter()
            .map(|m| units.get(&(platform, *m, day)).map_or(0, |u| u.available))
            .collect()
    };
    let day_available: Vec<i64> = (0..days.len())
        .map(|d| available_on(d, units).iter().sum())
        .collect();
    let total_available: i64 = day_available.iter().sum();
    let mut node = CoNode {
        code: co.code.clone(),
        ratio_bp: co.ratio_bp,
        amount,
        impressions,
        shortage: 0,
        fits: false,
        days: Vec::new(),
    };
    if impressions == 0 {
        node.fits = true;
        return Ok(node);
    }
    if impressions > total_available {
        node.shortage = impressions - total_available;
        return Ok(node);
    }
    let weights: Vec<u64> = day_available.iter().map(|a| a.unsigned_abs()).collect();
    let per_day = apportion(impressions, &weights).map_err(|e| InventoryError::Invalid {
        field: "availability",
        message: e.to_string(),
    })?;
    let mut allocations: Vec<((Platform, i64, usize), i64, i64)> = Vec::new();
    for (day, day_impressions) in per_day.iter().enumerate().filter(|(_, n)| **n > 0) {
        let meta_weights: Vec<u64> = available_on(day, units)
            .iter()
            .map(|a| a.unsigned_abs())
            .collect();
        let per_meta =
            apportion(*day_impressions, &meta_weights).map_err(|e| InventoryError::Invalid {
                field: "availability",
                message: e.to_string(),
            })?;
        for (meta, n) in metas.iter().zip(per_meta).filter(|(_, n)| *n > 0) {
            if let Some(unit) = units.get(&(platform, *meta, day)) {
                allocations.push(((platform, *meta, day), unit.id, n));
            }
        }
        node.days.push(DayNode {
            date: days[day].to_string(),
            impressions: *day_impressions,
        });
    }
    // Pre-deduct, then verify each deduction held; any failure undoes only this leaf.
    let mut leaf = savepoint(tx).await?;
    let mut short = 0;
    for (_, unit, n) in &allocations {
        let updated = sqlx::query("UPDATE unit_inventory SET reserved = reserved + $1 WHERE id = $2 AND reserved + $1 <= total")
            .bind(*n)
            .bind(*unit)
            .execute(&mut *leaf)
            .await?
            .rows_affected();
        if updated != 1 {
            short += n;
            continue;
        }
        sqlx::query(
            "INSERT INTO booking_allocations (booking_id, unit_id, impressions) VALUES ($1, $2, $3)
             ON CONFLICT (booking_id, unit_id) DO UPDATE SET impressions = booking_allocations.impressions + excluded.impressions",
        )
        .bind(booking_id)
        .bind(*unit)
        .bind(*n)
        .execute(&mut *leaf)
        .await?;
    }
    if short > 0 {
        leaf.rollback().await?;
        node.shortage = short;
        node.days.clear();
        return Ok(node);
    }
    leaf.commit().await?;
    for (key, _, n) in &allocations {
        if let Some(unit) = units.get_mut(key) {
            unit.available -= n;
        }
    }
    node.fits = true;
    Ok(node)
}
