//! The prepaid balance and its append-only ledger: every change of a balance is one entry
//! (top-up, charge, refund, adjustment) written in the same transaction as the balance, with the
//! balance after it. The balance always equals the sum of the entries; [`Serving::verify_ledgers`]
//! checks it for every advertiser.

use adpool_core::{BusinessDate, OrgId, UserId};
use adpool_store::DbTx;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{AdvertiserState, Serving, ServingError};

/// What kind of change an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// Money paid in (positive).
    TopUp,
    /// A click (negative).
    Charge,
    /// A charge given back (positive).
    Refund,
    /// A correction by an admin (either sign).
    Adjustment,
}

impl EntryKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::TopUp => "topup",
            EntryKind::Charge => "charge",
            EntryKind::Refund => "refund",
            EntryKind::Adjustment => "adjustment",
        }
    }

    fn parse(text: &str) -> Result<Self, sqlx::Error> {
        Ok(match text {
            "topup" => EntryKind::TopUp,
            "charge" => EntryKind::Charge,
            "refund" => EntryKind::Refund,
            "adjustment" => EntryKind::Adjustment,
            other => {
                return Err(sqlx::Error::Decode(
                    format!("unknown ledger kind {other}").into(),
                ));
            }
        })
    }
}

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    /// Its id (entries of an advertiser are in id order).
    pub id: i64,
    /// The advertiser.
    pub advertiser_id: i64,
    /// Kind.
    pub kind: EntryKind,
    /// Signed amount in won.
    pub amount: i64,
    /// Balance after the entry.
    pub balance_after: i64,
    /// KST business date.
    pub business_date: String,
    /// The click charged or refunded.
    pub click_id: Option<i64>,
    /// The top-up's idempotency key.
    pub idempotency_key: Option<String>,
    /// Note.
    pub memo: String,
    /// Who recorded it (none for clicks).
    pub created_by: Option<i64>,
    /// When (UTC ms).
    pub created_at: i64,
}

const ENTRY_SELECT: &str = "SELECT id, advertiser_id, kind, amount, balance_after, business_date, click_id, idempotency_key, memo, created_by, created_at FROM cpc_ledger";

impl LedgerEntry {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(LedgerEntry {
            id: row.try_get("id")?,
            advertiser_id: row.try_get("advertiser_id")?,
            kind: EntryKind::parse(&row.try_get::<String, _>("kind")?)?,
            amount: row.try_get("amount")?,
            balance_after: row.try_get("balance_after")?,
            business_date: row.try_get("business_date")?,
            click_id: row.try_get("click_id")?,
            idempotency_key: row.try_get("idempotency_key")?,
            memo: row.try_get("memo")?,
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// What a top-up did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopUpOutcome {
    /// The entry (the earlier one when the key was seen before).
    pub entry: LedgerEntry,
    /// True when the key had been used: nothing changed.
    pub repeated: bool,
}

/// An advertiser whose ledger does not add up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerMismatch {
    /// Organization.
    pub org_id: i64,
    /// Advertiser.
    pub advertiser_id: i64,
    /// The stored balance.
    pub balance: i64,
    /// The sum of the entries.
    pub ledger_sum: i64,
    /// The first entry whose balance_after is not the running sum, if any.
    pub first_broken_entry: Option<i64>,
}

/// One advertiser's statement for one KST day, from the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settlement {
    /// Advertiser.
    pub advertiser_id: i64,
    /// Business name.
    pub business_name: String,
    /// The day.
    pub date: String,
    /// Balance when the day began.
    pub opening_balance: i64,
    /// Top-ups.
    pub top_ups: i64,
    /// Charges (as a positive number).
    pub charges: i64,
    /// Clicks charged.
    pub charged_clicks: i64,
    /// Refunds.
    pub refunds: i64,
    /// Adjustments (signed).
    pub adjustments: i64,
    /// Balance when the day ended.
    pub closing_balance: i64,
    /// The day's entries.
    pub entries: Vec<LedgerEntry>,
}

/// Adds one entry and moves the balance by `amount` in `tx`, refusing (with nothing written)
/// when the balance would go below zero. Returns the entry id and the balance after it.
pub(crate) struct NewEntry<'a> {
    pub org: i64,
    pub advertiser: i64,
    pub kind: EntryKind,
    pub amount: i64,
    pub date: &'a str,
    pub click_id: Option<i64>,
    pub idempotency_key: Option<&'a str>,
    pub memo: &'a str,
    pub created_by: Option<i64>,
    pub now: i64,
}

/// Moves the balance; `None` when it would go below zero (nothing changed).
/// The most one top-up or adjustment moves: 1,000,000,000,000 won.
pub const MAX_ENTRY_WON: i64 = 1_000_000_000_000;
/// The most a balance may hold: 1,000,000,000,000,000 won. With entries bounded too, no sum of
/// concurrent entries comes near `i64` overflow (which SQLite would turn into a float).
pub const MAX_BALANCE_WON: i64 = 1_000_000_000_000_000;

