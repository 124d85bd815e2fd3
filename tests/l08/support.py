"""Policies and requests the L08 tests share."""

from __future__ import annotations

import uuid
from typing import Any

import grpc

from agentic.supervision.v1 import decisions_pb2 as de_pb
from agentic.supervision.v1 import policies_pb2 as po_pb
from agentic.supervision.v1 import policies_pb2_grpc as po_grpc
from agentic.supervision.v1 import resources_pb2 as res_pb
from tests.support import struct

# Tools are allowed; a sensitive one needs a human; deleting production is never allowed;
# more than 5 calls a minute by one principal is refused.
TOOL_POLICIES = """
@id("tools-allowed")
permit (principal, action == Agentic::Action::"call_tool", resource);

@id("sensitive-needs-approval")
@escalate("the tool is marked sensitive")
permit (principal, action == Agentic::Action::"call_tool", resource)
when { resource has sensitive && resource.sensitive };

@id("no-prod-deletes")
@reason("deleting in production is never allowed")
forbid (principal, action == Agentic::Action::"call_tool", resource)
when { context has target && context.target == "production" && resource has category
       && resource.category == "delete" };

@id("rate-limit")
@reason("more than 5 tool calls a minute")
forbid (principal, action == Agentic::Action::"call_tool", resource)
when { context.calls_last_minute > 5 };
"""


def agent(name: str | None = None) -> res_pb.Entity:
    return res_pb.Entity(type="Agent", id=name or f"agent-{uuid.uuid4().hex[:10]}")


def tool(name: str = "shell.exec", **attributes: Any) -> res_pb.Entity:
    return res_pb.Entity(type="Tool", id=name, attributes=struct(attributes))


def call_tool(
    principal: res_pb.Entity, resource: res_pb.Entity, **context: Any
) -> de_pb.EvaluateRequest:
    return de_pb.EvaluateRequest(
        principal=principal, action="call_tool", resource=resource, context=struct(context)
    )


async def deploy(channel: grpc.aio.Channel, text: str, description: str = "") -> int:
    stub = po_grpc.PolicyServiceStub(channel)
    reply = await stub.DeployPolicies(
        po_pb.DeployPoliciesRequest(text=text, description=description or "test")
    )
    return int(reply.version.version)


# Tool calls are allowed, except for the marked ones: a sensitive tool call whose arguments
# say "needs-approval" waits for a person, one saying "short-approval" too but for 2 s at
# most, and one saying "never-allowed" is refused. Other tests' sensitive calls run as before.
APPROVAL_POLICIES = """
@id("tools-allowed")
permit (principal, action == Agentic::Action::"call_tool", resource);

@id("marked-calls-need-approval")
@escalate("the call is marked as needing approval")
permit (principal, action == Agentic::Action::"call_tool", resource)
when { resource has sensitive && resource.sensitive && context has arguments
       && context.arguments like "*needs-approval*" };

@id("short-approvals")
@escalate("the call is marked for a short approval")
@approval_ttl("2")
permit (principal, action == Agentic::Action::"call_tool", resource)
when { resource has sensitive && resource.sensitive && context has arguments
       && context.arguments like "*short-approval*" };

@id("never-allowed")
@reason("this command is never allowed")
forbid (principal, action == Agentic::Action::"call_tool", resource)
when { context has arguments && context.arguments like "*never-allowed*" };
"""
