"""L08's error catalog (E8000-E8999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCatalog, Kind
from services.kit.layers import layer_by_key

CATALOG = ErrorCatalog(layer_by_key("l08"))

DOMAIN = CATALOG.domain

INTERNAL = CATALOG.internal
UNAUTHENTICATED = CATALOG.unauthenticated
INVALID_ARGUMENT = CATALOG.invalid_argument
INVALID_POLICY = CATALOG.code(
    "E8003", Kind.INVALID_ARGUMENT, "the policies do not parse or validate against the schema"
)
VERSION_NOT_FOUND = CATALOG.code("E8004", Kind.NOT_FOUND, "no such policy version")
APPROVAL_NOT_FOUND = CATALOG.code("E8005", Kind.NOT_FOUND, "no such approval")
ALREADY_DECIDED = CATALOG.code(
    "E8006", Kind.FAILED_PRECONDITION, "the approval was already approved or rejected"
)
APPROVAL_EXPIRED = CATALOG.code("E8007", Kind.FAILED_PRECONDITION, "the approval expired")
STORE_UNAVAILABLE = CATALOG.code("E8008", Kind.UNAVAILABLE, "L01 is unreachable; retry")
DEPLOY_CONFLICT = CATALOG.code(
    "E8009", Kind.CONFLICT, "another version was deployed since expected_version"
)
COUNTERS_UNAVAILABLE = CATALOG.code(
    "E8010", Kind.UNAVAILABLE, "the call counters (Redis) are unreachable; retry"
)
NOT_AN_APPROVER = CATALOG.code(
    "E8011",
    Kind.PERMISSION_DENIED,
    "only a caller in the approver or admin role may approve or reject",
)
