"""L08's domain without a server: the policy engine, the clock context, the approval desk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from services.kit import PlatformError
from services.l08_supervision.approvals import ApprovalBook, ApprovalDesk, State
from services.l08_supervision.counters import clock_context
from services.l08_supervision.events import StoredEvent, StreamConflict
from services.l08_supervision.policy_engine import (
    BadDecisionRequest,
    CompiledPolicies,
    DecisionRequest,
    EntityRef,
    Outcome,
    Schema,
    problems,
)
from services.l08_supervision.supervisor import Supervisor

pytestmark = [pytest.mark.unit, pytest.mark.l08]

SCHEMA = Schema.platform()
CONTEXT = {"hour": 12, "weekday": 3, "calls_last_minute": 1, "calls_today": 1}


def _request(resource: EntityRef, **context: Any) -> DecisionRequest:
    return DecisionRequest(
        EntityRef("Agent", "a", roles=("ops",)), "call_tool", resource, {**CONTEXT, **context}
    )


def test_deny_wins_over_permit_and_escalate() -> None:
    policies = CompiledPolicies(
        """
        @id("all") permit (principal, action, resource);
        @id("ask") @escalate("sensitive") permit (principal, action, resource)
          when { resource has sensitive && resource.sensitive };
        @id("ops-only") @reason("ops may not")
        forbid (principal in Agentic::Role::"ops", action, resource)
          when { context has target && context.target == "prod" };
        """,
        SCHEMA,
    )
    sensitive = EntityRef("Tool", "t", {"sensitive": True})
    assert policies.evaluate(_request(sensitive)).outcome is Outcome.ESCALATE
    denied = policies.evaluate(_request(sensitive, target="prod"))
    assert (denied.outcome, [p.name for p in denied.policies]) == (Outcome.DENY, ["ops-only"])
    assert denied.reasons == ("ops may not",)
    assert policies.evaluate(_request(EntityRef("Tool", "t"))).outcome is Outcome.ALLOW


def test_an_evaluation_error_denies() -> None:
    # 2^62 * 4 overflows Cedar's Long: the forbid cannot be evaluated, so nothing is allowed.
    policies = CompiledPolicies(
        """
        permit (principal, action, resource);
        forbid (principal, action, resource) when { context has amount && context.amount * 4 > 0 };
        """,
        SCHEMA,
    )
    verdict = policies.evaluate(_request(EntityRef("Tool", "t"), amount=2**62))
    assert verdict.outcome is Outcome.DENY
    assert "evaluation failed" in verdict.reasons[0]


def test_an_escalating_policy_can_bound_its_approvals_life() -> None:
    policies = CompiledPolicies(
        """
        @id("ask") @escalate("sensitive") @approval_ttl("2.5") permit (principal, action, resource);
        """,
        SCHEMA,
    )
    verdict = policies.evaluate(_request(EntityRef("Tool", "t")))
    assert verdict.outcome is Outcome.ESCALATE
    assert [p.approval_ttl_seconds for p in verdict.policies] == [2.5]
    for bad in ('"soon"', '"0"', '"-3"', '"999999999"', '"nan"'):
        text = f'@approval_ttl({bad}) @escalate("x") permit (principal, action, resource);'
        found = problems(text, SCHEMA)
        assert found and "approval_ttl" in found[0], (bad, found)


def test_a_request_off_the_schema_is_the_callers_error() -> None:
    policies = CompiledPolicies("permit (principal, action, resource);", SCHEMA)
    with pytest.raises(BadDecisionRequest, match="sensitive"):
        policies.evaluate(_request(EntityRef("Tool", "t", {"sensitive": "yes"})))


def test_the_validator_names_what_is_wrong() -> None:
    assert problems("", SCHEMA) == ["the policy set is empty"]
    assert "templates" in problems("permit (principal == ?principal, action, resource);", SCHEMA)[0]
    assert "parse" in problems("permit (principal, action, resource);\x00", SCHEMA)[0]
    found = problems('permit (principal, action == Agentic::Action::"fly", resource);', SCHEMA)
    assert any("fly" in p for p in found)
    assert (
        problems('permit (principal, action == Agentic::Action::"call_tool", resource);', SCHEMA)
        == []
    )


def test_the_clock_context_is_utc_hour_and_iso_weekday() -> None:
    assert clock_context(86400.0 * 4 + 3600 * 9) == {"hour": 9, "weekday": 1}  # 1970-01-05 Mon


class MemoryLog:
    """An event log in memory, with L01's expected-version rule."""

    def __init__(self) -> None:
        self.streams: dict[str, list[tuple[str, dict[str, Any]]]] = {}

    async def append(
        self,
        stream_id: str,
        events: list[tuple[str, dict[str, Any]]],
        expected_version: int | None = None,
    ) -> None:
        stream = self.streams.setdefault(stream_id, [])
        if expected_version is not None and expected_version != len(stream) - 1:
            raise StreamConflict(stream_id)
        stream.extend(events)


