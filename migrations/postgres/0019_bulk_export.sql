-- FHIR Bulk Data `$export` jobs. A job is the tenant's and the client's that kicked it
-- off; a worker of any instance leases it (`lease_owner`, `lease_until`) and writes its
-- files page by page from `cursor_type` (the place in the plan) and `cursor_seq` (the last
-- `resources.seq` written), both moved in the transaction that stores a file, so a job
-- whose worker died goes on where it stopped. The request URL and the plan (types, type
-- filters, group members) are sealed with the tenant's data key: a `_typeFilter` may
-- carry an identity number. Jobs and their files go after `expires_at`.
CREATE TABLE export_jobs (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    client_id        TEXT NOT NULL,
    request_url      TEXT NOT NULL,
    base_url         TEXT NOT NULL,
    level            TEXT NOT NULL CHECK (level IN ('system', 'patient', 'group')),
    plan             TEXT NOT NULL,
    since            BIGINT,
    transaction_time BIGINT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'complete', 'failed')),
    error            TEXT,
    cursor_type      BIGINT NOT NULL DEFAULT 0,
    cursor_seq       BIGINT NOT NULL DEFAULT 0,
    files            BIGINT NOT NULL DEFAULT 0,
    written          BIGINT NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_until      BIGINT,
    created_at       BIGINT NOT NULL,
    completed_at     BIGINT,
    expires_at       BIGINT NOT NULL
);
CREATE INDEX export_jobs_due ON export_jobs (status, created_at);
CREATE INDEX export_jobs_expiry ON export_jobs (expires_at);

-- The NDJSON files of a job, sealed like resources. `patients` lists whose data a file
-- carries, for the access-log row of each download.
CREATE TABLE export_files (
    id            TEXT PRIMARY KEY,
    job_id        TEXT NOT NULL REFERENCES export_jobs(id) ON DELETE CASCADE,
    tenant_id     TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    count         BIGINT NOT NULL,
    patients      TEXT NOT NULL,
    content       TEXT NOT NULL,
    UNIQUE (job_id, seq)
);
