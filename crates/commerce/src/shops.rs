//! [`Shops`]: the stores of an organization, their sealed credentials, the one way shop records
//! are written (natural keys, so overlapping syncs and repeated imports update instead of
//! duplicating; every write in one transaction with its run's record), and the run history.

use adpool_core::{BusinessDate, OrgId, SharedClock, UserId};
use adpool_store::bulk::{self, Cell, OnConflict};
use adpool_store::{Db, DbTx, Dialect};
use serde::Serialize;
use sqlx::Row;

use crate::model::{Category, Order, OrderStatus, Platform, Product, Store, WriteCounts};
use crate::{CommerceError, Vault};

/// A store to register.
#[derive(Debug, Clone)]
pub struct NewStore {
    /// Platform.
    pub platform: Platform,
    /// Display name.
    pub name: String,
    /// What the platform calls the store.
    pub mall_id: String,
    /// API credentials (Cafe24, Naver: `client_id`, `client_secret`); sealed before saving.
    pub credentials: Option<serde_json::Value>,
}

/// One sync or import of a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncRun {
    /// Id.
    pub id: i64,
    /// Store.
    pub store_id: i64,
    /// `sync` or `import`.
    pub kind: String,
    /// `running`, `succeeded`, `failed`.
    pub state: String,
    /// Started (UTC ms).
    pub started_at: i64,
    /// Finished (UTC ms).
    pub finished_at: Option<i64>,
    /// Records received.
    pub fetched: i64,
    /// New records.
    pub inserted: i64,
    /// Updated records.
    pub updated: i64,
    /// What was done (file name, window).
    pub detail: String,
    /// Why it failed.
    pub error: Option<String>,
    /// What it noticed without failing.
    pub notes: Vec<SyncNote>,
}

/// Something a sync noticed without failing: a catalog step refused for a missing scope, a
/// shop it skipped. The store page shows the last run's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SyncNote {
    /// `missing_scope`, `catalog_failed`, `shop_skipped`.
    pub code: String,
    /// The details (a scope, a shop, a message).
    pub detail: String,
}

/// An order line that is a sale, as spending insight reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerPurchase {
    /// `platform:mall:order:item`.
    pub key: String,
    /// `platform:customer id` (the same person on two platforms is two customers).
    pub customer: String,
    /// KST order day.
    pub day: BusinessDate,
    /// The product's name.
    pub product: String,
    /// Its category's name, when known.
    pub category: Option<String>,
    /// Net paid in won.
    pub amount: i64,
}

/// How many order lines of a store are in one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineStatusCount {
    /// The status.
    pub status: OrderStatus,
    /// The platform's code, for an unknown status (empty otherwise).
    pub code: String,
    /// Orders with such lines.
    pub orders: i64,
    /// Lines.
    pub lines: i64,
}

/// Stores, credentials, shop records and runs.
#[derive(Debug, Clone)]
pub struct Shops {
    db: Db,
    clock: SharedClock,
    vault: Vault,
    jobs: adpool_jobs::Jobs,
}

/// The job that carries shop orders that became completed or were cancelled to CPC
/// attribution; payload `{"events": [OrderEvent...]}` in the `/api/v1/events/orders` format.
pub const ORDER_EVENTS_JOB: &str = "shop.order_events";

const STORE_COLUMNS: &str =
    "id, org_id, platform, name, mall_id, credentials IS NOT NULL AS has_credentials, created_at";

fn store_from_row(row: &sqlx::any::AnyRow) -> Result<Store, sqlx::Error> {
    let platform: String = row.try_get("platform")?;
    let has_credentials: bool = match row.try_get::<bool, _>("has_credentials") {
        Ok(value) => value,
        Err(_) => row.try_get::<i64, _>("has_credentials")? != 0,
    };
    Ok(Store {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        platform: platform.parse().unwrap_or(Platform::Ably),
        name: row.try_get("name")?,
        mall_id: row.try_get("mall_id")?,
        has_credentials,
        created_at: row.try_get("created_at")?,
    })
}

