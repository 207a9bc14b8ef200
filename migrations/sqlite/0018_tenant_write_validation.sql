-- What each tenant's writes must conform to: `core` (R4 plus the profiles a resource
-- claims in meta.profile) or `norwegian` (the no-basis/VKP profile of its type). Set by
-- `helsebro tenant validation`; existing tenants keep accepting what they accepted before.
ALTER TABLE tenants ADD COLUMN write_validation TEXT NOT NULL DEFAULT 'core'
    CHECK (write_validation IN ('core', 'norwegian'));
