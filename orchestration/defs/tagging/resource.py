"""The tagging resource: which backend tags conversations, and how it is built."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import httpx2
from pydantic import model_validator

from orchestration import settings
from orchestration.defs.llm.cache import ensure_cache_tables
from orchestration.defs.llm.client import ClientSettings, make_client, validate_settings
from orchestration.defs.llm.pricing import Prices
from orchestration.defs.llm.runner import Budget, CallRunner, RunnerSettings
from orchestration.defs.tagging import embedding
from orchestration.defs.tagging.claude import TASK_INPUTS, ClaudeTagger
from orchestration.defs.tagging.hierarchy import load_hierarchy, load_skills
from orchestration.defs.tagging.hybrid import HybridTagger, LearningSettings
from orchestration.defs.tagging.offline import OfflineTagger, TaskStatement
from orchestration.defs.tagging.prompts import PROMPT_VERSION
from orchestration.defs.tagging.replay import RecordedExchanges, ReplayTransport, WarehouseResponses

BACKENDS = ("offline", "claude", "replay", "hybrid")
# Backends that send requests to the API and so need a key.
KEYED_BACKENDS = ("claude", "hybrid")
DEFAULT_MODEL = "claude-haiku-4-5"
# Conversations per page when batch_size is unset. The model-backed backends read larger
# pages because call 2 sends one request per middle group and page. On the 3,994 sample
# conversations, pages of 2,000 cut task requests from 1,454 to 613 (bench/estimate_cost.py). A page of 2,000 conversations is a few megabytes of text.
DEFAULT_BATCH_SIZES = {"offline": 500, "claude": 2000, "replay": 2000, "hybrid": 2000}
# The key the replay backend sends; the replay transport never checks it.
REPLAY_API_KEY = "replay-no-key"

logger = logging.getLogger(__name__)


class Tagging(dg.ConfigurableResource):
    """Tags conversations with an O*NET task and an interaction mode.

    Prices are US dollars per million tokens (claude-haiku-4-5's list prices by default).
    """

    backend: str = "offline"
    # Conversations tagged and written per batch (page), so memory stays bounded. With the
    # claude backend a batch at or above batch_threshold goes to the Message Batches API as
    # one batch. None (the default) takes DEFAULT_BATCH_SIZES for the backend.
    batch_size: int | None = None
    min_similarity: float | None = None
    # ANTHROPIC_API_KEY through dg.EnvVar; only the claude and hybrid backends need it.
    api_key: str | None = None
    model: str = DEFAULT_MODEL
    # Output limit per conversation. A request for a group of n conversations gets n times
    # this, at most 21,333, the largest non-streaming limit that anthropic 2.x accepts.
    max_tokens: int = 1024
    # Conversations sent in one request at most, and their characters at most.
    group_size: int = 20
    group_max_chars: int = 60_000
    # What the task call (call 2) shows of each conversation: "summary", the call-1 summary
    # written without personal details, or "conversation", the scrubbed conversation.
    task_input: str = "summary"
    # Messages API requests in flight at once.
    concurrency: int = 4
    # Requests per stage from which the Message Batches API is used; None never uses it.
    batch_threshold: int | None = 200
    batch_poll_seconds: float = 30.0
    # Times errored or expired batch items are submitted again within a run.
    batch_resubmits: int = 1
    # Spending limit per run in US dollars; None has no limit.
    budget_usd: float | None = None
    # Retries the SDK makes itself on 408, 409, 429 and 5xx responses.
    max_retries: int = 2
    # A retry-after longer than this many seconds re-queues the request instead of waiting.
    max_retry_after_seconds: float = 30.0
    # Times one request is re-queued after throttling before it is left for the next run.
    max_requeues: int = 3
    price_input: float = 1.00
    price_output: float = 5.00
    price_cache_write: float = 1.25
    price_cache_read: float = 0.10
    batch_discount: float = 0.5
    context_window_tokens: int = 200_000
    # Version of raw.task_hierarchy to offer; None takes the latest.
    hierarchy_version: str | None = None
    # JSONL file or folder of recorded exchanges for the replay backend (REPLAY_DIR).
    replay_dir: str | None = None
    base_url: str | None = None
    # Offline encoder: auto, embedding, static, cascade or tfidf; None reads TAGGING_ENCODER
    # (default auto).
    encoder: str | None = None
    # Share of each batch the cascade encoder (and auto) reads with the model, 0 to 1; lower
    # is faster and less accurate. None reads TAGGING_CASCADE_SHARE (default 0.6).
    cascade_share: float | None = None
    # Tag only with tasks that have a published usage share.
    # None reads TAGGING_USAGE_PRIOR (default on).
    use_usage_prior: bool | None = None
    # Hybrid backend: share of conversations Claude tags as the sample the offline tagger
    # learns from, chosen by a hash of (source, conversation_id).
    learn_sample_fraction: float = 0.05
    # Share of the sample held back from training to measure agreement with Claude.
    learn_held_back_fraction: float = 0.2
    # Offline confidence below which a conversation outside the sample goes to Claude.
    escalate_below: float = 0.5
    # Conversations sent to Claude per run for low confidence; None has no limit.
    max_escalations: int | None = 500

    @model_validator(mode="before")
    @classmethod
    def _default_batch_size(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("batch_size") is None:
            backend = data.get("backend", "offline")
            return {**data, "batch_size": DEFAULT_BATCH_SIZES.get(backend, 500)}
        return data

    @model_validator(mode="after")
    def _check_settings(self) -> Tagging:
        if self.backend not in BACKENDS:
            raise ValueError(
                f"unknown tagging backend {self.backend!r}; use one of {', '.join(BACKENDS)}"
            )
        if self.backend in KEYED_BACKENDS and not self.api_key:
            raise ValueError(
                f"the {self.backend} tagging backend needs an API key: set ANTHROPIC_API_KEY, "
                "or set TAGGING_BACKEND=offline"
            )
        if self.batch_size is None or self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.cascade_share is not None and not 0.0 <= self.cascade_share <= 1.0:
            raise ValueError(f"cascade_share must be from 0 to 1, got {self.cascade_share}")
        if self.backend == "hybrid":
            self._check_learning()
        if self.backend in ("claude", "replay", "hybrid"):
            validate_settings(self.model, self.max_tokens, self.max_retries)
            if self.concurrency < 1:
                raise ValueError(f"concurrency must be at least 1, got {self.concurrency}")
            if self.group_size < 1:
                raise ValueError(f"group_size must be at least 1, got {self.group_size}")
            if self.task_input not in TASK_INPUTS:
                raise ValueError(
                    f"task_input must be one of {', '.join(TASK_INPUTS)}, got {self.task_input!r}"
                )
            if self.budget_usd is not None and self.budget_usd < 0:
                raise ValueError(f"budget_usd must be 0 or more, got {self.budget_usd}")
        return self

    def _check_learning(self) -> None:
        if not 0 < self.learn_sample_fraction <= 1:
            raise ValueError(
                f"learn_sample_fraction must be above 0 and at most 1, got {self.learn_sample_fraction}"
            )
        if not 0 <= self.learn_held_back_fraction < 1:
            raise ValueError(
                "learn_held_back_fraction must be at least 0 and below 1, "
                f"got {self.learn_held_back_fraction}"
            )
        if self.escalate_below < 0:
            raise ValueError(f"escalate_below must be 0 or more, got {self.escalate_below}")
        if self.max_escalations is not None and self.max_escalations < 0:
            raise ValueError(f"max_escalations must be 0 or more, got {self.max_escalations}")

    def learning_settings(self) -> LearningSettings:
        return LearningSettings(
            sample_fraction=self.learn_sample_fraction,
            held_back_fraction=self.learn_held_back_fraction,
            escalate_below=self.escalate_below,
            max_escalations=self.max_escalations,
        )

    def prices(self) -> Prices:
        return Prices(
            input=self.price_input,
            output=self.price_output,
            cache_write=self.price_cache_write,
            cache_read=self.price_cache_read,
            batch_discount=self.batch_discount,
        )

    def make_http_client(self, connection: duckdb.DuckDBPyConnection) -> httpx2.Client | None:
        """Return the HTTP client the SDK uses; None lets the SDK build its own."""
        if self.backend != "replay":
            return None
        sources = [WarehouseResponses(connection).get]
        replay_dir = self.replay_dir or settings.replay_dir()
        if replay_dir:
            sources.insert(0, RecordedExchanges(Path(replay_dir)).get)
        return httpx2.Client(transport=ReplayTransport(sources))

    def build_tagger(
        self,
        connection: duckdb.DuckDBPyConnection,
        log: Callable[[str], None] | None = None,
    ) -> OfflineTagger | ClaudeTagger | HybridTagger:
        """Build the backend once per run; Claude first finishes batches a stopped run left.

        The hybrid backend still has to learn: the tagging asset calls its `learn` first.
        """
        log = log or logger.info
        if self.backend == "offline":
            return self._build_offline(connection, log)
        claude = self._build_claude(connection, log)
        if self.backend != "hybrid":
            return claude
        offline = self._build_offline(connection, log)
        return HybridTagger(connection, claude, offline, self.learning_settings(), log=log)

    def _build_claude(
        self, connection: duckdb.DuckDBPyConnection, log: Callable[[str], None]
    ) -> ClaudeTagger:
        hierarchy = load_hierarchy(connection, self.hierarchy_version)
        skills = load_skills(connection)
        ensure_cache_tables(connection)
        runner = self.build_runner(connection, log, hierarchy_version=hierarchy.version)
        tagger = ClaudeTagger(
            connection=connection,
            runner=runner,
            hierarchy=hierarchy,
            skills=skills,
            model=self.model,
            max_tokens=self.max_tokens,
            prices=self.prices(),
            context_window_tokens=self.context_window_tokens,
            # Hybrid's Claude tags are ordinary claude rows, so both backends share them.
            backend="replay" if self.backend == "replay" else "claude",
            log=log,
            group_size=self.group_size,
            group_max_chars=self.group_max_chars,
            task_input=self.task_input,
        )
        if self.backend in KEYED_BACKENDS:
            runner.resume_batches()
        return tagger

    def build_runner(
        self,
        connection: duckdb.DuckDBPyConnection,
        log: Callable[[str], None],
        *,
        prompt_version: str = PROMPT_VERSION,
        hierarchy_version: str | None = None,
        max_tokens: int | None = None,
    ) -> CallRunner:
        """Return a call runner with this resource's client, model, prices, limits and budget.

        Tagging and cluster naming share it, so both go through the same cache and budget.
        """
        replay = self.backend == "replay"
        client = make_client(
            ClientSettings(
                api_key=REPLAY_API_KEY if replay else str(self.api_key),
                model=self.model,
                max_tokens=max_tokens or self.max_tokens,
                max_retries=self.max_retries,
                max_retry_after_seconds=self.max_retry_after_seconds,
                base_url=self.base_url,
            ),
            http_client=self.make_http_client(connection),
        )
        runner_settings = RunnerSettings(
            model=self.model,
            prompt_version=prompt_version,
            hierarchy_version=hierarchy_version,
            prices=self.prices(),
            concurrency=self.concurrency,
            # Replay never batches and writes no cache rows of its own.
            batch_threshold=None if replay else self.batch_threshold,
            batch_poll_seconds=self.batch_poll_seconds,
            batch_resubmits=self.batch_resubmits,
            max_requeues=self.max_requeues,
            max_retry_after_seconds=self.max_retry_after_seconds,
            write_cache=not replay,
            read_cache=not replay,
        )
        return CallRunner(
            connection=connection,
            client=client,
            settings=runner_settings,
            budget=Budget(self.budget_usd),
            log=log,
        )

    def _build_offline(
        self, connection: duckdb.DuckDBPyConnection, log: Callable[[str], None] = logger.info
    ) -> OfflineTagger:
        rows = connection.execute(
            """
            select task_id, task_statement, occupation_title, onet_soc_code
            from raw.onet_task_statements
            """
        ).fetchall()
        statements = [TaskStatement(int(row[0]), row[1], row[2], row[3]) for row in rows]
        use_prior = self.use_usage_prior
        if use_prior is None:
            use_prior = settings.tagging_usage_prior()
        options = {
            "encoder": self.encoder or settings.tagging_encoder(),
            "usage_shares": read_usage_shares(connection) if use_prior else None,
            "cache_dir": settings.embedding_cache_dir(),
        }
        if self.min_similarity is not None:
            options["min_similarity"] = self.min_similarity
        share = self.cascade_share
        if share is None:
            share = settings.tagging_cascade_share()
        if share is not None:
            options["cascade_share"] = share
        if options["encoder"] == "tfidf" or not embedding.available():
            log("building the offline tagger (TF-IDF)")
        else:
            log(
                f"building the offline tagger (encoder {options['encoder']}): a first run "
                "embeds the task statements and their words once, about a minute on 2 cores; "
                f"later runs read them from {options['cache_dir']}"
            )
        return OfflineTagger(statements, **options)


def read_usage_shares(connection: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Return the published usage share per lower-cased task statement from raw.aei_task_mappings."""
    exists = connection.execute(
        """
        select count(*) from information_schema.tables
        where table_schema = 'raw' and table_name = 'aei_task_mappings'
        """
    ).fetchone()[0]
    if not exists:
        raise RuntimeError(
            "raw.aei_task_mappings is missing, so the usage prior cannot be applied; "
            "materialize it first or set TAGGING_USAGE_PRIOR=0"
        )
    rows = connection.execute("select task_name, pct from raw.aei_task_mappings").fetchall()
    return {name.strip().lower(): float(pct) for name, pct in rows if name and pct}
