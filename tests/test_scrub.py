"""Tests for the deterministic scrubber of personal data and secrets."""

from __future__ import annotations

import importlib.util

import pytest

from orchestration.defs.conversations.scrub import (
    PLACEHOLDER_TYPES,
    name_library_available,
    scrub_counts,
    scrub_text,
)


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


# Tests that need the optional name library skip without it.

needs_name_library = pytest.mark.skipif(
    not name_library_available(), reason="the optional name library (faker) is not installed"
)


# Secrets

# Every key below is invented and only has the shape of its issuer's keys.
PREFIXED_KEYS = [
    "sk-ant-api03-Zx8Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8Lz0Xc2Vb4Nm6",
    "sk-proj-abc123DEF456ghi789JKL012mno345",
    "sk-3xAmpLe0Key1234567890abcdefghij",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "AKIAABCDEFGH12345678",
    "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    "gho_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
    "glpat-abcDEF123ghiJKL456mno",
    "xoxb-123456789012-abcdefghijklmn",
    "xoxp-1234-5678-abcdefghijkl",
    "AIzaSyA1234567890abcdefghijklmnopqrstuv",
    "hf_abcdefghijklmnopqrstuvwxyz12345678",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.abcDEF123_-x",
]


@pytest.mark.parametrize("key", PREFIXED_KEYS)
def test_prefixed_api_key_replaced(key: str):
    assert scrub_text(f"use {key} here") == "use [SECRET] here"


def test_private_key_block_replaced():
    text = (
        "my key:\n-----BEGIN RSA PRIVATE KEY-----\n"
        "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
        "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
        "-----END RSA PRIVATE KEY-----\nwhat is wrong?"
    )
    assert scrub_text(text) == "my key:\n[SECRET]\nwhat is wrong?"


def test_truncated_private_key_block_replaced():
    text = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAABlwAAAAdzc2gtcn\n"
        "NhAAAAAwEAAQAAAYEAxyz0123456789\n"
        "Thanks for looking"
    )
    assert scrub_text(text) == "[SECRET]\nThanks for looking"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('api_key = "abc123"', 'api_key = "[SECRET]"'),
        ('{"password": "hunter2", "user": "x"}', '{"password": "[SECRET]", "user": "x"}'),
        ("token: abc123xyz", "token: [SECRET]"),
        ("secret=s3cr3t", "secret=[SECRET]"),
        ("DB_PASSWORD=Tr0ub4dor&3", "DB_PASSWORD=[SECRET]"),
        ("client_secret: 'xyz789'", "client_secret: '[SECRET]'"),
        ('password: str = "hunter2"', 'password: str = "[SECRET]"'),
        ('if password == "admin123":', 'if password == "[SECRET]":'),
        ("Authorization: Bearer abc123def456ghi789", "Authorization: Bearer [SECRET]"),
        ('"Authorization": "Basic dXNlcjpwYXNz"', '"Authorization": "Basic [SECRET]"'),
        ("<password>hunter2</password>", "<password>[SECRET]</password>"),
        ("mysql -u root --password hunter2", "mysql -u root --password [SECRET]"),
        ("cli --api-key=abc123", "cli --api-key=[SECRET]"),
        ("my password is hunter2.", "my password is [SECRET]."),
        ("the PIN is 4321", "the PIN is [SECRET]"),
        ("send Bearer abcdefghij0123456789 along", "send Bearer [SECRET] along"),
    ],
)
def test_secret_assignment_value_replaced(text: str, expected: str):
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        'password = os.environ["PASSWORD"]',
        "def login(user, password=None):",
        "api_key=api_key",
        "const apiKey = process.env.API_KEY;",
        'API_KEY = os.getenv("API_KEY")',
        "password: str",
        "max_tokens: 1000",
        'token_type: "bearer"',
        "sorted(items, key=len)",
        'curl -H "Authorization: Bearer $TOKEN" https://example.com',
        'headers = {"Authorization": f"Bearer {token}"}',
        'password = "<your password>"',
        "the password is incorrect.",
        "Password: forgotten",
        "pass_stmt ::= 'pass'",
        "her secret: her father was a king",
        "const passFailText = score >= 70;",
        "PasswordAuthentication: no",
        'x = {"key": "value", "token_count": 5}',
    ],
)
def test_code_that_names_secrets_kept(text: str):
    assert scrub_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "commit da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        'data = "SGVsbG8gV29ybGQhIFRoaXMgaXMgYmFzZTY0IGVuY29kZWQgdGV4dA=="',
        "id 123e4567-e89b-12d3-a456-426614174000",
        "pip install scikit-learn==1.5.0",
        ".sk-fading-circle-animation-delay-one",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExample",
    ],
)
def test_hashes_and_plain_base64_kept(text: str):
    assert scrub_text(text) == text


