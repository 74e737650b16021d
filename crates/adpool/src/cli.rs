//! The command line.

use std::path::PathBuf;

use adpool_accounts::{Accounts, NewUser, Role};
use adpool_core::SystemClock;
use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::server;

/// adpool: forecast-pool inventory, ad-log analytics, shop ETL, spending insight and CPC
/// sponsored ads in one binary.
#[derive(Debug, Parser)]
#[command(
    name = "adpool",
    version,
    about = "adpool: forecast-pool inventory, ad-log analytics, shop ETL, spending insight and CPC sponsored ads in one binary"
)]
pub struct Cli {
    /// Configuration file (default: ./adpool.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH (default ./adpool-data/adpool.db) or postgres://USER@HOST/DB.
    #[arg(
        long,
        global = true,
        env = "ADPOOL_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server, the job worker and the scheduler.
    Serve(ServeArgs),
    /// Rebuild the demo database (./adpool-data/demo.db), fill it with demo data and serve it.
    Demo(DemoArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Write a consistent copy of the SQLite database while adpool keeps running.
    Backup(BackupArgs),
    /// Replace the SQLite database with a backup (stop adpool first).
    Restore(RestoreArgs),
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Import or export the inventory catalog (media, programs, products, targeting groups).
    Catalog {
        #[command(subcommand)]
        command: crate::inventory_cli::CatalogCommand,
    },
    /// Book, show and cancel campaign purchases.
    Purchase {
        #[command(subcommand)]
        command: crate::inventory_cli::PurchaseCommand,
    },
    /// Write a campaign's proposal workbook (MediaMix, CurationTargeting).
    Proposal(crate::inventory_cli::ProposalArgs),
    /// Import vendor forecasts.
    Forecast {
        #[command(subcommand)]
        command: crate::inventory_cli::ForecastCommand,
    },
    /// Build, confirm and export forecast-pool inventory.
    Inventory {
        #[command(subcommand)]
        command: crate::inventory_cli::InventoryCommand,
    },
    /// Ad-log analytics: analyze log files, metadata, failed files.
    Logs {
        #[command(subcommand)]
        command: crate::logs_cli::LogsCommand,
    },
    /// Reports of the ad-log analytics.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// CPC sponsored ads: verify the prepaid ledger, write daily settlements.
    Ads {
        #[command(subcommand)]
        command: crate::ads_cli::AdsCommand,
    },
    /// Shop data: stores, Ably export imports, sales.
    Shop {
        #[command(subcommand)]
        command: crate::shop_cli::ShopCommand,
    },
    /// Spending insight: statements, mappings, analyses, marketing messages.
    Insight {
        #[command(subcommand)]
        command: crate::insight_cli::InsightCommand,
    },
}

/// `adpool backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to write (default: ./adpool-data/backups/adpool-YYYYMMDD-HHMMSS.db).
    #[arg(long, value_name = "FILE")]
    pub to: Option<PathBuf>,
}

/// `adpool restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file to restore.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
}

/// `adpool report` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Write a report as CSV (money with 3 decimals, ratios with 6, rows sorted), XLSX or JSON.
    Export(crate::logs_cli::ExportArgs),
}

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// What this process does: `api` (web, API, ad serving), `worker` (jobs, schedules, event
    /// consumers, ranking builds) or `all`.
    #[arg(long, value_enum, default_value = "all")]
    pub role: crate::server::Role,
}

/// Options of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Build the demo database and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
}

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (and its organization when it does not exist yet).
    Create(CreateUserArgs),
    /// Create an API token acting as a user and print its secret (shown once).
    Token(CreateTokenArgs),
}

/// Options of `user token`.
#[derive(Debug, Args)]
pub struct CreateTokenArgs {
    /// The user's login email.
    #[arg(long)]
    pub email: String,
    /// The user's organization name.
    #[arg(long)]
    pub org: String,
    /// What the token is for (shown on Admin → API tokens).
    #[arg(long, default_value = "cli")]
    pub name: String,
}

