"""A workflow's short calls to the layers, made as local activities.

A local activity runs in the workflow's own worker, inside the workflow task: the server keeps
a marker with its result. An activity costs the server a task to schedule, dispatch, start and
complete, and one more workflow task after it; on a goal's twenty short calls (recording an
event, creating an agent, reading a list) that was most of Temporal's CPU per goal. Calls that
can take minutes and heartbeat (a model's answer, a tool's run) stay activities.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

# Runs started before short calls were local replay their histories as recorded.
LOCAL_CALLS_PATCH = "local-calls"


def local_calls() -> bool:
    """Whether this run makes its short calls as local activities (every run started since
    the change; call it at the start of the run, before its first call)."""
    return workflow.patched(LOCAL_CALLS_PATCH)


async def short_call(
    local: bool,
    activity: str,
    arg: Any,
    *,
    start_to_close_timeout: timedelta,
    retry_policy: RetryPolicy,
    result_type: type | None = None,
) -> Any:
    """Runs ``activity`` (registered on this workflow's worker) as a local activity, or as an
    activity in a run from before the change."""
    if local:
        return await workflow.execute_local_activity(
            activity,
            arg,
            result_type=result_type,
            start_to_close_timeout=start_to_close_timeout,
            retry_policy=retry_policy,
        )
    return await workflow.execute_activity(
        activity,
        arg,
        result_type=result_type,
        start_to_close_timeout=start_to_close_timeout,
        retry_policy=retry_policy,
    )
