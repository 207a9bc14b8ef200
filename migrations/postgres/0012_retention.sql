-- How long each tenant keeps its access log and its delivery metadata, in days. Never
-- below the minimums in `retention.rs` (documented in ARCHITECTURE.md).
CREATE TABLE tenant_retention (
    tenant_id     TEXT PRIMARY KEY REFERENCES tenants(id),
    audit_days    BIGINT NOT NULL,
    delivery_days BIGINT NOT NULL
);

-- Where a tenant's chain begins after retention removed its oldest rows: the hash the
-- first remaining row follows.
ALTER TABLE audit_heads ADD COLUMN base_hash TEXT NOT NULL DEFAULT '';
