"""L13's error catalog (E13000-E13999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCatalog, Kind
from services.kit.layers import layer_by_key

CATALOG = ErrorCatalog(layer_by_key("l13"))

DOMAIN = CATALOG.domain

INTERNAL = CATALOG.internal
UNAUTHENTICATED = CATALOG.unauthenticated
INVALID_ROLE = CATALOG.invalid_argument
INVALID_ARGUMENT = CATALOG.invalid_argument
ROLE_NOT_FOUND = CATALOG.code("E13003", Kind.NOT_FOUND, "no such role (or revision)")
REVISION_CONFLICT = CATALOG.code("E13004", Kind.CONFLICT, "the role's revision is not the expected")
ROLE_EXISTS = CATALOG.code("E13005", Kind.ALREADY_EXISTS, "a role of that name exists")
ROLE_DEPRECATED = CATALOG.code("E13006", Kind.FAILED_PRECONDITION, "the role is deprecated")
TEXT_TOO_LARGE = CATALOG.code("E13007", Kind.INVALID_ARGUMENT, "text longer than the limit")
NOT_READY = CATALOG.code("E13008", Kind.UNAVAILABLE, "the role index is loading; retry")
UPSTREAM_FAILED = CATALOG.code("E13009", Kind.UNAVAILABLE, "L01, L03 or L04 failed; retry")
UPSTREAM_LIMITED = CATALOG.code(
    "E13010", Kind.RESOURCE_EXHAUSTED, "a limit of L04 (or L01) was reached"
)
