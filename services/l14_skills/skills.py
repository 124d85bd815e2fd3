"""L14's domain: the skill catalog, its semantic index, validation, search, sets, loading.

Skills live in L01 (``catalog``); the newest version's texts are embedded by L04 and kept in
L01's vector collection ``l14-skills`` (``SemanticIndex``) with a copy in memory, so a search
costs one ``Embed`` call and a matrix product. A new version is re-embedded where its texts
changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.kit import PlatformError
from services.kit.identifiers import without_identifiers
from services.kit.semantic_index import SemanticIndex, meaning_by_owner
from services.kit.tokens import count_tokens
from services.l14_skills import errors
from services.l14_skills.catalog import SHIPPED, SkillCatalog, StoredSkill, shipped_digest
from services.l14_skills.definitions import (
    ACTIVE,
    SkillDefinition,
    Violations,
    check_skill,
    invalid_skill,
    unknown_roles,
)
from services.l14_skills.loading import Candidate, LoadingPlan, plan_loading
from services.l14_skills.role_directory import RoleDirectory
from services.l14_skills.search import SearchWeights, rank, signals, skill_texts
from services.l14_skills.skill_sets import MAX_SKILLS, SkillSet, SkillSets, check_owner
from services.l14_skills.tool_directory import ToolDirectory
from services.l14_skills.upstream import calling

INDEX_COLLECTION = "l14-skills"
MAX_QUERY_CHARS = 4000
MAX_TASK_CHARS = 200_000
DEFAULT_MATCHES = 5
MAX_MATCHES = 50
MAX_BUDGET = 1_000_000


def _too_large(field: str, size: int, limit: int) -> PlatformError:
    return PlatformError(
        errors.TEXT_TOO_LARGE, f"{field} is {size:,} characters; at most {limit:,}", field=field
    )


class Skills:
    def __init__(
        self,
        catalog: SkillCatalog,
        index: SemanticIndex,
        sets: SkillSets,
        roles: RoleDirectory,
        tools: ToolDirectory,
        weights: SearchWeights,
    ) -> None:
        self.catalog = catalog
        self.sets = sets
        self._index = index
        self._roles = roles
        self._tools = tools
        self.weights = weights
        self._current: dict[str, SkillDefinition] = {}
        self.ready = False

    async def prepare(self, shipped: Sequence[SkillDefinition]) -> None:
        """Loads the catalog, writes shipped skills nobody changed, updates the index."""
        stored = {s.definition.name: s for s in await self.catalog.all()}
        for skill in shipped:
            found = stored.get(skill.name)
            if found is None:
                stored[skill.name] = await self.catalog.create(skill, SHIPPED)
            elif found.origin == SHIPPED and found.shipped_digest != shipped_digest(skill):
                stored[skill.name] = await self.catalog.rewrite_shipped(skill, found)
        self._current = {name: s.definition for name, s in stored.items()}
        with calling("l01/l04"):
            await self._index.load(sorted(self._current))
            await self._index.sync({n: skill_texts(s) for n, s in self._current.items()})
        self.ready = True

    async def problems(self, raw: Mapping[str, Any]) -> tuple[SkillDefinition | None, Violations]:
        """Everything wrong with a skill: its own fields, tools L03 does not know, and roles
        L13 does not know."""
        known_tools = await self._tools.names() if raw.get("required_tools") else set()
        skill, problems = check_skill(raw, known_tools)
        if skill is None:
            return None, problems
        if skill.roles:
            problems = unknown_roles(skill, await self._roles.names())
        return (skill if not problems else None), problems

    async def _valid(self, raw: Mapping[str, Any]) -> SkillDefinition:
        skill, problems = await self.problems(raw)
        if skill is None:
            raise invalid_skill(problems)
        return skill

    async def _remember(self, stored: StoredSkill) -> StoredSkill:
        skill = stored.definition
        with calling("l04"):
            await self._index.sync({skill.name: skill_texts(skill)})
        self._current[skill.name] = skill
        return stored

    async def create(self, raw: Mapping[str, Any]) -> StoredSkill:
        return await self._remember(await self.catalog.create(await self._valid(raw)))

    async def update(self, raw: Mapping[str, Any], expected_version: str) -> StoredSkill:
        skill = await self._valid(raw)
        return await self._remember(await self.catalog.add_version(skill, expected_version))

    def _require_ready(self) -> None:
        if not self.ready:
            raise PlatformError(errors.NOT_READY, "the skill index is loading; retry shortly")

    async def search(
        self, query: str, limit: int, category: str, status: str
    ) -> list[tuple[SkillDefinition, float]]:
        if not query.strip():
            raise invalid_skill([("query", "is required (a non-empty string)")])
        if len(query) > MAX_QUERY_CHARS:
            raise _too_large("query", len(query), MAX_QUERY_CHARS)
        if not 0 <= limit <= MAX_MATCHES:
            raise invalid_skill([("limit", f"0 (= {DEFAULT_MATCHES}) to {MAX_MATCHES}")])
        self._require_ready()
        wanted = status or ACTIVE
        names = [
            name
            for name, skill in self._current.items()
            if skill.status == wanted and (not category or skill.category == category)
        ]
        if not names:
            return []
        words = without_identifiers(query) or query  # an id says nothing of the skill
        with calling("l04"):
            vector = (await self._index.embed([words]))[0]
        ranked = rank(signals(words, self._index.similarities(vector), names), self.weights)
        return [(self._current[name], score) for name, score in ranked[: limit or DEFAULT_MATCHES]]

    def _known(self, skills: Sequence[str], field: str) -> tuple[str, ...]:
        problems = []
        if not skills:
            problems.append((field, "at least one skill"))
        if len(skills) > MAX_SKILLS:
            problems.append((field, f"at most {MAX_SKILLS} skills"))
        if len(set(skills)) != len(skills):
            problems.append((field, "has duplicates"))
        problems += [
            (f"{field}[{i}]", f"no skill {name!r}")
            for i, name in enumerate(skills)
            if name not in self._current
        ]
        if problems:
            raise invalid_skill(problems)
        return tuple(skills)

    async def assign(self, kind: str, owner_id: str, skills: Sequence[str]) -> SkillSet:
        check_owner(kind, owner_id)
        self._require_ready()
        known = self._known(skills, "skills")
        if kind == "roles" and owner_id not in await self._roles.names():
            raise invalid_skill([("owner_id", f"no role {owner_id!r} in L13")])
        return await self.sets.assign(kind, owner_id, known)

    async def plan(self, skills: Sequence[str], budget: int, task: str) -> LoadingPlan:
        self._require_ready()
        names = self._known(skills, "skills")
        if not 1 <= budget <= MAX_BUDGET:
            raise invalid_skill([("token_budget", f"1 to {MAX_BUDGET:,}")])
        if len(task) > MAX_TASK_CHARS:
            raise _too_large("task", len(task), MAX_TASK_CHARS)
        relevance = {name: float(len(names) - i) / len(names) for i, name in enumerate(names)}
        if task.strip():
            with calling("l04"):
                vector = (await self._index.embed([task]))[0]
            nearest = {
                meaning.owner: meaning.closest.cosine
                for meaning in meaning_by_owner(self._index.similarities(vector), set(relevance))
            }
            relevance = {name: round(nearest.get(name, 0.0), 4) for name in names}
        rendered = {name: self._current[name].rendered() for name in names}
        candidates = [
            Candidate(
                name,
                self._current[name].version,
                count_tokens(rendered[name]),
                relevance[name],
                rendered[name],
            )
            for name in names
        ]
        return plan_loading(candidates, budget)