fn within_balance_cap(balance: i64, amount: i64) -> Result<(), ServingError> {
    if balance.saturating_add(amount) > MAX_BALANCE_WON {
        return Err(ServingError::invalid(
            "amount",
            format!("the balance would exceed 1,000,000,000,000,000 won ({balance} + {amount})"),
        ));
    }
    Ok(())
}

pub(crate) async fn move_balance(
    tx: &mut DbTx,
    org: i64,
    advertiser: i64,
    amount: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE cpc_advertisers SET balance = balance + $1 WHERE org_id = $2 AND id = $3 AND balance + $1 >= 0 RETURNING balance",
    )
    .bind(amount)
    .bind(org)
    .bind(advertiser)
    .fetch_optional(&mut **tx)
    .await
}

/// Writes the entry for a balance already moved to `balance_after`.
pub(crate) async fn insert_entry(
    tx: &mut DbTx,
    entry: &NewEntry<'_>,
    balance_after: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO cpc_ledger (org_id, advertiser_id, kind, amount, balance_after, business_date, click_id, idempotency_key, memo, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(entry.org)
    .bind(entry.advertiser)
    .bind(entry.kind.as_str())
    .bind(entry.amount)
    .bind(balance_after)
    .bind(entry.date)
    .bind(entry.click_id)
    .bind(entry.idempotency_key)
    .bind(entry.memo)
    .bind(entry.created_by)
    .bind(entry.now)
    .fetch_one(&mut **tx)
    .await
}

/// Moves the balance and writes the entry; a conflict when the balance would go below zero.
pub(crate) async fn append_entry(
    tx: &mut DbTx,
    entry: &NewEntry<'_>,
) -> Result<LedgerEntry, ServingError> {
    let balance_after = move_balance(tx, entry.org, entry.advertiser, entry.amount)
        .await?
        .ok_or_else(|| {
            ServingError::Conflict(format!(
                "the balance cannot go below zero: {} won would be taken",
                -entry.amount
            ))
        })?;
    let id = insert_entry(tx, entry, balance_after).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{ENTRY_SELECT} WHERE id = $1")))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(LedgerEntry::from_row(&row)?)
}

impl Serving {
    /// Records a payment of `amount` won. The idempotency key is required: a repeat with the same
    /// key (a retried request, a double-clicked button) changes nothing and returns the first
    /// entry; the same key with another amount is refused.
    pub async fn top_up(
        &self,
        org: OrgId,
        advertiser: i64,
        amount: i64,
        idempotency_key: &str,
        memo: &str,
        by: UserId,
    ) -> Result<TopUpOutcome, ServingError> {
        let memo = crate::error::note("memo", memo)?;
        let key = idempotency_key.trim();
        if key.is_empty() || key.len() > 200 {
            return Err(ServingError::invalid(
                "idempotency_key",
                "is required (1 to 200 characters): a retried top-up with the same key is applied once",
            ));
        }
        if amount <= 0 || amount > MAX_ENTRY_WON {
            return Err(ServingError::invalid(
                "amount",
                format!("{amount} won is not a top-up (more than 0, at most 1,000,000,000,000)"),
            ));
        }
        let found = self.advertiser(org, advertiser).await?;
        within_balance_cap(found.balance, amount)?;
        if found.state != AdvertiserState::Approved {
            return Err(ServingError::Conflict(format!(
                "{} is {}: only an approved advertiser can be topped up",
                found.business_name,
                found.state.as_str()
            )));
        }
        let now = self.now();
        let date = BusinessDate::from_utc_millis(now).to_string();
        let mut tx = self.db().begin_write().await?;
        if let Some(earlier) = entry_with_key(&mut tx, advertiser, key).await? {
            return repeated(earlier, amount, key);
        }
        let result = append_entry(
            &mut tx,
            &NewEntry {
                org: org.get(),
                advertiser,
                kind: EntryKind::TopUp,
                amount,
                date: &date,
                click_id: None,
                idempotency_key: Some(key),
                memo,
                created_by: Some(by.get()),
                now,
            },
        )
        .await;
        let entry = match result {
            Ok(entry) => {
                tx.commit().await?;
                entry
            }
            // Two top-ups with one key at the same instant (PostgreSQL): the unique index
            // refused the second; it is a repeat of the first.
            Err(ServingError::Store(error)) if is_unique_violation(&error) => {
                drop(tx);
                let mut tx = self.db().begin().await?;
                let earlier = entry_with_key(&mut tx, advertiser, key)
                    .await?
                    .ok_or(ServingError::Store(error))?;
                return repeated(earlier, amount, key);
            }
            Err(error) => return Err(error),
        };
        self.shared_credit(advertiser, amount).await;
        self.refresh_quietly().await;
        Ok(TopUpOutcome {
            entry,
            repeated: false,
        })
    }

    /// An admin's correction: positive adds, negative takes (never below zero). A memo is
    /// required.
    pub async fn adjust_balance(
        &self,
        org: OrgId,
        advertiser: i64,
        amount: i64,
        memo: &str,
        by: UserId,
    ) -> Result<LedgerEntry, ServingError> {
        if amount == 0 {
            return Err(ServingError::invalid(
                "amount",
                "an adjustment of 0 won changes nothing",
            ));
        }
        if amount.unsigned_abs() > MAX_ENTRY_WON.unsigned_abs() {
            return Err(ServingError::invalid(
                "amount",
                format!(
                    "{amount} won is beyond an adjustment's bound (at most 1,000,000,000,000 either way)"
                ),
            ));
        }
        let memo = crate::error::note("memo", memo)?;
        if memo.is_empty() {
            return Err(ServingError::invalid(
                "memo",
                "say why the balance is adjusted",
            ));
        }
        let found = self.advertiser(org, advertiser).await?;
        within_balance_cap(found.balance, amount)?;
        let now = self.now();
        let date = BusinessDate::from_utc_millis(now).to_string();
        let mut tx = self.db().begin_write().await?;
        let entry = append_entry(
            &mut tx,
            &NewEntry {
                org: org.get(),
                advertiser,
                kind: EntryKind::Adjustment,
                amount,
                date: &date,
                click_id: None,
                idempotency_key: None,
                memo,
                created_by: Some(by.get()),
                now,
            },
        )
        .await?;
        tx.commit().await?;
        self.shared_credit(advertiser, amount).await;
        self.refresh_quietly().await;
        Ok(entry)
    }

    /// Gives a charged click back (a click found invalid later). A click is refunded once.
    pub async fn refund_click(
        &self,
        org: OrgId,
        click: i64,
        memo: &str,
        by: UserId,
    ) -> Result<LedgerEntry, ServingError> {
        let memo = crate::error::note("reason", memo)?;
        let now = self.now();
        let date = BusinessDate::from_utc_millis(now).to_string();
        let mut tx = self.db().begin_write().await?;
        let row = sqlx::query(
            "SELECT advertiser_id, price, refunded_at FROM cpc_clicks WHERE org_id = $1 AND id = $2",
        )
        .bind(org.get())
        .bind(click)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(ServingError::NotFound)?;
        if row.try_get::<Option<i64>, _>("refunded_at")?.is_some() {
            return Err(ServingError::Conflict(format!(
                "click {click} was already refunded"
            )));
        }
        sqlx::query("UPDATE cpc_clicks SET refunded_at = $1 WHERE id = $2")
            .bind(now)
            .bind(click)
            .execute(&mut *tx)
            .await?;
        let (advertiser, price): (i64, i64) =
            (row.try_get("advertiser_id")?, row.try_get("price")?);
        let entry = append_entry(
            &mut tx,
            &NewEntry {
                org: org.get(),
                advertiser,
                kind: EntryKind::Refund,
                amount: price,
                date: &date,
                click_id: Some(click),
                idempotency_key: None,
                memo,
                created_by: Some(by.get()),
                now,
            },
        )
        .await?;
        tx.commit().await?;
        self.shared_credit(advertiser, price).await;
        self.refresh_quietly().await;
        Ok(entry)
    }

    /// An advertiser's entries, newest first (at most `limit`).
    pub async fn ledger(
        &self,
        org: OrgId,
        advertiser: i64,
        limit: i64,
    ) -> Result<Vec<LedgerEntry>, ServingError> {
        self.advertiser(org, advertiser).await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ENTRY_SELECT} WHERE org_id = $1 AND advertiser_id = $2 ORDER BY id DESC LIMIT $3"
        )))
        .bind(org.get())
        .bind(advertiser)
        .bind(limit.clamp(1, 10_000))
        .fetch_all(self.db().pool())
        .await?;
        Ok(rows
            .iter()
            .map(LedgerEntry::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Checks every advertiser of every organization: the balance equals the sum of its entries
    /// and every entry's balance_after is the running sum. Returns the ones that do not.
    pub async fn verify_ledgers(&self) -> Result<(u64, Vec<LedgerMismatch>), ServingError> {
        let advertisers =
            sqlx::query("SELECT id, org_id, balance FROM cpc_advertisers ORDER BY id")
                .fetch_all(self.db().pool())
                .await?;
        let mut mismatches = Vec::new();
        for advertiser in &advertisers {
            let id: i64 = advertiser.try_get("id")?;
            let balance: i64 = advertiser.try_get("balance")?;
            let entries = sqlx::query(
                "SELECT id, amount, balance_after FROM cpc_ledger WHERE advertiser_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(self.db().pool())
            .await?;
            let mut running = 0i64;
            let mut first_broken_entry = None;
            for entry in &entries {
                running += entry.try_get::<i64, _>("amount")?;
                if first_broken_entry.is_none()
                    && entry.try_get::<i64, _>("balance_after")? != running
                {
                    first_broken_entry = Some(entry.try_get("id")?);
                }
            }
            if running != balance || first_broken_entry.is_some() {
                mismatches.push(LedgerMismatch {
                    org_id: advertiser.try_get("org_id")?,
                    advertiser_id: id,
                    balance,
                    ledger_sum: running,
                    first_broken_entry,
                });
            }
        }
        Ok((advertisers.len() as u64, mismatches))
    }

    /// The statement of one advertiser for one KST day.
    pub async fn settlement(
        &self,
        org: OrgId,
        advertiser: i64,
        date: BusinessDate,
    ) -> Result<Settlement, ServingError> {
        let found = self.advertiser(org, advertiser).await?;
        let day = date.to_string();
        let opening_balance: i64 = sqlx::query_scalar(
            "SELECT balance_after FROM cpc_ledger WHERE advertiser_id = $1 AND business_date < $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(advertiser)
        .bind(&day)
        .fetch_optional(self.db().pool())
        .await?
        .unwrap_or(0);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ENTRY_SELECT} WHERE advertiser_id = $1 AND business_date = $2 ORDER BY id"
        )))
        .bind(advertiser)
        .bind(&day)
        .fetch_all(self.db().pool())
        .await?;
        let entries: Vec<LedgerEntry> = rows
            .iter()
            .map(LedgerEntry::from_row)
            .collect::<Result<_, _>>()?;
        let sum = |kind: EntryKind| -> i64 {
            entries
                .iter()
                .filter(|e| e.kind == kind)
                .map(|e| e.amount)
                .sum()
        };
        Ok(Settlement {
            advertiser_id: advertiser,
            business_name: found.business_name,
            date: day,
            opening_balance,
            top_ups: sum(EntryKind::TopUp),
            charges: -sum(EntryKind::Charge),
            charged_clicks: entries
                .iter()
                .filter(|e| e.kind == EntryKind::Charge)
                .count() as i64,
            refunds: sum(EntryKind::Refund),
            adjustments: sum(EntryKind::Adjustment),
            closing_balance: entries.last().map_or(opening_balance, |e| e.balance_after),
            entries,
        })
    }

    /// Every advertiser's statement for one day (advertisers with a balance or activity).
    pub async fn settlements(
        &self,
        org: OrgId,
        date: BusinessDate,
    ) -> Result<Vec<Settlement>, ServingError> {
        let mut statements = Vec::new();
        for advertiser in self
            .advertisers(org, Some(AdvertiserState::Approved))
            .await?
        {
            let statement = self.settlement(org, advertiser.id, date).await?;
            if statement.opening_balance != 0 || !statement.entries.is_empty() {
                statements.push(statement);
            }
        }
        statements.sort_by_key(|s| s.advertiser_id);
        Ok(statements)
    }
}

