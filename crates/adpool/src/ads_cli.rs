//! `adpool ads ...`: checks and statements of the CPC ledger from a shell.

use std::path::PathBuf;
use std::sync::Arc;

use adpool_core::{BusinessDate, SystemClock};
use adpool_serving::{Serving, ServingConfig};
use adpool_store::Db;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::inventory_cli::{OrgArg, organization};

/// `adpool ads` subcommands.
#[derive(Debug, Subcommand)]
pub enum AdsCommand {
    /// The prepaid ledger.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Write the daily settlement of every advertiser as CSV.
    Settlement(SettlementArgs),
    /// Compare the balances and today's budgets in Redis (scale-out mode) with the ledger.
    /// Exits non-zero on any difference.
    Reconcile(ReconcileArgs),
}

/// Options of `ads reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Set every differing figure in Redis from the ledger (only when no click event waits to
    /// be settled).
    #[arg(long)]
    pub repair: bool,
}

/// `adpool ads ledger` subcommands.
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Check every advertiser: balance = sum of ledger entries, and each entry's balance_after is
    /// the running sum. Exits non-zero on any difference.
    Verify,
}

/// Options of `ads settlement`.
#[derive(Debug, Args)]
pub struct SettlementArgs {
    /// KST day (default: yesterday).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub org: OrgArg,
}

/// Runs an `ads` command.
pub async fn ads(
    db: Db,
    scale_out: &adpool_scaleout::ScaleOutSettings,
    command: AdsCommand,
) -> anyhow::Result<()> {
    let serving = Serving::new(db.clone(), Arc::new(SystemClock), ServingConfig::default());
    match command {
        AdsCommand::Reconcile(args) => {
            if scale_out.redis_url.is_none() {
                bail!(
                    "ads reconcile compares Redis with the ledger: set ADPOOL_REDIS_URL (or redis_url)"
                );
            }
            let engines = adpool_scaleout::Engines::connect(scale_out).await?;
            let Some(redis) = engines.redis.clone() else {
                bail!("no Redis connected");
            };
            let spend: Arc<dyn adpool_serving::SharedSpend> = redis;
            let report = adpool_scaleout::reconcile::reconcile(
                &serving,
                &spend,
                engines.nats.as_deref(),
                args.repair,
            )
            .await?;
            println!(
                "{} balance(s) and {} budget(s) in Redis compared with the ledger; {} click event(s) in flight",
                report.balances_checked, report.budgets_checked, report.clicks_in_flight
            );
            for d in &report.differences {
                eprintln!(
                    "organization {} {} {}: ledger {} won, Redis {} won",
                    d.org, d.what, d.id, d.ledger, d.shared
                );
            }
            if report.repaired > 0 {
                println!("{} figure(s) set from the ledger", report.repaired);
                return Ok(());
            }
            if !report.differences.is_empty() {
                bail!(
                    "{} difference(s){}",
                    report.differences.len(),
                    if args.repair && report.clicks_in_flight > 0 {
                        ": not repaired while clicks are in flight; run again when they are settled"
                    } else if args.repair {
                        ""
                    } else {
                        " (--repair sets them from the ledger)"
                    }
                );
            }
            Ok(())
        }
        AdsCommand::Ledger {
            command: LedgerCommand::Verify,
        } => {
            let (checked, mismatches) = serving.verify_ledgers().await?;
            if mismatches.is_empty() {
                println!(
                    "{checked} advertiser ledger(s) checked: every balance equals the sum of its entries"
                );
                return Ok(());
            }
            for m in &mismatches {
                eprintln!(
                    "organization {} advertiser {}: balance {} won, ledger sum {} won{}",
                    m.org_id,
                    m.advertiser_id,
                    m.balance,
                    m.ledger_sum,
                    m.first_broken_entry
                        .map(|e| format!(", first entry whose balance_after is wrong: {e}"))
                        .unwrap_or_default()
                );
            }
            bail!(
                "{} of {checked} advertiser ledger(s) do not add up",
                mismatches.len()
            )
        }
        AdsCommand::Settlement(args) => {
            let org = organization(&db, &args.org).await?;
            let date = match args.date.as_deref() {
                Some(text) => text
                    .parse::<BusinessDate>()
                    .map_err(|_| anyhow::anyhow!("--date: '{text}' is not a date (YYYY-MM-DD)"))?,
                None => BusinessDate::from_utc_millis(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_millis() as i64)
                        .unwrap_or_default(),
                )
                .add_days(-1),
            };
            let mut out = String::from(
                "date,advertiser_id,business_name,opening_balance,top_ups,charges,charged_clicks,refunds,adjustments,closing_balance\n",
            );
            for s in serving.settlements(org, date).await? {
                out.push_str(&format!(
                    "{},{},\"{}\",{},{},{},{},{},{},{}\n",
                    s.date,
                    s.advertiser_id,
                    s.business_name.replace('"', "\"\""),
                    s.opening_balance,
                    s.top_ups,
                    s.charges,
                    s.charged_clicks,
                    s.refunds,
                    s.adjustments,
                    s.closing_balance
                ));
            }
            match args.output {
                Some(path) => std::fs::write(&path, out)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{out}"),
            }
            Ok(())
        }
    }
}
