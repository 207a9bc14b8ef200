-- Tenants are the data controllers (municipalities, clinics). Every other row belongs to one.
CREATE TABLE tenants (
    id                  TEXT PRIMARY KEY,
    org_number          TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    municipality_number TEXT,
    her_id              TEXT,
    is_test             BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          BIGINT NOT NULL
);

CREATE TABLE practitioners (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    hpr_number  TEXT,
    national_id TEXT,
    family_name TEXT,
    given_names TEXT,
    email       TEXT,
    phone       TEXT,
    username    TEXT,
    active      BOOLEAN,
    deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX practitioners_username ON practitioners (tenant_id, username);

-- The platform's patient record: the columns the platform works with. Everything a FHIR
-- client wrote that these columns do not model stays in the resource snapshot.
CREATE TABLE patients (
    tenant_id           TEXT NOT NULL REFERENCES tenants(id),
    id                  TEXT NOT NULL,
    national_id         TEXT,
    national_id_kind    TEXT,
    family_name         TEXT,
    given_names         TEXT,
    birth_date          TEXT,
    gender              TEXT,
    municipality_code   TEXT,
    postal_code         TEXT,
    phone               TEXT,
    email               TEXT,
    active              BOOLEAN,
    deceased            BOOLEAN NOT NULL DEFAULT FALSE,
    deleted             BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX patients_national_id ON patients (tenant_id, national_id);

-- Which practitioners may see which patients (narrows user-level access).
CREATE TABLE care_relationships (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    practitioner_id TEXT NOT NULL,
    patient_id      TEXT NOT NULL,
    role            TEXT NOT NULL,
    PRIMARY KEY (tenant_id, practitioner_id, patient_id)
);

-- The current version of every served resource. `seq` orders resources for stable paging.
CREATE TABLE resources (
    seq           BIGSERIAL PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    resource_type TEXT NOT NULL,
    id            TEXT NOT NULL,
    version       BIGINT NOT NULL,
    last_updated  BIGINT NOT NULL,
    deleted       BOOLEAN NOT NULL,
    json          TEXT,
    UNIQUE (tenant_id, resource_type, id)
);
CREATE INDEX resources_type_updated ON resources (tenant_id, resource_type, last_updated);

-- Every version ever served: the patient-record law wants corrections traceable.
CREATE TABLE resource_versions (
    seq           BIGSERIAL PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    id            TEXT NOT NULL,
    version       BIGINT NOT NULL,
    last_updated  BIGINT NOT NULL,
    method        TEXT NOT NULL,
    -- Whether this version brought the resource into existence (a create, or an update
    -- of an unknown or deleted id): history reports it as "201 Created".
    created       BOOLEAN NOT NULL DEFAULT FALSE,
    json          TEXT,
    UNIQUE (tenant_id, resource_type, id, version)
);
CREATE INDEX resource_versions_type ON resource_versions (tenant_id, resource_type, last_updated);
CREATE INDEX resource_versions_system ON resource_versions (tenant_id, last_updated);

-- Search indexes, derived from the current version; keyed by resources.seq.
CREATE TABLE search_token (
    resource_seq  BIGINT NOT NULL,
    tenant_id     TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    param         TEXT NOT NULL,
    system        TEXT,
    code          TEXT NOT NULL
);
CREATE INDEX search_token_lookup ON search_token (tenant_id, resource_type, param, code, system, resource_seq);
CREATE INDEX search_token_owner ON search_token (resource_seq);

CREATE TABLE search_string (
    resource_seq  BIGINT NOT NULL,
    tenant_id     TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    param         TEXT NOT NULL,
    -- "C" collation lets `LIKE 'prefix%'` use the index.
    normalized    TEXT COLLATE "C" NOT NULL,
    exact         TEXT NOT NULL
);
CREATE INDEX search_string_lookup ON search_string (tenant_id, resource_type, param, normalized, resource_seq);
CREATE INDEX search_string_owner ON search_string (resource_seq);

-- Dates are ranges [low, high] in microseconds since the epoch (UTC): a date of day
-- precision covers the whole day, so every prefix compares ranges, not points.
CREATE TABLE search_date (
    resource_seq  BIGINT NOT NULL,
    tenant_id     TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    param         TEXT NOT NULL,
    low           BIGINT NOT NULL,
    high          BIGINT NOT NULL
);
CREATE INDEX search_date_lookup ON search_date (tenant_id, resource_type, param, low, high, resource_seq);
CREATE INDEX search_date_owner ON search_date (resource_seq);

-- Index tables grow in bulk (imports, demo data); keep planner statistics fresh so that
-- searches keep using the lookup indexes.
ALTER TABLE resources SET (autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE search_token SET (autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE search_string SET (autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE search_date SET (autovacuum_analyze_scale_factor = 0.02);
