//! `adpool-logs`: ad-log analytics (DOMAIN.md section B).
//!
//! It owns the parsing of log lines (strict, with device and app classes and exact milli-won),
//! the reading of plain, gzip and zstd JSON-lines objects, the enrichment from media and
//! inventory metadata, and the additive aggregation into the four reports (ad performance, ad
//! request, demand, media). Every measure is an integer sum, so aggregates merge in any order.
//! It also owns the file registry (every object seen per source and its state: new, done,
//! quarantined, failed, skipped), the analyzer's lease, and the additive upsert of each batch
//! together with its files' states in one transaction, so a crash or a rerun never counts a
//! file twice or loses one. It decides which sources an organization may analyze (folders under
//! the roots the deployment allows it, buckets with its own sealed S3 credentials:
//! [`LogSources`]). It has no HTTP in it.

pub mod access;
pub mod aggregate;
pub mod analyzer;
pub mod decode;
mod error;
mod jobs;
pub mod line;
pub mod reports;
pub mod store;

pub use access::{LogSources, S3Credentials, SavedS3Credentials, SourceRules};
pub use aggregate::{Aggregates, InventoryInfo, MediaInfo, Metadata, split_revenue};
pub use analyzer::{AnalyzeOptions, AnalyzeSummary, S3Settings, Source, analyze};
pub use decode::{Compression, LineError, for_each_line};
pub use error::{LogsError, SourceRefusal};
pub use jobs::{ANALYZE_JOB, AnalyzeHandler, analyze_job, schedule_name};
pub use line::{App, Device, EventKind, LogLine, parse_line};
pub use reports::{Cell, Report, format_milli, rows, to_csv, to_json, to_xlsx};
pub use store::{
    FileOutcome, MetadataImport, ProblemFile, file_counts, import_metadata, load_metadata,
    problem_files, requeue, sources,
};

/// Reads one object and aggregates its lines: all or nothing. The first malformed line or a
/// broken stream refuses the whole object, with the line number and the reason.
pub fn aggregate_object(
    bytes: &[u8],
    compression: Compression,
    metadata: &Metadata,
) -> Result<Aggregates, LineError> {
    let mut aggregates = Aggregates::default();
    for_each_line(bytes, compression, |_, text| {
        let line = parse_line(text)?;
        aggregates.add(&line, metadata)
    })?;
    Ok(aggregates)
}
