"""L00's error catalog (E0000-E0999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCatalog, Kind
from services.kit.layers import layer_by_key

CATALOG = ErrorCatalog(layer_by_key("l00"))

DOMAIN = CATALOG.domain

INTERNAL = CATALOG.internal
UNAUTHENTICATED = CATALOG.unauthenticated
INVALID_ARGUMENT = CATALOG.invalid_argument
# The same answer whether the secret exists or not: a caller learns nothing of names it may
# not see.
PERMISSION_DENIED = CATALOG.code(
    "E0004", Kind.PERMISSION_DENIED, "no access to the secret, or no such secret"
)
VERSION_NOT_FOUND = CATALOG.code("E0005", Kind.NOT_FOUND, "no such version of the secret")
ALREADY_EXISTS = CATALOG.code("E0006", Kind.ALREADY_EXISTS, "a secret with that name exists")
VERSION_DISABLED = CATALOG.code("E0007", Kind.FAILED_PRECONDITION, "the version is disabled")
VERSION_DESTROYED = CATALOG.code("E0008", Kind.FAILED_PRECONDITION, "the version was destroyed")
VALUE_TOO_LARGE = CATALOG.code("E0009", Kind.INVALID_ARGUMENT, "the value is over 64 KiB")
CONFLICT = CATALOG.code("E0010", Kind.CONFLICT, "the secret changed concurrently; retry")
STORE_UNAVAILABLE = CATALOG.code("E0011", Kind.UNAVAILABLE, "the secret store is unreachable")
KEY_UNAVAILABLE = CATALOG.code(
    "E0012", Kind.FAILED_PRECONDITION, "the master key that wrapped this version is not loaded"
)
TOO_MANY_VERSIONS = CATALOG.code("E0013", Kind.FAILED_PRECONDITION, "the secret has 1,000 versions")
KEYRING_INVALID = CATALOG.code(
    "E0014", Kind.FAILED_PRECONDITION, "the master keyring is missing or malformed"
)
