-- The event log. global_position is allocated under the log_head row lock, so
-- positions are gapless and become visible in commit order (see event_store.py).
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE events (
    global_position bigint PRIMARY KEY,
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL,
    event_id        uuid        NOT NULL UNIQUE,
    type            text        NOT NULL,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, stream_version)
);

-- One row per stream: its last version, read under the append lock.
CREATE TABLE streams (
    stream_id    text PRIMARY KEY,
    last_version bigint NOT NULL
);

-- The single row whose lock serialises appends and whose value is the log's head.
CREATE TABLE log_head (
    id            smallint PRIMARY KEY CHECK (id = 1),
    last_position bigint NOT NULL
);
INSERT INTO log_head VALUES (1, 0);

-- How far the outbox publisher has published the log to Redis.
CREATE TABLE outbox_checkpoint (
    id             smallint PRIMARY KEY CHECK (id = 1),
    last_published bigint NOT NULL
);
INSERT INTO outbox_checkpoint VALUES (1, 0);
