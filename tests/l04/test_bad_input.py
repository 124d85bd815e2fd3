"""Bad input gets a clear status, an E4xxx code and the field, before any model runs."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import httpx
import pytest

from agentic.data.v1 import event_store_pb2 as data_pb
from agentic.data.v1 import event_store_pb2_grpc as data_grpc
from agentic.models.v1 import models_pb2 as pb
from agentic.models.v1 import models_pb2_grpc
from tests.l04.conftest import LOCAL_MODEL
from tests.support import error_metadata, platform_code, rest_reason

pytestmark = [pytest.mark.integration, pytest.mark.l04]


def _user(text: str) -> pb.Message:
    return pb.Message(role="user", content=text)


async def _refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


@pytest.mark.parametrize(
    ("request_", "status", "code", "field"),
    [
        (pb.GenerateRequest(), grpc.StatusCode.INVALID_ARGUMENT, "E4002", "messages"),
        (pb.GenerateRequest(messages=[pb.Message(role="wizard", content="hi")]),
         grpc.StatusCode.INVALID_ARGUMENT, "E4002", "messages[0].role"),
        (pb.GenerateRequest(messages=[pb.Message(role="user")]),
         grpc.StatusCode.INVALID_ARGUMENT, "E4002", "messages[0].content"),
        (pb.GenerateRequest(messages=[_user("hi")], model="nope/none"),
         grpc.StatusCode.NOT_FOUND, "E4004", "model"),
        (pb.GenerateRequest(messages=[_user("hi")], max_tokens=-1),
         grpc.StatusCode.INVALID_ARGUMENT, "E4002", "max_tokens"),
        (pb.GenerateRequest(messages=[_user("hi")], temperature=3),
         grpc.StatusCode.INVALID_ARGUMENT, "E4002", "temperature"),
        (pb.GenerateRequest(messages=[_user("hi")], tools=[pb.Tool(name="a tool")]),
         grpc.StatusCode.INVALID_ARGUMENT, "E4002", "tools[0].name"),
        (pb.GenerateRequest(messages=[_user("hi")], model="local/all-minilm-l6-v2"),
         grpc.StatusCode.INVALID_ARGUMENT, "E4002", "model"),
    ],
)  # fmt: skip
async def test_bad_generate_requests_name_the_field(
    models: models_pb2_grpc.ModelServiceStub, request_, status, code: str, field: str
) -> None:
    error = await _refused(models.Generate(request_))
    assert error.code() == status and platform_code(error) == code
    assert error_metadata(error)["field"] == field


async def test_an_invalid_response_schema_is_refused(
    models: models_pb2_grpc.ModelServiceStub,
) -> None:
    request = pb.GenerateRequest(messages=[_user("hi")])
    request.response_schema.update({"type": "object", "properties": {"n": {"type": "bogus"}}})
    error = await _refused(models.Generate(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and platform_code(error) == "E4005"
    assert "response_schema" in error.details() and "bogus" in error.details()


async def test_a_ten_megabyte_prompt_is_refused_without_running_a_model(
    models: models_pb2_grpc.ModelServiceStub, rest: httpx.AsyncClient
) -> None:
    huge = "z" * (10 * 1024 * 1024)
    error = await _refused(models.Generate(pb.GenerateRequest(messages=[_user(huge)])))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and platform_code(error) == "E4003"
    response = await rest.post(
        "/v1/models:generate", json={"messages": [{"role": "user", "content": huge}]}
    )
    assert response.status_code == 413 and rest_reason(response.json()) == "E9413"


async def test_tools_on_a_model_without_tool_use_are_refused(
    models: models_pb2_grpc.ModelServiceStub,
) -> None:
    tool = pb.Tool(name="lookup")
    tool.input_schema.update({"type": "object"})
    request = pb.GenerateRequest(messages=[_user("hi")], model=LOCAL_MODEL, tools=[tool])
    error = await _refused(models.Generate(request))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and platform_code(error) == "E4006"
    assert "lacks tools" in error.details()


async def test_bad_embed_requests(rest: httpx.AsyncClient) -> None:
    empty = await rest.post("/v1/models:embed", json={"texts": []})
    assert empty.status_code == 400 and rest_reason(empty.json()) == "E4002"
    blank = await rest.post("/v1/models:embed", json={"texts": ["ok", "  "]})
    assert blank.status_code == 400 and "texts[1]" in blank.json()["message"]
    chat = await rest.post("/v1/models:embed", json={"texts": ["a"], "model": LOCAL_MODEL})
    assert chat.status_code == 400 and "not an embedding model" in chat.json()["message"]


async def test_calls_without_a_token_are_refused(mesh) -> None:
    async with grpc.aio.insecure_channel(mesh.l04_target) as channel:
        error = await _refused(
            models_pb2_grpc.ModelServiceStub(channel).ListModels(pb.ListModelsRequest())
        )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and platform_code(error) == "E4001"


async def test_usage_of_an_agent_is_reported_and_recorded_in_l01(
    models: models_pb2_grpc.ModelServiceStub, l01_channel: grpc.aio.Channel
) -> None:
    agent = f"agent-{uuid.uuid4().hex[:8]}"
    reply = await models.Generate(
        pb.GenerateRequest(messages=[_user("Hi")], model=LOCAL_MODEL, max_tokens=4,
                           agent_id=agent, cache=pb.CacheControl(bypass=True))
    )  # fmt: skip
    store = data_grpc.EventStoreServiceStub(l01_channel)
    mine: list = []
    for _ in range(100):  # usage is written in the background, every 0.2 s
        usage = await models.GetUsage(pb.GetUsageRequest(agent_id=agent))
        page = await store.ReadAll(
            data_pb.ReadAllRequest(type_prefix="model.usage", max_count=1000)
        )
        mine = [e for e in page.events if e.data["agent_id"] == agent]
        if usage.requests and mine:
            break
        await asyncio.sleep(0.1)
    assert usage.requests == 1 and usage.models[0].model == LOCAL_MODEL
    assert usage.total.output_tokens == reply.usage.output_tokens
    assert len(mine) == 1 and mine[0].stream_id == "models.usage"
    assert mine[0].data["provider"] == "local" and mine[0].data["model"] == LOCAL_MODEL
    assert mine[0].data["tenant_id"] == "dev", "the caller's tenant: the dev token's principal"
    assert mine[0].metadata["$principal"] == "l04_models", "L04 names itself to L01"


async def test_a_tenant_name_a_header_could_not_carry_is_refused(
    models: models_pb2_grpc.ModelServiceStub,
) -> None:
    """Directly on L04 with its own key (an admin): another tenant may be named, if valid."""
    await models.GetUsage(pb.GetUsageRequest(agent_id="a", tenant_id="t"))
    for call in (
        models.GetUsage(pb.GetUsageRequest(tenant_id="a b")),
        models.Embed(pb.EmbedRequest(texts=["hi"], tenant_id="x#y")),
    ):
        error = await _refused(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert platform_code(error) == "E4002" and "tenant_id" in (error.details() or "")


async def test_a_prompt_longer_than_every_context_window_is_the_callers_400(
    models: models_pb2_grpc.ModelServiceStub, rest: httpx.AsyncClient
) -> None:
    # Small enough for the size limit, too long for the local model's 4,096-token window:
    # retrying cannot help, so it is INVALID_ARGUMENT, not UNAVAILABLE.
    long_prompt = " ".join(f"word{n}" for n in range(6_000))
    request = pb.GenerateRequest(messages=[_user(long_prompt)], model=LOCAL_MODEL, max_tokens=4)
    error = await _refused(models.Generate(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and platform_code(error) == "E4014"
    assert "context size" in error.details() and LOCAL_MODEL in error.details()
    response = await rest.post(
        "/v1/models:generate",
        json={"messages": [{"role": "user", "content": long_prompt}], "max_tokens": 4},
    )
    assert response.status_code == 400 and rest_reason(response.json()) == "E4014"
