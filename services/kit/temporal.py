"""The one way a layer connects to Temporal (L02 and L05 run their work as workflows)."""

from __future__ import annotations

import asyncio
import time

import structlog
from temporalio.client import Client
from temporalio.service import RPCError

log = structlog.get_logger("kit.temporal")


async def connect_temporal(address: str, namespace: str, wait_seconds: float) -> Client:
    """Temporal may still be starting (or restarting): retry until ``wait_seconds`` pass."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return await Client.connect(address, namespace=namespace)
        except (RPCError, RuntimeError) as error:
            if time.monotonic() > deadline:
                raise
            log.info("temporal.waiting", address=address, error=str(error))
            await asyncio.sleep(0.5)
