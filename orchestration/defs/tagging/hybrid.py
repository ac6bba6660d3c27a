"""Hybrid tagging: Claude tags a sample, the offline tagger learns from it and tags the rest.

1. A fixed share of conversations, chosen by a hash of (source, conversation_id), is the
   sample. Claude tags it, and those tags are stored as ordinary claude rows, through the
   same response cache, so a rerun sends nothing again.
2. The sample is split by the same hash into a training part and a held-back part. The
   offline tagger adds the training part to its labelled examples (example vote and mode
   model), then tags the held-back part, and its agreement with Claude there is reported.
3. Every other conversation gets the learned offline tag. A tag whose confidence is
   below `escalate_below` goes to Claude instead, up to `max_escalations` per run.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb

from orchestration.defs.tagging.claude import ClaudeTagger
from orchestration.defs.tagging.labelled_examples import LabelledExample
from orchestration.defs.tagging.offline import LEARNED_SUFFIX, OfflineTagger
from orchestration.defs.tagging.records import COLLABORATION, ConversationText, TagRecord
from orchestration.defs.tagging.store import TaggerKey, read_texts, untagged_keys, write_tags

TRAIN = "train"
HELD_BACK = "held_back"
AGREEMENT_MEASURES = ("soc_major_group", "task", "interaction_mode", "collaboration")
NOT_OCCUPATIONAL = "none"


def sample_position(source: str, conversation_id: str) -> float:
    """Return a fixed number in [0, 1) for a conversation, from the sha256 of its key."""
    digest = hashlib.sha256(f"{source}\x1f{conversation_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class LearningSettings:
    """Sample size, held-back share and escalation limits of a hybrid run."""

    sample_fraction: float
    held_back_fraction: float
    escalate_below: float
    # Escalations per run; None has no limit.
    max_escalations: int | None

    def part(self, source: str, conversation_id: str) -> str | None:
        """Return TRAIN or HELD_BACK for a sample conversation, None for the rest.

        Positions below sample_fraction are the sample, and the lowest held_back_fraction
        of those are held back. A conversation keeps its part as others are added.
        """
        position = sample_position(source, conversation_id)
        if position >= self.sample_fraction:
            return None
        if position < self.sample_fraction * self.held_back_fraction:
            return HELD_BACK
        return TRAIN


@dataclass(frozen=True)
class ClaudeLabel:
    """Claude's stored tag of one sample conversation."""

    is_occupational: bool
    task_id: int | None
    onet_soc_code: str | None
    interaction_mode: str


class Agreement:
    """Counts of held-back conversations on which the offline tag matches Claude's."""

    def __init__(self) -> None:
        self.compared = 0
        self.matches: Counter[str] = Counter()

    def add(self, claude: dict[str, str], offline: dict[str, str]) -> None:
        self.compared += 1
        for measure in AGREEMENT_MEASURES:
            self.matches[measure] += claude[measure] == offline[measure]

    def as_metadata(self) -> dict[str, float | None]:
        return {
            f"agreement_{measure}": (
                round(self.matches[measure] / self.compared, 4) if self.compared else None
            )
            for measure in AGREEMENT_MEASURES
        }


def compared_fields(
    is_occupational: bool, task_id: int | None, interaction_mode: str, soc_groups: dict[int, str]
) -> dict[str, str]:
    """Return the values compared between two tags; not occupational is a value of its own."""
    occupational = is_occupational and task_id is not None
    return {
        "soc_major_group": soc_groups.get(task_id, "unknown") if occupational else NOT_OCCUPATIONAL,
        "task": str(task_id) if occupational else NOT_OCCUPATIONAL,
        "interaction_mode": interaction_mode,
        "collaboration": COLLABORATION.get(interaction_mode, "none"),
    }


