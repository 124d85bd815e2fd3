"""L08's error catalog (E8000-E8999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCode, Kind

DOMAIN = "supervision.agentic"

INTERNAL = ErrorCode("E8000", Kind.INTERNAL, "internal error")
UNAUTHENTICATED = ErrorCode("E8001", Kind.UNAUTHENTICATED, "missing or invalid bearer token")
INVALID_ARGUMENT = ErrorCode("E8002", Kind.INVALID_ARGUMENT, "invalid request field")
INVALID_POLICY = ErrorCode(
    "E8003", Kind.INVALID_ARGUMENT, "the policies do not parse or validate against the schema"
)
VERSION_NOT_FOUND = ErrorCode("E8004", Kind.NOT_FOUND, "no such policy version")
APPROVAL_NOT_FOUND = ErrorCode("E8005", Kind.NOT_FOUND, "no such approval")
ALREADY_DECIDED = ErrorCode(
    "E8006", Kind.FAILED_PRECONDITION, "the approval was already approved or rejected"
)
APPROVAL_EXPIRED = ErrorCode("E8007", Kind.FAILED_PRECONDITION, "the approval expired")
STORE_UNAVAILABLE = ErrorCode("E8008", Kind.UNAVAILABLE, "L01 is unreachable; retry")
DEPLOY_CONFLICT = ErrorCode(
    "E8009", Kind.CONFLICT, "another version was deployed since expected_version"
)
