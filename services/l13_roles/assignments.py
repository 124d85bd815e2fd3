"""Role assignments as events in L01: ``role.assigned`` on ``agent-roles-{agent_id}``."""

from __future__ import annotations

import grpc

from agentic.data.v1 import event_store_pb2 as es_pb
from agentic.data.v1 import event_store_pb2_grpc as es_grpc
from services.kit.documents import caller_metadata
from services.l13_roles.upstream import calling

EVENT_TYPE = "role.assigned"


def stream_of(agent_id: str) -> str:
    return f"agent-roles-{agent_id}"


class AssignmentLog:
    def __init__(self, l01: grpc.aio.Channel) -> None:
        self._store = es_grpc.EventStoreServiceStub(l01)

    async def record(self, agent_id: str, role: str, revision: int) -> int:
        """Appends the assignment; returns its global position."""
        event = es_pb.NewEvent(type=EVENT_TYPE)
        event.data.update({"agent_id": agent_id, "role": role, "role_revision": revision})
        with calling("l01"):
            reply = await self._store.AppendEvents(
                es_pb.AppendEventsRequest(stream_id=stream_of(agent_id), events=[event]),
                metadata=caller_metadata(),
            )
        return reply.last_position
