//! `adpool-logs`: ad-log analytics (DOMAIN.md section B).
//!
//! It owns the parsing of log lines (strict, with device and app classes and exact milli-won),
//! the reading of plain, gzip and zstd JSON-lines objects, the enrichment from media and
//! inventory metadata, and the additive aggregation into the four reports (ad performance, ad
//! request, demand, media). Every measure is an integer sum, so aggregates merge in any order.
//! It has no HTTP in it.

pub mod aggregate;
pub mod decode;
pub mod line;

pub use aggregate::{Aggregates, InventoryInfo, MediaInfo, Metadata, split_revenue};
pub use decode::{Compression, LineError, for_each_line};
pub use line::{App, Device, EventKind, LogLine, parse_line};

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
        aggregates.add(&line, metadata);
        Ok(())
    })?;
    Ok(aggregates)
}
