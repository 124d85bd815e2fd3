"""OpenAI's chat completions, embeddings and models, mapped onto L04's messages.

Pure functions: request JSON -> L04 request, L04 response -> response JSON. Fields L04 has
no use for (``n`` = 1, ``user``, ``seed``...) are accepted and ignored, as OpenAI-compatible
servers commonly do; fields that would change the answer and cannot be honoured are refused.
"""

from __future__ import annotations

import array
import base64
import json
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

from google.protobuf import json_format, struct_pb2

from agentic.models.v1 import models_pb2 as pb
from services.l04_models.compat.failures import CompatError, bad_request
from services.l04_models.compat.fields import field, json_struct, max_tokens, objects, required

_FINISH = {
    pb.FINISH_REASON_STOP: "stop",
    pb.FINISH_REASON_LENGTH: "length",
    pb.FINISH_REASON_TOOL_USE: "tool_calls",
}


def _text(content: Any, where: str) -> str:
    """A message's content: a string, or an array of text parts."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise bad_request(where, "must be a string or an array of content parts")
    texts = []
    for i, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") != "text":
            raise bad_request(f"{where}[{i}]", "only text parts are supported")
        texts.append(required(part, "text", str, f"{where}[{i}]."))
    return "".join(texts)


def _arguments(raw: Any, where: str) -> struct_pb2.Struct:
    """A tool call's arguments: OpenAI sends them as a JSON string."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        raise bad_request(where, "must be a JSON object encoded as a string") from None
    if not isinstance(value, dict):
        raise bad_request(where, "must be a JSON object encoded as a string")
    return json_struct(value, where)


def _tool_calls(message: dict[str, Any], where: str) -> list[pb.ToolCall]:
    calls = []
    for i, call in enumerate(objects(message, "tool_calls", where)):
        at = f"{where}tool_calls[{i}]."
        function = required(call, "function", dict, at)
        calls.append(
            pb.ToolCall(
                id=field(call, "id", str, at) or "",
                name=required(function, "name", str, f"{at}function."),
                arguments=_arguments(function.get("arguments", "{}"), f"{at}function.arguments"),
            )
        )
    return calls


def _messages(body: dict[str, Any]) -> tuple[str, list[pb.Message]]:
    """System and developer messages become L04's system prompt."""
    system: list[str] = []
    messages: list[pb.Message] = []
    for i, message in enumerate(objects(body, "messages")):
        at = f"messages[{i}]."
        role = required(message, "role", str, at)
        text = _text(message.get("content"), f"{at}content")
        if role in ("system", "developer"):
            system.append(text)
        elif role == "user":
            messages.append(pb.Message(role="user", content=text))
        elif role == "assistant":
            calls = _tool_calls(message, at)
            messages.append(pb.Message(role="assistant", content=text, tool_calls=calls))
        elif role == "tool":
            call_id = required(message, "tool_call_id", str, at)
            messages.append(pb.Message(role="tool", content=text, tool_call_id=call_id))
        else:
            raise bad_request(f"{at}role", "must be system, developer, user, assistant or tool")
    if not messages:
        raise bad_request("messages", "at least one user, assistant or tool message is required")
    return "\n\n".join(system), messages


def _tools(body: dict[str, Any]) -> list[pb.Tool]:
    tools = []
    for i, tool in enumerate(objects(body, "tools")):
        at = f"tools[{i}]."
        if tool.get("type", "function") != "function":
            raise bad_request(f"{at}type", "only function tools are supported")
        function = required(tool, "function", dict, at)
        schema = field(function, "parameters", dict, f"{at}function.") or {"type": "object"}
        tools.append(
            pb.Tool(
                name=required(function, "name", str, f"{at}function."),
                description=field(function, "description", str, f"{at}function.") or "",
                input_schema=json_struct(schema, f"{at}function.parameters"),
            )
        )
    return tools


def _tool_choice(body: dict[str, Any], tools: list[pb.Tool]) -> list[pb.Tool]:
    """``none`` sends no tools; ``auto`` and ``required`` send them all; a named function
    sends that one only (L04 has no forced-call switch: the model still chooses)."""
    choice = body.get("tool_choice")
    if choice is None or choice in ("auto", "required"):
        return tools
    if choice == "none":
        return []
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        name = choice["function"].get("name")
        chosen = [tool for tool in tools if tool.name == name]
        if not chosen:
            raise bad_request("tool_choice", f"names no tool in tools: {name!r}")
        return chosen
    raise bad_request("tool_choice", "must be none, auto, required or a function")


def _response_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    response_format = field(body, "response_format", dict)
    if response_format is None:
        return None
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "object"}
    if kind == "json_schema":
        spec = required(response_format, "json_schema", dict, "response_format.")
        return required(spec, "schema", dict, "response_format.json_schema.")
    raise bad_request("response_format.type", "must be text, json_object or json_schema")


