"""Estimate what tagging the warehouse's conversations with the claude backend would cost.

Builds the real grouped request bodies of both calls for every conversation in
raw.conversations (after `make run`), page by page as the tagging asset reads them, and
counts their tokens offline. Prints billed tokens per conversation and the cost per 1,000
conversations for the Messages and Message Batches APIs, with and without prompt caching.
Nothing is sent to the API.

Token counting: characters / 3.5. Anthropic publishes no offline tokenizer for Claude 3+
models; 3.5 characters per token is a common figure for English prose (JSON, code and
non-Latin scripts take more tokens per character), so every count here is an estimate.

Which middle group a conversation lands in decides the task list of call 2. The estimate
takes it from the offline tagger's task in raw.conversation_tags, mapped to its middle
group in raw.task_hierarchy. Conversations that the offline tagger found not occupational
get no call 2. Claude's own choices will differ, so the task-list share is an estimate too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestration import settings
from orchestration.defs.llm.client import canonical_json
from orchestration.defs.llm.pricing import Prices
from orchestration.defs.tagging.claude import ClaudeTagger, _Item, render_conversation
from orchestration.defs.tagging.hierarchy import load_hierarchy, load_skills
from orchestration.defs.tagging.records import ConversationText
from orchestration.defs.tagging.resource import Tagging

CHARS_PER_TOKEN = 3.5
# Smallest prefix the API caches for claude-haiku-4-5, as the orq.ai and AIHubMix gateway
# docs give it. A shorter prefix is billed at the full input price with no cache tokens.
MIN_CACHEABLE_TOKENS = 4096
# A typical record_screen entry, sized from the tool schema: two summary sentences, five skills.
SCREEN_ENTRY = {
    "index": 12,
    "is_occupational": True,
    "top_group": "t3",
    "middle_group": "m123",
    "interaction_mode": "task_iteration",
    "skills": ["2.A.1.a", "2.A.1.c", "2.A.2.a", "2.B.3.e", "2.A.2.b"],
    "summary": (
        "The user asked the assistant to draft and then revise a short technical "
        "explanation of a data-processing script for colleagues. The user wanted it "
        "simpler and shorter."
    ),
    "language": "en",
}
TASK_ENTRY = {"index": 12, "task_id": 12345}
# Tokens the API adds for a tool call beyond its JSON input (an estimate).
TOOL_CALL_OVERHEAD = 40


def tokens(text: str) -> float:
    return len(text) / CHARS_PER_TOKEN


def read_conversations(connection: duckdb.DuckDBPyConnection, limit: int | None):
    """Yield each conversation's scrubbed text, streaming messages in key order."""
    query = """
        select source, conversation_id, role, content
        from raw.messages
        order by source, conversation_id, message_index
    """
    cursor = connection.execute(query)
    key, user, assistant, count = None, [], [], 0
    while rows := cursor.fetchmany(5000):
        for source, conversation_id, role, content in rows:
            if (source, conversation_id) != key:
                if key is not None:
                    yield ConversationText(*key, tuple(user), tuple(assistant))
                    count += 1
                    if limit and count >= limit:
                        return
                key, user, assistant = (source, conversation_id), [], []
            if role == "user":
                user.append(content or "")
            elif role == "assistant":
                assistant.append(content or "")
    if key is not None:
        yield ConversationText(*key, tuple(user), tuple(assistant))


def pages(conversations, size: int) -> Iterator[list[ConversationText]]:
    page: list[ConversationText] = []
    for conversation in conversations:
        page.append(conversation)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


@dataclass
class Billed:
    """Billed tokens under one scenario."""

    input: float = 0.0
    cache_write: float = 0.0
    cache_read: float = 0.0
    output: float = 0.0

    def add(self, other: Billed, weight: float = 1.0) -> None:
        self.input += other.input * weight
        self.cache_write += other.cache_write * weight
        self.cache_read += other.cache_read * weight
        self.output += other.output * weight

    def input_equivalents(self, prices: Prices) -> float:
        """Return input tokens billed, in units of the base input price."""
        return (
            self.input
            + self.cache_write * prices.cache_write / prices.input
            + self.cache_read * prices.cache_read / prices.input
        )

    def cost(self, prices: Prices) -> float:
        return (
            self.input * prices.input
            + self.cache_write * prices.cache_write
            + self.cache_read * prices.cache_read
            + self.output * prices.output
        ) / 1e6


