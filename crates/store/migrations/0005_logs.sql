-- Ad-log analytics (DOMAIN.md section B): metadata for enrichment, the registry of log files
-- seen per source, the analyzer's lease, and the four additive reports. Every table belongs to
-- the adpool organization that analyzes the logs (org_id); the reports' own organization
-- dimension, from the media metadata, is media_org_id. Money is integer milli-won. The reports
-- are clustered by their key on SQLite (WITHOUT ROWID, rendered by the dialect), where the upsert is the
-- analyzer's main cost.

CREATE TABLE log_media (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    media_key TEXT NOT NULL,
    media_org_id BIGINT NOT NULL,
    media_share_bp BIGINT NOT NULL CHECK (media_share_bp >= 0 AND media_share_bp <= 10000),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, media_key)
);

CREATE TABLE log_inventory (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    inventory_id BIGINT NOT NULL,
    ad_type TEXT NOT NULL,
    device TEXT NOT NULL CHECK (device IN ('PC', 'MOBILE', 'ALL')),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, inventory_id)
);

CREATE TABLE log_files (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    source TEXT NOT NULL,
    object_key TEXT NOT NULL,
    size BIGINT NOT NULL,
    version TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('new', 'done', 'quarantined', 'failed', 'skipped')),
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    error_line BIGINT,
    events BIGINT NOT NULL DEFAULT 0,
    seen_at BIGINT NOT NULL,
    done_at BIGINT,
    PRIMARY KEY (org_id, source, object_key)
);
CREATE INDEX log_files_by_state ON log_files (org_id, source, state);

-- One analyzer per source: a lease that expires, so a crashed analyzer does not block forever.
CREATE TABLE log_locks (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    source TEXT NOT NULL,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, source)
);

CREATE TABLE report_ad_performance (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    date TEXT NOT NULL,
    media_org_id BIGINT NOT NULL,
    media_key TEXT NOT NULL,
    inventory_id BIGINT NOT NULL,
    ad_id BIGINT NOT NULL,
    demand_id BIGINT NOT NULL,
    impressions BIGINT NOT NULL,
    clicks BIGINT NOT NULL,
    revenue_milli BIGINT NOT NULL,
    PRIMARY KEY (org_id, date, media_org_id, media_key, inventory_id, ad_id, demand_id)
){{clustered}};

CREATE TABLE report_ad_request (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    date TEXT NOT NULL,
    media_org_id BIGINT NOT NULL,
    media_key TEXT NOT NULL,
    inventory_id BIGINT NOT NULL,
    device TEXT NOT NULL,
    app TEXT NOT NULL,
    xreq BIGINT NOT NULL,
    xres BIGINT NOT NULL,
    xpsb BIGINT NOT NULL,
    PRIMARY KEY (org_id, date, media_org_id, media_key, inventory_id, device, app)
){{clustered}};

CREATE TABLE report_demand (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    date TEXT NOT NULL,
    demand_id BIGINT NOT NULL,
    impressions BIGINT NOT NULL,
    clicks BIGINT NOT NULL,
    revenue_milli BIGINT NOT NULL,
    PRIMARY KEY (org_id, date, demand_id)
){{clustered}};

CREATE TABLE report_media (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    date TEXT NOT NULL,
    media_org_id BIGINT NOT NULL,
    media_key TEXT NOT NULL,
    device TEXT NOT NULL,
    impressions BIGINT NOT NULL,
    clicks BIGINT NOT NULL,
    revenue_milli BIGINT NOT NULL,
    agency_revenue_milli BIGINT NOT NULL,
    media_revenue_milli BIGINT NOT NULL,
    PRIMARY KEY (org_id, date, media_org_id, media_key, device)
){{clustered}};