def test_prefixed_key_in_assignment_counted_once():
    scrubbed, counts = scrub_counts('api_key = "sk-proj-abc123DEF456ghi789JKL012mno345"')
    assert scrubbed == 'api_key = "[SECRET]"'
    assert counts["SECRET"] == 1


def test_jwt_in_bearer_header_counted_once():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.abcDEF123_-x"
    scrubbed, counts = scrub_counts(f"Authorization: Bearer {jwt}")
    assert scrubbed == "Authorization: Bearer [SECRET]"
    assert counts["SECRET"] == 1


def test_token_in_url_is_one_url():
    scrubbed, counts = scrub_counts("GET https://api.example.com/v1?access_token=ghp_abc123")
    assert scrubbed == "GET [URL]"
    assert counts["URL"] == 1
    assert counts["SECRET"] == 0


# IBANs


# Published specimen IBANs with valid check digits, not real accounts.
@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "GB82WEST12345698765432",
        "GB82 WEST 1234 5698 7654 32",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91ABNA0417164300",
        "ES91 2100 0418 4502 0005 1332",
    ],
)
def test_valid_iban_replaced(iban: str):
    assert scrub_text(f"pay to {iban} today") == "pay to [IBAN] today"


@pytest.mark.parametrize(
    "text",
    [
        "pay to GB82 WEST 1234 5698 7654 33",  # check digits do not match
        "code XY12 3456 7890 1234 5678",  # XY is not an IBAN country
        "part AB12CD and DE12",
    ],
)
def test_invalid_iban_kept(text: str):
    assert scrub_text(text) == text


def test_iban_followed_by_capitals_cut():
    assert scrub_text("GB82 WEST 1234 5698 7654 32 TO ME") == "[IBAN] TO ME"


def test_iban_digits_not_read_as_card():
    scrubbed, counts = scrub_counts("DE89 3704 0044 0532 0130 00")
    assert scrubbed == "[IBAN]"
    assert counts["CARD"] == 0


# IPv6


@pytest.mark.parametrize(
    "address",
    [
        "2001:db8::1",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "fe80::1ff:fe23:4567:890a",
        "fe80::1%eth0",
        "::ffff:192.0.2.128",
    ],
)
def test_ipv6_address_replaced(address: str):
    assert scrub_text(f"host {address} is down") == "host [IP] is down"


@pytest.mark.parametrize(
    "text",
    [
        "listen on :: and ::1",
        "at 12:30:45 and 10:30",
        "2023-11-22T05:52:55+00:00",
        "std::vector<int> v; a::b",
        "x[1::2] and y[::-1]",
        "mac 00:1A:2B:3C:4D:5E",
        "dead::beef",
    ],
)
def test_ipv6_look_alikes_kept(text: str):
    assert scrub_text(text) == text


# Postal addresses


@pytest.mark.parametrize(
    "address",
    [
        "12 Oak Street",
        "1600 Example Avenue, Springfield, IL 62704",
        "500 W Main St. Apt 4B",
        "742 Maple Terrace NW",
        "3 Elm Blvd",
        "10 Harbour Way",
        "221B Example Road, London NW1 6XE",
        "12 Oak Street, San Antonio, TX",
        "45 Example Avenue, Toronto, ON M6C 1R5",
        "Flat 3, 10 Example Street, London SW1A 2AA",
        "PO Box 1234",
    ],
)
def test_street_address_replaced(address: str):
    assert scrub_text(f"ship to {address} please") == "ship to [ADDRESS] please"


@pytest.mark.parametrize("postcode", ["SW1A 1AA", "M1 1AE", "B33 8TH", "EC1A 1BB"])
def test_uk_postcode_replaced(postcode: str):
    assert scrub_text(f"postcode {postcode}.") == "postcode [ADDRESS]."


@pytest.mark.parametrize(
    "text",
    [
        "Route 66 is long",
        "Top 10 Python Tips",
        "3 different ways to do it",
        "for (int i = 0; i < 10; i++) {}",
        "value = 1234 5678",
        "see section 4 of RFC 2616",
        "order 12345 ships on 2024-03-15",
        "room 101 on floor 3",
    ],
)
def test_address_look_alikes_kept(text: str):
    assert scrub_text(text) == text


