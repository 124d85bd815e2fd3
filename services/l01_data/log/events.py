"""Event types of the store and the validation of what clients send."""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.kit.errors import PlatformError
from services.l01_data import errors

MAX_EVENTS_PER_APPEND = 1_000
MAX_EVENT_BYTES = 1024 * 1024  # data + metadata, as JSON
MAX_STREAM_ID_LENGTH = 256
MAX_TYPE_LENGTH = 256
MAX_READ_COUNT = 1_000
DEFAULT_READ_COUNT = 100
# Pages stop growing at this many bytes of JSON so a response fits gRPC's 4 MiB default.
MAX_PAGE_BYTES = 3 * 1024 * 1024

NO_STREAM = -1  # expected_version: the stream must not exist yet
# Metadata key the server sets on every appended event: who appended it. A
# client-sent value is overwritten, so it cannot be forged.
PRINCIPAL_KEY = "$principal"

_STREAM_ID = re.compile(r"[A-Za-z0-9_.:@-]+")
_EVENT_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]*")


@dataclass(frozen=True)
class NewEvent:
    """An event to append; ``data_json``/``metadata_json`` are JSON object texts."""

    id: uuid.UUID
    type: str
    data_json: str
    metadata_json: str
    # False when the store drew the id itself: a fresh uuid4 cannot repeat an
    # earlier append, so appends skip looking it up among the stored ids.
    id_from_client: bool = True
    # The data as a serialized google.protobuf.Struct, when it arrived as one.
    data_pb: bytes | None = None


# Not frozen: catch-up builds tens of thousands a second, and a frozen
# dataclass's __init__ costs twice as much.
@dataclass(slots=True)
class RecordedEvent:
    id: uuid.UUID
    stream_id: str
    stream_version: int
    global_position: int
    type: str
    data_json: str
    metadata_json: str
    recorded_at: datetime
    data_pb: bytes | None = None  # see NewEvent.data_pb


@dataclass(frozen=True)
class AppendResult:
    stream_id: str
    first_version: int
    last_version: int
    first_position: int
    last_position: int
    event_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class StreamPage:
    events: list[RecordedEvent]
    next_version: int
    last_version: int
    end_of_stream: bool


@dataclass(frozen=True)
class LogPage:
    events: list[RecordedEvent]
    next_position: int
    end_of_log: bool


def invalid_field(field: str, message: str) -> PlatformError:
    return PlatformError(errors.INVALID_ARGUMENT, f"{field}: {message}", field=field)


def validate_stream_id(stream_id: str, field: str = "stream_id") -> str:
    if not stream_id:
        raise invalid_field(field, "must not be empty")
    if len(stream_id) > MAX_STREAM_ID_LENGTH:
        raise invalid_field(
            field, f"is {len(stream_id)} characters; the limit is {MAX_STREAM_ID_LENGTH}"
        )
    if not _STREAM_ID.fullmatch(stream_id):
        raise invalid_field(field, "may hold only letters, digits and '_', '-', '.', ':', '@'")
    return stream_id


def validate_expected_version(expected: int | None) -> int | None:
    if expected is not None and expected < NO_STREAM:
        raise invalid_field(
            "expected_version", "must be absent (any), -1 (no stream) or a version >= 0"
        )
    return expected


def validate_type_prefix(prefix: str) -> str:
    if len(prefix) > MAX_TYPE_LENGTH:
        raise invalid_field("type_prefix", f"is longer than {MAX_TYPE_LENGTH} characters")
    return prefix


def validate_count(count: int, field: str = "max_count") -> int:
    if count == 0:
        return DEFAULT_READ_COUNT
    if count < 0 or count > MAX_READ_COUNT:
        raise invalid_field(
            field, f"must be between 1 and {MAX_READ_COUNT} (0 means {DEFAULT_READ_COUNT})"
        )
    return count


# Built once: json.dumps with options builds an encoder on every call.
_JSON = json.JSONEncoder(allow_nan=False, separators=(",", ":"), ensure_ascii=False)


def _object_json(value: Mapping[str, Any] | None, field: str) -> str:
    if value is None:
        return "{}"
    try:
        text = _JSON.encode(value)
    except ValueError:
        raise invalid_field(field, "numbers must be finite (no NaN or Infinity)") from None
    if "\\u0000" in text:
        raise invalid_field(field, "strings must not contain the NUL character")
    return text


def object_json(value: Mapping[str, Any] | None, field: str) -> str:
    """``value`` as compact JSON text; INVALID_ARGUMENT naming ``field`` if it cannot be."""
    return _object_json(value, field)


@functools.lru_cache(maxsize=1024)
def _principal_only(principal: str) -> str:
    """The metadata of an event that brought none: the principal alone (most events)."""
    return _JSON.encode({PRINCIPAL_KEY: principal})


def new_event(
    index: int,
    event_id: str,
    event_type: str,
    data: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    principal: str | None = None,
    data_pb: bytes | None = None,
) -> NewEvent:
    """Validates one proposed event; ``index`` names it in errors (``events[3].type``).

    With a ``principal``, it is recorded in the metadata under PRINCIPAL_KEY.
    """
    where = f"events[{index}]"
    if not event_type:
        raise invalid_field(f"{where}.type", "must not be empty")
    if len(event_type) > MAX_TYPE_LENGTH or not _EVENT_TYPE.fullmatch(event_type):
        raise invalid_field(
            f"{where}.type",
            f"must start with a letter and hold only letters, digits, '_', '-', '.', ':' "
            f"(at most {MAX_TYPE_LENGTH} characters)",
        )
    if event_id:
        try:
            parsed_id = uuid.UUID(event_id)
        except ValueError:
            raise invalid_field(f"{where}.id", "must be a UUID") from None
    else:
        parsed_id = uuid.uuid4()
    data_json = _object_json(data, f"{where}.data")
    if principal is not None and not metadata:
        metadata_json = _principal_only(principal)
    else:
        if principal is not None:
            metadata = {**(metadata or {}), PRINCIPAL_KEY: principal}
        metadata_json = _object_json(metadata, f"{where}.metadata")
    # A character is at most 4 bytes in UTF-8: most events need no encoding to be sized.
    chars = len(data_json) + len(metadata_json)
    size = (
        chars
        if chars * 4 <= MAX_EVENT_BYTES
        else len(data_json.encode()) + len(metadata_json.encode())
    )
    if size > MAX_EVENT_BYTES:
        raise PlatformError(
            errors.EVENT_TOO_LARGE,
            f"{where}: data and metadata are {size} bytes as JSON; the limit is {MAX_EVENT_BYTES}",
            field=f"{where}.data",
            metadata={"limit_bytes": str(MAX_EVENT_BYTES), "size_bytes": str(size)},
        )
    return NewEvent(parsed_id, event_type, data_json, metadata_json, bool(event_id), data_pb)


def validate_batch_size(count: int) -> None:
    """Checked before any event is parsed, so a huge batch fails fast."""
    if count == 0:
        raise invalid_field("events", "must hold at least one event")
    if count > MAX_EVENTS_PER_APPEND:
        raise PlatformError(
            errors.BATCH_TOO_LARGE,
            f"events: {count} events in one append; the limit is {MAX_EVENTS_PER_APPEND}",
            field="events",
            metadata={"limit": str(MAX_EVENTS_PER_APPEND)},
        )


def validate_unique_ids(events: Sequence[NewEvent]) -> Sequence[NewEvent]:
    ids = [e.id for e in events]
    if len(set(ids)) != len(ids):
        raise invalid_field("events", "event ids must be unique within an append")
    return events
