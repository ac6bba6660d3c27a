"""Measure the offline tagger's throughput after load, and the process's peak memory.

Builds the tagger as the pipeline does (task statements from the release file, usage prior,
examples), then tags --count synthetic conversations in batches of --batch-size and times
only the tagging. Task statements come from DATA_MIRROR when it is set, else from a download.
The synthetic conversations are made from templates here, so no real text is needed. They are
short (under 100 characters a turn), which flatters the transformer encoder. --labels tags the
user turns of a labelled JSON Lines file instead, repeated up to --count, for a measure on
conversations of real length. The last line printed is a JSON summary.

Example: .venv/bin/python bench/bench_tagging.py --count 2000 --encoder embedding
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

from orchestration import settings
from orchestration.defs.conversations.scrub import scrub_text
from orchestration.defs.reference.resource import ReferenceData
from orchestration.defs.tagging.offline import (
    DEFAULT_CASCADE_SHARE,
    ENCODERS,
    OfflineTagger,
    TaskStatement,
)
from orchestration.defs.tagging.records import ConversationText
from orchestration.evaluate import load_statements, load_usage_shares, read_labels

_SEED = 20261204
_OPENINGS = (
    "Write a {thing} about {topic}.",
    "Can you explain how {topic} works?",
    "How do I fix {thing} problems with {topic}?",
    "Please check my {thing} on {topic} for mistakes.",
    "Give me a short {thing} for {topic}, then make it more formal.",
    "What is the best way to learn {topic}?",
)
_THINGS = ("report", "email", "poem", "function", "plan", "summary", "recipe", "lesson", "query")
_TOPICS = (
    "quarterly sales",
    "a python web scraper",
    "vegetable soup",
    "photosynthesis",
    "a job interview",
    "tax deductions",
    "a leaking faucet",
    "marketing a bakery",
    "linear regression",
    "training a puppy",
)


def synthetic_conversations(count: int) -> list[ConversationText]:
    """Return `count` template conversations of one to three user turns."""
    generator = random.Random(_SEED)
    conversations = []
    for index in range(count):
        turns = [
            generator.choice(_OPENINGS).format(
                thing=generator.choice(_THINGS), topic=generator.choice(_TOPICS)
            )
            for _ in range(generator.randint(1, 3))
        ]
        conversations.append(ConversationText("bench", str(index), tuple(turns), ()))
    return conversations


def labelled_conversations(path: Path, count: int) -> list[ConversationText]:
    """Return `count` conversations made of the user turns of a labelled file, repeated."""
    turns = [
        tuple(scrub_text(turn["text"]) for turn in record["turns"] if turn.get("role") == "user")
        for record in read_labels(path)
    ]
    return [
        ConversationText("bench", str(index), turns[index % len(turns)], ())
        for index in range(count)
    ]


def peak_rss_mib() -> float:
    """Return the process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="conversations to tag")
    parser.add_argument("--batch-size", type=int, default=500, help="conversations per batch")
    parser.add_argument("--encoder", choices=ENCODERS, default="auto", help="offline encoder")
    parser.add_argument(
        "--cascade-share",
        type=float,
        default=DEFAULT_CASCADE_SHARE,
        help="share of each batch the cascade encoder sends to the transformer (0 to 1)",
    )
    parser.add_argument("--no-prior", action="store_true", help="answer from every task")
    parser.add_argument(
        "--labels", type=Path, help="labelled JSON Lines file whose user turns are tagged"
    )
    arguments = parser.parse_args(argv)

    reference = ReferenceData()
    statements = [
        TaskStatement(task_id, text, title, code)
        for task_id, text, title, code in load_statements(reference)
    ]
    shares = None if arguments.no_prior else load_usage_shares(reference)
    started = time.perf_counter()
    tagger = OfflineTagger(
        statements,
        encoder=arguments.encoder,
        usage_shares=shares,
        cache_dir=settings.embedding_cache_dir(),
        cascade_share=arguments.cascade_share,
    )
    load_seconds = time.perf_counter() - started
    if arguments.labels:
        conversations = labelled_conversations(arguments.labels, arguments.count)
    else:
        conversations = synthetic_conversations(arguments.count)
    # One small batch first, so one-time work inside the engine is not timed (20, so the
    # cascade at its default share sends five conversations to the transformer).
    tagger.tag(conversations[:20])
    started = time.perf_counter()
    for start in range(0, len(conversations), arguments.batch_size):
        tagger.tag(conversations[start : start + arguments.batch_size])
    seconds = time.perf_counter() - started
    summary = {
        "model": tagger.model,
        "prompt_version": tagger.prompt_version,
        "tasks": tagger.task_count,
        "conversations": len(conversations),
        "input": str(arguments.labels) if arguments.labels else "templates",
        "load_seconds": round(load_seconds, 1),
        "tag_seconds": round(seconds, 2),
        "conversations_per_second": round(len(conversations) / seconds, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "load_average": round(os.getloadavg()[0], 1),
    }
    print(
        f"{summary['conversations']} conversations in {summary['tag_seconds']} s: "
        f"{summary['conversations_per_second']} conversations/s after a "
        f"{summary['load_seconds']} s load; peak RSS {summary['peak_rss_mib']} MiB; "
        f"load average {summary['load_average']}"
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
