"""A fake Anthropic API for tests (httpx2.MockTransport handler) and reference rows.

The fake responds to Messages and Message Batches requests in the API's shapes. Its
default response reads the offered options from the request itself: call 1 answers every
numbered conversation with the first middle group and skill of the tool's enums and a
summary named after a digest of the conversation. Call 2 returns the first task of the
request's task list for every numbered item.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import deque
from collections.abc import Callable

import duckdb
import httpx2

from orchestration.defs.tagging.resource import Tagging

HIERARCHY_VERSION = "test-v1"
# (level, node_id, parent_id, name, description, task_id)
HIERARCHY_ROWS = [
    (1, "T1", None, "Computing", "Software and data work", None),
    (1, "T2", None, "Food", "Cooking and menus", None),
    (2, "M1", "T1", "Programming", "Writing and fixing code", None),
    (2, "M2", "T2", "Menu planning", "Planning meals", None),
    (3, "K101", "M1", "Write, update, and maintain computer programs", None, 101),
    (3, "K102", "M1", "Correct errors by making code changes", None, 102),
    (3, "K401", "M2", "Plan menus and recipes", None, 401),
]
SKILL_ROWS = [
    ("2.A.1.a", "Reading Comprehension", "Understanding written sentences"),
    ("2.B.3.e", "Programming", "Writing computer programs"),
]
TASK_OPTION = re.compile(r"^- \[(\d+)\]", re.MULTILINE)
CONVERSATION = re.compile(r'<conversation index="(\d+)">(.*?)</conversation>', re.DOTALL)
# A numbered item of a task request: a summary or a conversation.
TASK_ITEM = re.compile(r'<(summary|conversation) index="(\d+)">(.*?)</\1>', re.DOTALL)


def seed_reference(connection: duckdb.DuckDBPyConnection) -> None:
    """Create raw.task_hierarchy and raw.onet_skills with a tiny hierarchy."""
    connection.execute("create schema if not exists raw")
    connection.execute(
        """
        create table if not exists raw.task_hierarchy (
            hierarchy_version varchar, level smallint, node_id varchar, parent_id varchar,
            name varchar, description varchar, task_id bigint, attached_by varchar
        )
        """
    )
    connection.executemany(
        "insert into raw.task_hierarchy values (?, ?, ?, ?, ?, ?, ?, 'test')",
        [(HIERARCHY_VERSION, *row) for row in HIERARCHY_ROWS],
    )
    connection.execute(
        "create table if not exists raw.onet_skills "
        "(skill_id varchar, skill_name varchar, description varchar)"
    )
    connection.executemany("insert into raw.onet_skills values (?, ?, ?)", SKILL_ROWS)


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def message(content: list[dict], stop_reason: str = "tool_use", model: str = "m") -> dict:
    """Return a Messages API response body."""
    return {
        "id": f"msg_{_digest(content)}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 100,
            "output_tokens": 50,
            "cache_creation_input_tokens": 2000,
            "cache_read_input_tokens": 1000,
        },
    }


def tool_use(name: str, tool_input: dict) -> dict:
    return {
        "type": "tool_use",
        "id": f"toolu_{_digest([name, tool_input])}",
        "name": name,
        "input": tool_input,
    }


def is_task_call(body: dict) -> bool:
    return tool_name(body) == "record_tasks"


def conversation_text(body: dict) -> str:
    """Return the user block with the request's conversations (or summaries), its last one."""
    return body["messages"][0]["content"][-1]["text"]


def task_list_text(body: dict) -> str:
    """Return a task request's first user block: one middle group's task list."""
    return body["messages"][0]["content"][0]["text"]


def task_items(body: dict) -> dict[int, str]:
    """Return a task request's summaries (or conversations) by index."""
    return {int(index): text for _, index, text in TASK_ITEM.findall(conversation_text(body))}


def summary_for(text: str) -> str:
    """Return a summary that differs between conversations, as a model's summaries do.

    Letters only, so that no digit run looks like a personal detail to the scrubber's rules.
    """
    tag = _digest(text).translate(str.maketrans("0123456789", "ghijklmnop"))
    return f"The user asked for help with a task of kind {tag[:8]}."


def conversations(body: dict) -> dict[int, str]:
    """Return the request's conversations by index."""
    return {int(index): text for index, text in CONVERSATION.findall(conversation_text(body))}


def task_choices(body: dict) -> dict[int, list[int]]:
    """Return, per numbered item of a task request, the task ids it lists."""
    tasks = [int(task) for task in TASK_OPTION.findall(task_list_text(body))]
    return dict.fromkeys(task_items(body), tasks)


def screen_entry(body: dict, index: int, text: str) -> dict:
    """Return the default record_screen entry for one conversation of a request."""
    properties = body["tools"][0]["input_schema"]["properties"]["conversations"]["items"][
        "properties"
    ]
    occupational = "hello" not in text.lower()
    return {
        "index": index,
        "is_occupational": occupational,
        "top_group": properties["top_group"]["enum"][0] if occupational else "none",
        "middle_group": properties["middle_group"]["enum"][0] if occupational else "none",
        "interaction_mode": "directive" if occupational else "none",
        "skills": properties["skills"]["items"]["enum"][:1],
        "summary": summary_for(text),
        "language": "en",
    }


CLUSTER_NAME_TOOL = "record_cluster_name"
CLUSTER_AUDIT_TOOL = "record_privacy_rating"


def tool_name(body: dict) -> str:
    return body["tools"][0]["name"]