def bill_request(
    prefix: float, block: float, rest: float, block_cached: bool, cached: bool, minimum: float
) -> Billed:
    """Return the input billing of one request: [prefix][block, breakpoint][rest].

    With caching, a prefix at or above the minimum is warm from earlier requests. The block
    is read when call 1 of the same group wrote it (block_cached) and written otherwise.
    """
    if not cached or prefix + block < minimum:
        return Billed(input=prefix + block + rest)
    billed = Billed(input=rest)
    if block_cached:
        billed.cache_read += prefix + block
    elif prefix >= minimum:
        billed.cache_read += prefix
        billed.cache_write += block
    else:
        billed.cache_write += prefix + block
    return billed


@dataclass
class Measurement:
    """Billed tokens per scenario, and per conversation for the ratios."""

    lengths: list[float] = field(default_factory=list)
    prefix: float = 0.0
    requests: dict[str, int] = field(default_factory=lambda: {"screen": 0, "task": 0})
    task_text: float = 0.0
    totals: dict[bool, Billed] = field(default_factory=lambda: {True: Billed(), False: Billed()})
    # Input equivalents per conversation, per scenario (cached or not).
    per_conversation: dict[bool, list[float]] = field(
        default_factory=lambda: {True: [], False: []}
    )
    notes: list[str] = field(default_factory=list)


def landing(connection: duckdb.DuckDBPyConnection, version: str) -> dict[tuple[str, str], str]:
    """Return the middle group of each conversation's offline task, for occupational ones."""
    rows = connection.execute(
        """
        select tags.source, tags.conversation_id, tasks.parent_id
        from raw.conversation_tags as tags
        join raw.task_hierarchy as tasks
            on tasks.level = 3 and tasks.task_id = tags.task_id and tasks.hierarchy_version = ?
        where tags.backend = 'offline' and tags.is_occupational
        qualify row_number() over (
            partition by tags.source, tags.conversation_id order by tasks.parent_id
        ) = 1
        """,
        [version],
    ).fetchall()
    return {(source, conversation_id): parent for source, conversation_id, parent in rows}


def measure(
    connection: duckdb.DuckDBPyConnection,
    tagging: Tagging,
    limit: int | None,
    minimum: float,
    prices: Prices,
) -> Measurement:
    """Build the real grouped requests, page by page, and bill their tokens."""
    hierarchy = load_hierarchy(connection, tagging.hierarchy_version)
    skills = load_skills(connection)
    tagger = ClaudeTagger(
        connection=connection,
        runner=None,  # type: ignore[arg-type]  # bodies only; nothing is sent
        hierarchy=hierarchy,
        skills=skills,
        model=tagging.model,
        max_tokens=tagging.max_tokens,
        prices=prices,
        group_size=tagging.group_size,
        group_max_chars=tagging.group_max_chars,
    )
    middles = landing(connection, hierarchy.version)
    result = Measurement()
    result.notes.append(
        f"hierarchy {hierarchy.version}: {len(hierarchy.top_groups)} top, "
        f"{len(hierarchy.middle_groups)} middle groups, {hierarchy.task_count} tasks; "
        f"{len(skills)} skills; groups of at most {tagging.group_size} conversations and "
        f"{tagging.group_max_chars:,} characters; pages of {tagging.batch_size}"
    )
    body = tagger._screen_body(((1, ""),), [])
    result.prefix = tokens(canonical_json(body["tools"])) + tokens(body["system"][0]["text"])
    screen_out = tokens(canonical_json(SCREEN_ENTRY)) + 2
    task_out = tokens(canonical_json(TASK_ENTRY)) + 2
    for page in pages(read_conversations(connection, limit), tagging.batch_size):
        items = []
        for conversation in page:
            text, trimmed = render_conversation(conversation, tagger._conversation_budget)
            items.append(_Item(conversation, text, trimmed, tagger._conversation_budget))
        for block, slots in tagger._screen_groups(tagger._slots(items, "tag_screen")):
            _bill_group(result, tagger, block, slots, middles, minimum, prices,
                        screen_out, task_out)
    return result


