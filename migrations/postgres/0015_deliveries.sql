-- Where a tenant's documents go: per municipality of the patient ('*' for every other),
-- the connector, the receiving service and how to authenticate to it. The client's
-- private key is sealed with the master key.
CREATE TABLE delivery_routes (
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    municipality_code TEXT NOT NULL,
    connector         TEXT NOT NULL,
    endpoint          TEXT NOT NULL,
    receiver_org      TEXT NOT NULL,
    receiver_her_id   TEXT,
    receiver_name     TEXT NOT NULL,
    token_url         TEXT NOT NULL,
    client_id         TEXT NOT NULL,
    client_key        TEXT NOT NULL,
    client_kid        TEXT NOT NULL,
    scope             TEXT NOT NULL,
    dpop              INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, municipality_code)
);

-- The outbox and register of EHR deliveries. A row is written in the transaction of the
-- event that triggers it, holding the sealed document until the delivery reaches a final
-- state; from then on only the metadata stays.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    kind            TEXT NOT NULL,
    source_id       TEXT NOT NULL,
    patient_id      TEXT NOT NULL,
    document_id     TEXT NOT NULL,
    connector       TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    receiver_org    TEXT NOT NULL,
    receiver_her_id TEXT,
    municipality_code TEXT NOT NULL,
    content         TEXT,
    sha256          TEXT NOT NULL,
    size            BIGINT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    remote_id       TEXT,
    remote_location TEXT,
    remote_status   TEXT,
    error_code      TEXT,
    error_text      TEXT,
    queued_at       BIGINT NOT NULL,
    sent_at         BIGINT,
    registered_at   BIGINT,
    read_at         BIGINT,
    journaled_at    BIGINT,
    failed_at       BIGINT,
    final_at        BIGINT,
    UNIQUE (tenant_id, kind, source_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE final_at IS NULL;
CREATE INDEX deliveries_tenant ON deliveries (tenant_id, queued_at);
CREATE INDEX deliveries_patient ON deliveries (tenant_id, patient_id);

-- Received documents come in through JFT, VKP or the EDI message service; an EDI
-- message gets its AppRec (sealed) when it is received.
ALTER TABLE received_documents ADD COLUMN contract TEXT NOT NULL DEFAULT 'jft';
ALTER TABLE received_documents ADD COLUMN apprec TEXT;
