//! `adpool forecast ...` and `adpool inventory ...`: the forecast-pool pipeline from a shell,
//! with progress bars and one summary line at the end.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use adpool_accounts::{Accounts, OrgId};
use adpool_core::SystemClock;
use adpool_inventory::{ExportLevel, Inventory, InventoryError, Month, Progress};
use adpool_store::Db;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

/// `adpool forecast` subcommands.
#[derive(Debug, Subcommand)]
pub enum ForecastCommand {
    /// Import a vendor forecast (.csv or .xlsx with header media,meta_id,part,date,hour,impressions).
    Import(ImportArgs),
}

/// Options of `forecast import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The forecast file.
    pub file: PathBuf,
    #[command(flatten)]
    pub org: OrgArg,
}

/// Which organization's inventory (default: the only one there is).
#[derive(Debug, Args)]
pub struct OrgArg {
    /// Organization name; may be omitted when the database has exactly one.
    #[arg(long, value_name = "NAME")]
    pub org: Option<String>,
}

/// `adpool catalog` subcommands.
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Add or change catalog entries from a JSON document (schema: docs/catalog.md).
    Import(CatalogImportArgs),
    /// Print the whole catalog as a JSON document (the same schema).
    Export(CatalogExportArgs),
}

/// Options of `catalog import`.
#[derive(Debug, Args)]
pub struct CatalogImportArgs {
    /// The JSON document.
    pub file: PathBuf,
    #[command(flatten)]
    pub org: OrgArg,
}

/// Options of `catalog export`.
#[derive(Debug, Args)]
pub struct CatalogExportArgs {
    #[command(flatten)]
    pub org: OrgArg,
}

