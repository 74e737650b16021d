//! Store syncs: a store's orders are read from its platform in date windows; each window's
//! orders and the store's cursor are committed in one transaction, so the cursor only ever
//! covers data that is saved, and a failure leaves it where the last whole window put it.
//! Orders keep changing for weeks (delivered, purchase-confirmed, cancelled, returned), so
//! every Cafe24 sync re-reads the last `settle_days` (90) of orders by order date as well as
//! anything past its cursor, and natural keys turn the overlap into updates. One sync per
//! store at a time. A catalog step that fails (a missing scope) is noted and never stops the
//! orders. Every sync is in the store's run history.

use adpool_core::{BusinessDate, OrgId};
use adpool_jobs::BoxFuture;
use serde::Serialize;

use crate::cafe24::{Cafe24Client, Cafe24Settings, CallStats};
use crate::model::{Category, Order, Platform, Store, WriteCounts};
use crate::naver::{NaverClient, NaverSettings};
use crate::shops::SyncNote;
use crate::{
    CommerceError, Shops, write_categories_in, write_coupons_in, write_orders_in, write_products_in,
};

/// How syncs reach the platforms and how far back they go.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Cafe24's base URL and API version.
    pub cafe24: Cafe24Settings,
    /// Naver Commerce API's base URL.
    pub naver: NaverSettings,
    /// Days per window (Cafe24 allows under 3 months).
    pub window_days: i64,
    /// How far back a store's first sync reads.
    pub first_sync_days: i64,
    /// How many days of orders every sync reads again, so later status and amount changes
    /// (delivery, purchase confirmation, cancellations, returns) are seen.
    pub settle_days: i64,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            cafe24: Cafe24Settings::default(),
            naver: NaverSettings::default(),
            window_days: 30,
            first_sync_days: 365,
            settle_days: 90,
        }
    }
}

impl SyncSettings {
    /// The connector of `platform`; none for a platform without an API (Ably).
    pub fn connector(&self, platform: Platform) -> Option<Box<dyn Connector + '_>> {
        match platform {
            Platform::Cafe24 => Some(Box::new(Cafe24Connector { settings: self })),
            Platform::Naver => Some(Box::new(NaverConnector { settings: self })),
            Platform::Ably => None,
        }
    }
}

/// What a sync will read: shown in the store's run history before it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPlan {
    /// For people: `orders 2026-11-20 ~ 2026-12-01`.
    pub detail: String,
    /// First instant read (UTC ms).
    pub start_millis: i64,
    /// Last instant read (UTC ms).
    pub end_millis: i64,
}

/// A platform's connector: every platform with an API reads a store's data into the one model
/// the same way, from its cursor (or `since`) to now, committing each window with the cursor.
pub trait Connector: Send + Sync {
    /// The platform.
    fn platform(&self) -> Platform;
    /// What a sync of `store` reads, from `since` or its cursor.
    fn plan<'a>(
        &'a self,
        shops: &'a Shops,
        store: &'a Store,
        since: Option<BusinessDate>,
    ) -> BoxFuture<'a, Result<SyncPlan, CommerceError>>;
    /// Reads it; `progress` hears about every committed window.
    fn run<'a>(
        &'a self,
        shops: &'a Shops,
        store: &'a Store,
        plan: &'a SyncPlan,
        progress: &'a mut (dyn FnMut(&str) + Send),
    ) -> BoxFuture<'a, Result<SyncSummary, CommerceError>>;
}

/// Cafe24: the catalog, then orders in date windows up to today (cursor: the last whole day).
struct Cafe24Connector<'s> {
    settings: &'s SyncSettings,
}

