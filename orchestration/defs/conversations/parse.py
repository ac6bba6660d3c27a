"""Stream scrubbed conversations out of chat exports, one record at a time.

read_conversations reads hh-rlhf transcripts, plain and OpenAI-style chat JSONL,
ShareGPT, Claude.ai and ChatGPT exports and OpenAssistant trees. The modules under
formats/ open the files and parse each format.
"""

from __future__ import annotations

import itertools
import logging
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.defs.conversations.formats import (
    chatgpt,
    claude,
    hh_rlhf,
    oasst,
    openai_chat,
    sharegpt,
)
from orchestration.defs.conversations.formats.common import (
    EXCERPT_MAX_CHARS,
    ReadContext,
    json_type_name,
)
from orchestration.defs.conversations.formats.files import RawRecord, read_records
from orchestration.defs.conversations.formats.model import (
    Conversation,
    Message,
    RecordError,
    Rejected,
)
from orchestration.defs.conversations.formats.openai_chat import ROLE_ALIASES

__all__ = [
    "EXCERPT_MAX_CHARS",
    "ROLE_ALIASES",
    "Conversation",
    "Message",
    "Rejected",
    "read_conversations",
]

logger = logging.getLogger(__name__)

PROGRESS_EVERY_RECORDS = 10_000

_RecordTest = Callable[[dict[str, Any]], bool]
_RecordParser = Callable[[dict[str, Any], ReadContext], Conversation]
# The first format whose test accepts a record's keys parses it.
_FORMATS: tuple[tuple[_RecordTest, _RecordParser], ...] = (
    (hh_rlhf.is_hh_rlhf, hh_rlhf.parse_hh_rlhf),
    (chatgpt.is_chatgpt, chatgpt.parse_chatgpt),
    (claude.is_claude, claude.parse_claude),
    (oasst.is_oasst_tree, oasst.parse_oasst_tree),
    (sharegpt.is_sharegpt, sharegpt.parse_sharegpt),
    (openai_chat.is_openai_chat, openai_chat.parse_openai_chat),
)


def read_conversations(
    path: Path, source: str, id_prefix: str, *, keep_originals: bool = False
) -> Iterator[Conversation | Rejected]:
    """Yield a Conversation or Rejected per record of a file, in file order.

    The file may be gzipped, a zip export with a conversations.json member, a JSON array
    (streamed, so memory does not grow with the file), one JSON object, or JSON Lines.
    Each record's format is detected from its keys. Every message is passed through
    scrub_text, and with keep_originals each Message also carries the text before
    scrubbing. A bad record yields a Rejected and reading continues, except after a
    syntax error in a JSON array, which ends the file's records.

    Records without an id get "<id_prefix>:sha1-<16 hex digits>" of their content. hh-rlhf
    records, and plain "messages" records without an id, get "<id_prefix>:<0-based line>".
    A file that cannot be read or decompressed raises OSError, EOFError, zlib.error or
    zipfile.BadZipFile, with the path and the last record number added as a note.
    """
    context = ReadContext(source, id_prefix, str(path), keep_originals)
    progress = _Progress(str(path))
    try:
        for item in _read_items(progress.counted(read_records(path)), context):
            progress.add(item)
            yield item
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as error:
        error.add_note(f"while reading {path} after record {progress.records}")
        raise


def _read_items(
    records: Iterator[RawRecord], context: ReadContext
) -> Iterator[Conversation | Rejected]:
    # The first object decides whether the file is a flat OpenAssistant message list,
    # whose messages are linked into trees, or a file of independent records.
    for record in records:
        if isinstance(record.value, dict) and oasst.is_oasst_message(record.value):
            messages = itertools.chain([record], records)
            yield from oasst.read_oasst_messages(messages, context)
            return
        yield _parse_record(record, context)
        if isinstance(record.value, dict):
            break
    for record in records:
        yield _parse_record(record, context)


def _parse_record(record: RawRecord, context: ReadContext) -> Conversation | Rejected:
    context.record_index = record.index
    try:
        if record.error is not None:
            raise RecordError(record.error)
        return _parse_value(record.value, context)
    except RecordError as error:
        return Rejected(context.source_file, record.index, str(error), record.excerpt())


def _parse_value(value: Any, context: ReadContext) -> Conversation:
    if not isinstance(value, dict):
        raise RecordError(f"JSON value is not an object: got {json_type_name(value)}")
    for accepts, parse in _FORMATS:
        if accepts(value):
            return parse(value, context)
    if oasst.is_oasst_message(value):
        raise RecordError("OpenAssistant message in a file that does not start with one")
    if "chosen" in value:
        found = json_type_name(value["chosen"])
        raise RecordError(f"field 'chosen' is not a string: got {found}")
    for key in ("conversations", "items", "messages", "mapping", "chat_messages"):
        if key in value:
            found = json_type_name(value[key])
            raise RecordError(f"field {key!r} has an unexpected type: got {found}")
    keys = ", ".join(sorted(str(key) for key in value))
    if len(keys) > 120:
        keys = keys[:117] + "..."
    raise RecordError(f"unknown record shape: keys {keys or '(none)'}")


@dataclass
class _Progress:
    source_file: str
    records: int = 0
    conversations: int = 0
    rejected: int = 0

    def counted(self, records: Iterable[RawRecord]) -> Iterator[RawRecord]:
        for record in records:
            self.records += 1
            if self.records % PROGRESS_EVERY_RECORDS == 0:
                logger.info(
                    "%s: %d records read, %d conversations and %d rejected so far",
                    self.source_file,
                    self.records,
                    self.conversations,
                    self.rejected,
                )
            yield record

    def add(self, item: Conversation | Rejected) -> None:
        if isinstance(item, Conversation):
            self.conversations += 1
        else:
            self.rejected += 1