/// `adpool catalog ...`.
pub async fn catalog(db: Db, command: CatalogCommand) -> anyhow::Result<()> {
    let inventory = Inventory::new(db.clone(), Arc::new(SystemClock));
    match command {
        CatalogCommand::Import(args) => {
            let org = organization(&db, &args.org).await?;
            let text = std::fs::read_to_string(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?;
            let document: adpool_inventory::CatalogDocument = serde_json::from_str(&text)
                .with_context(|| {
                    format!(
                        "{} is not a catalog document (docs/catalog.md)",
                        args.file.display()
                    )
                })?;
            let summary = match inventory.apply_catalog(org, &document).await {
                Ok(summary) => summary,
                Err(InventoryError::Catalog { problems }) => {
                    for problem in &problems {
                        eprintln!("{}: {problem}", args.file.display());
                    }
                    bail!(
                        "{}: {} problem(s); the catalog was not changed",
                        args.file.display(),
                        problems.len()
                    );
                }
                Err(other) => return Err(other.into()),
            };
            say(format!(
                "catalog updated from {}: {} content owners, {} media, {} meta_ids, {} part mappings, {} products, {} targeting groups",
                args.file.display(),
                summary.content_owners,
                summary.media,
                summary.meta_ids,
                summary.part_platforms,
                summary.products,
                summary.targeting_groups
            ))?;
        }
        CatalogCommand::Export(args) => {
            let org = organization(&db, &args.org).await?;
            say(serde_json::to_string_pretty(
                &inventory.catalog(org).await?,
            )?)?;
        }
    }
    Ok(())
}

/// `adpool purchase` subcommands.
#[derive(Debug, Subcommand)]
pub enum PurchaseCommand {
    /// Book a purchase from a JSON request (docs/purchases.md) and print its result tree.
    Apply(PurchaseApplyArgs),
    /// Cancel a booking, releasing exactly what it reserved.
    Cancel(BookingArgs),
    /// Print a booking's result tree.
    Show(BookingArgs),
}

/// Options of `purchase apply`.
#[derive(Debug, Args)]
pub struct PurchaseApplyArgs {
    /// The purchase request.
    pub file: PathBuf,
    /// Override the request's policy.
    #[arg(long, value_parser = ["all-or-nothing", "partial"])]
    pub policy: Option<String>,
    /// Compute and print the tree; reserve nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the tree as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub org: OrgArg,
}

/// A booking id.
#[derive(Debug, Args)]
pub struct BookingArgs {
    /// The booking id.
    pub id: i64,
    #[command(flatten)]
    pub org: OrgArg,
}

/// The result tree, indented: purchase -> platform -> group -> CO -> days (a week per line).
pub fn render_tree(result: &adpool_inventory::PurchaseResult) -> String {
    use adpool_core::{Won, group_thousands};
    let n = |v: i64| group_thousands(v.unsigned_abs());
    let short = |s: i64| {
        if s > 0 {
            format!("  SHORT {}", n(s))
        } else {
            String::new()
        }
    };
    let mut out = format!(
        "purchase {} {} · {}..{} · {} · {} impressions{}\n",
        result.product,
        Won::new(result.amount),
        result.start,
        result.end,
        result.policy.as_str(),
        n(result.impressions),
        short(result.shortage)
    );
    for platform in &result.platforms {
        out.push_str(&format!(
            "  {} {} (CPM {}) {} imp{}\n",
            platform.platform,
            Won::new(platform.amount),
            Won::new(platform.cpm),
            n(platform.impressions),
            short(platform.shortage)
        ));
        for group in &platform.groups {
            out.push_str(&format!(
                "    {} {} {}% {} {} imp{}\n",
                group.code,
                group.name,
                group.weight_bp as f64 / 100.0,
                Won::new(group.amount),
                n(group.impressions),
                short(group.shortage)
            ));
            for co in &group.content_owners {
                let mark = if co.fits { "ok" } else { "--" };
                out.push_str(&format!(
                    "      [{mark}] {} {}% {} {} imp{}\n",
                    co.code,
                    co.ratio_bp as f64 / 100.0,
                    Won::new(co.amount),
                    n(co.impressions),
                    short(co.shortage)
                ));
                for week in co.days.chunks(7) {
                    let days: Vec<String> = week
                        .iter()
                        .map(|d| {
                            format!(
                                "{} {}",
                                d.date.get(5..).unwrap_or(&d.date),
                                n(d.impressions)
                            )
                        })
                        .collect();
                    out.push_str(&format!("          {}\n", days.join(" · ")));
                }
            }
        }
    }
    let verdict = match (result.committed, result.dry_run) {
        (true, _) => format!(
            "booked as #{}: {} impressions reserved",
            result.booking_id.unwrap_or_default(),
            n(result.booked)
        ),
        (false, true)
            if result.shortage > 0 && result.policy == adpool_inventory::Policy::AllOrNothing =>
        {
            format!(
                "dry run: {} impressions short, so all-or-nothing would book nothing; nothing was reserved",
                n(result.shortage)
            )
        }
        (false, true) => format!(
            "dry run: {} impressions would be reserved{}; nothing was reserved",
            n(result.booked),
            if result.shortage > 0 {
                format!(" ({} short)", n(result.shortage))
            } else {
                String::new()
            }
        ),
        (false, false) => format!(
            "not booked: {} impressions short; nothing was reserved",
            n(result.shortage)
        ),
    };
    out.push_str(&verdict);
    out
}

/// `adpool purchase ...`.
pub async fn purchase(db: Db, command: PurchaseCommand) -> anyhow::Result<()> {
    let inventory = Inventory::new(db.clone(), Arc::new(SystemClock));
    match command {
        PurchaseCommand::Apply(args) => {
            let org = organization(&db, &args.org).await?;
            let text = std::fs::read_to_string(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?;
            let mut request: adpool_inventory::PurchaseRequest = serde_json::from_str(&text)
                .with_context(|| {
                    format!(
                        "{} is not a purchase request (docs/purchases.md)",
                        args.file.display()
                    )
                })?;
            if let Some(policy) = &args.policy {
                request.policy = if policy == "partial" {
                    adpool_inventory::Policy::Partial
                } else {
                    adpool_inventory::Policy::AllOrNothing
                };
            }
            let result = match inventory.purchase(org, &request, args.dry_run, None).await {
                Ok(result) => result,
                Err(InventoryError::PurchaseRefused { problems }) => {
                    for problem in &problems {
                        eprintln!("{}: {problem}", args.file.display());
                    }
                    bail!(
                        "{}: {} problem(s); nothing was reserved",
                        args.file.display(),
                        problems.len()
                    );
                }
                Err(other) => return Err(other.into()),
            };
            say(if args.json {
                serde_json::to_string_pretty(&result)?
            } else {
                render_tree(&result)
            })?;
            if !result.committed && !result.dry_run {
                bail!(
                    "the purchase was not booked ({} impressions short); nothing was reserved",
                    result.shortage
                );
            }
        }
        PurchaseCommand::Cancel(args) => {
            let org = organization(&db, &args.org).await?;
            let released = inventory.cancel_booking(org, args.id).await?;
            say(format!(
                "booking #{} cancelled: {released} impressions released",
                args.id
            ))?;
        }
        PurchaseCommand::Show(args) => {
            let org = organization(&db, &args.org).await?;
            let (result, state) = inventory.booking(org, args.id).await?;
            say(format!(
                "booking #{} ({state})\n{}",
                args.id,
                render_tree(&result)
            ))?;
        }
    }
    Ok(())
}

/// `adpool inventory` subcommands.
#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Build a month's standard inventory from the forecast.
    BuildStandard(MonthArgs),
    /// Confirm a month's standard inventory (required before the unit build).
    Confirm(MonthArgs),
    /// Build a confirmed month's daily unit inventory.
    BuildUnit(MonthArgs),
    /// Export standard or unit inventory as CSV or XLSX.
    Export(ExportArgs),
}

/// A month and an organization.
#[derive(Debug, Args)]
pub struct MonthArgs {
    /// The month, YYYY-MM.
    #[arg(long, value_name = "YYYY-MM")]
    pub month: String,
    #[command(flatten)]
    pub org: OrgArg,
}

/// Options of `inventory export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// standard or unit.
    #[arg(long, value_parser = ["standard", "unit"])]
    pub level: String,
    /// The month, YYYY-MM.
    #[arg(long, value_name = "YYYY-MM")]
    pub month: String,
    /// csv (default) or xlsx.
    #[arg(long, default_value = "csv", value_parser = ["csv", "xlsx"])]
    pub format: String,
    /// Output file (default: standard output).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub org: OrgArg,
}