impl Connector for Cafe24Connector<'_> {
    fn platform(&self) -> Platform {
        Platform::Cafe24
    }

    fn plan<'a>(
        &'a self,
        shops: &'a Shops,
        store: &'a Store,
        since: Option<BusinessDate>,
    ) -> BoxFuture<'a, Result<SyncPlan, CommerceError>> {
        Box::pin(async move {
            let today = BusinessDate::from_utc_millis(shops.now_millis());
            let cursor = shops.orders_cursor(store.id).await?;
            let settled = today.add_days(-self.settings.settle_days.max(1));
            let start = since
                .or_else(|| cursor.map(|c| c.add_days(-1).min(settled)))
                .unwrap_or_else(|| today.add_days(-self.settings.first_sync_days))
                .min(today);
            Ok(SyncPlan {
                detail: format!("orders {start} ~ {today}"),
                start_millis: start.start_utc_millis(),
                end_millis: today.start_utc_millis(),
            })
        })
    }

    fn run<'a>(
        &'a self,
        shops: &'a Shops,
        store: &'a Store,
        plan: &'a SyncPlan,
        progress: &'a mut (dyn FnMut(&str) + Send),
    ) -> BoxFuture<'a, Result<SyncSummary, CommerceError>> {
        Box::pin(shops.sync_cafe24(
            store,
            self.settings,
            BusinessDate::from_utc_millis(plan.start_millis),
            BusinessDate::from_utc_millis(plan.end_millis),
            progress,
        ))
    }
}

/// Naver SmartStore: changed product orders in windows of at most 24 hours up to now (cursor:
/// the last instant whose changes are saved).
struct NaverConnector<'s> {
    settings: &'s SyncSettings,
}

impl Connector for NaverConnector<'_> {
    fn platform(&self) -> Platform {
        Platform::Naver
    }

    fn plan<'a>(
        &'a self,
        shops: &'a Shops,
        store: &'a Store,
        since: Option<BusinessDate>,
    ) -> BoxFuture<'a, Result<SyncPlan, CommerceError>> {
        Box::pin(async move {
            let now = shops.now_millis();
            let cursor = shops.cursor_millis(store.id).await?;
            let start = since
                .map(BusinessDate::start_utc_millis)
                .or_else(|| cursor.map(|c| c - HOUR_MS))
                .unwrap_or_else(|| now - self.settings.first_sync_days * 24 * HOUR_MS)
                .min(now);
            Ok(SyncPlan {
                detail: format!(
                    "status changes {} ~ {}",
                    adpool_core::format_kst_datetime(start),
                    adpool_core::format_kst_datetime(now)
                ),
                start_millis: start,
                end_millis: now,
            })
        })
    }

    fn run<'a>(
        &'a self,
        shops: &'a Shops,
        store: &'a Store,
        plan: &'a SyncPlan,
        progress: &'a mut (dyn FnMut(&str) + Send),
    ) -> BoxFuture<'a, Result<SyncSummary, CommerceError>> {
        Box::pin(shops.sync_naver(
            store,
            self.settings,
            plan.start_millis,
            plan.end_millis,
            progress,
        ))
    }
}