def _bill_group(result, tagger, block, slots, middles, minimum, prices, screen_out, task_out):
    block_text = tagger._screen_body(block, slots)["messages"][0]["content"][0]["text"]
    block_tokens = tokens(block_text)
    occupational = []
    for slot in slots:
        middle = middles.get(slot.items[0].owner_key)
        if middle is not None:
            for item in slot.items:
                item.screen = {"is_occupational": True, "middle_group": middle}
            occupational.append(slot)
    task_tokens = 0.0
    if occupational:
        task_body = tagger._task_body(block, occupational)
        task_tokens = tokens(task_body["messages"][0]["content"][1]["text"])
        result.requests["task"] += 1
        result.task_text += task_tokens
    result.requests["screen"] += 1
    members = [item for slot in slots for item in slot.items]
    for cached in (True, False):
        screen = bill_request(result.prefix, block_tokens, 0, False, cached, minimum)
        screen.output = TOOL_CALL_OVERHEAD + screen_out * len(slots)
        group = Billed()
        group.add(screen)
        if occupational:
            task = bill_request(result.prefix, block_tokens, task_tokens, True, cached, minimum)
            task.output = TOOL_CALL_OVERHEAD + task_out * len(occupational)
            group.add(task)
        result.totals[cached].add(group)
        # Per conversation: an equal share of the group's bill (the fixed parts dominate).
        share = group.input_equivalents(prices) / len(members)
        result.per_conversation[cached].extend([share] * len(members))
    result.lengths.extend(tokens(item.text) for item in members)


def print_report(result: Measurement, prices: Prices, minimum: float) -> None:
    lengths = result.lengths
    count = len(lengths)
    print(f"conversations: {count}")
    for note in result.notes:
        print(note)
    print(f"tokens counted as characters / {CHARS_PER_TOKEN} (an estimate)")
    print(f"shared prefix (tools + system): {result.prefix:,.0f} tokens; cache minimum "
          f"{minimum:,.0f} tokens")
    print(f"requests: {result.requests['screen']} screen, {result.requests['task']} task; "
          f"mean task request text {result.task_text / max(1, result.requests['task']):,.0f} "
          "tokens")
    print(f"conversation length: mean {statistics.fmean(lengths):,.0f}, "
          f"median {statistics.median(lengths):,.0f} tokens")
    print()
    print(f"{'scenario':<22}{'input':>9}{'cache wr':>10}{'cache rd':>10}{'output':>8}"
          f"{'in-eq/conv':>12}{'mean ratio':>12}{'median':>9}{'$ per 1k':>10}")
    for cached in (True, False):
        totals = result.totals[cached]
        mean = Billed(totals.input / count, totals.cache_write / count,
                      totals.cache_read / count, totals.output / count)
        ratio_of_sums = totals.input_equivalents(prices) / sum(lengths)
        ratios = [billed / length for billed, length in zip(result.per_conversation[cached], lengths)]
        for api, discount in (("Messages", 0.0), ("Batches", prices.batch_discount)):
            label = f"{api}, {'cached' if cached else 'no cache'}"
            per_thousand = mean.cost(prices) * (1 - discount) * 1000
            print(f"{label:<22}{mean.input:>9,.0f}{mean.cache_write:>10,.0f}"
                  f"{mean.cache_read:>10,.0f}{mean.output:>8,.0f}"
                  f"{mean.input_equivalents(prices):>12,.0f}{ratio_of_sums:>11.2f}x"
                  f"{statistics.median(ratios):>8.2f}x{per_thousand:>10.2f}")
    print()
    print("in-eq/conv: input tokens billed per conversation in base-price units (cache "
          f"writes x{prices.cache_write / prices.input:.2f}, reads "
          f"x{prices.cache_read / prices.input:.2f}). mean ratio: that sum over all "
          "conversations divided by their summed length. median: the median over "
          "conversations of each one's equal share of its group's bill divided by its length")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="conversations to read at most")
    parser.add_argument(
        "--min-cacheable-tokens",
        type=float,
        default=MIN_CACHEABLE_TOKENS,
        help=f"shortest prefix the API caches, in tokens (default {MIN_CACHEABLE_TOKENS})",
    )
    parser.add_argument("--group-size", type=int, default=None,
                        help="conversations per request at most (default: the resource's)")
    parser.add_argument("--page-size", type=int, default=None,
                        help="conversations per page (default: the resource's batch_size)")
    arguments = parser.parse_args(argv)
    overrides = {}
    if arguments.group_size is not None:
        overrides["group_size"] = arguments.group_size
    if arguments.page_size is not None:
        overrides["batch_size"] = arguments.page_size
    tagging = Tagging(**overrides)
    warehouse = settings.warehouse_path()
    if not warehouse.exists():
        print(f"{warehouse} not found: run `make run` first", file=sys.stderr)
        return 2
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        result = measure(
            connection, tagging, arguments.limit, arguments.min_cacheable_tokens, tagging.prices()
        )
    finally:
        connection.close()
    if not result.lengths:
        print("no conversations in the warehouse: run `make run` first", file=sys.stderr)
        return 2
    print_report(result, tagging.prices(), arguments.min_cacheable_tokens)
    return 0


if __name__ == "__main__":
    sys.exit(main())
