-- The retention sweep looks only at streams with limits.
CREATE INDEX streams_with_limits ON streams (stream_id)
    WHERE max_count > 0 OR max_age IS NOT NULL;