# Person names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi Maria, can you help?", "Hi [NAME], can you help?"),
        ("Dear Mr. Okafor", "Dear Mr. [NAME]"),
        ("Hello John Smith!", "Hello [NAME]!"),
        ("Good morning Léa,", "Good morning [NAME],"),
        ("Hey Jean-Luc!", "Hey [NAME]!"),
        ("Dear Anna van der Berg,", "Dear [NAME],"),
        ("Dear Anna M. Kowalski,", "Dear [NAME],"),
        ("Hi Will,", "Hi [NAME],"),
    ],
)
def test_greeting_name_replaced(text: str, expected: str):
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Best regards,\nAnna Kowalski", "Best regards,\n[NAME]"),
        ("Thanks, Tom", "Thanks, [NAME]"),
        ("Thanks Tom!", "Thanks [NAME]!"),
        ("Cheers,\nPriya", "Cheers,\n[NAME]"),
        ("Sincerely,\n\nSeán O'Brien\nEngineer", "Sincerely,\n\n[NAME]\nEngineer"),
        ("Kind regards,\nDr. Chidi Okafor", "Kind regards,\nDr. [NAME]"),
        ("That works. Thanks, Bill", "That works. Thanks, [NAME]"),
    ],
)
def test_sign_off_name_replaced(text: str, expected: str):
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my name is Jane Doe and I need help", "my name is [NAME] and I need help"),
        ("I'm called Léa", "I'm called [NAME]"),
        ("I am Jean-Luc", "I am [NAME]"),
        ("I'm Priya, a nurse.", "I'm [NAME], a nurse."),
        ("Hi, this is Ahmed from the sales team.", "Hi, this is [NAME] from the sales team."),
        ("It's Anna here", "It's [NAME] here"),
        ("you can call me Thabo", "you can call me [NAME]"),
    ],
)
def test_self_introduction_name_replaced(text: str, expected: str):
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Okafor said so", "Dr. [NAME] said so"),
        ("my son Will is five", "my son [NAME] is five"),
        ("our landlord, Mr Park, called", "our landlord, Mr [NAME], called"),
        ("Name: Jane Doe", "Name: [NAME]"),
    ],
)
def test_title_relation_and_label_names(text: str, expected: str):
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"Jane Doe" <jane@example.org>', "[NAME] <[EMAIL]>"),
        ("Jane Doe <jane@example.org>", "[NAME] <[EMAIL]>"),
        ("From: Jane Q. Doe <jane@example.org>", "From: [NAME] <[EMAIL]>"),
        ("'Doe, Jane' <jane@example.org>", "[NAME] <[EMAIL]>"),
    ],
)
def test_email_display_name_replaced(text: str, expected: str):
    assert scrub_text(text) == expected


def test_display_name_counts_name_and_email():
    _, counts = scrub_counts('"Jane Doe" <jane@example.org>')
    assert counts["NAME"] == 1
    assert counts["EMAIL"] == 1


ORDINARY_TEXT = [
    "I am happy to help",
    "Will you help me?",
    "May I ask a question?",
    "Grace period for the loan ends in June.",
    "Bill Payment Due",
    "Mark the checkbox and press Save.",
    "Hope this helps!",
    "I am Happy to help! I'm Not sure.",
    "I'm Canadian and I love it",
    "Dear Hiring Manager,",
    "Dear Sir or Madam,",
    "Hello World!",
    'print("Hello, world!")',
    "Hi Claude, can you help?",
    "Hi there, quick question",
    "Thanks! Can you also fix the tests?",
    "Thank you! Yeah, I just wanted to check.",
    'She said, "Hey, I\'m here."',
    "Oh dear, Trainer, not again.",
    "The American Red Cross suggests it.",
    "Best Practices for Python",
    "Regards,\nThe Example Team",
    "this is Python, not Java",
    "This is a test",
    "name: Build and test",
    "Rose Garden Design Ideas",
    "Jack Russell Terrier training tips",
    "Max Pooling in CNNs explained",
    "Taylor Series expansion of sin(x)",
    "def greet(name):\n    return f'Hello, {name}!'",
    "const user = {name: 'x', age: 3};",
]


@pytest.mark.parametrize("name_library", [True, False])
@pytest.mark.parametrize("text", ORDINARY_TEXT)
def test_ordinary_capitalised_words_kept(text: str, name_library: bool):
    assert scrub_text(text, name_library=name_library) == text


@needs_name_library
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I met Anna Kowalski yesterday.", "I met [NAME] yesterday."),
        ("Then Anna Kowalski called.", "Then [NAME] called."),
        ("Hi Maria how are you", "Hi [NAME] how are you"),
        ("I am Priya and I work at a bank", "I am [NAME] and I work at a bank"),
    ],
)
def test_name_library_finds_names_in_prose(text: str, expected: str):
    assert scrub_text(text) == expected


@needs_name_library
def test_name_library_off_by_argument():
    text = "I met Anna Kowalski yesterday."
    assert scrub_text(text, name_library=False) == text


def test_name_library_matches_faker_install():
    assert name_library_available() == (importlib.util.find_spec("faker") is not None)


# Emoji and astral characters

FRAKTUR = "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"

