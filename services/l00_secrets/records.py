"""A secret and its versions as L00 keeps them (L01 documents), and who may use them.

The secret's document holds its name, labels, policy and each version's state; a version's
document holds only its sealed value (or where Vault keeps it). A state change is one write
of the secret's document, checked against its revision.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

MAX_VERSIONS = 1000


class State(enum.Enum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    DESTROYED = "destroyed"


@dataclass(frozen=True)
class Caller:
    """Who is asking: a principal the gateway vouched for, or a layer of the platform."""

    principal: str
    layer: str | None = None  # e.g. "l04_models" for a layer calling with the service token


@dataclass(frozen=True)
class AccessPolicy:
    principals: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()

    def may_access(self, caller: Caller) -> bool:
        if caller.layer is not None:
            return caller.layer in self.layers
        return caller.principal in self.principals or caller.principal in self.managers

    def may_manage(self, caller: Caller) -> bool:
        return caller.layer is None and caller.principal in self.managers

    def may_see(self, caller: Caller) -> bool:
        return self.may_access(caller) or self.may_manage(caller)

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "principals": list(self.principals),
            "layers": list(self.layers),
            "managers": list(self.managers),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccessPolicy:
        return cls(
            tuple(data.get("principals", ())),
            tuple(data.get("layers", ())),
            tuple(data.get("managers", ())),
        )


@dataclass(frozen=True)
class Version:
    number: int
    state: State
    create_time: datetime
    binary: bool  # added as bytes (answered as binary_value) rather than text
    destroy_time: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "state": self.state.value,
            "create_time": self.create_time.isoformat(),
            "binary": self.binary,
            "destroy_time": self.destroy_time.isoformat() if self.destroy_time else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Version:
        destroyed = data.get("destroy_time")
        return cls(
            number=int(data["number"]),
            state=State(data["state"]),
            create_time=datetime.fromisoformat(data["create_time"]),
            binary=bool(data.get("binary", False)),
            destroy_time=datetime.fromisoformat(destroyed) if destroyed else None,
        )


@dataclass(frozen=True)
class SecretRecord:
    name: str
    incarnation: str  # a fresh id per creation: a re-created name never meets old versions
    labels: dict[str, str]
    policy: AccessPolicy
    create_time: datetime
    update_time: datetime
    versions: tuple[Version, ...] = field(default=())

    def version(self, number: int) -> Version | None:
        for version in self.versions:
            if version.number == number:
                return version
        return None

    def latest_enabled(self) -> Version | None:
        enabled = [v for v in self.versions if v.state is State.ENABLED]
        return enabled[-1] if enabled else None

    @property
    def next_number(self) -> int:
        return self.versions[-1].number + 1 if self.versions else 1

    def with_version(self, version: Version) -> SecretRecord:
        others = [v for v in self.versions if v.number != version.number]
        ordered = sorted([*others, version], key=lambda v: v.number)
        return replace(self, versions=tuple(ordered), update_time=now())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "incarnation": self.incarnation,
            "labels": dict(self.labels),
            "policy": self.policy.to_dict(),
            "create_time": self.create_time.isoformat(),
            "update_time": self.update_time.isoformat(),
            "versions": [v.to_dict() for v in self.versions],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SecretRecord:
        return cls(
            name=data["name"],
            incarnation=data["incarnation"],
            labels=dict(data.get("labels", {})),
            policy=AccessPolicy.from_dict(data.get("policy", {})),
            create_time=datetime.fromisoformat(data["create_time"]),
            update_time=datetime.fromisoformat(data["update_time"]),
            versions=tuple(Version.from_dict(v) for v in data.get("versions", ())),
        )


def now() -> datetime:
    return datetime.now(UTC)
