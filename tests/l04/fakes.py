"""Stand-ins for providers that cannot run here (no network, no keys, no CLI).

Each speaks its real protocol: the Anthropic Messages API (JSON and SSE streaming, error
bodies, retry-after), Ollama's /api/chat and /api/embed (JSON and NDJSON streaming), and
the `claude` CLI's print-mode JSON and stream-JSON output. Replies are scripted per test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import stat
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Reply:
    """One scripted HTTP reply: a JSON body, an error, or a stream of events."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    events: list[Any] | None = None  # SSE (Anthropic) or NDJSON (Ollama) items
    delay: float = 0.0  # seconds before answering (a provider that hangs)


@dataclass
class Script:
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def next(self) -> Reply:
        if not self.replies:
            return Reply(500, {"error": "the test scripted no more replies"})
        return self.replies.pop(0)


def anthropic_message(
    text: str = "", *, tool: tuple[str, dict[str, Any]] | None = None,
    stop_reason: str = "end_turn", model: str = "claude-sonnet-5-5",
) -> dict[str, Any]:  # fmt: skip
    content: list[dict[str, Any]] = []
    if text:
        content.append({"type": "text", "text": text})
    if tool is not None:
        content.append({"type": "tool_use", "id": "toolu_01", "name": tool[0], "input": tool[1]})
    return {
        "id": "msg_01", "type": "message", "role": "assistant", "model": model,
        "content": content, "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 7},
    }  # fmt: skip


def anthropic_error(status: int, kind: str, message: str, **headers: str) -> Reply:
    return Reply(status, {"type": "error", "error": {"type": kind, "message": message}}, headers)


def anthropic_sse(text_parts: list[str]) -> Reply:
    """The event sequence of a streamed Messages API answer."""
    events: list[Any] = [
        ("message_start", {"type": "message_start", "message": {
            **anthropic_message(), "content": [], "stop_reason": None,
            "usage": {"input_tokens": 11, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
    ]  # fmt: skip
    events += [
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": part}})
        for part in text_parts
    ]  # fmt: skip
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": len(text_parts)}}),
        ("message_stop", {"type": "message_stop"}),
    ]  # fmt: skip
    return Reply(events=events)


def anthropic_app(script: Script) -> Starlette:
    async def messages(request: Request) -> Response:
        body = await request.json()
        script.requests.append({"headers": dict(request.headers), "body": body})
        reply = script.next()
        if reply.events is not None:

            async def sse() -> AsyncIterator[bytes]:
                for name, data in reply.events or ():
                    yield f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()

            return StreamingResponse(sse(), media_type="text/event-stream")
        return JSONResponse(reply.body, reply.status, headers=reply.headers)

    return Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])])


def ollama_chat(text: str, *, done_reason: str = "stop", tool_calls: list | None = None) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "model": "llama3.2", "created_at": "2026-11-25T00:00:00Z", "message": message,
        "done": True, "done_reason": done_reason, "prompt_eval_count": 9, "eval_count": 4,
    }  # fmt: skip


def ollama_app(script: Script) -> Starlette:
    async def chat(request: Request) -> Response:
        body = await request.json()
        script.requests.append({"path": "/api/chat", "body": body})
        reply = script.next()
        await asyncio.sleep(reply.delay)
        if reply.events is not None:

            async def ndjson() -> AsyncIterator[bytes]:
                for item in reply.events or ():
                    yield (json.dumps(item) + "\n").encode()

            return StreamingResponse(ndjson(), media_type="application/x-ndjson")
        return JSONResponse(reply.body, reply.status, headers=reply.headers)

    async def embed(request: Request) -> Response:
        body = await request.json()
        script.requests.append({"path": "/api/embed", "body": body})
        reply = script.next()
        return JSONResponse(reply.body, reply.status, headers=reply.headers)

    return Starlette(
        routes=[
            Route("/api/chat", chat, methods=["POST"]),
            Route("/api/embed", embed, methods=["POST"]),
        ]
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[str]:
    """Runs ``app`` on a free loopback port in this event loop; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


# A `claude` executable: prints what the CLI prints in print mode, per --output-format.
# The reply text, or an error, comes from the environment the test sets.
FAKE_CLAUDE = """\
import json, os, sys
args = sys.argv[1:]
prompt = sys.stdin.read()
fmt = args[args.index("--output-format") + 1]
model = args[args.index("--model") + 1]
with open(os.environ["FAKE_CLAUDE_LOG"], "a") as log:
    log.write(json.dumps({"args": args, "prompt": prompt}) + "\\n")
reply = os.environ.get("FAKE_CLAUDE_REPLY", "hello from claude")
error = os.environ.get("FAKE_CLAUDE_ERROR")
result = {
    "type": "result", "subtype": "success", "is_error": bool(error), "duration_ms": 12,
    "num_turns": 1, "result": error or reply, "session_id": "s-1", "total_cost_usd": 0.0021,
    "usage": {"input_tokens": 5, "cache_read_input_tokens": 3, "output_tokens": 4},
}
if fmt == "json":
    print(json.dumps(result))
else:
    print(json.dumps({"type": "system", "subtype": "init", "model": model, "session_id": "s-1"}))
    words = reply.split(" ")
    for i, word in enumerate(words):
        text = word if i == 0 else " " + word
        print(json.dumps({"type": "stream_event", "event": {"type": "content_block_delta",
              "index": 0, "delta": {"type": "text_delta", "text": text}}}), flush=True)
    print(json.dumps({"type": "assistant", "message": {"role": "assistant",
          "content": [{"type": "text", "text": reply}]}}))
    print(json.dumps(result))
sys.exit(1 if error else 0)
"""


def install_fake_claude(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "claude"
    path.write_text(f"#!{sys.executable}\n{FAKE_CLAUDE}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path
