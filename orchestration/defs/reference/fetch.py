"""Fetch one reference file from a local mirror or by HTTP download, with checksum checks.

A mirror is a folder laid out like the publishers' files. Mirror files are used in place.
Downloads go to ``raw_dir`` and are reused on later runs while their checksum matches.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import logging
import os
import re
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from orchestration.settings import ENV_DATA_MIRROR

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
# The wait before retry n is RETRY_BACKOFF_SECONDS * n.
RETRY_BACKOFF_SECONDS = 0.5
USER_AGENT = "economic-index-pipeline/0.1 (+python-urllib)"
SIDECAR_SUFFIX = ".sha256"

_SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class RemoteFile:
    """A published reference file and where to find it."""

    key: str
    url: str
    mirror_path: str
    sha256: str | None
    filename: str

    def __post_init__(self) -> None:
        if self.sha256 is not None and not _SHA256_PATTERN.fullmatch(self.sha256.lower()):
            raise ValueError(
                f"Invalid SHA-256 for {self.key!r}: {self.sha256!r}. "
                "Expected 64 hexadecimal characters, or None to skip verification."
            )


@dataclass(frozen=True)
class FetchedFile:
    """A local copy of a reference file and how it was obtained."""

    path: Path
    origin: str
    sha256: str
    size_bytes: int


class FetchError(RuntimeError):
    """A reference file could not be obtained or failed its checksum."""


class _IncompleteBody(Exception):
    """The server closed the connection before sending the declared Content-Length."""


# Failures worth another attempt. HTTPError is a URLError, so the caller checks it first.
_TRANSIENT_ERRORS = (
    urllib.error.URLError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
    ssl.SSLError,
    _IncompleteBody,
)


def fetch(
    remote: RemoteFile,
    raw_dir: Path,
    mirror: Path | None,
    *,
    verify_checksum: bool = True,
    timeout: float = 60.0,
    attempts: int = 3,
) -> FetchedFile:
    """Return a local copy of ``remote`` from ``mirror`` if given, else from cache or URL.

    ``timeout`` is in seconds and applies to connecting and to each read. A download that
    fails with a connection error, timeout, HTTP 5xx or 429, or a truncated body is tried
    up to ``attempts`` times in total. Raises FetchError when the file is missing, the
    download fails, or the checksum differs from ``remote.sha256``.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")

    expected = remote.sha256.lower() if verify_checksum and remote.sha256 else None
    if mirror is not None:
        fetched = _use_mirror(remote, mirror, expected)
    else:
        target = raw_dir / remote.filename
        fetched = _use_cache(target, expected)
        if fetched is None:
            fetched = _download(remote, target, expected, timeout, attempts)

    logger.info(
        "Fetched %s from %s: %s (%d bytes)",
        remote.key,
        fetched.origin,
        fetched.path,
        fetched.size_bytes,
    )
    return fetched


