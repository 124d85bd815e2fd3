"""Consumer groups: durable checkpoints, resume after a crash, acks, no gaps, one consumer."""

import asyncio
import json
import random

import grpc
import httpx
import pytest

from agentic.data.v1 import event_store_pb2 as pb
from agentic.data.v1 import event_store_pb2_grpc, subscriptions_pb2_grpc
from agentic.data.v1 import subscriptions_pb2 as gpb
from services.kit import open_channel
from tests.support import new_event, platform_code, rest_reason, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l01]


@pytest.fixture(params=["direct", "envoy"])
def groups(request, l01_channel, gateway_channel):
    channel = l01_channel if request.param == "direct" else gateway_channel
    return subscriptions_pb2_grpc.ConsumerGroupServiceStub(channel)


@pytest.fixture
def direct_store(l01_channel) -> event_store_pb2_grpc.EventStoreServiceStub:
    return event_store_pb2_grpc.EventStoreServiceStub(l01_channel)


async def _refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def _stream_refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in call:
            pass
    return caught.value


async def _append(store, event_type: str, count: int) -> pb.AppendEventsResponse:
    return await store.AppendEvents(
        pb.AppendEventsRequest(
            stream_id=stream_name(), events=[new_event(event_type, n=n) for n in range(count)]
        )
    )


async def _create(groups, prefix: str = "", start: int = -1) -> str:
    group_id = stream_name("group")
    await groups.CreateConsumerGroup(
        gpb.CreateConsumerGroupRequest(group_id=group_id, type_prefix=prefix, start_position=start)
    )
    return group_id


async def _receive(call, count: int, seconds: float = 20) -> list:
    """The next ``count`` events of a group subscription (markers skipped)."""
    events: list = []

    async def read() -> None:
        while len(events) < count:
            message = await call.read()
            assert message is not grpc.aio.EOF
            if message.HasField("batch"):
                events.extend(message.batch.events)

    await asyncio.wait_for(read(), seconds)
    return events


async def test_create_get_list_and_delete(groups) -> None:
    prefix = f"{stream_name('t')}."
    created = await groups.CreateConsumerGroup(
        gpb.CreateConsumerGroupRequest(group_id=stream_name("g"), type_prefix=prefix)
    )
    group = created.group
    assert group.checkpoint == 0 and group.start_position == 1 and group.type_prefix == prefix
    assert not group.consumer_connected and group.create_time.seconds > 0

    fetched = await groups.GetConsumerGroup(gpb.GetConsumerGroupRequest(group_id=group.group_id))
    assert fetched.group == group

    listed, token = [], ""
    while True:
        page = await groups.ListConsumerGroups(
            gpb.ListConsumerGroupsRequest(page_size=2, page_token=token)
        )
        assert len(page.groups) <= 2
        listed += [g.group_id for g in page.groups]
        token = page.next_page_token
        if not token:
            break
    assert group.group_id in listed and listed == sorted(listed)

    await groups.DeleteConsumerGroup(gpb.DeleteConsumerGroupRequest(group_id=group.group_id))
    error = await _refused(
        groups.GetConsumerGroup(gpb.GetConsumerGroupRequest(group_id=group.group_id))
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND and platform_code(error) == "E1400"
    error = await _refused(
        groups.DeleteConsumerGroup(gpb.DeleteConsumerGroupRequest(group_id=group.group_id))
    )
    assert platform_code(error) == "E1400"


async def test_creating_an_existing_group_is_refused(groups) -> None:
    group_id = await _create(groups)
    error = await _refused(
        groups.CreateConsumerGroup(gpb.CreateConsumerGroupRequest(group_id=group_id))
    )
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS and platform_code(error) == "E1401"


async def test_start_minus_one_delivers_only_events_after_creation(groups, direct_store) -> None:
    event_type = f"{stream_name('late')}.x"
    await _append(direct_store, event_type, 2)
    group_id = await _create(groups, event_type, start=-1)
    later = await _append(direct_store, event_type, 1)
    call = groups.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id=group_id))
    (event,) = await _receive(call, 1)
    call.cancel()
    assert event.id == later.event_ids[0]