/// The settlement as CSV: one row per entry, then a summary row.
pub fn settlement_csv(statement: &Settlement) -> String {
    let mut out = String::from(
        "date,advertiser_id,entry_id,kind,amount,balance_after,click_id,memo,created_at_utc_ms\n",
    );
    for e in &statement.entries {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            statement.date,
            statement.advertiser_id,
            e.id,
            e.kind.as_str(),
            e.amount,
            e.balance_after,
            e.click_id.map(|c| c.to_string()).unwrap_or_default(),
            adpool_core::csv_text(&e.memo),
            e.created_at
        ));
    }
    out.push_str(&format!(
        "# opening {} + top-ups {} - charges {} + refunds {} + adjustments {} = closing {}\n",
        statement.opening_balance,
        statement.top_ups,
        statement.charges,
        statement.refunds,
        statement.adjustments,
        statement.closing_balance
    ));
    out
}

async fn entry_with_key(
    tx: &mut DbTx,
    advertiser: i64,
    key: &str,
) -> Result<Option<LedgerEntry>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{ENTRY_SELECT} WHERE advertiser_id = $1 AND idempotency_key = $2"
    )))
    .bind(advertiser)
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(LedgerEntry::from_row).transpose()
}

fn repeated(earlier: LedgerEntry, amount: i64, key: &str) -> Result<TopUpOutcome, ServingError> {
    if earlier.amount != amount {
        return Err(ServingError::Conflict(format!(
            "idempotency_key '{key}' was used for a top-up of {} won, not {amount} won; nothing changed",
            earlier.amount
        )));
    }
    Ok(TopUpOutcome {
        entry: earlier,
        repeated: true,
    })
}

pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}
