"""Schemathesis over one operation of the gateway's OpenAPI document, with its strict checks.

Positive cases (schema-valid requests) must be accepted (``positive_data_acceptance``), never
answer a 5xx, and answer what the document says (status, content type, schema); negative
cases must never answer a 5xx. A server-streaming operation answers newline-delimited JSON
and may never end (subscriptions, watches): its first lines, read within a short window, are
each checked as one answer.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

# What a schema-valid request may get besides a success: the named resource does not exist
# (random names rarely do; L00 answers 403 then, not to tell which secrets exist), it exists
# already or its expected version moved on, or the caller is over a rate limit. A 400 never:
# that is a schema-valid request refused.
ACCEPTED_STATUSES = ["2xx", "403", "404", "409", "429"]

CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_STATUSES}}}
)

POSITIVE_CHECKS = [
    not_a_server_error,
    positive_data_acceptance,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [not_a_server_error]

FAILED_PRECONDITION = 9  # google.rpc.Code

STREAM_WINDOW_SECONDS = 2.0
STREAM_MAX_LINES = 3


@dataclass
class Outcome:
    calls: int = 0
    failures: list[str] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)


def _stream_responses(case: Any, base_url: str, headers: dict[str, str]) -> list[Response]:
    """The status and first lines of a streamed answer, each line as one response."""
    kwargs = case.as_transport_kwargs(base_url=base_url, headers=headers)
    body = kwargs.get("json")
    lines: list[bytes] = []
    started = time.monotonic()
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=STREAM_WINDOW_SECONDS)) as client,
        client.stream(
            kwargs["method"],
            kwargs["url"],
            params=kwargs.get("params"),
            headers=kwargs["headers"],
            content=None if body is None else json.dumps(body),
        ) as answer,
    ):
        try:
            for line in answer.iter_lines():
                if line:
                    lines.append(line.encode())
                if len(lines) >= STREAM_MAX_LINES or time.monotonic() - started > 5:
                    break
        except httpx.ReadTimeout:
            pass  # a live stream with nothing more to say within the window
    request = requests.Request(
        kwargs["method"], kwargs["url"], params=kwargs.get("params"), headers=kwargs["headers"]
    ).prepare()
    return [
        Response(
            status_code=answer.status_code,
            headers={key: [value] for key, value in answer.headers.items()},
            content=content,
            request=request,
            elapsed=time.monotonic() - started,
            verify=True,
        )
        for content in lines or [b""]
    ]


def _refused_for_state_or_judgement(operation: dict[str, Any], response: Any) -> bool:
    """A 400 that is no verdict on the request's form: FAILED_PRECONDITION (the resource's
    state refuses it, e.g. an append to a deleted stream), or an ErrorInfo naming a field the
    document marks ``x-service-checked``."""
    if response.status_code != 400:
        return False
    try:
        status = json.loads(response.content)
    except ValueError:
        return False
    if status.get("code") == FAILED_PRECONDITION:
        return True
    details = status.get("details", [])
    named = {
        re.sub(r"\[[^]]*\]", "", detail.get("metadata", {}).get("field", "")) for detail in details
    }
    checked = operation.get("x-service-checked", [])
    # A layer names a field of a body-field request from that body ("preferred_tools" for
    # "role.preferred_tools"), of any other from the request.
    return any(
        name and (name.startswith(path) or path.endswith(f".{name}"))
        for name in named
        for path in checked
    )


def _first_failure(failure: Exception) -> str:
    """The failure's title and message, without schemathesis' reproduction hints."""
    text = str(failure).strip()
    return " ".join(text.split("Reproduce with")[0].split())[:500]


def fuzz(
    operation: Any,
    base_url: str,
    headers: dict[str, str],
    *,
    mode: GenerationMode,
    examples: int,
    timeout: float = 10,
) -> Outcome:
    """Runs ``examples`` generated cases of ``operation`` in ``mode`` and collects failures."""
    outcome = Outcome()
    streaming = bool(operation.definition.raw.get("x-streaming"))
    checks = POSITIVE_CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS

    @settings(
        max_examples=examples,
        # The same examples every run, so that the suite is reproducible; AGENTIC_FUZZ_RANDOM=1
        # explores new ones.
        derandomize=os.environ.get("AGENTIC_FUZZ_RANDOM") != "1",
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Any) -> None:
        outcome.calls += 1
        label = f"{case.method} {case.formatted_path}"
        try:
            if streaming:
                responses: list[Any] = _stream_responses(case, base_url, headers)
            else:
                responses = [case.call(base_url=base_url, headers=headers, timeout=timeout)]
        except (requests.Timeout, httpx.TimeoutException):
            outcome.timeouts.append(label)
            return
        for response in responses:
            checks_here = checks
            if _refused_for_state_or_judgement(operation.definition.raw, response):
                checks_here = [check for check in checks if check is not positive_data_acceptance]
            if response.status_code == 504:
                # The layer was slower than the route's budget (a loaded machine): the gateway
                # did its job. Latency is the benchmark's business.
                outcome.timeouts.append(label)
                continue
            try:
                case.validate_response(response, checks=checks_here)
            except (AssertionError, FailureGroup) as failure:
                outcome.failures.append(
                    f"{label} ({mode.name}) -> {response.status_code} "
                    f"{response.content[:300]!r}\n  {str(failure)[:600]}\n"
                    f"  query={case.query} body={str(case.body)[:300]}"
                )

    try:
        call()
    except Unsatisfiable:
        # Nothing to make invalid: an operation without parameters or body has no negative case.
        if mode is GenerationMode.POSITIVE:
            raise
    return outcome
