-- Each tenant's data keys, wrapped with the deployment's master key, which is kept outside
-- the database (HELSEBRO_MASTER_KEY or a key file): a copy of the database alone cannot
-- open what they seal. A rotation adds a version; rows sealed with older versions stay
-- readable until `helsebro keys rotate` has re-sealed them.
CREATE TABLE tenant_keys (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    version    BIGINT NOT NULL,
    wrapped    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, version)
);
