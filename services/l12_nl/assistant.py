"""Ask and Confirm: a request in plain words -> the best matching RPC, its arguments filled
in by a model, then the call for a read, or a proposal for anything that changes state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc

from services.kit import PlatformError
from services.l12_nl import errors
from services.l12_nl.arguments import ArgumentFiller
from services.l12_nl.catalog import CatalogMethod
from services.l12_nl.confirmations import Confirmations, Proposal, token_id
from services.l12_nl.conversations import (
    Conversations,
    check_conversation_id,
    new_conversation_id,
)
from services.l12_nl.index_builder import IndexBuilder
from services.l12_nl.invoker import Invoker, UpstreamError

CANDIDATES = 10  # matches looked through for the best one that can be invoked


@dataclass(frozen=True)
class Answer:
    conversation_id: str
    method: CatalogMethod
    arguments: dict[str, Any]
    result: dict[str, Any] | None  # a read's answer
    proposal: Proposal | None  # a mutating call's, awaiting Confirm


@dataclass(frozen=True)
class Confirmed:
    proposal: Proposal
    result: dict[str, Any]


@dataclass(frozen=True)
class Caller:
    principal: str
    credential: str  # what the mesh is called with on the caller's behalf


class Assistant:
    def __init__(
        self,
        index: IndexBuilder,
        index_wait_seconds: float,
        filler: ArgumentFiller,
        invoker: Invoker,
        confirmations: Confirmations,
        conversations: Conversations,
    ) -> None:
        self._index = index
        self._index_wait = index_wait_seconds
        self._filler = filler
        self._invoker = invoker
        self._confirmations = confirmations
        self._conversations = conversations

    async def _best_method(self, text: str) -> CatalogMethod:
        index = await self._index.index(self._index_wait)
        for match in await index.search(text, CANDIDATES):
            if match.method.unary:
                return match.method
        raise PlatformError(errors.NO_INVOCABLE_MATCH, "no RPC matches the request", field="text")

    async def ask(self, text: str, conversation_id: str, caller: Caller) -> Answer:
        if conversation_id:
            history = await self._conversations.turns(conversation_id, caller.principal)
        else:
            conversation_id, history = new_conversation_id(), []
        method = await self._best_method(text)
        arguments = await self._filler.fill(method, text, history)
        self._invoker.prepare(method.name, arguments)  # they must fit the request message
        turn: dict[str, Any] = {"text": text, "method": method.name, "arguments": arguments}
        if method.mutating:
            proposal = await self._confirmations.propose(
                method.name, arguments, caller.principal, conversation_id
            )
            turn |= {"outcome": "confirmation_required", "token_id": token_id(proposal.token)}
            await self._conversations.add_turn(conversation_id, caller.principal, turn)
            return Answer(conversation_id, method, arguments, None, proposal)
        await self._conversations.add_turn(
            conversation_id, caller.principal, {**turn, "outcome": "invoked"}
        )
        try:
            _, result = await self._invoker.invoke(method.name, arguments, caller.credential)
        except UpstreamError as error:
            if error.code != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            # The caller's words were read into arguments the RPC refused: a verdict on the
            # reading of the text, not on anything the caller sent as such.
            raise PlatformError(
                errors.ARGUMENTS_REFUSED,
                f"{method.name} refused the arguments read from the request "
                f"({error.message}); say more precisely what to call it with",
                field="text",
            ) from None
        return Answer(conversation_id, method, arguments, result, None)

    async def confirm(self, token: str, caller: Caller) -> Confirmed:
        proposal = await self._confirmations.claim(token, caller.principal)
        _, result = await self._invoker.invoke(
            proposal.method, proposal.arguments, caller.credential
        )
        await self._conversations.mark_confirmed(
            proposal.conversation_id, caller.principal, token_id(token)
        )
        return Confirmed(proposal, result)

    async def conversation(self, conversation_id: str, principal: str) -> list[dict[str, Any]]:
        check_conversation_id(conversation_id)
        return await self._conversations.turns(conversation_id, principal)
