-- Parameters of searches made by POST, so that their paging links carry an opaque handle
-- instead of the parameters (which can hold national identity numbers).
CREATE TABLE saved_searches (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    resource_type TEXT NOT NULL,
    params        TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX saved_searches_created ON saved_searches (created_at);
