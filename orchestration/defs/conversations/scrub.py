"""Replace contact details, card numbers, SSNs, IP addresses and secret-bearing URLs."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

# NOTE: names, postal addresses and secrets outside URLs (bare API keys) are not detected.
PLACEHOLDER_TYPES = ("URL", "EMAIL", "IP", "SSN", "CARD", "PHONE")

# Words in a query parameter name that mark the URL as carrying a secret.
_SECRET_PARAMETER_WORDS = frozenset(
    {
        "token",
        "key",
        "apikey",
        "secret",
        "password",
        "passwd",
        "pwd",
        "pass",
        "sig",
        "signature",
        "auth",
        "credential",
        "credentials",
        "jwt",
        "sessionid",
    }
)
# Compounds written as one lowercase word, which the word split cannot separate.
_SECRET_PARAMETER_NAMES = frozenset(
    {"accesstoken", "authtoken", "authkey", "secretkey", "privatekey", "clientsecret"}
)

# Candidate URLs: any scheme followed by "://". Quotes, angle brackets and backticks end
# a URL because they delimit it in code, Markdown and JSON.
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s<>\"'`]+")
_URL_TRAILING_PUNCTUATION = ".,;:!?)]}"
_PARAMETER_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")

# "(?!\d+x\.)" keeps image names such as icon@2x.png.
_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]+@(?!\d+x\.)"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?![\w-])"
)

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)")
# A four-part version string ("version 1.0.0.0") looks like an address, so a number
# right after the word version, ver or release, or after a "v", is kept.
_VERSION_BEFORE = re.compile(r"(?i)(?:version|ver\.?|release|\bv)\W{0,3}$")

_SSN = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")

# 13 to 19 digits that start with a group of four, with single spaces or dashes between
# digits. A leading group of four keeps runs of small space-separated numbers out. The
# callback then requires a card network's prefix and a valid Luhn check digit, because
# about one in ten random numbers passes the Luhn check alone.
_CARD = re.compile(r"(?<![\w.+-])\d{4}(?:[ -]?\d){9,15}(?![\w-]|\.\d)")

# "+" and a country code, then groups of digits. The callback checks the digit count.
_PHONE_INTERNATIONAL = re.compile(
    r"(?<![\w+)])\+\d{1,3}"
    r"(?:[ .-]?\(?\d{1,5}\)?){1,6}(?![\w-]|\.\d)"
)
# North American numbers need separators, so ten-digit IDs and epoch seconds stay.
_PHONE_US = re.compile(
    r"(?<![\w.+-])(?<!\d )(?:1[ .-]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])"
    r"\d{3}[ .-]\d{4}(?![\w-]|[ .-]?\d)"
)
_PHONE_MIN_DIGITS = 8
_PHONE_MAX_DIGITS = 15  # E.164 allows at most 15 digits including the country code.


def _parameter_is_secret(name: str) -> bool:
    words = [word.lower() for word in _PARAMETER_WORD.findall(name)]
    if any(word in _SECRET_PARAMETER_WORDS for word in words):
        return True
    return "".join(words) in _SECRET_PARAMETER_NAMES


def _url_has_secret(url: str) -> bool:
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        # urlsplit raises ValueError for unbalanced IPv6 brackets.
        return False
    if password is not None:
        return True
    for component in (parts.query, parts.fragment):
        if "=" not in component:
            continue
        for name, _value in parse_qsl(component, keep_blank_values=True):
            if _parameter_is_secret(name):
                return True
    return False


def _has_card_prefix(digits: str) -> bool:
    """Return whether the digits start with a payment card network's issuer prefix.

    The prefixes cover Visa, Mastercard, American Express, Discover, JCB, Diners Club,
    UnionPay and Maestro.
    """
    if digits[0] in "456":
        return True
    if digits[0] == "3":
        return digits[1] in "0456789"
    return digits[0] == "2" and 2221 <= int(digits[:4]) <= 2720


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, character in enumerate(reversed(digits)):
        digit = int(character)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


Replacer = Callable[[re.Match[str]], str]


def _replace_url(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        url = match.group(0)
        trimmed = url.rstrip(_URL_TRAILING_PUNCTUATION)
        if not _url_has_secret(trimmed):
            return url
        counts["URL"] += 1
        return "[URL]" + url[len(trimmed) :]

    return replace


def _replace_email(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        address = match.group(0)
        # "git@host" is an SSH remote in code, not a person's address.
        if address.startswith("git@"):
            return address
        counts["EMAIL"] += 1
        return "[EMAIL]"

    return replace


def _replace_ip(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        if _VERSION_BEFORE.search(match.string, max(0, match.start() - 12), match.start()):
            return text
        address = ipaddress.IPv4Address(text)
        # Loopback, 0.0.0.0 and netmasks are common in code and identify no machine.
        if address.is_loopback or address.is_unspecified or text.startswith("255."):
            return text
        counts["IP"] += 1
        return "[IP]"

    return replace


def _replace_ssn(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        counts["SSN"] += 1
        return "[SSN]"

    return replace


def _replace_card(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        digits = re.sub(r"\D", "", text)
        if not (_has_card_prefix(digits) and _luhn_valid(digits)):
            return text
        counts["CARD"] += 1
        return "[CARD]"

    return replace


def _replace_phone(counts: dict[str, int]) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        digit_count = sum(character.isdigit() for character in text)
        if not _PHONE_MIN_DIGITS <= digit_count <= _PHONE_MAX_DIGITS:
            return text
        counts["PHONE"] += 1
        return "[PHONE]"

    return replace


def scrub_counts(text: str) -> tuple[str, dict[str, int]]:
    """Replace personal data and secrets with typed placeholders and count each type.

    The returned dict has one key per name in PLACEHOLDER_TYPES, with zero for a type
    that was not found. URLs run first so that a password before "@" is not read as an email,
    and cards run before phones so that a card's digit groups are never half replaced.
    """
    counts = dict.fromkeys(PLACEHOLDER_TYPES, 0)
    if not text:
        return text, counts
    # A pattern is skipped when the text lacks a character that every match contains.
    if "://" in text:
        text = _URL.sub(_replace_url(counts), text)
    if "@" in text:
        text = _EMAIL.sub(_replace_email(counts), text)
    if "." in text:
        text = _IPV4.sub(_replace_ip(counts), text)
    if "-" in text:
        text = _SSN.sub(_replace_ssn(counts), text)
    text = _CARD.sub(_replace_card(counts), text)
    if "+" in text:
        text = _PHONE_INTERNATIONAL.sub(_replace_phone(counts), text)
    text = _PHONE_US.sub(_replace_phone(counts), text)
    return text, counts


def scrub_text(text: str) -> str:
    """Replace emails, phones, cards, SSNs, IPv4 addresses and secret-bearing URLs.

    The placeholders are [EMAIL], [PHONE], [CARD], [SSN], [IP] and [URL]. UUIDs, hex
    hashes, version strings and ordinary numbers are left as they are.
    """
    return scrub_counts(text)[0]
