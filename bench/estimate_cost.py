"""Estimate what tagging the warehouse's conversations with the claude backend would cost.

Builds the real request bodies of both calls for every conversation in raw.conversations
(after `make run`) and counts their tokens offline. Prints billed tokens per conversation
and the cost per 1,000 conversations for the Messages and Message Batches APIs, with and
without prompt caching. Nothing is sent to the API.

Token counting: characters / 3.5. Anthropic publishes no offline tokenizer for Claude 3+
models; 3.5 characters per token is a common figure for English prose (JSON, code and
non-Latin scripts take more tokens per character), so every count here is an estimate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestration import settings
from orchestration.defs.llm.client import canonical_json
from orchestration.defs.llm.pricing import Prices
from orchestration.defs.tagging import prompts
from orchestration.defs.tagging.claude import (
    ClaudeTagger,
    _Item,
    render_conversation,
)
from orchestration.defs.tagging.hierarchy import (
    Hierarchy,
    MissingReferenceTable,
    load_hierarchy,
    load_skills,
)
from orchestration.defs.tagging.records import ConversationText
from orchestration.defs.tagging.resource import Tagging

CHARS_PER_TOKEN = 3.5
# Smallest prefix the API caches for claude-haiku-4-5, as the orq.ai and AIHubMix gateway
# docs give it. A shorter prefix is billed at the full input price with no cache tokens.
MIN_CACHEABLE_TOKENS = 4096
# Typical tool inputs, sized from the tool schemas: two summary sentences, five skills.
SCREEN_ANSWER = {
    "is_occupational": True,
    "top_group": "T01",
    "middle_group": "T01.M001",
    "interaction_mode": "task_iteration",
    "skills": ["2.A.1.a", "2.A.1.c", "2.A.2.a", "2.B.3.e", "2.A.2.b"],
    "summary": (
        "The user asked the assistant to draft and then revise a short technical "
        "explanation of a data-processing script for colleagues. The user wanted it "
        "simpler and shorter."
    ),
    "language": "en",
}
TASK_ANSWER = {"task_id": 12345}
# Tokens the API adds for a tool call beyond its JSON input (an estimate).
TOOL_CALL_OVERHEAD = 40


def tokens(text: str) -> float:
    return len(text) / CHARS_PER_TOKEN


def stand_in_hierarchy(connection: duckdb.DuckDBPyConnection) -> Hierarchy:
    """Build a hierarchy of the documented shape from O*NET when raw.task_hierarchy is absent.

    Top groups are SOC major groups (22), middle groups SOC broad occupations, and each
    middle group offers at most 150 of its task statements.
    """
    rows = connection.execute(
        """
        select task_id, task_statement, onet_soc_code, occupation_title
        from raw.onet_task_statements
        order by onet_soc_code, task_id
        """
    ).fetchall()
    tops: dict[str, tuple[str, str, str]] = {}
    middles: dict[str, tuple[str, str, str, str]] = {}
    tasks: dict[str, list[tuple[int, str]]] = {}
    for task_id, statement, code, title in rows:
        top_id, middle_id = code[:2], code[:6]
        tops.setdefault(top_id, (top_id, f"SOC major group {top_id}", ""))
        middles.setdefault(middle_id, (middle_id, top_id, title, ""))
        if len(tasks.setdefault(middle_id, [])) < 150:
            tasks[middle_id].append((int(task_id), statement))
    return Hierarchy("stand-in", list(tops.values()), list(middles.values()), tasks)


def stand_in_skills(mirror: Path | None) -> list[tuple[str, str, str]]:
    """Read O*NET's 35 skills from the mirror's Content Model Reference, if present."""
    path = mirror / "onet" / "Content Model Reference.txt" if mirror else None
    if path is None or not path.exists():
        return [(f"2.X.{index}", f"Skill {index}", "A stand-in skill.") for index in range(35)]
    skills = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0].count(".") == 3 and parts[0][:3] in ("2.A", "2.B"):
            skills.append((parts[0], parts[1], parts[2]))
    return skills


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


@dataclass
class Billed:
    """Billed tokens of one conversation under one scenario."""

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


def bill(
    prefix: float,
    conversation: float,
    extra: float,
    occupational: bool,
    cached: bool,
    minimum: float = MIN_CACHEABLE_TOKENS,
) -> Billed:
    """Return billed tokens of call 1 and, when occupational, call 2."""
    out1 = tokens(canonical_json(SCREEN_ANSWER)) + TOOL_CALL_OVERHEAD
    out2 = tokens(canonical_json(TASK_ANSWER)) + TOOL_CALL_OVERHEAD
    billed = Billed(output=out1 + (out2 if occupational else 0))
    if not cached or prefix + conversation < minimum:
        billed.input = prefix + conversation + ((prefix + conversation + extra) if occupational else 0)
        return billed
    if prefix >= minimum:
        # The shared prefix is warm from earlier conversations; the conversation is written.
        billed.cache_read += prefix
        billed.cache_write += conversation
    else:
        # Only the conversation breakpoint reaches the minimum, so it caches the prefix too.
        billed.cache_write += prefix + conversation
    if occupational:
        billed.cache_read += prefix + conversation
        billed.input += extra
    return billed


@dataclass
class Measurement:
    """Token counts of the prompts for the warehouse's conversations."""

    conversation_tokens: list[float]
    prefix: float
    mean_task_list: float
    # Tokens call 2 adds after the conversation: call 1's tool call, its result, the tasks.
    extra: float
    share: float
    notes: list[str]
    min_cacheable_tokens: float = MIN_CACHEABLE_TOKENS


