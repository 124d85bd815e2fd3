"""Each adapter against a stand-in that speaks its provider's real protocol.

No API key, Ollama server or `claude` CLI exists here, so the Messages API and Ollama's API
are served by local HTTP servers and the CLI by a fake executable on PATH (tests/l04/fakes).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.l04_models.conversation import FinishReason, Message, ToolSpec
from services.l04_models.providers import ProviderError
from services.l04_models.providers.anthropic_api import ANSWER_TOOL, AnthropicProvider
from services.l04_models.providers.claude_code import ClaudeCodeProvider
from services.l04_models.providers.ollama import OllamaProvider
from tests.l04 import fakes
from tests.l04.support import ask, registry

pytestmark = [pytest.mark.unit, pytest.mark.l04]

SONNET = registry().get("anthropic/claude-sonnet-5-5")
LLAMA = registry().get("ollama/llama3.2")
NOMIC = registry().get("ollama/nomic-embed-text")
CLAUDE = registry().get("claude_code/sonnet")
WEATHER = ToolSpec(
    "get_weather", "Weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)  # fmt: skip


# -- anthropic ---------------------------------------------------------------------------------


async def test_anthropic_plain_message() -> None:
    script = fakes.Script([fakes.Reply(body=fakes.anthropic_message("Hi there."))])
    async with fakes.serve(fakes.anthropic_app(script)) as url:
        provider = AnthropicProvider("sk-test", url, timeout=5)
        completion = await provider.generate(SONNET, ask("Hello?", system="Be brief."))
        await provider.close()
    assert completion.content == "Hi there." and completion.provider == "anthropic"
    assert completion.model == SONNET.id and completion.finish_reason is FinishReason.STOP
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (11, 7)
    sent = script.requests[0]
    headers = sent["headers"]
    assert "sk-test" in (headers.get("x-api-key"), headers.get("authorization", "")[7:])
    assert sent["body"]["model"] == "claude-sonnet-5-5" and sent["body"]["system"] == "Be brief."
    assert sent["body"]["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Hello?"}]}
    ]


async def test_anthropic_tool_use_round_trip() -> None:
    script = fakes.Script([
        fakes.Reply(body=fakes.anthropic_message(
            "Let me check.", tool=("get_weather", {"city": "Paris"}), stop_reason="tool_use")),
        fakes.Reply(body=fakes.anthropic_message("Sunny in Paris.")),
    ])  # fmt: skip
    async with fakes.serve(fakes.anthropic_app(script)) as url:
        provider = AnthropicProvider("sk-test", url, timeout=5)
        first = await provider.generate(SONNET, ask("Weather in Paris?", tools=(WEATHER,)))
        call = first.tool_calls[0]
        follow_up = ask(
            "Weather in Paris?", tools=(WEATHER,),
            messages=(Message("user", "Weather in Paris?"),
                      Message("assistant", first.content, tool_calls=first.tool_calls),
                      Message("tool", "18C, sunny", tool_call_id=call.id)),
        )  # fmt: skip
        second = await provider.generate(SONNET, follow_up)
        await provider.close()
    assert first.finish_reason is FinishReason.TOOL_USE
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
    assert script.requests[0]["body"]["tools"][0]["name"] == "get_weather"
    turns = script.requests[1]["body"]["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[1]["content"][1] == {
        "type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}
    }  # fmt: skip
    assert turns[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "18C, sunny"}
    ]
    assert second.content == "Sunny in Paris."


async def test_anthropic_response_schema_is_a_forced_tool_whose_input_is_the_answer() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    script = fakes.Script([fakes.Reply(body=fakes.anthropic_message(
        tool=(ANSWER_TOOL, {"n": 4}), stop_reason="tool_use"))])  # fmt: skip
    async with fakes.serve(fakes.anthropic_app(script)) as url:
        provider = AnthropicProvider("sk-test", url, timeout=5)
        completion = await provider.generate(SONNET, ask("2+2?", response_schema=schema))
        await provider.close()
    body = script.requests[0]["body"]
    assert body["tool_choice"] == {"type": "tool", "name": ANSWER_TOOL}
    assert body["tools"][0]["input_schema"] == schema
    assert json.loads(completion.content) == {"n": 4}
    assert completion.finish_reason is FinishReason.STOP and not completion.tool_calls


async def test_anthropic_streams_text_deltas_over_sse() -> None:
    script = fakes.Script([fakes.anthropic_sse(["Hel", "lo", " world"])])
    async with fakes.serve(fakes.anthropic_app(script)) as url:
        provider = AnthropicProvider("sk-test", url, timeout=5)
        items = [item async for item in provider.stream(SONNET, ask())]
        await provider.close()
    assert items[:-1] == ["Hel", "lo", " world"]
    assert items[-1].content == "Hello world" and items[-1].usage.output_tokens == 3
    assert script.requests[0]["body"]["stream"] is True


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [(429, "rate_limit_error", True), (529, "overloaded_error", True),
     (500, "api_error", True), (400, "invalid_request_error", False)],
)  # fmt: skip
async def test_anthropic_errors_say_whether_a_retry_can_help(
    status: int, kind: str, retryable: bool
) -> None:
    script = fakes.Script([fakes.anthropic_error(status, kind, "nope", **{"retry-after": "3"})])
    async with fakes.serve(fakes.anthropic_app(script)) as url:
        provider = AnthropicProvider("sk-test", url, timeout=5)
        with pytest.raises(ProviderError) as caught:
            await provider.generate(SONNET, ask())
        await provider.close()
    assert caught.value.status == status and caught.value.retryable is retryable
    assert caught.value.retry_after == 3.0


def test_anthropic_is_unavailable_without_a_key() -> None:
    assert not AnthropicProvider(None, None, timeout=5).available()


# -- ollama ------------------------------------------------------------------------------------


async def test_ollama_chat_sends_schema_and_options() -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    script = fakes.Script([fakes.Reply(body=fakes.ollama_chat('{"ok": true}'))])
    async with fakes.serve(fakes.ollama_app(script)) as url:
        provider = OllamaProvider(url, timeout=5)
        completion = await provider.generate(
            LLAMA, ask("ok?", response_schema=schema, temperature=0.0, max_tokens=20, system="S")
        )
        await provider.close()
    body = script.requests[0]["body"]
    assert body["model"] == "llama3.2" and body["stream"] is False and body["format"] == schema
    assert body["options"] == {"temperature": 0.0, "num_predict": 20}
    assert body["messages"][0] == {"role": "system", "content": "S"}
    assert completion.content == '{"ok": true}' and completion.provider == "ollama"
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (9, 4)


async def test_ollama_tool_calls_and_length_finish() -> None:
    calls = [{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]
    script = fakes.Script([
        fakes.Reply(body=fakes.ollama_chat("", tool_calls=calls)),
        fakes.Reply(body=fakes.ollama_chat("cut", done_reason="length")),
    ])  # fmt: skip
    async with fakes.serve(fakes.ollama_app(script)) as url:
        provider = OllamaProvider(url, timeout=5)
        with_tool = await provider.generate(LLAMA, ask("Oslo?", tools=(WEATHER,)))
        cut = await provider.generate(LLAMA, ask())
        await provider.close()
    assert with_tool.finish_reason is FinishReason.TOOL_USE
    assert with_tool.tool_calls[0].arguments == {"city": "Oslo"}
    assert script.requests[0]["body"]["tools"][0]["function"]["name"] == "get_weather"
    assert cut.finish_reason is FinishReason.LENGTH


async def test_ollama_streams_ndjson() -> None:
    parts = [
        {"message": {"role": "assistant", "content": "Hi"}, "done": False},
        {"message": {"role": "assistant", "content": " you"}, "done": False},
        {**fakes.ollama_chat(""), "done": True},
    ]
    script = fakes.Script([fakes.Reply(events=parts)])
    async with fakes.serve(fakes.ollama_app(script)) as url:
        provider = OllamaProvider(url, timeout=5)
        items = [item async for item in provider.stream(LLAMA, ask())]
        await provider.close()
    assert items[:-1] == ["Hi", " you"] and items[-1].content == "Hi you"


async def test_ollama_embeddings() -> None:
    script = fakes.Script([fakes.Reply(body={"embeddings": [[0.1, 0.2], [0.3, 0.4]]})])
    async with fakes.serve(fakes.ollama_app(script)) as url:
        provider = OllamaProvider(url, timeout=5)
        result = await provider.embed(NOMIC, ["a", "b"])
        await provider.close()
    assert script.requests[0]["body"] == {"model": "nomic-embed-text", "input": ["a", "b"]}
    assert result.vectors == [[0.1, 0.2], [0.3, 0.4]] and result.dimension == 2


async def test_ollama_503_is_retryable_and_a_dead_server_too() -> None:
    script = fakes.Script([fakes.Reply(503, {"error": "loading"})])
    async with fakes.serve(fakes.ollama_app(script)) as url:
        provider = OllamaProvider(url, timeout=5)
        with pytest.raises(ProviderError) as busy:
            await provider.generate(LLAMA, ask())
        await provider.close()
    assert busy.value.retryable and busy.value.status == 503
    dead = OllamaProvider(url, timeout=2)  # the server is gone now
    with pytest.raises(ProviderError) as refused:
        await dead.generate(LLAMA, ask())
    await dead.close()
    assert refused.value.retryable


# -- claude_code -------------------------------------------------------------------------------


@pytest.fixture
def fake_claude(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    fakes.install_fake_claude(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{__import__('os').environ['PATH']}")
    log = tmp_path / "claude.log"
    monkeypatch.setenv("FAKE_CLAUDE_LOG", str(log))
    return log


async def test_claude_cli_print_mode_json(fake_claude: Path, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_CLAUDE_REPLY", "Four.")
    provider = ClaudeCodeProvider()
    assert provider.available()
    completion = await provider.generate(CLAUDE, ask("2+2?", system="Terse."))
    call = json.loads(fake_claude.read_text().splitlines()[0])  # noqa: ASYNC240
    assert completion.content == "Four." and completion.provider == "claude_code"
    assert completion.usage.input_tokens == 8 and completion.usage.cost_usd == 0.0021
    assert call["prompt"] == "2+2?"
    args = call["args"]
    assert args[:1] == ["-p"] and args[args.index("--output-format") + 1] == "json"
    assert args[args.index("--model") + 1] == "sonnet"
    assert args[args.index("--system-prompt") + 1] == "Terse."


async def test_claude_cli_stream_json_gives_deltas(fake_claude: Path, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_CLAUDE_REPLY", "one two three")
    items = [item async for item in ClaudeCodeProvider().stream(CLAUDE, ask())]
    assert items[:-1] == ["one", " two", " three"]
    assert items[-1].content == "one two three"


async def test_claude_cli_error_result_is_a_provider_error(fake_claude: Path, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_CLAUDE_ERROR", "API Error: 529 overloaded")
    with pytest.raises(ProviderError) as caught:
        await ClaudeCodeProvider().generate(CLAUDE, ask())
    assert caught.value.retryable and "overloaded" in str(caught.value)


def test_claude_cli_is_unavailable_when_not_on_path(monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert not ClaudeCodeProvider().available()
