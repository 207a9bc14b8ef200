-- Contained resources of served types, searchable with `_contained=true|both`. Each has a
-- row here and index rows in the search_* tables under `resource_seq = -id`: negative, so
-- that no search of stored resources (`r.seq IN …`) can ever match one. The rows are
-- derived from the container's current version and replaced with its index rows.
CREATE TABLE contained_resources (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id      TEXT NOT NULL,
    container_seq  BIGINT NOT NULL,
    resource_type  TEXT NOT NULL,
    contained_id   TEXT NOT NULL
);
CREATE INDEX contained_resources_container ON contained_resources (container_seq);
CREATE INDEX contained_resources_type ON contained_resources (tenant_id, resource_type, id);