def cluster_answer(body: dict) -> dict:
    """Return a cluster label named after a digest of the request, or a rating of 5."""
    if tool_name(body) == CLUSTER_AUDIT_TOOL:
        return message([tool_use(CLUSTER_AUDIT_TOOL, {"justification": "Generic.", "rating": 5})])
    # Letters only, so the offline pattern rules (digit runs) never reject the name.
    tag = _digest(conversation_text(body)).translate(str.maketrans("0123456789", "ghijklmnop"))
    label = {"name": f"Handle topic {tag[:8]}", "description": "Users asked. It was generic."}
    return message([tool_use(CLUSTER_NAME_TOOL, label)])


def default_answer(body: dict) -> dict:
    """Return a response choosing the first offered group and skill, or the first task.

    Cluster naming and audit requests get cluster_answer.
    """
    if tool_name(body) in (CLUSTER_NAME_TOOL, CLUSTER_AUDIT_TOOL):
        return cluster_answer(body)
    if is_task_call(body):
        entries = [
            {"index": index, "task_id": tasks[0]} for index, tasks in task_choices(body).items()
        ]
        return message([tool_use("record_tasks", {"tasks": entries})])
    entries = [screen_entry(body, index, text) for index, text in conversations(body).items()]
    return message([tool_use("record_screen", {"conversations": entries})])


def error(status: int, error_type: str, text: str, headers: dict | None = None) -> httpx2.Response:
    return httpx2.Response(
        status,
        headers=headers or {},
        json={"type": "error", "error": {"type": error_type, "message": text}},
    )


Script = Callable[[dict], "httpx2.Response | dict"]


class FakeClaude:
    """MockTransport handler: Messages responses from a script, then from default_answer."""

    def __init__(
        self,
        script: list[httpx2.Response | dict | Script] | None = None,
        *,
        batch_results: Callable[[str, dict, int], dict] | None = None,
        polls_before_end: int = 0,
        batches: dict | None = None,
    ) -> None:
        self.script = deque(script or [])
        self.requests: list[tuple[str, str, dict | None]] = []
        self.batch_results = batch_results or (lambda custom_id, params, n: succeeded(params))
        self.polls_before_end = polls_before_end
        # batch id -> {"requests": [...], "polls": int}; shared to fake a restarted run.
        self.batches = batches if batches is not None else {}

    @property
    def message_bodies(self) -> list[dict]:
        return [body for method, path, body in self.requests if path == "/v1/messages"]

    def count(self, method: str, path_prefix: str) -> int:
        return sum(
            1 for m, path, _ in self.requests if m == method and path.startswith(path_prefix)
        )

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        raw = request.read()
        body = json.loads(raw) if raw else None
        path = request.url.path
        self.requests.append((request.method, path, body))
        if path == "/v1/messages":
            return self._message(body)
        if path == "/v1/messages/batches" and request.method == "POST":
            return self._create_batch(body)
        if path.endswith("/results"):
            return self._results(path.split("/")[-2])
        if path.startswith("/v1/messages/batches/"):
            return self._retrieve(path.split("/")[-1])
        return error(404, "not_found_error", f"fake has no {path}")

    def _message(self, body: dict) -> httpx2.Response:
        step = self.script.popleft() if self.script else default_answer
        if callable(step):
            step = step(body)
        if isinstance(step, httpx2.Response):
            return step
        return httpx2.Response(200, json=step)

    def _create_batch(self, body: dict) -> httpx2.Response:
        batch_id = f"msgbatch_{len(self.batches) + 1:03d}"
        self.batches[batch_id] = {"requests": body["requests"], "polls": 0}
        return httpx2.Response(200, json=self._batch_json(batch_id, ended=False))

    def _retrieve(self, batch_id: str) -> httpx2.Response:
        batch = self.batches[batch_id]
        batch["polls"] += 1
        ended = batch["polls"] > self.polls_before_end
        return httpx2.Response(200, json=self._batch_json(batch_id, ended=ended))

    def _results(self, batch_id: str) -> httpx2.Response:
        number = list(self.batches).index(batch_id)
        lines = [
            json.dumps(
                {
                    "custom_id": item["custom_id"],
                    "result": self.batch_results(item["custom_id"], item["params"], number),
                }
            )
            for item in self.batches[batch_id]["requests"]
        ]
        return httpx2.Response(200, content="\n".join(lines).encode())

    def _batch_json(self, batch_id: str, *, ended: bool) -> dict:
        count = len(self.batches[batch_id]["requests"])
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else count,
                "succeeded": count if ended else 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": "2026-01-01T00:00:00Z",
            "expires_at": "2026-01-02T00:00:00Z",
            "ended_at": "2026-01-01T01:00:00Z" if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": (
                f"https://api.anthropic.com/v1/messages/batches/{batch_id}/results"
                if ended
                else None
            ),
        }


def succeeded(params: dict) -> dict:
    return {"type": "succeeded", "message": default_answer(params)}


def errored(error_type: str, text: str) -> dict:
    return {
        "type": "errored",
        "error": {"type": "error", "error": {"type": error_type, "message": text}},
    }


class FakeClaudeTagging(Tagging):
    """The Tagging resource with its HTTP client answered by the module's FAKE handler."""

    def make_http_client(self, connection: duckdb.DuckDBPyConnection) -> httpx2.Client | None:
        if self.backend in ("claude", "hybrid"):
            return httpx2.Client(transport=httpx2.MockTransport(CURRENT["fake"]))
        return super().make_http_client(connection)


# The handler FakeClaudeTagging uses; tests set CURRENT["fake"] before a run.
CURRENT: dict[str, FakeClaude] = {}
