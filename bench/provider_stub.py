"""A provider that answers at once: Ollama's /api/chat with a fixed reply.

Run as its own process (``python -m bench.provider_stub PORT``) so that the benchmark
client, L04 and the provider do not share an event loop.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

REPLY = {
    "model": "llama3.2",
    "created_at": "2026-01-01T00:00:00Z",
    "message": {"role": "assistant", "content": "ok"},
    "done": True,
    "done_reason": "stop",
    "prompt_eval_count": 12,
    "eval_count": 1,
}


async def chat(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse(REPLY)


app = Starlette(routes=[Route("/api/chat", chat, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False)  # fmt: skip
