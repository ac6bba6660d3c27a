"""Claude.ai exports: conversations.json, an array of conversations with chat_messages."""

from __future__ import annotations

from typing import Any

from orchestration.defs.conversations.formats.common import (
    ReadContext,
    json_type_name,
    optional_id,
    optional_timestamp,
    tool_call_marker,
)
from orchestration.defs.conversations.formats.model import (
    Conversation,
    Message,
    RecordError,
)

_SENDER_ROLES = {"human": "user", "assistant": "assistant"}
# Extended-thinking blocks are the model's working, not its reply, so they are left out
# without the warning that an unknown block type gets.
_SILENT_BLOCK_TYPES = frozenset({"thinking", "redacted_thinking"})


def is_claude(record: dict[str, Any]) -> bool:
    return "chat_messages" in record


def parse_claude(record: dict[str, Any], context: ReadContext) -> Conversation:
    """Parse one Claude.ai conversation. The id is its uuid."""
    conversation_id = optional_id(record, "uuid")
    created_at = optional_timestamp(record, "created_at")
    updated_at = optional_timestamp(record, "updated_at")
    account_id = _account_id(record)
    messages = []
    for position, raw_message in enumerate(_chat_messages(record)):
        message = _message(raw_message, position, context)
        if message is not None:
            messages.append(message)
    return context.conversation(conversation_id, messages, account_id, created_at, updated_at)


def _chat_messages(record: dict[str, Any]) -> list[Any]:
    raw_messages = record["chat_messages"]
    if not isinstance(raw_messages, list):
        found = json_type_name(raw_messages)
        raise RecordError(f"field 'chat_messages' is not an array: got {found}")
    return raw_messages


def _account_id(record: dict[str, Any]) -> str | None:
    account = record.get("account")
    if account is None:
        return None
    if not isinstance(account, dict):
        found = json_type_name(account)
        raise RecordError(f"field 'account' is not an object: got {found}")
    return optional_id(account, "uuid")


def _message(raw_message: Any, position: int, context: ReadContext) -> Message | None:
    if not isinstance(raw_message, dict):
        found = json_type_name(raw_message)
        raise RecordError(f"chat message {position} is not an object: got {found}")
    sender = raw_message.get("sender")
    role = _SENDER_ROLES.get(sender) if isinstance(sender, str) else None
    if role is None:
        context.warn_once("chat message sender", sender)
        return None

    text = raw_message.get("text")
    if not isinstance(text, str) or not text.strip():
        text = _blocks_text(raw_message.get("content"), position, context)
    pieces = [text] if text.strip() else []
    pieces.extend(_attachment_texts(raw_message.get("attachments"), position))
    pieces.extend(_file_markers(raw_message.get("files"), position))
    return context.message(role, "\n\n".join(pieces))


def _blocks_text(blocks: Any, position: int, context: ReadContext) -> str:
    if blocks is None:
        return ""
    if not isinstance(blocks, list):
        found = json_type_name(blocks)
        raise RecordError(f"chat message {position} content is not an array: got {found}")
    texts = []
    for block in blocks:
        if not isinstance(block, dict):
            context.warn_once("content block of JSON type", json_type_name(block))
            continue
        block_type = block.get("type")
        if block_type == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif block_type == "tool_use":
            texts.append(tool_call_marker(block.get("name")))
        elif block_type == "tool_result":
            texts.append(_tool_result_text(block.get("content")))
        elif block_type == "image":
            texts.append("[image]")
        elif block_type not in _SILENT_BLOCK_TYPES:
            context.warn_once("content block type", block_type)
    return "\n".join(text for text in texts if text.strip())


def _tool_result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = [
        item["text"]
        for item in content
        if isinstance(item, dict) and isinstance(item.get("text"), str)
    ]
    return "\n".join(texts)


def _attachment_texts(attachments: Any, position: int) -> list[str]:
    """Return each attachment's extracted text, or "[file]" when it has none."""
    texts = []
    for attachment in _object_list(attachments, "attachments", position):
        extracted = attachment.get("extracted_content")
        if isinstance(extracted, str) and extracted.strip():
            texts.append(extracted)
        else:
            texts.append("[file]")
    return texts


def _file_markers(files: Any, position: int) -> list[str]:
    markers = []
    for file in _object_list(files, "files", position):
        file_type = file.get("file_type")
        is_image = file.get("file_kind") == "image" or (
            isinstance(file_type, str) and file_type.startswith("image/")
        )
        markers.append("[image]" if is_image else "[file]")
    return markers


def _object_list(value: Any, field_name: str, position: int) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        message = f"chat message {position} {field_name} is not an array of objects"
        raise RecordError(message)
    return value
