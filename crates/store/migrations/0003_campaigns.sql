-- Campaigns and purchases (DOMAIN.md section A): a booking reserves unit inventory; its allocations
-- record exactly what it reserved, so a cancellation releases exactly that.

CREATE TABLE bookings (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    product_id BIGINT NOT NULL REFERENCES products (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    policy TEXT NOT NULL CHECK (policy IN ('all-or-nothing', 'partial')),
    state TEXT NOT NULL CHECK (state IN ('booked', 'cancelled')),
    impressions BIGINT NOT NULL CHECK (impressions >= 0),
    shortage BIGINT NOT NULL CHECK (shortage >= 0),
    request TEXT NOT NULL,
    result TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    cancelled_at BIGINT
);
CREATE INDEX bookings_by_org ON bookings (org_id, id);

CREATE TABLE booking_allocations (
    booking_id BIGINT NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    unit_id BIGINT NOT NULL REFERENCES unit_inventory (id),
    impressions BIGINT NOT NULL CHECK (impressions > 0),
    PRIMARY KEY (booking_id, unit_id)
);
CREATE INDEX booking_allocations_by_unit ON booking_allocations (unit_id);

-- Campaigns: an advertiser's plan; lines are purchases (their request and, once booked, their
-- booking); ads are creatives under lines, each with its own status. The campaign's status is
-- derived from its ads (crates/inventory/src/campaign_status.rs).
CREATE TABLE campaigns (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    advertiser TEXT NOT NULL,
    name TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    total_budget BIGINT NOT NULL CHECK (total_budget >= 0),
    owner_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    status TEXT NOT NULL CHECK (status IN ('DRAFT', 'REJECTED', 'PENDING_REVIEW', 'SCHEDULED', 'PAUSED', 'LIVE', 'ERROR', 'COMPLETED')),
    status_changed_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX campaigns_by_org ON campaigns (org_id, id);

CREATE TABLE campaign_lines (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    request TEXT NOT NULL,
    booking_id BIGINT REFERENCES bookings (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX campaign_lines_by_campaign ON campaign_lines (campaign_id);

CREATE TABLE ads (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    line_id BIGINT NOT NULL REFERENCES campaign_lines (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    creative_url TEXT,
    status TEXT NOT NULL CHECK (status IN ('DRAFT', 'REJECTED', 'PENDING_REVIEW', 'SCHEDULED', 'PAUSED', 'LIVE', 'ERROR', 'COMPLETED')),
    updated_at BIGINT NOT NULL
);
CREATE INDEX ads_by_campaign ON ads (campaign_id, status);

-- What external ad servers report per line and day. Posting the same day again replaces it, so
-- a retried report never counts twice.
CREATE TABLE delivery_reports (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    line_id BIGINT NOT NULL REFERENCES campaign_lines (id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    impressions BIGINT NOT NULL CHECK (impressions >= 0),
    clicks BIGINT NOT NULL CHECK (clicks >= 0),
    views BIGINT NOT NULL CHECK (views >= 0),
    reported_at BIGINT NOT NULL,
    PRIMARY KEY (line_id, date)
);

-- The secret an organization's webhook receiver uses to verify adpool's HMAC-SHA256 signatures.
CREATE TABLE webhook_secrets (
    org_id BIGINT PRIMARY KEY REFERENCES organizations (id),
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
