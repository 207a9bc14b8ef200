-- One row per (patient, code, effective time) of an Observation: the question remote care
-- asks most ("this patient's heart rate over these two weeks") answered by one index range
-- instead of intersecting a patient's thousands of observations with a code's hundreds
-- of thousands.
CREATE TABLE search_observation_series (
    resource_seq BIGINT NOT NULL,
    tenant_id    TEXT NOT NULL,
    patient_id   TEXT NOT NULL,
    system       TEXT,
    code         TEXT NOT NULL,
    low          BIGINT NOT NULL,
    high         BIGINT NOT NULL
);
CREATE INDEX search_observation_series_lookup
    ON search_observation_series (tenant_id, patient_id, code, low, high, resource_seq);
CREATE INDEX search_observation_series_owner ON search_observation_series (resource_seq);

INSERT INTO search_observation_series (resource_seq, tenant_id, patient_id, system, code, low, high)
SELECT p.resource_seq, p.tenant_id, p.target_id, t.system, t.code, d.low, d.high
FROM search_reference p
JOIN search_token t ON t.resource_seq = p.resource_seq AND t.param = 'code'
JOIN search_date d ON d.resource_seq = p.resource_seq AND d.param = 'date'
WHERE p.resource_type = 'Observation' AND p.param = 'patient' AND p.target_type = 'Patient'
  AND p.target_id IS NOT NULL;
