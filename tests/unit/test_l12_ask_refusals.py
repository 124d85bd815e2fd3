"""Ask, when the read it matched refuses the arguments read from the request: the caller
gets E12206 naming the text, with the layer's reason, not the layer's own error about a field
the caller never sent. Other refusals pass on unchanged. The search, the model and the call
are stand-ins here: what is tested is only how Ask maps the called layer's answer."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from services.kit import PlatformError, descriptors
from services.l12_nl.assistant import Assistant, Caller
from services.l12_nl.catalog import Catalog
from services.l12_nl.invoker import Invoker, UpstreamError
from services.l12_nl.search import Scored

CATALOG = Catalog(descriptors.load())
READ = CATALOG.method("agentic.data.v1.EventStoreService.ReadStream")


class OneMatch:
    """The index, always matching ReadStream (a read: invoked at once)."""

    async def index(self, wait: float) -> OneMatch:
        return self

    async def search(self, text: str, limit: int) -> list[Scored]:
        return [Scored(READ, 1.0)]


class Filler:
    async def fill(self, method: Any, text: str, history: Any) -> dict[str, Any]:
        return {"stream_id": "not a stream id"}


class Refusing(Invoker):
    def __init__(self, code: grpc.StatusCode) -> None:
        super().__init__(CATALOG, gateway=None)  # type: ignore[arg-type]
        self._code = code

    async def invoke(self, *args: Any, **kwargs: Any) -> Any:
        raise UpstreamError(self._code, "E1001: stream_id: letters, digits and -_.:@ only", None)


class Conversations:
    async def turns(self, conversation_id: str, principal: str) -> list[dict[str, Any]]:
        return []

    async def add_turn(self, *args: Any) -> None:
        return None


def assistant(code: grpc.StatusCode) -> Assistant:
    return Assistant(
        OneMatch(),  # type: ignore[arg-type]
        1.0,
        Filler(),  # type: ignore[arg-type]
        Refusing(code),
        None,  # type: ignore[arg-type]  # no confirmations: the match is a read
        Conversations(),  # type: ignore[arg-type]
    )


async def test_arguments_the_matched_read_refuses_are_a_verdict_on_the_text() -> None:
    with pytest.raises(PlatformError) as refused:
        await assistant(grpc.StatusCode.INVALID_ARGUMENT).ask(
            "read the stream", "", Caller("alice", "Bearer k")
        )
    assert refused.value.code == "E12206"
    assert refused.value.field == "text"
    assert "ReadStream" in refused.value.message and "E1001" in refused.value.message


async def test_other_refusals_of_the_matched_read_pass_on_unchanged() -> None:
    with pytest.raises(UpstreamError) as refused:
        await assistant(grpc.StatusCode.PERMISSION_DENIED).ask(
            "read the stream", "", Caller("alice", "Bearer k")
        )
    assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED
