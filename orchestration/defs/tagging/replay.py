"""Replay backend: responds to model requests with recorded responses, with no network.

The transport hashes the canonical JSON of each request body and returns the response
recorded for that hash. Recordings come from JSONL files of exchanges (one JSON object a
line, with "request_hash" or the full "request", and "response") and from raw.llm_cache,
the cache of earlier Claude runs. A request with no recording gets HTTP 404 with a
not_found_error, which the tagger stores as a failed tag for that conversation.

Export the exchanges of a Claude run with:
    python -m orchestration.defs.tagging.replay export OUT.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb
import httpx2

from orchestration import settings
from orchestration.defs.llm.cache import lookup_by_request_hash, merge_slices
from orchestration.defs.llm.client import canonical_json, request_hash


class RecordedExchanges:
    """Index of JSONL recordings: request hash -> (file, byte offset of its line)."""

    def __init__(self, location: Path) -> None:
        if not location.exists():
            raise FileNotFoundError(
                f"replay recordings not found at {location}: set REPLAY_DIR to a JSONL file "
                "or a folder of them"
            )
        files = sorted(location.rglob("*.jsonl")) if location.is_dir() else [location]
        self._index: dict[str, tuple[Path, int]] = {}
        for path in files:
            with path.open("rb") as handle:
                offset = 0
                for line_number, line in enumerate(handle, start=1):
                    if line.strip():
                        self._index[self._hash_of(line, path, line_number)] = (path, offset)
                    offset += len(line)

    @staticmethod
    def _hash_of(line: bytes, path: Path, line_number: int) -> str:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{line_number} is not valid JSON: {error.msg}") from None
        if "request_hash" in record:
            return str(record["request_hash"])
        if "request" in record:
            return request_hash(record["request"])
        raise ValueError(f"{path}:{line_number} has neither request_hash nor request")

    def __len__(self) -> int:
        return len(self._index)

    def get(self, digest: str) -> dict | None:
        found = self._index.get(digest)
        if found is None:
            return None
        path, offset = found
        with path.open("rb") as handle:
            handle.seek(offset)
            return json.loads(handle.readline())["response"]


class WarehouseResponses:
    """Responses of earlier Claude runs, read from raw.llm_cache through its own cursor."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self._cursor = connection.cursor()
        self._lock = threading.Lock()
        self._available = bool(
            self._cursor.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'raw' and table_name = 'llm_cache'"
            ).fetchone()[0]
        )

    def get(self, digest: str) -> dict | None:
        if not self._available:
            return None
        with self._lock:
            return lookup_by_request_hash(self._cursor, digest)


class ReplayTransport(httpx2.BaseTransport):
    """An httpx2 transport that responds to POST /v1/messages with recorded responses."""

    def __init__(
        self,
        sources: list[Callable[[str], dict | None]],
        on_request: Callable[[dict], None] | None = None,
    ) -> None:
        self._sources = sources
        self._on_request = on_request

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method != "POST" or not request.url.path.endswith("/v1/messages"):
            return _error(404, f"the replay backend answers only POST /v1/messages, not "
                               f"{request.method} {request.url.path}")
        body = json.loads(request.read())
        if self._on_request is not None:
            self._on_request(body)
        digest = request_hash(body)
        for source in self._sources:
            response = source(digest)
            if response is not None:
                return httpx2.Response(200, json=response)
        return _error(404, f"no recorded response for request {digest}")


def _error(status: int, message: str) -> httpx2.Response:
    return httpx2.Response(
        status,
        json={"type": "error", "error": {"type": "not_found_error", "message": message}},
    )


def export_exchanges(connection: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Write one JSONL line per distinct request in raw.llm_cache; return the line count.

    Lines contain the request hash and the response only, never the request. A recording thus
    contains the model's tool inputs (summaries, ids) and no conversation text. The response
    to a grouped request is rebuilt from the slices its conversations stored.
    """
    cursor = connection.execute(
        """
        select request_hash, cache_key, any_value(model), any_value(purpose),
            any_value(response_json)
        from raw.llm_cache
        group by request_hash, cache_key
        order by request_hash, cache_key
        """
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        current: str | None = None
        model = purpose = None
        slices: list[dict] = []

        def write() -> None:
            line = {
                "request_hash": current,
                "model": model,
                "purpose": purpose,
                "response": merge_slices(slices),
            }
            handle.write(canonical_json(line) + "\n")

        while rows := cursor.fetchmany(1000):
            for digest, _, row_model, row_purpose, response_json in rows:
                if digest != current:
                    if current is not None:
                        write()
                        count += 1
                    current, model, purpose, slices = digest, row_model, row_purpose, []
                slices.append(json.loads(response_json))
        if current is not None:
            write()
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export recorded model exchanges for replay.")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write raw.llm_cache as JSONL exchanges")
    export.add_argument("output", type=Path, help="JSONL file to write")
    arguments = parser.parse_args(argv)
    connection = duckdb.connect(str(settings.warehouse_path()), read_only=True)
    try:
        count = export_exchanges(connection, arguments.output)
    finally:
        connection.close()
    print(f"wrote {count} exchanges to {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
