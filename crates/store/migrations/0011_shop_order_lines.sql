-- Shop orders as the platforms send them (docs/shops.md): every line keeps its own status in
-- one model for all platforms and the platform's own code, so a partly cancelled order keeps
-- its cancelled lines and an unknown code can be shown; a line's amount is what the buyer paid
-- for it ("net paid"). The order's status gains the words of that model ('completed' becomes
-- 'delivered'), so the table is rebuilt with the new CHECK (SQLite cannot alter one).
CREATE TABLE shop_orders_next (
    store_id BIGINT NOT NULL REFERENCES shop_stores (id),
    order_id TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    platform TEXT NOT NULL,
    ordered_at BIGINT NOT NULL,
    -- The KST day of ordered_at, what the dashboard groups by.
    order_day TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('unpaid', 'paid', 'preparing', 'shipping', 'delivered',
        'confirmed', 'exchanged', 'replacement', 'cancel_requested', 'return_requested',
        'cancelled', 'returned', 'unknown')),
    -- Net paid in won: the sum of the lines that are sales (shipping is not in it).
    total BIGINT NOT NULL CHECK (total >= 0),
    customer_id TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (store_id, order_id)
);
INSERT INTO shop_orders_next (store_id, order_id, org_id, platform, ordered_at, order_day, status,
    total, customer_id, updated_at)
SELECT store_id, order_id, org_id, platform, ordered_at, order_day,
    CASE status WHEN 'completed' THEN 'delivered' ELSE status END, total, customer_id, updated_at
FROM shop_orders;
DROP TABLE shop_orders;
ALTER TABLE shop_orders_next RENAME TO shop_orders;
CREATE INDEX shop_orders_by_day ON shop_orders (org_id, order_day);

ALTER TABLE shop_order_items ADD COLUMN status TEXT NOT NULL DEFAULT 'paid';
ALTER TABLE shop_order_items ADD COLUMN status_code TEXT NOT NULL DEFAULT '';
UPDATE shop_order_items SET status = COALESCE((
    SELECT o.status FROM shop_orders o
    WHERE o.store_id = shop_order_items.store_id AND o.order_id = shop_order_items.order_id), 'paid');
CREATE INDEX shop_order_items_unknown ON shop_order_items (store_id, status);

-- One sync of a store at a time: a sync holds the store until this instant (UTC ms), so two
-- syncs never race on a refresh token that works once.
ALTER TABLE shop_stores ADD COLUMN sync_held_until BIGINT;

-- What a sync noticed without failing: a catalog step refused for a missing scope, a shop in
-- another currency, a slowed-down call limit. JSON list of {code, detail}.
ALTER TABLE shop_sync_runs ADD COLUMN notes TEXT NOT NULL DEFAULT '[]';
