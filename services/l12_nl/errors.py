"""L12's error catalog (E12000-E12999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCode, Kind

DOMAIN = "nl.agentic"

INTERNAL = ErrorCode("E12000", Kind.INTERNAL, "internal error")
UNAUTHENTICATED = ErrorCode("E12001", Kind.UNAUTHENTICATED, "missing or invalid bearer token")
INVALID_ARGUMENT = ErrorCode("E12002", Kind.INVALID_ARGUMENT, "invalid request field")
INDEX_LOADING = ErrorCode(
    "E12003", Kind.UNAVAILABLE, "the search index is still being built (embeddings); retry"
)
UNKNOWN_SERVICE = ErrorCode("E12100", Kind.NOT_FOUND, "no such service in the catalog")
UNKNOWN_METHOD = ErrorCode("E12101", Kind.NOT_FOUND, "no such method in the catalog")
BAD_ARGUMENTS = ErrorCode(
    "E12102", Kind.INVALID_ARGUMENT, "the arguments do not fit the method's request"
)
STREAMING_METHOD = ErrorCode(
    "E12103",
    Kind.FAILED_PRECONDITION,
    "a streaming RPC cannot be invoked by name; call it directly",
)
NO_CREDENTIAL = ErrorCode(
    "E12104",
    Kind.UNAUTHENTICATED,
    "no caller credential to invoke with (call through the gateway, or send your own)",
)
UNKNOWN_TOKEN = ErrorCode("E12200", Kind.NOT_FOUND, "no such confirmation token")
TOKEN_USED = ErrorCode(
    "E12201", Kind.FAILED_PRECONDITION, "the confirmation token was already used"
)
TOKEN_EXPIRED = ErrorCode("E12202", Kind.FAILED_PRECONDITION, "the confirmation token has expired")
NOT_YOUR_TOKEN = ErrorCode(
    "E12203", Kind.PERMISSION_DENIED, "the confirmation token was given to another caller"
)
UNKNOWN_CONVERSATION = ErrorCode("E12204", Kind.NOT_FOUND, "no such conversation of the caller's")
NO_INVOCABLE_MATCH = ErrorCode(
    "E12205", Kind.FAILED_PRECONDITION, "no unary RPC of the catalog matches the request"
)
