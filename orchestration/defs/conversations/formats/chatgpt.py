"""ChatGPT exports: conversations.json, an array of conversations stored as message trees.

Each conversation's "mapping" links nodes by parent and children. Editing a message or
regenerating a reply starts a new branch, and "current_node" is the leaf of the branch
shown last, which is the one read here.
"""

from __future__ import annotations

import math
from typing import Any

from orchestration.defs.conversations.formats.common import (
    ReadContext,
    json_type_name,
    optional_id,
    optional_timestamp,
    shown_value,
)
from orchestration.defs.conversations.formats.model import (
    Conversation,
    Message,
    RecordError,
)

# Tool output (code results, browsing pages) is written by a program, not by the user or
# the model, so it is skipped. The model's request, such as code it runs, stays.
_AUTHOR_ROLES = {"user": "user", "assistant": "assistant", "system": "system"}
_SKIPPED_AUTHOR_ROLES = frozenset({"tool"})
# Reasoning summaries are the model's working, not its reply, so they are left out
# without the warning that an unknown content type gets.
_SILENT_CONTENT_TYPES = frozenset({"thoughts", "reasoning_recap"})


def is_chatgpt(record: dict[str, Any]) -> bool:
    return "mapping" in record


def parse_chatgpt(record: dict[str, Any], context: ReadContext) -> Conversation:
    """Parse the active branch of one ChatGPT conversation. The id is its id field."""
    conversation_id = optional_id(record, "conversation_id") or optional_id(record, "id")
    created_at = optional_timestamp(record, "create_time")
    updated_at = optional_timestamp(record, "update_time")
    mapping = record["mapping"]
    if not isinstance(mapping, dict):
        found = json_type_name(mapping)
        raise RecordError(f"field 'mapping' is not an object: got {found}")
    messages = []
    for node_id in active_branch(mapping, record.get("current_node")):
        message = _node_message(mapping[node_id], node_id, context)
        if message is not None:
            messages.append(message)
    return context.conversation(
        conversation_id, messages, created_at=created_at, updated_at=updated_at
    )


def active_branch(mapping: dict[str, Any], current_node: Any) -> list[str]:
    """Return the node ids from the root to the current node.

    When current_node is missing or not in the mapping, the branch ends at the newest
    leaf, the childless node whose message has the latest create_time.
    """
    if not mapping:
        return []
    if isinstance(current_node, str) and current_node in mapping:
        node_id = current_node
    else:
        node_id = _newest_leaf(mapping)
    branch: list[str] = []
    seen: set[str] = set()
    while node_id is not None:
        if node_id in seen:
            raise RecordError(f"mapping has a cycle through node {shown_value(node_id)!r}")
        seen.add(node_id)
        branch.append(node_id)
        node = _node(mapping, node_id)
        parent = node.get("parent")
        if parent is not None and parent not in mapping:
            raise RecordError(
                f"node {shown_value(node_id)!r} has parent {shown_value(parent)!r},"
                " which is not in the mapping"
            )
        node_id = parent
    branch.reverse()
    return branch


def _node(mapping: dict[str, Any], node_id: str) -> dict[str, Any]:
    node = mapping[node_id]
    if not isinstance(node, dict):
        found = json_type_name(node)
        raise RecordError(f"node {shown_value(node_id)!r} is not an object: got {found}")
    return node


def _newest_leaf(mapping: dict[str, Any]) -> str:
    newest_id = None
    newest_time = -math.inf
    for node_id in mapping:
        node = _node(mapping, node_id)
        if node.get("children"):
            continue
        create_time = _create_time(node)
        if newest_id is None or create_time > newest_time:
            newest_id = node_id
            newest_time = create_time
    if newest_id is None:
        raise RecordError("mapping has no leaf node, so its parent links form a cycle")
    return newest_id


def _create_time(node: dict[str, Any]) -> float:
    message = node.get("message")
    if isinstance(message, dict):
        create_time = message.get("create_time")
        if isinstance(create_time, int | float) and not isinstance(create_time, bool):
            return float(create_time)
    return -math.inf


def _node_message(node: dict[str, Any], node_id: str, context: ReadContext) -> Message | None:
    message = node.get("message")
    if message is None:
        return None
    if not isinstance(message, dict):
        found = json_type_name(message)
        shown = shown_value(node_id)
        raise RecordError(f"node {shown!r} message is not an object: got {found}")
    metadata = message.get("metadata")
    if isinstance(metadata, dict) and metadata.get("is_visually_hidden_from_conversation"):
        return None
    author = message.get("author")
    raw_role = author.get("role") if isinstance(author, dict) else None
    if not isinstance(raw_role, str):
        raise RecordError(f"node {shown_value(node_id)!r} message has no author role")
    if raw_role in _SKIPPED_AUTHOR_ROLES:
        return None
    role = _AUTHOR_ROLES.get(raw_role)
    if role is None:
        context.warn_once("message author role", raw_role)
        return None
    return context.message(role, _content_text(message.get("content"), node_id, context))


def _content_text(content: Any, node_id: str, context: ReadContext) -> str:
    if content is None:
        return ""
    if not isinstance(content, dict):
        found = json_type_name(content)
        shown = shown_value(node_id)
        raise RecordError(f"node {shown!r} content is not an object: got {found}")
    parts = content.get("parts")
    if isinstance(parts, list):
        return "\n".join(_part_texts(parts, node_id, context))
    if isinstance(content.get("text"), str):
        return content["text"]
    content_type = content.get("content_type")
    if content_type not in _SILENT_CONTENT_TYPES:
        context.warn_once("message content type", content_type)
    return ""


def _part_texts(parts: list[Any], node_id: str, context: ReadContext) -> list[str]:
    texts = []
    for part in parts:
        if part is None:
            continue
        if isinstance(part, str):
            if part:
                texts.append(part)
        elif not isinstance(part, dict):
            found = json_type_name(part)
            raise RecordError(
                f"node {shown_value(node_id)!r} has a content part that is not a string,"
                f" object or null: got {found}"
            )
        elif isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif part.get("content_type") == "image_asset_pointer":
            texts.append("[image]")
        else:
            context.warn_once("content part type", part.get("content_type"))
    return texts
