"""Whose limits, budgets, usage and cached answers a request touches: its caller's tenant.

The tenant is the authenticated caller's (``services.kit.Caller``: an API key's record, a
JWT's ``tenant`` claim, else the principal; forwarded by the gateway). A ``tenant_id`` in a
request only restates it: naming another tenant is refused (E4013), except for admins, who
act for the tenant they name. Agent ids are names inside a tenant: every key an agent's
limits, budget and usage live under is the tenant's, so two tenants naming the same agent
id never share anything.
"""

from __future__ import annotations

from services.kit import Caller, PlatformError
from services.kit.auth import NAME_PATTERN
from services.l04_models import errors
from services.l04_models.validation import invalid

# Joins a tenant and one of its agents in storage keys: tenants cannot contain it.
AGENT_SEPARATOR = "#"


def agent_owner(tenant: str, agent: str) -> str:
    """An agent's name in storage keys, ``<tenant>#<agent>``; "" when no agent is named."""
    return f"{tenant}{AGENT_SEPARATOR}{agent}" if agent else ""


def bound_tenant(caller: Caller, requested: str, field: str = "tenant_id") -> str:
    """The tenant a request acts in: the caller's, or for an admin the one it names."""
    if not requested or requested == caller.tenant:
        return caller.tenant
    if not caller.admin:
        raise PlatformError(
            errors.OTHER_TENANT,
            f"{field}: {caller.principal} acts in tenant {caller.tenant!r} and may not name "
            f"{requested!r}; leave it empty (only admins act for other tenants)",
            field=field,
            metadata={"caller_tenant": caller.tenant},
        )
    if not NAME_PATTERN.fullmatch(requested):
        raise invalid(field, "1-256 letters, digits or any of @._:+-/|")
    return requested
