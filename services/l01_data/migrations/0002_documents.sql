-- Document collections (read models, projections): one row per document.
-- The primary key orders a collection by document id (the default query order).
CREATE TABLE documents (
    collection  text        NOT NULL,
    document_id text        NOT NULL,
    revision    bigint      NOT NULL CHECK (revision >= 1),
    content     jsonb       NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection, document_id)
);

-- Answers the containment test (content @> '{"field": value}') equality filters compile to.
CREATE INDEX documents_content ON documents USING gin (content jsonb_path_ops);
