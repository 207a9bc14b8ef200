-- DPoP-bound access tokens (RFC 9449): the thumbprint of the key a token is bound to
-- (`cnf.jkt`); NULL for bearer tokens.
ALTER TABLE access_grants ADD COLUMN jkt TEXT;
