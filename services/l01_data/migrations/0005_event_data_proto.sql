-- The payload also as the wire's google.protobuf.Struct, written from the append
-- request as it arrived: reads hand it on as is instead of parsing the JSON and
-- rebuilding the Struct (the bulk of a catch-up's CPU). NULL for events written
-- from inside L01 (audit events), which are read from the JSON.
ALTER TABLE events ADD COLUMN data_pb bytea;