def sha256_of(path: Path) -> str:
    """Return the SHA-256 hex digest of the file at ``path``, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _use_mirror(remote: RemoteFile, mirror: Path, expected: str | None) -> FetchedFile:
    path = mirror / remote.mirror_path
    if not path.is_file():
        raise FetchError(
            f"Reference file {remote.key!r} not found in the mirror: "
            f"{path} does not exist. Check that {ENV_DATA_MIRROR} points to the "
            f"mirror root and that the file is at {remote.mirror_path} under it, "
            f"or unset {ENV_DATA_MIRROR} to download it."
        )

    actual = sha256_of(path)
    if expected is not None and actual != expected:
        raise FetchError(
            f"Checksum mismatch for mirror file {path}: expected SHA-256 {expected}, "
            f"actual {actual}. Replace it with the publisher's file {remote.url}."
        )
    size = path.stat().st_size
    return FetchedFile(path=path, origin="mirror", sha256=actual, size_bytes=size)


def _sidecar_path(target: Path) -> Path:
    return target.with_name(target.name + SIDECAR_SUFFIX)


def _use_cache(target: Path, expected: str | None) -> FetchedFile | None:
    """Return the earlier download at ``target`` if it is still valid, else None.

    A known checksum decides validity. Without one, the sidecar written at download time
    decides, which catches a file that was truncated or edited after the download.
    """
    if not target.is_file():
        return None

    reference = expected if expected is not None else _read_sidecar(_sidecar_path(target))
    if reference is None:
        logger.info("Cached file %s has no checksum sidecar, downloading again", target)
        return None

    actual = sha256_of(target)
    if actual != reference:
        logger.info(
            "Cached file %s has SHA-256 %s but %s was expected, downloading again",
            target,
            actual,
            reference,
        )
        return None
    size = target.stat().st_size
    return FetchedFile(path=target, origin="cache", sha256=actual, size_bytes=size)


def _read_sidecar(sidecar: Path) -> str | None:
    try:
        fields = sidecar.read_text(encoding="utf-8").split()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    if not fields or not _SHA256_PATTERN.fullmatch(fields[0].lower()):
        return None
    return fields[0].lower()


def _write_sidecar(target: Path, digest: str) -> None:
    # Same layout as sha256sum output, so `sha256sum -c` can check it from the file's folder.
    _sidecar_path(target).write_text(f"{digest}  {target.name}\n", encoding="utf-8")


def _download(
    remote: RemoteFile,
    target: Path,
    expected: str | None,
    timeout: float,
    attempts: int,
) -> FetchedFile:
    """Download ``remote`` to ``target``, retrying transient failures."""
    target.parent.mkdir(parents=True, exist_ok=True)
    last_error: BaseException | None = None

    for attempt in range(1, attempts + 1):
        try:
            return _download_once(remote, target, expected, timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            if not _is_transient_status(exc.code):
                raise FetchError(
                    f"Download of {remote.key!r} from {remote.url} failed with HTTP "
                    f"{exc.code} {exc.reason}. Check that the URL is still published, or "
                    f"set {ENV_DATA_MIRROR} to a folder that contains {remote.mirror_path}."
                ) from exc
            last_error = exc
        except _TRANSIENT_ERRORS as exc:
            last_error = exc
        except OSError as exc:
            # Network errors were caught above, so what remains is a local disk failure.
            raise FetchError(
                f"Saving the download of {remote.key!r} to {target} failed: {exc}. "
                "Check that the folder is writable and the disk has free space."
            ) from exc

        if attempt < attempts:
            delay = RETRY_BACKOFF_SECONDS * attempt
            logger.warning(
                "Download of %s from %s failed on attempt %d of %d: %s. Retrying in %.1f s",
                remote.key,
                remote.url,
                attempt,
                attempts,
                last_error,
                delay,
            )
            time.sleep(delay)

    raise FetchError(
        f"Download of {remote.key!r} from {remote.url} failed after {attempts} attempts: "
        f"{last_error}. Check the network connection and try again, or set "
        f"{ENV_DATA_MIRROR} to a folder that contains {remote.mirror_path}."
    ) from last_error


def _is_transient_status(status: int) -> bool:
    return status >= 500 or status == 429


def _download_once(
    remote: RemoteFile,
    target: Path,
    expected: str | None,
    timeout: float,
) -> FetchedFile:
    request = urllib.request.Request(remote.url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        declared = _content_length(response)
        # The temporary file sits next to the target so os.replace is an atomic rename.
        handle, temp_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
        temp_path = Path(temp_name)
        try:
            with os.fdopen(handle, "wb") as out:
                actual, received = _copy_and_hash(response, out)
            if declared is not None and received < declared:
                raise _IncompleteBody(f"connection closed after {received} of {declared} bytes")
            if expected is not None and actual != expected:
                raise FetchError(
                    f"Checksum mismatch for {remote.url}: expected SHA-256 {expected}, "
                    f"actual {actual}. The publisher may have changed the file. "
                    f"Check the new file and update the expected checksum "
                    f"for {remote.key!r}."
                )
            os.replace(temp_path, target)
        except BaseException:
            temp_path.unlink(missing_ok=True)
            raise

    _write_sidecar(target, actual)
    return FetchedFile(path=target, origin="download", sha256=actual, size_bytes=received)


def _content_length(response: http.client.HTTPResponse) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _copy_and_hash(source: io.BufferedIOBase, out: io.BufferedIOBase) -> tuple[str, int]:
    """Copy ``source`` to ``out`` in chunks and return its SHA-256 digest and size."""
    digest = hashlib.sha256()
    received = 0
    while chunk := source.read(CHUNK_SIZE):
        out.write(chunk)
        digest.update(chunk)
        received += len(chunk)
    return digest.hexdigest(), received