/// Options of `user create`.
#[derive(Debug, Args)]
pub struct CreateUserArgs {
    /// Login email.
    #[arg(long)]
    pub email: String,
    /// Organization name; created when missing.
    #[arg(long)]
    pub org: String,
    /// Role: admin, operator, advertiser or analyst.
    #[arg(long, default_value = "admin", value_parser = ["admin", "operator", "advertiser", "analyst"])]
    pub role: String,
    /// Display name (default: the part of the email before @).
    #[arg(long)]
    pub name: Option<String>,
    /// Password; read from ADPOOL_NEW_PASSWORD when omitted (never pass secrets on shared machines' command lines).
    #[arg(long, env = "ADPOOL_NEW_PASSWORD", hide_env_values = true)]
    pub password: String,
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = Config::load(cli.config.as_deref(), &|key| std::env::var(key).ok())?;
    if let Some(url) = &cli.database_url {
        config.database_url = url.clone();
    }
    Ok(config)
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = load_config(&cli)?;
    server::init_tracing(&config.log);
    match cli.command {
        Command::Serve(args) => {
            if let Some(bind) = args.bind {
                config.bind = bind;
            }
            let db = server::open_database(&config.database_url).await?;
            server::serve_with(config, db, None, args.role, |_| {}).await
        }
        Command::Demo(args) => {
            if let Some(bind) = args.bind {
                config.bind = bind;
            }
            crate::demo::run(config, args.no_serve).await
        }
        Command::Migrate => {
            let db = server::connect(&config.database_url).await?;
            let applied = db.migrate().await.context("migrating")?;
            let version = db.schema_version().await?;
            println!(
                "{} migration(s) applied; {} is at schema version {version}",
                applied.len(),
                db.display_url()
            );
            Ok(())
        }
        Command::Backup(args) => {
            let db = server::open_database(&config.database_url).await?;
            let to = args.to.unwrap_or_else(|| {
                let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
                PathBuf::from(format!("./adpool-data/backups/adpool-{stamp}.db"))
            });
            let file = db.backup_to(&to).await?;
            println!(
                "backed up {} to {} ({} bytes, schema version {})",
                db.display_url(),
                file.path.display(),
                file.bytes,
                file.schema_version
            );
            Ok(())
        }
        Command::Restore(args) => {
            let now = adpool_core::Clock::now_millis(&SystemClock);
            let (file, kept) =
                adpool_store::restore_sqlite(&config.database_url, &args.from, now).await?;
            println!(
                "restored {} into {} (schema version {})",
                args.from.display(),
                file.path.display(),
                file.schema_version
            );
            if let Some(kept) = kept {
                println!("the database it replaced is kept as {}", kept.display());
            }
            // Newer migrations, if the backup is older than this binary, apply at once.
            let db = server::open_database(&config.database_url).await?;
            println!(
                "{} is at schema version {}",
                db.display_url(),
                db.schema_version().await?
            );
            Ok(())
        }
        Command::Catalog { command } => {
            let db = server::open_database(&config.database_url).await?;
            crate::inventory_cli::catalog(db, command).await
        }
        Command::Purchase { command } => {
            let db = server::open_database(&config.database_url).await?;
            crate::inventory_cli::purchase(db, command).await
        }
        Command::Proposal(args) => {
            let db = server::open_database(&config.database_url).await?;
            crate::inventory_cli::proposal(db, args).await
        }
        Command::Forecast { command } => {
            let db = server::open_database(&config.database_url).await?;
            crate::inventory_cli::forecast(db, command).await
        }
        Command::Inventory { command } => {
            let db = server::open_database(&config.database_url).await?;
            crate::inventory_cli::inventory(db, command).await
        }
        Command::Logs { command } => {
            let db = server::open_database(&config.database_url).await?;
            crate::logs_cli::logs(db, &config.s3, command).await
        }
        Command::Report {
            command: ReportCommand::Export(args),
        } => {
            let db = server::open_database(&config.database_url).await?;
            crate::logs_cli::export(db, args).await
        }
        Command::Ads { command } => {
            let db = server::open_database(&config.database_url).await?;
            crate::ads_cli::ads(db, &config.scale_out, command).await
        }
        Command::Shop { command } => {
            let db = server::open_database(&config.database_url).await?;
            crate::shop_cli::shop(db, &config, command).await
        }
        Command::Insight { command } => {
            let db = server::open_database(&config.database_url).await?;
            crate::insight_cli::insight(db, &config, command).await
        }
        Command::User {
            command: UserCommand::Create(args),
        } => {
            let db = server::open_database(&config.database_url).await?;
            let accounts = Accounts::new(db, std::sync::Arc::new(SystemClock));
            let org = match accounts.organization_by_name(&args.org).await? {
                Some(org) => org,
                None => accounts.create_organization(&args.org).await?,
            };
            let role = Role::parse(&args.role)?;
            let name = args
                .name
                .unwrap_or_else(|| args.email.split('@').next().unwrap_or_default().to_owned());
            let user = accounts
                .create_user(NewUser {
                    org_id: org.id,
                    email: args.email,
                    display_name: name,
                    role,
                    password: args.password,
                })
                .await?;
            println!(
                "created {} user {} (id {}) in organization {} (id {})",
                user.role, user.email, user.id, org.name, org.id
            );
            Ok(())
        }
        Command::User {
            command: UserCommand::Token(args),
        } => {
            let db = server::open_database(&config.database_url).await?;
            let accounts = Accounts::new(db, std::sync::Arc::new(SystemClock));
            let Some(org) = accounts.organization_by_name(&args.org).await? else {
                anyhow::bail!("no organization named {:?}", args.org);
            };
            let email = args.email.trim().to_lowercase();
            let Some(user) = accounts
                .users(org.id)
                .await?
                .into_iter()
                .find(|user| user.email.to_lowercase() == email)
            else {
                anyhow::bail!("no user {:?} in organization {:?}", args.email, org.name);
            };
            let token = accounts
                .create_api_token(org.id, user.id, &args.name)
                .await?;
            eprintln!(
                "API token {:?} created for {} in {}; it is shown once:",
                token.token.name, user.email, org.name
            );
            println!("{}", token.secret);
            Ok(())
        }
    }
}
