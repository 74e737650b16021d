-- Each organization's own S3 credentials for its s3:// log sources (docs/logs.md): the secret
-- is sealed with the deployment's vault key for this organization, so a database copy alone does
-- not reveal it, and a sealed value moved to another organization's row does not open. The
-- server's own S3 settings are used only for organizations the deployment names.
CREATE TABLE log_s3_credentials (
    org_id BIGINT PRIMARY KEY REFERENCES organizations (id),
    endpoint TEXT,
    region TEXT,
    access_key_id TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
