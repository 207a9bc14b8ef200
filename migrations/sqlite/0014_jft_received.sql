-- Documents received through the JFT contract (Journalføringstjenesten's receive side):
-- the municipality's EHR reads them and acknowledges journaling. A document is received
-- once per sender and document identifier, however often a sender retries. The content
-- is sealed with the tenant's key.
CREATE TABLE received_documents (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    sender        TEXT NOT NULL,
    document_id   TEXT NOT NULL,
    content       TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    registered_at BIGINT NOT NULL,
    read_at       BIGINT,
    journaled_at  BIGINT,
    UNIQUE (tenant_id, sender, document_id)
);
CREATE INDEX received_documents_registered ON received_documents (tenant_id, registered_at);
