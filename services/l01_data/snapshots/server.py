"""SnapshotService servicer: maps RPCs to the snapshot store, and back."""

from __future__ import annotations

import grpc

from agentic.data.v1 import snapshots_pb2 as pb
from agentic.data.v1 import snapshots_pb2_grpc as pb_grpc
from services.kit import current_principal
from services.l01_data.log import events as ev
from services.l01_data.proto_json import struct_from_json, struct_to_python_unchecked
from services.l01_data.snapshots.store import SnapshotRecord, SnapshotStore

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SnapshotService"].full_name


def _proto(record: SnapshotRecord) -> pb.Snapshot:
    message = pb.Snapshot(
        stream_id=record.stream_id,
        version=record.version,
        state=struct_from_json(record.state_json),
        schema=record.schema,
        saved_by=record.saved_by,
    )
    message.save_time.FromDatetime(record.saved_at)
    return message


class SnapshotServicer(pb_grpc.SnapshotServiceServicer):
    def __init__(self, snapshots: SnapshotStore) -> None:
        self._snapshots = snapshots

    async def SaveSnapshot(
        self, request: pb.SaveSnapshotRequest, context: grpc.aio.ServicerContext
    ) -> pb.SaveSnapshotResponse:
        stream_id = ev.validate_stream_id(request.stream_id)
        if not request.HasField("state"):
            raise ev.invalid_field("state", "must be a JSON object")
        state = ev.object_json(struct_to_python_unchecked(request.state), "state")
        record = await self._snapshots.save(
            stream_id, request.version, state, request.schema, current_principal.get()
        )
        return pb.SaveSnapshotResponse(snapshot=_proto(record))

    async def GetSnapshot(
        self, request: pb.GetSnapshotRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSnapshotResponse:
        record = await self._snapshots.latest(ev.validate_stream_id(request.stream_id))
        return pb.GetSnapshotResponse(snapshot=_proto(record))
