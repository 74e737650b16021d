//! `adpool`: one binary for ad operations and commerce marketing.
//!
//! This file only parses the command line, loads configuration, starts telemetry and calls one
//! library function per subcommand; errors end as one readable line and a non-zero exit.

mod ads_cli;
mod cli;
mod config;
mod demo;
mod demo_cpc;
mod demo_insight;
mod demo_logs;
mod demo_shops;
mod deployment;
mod insight_cli;
mod inventory_cli;
mod logs_cli;
mod server;
mod shop_cli;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's allocator: importers and aggregators make millions of small
/// strings, and glibc spent a third of a million-line statement import in malloc, free and
/// consolidation (perf; docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("adpool: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line: the context chain joined, e.g. "config file adpool.toml: unknown field `x`".
            eprintln!("adpool: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping a cause its parent's message already says
/// (library errors often include their source in their own message).
fn one_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !parts
            .last()
            .is_some_and(|previous| previous.contains(&text))
        {
            parts.push(text);
        }
    }
    parts.join(": ").replace('\n', " ")
}
