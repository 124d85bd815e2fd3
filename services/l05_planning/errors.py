"""L05's error catalog (E5000-E5999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCode, Kind

DOMAIN = "planning.agentic"

INTERNAL = ErrorCode("E5000", Kind.INTERNAL, "internal error")
PLAN_INVALID = ErrorCode(
    "E5001", Kind.FAILED_PRECONDITION, "the model's plan was refused twice by the validator"
)
UNAUTHENTICATED = ErrorCode("E5002", Kind.UNAUTHENTICATED, "missing or invalid bearer token")
INVALID_ARGUMENT = ErrorCode("E5003", Kind.INVALID_ARGUMENT, "invalid request field")
GOAL_NOT_FOUND = ErrorCode("E5004", Kind.NOT_FOUND, "no such goal")
GOAL_EXISTS = ErrorCode("E5005", Kind.ALREADY_EXISTS, "a goal with this id exists")
GOAL_ENDED = ErrorCode("E5006", Kind.FAILED_PRECONDITION, "the goal has already ended")
NOT_WAITING = ErrorCode(
    "E5007", Kind.FAILED_PRECONDITION, "the goal is not waiting for an approval"
)
ENGINE_UNAVAILABLE = ErrorCode(
    "E5008", Kind.UNAVAILABLE, "the workflow engine (Temporal) is unreachable; retry"
)
NOT_OWNER = ErrorCode("E5009", Kind.PERMISSION_DENIED, "the goal belongs to another principal")
