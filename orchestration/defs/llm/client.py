"""Build an Anthropic client with bounded retries and a cap on how long a retry-after stalls."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2

# anthropic 2.17 rejects a non-streaming request when max_tokens * 3600 s / 128,000 exceeds
# ten minutes, that is above 21,333 tokens (_calculate_nonstreaming_timeout in the SDK).
NONSTREAMING_MAX_TOKENS = 21_333
# Output limits per model family. An unknown model is checked against the non-streaming
# limit only.
# NOTE: these limits were not checked against Anthropic's model overview for this release.
MODEL_MAX_OUTPUT_TOKENS = {
    "claude-haiku-4-5": 64_000,
    "claude-sonnet-4-5": 64_000,
    "claude-opus-4-1": 32_000,
}


class RetryLater(Exception):
    """The API asked for a wait longer than the configured cap; re-queue the item."""

    def __init__(self, seconds: float, status_code: int) -> None:
        super().__init__(f"HTTP {status_code} with retry-after {seconds:.1f} s")
        self.seconds = seconds
        self.status_code = status_code


@dataclass(frozen=True)
class ClientSettings:
    """API key, model, output limit and retry policy of one client."""

    api_key: str
    model: str
    max_tokens: int
    max_retries: int = 2
    # A retry-after longer than this (seconds) re-queues the item instead of sleeping.
    max_retry_after_seconds: float = 30.0
    timeout_seconds: float = 600.0
    base_url: str | None = None


def validate_settings(model: str, max_tokens: int, max_retries: int) -> None:
    """Raise ValueError for settings the SDK or the API would reject mid-run."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    if max_tokens > NONSTREAMING_MAX_TOKENS:
        raise ValueError(
            f"max_tokens={max_tokens} is above {NONSTREAMING_MAX_TOKENS}, the most the "
            "anthropic SDK allows without streaming; lower it"
        )
    for prefix, limit in MODEL_MAX_OUTPUT_TOKENS.items():
        if model.startswith(prefix) and max_tokens > limit:
            raise ValueError(f"max_tokens={max_tokens} is above {model}'s output limit {limit}")
    if max_retries < 0:
        raise ValueError(f"max_retries must be 0 or more, got {max_retries}")


def retry_after_seconds(headers: httpx2.Headers) -> float | None:
    """Return the wait in seconds a response requests, from retry-after-ms or retry-after."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) / scale
        except ValueError:
            continue
    return None


class RetryAfterCap(anthropic.Middleware):
    """Stop the SDK from sleeping through a long retry-after: raise RetryLater instead."""

    def __init__(self, max_seconds: float) -> None:
        self.max_seconds = max_seconds

    def handle(self, request: Any, call_next: Any) -> Any:
        response = call_next(request)
        if response.status_code in (408, 409, 429) or response.status_code >= 500:
            seconds = retry_after_seconds(response.headers)
            if seconds is not None and seconds > self.max_seconds:
                raise RetryLater(seconds, response.status_code)
        return response


def make_client(
    settings: ClientSettings, http_client: httpx2.Client | None = None
) -> anthropic.Anthropic:
    """Return a client whose retries and retry-after cap follow the settings."""
    validate_settings(settings.model, settings.max_tokens, settings.max_retries)
    options: dict[str, Any] = {
        "api_key": settings.api_key,
        "max_retries": settings.max_retries,
        "timeout": settings.timeout_seconds,
        "middleware": [RetryAfterCap(settings.max_retry_after_seconds)],
    }
    if settings.base_url:
        options["base_url"] = settings.base_url
    if http_client is not None:
        options["http_client"] = http_client
    return anthropic.Anthropic(**options)


def canonical_json(value: Any) -> str:
    """Serialise with sorted keys and no spaces, so equal requests give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_hash(body: dict) -> str:
    """Return the sha256 hex digest of a request body's canonical JSON."""
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()