/// What the credentials of a store are sealed for: its organization, platform and mall id.
fn seal_context(org: i64, platform: Platform, mall_id: &str) -> String {
    format!("shop-store:{org}:{}:{mall_id}", platform.as_str())
}

impl Shops {
    /// Shops on `db`, sealing credentials with `vault`.
    pub fn new(db: Db, clock: SharedClock, vault: Vault) -> Shops {
        let jobs = adpool_jobs::Jobs::new(db.clone(), clock.clone());
        Shops {
            db,
            clock,
            vault,
            jobs,
        }
    }

    /// The job queue order events go to.
    pub fn jobs(&self) -> &adpool_jobs::Jobs {
        &self.jobs
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Registers a store. Naver needs `client_id` and `client_secret`; a Cafe24 store uses the
    /// deployment's Cafe24 app unless it brings its own (then both).
    pub async fn create_store(
        &self,
        org: OrgId,
        new: NewStore,
        user: Option<UserId>,
    ) -> Result<Store, CommerceError> {
        let name = new.name.trim();
        let mall_id = match new.platform {
            // Cafe24 mall ids are lowercase; the id becomes the API host.
            Platform::Cafe24 => new.mall_id.trim().to_ascii_lowercase(),
            _ => new.mall_id.trim().to_owned(),
        };
        let mall_id = mall_id.as_str();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(CommerceError::Invalid {
                field: "name",
                message: "is required, up to 100 characters".into(),
            });
        }
        if mall_id.is_empty()
            || mall_id.len() > 100
            || mall_id.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(CommerceError::Invalid {
                field: "mall_id",
                message: "is required, up to 100 characters, with no spaces".into(),
            });
        }
        if new.platform == Platform::Cafe24 && !crate::cafe24::is_mall_id(mall_id) {
            return Err(CommerceError::Invalid {
                field: "mall_id",
                message: format!(
                    "'{mall_id}' is not a Cafe24 mall id: lowercase letters, digits and hyphens only, up to 50 (the part before .cafe24.com)"
                ),
            });
        }
        let own_app = |value: &serde_json::Value| {
            value["client_id"]
                .as_str()
                .is_some_and(|v| !v.trim().is_empty())
                || value["client_secret"]
                    .as_str()
                    .is_some_and(|v| !v.trim().is_empty())
        };
        let credentials = match (new.platform, &new.credentials) {
            (Platform::Ably, _) | (Platform::Cafe24, None) => None,
            // The deployment's app: only tokens, if any, are saved.
            (Platform::Cafe24, Some(value)) if !own_app(value) => Some(self.vault.seal(
                &seal_context(org.get(), new.platform, mall_id),
                &value.to_string(),
            )),
            (_, Some(value)) => {
                for key in ["client_id", "client_secret"] {
                    if value[key].as_str().is_none_or(|v| v.trim().is_empty()) {
                        return Err(CommerceError::Invalid {
                            field: "credentials",
                            message: format!("{key} is required for {}", new.platform.label()),
                        });
                    }
                }
                Some(self.vault.seal(
                    &seal_context(org.get(), new.platform, mall_id),
                    &value.to_string(),
                ))
            }
            (_, None) => {
                return Err(CommerceError::Invalid {
                    field: "credentials",
                    message: format!(
                        "client_id and client_secret are required for {}",
                        new.platform.label()
                    ),
                });
            }
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO shop_stores (org_id, platform, name, mall_id, credentials, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {STORE_COLUMNS}"
        )))
        .bind(org.get())
        .bind(new.platform.as_str())
        .bind(name)
        .bind(mall_id)
        .bind(credentials)
        .bind(user.map(|u| u.get()))
        .bind(self.clock.now_millis())
        .fetch_one(self.db.pool())
        .await
        .map_err(|e| {
            if adpool_store::is_unique_violation(&e) {
                CommerceError::Conflict(format!(
                    "{} store '{mall_id}' is already registered",
                    new.platform.label()
                ))
            } else {
                e.into()
            }
        })?;
        Ok(store_from_row(&row)?)
    }

    /// The organization's stores, by name.
    pub async fn stores(&self, org: OrgId) -> Result<Vec<Store>, CommerceError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STORE_COLUMNS} FROM shop_stores WHERE org_id = $1 AND disabled_at IS NULL ORDER BY name, id"
        )))
        .bind(org.get())
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.iter().map(store_from_row).collect::<Result<_, _>>()?)
    }

    /// One store of the organization.
    pub async fn store(&self, org: OrgId, id: i64) -> Result<Store, CommerceError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STORE_COLUMNS} FROM shop_stores WHERE org_id = $1 AND id = $2"
        )))
        .bind(org.get())
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(CommerceError::NotFound(id))?;
        Ok(store_from_row(&row)?)
    }

    /// The vault credentials are sealed with.
    pub(crate) fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Time.
    pub(crate) fn now_millis(&self) -> i64 {
        self.clock.now_millis()
    }

    /// Seals and saves new credentials of a store (a connector's rotated tokens).
    pub async fn save_credentials(
        &self,
        store: &Store,
        credentials: &serde_json::Value,
    ) -> Result<(), CommerceError> {
        let sealed = self.vault.seal(
            &seal_context(store.org_id, store.platform, &store.mall_id),
            &credentials.to_string(),
        );
        sqlx::query("UPDATE shop_stores SET credentials = $1 WHERE id = $2")
            .bind(sealed)
            .bind(store.id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// The store's credentials, opened (for connectors only; never shown).
    pub async fn credentials(
        &self,
        store: &Store,
    ) -> Result<Option<serde_json::Value>, CommerceError> {
        let sealed: Option<String> =
            sqlx::query_scalar("SELECT credentials FROM shop_stores WHERE id = $1")
                .bind(store.id)
                .fetch_one(self.db.pool())
                .await?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let text = self.vault.open(
            &seal_context(store.org_id, store.platform, &store.mall_id),
            &sealed,
        )?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| CommerceError::Vault(e.to_string()))
    }

    /// Imports an Ably order export (CSV or XLSX) into an Ably store: all or nothing, recorded
    /// in the store's run history either way. `name` is what the run history shows (the
    /// uploaded file's name).
    pub async fn import_ably(
        &self,
        org: OrgId,
        store_id: i64,
        path: &std::path::Path,
        name: &str,
        accept_unknown_statuses: bool,
    ) -> Result<WriteCounts, CommerceError> {
        let store = self.store(org, store_id).await?;
        if store.platform != Platform::Ably {
            return Err(CommerceError::Invalid {
                field: "store",
                message: format!(
                    "{} is a {} store: only Ably stores import export files, the others sync",
                    store.name,
                    store.platform.label()
                ),
            });
        }
        let run = self.start_run(&store, "import", name).await?;
        let result = async {
            let export = crate::ably::read_export(path)?;
            if !export.unknown_statuses.is_empty() && !accept_unknown_statuses {
                return Err(CommerceError::UnknownStatuses {
                    file: name.to_owned(),
                    statuses: export.unknown_statuses.into_iter().collect(),
                });
            }
            let now = self.clock.now_millis();
            let mut tx = self.db.begin_write().await?;
            let counts = write_orders_in(
                &mut tx,
                self.db.dialect(),
                &self.jobs,
                &store,
                &export.orders,
                now,
            )
            .await?;
            write_products_in(&mut tx, self.db.dialect(), &store, &export.products, now).await?;
            self.succeed_run_in(&mut tx, run, counts).await?;
            tx.commit().await?;
            Ok::<_, CommerceError>(counts)
        }
        .await;
        if let Err(error) = &result {
            self.fail_run(run, &error.to_string()).await?;
        }
        result
    }

    /// Starts a run record.
    pub async fn start_run(
        &self,
        store: &Store,
        kind: &str,
        detail: &str,
    ) -> Result<i64, CommerceError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO shop_sync_runs (org_id, store_id, kind, state, started_at, detail)
             VALUES ($1, $2, $3, 'running', $4, $5) RETURNING id",
        )
        .bind(store.org_id)
        .bind(store.id)
        .bind(kind)
        .bind(self.clock.now_millis())
        .bind(detail)
        .fetch_one(self.db.pool())
        .await?)
    }

    /// Marks a run succeeded with its counts, inside the transaction that wrote its data.
    pub async fn succeed_run_in(
        &self,
        tx: &mut DbTx,
        run: i64,
        counts: WriteCounts,
    ) -> Result<(), CommerceError> {
        sqlx::query(
            "UPDATE shop_sync_runs SET state = 'succeeded', finished_at = $1, fetched = $2, inserted = $3, updated = $4 WHERE id = $5",
        )
        .bind(self.clock.now_millis())
        .bind(i64::try_from(counts.fetched).unwrap_or(i64::MAX))
        .bind(i64::try_from(counts.inserted).unwrap_or(i64::MAX))
        .bind(i64::try_from(counts.updated).unwrap_or(i64::MAX))
        .bind(run)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Records what a run noticed without failing.
    pub async fn note_run(&self, run: i64, notes: &[SyncNote]) -> Result<(), CommerceError> {
        sqlx::query("UPDATE shop_sync_runs SET notes = $1 WHERE id = $2")
            .bind(serde_json::to_string(notes).unwrap_or_else(|_| "[]".into()))
            .bind(run)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Holds a store for one sync until `until` (UTC ms): `false` when another sync holds it.
    /// Atomic on every database (one conditional UPDATE), so two syncs never both run.
    pub async fn hold_store(&self, store_id: i64, until: i64) -> Result<bool, CommerceError> {
        let done = sqlx::query(
            "UPDATE shop_stores SET sync_held_until = $1
             WHERE id = $2 AND (sync_held_until IS NULL OR sync_held_until < $3)",
        )
        .bind(until)
        .bind(store_id)
        .bind(self.clock.now_millis())
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every order line of the organization's stores that is a sale and has a customer id, for
    /// spending insight: (platform:mall:order:item, customer, KST day, product, category name,
    /// net paid). Lines without a customer (Ably exports) cannot be segmented and are left out.
    pub async fn customer_purchases(
        &self,
        org: OrgId,
    ) -> Result<Vec<CustomerPurchase>, CommerceError> {
        let sql = format!(
            "SELECT s.platform, s.mall_id, i.order_id, i.item_id, o.customer_id, o.order_day,
                    i.product_name, c.name AS category, i.amount
             FROM shop_order_items i
             JOIN shop_orders o ON o.store_id = i.store_id AND o.order_id = i.order_id
             JOIN shop_stores s ON s.id = i.store_id
             LEFT JOIN shop_products p ON p.store_id = i.store_id AND p.product_id = i.product_id
             LEFT JOIN shop_categories c ON c.store_id = p.store_id AND c.category_id = p.category_id
             WHERE s.org_id = $1 AND o.customer_id IS NOT NULL AND o.customer_id <> ''
               AND i.status IN ({})
             ORDER BY o.order_day, i.store_id, i.order_id, i.item_id",
            OrderStatus::sale_words_sql()
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.get())
            .fetch_all(self.db.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let platform: String = r.try_get("platform")?;
                let mall: String = r.try_get("mall_id")?;
                let order: String = r.try_get("order_id")?;
                let item: String = r.try_get("item_id")?;
                let day: String = r.try_get("order_day")?;
                Ok(CustomerPurchase {
                    key: format!("{platform}:{mall}:{order}:{item}"),
                    customer: format!("{platform}:{}", r.try_get::<String, _>("customer_id")?),
                    day: day.parse().unwrap_or(BusinessDate::from_utc_millis(0)),
                    product: r.try_get("product_name")?,
                    category: r.try_get("category")?,
                    amount: r.try_get("amount")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// A store's saved categories.
    pub async fn categories_of(&self, store_id: i64) -> Result<Vec<Category>, CommerceError> {
        let rows = sqlx::query(
            "SELECT category_id, name, parent_id FROM shop_categories WHERE store_id = $1 ORDER BY category_id",
        )
        .bind(store_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Category {
                    category_id: r.try_get("category_id")?,
                    name: r.try_get("name")?,
                    parent_id: r.try_get("parent_id")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Lets a store go after its sync.
    pub async fn release_store(&self, store_id: i64) -> Result<(), CommerceError> {
        sqlx::query("UPDATE shop_stores SET sync_held_until = NULL WHERE id = $1")
            .bind(store_id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// A store's order lines per status (orders whose lines have it, lines), for the store
    /// page; an unknown status is listed per platform code.
    pub async fn line_statuses(
        &self,
        org: OrgId,
        store_id: i64,
    ) -> Result<Vec<LineStatusCount>, CommerceError> {
        let rows = sqlx::query(
            "SELECT i.status, CASE WHEN i.status = 'unknown' THEN i.status_code ELSE '' END AS code,
                    COUNT(DISTINCT i.order_id) AS orders, COUNT(*) AS lines
             FROM shop_order_items i JOIN shop_stores s ON s.id = i.store_id
             WHERE s.org_id = $1 AND i.store_id = $2
             GROUP BY i.status, CASE WHEN i.status = 'unknown' THEN i.status_code ELSE '' END
             ORDER BY i.status, code",
        )
        .bind(org.get())
        .bind(store_id)
        .fetch_all(self.db.pool())
        .await?;
        let mut counts = rows
            .iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                Ok(LineStatusCount {
                    status: OrderStatus::parse(&status).unwrap_or(OrderStatus::Unknown),
                    code: r.try_get("code")?,
                    orders: r.try_get("orders")?,
                    lines: r.try_get("lines")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        // In the order of an order's life.
        counts.sort_by(|a, b| (a.status, &a.code).cmp(&(b.status, &b.code)));
        Ok(counts)
    }

    /// Marks a run failed (nothing it fetched was kept).
    pub async fn fail_run(&self, run: i64, error: &str) -> Result<(), CommerceError> {
        sqlx::query(
            "UPDATE shop_sync_runs SET state = 'failed', finished_at = $1, error = $2 WHERE id = $3",
        )
        .bind(self.clock.now_millis())
        .bind(error)
        .bind(run)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The latest runs of a store, newest first.
    pub async fn runs(
        &self,
        org: OrgId,
        store_id: i64,
        limit: i64,
    ) -> Result<Vec<SyncRun>, CommerceError> {
        let rows = sqlx::query(
            "SELECT id, store_id, kind, state, started_at, finished_at, fetched, inserted, updated, detail, error, notes
             FROM shop_sync_runs WHERE org_id = $1 AND store_id = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(org.get())
        .bind(store_id)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SyncRun {
                    id: r.try_get("id")?,
                    store_id: r.try_get("store_id")?,
                    kind: r.try_get("kind")?,
                    state: r.try_get("state")?,
                    started_at: r.try_get("started_at")?,
                    finished_at: r.try_get("finished_at")?,
                    fetched: r.try_get("fetched")?,
                    inserted: r.try_get("inserted")?,
                    updated: r.try_get("updated")?,
                    detail: r.try_get("detail")?,
                    error: r.try_get("error")?,
                    notes: serde_json::from_str(&r.try_get::<String, _>("notes")?)
                        .unwrap_or_default(),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}

async fn count_rows(tx: &mut DbTx, table: &str, store_id: i64) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {table} WHERE store_id = $1"
    )))
    .bind(store_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The statuses of those of `ids` already stored for a store.
async fn stored_statuses(
    tx: &mut DbTx,
    store_id: i64,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, String>, sqlx::Error> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT order_id, status FROM shop_orders WHERE store_id = $1 AND order_id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(store_id);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            out.insert(row.try_get("order_id")?, row.try_get("status")?);
        }
    }
    Ok(out)
}

/// The CPC attribution event of an order whose status changed from `before`: `completed` when
/// it became completed, `cancelled` when a completed order was cancelled or returned. Orders
/// without a customer id cannot be matched to clicks and publish nothing.
fn order_event(store: &Store, order: &Order, before: Option<&str>) -> Option<serde_json::Value> {
    let user = order.customer_id.as_deref()?;
    let was_completed = before
        .and_then(OrderStatus::parse)
        .is_some_and(OrderStatus::is_completed);
    let status = match (was_completed, order.status) {
        (true, now) if now.is_completed() => return None,
        (_, now) if now.is_completed() => "completed",
        (true, OrderStatus::Cancelled | OrderStatus::Returned) => "cancelled",
        _ => return None,
    };
    let items: Vec<serde_json::Value> = order
        .items
        .iter()
        .filter(|i| i.status.counts_as_sale())
        .map(|i| serde_json::json!({ "product_id": i.product_id, "qty": i.quantity, "amount": i.amount }))
        .collect();
    Some(serde_json::json!({
        "order_id": format!("{}:{}:{}", store.platform.as_str(), store.mall_id, order.order_id),
        "user": user,
        "status": status,
        "ts": order.ordered_at,
        "items": items,
    }))
}

/// Writes orders with their items: an order already there (same store and order id) is
/// replaced with the new copy, its items too. Orders that became completed or were cancelled
/// after completion are queued for CPC attribution ([`ORDER_EVENTS_JOB`]) in the same
/// transaction. Inside the caller's transaction.
pub async fn write_orders_in(
    tx: &mut DbTx,
    dialect: Dialect,
    jobs: &adpool_jobs::Jobs,
    store: &Store,
    orders: &[Order],
    now: i64,
) -> Result<WriteCounts, CommerceError> {
    // The last copy of an order id wins, as the platform's newest state.
    let mut latest: std::collections::BTreeMap<&str, &Order> = std::collections::BTreeMap::new();
    for order in orders {
        latest.insert(order.order_id.as_str(), order);
    }
    let ids: Vec<&str> = latest.keys().copied().collect();
    let before = stored_statuses(tx, store.id, &ids).await?;
    let events: Vec<serde_json::Value> = latest
        .values()
        .filter_map(|o| order_event(store, o, before.get(&o.order_id).map(String::as_str)))
        .collect();
    if !events.is_empty() {
        jobs.enqueue_in(
            tx,
            adpool_jobs::NewJob::new(ORDER_EVENTS_JOB, serde_json::json!({ "events": events }))
                .for_org(OrgId(store.org_id)),
        )
        .await
        .map_err(|e| CommerceError::Invalid {
            field: "order events",
            message: e.to_string(),
        })?;
    }
    let days: Vec<String> = latest
        .values()
        .map(|o| BusinessDate::from_utc_millis(o.ordered_at).to_string())
        .collect();
    let rows: Vec<Vec<Cell<'_>>> = latest
        .values()
        .zip(&days)
        .map(|(o, day)| {
            vec![
                Cell::Int(store.id),
                Cell::Text(&o.order_id),
                Cell::Int(store.org_id),
                Cell::Text(store.platform.as_str()),
                Cell::Int(o.ordered_at),
                Cell::Text(day),
                Cell::Text(o.status.as_str()),
                Cell::Int(o.total),
                Cell::OptText(o.customer_id.as_deref()),
                Cell::Int(now),
            ]
        })
        .collect();
    bulk::upsert(
        tx,
        dialect,
        "shop_orders",
        &["store_id", "order_id"],
        &[
            "org_id",
            "platform",
            "ordered_at",
            "order_day",
            "status",
            "total",
            "customer_id",
            "updated_at",
        ],
        &rows,
        OnConflict::Replace,
    )
    .await?;
    // Items: the new copy replaces the old lines of each order.
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "DELETE FROM shop_order_items WHERE store_id = $1 AND order_id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(store.id);
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut **tx).await?;
    }
    let items: Vec<Vec<Cell<'_>>> = latest
        .values()
        .flat_map(|o| {
            o.items.iter().map(move |item| {
                vec![
                    Cell::Int(store.id),
                    Cell::Text(&o.order_id),
                    Cell::Text(&item.item_id),
                    Cell::Text(&item.product_id),
                    Cell::Text(&item.product_name),
                    Cell::Int(item.quantity),
                    Cell::Int(item.amount),
                    Cell::Text(item.status.as_str()),
                    Cell::Text(&item.status_code),
                ]
            })
        })
        .collect();
    bulk::upsert(
        tx,
        dialect,
        "shop_order_items",
        &["store_id", "order_id", "item_id"],
        &[
            "product_id",
            "product_name",
            "quantity",
            "amount",
            "status",
            "status_code",
        ],
        &items,
        OnConflict::Replace,
    )
    .await?;
    let inserted = (ids.len() - before.len()) as u64;
    Ok(WriteCounts {
        fetched: orders.len() as u64,
        inserted,
        updated: before.len() as u64,
    })
}

/// Writes coupons (the new copy replaces the old). Inside the caller's transaction.
pub async fn write_coupons_in(
    tx: &mut DbTx,
    dialect: Dialect,
    store: &Store,
    coupons: &[crate::Coupon],
    now: i64,
) -> Result<(), CommerceError> {
    let rows: Vec<Vec<Cell<'_>>> = coupons
        .iter()
        .map(|c| {
            vec![
                Cell::Int(store.id),
                Cell::Text(&c.coupon_id),
                Cell::Int(store.org_id),
                Cell::Text(&c.name),
                Cell::Text(&c.benefit),
                Cell::OptInt(c.starts_at),
                Cell::OptInt(c.ends_at),
                Cell::Int(now),
            ]
        })
        .collect();
    bulk::upsert(
        tx,
        dialect,
        "shop_coupons",
        &["store_id", "coupon_id"],
        &[
            "org_id",
            "name",
            "benefit",
            "starts_at",
            "ends_at",
            "updated_at",
        ],
        &rows,
        OnConflict::Replace,
    )
    .await?;
    Ok(())
}

/// Writes categories (the new copy replaces the old). Inside the caller's transaction.
pub async fn write_categories_in(
    tx: &mut DbTx,
    dialect: Dialect,
    store: &Store,
    categories: &[crate::Category],
    now: i64,
) -> Result<(), CommerceError> {
    let rows: Vec<Vec<Cell<'_>>> = categories
        .iter()
        .map(|c| {
            vec![
                Cell::Int(store.id),
                Cell::Text(&c.category_id),
                Cell::Int(store.org_id),
                Cell::Text(&c.name),
                Cell::OptText(c.parent_id.as_deref()),
                Cell::Int(now),
            ]
        })
        .collect();
    bulk::upsert(
        tx,
        dialect,
        "shop_categories",
        &["store_id", "category_id"],
        &["org_id", "name", "parent_id", "updated_at"],
        &rows,
        OnConflict::Replace,
    )
    .await?;
    Ok(())
}

/// Writes products (the new copy replaces the old). Inside the caller's transaction.
pub async fn write_products_in(
    tx: &mut DbTx,
    dialect: Dialect,
    store: &Store,
    products: &[Product],
    now: i64,
) -> Result<WriteCounts, CommerceError> {
    let before = count_rows(tx, "shop_products", store.id).await?;
    let mut latest: std::collections::BTreeMap<&str, &Product> = std::collections::BTreeMap::new();
    for product in products {
        latest.insert(product.product_id.as_str(), product);
    }
    let rows: Vec<Vec<Cell<'_>>> = latest
        .values()
        .map(|p| {
            vec![
                Cell::Int(store.id),
                Cell::Text(&p.product_id),
                Cell::Int(store.org_id),
                Cell::Text(&p.name),
                Cell::OptText(p.category_id.as_deref()),
                Cell::Int(p.price),
                Cell::Int(now),
            ]
        })
        .collect();
    bulk::upsert(
        tx,
        dialect,
        "shop_products",
        &["store_id", "product_id"],
        &["org_id", "name", "category_id", "price", "updated_at"],
        &rows,
        OnConflict::Replace,
    )
    .await?;
    let after = count_rows(tx, "shop_products", store.id).await?;
    let inserted = after.saturating_sub(before);
    Ok(WriteCounts {
        fetched: products.len() as u64,
        inserted,
        updated: latest.len() as u64 - inserted,
    })
}