async def test_consumer_crash_resumes_after_the_last_ack_with_no_loss_or_duplicate(
    groups, direct_store
) -> None:
    event_type = f"{stream_name('crash')}.x"
    group_id = await _create(groups, event_type, start=-1)
    written = await _append(direct_store, event_type, 10)

    first = groups.SubscribeConsumerGroup(
        gpb.SubscribeConsumerGroupRequest(group_id=group_id, max_batch_size=3)
    )
    received = await _receive(first, 10)
    assert [e.id for e in received] == list(written.event_ids)
    acked = await groups.AckConsumerGroup(
        gpb.AckConsumerGroupRequest(group_id=group_id, position=received[5].global_position)
    )
    assert acked.group.checkpoint == received[5].global_position
    assert acked.group.acked_by == "dev"
    first.cancel()  # the consumer dies before acking the rest

    more = await _append(direct_store, event_type, 2)
    for _ in range(50):  # the server notices the cancelled stream
        state = await groups.GetConsumerGroup(gpb.GetConsumerGroupRequest(group_id=group_id))
        if not state.group.consumer_connected:
            break
        await asyncio.sleep(0.05)
    second = groups.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id=group_id))
    redelivered = await _receive(second, 6)
    second.cancel()
    expected = list(written.event_ids[6:]) + list(more.event_ids)
    assert [e.id for e in redelivered] == expected


async def test_a_second_consumer_is_refused_while_one_is_connected(groups) -> None:
    group_id = await _create(groups)
    first = groups.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id=group_id))
    await asyncio.wait_for(first.read(), 10)  # connected (caught_up marker)
    error = await _stream_refused(
        groups.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id=group_id))
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert platform_code(error) == "E1404"
    first.cancel()
    for _ in range(100):
        state = await groups.GetConsumerGroup(gpb.GetConsumerGroupRequest(group_id=group_id))
        if not state.group.consumer_connected:
            break
        await asyncio.sleep(0.05)
    again = groups.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id=group_id))
    message = await asyncio.wait_for(again.read(), 10)
    assert message.HasField("caught_up")
    again.cancel()


async def test_acks_beyond_delivery_or_below_the_checkpoint_are_refused(
    groups, direct_store
) -> None:
    event_type = f"{stream_name('ack')}.x"
    group_id = await _create(groups, event_type, start=-1)
    written = await _append(direct_store, event_type, 3)
    error = await _refused(
        groups.AckConsumerGroup(
            gpb.AckConsumerGroupRequest(group_id=group_id, position=written.first_position)
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and platform_code(error) == "E1402"

    call = groups.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id=group_id))
    await _receive(call, 3)
    await groups.AckConsumerGroup(
        gpb.AckConsumerGroupRequest(group_id=group_id, position=written.last_position)
    )
    again = await groups.AckConsumerGroup(
        gpb.AckConsumerGroupRequest(group_id=group_id, position=written.last_position)
    )
    assert again.group.checkpoint == written.last_position  # the same ack is a no-op
    error = await _refused(
        groups.AckConsumerGroup(
            gpb.AckConsumerGroupRequest(group_id=group_id, position=written.first_position)
        )
    )
    assert platform_code(error) == "E1403"
    error = await _refused(
        groups.AckConsumerGroup(
            gpb.AckConsumerGroupRequest(group_id=group_id, position=written.last_position + 10**6)
        )
    )
    assert platform_code(error) == "E1402"
    call.cancel()


async def test_the_caught_up_position_may_be_acked_past_filtered_events(
    groups, direct_store
) -> None:
    group_id = await _create(groups, f"{stream_name('rare')}.x", start=-1)
    noise = await _append(direct_store, "noise.x", 5)
    call = groups.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id=group_id))
    marker = await asyncio.wait_for(call.read(), 10)
    assert marker.HasField("caught_up") and marker.caught_up.position >= noise.last_position
    acked = await groups.AckConsumerGroup(
        gpb.AckConsumerGroupRequest(group_id=group_id, position=marker.caught_up.position)
    )
    assert acked.group.checkpoint == marker.caught_up.position
    call.cancel()


async def test_deleting_a_group_ends_its_consumer_stream(groups) -> None:
    group_id = await _create(groups)
    call = groups.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id=group_id))
    await asyncio.wait_for(call.read(), 10)
    await groups.DeleteConsumerGroup(gpb.DeleteConsumerGroupRequest(group_id=group_id))
    error = await asyncio.wait_for(_stream_refused(call), 10)
    assert error.code() == grpc.StatusCode.NOT_FOUND and platform_code(error) == "E1400"


