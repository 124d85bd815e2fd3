"""L03 asks L08 before a sensitive tool runs (through Envoy, with the real L08 and its
policies): allowed runs, denied is 403 with the reasons, escalated waits for a person and
then runs once; a rejection is final."""

from __future__ import annotations

import grpc
import httpx
import pytest

from agentic.data.v1 import event_store_pb2_grpc
from agentic.supervision.v1 import approvals_pb2 as ap_pb
from agentic.supervision.v1 import approvals_pb2_grpc as ap_grpc
from agentic.tools.v1 import tools_pb2 as pb
from agentic.tools.v1 import tools_pb2_grpc
from tests.l03.support import TIMEOUT, executions_in, unique
from tests.l08.support import APPROVAL_POLICIES, deploy
from tests.support import error_metadata, platform_code, rest_reason, struct

pytestmark = [pytest.mark.integration, pytest.mark.l03, pytest.mark.l08]


@pytest.fixture(autouse=True)
async def approval_policies(gateway_channel: grpc.aio.Channel) -> None:
    await deploy(gateway_channel, APPROVAL_POLICIES, "tool approvals")


def _shell(workspace: str, *argv: str, key: str = "") -> pb.ExecuteRequest:
    return pb.ExecuteRequest(
        name="tools/shell",
        arguments=struct({"argv": list(argv)}),
        workspace=workspace,
        idempotency_key=key,
    )


async def _refused(
    tools: tools_pb2_grpc.ToolServiceStub, request: pb.ExecuteRequest
) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await tools.Execute(request, timeout=TIMEOUT)
    return refused.value


async def test_an_allowed_sensitive_call_runs_at_once(
    tools: tools_pb2_grpc.ToolServiceStub,
    store_via_gateway: event_store_pb2_grpc.EventStoreServiceStub,
) -> None:
    workspace = unique("ws")
    reply = await tools.Execute(_shell(workspace, "echo", "hello"), timeout=TIMEOUT)
    assert (reply.exit_code, reply.stdout) == (0, "hello\n")
    assert await executions_in(store_via_gateway, "shell", workspace) == 1


async def test_an_escalated_call_waits_then_runs_once_approved(
    tools: tools_pb2_grpc.ToolServiceStub,
    gateway_channel: grpc.aio.Channel,
    store_via_gateway: event_store_pb2_grpc.EventStoreServiceStub,
) -> None:
    workspace, key = unique("ws"), unique("key")
    call = _shell(workspace, "echo", "needs-approval", key=key)
    waiting = await _refused(tools, call)
    assert waiting.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert platform_code(waiting) == "E3014"
    approval_id = error_metadata(waiting)["approval_id"]
    assert approval_id in (waiting.details() or "")
    again = await _refused(tools, call)  # asked again: the same approval, still nothing run
    assert error_metadata(again)["approval_id"] == approval_id
    assert await executions_in(store_via_gateway, "shell", workspace) == 0

    approvals = ap_grpc.ApprovalServiceStub(gateway_channel)
    pending = await approvals.GetApproval(ap_pb.GetApprovalRequest(id=approval_id))
    assert pending.approval.request_id == key
    assert pending.approval.resource.id == "shell"
    assert "needs-approval" in pending.approval.context["arguments"]
    await approvals.Approve(ap_pb.ApproveRequest(id=approval_id, comment="fine"))

    ran = await tools.Execute(call, timeout=TIMEOUT)
    assert (ran.stdout, ran.replayed) == ("needs-approval\n", False)
    replay = await tools.Execute(call, timeout=TIMEOUT)
    assert (replay.replayed, replay.execution) == (True, ran.execution)
    assert await executions_in(store_via_gateway, "shell", workspace) == 1


async def test_without_a_key_an_approval_runs_its_call_once(
    tools: tools_pb2_grpc.ToolServiceStub,
    gateway_channel: grpc.aio.Channel,
    store_via_gateway: event_store_pb2_grpc.EventStoreServiceStub,
) -> None:
    workspace = unique("ws")
    call = _shell(workspace, "echo", "needs-approval")
    approval_id = error_metadata(await _refused(tools, call))["approval_id"]
    await ap_grpc.ApprovalServiceStub(gateway_channel).Approve(ap_pb.ApproveRequest(id=approval_id))
    first = await tools.Execute(call, timeout=TIMEOUT)
    second = await tools.Execute(call, timeout=TIMEOUT)
    assert (first.replayed, second.replayed) == (False, True)
    assert await executions_in(store_via_gateway, "shell", workspace) == 1


async def test_a_denied_call_is_403_naming_the_policy_and_reason(
    rest: httpx.AsyncClient, store_via_gateway: event_store_pb2_grpc.EventStoreServiceStub
) -> None:
    workspace = unique("ws")
    response = await rest.post(
        "/v1/tools/shell:execute",
        json={"arguments": {"argv": ["echo", "never-allowed"]}, "workspace": workspace},
    )
    assert response.status_code == 403, response.text
    body = response.json()
    assert rest_reason(body) == "E3015"
    assert "this command is never allowed" in body["message"]
    (info,) = [d for d in body["details"] if d["@type"].endswith("ErrorInfo")]
    assert info["metadata"]["policies"] == "never-allowed"
    assert await executions_in(store_via_gateway, "shell", workspace) == 0


async def test_a_rejected_approval_refuses_the_call_with_the_comment(
    rest: httpx.AsyncClient, store_via_gateway: event_store_pb2_grpc.EventStoreServiceStub
) -> None:
    workspace = unique("ws")
    body = {
        "arguments": {"argv": ["echo", "needs-approval"]},
        "workspace": workspace,
        "idempotency_key": unique("key"),
    }
    waiting = await rest.post("/v1/tools/shell:execute", json=body)
    assert (waiting.status_code, rest_reason(waiting.json())) == (400, "E3014")
    (info,) = [d for d in waiting.json()["details"] if d["@type"].endswith("ErrorInfo")]
    approval_id = info["metadata"]["approval_id"]
    rejected = await rest.post(
        f"/v1/approvals/{approval_id}:reject", json={"comment": "not this week"}
    )
    assert rejected.status_code == 200, rejected.text
    refused = await rest.post("/v1/tools/shell:execute", json=body)
    assert (refused.status_code, rest_reason(refused.json())) == (403, "E3016")
    assert "not this week" in refused.json()["message"]
    assert await executions_in(store_via_gateway, "shell", workspace) == 0


async def test_a_registered_tool_marked_sensitive_is_asked_about(
    tools: tools_pb2_grpc.ToolServiceStub,
) -> None:
    name = unique("guarded").replace("-", "_")
    tool = pb.Tool(
        name=f"tools/{name}",
        description="prints its note",
        kind=pb.TOOL_KIND_PYTHON,
        source="import sys, json; print(json.load(sys.stdin)['note'])",
        sensitive=True,
    )
    tool.parameters.update(
        {"type": "object", "properties": {"note": {"type": "string"}}, "required": ["note"]}
    )
    await tools.RegisterTool(pb.RegisterToolRequest(tool=tool))
    got = await tools.GetTool(pb.GetToolRequest(name=f"tools/{name}"))
    assert got.tool.sensitive
    waiting = await _refused(
        tools, pb.ExecuteRequest(name=f"tools/{name}", arguments=struct({"note": "needs-approval"}))
    )
    assert platform_code(waiting) == "E3014"
    ran = await tools.Execute(
        pb.ExecuteRequest(name=f"tools/{name}", arguments=struct({"note": "plain"})),
        timeout=TIMEOUT,
    )
    assert ran.stdout == "plain\n"