pub(crate) async fn organization(db: &Db, arg: &OrgArg) -> anyhow::Result<OrgId> {
    let accounts = Accounts::new(db.clone(), Arc::new(SystemClock));
    if let Some(name) = &arg.org {
        return Ok(accounts
            .organization_by_name(name)
            .await?
            .with_context(|| format!("no organization named '{name}'"))?
            .id);
    }
    match accounts.all_organizations().await?.as_slice() {
        [only] => Ok(only.id),
        [] => bail!(
            "there is no organization yet: create one with `adpool user create --org NAME ...`"
        ),
        many => {
            let names: Vec<&str> = many.iter().map(|o| o.name.as_str()).collect();
            bail!(
                "several organizations exist; choose one with --org ({})",
                names.join(", ")
            )
        }
    }
}

pub(crate) fn bar(message: &str) -> ProgressBar {
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {human_pos}/{human_len} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn track(bar: &ProgressBar) -> impl FnMut(Progress) + Send + '_ {
    move |progress: Progress| {
        if let Some(total) = progress.total {
            bar.set_length(total);
        }
        bar.set_position(progress.done);
    }
}

/// Writes to standard output; a closed pipe (`| head`) ends the output quietly instead of
/// panicking the way `println!` does.
fn say(text: impl AsRef<str>) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out
        .write_all(text.as_ref().as_bytes())
        .and_then(|()| out.write_all(b"\n"))
    {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(error).context("writing to standard output")
        }
        _ => Ok(()),
    }
}

/// Prints a rejected file's errors, one per line, then fails with the summary.
fn explain(error: InventoryError) -> anyhow::Error {
    if let InventoryError::Rows {
        file,
        errors,
        total,
    } = &error
    {
        for row_error in errors {
            eprintln!("{file}: {row_error}");
        }
        if *total > errors.len() as u64 {
            eprintln!("{file}: ... and {} more", *total - errors.len() as u64);
        }
        return anyhow::anyhow!("{file}: {total} invalid value(s); nothing was imported");
    }
    error.into()
}

/// `adpool forecast import`.
pub async fn forecast(db: Db, command: ForecastCommand) -> anyhow::Result<()> {
    let ForecastCommand::Import(args) = command;
    let org = organization(&db, &args.org).await?;
    let inventory = Inventory::new(db, Arc::new(SystemClock));
    let progress = bar("importing rows");
    let summary = inventory
        .import_forecast_file(org, &args.file, &mut track(&progress))
        .await
        .map_err(explain);
    progress.finish_and_clear();
    let summary = summary?;
    say(format!(
        "imported {} rows from {} in {:.1} s ({} rows/s): media {}; months {}; {} new media, {} new meta_ids",
        summary.rows,
        summary.file,
        summary.elapsed_ms as f64 / 1000.0,
        summary.rows * 1000 / summary.elapsed_ms.max(1),
        summary.media.join(", "),
        summary.months.join(", "),
        summary.new_media.len(),
        summary.new_meta_ids.len(),
    ))?;
    if !summary.new_meta_ids.is_empty() {
        let shown: Vec<&str> = summary
            .new_meta_ids
            .iter()
            .take(20)
            .map(String::as_str)
            .collect();
        let more = summary.new_meta_ids.len().saturating_sub(shown.len());
        say(format!(
            "new meta_ids: {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" ... and {more} more")
            } else {
                String::new()
            }
        ))?;
    }
    Ok(())
}

