"""Whether a goal may reuse the plan of an earlier completed goal, and why (not).

The nearest earlier goal of the same owner is a candidate. Its plan is reused only when
1. the two goals' embeddings are close (cosine at or over the threshold chosen on data);
2. nothing in the two texts says they ask different things: the near-miss check shared with
   L04's semantic cache (negation, antonym, number, unit, output format, language, name,
   argument order, action), plus what a plan depends on and a question does not: a differently
   named resource ("the events table" / "the payments table") or identifier (``compute_tax``,
   ``config.yaml``, ``/var/log/app``);
3. its plan passes today's validator for this goal (its tools, roles, skills, token budget).

Actions are compared more leniently than the cache does only for neutral verbs (make, add,
build, keep: "build a chart" / "make a chart"): either goal may name one the other leaves
out, since a plan for the one makes or keeps the thing anyway. Any other action named by one
goal only refuses: "back up and delete the logs" / "back up the logs" (the reused plan would
delete them), "write the script" / "write the script and run it" (it would not run it).

Nothing here knows gRPC or Temporal: it is unit-tested directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from services.kit.near_miss import NearMissCheck, Reading, Refusal
from services.l05_planning.plan import PlanValidator, Verdict

# Verbs an earlier goal may name that its new paraphrase leaves out: they make or keep
# something, they destroy or send nothing.
NEUTRAL_ACTIONS = frozenset({"create", "save"})
# Nouns naming a resource whose own name is the word before it ("the orders table").
RESOURCES = frozenset(
    "table database db schema collection index bucket folder directory dir file files repo "
    "repository branch service namespace cluster server host domain queue topic channel "
    "module function endpoint page site account group team project environment env "
    "pipeline job workflow key keys certificate drive".split()
)
_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]*")
_IDENTIFIER = re.compile(r"[A-Za-z0-9]*(?:[_/][A-Za-z0-9]+|\.[A-Za-z][A-Za-z0-9]*)+")
_SKIPPED = frozenset("the a an this that our my your their its".split())

# A goal restated in other words ("set up" / "schedule" a backup) keeps its plan: one word in
# place of another is no difference here (on the goal pairs it refused a third of the
# reusable ones and no wrong one), nor is a word only one goal adds (restated goals add
# phrases often: it refused a reusable pair of each half, and no wrong one); named resources
# and identifiers are compared instead.
LENIENT_KINDS = frozenset({"substitution", "qualifier"})
_KIND_WORDS = {
    "negation": "says not to do something the other does",
    "antonym": "asks for the opposite",
    "action": "asks for a different action",
    "number": "has different numbers",
    "unit": "has different units",
    "format": "asks for a different output format",
    "language": "asks for a different language",
    "entity": "names different things",
    "order": "has its arguments the other way round",
    "question": "asks another question",
    "quantity": "means another number of things",
}


@dataclass(frozen=True)
class Candidate:
    """The nearest earlier completed goal of the same owner, and its validated plan."""

    goal_id: str
    goal: str
    similarity: float
    tasks: list[dict[str, Any]]


@dataclass(frozen=True)
class Decision:
    """Reuse ``candidate``'s plan (``tasks`` set), or plan afresh; ``reason`` says why."""

    candidate: Candidate | None
    tasks: list[dict[str, Any]] | None
    reason: str

    @property
    def reused(self) -> bool:
        return self.tasks is not None

    @property
    def reused_from(self) -> str:
        return f"goals/{self.candidate.goal_id}" if self.reused and self.candidate else ""

    @property
    def similarity(self) -> float:
        return round(self.candidate.similarity, 4) if self.candidate else 0.0


def _named(candidate: Candidate) -> str:
    return f"nearest goal goals/{candidate.goal_id} ({candidate.similarity:.2f})"


class GoalDifference:
    """What two goal texts differ in that would make one's plan wrong for the other."""

    def __init__(self, check: NearMissCheck | None = None) -> None:
        self._check = check or NearMissCheck()

    def compare(self, earlier: str, new: str) -> str | None:
        """None when nothing says the new goal asks something the earlier one did not; else
        what differs, in words."""
        named = _resource_difference(earlier, new) or _identifier_difference(earlier, new)
        if named:  # the more precise reason: "different table" rather than a word swapped
            return named
        a, b = self._check.read(earlier), self._check.read(new)
        refusal = self._check.compare(a, b, skip=LENIENT_KINDS)
        if refusal is not None and refusal.kind == "action" and _action_refusal(a, b) is None:
            refusal = self._check.compare(a, b, skip={*LENIENT_KINDS, "action"})
        if refusal is not None:
            return f"{_KIND_WORDS.get(refusal.kind, refusal.kind)}: {refusal.reason}"
        return None


def _action_refusal(earlier: Reading, new: Reading) -> Refusal | None:
    if (earlier.actions ^ new.actions) - NEUTRAL_ACTIONS:
        return Refusal("action", f"actions differ ({_set(earlier.actions)} vs {_set(new.actions)})")
    return None


def _resource_names(text: str) -> dict[str, set[str]]:
    """resource noun -> the words naming it ("the orders table" -> {"table": {"orders"}})."""
    words = [w.lower() for w in _WORD.findall(text)]
    found: dict[str, set[str]] = {}
    for before, word in pairwise(words):
        if word in RESOURCES and before not in _SKIPPED and before not in RESOURCES:
            found.setdefault(word, set()).add(before)
    return found


def _resource_difference(earlier: str, new: str) -> str | None:
    a, b = _resource_names(earlier), _resource_names(new)
    new_words = {w.lower() for w in _WORD.findall(new)}
    for noun in sorted(a.keys() & b.keys()):
        if a[noun] != b[noun] and not a[noun] <= new_words:
            return f"names a different {noun} ({_set(a[noun])} vs {_set(b[noun])})"
    return None


def _identifiers(text: str) -> set[str]:
    return {w.strip(".").lower() for w in _IDENTIFIER.findall(text) if len(w.strip(".")) > 2}


def _identifier_difference(earlier: str, new: str) -> str | None:
    a, b = _identifiers(earlier), _identifiers(new)
    if a != b:
        return f"names different identifiers ({_set(a)} vs {_set(b)})"
    return None


def _set(values: Iterable[str]) -> str:
    return "{" + ", ".join(sorted(values)) + "}"


def decide(
    goal: str,
    candidate: Candidate | None,
    threshold: float,
    difference: GoalDifference,
    validator: PlanValidator,
) -> Decision:
    """Reuse the candidate's plan or not, and why."""
    if candidate is None:
        return Decision(None, None, "no earlier completed goal of this owner to reuse")
    named = _named(candidate)
    if candidate.similarity < threshold:
        return Decision(candidate, None, f"{named} is below the reuse threshold of {threshold:.2f}")
    differs = difference.compare(candidate.goal, goal)
    if differs is not None:
        return Decision(candidate, None, f"{named} {differs}")
    verdict: Verdict = validator.check({"tasks": candidate.tasks})
    if not verdict.valid:
        problems = "; ".join(verdict.problems[:5])
        return Decision(candidate, None, f"{named}: its plan fails today's validator: {problems}")
    tasks = [task.to_dict() for task in verdict.tasks]
    return Decision(candidate, tasks, f"reused the plan of {named}: nothing differs that matters")
