"""Stream scrubbed conversations out of hh-rlhf and plain JSONL files, line by line."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from orchestration.defs.conversations.scrub import scrub_text

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
}
EXCERPT_MAX_CHARS = 200
# The excerpt is cut after scrubbing, so that an email or URL that straddles the cut is
# still recognised. Scrubbing only this prefix bounds the work for a huge bad line.
_EXCERPT_SCRUB_CHARS = 4000
_SHOWN_VALUE_MAX_CHARS = 40

_GZIP_MAGIC = b"\x1f\x8b"
# hh-rlhf transcripts separate turns with a blank line before "Human:" or "Assistant:".
# A transcript that starts with a marker and no blank line is accepted as well.
_HH_TURN_MARKER = re.compile(r"(?:^|\n\n)(Human|Assistant):")
_HH_ROLES = {"Human": "user", "Assistant": "assistant"}
_JSON_TYPE_NAMES = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


@dataclass(frozen=True)
class Message:
    """One turn of a conversation, with scrubbed content."""

    role: str  # "user", "assistant" or "system"
    content: str


@dataclass(frozen=True)
class Conversation:
    """One parsed conversation, ready to load."""

    source: str
    conversation_id: str
    messages: tuple[Message, ...]
    account_id: str | None
    created_at: datetime | None  # timezone-aware UTC


@dataclass(frozen=True)
class Rejected:
    """A record that could not become a conversation, and the reason."""

    source_file: str
    record_index: int  # 1-based line number in the file
    reason: str
    excerpt: str  # at most EXCERPT_MAX_CHARS characters of the line, scrubbed


class _RecordError(ValueError):
    """Raised with the reason why a record cannot become a conversation."""


def read_conversations(
    path: Path, source: str, id_prefix: str
) -> Iterator[Conversation | Rejected]:
    """Yield a Conversation or Rejected per non-blank line of a JSONL file, gzipped or not.

    Each record's format is detected from its keys: a "chosen" string is an hh-rlhf
    transcript, a "messages" list is plain JSONL. hh-rlhf records, and plain records
    without an id, get the id "<id_prefix>:<0-based line index>". Every message is passed
    through scrub_text. A bad record yields a Rejected and reading continues. A file that
    cannot be read or decompressed raises OSError, EOFError or zlib.error, with the path
    and the last line number added as a note.
    """
    source_file = str(path)
    line_number = 0
    with _open_text(path) as lines:
        try:
            for line_number, raw_line in enumerate(lines, start=1):
                line = raw_line.replace("\x00", "")
                if not line.strip():
                    continue
                try:
                    item: Conversation | Rejected = _parse_record(
                        line, source, id_prefix, line_number - 1
                    )
                except _RecordError as error:
                    item = Rejected(source_file, line_number, str(error), _excerpt(line))
                yield item
        except (OSError, EOFError, zlib.error) as error:
            error.add_note(f"while reading {path} after line {line_number}")
            raise


def _open_text(path: Path) -> IO[str]:
    # The magic number, not the file name, decides whether the file is gzipped.
    with open(path, "rb") as probe:
        is_gzip = probe.read(2) == _GZIP_MAGIC
    # utf-8-sig drops a byte order mark at the start. newline="\n" splits lines only on
    # "\n", so a stray "\r" inside a record cannot split it.
    if is_gzip:
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace", newline="\n")
    return open(path, encoding="utf-8-sig", errors="replace", newline="\n")


def _excerpt(line: str) -> str:
    return scrub_text(line.strip()[:_EXCERPT_SCRUB_CHARS])[:EXCERPT_MAX_CHARS]


def _json_type_name(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _parse_record(line: str, source: str, id_prefix: str, line_index: int) -> Conversation:
    try:
        # strict=False accepts raw tabs and newlines inside strings, as some exports have.
        # Without the line break, the column of an error is on the record's own line.
        record = json.loads(line.rstrip("\r\n"), strict=False)
    except json.JSONDecodeError as error:
        raise _RecordError(f"invalid JSON: {error.msg} at column {error.colno}") from None
    except RecursionError:
        raise _RecordError("invalid JSON: nested too deeply to parse") from None
    if not isinstance(record, dict):
        raise _RecordError(f"JSON value is not an object: got {_json_type_name(record)}")

    default_id = f"{id_prefix}:{line_index}"
    if isinstance(record.get("chosen"), str):
        messages = _hh_messages(record["chosen"])
        conversation = Conversation(source, default_id, messages, None, None)
    elif "messages" in record:
        conversation = Conversation(
            source=source,
            conversation_id=_conversation_id(record, default_id),
            messages=_plain_messages(record["messages"]),
            account_id=_account_id(record),
            created_at=_created_at(record),
        )
    elif "chosen" in record:
        found = _json_type_name(record["chosen"])
        raise _RecordError(f"field 'chosen' is not a string: got {found}")
    else:
        raise _RecordError("unknown record shape: no 'chosen' or 'messages' field")

    if not any(message.role == "user" for message in conversation.messages):
        raise _RecordError("no user message")
    return conversation


def _clean_content(text: str) -> str | None:
    """Strip NUL characters and scrub, or return None for a blank message."""
    text = text.replace("\x00", "")
    if not text.strip():
        return None
    return scrub_text(text)


def _hh_messages(transcript: str) -> tuple[Message, ...]:
    # With one group, re.split returns [preface, role, text, role, text, ...].
    pieces = _HH_TURN_MARKER.split(transcript)
    messages = []
    for marker, text in zip(pieces[1::2], pieces[2::2], strict=True):
        content = _clean_content(text.strip())
        if content is not None:
            messages.append(Message(_HH_ROLES[marker], content))
    return tuple(messages)


def _plain_messages(raw_messages: Any) -> tuple[Message, ...]:
    if not isinstance(raw_messages, list):
        found = _json_type_name(raw_messages)
        raise _RecordError(f"field 'messages' is not an array: got {found}")
    messages = []
    for position, raw_message in enumerate(raw_messages):
        if not isinstance(raw_message, dict):
            found = _json_type_name(raw_message)
            raise _RecordError(f"message {position} is not an object: got {found}")
        role = _normalise_role(raw_message.get("role"), position)
        text = _content_text(raw_message.get("content"), position)
        if text is None:
            continue
        content = _clean_content(text)
        if content is not None:
            messages.append(Message(role, content))
    return tuple(messages)


def _normalise_role(raw_role: Any, position: int) -> str:
    if not isinstance(raw_role, str):
        raise _RecordError(f"message {position} has no role")
    role = ROLE_ALIASES.get(raw_role.strip().lower())
    if role is None:
        role_text = scrub_text(raw_role[:_SHOWN_VALUE_MAX_CHARS])
        raise _RecordError(f"unknown role {role_text!r}")
    return role


def _content_text(content: Any, position: int) -> str | None:
    """Return a message's text, or None when the content is null."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
        # Parts without text, such as images, are dropped.
        return "\n".join(texts)
    found = _json_type_name(content)
    raise _RecordError(f"message {position} content is not a string, array or null: got {found}")


