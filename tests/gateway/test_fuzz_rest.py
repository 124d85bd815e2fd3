"""Schemathesis over every operation of the gateway's own OpenAPI document, streaming ones
included: a schema-valid request is accepted and answered as documented (strict checks, see
``strict_fuzz``), and no request, valid or not, gets a 5xx."""

from __future__ import annotations

import httpx
import pytest
from schemathesis import GenerationMode, openapi

from tests.conftest import RunningMesh
from tests.gateway.strict_fuzz import CONFIG, Outcome, fuzz
from tests.support import DEV_TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.l09, pytest.mark.slow]

EXAMPLES_PER_MODE = 2
# Calls that wait on the offline model take seconds each: one example per mode bounds the run.
MODEL_BOUND = ("Generate", "Ask", "CreateGoal", "RunAgent", "Execute")


def _examples(operation_id: str) -> int:
    return 1 if any(word in operation_id for word in MODEL_BOUND) else EXAMPLES_PER_MODE


def test_every_operation_accepts_what_its_schema_allows(mesh: RunningMesh) -> None:
    document = httpx.get(f"{mesh.gateway_url}/openapi.json").json()
    schema = openapi.from_dict(document, config=CONFIG)
    headers = {"authorization": f"Bearer {DEV_TOKEN}"}
    fuzzed: set[str] = set()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operation_id = operation.definition.raw["operationId"]
        examples = _examples(operation_id)
        outcomes: list[Outcome] = [
            fuzz(operation, mesh.gateway_url, headers, mode=mode, examples=examples, timeout=150)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
        assert sum(outcome.calls for outcome in outcomes) > 0, operation_id
        fuzzed.add(operation_id)
        for outcome in outcomes:
            failures.extend(outcome.failures)
    every = {op["operationId"] for methods in document["paths"].values() for op in methods.values()}
    assert fuzzed == every
    assert not failures, "\n".join(failures[:15])
