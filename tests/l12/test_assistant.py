"""Ask, Confirm and conversations through the gateway, with the mesh's local model filling
in arguments (its choices are toy-level: these tests check what the layer guarantees, not
what the model writes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.kit.auth import ApiKeyFile
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN, rest_reason, stream_name

pytestmark = [pytest.mark.integration, pytest.mark.l12, pytest.mark.slow]


@pytest.fixture
async def client(mesh: RunningMesh) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=mesh.gateway_url,
        headers={"authorization": f"Bearer {DEV_TOKEN}"},
        timeout=120,
    ) as client:
        yield client


async def ask(client: httpx.AsyncClient, text: str, **fields: Any) -> httpx.Response:
    """Ask, retried when the offline model ran out of tokens writing the arguments (E4011):
    its output can differ with what it answered just before (its prompt cache), and these
    tests are about what L12 does with an answer, not about the toy model's answers."""
    for _ in range(3):
        reply = await client.post("/v1/assistant:ask", json={"text": text, **fields})
        if reply.status_code != 400 or rest_reason(reply.json()) != "E4011":
            return reply
    return reply


async def test_a_read_is_invoked_at_once_and_kept_in_the_conversation(
    client: httpx.AsyncClient,
) -> None:
    reply = await ask(client, "which language models are available")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["method"] == "agentic.models.v1.ModelService.ListModels"
    assert body["outcome"] == "ASK_OUTCOME_INVOKED"
    assert "models" in body["result"]
    again = await ask(client, "list the models again", conversation_id=body["conversation_id"])
    assert again.status_code == 200, again.text
    assert again.json()["conversation_id"] == body["conversation_id"]
    history = await client.get(f"/v1/conversations/{body['conversation_id']}")
    turns = history.json()["turns"]
    assert [t["text"] for t in turns] == [
        "which language models are available",
        "list the models again",
    ]
    assert turns[0]["method"] == body["method"]


async def test_a_mutating_ask_does_nothing_until_confirmed_and_a_token_runs_once(
    client: httpx.AsyncClient,
) -> None:
    stream = stream_name("nl-ask")
    created = await client.post(
        f"/v1/streams/{stream}:append", json={"events": [{"type": "order.placed"}]}
    )
    assert created.status_code == 200, created.text
    # The offline model sometimes runs out of tokens on one wording: others are tried.
    for text in (
        f"delete the stream {stream}",
        f"delete the event stream {stream}",
        f"remove the stream named {stream}",
    ):
        reply = await ask(client, text)
        if reply.status_code == 200:
            break
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["method"] == "agentic.data.v1.EventStoreService.DeleteStream"
    assert body["outcome"] == "ASK_OUTCOME_CONFIRMATION_REQUIRED"
    assert body["confirmation_token"] and body["expires_at"]
    assert "result" not in body or body["result"] == {}
    # Nothing was done: the stream is there, not deleted.
    stream_state = await client.get(f"/v1/streams/{stream}")
    assert stream_state.status_code == 200
    assert not stream_state.json().get("deleted", False)

    token = body["confirmation_token"]
    confirmations = await asyncio.gather(
        *(
            client.post("/v1/assistant:confirm", json={"confirmation_token": token})
            for _ in range(5)
        )
    )
    refused = [r for r in confirmations if rest_reason(r.json()) == "E12201"]
    executed = [r for r in confirmations if rest_reason(r.json()) != "E12201"]
    assert len(executed) == 1, [r.text for r in confirmations]
    assert len(refused) == 4
    assert all(r.status_code == 400 for r in refused)
    late = await client.post("/v1/assistant:confirm", json={"confirmation_token": token})
    assert rest_reason(late.json()) == "E12201"
    history = await client.get(f"/v1/conversations/{body['conversation_id']}")
    (turn,) = history.json()["turns"]
    assert turn["outcome"] == "ASK_OUTCOME_CONFIRMATION_REQUIRED"
    assert turn["confirmed"] is (executed[0].status_code == 200)


async def test_another_caller_may_neither_confirm_nor_read_the_conversation(
    mesh: RunningMesh, client: httpx.AsyncClient
) -> None:
    # Any mutating request serves (the subject is who may use its token); the offline model
    # sometimes runs out of tokens on one wording, so a second and third wording are tried.
    for text in (
        "delete the document o-1 of the orders collection",
        "remove document o-2 from the collection named orders",
        "delete the consumer group called billing",
    ):
        reply = await ask(client, text)
        if reply.status_code == 200:
            break
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["outcome"] == "ASK_OUTCOME_CONFIRMATION_REQUIRED"
    key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(
        f"nl-other-{stream_name()}", ("admin",), "standard"
    )
    other = {"authorization": f"Bearer {key}"}
    for _ in range(60):  # until the gateway has read the new key
        stolen = await client.post(
            "/v1/assistant:confirm",
            json={"confirmation_token": body["confirmation_token"]},
            headers=other,
        )
        if stolen.status_code != 401:
            break
        await asyncio.sleep(0.1)
    assert stolen.status_code == 403, stolen.text
    assert rest_reason(stolen.json()) == "E12203"
    peek = await client.get(f"/v1/conversations/{body['conversation_id']}", headers=other)
    assert peek.status_code == 404
    assert rest_reason(peek.json()) == "E12204"


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/v1/assistant:ask", {"text": ""}, 400, "E12002"),
        ("/v1/assistant:ask", {"text": "x" * 2001}, 400, "E12002"),
        ("/v1/assistant:ask", {"text": "list models", "conversation_id": "no/such"}, 400, "E12002"),
        (
            "/v1/assistant:ask",
            {"text": "list models", "conversation_id": "unknown-1"},
            404,
            "E12204",
        ),
        ("/v1/assistant:confirm", {"confirmation_token": ""}, 400, "E12002"),
        ("/v1/assistant:confirm", {"confirmation_token": "A" * 43}, 404, "E12200"),
    ],
)
async def test_bad_assistant_input_is_refused_with_its_code(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], status: int, code: str
) -> None:
    reply = await client.post(path, json=body)
    assert reply.status_code == status, reply.text
    assert rest_reason(reply.json()) == code
