"""L04 routing: capability filter, each strategy, the fallback chain, pinned models."""

from __future__ import annotations

import pytest

from services.kit import PlatformError
from services.l04_models.breaker import Breakers
from services.l04_models.config import DEFAULT_REGISTRY
from services.l04_models.conversation import GenerationRequest, Message, Routing, Strategy, ToolSpec
from services.l04_models.registry import load_registry
from services.l04_models.router import Router

pytestmark = [pytest.mark.unit, pytest.mark.l04]

REGISTRY = load_registry(DEFAULT_REGISTRY)
TOOL = ToolSpec("t", "", {"type": "object"})


class Configured:
    """A provider that is (or is not) configured; routing never calls it."""

    def __init__(self, name: str, available: bool = True) -> None:
        self.name = name
        self._available = available

    def available(self) -> bool:
        return self._available


def router(*configured: str) -> Router:
    providers = {name: Configured(name) for name in configured}
    return Router(REGISTRY, providers, Breakers(2, 30))  # type: ignore[arg-type]


def request(**fields: object) -> GenerationRequest:
    return GenerationRequest(messages=(Message("user", "hi"),), **fields)  # type: ignore[arg-type]


def ids(models) -> list[str]:
    return [m.id for m in models]


def test_default_order_is_claude_code_anthropic_ollama_local() -> None:
    chain = ids(router("local", "ollama", "anthropic", "claude_code").candidates(request()))
    assert chain == [
        "claude_code/sonnet",
        "anthropic/claude-sonnet-5-5",
        "anthropic/claude-haiku-5-5",
        "ollama/llama3.2",
        "local/smollm2-135m",
    ]


def test_only_configured_providers_are_candidates() -> None:
    assert ids(router("local").candidates(request())) == ["local/smollm2-135m"]


def test_tools_filter_out_models_without_tool_use() -> None:
    chain = ids(router("local", "ollama", "claude_code").candidates(request(tools=(TOOL,))))
    assert chain == ["ollama/llama3.2"]


def test_no_capable_model_is_failed_precondition() -> None:
    with pytest.raises(PlatformError) as caught:
        router("local").candidates(request(tools=(TOOL,)))
    assert caught.value.code == "E4006" and "tools" in caught.value.message


@pytest.mark.parametrize(
    ("strategy", "first"),
    [(Strategy.COST, "ollama/llama3.2"),
     (Strategy.LATENCY, "anthropic/claude-haiku-5-5"),
     (Strategy.QUALITY, "anthropic/claude-sonnet-5-5"),
     (Strategy.CAPABILITY, "anthropic/claude-sonnet-5-5")],
)  # fmt: skip
def test_each_strategy_picks_its_model(strategy: Strategy, first: str) -> None:
    chain = router("anthropic", "ollama").candidates(request(routing=Routing(strategy)))
    assert chain[0].id == first and len(chain) == 3


def test_round_robin_takes_turns() -> None:
    r = router("anthropic", "ollama")
    firsts = [r.candidates(request(routing=Routing(Strategy.ROUND_ROBIN)))[0].id for _ in range(4)]
    assert firsts == ["anthropic/claude-sonnet-5-5", "anthropic/claude-haiku-5-5",
                      "ollama/llama3.2", "anthropic/claude-sonnet-5-5"]  # fmt: skip


def test_a_named_model_goes_first_and_pinned_stops_the_chain() -> None:
    r = router("anthropic", "ollama", "local")
    named = ids(r.candidates(request(model="local/smollm2-135m")))
    assert named[0] == "local/smollm2-135m" and len(named) == 4
    pinned = r.candidates(request(model="ollama/llama3.2", routing=Routing(Strategy.PINNED)))
    assert ids(pinned) == ["ollama/llama3.2"]


def test_pinned_without_a_model_is_invalid() -> None:
    with pytest.raises(PlatformError) as caught:
        router("local").candidates(request(routing=Routing(Strategy.PINNED)))
    assert caught.value.field == "model"


def test_provider_hint_limits_the_chain() -> None:
    chain = router("anthropic", "ollama").candidates(request(routing=Routing(provider="ollama")))
    assert ids(chain) == ["ollama/llama3.2"]


def test_a_named_model_of_an_unconfigured_provider_is_refused() -> None:
    with pytest.raises(PlatformError) as caught:
        router("local").candidates(request(model="anthropic/claude-haiku-5-5"))
    assert caught.value.code == "E4006" and "not configured" in caught.value.message


def test_streaming_needs_a_streaming_model() -> None:
    assert router("local").candidates(request(), streaming=True)[0].provider == "local"


def test_unknown_model_is_not_found() -> None:
    with pytest.raises(PlatformError) as caught:
        router("local").candidates(request(model="x/y"))
    assert caught.value.code == "E4004" and caught.value.error.kind.name == "NOT_FOUND"