def reference_tables(connection: duckdb.DuckDBPyConnection):
    """Return the hierarchy and skills, with stand-ins where the tables are missing."""
    try:
        hierarchy, hierarchy_note = load_hierarchy(connection), "raw.task_hierarchy"
    except MissingReferenceTable:
        hierarchy = stand_in_hierarchy(connection)
        hierarchy_note = "stand-in from O*NET (raw.task_hierarchy is missing)"
    try:
        skills, skills_note = load_skills(connection), "raw.onet_skills"
    except MissingReferenceTable:
        skills = stand_in_skills(settings.mirror_dir())
        skills_note = "the mirror's Content Model Reference (raw.onet_skills is missing)"
    shape = (
        f"{len(hierarchy.top_groups)} top, {len(hierarchy.middle_groups)} middle groups, "
        f"{hierarchy.task_count} tasks"
    )
    notes = [f"hierarchy: {hierarchy_note}: {shape}", f"skills: {len(skills)} from {skills_note}"]
    return hierarchy, skills, notes


def occupational_share(connection: duckdb.DuckDBPyConnection) -> float:
    """Return the offline tags' share of occupational conversations, or 1 without tags."""
    row = connection.execute(
        "select avg(is_occupational::int) from raw.conversation_tags where backend = 'offline'"
    ).fetchone()
    return float(row[0]) if row and row[0] is not None else 1.0


def measure(
    connection: duckdb.DuckDBPyConnection,
    tagging: Tagging,
    share: float | None,
    limit: int | None,
) -> Measurement:
    """Build the real prompts and count their tokens."""
    hierarchy, skills, notes = reference_tables(connection)
    tagger = ClaudeTagger(
        connection=connection,
        runner=None,  # type: ignore[arg-type]  # bodies only; nothing is sent
        hierarchy=hierarchy,
        skills=skills,
        model=tagging.model,
        max_tokens=tagging.max_tokens,
        prices=tagging.prices(),
    )
    prefix_body = tagger._base_body(_Item(ConversationText("", "", (), ()), "", False, 0))
    prefix = tokens(canonical_json(prefix_body["tools"])) + tokens(
        prefix_body["system"][0]["text"]
    )
    # NOTE: the mean over middle groups, not weighted by where conversations land.
    task_lists = [prompts.render_tasks(tasks) for tasks in hierarchy.tasks.values()]
    mean_task_list = statistics.fmean(tokens(text) for text in task_lists)
    screen_block = {
        "type": "tool_use",
        "id": "toolu_0",
        "name": "record_screen",
        "input": SCREEN_ANSWER,
    }
    tool_result = {"type": "tool_result", "tool_use_id": "toolu_0", "content": "Recorded."}
    extra = (
        mean_task_list
        + tokens(canonical_json(screen_block))
        + tokens(canonical_json(tool_result))
    )
    conversation_tokens = []
    for conversation in read_conversations(connection, limit):
        text, _ = render_conversation(conversation, tagger._conversation_budget)
        conversation_tokens.append(tokens(text))
    if share is None:
        share = occupational_share(connection)
    return Measurement(conversation_tokens, prefix, mean_task_list, extra, share, notes)


