"""The compatible APIs' mappings onto L04's messages and back, without a mesh."""

from __future__ import annotations

import base64
import json
import struct

import pytest
from google.protobuf import json_format

from agentic.models.v1 import models_pb2 as pb
from services.kit.compat_paths import rpc_for_path
from services.kit.errors import PlatformError
from services.l04_models import errors as l04_errors
from services.l04_models.compat import anthropic_api, openai_api
from services.l04_models.compat.failures import CompatError, from_platform_error


def _reply(**fields: object) -> pb.GenerateResponse:
    reply = pb.GenerateResponse(model="local/m", provider="local", **fields)  # type: ignore[arg-type]
    reply.usage.input_tokens, reply.usage.output_tokens = 7, 3
    return reply


def _tool_call() -> pb.ToolCall:
    call = pb.ToolCall(id="c1", name="get_weather")
    call.arguments.update({"city": "Paris"})
    return call


def test_openai_system_messages_become_the_system_prompt_and_tool_turns_map() -> None:
    request, stream = openai_api.generate_request(
        {
            "model": "local/m",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "c1", "type": "function",
                         "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
            ],
            "tools": [{"type": "function", "function": {"name": "get_weather"}}],
            "temperature": 0,
            "max_tokens": 5,
            "stream": True,
        }
    )  # fmt: skip
    assert stream and request.system == "Be brief." and request.max_tokens == 5
    assert [m.role for m in request.messages] == ["user", "assistant", "tool"]
    assert json_format.MessageToDict(request.messages[1].tool_calls[0].arguments) == {
        "city": "Paris"
    }
    assert request.messages[2].tool_call_id == "c1"
    assert request.HasField("temperature") and request.temperature == 0
    assert [t.name for t in request.tools] == ["get_weather"]


def test_openai_json_schema_becomes_the_response_schema() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    request, _ = openai_api.generate_request(
        {
            "messages": [{"role": "user", "content": "x"}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "n", "schema": schema},
            },
        }
    )
    assert json_format.MessageToDict(request.response_schema) == schema


def test_openai_tool_choice_none_sends_no_tools() -> None:
    request, _ = openai_api.generate_request(
        {
            "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "tool_choice": "none",
        }
    )
    assert not request.tools


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": "hi"}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens"),
        ({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}, "temperature"),
        ({"messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
    ],
)
def test_openai_bad_fields_are_named(body: dict[str, object], param: str) -> None:
    with pytest.raises(CompatError) as refused:
        openai_api.generate_request(body)
    assert (refused.value.status, refused.value.code, refused.value.param) == (400, "E9400", param)


def test_openai_completion_carries_tool_calls_usage_and_the_answering_model() -> None:
    body = openai_api.completion(
        _reply(tool_calls=[_tool_call()], finish_reason=pb.FINISH_REASON_TOOL_USE), "id1"
    )
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert body["model"] == "local/m"
    assert body["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


def test_openai_stream_ends_with_finish_then_usage_when_asked() -> None:
    chunks = openai_api.final_chunks(_reply(finish_reason=pb.FINISH_REASON_LENGTH), "id1", True)
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 10


def test_openai_base64_embeddings_are_little_endian_float32() -> None:
    reply = pb.EmbedResponse(embeddings=[pb.Embedding(values=[0.5, -1.0])], model="e")
    encoded = openai_api.embeddings(reply, "base64")["data"][0]["embedding"]
    assert struct.unpack("<2f", base64.b64decode(encoded)) == (0.5, -1.0)


def test_anthropic_blocks_tool_use_and_tool_result_map_to_l04_turns() -> None:
    request, stream = anthropic_api.generate_request(
        {
            "max_tokens": 9,
            "system": [{"type": "text", "text": "Be brief."}],
            "messages": [
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "t1", "name": "w", "input": {"city": "Paris"}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "sunny"},
                    {"type": "text", "text": "And tomorrow?"},
                ]},
            ],
            "tools": [{"name": "w", "input_schema": {"type": "object"}}],
        }
    )  # fmt: skip
    assert not stream and request.system == "Be brief." and request.max_tokens == 9
    assert [m.role for m in request.messages] == ["user", "assistant", "tool", "user"]
    assert request.messages[1].tool_calls[0].id == "t1"
    assert request.messages[2].tool_call_id == "t1" and request.messages[2].content == "sunny"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "image"}]}]},
         "messages[0].content[0].type"),
        ({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
          "tools": [{"name": "t"}]}, "tools[0].input_schema"),
    ],
)  # fmt: skip
def test_anthropic_bad_fields_are_named(body: dict[str, object], param: str) -> None:
    with pytest.raises(CompatError) as refused:
        anthropic_api.generate_request(body)
    assert refused.value.param == param
    assert anthropic_api.error(refused.value)["error"]["message"].startswith(f"E9400: {param}")


