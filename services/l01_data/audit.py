"""Audit events: who changed what, recorded in the log beside the change.

Management RPCs (stream metadata and deletion, snapshots, consumer groups)
append one of these in the same transaction as their change (see
``EventStore.audited``). They live in system streams whose ids start with "$"
(clients cannot write those: stream ids they send may not contain "$"), and
their types start with "$" too, so type-prefix filters never match them.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from services.l01_data.log.append_plan import AppendRequest
from services.l01_data.log.events import PRINCIPAL_KEY, NewEvent

STREAMS_AUDIT = "$streams"
SNAPSHOTS_AUDIT = "$snapshots"
GROUPS_AUDIT = "$groups"


def audit_append(
    stream_id: str, event_type: str, data: dict[str, Any], principal: str
) -> AppendRequest:
    """An append of one audit event recording ``principal`` in its metadata."""
    event = NewEvent(
        id=uuid.uuid4(),
        type=event_type,
        data_json=json.dumps(data, separators=(",", ":"), ensure_ascii=False),
        metadata_json=json.dumps({PRINCIPAL_KEY: principal}, separators=(",", ":")),
        id_from_client=False,
    )
    return AppendRequest(stream_id, None, [event])
