"""L08 policies and decisions through the gateway: validation with reasons, deny wins,
escalation, rate constraints, rollback, the decision log, bad input."""

from __future__ import annotations

import asyncio

import grpc
import httpx
import pytest

from agentic.data.v1 import event_store_pb2 as ev_pb
from agentic.data.v1 import event_store_pb2_grpc as ev_grpc
from agentic.supervision.v1 import decisions_pb2 as de_pb
from agentic.supervision.v1 import decisions_pb2_grpc as de_grpc
from agentic.supervision.v1 import policies_pb2 as po_pb
from agentic.supervision.v1 import policies_pb2_grpc as po_grpc
from agentic.supervision.v1 import resources_pb2 as res_pb
from tests.l08.support import TOOL_POLICIES, agent, call_tool, deploy, tool
from tests.support import error_metadata, platform_code, rest_reason

pytestmark = [pytest.mark.integration, pytest.mark.l08]


async def test_an_invalid_policy_is_refused_with_the_validators_reasons(
    gateway_channel: grpc.aio.Channel, rest: httpx.AsyncClient
) -> None:
    stub = po_grpc.PolicyServiceStub(gateway_channel)
    listed = po_pb.ListPolicyVersionsRequest(page_size=1000)
    before = len((await stub.ListPolicyVersions(listed)).versions)
    bad = 'permit (principal, action == Agentic::Action::"launch_missiles", resource);'
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.DeployPolicies(po_pb.DeployPoliciesRequest(text=bad))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert platform_code(refused.value) == "E8003"
    assert "unrecognized action" in refused.value.details()
    assert "launch_missiles" in error_metadata(refused.value)["problems"]

    typo = 'forbid (principal, action, resource) when { resource.colour == "red" };'
    checked = await stub.ValidatePolicies(po_pb.ValidatePoliciesRequest(text=typo))
    assert not checked.valid and checked.problems

    response = await rest.post("/v1/policies:deploy", json={"text": "permit (principal,"})
    assert (response.status_code, rest_reason(response.json())) == (400, "E8003")
    assert len((await stub.ListPolicyVersions(listed)).versions) == before  # nothing deployed


async def test_deny_wins_escalation_and_allow(gateway_channel: grpc.aio.Channel) -> None:
    await deploy(gateway_channel, TOOL_POLICIES)
    decide = de_grpc.DecisionServiceStub(gateway_channel).Evaluate
    allowed = await decide(call_tool(agent(), tool("search.web")))
    assert allowed.decision == res_pb.DECISION_ALLOW
    assert [p.id for p in allowed.policies] == ["tools-allowed"]

    denied = await decide(
        call_tool(agent(), tool("db.drop", category="delete", sensitive=True), target="production")
    )
    assert denied.decision == res_pb.DECISION_DENY  # a permit and an escalate applied too
    assert [p.id for p in denied.policies] == ["no-prod-deletes"]
    assert denied.reasons == ["deleting in production is never allowed"]

    escalated = await decide(call_tool(agent(), tool("shell.exec", sensitive=True)))
    assert escalated.decision == res_pb.DECISION_ESCALATE
    assert escalated.approval.state == res_pb.APPROVAL_STATE_PENDING
    assert escalated.approval.reasons == ["the tool is marked sensitive"]

    nothing = await decide(
        de_pb.EvaluateRequest(
            principal=agent(), action="call_model", resource=res_pb.Entity(type="Model", id="m")
        )
    )
    assert nothing.decision == res_pb.DECISION_DENY
    assert nothing.reasons == ["no policy permits this request"]


async def test_a_rate_is_expressed_in_policy(gateway_channel: grpc.aio.Channel) -> None:
    await deploy(gateway_channel, TOOL_POLICIES)
    decide = de_grpc.DecisionServiceStub(gateway_channel).Evaluate
    caller = agent()
    answers = [await decide(call_tool(caller, tool("search.web"))) for _ in range(7)]
    assert [a.decision for a in answers] == [res_pb.DECISION_ALLOW] * 5 + [res_pb.DECISION_DENY] * 2
    assert answers[-1].policies[0].id == "rate-limit"
    assert answers[-1].context["calls_last_minute"] == 7
    other = await decide(call_tool(agent(), tool("search.web")))
    assert other.decision == res_pb.DECISION_ALLOW  # counted per principal


