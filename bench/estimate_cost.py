"""Estimate what tagging the warehouse's conversations with the claude backend would cost.

Builds the real grouped request bodies of both calls for every conversation in
raw.conversations (after `make run`), page by page as the tagging asset reads them, and
counts their tokens offline. Prints billed tokens per conversation and the cost per 1,000
conversations for each page size and task input (call-1 summary or conversation), for the
Messages and Message Batches APIs, with and without prompt caching. Nothing is sent to the
API.

Token counting: characters / 3.5. Anthropic publishes no offline tokenizer for Claude 3+
models; 3.5 characters per token is a common figure for English prose (JSON, code and
non-Latin scripts take more tokens per character), so every count here is an estimate.

Which middle group a conversation lands in decides which call-2 request it joins. The
estimate takes it from the offline tagger's task in raw.conversation_tags, mapped to its
middle group in raw.task_hierarchy. Conversations that the offline tagger found not
occupational get no call 2. Claude's own choices will differ, so the task-list share is an
estimate too. Call-1 summaries are not known offline: each conversation gets a summary of
the length of SCREEN_ENTRY's, made unique so that no two conversations share one.

Prompt caching is modelled as follows. A prefix at or above the cache minimum is written
(1.25x) by the first request that sends it in the run and read (0.1x) by every later one.
This assumes that the later requests arrive within the cache lifetime (5 minutes by
default) and, for the Batches API, that batched requests hit the cache, which the API does
not promise. A shorter prefix is billed at the input price.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Iterator, Sequence
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
# Tokens of a message's role and block framing, counted once per request (an estimate).
REQUEST_OVERHEAD = 10
DEFAULT_PAGE_SIZES = (500, 2000)


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

    def add(self, other: Billed) -> None:
        self.input += other.input
        self.cache_write += other.cache_write
        self.cache_read += other.cache_read
        self.output += other.output

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


def bill_request(prefix: float, rest: float, prefix_warm: bool, cached: bool, minimum: float) -> Billed:
    """Return the input billing of one request: [prefix, breakpoint][rest].

    With caching, a prefix at or above the minimum is read when an earlier request of the
    run sent it (prefix_warm) and written otherwise; the rest is billed at the input price.
    """
    if not cached or prefix < minimum:
        return Billed(input=prefix + rest)
    if prefix_warm:
        return Billed(input=rest, cache_read=prefix)
    return Billed(input=rest, cache_write=prefix)


@dataclass
class Measurement:
    """Billed tokens of one configuration per cache scenario, and per conversation."""

    page_size: int
    task_input: str
    lengths: dict[tuple[str, str], float] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=lambda: {"screen": 0, "task": 0})
    task_fixed: float = 0.0
    totals: dict[bool, Billed] = field(default_factory=lambda: {True: Billed(), False: Billed()})
    # Input equivalents per conversation, per cache scenario.
    per_conversation: dict[bool, dict[tuple[str, str], float]] = field(
        default_factory=lambda: {True: {}, False: {}}
    )

    def charge(self, cached: bool, key: tuple[str, str], amount: float) -> None:
        bills = self.per_conversation[cached]
        bills[key] = bills.get(key, 0.0) + amount


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


def unique_summary(number: int) -> str:
    """Return a summary as long as SCREEN_ENTRY's that no other conversation shares."""
    text = SCREEN_ENTRY["summary"]
    suffix = f" #{number}"
    return text[: len(text) - len(suffix)] + suffix


