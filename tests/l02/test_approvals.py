"""An agent run whose tool call needs a person's approval (L08), through the real mesh: the
run waits (visible as a step and in the workflow's query), resumes where it stopped once
approved and runs the tool exactly once (counted in L03's events), reports a rejection or an
expiry to the model as the tool's result, and survives a `kill -9` of L08 while it waits."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import grpc
import pytest
from temporalio.client import Client

from agentic.data.v1 import event_store_pb2_grpc
from agentic.runtime.v1 import agents_pb2 as pb
from agentic.runtime.v1 import agents_pb2_grpc
from agentic.supervision.v1 import approvals_pb2 as ap_pb
from agentic.supervision.v1 import approvals_pb2_grpc as ap_grpc
from agentic.supervision.v1 import resources_pb2 as res_pb
from services.kit import open_channel
from tests.conftest import RunningMesh
from tests.l02.conftest import RuntimeProcess, ScriptedModel, call_tool, finish
from tests.l03.support import executions_in, unique
from tests.l08.support import APPROVAL_POLICIES, deploy
from tests.support import DEV_TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.l02, pytest.mark.l08]


@pytest.fixture(autouse=True)
async def approval_policies(gateway_channel: grpc.aio.Channel) -> None:
    await deploy(gateway_channel, APPROVAL_POLICIES, "agent approvals")


@pytest.fixture
async def runtime(
    scripted_runtime: RuntimeProcess,
) -> AsyncIterator[agents_pb2_grpc.AgentServiceStub]:
    async with open_channel(scripted_runtime.target, token=DEV_TOKEN) as channel:
        yield agents_pb2_grpc.AgentServiceStub(channel)


@pytest.fixture
def approvals(gateway_channel: grpc.aio.Channel) -> ap_grpc.ApprovalServiceStub:
    return ap_grpc.ApprovalServiceStub(gateway_channel)


@pytest.fixture
def events(gateway_channel: grpc.aio.Channel) -> event_store_pb2_grpc.EventStoreServiceStub:
    return event_store_pb2_grpc.EventStoreServiceStub(gateway_channel)


async def _start(
    runtime: agents_pb2_grpc.AgentServiceStub,
    model: ScriptedModel,
    marker: str,
    workspace: str,
) -> tuple[str, str]:
    """An agent whose model calls shell with ``marker`` once, then finishes with whatever
    the tool answered; returns the agent's name and the run's workflow id."""
    agent_id = unique("approver")
    await runtime.CreateAgent(
        pb.CreateAgentRequest(
            agent=pb.Agent(display_name="careful", allowed_tools=["shell"]), agent_id=agent_id
        )
    )
    model.scripts[agent_id] = [call_tool("shell", argv=["echo", marker]), finish("done")]
    name = f"agents/{agent_id}"
    started = await runtime.RunAgent(
        pb.RunAgentRequest(name=name, task="say the word", workspace=workspace)
    )
    run_id = started.run.name.split("/")[-1]
    return name, f"agent-{agent_id}-run-{run_id}"


async def _pending_approval(
    runtime: agents_pb2_grpc.AgentServiceStub,
    approvals: ap_grpc.ApprovalServiceStub,
    name: str,
    workflow_id: str,
) -> res_pb.Approval:
    """Waits until the run's tool call waits: its step says so and L08 holds the approval."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = (await runtime.GetAgent(pb.GetAgentRequest(name=name))).run
        waiting = [s for s in run.steps if s.kind == "waiting_approval"]
        if waiting:
            assert run.status == pb.RUN_STATUS_RUNNING
            listed = await approvals.ListApprovals(
                ap_pb.ListApprovalsRequest(state=res_pb.APPROVAL_STATE_PENDING)
            )
            (approval,) = [a for a in listed.approvals if a.request_id == f"{workflow_id}/step-1"]
            assert approval.id in waiting[0].text and waiting[0].tool == "shell"
            return approval
        await asyncio.sleep(0.2)
    raise AssertionError(f"the run of {name} never waited for an approval")


async def _finished(runtime: agents_pb2_grpc.AgentServiceStub, name: str) -> pb.GetAgentResponse:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reply = await runtime.GetAgent(pb.GetAgentRequest(name=name))
        if reply.run.status not in (pb.RUN_STATUS_UNSPECIFIED, pb.RUN_STATUS_RUNNING):
            return reply
        await asyncio.sleep(0.2)
    raise AssertionError(f"the run of {name} did not finish: {reply}")