async def test_rollback_deploys_an_old_version_again(gateway_channel: grpc.aio.Channel) -> None:
    stub = po_grpc.PolicyServiceStub(gateway_channel)
    decide = de_grpc.DecisionServiceStub(gateway_channel).Evaluate
    lenient = await deploy(gateway_channel, TOOL_POLICIES, "lenient")
    await deploy(
        gateway_channel,
        '@id("lockdown") @reason("lockdown") forbid (principal, action, resource);\n'
        + TOOL_POLICIES,
        "lockdown",
    )
    assert (await decide(call_tool(agent(), tool("search.web")))).decision == res_pb.DECISION_DENY

    rolled = await stub.RollbackPolicies(po_pb.RollbackPoliciesRequest(version=lenient))
    assert rolled.version.rolled_back_from == lenient
    assert rolled.version.text == TOOL_POLICIES and rolled.version.active
    assert (await decide(call_tool(agent(), tool("search.web")))).decision == res_pb.DECISION_ALLOW

    listed = await stub.ListPolicyVersions(po_pb.ListPolicyVersionsRequest(page_size=3))
    numbers = [v.version for v in listed.versions]
    assert numbers == sorted(numbers, reverse=True) and numbers[0] == rolled.version.version
    assert [v.active for v in listed.versions] == [True, False, False]
    assert listed.versions[1].description == "lockdown" and not listed.versions[1].text
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.RollbackPolicies(po_pb.RollbackPoliciesRequest(version=10_000))
    assert platform_code(missing.value) == "E8004"


async def test_every_decision_is_in_the_decision_log(
    gateway_channel: grpc.aio.Channel, l01_channel: grpc.aio.Channel
) -> None:
    await deploy(gateway_channel, TOOL_POLICIES)
    decide = de_grpc.DecisionServiceStub(gateway_channel).Evaluate
    caller = agent()
    await decide(call_tool(caller, tool("search.web")))
    await decide(call_tool(caller, tool("db.drop", category="delete"), target="production"))
    store = ev_grpc.EventStoreServiceStub(l01_channel)
    for _ in range(100):  # appended in the background, within a fraction of a second
        page = await store.ReadStream(
            ev_pb.ReadStreamRequest(
                stream_id="supervision.decisions",
                from_version=-1,
                direction=ev_pb.READ_DIRECTION_BACKWARDS,
                max_count=200,
            )
        )
        mine = [e for e in page.events if e.data["principal"]["id"] == caller.id]
        if len(mine) == 2:
            break
        await asyncio.sleep(0.05)
    assert sorted(e.data["decision"] for e in mine) == ["allow", "deny"]
    denial = next(e for e in mine if e.data["decision"] == "deny")
    assert list(denial.data["policies"]) == ["no-prod-deletes"]
    assert denial.data["requester"] == "dev" and denial.type == "decision.made"


def _request(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "action": "call_tool",
        "principal": {"type": "Agent", "id": "a"},
        "resource": {"type": "Tool", "id": "t"},
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_request(action=None), "action"),
        (_request(action="fly"), "action"),
        (_request(principal={"type": "Agent"}), "principal.id"),
        (_request(resource={"id": "t"}), "resource.type"),
        (_request(context={"hour": 3}), "context.hour"),
        (
            _request(resource={"type": "Tool", "id": "t", "attributes": {"sensitive": "yes"}}),
            "context",
        ),
        (_request(context={"unknown": 1}), "context"),
        (_request(context={"target": "x" * 70_000}), "context"),
    ],
)
async def test_bad_requests_name_the_field(
    gateway_channel: grpc.aio.Channel, rest: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    await deploy(gateway_channel, TOOL_POLICIES)
    response = await rest.post("/v1/decisions:evaluate", json=body)
    assert response.status_code == 400, response.text
    assert rest_reason(response.json()) == "E8002"
    assert field in response.json()["message"]


async def test_evaluate_over_rest(
    gateway_channel: grpc.aio.Channel, rest: httpx.AsyncClient
) -> None:
    await deploy(gateway_channel, TOOL_POLICIES)
    response = await rest.post(
        "/v1/decisions:evaluate",
        json={
            "action": "call_tool",
            "principal": {"type": "Agent", "id": "rest-agent", "roles": ["operator"]},
            "resource": {"type": "Tool", "id": "search.web"},
            "context": {"cost_cents": 12},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] == "DECISION_ALLOW"
    assert body["policies"][0]["id"] == "tools-allowed"
    assert body["context"]["cost_cents"] == 12 and "hour" in body["context"]