def expected_bill(measurement: Measurement, length: float, cached: bool) -> Billed:
    """Return one conversation's billed tokens, weighted by the occupational share."""
    share = measurement.share
    minimum = measurement.min_cacheable_tokens
    with_task = bill(measurement.prefix, length, measurement.extra, True, cached, minimum)
    without = bill(measurement.prefix, length, measurement.extra, False, cached, minimum)
    return Billed(
        input=share * with_task.input + (1 - share) * without.input,
        cache_write=share * with_task.cache_write + (1 - share) * without.cache_write,
        cache_read=share * with_task.cache_read + (1 - share) * without.cache_read,
        output=share * with_task.output + (1 - share) * without.output,
    )


def print_report(measurement: Measurement, prices: Prices) -> None:
    lengths = measurement.conversation_tokens
    count = len(lengths)
    print(f"conversations: {count}; occupational share assumed for call 2: "
          f"{measurement.share:.2f}")
    for note in measurement.notes:
        print(note)
    print(f"tokens counted as characters / {CHARS_PER_TOKEN} (an estimate)")
    print(f"shared prefix (tools + system): {measurement.prefix:,.0f} tokens; "
          f"mean task list of call 2: {measurement.mean_task_list:,.0f} tokens; "
          f"cache minimum {measurement.min_cacheable_tokens:,.0f} tokens")
    print(f"conversation length: mean {statistics.fmean(lengths):,.0f}, "
          f"median {statistics.median(lengths):,.0f} tokens")
    print()
    print("billed tokens per conversation (mean) and cost")
    print(f"{'scenario':<22}{'input':>9}{'cache wr':>10}{'cache rd':>10}{'output':>8}"
          f"{'in-eq/conv':>12}{'total/conv':>12}{'$ per 1k':>10}")
    for cached in (True, False):
        totals = Billed()
        ratios = []
        for length in lengths:
            billed = expected_bill(measurement, length, cached)
            totals.add(billed)
            ratios.append(billed.input_equivalents(prices) / length)
        mean = Billed(totals.input / count, totals.cache_write / count,
                      totals.cache_read / count, totals.output / count)
        ratio_of_sums = totals.input_equivalents(prices) / sum(lengths)
        for api, discount in (("Messages", 0.0), ("Batches", prices.batch_discount)):
            label = f"{api}, {'cached' if cached else 'no cache'}"
            per_thousand = mean.cost(prices) * (1 - discount) * 1000
            print(f"{label:<22}{mean.input:>9,.0f}{mean.cache_write:>10,.0f}"
                  f"{mean.cache_read:>10,.0f}{mean.output:>8,.0f}"
                  f"{mean.input_equivalents(prices):>12,.0f}{ratio_of_sums:>11.2f}x"
                  f"{per_thousand:>10.2f}")
        label = "cached" if cached else "no cache"
        print(f"  {label}: billed input equivalents / conversation length, median over "
              f"conversations {statistics.median(ratios):.2f}x")
        if cached:
            own = (prices.cache_write + measurement.share * prices.cache_read) / prices.input
            fixed = mean.input_equivalents(prices) - own * statistics.fmean(lengths)
            print(f"  cached: the conversation's own tokens cost {own:.2f}x its length. The "
                  f"fixed part (prefix reads, task list) is {fixed:,.0f} equivalents per "
                  f"conversation, so the total stays within 2x from about "
                  f"{fixed / (2 - own):,.0f} tokens of conversation")
    print()
    print("in-eq/conv: input tokens billed per conversation in base-price units (cache "
          f"writes x{prices.cache_write / prices.input:.2f}, reads "
          f"x{prices.cache_read / prices.input:.2f}). total/conv: that sum over all "
          "conversations divided by their summed length")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="conversations to read at most")
    parser.add_argument(
        "--occupational-share",
        type=float,
        default=None,
        help="share of conversations that need call 2 (default: the offline tags' share)",
    )
    parser.add_argument(
        "--min-cacheable-tokens",
        type=float,
        default=MIN_CACHEABLE_TOKENS,
        help=f"shortest prefix the API caches, in tokens (default {MIN_CACHEABLE_TOKENS})",
    )
    arguments = parser.parse_args(argv)
    tagging = Tagging()
    warehouse = settings.warehouse_path()
    if not warehouse.exists():
        print(f"{warehouse} not found: run `make run` first", file=sys.stderr)
        return 2
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        measurement = measure(
            connection, tagging, arguments.occupational_share, arguments.limit
        )
    finally:
        connection.close()
    measurement.min_cacheable_tokens = arguments.min_cacheable_tokens
    if not measurement.conversation_tokens:
        print("no conversations in the warehouse: run `make run` first", file=sys.stderr)
        return 2
    print_report(measurement, tagging.prices())
    return 0


if __name__ == "__main__":
    sys.exit(main())
