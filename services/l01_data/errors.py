"""L01's error catalog (E1000-E1999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCode, Kind

DOMAIN = "data.agentic"

INTERNAL = ErrorCode("E1000", Kind.INTERNAL, "internal error")
UNAUTHENTICATED = ErrorCode("E1001", Kind.UNAUTHENTICATED, "missing or invalid bearer token")
INVALID_ARGUMENT = ErrorCode("E1002", Kind.INVALID_ARGUMENT, "invalid request field")
EVENT_TOO_LARGE = ErrorCode("E1003", Kind.INVALID_ARGUMENT, "event larger than the limit")
BATCH_TOO_LARGE = ErrorCode("E1004", Kind.INVALID_ARGUMENT, "too many events in one append")
WRONG_EXPECTED_VERSION = ErrorCode("E1005", Kind.CONFLICT, "stream version differs from expected")
EVENT_ID_REUSED = ErrorCode("E1006", Kind.ALREADY_EXISTS, "event id already used elsewhere")
STORE_UNAVAILABLE = ErrorCode("E1007", Kind.UNAVAILABLE, "database unavailable; retry")