async def test_a_waiting_tool_call_resumes_once_approved_and_runs_once(
    mesh: RunningMesh,
    runtime: agents_pb2_grpc.AgentServiceStub,
    scripted_model: tuple[ScriptedModel, int],
    approvals: ap_grpc.ApprovalServiceStub,
    events: event_store_pb2_grpc.EventStoreServiceStub,
) -> None:
    workspace = unique("ws")
    name, workflow_id = await _start(runtime, scripted_model[0], "needs-approval", workspace)
    approval = await _pending_approval(runtime, approvals, name, workflow_id)

    temporal = await Client.connect(mesh.settings.effective_temporal_address)
    progress = await temporal.get_workflow_handle(workflow_id).query("progress")
    assert progress["waiting_approval"] == approval.id and progress["step"] == 1
    await asyncio.sleep(1.0)  # waiting, it runs nothing and asks the model nothing
    assert await executions_in(events, "shell", workspace) == 0
    assert len(scripted_model[0].requests[name.split("/")[1]]) == 1

    await approvals.Approve(ap_pb.ApproveRequest(id=approval.id, comment="go ahead"))
    done = await _finished(runtime, name)
    assert done.run.status == pb.RUN_STATUS_COMPLETED
    (tool_step,) = [s for s in done.run.steps if s.kind == "tool"]
    assert (tool_step.number, tool_step.text, tool_step.exit_code) == (1, "needs-approval\n", 0)
    assert await executions_in(events, "shell", workspace) == 1
    assert done.agent.tool_calls == 1
    fed_back = scripted_model[0].requests[name.split("/")[1]][1].messages[-1].content
    assert "needs-approval" in fed_back  # the model read the output of the approved call
    after = await temporal.get_workflow_handle(workflow_id).query("progress")
    assert after["waiting_approval"] == ""


async def test_a_rejected_tool_call_is_reported_to_the_model_and_the_run_goes_on(
    runtime: agents_pb2_grpc.AgentServiceStub,
    scripted_model: tuple[ScriptedModel, int],
    approvals: ap_grpc.ApprovalServiceStub,
    events: event_store_pb2_grpc.EventStoreServiceStub,
) -> None:
    workspace = unique("ws")
    name, workflow_id = await _start(runtime, scripted_model[0], "needs-approval", workspace)
    approval = await _pending_approval(runtime, approvals, name, workflow_id)
    await approvals.Reject(ap_pb.RejectRequest(id=approval.id, comment="not on a Friday"))
    done = await _finished(runtime, name)
    assert (done.run.status, done.run.answer) == (pb.RUN_STATUS_COMPLETED, "done")
    (refused,) = [s for s in done.run.steps if s.kind == "refused"]
    assert "rejected" in refused.text and "not on a Friday" in refused.text
    fed_back = scripted_model[0].requests[name.split("/")[1]][1].messages[-1].content
    assert "not on a Friday" in fed_back
    assert await executions_in(events, "shell", workspace) == 0
    assert done.agent.tool_calls == 0


async def test_an_expired_approval_is_a_rejection_with_the_reason(
    runtime: agents_pb2_grpc.AgentServiceStub,
    scripted_model: tuple[ScriptedModel, int],
    approvals: ap_grpc.ApprovalServiceStub,
    events: event_store_pb2_grpc.EventStoreServiceStub,
) -> None:
    """The policy gives this call's approval 2 s; nobody decides; L08 rejects it as expired
    and the run reads that as the tool's result."""
    workspace = unique("ws")
    name, workflow_id = await _start(runtime, scripted_model[0], "short-approval", workspace)
    approval = await _pending_approval(runtime, approvals, name, workflow_id)
    life = approval.expire_time.ToDatetime() - approval.create_time.ToDatetime()
    assert life.total_seconds() == pytest.approx(2, abs=0.01)
    done = await _finished(runtime, name)
    assert done.run.status == pb.RUN_STATUS_COMPLETED
    (refused,) = [s for s in done.run.steps if s.kind == "refused"]
    assert "expired" in refused.text
    decided = await approvals.GetApproval(ap_pb.GetApprovalRequest(id=approval.id))
    assert decided.approval.state == res_pb.APPROVAL_STATE_REJECTED
    assert decided.approval.comment == "expired"
    assert await executions_in(events, "shell", workspace) == 0


async def test_kill_9_of_l08_while_a_run_waits_loses_nothing(
    mesh: RunningMesh,
    runtime: agents_pb2_grpc.AgentServiceStub,
    scripted_model: tuple[ScriptedModel, int],
    approvals: ap_grpc.ApprovalServiceStub,
    events: event_store_pb2_grpc.EventStoreServiceStub,
) -> None:
    workspace = unique("ws")
    name, workflow_id = await _start(runtime, scripted_model[0], "needs-approval", workspace)
    approval = await _pending_approval(runtime, approvals, name, workflow_id)
    (status,) = [s for s in mesh.mesh.status() if s.name == "l08_supervision"]
    assert status.pid
    os.kill(status.pid, signal.SIGKILL)
    await asyncio.sleep(1.5)
    await asyncio.to_thread(mesh.mesh.start_component, "l08_supervision", 60)
    for _ in range(100):  # Envoy sees the new process within its health-check interval
        try:
            await approvals.Approve(ap_pb.ApproveRequest(id=approval.id, comment="after restart"))
            break
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE, error
            await asyncio.sleep(0.1)
    done = await _finished(runtime, name)
    assert done.run.status == pb.RUN_STATUS_COMPLETED
    kinds = [s.kind for s in done.run.steps if s.number == 1 and s.kind != "model"]
    assert kinds == ["waiting_approval", "tool"]
    assert await executions_in(events, "shell", workspace) == 1
