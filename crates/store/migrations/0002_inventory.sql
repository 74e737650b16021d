-- Forecast-pool inventory (DOMAIN.md section A): catalog, daily forecast, standard (monthly,
-- hand-corrected) and unit (daily, sellable) inventory. Everything belongs to an organization.

CREATE TABLE media (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, code)
);

CREATE TABLE content_owners (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, code)
);

-- A content unit of a media's forecast: a program, a channel or a keyword bucket.
CREATE TABLE meta_ids (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    media_id BIGINT NOT NULL REFERENCES media (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    co_id BIGINT REFERENCES content_owners (id),
    kind TEXT CHECK (kind IN ('program', 'channel', 'keyword')),
    created_at BIGINT NOT NULL,
    UNIQUE (media_id, code)
);
CREATE INDEX meta_ids_by_org ON meta_ids (org_id);

-- Which sellable platform each vendor part maps to (data, seeded with DOMAIN.md's defaults).
CREATE TABLE part_platforms (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    part TEXT NOT NULL,
    platform TEXT NOT NULL CHECK (platform IN ('PC', 'MOBILE', 'APP', 'CTV')),
    PRIMARY KEY (org_id, part)
);

-- The vendor forecast, summed over hours: one row per meta_id, part and KST date.
CREATE TABLE forecast_daily (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    media_id BIGINT NOT NULL REFERENCES media (id),
    meta_id BIGINT NOT NULL REFERENCES meta_ids (id),
    part TEXT NOT NULL,
    date TEXT NOT NULL,
    month TEXT NOT NULL,
    impressions BIGINT NOT NULL CHECK (impressions >= 0),
    PRIMARY KEY (meta_id, part, date)
);
CREATE INDEX forecast_daily_by_month ON forecast_daily (org_id, month, media_id);

CREATE TABLE standard_inventory (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    media_id BIGINT NOT NULL REFERENCES media (id),
    meta_id BIGINT NOT NULL REFERENCES meta_ids (id),
    platform TEXT NOT NULL CHECK (platform IN ('PC', 'MOBILE', 'APP', 'CTV')),
    month TEXT NOT NULL,
    forecast_qty BIGINT NOT NULL CHECK (forecast_qty >= 0),
    qty BIGINT NOT NULL CHECK (qty >= 0),
    -- (this month - previous month) / previous month, in millionths; NULL when no previous.
    change_rate_ppm BIGINT,
    qty_edited_at BIGINT,
    updated_at BIGINT NOT NULL,
    UNIQUE (meta_id, platform, month)
);
CREATE INDEX standard_inventory_by_month ON standard_inventory (org_id, month);

CREATE TABLE standard_months (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    month TEXT NOT NULL,
    built_at BIGINT,
    confirmed_at BIGINT,
    confirmed_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    PRIMARY KEY (org_id, month)
);

CREATE TABLE standard_audit (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    standard_id BIGINT NOT NULL REFERENCES standard_inventory (id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    old_qty BIGINT NOT NULL,
    new_qty BIGINT NOT NULL,
    note TEXT NOT NULL,
    changed_at BIGINT NOT NULL
);
CREATE INDEX standard_audit_by_row ON standard_audit (standard_id, id);

-- Sellable daily inventory. `reserved` is what purchases hold; a rebuild never touches it. No
-- oversell, ever: `reserved <= total` is a constraint. A rebuild whose new total is below what
-- is already reserved keeps `total = reserved` and records the gap in `shortfall` (the row is
-- oversold: shown as a warning, no sale dropped); `total - shortfall` is the rebuilt figure.
CREATE TABLE unit_inventory (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    media_id BIGINT NOT NULL REFERENCES media (id),
    meta_id BIGINT NOT NULL REFERENCES meta_ids (id),
    platform TEXT NOT NULL CHECK (platform IN ('PC', 'MOBILE', 'APP', 'CTV')),
    date TEXT NOT NULL,
    month TEXT NOT NULL,
    total BIGINT NOT NULL CHECK (total >= 0),
    reserved BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    shortfall BIGINT NOT NULL DEFAULT 0 CHECK (shortfall >= 0),
    updated_at BIGINT NOT NULL,
    UNIQUE (meta_id, platform, date),
    CHECK (reserved <= total)
);
CREATE INDEX unit_inventory_by_month ON unit_inventory (org_id, month);

-- One build per organization and month at a time.
CREATE TABLE inventory_build_locks (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    month TEXT NOT NULL,
    build TEXT NOT NULL,
    holder TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, month)
);

-- What is sold: priced by CPM per platform, with expected click-through and view-through rates.
CREATE TABLE products (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    product_type TEXT NOT NULL CHECK (product_type IN ('program', 'channel', 'keyword', 'ron')),
    ad_type TEXT NOT NULL,
    -- basis points: 150 = 1.50%
    ctr_bp BIGINT NOT NULL CHECK (ctr_bp BETWEEN 0 AND 10000),
    vtr_bp BIGINT NOT NULL CHECK (vtr_bp BETWEEN 0 AND 10000),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, code)
);

CREATE TABLE product_cpms (
    product_id BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    platform TEXT NOT NULL CHECK (platform IN ('PC', 'MOBILE', 'APP', 'CTV')),
    cpm BIGINT NOT NULL CHECK (cpm > 0),
    PRIMARY KEY (product_id, platform)
);

-- A named set of meta_ids with a weight (Group 1 40%, Group 2 35%, ...).
CREATE TABLE targeting_groups (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    weight_bp BIGINT NOT NULL CHECK (weight_bp BETWEEN 0 AND 10000),
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, code)
);

CREATE TABLE targeting_group_members (
    group_id BIGINT NOT NULL REFERENCES targeting_groups (id) ON DELETE CASCADE,
    meta_id BIGINT NOT NULL REFERENCES meta_ids (id),
    PRIMARY KEY (group_id, meta_id)
);