@dataclass
class Estimator:
    """Builds the tagger's request bodies for one configuration and bills them."""

    tagger: ClaudeTagger
    middles: dict[tuple[str, str], str]
    minimum: float
    prices: Prices
    result: Measurement
    # Cache prefixes sent earlier in the run (call 1's, and call 2's per middle group).
    warm: set = field(default_factory=set)

    def bill_page(self, page: Sequence[ConversationText]) -> None:
        tagger = self.tagger
        items = []
        for conversation in page:
            text, trimmed = render_conversation(conversation, tagger._conversation_budget)
            items.append(_Item(conversation, text, trimmed, tagger._conversation_budget))
        for block, slots in tagger._screen_groups(tagger._slots(items, "tag_screen")):
            self._bill_screen(tagger._screen_body(block, slots), slots)
        occupational = []
        for item in items:
            middle = self.middles.get(item.owner_key)
            if middle is not None:
                summary = unique_summary(len(self.result.lengths) + len(occupational))
                item.screen = {"is_occupational": True, "middle_group": middle, "summary": summary}
                occupational.append(item)
        for block, slots in tagger._task_groups(tagger._slots(occupational, "tag_task")):
            self._bill_task(tagger._task_body(block, slots), slots)
        for item in items:
            self.result.lengths[item.owner_key] = tokens(item.text)

    def _bill_screen(self, body: dict, slots: Sequence) -> None:
        prefix = tokens(canonical_json(body["tools"])) + tokens(body["system"][0]["text"])
        rest = tokens(body["messages"][0]["content"][0]["text"]) + REQUEST_OVERHEAD
        output = TOOL_CALL_OVERHEAD + tokens(canonical_json(SCREEN_ENTRY)) * len(slots)
        self.result.requests["screen"] += 1
        self._bill(("screen",), prefix, rest, output, slots)

    def _bill_task(self, body: dict, slots: Sequence) -> None:
        listing, inputs = body["messages"][0]["content"]
        prefix = (
            tokens(canonical_json(body["tools"]))
            + tokens(body["system"][0]["text"])
            + tokens(listing["text"])
        )
        rest = tokens(inputs["text"]) + REQUEST_OVERHEAD
        output = TOOL_CALL_OVERHEAD + tokens(canonical_json(TASK_ENTRY)) * len(slots)
        self.result.requests["task"] += 1
        self.result.task_fixed += prefix
        middle = slots[0].items[0].screen["middle_group"]
        self._bill(("task", middle), prefix, rest, output, slots)

    def _bill(self, prefix_id: tuple, prefix: float, rest: float, output: float, slots) -> None:
        """Add one request's bill; each conversation pays its own text and a share of the rest."""
        own = {slot: tokens(slot.text) for slot in slots}
        for cached in (True, False):
            billed = bill_request(prefix, rest, prefix_id in self.warm, cached, self.minimum)
            billed.output = output
            self.result.totals[cached].add(billed)
            shared = billed.input_equivalents(self.prices) - sum(own.values())
            for slot in slots:
                share = (own[slot] + shared / len(slots)) / len(slot.items)
                for item in slot.items:
                    self.result.charge(cached, item.owner_key, share)
        if prefix >= self.minimum:
            self.warm.add(prefix_id)


def measure(
    connection: duckdb.DuckDBPyConnection,
    tagging: Tagging,
    limit: int | None,
    minimum: float,
    prices: Prices,
) -> Measurement:
    """Build the real grouped requests, page by page, and bill their tokens."""
    hierarchy = load_hierarchy(connection, tagging.hierarchy_version)
    tagger = ClaudeTagger(
        connection=connection,
        runner=None,  # type: ignore[arg-type]  # bodies only; nothing is sent
        hierarchy=hierarchy,
        skills=load_skills(connection),
        model=tagging.model,
        max_tokens=tagging.max_tokens,
        prices=prices,
        group_size=tagging.group_size,
        group_max_chars=tagging.group_max_chars,
        task_input=tagging.task_input,
    )
    estimator = Estimator(
        tagger,
        landing(connection, hierarchy.version),
        minimum,
        prices,
        Measurement(tagging.batch_size, tagging.task_input),
    )
    for page in pages(read_conversations(connection, limit), tagging.batch_size):
        estimator.bill_page(page)
    return estimator.result


def describe(connection: duckdb.DuckDBPyConnection, tagging: Tagging, minimum: float) -> list[str]:
    hierarchy = load_hierarchy(connection, tagging.hierarchy_version)
    sizes = [len(tasks) for tasks in hierarchy.tasks.values()]
    hierarchy_note = (
        f"hierarchy {hierarchy.version}: {len(hierarchy.top_groups)} top, "
        f"{len(hierarchy.middle_groups)} middle groups, {hierarchy.task_count} tasks "
        f"(mean {statistics.fmean(sizes):.0f}, max {max(sizes)} per middle group)"
    )
    group_note = (
        f"groups of at most {tagging.group_size} conversations and "
        f"{tagging.group_max_chars:,} characters"
    )
    token_note = (
        f"tokens counted as characters / {CHARS_PER_TOKEN} (an estimate); cache minimum "
        f"{minimum:,.0f} tokens"
    )
    return [hierarchy_note, group_note, token_note]


HEADER = (
    f"{'page':>5} {'task input':<13}{'scenario':<20}{'input':>7}{'c.write':>9}{'c.read':>8}"
    f"{'output':>7}{'in-eq':>7}{'mean':>8}{'median':>8}{'$/1k':>7}"
)


