-- Consumer-group sessions live in the group's row, so every L01 process sees them:
-- who is connected (until the lease runs out) and how far delivery got.
ALTER TABLE consumer_groups
    ADD COLUMN consumer_id uuid,                     -- the connected session; NULL: none
    ADD COLUMN lease_until timestamptz,              -- the session counts as gone after this
    ADD COLUMN delivered   bigint NOT NULL DEFAULT 0; -- highest position delivered so far
