"""Envoy's RBAC filter from policy.yaml, for callers whose JWT jwt_authn verified.

Roles come from the JWT's ``roles`` claim (a list, or a space-separated string) in jwt_authn's
dynamic metadata; RPCs are matched on the request path, which after the transcoder is the
gRPC path of the method for REST calls too. Calls jwt_authn did not verify (API keys, dev
tokens, no credentials) pass: ext_authz decides for them.
"""

from __future__ import annotations

import re
from typing import Any

from services.l09_gateway.names import JWT_AUTHN_FILTER, JWT_PAYLOAD_KEY
from services.l09_gateway.policy import Policy

RBAC_TYPE = "envoy.extensions.filters.http.rbac.v3.RBAC"
UNVERIFIED_POLICY = "not-a-verified-jwt"


def glob_to_re2(pattern: str) -> str:
    """A policy pattern (fnmatch syntax: ``*``, ``?``, ``[seq]``, ``[!seq]``) as an RE2
    regex with the same meaning: ``*`` matches anything, dots and slashes too."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        i += 1
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[" and (end := _class_end(pattern, i)) is not None:
            body = pattern[i:end].replace("\\", "\\\\")
            if body.startswith("!"):
                body = "^" + body[1:]
            elif body.startswith("^"):
                body = "\\" + body
            out.append(f"[{body}]")
            i = end + 1
        else:
            out.append(re.escape(char))
    return "".join(out)


def _class_end(pattern: str, start: int) -> int | None:
    """Index of the ``]`` closing a class opened just before ``start`` (fnmatch's rules)."""
    j = start
    if j < len(pattern) and pattern[j] == "!":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    end = pattern.find("]", j)
    return end if end >= 0 else None


def rpc_permission(pattern: str) -> dict[str, Any]:
    """One pattern as a permission on the path. Plain names and trailing-``*`` patterns are
    exact and prefix matches; others are (small) regexes: RE2 refuses large programs, so
    every pattern is its own permission (a policy's permissions are ORed)."""
    if pattern == "*":
        return {"any": True}
    wildcard = any(char in pattern for char in "*?[")
    if not wildcard:
        matcher: dict[str, Any] = {"exact": f"/{pattern}"}
    elif pattern.endswith("*") and not any(char in pattern[:-1] for char in "*?["):
        matcher = {"prefix": f"/{pattern[:-1]}"}
    else:
        matcher = {"safe_regex": {"regex": "/" + glob_to_re2(pattern)}}
    return {"url_path": {"path": matcher}}


def _claim(path: list[str], value: dict[str, Any]) -> dict[str, Any]:
    return {
        "sourced_metadata": {
            "metadata_matcher": {
                "filter": JWT_AUTHN_FILTER,
                "path": [{"key": key} for key in path],
                "value": value,
            }
        }
    }


def _has_role(role: str) -> dict[str, Any]:
    roles = [JWT_PAYLOAD_KEY, "roles"]
    word = re.escape(role)
    return {
        "or_ids": {
            "ids": [
                _claim(roles, {"list_match": {"one_of": {"string_match": {"exact": role}}}}),
                _claim(
                    roles, {"string_match": {"safe_regex": {"regex": f"(.*\\s)?{word}(\\s.*)?"}}}
                ),
            ]
        }
    }


def _unverified() -> dict[str, Any]:
    # No verified subject: jwt_authn did not verify the call, or the token names no subject
    # (the identity filter then leaves it to ext_authz, which refuses it).
    return {"not_id": _claim([JWT_PAYLOAD_KEY, "sub"], {"present_match": True})}


def config(policy: Policy | None) -> dict[str, Any]:
    """The RBAC filter's configuration; without a policy, verified JWTs are refused (the
    default until the L09 process sends the real one)."""
    policies: dict[str, Any] = {
        UNVERIFIED_POLICY: {"permissions": [{"any": True}], "principals": [_unverified()]}
    }
    for role, patterns in sorted((policy.patterns if policy else {}).items()):
        if not patterns:
            continue
        policies[f"role:{role}"] = {
            "permissions": [rpc_permission(pattern) for pattern in patterns],
            "principals": [_has_role(role)],
        }
    return {
        "@type": f"type.googleapis.com/{RBAC_TYPE}",
        "rules": {"action": "ALLOW", "policies": policies},
    }
