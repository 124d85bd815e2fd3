"""L04's error catalog (E4000-E4999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCatalog, Kind
from services.kit.layers import layer_by_key

CATALOG = ErrorCatalog(layer_by_key("l04"))
DOMAIN = CATALOG.domain

INTERNAL = CATALOG.internal
UNAUTHENTICATED = CATALOG.unauthenticated
INVALID_ARGUMENT = CATALOG.invalid_argument
REQUEST_TOO_LARGE = CATALOG.code("E4003", Kind.INVALID_ARGUMENT, "request larger than the limit")
UNKNOWN_MODEL = CATALOG.code("E4004", Kind.NOT_FOUND, "no such model in the registry")
INVALID_SCHEMA = CATALOG.code("E4005", Kind.INVALID_ARGUMENT, "not a valid JSON Schema")
NO_CAPABLE_MODEL = CATALOG.code(
    "E4006", Kind.FAILED_PRECONDITION, "no available model has the needed capabilities"
)
PROVIDERS_FAILED = CATALOG.code("E4007", Kind.UNAVAILABLE, "every candidate provider failed")
RATE_LIMITED = CATALOG.code("E4008", Kind.RESOURCE_EXHAUSTED, "rate limit reached; retry later")
BUDGET_EXCEEDED = CATALOG.code("E4009", Kind.RESOURCE_EXHAUSTED, "token or cost budget exhausted")
OUTPUT_INVALID = CATALOG.code(
    "E4010", Kind.FAILED_PRECONDITION, "the answer did not satisfy the response schema"
)
OUTPUT_TRUNCATED = CATALOG.code(
    "E4011", Kind.FAILED_PRECONDITION, "a constrained answer was cut off at max_tokens"
)
MODEL_LOADING = CATALOG.code("E4012", Kind.UNAVAILABLE, "the local model is still loading; retry")
OTHER_TENANT = CATALOG.code(
    "E4013", Kind.PERMISSION_DENIED, "the request names a tenant other than the caller's"
)
REQUEST_REFUSED = CATALOG.code(
    "E4014",
    Kind.INVALID_ARGUMENT,
    "every candidate refused the request itself (longer than its context window, or malformed)",
)