def generate_request(body: dict[str, Any]) -> tuple[pb.GenerateRequest, bool]:
    """The L04 request for a chat completion, and whether it asks for a stream."""
    if (field(body, "n", int) or 1) != 1:
        raise bad_request("n", "only 1 choice is supported")
    system, messages = _messages(body)
    request = pb.GenerateRequest(
        messages=messages,
        system=system,
        tools=_tool_choice(body, _tools(body)),
        max_tokens=max_tokens(body, "max_completion_tokens", "max_tokens"),
        model=field(body, "model", str) or "",
    )
    schema = _response_schema(body)
    if schema is not None:
        request.response_schema.CopyFrom(json_struct(schema, "response_format.json_schema.schema"))
    temperature = field(body, "temperature", float)
    if temperature is not None:
        request.temperature = temperature
    return request, bool(field(body, "stream", bool))


def include_usage_in_stream(body: dict[str, Any]) -> bool:
    options = field(body, "stream_options", dict) or {}
    return bool(field(options, "include_usage", bool, "stream_options."))


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def usage(reply: pb.Usage) -> dict[str, int]:
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }


def _tool_call_json(call: pb.ToolCall, index: int | None = None) -> dict[str, Any]:
    arguments = json_format.MessageToDict(call.arguments)
    item: dict[str, Any] = {
        "id": call.id or f"call_{uuid.uuid4().hex[:24]}",
        "type": "function",
        "function": {"name": call.name, "arguments": json.dumps(arguments)},
    }
    if index is not None:
        item["index"] = index
    return item


def finish_reason(reply: pb.GenerateResponse) -> str:
    return _FINISH.get(reply.finish_reason, "stop")


def completion(reply: pb.GenerateResponse, completion_id: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
    if reply.tool_calls:
        message["tool_calls"] = [_tool_call_json(call) for call in reply.tool_calls]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(reply)}],
        "usage": usage(reply.usage),
    }


def chunk(
    completion_id: str, model: str, delta: dict[str, Any], finish: str | None = None
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def final_chunks(
    reply: pb.GenerateResponse, completion_id: str, with_usage: bool
) -> list[dict[str, Any]]:
    """The stream's last chunks: tool calls (whole), the finish reason, then usage if asked."""
    chunks = []
    if reply.tool_calls:
        calls = [_tool_call_json(call, i) for i, call in enumerate(reply.tool_calls)]
        chunks.append(chunk(completion_id, reply.model, {"tool_calls": calls}))
    chunks.append(chunk(completion_id, reply.model, {}, finish_reason(reply)))
    if with_usage:
        last = chunk(completion_id, reply.model, {})
        last["choices"] = []
        last["usage"] = usage(reply.usage)
        chunks.append(last)
    return chunks


def embed_request(body: dict[str, Any]) -> pb.EmbedRequest:
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts:
        raise bad_request("input", "must be a string or a non-empty array of strings")
    if not all(isinstance(text, str) for text in texts):
        raise bad_request("input", "token arrays are not supported: send strings")
    return pb.EmbedRequest(texts=texts, model=field(body, "model", str) or "")


def encoding_format(body: dict[str, Any]) -> str:
    """``float`` (JSON numbers) or ``base64`` (little-endian float32, the SDK's default)."""
    kind = field(body, "encoding_format", str) or "float"
    if kind not in ("float", "base64"):
        raise bad_request("encoding_format", "must be float or base64")
    return kind


def _vector(values: Sequence[float], kind: str) -> list[float] | str:
    if kind == "base64":
        floats = array.array("f", values)
        if sys.byteorder == "big":
            floats.byteswap()  # OpenAI sends little-endian float32
        return base64.b64encode(floats.tobytes()).decode()
    return list(values)


def embeddings(reply: pb.EmbedResponse, kind: str = "float") -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": _vector(e.values, kind)}
            for i, e in enumerate(reply.embeddings)
        ],
        "model": reply.model,
        "usage": {
            "prompt_tokens": reply.usage.input_tokens,
            "total_tokens": reply.usage.input_tokens,
        },
    }


def models(reply: pb.ListModelsResponse) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": m.id, "object": "model", "created": 0, "owned_by": m.provider}
            for m in reply.models
        ],
    }


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def error(failure: CompatError) -> dict[str, Any]:
    """OpenAI's error shape; ``code`` is the platform E-code."""
    kind = _ERROR_TYPES.get(failure.status, "api_error")
    return {
        "error": {
            "message": failure.message,
            "type": kind,
            "param": failure.param,
            "code": failure.code,
        }
    }
