"""L04's error catalog (E4000-E4999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCode, Kind

DOMAIN = "models.agentic"

INTERNAL = ErrorCode("E4000", Kind.INTERNAL, "internal error")
UNAUTHENTICATED = ErrorCode("E4001", Kind.UNAUTHENTICATED, "missing or invalid bearer token")
INVALID_ARGUMENT = ErrorCode("E4002", Kind.INVALID_ARGUMENT, "invalid request field")
REQUEST_TOO_LARGE = ErrorCode("E4003", Kind.INVALID_ARGUMENT, "request larger than the limit")
UNKNOWN_MODEL = ErrorCode("E4004", Kind.NOT_FOUND, "no such model in the registry")
INVALID_SCHEMA = ErrorCode("E4005", Kind.INVALID_ARGUMENT, "not a valid JSON Schema")
NO_CAPABLE_MODEL = ErrorCode(
    "E4006", Kind.FAILED_PRECONDITION, "no available model has the needed capabilities"
)
PROVIDERS_FAILED = ErrorCode("E4007", Kind.UNAVAILABLE, "every candidate provider failed")
RATE_LIMITED = ErrorCode("E4008", Kind.RESOURCE_EXHAUSTED, "rate limit reached; retry later")
BUDGET_EXCEEDED = ErrorCode("E4009", Kind.RESOURCE_EXHAUSTED, "token or cost budget exhausted")
OUTPUT_INVALID = ErrorCode(
    "E4010", Kind.FAILED_PRECONDITION, "the answer did not satisfy the response schema"
)
OUTPUT_TRUNCATED = ErrorCode(
    "E4011", Kind.FAILED_PRECONDITION, "a constrained answer was cut off at max_tokens"
)
MODEL_LOADING = ErrorCode("E4012", Kind.UNAVAILABLE, "the local model is still loading; retry")
OTHER_TENANT = ErrorCode(
    "E4013", Kind.PERMISSION_DENIED, "the request names a tenant other than the caller's"
)
