"""Which tenant an L04 request acts in: its caller's; another only for an admin, named."""

import pytest

from services.kit import Caller, PlatformError
from services.l04_models.tenancy import agent_owner, bound_tenant

pytestmark = [pytest.mark.unit, pytest.mark.l04]

ALICE = Caller("alice", "acme", ("model_user",))
ROOT = Caller("root", "root", ("admin",))


def test_a_request_acts_in_its_callers_tenant_whether_or_not_it_says_so() -> None:
    assert bound_tenant(ALICE, "") == "acme"
    assert bound_tenant(ALICE, "acme") == "acme"


def test_naming_another_tenant_is_permission_denied_with_e4013() -> None:
    with pytest.raises(PlatformError) as caught:
        bound_tenant(ALICE, "globex", "request.tenant_id")
    error = caught.value
    assert error.code == "E4013" and error.error.kind.name == "PERMISSION_DENIED"
    assert error.field == "request.tenant_id"
    assert "'acme'" in error.message and "'globex'" in error.message


def test_an_admin_acts_for_the_tenant_it_names_if_the_name_is_valid() -> None:
    assert bound_tenant(ROOT, "globex") == "globex"
    assert bound_tenant(ROOT, "") == "root"
    # "#" joins a tenant and its agents (agent_owner): no tenant may hold it.
    for bad in ("a b", "x#y", "t" * 257):
        with pytest.raises(PlatformError) as caught:
            bound_tenant(ROOT, bad)
        assert caught.value.code == "E4002" and caught.value.field == "tenant_id"


def test_agents_are_named_inside_their_tenant() -> None:
    assert agent_owner("acme", "bot") != agent_owner("globex", "bot")
    assert agent_owner("acme", "") == ""
