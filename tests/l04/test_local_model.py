"""The embedded default answers for real: SmolLM2 on xllamacpp, MiniLM on onnxruntime.

Every test keeps max_tokens small: generation runs on the shared CPU.
"""

from __future__ import annotations

import json
import math

import httpx
import jsonschema
import pytest
from google.protobuf import json_format

from agentic.models.v1 import models_pb2 as pb
from agentic.models.v1 import models_pb2_grpc
from tests.l04.conftest import LOCAL_MODEL

pytestmark = [pytest.mark.integration, pytest.mark.l04]

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


def _request(text: str, **fields: object) -> pb.GenerateRequest:
    request = pb.GenerateRequest(
        messages=[pb.Message(role="user", content=text)],
        model=LOCAL_MODEL,
        max_tokens=12,
        cache=pb.CacheControl(bypass=True),
    )
    for name, value in fields.items():
        if name == "response_schema":
            request.response_schema.update(value)
        else:
            setattr(request, name, value)
    return request


async def test_list_models_names_the_local_models_as_available(
    models: models_pb2_grpc.ModelServiceStub,
) -> None:
    reply = await models.ListModels(pb.ListModelsRequest(provider="local"))
    by_id = {m.id: m for m in reply.models}
    assert set(by_id) == {LOCAL_MODEL, "local/all-minilm-l6-v2"}
    assert by_id[LOCAL_MODEL].available and by_id[LOCAL_MODEL].capabilities.json
    assert not by_id[LOCAL_MODEL].capabilities.tools
    assert by_id["local/all-minilm-l6-v2"].capabilities.embeddings
    assert reply.default_embedding_model == "local/all-minilm-l6-v2"


async def test_generate_through_rest_says_which_model_answered(rest: httpx.AsyncClient) -> None:
    response = await rest.post(
        "/v1/models:generate",
        json={
            "messages": [{"role": "user", "content": "Say hello."}],
            "model": LOCAL_MODEL,
            "max_tokens": 8,
            "cache": {"bypass": True},
        },
        timeout=120,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["provider"] == "local" and body["model"] == LOCAL_MODEL
    assert body["content"].strip()
    assert int(body["usage"]["input_tokens"]) > 0 and int(body["usage"]["output_tokens"]) > 0
    assert body["finish_reason"] in ("FINISH_REASON_STOP", "FINISH_REASON_LENGTH")
    assert body["cached"] is False and body["latency"].endswith("s")


async def test_the_local_model_is_deterministic(models: models_pb2_grpc.ModelServiceStub) -> None:
    first = await models.Generate(_request("Name a colour."))
    second = await models.Generate(_request("Name a colour."))
    assert first.content == second.content
    assert first.usage.output_tokens == second.usage.output_tokens


async def test_constrained_output_follows_the_schema(
    models: models_pb2_grpc.ModelServiceStub,
) -> None:
    reply = await models.Generate(
        _request("Give a person as JSON.", response_schema=PERSON, max_tokens=60)
    )
    document = json.loads(reply.content)
    jsonschema.validate(document, PERSON)
    assert json_format.MessageToDict(reply.structured) == document
    assert reply.finish_reason == pb.FINISH_REASON_STOP


async def test_a_constrained_answer_cut_off_at_max_tokens_is_an_error(
    models: models_pb2_grpc.ModelServiceStub,
) -> None:
    import grpc

    from tests.support import platform_code

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.Generate(_request("Give a person as JSON.", response_schema=PERSON,
                                       max_tokens=3))  # fmt: skip
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert platform_code(caught.value) == "E4011"


async def test_stream_sends_deltas_then_the_final_message(
    models: models_pb2_grpc.ModelServiceStub,
) -> None:
    deltas, final = [], None
    async for message in models.StreamGenerate(
        pb.StreamGenerateRequest(request=_request("Count to five."))
    ):
        if message.HasField("final"):
            final = message.final
        else:
            assert final is None, "nothing may follow the final message"
            deltas.append(message.text_delta)
    assert final is not None and len(deltas) > 1
    assert "".join(deltas) == final.content
    assert final.provider == "local" and final.usage.output_tokens > 0


async def test_embed_through_rest_gives_normalised_vectors_of_the_model_dimension(
    rest: httpx.AsyncClient,
) -> None:
    texts = ["How do I reset my password?", "I forgot my password, how can I change it?",
             "The train to Paris leaves at noon."]  # fmt: skip
    response = await rest.post("/v1/models:embed", json={"texts": texts}, timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dimension"] == 384 and body["provider"] == "local"
    vectors = [e["values"] for e in body["embeddings"]]
    assert [len(v) for v in vectors] == [384, 384, 384]
    assert all(math.isclose(math.hypot(*v), 1.0, abs_tol=1e-3) for v in vectors)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.3


async def test_gateway_health_lists_the_model_layer(rest: httpx.AsyncClient) -> None:
    response = await rest.get("/health")
    assert response.status_code == 200
    assert response.json()["layers"]["l04_models"]["status"] == "SERVING"


async def test_stream_generate_over_rest_is_newline_delimited_json(
    rest: httpx.AsyncClient,
) -> None:
    body = {
        "messages": [{"role": "user", "content": "Count to three."}],
        "model": LOCAL_MODEL,
        "max_tokens": 8,
        "cache": {"bypass": True},
    }
    async with rest.stream("POST", "/v1/models:streamGenerate", json=body, timeout=120) as reply:
        assert reply.status_code == 200
        lines = [json.loads(line) async for line in reply.aiter_lines() if line.strip()]
    assert "final" in lines[-1] and all("text_delta" in line for line in lines[:-1])
    assert "".join(line["text_delta"] for line in lines[:-1]) == lines[-1]["final"]["content"]
    assert lines[-1]["final"]["provider"] == "local"


async def test_a_stream_with_a_schema_sends_only_a_validated_document(
    models: models_pb2_grpc.ModelServiceStub,
) -> None:
    request = _request("Give a person as JSON.", response_schema=PERSON, max_tokens=60)
    deltas, final = [], None
    async for message in models.StreamGenerate(pb.StreamGenerateRequest(request=request)):
        if message.HasField("final"):
            final = message.final
        else:
            deltas.append(message.text_delta)
    assert final is not None and deltas
    document = json.loads("".join(deltas))
    jsonschema.validate(document, PERSON)
    assert final.content == "".join(deltas)
    assert json_format.MessageToDict(final.structured) == document
