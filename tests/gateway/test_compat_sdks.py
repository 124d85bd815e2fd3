"""The OpenAI- and Anthropic-compatible APIs, driven by the official SDKs through Envoy.

Every call goes SDK -> Envoy (ext_authz or its identity filter, rate limits) -> L04's HTTP
port -> the offline model (SmolLM2, MiniLM). max_tokens stays small: generation runs on the
shared CPU.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import anthropic
import httpx
import jsonschema
import openai
import pytest

from services.kit.auth import PRINCIPAL_HEADER, ApiKeyFile
from services.kit.layers import layer_by_key
from services.l09_gateway.authz import VOUCH_SECONDS
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN, envoy_stat

pytestmark = [pytest.mark.integration, pytest.mark.l09]

LOCAL_MODEL = "local/smollm2-135m"
EMBEDDING_MODEL = "local/all-minilm-l6-v2"
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def _fresh(text: str) -> str:
    """A prompt no earlier test sent (the exact cache would answer it otherwise)."""
    return f"{text} ({uuid.uuid4().hex[:8]})"


@pytest.fixture
async def oai(mesh: RunningMesh) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(
        base_url=f"{mesh.gateway_url}/openai/v1", api_key=DEV_TOKEN, timeout=120, max_retries=0
    )
    yield client
    await client.close()


@pytest.fixture
async def claude(mesh: RunningMesh) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(
        base_url=f"{mesh.gateway_url}/anthropic", api_key=DEV_TOKEN, timeout=120, max_retries=0
    )
    yield client
    await client.close()


# -- OpenAI -------------------------------------------------------------------------------


async def test_openai_chat_answers_with_usage_and_the_model_that_answered(
    oai: openai.AsyncOpenAI,
) -> None:
    raw = await oai.chat.completions.with_raw_response.create(
        model=LOCAL_MODEL,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": _fresh("Say hello.")},
        ],
        max_tokens=8,
        temperature=0,
    )
    completion = raw.parse()
    assert completion.model == LOCAL_MODEL
    assert raw.headers["x-agentic-model"] == LOCAL_MODEL
    assert raw.headers["x-agentic-provider"] == "local"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason in ("stop", "length")
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    total = completion.usage.prompt_tokens + completion.usage.completion_tokens
    assert completion.usage.total_tokens == total


async def test_openai_stream_sends_deltas_then_finish_and_usage(oai: openai.AsyncOpenAI) -> None:
    stream = await oai.chat.completions.create(
        model=LOCAL_MODEL,
        messages=[{"role": "user", "content": _fresh("Count to five.")}],
        max_tokens=8,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]  # the SDK stops at data: [DONE]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] in ("stop", "length") and not any(finishes[:-1])
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert chunks[-1].model == LOCAL_MODEL


async def test_openai_json_schema_output_follows_the_schema(oai: openai.AsyncOpenAI) -> None:
    completion = await oai.chat.completions.create(
        model=LOCAL_MODEL,
        messages=[{"role": "user", "content": _fresh("Give a person as JSON.")}],
        max_tokens=60,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": PERSON, "strict": True},
        },
    )
    jsonschema.validate(json.loads(completion.choices[0].message.content or ""), PERSON)


async def test_openai_tools_reach_the_router_which_refuses_a_model_without_them(
    oai: openai.AsyncOpenAI,
) -> None:
    # The offline model cannot call tools: L04's router says so (E4006), in OpenAI's shape.
    with pytest.raises(openai.BadRequestError) as refused:
        await oai.chat.completions.create(
            model=LOCAL_MODEL,
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=[{"type": "function", "function": WEATHER_TOOL}],
            tool_choice="auto",
        )
    error = refused.value.body
    assert isinstance(error, dict)
    assert error["code"] == "E4006"
    assert "tools" in error["message"]


async def test_openai_embeddings_return_one_vector_per_input(oai: openai.AsyncOpenAI) -> None:
    raw = await oai.embeddings.with_raw_response.create(
        model=EMBEDDING_MODEL, input=["a cat", "a dog"]
    )
    reply = raw.parse()
    assert [item.index for item in reply.data] == [0, 1]
    assert len(reply.data[0].embedding) == 384
    assert reply.data[0].embedding != reply.data[1].embedding
    assert reply.model == EMBEDDING_MODEL
    assert raw.headers["x-agentic-provider"] == "local"
    assert reply.usage.prompt_tokens > 0


async def test_openai_models_lists_the_registry(oai: openai.AsyncOpenAI) -> None:
    ids = [model.id async for model in oai.models.list()]
    assert LOCAL_MODEL in ids and EMBEDDING_MODEL in ids


async def test_openai_unknown_model_is_404_with_the_platform_code(
    oai: openai.AsyncOpenAI,
) -> None:
    with pytest.raises(openai.NotFoundError) as refused:
        await oai.chat.completions.create(
            model="nope/none", messages=[{"role": "user", "content": "hi"}]
        )
    assert isinstance(refused.value.body, dict)
    assert refused.value.body["code"] == "E4004"


async def test_openai_malformed_fields_are_400_naming_the_field(oai: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await oai.chat.completions.create(
            model=LOCAL_MODEL,
            messages=[{"role": "user", "content": "hi"}],
            max_tokens="lots",  # type: ignore[arg-type]
        )
    body = refused.value.body
    assert isinstance(body, dict)
    assert (body["code"], body["param"]) == ("E9400", "max_tokens")
    with pytest.raises(openai.BadRequestError) as empty:
        await oai.chat.completions.create(model=LOCAL_MODEL, messages=[])
    assert isinstance(empty.value.body, dict) and empty.value.body["param"] == "messages"


async def test_openai_without_valid_credentials_is_401(mesh: RunningMesh) -> None:
    async with openai.AsyncOpenAI(
        base_url=f"{mesh.gateway_url}/openai/v1", api_key="agk_nope_nope", max_retries=0
    ) as client:
        with pytest.raises(openai.AuthenticationError):
            await client.models.list()


async def test_openai_api_key_without_the_models_role_is_403(mesh: RunningMesh) -> None:
    key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(
        f"writer-{uuid.uuid4().hex[:6]}", ("writer",), "standard"
    )
    async with openai.AsyncOpenAI(
        base_url=f"{mesh.gateway_url}/openai/v1", api_key=key, max_retries=0
    ) as client:
        for _ in range(60):  # the gateway reads the key file again within a second
            try:
                await client.models.list()
            except openai.AuthenticationError:
                await asyncio.sleep(0.05)
            except openai.PermissionDeniedError:
                return
        raise AssertionError("the key was never refused with 403")


# -- Anthropic ----------------------------------------------------------------------------


async def test_anthropic_messages_answer_with_blocks_usage_and_model(
    claude: anthropic.AsyncAnthropic,
) -> None:
    raw = await claude.messages.with_raw_response.create(
        model=LOCAL_MODEL,
        max_tokens=8,
        system=[{"type": "text", "text": "You are terse."}],
        messages=[{"role": "user", "content": [{"type": "text", "text": _fresh("Say hi.")}]}],
    )
    message = await raw.parse()
    assert message.model == LOCAL_MODEL
    assert raw.headers["x-agentic-provider"] == "local"
    assert message.content[0].type == "text" and message.content[0].text
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


async def test_anthropic_stream_sends_anthropics_event_types(
    claude: anthropic.AsyncAnthropic,
) -> None:
    async with claude.messages.stream(
        model=LOCAL_MODEL,
        max_tokens=8,
        messages=[{"role": "user", "content": _fresh("Count to five.")}],
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_delta" in kinds and "message_delta" in kinds
    assert final.content[0].type == "text" and final.content[0].text
    assert final.usage.output_tokens > 0


async def test_anthropic_tool_results_map_and_a_model_without_tools_is_refused(
    claude: anthropic.AsyncAnthropic,
) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        await claude.messages.create(
            model=LOCAL_MODEL,
            max_tokens=8,
            tools=[{"name": "get_weather", "input_schema": WEATHER_TOOL["parameters"]}],
            messages=[
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": "t1",
                            "name": "get_weather",
                            "input": {"city": "Paris"},
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}],
                },
            ],
        )
    assert refused.value.body["error"]["message"].startswith("E4006")  # type: ignore[index]


async def test_anthropic_count_tokens_counts_the_input(claude: anthropic.AsyncAnthropic) -> None:
    short = await claude.messages.count_tokens(
        model=LOCAL_MODEL, messages=[{"role": "user", "content": "hi"}]
    )
    longer = await claude.messages.count_tokens(
        model=LOCAL_MODEL, messages=[{"role": "user", "content": "hi " * 200}]
    )
    assert 0 < short.input_tokens < longer.input_tokens


async def test_anthropic_errors_are_in_anthropics_shape(
    claude: anthropic.AsyncAnthropic, mesh: RunningMesh
) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        await claude.messages.create(
            model=LOCAL_MODEL,
            max_tokens=8,
            messages=[{"role": "user", "content": [{"type": "image", "source": {}}]}],
        )
    body = refused.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("E9400: messages[0].content[0].type")
    async with anthropic.AsyncAnthropic(
        base_url=f"{mesh.gateway_url}/anthropic", api_key="agk_nope_nope", max_retries=0
    ) as client:
        with pytest.raises(anthropic.AuthenticationError):
            await client.messages.create(
                model=LOCAL_MODEL, max_tokens=8, messages=[{"role": "user", "content": "hi"}]
            )


async def test_anthropic_sdk_authenticates_with_an_api_key_in_x_api_key(
    mesh: RunningMesh,
) -> None:
    key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(
        f"user-{uuid.uuid4().hex[:6]}", ("model_user",), "standard"
    )
    async with anthropic.AsyncAnthropic(
        base_url=f"{mesh.gateway_url}/anthropic", api_key=key, max_retries=0
    ) as client:
        for _ in range(60):  # the gateway reads the key file again within a second
            try:
                counted = await client.messages.count_tokens(
                    model=LOCAL_MODEL, messages=[{"role": "user", "content": "hi"}]
                )
            except anthropic.AuthenticationError:
                await asyncio.sleep(0.05)
            else:
                assert counted.input_tokens > 0
                return
        raise AssertionError("the key was never accepted")


async def test_a_body_that_is_not_json_and_an_unknown_path_are_refused_in_openais_shape(
    rest: httpx.AsyncClient,
) -> None:
    broken = await rest.post(
        "/openai/v1/chat/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "E9400" and broken.json()["error"]["param"] == "body"
    unknown = await rest.post("/openai/v1/completions", json={"prompt": "hi"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "E9404"
    anthropic_unknown = await rest.get("/anthropic/v1/models")
    assert anthropic_unknown.status_code == 404
    assert anthropic_unknown.json()["type"] == "error"


async def test_an_api_keys_next_compatible_calls_skip_ext_authz_and_are_metered(
    mesh: RunningMesh,
) -> None:
    """ext_authz allows a key on /openai/v1/models (checked as ListModels) and vouches for
    it: the key's next calls there go without the hop, their limits applied by Envoy under
    the same RPC (the x-ratelimit-* headers of the standard tier)."""
    key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(
        f"compat-{uuid.uuid4().hex[:6]}", ("model_user",), "standard"
    )
    headers = {"authorization": f"Bearer {key}"}
    admin = mesh.settings.envoy_admin_port
    async with httpx.AsyncClient(base_url=mesh.gateway_url, timeout=30) as client:
        for _ in range(50):  # until the gateway has read the new key (within a second)
            if (await client.get("/openai/v1/models", headers=headers)).status_code == 200:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(VOUCH_SECONDS)  # let the voucher of that call run out
        before = await envoy_stat(admin, "http.gateway.ext_authz.ok")
        for _ in range(20):
            reply = await client.get("/openai/v1/models", headers=headers)
            assert reply.status_code == 200, reply.text
            assert reply.json()["data"]
            assert reply.headers["x-ratelimit-limit"].startswith("100")
    hops = await envoy_stat(admin, "http.gateway.ext_authz.ok") - before
    assert 1 <= hops < 20


async def test_l04s_http_port_refuses_a_caller_envoy_did_not_admit(mesh: RunningMesh) -> None:
    """Straight to L04's HTTP port, past Envoy: an API key of the gateway's is no credential
    there (only the service token Envoy adds, or L04's own key), and the caller headers a
    client sets itself are not believed."""
    port = mesh.settings.layer_http_port(layer_by_key("l04"))
    base = f"http://127.0.0.1:{port}"
    key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(
        f"direct-{uuid.uuid4().hex[:6]}", ("model_user",), "standard"
    )
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for headers in (
            {},
            {"authorization": f"Bearer {key}"},
            {"authorization": f"Bearer {key}", PRINCIPAL_HEADER: "admin"},
        ):
            reply = await client.get("/openai/v1/models", headers=headers)
            assert reply.status_code == 401, (headers, reply.text)
            assert reply.json()["error"]["code"] == "E4001"
        refused = await client.post(
            "/anthropic/v1/messages",
            json={"model": LOCAL_MODEL, "max_tokens": 4, "messages": []},
            headers={"x-api-key": key},
        )
        assert refused.status_code == 401 and refused.json()["type"] == "error"
        # L04's own key (the dev token in a development mesh) reaches it, as over gRPC.
        listed = await client.get(
            "/openai/v1/models", headers={"authorization": f"Bearer {DEV_TOKEN}"}
        )
        assert listed.status_code == 200 and listed.json()["data"]


async def test_json_nested_deeper_than_the_mesh_allows_is_400_naming_the_field(
    rest: httpx.AsyncClient,
) -> None:
    deep: dict[str, object] = {"type": "string"}
    for _ in range(40):
        deep = {"type": "object", "properties": {"x": deep}}
    reply = await rest.post(
        "/openai/v1/chat/completions",
        json={
            "model": LOCAL_MODEL,
            "max_tokens": 4,
            "messages": [{"role": "user", "content": _fresh("Hi.")}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": deep}}],
        },
    )
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert (error["code"], error["param"]) == ("E9400", "tools[0].function.parameters")
    assert "nested deeper" in error["message"]
