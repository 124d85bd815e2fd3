-- Vector collections. Each row owns a table vectors_<id> (created by
-- CreateCollection, see vector_collections.py) whose embedding column is
-- vector(dimension), with an HNSW index using the distance's opclass.
CREATE TABLE vector_collections (
    id                   bigserial PRIMARY KEY,
    name                 text        NOT NULL UNIQUE,
    dimension            integer     NOT NULL CHECK (dimension BETWEEN 1 AND 2000),
    distance             text        NOT NULL CHECK (distance IN ('cosine', 'l2', 'inner_product')),
    hnsw_m               integer     NOT NULL,
    hnsw_ef_construction integer     NOT NULL,
    create_time          timestamptz NOT NULL DEFAULT now()
);
