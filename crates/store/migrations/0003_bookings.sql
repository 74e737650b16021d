-- Campaign purchases (DOMAIN.md section A): a booking reserves unit inventory; its allocations
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
