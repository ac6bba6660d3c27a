"""OpenAssistant message trees, nested one tree per record or as a flat list of messages.

Each tree becomes one conversation: from the prompt, every level takes the best reply
(rank 0, or the first reply when the replies are unranked) down to a leaf.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from orchestration.defs.conversations.formats.common import (
    ReadContext,
    json_type_name,
    key_list,
    optional_id,
    optional_timestamp,
    shown_value,
)
from orchestration.defs.conversations.formats.files import RawRecord
from orchestration.defs.conversations.formats.model import (
    Conversation,
    Message,
    RecordError,
    Rejected,
)

_ROLES = {"prompter": "user", "assistant": "assistant"}
_FLAT_ID_KEYS = ("message_id", "user_message_id")
_FLAT_PARENT_KEYS = ("parent_id", "parent_message_id")
# Assistant texts converted from hh-rlhf transcripts often start with the speaker label.
_ASSISTANT_LABEL = "Assistant: "

ChildrenOf = Callable[[dict[str, Any]], list[dict[str, Any]]]
TextOf = Callable[[dict[str, Any], str], str]


def is_oasst_tree(record: dict[str, Any]) -> bool:
    prompt = record.get("prompt")
    return isinstance(prompt, dict) and ("message_tree_id" in record or "replies" in prompt)


def is_oasst_message(record: dict[str, Any]) -> bool:
    """Return whether the record is one message of a flat OpenAssistant message list."""
    has_id = any(key in record for key in _FLAT_ID_KEYS)
    has_parent = any(key in record for key in _FLAT_PARENT_KEYS)
    return has_id and has_parent and "text" in record and "role" in record


def parse_oasst_tree(record: dict[str, Any], context: ReadContext) -> Conversation:
    """Parse one nested tree. The id is message_tree_id, or else the prompt's message_id."""
    root = record["prompt"]
    tree_id = optional_id(record, "message_tree_id")
    conversation_id = tree_id or optional_id(root, "message_id")
    messages = _best_thread(root, _replies, _tree_text, context)
    created_at = optional_timestamp(root, "created_date")
    return context.conversation(conversation_id, messages, created_at=created_at)


def read_oasst_messages(
    records: Iterable[RawRecord], context: ReadContext
) -> Iterator[Conversation | Rejected]:
    """Link a flat list of messages into trees and yield one conversation per root.

    Results come in file order of the root message, or of the rejected record. A message
    whose parent is missing, or that is in a cycle of parent links, is rejected once, and
    the messages below it are dropped with it.
    """
    # NOTE: linking children to parents needs every message of the file, so this format
    # is held in memory whole, unlike the others, which are read one record at a time.
    results: list[tuple[int, Conversation | Rejected]] = []
    messages_by_id: dict[str, RawRecord] = {}
    parent_ids: dict[str, str | None] = {}
    children: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        try:
            message_id, parent_id = _flat_links(record)
            if message_id in messages_by_id:
                raise RecordError(f"duplicate message id {shown_value(message_id)!r}")
        except RecordError as error:
            results.append((record.index, _rejected(context, record, str(error))))
            continue
        messages_by_id[message_id] = record
        parent_ids[message_id] = parent_id
        if parent_id is not None:
            children[parent_id].append(record.value)

    def children_of(message: dict[str, Any]) -> list[dict[str, Any]]:
        return children.get(_flat_id(message) or "", [])

    for message_id, record in messages_by_id.items():
        if parent_ids[message_id] is not None:
            continue
        context.record_index = record.index
        try:
            messages = _best_thread(record.value, children_of, _flat_text, context)
            item: Conversation | Rejected = context.conversation(message_id, messages)
        except RecordError as error:
            item = _rejected(context, record, str(error))
        results.append((record.index, item))

    for message_id, reason in _unlinked_messages(parent_ids).items():
        record = messages_by_id[message_id]
        results.append((record.index, _rejected(context, record, reason)))

    results.sort(key=lambda result: result[0])
    for _, item in results:
        yield item


def _rejected(context: ReadContext, record: RawRecord, reason: str) -> Rejected:
    return Rejected(context.source_file, record.index, reason, record.excerpt())


def _flat_id(message: dict[str, Any]) -> str | None:
    for key in _FLAT_ID_KEYS:
        if key in message:
            return optional_id(message, key)
    return None