def test_anthropic_message_and_stream_end_carry_tool_use_and_stop_reason() -> None:
    reply = _reply(content="ok", tool_calls=[_tool_call()], finish_reason=pb.FINISH_REASON_TOOL_USE)
    message = anthropic_api.message(reply, "m1")
    assert [block["type"] for block in message["content"]] == ["text", "tool_use"]
    assert message["stop_reason"] == "tool_use" and message["model"] == "local/m"
    events = anthropic_api.final_events(reply, text_open=True)
    assert [e["type"] for e in events] == [
        "content_block_stop", "content_block_start", "content_block_delta",
        "content_block_stop", "message_delta", "message_stop",
    ]  # fmt: skip
    assert json.loads(events[2]["delta"]["partial_json"]) == {"city": "Paris"}
    assert events[4]["usage"] == {"input_tokens": 7, "output_tokens": 3}


def test_compatible_paths_are_authorized_as_the_l04_rpc_they_call() -> None:
    assert rpc_for_path("/openai/v1/chat/completions") == "agentic.models.v1.ModelService/Generate"
    assert rpc_for_path("/anthropic/v1/messages?beta=true") == (
        "agentic.models.v1.ModelService/Generate"
    )
    assert rpc_for_path("/agentic.data.v1.X/Y") == "agentic.data.v1.X/Y"


def test_error_shapes_carry_the_platform_code() -> None:
    failure = CompatError(404, "E4004", "no such model", "model")
    assert openai_api.error(failure)["error"] == {
        "message": "no such model", "type": "not_found_error", "param": "model", "code": "E4004"
    }  # fmt: skip
    assert anthropic_api.error(failure)["error"]["message"] == "E4004: no such model"


def _nested(levels: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": _nested(33)}}]},
            "tools[0].function.parameters",
        ),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"schema": _nested(33)}}},
            "response_format.json_schema.schema",
        ),
    ],
)
def test_json_nested_past_the_meshs_limit_is_refused_naming_the_field(
    body: dict[str, object], param: str
) -> None:
    base = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(CompatError) as refused:
        openai_api.generate_request({**base, **body})
    assert (refused.value.status, refused.value.param) == (400, param)
    assert "32 levels" in refused.value.message
    limit = {"tools": [{"name": "f", "input_schema": _nested(32)}], "max_tokens": 1}
    request, _ = anthropic_api.generate_request({**base, **limit})  # 32 levels: allowed
    assert request.tools[0].input_schema


def test_l04s_refusals_keep_their_code_field_and_status_and_a_limit_says_when_to_retry() -> None:
    bad = PlatformError(l04_errors.UNKNOWN_MODEL, "no model 'x'", field="model")
    failure = from_platform_error(bad)
    assert (failure.status, failure.code, failure.param) == (404, "E4004", "model")
    assert failure.message == "no model 'x'" and failure.retry_after is None
    limited = PlatformError(
        l04_errors.RATE_LIMITED, "slow down", metadata={"retry_after_seconds": "2.3"}
    )
    assert (from_platform_error(limited).status, from_platform_error(limited).retry_after) == (
        429,
        "3",
    )
