"""Tests for fetching reference files, against a local HTTP server on 127.0.0.1 only."""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orchestration.defs.reference import fetch as fetch_module
from orchestration.defs.reference.fetch import FetchError, RemoteFile, fetch, sha256_of

BODY = b"task_id,task\n1,Analyze data\n2,Write reports\n"
BODY_SHA256 = hashlib.sha256(BODY).hexdigest()
OTHER_BODY = b"task_id,task\n1,Something else entirely\n"
OTHER_SHA256 = hashlib.sha256(OTHER_BODY).hexdigest()
MIRROR_PATH = "aei_2025_02/onet_task_mappings.csv"
FILENAME = "aei_2025_02/onet_task_mappings.csv"


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP response.

    A ``declared_length`` above ``len(body)`` simulates a truncated download.
    """

    status: int = 200
    body: bytes = b""
    declared_length: int | None = None
    delay_seconds: float = 0.0


class FakePublisher:
    """Scripted replies per URL path, and a log of every request received."""

    def __init__(self) -> None:
        self.base_url = ""
        self._scripts: dict[str, list[Reply]] = {}
        self._requests: list[str] = []
        self._lock = threading.Lock()

    def serve(self, path: str, *replies: Reply) -> str:
        """Queue the replies for ``path`` and return its URL.

        Requests get the replies in order, and the last one repeats.
        """
        with self._lock:
            self._scripts[path] = list(replies)
        return self.base_url + path

    def next_reply(self, path: str) -> Reply:
        with self._lock:
            self._requests.append(path)
            script = self._scripts.get(path)
            if not script:
                return Reply(status=404, body=b"not found")
            if len(script) > 1:
                return script.pop(0)
            return script[0]

    def request_count(self, path: str) -> int:
        with self._lock:
            return self._requests.count(path)


class _PublisherServer(ThreadingHTTPServer):
    publisher: FakePublisher


class _ScriptedHandler(BaseHTTPRequestHandler):
    server: _PublisherServer

    def do_GET(self) -> None:
        reply = self.server.publisher.next_reply(self.path)
        time.sleep(reply.delay_seconds)
        length = len(reply.body)
        if reply.declared_length is not None:
            length = reply.declared_length
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up first, as the timeout test intends.
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def publisher() -> Iterator[FakePublisher]:
    fake = FakePublisher()
    server = _PublisherServer(("127.0.0.1", 0), _ScriptedHandler)
    server.publisher = fake
    host, port = server.server_address[:2]
    fake.base_url = f"http://{host}:{port}"
    # A short poll interval keeps shutdown() from waiting the default 0.5 s per test.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch_module, "RETRY_BACKOFF_SECONDS", 0.01)


def make_remote(
    url: str,
    sha256: str | None = BODY_SHA256,
    filename: str = FILENAME,
) -> RemoteFile:
    return RemoteFile(
        key="aei_task_mappings",
        url=url,
        mirror_path=MIRROR_PATH,
        sha256=sha256,
        filename=filename,
    )


def write_mirror_file(mirror: Path, body: bytes) -> Path:
    path = mirror / MIRROR_PATH
    path.parent.mkdir(parents=True)
    path.write_bytes(body)
    return path


def leftover_temp_files(folder: Path) -> list[Path]:
    return list(folder.rglob("*.part"))


def test_mirror_file_used_in_place(publisher: FakePublisher, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    raw_dir = tmp_path / "raw"
    mirror_file = write_mirror_file(mirror, BODY)
    url = publisher.serve("/mappings.csv", Reply(body=BODY))

    fetched = fetch(make_remote(url), raw_dir, mirror)

    assert fetched.origin == "mirror"
    assert fetched.path == mirror_file
    assert fetched.sha256 == BODY_SHA256
    assert fetched.size_bytes == len(BODY)
    assert not raw_dir.exists()
    assert publisher.request_count("/mappings.csv") == 0


def test_missing_mirror_file_names_path(publisher: FakePublisher, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    remote = make_remote(publisher.serve("/mappings.csv", Reply(body=BODY)))

    with pytest.raises(FetchError) as error:
        fetch(remote, tmp_path / "raw", mirror)

    assert str(mirror / MIRROR_PATH) in str(error.value)
    assert "DATA_MIRROR" in str(error.value)


def test_mirror_checksum_mismatch_raises(publisher: FakePublisher, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror_file = write_mirror_file(mirror, OTHER_BODY)
    remote = make_remote(publisher.serve("/mappings.csv", Reply(body=BODY)))

    with pytest.raises(FetchError) as error:
        fetch(remote, tmp_path / "raw", mirror)

    assert str(mirror_file) in str(error.value)
    assert BODY_SHA256 in str(error.value)
    assert OTHER_SHA256 in str(error.value)


def test_unverified_mirror_mismatch_is_accepted(publisher: FakePublisher, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    write_mirror_file(mirror, OTHER_BODY)
    remote = make_remote(publisher.serve("/mappings.csv", Reply(body=BODY)))

    fetched = fetch(remote, tmp_path / "raw", mirror, verify_checksum=False)

    assert fetched.origin == "mirror"
    assert fetched.sha256 == OTHER_SHA256


def test_download_writes_file_and_sidecar(publisher: FakePublisher, tmp_path: Path) -> None:
    url = publisher.serve("/mappings.csv", Reply(body=BODY))

    fetched = fetch(make_remote(url), tmp_path, None)

    target = tmp_path / FILENAME
    sidecar = target.with_name(target.name + ".sha256")
    assert fetched.origin == "download"
    assert fetched.path == target
    assert fetched.sha256 == BODY_SHA256
    assert fetched.size_bytes == len(BODY)
    assert target.read_bytes() == BODY
    assert sidecar.read_text(encoding="utf-8").split()[0] == BODY_SHA256
    assert leftover_temp_files(tmp_path) == []


def test_second_fetch_uses_cache(publisher: FakePublisher, tmp_path: Path) -> None:
    url = publisher.serve("/mappings.csv", Reply(body=BODY))
    fetch(make_remote(url), tmp_path, None)

    fetched = fetch(make_remote(url), tmp_path, None)

    assert fetched.origin == "cache"
    assert fetched.sha256 == BODY_SHA256
    assert publisher.request_count("/mappings.csv") == 1


def test_unverified_download_cached_by_sidecar(publisher: FakePublisher, tmp_path: Path) -> None:
    url = publisher.serve("/mappings.csv", Reply(body=BODY))
    fetch(make_remote(url, sha256=None), tmp_path, None)

    fetched = fetch(make_remote(url, sha256=None), tmp_path, None)

    assert fetched.origin == "cache"
    assert publisher.request_count("/mappings.csv") == 1


def test_edited_cache_file_is_downloaded_again(publisher: FakePublisher, tmp_path: Path) -> None:
    url = publisher.serve("/mappings.csv", Reply(body=BODY))
    fetch(make_remote(url, sha256=None), tmp_path, None)
    (tmp_path / FILENAME).write_bytes(BODY[:10])

    fetched = fetch(make_remote(url, sha256=None), tmp_path, None)

    assert fetched.origin == "download"
    assert (tmp_path / FILENAME).read_bytes() == BODY
    assert publisher.request_count("/mappings.csv") == 2


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_error_is_retried(publisher: FakePublisher, tmp_path: Path, status: int) -> None:
    url = publisher.serve("/mappings.csv", Reply(status=status, body=b"busy"), Reply(body=BODY))

    fetched = fetch(make_remote(url), tmp_path, None, attempts=3)

    assert fetched.origin == "download"
    assert fetched.sha256 == BODY_SHA256
    assert publisher.request_count("/mappings.csv") == 2


def test_truncated_download_is_retried_then_fails(publisher: FakePublisher, tmp_path: Path) -> None:
    url = publisher.serve("/mappings.csv", Reply(body=BODY[:10], declared_length=len(BODY)))

    with pytest.raises(FetchError) as error:
        fetch(make_remote(url), tmp_path, None, attempts=3)

    assert url in str(error.value)
    assert "3 attempts" in str(error.value)
    assert publisher.request_count("/mappings.csv") == 3
    assert not (tmp_path / FILENAME).exists()
    assert leftover_temp_files(tmp_path) == []


@pytest.mark.parametrize("status", [404, 403])
def test_client_error_fails_without_retry(
    publisher: FakePublisher, tmp_path: Path, status: int
) -> None:
    url = publisher.serve("/missing.csv", Reply(status=status, body=b"no such file"))

    with pytest.raises(FetchError) as error:
        fetch(make_remote(url), tmp_path, None, attempts=3)

    assert url in str(error.value)
    assert f"HTTP {status}" in str(error.value)
    assert publisher.request_count("/missing.csv") == 1
    assert not (tmp_path / FILENAME).exists()


def test_download_checksum_mismatch_leaves_nothing(
    publisher: FakePublisher, tmp_path: Path
) -> None:
    url = publisher.serve("/mappings.csv", Reply(body=OTHER_BODY))

    with pytest.raises(FetchError) as error:
        fetch(make_remote(url), tmp_path, None, attempts=3)

    assert BODY_SHA256 in str(error.value)
    assert OTHER_SHA256 in str(error.value)
    assert publisher.request_count("/mappings.csv") == 1
    assert not (tmp_path / FILENAME).exists()
    assert leftover_temp_files(tmp_path) == []


def test_timed_out_download_is_retried(publisher: FakePublisher, tmp_path: Path) -> None:
    url = publisher.serve("/slow.csv", Reply(body=BODY, delay_seconds=1.0))

    with pytest.raises(FetchError) as error:
        fetch(make_remote(url), tmp_path, None, timeout=0.2, attempts=2)

    assert "2 attempts" in str(error.value)
    assert publisher.request_count("/slow.csv") == 2
    assert not (tmp_path / FILENAME).exists()


def test_gzip_file_stored_as_downloaded(publisher: FakePublisher, tmp_path: Path) -> None:
    compressed = gzip.compress(BODY)
    url = publisher.serve("/mappings.csv.gz", Reply(body=compressed))
    remote = make_remote(
        url,
        sha256=hashlib.sha256(compressed).hexdigest(),
        filename="aei_2025_02/onet_task_mappings.csv.gz",
    )

    fetched = fetch(remote, tmp_path, None)

    assert fetched.path.read_bytes() == compressed


def test_sha256_of_reads_large_file(tmp_path: Path) -> None:
    path = tmp_path / "large.bin"
    content = bytes(range(256)) * (fetch_module.CHUNK_SIZE // 256 * 3 + 7)
    path.write_bytes(content)

    assert sha256_of(path) == hashlib.sha256(content).hexdigest()


def test_invalid_expected_checksum_is_rejected() -> None:
    with pytest.raises(ValueError, match="Invalid SHA-256"):
        make_remote("http://127.0.0.1/unused.csv", sha256="not-a-digest")
