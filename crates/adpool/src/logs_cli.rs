//! `adpool logs ...` and `adpool report export ...`: ad-log analytics from a shell.

use std::path::PathBuf;
use std::sync::Arc;

use adpool_core::{SharedClock, SystemClock};
use adpool_logs::{AnalyzeOptions, Report, S3Settings, Source};
use adpool_store::Db;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::inventory_cli::{OrgArg, bar, organization};

/// `adpool logs` subcommands.
#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Analyze the files of a source not analyzed yet (each exactly once).
    Analyze(AnalyzeArgs),
    /// Media and inventory metadata used to enrich the logs.
    Metadata {
        #[command(subcommand)]
        command: MetadataCommand,
    },
    /// List failed and quarantined files.
    Failed(FailedArgs),
    /// Put failed and quarantined files back in the queue and analyze them.
    Retry(RetryArgs),
}

/// Options of `logs analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// A folder (`/path` or `file:///abs/path`).
    #[arg(long, value_name = "URL")]
    pub source: String,
    /// Files per batch (one transaction each).
    #[arg(long, default_value_t = 10)]
    pub batch_size: usize,
    /// Files read and parsed at once (default: the number of cores).
    #[arg(long)]
    pub workers: Option<usize>,
    #[command(flatten)]
    pub org: OrgArg,
}

/// `adpool logs metadata` subcommands.
#[derive(Debug, Subcommand)]
pub enum MetadataCommand {
    /// Import media.csv (media_key,org_id,media_share_bp) and/or inventory.csv
    /// (inventory_id,ad_type,device): all or nothing.
    Import(MetadataArgs),
}

/// Options of `logs metadata import`.
#[derive(Debug, Args)]
pub struct MetadataArgs {
    /// media.csv
    #[arg(long, value_name = "FILE")]
    pub media: Option<PathBuf>,
    /// inventory.csv
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    #[command(flatten)]
    pub org: OrgArg,
}

/// Options of `logs failed`.
#[derive(Debug, Args)]
pub struct FailedArgs {
    /// Only this source.
    #[arg(long, value_name = "URL")]
    pub source: Option<String>,
    #[command(flatten)]
    pub org: OrgArg,
}

/// Options of `logs retry`.
#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The source of the files.
    #[arg(long, value_name = "URL")]
    pub source: String,
    /// Only these keys (default: every failed and quarantined file of the source).
    pub keys: Vec<String>,
    #[command(flatten)]
    pub org: OrgArg,
}

/// Options of `report export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// ad-performance, ad-request, demand or media.
    pub report: String,
    /// First KST day (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Last KST day (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    /// csv, xlsx or json.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// Write to this file (default: standard output; xlsx needs a file).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub org: OrgArg,
}

fn clock() -> SharedClock {
    Arc::new(SystemClock)
}

/// Runs a `logs` command.
pub async fn logs(db: Db, s3: &S3Settings, command: LogsCommand) -> anyhow::Result<()> {
    match command {
        LogsCommand::Analyze(args) => {
            let org = organization(&db, &args.org).await?;
            let source = Source::open_with(&args.source, s3)?;
            run_analyze(&db, org, &source, args.batch_size, args.workers).await
        }
        LogsCommand::Metadata {
            command: MetadataCommand::Import(args),
        } => {
            if args.media.is_none() && args.inventory.is_none() {
                bail!("name --media FILE and/or --inventory FILE");
            }
            let org = organization(&db, &args.org).await?;
            let imported = adpool_logs::import_metadata(
                &db,
                org,
                clock().now_millis(),
                args.media.as_deref(),
                args.inventory.as_deref(),
            )
            .await?;
            println!(
                "metadata imported: {} media, {} inventory rows",
                imported.media, imported.inventory
            );
            Ok(())
        }
        LogsCommand::Failed(args) => {
            let org = organization(&db, &args.org).await?;
            let source = args
                .source
                .as_deref()
                .map(|url| Source::open_with(url, s3))
                .transpose()?
                .map(|s| s.url);
            let files = adpool_logs::problem_files(&db, org, source.as_deref()).await?;
            if files.is_empty() {
                println!("no failed or quarantined files");
            }
            for f in files {
                let line = f.line.map(|l| format!(" line {l}")).unwrap_or_default();
                println!(
                    "{}\t{}\t{}{line}\t{} (attempts {})",
                    f.state, f.source, f.key, f.error, f.attempts
                );
            }
            Ok(())
        }
        LogsCommand::Retry(args) => {
            let org = organization(&db, &args.org).await?;
            let source = Source::open_with(&args.source, s3)?;
            let n = adpool_logs::requeue(&db, org, &source.url, &args.keys).await?;
            println!("{n} file(s) queued again");
            run_analyze(&db, org, &source, 10, None).await
        }
    }
}