class HybridTagger:
    """Tags a sample with Claude, learns from it offline and escalates unsure offline tags.

    Call `learn` once before `tag`. Rows keep the backend that produced them: `claude` for
    the sample and escalations, `offline` with a `+learned` prompt version for the rest.
    """

    backend = "hybrid"

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        claude: ClaudeTagger,
        offline: OfflineTagger,
        settings: LearningSettings,
        log: Callable[[str], None] = print,
    ) -> None:
        self.connection = connection
        self.claude = claude
        self.offline = offline
        self.settings = settings
        self.log = log
        self.learned: OfflineTagger | None = None
        self.model = offline.model
        self.prompt_version = offline.prompt_version + LEARNED_SUFFIX
        self.counts: Counter[str] = Counter()
        self.agreement = Agreement()
        self._sample_occupational_share = 0.0
        self._held_back_count = 0
        self._train_count = 0

    @property
    def task_count(self) -> int:
        return self.offline.task_count

    @property
    def claude_key(self) -> TaggerKey:
        return (self.claude.backend, self.claude.model, self.claude.prompt_version)

    @property
    def done_by(self) -> list[TaggerKey]:
        """Taggers whose rows count a conversation as done: the learned offline one, Claude."""
        return [(self.offline.backend, self.model, self.prompt_version), self.claude_key]

    # Learning -----------------------------------------------------------------------------

    def learn(self, batch_size: int) -> None:
        """Tag the untagged part of the sample with Claude, then train and measure offline.

        Training is skipped when no sample conversation was tagged this run and no other
        conversation is left to tag, so a rerun over tagged data embeds nothing.
        """
        self._tag_sample(batch_size)
        if not self.counts["sample_tagged_this_run"] and not self._rest_left(batch_size):
            self.log("every conversation is tagged; the offline tagger does not learn this run")
            return
        labels = self._read_claude_labels()
        train = {key: label for key, (part, label) in labels.items() if part == TRAIN}
        held_back = {key: label for key, (part, label) in labels.items() if part == HELD_BACK}
        self._train_count = len(train)
        self._held_back_count = len(held_back)
        if labels:
            occupational = sum(label.is_occupational for _, label in labels.values())
            self._sample_occupational_share = occupational / len(labels)
        examples = self._training_examples(train, batch_size)
        self.counts["learn_examples"] = len(examples)
        self.learned = self.offline.with_extra_examples(examples)
        self.log(
            f"offline tagger learned from {len(examples)} conversations tagged by Claude; "
            f"{len(held_back)} held back to measure agreement"
        )
        self._measure_agreement(held_back, self._read_soc_groups(), batch_size)

    def _rest_left(self, batch_size: int) -> bool:
        return any(
            self.settings.part(*key) is None
            for keys in untagged_keys(self.connection, self.done_by, batch_size)
            for key in keys
        )

    def _tag_sample(self, batch_size: int) -> None:
        for keys in untagged_keys(self.connection, [self.claude_key], batch_size):
            sample = [key for key in keys if self.settings.part(*key) is not None]
            if not sample:
                continue
            if self.claude.exhausted:
                self.counts["sample_deferred"] += len(sample)
                continue
            records = self.claude.tag(read_texts(self.connection, sample))
            self.connection.execute("begin transaction")
            write_tags(self.connection, records)
            self.connection.execute("commit")
            self.counts["sample_tagged_this_run"] += len(records)
            self.counts["sample_deferred"] += len(sample) - len(records)

    def _read_claude_labels(self) -> dict[tuple[str, str], tuple[str, ClaudeLabel]]:
        """Return the part and Claude's label of every sample conversation Claude tagged."""
        rows = self.connection.execute(
            """
            select tags.source, tags.conversation_id, tags.is_occupational, tags.task_id,
                tags.interaction_mode, statements.onet_soc_code
            from raw.conversation_tags as tags
            left join (
                select task_id, min(onet_soc_code) as onet_soc_code
                from raw.onet_task_statements
                group by task_id
            ) as statements
                on tags.task_id = statements.task_id
            where tags.backend = ? and tags.model = ? and tags.prompt_version = ?
                and coalesce(tags.status, 'tagged') = 'tagged'
            """,
            list(self.claude_key),
        ).fetchall()
        labels = {}
        for source, conversation_id, occupational, task_id, mode, soc_code in rows:
            # Escalated conversations are Claude rows too, but outside the sample.
            part = self.settings.part(source, conversation_id)
            if part is not None:
                label = ClaudeLabel(bool(occupational), task_id, soc_code, mode)
                labels[(source, conversation_id)] = (part, label)
        return labels

    def _read_soc_groups(self) -> dict[int, str]:
        rows = self.connection.execute(
            """
            select task_id, substr(min(onet_soc_code), 1, 2)
            from raw.onet_task_statements
            group by task_id
            """
        ).fetchall()
        return {int(task_id): group for task_id, group in rows}

    def _training_examples(
        self, labels: dict[tuple[str, str], ClaudeLabel], batch_size: int
    ) -> list[LabelledExample]:
        examples = []
        keys = sorted(labels)
        for start in range(0, len(keys), batch_size):
            for conversation in read_texts(self.connection, keys[start : start + batch_size]):
                label = labels[(conversation.source, conversation.conversation_id)]
                example = _example(conversation, label)
                if example is None:
                    self.counts["learn_skipped"] += 1
                else:
                    examples.append(example)
        return examples

    def _measure_agreement(
        self,
        held_back: dict[tuple[str, str], ClaudeLabel],
        soc_groups: dict[int, str],
        batch_size: int,
    ) -> None:
        # A copy with run counts of its own, so held-back conversations stay out of run_stats.
        evaluator = self.learned.with_extra_examples((), version_suffix="")
        keys = sorted(held_back)
        for start in range(0, len(keys), batch_size):
            conversations = read_texts(self.connection, keys[start : start + batch_size])
            for record in evaluator.tag(conversations):
                label = held_back[(record.source, record.conversation_id)]
                self.agreement.add(
                    compared_fields(
                        label.is_occupational, label.task_id, label.interaction_mode, soc_groups
                    ),
                    compared_fields(
                        record.status == "tagged" and record.is_occupational,
                        record.task_id,
                        record.interaction_mode,
                        soc_groups,
                    ),
                )

    # Tagging ------------------------------------------------------------------------------

    def tag(self, conversations: Sequence[ConversationText]) -> list[TagRecord]:
        """Tag conversations outside the sample offline; send unsure ones to Claude.

        Sample conversations that Claude has not tagged yet (budget or throttling) get no
        record, so the next run sends them to Claude again. A conversation that Claude
        fails on, or that throttling or the budget keeps from Claude, keeps its offline tag.
        """
        rest = [
            item
            for item in conversations
            if self.settings.part(item.source, item.conversation_id) is None
        ]
        self.counts["sample_waiting"] += len(conversations) - len(rest)
        if not rest:
            return []
        if self.learned is None:
            raise RuntimeError("call learn() before tag()")
        offline_records = self.learned.tag(rest)
        unsure = [
            index
            for index, record in enumerate(offline_records)
            if record.status == "tagged"
            and (record.confidence or 0.0) < self.settings.escalate_below
        ]
        escalate = unsure[: self._escalations_left()]
        self.counts["escalation_capped"] += len(unsure) - len(escalate)
        answered = self._escalate([rest[index] for index in escalate])
        escalated = set(escalate)
        records = []
        for index, record in enumerate(offline_records):
            claude_record = answered.get((record.source, record.conversation_id))
            if index not in escalated:
                self.counts["offline_tagged"] += 1
                records.append(record)
            elif claude_record is None:
                self.counts["escalation_deferred"] += 1
                self.counts["offline_tagged"] += 1
                records.append(record)
            elif claude_record.status != "tagged":
                # The failed row records why Claude gave no tag; the offline tag counts.
                self.counts["escalation_failed"] += 1
                self.counts["offline_tagged"] += 1
                records.extend([claude_record, record])
            else:
                self.counts["escalated"] += 1
                records.append(claude_record)
        return records

    def _escalations_left(self) -> int:
        if self.settings.max_escalations is None:
            return 1 << 62
        sent = self.counts["escalated"] + self.counts["escalation_failed"]
        sent += self.counts["escalation_deferred"]
        return max(0, self.settings.max_escalations - sent)

    def _escalate(self, conversations: list[ConversationText]) -> dict[tuple[str, str], TagRecord]:
        if not conversations or self.claude.exhausted:
            return {}
        return {
            (record.source, record.conversation_id): record
            for record in self.claude.tag(conversations)
        }

    # Metadata -----------------------------------------------------------------------------

    def run_stats(self) -> dict[str, object]:
        """Return the learned offline tagger's language counts over this run's conversations."""
        return self.learned.run_stats() if self.learned is not None else {}

    def usage_metadata(self) -> dict[str, object]:
        """Return Claude's usage with the sample split, agreement and escalation counts."""
        usage = self.claude.usage_metadata()
        sent = self.counts["sample_tagged_this_run"] + self.counts["escalated"]
        if sent and usage["llm_calls"]:
            # Requests carry groups of conversations, so the rate comes from this run's calls.
            calls_per_conversation = usage["llm_calls"] / sent
            cost_per_conversation = usage["cost_usd"] / sent
        else:
            # Nothing went to Claude this run: assume full groups, one screen request and,
            # for the sample's occupational share, one task request per group.
            calls_per_conversation = (1 + self._sample_occupational_share) / self.claude.group_size
            cost_per_conversation = None
        kept_offline = self.counts["offline_tagged"]
        return {
            **usage,
            "claude_model": self.claude.model,
            "learn_sample_fraction": self.settings.sample_fraction,
            "learn_sample_tagged": self._train_count + self._held_back_count,
            "learn_sample_tagged_this_run": self.counts["sample_tagged_this_run"],
            "learn_sample_deferred": self.counts["sample_deferred"],
            "learn_sample_waiting": self.counts["sample_waiting"],
            "learn_train": self._train_count,
            "learn_held_back": self._held_back_count,
            "learn_examples": self.counts["learn_examples"],
            "learn_skipped": self.counts["learn_skipped"],
            **self.agreement.as_metadata(),
            "offline_tagged_this_run": self.counts["offline_tagged"],
            "escalated_this_run": self.counts["escalated"],
            "escalation_failed": self.counts["escalation_failed"],
            "escalation_deferred": self.counts["escalation_deferred"],
            "escalation_capped": self.counts["escalation_capped"],
            "claude_calls_saved_estimate": round(kept_offline * calls_per_conversation),
            "claude_cost_saved_usd_estimate": (
                None
                if cost_per_conversation is None
                else round(kept_offline * cost_per_conversation, 4)
            ),
        }


def _example(conversation: ConversationText, label: ClaudeLabel) -> LabelledExample | None:
    """Return Claude's tag as a labelled example, or None when it cannot be one."""
    if not any(turn.strip() for turn in conversation.user_turns):
        return None
    if not label.is_occupational:
        return LabelledExample(conversation.user_turns, None, None, label.interaction_mode)
    if label.task_id is None or not label.onet_soc_code:
        # A task missing from raw.onet_task_statements has no SOC major group to vote for.
        return None
    return LabelledExample(
        conversation.user_turns, int(label.task_id), label.onet_soc_code, label.interaction_mode
    )
