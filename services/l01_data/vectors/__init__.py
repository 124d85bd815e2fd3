"""Vector collections and nearest-neighbour search (pgvector)."""
