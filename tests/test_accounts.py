"""Tests for keyed account hashes and where their key comes from."""

from __future__ import annotations

import logging
import re
import stat
from pathlib import Path

import pytest

from orchestration.defs.conversations.accounts import (
    ACCOUNT_HASH_KEY_ENV,
    account_hash_key,
    hash_account,
)

KEY = b"invented-test-key-0123456789abcdef"
OTHER_KEY = b"another-invented-key-9876543210fedcba"
ACCOUNT = "user-42@example.org"


# hash_account


def test_same_account_same_hash():
    assert hash_account(ACCOUNT, KEY) == hash_account(ACCOUNT, KEY)


def test_hash_is_prefixed_hex():
    assert re.fullmatch(r"acct_[0-9a-f]{32}", hash_account(ACCOUNT, KEY))


def test_different_key_different_hash():
    assert hash_account(ACCOUNT, KEY) != hash_account(ACCOUNT, OTHER_KEY)


def test_different_accounts_different_hashes():
    assert hash_account("user-1", KEY) != hash_account("user-2", KEY)


def test_hash_hides_raw_account_id():
    assert "user-42" not in hash_account(ACCOUNT, KEY)


def test_hash_rejects_short_key():
    with pytest.raises(ValueError, match=ACCOUNT_HASH_KEY_ENV):
        hash_account(ACCOUNT, b"short")


# account_hash_key from the environment


def test_text_env_key_used_as_utf8(tmp_path: Path):
    key = account_hash_key({ACCOUNT_HASH_KEY_ENV: "correct horse battery"}, tmp_path / "k")
    assert key == b"correct horse battery"


def test_hex_env_key_decoded(tmp_path: Path):
    key = account_hash_key({ACCOUNT_HASH_KEY_ENV: "00ff" * 8}, tmp_path / "k")
    assert key == bytes.fromhex("00ff" * 8)


def test_env_key_leaves_key_file_alone(tmp_path: Path):
    key_file = tmp_path / "secrets" / "account_hash.key"
    account_hash_key({ACCOUNT_HASH_KEY_ENV: "correct horse battery"}, key_file)
    assert not key_file.exists()


def test_short_env_key_rejected(tmp_path: Path):
    with pytest.raises(ValueError) as raised:
        account_hash_key({ACCOUNT_HASH_KEY_ENV: "tooShort99"}, tmp_path / "k")
    message = str(raised.value)
    assert ACCOUNT_HASH_KEY_ENV in message
    assert "openssl rand -hex 32" in message
    assert "tooShort99" not in message


def test_unset_key_without_file_rejected():
    with pytest.raises(ValueError, match="no key file"):
        account_hash_key({}, None)


# account_hash_key from the key file


def test_key_file_created_with_0600(tmp_path: Path):
    key_file = tmp_path / "secrets" / "account_hash.key"
    key = account_hash_key({}, key_file)
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key) == 32


def test_key_file_reused_across_calls(tmp_path: Path):
    key_file = tmp_path / "account_hash.key"
    first = account_hash_key({}, key_file)
    second = account_hash_key({}, key_file)
    assert first == second


def test_empty_env_key_uses_key_file(tmp_path: Path):
    key_file = tmp_path / "account_hash.key"
    from_file = account_hash_key({}, key_file)
    assert account_hash_key({ACCOUNT_HASH_KEY_ENV: ""}, key_file) == from_file


def test_key_file_leaves_no_temporary_files(tmp_path: Path):
    account_hash_key({}, tmp_path / "account_hash.key")
    assert [path.name for path in tmp_path.iterdir()] == ["account_hash.key"]


def test_short_key_file_rejected(tmp_path: Path):
    key_file = tmp_path / "account_hash.key"
    key_file.write_text("abc\n")
    key_file.chmod(0o600)
    with pytest.raises(ValueError) as raised:
        account_hash_key({}, key_file)
    assert str(key_file) in str(raised.value)
    assert "abc" not in str(raised.value).replace(str(key_file), "")


def test_binary_key_file_error_hides_bytes(tmp_path: Path):
    key_file = tmp_path / "account_hash.key"
    key_file.write_bytes(b"\xfe\xed" * 16)
    with pytest.raises(ValueError) as raised:
        account_hash_key({}, key_file)
    assert "not UTF-8" in str(raised.value)
    assert "0xfe" not in str(raised.value)
    assert raised.value.__suppress_context__


def test_readable_key_file_warned(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    key_file = tmp_path / "account_hash.key"
    key_file.write_text("0123456789abcdef0123456789abcdef\n")
    key_file.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        account_hash_key({}, key_file)
    assert "chmod 600" in caplog.text


def test_generated_key_file_named_in_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    key_file = tmp_path / "account_hash.key"
    with caplog.at_level(logging.WARNING):
        account_hash_key({}, key_file)
    assert str(key_file) in caplog.text
    assert ACCOUNT_HASH_KEY_ENV in caplog.text


def test_key_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    key_file = tmp_path / "account_hash.key"
    with caplog.at_level(logging.DEBUG):
        key = account_hash_key({}, key_file)
        account_hash_key({}, key_file)
        hash_account(ACCOUNT, key)
    stored = key_file.read_text().strip()
    assert caplog.records
    assert stored not in caplog.text
    assert key.hex() not in caplog.text
    assert repr(key) not in caplog.text
    assert ACCOUNT not in caplog.text
