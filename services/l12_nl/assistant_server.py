"""AssistantService servicer: maps Ask, Confirm and GetConversation to the assistant."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import struct_pb2

from agentic.nl.v1 import assistant_pb2 as pb
from agentic.nl.v1 import assistant_pb2_grpc as pb_grpc
from services.kit import PlatformError, current_principal
from services.l12_nl import errors
from services.l12_nl.assistant import Assistant, Caller
from services.l12_nl.credentials import caller_credential
from services.l12_nl.invoker import UpstreamError
from services.l12_nl.server import MAX_QUERY_CHARS, call_metadata, pass_on

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AssistantService"].full_name

_OUTCOMES = {
    "invoked": pb.ASK_OUTCOME_INVOKED,
    "confirmation_required": pb.ASK_OUTCOME_CONFIRMATION_REQUIRED,
}


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def to_turn(turn: dict[str, Any]) -> pb.Turn:
    message = pb.Turn(
        text=turn.get("text", ""),
        method=turn.get("method", ""),
        arguments=_struct(turn.get("arguments", {})),
        outcome=_OUTCOMES.get(turn.get("outcome", ""), pb.ASK_OUTCOME_UNSPECIFIED),
        confirmed=bool(turn.get("confirmed", False)),
    )
    message.create_time.FromNanoseconds(int(turn.get("create_time", 0) * 1e9))
    return message


class AssistantServicer(pb_grpc.AssistantServiceServicer):
    def __init__(self, assistant: Assistant, service_token: str | None) -> None:
        self._assistant = assistant
        self._service_token = service_token

    def _caller(self, context: grpc.aio.ServicerContext) -> Caller:
        credential = caller_credential(call_metadata(context), self._service_token)
        return Caller(current_principal.get(), credential)

    async def Ask(
        self, request: pb.AskRequest, context: grpc.aio.ServicerContext
    ) -> pb.AskResponse:
        text = request.text.strip()
        if not text or len(text) > MAX_QUERY_CHARS:
            raise PlatformError(
                errors.INVALID_ARGUMENT,
                f"text must be 1-{MAX_QUERY_CHARS} characters",
                field="text",
            )
        try:
            answer = await self._assistant.ask(text, request.conversation_id, self._caller(context))
        except UpstreamError as error:
            await pass_on(context, error)
        response = pb.AskResponse(
            conversation_id=answer.conversation_id,
            method=answer.method.name,
            arguments=_struct(answer.arguments),
            description=answer.method.description,
        )
        if answer.proposal is not None:
            response.outcome = pb.ASK_OUTCOME_CONFIRMATION_REQUIRED
            response.confirmation_token = answer.proposal.token
            response.expires_at.FromNanoseconds(int(answer.proposal.expires_at * 1e9))
        else:
            response.outcome = pb.ASK_OUTCOME_INVOKED
            response.result.update(answer.result or {})
        return response

    async def Confirm(
        self, request: pb.ConfirmRequest, context: grpc.aio.ServicerContext
    ) -> pb.ConfirmResponse:
        try:
            confirmed = await self._assistant.confirm(
                request.confirmation_token.strip(), self._caller(context)
            )
        except UpstreamError as error:
            await pass_on(context, error)
        return pb.ConfirmResponse(
            method=confirmed.proposal.method,
            arguments=_struct(confirmed.proposal.arguments),
            result=_struct(confirmed.result),
            conversation_id=confirmed.proposal.conversation_id,
        )

    async def GetConversation(
        self, request: pb.GetConversationRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetConversationResponse:
        turns = await self._assistant.conversation(request.conversation_id, current_principal.get())
        return pb.GetConversationResponse(
            conversation_id=request.conversation_id, turns=[to_turn(t) for t in turns]
        )
