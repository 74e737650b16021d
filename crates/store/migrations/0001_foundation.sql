-- Foundation: tenants, users, sessions, API tokens, login throttling, jobs, schedules,
-- notifications. Timestamps are UTC milliseconds (BIGINT); ids are 64-bit integers.
-- One file for both databases: `{{id}}` is rendered per dialect (see Dialect::render_migration).

CREATE TABLE organizations (
    id {{id}},
    name TEXT NOT NULL UNIQUE,
    webhook_url TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'advertiser', 'analyst')),
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT,
    disabled_at BIGINT
);
CREATE INDEX users_by_org ON users (org_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE api_tokens (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_by_org ON api_tokens (org_id);

CREATE TABLE login_failures (
    id {{id}},
    email TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures (email, failed_at);
CREATE INDEX login_failures_by_ip ON login_failures (client_ip, failed_at);

CREATE TABLE jobs (
    id {{id}},
    org_id BIGINT REFERENCES organizations (id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL CHECK (max_attempts >= 1),
    run_at BIGINT NOT NULL,
    locked_until BIGINT,
    locked_by TEXT,
    last_error TEXT,
    progress_done BIGINT NOT NULL DEFAULT 0,
    progress_total BIGINT,
    progress_note TEXT,
    result TEXT,
    dedupe_key TEXT UNIQUE,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_by_org ON jobs (org_id, id);

CREATE TABLE schedules (
    id {{id}},
    name TEXT NOT NULL UNIQUE,
    cron TEXT NOT NULL,
    job_kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    org_id BIGINT REFERENCES organizations (id),
    next_run_at BIGINT NOT NULL,
    last_run_at BIGINT,
    paused_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE notifications (
    id {{id}},
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    level TEXT NOT NULL CHECK (level IN ('info', 'success', 'warning', 'error')),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_by_org ON notifications (org_id, id);
