"""Claude tagging backend: two tool-use calls per conversation that share a cached prefix.

Call 1 sends the instructions with the top and middle groups of the task hierarchy (system
block, cache_control) and the scrubbed conversation (user block, cache_control). The model
calls record_screen with the screen, the groups, the mode, skills, summary and language. Call 2, only for
occupational conversations, repeats that prefix, adds call 1's answer and the tasks of the
chosen middle group, and gets one task id. The conversation is thus billed once as a cache
write (1.25x) and once as a cache read (0.1x).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import zip_longest

import duckdb

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
# Tokens kept free for the task list of call 2 and the model output.
PROMPT_MARGIN_TOKENS = 8_000
LANGUAGE_CODE = re.compile(r"^[a-z]{2}$")
MAX_SUMMARY_CHARS = 600


class InvalidAnswer(ValueError):
    """A model response that is cut off, has no tool call, or has values outside the schema."""


@dataclass
class _Item:
    conversation: ConversationText
    text: str
    trimmed: bool
    budget_chars: int
    screen: dict | None = None
    screen_block: dict | None = None
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

    def __post_init__(self) -> None:
        self._system_text = prompts.render_system(
            self.hierarchy.top_groups, self.hierarchy.middle_groups, self.skills
        )
        self._tools = prompts.tools(
            [top[0] for top in self.hierarchy.top_groups],
            [middle[0] for middle in self.hierarchy.middle_groups],
            [skill[0] for skill in self.skills],
        )
        self._middle_ids = {middle[0] for middle in self.hierarchy.middle_groups}
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

    def _base_body(self, item: _Item) -> dict:
        return {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "tools": self._tools,
            "tool_choice": {"type": "any"},
            "system": [{"type": "text", "text": self._system_text, "cache_control": CACHE_CONTROL}],
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": item.text, "cache_control": CACHE_CONTROL}],
                }
            ],
        }

    def _screen_body(self, item: _Item) -> dict:
        return self._base_body(item)

    def _task_body(self, item: _Item) -> dict:
        body = self._base_body(item)
        block = item.screen_block or {}
        middle = item.screen["middle_group"] if item.screen else ""
        body["messages"] += [
            {"role": "assistant", "content": [block]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": block.get("id", ""), "content": "Recorded."},
                    {"type": "text", "text": prompts.render_tasks(self.hierarchy.tasks.get(middle, []))},
                ],
            },
        ]
        return body

    def _call(self, item: _Item, body: dict, purpose: str) -> Call:
        key_material = {
            "prompt_version": self.prompt_version,
            "model": self.model,
            "hierarchy_version": self.hierarchy.version,
            "body": body,
        }
        body_chars = len(canonical_json(body))
        estimate = (body_chars / 4) * self.prices.cache_write / 1e6 + (
            self.max_tokens * self.prices.output / 1e6
        )
        owner = CacheOwner(item.conversation.source, item.conversation.conversation_id, purpose)
        return Call(request_hash(key_material), request_hash(body), body, [owner], estimate)

    # Answers ------------------------------------------------------------------------------

    def _tool_input(self, response: dict, tool: str) -> tuple[dict, dict]:
        if response.get("stop_reason") == "max_tokens":
            raise InvalidAnswer("response cut off at max_tokens")
        for block in response.get("content") or []:
            if block.get("type") == "tool_use" and block.get("name") == tool:
                if not isinstance(block.get("input"), dict):
                    raise InvalidAnswer(f"{tool} input is not a JSON object")
                return block["input"], block
        raise InvalidAnswer(f"no {tool} tool call in the response")

    def _parse_screen(self, response: dict) -> tuple[dict, dict]:
        answer, block = self._tool_input(response, prompts.SCREEN_TOOL)
        occupational = answer.get("is_occupational")
        middle = answer.get("middle_group")
        mode = answer.get("interaction_mode")
        skills = answer.get("skills")
        summary = answer.get("summary")
        language = answer.get("language")
        if not isinstance(occupational, bool):
            raise InvalidAnswer("is_occupational is not a boolean")
        if occupational and middle not in self._middle_ids:
            raise InvalidAnswer(f"middle_group {middle!r} is not an offered group")
        if mode not in INTERACTION_MODES:
            raise InvalidAnswer(f"interaction_mode {mode!r} is not a known mode")
        if not isinstance(skills, list) or any(skill not in self._skill_ids for skill in skills):
            raise InvalidAnswer("skills hold an id outside the O*NET skill list")
        if not isinstance(summary, str) or not summary.strip():
            raise InvalidAnswer("summary is empty")
        if not isinstance(language, str) or not LANGUAGE_CODE.match(language):
            raise InvalidAnswer(f"language {language!r} is not an ISO 639-1 code")
        clean_block = {key: block[key] for key in ("type", "id", "name", "input") if key in block}
        return answer, clean_block

    def _parse_task(self, item: _Item, response: dict) -> int:
        answer, _ = self._tool_input(response, prompts.TASK_TOOL)
        task_id = answer.get("task_id")
        offered = {task for task, _ in self.hierarchy.tasks.get(item.screen["middle_group"], [])}
        if not isinstance(task_id, int) or task_id not in offered:
            raise InvalidAnswer(f"task_id {task_id!r} is not one of the offered tasks")
        return task_id

    # Stages -------------------------------------------------------------------------------

    def _run_stage(
        self,
        items: list[_Item],
        build: Callable[[_Item], dict],
        accept: Callable[[_Item, dict], None],
        purpose: str,
    ) -> None:
        """Send one call per item; an invalid answer or a too-long prompt gets one retry.

        The retry skips the cache, since the cached answer is the invalid one. Other API
        errors (such as a rejected request) fail the item at once.
        """
        pending = items
        for attempt in range(2):
            if not pending:
                return
            calls = {id(item): self._call(item, build(item), purpose) for item in pending}
            outcomes = self.runner.run(list(calls.values()), use_cache=attempt == 0)
            retry = []
            for item in pending:
                outcome = outcomes[calls[id(item)].cache_key]
                reason, retryable = self._apply(item, outcome, accept)
                if reason is None:
                    continue
                if retryable and attempt == 0:
                    retry.append(item)
                else:
                    item.failure = reason
            pending = retry

    def _apply(
        self, item: _Item, outcome: Outcome, accept: Callable[[_Item, dict], None]
    ) -> tuple[str | None, bool]:
        """Return why the outcome cannot be used (None when it was used) and if a retry may help."""
        if outcome.deferred_reason is not None:
            item.deferred = True
            return None, False
        if outcome.response is None:
            reason = f"{outcome.error_type}: {outcome.error_message}"
            too_long = outcome.error_type == "invalid_request_error" and "too long" in (
                outcome.error_message or ""
            )
            if too_long:
                item.budget_chars = min(item.budget_chars, len(item.text)) // 2
                item.text, item.trimmed = render_conversation(item.conversation, item.budget_chars)
                item.trimmed = True
            return reason, too_long
        try:
            accept(item, outcome.response)
        except InvalidAnswer as error:
            self.runner.totals.count("invalid_answers")
            return f"invalid answer: {error}", True
        return None, False

    def _accept_screen(self, item: _Item, response: dict) -> None:
        item.screen, item.screen_block = self._parse_screen(response)

    def _accept_task(self, item: _Item, response: dict) -> None:
        item.task_id = self._parse_task(item, response)

    def tag(self, conversations: Sequence[ConversationText]) -> list[TagRecord]:
        """Tag a batch; conversations deferred by throttling or the budget get no record."""
        items = []
        for conversation in conversations:
            text, trimmed = render_conversation(conversation, self._conversation_budget)
            items.append(_Item(conversation, text, trimmed, self._conversation_budget))
        self._run_stage(items, self._screen_body, self._accept_screen, "tag_screen")
        occupational = [
            item
            for item in items
            if item.screen is not None and item.screen["is_occupational"] and not item.failure
        ]
        self._run_stage(occupational, self._task_body, self._accept_task, "tag_task")
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
