"""The versions of the policy set: events ``policy.deployed`` in the L01 stream
``supervision.policies`` (policy version N is stream version N - 1), folded into memory here
by the subscription every L08 process follows. The newest version is in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from services.kit import PlatformError
from services.l08_supervision import errors
from services.l08_supervision.events import EventLog, StoredEvent, StreamConflict
from services.l08_supervision.policy_engine import CompiledPolicies, Schema, problems

STREAM = "supervision.policies"
DEPLOYED = "policy.deployed"
MAX_TEXT_CHARS = 512 * 1024


@dataclass(frozen=True)
class PolicyVersion:
    version: int
    text: str
    description: str
    author: str
    deploy_time: datetime
    rolled_back_from: int
    policy_count: int


class InvalidPolicies(PlatformError):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__(
            errors.INVALID_POLICY,
            "the policies are invalid: " + "; ".join(reasons),
            field="text",
            metadata={"problems": "\n".join(reasons)},
        )
        self.reasons = reasons


class PolicyStore:
    def __init__(self, log: EventLog, schema: Schema) -> None:
        self._log = log
        self.schema = schema
        self.versions: list[PolicyVersion] = []
        self.active: CompiledPolicies | None = None

    @property
    def latest(self) -> int:
        return self.versions[-1].version if self.versions else 0

    def apply(self, event: StoredEvent) -> None:
        """Folds one ``policy.deployed`` event in (a version seen before is ignored)."""
        if event.type != DEPLOYED or event.stream_id != STREAM:
            return
        version = int(event.data["version"])
        if version <= self.latest:
            return
        text = str(event.data["text"])
        compiled = CompiledPolicies(text, self.schema)
        self.versions.append(
            PolicyVersion(
                version=version,
                text=text,
                description=str(event.data.get("description", "")),
                author=str(event.data.get("author", "")),
                deploy_time=datetime.fromisoformat(str(event.data["deploy_time"])),
                rolled_back_from=int(event.data.get("rolled_back_from", 0)),
                policy_count=len(compiled.policies),
            )
        )
        self.active = compiled

    def validate(self, text: str) -> list[str]:
        if len(text) > MAX_TEXT_CHARS:
            return [f"the policy set is {len(text)} characters, over {MAX_TEXT_CHARS}"]
        return problems(text, self.schema)

    def get(self, version: int) -> PolicyVersion:
        if not self.versions:
            raise PlatformError(
                errors.VERSION_NOT_FOUND, "no policies are deployed yet", field="version"
            )
        for candidate in self.versions:
            if candidate.version == version:
                return candidate
        raise PlatformError(
            errors.VERSION_NOT_FOUND, f"no policy version {version}", field="version"
        )

    async def deploy(
        self,
        text: str,
        description: str,
        author: str,
        expected_version: int = 0,
        rolled_back_from: int = 0,
    ) -> PolicyVersion:
        reasons = self.validate(text)
        if reasons:
            raise InvalidPolicies(reasons)
        latest = self.latest
        if expected_version and expected_version != latest:
            raise PlatformError(
                errors.DEPLOY_CONFLICT,
                f"version {latest} is deployed, not {expected_version}",
                field="expected_version",
            )
        data = {
            "version": latest + 1,
            "text": text,
            "description": description,
            "author": author,
            "deploy_time": datetime.now(UTC).isoformat(),
            "rolled_back_from": rolled_back_from,
        }
        try:
            await self._log.append(STREAM, [(DEPLOYED, data)], expected_version=latest - 1)
        except StreamConflict:
            raise PlatformError(
                errors.DEPLOY_CONFLICT, "another version was deployed meanwhile; retry"
            ) from None
        self.apply(StoredEvent(STREAM, latest, DEPLOYED, data, 0))
        return self.versions[-1]

    async def rollback(self, version: int, description: str, author: str) -> PolicyVersion:
        old = self.get(version)
        return await self.deploy(
            old.text,
            description or f"rollback to version {version}",
            author,
            rolled_back_from=version,
        )
