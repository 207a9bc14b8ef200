-- DPoP proofs seen (RFC 9449 §11.1): a proof's `jti` is accepted once while its `iat` is
-- inside the window.
CREATE TABLE dpop_proofs (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dpop_proofs_expiry ON dpop_proofs (expires_at);
