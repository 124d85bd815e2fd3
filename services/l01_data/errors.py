"""L01's error catalog (E1000-E1999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCatalog, Kind
from services.kit.layers import layer_by_key

CATALOG = ErrorCatalog(layer_by_key("l01"))
DOMAIN = CATALOG.domain

INTERNAL = CATALOG.internal
UNAUTHENTICATED = CATALOG.unauthenticated
INVALID_ARGUMENT = CATALOG.invalid_argument
EVENT_TOO_LARGE = CATALOG.code("E1003", Kind.INVALID_ARGUMENT, "event larger than the limit")
BATCH_TOO_LARGE = CATALOG.code("E1004", Kind.INVALID_ARGUMENT, "too many events in one append")
WRONG_EXPECTED_VERSION = CATALOG.code(
    "E1005", Kind.CONFLICT, "stream version differs from expected"
)
EVENT_ID_REUSED = CATALOG.code("E1006", Kind.ALREADY_EXISTS, "event id already used elsewhere")
STORE_UNAVAILABLE = CATALOG.code("E1007", Kind.UNAVAILABLE, "database unavailable; retry")

# Streams and snapshots (E1300-E1399).
STREAM_NOT_FOUND = CATALOG.code("E1300", Kind.NOT_FOUND, "stream has no events")
STREAM_DELETED = CATALOG.code("E1301", Kind.NOT_FOUND, "stream was deleted")
APPEND_TO_DELETED_STREAM = CATALOG.code(
    "E1302", Kind.FAILED_PRECONDITION, "cannot append to a deleted stream"
)
SNAPSHOT_NOT_FOUND = CATALOG.code("E1303", Kind.NOT_FOUND, "stream has no snapshot")
SNAPSHOT_AHEAD_OF_STREAM = CATALOG.code(
    "E1304", Kind.FAILED_PRECONDITION, "snapshot version beyond the stream's last version"
)
SNAPSHOT_TOO_LARGE = CATALOG.code("E1305", Kind.INVALID_ARGUMENT, "snapshot state over the limit")

# Consumer groups (E1400-E1499).
GROUP_NOT_FOUND = CATALOG.code("E1400", Kind.NOT_FOUND, "no such consumer group")
GROUP_EXISTS = CATALOG.code("E1401", Kind.ALREADY_EXISTS, "consumer group already exists")
ACK_BEYOND_DELIVERED = CATALOG.code(
    "E1402", Kind.FAILED_PRECONDITION, "ack beyond what was delivered to the group"
)
ACK_BEHIND_CHECKPOINT = CATALOG.code(
    "E1403", Kind.FAILED_PRECONDITION, "ack below the group's checkpoint"
)
GROUP_BUSY = CATALOG.code("E1404", Kind.FAILED_PRECONDITION, "a consumer is already connected")

# Documents (E1100-E1199).
DOCUMENT_NOT_FOUND = CATALOG.code("E1100", Kind.NOT_FOUND, "no such document")
DOCUMENT_REVISION_MISMATCH = CATALOG.code(
    "E1101", Kind.CONFLICT, "document revision differs from expected"
)
DOCUMENT_TOO_LARGE = CATALOG.code("E1102", Kind.INVALID_ARGUMENT, "document larger than the limit")
INVALID_FILTER = CATALOG.code("E1103", Kind.INVALID_ARGUMENT, "invalid filter or sort order")
INVALID_PAGE_TOKEN = CATALOG.code("E1104", Kind.INVALID_ARGUMENT, "page token not from this query")

# Vectors (E1200-E1299).
VECTOR_COLLECTION_NOT_FOUND = CATALOG.code("E1200", Kind.NOT_FOUND, "no such vector collection")
VECTOR_COLLECTION_EXISTS = CATALOG.code(
    "E1201", Kind.ALREADY_EXISTS, "vector collection already exists"
)
VECTOR_DIMENSION_MISMATCH = CATALOG.code(
    "E1202", Kind.INVALID_ARGUMENT, "vector dimension differs from the collection's"
)
VECTOR_NOT_FINITE = CATALOG.code("E1203", Kind.INVALID_ARGUMENT, "vector holds NaN or Infinity")
VECTOR_ZERO_FOR_COSINE = CATALOG.code(
    "E1204", Kind.INVALID_ARGUMENT, "zero vector has no cosine distance"
)
VECTOR_BATCH_TOO_LARGE = CATALOG.code(
    "E1205", Kind.INVALID_ARGUMENT, "too many vectors in one call"
)
VECTOR_METADATA_TOO_LARGE = CATALOG.code(
    "E1206", Kind.INVALID_ARGUMENT, "vector metadata larger than the limit"
)
VECTOR_NOT_FOUND = CATALOG.code("E1207", Kind.NOT_FOUND, "no vector with this id")
