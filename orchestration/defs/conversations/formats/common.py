"""Helpers that every format reader shares: messages, ids, timestamps and warnings."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orchestration.defs.conversations.formats.model import (
    Conversation,
    Message,
    RecordError,
)
from orchestration.defs.conversations.scrub import scrub_text

logger = logging.getLogger(__name__)

EXCERPT_MAX_CHARS = 200
# The excerpt is cut after scrubbing, so that an email or URL that straddles the cut is
# still recognised. Scrubbing only this prefix bounds the work for a huge bad record.
_EXCERPT_SCRUB_CHARS = 4000
_SHOWN_VALUE_MAX_CHARS = 40
_CONTENT_ID_HEX_CHARS = 16
_TOOL_ARGUMENTS_MAX_CHARS = 40
_SHOWN_KEYS_MAX = 8

_JSON_TYPE_NAMES = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


@dataclass
class ReadContext:
    """Settings and state of one file's read, shared by the format readers."""

    source: str
    id_prefix: str
    source_file: str
    keep_originals: bool = False
    # The record being parsed, for warnings. The reader sets it before each record.
    record_index: int = 0
    _warned: set[tuple[str, str]] = field(default_factory=set)

    def message(self, role: str, text: str) -> Message | None:
        """Build a scrubbed message from cleaned text, or return None for blank text."""
        text = text.replace("\x00", "")
        if not text.strip():
            return None
        original = text if self.keep_originals else None
        return Message(role, scrub_text(text), original)

    def warn_once(self, kind: str, name: object) -> None:
        """Log a skipped value of an unknown kind once per file and name."""
        shown = shown_value(name)
        if (kind, shown) in self._warned:
            return
        self._warned.add((kind, shown))
        logger.warning(
            "%s: skipped %s %r, first seen in record %d, and later ones without a warning",
            self.source_file,
            kind,
            shown,
            self.record_index,
        )

    def conversation(
        self,
        conversation_id: str | None,
        messages: Sequence[Message],
        account_id: str | None = None,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
    ) -> Conversation:
        """Build a conversation, with a content id when the record has no id of its own."""
        if not any(message.role == "user" for message in messages):
            raise RecordError("no user message")
        if conversation_id is None:
            conversation_id = content_id(self.id_prefix, messages)
        return Conversation(
            source=self.source,
            conversation_id=conversation_id,
            messages=tuple(messages),
            account_id=account_id,
            created_at=created_at,
            updated_at=updated_at,
        )


def content_id(id_prefix: str, messages: Sequence[Message]) -> str:
    """Return "<id_prefix>:sha1-<16 hex digits>" of the scrubbed (role, content) pairs.

    The id depends on the content only, so the same conversation read from another file,
    or from another position, gets the same id under the same prefix.
    """
    pairs = [[message.role, message.content] for message in messages]
    canonical = json.dumps(pairs, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha1(canonical.encode("utf-8")).hexdigest()
    return f"{id_prefix}:sha1-{digest[:_CONTENT_ID_HEX_CHARS]}"


def json_type_name(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def shown_value(value: object) -> str:
    """Return a short, scrubbed form of a value from the file, for reasons and logs."""
    return scrub_text(str(value)[:_SHOWN_VALUE_MAX_CHARS])


# Account ids are hashed in the tables, so a quarantine excerpt must not show them raw.
_ACCOUNT_VALUE = re.compile(
    r'("(?:account_id|user_id|account|uuid)"\s*:\s*)("(?:[^"\\]|\\.)*"|-?\d+)'
)


def excerpt_of_text(text: str) -> str:
    text = _ACCOUNT_VALUE.sub(r'\1"[ACCOUNT]"', text.strip()[:_EXCERPT_SCRUB_CHARS])
    return scrub_text(text)[:EXCERPT_MAX_CHARS]


def excerpt_of_value(value: object) -> str:
    """Return the scrubbed excerpt of a parsed record, encoding only its start."""
    pieces: list[str] = []
    length = 0
    encoder = json.JSONEncoder(ensure_ascii=False, default=str)
    for piece in encoder.iterencode(value):
        pieces.append(piece)
        length += len(piece)
        if length >= _EXCERPT_SCRUB_CHARS:
            break
    return excerpt_of_text("".join(pieces))


def optional_id(record: dict[str, Any], key: str) -> str | None:
    """Return a string or integer id field as a string, or None when absent or empty."""
    raw_id = record.get(key)
    if raw_id is None or raw_id == "":
        return None
    if isinstance(raw_id, str):
        return raw_id
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        return str(raw_id)
    found = json_type_name(raw_id)
    raise RecordError(f"field '{key}' is not a string or integer: got {found}")


def optional_timestamp(record: dict[str, Any], key: str) -> datetime | None:
    """Parse a timestamp field, or return None when it is absent or null."""
    value = record.get(key)
    if value is None:
        return None
    return parse_timestamp(value, key)


def parse_timestamp(value: Any, field_name: str) -> datetime:
    """Parse an ISO 8601 string or epoch seconds into UTC. A naive time is taken as UTC."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.strip())
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        pass
    shown = shown_value(value)
    expected = "expected an ISO 8601 string or epoch seconds"
    raise RecordError(f"invalid {field_name} {shown!r}: {expected}")


def require_list(record: dict[str, Any], key: str) -> list[Any]:
    value = record.get(key)
    if not isinstance(value, list):
        raise RecordError(f"field '{key}' is not an array: got {json_type_name(value)}")
    return value


def tool_call_marker(name: object, arguments: object = None) -> str:
    """Return a short "[tool call: name(arguments…)]" marker for a model's tool call."""
    shown_name = name if isinstance(name, str) and name else "unnamed"
    if arguments is None or arguments == "":
        return f"[tool call: {shown_name}]"
    if isinstance(arguments, str):
        arguments_text = arguments
    else:
        arguments_text = json.dumps(arguments, ensure_ascii=False, default=str)
    arguments_text = " ".join(arguments_text.split())
    if len(arguments_text) > _TOOL_ARGUMENTS_MAX_CHARS:
        arguments_text = arguments_text[:_TOOL_ARGUMENTS_MAX_CHARS] + "…"
    return f"[tool call: {shown_name}({arguments_text})]"


def key_list(record: dict[str, Any]) -> str:
    """Return "keys a, b, c" for a reason, with at most _SHOWN_KEYS_MAX keys shown."""
    keys = [shown_value(key) for key in list(record)[:_SHOWN_KEYS_MAX]]
    if len(record) > _SHOWN_KEYS_MAX:
        keys.append(f"and {len(record) - _SHOWN_KEYS_MAX} more")
    if not keys:
        return "no keys"
    return "keys " + ", ".join(keys)
