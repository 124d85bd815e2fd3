"""L05's error catalog (E5000-E5999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCatalog, Kind
from services.kit.layers import layer_by_key

# E5001 is the contract's "plan refused": the standard codes follow it.
CATALOG = ErrorCatalog(layer_by_key("l05"), unauthenticated="E5002", invalid_argument="E5003")

DOMAIN = CATALOG.domain

INTERNAL = CATALOG.internal
PLAN_INVALID = CATALOG.code(
    "E5001", Kind.FAILED_PRECONDITION, "the model's plan was refused twice by the validator"
)
UNAUTHENTICATED = CATALOG.unauthenticated
INVALID_ARGUMENT = CATALOG.invalid_argument
GOAL_NOT_FOUND = CATALOG.code("E5004", Kind.NOT_FOUND, "no such goal")
GOAL_EXISTS = CATALOG.code("E5005", Kind.ALREADY_EXISTS, "a goal with this id exists")
GOAL_ENDED = CATALOG.code("E5006", Kind.FAILED_PRECONDITION, "the goal has already ended")
NOT_WAITING = CATALOG.code(
    "E5007", Kind.FAILED_PRECONDITION, "the goal is not waiting for an approval"
)
ENGINE_UNAVAILABLE = CATALOG.code(
    "E5008", Kind.UNAVAILABLE, "the workflow engine (Temporal) is unreachable; retry"
)
NOT_OWNER = CATALOG.code("E5009", Kind.PERMISSION_DENIED, "the goal belongs to another principal")
NOT_AN_APPROVER = CATALOG.code(
    "E5010",
    Kind.PERMISSION_DENIED,
    "L08 does not let the caller decide approvals (the approver or admin role decides)",
)
SUPERVISION_UNAVAILABLE = CATALOG.code(
    "E5011", Kind.UNAVAILABLE, "the supervision layer (L08) did not answer; retry"
)