def _flat_links(record: RawRecord) -> tuple[str, str | None]:
    """Return a flat message's id and its parent's id, which is None for a prompt."""
    if record.error is not None:
        raise RecordError(record.error)
    message = record.value
    if not isinstance(message, dict):
        raise RecordError(f"JSON value is not an object: got {json_type_name(message)}")
    if not is_oasst_message(message):
        raise RecordError(f"not an OpenAssistant message: {key_list(message)}")
    message_id = _flat_id(message)
    if message_id is None:
        raise RecordError("message has no id")
    parent_key = next(key for key in _FLAT_PARENT_KEYS if key in message)
    return message_id, optional_id(message, parent_key)


def _unlinked_messages(parent_ids: dict[str, str | None]) -> dict[str, str]:
    """Return the reason for each message that starts a thread no prompt reaches.

    That message either has a parent that is not in the file, or is the first-listed
    message of a cycle of parent links. Messages below it get no reason of their own.
    """
    positions = {message_id: position for position, message_id in enumerate(parent_ids)}
    reached: set[str] = set()
    reasons: dict[str, str] = {}
    for start in parent_ids:
        chain: list[str] = []
        in_chain: set[str] = set()
        message_id: str | None = start
        while message_id is not None and message_id not in reached:
            if message_id in in_chain:
                cycle = chain[chain.index(message_id) :]
                reasons[min(cycle, key=positions.__getitem__)] = "parent links form a cycle"
                break
            chain.append(message_id)
            in_chain.add(message_id)
            parent_id = parent_ids[message_id]
            if parent_id is not None and parent_id not in parent_ids:
                reasons[message_id] = f"parent message {shown_value(parent_id)!r} not found"
                break
            message_id = parent_id
        reached.update(chain)
    return reasons


def _best_thread(
    root: dict[str, Any], children_of: ChildrenOf, text_of: TextOf, context: ReadContext
) -> list[Message]:
    if root.get("synthetic") is True:
        raise RecordError("synthetic prompt")
    if root.get("deleted") is True:
        raise RecordError("deleted prompt")
    thread: list[tuple[str, dict[str, Any]]] = []
    node: dict[str, Any] | None = root
    while node is not None:
        thread.append((_role(node), node))
        node = _best_reply(children_of(node))
    # A prompt without a reply shows no use of the model, so it is dropped.
    while thread and thread[-1][0] == "user":
        thread.pop()
    if not thread:
        raise RecordError("prompt has no reply")
    messages = []
    for role, node in thread:
        message = context.message(role, text_of(node, role))
        if message is not None:
            messages.append(message)
    return messages


def _best_reply(replies: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Return the reply ranked 0 (the best), or the first reply when none is ranked."""
    candidates = [reply for reply in replies if reply.get("deleted") is not True]
    ranked = [reply for reply in candidates if _rank(reply) is not None]
    if ranked:
        return min(ranked, key=_rank)
    return candidates[0] if candidates else None


def _rank(message: dict[str, Any]) -> int | None:
    rank = message.get("rank")
    if isinstance(rank, int) and not isinstance(rank, bool):
        return rank
    return None


def _role(message: dict[str, Any]) -> str:
    raw_role = message.get("role")
    role = _ROLES.get(raw_role) if isinstance(raw_role, str) else None
    if role is None:
        raise RecordError(f"unknown role {shown_value(raw_role)!r}")
    return role


def _replies(message: dict[str, Any]) -> list[dict[str, Any]]:
    replies = message.get("replies")
    if replies is None:
        return []
    if not isinstance(replies, list):
        found = json_type_name(replies)
        raise RecordError(f"field 'replies' is not an array: got {found}")
    if not all(isinstance(reply, dict) for reply in replies):
        raise RecordError("field 'replies' is not an array of objects")
    return replies


def _message_text(message: dict[str, Any]) -> str:
    text = message.get("text")
    if not isinstance(text, str):
        raise RecordError(f"message text is not a string: got {json_type_name(text)}")
    return text


def _tree_text(message: dict[str, Any], role: str) -> str:
    return _message_text(message)


def _flat_text(message: dict[str, Any], role: str) -> str:
    # Texts converted from hh-rlhf transcripts keep the space after the speaker label.
    text = _message_text(message).strip()
    if role == "assistant":
        text = text.removeprefix(_ASSISTANT_LABEL).strip()
    return text
