//! `adpool-inventory`: forecast-pool inventory (DOMAIN.md section A).
//!
//! It owns the catalog (media, content owners, meta_ids, the part -> platform mapping,
//! products, targeting groups; one [`CatalogDocument`] to import, export and edit), the
//! vendor forecast import (CSV or XLSX, validated row by row, all or nothing), the monthly
//! standard inventory with its change rate, manual corrections and month confirmation, the daily
//! unit inventory built from it with [`adpool_core::apportion`], and the exports.
//!
//! Every function takes the caller's [`OrgId`] and never crosses it. It has no HTTP in it.
//!
//! ```no_run
//! # async fn demo(db: adpool_store::Db, org: adpool_core::OrgId) -> Result<(), adpool_inventory::InventoryError> {
//! use adpool_inventory::{Inventory, Month};
//! let inventory = Inventory::new(db, std::sync::Arc::new(adpool_core::SystemClock));
//! let file = std::path::Path::new("forecast-2026-12.csv");
//! let summary = inventory.import_forecast_file(org, file, &mut |_| {}).await?;
//! let month: Month = "2026-12".parse()?;
//! inventory.build_standard(org, month, "cli", &mut |_| {}).await?;
//! # Ok(()) }
//! ```

mod build_lock;
mod campaign_status;
mod campaigns;
mod catalog;
mod catalog_file;
mod delivery;
mod error;
mod export;
mod forecast_import;
mod jobs;
mod proposal;
mod purchase;
mod standard;
mod types;
mod unit;

pub use adpool_core::{OrgId, UserId};
pub use campaign_status::{Status, derive_from_counts, derive_status};
pub use campaigns::{Ad, Campaign, Line, NewCampaign, STATUS_CHANGED_EVENT, StatusRepair};
pub use catalog::{DEFAULT_PART_PLATFORMS, MediaEntry, MetaEntry};
pub use catalog_file::{
    CatalogDocument, CatalogSummary, ContentOwnerEntry, MediaDoc, MetaDoc, ProductDoc,
    TargetingGroupDoc,
};
pub use delivery::{DeliveryReport, Pacing, PacingDay, PacingVerdict};
pub use error::{InventoryError, RowError};
pub use export::{ExportLevel, format_ppm, write_csv, write_xlsx};
pub use forecast_import::{ImportSummary, MAX_LISTED_ERRORS};
pub use jobs::{
    BUILD_STANDARD_JOB, BUILD_UNIT_JOB, BuildHandler, REPAIR_STATUS_JOB, RepairStatusHandler,
    build_job,
};
pub use proposal::{
    Curation, HEADER_ROW, MEDIA_MIX_COLUMNS, Proposal, ProposalLine, blended_ecpm, write_proposal,
};
pub use purchase::{
    CoNode, CoShare, DayNode, GroupNode, GroupShare, PlatformNode, Policy, PurchaseRequest,
    PurchaseResult,
};
pub use standard::{
    AuditEntry, MonthState, MonthSummary, StandardBuild, StandardFilter, StandardRow,
    change_rate_ppm,
};
pub use types::{Month, Platform};
pub use unit::{UnitBuild, UnitRow};

use adpool_core::SharedClock;
use adpool_store::Db;

/// Progress of a long operation: (done, total) in its own units.
pub type ProgressFn<'a> = dyn FnMut(Progress) + Send + 'a;

/// How far a long operation has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Units done.
    pub done: u64,
    /// Units in all, when known.
    pub total: Option<u64>,
}

/// The inventory service: a database and a clock.
#[derive(Clone, Debug)]
pub struct Inventory {
    db: Db,
    clock: SharedClock,
}

impl Inventory {
    /// Inventory on `db` with time from `clock`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Inventory { db, clock }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// The job queue on the same database (for events enqueued inside inventory transactions).
    fn jobs(&self) -> adpool_jobs::Jobs {
        adpool_jobs::Jobs::new(self.db.clone(), self.clock.clone())
    }
}
