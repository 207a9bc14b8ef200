-- Keys this server signs its tokens with. Verification accepts every key listed, so that
-- a key made by one process (the token command) is honoured by another (the server).
CREATE TABLE signing_keys (
    kid           TEXT PRIMARY KEY,
    alg           TEXT NOT NULL,
    private_pkcs8 TEXT NOT NULL,
    public_jwk    TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- Every access token issued: the token is a signed handle on its row, so that a
-- revocation takes effect at once and introspection can answer for it.
CREATE TABLE access_grants (
    jti        TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    scope      TEXT NOT NULL,
    patient_id TEXT,
    fhir_user  TEXT,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX access_grants_expiry ON access_grants (expires_at);