def report_rows(result: Measurement, prices: Prices) -> list[str]:
    keys = list(result.lengths)
    count = len(keys)
    total_length = sum(result.lengths.values())
    rows = []
    for cached in (True, False):
        totals = result.totals[cached]
        mean = Billed(totals.input / count, totals.cache_write / count,
                      totals.cache_read / count, totals.output / count)
        ratio_of_sums = totals.input_equivalents(prices) / total_length
        bills = result.per_conversation[cached]
        ratios = [bills.get(key, 0.0) / max(result.lengths[key], 1.0) for key in keys]
        for api, discount in (("Messages", 0.0), ("Batches", prices.batch_discount)):
            label = f"{api}, {'cached' if cached else 'no cache'}"
            per_thousand = mean.cost(prices) * (1 - discount) * 1000
            rows.append(
                f"{result.page_size:>5} {result.task_input:<13}{label:<20}{mean.input:>7,.0f}"
                f"{mean.cache_write:>9,.0f}{mean.cache_read:>8,.0f}{mean.output:>7,.0f}"
                f"{mean.input_equivalents(prices):>7,.0f}{ratio_of_sums:>7.2f}x"
                f"{statistics.median(ratios):>7.2f}x{per_thousand:>7.2f}"
            )
    return rows


def print_report(notes: list[str], results: list[Measurement], prices: Prices) -> None:
    first = results[0]
    lengths = list(first.lengths.values())
    print(f"conversations: {len(lengths)}; length mean {statistics.fmean(lengths):,.0f}, "
          f"median {statistics.median(lengths):,.0f} tokens")
    for note in notes:
        print(note)
    for result in results:
        task_requests = max(1, result.requests["task"])
        print(f"pages of {result.page_size}, task input {result.task_input}: "
              f"{result.requests['screen']} screen and {result.requests['task']} task requests; "
              f"fixed part of a task request {result.task_fixed / task_requests:,.0f} tokens")
    print()
    print(HEADER)
    for result in results:
        for row in report_rows(result, prices):
            print(row)
    print()
    print("Per conversation: input, cache write, cache read and output tokens. in-eq: input "
          f"tokens in base-price units (cache writes x{prices.cache_write / prices.input:.2f}, "
          f"reads x{prices.cache_read / prices.input:.2f}). mean: in-eq over all "
          "conversations divided by their summed length. median: the median over "
          "conversations of its own text plus an equal share of each request's other tokens, "
          "divided by its length. $/1k: US dollars per 1,000 conversations.")
    default = Tagging(backend="claude", api_key="estimate")
    print(f"The claude backend's defaults: pages of {default.batch_size}, task input "
          f"{default.task_input}, with prompt caching. The middle groups come from the "
          "offline tags in the warehouse, so the figures move when those tags change.")


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
    parser.add_argument(
        "--page-sizes",
        default=",".join(str(size) for size in DEFAULT_PAGE_SIZES),
        help="comma-separated conversations per page to compare (default: %(default)s)",
    )
    parser.add_argument(
        "--task-inputs",
        default="summary,conversation",
        help="comma-separated call-2 inputs to compare: summary, conversation (default: %(default)s)",
    )
    arguments = parser.parse_args(argv)
    try:
        page_sizes = [int(size) for size in arguments.page_sizes.split(",")]
    except ValueError:
        parser.error(f"--page-sizes must be comma-separated integers, got {arguments.page_sizes!r}")
    task_inputs = arguments.task_inputs.split(",")
    overrides = {}
    if arguments.group_size is not None:
        overrides["group_size"] = arguments.group_size
    warehouse = settings.warehouse_path()
    if not warehouse.exists():
        print(f"{warehouse} not found: run `make run` first", file=sys.stderr)
        return 2
    connection = duckdb.connect(str(warehouse), read_only=True)
    results = []
    try:
        notes = describe(connection, Tagging(**overrides), arguments.min_cacheable_tokens)
        for page_size in page_sizes:
            for task_input in task_inputs:
                tagging = Tagging(**overrides, batch_size=page_size, task_input=task_input)
                result = measure(
                    connection, tagging, arguments.limit, arguments.min_cacheable_tokens,
                    tagging.prices(),
                )
                if not result.lengths:
                    print("no conversations in the warehouse: run `make run` first",
                          file=sys.stderr)
                    return 2
                results.append(result)
    finally:
        connection.close()
    print_report(notes, results, Tagging(**overrides).prices())
    return 0


if __name__ == "__main__":
    sys.exit(main())
