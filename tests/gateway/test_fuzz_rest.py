"""Property-based fuzzing of the REST surface from the gateway's own OpenAPI document: valid
and invalid inputs alike must never get a 5xx."""

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, openapi

from services.l09_gateway.render.layers import DEFAULT_TIMEOUT, UPSTREAMS
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.l09, pytest.mark.slow]

EXAMPLES_PER_MODE = 8


def _fuzzable(operation: dict, running_layers: set[str]) -> bool:
    """Unary operations of layers this mesh runs that answer within the default timeout
    (LLM calls are too slow to fuzz here; streams never end)."""
    if operation.get("x-streaming"):
        return False
    package = operation.get("x-grpc-method", "").split("/", 1)[0].rsplit(".", 1)[0]
    layer = UPSTREAMS.get(package)
    return layer is not None and layer.name in running_layers and layer.timeout == DEFAULT_TIMEOUT


def test_no_generated_request_gets_a_server_error(mesh: RunningMesh) -> None:
    document = httpx.get(f"{mesh.gateway_url}/openapi.json").json()
    running = set(httpx.get(f"{mesh.gateway_url}/health").json()["layers"])
    schema = openapi.from_dict(document)
    headers = {"authorization": f"Bearer {DEV_TOKEN}"}
    fuzzed, failures, timeouts = 0, [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not _fuzzable(operation.definition.raw, running):
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES_PER_MODE,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case) -> None:  # type: ignore[no-untyped-def]
                response = case.call(base_url=mesh.gateway_url, headers=headers, timeout=10)
                if response.status_code == 504:
                    # The layer was slower than the route's budget (a loaded machine): the
                    # gateway did its job. Latency is the benchmark's business.
                    timeouts.append(case.formatted_path)
                elif response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} -> {response.status_code}: "
                        f"{response.text[:300]}"
                    )

            call()
        fuzzed += 1
    assert fuzzed >= 4, "too few operations were fuzzed"
    assert not failures, "\n".join(failures[:20])
