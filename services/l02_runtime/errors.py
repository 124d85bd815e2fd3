"""L02's error catalog (E2000-E2999). Codes are stable: clients match on them."""

from services.kit.errors import ErrorCatalog, Kind
from services.kit.layers import layer_by_key

CATALOG = ErrorCatalog(layer_by_key("l02"))

DOMAIN = CATALOG.domain

INTERNAL = CATALOG.internal
UNAUTHENTICATED = CATALOG.unauthenticated
INVALID_ARGUMENT = CATALOG.invalid_argument
AGENT_NOT_FOUND = CATALOG.code("E2003", Kind.NOT_FOUND, "no such agent")
ILLEGAL_TRANSITION = CATALOG.code(
    "E2004", Kind.FAILED_PRECONDITION, "the agent's state does not allow this"
)
AGENT_EXISTS = CATALOG.code("E2005", Kind.ALREADY_EXISTS, "an agent with this id exists")
RUN_IN_PROGRESS = CATALOG.code(
    "E2006", Kind.FAILED_PRECONDITION, "the agent is already running a task"
)
BUDGET_SPENT = CATALOG.code("E2007", Kind.RESOURCE_EXHAUSTED, "the agent's budget is spent")
RUN_NOT_FOUND = CATALOG.code("E2008", Kind.NOT_FOUND, "no such run")
CONFLICT = CATALOG.code("E2009", Kind.CONFLICT, "the agent changed concurrently; retry")
ENGINE_UNAVAILABLE = CATALOG.code(
    "E2010", Kind.UNAVAILABLE, "the workflow engine (Temporal) is unreachable; retry"
)
NOT_OWNER = CATALOG.code("E2011", Kind.PERMISSION_DENIED, "the agent belongs to another principal")