def _conversation_id(record: dict[str, Any], default_id: str) -> str:
    raw_id = record.get("id")
    if raw_id is None or raw_id == "":
        return default_id
    if isinstance(raw_id, str):
        return raw_id
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        return str(raw_id)
    raise _RecordError(f"field 'id' is not a string or integer: got {_json_type_name(raw_id)}")


def _account_id(record: dict[str, Any]) -> str | None:
    # NOTE: account_id is stored as given, not scrubbed, so an email used as an id stays.
    raw_id = record.get("account_id")
    if raw_id is None or isinstance(raw_id, str):
        return raw_id
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        return str(raw_id)
    found = _json_type_name(raw_id)
    raise _RecordError(f"field 'account_id' is not a string or integer: got {found}")


def _created_at(record: dict[str, Any]) -> datetime | None:
    """Return created_at, or else metadata.timestamp, as an aware UTC datetime."""
    if record.get("created_at") is not None:
        return _parse_timestamp(record["created_at"], "created_at")
    metadata = record.get("metadata")
    if isinstance(metadata, dict) and metadata.get("timestamp") is not None:
        return _parse_timestamp(metadata["timestamp"], "metadata.timestamp")
    return None


def _parse_timestamp(value: Any, field: str) -> datetime:
    """Parse an ISO 8601 string or epoch seconds into UTC. A naive time is taken as UTC."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.strip())
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        pass
    value_text = scrub_text(str(value)[:_SHOWN_VALUE_MAX_CHARS])
    raise _RecordError(
        f"invalid {field} {value_text!r}: expected an ISO 8601 string or epoch seconds"
    )
