"""Conversations: each a document in L01 holding its caller and its turns, oldest first.

Turns are added by read-modify-write at the read revision, retried on a conflict, so
concurrent asks in one conversation all keep their turn.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from services.kit import PlatformError
from services.l12_nl import errors
from services.l12_nl.documents import DocumentStore, RevisionConflict

COLLECTION = "nl-conversations"
MAX_TURNS = 200  # the oldest are dropped beyond this
WRITE_ATTEMPTS = 8
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@-")


def new_conversation_id() -> str:
    return uuid.uuid4().hex


def check_conversation_id(conversation_id: str) -> None:
    if not 1 <= len(conversation_id) <= 128 or not set(conversation_id) <= _ID_CHARS:
        raise PlatformError(
            errors.INVALID_ARGUMENT,
            "conversation_id must be 1-128 letters, digits or _.@-",
            field="conversation_id",
        )


class Conversations:
    def __init__(self, store: DocumentStore) -> None:
        self._store = store

    async def turns(self, conversation_id: str, principal: str) -> list[dict[str, Any]]:
        check_conversation_id(conversation_id)
        stored = await self._store.get(COLLECTION, conversation_id)
        if stored is None or stored.content.get("principal") != principal:
            raise PlatformError(
                errors.UNKNOWN_CONVERSATION,
                f"no conversation {conversation_id!r} of yours",
                field="conversation_id",
            )
        return list(stored.content.get("turns", []))

    async def add_turn(self, conversation_id: str, principal: str, turn: dict[str, Any]) -> None:
        """Appends a turn (``create_time`` added), creating the conversation if new."""
        stamped = {**turn, "create_time": time.time()}
        await self._update(conversation_id, principal, lambda turns: [*turns, stamped])

    async def mark_confirmed(self, conversation_id: str, principal: str, token_id: str) -> None:
        def confirmed(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{**t, "confirmed": True} if t.get("token_id") == token_id else t for t in turns]

        await self._update(conversation_id, principal, confirmed)

    async def _update(self, conversation_id: str, principal: str, change: Any) -> None:
        for _ in range(WRITE_ATTEMPTS):
            stored = await self._store.get(COLLECTION, conversation_id)
            if stored is not None and stored.content.get("principal") != principal:
                raise PlatformError(
                    errors.UNKNOWN_CONVERSATION,
                    f"no conversation {conversation_id!r} of yours",
                    field="conversation_id",
                )
            turns = stored.content.get("turns", []) if stored else []
            content = {"principal": principal, "turns": change(turns)[-MAX_TURNS:]}
            try:
                await self._store.put(
                    COLLECTION, conversation_id, content, stored.revision if stored else 0
                )
                return
            except RevisionConflict:
                continue
        raise PlatformError(
            errors.INTERNAL, f"conversation {conversation_id!r} kept changing; turn not saved"
        )
