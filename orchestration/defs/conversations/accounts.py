"""Replace account ids with keyed hashes, so that raw ids are never stored.

The key comes from the ACCOUNT_HASH_KEY environment variable, or else from a key file
that is generated once. The key is secret, because anyone with the key and a list of
candidate ids could recompute their hashes. This module puts neither the key nor an
account id into a log record or an exception message.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
import string
from collections.abc import Mapping
from pathlib import Path

logger = logging.getLogger(__name__)

ACCOUNT_HASH_KEY_ENV = "ACCOUNT_HASH_KEY"
ACCOUNT_HASH_PREFIX = "acct_"
MIN_KEY_CHARS = 16
# 32 hex digits keep 128 bits of the HMAC-SHA256 digest, so a collision needs about 2**64
# accounts (the birthday bound).
_HASH_HEX_DIGITS = 32
_GENERATED_KEY_BYTES = 32
# 16 hex digits decode to 8 bytes, the shortest key that account_hash_key returns.
_MIN_KEY_BYTES = 8
_HOW_TO_SET_KEY = (
    f"set {ACCOUNT_HASH_KEY_ENV} to a random string of at least {MIN_KEY_CHARS} "
    "characters, for example the output of `openssl rand -hex 32`"
)


def hash_account(account_id: str, key: bytes) -> str:
    """Return "acct_" and 32 hex digits of the HMAC-SHA256 of the account id under key.

    The id is hashed as given, as UTF-8, so " a1" and "a1" get different hashes. The same
    id and key always give the same hash.
    """
    if len(key) < _MIN_KEY_BYTES:
        raise ValueError(f"account hash key is too short: {_HOW_TO_SET_KEY}")
    digest = hmac.new(key, account_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return ACCOUNT_HASH_PREFIX + digest[:_HASH_HEX_DIGITS]


def account_hash_key(
    environ: Mapping[str, str] = os.environ, key_file: Path | None = None
) -> bytes:
    """Return the account hash key from ACCOUNT_HASH_KEY, or else from key_file.

    A value of ACCOUNT_HASH_KEY made of hex digits is decoded as hex, and any other value
    is used as UTF-8 bytes. An empty value counts as unset. When the variable is unset,
    the key is read from key_file, which is created with a new random key and mode 0600
    if it does not exist yet.

    Raises ValueError when the variable is shorter than 16 characters, when it is unset
    and no key_file is given, or when the key file contains no valid key.
    """
    configured = environ.get(ACCOUNT_HASH_KEY_ENV)
    if configured:
        if len(configured) < MIN_KEY_CHARS:
            raise ValueError(
                f"{ACCOUNT_HASH_KEY_ENV} has {len(configured)} characters, fewer than "
                f"{MIN_KEY_CHARS}: {_HOW_TO_SET_KEY}"
            )
        return _decode_key(configured)
    if key_file is None:
        raise ValueError(
            f"{ACCOUNT_HASH_KEY_ENV} is not set and no key file was given: {_HOW_TO_SET_KEY}"
        )
    if not key_file.exists():
        _create_key_file(key_file)
    else:
        logger.info(
            "%s is not set, so the account hash key is read from %s",
            ACCOUNT_HASH_KEY_ENV,
            key_file,
        )
    return _read_key_file(key_file)


def _decode_key(text: str) -> bytes:
    if len(text) % 2 == 0 and all(character in string.hexdigits for character in text):
        return bytes.fromhex(text)
    return text.encode("utf-8")


def _create_key_file(key_file: Path) -> None:
    """Write a new random key to key_file with mode 0600, unless another process did first.

    The key goes to a temporary file that is then linked into place, so that a reader
    never sees a half-written key and two processes starting together agree on one key.
    """
    key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = key_file.with_name(f".{key_file.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    # The umask can only remove bits, but fchmod makes the mode exact.
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(_GENERATED_KEY_BYTES) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, key_file)
    except FileExistsError:
        return
    finally:
        temporary.unlink()
    logger.warning(
        "%s is not set, so a new random account hash key was stored in %s. Keep this "
        "file: hashes made with another key will not match the stored ones.",
        ACCOUNT_HASH_KEY_ENV,
        key_file,
    )


def _read_key_file(key_file: Path) -> bytes:
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        logger.warning(
            "account hash key file %s has mode %o, so other users can read it. "
            "Run chmod 600 on it.",
            key_file,
            mode,
        )
    try:
        text = key_file.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        # The decode error quotes the offending byte, which is part of the key.
        raise ValueError(
            f"account hash key file {key_file} is not UTF-8 text: delete it to generate "
            f"a new key, or {_HOW_TO_SET_KEY}"
        ) from None
    if len(text) < MIN_KEY_CHARS:
        raise ValueError(
            f"account hash key file {key_file} contains fewer than {MIN_KEY_CHARS} "
            f"characters: delete it to generate a new key, or {_HOW_TO_SET_KEY}"
        )
    return _decode_key(text)
