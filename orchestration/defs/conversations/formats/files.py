"""Open an export file and stream its records: JSON Lines, a JSON array or one object."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import ijson

from orchestration.defs.conversations.formats.common import (
    excerpt_of_text,
    excerpt_of_value,
)
from orchestration.defs.conversations.scrub import scrub_text

# The name of the member holding the conversations in Claude.ai and ChatGPT zip exports.
EXPORT_MEMBER_NAME = "conversations.json"

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_UTF8_BOM = b"\xef\xbb\xbf"
_JSON_WHITESPACE = b" \t\r\n"
_SNIFF_CHUNK_BYTES = 4096
_ERROR_DETAIL_MAX_CHARS = 120

BinaryOpener = Callable[[], AbstractContextManager[IO[bytes]]]


@dataclass(frozen=True)
class RawRecord:
    """One record of a file: its parsed JSON value, or the reason it could not be parsed."""

    index: int  # 1-based line for JSON Lines, 1-based position for a JSON array
    value: Any = None
    line: str | None = None  # the cleaned line, for JSON Lines only
    error: str | None = None

    def excerpt(self) -> str:
        """Return a short scrubbed excerpt of the record for a Rejected row."""
        if self.line is not None:
            return excerpt_of_text(self.line)
        if self.error is not None:
            return ""
        return excerpt_of_value(self.value)


def read_records(path: Path) -> Iterator[RawRecord]:
    """Yield the records of a file, gzipped, zipped or plain, in file order.

    The layout is sniffed from the content. A zip archive is read through its
    conversations.json member. A first "[" starts a JSON array, streamed item by item.
    A first "{" starts JSON Lines, unless the first line is an object that continues on
    the next lines: then the file is one JSON object and one record. Anything else is read
    as JSON Lines, so that each bad line becomes its own record.
    """
    open_binary = _binary_opener(path)
    with open_binary() as probe:
        first = _first_json_byte(probe)
    if first is None:
        return
    if first == b"[":
        yield from _json_document(open_binary, "item")
    elif first == b"{" and not _first_line_is_record(open_binary):
        yield from _json_document(open_binary, "")
    else:
        yield from _json_lines(open_binary)


def _binary_opener(path: Path) -> BinaryOpener:
    # The magic number, not the file name, decides how the file is compressed.
    with open(path, "rb") as probe:
        magic = probe.read(4)
    if magic.startswith(_GZIP_MAGIC):
        return lambda: gzip.open(path, "rb")
    if magic == _ZIP_MAGIC:
        member = _export_member(path)
        return lambda: _open_zip_member(path, member)
    return lambda: open(path, "rb")


def _export_member(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        members = archive.namelist()
    names = [name for name in members if PurePosixPath(name).name == EXPORT_MEMBER_NAME]
    if not names:
        raise FileNotFoundError(
            f"{path} is a zip archive without a {EXPORT_MEMBER_NAME} member. "
            f"Pass an export archive that contains it, or the {EXPORT_MEMBER_NAME} itself."
        )
    # An export has the file at the top level, so a copy in a subfolder is a fallback.
    return min(names, key=lambda name: (name.count("/"), name))


@contextmanager
def _open_zip_member(path: Path, member: str) -> Iterator[IO[bytes]]:
    with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
        yield stream


def _first_json_byte(stream: IO[bytes]) -> bytes | None:
    """Return the first byte that is not whitespace or a byte order mark, or None."""
    at_start = True
    while chunk := stream.read(_SNIFF_CHUNK_BYTES):
        if at_start:
            chunk = chunk.removeprefix(_UTF8_BOM)
            at_start = False
        content = chunk.lstrip(_JSON_WHITESPACE + b"\x00")
        if content:
            return content[:1]
    return None


def _text_lines(binary: IO[bytes]) -> io.TextIOWrapper:
    # utf-8-sig drops a byte order mark at the start. newline="\n" splits lines only on
    # "\n", so a stray "\r" inside a record cannot split it.
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="\n")


def _first_line_is_record(open_binary: BinaryOpener) -> bool:
    """Return whether the first non-blank line is a JSON value by itself."""
    # NOTE: a file that is one object on a single line is read whole here and again by
    # the parser. Such a file is one record, which is held in memory either way.
    with open_binary() as binary, _text_lines(binary) as lines:
        for raw_line in lines:
            line = raw_line.replace("\x00", "").strip()
            if line:
                break
        else:
            return True
    try:
        json.loads(line, strict=False)
    except json.JSONDecodeError as error:
        # An object cut off at the end of the line is a pretty-printed document. An
        # error before the end is a bad JSON Lines record.
        return error.pos < len(line)
    except RecursionError:
        return True
    return True


def _json_lines(open_binary: BinaryOpener) -> Iterator[RawRecord]:
    with open_binary() as binary, _text_lines(binary) as lines:
        for line_number, raw_line in enumerate(lines, start=1):
            line = raw_line.replace("\x00", "")
            if line.strip():
                yield _decode_line(line, line_number)


def _decode_line(line: str, line_number: int) -> RawRecord:
    try:
        # strict=False accepts raw tabs and newlines inside strings, as some exports have.
        # Without the line break, the column of an error is on the record's own line.
        value = json.loads(line.rstrip("\r\n"), strict=False)
    except json.JSONDecodeError as error:
        reason = f"invalid JSON: {error.msg} (column {error.colno})"
        return RawRecord(line_number, line=line, error=reason)
    except RecursionError:
        reason = "invalid JSON: nested too deeply to parse"
        return RawRecord(line_number, line=line, error=reason)
    return RawRecord(line_number, value, line=line)


def _json_document(open_binary: BinaryOpener, prefix: str) -> Iterator[RawRecord]:
    """Stream the items of a top-level array (prefix "item") or the one top-level value.

    A syntax error ends the file's records with one record that carries the error,
    because the parser cannot find where the next array item starts.
    """
    position = 0
    with open_binary() as binary:
        reader = _CleanUtf8Reader(binary)
        try:
            for value in ijson.items(reader, prefix, use_float=True):
                position += 1
                yield RawRecord(position, value)
        except ijson.JSONError as error:
            reason = f"invalid JSON: {_parser_message(error)}"
            yield RawRecord(position + 1, error=reason)


def _parser_message(error: ijson.JSONError) -> str:
    """Return the first line of a parser error, without the text it quotes from the file."""
    message = str(error).removeprefix("b'").removeprefix('b"')
    message = message.split("\n", 1)[0].split("\\n", 1)[0].strip()
    return scrub_text(message[:_ERROR_DETAIL_MAX_CHARS])


class _CleanUtf8Reader:
    """A binary reader that passes on valid UTF-8 with no NUL characters or byte order mark.

    Invalid bytes become U+FFFD, as they do for JSON Lines, so one bad byte does not stop
    the parser. NUL characters outside JSON escapes are invalid JSON and are dropped.
    """

    def __init__(self, binary: IO[bytes]) -> None:
        self._text = io.TextIOWrapper(
            binary,
            encoding="utf-8-sig",
            errors="replace",
            newline="",
        )

    def read(self, size: int = -1) -> bytes:
        while True:
            text = self._text.read(size)
            cleaned = text.replace("\x00", "")
            # An empty result means the end of the file to the parser, so a chunk that
            # was all NUL characters is followed by the next one.
            if cleaned or not text:
                return cleaned.encode("utf-8")
