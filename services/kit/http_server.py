"""A layer's plain HTTP server beside its gRPC server: uvicorn in the layer's own event loop."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp


class LayerHttpServer(uvicorn.Server):
    """Leaves SIGTERM / SIGINT to the layer's own shutdown (kit.wait_for_termination)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


# How long a stop waits for requests in flight (a model's stream may run for minutes) before
# closing them; the layer's gRPC server is given its own grace (ServiceSettings.grace_seconds).
GRACE_SECONDS = 10


def http_server(app: ASGIApp, host: str, port: int) -> LayerHttpServer:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    return LayerHttpServer(config)


def shared_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``port`` that every process of a layer binds alike
    (SO_REUSEPORT): the kernel spreads the connections over them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on sockets that say TCP, and
    # without it a response written in two parts waits for a delayed ACK (40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock
