"""Where a provider's API key comes from: L00 when the mesh has one, else the environment.

With L00 in the mesh (``kit.layer_located`` and the service token), the key is the latest
version of the secret named like the variable (``ANTHROPIC_API_KEY``), read through the
kit's ``SecretReader`` (its 30 s cache: a rotated key is used within that time). A secret
L00 does not hold or will not give this layer (one answer for both, E0004), or a disabled
one, falls back to the environment's value (and L00 is asked again ten minutes later, not on
every call); while L00 is unreachable the last key it gave is kept. The value is never
logged, only where it came from.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import grpc
import structlog

from services.kit.secrets import SecretReader

log = structlog.get_logger("l04.provider_keys")

# L00's answers meaning "no value for you here": fall back to the environment.
_ABSENT = (
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
)
RETRY_SECONDS = 2.0  # until L00 first answers (it starts with the other layers)
# L00 has no value for L04: asked again after this long, not on every model call nor every
# refresh (each refusal is an audit event in the log: a mesh without the secret would write
# one a minute per L04 process otherwise).
ABSENT_RECHECK_SECONDS = 600.0


class ProviderKey:
    def __init__(
        self,
        name: str,
        environment_value: str | None,
        reader: SecretReader | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._environment = environment_value or None
        self._reader = reader
        self._clock = clock
        self._from_l00: str | None = None
        self._absent_until = 0.0
        self._source = ""

    @property
    def value(self) -> str | None:
        """The key to use now (None: the provider is not configured)."""
        return self._from_l00 or self._environment

    async def refresh(self) -> str | None:
        """Asks L00 (through the reader's cache) and returns the key to use."""
        if self._reader is None or self._clock() < self._absent_until:
            return self.value
        try:
            self._from_l00 = await self._reader.read_text(self.name) or None
        except grpc.aio.AioRpcError as error:
            if error.code() not in _ABSENT:
                log.warning("provider_key.l00_unreachable", key=self.name, error=error.code().name)
                raise
            self._from_l00 = None
            self._absent_until = self._clock() + ABSENT_RECHECK_SECONDS
        self._note_source()
        return self.value

    def _note_source(self) -> None:
        source = "l00" if self._from_l00 else "environment" if self._environment else "none"
        if source != self._source:
            log.info("provider_key.source", key=self.name, source=source)
            self._source = source

    async def keep_fresh(self, every_seconds: float) -> None:
        """Refreshes in the background, so ``value`` (read without waiting) follows L00."""
        if self._reader is None:
            return
        while True:
            try:
                await self.refresh()
                await asyncio.sleep(every_seconds)
            except grpc.aio.AioRpcError:
                await asyncio.sleep(RETRY_SECONDS)
