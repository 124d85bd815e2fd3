"""L12's error catalog (E12000-E12999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCatalog, Kind
from services.kit.layers import layer_by_key

CATALOG = ErrorCatalog(layer_by_key("l12"))

DOMAIN = CATALOG.domain

INTERNAL = CATALOG.internal
UNAUTHENTICATED = CATALOG.unauthenticated
INVALID_ARGUMENT = CATALOG.invalid_argument
INDEX_LOADING = CATALOG.code(
    "E12003", Kind.UNAVAILABLE, "the search index is still being built (embeddings); retry"
)
UNKNOWN_SERVICE = CATALOG.code("E12100", Kind.NOT_FOUND, "no such service in the catalog")
UNKNOWN_METHOD = CATALOG.code("E12101", Kind.NOT_FOUND, "no such method in the catalog")
BAD_ARGUMENTS = CATALOG.code(
    "E12102", Kind.INVALID_ARGUMENT, "the arguments do not fit the method's request"
)
STREAMING_METHOD = CATALOG.code(
    "E12103",
    Kind.FAILED_PRECONDITION,
    "the RPC streams otherwise than the call takes: a server stream through InvokeStream, a "
    "unary RPC through Invoke, one that streams its requests directly",
)
NO_CREDENTIAL = CATALOG.code(
    "E12104",
    Kind.UNAUTHENTICATED,
    "no caller credential to invoke with (call through the gateway, or send your own)",
)
UNKNOWN_TOKEN = CATALOG.code("E12200", Kind.NOT_FOUND, "no such confirmation token")
TOKEN_USED = CATALOG.code(
    "E12201", Kind.FAILED_PRECONDITION, "the confirmation token was already used"
)
TOKEN_EXPIRED = CATALOG.code(
    "E12202", Kind.FAILED_PRECONDITION, "the confirmation token has expired"
)
NOT_YOUR_TOKEN = CATALOG.code(
    "E12203", Kind.PERMISSION_DENIED, "the confirmation token was given to another caller"
)
UNKNOWN_CONVERSATION = CATALOG.code(
    "E12204", Kind.NOT_FOUND, "no such conversation of the caller's"
)
ARGUMENTS_REFUSED = CATALOG.code(
    "E12206",
    Kind.INVALID_ARGUMENT,
    "the RPC a request in words was matched to refused the arguments read from it",
)
NO_INVOCABLE_MATCH = CATALOG.code(
    "E12205", Kind.FAILED_PRECONDITION, "no unary RPC of the catalog matches the request"
)