async def test_group_changes_are_audited_with_the_principal(groups, direct_store) -> None:
    before = await _append(direct_store, "audit.mark", 1)
    group_id = await _create(groups)
    await groups.DeleteConsumerGroup(gpb.DeleteConsumerGroupRequest(group_id=group_id))
    page = await direct_store.ReadAll(
        pb.ReadAllRequest(from_position=before.last_position, max_count=1000)
    )
    audits = [e for e in page.events if e.stream_id == "$groups" and e.data["group_id"] == group_id]
    assert [e.type for e in audits] == ["$group.created", "$group.deleted"]
    assert all(e.metadata["$principal"] == "dev" for e in audits)


async def _writer(store, writer: int, appends: int) -> int:
    """Appends batches of very different lengths (1 to 300 events) concurrently."""
    rng = random.Random(writer)
    total = 0
    for _ in range(appends):
        size = rng.choice([1, 1, 2, 5, 50, 300])
        await store.AppendEvents(
            pb.AppendEventsRequest(
                stream_id=stream_name(f"gap{writer}"),
                events=[new_event("gap.test", n=n) for n in range(size)],
            )
        )
        total += size
    return total


async def test_live_delivery_has_no_gaps_under_concurrent_transactions_of_different_lengths(
    l01_channel, gateway_channel
) -> None:
    groups = subscriptions_pb2_grpc.ConsumerGroupServiceStub(l01_channel)
    stores = [
        event_store_pb2_grpc.EventStoreServiceStub(channel)
        for channel in (l01_channel, gateway_channel)
    ]
    group = await groups.CreateConsumerGroup(
        gpb.CreateConsumerGroupRequest(group_id=stream_name("gapless"), start_position=-1)
    )
    start = group.group.start_position
    call = groups.SubscribeConsumerGroup(
        gpb.SubscribeConsumerGroupRequest(group_id=group.group.group_id, max_batch_size=1000)
    )
    await asyncio.wait_for(call.read(), 10)  # caught up: live from here
    totals = await asyncio.gather(*(_writer(stores[w % 2], w, 15) for w in range(6)))
    positions: list[int] = []

    async def read_until(last: int) -> None:
        while not positions or positions[-1] < last:
            message = await call.read()
            positions.extend(e.global_position for e in message.batch.events)

    last = await _last_position(stores[0], start)
    await asyncio.wait_for(read_until(last), 60)
    call.cancel()
    assert positions == list(range(start, last + 1)), "a gap or a duplicate in live delivery"
    gap_events = sum(totals)
    assert len(positions) >= gap_events


