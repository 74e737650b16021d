//! `adpool-commerce`: shop data (DOMAIN.md section C).
//!
//! It owns the stores an organization registers on Cafe24, Naver SmartStore and Ably, their
//! credentials sealed at rest ([`Vault`], AES-256-GCM), one model of categories, products,
//! orders with items and coupons for every platform ([`model`]), the one way those records are
//! written (natural keys: overlapping syncs and repeated imports update, never duplicate), the
//! run history of every sync and import, the Ably export importer ([`ably`]), and the sales
//! dashboard queries ([`sales`]), the Cafe24 Admin API client and its fake server
//! ([`cafe24`]), the Naver Commerce API client ([`naver`]), and store syncs through one
//! [`sync::Connector`] trait per platform with cursors that advance only with committed data
//! ([`sync`]).
//! Its only HTTP is the platforms' clients and the fake servers the tests run against.

pub mod ably;
pub mod cafe24;
mod error;
mod fake_limit;
mod jobs;
pub mod model;
pub mod naver;
pub mod sales;
mod shops;
pub mod sync;

pub use adpool_store::{Vault, VaultError};
pub use error::CommerceError;
pub use jobs::{SYNC_ALL_JOB, SYNC_JOB, SyncHandler, sync_job};
pub use model::{
    Category, Coupon, Order, OrderItem, OrderStatus, Platform, Product, Store, WriteCounts,
};
pub use shops::{
    CustomerPurchase, LineStatusCount, NewStore, ORDER_EVENTS_JOB, Shops, SyncNote, SyncRun,
    write_categories_in, write_coupons_in, write_orders_in, write_products_in,
};
