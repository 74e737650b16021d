//! Store syncs: a store's orders are read from its platform in date windows; each window's
//! orders and the store's cursor are committed in one transaction, so the cursor only ever
//! covers data that is saved, and a failure leaves it where the last whole window put it. The
//! next sync starts a day before the cursor (statuses change after the order day), and natural
//! keys turn the overlap into updates. Every sync is in the store's run history.

use adpool_core::{BusinessDate, OrgId};
use adpool_jobs::BoxFuture;
use serde::Serialize;

use crate::cafe24::{Cafe24Client, Cafe24Settings, CallStats};
use crate::model::{Order, Platform, Store, WriteCounts};
use crate::naver::{NaverClient, NaverSettings};
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
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            cafe24: Cafe24Settings::default(),
            naver: NaverSettings::default(),
            window_days: 30,
            first_sync_days: 365,
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
            let start = since
                .or_else(|| cursor.map(|c| c.add_days(-1)))
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
}

const ORDERS: &str = "orders";
/// Cafe24 catalog cursor: the last day whose product updates are saved.
const PRODUCTS: &str = "products";
/// Naver's cursor: the last instant (UTC ms) whose status changes are saved.
const CHANGES: &str = "product_order_changes";
const HOUR_MS: i64 = 3_600_000;

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
        let plan = connector.plan(self, &store, since).await?;
        let run = self.start_run(&store, "sync", &plan.detail).await?;
        let result = (run, connector.run(self, &store, &plan, progress).await);
        match result {
            (run, Ok(summary)) => {
                let mut tx = self.db().begin_write().await?;
                self.succeed_run_in(&mut tx, run, summary.counts).await?;
                tx.commit().await?;
                Ok(summary)
            }
            (run, Err(error)) => {
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
        // The catalog first: categories and coupons whole, products updated since a day
        // before the products cursor (all of them the first time), in one transaction with
        // that cursor.
        let products_since = self
            .cursor_text(store.id, PRODUCTS)
            .await?
            .and_then(|c| c.parse::<BusinessDate>().ok())
            .map(|c| c.add_days(-1).naive());
        let categories = client.categories().await?;
        let products = client.products(products_since).await?;
        let coupons = client.coupons().await?;
        let now = self.now_millis();
        let dialect = self.db().dialect();
        let mut tx = self.db().begin_write().await?;
        write_categories_in(&mut tx, dialect, store, &categories, now).await?;
        write_products_in(&mut tx, dialect, store, &products, now).await?;
        write_coupons_in(&mut tx, dialect, store, &coupons, now).await?;
        self.set_cursor_in(&mut tx, store.id, PRODUCTS, &today.to_string(), now)
            .await?;
        tx.commit().await?;
        progress(&format!(
            "{}: {} categories, {} products updated, {} coupons",
            store.name,
            categories.len(),
            products.len(),
            coupons.len()
        ));
        let mut from = start;
        while from <= today {
            let to = from.add_days(settings.window_days.max(1) - 1).min(today);
            let orders = client.orders(from.naive(), to.naive()).await;
            summary.calls = client.stats;
            let counts = self
                .commit_window(store, ORDERS, &to.to_string(), &orders?)
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
