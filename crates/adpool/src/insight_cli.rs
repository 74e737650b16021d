//! `adpool insight ...`: statements imported, mappings saved, analyses run and messages
//! written from a shell.

use std::path::PathBuf;
use std::sync::Arc;

use adpool_core::SystemClock;
use adpool_insight::messages::{Channel, MessageRequest, Tone};
use adpool_insight::statement::ColumnMapping;
use adpool_insight::{Insight, InsightError};
use adpool_store::Db;
use anyhow::Context;
use clap::{Args, Subcommand};

use crate::config::Config;
use crate::inventory_cli::{OrgArg, organization};

/// `adpool insight` subcommands.
#[derive(Debug, Subcommand)]
pub enum InsightCommand {
    /// Import a card or transaction statement (CSV, XLSX, XLS or TXT; any Korean encoding):
    /// all or nothing, lines imported before are skipped.
    Import(ImportArgs),
    /// Save a column mapping for a statement layout adpool does not know.
    Mapping(MappingArgs),
    /// Analyze transactions now (spend by category and month, top merchants, RFM segments).
    Analyze(AnalyzeArgs),
    /// Write marketing messages for a finished analysis.
    Messages(MessagesArgs),
}

/// Options of `insight import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The statement file.
    pub file: PathBuf,
    /// Read it with this saved mapping.
    #[arg(long)]
    pub mapping: Option<String>,
    /// Only show what would be imported.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub org: OrgArg,
}

/// Options of `insight mapping`.
#[derive(Debug, Args)]
pub struct MappingArgs {
    /// The mapping's name.
    pub name: String,
    /// Header of the date column.
    #[arg(long)]
    pub date: String,
    /// Header of the merchant column.
    #[arg(long)]
    pub merchant: String,
    /// Header of the amount column.
    #[arg(long)]
    pub amount: String,
    /// Header of the industry column.
    #[arg(long)]
    pub industry: Option<String>,
    /// Header of the cancellation mark column.
    #[arg(long)]
    pub cancel: Option<String>,
    /// Header of the installment months column.
    #[arg(long)]
    pub installment: Option<String>,
    /// Header of the customer id column.
    #[arg(long)]
    pub customer: Option<String>,
    /// Header of the card column.
    #[arg(long)]
    pub card: Option<String>,
    /// Header of the approval number column (pairs a cancellation with its purchase).
    #[arg(long)]
    pub approval: Option<String>,
    #[command(flatten)]
    pub org: OrgArg,
}

/// Options of `insight analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// First day (default: the first transaction's).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: Option<String>,
    /// Last day (default: the last transaction's).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: Option<String>,
    #[command(flatten)]
    pub org: OrgArg,
}

/// Options of `insight messages`.
#[derive(Debug, Args)]
pub struct MessagesArgs {
    /// The analysis id.
    pub analysis: i64,
    /// An RFM segment (champions, loyal, potential, new, need_attention, at_risk, hibernating).
    #[arg(long)]
    pub segment: Option<String>,
    /// sms, lms, kakao or push.
    #[arg(long, default_value = "sms")]
    pub channel: String,
    /// friendly, formal, playful or urgent.
    #[arg(long, default_value = "friendly")]
    pub tone: String,
    /// ko or en.
    #[arg(long, default_value = "ko")]
    pub lang: String,
    /// How many (1 to 10).
    #[arg(long, default_value_t = 3)]
    pub count: usize,
    #[command(flatten)]
    pub org: OrgArg,
}

