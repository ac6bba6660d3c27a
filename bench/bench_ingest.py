"""Measure read_conversations on a large synthetic export: throughput and peak memory.

Writes a ChatGPT conversations.json array or an OpenAI-style chat JSONL file of about
--size-mb megabytes into a temporary folder, one record at a time, then reads it twice:
once timed, for conversations/s, MB/s and peak RSS, and once under tracemalloc, for the
peak of memory allocated by Python. The last line printed is a JSON summary.

Example: .venv/bin/python bench/bench_ingest.py --size-mb 1024 --format chatgpt
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from orchestration.defs.conversations.parse import Conversation, read_conversations

MEBIBYTE = 1024 * 1024
_SEED = 20240501
_WORDS = (
    "bread",
    "oven",
    "recipe",
    "garden",
    "tomato",
    "bicycle",
    "invoice",
    "budget",
    "meeting",
    "schedule",
    "spreadsheet",
    "formula",
    "chart",
    "client",
    "email",
    "draft",
    "summary",
    "translate",
    "paragraph",
    "python",
    "function",
    "error",
    "database",
    "query",
    "index",
    "holiday",
    "flight",
    "hotel",
    "museum",
    "ticket",
    "train",
    "weather",
    "jacket",
    "rain",
    "kitchen",
    "sink",
    "leak",
    "plumber",
    "paint",
    "wall",
    "shelf",
    "drill",
    "screw",
    "birthday",
    "gift",
    "card",
    "friend",
    "essay",
    "history",
    "chapter",
    "exam",
    "lecture",
    "notes",
    "grammar",
    "verb",
    "tense",
    "resume",
    "cover",
    "letter",
    "job",
    "interview",
    "salary",
    "contract",
    "lease",
    "landlord",
    "deposit",
    "insurance",
    "claim",
    "doctor",
    "appointment",
)
# A few sentences carry what scrub_text replaces, so the run includes that work.
_SENSITIVE_SENTENCES = (
    "You can reach me at jamie.rivera@example.com after five.",
    "The form is at https://forms.example.org/apply?token=abc123 if that helps.",
    "Call the office on 555-201-7788 tomorrow morning.",
)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size-mb",
        type=int,
        default=1024,
        help="size of the synthetic export to write, in mebibytes (default 1024)",
    )
    parser.add_argument(
        "--format",
        choices=("chatgpt", "jsonl"),
        default="chatgpt",
        help="export to write: a ChatGPT conversations.json array (chatgpt) "
        "or OpenAI-style chat JSON Lines (jsonl)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="folder for the temporary export (default: the system temporary folder)",
    )
    parser.add_argument(
        "--skip-tracemalloc",
        action="store_true",
        help="skip the second read under tracemalloc, which is several times slower",
    )
    return parser.parse_args()


class _TextGenerator:
    """Everyday-sounding text from a fixed pool of sentences, so output is reproducible."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        sentences = [self._sentence() for _ in range(4000)]
        self._sentences = sentences + list(_SENSITIVE_SENTENCES)

    def _sentence(self) -> str:
        words = self._random.choices(_WORDS, k=self._random.randint(6, 18))
        return " ".join(words).capitalize() + self._random.choice(".?!")

    def message(self, role: str) -> str:
        # Replies run longer than prompts, as they do in real chats.
        low, high = (1, 4) if role == "user" else (3, 20)
        count = self._random.randint(low, high)
        return " ".join(self._random.choices(self._sentences, k=count))

    def turn_count(self) -> int:
        return self._random.choice((2, 2, 4, 4, 6, 8))


def chatgpt_records(text: _TextGenerator, start_time: float) -> Iterator[dict[str, Any]]:
    number = 0
    while True:
        created = start_time + number * 60.0
        mapping: dict[str, Any] = {
            "root": {"id": "root", "message": None, "parent": None, "children": ["n0"]}
        }
        turns = text.turn_count()
        for index in range(turns):
            node_id = f"n{index}"
            role = "user" if index % 2 == 0 else "assistant"
            mapping[node_id] = {
                "id": node_id,
                "message": {
                    "id": node_id,
                    "author": {"role": role, "name": None, "metadata": {}},
                    "create_time": created + index,
                    "content": {"content_type": "text", "parts": [text.message(role)]},
                    "status": "finished_successfully",
                    "metadata": {"model_slug": "bench-model"} if role == "assistant" else {},
                    "recipient": "all",
                },
                "parent": "root" if index == 0 else f"n{index - 1}",
                "children": [f"n{index + 1}"] if index + 1 < turns else [],
            }
        yield {
            "title": f"Benchmark conversation {number}",
            "create_time": created,
            "update_time": created + turns,
            "mapping": mapping,
            "current_node": f"n{turns - 1}",
            "id": f"bench-{number}",
        }
        number += 1


