"""Send model requests through the cache, the Messages API or the Message Batches API.

Small sets of requests go to the Messages API with bounded concurrency; sets of at least
`batch_threshold` requests go to one Message Batch. Every response is stored in the cache
before it is used. A request that is still throttled after the SDK's own retries, or that
must wait longer than the retry-after cap, goes back to the queue for later in the run.
A request still waiting at the end is deferred: its conversation stays untagged for the
next run.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import anthropic
import duckdb

from orchestration.defs.llm import cache
from orchestration.defs.llm.client import RetryLater
from orchestration.defs.llm.pricing import Prices, Usage, UsageTotals

logger = logging.getLogger(__name__)

# Batch error types worth sending again; an invalid request fails the same way every time.
RETRYABLE_BATCH_ERRORS = ("api_error", "overloaded_error", "rate_limit_error", "timeout_error")


@dataclass
class Call:
    """One request, the conversations that need its response, and its estimated cost."""

    cache_key: str
    request_hash: str
    body: dict
    owners: list[cache.CacheOwner]
    estimate_usd: float

    @property
    def custom_id(self) -> str:
        # A sha256 hex digest is 64 characters of [0-9a-f], so it fits the Batches API's
        # custom_id pattern ^[a-zA-Z0-9_-]{1,64}$; raw.llm_batch_items maps it back.
        return self.cache_key


@dataclass
class Outcome:
    """The outcome of one call: a response, an error, or deferral to a later run."""

    response: dict | None = None
    error_type: str | None = None
    error_message: str | None = None
    deferred_reason: str | None = None
    from_cache: bool = False


class Budget:
    """Spending limit for one run; a call is sent only when its estimate still fits."""

    def __init__(self, limit_usd: float | None) -> None:
        self.limit_usd = limit_usd
        self.spent_usd = 0.0
        self.reserved_usd = 0.0
        self.exhausted = False

    def try_reserve(self, estimate_usd: float) -> bool:
        if self.limit_usd is None:
            self.reserved_usd += estimate_usd
            return True
        if self.spent_usd + self.reserved_usd + estimate_usd > self.limit_usd:
            self.exhausted = True
            return False
        self.reserved_usd += estimate_usd
        return True

    def settle(self, estimate_usd: float, actual_usd: float) -> None:
        self.reserved_usd = max(0.0, self.reserved_usd - estimate_usd)
        self.spent_usd += actual_usd


@dataclass
class _Queued:
    call: Call
    requeues: int = 0
    not_before: float = 0.0


@dataclass
class RunnerSettings:
    """Settings for sending requests. The Tagging resource documents each field."""

    model: str
    prompt_version: str
    hierarchy_version: str | None
    prices: Prices
    concurrency: int = 4
    batch_threshold: int | None = 200
    batch_poll_seconds: float = 30.0
    batch_resubmits: int = 1
    max_requeues: int = 3
    max_retry_after_seconds: float = 30.0
    write_cache: bool = True
    read_cache: bool = True


@dataclass
class CallRunner:
    """Runs calls for one asset step; the DuckDB connection is used from this thread only."""

    connection: duckdb.DuckDBPyConnection
    client: anthropic.Anthropic
    settings: RunnerSettings
    budget: Budget
    totals: UsageTotals = field(default_factory=UsageTotals)
    log: Callable[[str], None] = logger.info
    sleep: Callable[[float], None] = time.sleep

    def run(self, calls: Sequence[Call], *, use_cache: bool = True) -> dict[str, Outcome]:
        """Return an outcome per cache key. With use_cache False, stored responses are skipped."""
        merged: dict[str, Call] = {}
        for call in calls:
            if call.cache_key in merged:
                merged[call.cache_key].owners.extend(call.owners)
            else:
                merged[call.cache_key] = Call(
                    call.cache_key, call.request_hash, call.body, list(call.owners),
                    call.estimate_usd,
                )
        outcomes: dict[str, Outcome] = {}
        misses = []
        for call in merged.values():
            entry = None
            if use_cache and self.settings.read_cache:
                entry = cache.lookup(self.connection, call.cache_key)
            if entry is None:
                misses.append(call)
                continue
            self.totals.cache_hits += 1
            outcomes[call.cache_key] = Outcome(response=entry.response, from_cache=True)
            if self.settings.write_cache:
                # Rows for conversations that share the text, so each can be forgotten alone.
                self._store(call, entry.response, cost_usd=0.0, via_batch=False, only_new=True)
        if not misses:
            return outcomes
        threshold = self.settings.batch_threshold
        if threshold is not None and len(misses) >= threshold:
            outcomes.update(self._run_batch(misses))
        else:
            outcomes.update(self._run_messages(misses))
        return outcomes

    # Messages API -------------------------------------------------------------------------

    def _run_messages(self, calls: Sequence[Call]) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        queue = deque(_Queued(call) for call in calls)
        in_flight: dict[Future, _Queued] = {}
        with ThreadPoolExecutor(max_workers=max(1, self.settings.concurrency)) as pool:
            while queue or in_flight:
                self._submit_ready(pool, queue, in_flight, outcomes)
                if not in_flight:
                    if not queue:
                        break
                    wait_seconds = min(item.not_before for item in queue) - time.monotonic()
                    if wait_seconds > self.settings.max_retry_after_seconds:
                        for item in queue:
                            outcomes[item.call.cache_key] = Outcome(
                                deferred_reason="throttled: retry-after above the cap"
                            )
                        self.totals.count("deferred_throttled", len(queue))
                        self.log(
                            f"{len(queue)} requests still throttled; left for the next run"
                        )
                        queue.clear()
                        break
                    self.sleep(max(0.0, wait_seconds))
                    continue
                done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
                for future in done:
                    item = in_flight.pop(future)
                    self._handle_message_result(future, item, queue, outcomes)
        return outcomes

    def _submit_ready(
        self,
        pool: ThreadPoolExecutor,
        queue: deque[_Queued],
        in_flight: dict[Future, _Queued],
        outcomes: dict[str, Outcome],
    ) -> None:
        now = time.monotonic()
        for _ in range(len(queue)):
            if len(in_flight) >= max(1, self.settings.concurrency):
                return
            item = queue.popleft()
            if item.not_before > now:
                queue.append(item)
                continue
            if not self.budget.try_reserve(item.call.estimate_usd):
                self._stop_for_budget(item, queue, outcomes)
                return
            in_flight[pool.submit(self._send, item.call.body)] = item

    def _stop_for_budget(
        self, item: _Queued, queue: deque[_Queued], outcomes: dict[str, Outcome]
    ) -> None:
        left = [item, *queue]
        queue.clear()
        for queued in left:
            outcomes[queued.call.cache_key] = Outcome(deferred_reason="budget")
        self.totals.count("deferred_budget", len(left))
        self.log(
            f"budget of ${self.budget.limit_usd:.2f} reached (${self.budget.spent_usd:.4f} "
            f"spent, next request estimated at ${item.call.estimate_usd:.4f}); "
            f"{len(left)} requests left for the next run"
        )

    def _send(self, body: dict) -> dict:
        message = self.client.messages.create(**body)
        return message.model_dump(mode="json", exclude_none=True)

    def _handle_message_result(
        self,
        future: Future,
        item: _Queued,
        queue: deque[_Queued],
        outcomes: dict[str, Outcome],
    ) -> None:
        call = item.call
        try:
            response = future.result()
        except RetryLater as error:
            self.budget.settle(call.estimate_usd, 0.0)
            self._requeue(item, queue, outcomes, error.seconds, str(error))
            return
        except (
            anthropic.RateLimitError,
            anthropic.InternalServerError,
            anthropic.APIConnectionError,
        ) as error:
            self.budget.settle(call.estimate_usd, 0.0)
            delay = min(self.settings.max_retry_after_seconds, 2.0**item.requeues)
            self._requeue(item, queue, outcomes, delay, _describe(error))
            return
        except (anthropic.AuthenticationError, anthropic.PermissionDeniedError):
            raise
        except anthropic.APIStatusError as error:
            self.budget.settle(call.estimate_usd, 0.0)
            error_type, message = _error_fields(error)
            outcomes[call.cache_key] = Outcome(error_type=error_type, error_message=message)
            self.log(f"request {call.cache_key[:12]} failed: {error_type}: {message}")
            return
        cost = self.settings.prices.cost_usd(Usage.from_response(response))
        self.budget.settle(call.estimate_usd, cost)
        self.totals.add(Usage.from_response(response), cost, batch=False)
        self._store(call, response, cost_usd=cost, via_batch=False)
        outcomes[call.cache_key] = Outcome(response=response)

    def _requeue(
        self,
        item: _Queued,
        queue: deque[_Queued],
        outcomes: dict[str, Outcome],
        delay: float,
        reason: str,
    ) -> None:
        if item.requeues >= self.settings.max_requeues:
            outcomes[item.call.cache_key] = Outcome(deferred_reason=f"throttled: {reason}")
            self.totals.count("deferred_throttled")
            self.log(f"request {item.call.cache_key[:12]} still throttled ({reason}); left for "
                     "the next run")
            return
        item.requeues += 1
        item.not_before = time.monotonic() + delay
        self.totals.count("requeued")
        self.log(f"request {item.call.cache_key[:12]} re-queued after {reason}")
        queue.append(item)

    # Message Batches API ------------------------------------------------------------------

    def _run_batch(self, calls: Sequence[Call]) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        discount = 1 - self.settings.prices.batch_discount
        affordable: list[Call] = []
        for index, call in enumerate(calls):
            if not self.budget.try_reserve(call.estimate_usd * discount):
                left = list(calls[index:])
                for skipped in left:
                    outcomes[skipped.cache_key] = Outcome(deferred_reason="budget")
                self.totals.count("deferred_budget", len(left))
                self.log(
                    f"budget of ${self.budget.limit_usd:.2f} reached; {len(left)} requests "
                    "left out of the batch for the next run"
                )
                break
            affordable.append(call)
        pending = affordable
        for attempt in range(1 + max(0, self.settings.batch_resubmits)):
            if not pending:
                break
            batch_id = self._submit_batch(pending, attempt)
            results = self.finish_batch(batch_id)
            retry = []
            for call in pending:
                state, payload = results.get(call.custom_id, ("missing", None))
                if state == "succeeded":
                    outcomes[call.cache_key] = Outcome(response=payload)
                elif state == "errored" and _batch_error_type(payload) not in RETRYABLE_BATCH_ERRORS:
                    error = (payload or {}).get("error", {}).get("error", {})
                    outcomes[call.cache_key] = Outcome(
                        error_type=error.get("type"), error_message=error.get("message")
                    )
                else:
                    retry.append(call)
            pending = retry
        for call in affordable:
            self.budget.settle(call.estimate_usd * discount, 0.0)
        for call in pending:
            outcomes[call.cache_key] = Outcome(deferred_reason="batch item errored or expired")
        if pending:
            self.totals.count("deferred_batch_errors", len(pending))
            self.log(f"{len(pending)} batch requests errored or expired twice; left for the next run")
        return outcomes

    def _submit_batch(self, calls: Sequence[Call], attempt: int) -> str:
        requests = [{"custom_id": call.custom_id, "params": call.body} for call in calls]
        batch = self.client.messages.batches.create(requests=requests)
        purpose = calls[0].owners[0].purpose if calls and calls[0].owners else ""
        # Stored before polling, so a restarted run polls this batch instead of resubmitting.
        self.connection.execute("begin transaction")
        self.connection.execute(
            "insert into raw.llm_batches (batch_id, purpose, request_count, status) "
            "values (?, ?, ?, 'in_progress')",
            [batch.id, purpose, len(calls)],
        )
        self.connection.executemany(
            """
            insert or replace into raw.llm_batch_items (
                batch_id, custom_id, cache_key, request_hash, source, conversation_id,
                purpose, state, error_json, item_index, answer_key
            )
            values (?, ?, ?, ?, ?, ?, ?, 'submitted', null, ?, ?)
            """,
            [
                (
                    batch.id,
                    call.custom_id,
                    call.cache_key,
                    call.request_hash,
                    owner.source,
                    owner.conversation_id,
                    owner.purpose,
                    owner.item_index,
                    owner.answer_key,
                )
                for call in calls
                for owner in call.owners
            ],
        )
        self.connection.execute("commit")
        self.log(
            f"submitted message batch {batch.id} with {len(calls)} requests"
            + (f" (resubmission {attempt})" if attempt else "")
        )
        return batch.id

    def resume_batches(self) -> int:
        """Poll and store every batch a stopped run submitted; return how many there were."""
        rows = self.connection.execute(
            "select batch_id from raw.llm_batches where status = 'in_progress' order by submitted_at"
        ).fetchall()
        for (batch_id,) in rows:
            self.log(f"resuming message batch {batch_id} submitted by an earlier run")
            self.finish_batch(batch_id)
        return len(rows)

    def finish_batch(self, batch_id: str) -> dict[str, tuple[str, dict | None]]:
        """Poll a batch until it ends, store its results, and return them by custom_id."""
        while True:
            batch = self.client.messages.batches.retrieve(batch_id)
            if batch.processing_status == "ended":
                break
            self.sleep(self.settings.batch_poll_seconds)
        items: dict[str, list[tuple]] = {}
        for (
            custom_id, cache_key, request_hash, source, conversation_id, purpose, item_index,
            answer_key,
        ) in self.connection.execute(
            """
            select custom_id, cache_key, request_hash, source, conversation_id, purpose,
                item_index, answer_key
            from raw.llm_batch_items where batch_id = ?
            """,
            [batch_id],
        ).fetchall():
            owner = cache.CacheOwner(source, conversation_id, purpose, item_index, answer_key)
            items.setdefault(custom_id, []).append((cache_key, request_hash, owner))
        results: dict[str, tuple[str, dict | None]] = {}
        for entry in self.client.messages.batches.results(batch_id):
            line = entry.model_dump(mode="json", exclude_none=True)
            custom_id = line.get("custom_id", "")
            result = line.get("result", {})
            state = result.get("type", "unknown")
            owners = items.get(custom_id)
            if not owners:
                self.log(f"batch {batch_id} returned unknown custom_id {custom_id!r}; ignored")
                continue
            cache_key, request_hash, _ = owners[0]
            if state == "succeeded":
                response = result["message"]
                usage = Usage.from_response(response)
                cost = self.settings.prices.cost_usd(usage, batch=True)
                self.totals.add(usage, cost, batch=True)
                self.budget.spent_usd += cost
                call = Call(cache_key, request_hash, {}, [owner for *_, owner in owners], 0.0)
                self._store(call, response, cost_usd=cost, via_batch=True)
                results[custom_id] = (state, response)
            else:
                results[custom_id] = (state, result)
            self.connection.execute(
                "update raw.llm_batch_items set state = ?, error_json = ? "
                "where batch_id = ? and custom_id = ?",
                [
                    state,
                    None if state == "succeeded" else cache.canonical_json(result),
                    batch_id,
                    custom_id,
                ],
            )
        self.connection.execute(
            "update raw.llm_batches set status = 'ended', results_stored_at = current_timestamp "
            "where batch_id = ?",
            [batch_id],
        )
        counts: dict[str, int] = {}
        for state, _ in results.values():
            counts[state] = counts.get(state, 0) + 1
        self.log(f"message batch {batch_id} ended: {counts}")
        return results

    def _store(
        self, call: Call, response: dict, *, cost_usd: float, via_batch: bool, only_new: bool = False
    ) -> None:
        if not self.settings.write_cache:
            return
        owners = call.owners
        if only_new:
            owners = [
                owner
                for owner in owners
                if self.connection.execute(
                    "select 1 from raw.llm_cache where cache_key = ? and source = ? "
                    "and conversation_id = ?",
                    [call.cache_key, owner.source, owner.conversation_id],
                ).fetchone()
                is None
            ]
        if not owners:
            return
        grouped = [owner for owner in owners if owner.item_index is not None]
        if grouped:
            self._store_slices(call, grouped, response, cost_usd=cost_usd, via_batch=via_batch)
            owners = [owner for owner in owners if owner.item_index is None]
            if not owners:
                return
        cache.store(
            self.connection,
            cache_key=call.cache_key,
            request_hash=call.request_hash,
            owners=owners,
            model=self.settings.model,
            prompt_version=self.settings.prompt_version,
            hierarchy_version=self.settings.hierarchy_version,
            response=response,
            cost_usd=cost_usd,
            via_batch=via_batch,
        )

    def _store_slices(
        self,
        call: Call,
        owners: list[cache.CacheOwner],
        response: dict,
        *,
        cost_usd: float,
        via_batch: bool,
    ) -> None:
        """Store each conversation's slice of a group response under its answer key."""
        indexes = sorted({owner.item_index for owner in owners})
        for position, index in enumerate(indexes):
            members = [owner for owner in owners if owner.item_index == index]
            cache.store(
                self.connection,
                cache_key=members[0].answer_key or call.cache_key,
                request_hash=call.request_hash,
                owners=members,
                model=self.settings.model,
                prompt_version=self.settings.prompt_version,
                hierarchy_version=self.settings.hierarchy_version,
                response=cache.slice_response(response, index, position, len(indexes)),
                cost_usd=cost_usd / len(indexes),
                via_batch=via_batch,
            )


def _error_fields(error: anthropic.APIStatusError) -> tuple[str, str]:
    body = error.body if isinstance(error.body, dict) else {}
    inner = body.get("error", body) if isinstance(body, dict) else {}
    error_type = inner.get("type") if isinstance(inner, dict) else None
    message = inner.get("message") if isinstance(inner, dict) else None
    return error_type or f"http_{error.status_code}", message or str(error)


def _describe(error: Exception) -> str:
    if isinstance(error, anthropic.APIStatusError):
        error_type, _ = _error_fields(error)
        return f"HTTP {error.status_code} {error_type}"
    return type(error).__name__


def _batch_error_type(payload: dict | None) -> str | None:
    return ((payload or {}).get("error") or {}).get("error", {}).get("type")
