"""L14's error catalog (E14000-E14999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCode, Kind

DOMAIN = "skills.agentic"

INTERNAL = ErrorCode("E14000", Kind.INTERNAL, "internal error")
INVALID_SKILL = ErrorCode("E14001", Kind.INVALID_ARGUMENT, "invalid skill or request field")
SKILL_NOT_FOUND = ErrorCode("E14002", Kind.NOT_FOUND, "no such skill, version or skill set")
SKILL_EXISTS = ErrorCode("E14003", Kind.ALREADY_EXISTS, "a skill of that name exists")
VERSION_CONFLICT = ErrorCode("E14004", Kind.CONFLICT, "the newest version is not the expected")
VERSION_NOT_HIGHER = ErrorCode(
    "E14005", Kind.INVALID_ARGUMENT, "a new version must be higher than the newest"
)
TEXT_TOO_LARGE = ErrorCode("E14006", Kind.INVALID_ARGUMENT, "text longer than the limit")
NOT_READY = ErrorCode("E14007", Kind.UNAVAILABLE, "the skill index is loading; retry")
UPSTREAM_FAILED = ErrorCode("E14008", Kind.UNAVAILABLE, "L01, L04 or L13 failed; retry")
UNAUTHENTICATED = ErrorCode("E14009", Kind.UNAUTHENTICATED, "missing or invalid bearer token")
UPSTREAM_LIMITED = ErrorCode(
    "E14010", Kind.RESOURCE_EXHAUSTED, "a limit of L04 (or L01) was reached"
)
