-- Spending insight (DOMAIN.md section D): uploaded transaction histories, their categories,
-- analyses and the marketing messages written from them.

-- A column mapping for a statement layout adpool does not know, saved by name and reused.
CREATE TABLE insight_mappings (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    -- JSON: {"date": header, "merchant": header, "amount": header, "industry": header?, ...}
    mapping TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE insight_uploads (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    file_name TEXT NOT NULL,
    encoding TEXT NOT NULL,
    layout TEXT NOT NULL,
    header_row BIGINT NOT NULL,
    lines BIGINT NOT NULL,
    inserted BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    totals_skipped BIGINT NOT NULL,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE insight_transactions (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    upload_id BIGINT NOT NULL REFERENCES insight_uploads (id),
    -- KST day YYYY-MM-DD.
    occurred_on TEXT NOT NULL,
    merchant TEXT NOT NULL,
    -- Whole won; a refund is negative. A cancelled purchase keeps its amount and is not spend.
    amount BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('purchase', 'cancelled', 'refund')),
    installment_months BIGINT NOT NULL,
    industry TEXT,
    customer_id TEXT,
    card TEXT,
    category TEXT NOT NULL,
    -- rule, dictionary, industry or none.
    category_source TEXT NOT NULL,
    -- What makes two lines the same purchase, and which of the identical lines of a file this
    -- is: a real repeat purchase is the second occurrence and survives a re-upload.
    content_hash TEXT NOT NULL,
    occurrence BIGINT NOT NULL,
    UNIQUE (org_id, content_hash, occurrence)
);
CREATE INDEX insight_transactions_by_day ON insight_transactions (org_id, occurred_on);
-- Only the lines still to categorize, for the uncategorized-merchants list: a full index on
-- merchant would cost every import a second random-order index.
CREATE INDEX insight_transactions_uncategorized ON insight_transactions (org_id, merchant)
    WHERE category = 'uncategorized';

-- Merchant keyword -> category, the organization's own; they win over the built-in dictionary.
CREATE TABLE insight_rules (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    keyword TEXT NOT NULL,
    category TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, keyword)
);

CREATE TABLE insight_analyses (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    from_day TEXT NOT NULL,
    to_day TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    job_id BIGINT,
    -- JSON report (categories, months, merchants, segments) once done.
    result TEXT,
    error TEXT,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE TABLE insight_messages (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    analysis_id BIGINT NOT NULL REFERENCES insight_analyses (id),
    segment TEXT,
    channel TEXT NOT NULL,
    tone TEXT NOT NULL,
    lang TEXT NOT NULL,
    body TEXT NOT NULL,
    -- llm or offline.
    source TEXT NOT NULL,
    note TEXT,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    edited_at BIGINT
);
CREATE INDEX insight_messages_by_analysis ON insight_messages (analysis_id);
