-- Apps that sign users in (SMART App Launch). A client with a secret authenticates by
-- client_secret_basic, one with keys by private_key_jwt, one with neither is public.
-- The secret is random and long, so its SHA-256 is enough to keep it from a copy of the
-- database.
ALTER TABLE clients ADD COLUMN secret_hash TEXT;
-- Space-separated; a redirect URI must match one of them exactly.
ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN launch_uri TEXT;

-- One authorization request, from /auth/authorize through sign-in, patient choice and
-- consent to the code and its single exchange for tokens. The request id is the handle in
-- page URLs; the cookie whose hash is kept binds the flow to the browser that began it.
CREATE TABLE authorizations (
    id             TEXT PRIMARY KEY,
    browser_hash   TEXT NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    state          TEXT,
    nonce          TEXT,
    code_challenge TEXT NOT NULL,
    fhir_user      TEXT,
    patient_id     TEXT,
    signed_in_at   BIGINT,
    code_hash      TEXT UNIQUE,
    -- Sign-in with the upstream OpenID provider: its state, nonce and PKCE verifier.
    upstream_state    TEXT UNIQUE,
    upstream_nonce    TEXT,
    upstream_verifier TEXT,
    code_used      INTEGER NOT NULL DEFAULT 0,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX authorizations_expiry ON authorizations (expires_at);

-- Refresh tokens, kept as hashes. Each use rotates the token; a used one presented again
-- revokes every token of its authorization.
CREATE TABLE refresh_tokens (
    token_hash       TEXT PRIMARY KEY,
    authorization_id TEXT NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    client_id        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    scope            TEXT NOT NULL,
    patient_id       TEXT,
    fhir_user        TEXT,
    expires_at       BIGINT NOT NULL,
    used             INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_authorization ON refresh_tokens (authorization_id);

-- Which authorization an access token came from, so that a replayed code or refresh token
-- can revoke it.
ALTER TABLE access_grants ADD COLUMN authorization_id TEXT;
CREATE INDEX access_grants_authorization ON access_grants (authorization_id);

-- An EHR launch: the patient an operator or EHR opened an app for, for the app's authorize
-- request to name by its `launch` parameter. Whoever signs in must still be allowed to see
-- that patient.
CREATE TABLE launch_contexts (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    client_id  TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
