"""The `claude_code` provider: the `claude` CLI as a subprocess in print mode.

Generate runs ``claude -p --output-format json``; StreamGenerate runs
``--output-format stream-json --verbose --include-partial-messages`` and forwards text
deltas. The conversation is sent on stdin as a transcript: print mode takes one prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator
from typing import Any

from services.l04_models.conversation import (
    Completion,
    Embeddings,
    FinishReason,
    GenerationRequest,
    Usage,
)
from services.l04_models.providers.base import ProviderError, StreamItem
from services.l04_models.registry import ModelSpec

NAME = "claude_code"
_RETRYABLE_WORDS = ("overloaded", "rate limit", "529", "429", "timeout", "503")


def prompt_text(request: GenerationRequest) -> str:
    if len(request.messages) == 1:
        return request.messages[0].content
    lines = [f"[{m.role}]\n{m.content}" for m in request.messages]
    return "Continue this conversation as the assistant.\n\n" + "\n\n".join(lines)


def system_prompt(request: GenerationRequest) -> str:
    system = request.system
    if request.response_schema is not None:
        system += (
            "\n\nAnswer with one JSON document only, no prose and no code fence, valid "
            f"against this JSON Schema:\n{json.dumps(request.response_schema)}"
        )
    return system.strip()


def _usage(result: dict[str, Any]) -> Usage:
    usage = result.get("usage") or {}
    return Usage(
        input_tokens=int(usage.get("input_tokens", 0))
        + int(usage.get("cache_read_input_tokens", 0))
        + int(usage.get("cache_creation_input_tokens", 0)),
        output_tokens=int(usage.get("output_tokens", 0)),
        cost_usd=float(result.get("total_cost_usd", 0.0)),
    )


def _result_error(text: str) -> ProviderError:
    retryable = any(word in text.lower() for word in _RETRYABLE_WORDS)
    return ProviderError(NAME, text[:500], retryable=retryable)


def completion(model: ModelSpec, result: dict[str, Any]) -> Completion:
    if result.get("is_error") or result.get("subtype") not in (None, "success"):
        raise _result_error(str(result.get("result") or result.get("subtype") or result))
    finish = FinishReason.LENGTH if result.get("stop_reason") == "max_tokens" else FinishReason.STOP
    return Completion(
        content=str(result.get("result", "")),
        model=model.id,
        provider=NAME,
        usage=_usage(result),
        finish_reason=finish,
    )


class ClaudeCodeProvider:
    name = NAME

    def __init__(self, executable: str = "claude") -> None:
        self._executable = executable
        # Looked up once: routing asks on every request, and PATH does not change under us.
        self._path = shutil.which(executable)

    def available(self) -> bool:
        return self._path is not None

    def _command(self, model: ModelSpec, request: GenerationRequest, stream: bool) -> list[str]:
        if self._path is None:
            raise ProviderError(NAME, f"{self._executable!r} is not on PATH")
        command = [self._path, "-p", "--model", model.provider_model, "--max-turns", "1"]
        if stream:
            command += ["--output-format", "stream-json", "--verbose", "--include-partial-messages"]
        else:
            command += ["--output-format", "json"]
        system = system_prompt(request)
        if system:
            command += ["--system-prompt", system]
        return command

    async def _spawn(self, command: list[str], prompt: str) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdin is not None
        process.stdin.write(prompt.encode())
        await process.stdin.drain()
        process.stdin.close()
        return process

    async def generate(self, model: ModelSpec, request: GenerationRequest) -> Completion:
        process = await self._spawn(self._command(model, request, False), prompt_text(request))
        try:
            stdout, stderr = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
        try:
            result = json.loads(stdout)
        except json.JSONDecodeError:
            detail = stderr.decode(errors="replace").strip() or stdout.decode(errors="replace")
            raise _result_error(f"exit {process.returncode}: {detail}") from None
        return completion(model, result)

    async def stream(
        self, model: ModelSpec, request: GenerationRequest
    ) -> AsyncIterator[StreamItem]:
        process = await self._spawn(self._command(model, request, True), prompt_text(request))
        assert process.stdout is not None
        result: dict[str, Any] | None = None
        partial = False
        try:
            async for raw in process.stdout:
                if not raw.strip():
                    continue
                line = json.loads(raw)
                if line.get("type") == "stream_event":
                    delta = line.get("event", {}).get("delta", {})
                    if delta.get("type") == "text_delta" and delta.get("text"):
                        partial = True
                        yield delta["text"]
                elif line.get("type") == "assistant" and not partial:
                    for block in line.get("message", {}).get("content", []):
                        if block.get("type") == "text" and block.get("text"):
                            yield block["text"]
                elif line.get("type") == "result":
                    result = line
            await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                with contextlib.suppress(ProcessLookupError):
                    await process.wait()
        if result is None:
            stderr = await process.stderr.read() if process.stderr else b""
            raise _result_error(f"exit {process.returncode}: {stderr.decode(errors='replace')}")
        yield completion(model, result)

    async def embed(self, model: ModelSpec, texts: list[str]) -> Embeddings:
        raise ProviderError(NAME, "the claude CLI has no embeddings", status=400)

    async def close(self) -> None:
        return None