APPROVER = ("approver",)


@pytest.fixture
def desk() -> tuple[ApprovalDesk, MemoryLog, list[datetime]]:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    log = MemoryLog()
    return ApprovalDesk(log, ApprovalBook(), clock=lambda: now[0]), log, now  # type: ignore[arg-type]


async def _open(desk: ApprovalDesk, request_id: str = "", requester: str = "dev") -> Any:
    return await desk.open(
        requester, "call_tool", {"type": "Agent", "id": "a"}, {"type": "Tool", "id": "t"}, {},
        ("why",), timedelta(minutes=5), request_id,
    )  # fmt: skip


async def test_one_decision_per_approval(
    desk: tuple[ApprovalDesk, MemoryLog, list[datetime]],
) -> None:
    approvals, log, _ = desk
    approval = await _open(approvals)
    decided = await approvals.decide(approval.id, True, "alice", "ok", APPROVER)
    assert (decided.state, decided.decided_by) == (State.APPROVED, "alice")
    with pytest.raises(PlatformError) as again:
        await approvals.decide(approval.id, False, "bob", "no", APPROVER)
    assert again.value.code == "E8006"
    assert [t for t, _ in log.streams[approval.stream]] == [
        "approval.requested",
        "approval.approved",
    ]


async def test_expiry_is_a_rejection(desk: tuple[ApprovalDesk, MemoryLog, list[datetime]]) -> None:
    approvals, _, now = desk
    approval = await _open(approvals)
    now[0] += timedelta(minutes=6)
    assert await approvals.expire_due() == 1
    expired = approvals.get(approval.id)
    assert (expired.state, expired.comment, expired.decided_by) == (
        State.REJECTED,
        "expired",
        "l08_supervision",
    )
    with pytest.raises(PlatformError) as late:
        await approvals.decide(approval.id, True, "alice", "", APPROVER)
    assert late.value.code == "E8007"


async def test_only_approvers_and_admins_decide(
    desk: tuple[ApprovalDesk, MemoryLog, list[datetime]],
) -> None:
    approvals, log, _ = desk
    approval = await _open(approvals)
    for roles in ((), ("goal_operator",), ("reader", "supervised")):
        with pytest.raises(PlatformError) as refused:
            await approvals.decide(approval.id, True, "mallory", "mine", roles)
        assert refused.value.code == "E8011"
        assert "approver" in refused.value.message
    with pytest.raises(PlatformError) as unknown:  # the role is checked first: no existence leak
        await approvals.decide("nope", True, "mallory", "", ("goal_operator",))
    assert unknown.value.code == "E8011"
    assert [t for t, _ in log.streams[approval.stream]] == ["approval.requested"]
    decided = await approvals.decide(approval.id, False, "root", "no", ("admin",))
    assert (decided.state, decided.decided_by) == (State.REJECTED, "root")


async def test_a_request_id_names_one_approval_per_requester(
    desk: tuple[ApprovalDesk, MemoryLog, list[datetime]],
) -> None:
    approvals, _, _ = desk
    first = await _open(approvals, "r1")
    assert (await _open(approvals, "r1")).id == first.id
    assert (await _open(approvals, "r1", requester="other")).id != first.id
    assert (await _open(approvals)).id != (await _open(approvals)).id


