"""L00's access-policy rule, and the gateway's OpenAPI pattern that restates it."""

from __future__ import annotations

import re

import pytest

from services.kit import PlatformError
from services.l00_secrets import validation
from services.l00_secrets.records import AccessPolicy
from services.l09_gateway.openapi.constraints import POLICY_ENTRY

NAMES = ["alice", "l04_models", "user:bob@example.com", "apikey:ci-7", "équipe"]
NOT_NAMES = ["", "a,b", "two words", "\x1f", "tab\there", "nb\u00a0sp", "\ufeffbom", "x" * 257]


@pytest.mark.parametrize("entry", NAMES)
def test_principal_and_layer_names_are_accepted(entry: str) -> None:
    kept = validation.policy(AccessPolicy((entry,), (entry,), (entry,)))
    assert kept.principals == (entry,)


@pytest.mark.parametrize("entry", NOT_NAMES)
def test_a_bad_entry_is_refused_naming_the_field(entry: str) -> None:
    with pytest.raises(PlatformError) as caught:
        validation.policy(AccessPolicy((), (entry,), ("admin",)))
    assert caught.value.code == "E0002" and caught.value.field == "access_policy.layers"


@pytest.mark.parametrize("entry", NAMES + NOT_NAMES)
def test_the_gateway_pattern_states_the_same_rule(entry: str) -> None:
    # Python's re reads the OpenAPI pattern like ECMA-262 here: it names every character.
    by_gateway = re.search(POLICY_ENTRY["pattern"], entry) is not None
    assert by_gateway == (entry in NAMES)
