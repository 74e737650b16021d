-- Shop data (DOMAIN.md section C): merchants' stores on Cafe24, Naver SmartStore and Ably, and
-- their categories, products, orders with items and coupons in one model for every platform.
-- Rows are keyed by the platform's own ids (natural keys), so overlapping syncs and repeated
-- imports update instead of duplicating.

CREATE TABLE shop_stores (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    platform TEXT NOT NULL CHECK (platform IN ('cafe24', 'naver', 'ably')),
    name TEXT NOT NULL,
    -- Cafe24 mall id, Naver seller id, Ably store name: what the platform calls the store.
    mall_id TEXT NOT NULL,
    -- AES-256-GCM sealed JSON (base64 of nonce and ciphertext); never shown after saving.
    credentials TEXT,
    disabled_at BIGINT,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, platform, mall_id)
);

CREATE TABLE shop_categories (
    store_id BIGINT NOT NULL REFERENCES shop_stores (id),
    category_id TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    parent_id TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (store_id, category_id)
);

CREATE TABLE shop_products (
    store_id BIGINT NOT NULL REFERENCES shop_stores (id),
    product_id TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    category_id TEXT,
    price BIGINT NOT NULL CHECK (price >= 0),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (store_id, product_id)
);

CREATE TABLE shop_orders (
    store_id BIGINT NOT NULL REFERENCES shop_stores (id),
    order_id TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    platform TEXT NOT NULL,
    ordered_at BIGINT NOT NULL,
    -- The KST day of ordered_at, what the dashboard groups by.
    order_day TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('paid', 'preparing', 'shipping', 'completed', 'cancelled', 'returned')),
    -- What the customer paid, in won (items minus discounts plus shipping).
    total BIGINT NOT NULL CHECK (total >= 0),
    customer_id TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (store_id, order_id)
);
CREATE INDEX shop_orders_by_day ON shop_orders (org_id, order_day);

CREATE TABLE shop_order_items (
    store_id BIGINT NOT NULL REFERENCES shop_stores (id),
    order_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    product_name TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    -- The line's amount in won (unit price x quantity, after item discounts).
    amount BIGINT NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (store_id, order_id, item_id)
);

CREATE TABLE shop_coupons (
    store_id BIGINT NOT NULL REFERENCES shop_stores (id),
    coupon_id TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    benefit TEXT NOT NULL,
    starts_at BIGINT,
    ends_at BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (store_id, coupon_id)
);

-- How far each store x entity has been synced; advanced only in the transaction that commits
-- the data it covers.
CREATE TABLE shop_sync_cursors (
    store_id BIGINT NOT NULL REFERENCES shop_stores (id),
    entity TEXT NOT NULL,
    position TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (store_id, entity)
);

-- Every sync or import of a store: what it fetched, inserted and updated, or why it failed.
CREATE TABLE shop_sync_runs (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    store_id BIGINT NOT NULL REFERENCES shop_stores (id),
    kind TEXT NOT NULL CHECK (kind IN ('sync', 'import')),
    state TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    fetched BIGINT NOT NULL DEFAULT 0,
    inserted BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT '',
    error TEXT
);
CREATE INDEX shop_sync_runs_by_store ON shop_sync_runs (store_id, id);
