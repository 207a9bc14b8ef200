-- The platform's clinical records. Each row is one record; the FHIR snapshot of the
-- resource it is served as lives in `resources` under the same id.

CREATE TABLE organizations (
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    id                TEXT NOT NULL,
    org_number        TEXT,
    name              TEXT,
    her_id            TEXT,
    municipality_code TEXT,
    active            INTEGER,
    deleted           INTEGER NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, id)
);

-- Home measurements and questionnaire scores.
CREATE TABLE measurements (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    id              TEXT NOT NULL,
    patient_id      TEXT,
    kind            TEXT,
    status          TEXT NOT NULL,
    value           DOUBLE PRECISION,
    value2          DOUBLE PRECISION,
    unit            TEXT,
    score_system    TEXT,
    score_code      TEXT,
    score_text      TEXT,
    effective_start TEXT,
    effective_end   TEXT,
    source          TEXT,
    device          TEXT,
    performer       TEXT,
    interpretation  TEXT,
    note            TEXT,
    deleted         INTEGER NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX measurements_patient ON measurements (tenant_id, patient_id, kind, effective_start);

-- Messages between patients and clinicians.
CREATE TABLE messages (
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    id               TEXT NOT NULL,
    patient_id       TEXT,
    thread_id        TEXT,
    sender           TEXT,
    recipients       TEXT NOT NULL,
    text             TEXT,
    attachment_count BIGINT NOT NULL DEFAULT 0,
    sent             TEXT,
    received         TEXT,
    status           TEXT NOT NULL,
    category         TEXT,
    deleted          INTEGER NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX messages_patient ON messages (tenant_id, patient_id, sent);

-- Medication plans (one line each).
CREATE TABLE medication_plans (
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    id                   TEXT NOT NULL,
    patient_id           TEXT,
    fest_code            TEXT,
    atc_code             TEXT,
    medication_text      TEXT,
    medication_reference TEXT,
    dosage_text          TEXT,
    period_start         TEXT,
    period_end           TEXT,
    status               TEXT NOT NULL,
    information_source   TEXT,
    reason_codes         TEXT NOT NULL,
    deleted              INTEGER NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX medication_plans_patient ON medication_plans (tenant_id, patient_id);

-- Journal notes: the documents delivered to the municipal EHR. Every version is kept.
CREATE TABLE journal_notes (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    id              TEXT NOT NULL,
    version         BIGINT NOT NULL,
    patient_id      TEXT NOT NULL,
    author_id       TEXT,
    title           TEXT NOT NULL,
    text            TEXT NOT NULL,
    status          TEXT NOT NULL,
    written_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id, version)
);
CREATE INDEX journal_notes_patient ON journal_notes (tenant_id, patient_id);