def jsonl_records(text: _TextGenerator, start_time: float) -> Iterator[dict[str, Any]]:
    number = 0
    while True:
        turns = text.turn_count()
        roles = ["user" if index % 2 == 0 else "assistant" for index in range(turns)]
        yield {
            "id": f"bench-{number}",
            "created_at": start_time + number * 60.0,
            "messages": [{"role": role, "content": text.message(role)} for role in roles],
        }
        number += 1


def write_export(path: Path, export_format: str, target_bytes: int) -> int:
    """Write records until the file reaches target_bytes; return the record count."""
    text = _TextGenerator(_SEED)
    start_time = 1_700_000_000.0
    if export_format == "chatgpt":
        records = chatgpt_records(text, start_time)
    else:
        records = jsonl_records(text, start_time)
    with path.open("w", encoding="utf-8") as file:
        return _write_records(file, records, export_format, target_bytes)


def _write_records(
    file: IO[str], records: Iterator[dict[str, Any]], export_format: str, target_bytes: int
) -> int:
    is_array = export_format == "chatgpt"
    written = 0
    count = 0
    if is_array:
        written += file.write("[")
    for record in records:
        encoded = json.dumps(record, ensure_ascii=False)
        if is_array:
            written += file.write(("," if count else "") + encoded)
        else:
            written += file.write(encoded + "\n")
        count += 1
        # Characters approximate bytes closely, because the generated text is ASCII.
        if written >= target_bytes:
            break
    if is_array:
        file.write("]")
    return count


def read_all(path: Path) -> tuple[int, int, int]:
    """Read every record and return (conversations, rejected, messages)."""
    conversations = 0
    rejected = 0
    messages = 0
    for item in read_conversations(path, "bench", "bench"):
        if isinstance(item, Conversation):
            conversations += 1
            messages += len(item.messages)
        else:
            rejected += 1
    return conversations, rejected, messages


def peak_rss_bytes() -> int:
    # ru_maxrss is in kibibytes on Linux and in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def main() -> None:
    arguments = parse_arguments()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    name = "conversations.json" if arguments.format == "chatgpt" else "conversations.jsonl"
    with tempfile.TemporaryDirectory(dir=arguments.work_dir) as folder:
        path = Path(folder) / name
        started = time.perf_counter()
        records = write_export(path, arguments.format, arguments.size_mb * MEBIBYTE)
        write_seconds = time.perf_counter() - started
        size_bytes = path.stat().st_size
        print(f"wrote {records} records, {size_bytes / MEBIBYTE:.1f} MiB in {write_seconds:.1f} s")

        rss_before_read = peak_rss_bytes()
        started = time.perf_counter()
        conversations, rejected, messages = read_all(path)
        read_seconds = time.perf_counter() - started
        rss_after_read = peak_rss_bytes()
        print(
            f"read {conversations} conversations ({rejected} rejected) in {read_seconds:.1f} s: "
            f"{conversations / read_seconds:.0f} conversations/s, "
            f"{size_bytes / MEBIBYTE / read_seconds:.1f} MiB/s, "
            f"peak RSS {rss_after_read / MEBIBYTE:.1f} MiB"
        )

        traced_peak = None
        traced_seconds = None
        if not arguments.skip_tracemalloc:
            tracemalloc.start()
            started = time.perf_counter()
            read_all(path)
            traced_seconds = time.perf_counter() - started
            _, traced_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"tracemalloc peak {traced_peak / MEBIBYTE:.1f} MiB "
                f"(second read, {traced_seconds:.1f} s under tracemalloc)"
            )

    summary = {
        "format": arguments.format,
        "file_mib": round(size_bytes / MEBIBYTE, 1),
        "records_written": records,
        "conversations": conversations,
        "rejected": rejected,
        "messages": messages,
        "read_seconds": round(read_seconds, 2),
        "conversations_per_second": round(conversations / read_seconds, 1),
        "mib_per_second": round(size_bytes / MEBIBYTE / read_seconds, 2),
        "peak_rss_mib_before_read": round(rss_before_read / MEBIBYTE, 1),
        "peak_rss_mib": round(rss_after_read / MEBIBYTE, 1),
        "tracemalloc_peak_mib": _rounded(traced_peak, MEBIBYTE),
        "tracemalloc_read_seconds": _rounded(traced_seconds, 1),
    }
    print(json.dumps(summary))


def _rounded(value: float | None, unit: float) -> float | None:
    return None if value is None else round(value / unit, 2)


if __name__ == "__main__":
    main()
