//! `adpool shop ...`: shop stores, Ably export imports and sales from a shell.

use std::path::PathBuf;
use std::sync::Arc;

use adpool_commerce::sales::{Period, dashboard, series_csv};
use adpool_commerce::{CommerceError, Shops};
use adpool_core::{BusinessDate, SystemClock};
use adpool_store::Db;
use anyhow::Context;
use clap::{Args, Subcommand};

use crate::config::Config;
use crate::inventory_cli::{OrgArg, organization};

/// `adpool shop` subcommands.
#[derive(Debug, Subcommand)]
pub enum ShopCommand {
    /// List the organization's stores.
    Stores(OrgOnly),
    /// Import an Ably order export (CSV or XLSX) into an Ably store: all or nothing.
    ImportAbly(ImportArgs),
    /// Sales per period as CSV (period,start,orders,revenue,average_order_value,...).
    Sales(SalesArgs),
    /// Sync stores with their platform's API now (every Cafe24 and Naver store, or one).
    Sync(SyncArgs),
}

/// Options of `shop sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only this store.
    #[arg(long)]
    pub store: Option<i64>,
    /// Read orders from this KST day (default: a day before the store's cursor).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub since: Option<String>,
    #[command(flatten)]
    pub org: OrgArg,
}

/// Only the organization.
#[derive(Debug, Args)]
pub struct OrgOnly {
    #[command(flatten)]
    pub org: OrgArg,
}

/// Options of `shop import-ably`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The Ably store's id (`adpool shop stores`).
    #[arg(long)]
    pub store: i64,
    /// The export file.
    pub file: PathBuf,
    /// Import even when the file has order statuses adpool does not know: those lines are
    /// kept as `unknown` and left out of sales (without it, such a file imports nothing).
    #[arg(long)]
    pub accept_unknown_statuses: bool,
    #[command(flatten)]
    pub org: OrgArg,
}

/// Options of `shop sales`.
#[derive(Debug, Args)]
pub struct SalesArgs {
    /// day, week, month or year.
    #[arg(long, default_value = "month")]
    pub period: String,
    /// How many periods up to today (or --day).
    #[arg(long, default_value_t = 12)]
    pub periods: usize,
    /// The last period contains this KST day (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub day: Option<String>,
    /// Only this store.
    #[arg(long)]
    pub store: Option<i64>,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub org: OrgArg,
}

/// Runs a `shop` command.
pub async fn shop(db: Db, config: &Config, command: ShopCommand) -> anyhow::Result<()> {
    let shops = Shops::new(
        db.clone(),
        Arc::new(SystemClock),
        crate::server::commerce_vault(config)?,
    );
    match command {
        ShopCommand::Stores(args) => {
            let org = organization(&db, &args.org).await?;
            let stores = shops.stores(org).await?;
            if stores.is_empty() {
                println!("no stores yet: register one on the /shops page");
            }
            for s in stores {
                println!(
                    "{}\t{}\t{}\t{}",
                    s.id,
                    s.platform.label(),
                    s.mall_id,
                    s.name
                );
            }
            Ok(())
        }
        ShopCommand::ImportAbly(args) => {
            let org = organization(&db, &args.org).await?;
            let name = args
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match shops
                .import_ably(
                    org,
                    args.store,
                    &args.file,
                    &name,
                    args.accept_unknown_statuses,
                )
                .await
            {
                Ok(counts) => {
                    println!(
                        "{}: {} order lines, {} new orders, {} updated",
                        args.file.display(),
                        counts.fetched,
                        counts.inserted,
                        counts.updated
                    );
                    Ok(())
                }
                Err(CommerceError::Rows { file, errors }) => {
                    for e in &errors {
                        eprintln!("{file}: {e}");
                    }
                    anyhow::bail!(
                        "{} invalid row(s) in {file}; nothing was imported",
                        errors.len()
                    )
                }
                Err(error) => Err(error.into()),
            }
        }
        ShopCommand::Sync(args) => {
            let org = organization(&db, &args.org).await?;
            let since = match args.since.as_deref() {
                Some(text) => Some(
                    text.parse::<BusinessDate>()
                        .map_err(|e| anyhow::anyhow!("--since '{text}': {e}"))?,
                ),
                None => None,
            };
            let stores: Vec<i64> = match args.store {
                Some(id) => vec![shops.store(org, id).await?.id],
                None => shops
                    .stores(org)
                    .await?
                    .into_iter()
                    .filter(|s| s.platform != adpool_commerce::Platform::Ably)
                    .map(|s| s.id)
                    .collect(),
            };
            if stores.is_empty() {
                println!("no stores to sync (Ably stores import their export files instead)");
            }
            let settings = crate::server::sync_settings(config);
            let mut failed = 0;
            // One store's failure does not stop the others; the exit code tells.
            for id in stores {
                match shops
                    .sync_store(org, id, &settings, since, &mut |note| println!("{note}"))
                    .await
                {
                    Ok(summary) => println!(
                        "store {id}: {} orders fetched, {} new, {} updated; synced through {} ({} calls, {} throttled, {} retried)",
                        summary.counts.fetched,
                        summary.counts.inserted,
                        summary.counts.updated,
                        summary.cursor,
                        summary.calls.calls,
                        summary.calls.throttled,
                        summary.calls.retries
                    ),
                    Err(error) => {
                        failed += 1;
                        eprintln!("store {id}: {error}");
                    }
                }
            }
            if failed > 0 {
                anyhow::bail!("{failed} store(s) failed to sync; their cursors are unchanged");
            }
            Ok(())
        }
        ShopCommand::Sales(args) => {
            let org = organization(&db, &args.org).await?;
            let period = Period::parse(&args.period).with_context(|| {
                format!("--period '{}' is not day, week, month or year", args.period)
            })?;
            let day = match args.day.as_deref() {
                Some(text) => text
                    .parse::<BusinessDate>()
                    .map_err(|e| anyhow::anyhow!("--day '{text}': {e}"))?,
                None => BusinessDate::from_utc_millis(chrono::Utc::now().timestamp_millis()),
            };
            let board = dashboard(&db, org, args.store, period, day, args.periods).await?;
            let csv = series_csv(&board.series);
            match args.output {
                Some(path) => std::fs::write(&path, csv)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{csv}"),
            }
            Ok(())
        }
    }
}
