"""Chat records with a "messages" list: the plain format and OpenAI-style chat JSONL.

Each message has a role and a content that is a string, a list of parts or null. An
assistant message may carry tool_calls (or the older function_call) instead of text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestration.defs.conversations.formats.common import (
    ReadContext,
    content_id,
    json_type_name,
    optional_id,
    optional_timestamp,
    parse_timestamp,
    shown_value,
    tool_call_marker,
)
from orchestration.defs.conversations.formats.model import (
    Conversation,
    Message,
    RecordError,
)

ROLE_ALIASES = {
    "human": "user",
    "user": "user",
    "prompter": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "chatbot": "assistant",
    "system": "system",
    "developer": "system",
}
# Tool output is written by a program, not by the user or the model, so it is skipped.
# The assistant's request for it stays in the conversation as a "[tool call: ...]" marker.
SKIPPED_ROLES = frozenset({"tool", "function"})
_IMAGE_PART_TYPES = frozenset({"image_url", "image", "input_image"})
_FILE_PART_TYPES = frozenset({"file", "input_file"})


def is_openai_chat(record: dict[str, Any]) -> bool:
    return "messages" in record


def parse_openai_chat(record: dict[str, Any], context: ReadContext) -> Conversation:
    """Parse a record with a "messages" list.

    A record without an id gets a content id, so the same conversation gets the same id
    wherever it appears in the file.
    """
    messages = _messages(record["messages"], context)
    conversation_id = optional_id(record, "id")
    if conversation_id is None:
        conversation_id = content_id(context.id_prefix, messages)
    return context.conversation(
        conversation_id,
        messages,
        account_id=optional_id(record, "account_id"),
        created_at=_created_at(record),
        updated_at=optional_timestamp(record, "updated_at"),
    )


def _messages(raw_messages: Any, context: ReadContext) -> list[Message]:
    if not isinstance(raw_messages, list):
        found = json_type_name(raw_messages)
        raise RecordError(f"field 'messages' is not an array: got {found}")
    messages = []
    for position, raw_message in enumerate(raw_messages):
        if not isinstance(raw_message, dict):
            found = json_type_name(raw_message)
            raise RecordError(f"message {position} is not an object: got {found}")
        role = _role(raw_message.get("role"), position)
        if role is None:
            continue
        text = _message_text(raw_message, position, context)
        message = context.message(role, text)
        if message is not None:
            messages.append(message)
    return messages


def _role(raw_role: Any, position: int) -> str | None:
    """Return the normalised role, or None for a tool message, which is skipped."""
    if not isinstance(raw_role, str):
        raise RecordError(f"message {position} has no role")
    name = raw_role.strip().lower()
    if name in SKIPPED_ROLES:
        return None
    role = ROLE_ALIASES.get(name)
    if role is None:
        raise RecordError(f"unknown role {shown_value(raw_role)!r}")
    return role


def _message_text(raw_message: dict[str, Any], position: int, context: ReadContext) -> str:
    content = raw_message.get("content")
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = _parts_text(content, context)
    else:
        found = json_type_name(content)
        raise RecordError(f"message {position} content is not a string, array or null: got {found}")
    pieces = [text] if text else []
    pieces.extend(_tool_call_markers(raw_message))
    return "\n".join(pieces)


def _parts_text(parts: list[Any], context: ReadContext) -> str:
    # Images and files are marked where they stand, so a reader knows the user sent one.
    pieces = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
        elif not isinstance(part, dict):
            context.warn_once("content part of JSON type", json_type_name(part))
        elif isinstance(part.get("text"), str):
            pieces.append(part["text"])
        elif part.get("type") in _IMAGE_PART_TYPES:
            pieces.append("[image]")
        elif part.get("type") in _FILE_PART_TYPES:
            pieces.append("[file]")
        else:
            context.warn_once("content part type", part.get("type"))
    return "\n".join(pieces)


def _tool_call_markers(raw_message: dict[str, Any]) -> list[str]:
    functions = []
    tool_calls = raw_message.get("tool_calls")
    if isinstance(tool_calls, list):
        for call in tool_calls:
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                functions.append(call["function"])
    function_call = raw_message.get("function_call")
    if isinstance(function_call, dict):
        functions.append(function_call)
    markers = []
    for function in functions:
        markers.append(tool_call_marker(function.get("name"), function.get("arguments")))
    return markers


def _created_at(record: dict[str, Any]) -> datetime | None:
    """Return created_at, or else metadata.timestamp, as an aware UTC datetime."""
    if record.get("created_at") is not None:
        return parse_timestamp(record["created_at"], "created_at")
    metadata = record.get("metadata")
    if isinstance(metadata, dict) and metadata.get("timestamp") is not None:
        return parse_timestamp(metadata["timestamp"], "metadata.timestamp")
    return None
