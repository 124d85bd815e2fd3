"""ConsumerGroupService servicer: maps RPCs to consumer groups, and back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from agentic.data.v1 import event_store_pb2
from agentic.data.v1 import subscriptions_pb2 as pb
from agentic.data.v1 import subscriptions_pb2_grpc as pb_grpc
from services.kit import current_principal
from services.l01_data.groups.store import (
    ConsumerGroups,
    GroupState,
    decode_page_token,
    validate_batch_size,
    validate_group_id,
)
from services.l01_data.log.server import fill_event
from services.l01_data.log.subscriptions import CaughtUp

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ConsumerGroupService"].full_name


def _proto(group: GroupState) -> pb.ConsumerGroup:
    message = pb.ConsumerGroup(
        group_id=group.group_id,
        type_prefix=group.type_prefix,
        start_position=group.start_position,
        checkpoint=group.checkpoint,
        consumer_connected=group.consumer_connected,
        delivered_position=group.delivered_position,
        acked_by=group.acked_by,
    )
    message.create_time.FromDatetime(group.created_at)
    if group.acked_at is not None:
        message.ack_time.FromDatetime(group.acked_at)
    return message


class ConsumerGroupServicer(pb_grpc.ConsumerGroupServiceServicer):
    def __init__(self, groups: ConsumerGroups) -> None:
        self._groups = groups

    async def CreateConsumerGroup(
        self, request: pb.CreateConsumerGroupRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateConsumerGroupResponse:
        group = await self._groups.create(
            request.group_id, request.type_prefix, request.start_position, current_principal.get()
        )
        return pb.CreateConsumerGroupResponse(group=_proto(group))

    async def GetConsumerGroup(
        self, request: pb.GetConsumerGroupRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetConsumerGroupResponse:
        return pb.GetConsumerGroupResponse(group=_proto(await self._groups.get(request.group_id)))

    async def ListConsumerGroups(
        self, request: pb.ListConsumerGroupsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListConsumerGroupsResponse:
        groups, token = await self._groups.list_page(
            request.page_size, decode_page_token(request.page_token)
        )
        return pb.ListConsumerGroupsResponse(
            groups=[_proto(g) for g in groups], next_page_token=token
        )

    async def DeleteConsumerGroup(
        self, request: pb.DeleteConsumerGroupRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteConsumerGroupResponse:
        group = await self._groups.delete(request.group_id, current_principal.get())
        return pb.DeleteConsumerGroupResponse(group=_proto(group))

    async def SubscribeConsumerGroup(
        self, request: pb.SubscribeConsumerGroupRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.SubscribeConsumerGroupResponse]:
        group_id = validate_group_id(request.group_id)
        batch_size = validate_batch_size(request.max_batch_size)
        async for item in self._groups.subscribe(group_id, batch_size):
            if isinstance(item, CaughtUp):
                marker = event_store_pb2.CaughtUp(position=item.position)
                yield pb.SubscribeConsumerGroupResponse(caught_up=marker)
            else:
                response = pb.SubscribeConsumerGroupResponse()
                events = response.batch.events
                for event in item:
                    fill_event(events.add(), event)
                yield response

    async def AckConsumerGroup(
        self, request: pb.AckConsumerGroupRequest, context: grpc.aio.ServicerContext
    ) -> pb.AckConsumerGroupResponse:
        group = await self._groups.ack(request.group_id, request.position, current_principal.get())
        return pb.AckConsumerGroupResponse(group=_proto(group))
