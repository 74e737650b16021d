//! `adpool-insight`: spending insight (DOMAIN.md section D).
//!
//! It owns uploaded transaction histories and what is made of them: statements read in any
//! encoding and layout ([`statement`]: the known Korean card layouts, saved column mappings,
//! totals rows, cancellations, installments, every rejected line with its reason), duplicates
//! found by content hash plus occurrence number (a real repeat purchase survives a re-upload),
//! categories from the organization's rules, a built-in dictionary of Korean merchants and the
//! statement's industry column ([`categories`]), analyses with RFM segments run as jobs
//! ([`analysis`], [`AnalyzeHandler`]), and marketing messages written by an OpenAI-compatible
//! endpoint or the built-in writer, always fitted to their channel ([`messages`], [`llm`]).
//! It has no web: the web crate adapts [`Insight`].
//!
//! ```
//! use adpool_insight::statement::parse_amount;
//! assert_eq!(parse_amount("12,300원"), Some(12_300));
//! ```

pub mod analysis;
pub mod categories;
mod error;
mod jobs;
pub mod llm;
pub mod messages;
mod service;
pub mod statement;

pub use error::InsightError;
pub use jobs::AnalyzeHandler;
pub use service::{
    ANALYZE_JOB, Analysis, ImportSummary, Insight, Message, Rule, SampleLine, SavedMapping,
    ShopPurchase, Source, Transaction, Upload,
};
