-- CPC sponsored ads (DOMAIN.md section E): advertisers with a prepaid balance whose append-only
-- ledger always sums to it, campaigns and product ads, clicks charged atomically, conversions.

-- Settings shared by every adpool process (the click-token signing secret).
CREATE TABLE cpc_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE cpc_advertisers (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    business_name TEXT NOT NULL,
    registration_number TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    rejection_reason TEXT,
    reviewed_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    reviewed_at BIGINT,
    balance BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, registration_number)
);
CREATE INDEX cpc_advertisers_by_user ON cpc_advertisers (user_id);

-- Append-only: rows are inserted, never updated or deleted. balance_after is the advertiser's
-- balance once the entry applied; the advertiser's balance equals the sum of its amounts.
CREATE TABLE cpc_ledger (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    advertiser_id BIGINT NOT NULL REFERENCES cpc_advertisers (id),
    kind TEXT NOT NULL CHECK (kind IN ('topup', 'charge', 'refund', 'adjustment')),
    amount BIGINT NOT NULL,
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    business_date TEXT NOT NULL,
    click_id BIGINT,
    idempotency_key TEXT,
    memo TEXT NOT NULL DEFAULT '',
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX cpc_ledger_idempotency ON cpc_ledger (advertiser_id, idempotency_key);
CREATE INDEX cpc_ledger_by_advertiser ON cpc_ledger (advertiser_id, id);
CREATE INDEX cpc_ledger_by_date ON cpc_ledger (org_id, business_date);

-- Where ads show on a shop front end (home_top, search_result, ...).
CREATE TABLE cpc_placements (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (org_id, code)
);

-- Shop front ends that query ads, each with its own API key (only its digest is stored).
CREATE TABLE cpc_sites (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    media_key TEXT NOT NULL,
    key_digest TEXT NOT NULL UNIQUE,
    key_prefix TEXT NOT NULL,
    allowed_origins TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE cpc_campaigns (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    advertiser_id BIGINT NOT NULL REFERENCES cpc_advertisers (id),
    name TEXT NOT NULL,
    daily_budget BIGINT NOT NULL CHECK (daily_budget > 0),
    placements TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('review', 'rejected', 'active', 'paused', 'ended')),
    rejection_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX cpc_campaigns_by_advertiser ON cpc_campaigns (advertiser_id);

CREATE TABLE cpc_ads (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    campaign_id BIGINT NOT NULL REFERENCES cpc_campaigns (id),
    product_id TEXT NOT NULL,
    title TEXT NOT NULL,
    image_url TEXT NOT NULL,
    landing_url TEXT NOT NULL,
    category TEXT NOT NULL,
    bid BIGINT NOT NULL CHECK (bid > 0),
    state TEXT NOT NULL CHECK (state IN ('active', 'paused')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX cpc_ads_by_campaign ON cpc_ads (campaign_id);

-- What a campaign spent on a KST day; a charge never takes it above the daily budget.
CREATE TABLE cpc_budget_spend (
    campaign_id BIGINT NOT NULL REFERENCES cpc_campaigns (id),
    business_date TEXT NOT NULL,
    spent BIGINT NOT NULL CHECK (spent >= 0),
    PRIMARY KEY (campaign_id, business_date)
);

-- Valid clicks, each charged once: one per impression.
CREATE TABLE cpc_clicks (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    impression_id TEXT NOT NULL UNIQUE,
    ad_id BIGINT NOT NULL REFERENCES cpc_ads (id),
    campaign_id BIGINT NOT NULL,
    advertiser_id BIGINT NOT NULL,
    product_id TEXT NOT NULL,
    user_key TEXT NOT NULL,
    placement TEXT NOT NULL,
    price BIGINT NOT NULL CHECK (price >= 0),
    business_date TEXT NOT NULL,
    clicked_at BIGINT NOT NULL,
    refunded_at BIGINT
);
CREATE INDEX cpc_clicks_by_user_product ON cpc_clicks (org_id, user_key, product_id, clicked_at);
CREATE INDEX cpc_clicks_by_user_ad ON cpc_clicks (user_key, ad_id, clicked_at);
CREATE INDEX cpc_clicks_by_ad_date ON cpc_clicks (ad_id, business_date);

-- Clicks that charged nothing, with the reason (forged, expired, duplicate, budget, ...).
CREATE TABLE cpc_invalid_clicks (
    id {{id}},
    org_id BIGINT,
    ad_id BIGINT,
    impression_id TEXT,
    user_key TEXT,
    reason TEXT NOT NULL,
    business_date TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX cpc_invalid_clicks_by_ad_date ON cpc_invalid_clicks (ad_id, business_date);

-- Impressions per ad and KST day, added to in batches from memory.
CREATE TABLE cpc_impressions_daily (
    ad_id BIGINT NOT NULL REFERENCES cpc_ads (id),
    business_date TEXT NOT NULL,
    impressions BIGINT NOT NULL CHECK (impressions >= 0),
    PRIMARY KEY (ad_id, business_date)
);

-- Orders seen, so a repeated order id counts once and a cancellation reverses it.
CREATE TABLE cpc_orders (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    order_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('completed', 'cancelled')),
    ordered_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, order_id)
);

CREATE TABLE cpc_conversions (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    order_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    click_id BIGINT NOT NULL REFERENCES cpc_clicks (id),
    ad_id BIGINT NOT NULL,
    campaign_id BIGINT NOT NULL,
    advertiser_id BIGINT NOT NULL,
    qty BIGINT NOT NULL,
    revenue_amount BIGINT NOT NULL,
    business_date TEXT NOT NULL,
    converted_at BIGINT NOT NULL,
    reversed_at BIGINT,
    UNIQUE (org_id, order_id, product_id)
);
CREATE INDEX cpc_conversions_by_ad_date ON cpc_conversions (ad_id, business_date);
