-- The access log: a row for every request that touched personal data or tried to,
-- refused ones included, and for every token grant. Rows are only ever added. Each row
-- carries the hash of its tenant's previous row and its own, so an edited, removed or
-- reordered row breaks the chain (`helsebro audit verify`). Requests without a valid
-- token belong to no tenant: their rows have the empty tenant id and a chain of their own.
CREATE TABLE audit_events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    tenant_id    TEXT NOT NULL,
    recorded     BIGINT NOT NULL,
    type_code    TEXT NOT NULL,
    subtype      TEXT NOT NULL,
    action       TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    outcome_desc TEXT,
    agent_user   TEXT,
    agent_client TEXT,
    source       TEXT,
    purpose      TEXT,
    entity       TEXT,
    patients     TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, seq);
CREATE INDEX audit_events_agent ON audit_events (tenant_id, agent_user, seq);
CREATE INDEX audit_events_recorded ON audit_events (tenant_id, recorded);

-- Which patients each row concerns, for the patient's own access log.
CREATE TABLE audit_patients (
    tenant_id  TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    audit_id   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, patient_id, audit_id)
);

-- The end of each tenant's chain. Appending locks it, so a tenant's rows are chained in
-- the order they are written; a removed tail shows as a head that matches no row.
CREATE TABLE audit_heads (
    tenant_id TEXT PRIMARY KEY,
    last_id   TEXT NOT NULL,
    hash      TEXT NOT NULL
);
