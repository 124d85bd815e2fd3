"""The least a Python ModelService can do per call: take Generate over grpc.aio, make the
provider's HTTP call with the client L04 uses, and answer. No authentication, limits,
budgets, caches, routing or usage: L04's floor on this machine, beside which its own
overhead is put in proportion (``python -m bench.models``).

Run as its own process: ``python -m bench.relay_model_server PORT PROVIDER_URL``.
"""

from __future__ import annotations

import asyncio
import json
import sys

import grpc
from grpc_health.v1 import health, health_pb2_grpc

from agentic.models.v1 import models_pb2 as pb
from agentic.models.v1 import models_pb2_grpc
from services.l04_models.providers.http11 import JsonHttpClient

_BODY = {"model": "llama3.2", "messages": [], "stream": False}


class RelayModelService(models_pb2_grpc.ModelServiceServicer):
    def __init__(self, provider_url: str) -> None:
        self._provider = JsonHttpClient(provider_url, timeout=30)

    async def Generate(self, request, context):  # type: ignore[no-untyped-def]
        body = {**_BODY, "messages": [{"role": m.role, "content": m.content}
                                      for m in request.messages]}  # fmt: skip
        reply = await self._provider.post("/api/chat", body)
        answer = json.loads(reply.body)
        return pb.GenerateResponse(
            content=answer["message"]["content"], model=request.model, provider="ollama"
        )


async def _serve(port: int, provider_url: str) -> None:
    server = grpc.aio.server()
    models_pb2_grpc.add_ModelServiceServicer_to_server(RelayModelService(provider_url), server)
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1]), sys.argv[2]))
