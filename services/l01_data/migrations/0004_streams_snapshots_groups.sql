-- Stream management: limits enforced on reads, and soft deletion.
ALTER TABLE streams
    ADD COLUMN max_count  bigint   NOT NULL DEFAULT 0,  -- 0: no limit
    ADD COLUMN max_age    interval,                     -- NULL: no limit
    ADD COLUMN deleted_at timestamptz;                  -- set: soft-deleted

-- Aggregate snapshots; only the newest few per stream are kept.
CREATE TABLE snapshots (
    stream_id text        NOT NULL,
    version   bigint      NOT NULL,
    state     jsonb       NOT NULL,
    schema    text        NOT NULL DEFAULT '',
    saved_at  timestamptz NOT NULL DEFAULT now(),
    saved_by  text        NOT NULL,
    PRIMARY KEY (stream_id, version)
);

-- Durable consumer groups: a filter over the global log and a checkpoint.
CREATE TABLE consumer_groups (
    group_id       text        PRIMARY KEY,
    type_prefix    text        NOT NULL,
    start_position bigint      NOT NULL,
    checkpoint     bigint      NOT NULL,  -- last acknowledged position
    created_at     timestamptz NOT NULL DEFAULT now(),
    acked_by       text        NOT NULL DEFAULT '',
    acked_at       timestamptz
);
