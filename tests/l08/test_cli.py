"""``agentic approvals list|approve|reject`` against the mesh, through the gateway."""

from __future__ import annotations

import grpc
import pytest

from agentic.supervision.v1 import decisions_pb2_grpc as de_grpc
from tests.conftest import RunningMesh
from tests.l08.support import TOOL_POLICIES, agent, call_tool, deploy, tool
from tests.support import agentic

pytestmark = [pytest.mark.integration, pytest.mark.l08]


async def test_list_approve_and_reject(
    mesh: RunningMesh, gateway_channel: grpc.aio.Channel
) -> None:
    await deploy(gateway_channel, TOOL_POLICIES)
    decide = de_grpc.DecisionServiceStub(gateway_channel).Evaluate
    first = (await decide(call_tool(agent(), tool("shell.exec", sensitive=True)))).approval
    second = (await decide(call_tool(agent(), tool("rm.rf", sensitive=True)))).approval

    listed = await agentic(mesh, "approvals", "list")
    assert listed.returncode == 0, listed.stderr
    assert first.id in listed.stdout and second.id in listed.stdout
    assert "the tool is marked sensitive" in listed.stdout

    approved = await agentic(mesh, "approvals", "approve", first.id, "-m", "fine")
    assert approved.returncode == 0, approved.stderr
    assert "approved by dev" in approved.stdout
    rejected = await agentic(mesh, "approvals", "reject", second.id, "-m", "too risky")
    assert "rejected by dev" in rejected.stdout

    pending = await agentic(mesh, "approvals", "list")
    assert first.id not in pending.stdout and second.id not in pending.stdout
    everything = await agentic(mesh, "approvals", "list", "--state", "all")
    assert "too risky" in everything.stdout

    again = await agentic(mesh, "approvals", "approve", second.id)
    assert again.returncode == 1 and "E8006" in again.stderr