DETECTOR_SAMPLES = [
    ("jane@example.org", "[EMAIL]"),
    ("555-867-5309", "[PHONE]"),
    ("+44 20 7946 0958", "[PHONE]"),
    ("4111 1111 1111 1111", "[CARD]"),
    ("078-05-1120", "[SSN]"),
    ("203.0.113.42", "[IP]"),
    ("2001:db8::1", "[IP]"),
    ("https://x.example/?token=abc", "[URL]"),
    ("AKIAABCDEFGH12345678", "[SECRET]"),
    ("DE89 3704 0044 0532 0130 00", "[IBAN]"),
    ("12 Oak Street", "[ADDRESS]"),
    ("SW1A 1AA", "[ADDRESS]"),
]


@pytest.mark.parametrize(("value", "placeholder"), DETECTOR_SAMPLES)
def test_emoji_neighbours_survive_replacement(value: str, placeholder: str):
    assert scrub_text(f"😀{value}👍🏽") == f"😀{placeholder}👍🏽"


@pytest.mark.parametrize(("value", "placeholder"), DETECTOR_SAMPLES)
def test_astral_letters_survive_replacement(value: str, placeholder: str):
    text = f"{FRAKTUR} {value} {FRAKTUR}"
    assert scrub_text(text) == f"{FRAKTUR} {placeholder} {FRAKTUR}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("😀Hi Maria,😀", "😀Hi [NAME],😀"),
        (f"{FRAKTUR} my name is Jane Doe. {FRAKTUR}", f"{FRAKTUR} my name is [NAME]. {FRAKTUR}"),
        ('😀"Jane Doe" <jane@example.org>😀', "😀[NAME] <[EMAIL]>😀"),
        ("😀api_key=abc123😀", "😀api_key=[SECRET]😀"),
        (f"Cheers,\nPriya 👋 {FRAKTUR}", f"Cheers,\n[NAME] 👋 {FRAKTUR}"),
    ],
)
def test_emoji_next_to_names_and_secrets(text: str, expected: str):
    assert scrub_text(text) == expected


def test_many_emoji_keep_later_offsets():
    text = "👨‍👩‍👧‍👦" * 20 + f" {FRAKTUR} mail jane@example.org, from 203.0.113.9 😀"
    expected = "👨‍👩‍👧‍👦" * 20 + f" {FRAKTUR} mail [EMAIL], from [IP] 😀"
    assert scrub_text(text) == expected


# Overlapping matches and counts


def test_email_in_plain_url_path_replaced():
    text = "see https://example.com/u/jane.doe@example.org/profile"
    assert scrub_text(text) == "see https://example.com/u/[EMAIL]/profile"


def test_credentials_url_hides_its_email():
    scrubbed, counts = scrub_counts("https://alice:s3cret@db.example.com/admin")
    assert scrubbed == "[URL]"
    assert counts["EMAIL"] == 0


def test_name_address_and_phone_together():
    text = "To: Anna Kowalski, 12 Oak Street, Springfield, IL 62704, 555-867-5309"
    assert scrub_text(text) == "To: [NAME], [ADDRESS], [PHONE]"


def test_letter_with_every_name_form():
    text = (
        "Hi Maria,\n\nThanks for the update. Call me at 555-867-5309.\n\n"
        "Best regards,\nTom Baker\nSenior Engineer"
    )
    expected = (
        "Hi [NAME],\n\nThanks for the update. Call me at [PHONE].\n\n"
        "Best regards,\n[NAME]\nSenior Engineer"
    )
    assert scrub_text(text) == expected


def test_counts_for_new_placeholder_types():
    text = (
        "Hi Maria, token=abc123, IBAN DE89 3704 0044 0532 0130 00, host 2001:db8::1, "
        "at 12 Oak Street, and Dr. Okafor"
    )
    scrubbed, counts = scrub_counts(text)
    assert scrubbed == (
        "Hi [NAME], token=[SECRET], IBAN [IBAN], host [IP], at [ADDRESS], and Dr. [NAME]"
    )
    assert counts["NAME"] == 2
    assert counts["SECRET"] == 1
    assert counts["IBAN"] == 1
    assert counts["IP"] == 1
    assert counts["ADDRESS"] == 1
    assert counts["EMAIL"] == 0


def test_new_types_scrub_idempotently():
    text = (
        'Dear Ms. Lindqvist, "Jane Doe" <jane@example.org>, password: "hunter2", '
        "GB82WEST12345698765432, fe80::1ff:fe23:4567:890a, 10 Harbour Way\nThanks, Tom"
    )
    once = scrub_text(text)
    assert scrub_text(once) == once


@pytest.mark.parametrize("word", ["server", "observer", "forever"])
def test_ipv4_after_word_ending_ver_replaced(word: str):
    assert scrub_text(f"{word} 203.0.113.77.") == f"{word} [IP]."
