"""L13's domain: the role catalog, its semantic index, classification, assignment, context.

Roles live in L01 (``catalog``); their texts are embedded by L04 and kept in L01's vector
collection ``l13-roles`` (``SemanticIndex``), with a copy in memory, so classifying a task
costs one ``Embed`` call and a matrix product. A role's texts are re-embedded when they change.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import numpy as np

from services.kit import PlatformError
from services.kit.identifiers import without_identifiers
from services.kit.semantic_index import SemanticIndex
from services.l13_roles import errors
from services.l13_roles.assignments import AssignmentLog
from services.l13_roles.catalog import EDITED, SHIPPED, RoleCatalog, StoredRole, shipped_digest
from services.l13_roles.classifier import (
    ExampleVectors,
    ExampleWords,
    RoleProfile,
    RoleScore,
    Weights,
    rank,
    role_texts,
    signals,
)
from services.l13_roles.context import BuiltContext, build_context
from services.l13_roles.definitions import ACTIVE, RoleDefinition, invalid_role
from services.l13_roles.oversight import Oversight
from services.l13_roles.upstream import calling

INDEX_COLLECTION = "l13-roles"
MAX_TASK_CHARS = 20_000
MAX_CONTEXT_TASK_CHARS = 200_000
MAX_REASON_CHARS = 1000
DEFAULT_MATCHES = 3
MAX_MATCHES = 50
_AGENT_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,200}$")


@dataclass(frozen=True)
class Classification:
    matches: list[RoleScore]
    needs_oversight: bool
    oversight_reasons: list[str]


def _require_text(value: str, field: str, limit: int) -> str:
    if not value.strip():
        raise invalid_role([(field, "is required (a non-empty string)")])
    if len(value) > limit:
        raise PlatformError(
            errors.TEXT_TOO_LARGE,
            f"{field} is {len(value):,} characters; at most {limit:,}",
            field=field,
        )
    return value


class Roles:
    def __init__(
        self,
        catalog: RoleCatalog,
        index: SemanticIndex,
        assignments: AssignmentLog,
        weights: Weights,
        oversight: Oversight,
    ) -> None:
        self.catalog = catalog
        self._oversight = oversight
        self._index = index
        self._assignments = assignments
        self.weights = weights
        self._current: dict[str, StoredRole] = {}
        self._profiles: dict[str, RoleProfile] = {}
        self._words = ExampleWords({})
        self._vectors = ExampleVectors([], np.zeros((0, 0)), ())
        # One fit at a time, each from the index as it is then: the last edit's fit is last.
        self._learning = asyncio.Lock()
        self.ready = False

    async def prepare(self, shipped: list[RoleDefinition]) -> None:
        """Loads the catalog, writes shipped roles nobody edited, brings the index up to date."""
        self._current = {r.definition.name: r for r in await self.catalog.all()}
        for role in shipped:
            stored = self._current.get(role.name)
            if stored is None:
                self._remember(await self.catalog.write(role, 0, SHIPPED))
            elif stored.origin == SHIPPED and stored.shipped_digest != shipped_digest(role):
                self._remember(await self.catalog.write(role, stored.revision, SHIPPED))
        with calling("l01/l04"):
            await self._index.load(sorted(self._current))
            await self._index.sync(
                {name: role_texts(r.definition) for name, r in self._current.items()}
            )
        self._profiles = {
            name: RoleProfile.of(r.definition)
            for name, r in self._current.items()
            if r.definition.state == ACTIVE
        }
        await self._learn()
        self.ready = True

    async def _learn(self) -> None:
        """Fits the models of the roles' examples again (an edit may change the examples)."""
        async with self._learning:
            self._words = ExampleWords(self._profiles)
            entries, matrix = self._index.indexed()
            roles = set(self._profiles)
            self._vectors = await asyncio.to_thread(ExampleVectors, entries, matrix, roles)

    def _remember(self, stored: StoredRole) -> None:
        role = stored.definition
        self._current[role.name] = stored
        if role.state == ACTIVE:
            self._profiles[role.name] = RoleProfile.of(role)
        else:
            self._profiles.pop(role.name, None)

    async def _store(self, role: RoleDefinition, expected_revision: int) -> StoredRole:
        stored = await self.catalog.write(role, expected_revision, EDITED)
        with calling("l04"):
            await self._index.sync({role.name: role_texts(role)})
        self._remember(stored)
        await self._learn()
        return stored

    async def create(self, role: RoleDefinition) -> StoredRole:
        return await self._store(role, 0)

    async def update(self, role: RoleDefinition, expected_revision: int) -> StoredRole:
        current = await self.catalog.get(role.name)
        return await self._store(role, expected_revision or current.revision)

    async def deprecate(self, name: str, reason: str, expected_revision: int) -> StoredRole:
        if len(reason) > MAX_REASON_CHARS:
            raise invalid_role([("reason", f"at most {MAX_REASON_CHARS} characters")])
        current = await self.catalog.get(name)
        role = current.definition.deprecated(reason)
        return await self._store(role, expected_revision or current.revision)

    async def classify(self, text: str, limit: int) -> Classification:
        _require_text(text, "text", MAX_TASK_CHARS)
        if not 0 <= limit <= MAX_MATCHES:
            raise invalid_role([("limit", f"0 (= {DEFAULT_MATCHES}) to {MAX_MATCHES}")])
        if not self.ready:
            raise PlatformError(errors.NOT_READY, "the role index is loading; retry shortly")
        # A job's or commit's id says nothing of the kind of work (and would sway the words).
        words = without_identifiers(text) or text
        with calling("l04"):
            vector: np.ndarray = (await self._index.embed([words]))[0]
        found = signals(
            words,
            self._index.similarities(vector),
            self._profiles,
            self._words.values(words),
            self._vectors.values(vector),
        )
        reasons = self._oversight.reasons(text)
        return Classification(
            rank(found, self.weights)[: limit or DEFAULT_MATCHES], bool(reasons), reasons
        )

    async def assign(self, name: str, agent_id: str) -> tuple[StoredRole, int]:
        if not _AGENT_ID.match(agent_id):
            raise invalid_role([("agent_id", "1-200 letters, digits, '_', '-', '.', '@'")])
        role = await self.catalog.get(name)
        if role.definition.state != ACTIVE:
            raise PlatformError(
                errors.ROLE_DEPRECATED, f"role {name!r} is deprecated", metadata={"name": name}
            )
        position = await self._assignments.record(agent_id, name, role.revision)
        return role, position

    async def context(self, name: str, task: str, budget: int) -> BuiltContext:
        _require_text(task, "task", MAX_CONTEXT_TASK_CHARS)
        role = (await self.catalog.get(name)).definition
        if budget < 0 or budget > role.token_budget:
            raise invalid_role(
                [("token_budget", f"0 (the role's {role.token_budget}) up to the role's budget")]
            )
        return build_context(role, task, budget or role.token_budget)