async fn run_analyze(
    db: &Db,
    org: adpool_accounts::OrgId,
    source: &Source,
    batch_size: usize,
    workers: Option<usize>,
) -> anyhow::Result<()> {
    if batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let mut options = AnalyzeOptions {
        batch_size,
        ..AnalyzeOptions::default()
    };
    if let Some(workers) = workers {
        options.workers = workers.max(1);
    }
    let progress = bar("log files");
    let summary = adpool_logs::analyze(db, &clock(), org, source, options, &mut |done, total| {
        progress.set_length(total);
        progress.set_position(done);
    })
    .await?;
    progress.finish_and_clear();
    println!(
        "{}: {} file(s) listed; {} done, {} skipped, {} quarantined, {} failed; {} events ({:.0} events/s, {:.2} s)",
        source.url,
        summary.listed,
        summary.done,
        summary.skipped.len(),
        summary.quarantined.len(),
        summary.failed.len(),
        summary.events,
        summary.events_per_second(),
        summary.seconds
    );
    for key in &summary.skipped {
        println!("skipped (not a log file): {key}");
    }
    for (key, line, reason) in &summary.quarantined {
        println!("quarantined: {key} line {line}: {reason}");
    }
    for (key, error) in &summary.failed {
        println!("failed: {key}: {error}");
    }
    if !summary.unknown_media.is_empty() {
        println!(
            "unknown media keys (counted as organization 0, share 0): {}",
            summary.unknown_media.join(", ")
        );
    }
    if !summary.unknown_inventory.is_empty() {
        let ids: Vec<String> = summary
            .unknown_inventory
            .iter()
            .map(ToString::to_string)
            .collect();
        println!("unknown inventory ids: {}", ids.join(", "));
    }
    if !summary.failed.is_empty() {
        bail!(
            "{} file(s) could not be read; `adpool logs retry --source {}` tries them again",
            summary.failed.len(),
            source.url
        );
    }
    Ok(())
}

/// Runs `report export`.
pub async fn export(db: Db, args: ExportArgs) -> anyhow::Result<()> {
    let report = Report::parse(&args.report).with_context(|| {
        format!(
            "'{}' is not a report: ad-performance, ad-request, demand or media",
            args.report
        )
    })?;
    for (flag, date) in [("--from", &args.from), ("--to", &args.to)] {
        if let Some(d) = date
            && d.parse::<adpool_core::BusinessDate>().is_err()
        {
            bail!("{flag}: '{d}' is not a date (YYYY-MM-DD)");
        }
    }
    let org = organization(&db, &args.org).await?;
    let rows = adpool_logs::rows(
        &db,
        org,
        report,
        args.from.as_deref().unwrap_or("0000-00-00"),
        args.to.as_deref().unwrap_or("9999-99-99"),
    )
    .await?;
    let bytes = match args.format.as_str() {
        "csv" => adpool_logs::to_csv(report, &rows).into_bytes(),
        "json" => serde_json::to_vec_pretty(&adpool_logs::to_json(report, &rows))?,
        "xlsx" => {
            if args.output.is_none() {
                bail!("xlsx needs -o FILE");
            }
            adpool_logs::to_xlsx(report, &rows)?
        }
        other => bail!("--format: '{other}' is not csv, xlsx or json"),
    };
    match args.output {
        Some(path) => {
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("{} rows written to {}", rows.len(), path.display());
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(())
}
