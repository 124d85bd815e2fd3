"""The gateway policy (gateway/policy.yaml): roles -> allowed RPCs, and the rate tiers."""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from services.kit import get_logger

log = get_logger("l09.policy")


class PolicyError(ValueError):
    """The policy file is malformed."""


@dataclass(frozen=True)
class Tier:
    name: str
    rate: float  # tokens per second; 0 with burst 0 means unlimited
    burst: int
    daily: int  # calls per principal per UTC day; 0 = no quota
    when_store_down: Literal["allow", "deny"]

    @property
    def unlimited(self) -> bool:
        return self.rate == 0 and self.burst == 0 and self.daily == 0

    @property
    def most_calls_left(self) -> int:
        """What ``x-ratelimit-remaining`` never exceeds: the bucket's size, or the daily quota
        when it is smaller (tokens held in a lease while the bucket refills are not shown)."""
        return min(n for n in (self.burst if self.rate else 0, self.daily, 2**31) if n)


@dataclass(frozen=True)
class Policy:
    allow: dict[str, re.Pattern[str]]  # role -> one regex of its allowed RPC patterns
    tiers: dict[str, Tier]
    default_tier: str
    development_roles: tuple[str, ...]
    development_tier: str
    # role -> its RPC patterns as written (Envoy's RBAC filter is generated from them)
    patterns: dict[str, tuple[str, ...]]

    def allows(self, roles: Iterable[str], rpc: str) -> bool:
        return any(pattern.fullmatch(rpc) for role in roles if (pattern := self.allow.get(role)))

    def tier(self, name: str | None) -> Tier:
        return self.tiers.get(name or self.default_tier) or self.tiers[self.default_tier]


def _tier(name: str, spec: dict[str, Any]) -> Tier:
    down = spec.get("when_store_down", "allow")
    if down not in ("allow", "deny"):
        raise PolicyError(f"tier {name}: when_store_down must be allow or deny, not {down!r}")
    tier = Tier(name, float(spec["rate"]), int(spec["burst"]), int(spec.get("daily", 0)), down)
    if tier.rate < 0 or tier.burst < 0 or tier.daily < 0:
        raise PolicyError(f"tier {name}: rate, burst and daily must be >= 0")
    if (tier.rate == 0) != (tier.burst == 0):
        raise PolicyError(f"tier {name}: rate and burst are both 0 (unlimited) or both > 0")
    return tier


def parse(document: dict[str, Any]) -> Policy:
    try:
        everyone = tuple(document.get("every_role", {}).get("allow", []))
        patterns = {role: (*spec["allow"], *everyone) for role, spec in document["roles"].items()}
        allow = {
            role: re.compile("|".join(fnmatch.translate(p) for p in globs) or "(?!)")
            for role, globs in patterns.items()
        }
        tiers = {name: _tier(name, spec) for name, spec in document["tiers"].items()}
        default_tier = document.get("default_tier", "standard")
        development = document.get("development", {})
        policy = Policy(
            allow,
            tiers,
            default_tier,
            tuple(development.get("roles", ["admin"])),
            development.get("tier", default_tier),
            patterns,
        )
    except (KeyError, TypeError) as error:
        raise PolicyError(f"malformed policy: missing or wrong {error}") from error
    for name in (default_tier, policy.development_tier):
        if name not in tiers:
            raise PolicyError(f"unknown tier {name!r}")
    return policy


def load(path: Path) -> Policy:
    return parse(yaml.safe_load(path.read_text()))


class PolicySource:
    """The policy file, re-read when it changes (checked at most every ``reload_seconds``).
    A broken edit is logged and the last good policy stays in force."""

    def __init__(self, path: Path, reload_seconds: float = 1.0) -> None:
        self._path = path
        self._reload_seconds = reload_seconds
        self._policy = load(path)
        self._stamp = self._stat()
        self._checked_at = time.monotonic()

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def __call__(self) -> Policy:
        now = time.monotonic()
        if now - self._checked_at >= self._reload_seconds:
            self._checked_at = now
            stamp = self._stat()
            if stamp is not None and stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._policy = load(self._path)
                    log.info("policy.reloaded", path=str(self._path))
                except (OSError, yaml.YAMLError, PolicyError) as error:
                    log.error("policy.reload_failed", path=str(self._path), error=str(error))
        return self._policy