/// `adpool inventory ...`.
pub async fn inventory(db: Db, command: InventoryCommand) -> anyhow::Result<()> {
    let inventory = Inventory::new(db.clone(), Arc::new(SystemClock));
    let holder = format!("cli (pid {})", std::process::id());
    match command {
        InventoryCommand::BuildStandard(args) => {
            let (org, month) = (
                organization(&db, &args.org).await?,
                args.month.parse::<Month>()?,
            );
            let progress = bar("building standard inventory");
            let build = inventory
                .build_standard(org, month, &holder, &mut track(&progress))
                .await;
            progress.finish_and_clear();
            let build = build?;
            say(format!(
                "standard inventory {month}: {} rows ({} new, {} changed, {} removed) in {:.1} s{}",
                build.rows,
                build.created,
                build.updated,
                build.removed,
                build.elapsed_ms as f64 / 1000.0,
                if build.unconfirmed {
                    "; the month changed and must be confirmed again"
                } else {
                    ""
                }
            ))?;
        }
        InventoryCommand::Confirm(args) => {
            let (org, month) = (
                organization(&db, &args.org).await?,
                args.month.parse::<Month>()?,
            );
            inventory.confirm_month(org, month, None).await?;
            say(format!(
                "{month} confirmed; build its unit inventory with `adpool inventory build-unit --month {month}`"
            ))?;
        }
        InventoryCommand::BuildUnit(args) => {
            let (org, month) = (
                organization(&db, &args.org).await?,
                args.month.parse::<Month>()?,
            );
            let progress = bar("building unit inventory");
            let build = inventory
                .build_unit(org, month, &holder, &mut track(&progress))
                .await;
            progress.finish_and_clear();
            let build = build?;
            say(format!(
                "unit inventory {month}: {} daily rows from {} standard rows in {:.1} s{}",
                build.unit_rows,
                build.standard_rows,
                build.elapsed_ms as f64 / 1000.0,
                if build.oversold > 0 {
                    format!(
                        "; WARNING: {} day(s) oversold (total below reserved)",
                        build.oversold
                    )
                } else {
                    String::new()
                }
            ))?;
        }
        InventoryCommand::Export(args) => {
            let (org, month) = (
                organization(&db, &args.org).await?,
                args.month.parse::<Month>()?,
            );
            let level = ExportLevel::parse(&args.level)?;
            let mut buffer = Vec::new();
            let rows = if args.format == "xlsx" {
                adpool_inventory::write_xlsx(&inventory, org, level, month, &mut buffer).await?
            } else {
                adpool_inventory::write_csv(&inventory, org, level, month, &mut buffer).await?
            };
            match &args.output {
                Some(path) => {
                    std::fs::write(path, &buffer)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("wrote {rows} rows to {}", path.display());
                }
                None => {
                    use std::io::Write;
                    std::io::stdout()
                        .write_all(&buffer)
                        .context("writing to standard output")?;
                }
            }
        }
    }
    Ok(())
}

/// Options of `proposal`.
#[derive(Debug, Args)]
pub struct ProposalArgs {
    /// The campaign id.
    pub campaign: i64,
    /// Output file.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
    /// Name shown as "prepared by" (default: adpool).
    #[arg(long, default_value = "adpool")]
    pub prepared_by: String,
    #[command(flatten)]
    pub org: OrgArg,
}

/// `adpool proposal CAMPAIGN_ID -o FILE.xlsx`.
pub async fn proposal(db: Db, args: ProposalArgs) -> anyhow::Result<()> {
    let inventory = Inventory::new(db.clone(), Arc::new(SystemClock));
    let org = organization(&db, &args.org).await?;
    let started = std::time::Instant::now();
    let proposal = inventory
        .proposal(org, args.campaign, &args.prepared_by)
        .await
        .map_err(|e| match e {
            adpool_inventory::InventoryError::NotFound => match &args.org.org {
                Some(name) => anyhow::anyhow!("campaign #{} is not in '{name}'", args.campaign),
                None => anyhow::anyhow!("campaign #{} does not exist", args.campaign),
            },
            other => other.into(),
        })?;
    let lines = proposal.lines.len();
    let bytes = adpool_inventory::write_proposal(&proposal)?;
    std::fs::write(&args.output, &bytes)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    say(format!(
        "wrote {} ({lines} line{}, {} KB) in {} ms",
        args.output.display(),
        if lines == 1 { "" } else { "s" },
        bytes.len() / 1024,
        started.elapsed().as_millis()
    ))
}
