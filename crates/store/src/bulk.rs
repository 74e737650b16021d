//! Multi-row upserts: `INSERT ... VALUES (...), (...) ON CONFLICT (keys) DO UPDATE`, many rows
//! per statement, for the importers and aggregators that write thousands of rows at once.

use sqlx::Any;

use crate::{DbTx, Dialect};

/// One cell of a row to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    /// An integer.
    Int(i64),
    /// Text.
    Text(&'a str),
    /// Text or NULL.
    OptText(Option<&'a str>),
    /// An integer or NULL.
    OptInt(Option<i64>),
}

/// What a conflicting row does to the row already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Add the new values to the old (additive aggregates: `m = table.m + excluded.m`).
    Add,
    /// Replace the old values with the new (the newest copy of a record wins).
    Replace,
    /// Keep the old row (`DO NOTHING`): the first copy wins, and only new rows are counted.
    Ignore,
}

/// Writes `rows` (each `keys.len() + values.len()` cells, keys first) into `table`; returns
/// how many rows were inserted or changed (with no `values`, conflicting rows are left alone
/// and not counted: `DO NOTHING`).
pub async fn upsert(
    tx: &mut DbTx,
    dialect: Dialect,
    table: &str,
    keys: &[&str],
    values: &[&str],
    rows: &[Vec<Cell<'_>>],
    on_conflict: OnConflict,
) -> Result<u64, sqlx::Error> {
    let mut written = 0;
    let width = keys.len() + values.len();
    // Full chunks share one cached prepared statement.
    let per_statement = (30_000 / width.max(1)).clamp(1, 500);
    let columns: Vec<&str> = keys.iter().chain(values).copied().collect();
    let updates: Vec<String> = values
        .iter()
        .filter_map(|m| match on_conflict {
            OnConflict::Add => Some(format!("{m} = {table}.{m} + excluded.{m}")),
            OnConflict::Replace => Some(format!("{m} = excluded.{m}")),
            OnConflict::Ignore => None,
        })
        .collect();
    let conflict = if updates.is_empty() {
        "DO NOTHING".to_owned()
    } else {
        format!("DO UPDATE SET {}", updates.join(", "))
    };
    for chunk in rows.chunks(per_statement) {
        let mut sql = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            columns.join(", "),
            dialect.values_rows(chunk.len(), width)
        );
        sql.push_str(&format!(" ON CONFLICT ({}) {conflict}", keys.join(", ")));
        let mut query = sqlx::query::<Any>(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            for cell in row {
                query = match *cell {
                    Cell::Int(v) => query.bind(v),
                    Cell::Text(v) => query.bind(v),
                    Cell::OptText(v) => query.bind(v),
                    Cell::OptInt(v) => query.bind(v),
                };
            }
        }
        written += query.execute(&mut **tx).await?.rows_affected();
    }
    Ok(written)
}
