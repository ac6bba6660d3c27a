"""Cluster names and privacy audits from Claude, sent through the shared runner and cache.

Each call is cached in raw.llm_cache under a key made of the prompt version, the model and
the request body. A base-level naming call contains only summaries, and its cache rows are
owned by the conversations whose summaries it contains, so forgetting one of them deletes
the cached name and its audit. Parent names and their audits are owned by CLUSTER_OWNER,
which no conversation has. `prune_unused_cache` deletes every cluster cache row that the
current run did not use, so those rows go at the next clustering run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import duckdb

from orchestration.defs.clustering import prompts
from orchestration.defs.clustering.naming import ClusterLabel, NamingRequest
from orchestration.defs.clustering.privacy import AuditResult, pattern_violation
from orchestration.defs.llm.cache import CacheOwner, ensure_cache_tables
from orchestration.defs.llm.client import canonical_json, request_hash
from orchestration.defs.llm.pricing import Prices
from orchestration.defs.llm.runner import Call, CallRunner, Outcome
from orchestration.defs.tagging.resource import Tagging

NAME_PURPOSE = "cluster_name"
AUDIT_PURPOSE = "cluster_audit"
# The owner of cache rows that no single conversation owns (parent names and their audits).
# It is not a conversation source, so forgetting never matches it.
CLUSTER_OWNER_SOURCE = "_cluster_labels"
# Clio keeps a label rated 3 ("identifiable to thousands") or higher on its 1-5 scale.
DEFAULT_MIN_RATING = 3


class InvalidAnswer(ValueError):
    """A response that lacks the expected tool call or breaks its rules."""


def _owners(owners: Sequence[tuple[str, str]], level: int, purpose: str) -> list[CacheOwner]:
    if owners:
        return [CacheOwner(source, conversation_id, purpose) for source, conversation_id in owners]
    return [CacheOwner(CLUSTER_OWNER_SOURCE, f"level-{level}", purpose)]


def _tool_input(response: dict, tool: str) -> dict:
    if response.get("stop_reason") == "max_tokens":
        raise InvalidAnswer("response cut off at max_tokens")
    for block in response.get("content") or []:
        if block.get("type") == "tool_use" and block.get("name") == tool:
            if isinstance(block.get("input"), dict):
                return block["input"]
            raise InvalidAnswer(f"{tool} input is not a JSON object")
    raise InvalidAnswer(f"no {tool} tool call in the response")


@dataclass
class _ClaudeStep:
    """Shared request building and sending of the namer and the auditor."""

    runner: CallRunner
    model: str
    prices: Prices
    used_keys: set[str] = field(default_factory=set)

    def _body(self, system: str, tools: list, text: str, max_tokens: int) -> dict:
        return {
            "model": self.model,
            "max_tokens": max_tokens,
            "system": system,
            "tools": tools,
            "tool_choice": {"type": "tool", "name": tools[0]["name"]},
            "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
        }

    def _call(self, body: dict, owners: list[CacheOwner]) -> Call:
        key = request_hash(
            {"prompt_version": prompts.PROMPT_VERSION, "model": self.model, "body": body}
        )
        # Roughly four characters per input token, and the full output allowance.
        estimate = (len(canonical_json(body)) / 4) * self.prices.input / 1e6 + body[
            "max_tokens"
        ] * self.prices.output / 1e6
        return Call(key, request_hash(body), body, owners, estimate)

    def _run(self, calls: list[Call], parse) -> list[tuple[object | None, str | None]]:
        """Send calls and parse each response.

        A call whose response is invalid is sent once more, bypassing the cache.
        """
        results: list[tuple[object | None, str | None]] = [(None, "not sent")] * len(calls)
        pending = list(range(len(calls)))
        for attempt in range(2):
            if not pending:
                break
            outcomes = self.runner.run([calls[i] for i in pending], use_cache=attempt == 0)
            retry = []
            for index in pending:
                outcome: Outcome = outcomes[calls[index].cache_key]
                self.used_keys.add(calls[index].cache_key)
                if outcome.deferred_reason is not None:
                    results[index] = (None, f"deferred: {outcome.deferred_reason}")
                    continue
                if outcome.response is None:
                    results[index] = (None, f"{outcome.error_type}: {outcome.error_message}")
                    continue
                try:
                    results[index] = (parse(outcome.response), None)
                except InvalidAnswer as error:
                    self.runner.totals.count("invalid_answers")
                    results[index] = (None, f"invalid answer: {error}")
                    retry.append(index)
            pending = retry
        return results


class ClaudeNamer(_ClaudeStep):
    """Names clusters contrastively with Claude, as Clio does.

    A base cluster is named from up to `sample_size` of its summaries (one per account)
    and as many of the nearest summaries outside it. A parent is named from its children's names.
    """

    name = "claude"
    sample_size = 50

    def _parse(self, response: dict) -> ClusterLabel:
        answer = _tool_input(response, prompts.NAME_TOOL)
        name = answer.get("name")
        description = answer.get("description")
        if not isinstance(name, str) or not name.strip():
            raise InvalidAnswer("name is empty")
        if len(name.split()) > prompts.MAX_NAME_WORDS:
            raise InvalidAnswer(f"name has more than {prompts.MAX_NAME_WORDS} words")
        if not isinstance(description, str) or not description.strip():
            raise InvalidAnswer("description is empty")
        return ClusterLabel(" ".join(name.split()).rstrip("."), " ".join(description.split()))

    def label(self, inside: Sequence[str], outside: Sequence[str]) -> ClusterLabel:
        return self.label_many([NamingRequest(0, inside, outside)])[0]

    def label_many(self, requests: Sequence[NamingRequest]) -> list[ClusterLabel]:
        calls = []
        for request in requests:
            system = (
                prompts.BASE_INSTRUCTIONS if request.level == 0 else prompts.PARENT_INSTRUCTIONS
            )
            text = prompts.render_naming_request(request.inside, request.outside)
            body = self._body(
                system,
                prompts.NAME_TOOLS,
                text,
                prompts.NAME_MAX_TOKENS,
            )
            calls.append(self._call(body, _owners(request.owners, request.level, NAME_PURPOSE)))
        labels = []
        for request, (label, failure) in zip(requests, self._run(calls, self._parse), strict=True):
            if not request.inside:
                labels.append(ClusterLabel("", "", failure="no summaries to name it from"))
            elif label is None:
                labels.append(ClusterLabel("", "", failure=failure))
            else:
                labels.append(label)
        return labels


class ClaudeAuditor(_ClaudeStep):
    """Rates each label 1-5 with Claude; a label passes at `min_rating` or above.

    On Clio's scale 1 means identifiable to an individual and 5 not identifiable. The
    pattern rules of the offline auditor (placeholders, e-mail addresses, URLs, digit runs)
    run first, and a label they reject is never sent.
    """

    name = "claude"

    def __init__(self, runner: CallRunner, model: str, prices: Prices, min_rating: int):
        super().__init__(runner, model, prices)
        if not 1 <= min_rating <= 5:
            raise ValueError(f"min_rating must be between 1 and 5, got {min_rating}")
        self.min_rating = min_rating

    @staticmethod
    def _parse(response: dict) -> int:
        rating = _tool_input(response, prompts.AUDIT_TOOL).get("rating")
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise InvalidAnswer(f"rating {rating!r} is not a whole number from 1 to 5")
        return rating

    def audit(self, name: str, description: str) -> AuditResult:
        return self.audit_many([ClusterLabel(name, description)], [()], [0])[0]

    def audit_many(
        self,
        labels: Sequence[ClusterLabel],
        owners: Sequence[Sequence[tuple[str, str]]],
        levels: Sequence[int],
    ) -> list[AuditResult]:
        results: list[AuditResult | None] = [None] * len(labels)
        calls = []
        sent = []
        for index, label in enumerate(labels):
            if not label.name.strip():
                results[index] = AuditResult(False, "empty name")
                continue
            violation = pattern_violation(label.name, label.description)
            if violation:
                results[index] = AuditResult(False, violation)
                continue
            body = self._body(
                prompts.AUDIT_INSTRUCTIONS,
                prompts.AUDIT_TOOLS,
                prompts.render_audit_request(label.name, label.description),
                prompts.AUDIT_MAX_TOKENS,
            )
            calls.append(self._call(body, _owners(owners[index], levels[index], AUDIT_PURPOSE)))
            sent.append(index)
        for index, (rating, failure) in zip(sent, self._run(calls, self._parse), strict=True):
            if rating is None:
                results[index] = AuditResult(False, f"audit call failed: {failure}")
            elif rating < self.min_rating:
                results[index] = AuditResult(
                    False, f"privacy rating {rating} below {self.min_rating}"
                )
            else:
                results[index] = AuditResult(True)
        return [result for result in results if result is not None]


def prune_unused_cache(
    connection: duckdb.DuckDBPyConnection, purpose: str, used_keys: set[str]
) -> int:
    """Delete cache rows of one cluster purpose that this run did not use; return the count.

    Clusters are rebuilt on every run, so an unused row is a label of clusters that no
    longer exist, such as one named from a since-forgotten conversation.
    """
    connection.execute("create or replace temporary table used_cluster_keys (cache_key varchar)")
    connection.executemany(
        "insert into used_cluster_keys values (?)", [(key,) for key in sorted(used_keys)]
    )
    deleted = connection.execute(
        """
        delete from raw.llm_cache
        where purpose = ?
            and cache_key not in (select cache_key from used_cluster_keys)
        """,
        [purpose],
    ).fetchall()[0][0]
    connection.execute("drop table used_cluster_keys")
    return int(deleted)


def build_cluster_runner(
    tagging: Tagging, connection: duckdb.DuckDBPyConnection, log: Callable[[str], None]
) -> CallRunner:
    """Return a runner with the tagging resource's client, model, prices, limits and budget.

    With the replay backend, responses come from recordings and nothing is written to the
    cache, as in tagging.
    """
    ensure_cache_tables(connection)
    replay = tagging.backend == "replay"
    runner = tagging.build_runner(
        connection, log, prompt_version=prompts.PROMPT_VERSION, max_tokens=prompts.NAME_MAX_TOKENS
    )
    if not replay:
        runner.resume_batches()
    return runner
