-- Registered OAuth clients. Backend services authenticate with a JWT signed by a key of
-- their registered JWK Set (private_key_jwt); `scope` is the most they may ever be granted.
CREATE TABLE clients (
    client_id  TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,
    jwks       TEXT,
    jwks_uri   TEXT,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The `jti` of every client assertion seen, until it expires: an assertion is good once.
CREATE TABLE client_assertions (
    jti        TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
