-- Spending insight from a merchant's own shop orders (docs/insight.md): transactions and
-- analyses say where they come from, card statements or synced shop orders, so an analysis of
-- one never mixes in the other.
ALTER TABLE insight_transactions ADD COLUMN source TEXT NOT NULL DEFAULT 'statement'
    CHECK (source IN ('statement', 'shop'));
ALTER TABLE insight_analyses ADD COLUMN source TEXT NOT NULL DEFAULT 'statement'
    CHECK (source IN ('statement', 'shop'));
CREATE INDEX insight_transactions_by_source ON insight_transactions (org_id, source, occurred_on);
