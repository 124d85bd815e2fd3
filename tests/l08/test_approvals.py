"""Approvals: an ESCALATE waits for a human, who approves or rejects; an expiry is a
rejection; each step is an event; a killed L08 loses nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal

import grpc
import httpx
import pytest
from google.protobuf import duration_pb2

from agentic.data.v1 import event_store_pb2 as ev_pb
from agentic.data.v1 import event_store_pb2_grpc as ev_grpc
from agentic.supervision.v1 import approvals_pb2 as ap_pb
from agentic.supervision.v1 import approvals_pb2_grpc as ap_grpc
from agentic.supervision.v1 import decisions_pb2_grpc as de_grpc
from agentic.supervision.v1 import resources_pb2 as res_pb
from tests.conftest import RunningMesh
from tests.l08.support import TOOL_POLICIES, agent, call_tool, deploy, tool
from tests.support import platform_code, rest_reason

pytestmark = [pytest.mark.integration, pytest.mark.l08]


@pytest.fixture(autouse=True)
async def tool_policies(gateway_channel: grpc.aio.Channel) -> None:
    await deploy(gateway_channel, TOOL_POLICIES)


async def _escalate(
    channel: grpc.aio.Channel, request_id: str = "", ttl_seconds: int = 0
) -> res_pb.Approval:
    request = call_tool(agent(), tool("shell.exec", sensitive=True), arguments='{"cmd": "ls"}')
    request.request_id = request_id
    if ttl_seconds:
        request.approval_ttl.CopyFrom(duration_pb2.Duration(seconds=ttl_seconds))
    reply = await de_grpc.DecisionServiceStub(channel).Evaluate(request)
    assert reply.decision == res_pb.DECISION_ESCALATE
    return reply.approval


async def _watch_until_decided(channel: grpc.aio.Channel, approval_id: str) -> res_pb.Approval:
    stub = ap_grpc.ApprovalServiceStub(channel)
    states = []
    async for message in stub.WatchApproval(ap_pb.WatchApprovalRequest(id=approval_id)):
        states.append(message.approval)
    assert states[0].state == res_pb.APPROVAL_STATE_PENDING
    return states[-1]


async def _events(l01_channel: grpc.aio.Channel, approval_id: str) -> list[str]:
    store = ev_grpc.EventStoreServiceStub(l01_channel)
    page = await store.ReadStream(ev_pb.ReadStreamRequest(stream_id=f"approval-{approval_id}"))
    return [e.type for e in page.events]


async def test_a_waiting_call_resumes_once_approved_and_runs_once(
    gateway_channel: grpc.aio.Channel, rest: httpx.AsyncClient, l01_channel: grpc.aio.Channel
) -> None:
    """The shape of a tool call guarded by L08 (L03 and L02 do it through the mesh, see
    tests/l02/test_approvals.py): evaluate, wait on the approval, then run. A retried call
    (same request_id) finds the same approval."""
    ran: list[str] = []

    async def guarded_tool_call(request_id: str) -> None:
        approval = await _escalate(gateway_channel, request_id)
        decided = await _watch_until_decided(gateway_channel, approval.id)
        if decided.state == res_pb.APPROVAL_STATE_APPROVED and request_id not in ran:
            ran.append(request_id)

    first = asyncio.create_task(guarded_tool_call("call-42"))
    retried = asyncio.create_task(guarded_tool_call("call-42"))
    await asyncio.sleep(0.3)
    assert not first.done() and not retried.done() and ran == []  # both are waiting
    pending = (await rest.get("/v1/approvals", params={"state": "APPROVAL_STATE_PENDING"})).json()
    ours = [a for a in pending["approvals"] if a["request_id"] == "call-42"]
    assert len(ours) == 1  # one approval for both
    approved = await rest.post(
        f"/v1/approvals/{ours[0]['id']}:approve", json={"comment": "looked at the command"}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["approval"]["decided_by"] == "dev"
    await asyncio.wait_for(asyncio.gather(first, retried), 10)
    assert ran == ["call-42"]
    assert await _events(l01_channel, ours[0]["id"]) == [
        "approval.requested",
        "approval.approved",
    ]


async def test_a_rejection_is_final_and_says_why(
    gateway_channel: grpc.aio.Channel, rest: httpx.AsyncClient
) -> None:
    approval = await _escalate(gateway_channel)
    stub = ap_grpc.ApprovalServiceStub(gateway_channel)
    rejected = await stub.Reject(ap_pb.RejectRequest(id=approval.id, comment="not today"))
    assert rejected.approval.state == res_pb.APPROVAL_STATE_REJECTED
    assert rejected.approval.comment == "not today"
    late = await rest.post(f"/v1/approvals/{approval.id}:approve", json={})
    assert (late.status_code, rest_reason(late.json())) == (400, "E8006")
    missing = await rest.post("/v1/approvals/nope:approve", json={})
    assert (missing.status_code, rest_reason(missing.json())) == (404, "E8005")
    too_long = await rest.post(f"/v1/approvals/{approval.id}:reject", json={"comment": "x" * 5000})
    assert (too_long.status_code, rest_reason(too_long.json())) == (400, "E8002")


async def test_an_expired_approval_is_a_rejection_with_a_reason(
    gateway_channel: grpc.aio.Channel, l01_channel: grpc.aio.Channel
) -> None:
    approval = await _escalate(gateway_channel, ttl_seconds=1)
    decided = await asyncio.wait_for(_watch_until_decided(gateway_channel, approval.id), 10)
    assert decided.state == res_pb.APPROVAL_STATE_REJECTED
    assert (decided.comment, decided.decided_by) == ("expired", "l08_supervision")
    with pytest.raises(grpc.aio.AioRpcError) as late:
        await ap_grpc.ApprovalServiceStub(gateway_channel).Approve(
            ap_pb.ApproveRequest(id=approval.id)
        )
    assert platform_code(late.value) == "E8007"
    assert await _events(l01_channel, approval.id) == ["approval.requested", "approval.rejected"]


async def test_two_approvers_at_once_one_wins(gateway_channel: grpc.aio.Channel) -> None:
    approval = await _escalate(gateway_channel)
    stub = ap_grpc.ApprovalServiceStub(gateway_channel)
    results = await asyncio.gather(
        stub.Approve(ap_pb.ApproveRequest(id=approval.id, comment="a")),
        stub.Reject(ap_pb.RejectRequest(id=approval.id, comment="b")),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(failures) == 1 and platform_code(failures[0]) == "E8006"


async def test_kill_9_while_pending_loses_nothing(
    mesh: RunningMesh, gateway_channel: grpc.aio.Channel, l01_channel: grpc.aio.Channel
) -> None:
    approval = await _escalate(gateway_channel, request_id="survives-kill")
    (status,) = [s for s in mesh.mesh.status() if s.name == "l08_supervision"]
    assert status.pid
    os.kill(status.pid, signal.SIGKILL)
    # supervisord restarts a crashed layer; it serves again once it has read its events back.
    await asyncio.sleep(1.5)
    await asyncio.to_thread(mesh.mesh.start_component, "l08_supervision", 60)
    (restarted,) = [s for s in mesh.mesh.status() if s.name == "l08_supervision"]
    assert restarted.pid != status.pid

    stub = ap_grpc.ApprovalServiceStub(gateway_channel)
    for _ in range(100):  # Envoy sees the new process within its health-check interval
        try:
            found = await stub.GetApproval(ap_pb.GetApprovalRequest(id=approval.id))
            break
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE, error
            await asyncio.sleep(0.1)
    assert found.approval.state == res_pb.APPROVAL_STATE_PENDING
    assert found.approval.request_id == "survives-kill"
    assert found.approval.context["arguments"] == '{"cmd": "ls"}'
    again = await _escalate(gateway_channel, request_id="survives-kill")
    assert again.id == approval.id  # the retried request still finds it
    approved = await stub.Approve(ap_pb.ApproveRequest(id=approval.id, comment="after restart"))
    assert approved.approval.state == res_pb.APPROVAL_STATE_APPROVED
    assert await _events(l01_channel, approval.id) == ["approval.requested", "approval.approved"]


async def test_bad_list_requests_are_refused(rest: httpx.AsyncClient) -> None:
    for params in ({"page_token": "abc"}, {"page_token": "9" * 5000}, {"page_size": 5000}):
        response = await rest.get("/v1/approvals", params=params)
        assert (response.status_code, rest_reason(response.json())) == (400, "E8002"), params


async def test_watch_over_rest_streams_the_decision(
    gateway_channel: grpc.aio.Channel, rest: httpx.AsyncClient
) -> None:
    approval = await _escalate(gateway_channel)
    lines: list[dict[str, object]] = []

    async def watch() -> None:
        async with rest.stream("GET", f"/v1/approvals/{approval.id}:watch") as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.strip():
                    lines.append(json.loads(line))

    watcher = asyncio.create_task(watch())
    for _ in range(100):
        if lines:
            break
        await asyncio.sleep(0.05)
    await rest.post(f"/v1/approvals/{approval.id}:approve", json={"comment": "ok"})
    await asyncio.wait_for(watcher, 10)
    states = [line["approval"]["state"] for line in lines]  # type: ignore[index]
    assert states == ["APPROVAL_STATE_PENDING", "APPROVAL_STATE_APPROVED"]