/// Runs an `insight` command.
pub async fn insight(db: Db, config: &Config, command: InsightCommand) -> anyhow::Result<()> {
    let insight = Insight::new(db.clone(), Arc::new(SystemClock)).with_llm(config.llm.clone());
    match command {
        InsightCommand::Import(args) => {
            let org = organization(&db, &args.org).await?;
            let name = args
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = std::fs::read(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?;
            let started = std::time::Instant::now();
            let result = if args.dry_run {
                insight
                    .preview(org, &name, &bytes, args.mapping.as_deref())
                    .await
            } else {
                insight
                    .import(org, &name, &bytes, args.mapping.as_deref(), None)
                    .await
            };
            match result {
                Ok(s) => {
                    let seconds = started.elapsed().as_secs_f64();
                    println!(
                        "{}: {} ({}, header row {}): {} lines, {} new, {} already imported, {} totals rows skipped, {} uncategorized{} in {seconds:.2} s ({:.0} lines/s)",
                        args.file.display(),
                        s.layout,
                        s.encoding,
                        s.header_row,
                        s.lines,
                        s.new_lines,
                        s.duplicates,
                        s.totals_skipped,
                        s.uncategorized,
                        if args.dry_run {
                            " (dry run: nothing imported)"
                        } else {
                            ""
                        },
                        s.lines as f64 / seconds.max(1e-9),
                    );
                    for r in &s.rejected {
                        eprintln!("{name}: {r}");
                    }
                    if !s.rejected.is_empty() {
                        anyhow::bail!(
                            "{} line(s) cannot be read; an import would refuse the file",
                            s.rejected.len()
                        );
                    }
                    Ok(())
                }
                Err(InsightError::Rows { file, errors }) => {
                    for e in &errors {
                        eprintln!("{file}: {e}");
                    }
                    anyhow::bail!(
                        "{} line(s) cannot be read in {file}; nothing was imported",
                        errors.len()
                    )
                }
                Err(InsightError::UnknownLayout {
                    file,
                    row,
                    candidates,
                }) => anyhow::bail!(
                    "{file}: not a known card statement layout. Its header (row {row}) is: {}\nsave a mapping, e.g. adpool insight mapping NAME --date '{}' --merchant '{}' --amount '{}', then import with --mapping NAME",
                    candidates.join(", "),
                    candidates.first().map_or("", String::as_str),
                    candidates.get(1).map_or("", String::as_str),
                    candidates.get(2).map_or("", String::as_str),
                ),
                Err(error) => Err(error.into()),
            }
        }
        InsightCommand::Mapping(args) => {
            let org = organization(&db, &args.org).await?;
            let mapping = ColumnMapping {
                date: args.date,
                merchant: args.merchant,
                amount: args.amount,
                industry: args.industry,
                cancel: args.cancel,
                installment: args.installment,
                customer: args.customer,
                card: args.card,
                approval: args.approval,
            };
            insight
                .save_mapping(org, &args.name, &mapping, None)
                .await?;
            println!("mapping '{}' saved", args.name);
            Ok(())
        }
        InsightCommand::Analyze(args) => {
            let org = organization(&db, &args.org).await?;
            let (id, report) = insight
                .analyze_now(
                    org,
                    args.from.as_deref(),
                    args.to.as_deref(),
                    None,
                    &mut |done, total, note| {
                        eprint!("\r{note}: {done}/{}   ", total.unwrap_or(0));
                    },
                )
                .await?;
            eprintln!();
            println!(
                "analysis {id}: {} ~ {}: spend {} won over {} purchases ({} cancelled, {} refunds), {} merchants, uncategorized {:.1}%",
                report.from,
                report.to,
                adpool_core::group_thousands(report.spend.unsigned_abs()),
                report.purchases,
                report.cancelled,
                report.refunds,
                report.merchants,
                report.uncategorized_share * 100.0
            );
            for c in report.by_category.iter().take(8) {
                println!(
                    "  {:<16} {:>14} won  {:>5.1}%",
                    c.key,
                    adpool_core::group_thousands(c.spend.unsigned_abs()),
                    c.share * 100.0
                );
            }
            for s in &report.segments {
                println!(
                    "  segment {:<15} {:>6} customers, average {} won",
                    s.key,
                    s.customers,
                    adpool_core::group_thousands(s.average_spend.unsigned_abs())
                );
            }
            Ok(())
        }
        InsightCommand::Messages(args) => {
            let org = organization(&db, &args.org).await?;
            let request = MessageRequest {
                segment: args.segment,
                channel: Channel::parse(&args.channel).with_context(|| {
                    format!(
                        "--channel '{}' is not sms, lms, kakao or push",
                        args.channel
                    )
                })?,
                tone: Tone::parse(&args.tone).with_context(|| {
                    format!(
                        "--tone '{}' is not friendly, formal, playful or urgent",
                        args.tone
                    )
                })?,
                lang: args.lang,
                count: args.count,
            };
            let written = insight
                .write_messages(org, args.analysis, &request, None)
                .await?;
            for m in written {
                println!(
                    "#{} [{} {}/{}, {}] {}",
                    m.id, m.channel, m.size, m.limit, m.source, m.body
                );
                if let Some(note) = m.note {
                    eprintln!("  note: {note}");
                }
            }
            Ok(())
        }
    }
}
