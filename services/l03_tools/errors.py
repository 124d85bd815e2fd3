"""L03's error catalog (E3000-E3999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCatalog, Kind
from services.kit.layers import layer_by_key

# E3001 is "no such tool" (the contract says so), so the standard codes sit further on.
CATALOG = ErrorCatalog(layer_by_key("l03"), invalid_argument="E3003", unauthenticated="E3004")

DOMAIN = CATALOG.domain

INTERNAL = CATALOG.internal
INVALID_ARGUMENT = CATALOG.invalid_argument
UNAUTHENTICATED = CATALOG.unauthenticated
UNKNOWN_TOOL = CATALOG.code("E3001", Kind.NOT_FOUND, "no such tool in the registry")
INVALID_ARGUMENTS = CATALOG.code(
    "E3002", Kind.INVALID_ARGUMENT, "the arguments do not satisfy the tool's parameters schema"
)
INVALID_TOOL = CATALOG.code("E3005", Kind.INVALID_ARGUMENT, "invalid tool definition")
BUILTIN_TOOL = CATALOG.code("E3006", Kind.FAILED_PRECONDITION, "built-in tools cannot be replaced")
SANDBOX_UNAVAILABLE = CATALOG.code(
    "E3007", Kind.FAILED_PRECONDITION, "the sandbox cannot run on this machine"
)
IDEMPOTENCY_KEY_REUSED = CATALOG.code(
    "E3008", Kind.ALREADY_EXISTS, "idempotency key already used for a different call"
)
UNKNOWN_EXECUTION = CATALOG.code("E3009", Kind.NOT_FOUND, "no such running execution")
HOST_NOT_ALLOWED = CATALOG.code(
    "E3010", Kind.PERMISSION_DENIED, "the tool's profile does not allow this host"
)
OUTSIDE_WORKSPACE = CATALOG.code(
    "E3011", Kind.INVALID_ARGUMENT, "the path leads outside the caller's workspace"
)
STORE_UNAVAILABLE = CATALOG.code("E3012", Kind.UNAVAILABLE, "L01 unreachable; retry")
EXECUTION_ID_IN_USE = CATALOG.code(
    "E3013", Kind.ALREADY_EXISTS, "an execution with this id is running"
)
APPROVAL_PENDING = CATALOG.code(
    "E3014",
    Kind.FAILED_PRECONDITION,
    "a sensitive tool call waits for an L08 approval (its id in approval_id); nothing ran",
)
POLICY_DENIED = CATALOG.code(
    "E3015", Kind.PERMISSION_DENIED, "L08's policies deny this tool call; the reasons named"
)
APPROVAL_REJECTED = CATALOG.code(
    "E3016",
    Kind.PERMISSION_DENIED,
    "the approval this tool call waited for was rejected or expired",
)
SUPERVISION_UNAVAILABLE = CATALOG.code(
    "E3017", Kind.UNAVAILABLE, "L08 unreachable: a sensitive tool does not run unasked; retry"
)
