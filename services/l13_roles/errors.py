"""L13's error catalog (E13000-E13999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCode, Kind

DOMAIN = "roles.agentic"

INTERNAL = ErrorCode("E13000", Kind.INTERNAL, "internal error")
UNAUTHENTICATED = ErrorCode("E13001", Kind.UNAUTHENTICATED, "missing or invalid bearer token")
INVALID_ROLE = ErrorCode("E13002", Kind.INVALID_ARGUMENT, "invalid role or request field")
ROLE_NOT_FOUND = ErrorCode("E13003", Kind.NOT_FOUND, "no such role (or revision)")
REVISION_CONFLICT = ErrorCode("E13004", Kind.CONFLICT, "the role's revision is not the expected")
ROLE_EXISTS = ErrorCode("E13005", Kind.ALREADY_EXISTS, "a role of that name exists")
ROLE_DEPRECATED = ErrorCode("E13006", Kind.FAILED_PRECONDITION, "the role is deprecated")
TEXT_TOO_LARGE = ErrorCode("E13007", Kind.INVALID_ARGUMENT, "text longer than the limit")
NOT_READY = ErrorCode("E13008", Kind.UNAVAILABLE, "the role index is loading; retry")
UPSTREAM_FAILED = ErrorCode("E13009", Kind.UNAVAILABLE, "L01 or L04 failed; retry")
UPSTREAM_LIMITED = ErrorCode(
    "E13010", Kind.RESOURCE_EXHAUSTED, "a limit of L04 (or L01) was reached"
)
