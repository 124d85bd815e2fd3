"""Idempotent executions: the first result for (caller, key) is remembered in L01 and a
retry gets it back without running anything.

A record is claimed before the tool runs (a document that must not exist yet), so two
concurrent calls with one key run the tool once: the second waits for the first's result.
A claim carries a lease (the tool's wall time and a margin): if the process that claimed it
died, its sandbox died with it (``--die-with-parent``) and no result was recorded, so a
retry after the lease may run the tool again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.kit import PlatformError
from services.l03_tools import errors
from services.l03_tools.store import Documents, RevisionConflict

COLLECTION = "tool_idempotency"
LEASE_MARGIN_SECONDS = 15.0
POLL_SECONDS = 0.05


def record_id(principal: str, key: str) -> str:
    return hashlib.sha256(f"{principal}\n{key}".encode()).hexdigest()


def fingerprint(tool: str, arguments: dict[str, Any], workspace: str) -> str:
    body = json.dumps([tool, arguments, workspace], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    """The right to run: ``record`` and ``revision`` to store the result with."""

    record: str
    revision: int


def done(call: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"state": "done", "call": call, "result": result}


class IdempotencyLedger:
    def __init__(self, documents: Documents, clock: Callable[[], float] = time.time) -> None:
        self._documents = documents
        self._clock = clock

    async def claim(
        self, principal: str, key: str, call: str, lease_seconds: float
    ) -> Claim | dict[str, Any]:
        """A claim to run, or the remembered result of the first call with this key."""
        if not 1 <= len(key) <= 256:
            raise PlatformError(
                errors.INVALID_ARGUMENT,
                "idempotency_key must be 1-256 characters",
                field="idempotency_key",
            )
        record = record_id(principal, key)
        deadline = time.monotonic() + lease_seconds + LEASE_MARGIN_SECONDS
        # A new key is the usual case: claim it outright (one L01 call, not a read first).
        try:
            first = await self._documents.put(
                COLLECTION, record, self._running(call, lease_seconds), 0
            )
        except RevisionConflict:
            pass  # used before: what does its record say?
        else:
            return Claim(record, first)
        while True:
            stored = await self._documents.get(COLLECTION, record)
            body, revision = stored if stored is not None else ({}, 0)
            if body and body.get("call") != call:
                raise PlatformError(
                    errors.IDEMPOTENCY_KEY_REUSED,
                    "idempotency_key was used before for another tool, arguments or workspace",
                    field="idempotency_key",
                )
            if body.get("state") == "done":
                return dict(body["result"])
            if body and body.get("lease_until", 0) > self._clock():
                if time.monotonic() > deadline:
                    raise PlatformError(
                        errors.STORE_UNAVAILABLE, "the first call with this key has not finished"
                    )
                await asyncio.sleep(POLL_SECONDS)  # running elsewhere: wait for its result
                continue
            try:
                new_revision = await self._documents.put(
                    COLLECTION, record, self._running(call, lease_seconds), revision
                )
            except RevisionConflict:
                continue
            return Claim(record, new_revision)

    def _running(self, call: str, lease_seconds: float) -> dict[str, Any]:
        return {
            "state": "running",
            "call": call,
            "lease_until": self._clock() + lease_seconds + LEASE_MARGIN_SECONDS,
        }

    async def complete(self, claim: Claim, call: str, result: dict[str, Any]) -> None:
        await self._documents.put(COLLECTION, claim.record, done(call, result), claim.revision)

    @staticmethod
    def done_record(claim: Claim, call: str, result: dict[str, Any]
                    ) -> tuple[str, str, dict[str, Any]]:  # fmt: skip
        """The record ``complete`` writes, to write with the execution's event instead (no
        revision check then: the claim's lease outlasts the tool's wall time)."""
        return COLLECTION, claim.record, done(call, result)

    async def release(self, claim: Claim, call: str) -> None:
        """Gives the key back when nothing ran to the end (a refusal, a crash of the call)."""
        try:
            await self._documents.put(
                COLLECTION,
                claim.record,
                {"state": "released", "call": call, "lease_until": 0},
                claim.revision,
            )
        except (RevisionConflict, PlatformError):
            pass  # the lease runs out by itself
