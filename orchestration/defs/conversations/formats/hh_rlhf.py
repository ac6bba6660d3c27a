"""Anthropic hh-rlhf records: a "chosen" transcript of Human and Assistant turns."""

from __future__ import annotations

import re
from typing import Any

from orchestration.defs.conversations.formats.common import ReadContext
from orchestration.defs.conversations.formats.model import Conversation, Message

# hh-rlhf transcripts separate turns with a blank line before "Human:" or "Assistant:".
# A transcript that starts with a marker and no blank line is accepted as well.
_TURN_MARKER = re.compile(r"(?:^|\n\n)(Human|Assistant):")
_ROLES = {"Human": "user", "Assistant": "assistant"}


def is_hh_rlhf(record: dict[str, Any]) -> bool:
    return isinstance(record.get("chosen"), str)


def parse_hh_rlhf(record: dict[str, Any], context: ReadContext) -> Conversation:
    """Parse the chosen transcript. The id is "<id_prefix>:<0-based record index>".

    Evaluation files refer to hh-rlhf conversations by line, so the id stays positional.
    """
    conversation_id = f"{context.id_prefix}:{context.record_index - 1}"
    messages = _transcript_messages(record["chosen"], context)
    return context.conversation(conversation_id, messages)


def _transcript_messages(transcript: str, context: ReadContext) -> list[Message]:
    # With one group, re.split returns [preface, role, text, role, text, ...].
    pieces = _TURN_MARKER.split(transcript)
    messages = []
    for marker, text in zip(pieces[1::2], pieces[2::2], strict=True):
        message = context.message(_ROLES[marker], text.strip())
        if message is not None:
            messages.append(message)
    return messages
