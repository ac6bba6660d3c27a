"""Paths and settings read from the environment when called, never at import time."""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Every variable the project reads; .env.example documents each one.
ENV_DATA_DIR = "DATA_DIR"
ENV_WAREHOUSE_PATH = "WAREHOUSE_PATH"
ENV_DATA_MIRROR = "DATA_MIRROR"
ENV_ONET_RELEASE = "ONET_RELEASE"
ENV_CONVERSATION_INBOX = "CONVERSATION_INBOX"
ENV_ACCOUNT_HASH_KEY = "ACCOUNT_HASH_KEY"
ENV_KEEP_ORIGINAL_TEXT = "KEEP_ORIGINAL_TEXT"
ENV_ORIGINAL_TEXT_RETENTION_DAYS = "ORIGINAL_TEXT_RETENTION_DAYS"
ENV_TAGGING_BACKEND = "TAGGING_BACKEND"
ENV_ANTHROPIC_API_KEY = "ANTHROPIC_API_KEY"
ENV_REPLAY_DIR = "REPLAY_DIR"
# Small invented exports, one per supported format, loaded with the public samples.
FORMAT_SAMPLES_DIR = PROJECT_ROOT / "samples" / "exports"


def data_dir() -> Path:
    """Return the folder for downloads, the warehouse and reports (default ./data)."""
    return Path(os.environ.get(ENV_DATA_DIR) or PROJECT_ROOT / "data").resolve()


def warehouse_path() -> Path:
    """Return the absolute path of the DuckDB warehouse that Python assets and dbt share."""
    configured = os.environ.get(ENV_WAREHOUSE_PATH)
    return Path(configured).resolve() if configured else data_dir() / "warehouse.duckdb"


def mirror_dir() -> Path | None:
    """Return the local mirror laid out like the publishers' files, or None to download."""
    configured = os.environ.get(ENV_DATA_MIRROR)
    return Path(configured).resolve() if configured else None


def onet_release() -> str:
    """Return the O*NET task set to tag with: 20.1 (the Economic Index's) unless set."""
    return os.environ.get(ENV_ONET_RELEASE) or "20.1"


def conversation_inbox() -> str | None:
    """Return the folder of the user's own conversation exports, if one is set."""
    return os.environ.get(ENV_CONVERSATION_INBOX) or None


def dbt_executable() -> str:
    """Return the dbt installed beside this Python, so no PATH setup is needed."""
    return str(Path(sys.executable).parent / "dbt")


def account_key_file() -> Path:
    """Return the file that keeps the generated account-hash key when none is set."""
    return data_dir() / "secrets" / "account_hash.key"


def keep_original_text() -> bool:
    """Return whether unscrubbed text is kept in raw.message_originals (default no)."""
    return os.environ.get(ENV_KEEP_ORIGINAL_TEXT, "").strip().lower() in ("1", "true", "yes")


def original_text_retention_days() -> int:
    """Return how many days unscrubbed originals are kept (default 30)."""
    value = os.environ.get(ENV_ORIGINAL_TEXT_RETENTION_DAYS) or "30"
    try:
        days = int(value)
    except ValueError:
        raise ValueError(
            f"{ENV_ORIGINAL_TEXT_RETENTION_DAYS}={value!r} is not a whole number of days"
        ) from None
    if days < 0:
        raise ValueError(f"{ENV_ORIGINAL_TEXT_RETENTION_DAYS} must be 0 or more, got {days}")
    return days


def tagging_backend() -> str:
    """Return TAGGING_BACKEND, else claude when ANTHROPIC_API_KEY is set, else offline."""
    configured = (os.environ.get(ENV_TAGGING_BACKEND) or "").strip().lower()
    if configured:
        return configured
    return "claude" if os.environ.get(ENV_ANTHROPIC_API_KEY) else "offline"


def replay_dir() -> str | None:
    """Return the JSONL file or folder of recorded exchanges for the replay backend."""
    return os.environ.get(ENV_REPLAY_DIR) or None


ENV_TAGGING_ENCODER = "TAGGING_ENCODER"
ENV_TAGGING_USAGE_PRIOR = "TAGGING_USAGE_PRIOR"
ENV_TAGGING_CASCADE_SHARE = "TAGGING_CASCADE_SHARE"


def tagging_encoder() -> str:
    """Return the offline encoder: auto (default), embedding, static, cascade or tfidf."""
    return (os.environ.get(ENV_TAGGING_ENCODER) or "auto").strip().lower()


def tagging_cascade_share() -> float | None:
    """Return the share of each batch the cascade encoder reads with the model; None: default."""
    value = (os.environ.get(ENV_TAGGING_CASCADE_SHARE) or "").strip()
    if not value:
        return None
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"{ENV_TAGGING_CASCADE_SHARE}={value!r} must be a number from 0 to 1")
    return share


def offline_tagging_problem() -> str | None:
    """Return what is wrong with the offline tagger's environment settings, or None.

    Run before any work, so that a typo fails in a second with one line, not after loading.
    """
    from orchestration.defs.tagging.offline import ENCODERS

    encoder = tagging_encoder()
    if encoder not in ENCODERS:
        return (
            f"{ENV_TAGGING_ENCODER}={encoder!r} is not an encoder; use one of {', '.join(ENCODERS)}"
        )
    try:
        tagging_cascade_share()
        tagging_usage_prior()
    except ValueError as error:
        return str(error)
    return None


def tagging_usage_prior() -> bool:
    """Return whether the offline tagger tags only with tasks that have published usage.

    The default is yes.
    """
    value = (os.environ.get(ENV_TAGGING_USAGE_PRIOR) or "1").strip().lower()
    if value not in ("1", "true", "yes", "0", "false", "no"):
        raise ValueError(f"{ENV_TAGGING_USAGE_PRIOR}={value!r} must be 1/true/yes or 0/false/no")
    return value in ("1", "true", "yes")


def embedding_cache_dir() -> Path:
    """Return the folder where embeddings of task statements and examples are kept."""
    return data_dir() / "cache" / "embeddings"
