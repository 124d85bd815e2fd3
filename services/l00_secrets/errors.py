"""L00's error catalog (E0001-E0999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCode, Kind

DOMAIN = "secrets.agentic"

INTERNAL = ErrorCode("E0001", Kind.INTERNAL, "internal error")
UNAUTHENTICATED = ErrorCode("E0002", Kind.UNAUTHENTICATED, "missing or invalid bearer token")
INVALID_ARGUMENT = ErrorCode("E0003", Kind.INVALID_ARGUMENT, "invalid request field")
# The same answer whether the secret exists or not: a caller learns nothing of names it may
# not see.
PERMISSION_DENIED = ErrorCode(
    "E0004", Kind.PERMISSION_DENIED, "no access to the secret, or no such secret"
)
VERSION_NOT_FOUND = ErrorCode("E0005", Kind.NOT_FOUND, "no such version of the secret")
ALREADY_EXISTS = ErrorCode("E0006", Kind.ALREADY_EXISTS, "a secret with that name exists")
VERSION_DISABLED = ErrorCode("E0007", Kind.FAILED_PRECONDITION, "the version is disabled")
VERSION_DESTROYED = ErrorCode("E0008", Kind.FAILED_PRECONDITION, "the version was destroyed")
VALUE_TOO_LARGE = ErrorCode("E0009", Kind.INVALID_ARGUMENT, "the value is over 64 KiB")
CONFLICT = ErrorCode("E0010", Kind.CONFLICT, "the secret changed concurrently; retry")
STORE_UNAVAILABLE = ErrorCode("E0011", Kind.UNAVAILABLE, "the secret store is unreachable")
KEY_UNAVAILABLE = ErrorCode(
    "E0012", Kind.FAILED_PRECONDITION, "the master key that wrapped this version is not loaded"
)
TOO_MANY_VERSIONS = ErrorCode("E0013", Kind.FAILED_PRECONDITION, "the secret has 1,000 versions")
KEYRING_INVALID = ErrorCode(
    "E0014", Kind.FAILED_PRECONDITION, "the master keyring is missing or malformed"
)
