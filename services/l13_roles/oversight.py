"""Whether a task needs a person's approval: destructive or security-sensitive work.

Rules written against the development rows of ``tests/data/role_tasks.jsonl`` (precision and
recall on the held-out rows are printed by ``python -m bench.roles``), then, for a task no rule
flags, a naive Bayes model of the shipped roles' example tasks, each labelled by whether it
needs oversight (``data/oversight.yaml`` lists those that do): it catches sensitive work in
words the rules lack. Recall comes first: an unflagged deletion or credential change costs
more than a needless approval, so both err towards flagging. A task that only asks to document
or explain such work ("write down how to rotate the keys") is not flagged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from services.kit.word_model import WordModel


@dataclass(frozen=True)
class OversightRule:
    reason: str
    pattern: re.Pattern[str]


def _rule(reason: str, pattern: str) -> OversightRule:
    return OversightRule(reason, re.compile(pattern, re.IGNORECASE))


def _words(*alternatives: str) -> str:
    """A regular expression matching any of the alternatives as whole words."""
    return r"\b(" + "|".join(alternatives) + r")\b"


_DESTRUCTIVE_VERB = _words(
    r"delet\w*", r"drop\w*", r"truncat\w*", "wip(e|es|ed|ing)", r"purg\w*", r"eras\w*",
    r"remov\w*", r"clear\w*", "clean(ing)? up", r"destroy\w*", r"overwrit\w*", r"archiv\w*",
    r"scrub\w*",
)  # fmt: skip
_STORED_THING = _words(
    "data", "tables?", "rows?", "records?", "databases?", "db", "accounts?", "buckets?",
    "backups?", "users?", "customers?", "history", "volumes?", "indexes", "collections?", "logs?",
    "files?", "folders?", "director(y|ies)", "drives?", "disks?", "snapshots?", "objects?",
)  # fmt: skip
# "like prod" or "than prod" compares with production; it does not change it.
_PRODUCTION = r"(?<!like )(?<!than )(?<!as )" + _words("prod", "production")
# A system that is live; not the editor's "live reload" or a "live chat" feature.
_LIVE = r"\blive\b(?! (reload\w*|preview\w*|chat|demo\w*|coding|search))"
_SECRETS = _words(
    r"(?<!per )api ?keys?", r"(aws|gcp|azure|access|secret|encryption|deploy|root|master) keys?",
    "private keys?", "ssh keys?", "signing keys?", "tls keys?",
    "passwords?", "credentials?", "secrets?", "tokens?", "certs?", "certificates?", "ssl",
)  # fmt: skip
_ACCESS = _words(
    "permissions?", "user roles", "privileges?", "iam", "sudo", "chmod", "access control",
    "admin (account|rights|access|endpoints?|console|panel|routes?|api)",
    r"(owner|root|superuser|write|full) (rights|access|role|privileges?)", r"grant\w*", r"revok\w*",
)  # fmt: skip
_PUBLIC = r"0\.0\.0\.0|" + _words(
    "open(s|ing)? (a |the )?port", "firewall", "security group", "publicly accessible",
    r"public (\w+ )?(repo\w*|site|internet|bucket\w*)",
)  # fmt: skip
_INCIDENT = _words(
    r"leak\w*", r"breach\w*", r"compromis\w*", "unauthori[sz]ed", r"attack\w*",
    r"brute[- ]?forc\w*", r"failed log ?ins?", "other (people|users|customers)'?s?",
) + r"|logging in .{0,40}\bfrom\b"  # fmt: skip
_TEARDOWN = _words(
    r"tear\w* down", r"shut\w* (\w+ ){0,4}down", r"decommission\w*", r"nuk(e|es|ed|ing)"
)

RULES: tuple[OversightRule, ...] = (
    _rule("deletes or overwrites stored data", _DESTRUCTIVE_VERB + r".{0,50}" + _STORED_THING),
    _rule("shuts down or tears down a system", _TEARDOWN),
    _rule("changes production", _PRODUCTION + "|" + _LIVE),
    _rule(
        "rolls back or cuts over a release",
        _words("roll ?back", "rollback", "cut ?over", r"revert the (release|deploy\w*)"),
    ),
    _rule("changes DNS", _words("dns", "nameservers?", "domain records?")),
    _rule("touches credentials or secrets", _SECRETS),
    _rule("changes permissions or access", _ACCESS),
    _rule("exposes a service or data publicly", _PUBLIC),
    _rule("possible security incident or data exposure", _INCIDENT),
)

# Asking for a description of sensitive work is not doing it.
_ONLY_DESCRIBES = re.compile(
    r"^\s*(document|write (up|down)|explain|describe|draft a (doc|runbook|guide))\b", re.IGNORECASE
)


def oversight_reasons(task: str) -> list[str]:
    """Why ``task`` needs a person's approval; empty when it does not."""
    if _ONLY_DESCRIBES.search(task):
        return []
    return [rule.reason for rule in RULES if rule.pattern.search(task)]


# P(needs oversight | words) above which the model flags a task the rules pass: on the
# development rows of 2026-12-05 (each left out of the model while it is the task) the
# highest threshold that kept their recall at 95 % (76 of 80; the rules alone 71). On the 979
# rows since, no threshold reaches 95 %: 0.9 catches 142 of 164 (the rules alone 131; 0.5
# eight more, with 22 more false flags).
LEARNED_THRESHOLD = 0.9
LEARNED_REASON = "worded like tasks that needed oversight"
_YES, _NO = "needs oversight", "ordinary"


def flagged_examples(path: Path) -> frozenset[str]:
    """The example tasks ``path`` (data/oversight.yaml) lists as needing oversight."""
    loaded = yaml.safe_load(path.read_text()) or {}
    return frozenset(str(text) for text in loaded.get("needs_oversight", []))


class Oversight:
    """The rules, then the model of the roles' examples."""

    def __init__(
        self,
        examples: Iterable[str],
        flagged: Collection[str],
        features: Callable[[str], list[str]],
    ) -> None:
        labelled = [(_YES if text in flagged else _NO, text) for text in examples]
        self._model = WordModel((_YES, _NO), labelled, features)

    def probability(self, task: str, leaving_out: str | None = None) -> float:
        """P(needs oversight | the task's words); ``leaving_out`` an example not to count."""
        return self._model.probabilities(task, leaving_out)[_YES]

    def reasons(self, task: str) -> list[str]:
        """Why ``task`` needs a person's approval; empty when it does not."""
        if _ONLY_DESCRIBES.search(task):
            return []
        found = oversight_reasons(task)
        if not found and self.probability(task) > LEARNED_THRESHOLD:
            found = [LEARNED_REASON]
        return found
