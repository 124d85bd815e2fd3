"""Whether a task needs a person's approval: destructive or security-sensitive work.

Rules written against the development half of ``tests/data/role_tasks.jsonl`` (precision and
recall on the held-out half are printed by ``python -m bench.roles``). A task that only asks
to document or explain such work ("write down how to rotate the keys") is not flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


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
    r"remov\w*", r"clear\w*", "clean(ing)? up", r"destroy\w*", r"overwrit\w*",
)  # fmt: skip
_STORED_THING = _words(
    "data", "tables?", "rows?", "records?", "databases?", "db", "accounts?", "buckets?",
    "backups?", "users?", "customers?", "history", "volumes?", "indexes", "collections?", "logs?",
)  # fmt: skip

RULES: tuple[OversightRule, ...] = (
    _rule("deletes or overwrites stored data", _DESTRUCTIVE_VERB + r".{0,50}" + _STORED_THING),
    _rule("changes production", _words("prod", "production", "live (site|system|traffic)")),
    _rule(
        "rolls back or cuts over a release",
        _words("roll ?back", "rollback", "cut ?over", r"revert the (release|deploy\w*)"),
    ),
    _rule(
        "touches credentials or secrets",
        _words(
            "passwords?",
            "credentials?",
            "secrets?",
            "api ?keys?",
            "tokens?",
            "private keys?",
            "ssh keys?",
            "signing keys?",
            "certs?",
            "certificates?",
            "ssl",
            "tls keys?",
        ),
    ),
    _rule(
        "changes permissions or access",
        _words(
            "permissions?",
            "user roles",
            "privileges?",
            "admin (account|rights|access)",
            "access control",
            "iam",
            "sudo",
            "chmod",
        ),
    ),
    _rule(
        "exposes a service to the network",
        r"0\.0\.0\.0|"
        + _words(
            "open(s|ing)? (a |the )?port", "firewall", "security group", "publicly accessible"
        ),
    ),
    _rule(
        "possible security incident or data exposure",
        _words(
            r"leak\w*",
            r"breach\w*",
            r"compromis\w*",
            "unauthori[sz]ed",
            "other (people|users|customers)'?s?",
        )
        + r"|logging in .{0,40}\bfrom\b",
    ),
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
