"""The policy file: roles allow RPC patterns; tiers are validated."""

from pathlib import Path

import pytest

from services.l09_gateway.policy import PolicyError, PolicySource, load, parse

pytestmark = [pytest.mark.unit, pytest.mark.l09]

POLICY = Path(__file__).resolve().parents[2] / "gateway" / "policy.yaml"
APPEND = "agentic.data.v1.EventStoreService/AppendEvents"
READ = "agentic.data.v1.EventStoreService/ReadStream"
DELETE = "agentic.data.v1.EventStoreService/DeleteStream"


def test_the_committed_policy_loads() -> None:
    policy = load(POLICY)
    assert policy.allows(["admin"], DELETE)
    assert policy.tier(None).name == policy.default_tier


def test_a_reader_may_read_but_not_append() -> None:
    policy = load(POLICY)
    assert policy.allows(["reader"], READ)
    assert not policy.allows(["reader"], APPEND)


def test_a_writer_may_append_but_not_delete() -> None:
    policy = load(POLICY)
    assert policy.allows(["writer"], APPEND)
    assert not policy.allows(["writer"], DELETE)


def test_unknown_roles_and_no_roles_allow_nothing() -> None:
    policy = load(POLICY)
    assert not policy.allows([], READ)
    assert not policy.allows(["root"], READ)


def test_an_unknown_tier_falls_back_to_the_default() -> None:
    policy = load(POLICY)
    assert policy.tier("gold").name == policy.default_tier


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"tiers": {}}, "roles"),
        ({"roles": {}, "tiers": {"t": {"rate": 1, "burst": 0}}, "default_tier": "t"}, "both 0"),
        ({"roles": {}, "tiers": {"t": {"rate": 1, "burst": 1}}}, "unknown tier"),
        (
            {
                "roles": {},
                "tiers": {"t": {"rate": 1, "burst": 1, "when_store_down": "maybe"}},
                "default_tier": "t",
            },
            "allow or deny",
        ),
    ],
)
def test_malformed_policies_are_refused(document: dict, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse(document)


def test_a_changed_policy_file_applies_and_a_broken_one_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.read_text())
    source = PolicySource(path, reload_seconds=0.000001)
    assert not source().allows(["reader"], APPEND)
    path.write_text(POLICY.read_text().replace('"agentic.*/Get*"', f'"{APPEND}"'))
    assert source().allows(["reader"], APPEND)
    path.write_text("roles: [unclosed")
    assert source().allows(["reader"], APPEND)  # the last good policy stays
