"""Anthropic's Messages API, mapped onto L04's messages.

Pure functions: request JSON -> L04 request, L04 response -> response JSON and stream
events. ``tool_result`` blocks become L04 ``tool`` messages; ``tool_use`` blocks become an
assistant message's tool calls. Images and documents are refused (L04 carries text).
"""

from __future__ import annotations

import uuid
from typing import Any

from google.protobuf import json_format

from agentic.models.v1 import models_pb2 as pb
from services.l04_models.compat.failures import CompatError, bad_request
from services.l04_models.compat.fields import field, json_struct, max_tokens, objects, required

_STOP = {
    pb.FINISH_REASON_STOP: "end_turn",
    pb.FINISH_REASON_LENGTH: "max_tokens",
    pb.FINISH_REASON_TOOL_USE: "tool_use",
}


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise bad_request(where, "must be a string or an array of content blocks")
    for i, block in enumerate(content):
        if not isinstance(block, dict):
            raise bad_request(f"{where}[{i}]", "must be a content block object")
    return content


def _block_text(content: Any, where: str) -> str:
    """The text of a string or of text blocks (a system prompt, a tool result)."""
    texts = []
    for i, block in enumerate(_blocks(content, where)):
        if block.get("type") != "text":
            raise bad_request(f"{where}[{i}].type", "only text blocks are supported here")
        texts.append(required(block, "text", str, f"{where}[{i}]."))
    return "".join(texts)


def _user(content: Any, where: str) -> list[pb.Message]:
    """A user turn: its text, and one L04 tool message per tool_result block."""
    messages, texts = [], []
    for i, block in enumerate(_blocks(content, where)):
        at = f"{where}[{i}]."
        kind = block.get("type")
        if kind == "text":
            texts.append(required(block, "text", str, at))
        elif kind == "tool_result":
            result = _block_text(block.get("content", ""), f"{at}content")
            call_id = required(block, "tool_use_id", str, at)
            messages.append(pb.Message(role="tool", content=result, tool_call_id=call_id))
        else:
            raise bad_request(f"{at}type", "must be text or tool_result")
    if texts:
        messages.append(pb.Message(role="user", content="".join(texts)))
    return messages


def _assistant(content: Any, where: str) -> pb.Message:
    message = pb.Message(role="assistant")
    texts = []
    for i, block in enumerate(_blocks(content, where)):
        at = f"{where}[{i}]."
        kind = block.get("type")
        if kind == "text":
            texts.append(required(block, "text", str, at))
        elif kind == "tool_use":
            call = message.tool_calls.add(
                id=required(block, "id", str, at), name=required(block, "name", str, at)
            )
            tool_input = field(block, "input", dict, at) or {}
            call.arguments.CopyFrom(json_struct(tool_input, f"{at}input"))
        else:
            raise bad_request(f"{at}type", "must be text or tool_use")
    message.content = "".join(texts)
    return message


def _messages(body: dict[str, Any]) -> list[pb.Message]:
    messages: list[pb.Message] = []
    for i, message in enumerate(objects(body, "messages")):
        at = f"messages[{i}]."
        role = required(message, "role", str, at)
        content = message.get("content")
        if content is None:
            raise bad_request(f"{at}content", "required")
        if role == "user":
            messages.extend(_user(content, f"{at}content"))
        elif role == "assistant":
            messages.append(_assistant(content, f"{at}content"))
        else:
            raise bad_request(f"{at}role", "must be user or assistant")
    if not messages:
        raise bad_request("messages", "at least one message is required")
    return messages


def _tools(body: dict[str, Any]) -> list[pb.Tool]:
    tools = []
    for i, tool in enumerate(objects(body, "tools")):
        at = f"tools[{i}]."
        entry = pb.Tool(
            name=required(tool, "name", str, at),
            description=field(tool, "description", str, at) or "",
        )
        schema = required(tool, "input_schema", dict, at)
        entry.input_schema.CopyFrom(json_struct(schema, f"{at}input_schema"))
        tools.append(entry)
    choice = field(body, "tool_choice", dict) or {}
    if choice.get("type") == "none":
        return []
    if choice.get("type") == "tool":
        chosen = [tool for tool in tools if tool.name == choice.get("name")]
        if not chosen:
            raise bad_request("tool_choice.name", "names no tool in tools")
        return chosen
    return tools


def generate_request(body: dict[str, Any]) -> tuple[pb.GenerateRequest, bool]:
    """The L04 request for a Messages call, and whether it asks for a stream."""
    system = body.get("system")
    request = pb.GenerateRequest(
        messages=_messages(body),
        system=_block_text(system, "system") if system is not None else "",
        tools=_tools(body),
        max_tokens=max_tokens(body, "max_tokens"),
        model=field(body, "model", str) or "",
    )
    if request.max_tokens == 0:
        raise bad_request("max_tokens", "required")
    temperature = field(body, "temperature", float)
    if temperature is not None:
        request.temperature = temperature
    return request, bool(field(body, "stream", bool))


def estimated_input_tokens(request: pb.GenerateRequest) -> int:
    """count_tokens: L04's own estimate (a token per four characters), which its limits and
    budgets charge before a call; no provider tokenizer is consulted."""
    chars = len(request.system) + sum(len(m.content) for m in request.messages)
    chars += sum(len(t.name) + len(t.description) for t in request.tools)
    return chars // 4 + 1


def message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def usage(reply: pb.Usage) -> dict[str, int]:
    return {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens}


def _tool_use(call: pb.ToolCall) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": call.id or f"toolu_{uuid.uuid4().hex[:24]}",
        "name": call.name,
        "input": json_format.MessageToDict(call.arguments),
    }


def message(reply: pb.GenerateResponse, message_id: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if reply.content:
        content.append({"type": "text", "text": reply.content})
    content.extend(_tool_use(call) for call in reply.tool_calls)
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": content,
        "stop_reason": _STOP.get(reply.finish_reason, "end_turn"),
        "stop_sequence": None,
        "usage": usage(reply.usage),
    }


def message_start(message_id: str, model: str) -> dict[str, Any]:
    """The first event. It names the model asked for: which one answers is known only when
    L04's stream ends, and Anthropic's later events have no model field."""
    return {
        "type": "message_start",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        },
    }


def text_block_start() -> dict[str, Any]:
    return {"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}  # fmt: skip


def text_delta(text: str) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": text}}  # fmt: skip


def final_events(reply: pb.GenerateResponse, text_open: bool) -> list[dict[str, Any]]:
    """After the text: close it, one block per tool call, then the stop reason and usage."""
    events: list[dict[str, Any]] = []
    index = 0
    if text_open:
        events.append({"type": "content_block_stop", "index": 0})
        index = 1
    for call in reply.tool_calls:
        block = _tool_use(call)
        arguments = json_format.MessageToJson(call.arguments, indent=None)
        delta = {"type": "input_json_delta", "partial_json": arguments}
        events += [
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {**block, "input": {}},
            },
            {"type": "content_block_delta", "index": index, "delta": delta},
            {"type": "content_block_stop", "index": index},
        ]
        index += 1
    events += [
        {
            "type": "message_delta",
            "delta": {"stop_reason": _STOP.get(reply.finish_reason, "end_turn"),
                      "stop_sequence": None},
            "usage": usage(reply.usage),
        },
        {"type": "message_stop"},
    ]  # fmt: skip
    return events


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
}


def error(failure: CompatError) -> dict[str, Any]:
    """Anthropic's error shape; the message starts with the platform E-code."""
    kind = _ERROR_TYPES.get(failure.status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": str(failure)}}
