"""L03's error catalog (E3000-E3999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCode, Kind

DOMAIN = "tools.agentic"

INTERNAL = ErrorCode("E3000", Kind.INTERNAL, "internal error")
UNKNOWN_TOOL = ErrorCode("E3001", Kind.NOT_FOUND, "no such tool in the registry")
INVALID_ARGUMENTS = ErrorCode(
    "E3002", Kind.INVALID_ARGUMENT, "the arguments do not satisfy the tool's parameters schema"
)
INVALID_ARGUMENT = ErrorCode("E3003", Kind.INVALID_ARGUMENT, "invalid request field")
UNAUTHENTICATED = ErrorCode("E3004", Kind.UNAUTHENTICATED, "missing or invalid bearer token")
INVALID_TOOL = ErrorCode("E3005", Kind.INVALID_ARGUMENT, "invalid tool definition")
BUILTIN_TOOL = ErrorCode("E3006", Kind.FAILED_PRECONDITION, "built-in tools cannot be replaced")
SANDBOX_UNAVAILABLE = ErrorCode(
    "E3007", Kind.FAILED_PRECONDITION, "the sandbox cannot run on this machine"
)
IDEMPOTENCY_KEY_REUSED = ErrorCode(
    "E3008", Kind.ALREADY_EXISTS, "idempotency key already used for a different call"
)
UNKNOWN_EXECUTION = ErrorCode("E3009", Kind.NOT_FOUND, "no such running execution")
HOST_NOT_ALLOWED = ErrorCode(
    "E3010", Kind.PERMISSION_DENIED, "the tool's profile does not allow this host"
)
OUTSIDE_WORKSPACE = ErrorCode(
    "E3011", Kind.INVALID_ARGUMENT, "the path leads outside the caller's workspace"
)
STORE_UNAVAILABLE = ErrorCode("E3012", Kind.UNAVAILABLE, "L01 unreachable; retry")
EXECUTION_ID_IN_USE = ErrorCode(
    "E3013", Kind.ALREADY_EXISTS, "an execution with this id is running"
)
