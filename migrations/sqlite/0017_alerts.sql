-- Alerts raised by remote follow-up (a measurement outside its limits, a missing report).
-- A closed alert is a document for the patient's municipality; its delivery is queued in
-- the transaction that closes it. The detail is sealed with the tenant's key.
CREATE TABLE alerts (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    id            TEXT NOT NULL,
    patient_id    TEXT NOT NULL,
    code          TEXT NOT NULL,
    detail        TEXT NOT NULL,
    evidence      TEXT NOT NULL,
    identified_at BIGINT NOT NULL,
    closed_at     BIGINT,
    closed_by     TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX alerts_patient ON alerts (tenant_id, patient_id);
