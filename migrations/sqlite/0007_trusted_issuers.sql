-- Authorization servers whose JWT access tokens this server accepts (an EHR's own SMART
-- server, HelseID), verified against the keys they publish.
CREATE TABLE trusted_issuers (
    issuer     TEXT PRIMARY KEY,
    jwks_uri   TEXT NOT NULL,
    -- The `aud` their tokens must carry for this server.
    audience   TEXT NOT NULL,
    -- The tenant of tokens that name no organisation; NULL: such tokens are refused.
    tenant_id  TEXT REFERENCES tenants(id),
    created_at BIGINT NOT NULL
);
