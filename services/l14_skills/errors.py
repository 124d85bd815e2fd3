"""L14's error catalog (E14000-E14999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCatalog, Kind
from services.kit.layers import layer_by_key

# E14001 is the contract's "invalid skill" (every reason listed): the standard codes follow it.
CATALOG = ErrorCatalog(layer_by_key("l14"), invalid_argument="E14001", unauthenticated="E14009")

DOMAIN = CATALOG.domain

INTERNAL = CATALOG.internal
INVALID_SKILL = CATALOG.invalid_argument
INVALID_ARGUMENT = CATALOG.invalid_argument
SKILL_NOT_FOUND = CATALOG.code("E14002", Kind.NOT_FOUND, "no such skill, version or skill set")
SKILL_EXISTS = CATALOG.code("E14003", Kind.ALREADY_EXISTS, "a skill of that name exists")
VERSION_CONFLICT = CATALOG.code("E14004", Kind.CONFLICT, "the newest version is not the expected")
VERSION_NOT_HIGHER = CATALOG.code(
    "E14005", Kind.INVALID_ARGUMENT, "a new version must be higher than the newest"
)
TEXT_TOO_LARGE = CATALOG.code("E14006", Kind.INVALID_ARGUMENT, "text longer than the limit")
NOT_READY = CATALOG.code("E14007", Kind.UNAVAILABLE, "the skill index is loading; retry")
UPSTREAM_FAILED = CATALOG.code("E14008", Kind.UNAVAILABLE, "L01, L03, L04 or L13 failed; retry")
UNAUTHENTICATED = CATALOG.unauthenticated
UPSTREAM_LIMITED = CATALOG.code(
    "E14010", Kind.RESOURCE_EXHAUSTED, "a limit of L04 (or L01) was reached"
)