async def test_the_book_folds_events_from_another_process() -> None:
    book = ApprovalBook()
    requested = {
        "id": "x", "requester": "dev", "action": "call_tool", "principal": {}, "resource": {},
        "create_time": "2026-01-01T00:00:00+00:00", "expire_time": "2026-01-01T01:00:00+00:00",
    }  # fmt: skip
    book.apply(StoredEvent("approval-x", 0, "approval.requested", requested, 7))
    decided = {"id": "x", "by": "bob", "decide_time": "2026-01-01T00:10:00+00:00"}
    book.apply(StoredEvent("approval-x", 1, "approval.rejected", decided, 8))
    book.apply(StoredEvent("approval-x", 1, "approval.approved", decided, 9))  # ignored
    states = [a.state async for a in book.changes("x")]
    assert states == [State.REJECTED]


def test_caps_quotas_and_time_windows_are_policies() -> None:
    policies = CompiledPolicies(
        """
        @id("models") permit (principal, action == Agentic::Action::"call_model", resource);
        @id("cap") @reason("over 100 cents")
        forbid (principal, action, resource)
          when { context has cost_cents && context.cost_cents > 100 };
        @id("quota") @reason("1,000 calls a day") forbid (principal, action, resource)
          when { context.calls_today > 1000 };
        @id("hours") @reason("weekdays 08-18 UTC only") forbid (principal, action, resource)
          when { context.hour < 8 || context.hour >= 18 || context.weekday > 5 };
        """,
        SCHEMA,
    )

    def decide(**context: Any) -> tuple[Outcome, list[str]]:
        request = DecisionRequest(
            EntityRef("Agent", "a"), "call_model", EntityRef("Model", "m"), {**CONTEXT, **context}
        )
        verdict = policies.evaluate(request)
        return verdict.outcome, [p.name for p in verdict.policies]

    assert decide(cost_cents=50) == (Outcome.ALLOW, ["models"])
    assert decide(cost_cents=150) == (Outcome.DENY, ["cap"])
    assert decide(calls_today=1001) == (Outcome.DENY, ["quota"])
    assert decide(hour=19) == (Outcome.DENY, ["hours"])
    assert decide(weekday=6) == (Outcome.DENY, ["hours"])
    outcome, deciding = decide(hour=3, cost_cents=500)
    assert outcome is Outcome.DENY and sorted(deciding) == ["cap", "hours"]


def _asker(approvals: ApprovalDesk) -> Supervisor:
    """A supervisor for approvals asked outright: no policy, counter or log is consulted."""
    policies = SimpleNamespace(schema=SCHEMA)
    return Supervisor(policies, approvals, None, None, timedelta(hours=1))  # type: ignore[arg-type]


def _goal_request(action: str = "execute_plan", resource: str = "Goal") -> DecisionRequest:
    return DecisionRequest(
        EntityRef("User", "alice"), action, EntityRef(resource, "g1"), {"tasks": ["a"]}
    )


async def test_an_approval_asked_outright_is_opened_once_per_key(
    desk: tuple[ApprovalDesk, MemoryLog, list[datetime]],
) -> None:
    approvals, log, now = desk
    asker = _asker(approvals)
    first = await asker.request_approval("alice", _goal_request(), ("asked",), "goal-g1")
    again = await asker.request_approval("alice", _goal_request(), ("asked",), "goal-g1")
    assert again.id == first.id and first.state is State.PENDING
    assert (first.action, first.resource["type"], first.context) == (
        "execute_plan",
        "Goal",
        {"tasks": ["a"]},
    )
    assert len(log.streams[first.stream]) == 1
    # A life longer than the server's maximum is cut to it.
    long = await asker.request_approval(
        "alice", _goal_request(), ("asked",), "goal-g2", timedelta(days=3)
    )
    assert long.expire_time == now[0] + timedelta(hours=1)
    short = await asker.request_approval(
        "alice", _goal_request(), ("asked",), "goal-g3", timedelta(seconds=5)
    )
    assert short.expire_time == now[0] + timedelta(seconds=5)


async def test_an_approval_asked_outright_names_the_schema(
    desk: tuple[ApprovalDesk, MemoryLog, list[datetime]],
) -> None:
    approvals, log, _ = desk
    asker = _asker(approvals)
    with pytest.raises(PlatformError) as action:
        await asker.request_approval("alice", _goal_request("launch"), ("x",), "k1")
    assert (action.value.code, action.value.field) == ("E8002", "action")
    with pytest.raises(PlatformError) as resource:
        await asker.request_approval("alice", _goal_request(resource="Rocket"), ("x",), "k2")
    assert (resource.value.code, resource.value.field) == ("E8002", "resource.type")
    assert log.streams == {}
