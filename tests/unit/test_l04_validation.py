"""L04 input checks, output schema checks, the registry file, and proto conversion."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from agentic.models.v1 import models_pb2 as pb
from services.kit import PlatformError
from services.l04_models.conversation import GenerationRequest, Message, Strategy
from services.l04_models.registry import load_registry
from services.l04_models.server import to_request
from services.l04_models.validation import schema_problems, validate_request

pytestmark = [pytest.mark.unit, pytest.mark.l04]


def test_schema_problems_name_the_path_of_each_problem() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["b"]}
    document, problems = schema_problems('{"a": "x"}', schema)
    assert document == {"a": "x"}
    assert problems == ["(root): 'b' is a required property", "a: 'x' is not of type 'integer'"]
    assert schema_problems("{nope", schema)[1][0].startswith("not JSON")
    assert schema_problems('{"a": 1, "b": 2}', schema)[1] == []


def test_a_tool_message_needs_the_call_it_answers() -> None:
    request = GenerationRequest(messages=(Message("tool", "42"),))
    with pytest.raises(PlatformError) as caught:
        validate_request(request, 1000)
    assert caught.value.field == "messages[0].tool_call_id"


def test_the_size_limit_counts_system_and_messages() -> None:
    request = GenerationRequest(messages=(Message("user", "x" * 600),), system="y" * 600)
    with pytest.raises(PlatformError) as caught:
        validate_request(request, 1000)
    assert caught.value.code == "E4003" and "1200 characters" in caught.value.message


def test_proto_numbers_in_schemas_come_back_as_integers() -> None:
    message = pb.GenerateRequest(messages=[pb.Message(role="user", content="hi")])
    message.response_schema.update({"type": "string", "maxLength": 20})
    message.routing.strategy = pb.ROUTING_STRATEGY_COST
    request = to_request(message, "t1")
    assert request.response_schema == {"type": "string", "maxLength": 20}
    assert isinstance(request.response_schema["maxLength"], int)
    assert request.routing.strategy is Strategy.COST and request.temperature is None
    assert request.tenant_id == "t1"


def test_registry_refuses_unknown_providers_and_duplicate_ids(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    model = "{id: x/m, provider: %s, provider_model: m, capabilities: {}}"
    path.write_text("default_embedding_model: x/m\nmodels:\n  - " + model % "openai")
    with pytest.raises(ValidationError, match="unknown provider"):
        load_registry(path)
    path.write_text(
        "default_embedding_model: x/m\nmodels:\n  - " + model % "local" + "\n  - " + model % "local"
    )
    with pytest.raises(ValidationError, match="unique"):
        load_registry(path)
