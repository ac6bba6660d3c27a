"""ShareGPT records: a "conversations" (or "items") list of {"from", "value"} turns."""

from __future__ import annotations

from typing import Any

from orchestration.defs.conversations.formats.common import (
    ReadContext,
    json_type_name,
    optional_id,
)
from orchestration.defs.conversations.formats.model import (
    Conversation,
    Message,
    RecordError,
)
from orchestration.defs.conversations.formats.openai_chat import ROLE_ALIASES

SHAREGPT_ROLES = {
    **ROLE_ALIASES,
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
}
_TURN_KEYS = ("conversations", "items")


def is_sharegpt(record: dict[str, Any]) -> bool:
    """Return whether the record has a list of turns that look like {"from", "value"}."""
    turns = _turns(record)
    if turns is None:
        return False
    first = turns[0] if turns else None
    if first is None:
        return True
    return isinstance(first, dict) and ("from" in first or "value" in first)


def parse_sharegpt(record: dict[str, Any], context: ReadContext) -> Conversation:
    """Parse one ShareGPT conversation. A turn with an unknown role is skipped."""
    conversation_id = optional_id(record, "id")
    turns = _turns(record) or []
    messages = []
    for position, turn in enumerate(turns):
        message = _message(turn, position, context)
        if message is not None:
            messages.append(message)
    return context.conversation(
        conversation_id, messages, account_id=optional_id(record, "account_id")
    )


def _turns(record: dict[str, Any]) -> list[Any] | None:
    for key in _TURN_KEYS:
        if isinstance(record.get(key), list):
            return record[key]
    return None


def _message(turn: Any, position: int, context: ReadContext) -> Message | None:
    if not isinstance(turn, dict):
        raise RecordError(f"turn {position} is not an object: got {json_type_name(turn)}")
    speaker = turn.get("from")
    role = SHAREGPT_ROLES.get(speaker.strip().lower()) if isinstance(speaker, str) else None
    if role is None:
        context.warn_once("ShareGPT role", speaker)
        return None
    value = turn.get("value")
    if value is None:
        return None
    if not isinstance(value, str):
        found = json_type_name(value)
        raise RecordError(f"turn {position} value is not a string or null: got {found}")
    return context.message(role, value)
