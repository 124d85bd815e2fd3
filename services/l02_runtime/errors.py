"""L02's error catalog (E2000-E2999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCode, Kind

DOMAIN = "runtime.agentic"

INTERNAL = ErrorCode("E2000", Kind.INTERNAL, "internal error")
UNAUTHENTICATED = ErrorCode("E2001", Kind.UNAUTHENTICATED, "missing or invalid bearer token")
INVALID_ARGUMENT = ErrorCode("E2002", Kind.INVALID_ARGUMENT, "invalid request field")
AGENT_NOT_FOUND = ErrorCode("E2003", Kind.NOT_FOUND, "no such agent")
ILLEGAL_TRANSITION = ErrorCode(
    "E2004", Kind.FAILED_PRECONDITION, "the agent's state does not allow this"
)
AGENT_EXISTS = ErrorCode("E2005", Kind.ALREADY_EXISTS, "an agent with this id exists")
RUN_IN_PROGRESS = ErrorCode(
    "E2006", Kind.FAILED_PRECONDITION, "the agent is already running a task"
)
BUDGET_SPENT = ErrorCode("E2007", Kind.RESOURCE_EXHAUSTED, "the agent's budget is spent")
RUN_NOT_FOUND = ErrorCode("E2008", Kind.NOT_FOUND, "no such run")
CONFLICT = ErrorCode("E2009", Kind.CONFLICT, "the agent changed concurrently; retry")
ENGINE_UNAVAILABLE = ErrorCode(
    "E2010", Kind.UNAVAILABLE, "the workflow engine (Temporal) is unreachable; retry"
)
NOT_OWNER = ErrorCode("E2011", Kind.PERMISSION_DENIED, "the agent belongs to another principal")
