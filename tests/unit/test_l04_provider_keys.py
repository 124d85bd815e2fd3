"""Where L04's provider key comes from, without a mesh: L00 first, else the environment."""

from __future__ import annotations

import grpc
import pytest

from services.l04_models.provider_keys import ABSENT_RECHECK_SECONDS, ProviderKey

pytestmark = [pytest.mark.unit, pytest.mark.l04]


class Reader:
    """Answers like the kit's SecretReader: a value, or L00's refusal as an AioRpcError."""

    def __init__(self) -> None:
        self.value: str | None = None
        self.code = grpc.StatusCode.PERMISSION_DENIED
        self.calls = 0

    async def read_text(self, name: str) -> str:
        self.calls += 1
        if self.value is None:
            raise grpc.aio.AioRpcError(self.code, grpc.aio.Metadata(), grpc.aio.Metadata(), "no")
        return self.value


def _key(reader: Reader, now: list[float]) -> ProviderKey:
    return ProviderKey("ANTHROPIC_API_KEY", "sk-env", reader, clock=lambda: now[0])  # type: ignore[arg-type]


async def test_l00s_value_wins_over_the_environment() -> None:
    reader = Reader()
    reader.value = "sk-l00"
    key = _key(reader, [0.0])
    assert key.value == "sk-env"  # before L00 answered
    assert await key.refresh() == "sk-l00" and key.value == "sk-l00"


async def test_no_value_in_l00_falls_back_and_is_asked_again_only_a_minute_later() -> None:
    reader, now = Reader(), [0.0]
    key = _key(reader, now)
    assert await key.refresh() == "sk-env"
    reader.value = "sk-l00"
    now[0] = ABSENT_RECHECK_SECONDS - 1
    assert await key.refresh() == "sk-env" and reader.calls == 1
    now[0] = ABSENT_RECHECK_SECONDS + 1
    assert await key.refresh() == "sk-l00" and reader.calls == 2


async def test_an_unreachable_l00_keeps_the_last_key_it_gave() -> None:
    reader = Reader()
    reader.value = "sk-l00"
    key = _key(reader, [0.0])
    await key.refresh()
    reader.value, reader.code = None, grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.aio.AioRpcError):
        await key.refresh()
    assert key.value == "sk-l00"


async def test_without_l00_the_environment_is_the_key() -> None:
    key = ProviderKey("ANTHROPIC_API_KEY", "sk-env")
    assert await key.refresh() == "sk-env"
    assert ProviderKey("ANTHROPIC_API_KEY", None).value is None
