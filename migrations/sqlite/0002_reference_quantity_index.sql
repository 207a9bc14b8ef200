-- References: type and id when the reference is literal, the URL otherwise.
CREATE TABLE search_reference (
    resource_seq  BIGINT NOT NULL,
    tenant_id     TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    param         TEXT NOT NULL,
    target_type   TEXT,
    target_id     TEXT,
    url           TEXT
);
CREATE INDEX search_reference_lookup ON search_reference (tenant_id, resource_type, param, target_id, target_type, resource_seq);
CREATE INDEX search_reference_owner ON search_reference (resource_seq);

CREATE TABLE search_quantity (
    resource_seq  BIGINT NOT NULL,
    tenant_id     TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    param         TEXT NOT NULL,
    value         DOUBLE PRECISION NOT NULL,
    system        TEXT,
    code          TEXT,
    unit          TEXT
);
CREATE INDEX search_quantity_lookup ON search_quantity (tenant_id, resource_type, param, code, value, resource_seq);
CREATE INDEX search_quantity_owner ON search_quantity (resource_seq);

-- A code and a quantity found on the same element (code-value-quantity composites).
CREATE TABLE search_token_quantity (
    resource_seq  BIGINT NOT NULL,
    tenant_id     TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    param         TEXT NOT NULL,
    system        TEXT,
    code          TEXT NOT NULL,
    value         DOUBLE PRECISION NOT NULL,
    unit_system   TEXT,
    unit_code     TEXT,
    unit          TEXT
);
CREATE INDEX search_token_quantity_lookup ON search_token_quantity (tenant_id, resource_type, param, code, value, resource_seq);
CREATE INDEX search_token_quantity_owner ON search_token_quantity (resource_seq);
