"""Tests for the deterministic scrubber of personal data and secrets."""

from __future__ import annotations

import pytest

from orchestration.defs.conversations.scrub import PLACEHOLDER_TYPES, scrub_counts, scrub_text


def test_email_replaced_in_sentence():
    scrubbed = scrub_text("Write to priya.nair+work@example.org today.")
    assert scrubbed == "Write to [EMAIL] today."


@pytest.mark.parametrize(
    "phone",
    [
        "555-867-5309",
        "(555) 867-5309",
        "555.867.5309",
        "1-555-867-5309",
        "+1 555 867 5309",
        "+1 (555) 867-5309",
        "+44 20 7946 0958",
        "+33 1 23 45 67 89",
        "+4915112345678",
    ],
)
def test_phone_number_forms_replaced(phone: str):
    assert scrub_text(f"call {phone} now") == "call [PHONE] now"


@pytest.mark.parametrize(
    "card",
    ["4111 1111 1111 1111", "4111-1111-1111-1111", "5555555555554444", "378282246310005"],
)
def test_luhn_valid_card_replaced(card: str):
    assert scrub_text(f"card {card} expires") == "card [CARD] expires"


def test_luhn_invalid_card_kept():
    text = "card 4111 1111 1111 1112 and 4111111111111112"
    assert scrub_text(text) == text


def test_luhn_valid_non_card_prefix_kept():
    # Luhn-valid, but 8 is no card network's first digit.
    text = "coupon 8000000000000003"
    assert scrub_text(text) == text


def test_ssn_replaced():
    assert scrub_text("SSN 078-05-1120.") == "SSN [SSN]."


def test_ipv4_address_replaced():
    assert scrub_text("ssh to 203.0.113.42, then") == "ssh to [IP], then"


@pytest.mark.parametrize(
    "text",
    ["bind 127.0.0.1:8000", "listen on 0.0.0.0", "netmask 255.255.255.0", "version 1.0.0.0"],
)
def test_loopback_netmask_and_version_kept(text: str):
    assert scrub_text(text) == text


@pytest.mark.parametrize(
    "url",
    [
        "https://alice:s3cret@db.example.com/admin",
        "postgres://app:hunter2@10.1.2.3:5432/sales",
        "https://api.example.com/v1/items?id=7&api_key=abc123",
        "https://files.example.com/r.pdf?X-Amz-Signature=f00d&X-Amz-Expires=60",
        "https://example.com/callback#access_token=abc.def",
        "https://example.com/reset?password=letmein",
    ],
)
def test_secret_bearing_url_replaced(url: str):
    assert scrub_text(f"open {url} please") == "open [URL] please"


def test_url_trailing_punctuation_kept():
    assert scrub_text("see (https://x.example/?token=abc).") == "see ([URL])."


def test_plain_url_kept():
    text = "docs at https://example.com/search?q=shoes&page=2&keyword=red."
    assert scrub_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "request 123e4567-e89b-12d3-a456-426614174000 failed",
        "commit da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "upgrade to version 2.10.3",
        "order 123456 shipped",
        "in 2024 we sold 1500 units",
        "epoch 1700000000 and id 5551234567",
        "2023-11-22T05:52:55+00:00",
        "x = 2+3 and y = a @ b",
        "git@github.com:example/repo.git",
        "icon@2x.png",
        "ISBN 978-3-16-148410-0",
        "values 100 200 3000",
    ],
)
def test_identifiers_and_code_kept(text: str):
    assert scrub_text(text) == text


def test_counts_per_placeholder_type():
    text = "a@b.example, c@d.example, 555-867-5309, 4111111111111111"
    scrubbed, counts = scrub_counts(text)
    assert scrubbed == "[EMAIL], [EMAIL], [PHONE], [CARD]"
    assert counts["EMAIL"] == 2
    assert counts["PHONE"] == 1
    assert counts["CARD"] == 1
    assert counts["SSN"] == 0
    assert set(counts) == set(PLACEHOLDER_TYPES)


def test_empty_text_returns_zero_counts():
    scrubbed, counts = scrub_counts("")
    assert scrubbed == ""
    assert sum(counts.values()) == 0


def test_scrub_text_is_idempotent():
    once = scrub_text("mail a@b.example or call +1 555 867 5309 from 203.0.113.9")
    assert scrub_text(once) == once
