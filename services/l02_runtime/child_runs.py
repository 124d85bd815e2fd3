"""A run started as another workflow's child (a goal's task, L05) instead of by RunAgent.

No RunAgent call recorded its start, so the run's first activity does what RunAgent does
before it starts a workflow: checks that the agent may run, records ``run.started`` under the
id RunAgent would use and writes the run's document. A retried activity finds its own start
and records nothing twice.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.kit import PlatformError
from services.l02_runtime import agents
from services.l02_runtime.agents import AgentView
from services.l02_runtime.run_types import RunSpec
from services.l02_runtime.server import AgentServicer
from services.l02_runtime.store import AgentStore, derived_event_id, started_run
from services.l02_runtime.workflow import START_CHILD_RUN


class ChildRunActivities:
    def __init__(self, store: AgentStore) -> None:
        self._store = store

    def all(self) -> list[Any]:
        return [self.start_child_run]

    @activity.defn(name=START_CHILD_RUN)
    async def start_child_run(self, spec: RunSpec) -> None:
        recorded = False  # by this attempt (an earlier one may have)

        def decide(view: AgentView) -> list[tuple[str, dict[str, Any], str]]:
            nonlocal recorded
            recorded = False
            if view.current_run == spec.run_id:
                return []  # an earlier attempt of this activity recorded it
            try:
                AgentServicer.check_can_run(view)
            except PlatformError as error:
                raise ApplicationError(
                    f"{error.error.code}: {error.message}", type="RunRefused", non_retryable=True
                ) from None
            data = {"run": spec.run_id, "task": spec.task[:2000]}
            event_id = derived_event_id(spec.agent_id, spec.run_id, "start")
            recorded = True
            return [(agents.RUN_STARTED, data, event_id)]

        def document(view: AgentView) -> dict[str, dict[str, Any]]:
            return {spec.run_id: started_run(spec.task, view.version)}

        view = await self._store.change(spec.agent_id, decide, runs=document)
        # An earlier attempt recorded the start; one from before run documents went with the
        # event may have stopped before writing it.
        if not recorded and await self._store.get_run(spec.agent_id, spec.run_id) is None:
            await self._store.put_run(spec.agent_id, spec.run_id, document(view)[spec.run_id])