async def _last_position(store, start: int) -> int:
    position, last = start, start - 1
    while True:
        page = await store.ReadAll(pb.ReadAllRequest(from_position=position, max_count=1000))
        if page.events:
            last = page.events[-1].global_position
        position = page.next_position
        if page.end_of_log:
            return last


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"group_id": ""}, "group_id"),
        ({"group_id": "g" * 10_000}, "group_id"),
        ({"group_id": "a b"}, "group_id"),
        ({"group_id": "ok-x", "start_position": -2}, "start_position"),
        ({"group_id": "ok-y", "type_prefix": "t" * 300}, "type_prefix"),
    ],
)
async def test_bad_creates_are_refused_naming_the_field(groups, request_fields, field) -> None:
    error = await _refused(
        groups.CreateConsumerGroup(gpb.CreateConsumerGroupRequest(**request_fields))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert platform_code(error) == "E1002" and field in error.details()


async def test_bad_input_on_the_other_rpcs_is_refused_naming_the_field(groups) -> None:
    group_id = await _create(groups)
    calls = [
        (groups.GetConsumerGroup(gpb.GetConsumerGroupRequest(group_id="")), "group_id"),
        (groups.DeleteConsumerGroup(gpb.DeleteConsumerGroupRequest(group_id="$x")), "group_id"),
        (groups.ListConsumerGroups(gpb.ListConsumerGroupsRequest(page_size=-1)), "page_size"),
        (groups.ListConsumerGroups(gpb.ListConsumerGroupsRequest(page_size=5000)), "page_size"),
        (
            groups.ListConsumerGroups(gpb.ListConsumerGroupsRequest(page_token="%%%not-a-token")),
            "page_token",
        ),
        (
            groups.AckConsumerGroup(gpb.AckConsumerGroupRequest(group_id=group_id, position=-1)),
            "position",
        ),
        (groups.AckConsumerGroup(gpb.AckConsumerGroupRequest(group_id="")), "group_id"),
    ]
    for call, field in calls:
        error = await _refused(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, field
        assert platform_code(error) == "E1002" and field in error.details()
    for request, field in (
        (gpb.SubscribeConsumerGroupRequest(group_id=""), "group_id"),
        (gpb.SubscribeConsumerGroupRequest(group_id=group_id, max_batch_size=-1), "max_batch_size"),
        (
            gpb.SubscribeConsumerGroupRequest(group_id=group_id, max_batch_size=10_000),
            "max_batch_size",
        ),
    ):
        error = await _stream_refused(groups.SubscribeConsumerGroup(request))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and field in error.details()
    error = await _stream_refused(
        groups.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id="no-such-group"))
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND and platform_code(error) == "E1400"


async def test_concurrent_creates_of_one_group_let_exactly_one_win(groups) -> None:
    group_id = stream_name("race")
    results = await asyncio.gather(
        *(
            groups.CreateConsumerGroup(gpb.CreateConsumerGroupRequest(group_id=group_id))
            for _ in range(10)
        ),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(failures) == 9 and {platform_code(f) for f in failures} == {"E1401"}


async def test_consumer_groups_over_rest(rest: httpx.AsyncClient, direct_store) -> None:
    group_id = stream_name("rest-group")
    event_type = f"{stream_name('rest')}.x"
    created = await rest.post(
        "/v1/consumerGroups",
        json={"group_id": group_id, "type_prefix": event_type, "start_position": -1},
    )
    assert created.status_code == 200, created.text
    written = await _append(direct_store, event_type, 3)

    lines: list[dict] = []
    async with rest.stream(
        "GET", f"/v1/consumerGroups/{group_id}:subscribe", params={"max_batch_size": 10}
    ) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.strip():
                lines.append(json.loads(line))
            if sum(len(m.get("batch", {}).get("events", [])) for m in lines) >= 3:
                break
    ids = [e["id"] for m in lines for e in m.get("batch", {}).get("events", [])]
    assert ids == list(written.event_ids)

    for _ in range(50):
        acked = await rest.post(
            f"/v1/consumerGroups/{group_id}:ack", json={"position": written.last_position}
        )
        if acked.status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert int(acked.json()["group"]["checkpoint"]) == written.last_position
    fetched = await rest.get(f"/v1/consumerGroups/{group_id}")
    assert fetched.json()["group"]["acked_by"] == "dev"
    listed = await rest.get("/v1/consumerGroups", params={"page_size": 1000})
    assert listed.status_code == 200
    wrong_type = await rest.post(
        "/v1/consumerGroups", json={"group_id": stream_name("g"), "start_position": "soon"}
    )
    assert wrong_type.status_code == 400
    duplicate = await rest.post("/v1/consumerGroups", json={"group_id": group_id})
    assert duplicate.status_code == 409 and rest_reason(duplicate.json()) == "E1401"
    deleted = await rest.delete(f"/v1/consumerGroups/{group_id}")
    assert deleted.status_code == 200
    missing = await rest.get(f"/v1/consumerGroups/{group_id}")
    assert missing.status_code == 404 and rest_reason(missing.json()) == "E1400"


@pytest.mark.parametrize("token", [None, "wrong-token"])
@pytest.mark.parametrize("path", ["direct", "envoy"])
async def test_group_rpcs_refuse_missing_or_wrong_tokens(mesh, token, path) -> None:
    target = mesh.l01_target if path == "direct" else mesh.gateway_target
    expected = "E1001" if path == "direct" else "E9401"
    async with open_channel(target, token=token) as channel:
        stub = subscriptions_pb2_grpc.ConsumerGroupServiceStub(channel)
        for call in (
            stub.CreateConsumerGroup(gpb.CreateConsumerGroupRequest(group_id="g")),
            stub.GetConsumerGroup(gpb.GetConsumerGroupRequest(group_id="g")),
            stub.ListConsumerGroups(gpb.ListConsumerGroupsRequest()),
            stub.DeleteConsumerGroup(gpb.DeleteConsumerGroupRequest(group_id="g")),
            stub.AckConsumerGroup(gpb.AckConsumerGroupRequest(group_id="g", position=1)),
        ):
            error = await _refused(call)
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            assert platform_code(error) == expected
        error = await _stream_refused(
            stub.SubscribeConsumerGroup(gpb.SubscribeConsumerGroupRequest(group_id="g"))
        )
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        assert platform_code(error) == expected
