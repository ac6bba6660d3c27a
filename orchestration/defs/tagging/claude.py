"""Claude tagging backend: two tool-use calls, grouped so that fixed prompt parts are shared.

Call 1 (record_screen) sends groups of conversations (at most `group_size` conversations
and `group_max_chars` characters), each numbered by an index, after the instructions with
the top and middle groups of the task hierarchy (system block, cache_control). The model
returns one entry per index: the screen, the groups, the mode, skills, summary and
language. Only the shared prefix is marked for the prompt cache, so each conversation is
billed once at the input price.

Call 2 (record_tasks) is grouped by the middle group that call 1 chose: one request per
middle group and group of up to `group_size` conversations of the page. It lists that
middle group's whole task list once (first user block, cache_control) and then each
conversation as its call-1 summary, or as the scrubbed conversation when `task_input` is
"conversation". The model returns one task id per index, from an enum of the listed ids.

Each conversation's response is cached on its own: its slice of the group response, keyed
by its text (call 2: its middle group and summary or text). So reruns and forgetting work
per conversation. A conversation whose entry is missing or invalid is sent again alone,
once, and then fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest

import duckdb

from orchestration.defs.llm import cache
from orchestration.defs.llm.cache import CacheOwner
from orchestration.defs.llm.client import canonical_json, request_hash
from orchestration.defs.llm.pricing import Prices
from orchestration.defs.llm.runner import Call, CallRunner, Outcome
from orchestration.defs.tagging import prompts
from orchestration.defs.tagging.hierarchy import Hierarchy
from orchestration.defs.tagging.records import INTERACTION_MODES, ConversationText, TagRecord

CACHE_CONTROL = {"type": "ephemeral"}
# Characters per token used to fit a conversation into the context window. Two is below
# English (about four), so a fit is rarely wrong. Text in scripts such as Chinese can take
# more tokens than that, and then the API's "prompt is too long" error trims further.
CHARS_PER_TOKEN = 2.0
# Tokens kept free for the model output and request framing. Call 2 fits in the same
# budget while a middle group's task list is shorter than call 1's prefix. With O*NET 20.1
# the longest list is about 5,000 tokens and the prefix about 9,700. A longer list leaves
# the "prompt is too long" retry to trim the conversation.
PROMPT_MARGIN_TOKENS = 8_000
LANGUAGE_CODE = re.compile(r"^[a-z]{2}$")
MAX_SUMMARY_CHARS = 600
# anthropic 2.x rejects a non-streaming request whose max_tokens could take more than ten
# minutes; 21,333 is the largest value it accepts for this model family.
MAX_REQUEST_OUTPUT_TOKENS = 21_333
# Allowed values of Tagging.task_input, the part of each conversation that call 2 sends.
TASK_INPUTS = tuple(prompts.TASK_INPUTS)


class InvalidAnswer(ValueError):
    """A model response that is cut off, has no tool call, or has values outside the schema."""


@dataclass(eq=False)
class _Slot:
    """One distinct request input (conversation or summary); identical inputs share one slot."""

    key: str
    items: list
    text: str
    index: int = 0


@dataclass
class _Item:
    conversation: ConversationText
    text: str
    trimmed: bool
    budget_chars: int
    screen: dict | None = None
    task_id: int | None = None
    failure: str | None = None
    deferred: bool = False

    @property
    def owner_key(self) -> tuple[str, str]:
        return (self.conversation.source, self.conversation.conversation_id)


def render_conversation(conversation: ConversationText, budget_chars: int) -> tuple[str, bool]:
    """Return the conversation as tagged turns, trimmed to budget_chars, and whether it was cut.

    A trimmed conversation keeps its first user turn and as many of its last turns as fit.
    NOTE: turns are interleaved as user, assistant, user ... because ConversationText keeps
    the two roles apart. A conversation with two user turns in a row is sent in another order.
    """
    turns = [
        (role, text)
        for pair in zip_longest(conversation.user_turns, conversation.assistant_turns)
        for role, text in zip(("user", "assistant"), pair)
        if text is not None
    ]
    blocks = [f"<{role}>\n{text}\n</{role}>" for role, text in turns]
    full = "<conversation>\n" + "\n".join(blocks) + "\n</conversation>"
    if len(full) <= budget_chars or not blocks:
        return full, False
    first = blocks[0]
    if len(first) > budget_chars // 2:
        first = first[: budget_chars // 2] + "\n[... cut ...]"
    remaining = budget_chars - len(first) - 100
    tail: list[str] = []
    for block in reversed(blocks[1:]):
        if len(block) > remaining:
            if not tail and remaining > 0:
                tail.append("[... cut ...]\n" + block[-remaining:])
            break
        tail.append(block)
        remaining -= len(block) + 1
    tail.reverse()
    omitted = len(blocks) - 1 - len(tail)
    marker = f"<omitted_turns count=\"{omitted}\"/>"
    return "<conversation>\n" + "\n".join([first, marker, *tail]) + "\n</conversation>", True


@dataclass
class ClaudeTagger:
    """Tags conversations through a CallRunner; built once per run by the Tagging resource."""

    connection: duckdb.DuckDBPyConnection
    runner: CallRunner
    hierarchy: Hierarchy
    skills: Sequence[tuple[str, str, str]]
    model: str
    max_tokens: int
    prices: Prices
    context_window_tokens: int = 200_000
    backend: str = "claude"
    prompt_version: str = prompts.PROMPT_VERSION
    log: Callable[[str], None] = print
    # Conversations per request at most, and their rendered characters at most.
    group_size: int = 20
    group_max_chars: int = 60_000
    # What call 2 shows of each conversation: "summary" (call 1's summary) or "conversation".
    task_input: str = "summary"
    _top_alias: dict = field(default_factory=dict, init=False, repr=False)
    _middle_alias: dict = field(default_factory=dict, init=False, repr=False)
    _middle_by_alias: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.group_size < 1:
            raise ValueError(f"group_size must be at least 1, got {self.group_size}")
        if self.task_input not in TASK_INPUTS:
            raise ValueError(
                f"task_input must be one of {', '.join(TASK_INPUTS)}, got {self.task_input!r}"
            )
        self._top_alias = {
            top[0]: f"t{number}" for number, top in enumerate(self.hierarchy.top_groups, 1)
        }
        self._middle_alias = {
            middle[0]: f"m{number}"
            for number, middle in enumerate(self.hierarchy.middle_groups, 1)
        }
        self._middle_by_alias = {alias: real for real, alias in self._middle_alias.items()}
        self._middle_names = {middle[0]: middle[2] for middle in self.hierarchy.middle_groups}

        self._system_text = prompts.render_system(
            [(self._top_alias[top[0]], top[1], top[2]) for top in self.hierarchy.top_groups],
            [
                (self._middle_alias[middle[0]], self._top_alias.get(middle[1], ""), *middle[2:])
                for middle in self.hierarchy.middle_groups
            ],
            self.skills,
        )
        self._tools = [
            prompts.screen_tool(
                list(self._top_alias.values()),
                list(self._middle_alias.values()),
                [skill[0] for skill in self.skills],
            )
        ]
        self._task_system_text = prompts.render_task_system(self.task_input)
        self._skill_ids = {skill[0] for skill in self.skills}

        prefix_chars = len(self._system_text) + len(canonical_json(self._tools))
        free_tokens = (
            self.context_window_tokens
            - self.max_tokens
            - PROMPT_MARGIN_TOKENS
            - int(prefix_chars / CHARS_PER_TOKEN)
        )
        if free_tokens <= 0:
            raise ValueError(
                f"the prompt alone needs about {int(prefix_chars / CHARS_PER_TOKEN)} tokens, "
                f"more than the context window of {self.context_window_tokens}"
            )
        self._conversation_budget = int(free_tokens * CHARS_PER_TOKEN)
        # A group leaves half the budget free for the larger output limit of a group request.
        self._group_chars = min(self.group_max_chars, self._conversation_budget // 2)

    @property
    def task_count(self) -> int:
        return self.hierarchy.task_count

    @property
    def exhausted(self) -> bool:
        """Return whether the budget stopped this run; later batches are not sent."""
        return self.runner.budget.exhausted

    def usage_metadata(self) -> dict:
        return self.runner.totals.as_metadata()

    # Request bodies -----------------------------------------------------------------------

    def _max_tokens(self, count: int) -> int:
        return max(self.max_tokens, min(self.max_tokens * max(1, count), MAX_REQUEST_OUTPUT_TOKENS))

    def _screen_body(self, block: Sequence[tuple[int, str]], slots: Sequence[_Slot]) -> dict:
        """Return call 1: only the shared prefix is cached, the conversations are plain input."""
        return {
            "model": self.model,
            "max_tokens": self._max_tokens(len(block)),
            "tools": self._tools,
            "tool_choice": {"type": "tool", "name": prompts.SCREEN_TOOL},
            "system": [{"type": "text", "text": self._system_text, "cache_control": CACHE_CONTROL}],
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": prompts.render_conversations(block)}],
                }
            ],
        }

    def _task_body(self, block: Sequence[tuple[int, str]], slots: Sequence[_Slot]) -> dict:
        """Return call 2 for slots of one middle group: its task list (cached), then the inputs.

        The task list block carries cache_control, so a later request for the same middle
        group reads tools, system and list from the cache. The API caches a prefix only
        from a minimum length, so a short list is billed at the input price every time.
        """
        middle = slots[0].items[0].screen["middle_group"]
        tasks = self.hierarchy.tasks.get(middle, [])
        if self.task_input == "summary":
            inputs = prompts.render_summaries(block)
        else:
            inputs = prompts.render_conversations(block)
        return {
            "model": self.model,
            "max_tokens": self._max_tokens(len(block)),
            "tools": [prompts.task_tool([task_id for task_id, _ in tasks])],
            "tool_choice": {"type": "tool", "name": prompts.TASK_TOOL},
            "system": [{"type": "text", "text": self._task_system_text}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "text",
                            "text": prompts.render_task_list(
                                self._middle_names.get(middle, middle), tasks
                            ),
                            "cache_control": CACHE_CONTROL,
                        },
                        {"type": "text", "text": inputs},
                    ],
                }
            ],
        }

    def _input_text(self, item: _Item, purpose: str) -> str:
        """Return what a request shows of one conversation for this purpose."""
        if purpose == "tag_task" and self.task_input == "summary":
            return item.screen["summary"].strip()[:MAX_SUMMARY_CHARS]
        return item.text

    def _answer_key(self, item: _Item, purpose: str) -> str:
        """Return the cache key of one conversation's response, independent of its group."""
        material = {
            "prompt_version": self.prompt_version,
            "model": self.model,
            "hierarchy_version": self.hierarchy.version,
            "purpose": purpose,
        }
        if purpose == "tag_task":
            material["middle_group"] = item.screen["middle_group"]
            # The field name keeps a summary and a conversation with the same text apart.
            material[self.task_input] = self._input_text(item, purpose)
        else:
            material["conversation"] = item.text
        return request_hash(material)

    def _call(self, body: dict, slots: Sequence[_Slot], purpose: str) -> Call:
        key_material = {
            "prompt_version": self.prompt_version,
            "model": self.model,
            "hierarchy_version": self.hierarchy.version,
            "body": body,
        }
        body_chars = len(canonical_json(body))
        estimate = (body_chars / 4) * self.prices.cache_write / 1e6 + (
            body["max_tokens"] * self.prices.output / 1e6
        )
        owners = [
            CacheOwner(
                item.conversation.source,
                item.conversation.conversation_id,
                purpose,
                slot.index,
                slot.key,
            )
            for slot in slots
            for item in slot.items
        ]
        return Call(request_hash(key_material), request_hash(body), body, owners, estimate)

    # Answers ------------------------------------------------------------------------------

    def _tool_entries(self, response: dict, tool: str, field_name: str) -> list[dict]:
        if response.get("stop_reason") == "max_tokens":
            raise InvalidAnswer("response cut off at max_tokens")
        for block in response.get("content") or []:
            if block.get("type") == "tool_use" and block.get("name") == tool:
                entries = (block.get("input") or {}).get(field_name)
                if not isinstance(entries, list):
                    raise InvalidAnswer(f"{tool} input has no {field_name} list")
                return [entry for entry in entries if isinstance(entry, dict)]
        raise InvalidAnswer(f"no {tool} tool call in the response")

    def _screen_entry(self, entry: dict) -> dict:
        occupational = entry.get("is_occupational")
        middle_alias = entry.get("middle_group")
        mode = entry.get("interaction_mode")
        skills = entry.get("skills")
        summary = entry.get("summary")
        language = entry.get("language")
        if not isinstance(occupational, bool):
            raise InvalidAnswer("is_occupational is not a boolean")
        if occupational and middle_alias not in self._middle_by_alias:
            raise InvalidAnswer(f"middle_group {middle_alias!r} is not an offered group")
        if mode not in INTERACTION_MODES:
            raise InvalidAnswer(f"interaction_mode {mode!r} is not a known mode")
        if not isinstance(skills, list) or any(skill not in self._skill_ids for skill in skills):
            raise InvalidAnswer("skills hold an id outside the O*NET skill list")
        if not isinstance(summary, str) or not summary.strip():
            raise InvalidAnswer("summary is empty")
        if not isinstance(language, str) or not LANGUAGE_CODE.match(language):
            raise InvalidAnswer(f"language {language!r} is not an ISO 639-1 code")
        return {
            **entry,
            "middle_group": self._middle_by_alias.get(middle_alias) if occupational else None,
        }

    def _accept(self, purpose: str, items: Sequence[_Item], entry: dict) -> None:
        """Check one conversation's entry and store it on the items; raise InvalidAnswer."""
        if purpose == "tag_screen":
            screen = self._screen_entry(entry)
            for item in items:
                item.screen = screen
            return
        task_id = entry.get("task_id")
        middle = items[0].screen["middle_group"]
        offered = {task for task, _ in self.hierarchy.tasks.get(middle, [])}
        if not isinstance(task_id, int) or isinstance(task_id, bool) or task_id not in offered:
            raise InvalidAnswer(f"task_id {task_id!r} is not one of the offered tasks")
        for item in items:
            item.task_id = task_id

    def _entries_by_index(self, response: dict, purpose: str) -> dict[int, dict]:
        if purpose == "tag_screen":
            entries = self._tool_entries(response, prompts.SCREEN_TOOL, "conversations")
        else:
            entries = self._tool_entries(response, prompts.TASK_TOOL, "tasks")
        by_index: dict[int, dict] = {}
        repeated: set[int] = set()
        for entry in entries:
            index = entry.get("index")
            if index in by_index:
                repeated.add(index)
            by_index[index] = entry
        for index in repeated:
            by_index.pop(index)
        return by_index

    # Stages -------------------------------------------------------------------------------

    def _slots(self, items: Iterable[_Item], purpose: str) -> list[_Slot]:
        slots: dict[str, _Slot] = {}
        for item in items:
            key = self._answer_key(item, purpose)
            if key not in slots:
                slots[key] = _Slot(key, [], self._input_text(item, purpose))
            slots[key].items.append(item)
        return list(slots.values())

    def _from_cache(self, slots: list[_Slot], purpose: str) -> list[_Slot]:
        """Apply stored responses to the slots; return the slots still to send."""
        settings = self.runner.settings
        if not settings.read_cache:
            return slots
        missing = []
        for slot in slots:
            entry = cache.lookup(self.connection, slot.key)
            if entry is None:
                missing.append(slot)
                continue
            self.runner.totals.cache_hits += 1
            try:
                entries = list(self._entries_by_index(entry.response, purpose).values())
                if len(entries) != 1:
                    raise InvalidAnswer("the stored response has no single entry")
                self._accept(purpose, slot.items, entries[0])
            except InvalidAnswer:
                missing.append(slot)
                continue
            if settings.write_cache:
                # Rows for conversations that share the text, so each can be forgotten alone.
                self._store_copies(slot, entry.response, purpose)
        return missing

    def _store_copies(self, slot: _Slot, response: dict, purpose: str) -> None:
        owners = [
            CacheOwner(item.conversation.source, item.conversation.conversation_id, purpose)
            for item in slot.items
            if self.connection.execute(
                "select 1 from raw.llm_cache where cache_key = ? and source = ? "
                "and conversation_id = ?",
                [slot.key, item.conversation.source, item.conversation.conversation_id],
            ).fetchone()
            is None
        ]
        if not owners:
            return
        row = self.connection.execute(
            "select request_hash from raw.llm_cache where cache_key = ? limit 1", [slot.key]
        ).fetchone()
        cache.store(
            self.connection,
            cache_key=slot.key,
            request_hash=row[0],
            owners=owners,
            model=self.model,
            prompt_version=self.prompt_version,
            hierarchy_version=self.hierarchy.version,
            response=response,
            cost_usd=0.0,
            via_batch=False,
        )

    def _pack(self, slots: Sequence[_Slot]) -> list[list[_Slot]]:
        """Split slots into groups within group_size and the group's character limit."""
        groups: list[list[_Slot]] = []
        current: list[_Slot] = []
        chars = 0
        for slot in slots:
            size = len(slot.text)
            if current and (len(current) >= self.group_size or chars + size > self._group_chars):
                groups.append(current)
                current, chars = [], 0
            current.append(slot)
            chars += size
        if current:
            groups.append(current)
        return groups

    def _screen_groups(self, slots: Sequence[_Slot]) -> list[tuple[tuple, list[_Slot]]]:
        """Pack slots into requests in their order and number them from 1 in each request."""
        planned = []
        for group in self._pack(slots):
            for index, slot in enumerate(group, 1):
                slot.index = index
            planned.append((tuple((slot.index, slot.text) for slot in group), group))
        return planned

    def _task_groups(self, slots: Sequence[_Slot]) -> list[tuple[tuple, list[_Slot]]]:
        """Pack slots per middle group, so that each request lists one group's tasks once."""
        by_middle: dict[str, list[_Slot]] = {}
        for slot in slots:
            by_middle.setdefault(slot.items[0].screen["middle_group"], []).append(slot)
        planned = []
        for middle_slots in by_middle.values():
            planned.extend(self._screen_groups(middle_slots))
        return planned

    def _run_stage(self, items: list[_Item], purpose: str) -> None:
        """Send one request per group; a missing or invalid entry is sent again alone, once.

        Conversations with a stored response are not sent. Other API errors (such as a
        rejected request) fail every conversation of the group.
        """
        slots = self._from_cache(self._slots(items, purpose), purpose)
        if not slots:
            return
        plan = self._screen_groups if purpose == "tag_screen" else self._task_groups
        retry = self._send(plan(slots), purpose, last=False)
        solo = [group for slot in retry for group in plan([slot])]
        self._send(solo, purpose, last=True)

    def _send(
        self, groups: list[tuple[tuple, list[_Slot]]], purpose: str, *, last: bool
    ) -> list[_Slot]:
        """Send the groups' requests, apply their tool inputs and return the slots to resend."""
        if not groups:
            return []
        build = self._screen_body if purpose == "tag_screen" else self._task_body
        calls = [(self._call(build(block, slots), slots, purpose), slots) for block, slots in groups]
        outcomes = self.runner.run([call for call, _ in calls], use_cache=False)
        retry: list[_Slot] = []
        for call, slots in calls:
            outcome = outcomes[call.cache_key]
            for slot, reason in self._apply(outcome, slots, purpose).items():
                if reason is None:
                    continue
                if last:
                    for item in slot.items:
                        item.failure = reason
                else:
                    retry.append(slot)
        return retry

    def _apply(self, outcome: Outcome, slots: list[_Slot], purpose: str) -> dict:
        """Return, per slot, why its answer cannot be used (None when it was used)."""
        if outcome.deferred_reason is not None:
            for slot in slots:
                for item in slot.items:
                    item.deferred = True
            return {}
        if outcome.response is None:
            reason = f"{outcome.error_type}: {outcome.error_message}"
            too_long = outcome.error_type == "invalid_request_error" and "too long" in (
                outcome.error_message or ""
            )
            if not too_long:
                for slot in slots:
                    for item in slot.items:
                        item.failure = reason
                return {}
            if len(slots) == 1:
                for item in slots[0].items:
                    item.budget_chars = min(item.budget_chars, len(item.text)) // 2
                    item.text, _ = render_conversation(item.conversation, item.budget_chars)
                    item.trimmed = True
                slots[0].text = self._input_text(slots[0].items[0], purpose)
            return {slot: reason for slot in slots}
        try:
            entries = self._entries_by_index(outcome.response, purpose)
        except InvalidAnswer as error:
            self.runner.totals.count("invalid_answers", len(slots))
            return {slot: f"invalid answer: {error}" for slot in slots}
        reasons: dict = {}
        for slot in slots:
            entry = entries.get(slot.index)
            if entry is None:
                self.runner.totals.count("invalid_answers")
                reasons[slot] = f"invalid answer: no entry for conversation index {slot.index}"
                continue
            try:
                self._accept(purpose, slot.items, entry)
            except InvalidAnswer as error:
                self.runner.totals.count("invalid_answers")
                reasons[slot] = f"invalid answer: {error}"
                continue
            reasons[slot] = None
        return reasons

    def tag(self, conversations: Sequence[ConversationText]) -> list[TagRecord]:
        """Tag a batch; conversations deferred by throttling or the budget get no record."""
        items = []
        for conversation in conversations:
            text, trimmed = render_conversation(conversation, self._conversation_budget)
            items.append(_Item(conversation, text, trimmed, self._conversation_budget))
        self._run_stage(items, "tag_screen")
        occupational = [
            item
            for item in items
            if item.screen is not None and item.screen["is_occupational"] and not item.failure
        ]
        self._run_stage(occupational, "tag_task")
        return [record for item in items if (record := self._record(item)) is not None]

    def _record(self, item: _Item) -> TagRecord | None:
        conversation = item.conversation
        common = {
            "source": conversation.source,
            "conversation_id": conversation.conversation_id,
            "backend": self.backend,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "trimmed": item.trimmed,
        }
        if item.failure is not None:
            return TagRecord(
                **common,
                is_occupational=False,
                task_id=None,
                interaction_mode="none",
                confidence=None,
                status="failed",
                status_reason=item.failure[:500],
            )
        if item.deferred or item.screen is None:
            return None
        screen = item.screen
        return TagRecord(
            **common,
            is_occupational=bool(screen["is_occupational"]),
            task_id=item.task_id if screen["is_occupational"] else None,
            interaction_mode=screen["interaction_mode"],
            confidence=None,
            skills=tuple(sorted(set(screen["skills"]))),
            language=screen["language"],
            summary=screen["summary"].strip()[:MAX_SUMMARY_CHARS],
        )