/// A catalog step's result: what it read, or `None` with the failure noted (a missing scope, or
/// another refusal) so the orders still sync. A database failure or a refused address is not a
/// catalog problem and stops the run.
fn catalog_step<T>(
    notes: &mut Vec<SyncNote>,
    step: &str,
    result: Result<T, CommerceError>,
) -> Result<Option<T>, CommerceError> {
    match result {
        Ok(read) => return Ok(Some(read)),
        Err(CommerceError::MissingScope { scope, .. }) => notes.push(SyncNote {
            code: "missing_scope".into(),
            detail: format!("{scope}: {step}"),
        }),
        Err(error @ (CommerceError::Store(_) | CommerceError::IpNotAllowed { .. })) => {
            return Err(error);
        }
        Err(other) => notes.push(SyncNote {
            code: "catalog_failed".into(),
            detail: format!("{step}: {other}"),
        }),
    }
    Ok(None)
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncSummary {
    /// Orders fetched, inserted, updated.
    pub counts: WriteCounts,
    /// Calls made.
    pub calls: CallStats,
    /// Windows committed.
    pub windows: u32,
    /// The cursor afterwards (the last day fully synced).
    pub cursor: String,
    /// What it noticed without failing.
    pub notes: Vec<SyncNote>,
}

const ORDERS: &str = "orders";
/// Cafe24 catalog cursor: the last day whose product updates are saved.
const PRODUCTS: &str = "products";
/// Naver's cursor: the last instant (UTC ms) whose status changes are saved.
const CHANGES: &str = "product_order_changes";
const HOUR_MS: i64 = 3_600_000;
/// How long a sync holds its store at most (a crashed sync lets go after this).
const SYNC_HOLD_MS: i64 = 2 * HOUR_MS;

impl Shops {
    /// The last day whose orders are fully synced for a store.
    pub async fn orders_cursor(
        &self,
        store_id: i64,
    ) -> Result<Option<BusinessDate>, CommerceError> {
        Ok(self
            .cursor_text(store_id, ORDERS)
            .await?
            .and_then(|p| p.parse().ok()))
    }

    /// Syncs a store's orders up to today: from `since`, else from the day before its cursor,
    /// else `first_sync_days` back. `progress` hears about every committed window.
    pub async fn sync_store(
        &self,
        org: OrgId,
        store_id: i64,
        settings: &SyncSettings,
        since: Option<BusinessDate>,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<SyncSummary, CommerceError> {
        let store = self.store(org, store_id).await?;
        let connector =
            settings
                .connector(store.platform)
                .ok_or_else(|| CommerceError::Invalid {
                    field: "store",
                    message: format!(
                        "{} is an Ably store: Ably has no API; upload its order export instead",
                        store.name
                    ),
                })?;
        if !self
            .hold_store(store.id, self.now_millis() + SYNC_HOLD_MS)
            .await?
        {
            return Err(CommerceError::Conflict(format!(
                "{} is already being synced; this sync did not start",
                store.name
            )));
        }
        let result = self
            .sync_held(&store, connector.as_ref(), since, progress)
            .await;
        self.release_store(store.id).await?;
        result
    }

    async fn sync_held(
        &self,
        store: &Store,
        connector: &dyn Connector,
        since: Option<BusinessDate>,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<SyncSummary, CommerceError> {
        let plan = connector.plan(self, store, since).await?;
        let run = self.start_run(store, "sync", &plan.detail).await?;
        match connector.run(self, store, &plan, progress).await {
            Ok(summary) => {
                self.note_run(run, &summary.notes).await?;
                let mut tx = self.db().begin_write().await?;
                self.succeed_run_in(&mut tx, run, summary.counts).await?;
                tx.commit().await?;
                Ok(summary)
            }
            Err(error) => {
                self.fail_run(run, &error.to_string()).await?;
                Err(error)
            }
        }
    }

    async fn cursor_millis(&self, store_id: i64) -> Result<Option<i64>, CommerceError> {
        Ok(self
            .cursor_text(store_id, CHANGES)
            .await?
            .and_then(|p| p.parse().ok()))
    }

    /// Writes a window's orders and moves the store's cursor for `entity` to `position` in one
    /// transaction.
    async fn commit_window(
        &self,
        store: &Store,
        entity: &str,
        position: &str,
        orders: &[Order],
    ) -> Result<WriteCounts, CommerceError> {
        let now = self.now_millis();
        let mut tx = self.db().begin_write().await?;
        let counts = write_orders_in(
            &mut tx,
            self.db().dialect(),
            self.jobs(),
            store,
            orders,
            now,
        )
        .await?;
        self.set_cursor_in(&mut tx, store.id, entity, position, now)
            .await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// Moves a store's cursor for `entity`, inside the transaction of the data it covers.
    async fn set_cursor_in(
        &self,
        tx: &mut adpool_store::DbTx,
        store_id: i64,
        entity: &str,
        position: &str,
        now: i64,
    ) -> Result<(), CommerceError> {
        sqlx::query(
            "INSERT INTO shop_sync_cursors (store_id, entity, position, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (store_id, entity) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
        )
        .bind(store_id)
        .bind(entity)
        .bind(position)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn cursor_text(
        &self,
        store_id: i64,
        entity: &str,
    ) -> Result<Option<String>, CommerceError> {
        Ok(sqlx::query_scalar(
            "SELECT position FROM shop_sync_cursors WHERE store_id = $1 AND entity = $2",
        )
        .bind(store_id)
        .bind(entity)
        .fetch_optional(self.db().pool())
        .await?)
    }

    async fn sync_cafe24(
        &self,
        store: &Store,
        settings: &SyncSettings,
        start: BusinessDate,
        today: BusinessDate,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<SyncSummary, CommerceError> {
        let mut summary = SyncSummary::default();
        let mut client = Cafe24Client::new(self, store, &settings.cafe24).await?;
        let shop_numbers = self
            .cafe24_shops(store, &mut client, &mut summary.notes)
            .await?;
        self.sync_cafe24_catalog(store, &mut client, today, &mut summary.notes, progress)
            .await?;
        let mut from = start;
        while from <= today {
            let to = from.add_days(settings.window_days.max(1) - 1).min(today);
            let mut orders = Vec::new();
            for &shop_no in &shop_numbers {
                let read = client.orders(shop_no, from.naive(), to.naive()).await;
                summary.calls = client.stats;
                orders.extend(read?);
            }
            let counts = self
                .commit_window(store, ORDERS, &to.to_string(), &orders)
                .await?;
            summary.counts.add(counts);
            summary.windows += 1;
            summary.cursor = to.to_string();
            progress(&format!(
                "{} {from} ~ {to}: {} orders ({} new)",
                store.name, counts.fetched, counts.inserted
            ));
            from = to.next();
        }
        summary.calls = client.stats;
        // Loud, never silent: a sync that ends without its cursor at today is an error.
        let after = self.orders_cursor(store.id).await?;
        if after != Some(today) {
            return Err(CommerceError::Platform {
                platform: "Cafe24",
                store: store.mall_id.clone(),
                message: format!(
                    "the orders cursor did not reach {today} (it is at {})",
                    after.map_or_else(|| "nothing".to_owned(), |c| c.to_string())
                ),
            });
        }
        Ok(summary)
    }

    /// The shops of a Cafe24 mall whose orders are synced: every active shop selling in won.
    /// Without the `mall.read_store` scope only the default shop is, and that is noted.
    async fn cafe24_shops(
        &self,
        store: &Store,
        client: &mut Cafe24Client<'_>,
        notes: &mut Vec<SyncNote>,
    ) -> Result<Vec<i64>, CommerceError> {
        let shops = match client.mall_shops().await {
            Ok(shops) => shops,
            Err(CommerceError::MissingScope { scope, .. }) => {
                notes.push(SyncNote {
                    code: "missing_scope".into(),
                    detail: format!("{scope}: shops"),
                });
                return Ok(vec![1]);
            }
            Err(other) => return Err(other),
        };
        let mut numbers = Vec::new();
        for shop in shops {
            if !shop.active {
                continue;
            }
            if shop.currency != "KRW" {
                notes.push(SyncNote {
                    code: "shop_skipped".into(),
                    detail: format!(
                        "{} (shop_no {}, {})",
                        shop.name, shop.shop_no, shop.currency
                    ),
                });
                continue;
            }
            numbers.push(shop.shop_no);
        }
        if numbers.is_empty() {
            return Err(CommerceError::Platform {
                platform: "Cafe24",
                store: store.mall_id.clone(),
                message: "the mall has no active shop selling in won".into(),
            });
        }
        Ok(numbers)
    }

    /// The catalog: categories and coupons whole, products changed since a day before the
    /// products cursor (all the first time) with each one's category from its detail, in one
    /// transaction with that cursor. A step that fails is noted and skipped: the orders still
    /// sync, and the products cursor moves only when the products were read.
    async fn sync_cafe24_catalog(
        &self,
        store: &Store,
        client: &mut Cafe24Client<'_>,
        today: BusinessDate,
        notes: &mut Vec<SyncNote>,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), CommerceError> {
        let categories = catalog_step(notes, "categories", client.categories().await)?;
        let known: Vec<Category> = match &categories {
            Some(list) => list.clone(),
            None => self.categories_of(store.id).await?,
        };
        let products_since = self
            .cursor_text(store.id, PRODUCTS)
            .await?
            .and_then(|c| c.parse::<BusinessDate>().ok())
            .map(|c| c.add_days(-1).naive());
        let products = client
            .products_with_categories(products_since.map(|since| (since, today.naive())), &known)
            .await;
        let products = catalog_step(notes, "products", products)?;
        let coupons = catalog_step(notes, "coupons", client.coupons().await)?;
        let now = self.now_millis();
        let dialect = self.db().dialect();
        let mut tx = self.db().begin_write().await?;
        if let Some(list) = &categories {
            write_categories_in(&mut tx, dialect, store, list, now).await?;
        }
        if let Some(list) = &products {
            write_products_in(&mut tx, dialect, store, list, now).await?;
            self.set_cursor_in(&mut tx, store.id, PRODUCTS, &today.to_string(), now)
                .await?;
        }
        if let Some(list) = &coupons {
            write_coupons_in(&mut tx, dialect, store, list, now).await?;
        }
        tx.commit().await?;
        progress(&format!(
            "{}: {} categories, {} products updated, {} coupons",
            store.name,
            categories.as_ref().map_or(0, Vec::len),
            products.as_ref().map_or(0, Vec::len),
            coupons.as_ref().map_or(0, Vec::len)
        ));
        Ok(())
    }

    async fn sync_naver(
        &self,
        store: &Store,
        settings: &SyncSettings,
        start: i64,
        end: i64,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<SyncSummary, CommerceError> {
        let mut summary = SyncSummary::default();
        let mut client = NaverClient::new(self, store, &settings.naver).await?;
        // The catalog first, whole (the per-category view covers Naver); a failing step is
        // noted and the orders still sync.
        let categories = catalog_step(&mut summary.notes, "categories", client.categories().await)?;
        let products = catalog_step(&mut summary.notes, "products", client.products().await)?;
        let now = self.now_millis();
        let dialect = self.db().dialect();
        let mut tx = self.db().begin_write().await?;
        if let Some(list) = &categories {
            write_categories_in(&mut tx, dialect, store, list, now).await?;
        }
        if let Some(list) = &products {
            write_products_in(&mut tx, dialect, store, list, now).await?;
        }
        tx.commit().await?;
        progress(&format!(
            "{}: {} categories, {} products",
            store.name,
            categories.as_ref().map_or(0, Vec::len),
            products.as_ref().map_or(0, Vec::len)
        ));
        let mut from = start;
        loop {
            // Windows of at most 24 hours, the API's limit, the last one ending at `end`.
            let to = (from + 24 * HOUR_MS - 1).min(end);
            let orders = client.changed_orders(from, to).await;
            summary.calls = client.stats;
            let counts = self
                .commit_window(store, CHANGES, &to.to_string(), &orders?)
                .await?;
            summary.counts.add(counts);
            summary.windows += 1;
            summary.cursor = adpool_core::format_kst_datetime(to);
            progress(&format!(
                "{} {} ~ {}: {} orders changed ({} new)",
                store.name,
                adpool_core::format_kst_datetime(from),
                adpool_core::format_kst_datetime(to),
                counts.fetched,
                counts.inserted
            ));
            if to >= end {
                break;
            }
            from = to + 1;
        }
        let after = self.cursor_millis(store.id).await?;
        if after != Some(end) {
            return Err(CommerceError::Platform {
                platform: "Naver SmartStore",
                store: store.mall_id.clone(),
                message: "the status-change cursor did not reach the end of the sync".into(),
            });
        }
        Ok(summary)
    }
}
